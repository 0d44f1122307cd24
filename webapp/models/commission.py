"""CALEOL: commissions, séances, candidatures, decisions (R441-3) and attributions."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IntPk, JsonList
from .demande import Demande
from .organisation import Organisation, Utilisateur
from .patrimoine import Logement, Reservataire


class StatutSeance(enum.StrEnum):
    PLANIFIEE = "planifiee"
    OUVERTE = "ouverte"
    CLOSE = "close"


class NatureSeance(enum.StrEnum):
    """An attribution séance (the default) or an occupancy-review séance (examen de l'occupation, L442-5-2)."""

    ATTRIBUTION = "attribution"
    EXAMEN_OCCUPATION = "examen_occupation"


class ModeSeance(enum.StrEnum):
    PHYSIQUE = "physique"
    DEMATERIALISEE = "dematerialisee"


class TypeDecision(enum.StrEnum):
    """The decisions of R441-3, one per candidate."""

    ATTRIBUTION = "attribution"
    ATTRIBUTION_RANG = "attribution_rang"
    ATTRIBUTION_SOUS_CONDITION = "attribution_sous_condition"
    NON_ATTRIBUTION = "non_attribution"
    REJET_IRRECEVABILITE = "rejet_irrecevabilite"


class Commission(Base):
    __tablename__ = "commission"

    id: Mapped[IntPk]
    bailleur_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    nom: Mapped[str] = mapped_column(String(200))
    # EPCI SIREN or département code the commission covers.
    territoire: Mapped[str | None] = mapped_column(String(9))

    bailleur: Mapped[Organisation] = relationship()
    seances: Mapped[list[Seance]] = relationship(back_populates="commission", order_by="Seance.date_seance")


class Seance(Base):
    __tablename__ = "seance"

    id: Mapped[IntPk]
    commission_id: Mapped[int] = mapped_column(ForeignKey("commission.id"), index=True)
    date_seance: Mapped[dt.date] = mapped_column(Date, index=True)
    mode: Mapped[ModeSeance] = mapped_column(
        Enum(ModeSeance, name="mode_seance", native_enum=False, length=16), default=ModeSeance.PHYSIQUE
    )
    statut: Mapped[StatutSeance] = mapped_column(
        Enum(StatutSeance, name="statut_seance", native_enum=False, length=10), default=StatutSeance.PLANIFIEE
    )
    quorum: Mapped[int] = mapped_column(Integer, default=3)
    nature: Mapped[NatureSeance] = mapped_column(
        Enum(NatureSeance, name="nature_seance", native_enum=False, length=20),
        default=NatureSeance.ATTRIBUTION, server_default=NatureSeance.ATTRIBUTION.name, index=True,
    )
    version_regles: Mapped[str | None] = mapped_column(String(80))
    # Remote séance (ModeSeance.DEMATERIALISEE): members rank and vote between these two instants.
    vote_ouverture: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    vote_cloture: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Optimistic locking counter (concurrent decisions on one séance).
    version: Mapped[int] = mapped_column(Integer, default=1)

    commission: Mapped[Commission] = relationship(back_populates="seances")
    membres: Mapped[list[MembreSeance]] = relationship(back_populates="seance", cascade="all, delete-orphan")
    candidatures: Mapped[list[Candidature]] = relationship(
        back_populates="seance", cascade="all, delete-orphan", order_by="(Candidature.logement_id, Candidature.rang_propose)"
    )

    __mapper_args__ = {"version_id_col": version}


class MembreSeance(Base):
    __tablename__ = "membre_seance"

    id: Mapped[IntPk]
    seance_id: Mapped[int] = mapped_column(ForeignKey("seance.id", ondelete="CASCADE"), index=True)
    utilisateur_id: Mapped[int | None] = mapped_column(ForeignKey("utilisateur.id"))
    nom: Mapped[str] = mapped_column(String(200))
    # Qualité (représentant du bailleur, des locataires, préfet, président de l'EPCI, maire…).
    qualite: Mapped[str] = mapped_column(String(60))
    voix_deliberative: Mapped[bool] = mapped_column(Boolean, default=True)
    present: Mapped[bool] = mapped_column(Boolean, default=True)

    seance: Mapped[Seance] = relationship(back_populates="membres")
    utilisateur: Mapped[Utilisateur | None] = relationship()


class Candidature(Base):
    __tablename__ = "candidature"
    __table_args__ = (
        UniqueConstraint("seance_id", "logement_id", "demande_id"),
        # Target of the decision's composite key: a decision carries its séance and logement.
        UniqueConstraint("id", "seance_id", "logement_id"),
    )

    id: Mapped[IntPk]
    seance_id: Mapped[int] = mapped_column(ForeignKey("seance.id", ondelete="CASCADE"), index=True)
    logement_id: Mapped[int] = mapped_column(ForeignKey("logement.id"), index=True)
    demande_id: Mapped[int] = mapped_column(ForeignKey("demande.id"), index=True)
    rang_propose: Mapped[int] = mapped_column(Integer)
    reservataire_id: Mapped[int | None] = mapped_column(ForeignKey("reservataire.id"))

    seance: Mapped[Seance] = relationship(back_populates="candidatures")
    logement: Mapped[Logement] = relationship()
    demande: Mapped[Demande] = relationship()
    reservataire: Mapped[Reservataire | None] = relationship()
    decision: Mapped[Decision | None] = relationship(
        back_populates="candidature", uselist=False, foreign_keys="Decision.candidature_id"
    )


class Decision(Base):
    __tablename__ = "decision"
    # The séance and logement are copied from the candidature (and held equal to it by the composite
    # key) so that the database itself allows one effective attribution per logement and séance and
    # one candidate per rank (partial unique indexes in webapp/models/vote.py).
    __table_args__ = (
        ForeignKeyConstraint(
            ["candidature_id", "seance_id", "logement_id"],
            ["candidature.id", "candidature.seance_id", "candidature.logement_id"],
            name="fk_decision_candidature_seance_logement",
            ondelete="CASCADE",
        ),
    )

    id: Mapped[IntPk]
    candidature_id: Mapped[int] = mapped_column(
        ForeignKey("candidature.id", ondelete="CASCADE"), unique=True, index=True
    )
    seance_id: Mapped[int] = mapped_column(Integer().with_variant(BigInteger(), "postgresql"))
    logement_id: Mapped[int] = mapped_column(Integer().with_variant(BigInteger(), "postgresql"))
    type: Mapped[TypeDecision] = mapped_column(Enum(TypeDecision, name="type_decision", native_enum=False, length=30))
    # Rank 1–3 of an attribution par classement.
    rang: Mapped[int | None] = mapped_column(Integer)
    # Codes of the controlled vocabulary of motifs (each mapped to its legal ground in rules/).
    motifs: Mapped[JsonList]
    piece_manquante: Mapped[str | None] = mapped_column(String(120))
    date_limite_condition: Mapped[dt.date | None] = mapped_column(Date)
    # Required when the commission departs from the proposed order.
    justification: Mapped[str | None] = mapped_column(Text)
    version_regles: Mapped[str | None] = mapped_column(String(80))
    decide_par_id: Mapped[int | None] = mapped_column(ForeignKey("utilisateur.id"))
    decide_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    candidature: Mapped[Candidature] = relationship(back_populates="decision", foreign_keys=[candidature_id])
    decide_par: Mapped[Utilisateur | None] = relationship()


class Attribution(Base):
    """An effective attribution; it counts in the quotas once the lease is signed."""

    __tablename__ = "attribution"

    id: Mapped[IntPk]
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id"), unique=True)
    logement_id: Mapped[int] = mapped_column(ForeignKey("logement.id"), index=True)
    demande_id: Mapped[int] = mapped_column(ForeignKey("demande.id"), index=True)
    reservataire_id: Mapped[int | None] = mapped_column(ForeignKey("reservataire.id"), index=True)
    date_decision: Mapped[dt.date] = mapped_column(Date, index=True)
    date_signature_bail: Mapped[dt.date | None] = mapped_column(Date, index=True)
    # Facts at decision time, for the quota counters (quartile, priority, DALO, LDA, QPV).
    indicateurs: Mapped[dict | None] = mapped_column(JSON)

    decision: Mapped[Decision | None] = relationship()
    logement: Mapped[Logement] = relationship()
    demande: Mapped[Demande] = relationship()
    reservataire: Mapped[Reservataire | None] = relationship()
