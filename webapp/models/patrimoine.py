"""The bailleurs' stock: résidences and logements, réservataires and flux conventions."""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import Boolean, Date, Enum, Float, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Euros, IntPk
from .organisation import Organisation


class Financement(enum.StrEnum):
    PLAI = "PLAI"
    PLUS = "PLUS"
    PLS = "PLS"
    PLI = "PLI"


class Typologie(enum.StrEnum):
    T1 = "T1"
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"
    T5 = "T5"
    T6 = "T6"


class StatutLogement(enum.StrEnum):
    VACANT = "vacant"
    OCCUPE = "occupe"


class ModeReservation(enum.StrEnum):
    FLUX = "flux"
    # Reservations kept in stock (defence, security, health establishments).
    STOCK = "stock"
    NON_RESERVE = "non_reserve"


class TypeReservataire(enum.StrEnum):
    """Réservataire kinds; the SNE code (ListeTypeReservataire) is kept beside each."""

    ETAT_PRIORITAIRES = "etat_prioritaires"  # SNE PPRIOR
    ETAT_FONCTIONNAIRES = "etat_fonctionnaires"  # SNE PFONCT
    ACTION_LOGEMENT = "action_logement"  # SNE COLACT
    COLLECTIVITE = "collectivite"  # SNE COLTER
    BAILLEUR = "bailleur"  # SNE AUCUN (hors contingent)
    AUTRE = "autre"  # SNE AUTRES


CODE_SNE_RESERVATAIRE = {
    TypeReservataire.ETAT_PRIORITAIRES: "PPRIOR",
    TypeReservataire.ETAT_FONCTIONNAIRES: "PFONCT",
    TypeReservataire.ACTION_LOGEMENT: "COLACT",
    TypeReservataire.COLLECTIVITE: "COLTER",
    TypeReservataire.BAILLEUR: "AUCUN",
    TypeReservataire.AUTRE: "AUTRES",
}


class Residence(Base):
    __tablename__ = "residence"

    id: Mapped[IntPk]
    bailleur_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    nom: Mapped[str] = mapped_column(String(200))
    adresse: Mapped[str] = mapped_column(String(300))
    code_insee: Mapped[str] = mapped_column(ForeignKey("commune.code_insee"), index=True)
    qpv_code: Mapped[str | None] = mapped_column(ForeignKey("qpv.code"), index=True)
    annee_construction: Mapped[int | None] = mapped_column(Integer)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    bailleur: Mapped[Organisation] = relationship()
    logements: Mapped[list[Logement]] = relationship(back_populates="residence")


class Logement(Base):
    __tablename__ = "logement"
    __table_args__ = (UniqueConstraint("residence_id", "reference"),)

    id: Mapped[IntPk]
    residence_id: Mapped[int] = mapped_column(ForeignKey("residence.id"), index=True)
    reference: Mapped[str] = mapped_column(String(50))
    typologie: Mapped[Typologie] = mapped_column(Enum(Typologie, name="typologie", native_enum=False, length=4))
    nb_pieces: Mapped[int] = mapped_column(Integer)
    surface_habitable: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    etage: Mapped[int] = mapped_column(Integer)
    ascenseur: Mapped[bool] = mapped_column(Boolean)
    accessible_pmr: Mapped[bool] = mapped_column(Boolean)
    financement: Mapped[Financement] = mapped_column(
        Enum(Financement, name="financement", native_enum=False, length=4), index=True
    )
    plai_adapte: Mapped[bool] = mapped_column(Boolean, default=False)
    loyer_principal: Mapped[Euros]
    loyer_annexes: Mapped[Euros]
    charges_recuperables: Mapped[Euros]
    contribution_travaux: Mapped[Euros]
    statut: Mapped[StatutLogement] = mapped_column(
        Enum(StatutLogement, name="statut_logement", native_enum=False, length=10), index=True
    )
    date_liberation: Mapped[dt.date | None] = mapped_column(Date)
    mode_reservation: Mapped[ModeReservation] = mapped_column(
        Enum(ModeReservation, name="mode_reservation", native_enum=False, length=12),
        default=ModeReservation.FLUX,
    )
    # Only for a stock reservation: the réservataire that keeps this dwelling.
    reservataire_stock_id: Mapped[int | None] = mapped_column(ForeignKey("reservataire.id"))

    residence: Mapped[Residence] = relationship(back_populates="logements")
    reservataire_stock: Mapped[Reservataire | None] = relationship()


class Reservataire(Base):
    __tablename__ = "reservataire"

    id: Mapped[IntPk]
    nom: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[TypeReservataire] = mapped_column(
        Enum(TypeReservataire, name="type_reservataire", native_enum=False, length=24)
    )
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))

    organisation: Mapped[Organisation | None] = relationship()
    conventions: Mapped[list[ConventionReservation]] = relationship(back_populates="reservataire")


class ConventionReservation(Base):
    """Convention de réservation en flux: a share of the annual flux of one bailleur on a territory."""

    __tablename__ = "convention_reservation"
    __table_args__ = (UniqueConstraint("reservataire_id", "bailleur_id", "territoire", "annee"),)

    id: Mapped[IntPk]
    reservataire_id: Mapped[int] = mapped_column(ForeignKey("reservataire.id"), index=True)
    bailleur_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    # Département code or EPCI SIREN, per the scale of the convention (R441-5).
    territoire: Mapped[str] = mapped_column(String(9))
    annee: Mapped[int] = mapped_column(Integer)
    # Share of the annual flux, as a fraction (0.30 = 30 %).
    part_flux: Mapped[Decimal] = mapped_column(Numeric(6, 4))
    date_signature: Mapped[dt.date | None] = mapped_column(Date)

    reservataire: Mapped[Reservataire] = relationship(back_populates="conventions")
    bailleur: Mapped[Organisation] = relationship()
