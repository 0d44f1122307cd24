"""Deliberation of the CALEOL: votes, declared conflicts of interest, requests to send a case back to a
physical commission, signature of the minutes; and the database constraints on decisions.

A vote is a member's position on attributing the logement to one candidate (pour / contre /
abstention), with, in a remote séance, the rank the member gives that candidate. A member who
declares a conflict of interest on a candidate has a row here too, with no choice: one row per
member and candidature, so the database itself forbids a member in conflict from also voting.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IntPk
from .commission import Candidature, Decision, MembreSeance, Seance
from .organisation import Utilisateur


class ChoixVote(enum.StrEnum):
    POUR = "pour"
    CONTRE = "contre"
    ABSTENTION = "abstention"


class Vote(Base):
    __tablename__ = "vote"
    __table_args__ = (
        UniqueConstraint("candidature_id", "membre_id"),
        # A declared conflict of interest excludes any choice; otherwise a choice is required.
        CheckConstraint(
            "(conflit_interets AND choix IS NULL) OR (NOT conflit_interets AND choix IS NOT NULL)",
            name="conflit_sans_choix",
        ),
        CheckConstraint("rang IS NULL OR rang >= 1", name="rang_positif"),
    )

    id: Mapped[IntPk]
    candidature_id: Mapped[int] = mapped_column(ForeignKey("candidature.id", ondelete="CASCADE"), index=True)
    membre_id: Mapped[int] = mapped_column(ForeignKey("membre_seance.id", ondelete="CASCADE"), index=True)
    choix: Mapped[ChoixVote | None] = mapped_column(
        Enum(ChoixVote, name="choix_vote", native_enum=False, length=12)
    )
    conflit_interets: Mapped[bool] = mapped_column(Boolean, default=False)
    # Remote séance: the rank this member gives the candidate among the logement's candidates.
    rang: Mapped[int | None] = mapped_column(Integer)
    horodatage: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # Who entered it: the member, or the président transcribing a vote cast in a physical séance.
    saisi_par_id: Mapped[int | None] = mapped_column(ForeignKey("utilisateur.id"))

    candidature: Mapped[Candidature] = relationship()
    membre: Mapped[MembreSeance] = relationship()
    saisi_par: Mapped[Utilisateur | None] = relationship()


class RenvoiCalPhysique(Base):
    """A member asks that the examination of a demande be sent back to a physical commission."""

    __tablename__ = "renvoi_cal_physique"
    __table_args__ = (UniqueConstraint("candidature_id", "membre_id"),)

    id: Mapped[IntPk]
    candidature_id: Mapped[int] = mapped_column(ForeignKey("candidature.id", ondelete="CASCADE"), index=True)
    membre_id: Mapped[int] = mapped_column(ForeignKey("membre_seance.id", ondelete="CASCADE"), index=True)
    # Free text of the member (shown in the minutes): no personal data is asked for.
    motif: Mapped[str | None] = mapped_column(Text)
    horodatage: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    candidature: Mapped[Candidature] = relationship()
    membre: Mapped[MembreSeance] = relationship()


class SignatureProcesVerbal(Base):
    """The président's signature of the minutes of a closed séance, with the digest of what was signed."""

    __tablename__ = "signature_proces_verbal"

    id: Mapped[IntPk]
    seance_id: Mapped[int] = mapped_column(ForeignKey("seance.id", ondelete="CASCADE"), unique=True)
    signe_par_id: Mapped[int] = mapped_column(ForeignKey("utilisateur.id"))
    signe_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # SHA-256 of the HTML minutes as signed (names hidden version): a later change is detectable.
    empreinte: Mapped[str] = mapped_column(String(64))

    seance: Mapped[Seance] = relationship()
    signe_par: Mapped[Utilisateur] = relationship()


# Enumerations are stored by member name (SQLAlchemy's default for Enum(native_enum=False)).
_EFFECTIVE = (
    "type IN ('ATTRIBUTION', 'ATTRIBUTION_SOUS_CONDITION') OR (type = 'ATTRIBUTION_RANG' AND rang = 1)"
)
_CLASSEMENT = "type = 'ATTRIBUTION_RANG'"

# At most one effective attribution (direct, under condition, or first of a ranking) per logement
# and séance; at most one candidate per rank of a ranking. Partial unique indexes, the same on
# SQLite and PostgreSQL.
Index(
    "uq_decision_attribution_effective",
    Decision.seance_id,
    Decision.logement_id,
    unique=True,
    sqlite_where=text(_EFFECTIVE),
    postgresql_where=text(_EFFECTIVE),
)
Index(
    "uq_decision_rang_classement",
    Decision.seance_id,
    Decision.logement_id,
    Decision.rang,
    unique=True,
    sqlite_where=text(_CLASSEMENT),
    postgresql_where=text(_CLASSEMENT),
)
