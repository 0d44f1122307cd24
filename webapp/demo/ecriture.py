"""Bulk writing of the demo rows inside the caller's transaction.

SQLite: SQLAlchemy Core executemany inserts, chunk by chunk. PostgreSQL: COPY through psycopg 3
(`cursor.copy()` on the raw connection of the session's connection), which bypasses SQLAlchemy's type
processing, so enums are written by member name (as SQLAlchemy stores them) and JSON as text. Ids
are given explicitly (local id + the table's current maximum); PostgreSQL sequences are moved past
them at the end.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, Enum, func, insert, select, text
from sqlalchemy.orm import Session

from ..models import Base
from .lignes import COLONNES, ORDRE, REFERENCES, SANS_ID

TAILLE_INSERT = 2000


def _conversions_copy(table: str) -> list[tuple[int, Callable[[Any], Any]]]:
    """What COPY needs done by hand for the columns SQLAlchemy would have processed."""
    colonnes = Base.metadata.tables[table].c
    conversions: list[tuple[int, Callable[[Any], Any]]] = []
    for i, nom in enumerate(COLONNES[table]):
        type_ = colonnes[nom].type
        if isinstance(type_, Enum) and type_.enum_class is not None:
            noms = {m.value: m.name for m in type_.enum_class}
            conversions.append((i, lambda v, noms=noms: None if v is None else noms[v]))
        elif isinstance(type_, JSON):
            conversions.append((i, lambda v: None if v is None else json.dumps(v)))
    return conversions


class Ecrivain:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.connexion = session.connection()
        self.postgres = self.connexion.dialect.name == "postgresql"
        self.tables = Base.metadata.tables
        self.decalages = {
            t: 0 if t in SANS_ID else int(self.connexion.execute(select(func.coalesce(func.max(self.tables[t].c.id), 0))).scalar_one())
            for t in ORDRE
        }
        self.comptes = dict.fromkeys(ORDRE, 0)
        self._conversions = {t: _conversions_copy(t) for t in ORDRE} if self.postgres else {}
        # Positions of the id and foreign-key columns to shift, per table (only when an offset is not zero).
        self._decaler: dict[str, list[tuple[int, int]]] = {}
        for t in ORDRE:
            positions = [(0, self.decalages[t])] if self.decalages[t] else []
            for (tab, col), cible in REFERENCES.items():
                if tab == t and self.decalages[cible]:
                    positions.append((COLONNES[t].index(col), self.decalages[cible]))
            if positions:
                self._decaler[t] = positions

    def ecrire(self, table: str, lignes: list[tuple]) -> None:
        if not lignes:
            return
        decaler = self._decaler.get(table)
        if decaler:
            lignes = [_decaler(ligne, decaler) for ligne in lignes]
        if self.postgres:
            self._copy(table, lignes)
        else:
            colonnes = COLONNES[table]
            for debut in range(0, len(lignes), TAILLE_INSERT):
                lot = [dict(zip(colonnes, ligne, strict=True)) for ligne in lignes[debut:debut + TAILLE_INSERT]]
                self.connexion.execute(insert(self.tables[table]), lot)
        self.comptes[table] += len(lignes)

    def _copy(self, table: str, lignes: list[tuple]) -> None:
        conversions = self._conversions[table]
        brute = self.connexion.connection.dbapi_connection
        with brute.cursor() as curseur:
            with curseur.copy(f"COPY {table} ({', '.join(COLONNES[table])}) FROM STDIN") as copie:
                if conversions:
                    for ligne in lignes:
                        valeurs = list(ligne)
                        for i, conv in conversions:
                            valeurs[i] = conv(valeurs[i])
                        copie.write_row(valeurs)
                else:
                    for ligne in lignes:
                        copie.write_row(ligne)

    def terminer(self) -> None:
        """Move PostgreSQL sequences past the ids given explicitly."""
        if not self.postgres:
            return
        for t in ORDRE:
            if self.comptes[t] and t not in SANS_ID:
                self.connexion.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT MAX(id) FROM {t}))")
                )


def _decaler(ligne: tuple, positions: list[tuple[int, int]]) -> tuple:
    valeurs = list(ligne)
    for i, decalage in positions:
        if valeurs[i] is not None:
            valeurs[i] += decalage
    return tuple(valeurs)
