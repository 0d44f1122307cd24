"""Tenants in place and the triennial occupancy review (CCH L442-5-2).

A `BailLocataire` is a current tenancy of one of the bailleur's logements: the date of the lease,
the household living there (`OccupantLocataire`, with their fiscal incomes `RevenuLocataire`) and
whether the dwelling has been adapted for a disabled person. Every `periodicite` years from the lease
(rules/parametres/examen_occupation.yaml), `caleol occupation examiner` records an `ExamenOccupation`
(the engine's result, trace and rulebook version); the files with a situation go on the agenda of a
review séance (`Seance.nature == examen_occupation`), where the CALEOL records its `ConstatOccupation`
(situation noted, characteristics of a suitable dwelling, advice) and the bailleur the follow-up.
Handicap details are sensitive: shown only to the roles that may see sensitive facts.
"""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, Enum, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, EurosNullable, IntPk, JsonDict, JsonList
from .commission import Seance
from .organisation import Organisation, Utilisateur
from .patrimoine import Logement


class RoleOccupant(enum.StrEnum):
    TITULAIRE = "titulaire"
    COTITULAIRE = "cotitulaire"
    PERSONNE_A_CHARGE = "personne_a_charge"
    ENFANT_GARDE_ALTERNEE = "enfant_garde_alternee"


class Accessibilite(enum.StrEnum):
    """What the suitable dwelling must offer for access."""

    SANS_EXIGENCE = "sans_exigence"
    ACCESSIBLE = "accessible"  # accessible PMR (ascenseur ou rez-de-chaussée, circulations)
    ADAPTE = "adapte"  # adapté au handicap de l'occupant


class IssueParcours(enum.StrEnum):
    """Outcome of the bailleur's review of the residential path with the tenant (L442-5-2)."""

    MAINTIEN = "maintien"
    MUTATION_PROPOSEE = "mutation_proposee"
    MUTATION_ACCEPTEE = "mutation_acceptee"
    MUTATION_REFUSEE = "mutation_refusee"
    ACCESSION_SOCIALE = "accession_sociale"
    SANS_REPONSE = "sans_reponse"


class BailLocataire(Base):
    __tablename__ = "bail_locataire"
    __table_args__ = (UniqueConstraint("bailleur_id", "reference"),)

    id: Mapped[IntPk]
    # The logement's bailleur, held here for the unique reference per bailleur and for filtering.
    bailleur_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    logement_id: Mapped[int] = mapped_column(ForeignKey("logement.id"), index=True)
    reference: Mapped[str] = mapped_column(String(60))
    date_signature: Mapped[dt.date] = mapped_column(Date, index=True)
    # None: the logement's own accessibility says whether it is adapted.
    logement_adapte: Mapped[bool | None] = mapped_column(Boolean)
    # A member of the household needs an adapted dwelling (loss of autonomy), handicap recognised or not.
    besoin_logement_adapte: Mapped[bool] = mapped_column(Boolean, default=False)
    importe_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    bailleur: Mapped[Organisation] = relationship()
    logement: Mapped[Logement] = relationship()
    occupants: Mapped[list[OccupantLocataire]] = relationship(
        back_populates="bail", cascade="all, delete-orphan", order_by="OccupantLocataire.rang"
    )
    examens: Mapped[list[ExamenOccupation]] = relationship(
        back_populates="bail", cascade="all, delete-orphan", order_by="ExamenOccupation.echeance"
    )


class OccupantLocataire(Base):
    __tablename__ = "occupant_locataire"
    __table_args__ = (UniqueConstraint("bail_id", "rang"),)

    id: Mapped[IntPk]
    bail_id: Mapped[int] = mapped_column(ForeignKey("bail_locataire.id", ondelete="CASCADE"), index=True)
    rang: Mapped[int] = mapped_column(Integer)
    role: Mapped[RoleOccupant] = mapped_column(Enum(RoleOccupant, name="role_occupant", native_enum=False, length=24))
    # conjoint | pacse | concubin | colocataire (LienCotitulaire), for a cotitulaire only.
    lien_cotitulaire: Mapped[str | None] = mapped_column(String(12))
    nom: Mapped[str | None] = mapped_column(String(120))
    prenom: Mapped[str | None] = mapped_column(String(120))
    date_naissance: Mapped[dt.date] = mapped_column(Date)
    # Handicap recognised (carte mobilité inclusion mention « invalidité » or equivalent decision).
    handicap_reconnu: Mapped[bool] = mapped_column(Boolean, default=False)
    # Sensitive: only for the roles that need it.
    handicap_details: Mapped[str | None] = mapped_column(Text)

    bail: Mapped[BailLocataire] = relationship(back_populates="occupants")
    revenus_fiscaux: Mapped[list[RevenuLocataire]] = relationship(
        back_populates="occupant", cascade="all, delete-orphan", order_by="RevenuLocataire.annee"
    )


class RevenuLocataire(Base):
    __tablename__ = "revenu_locataire"
    __table_args__ = (UniqueConstraint("occupant_id", "annee"),)

    id: Mapped[IntPk]
    occupant_id: Mapped[int] = mapped_column(ForeignKey("occupant_locataire.id", ondelete="CASCADE"), index=True)
    annee: Mapped[int] = mapped_column(Integer)
    # Revenu fiscal de référence of the year (None: on another occupant's notice).
    montant: Mapped[EurosNullable]

    occupant: Mapped[OccupantLocataire] = relationship(back_populates="revenus_fiscaux")


class ExamenOccupation(Base):
    """One triennial examination of a tenancy, as computed by the engine."""

    __tablename__ = "examen_occupation"
    __table_args__ = (UniqueConstraint("bail_id", "echeance"),)

    id: Mapped[IntPk]
    bail_id: Mapped[int] = mapped_column(ForeignKey("bail_locataire.id", ondelete="CASCADE"), index=True)
    # The anniversary of the lease this examination answers (lease date + k × period).
    echeance: Mapped[dt.date] = mapped_column(Date)
    date_examen: Mapped[dt.date] = mapped_column(Date, index=True)
    # Codes of the situations found (OCCUPATION_…), in rulebook order; empty: nothing to send.
    situations: Mapped[JsonList]
    # The engine's full result: situations, trace, facts, « à vérifier » parameters.
    resultat: Mapped[JsonDict]
    version_regles: Mapped[str] = mapped_column(String(80))
    empreinte_entree: Mapped[str] = mapped_column(String(80))
    # Agenda of a review séance.
    seance_id: Mapped[int | None] = mapped_column(ForeignKey("seance.id", ondelete="SET NULL"), index=True)
    ordre: Mapped[int | None] = mapped_column(Integer)
    examine_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    bail: Mapped[BailLocataire] = relationship(back_populates="examens")
    seance: Mapped[Seance | None] = relationship()
    constat: Mapped[ConstatOccupation | None] = relationship(
        back_populates="examen", uselist=False, cascade="all, delete-orphan"
    )


class ConstatOccupation(Base):
    """The CALEOL's findings on one file, and the bailleur's follow-up."""

    __tablename__ = "constat_occupation"

    id: Mapped[IntPk]
    examen_id: Mapped[int] = mapped_column(
        ForeignKey("examen_occupation.id", ondelete="CASCADE"), unique=True, index=True
    )
    seance_id: Mapped[int] = mapped_column(ForeignKey("seance.id", ondelete="CASCADE"), index=True)
    # Situations the commission notes (a subset of the codes of rules/regles/occupation.yaml).
    situations_constatees: Mapped[JsonList]
    observations: Mapped[str | None] = mapped_column(Text)
    # Characteristics of a suitable dwelling.
    typologies: Mapped[JsonList]
    surface_min: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    surface_max: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    accessibilite: Mapped[Accessibilite] = mapped_column(
        Enum(Accessibilite, name="accessibilite", native_enum=False, length=16), default=Accessibilite.SANS_EXIGENCE
    )
    communes: Mapped[JsonList]
    secteur: Mapped[str | None] = mapped_column(String(200))
    conseil_accession: Mapped[bool] = mapped_column(Boolean, default=False)
    avis: Mapped[str | None] = mapped_column(Text)
    constate_par_id: Mapped[int | None] = mapped_column(ForeignKey("utilisateur.id"))
    constate_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # Follow-up by the bailleur: review of the residential path with the tenant.
    suivi_date: Mapped[dt.date | None] = mapped_column(Date)
    suivi_issue: Mapped[IssueParcours | None] = mapped_column(
        Enum(IssueParcours, name="issue_parcours", native_enum=False, length=20)
    )
    suivi_commentaire: Mapped[str | None] = mapped_column(Text)
    mutation_demande_creee: Mapped[bool | None] = mapped_column(Boolean)
    mutation_numero_unique: Mapped[str | None] = mapped_column(String(30))
    suivi_par_id: Mapped[int | None] = mapped_column(ForeignKey("utilisateur.id"))
    suivi_le: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    examen: Mapped[ExamenOccupation] = relationship(back_populates="constat")
    constate_par: Mapped[Utilisateur | None] = relationship(foreign_keys=[constate_par_id])
    suivi_par: Mapped[Utilisateur | None] = relationship(foreign_keys=[suivi_par_id])
