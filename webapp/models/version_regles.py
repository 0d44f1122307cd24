"""The rulebook versions this instance has seen, each with what changed since the previous one.

A version is the digest of the rule files (engine.version); the inventory keeps one short hash per
file, rule, criterion, grid, ranking criterion and parameter, so the next version can say what was
added, removed or modified. Filled by `caleol rules enregistrer-version` and at application start.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, Integer, LargeBinary, String, Text
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
    # The files the version was computed from (tar.gz, webapp.regles.activation), so that it can be
    # activated and replayed after the files on disk changed; with the SHA-256 of the archive.
    archive: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    archive_empreinte: Mapped[str | None] = mapped_column(String(64))


class ReferentielActif(Base):
    """The rulebook version every process evaluates with (one row, id 1; none: the files on disk).

    Each process compares it with its own every few seconds and reloads its engine from the stored
    archive when it changed (webapp.regles.activation.synchroniser)."""

    __tablename__ = "referentiel_actif"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(80))
    active_depuis: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    active_par: Mapped[str] = mapped_column(String(120))
