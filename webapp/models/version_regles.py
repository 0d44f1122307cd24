"""The rulebook versions this instance has seen, each with what changed since the previous one.

A version is the digest of the rule files (engine.version); the inventory keeps one short hash per
file, rule, criterion, grid, ranking criterion and parameter, so the next version can say what was
added, removed or modified. Filled by `caleol rules enregistrer-version` and at application start.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IntPk


class VersionRegles(Base):
    __tablename__ = "version_regles"

    id: Mapped[IntPk]
    version: Mapped[str] = mapped_column(String(80), unique=True)
    empreinte: Mapped[str] = mapped_column(String(64))
    premiere_vue: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    # demarrage | commande | administration
    source: Mapped[str] = mapped_column(String(40))
    precedente: Mapped[str | None] = mapped_column(String(80))
    resume: Mapped[str] = mapped_column(Text)
    # {"regles": {"ajoutes": [...], "supprimes": [...], "modifies": [...]}, "parametres": {...}, ...}
    changements: Mapped[dict] = mapped_column(JSON)
    # {"fichiers": {chemin: hash}, "regles": {id: hash}, "parametres": {chemin: hash}, ...}
    inventaire: Mapped[dict] = mapped_column(JSON)
