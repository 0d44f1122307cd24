"""Organisations sharing one instance (bailleurs, réservataires, EPCI, État) and their users."""
from __future__ import annotations

import enum

from sqlalchemy import Boolean, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IntPk


class TypeOrganisation(enum.StrEnum):
    BAILLEUR = "bailleur"
    RESERVATAIRE = "reservataire"
    EPCI = "epci"
    ETAT = "etat"


class Role(enum.StrEnum):
    CHARGE_ATTRIBUTION = "charge_attribution"
    MEMBRE_COMMISSION = "membre_commission"
    PRESIDENT = "president"
    LECTEUR = "lecteur"
    ADMINISTRATEUR = "administrateur"


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[IntPk]
    nom: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[TypeOrganisation] = mapped_column(
        Enum(TypeOrganisation, name="type_organisation", native_enum=False, length=20)
    )
    siren: Mapped[str | None] = mapped_column(String(9))
    # For an EPCI organisation: the territory it governs.
    epci_siren: Mapped[str | None] = mapped_column(ForeignKey("epci.siren"))

    utilisateurs: Mapped[list[Utilisateur]] = relationship(back_populates="organisation")


class Utilisateur(Base):
    __tablename__ = "utilisateur"

    id: Mapped[IntPk]
    identifiant: Mapped[str] = mapped_column(String(120), unique=True)
    nom_affiche: Mapped[str] = mapped_column(String(200))
    mot_de_passe_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[Role] = mapped_column(Enum(Role, name="role_utilisateur", native_enum=False, length=30))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    actif: Mapped[bool] = mapped_column(Boolean, default=True)

    organisation: Mapped[Organisation] = relationship(back_populates="utilisateurs")
