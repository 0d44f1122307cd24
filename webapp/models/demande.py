"""The demande de logement social (shared file of the territory) and the persons it concerns."""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, Enum, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, EurosNullable, IntPk, JsonList


class StatutDemande(enum.StrEnum):
    ACTIVE = "active"
    RADIEE = "radiee"
    ATTRIBUEE = "attribuee"


class RolePersonne(enum.StrEnum):
    DEMANDEUR = "demandeur"
    COTITULAIRE = "cotitulaire"
    PERSONNE_A_CHARGE = "personne_a_charge"
    ENFANT_GARDE_ALTERNEE = "enfant_garde_alternee"
    ENFANT_DROIT_VISITE = "enfant_droit_visite"
    ENFANT_A_NAITRE = "enfant_a_naitre"


class LienCotitulaire(enum.StrEnum):
    CONJOINT = "conjoint"
    PACSE = "pacse"
    CONCUBIN = "concubin"
    COLOCATAIRE = "colocataire"


class SensRessource(enum.StrEnum):
    RECUE = "recue"
    VERSEE = "versee"


class Demande(Base):
    __tablename__ = "demande"

    id: Mapped[IntPk]
    numero_unique: Mapped[str] = mapped_column(String(30), unique=True)
    date_depot: Mapped[dt.date] = mapped_column(Date, index=True)
    date_renouvellement: Mapped[dt.date | None] = mapped_column(Date)
    date_mise_a_jour: Mapped[dt.date | None] = mapped_column(Date)
    statut: Mapped[StatutDemande] = mapped_column(
        Enum(StatutDemande, name="statut_demande", native_enum=False, length=10),
        default=StatutDemande.ACTIVE,
        index=True,
    )
    # SNE ListeMotifsRadiation code (RADATT, RADIRR, RADREN, …) when radiée.
    motif_radiation: Mapped[str | None] = mapped_column(String(10))
    date_radiation: Mapped[dt.date | None] = mapped_column(Date)
    # Date of the anonymisation at the term of the retention policy (rules/conservation/), if done.
    anonymise_le: Mapped[dt.date | None] = mapped_column(Date)

    # Contact of the household (for offers and letters).
    adresse: Mapped[str | None] = mapped_column(String(300))
    code_postal: Mapped[str | None] = mapped_column(String(10))
    commune_adresse: Mapped[str | None] = mapped_column(String(5))
    telephone: Mapped[str | None] = mapped_column(String(30))
    courriel: Mapped[str | None] = mapped_column(String(200))

    typologies_souhaitees: Mapped[JsonList]
    communes_souhaitees: Mapped[JsonList]
    # SNE ListeMotifDemande codes 01–23.
    motifs: Mapped[JsonList]
    mutation_interne: Mapped[bool] = mapped_column(Boolean, default=False)
    relogement_anru: Mapped[bool] = mapped_column(Boolean, default=False)
    besoin_pmr: Mapped[bool] = mapped_column(Boolean, default=False)

    # Current housing (SNE ListeModeleLogement, ListeTypeLogement).
    logement_actuel_modele: Mapped[str | None] = mapped_column(String(10))
    logement_actuel_typologie: Mapped[str | None] = mapped_column(String(4))
    logement_actuel_loyer: Mapped[EurosNullable]
    logement_actuel_surface: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    logement_actuel_nb_pieces: Mapped[int | None] = mapped_column(Integer)
    logement_actuel_nb_occupants: Mapped[int | None] = mapped_column(Integer)
    logement_actuel_commune: Mapped[str | None] = mapped_column(String(5))
    logement_actuel_proprietaire: Mapped[bool | None] = mapped_column(Boolean)

    # DALO: date of the favourable COMED decision, SNE status, designation by the préfet.
    dalo_date_decision: Mapped[dt.date | None] = mapped_column(Date)
    dalo_statut: Mapped[str | None] = mapped_column(String(10))
    dalo_date_designation: Mapped[dt.date | None] = mapped_column(Date)
    label_pdalhpd: Mapped[bool] = mapped_column(Boolean, default=False)
    label_siao: Mapped[bool] = mapped_column(Boolean, default=False)
    accompagnement_avdl: Mapped[bool] = mapped_column(Boolean, default=False)
    accompagnement_fsl: Mapped[bool] = mapped_column(Boolean, default=False)
    # Housing aid declared by the applicant (monthly), the fallback of the APL estimate.
    aide_logement_declaree: Mapped[EurosNullable]

    personnes: Mapped[list[Personne]] = relationship(
        back_populates="demande", cascade="all, delete-orphan", order_by="Personne.ordre"
    )
    situations: Mapped[list[SituationPrioritaire]] = relationship(
        back_populates="demande", cascade="all, delete-orphan", order_by="SituationPrioritaire.code"
    )
    refus: Mapped[list[RefusOffre]] = relationship(
        back_populates="demande", cascade="all, delete-orphan", order_by="RefusOffre.date_refus"
    )


class Personne(Base):
    __tablename__ = "personne"

    id: Mapped[IntPk]
    demande_id: Mapped[int] = mapped_column(ForeignKey("demande.id", ondelete="CASCADE"), index=True)
    ordre: Mapped[int] = mapped_column(Integer, default=0)
    role: Mapped[RolePersonne] = mapped_column(
        Enum(RolePersonne, name="role_personne", native_enum=False, length=24)
    )
    lien_cotitulaire: Mapped[LienCotitulaire | None] = mapped_column(
        Enum(LienCotitulaire, name="lien_cotitulaire", native_enum=False, length=12)
    )
    nom: Mapped[str | None] = mapped_column(String(120))
    prenom: Mapped[str | None] = mapped_column(String(120))
    nom_naissance: Mapped[str | None] = mapped_column(String(120))
    sexe: Mapped[str | None] = mapped_column(String(1))
    date_naissance: Mapped[dt.date | None] = mapped_column(Date)
    # Unborn child: expected date of birth.
    date_naissance_prevue: Mapped[dt.date | None] = mapped_column(Date)
    # SNE ListeLienParente (P parent, E enfant, A autre) for dependants.
    lien_parente: Mapped[str | None] = mapped_column(String(2))
    situation_familiale: Mapped[str | None] = mapped_column(String(2))
    # SNE ListeNationalite (1 française, 2 UE, 3 hors UE): never used to infer residence.
    nationalite: Mapped[str | None] = mapped_column(String(2))
    residence_reguliere_declaree: Mapped[bool | None] = mapped_column(Boolean)
    residence_reguliere_verifiee: Mapped[bool | None] = mapped_column(Boolean)
    mineur_emancipe: Mapped[bool] = mapped_column(Boolean, default=False)
    handicap_cmi_invalidite: Mapped[bool] = mapped_column(Boolean, default=False)
    # Sensitive: shown only to the roles that need it, never copied into the audit.
    handicap_details: Mapped[str | None] = mapped_column(Text)
    # SNE ListeTypeContratTravail.
    situation_professionnelle: Mapped[str | None] = mapped_column(String(4))
    profession: Mapped[str | None] = mapped_column(String(120))

    ressources_12_mois: Mapped[EurosNullable]

    procedure_divorce: Mapped[bool] = mapped_column(Boolean, default=False)
    dissolution_pacs: Mapped[bool] = mapped_column(Boolean, default=False)
    ordonnance_protection: Mapped[bool] = mapped_column(Boolean, default=False)

    demande: Mapped[Demande] = relationship(back_populates="personnes")
    ressources: Mapped[list[Ressource]] = relationship(
        back_populates="personne", cascade="all, delete-orphan", order_by="Ressource.id"
    )
    revenus_fiscaux: Mapped[list[RevenuFiscal]] = relationship(
        back_populates="personne", cascade="all, delete-orphan", order_by="RevenuFiscal.annee"
    )


class Ressource(Base):
    """A monthly resource received or paid, by SNE code (ListeRessourceRecue / Versee)."""

    __tablename__ = "ressource"

    id: Mapped[IntPk]
    personne_id: Mapped[int] = mapped_column(ForeignKey("personne.id", ondelete="CASCADE"), index=True)
    sens: Mapped[SensRessource] = mapped_column(Enum(SensRessource, name="sens_ressource", native_enum=False, length=6))
    code: Mapped[str] = mapped_column(String(8))
    montant_mensuel: Mapped[Decimal] = mapped_column(Numeric(12, 2))

    personne: Mapped[Personne] = relationship(back_populates="ressources")


class RevenuFiscal(Base):
    """Revenu fiscal de référence of one year, with the tax notice (avis) it appears on.

    A married or PACS couple shares one notice: the second person carries the notice's reference
    and no amount of their own, and so adds nothing to the household's resources.
    """

    __tablename__ = "revenu_fiscal"
    __table_args__ = (UniqueConstraint("personne_id", "annee"),)

    id: Mapped[IntPk]
    personne_id: Mapped[int] = mapped_column(ForeignKey("personne.id", ondelete="CASCADE"), index=True)
    annee: Mapped[int] = mapped_column(Integer)
    montant: Mapped[EurosNullable]
    avis: Mapped[str | None] = mapped_column(String(40))

    personne: Mapped[Personne] = relationship(back_populates="revenus_fiscaux")


class SituationPrioritaire(Base):
    """A priority situation declared by the household, and whether it has been verified."""

    __tablename__ = "situation_prioritaire"

    id: Mapped[IntPk]
    demande_id: Mapped[int] = mapped_column(ForeignKey("demande.id", ondelete="CASCADE"), index=True)
    # Stable code of rules/ (PRIO_SANS_LOGEMENT, PRIO_VIOLENCES_COUPLE, …).
    code: Mapped[str] = mapped_column(String(40))
    verifiee: Mapped[bool] = mapped_column(Boolean, default=False)
    date_verification: Mapped[dt.date | None] = mapped_column(Date)
    # Who validated it (a social worker for some criteria of the cotation grid).
    verifiee_par: Mapped[str | None] = mapped_column(String(120))

    demande: Mapped[Demande] = relationship(back_populates="situations")


class RefusOffre(Base):
    """An earlier offer the household refused."""

    __tablename__ = "refus_offre"

    id: Mapped[IntPk]
    demande_id: Mapped[int] = mapped_column(ForeignKey("demande.id", ondelete="CASCADE"), index=True)
    date_refus: Mapped[dt.date] = mapped_column(Date)
    logement_reference: Mapped[str | None] = mapped_column(String(80))
    motif: Mapped[str] = mapped_column(String(40))
    # Whether the refusal is legitimate (the dwelling did not match needs and capacities).
    motif_legitime: Mapped[bool] = mapped_column(Boolean, default=False)
    details: Mapped[dict | None] = mapped_column(JSON)

    demande: Mapped[Demande] = relationship(back_populates="refus")
