"""Feedback to the national register (SNE): each export file, and what it carried.

An export is one XML file (fixtures/sne/EXPORT.md): the CALEOL decisions of closed séances and the
radiations of one day, or everything not exported yet. Each line records one decision or one
radiation sent; the unique key (object, event date, sending rank) keeps the same object from being
sent twice unless a re-export is forced (rank 2, 3…).
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IntPk
from .organisation import Organisation


class ObjetExport(enum.StrEnum):
    DECISION = "decision"
    RADIATION = "radiation"


class ExportSne(Base):
    __tablename__ = "export_sne"

    id: Mapped[IntPk]
    # The day exported; None for an export on demand (everything not exported yet).
    jour: Mapped[dt.date | None] = mapped_column(Date, index=True)
    # The bailleur whose decisions and radiations the file carries; None: every bailleur (command line).
    bailleur_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    genere_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # Identifiant of the user (or cli:…) who generated it.
    par: Mapped[str] = mapped_column(String(120))
    fichier: Mapped[str] = mapped_column(String(120), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    taille: Mapped[int] = mapped_column(Integer)
    # The file itself, as sent (downloaded again from the page « Exports SNE »).
    contenu: Mapped[bytes] = mapped_column(LargeBinary)
    nb_decisions: Mapped[int] = mapped_column(Integer)
    nb_radiations: Mapped[int] = mapped_column(Integer)
    force: Mapped[bool] = mapped_column(Boolean, default=False)

    bailleur: Mapped[Organisation | None] = relationship()
    lignes: Mapped[list[LigneExportSne]] = relationship(
        back_populates="export", cascade="all, delete-orphan", order_by="LigneExportSne.id"
    )


class LigneExportSne(Base):
    __tablename__ = "ligne_export_sne"
    __table_args__ = (UniqueConstraint("objet_type", "objet_id", "date_evenement", "envoi"),)

    id: Mapped[IntPk]
    export_id: Mapped[int] = mapped_column(ForeignKey("export_sne.id", ondelete="CASCADE"), index=True)
    objet_type: Mapped[ObjetExport] = mapped_column(
        Enum(ObjetExport, name="objet_export", native_enum=False, length=10)
    )
    # decision.id for a decision, demande.id for a radiation.
    objet_id: Mapped[int] = mapped_column(Integer().with_variant(BigInteger(), "postgresql"))
    # Date of the séance (decision) or of the radiation: a demande radiated again later is a new radiation.
    date_evenement: Mapped[dt.date] = mapped_column(Date)
    numero_unique: Mapped[str] = mapped_column(String(30), index=True)
    # Type of decision (rules/decisions/types.yaml) or radiation motif (SNE ListeMotifsRadiation).
    code: Mapped[str] = mapped_column(String(30))
    # 1 for the first sending, 2, 3… for a forced re-export of the same object.
    envoi: Mapped[int] = mapped_column(Integer, default=1)

    export: Mapped[ExportSne] = relationship(back_populates="lignes")
