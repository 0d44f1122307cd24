"""Territory: communes, EPCI and the QPV of 2024 (reference data, see fixtures/geo/SOURCES.md)."""
from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class Epci(Base):
    __tablename__ = "epci"

    siren: Mapped[str] = mapped_column(String(9), primary_key=True)
    nom: Mapped[str] = mapped_column(String(200))

    communes: Mapped[list[Commune]] = relationship(back_populates="epci")


class Commune(Base):
    __tablename__ = "commune"

    code_insee: Mapped[str] = mapped_column(String(5), primary_key=True)
    nom: Mapped[str] = mapped_column(String(200))
    departement: Mapped[str] = mapped_column(String(3), index=True)
    epci_siren: Mapped[str | None] = mapped_column(ForeignKey("epci.siren"), index=True)
    # Arrondissements of Paris, Lyon and Marseille carry their parent commune.
    commune_parente: Mapped[str | None] = mapped_column(String(5))

    epci: Mapped[Epci | None] = relationship(back_populates="communes")


class QpvCommune(Base):
    """A QPV may straddle several communes: one row per (QPV, commune)."""

    __tablename__ = "qpv_commune"

    qpv_code: Mapped[str] = mapped_column(ForeignKey("qpv.code", ondelete="CASCADE"), primary_key=True)
    code_insee: Mapped[str] = mapped_column(ForeignKey("commune.code_insee"), primary_key=True)


class Qpv(Base):
    __tablename__ = "qpv"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    nom: Mapped[str] = mapped_column(String(200))
    # A QPV may straddle two EPCI (e.g. Valenciennes Métropole and Porte du Hainaut).
    epcis: Mapped[list[str]] = mapped_column(JSON, default=list)
    # GeoJSON geometry (WGS84) of the 2024 contour, for point-in-QPV tests.
    contour_geojson: Mapped[str | None] = mapped_column(Text)

    communes: Mapped[list[Commune]] = relationship(secondary="qpv_commune")
