"""Gestion en flux: orientation of each vacated dwelling to a réservataire, designations, returns."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Date, DateTime, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IntPk
from .demande import Demande
from .organisation import Utilisateur
from .patrimoine import Logement, Reservataire


class StatutOrientation(enum.StrEnum):
    EN_ATTENTE = "en_attente"  # waiting for the réservataire's designations
    DESIGNEE = "designee"  # candidates designated in time
    RESTITUEE = "restituee"  # no designation in time: back to the bailleur for this turn
    HORS_FLUX = "hors_flux"  # excluded from the flux (mutation, ANRU/ORCOD rehousing, stock reservation)
    CLOSE = "close"  # the dwelling was attributed


class OrientationFlux(Base):
    """One vacancy of one dwelling, oriented to a réservataire (or to the bailleur's own share)."""

    __tablename__ = "orientation_flux"

    id: Mapped[IntPk]
    logement_id: Mapped[int] = mapped_column(ForeignKey("logement.id"), index=True)
    bailleur_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    # Null for a dwelling excluded from the flux.
    reservataire_id: Mapped[int | None] = mapped_column(ForeignKey("reservataire.id"), index=True)
    annee: Mapped[int] = mapped_column(Integer, index=True)
    date_orientation: Mapped[dt.date] = mapped_column(Date)
    date_limite_designation: Mapped[dt.date | None] = mapped_column(Date)
    statut: Mapped[StatutOrientation] = mapped_column(
        Enum(StatutOrientation, name="statut_orientation", native_enum=False, length=12), index=True
    )
    date_restitution: Mapped[dt.date | None] = mapped_column(Date)
    # Code of the exclusion rule when hors flux (rules/), else null.
    motif_exclusion: Mapped[str | None] = mapped_column(String(60))
    # The algorithm's explanation: shares, counts and the gap that chose this réservataire.
    explication: Mapped[dict | None] = mapped_column(JSON)

    logement: Mapped[Logement] = relationship()
    reservataire: Mapped[Reservataire | None] = relationship()
    designations: Mapped[list[Designation]] = relationship(
        back_populates="orientation", cascade="all, delete-orphan", order_by="Designation.rang"
    )


class Designation(Base):
    """A candidate designated by the réservataire for an oriented dwelling."""

    __tablename__ = "designation"
    __table_args__ = (UniqueConstraint("orientation_id", "demande_id"), UniqueConstraint("orientation_id", "rang"))

    id: Mapped[IntPk]
    orientation_id: Mapped[int] = mapped_column(ForeignKey("orientation_flux.id", ondelete="CASCADE"), index=True)
    demande_id: Mapped[int] = mapped_column(ForeignKey("demande.id"), index=True)
    rang: Mapped[int] = mapped_column(Integer)
    date_designation: Mapped[dt.date] = mapped_column(Date)
    designe_par_id: Mapped[int | None] = mapped_column(ForeignKey("utilisateur.id"))
    horodatage: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    orientation: Mapped[OrientationFlux] = relationship(back_populates="designations")
    demande: Mapped[Demande] = relationship()
    designe_par: Mapped[Utilisateur | None] = relationship()
