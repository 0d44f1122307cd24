"""Persisted evaluations (one current row per demande) and the wishes used for SQL pre-selection."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, JsonList
from .demande import Demande


class EvaluationDemande(Base):
    """The evaluation of a demande at a date without a dwelling: what pre-selection and ranking read.

    The full explanation is replayed on demand from the stored dossier, the date and the version.
    """

    __tablename__ = "evaluation_demande"
    __table_args__ = (
        Index("ix_evaluation_demande_selection", "recevable", "nb_personnes_surface"),
        # Best-scored demandes of a territory (the excluded ones shown beside a proposal; the position).
        Index("ix_evaluation_demande_epci_score", "epci", "score"),
    )

    demande_id: Mapped[int] = mapped_column(ForeignKey("demande.id", ondelete="CASCADE"), primary_key=True)
    date_evaluation: Mapped[dt.date] = mapped_column(Date)
    version_regles: Mapped[str] = mapped_column(String(80), index=True)
    empreinte_entree: Mapped[str] = mapped_column(String(64))
    calculee_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    complet: Mapped[bool] = mapped_column(Boolean)
    recevable: Mapped[bool] = mapped_column(Boolean)
    eligible_plai: Mapped[bool] = mapped_column(Boolean, index=True)
    eligible_plus: Mapped[bool] = mapped_column(Boolean, index=True)
    eligible_pls: Mapped[bool] = mapped_column(Boolean, index=True)
    categorie: Mapped[int | None] = mapped_column(Integer)
    nb_personnes: Mapped[int] = mapped_column(Integer)
    nb_personnes_surface: Mapped[int] = mapped_column(Integer)
    unites_consommation: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    revenu_retenu: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    ressources_mensuelles: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    quartile: Mapped[int | None] = mapped_column(Integer)
    epci: Mapped[str | None] = mapped_column(String(9))
    # Zone of the ceilings the eligibility flags were computed for (that of the first wished commune).
    zone: Mapped[str | None] = mapped_column(String(20))
    # Grids may give fractional points (ancienneté per month): an exact decimal, 0 without a grid.
    score: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=0, index=True)
    grille: Mapped[str | None] = mapped_column(String(80))
    dalo: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    dalo_designe: Mapped[bool] = mapped_column(Boolean, default=False)
    prioritaire: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    logement_d_abord: Mapped[bool] = mapped_column(Boolean, default=False)
    # DALO, PDALHPD or SIAO label, or a verified priority situation: the État priority contingent's pool.
    prioritaire_labellise: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    priorites: Mapped[JsonList]
    motifs_irrecevabilite: Mapped[JsonList]
    regles_appliquees: Mapped[JsonList]
    detail_cotation: Mapped[JsonList]

    demande: Mapped[Demande] = relationship()


class SouhaitTypologie(Base):
    __tablename__ = "souhait_typologie"

    demande_id: Mapped[int] = mapped_column(ForeignKey("demande.id", ondelete="CASCADE"), primary_key=True)
    typologie: Mapped[str] = mapped_column(String(4), primary_key=True, index=True)


class SouhaitCommune(Base):
    """A wished commune, carrying the demande's ranking key in that commune's EPCI.

    The key (DALO designated, DALO, priority, score, filing date, numéro unique) is copied here by
    the evaluation so that one index walk gives a commune's demandes in the published order
    (rules/propositions/classement.yaml) and the pre-selection stops after the first matches.
    """

    __tablename__ = "souhait_commune"
    __table_args__ = (
        Index(
            "ix_souhait_commune_classement", "code_insee", text("dalo_designe DESC"), text("dalo DESC"),
            text("prioritaire DESC"), text("score DESC"), "date_depot", "numero_unique",
        ),
        Index("ix_souhait_commune_epci_score", "epci", text("score DESC"), "date_depot", "numero_unique"),
    )

    demande_id: Mapped[int] = mapped_column(ForeignKey("demande.id", ondelete="CASCADE"), primary_key=True)
    code_insee: Mapped[str] = mapped_column(String(5), primary_key=True, index=True)
    # EPCI of the commune and the demande's cotation score in that EPCI (each EPCI has its own grid).
    epci: Mapped[str | None] = mapped_column(String(9), index=True)
    score: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    dalo_designe: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    dalo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    prioritaire: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    date_depot: Mapped[dt.date | None] = mapped_column(Date)
    numero_unique: Mapped[str | None] = mapped_column(String(30))
