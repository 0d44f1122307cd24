"""Bulk writing of the demo rows inside the caller's transaction.

SQLite: SQLAlchemy Core executemany inserts, chunk by chunk. PostgreSQL: COPY through psycopg 3
(`cursor.copy()` on the raw connection of the session's connection), which bypasses SQLAlchemy's type
processing, so enums are written by member name (as SQLAlchemy stores them) and JSON as text. Ids
are given explicitly (local id + the table's current maximum); PostgreSQL sequences are moved past
them at the end. On PostgreSQL, for the bulk path (national stock), `differer_index` drops the
secondary indexes and the foreign keys of the dossier tables (still empty: the demo loads only where
there is no demande) before the COPY, and
`terminer` recreates them from their exact definitions read in the catalogue (pg_get_indexdef,
pg_get_constraintdef): one index build and one check per constraint instead of one per row, in the
same transaction (a rollback restores them as they were). `texte` makes the COPY text of rows without touching the database (what the forked
workers of webapp.demo.parallele do); `ecrire_texte` sends such text in the caller's transaction.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from itertools import starmap
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Enum, Integer, Numeric, String, func, insert, select, text
from sqlalchemy.orm import Session

from ..models import Base
from .lignes import COLONNES, ORDRE, REFERENCES, SANS_ID, TABLES_DOSSIER

TAILLE_INSERT = 2000
MEMOIRE_INDEX = "256MB"  # maintenance_work_mem of the index builds of `terminer` (then restored)


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


def _echapper(texte: str) -> str:
    return texte.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _format_copy(table: str) -> Callable[..., str]:
    """A function giving one row of `table` in PostgreSQL's COPY text format, compiled once per table.

    Per column, by its SQLAlchemy type: NULL as \\N; numbers with str() (what psycopg sends); booleans as
    t/f; dates in ISO form; text escaped (backslash, tab, newline, carriage return) when needed; enums
    by member name; JSON with json.dumps. The function is generated (one expression per column, no call
    per value) because it runs for every row of the national stock: about 34 million.
    """
    colonnes = Base.metadata.tables[table].c
    espace: dict[str, Any] = {"N": "\\N", "e": _echapper, "dumps": json.dumps}
    champs = []
    for i, nom in enumerate(COLONNES[table]):
        type_ = colonnes[nom].type
        v = f"v{i}"
        if isinstance(type_, Enum) and type_.enum_class is not None:
            espace[f"noms{i}"] = {m.value: m.name for m in type_.enum_class}
            expression = f"noms{i}[{v}]"
        elif isinstance(type_, JSON):
            expression = f"e(dumps({v}))"
        elif isinstance(type_, Boolean):
            expression = f"('t' if {v} else 'f')"
        elif isinstance(type_, Date):
            expression = f"{v}.isoformat()"
        elif isinstance(type_, (Integer, Numeric)):
            expression = f"str({v})"
        elif isinstance(type_, String):
            expression = f"({v} if {v}.isprintable() and '\\\\' not in {v} else e({v}))"
        else:
            raise TypeError(f"Colonne {table}.{nom} : type {type_!r} non prévu pour COPY.")
        champs.append(f"N if {v} is None else {expression}")
    source = (f"def ligne({', '.join(f'v{i}' for i in range(len(champs)))}):\n"
              f"    return '\\t'.join(({', '.join(f'({c})' for c in champs)},))\n")
    exec(compile(source, f"<format COPY {table}>", "exec"), espace)  # noqa: S102 - source built above from the schema
    return espace["ligne"]


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
        self._a_retablir: list[str] = []
        self._conversions = {t: _conversions_copy(t) for t in ORDRE} if self.postgres else {}
        self._formats = {t: _format_copy(t) for t in TABLES_DOSSIER} if self.postgres else {}
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

    def texte(self, table: str, lignes: list[tuple]) -> bytes:
        """The COPY text of `lignes` of a dossier table (offsets applied): no database access, fork-safe."""
        decaler = self._decaler.get(table)
        if decaler:
            lignes = [_decaler(ligne, decaler) for ligne in lignes]
        sortie = list(starmap(self._formats[table], lignes))
        sortie.append("")
        return "\n".join(sortie).encode("utf-8")

    def ecrire_texte(self, table: str, donnees: bytes, nb_lignes: int) -> None:
        """COPY text made by `texte` (PostgreSQL only), in the caller's transaction."""
        if not nb_lignes:
            return
        brute = self.connexion.connection.dbapi_connection
        with brute.cursor() as curseur:
            with curseur.copy(f"COPY {table} ({', '.join(COLONNES[table])}) FROM STDIN") as copie:
                copie.write(donnees)
        self.comptes[table] += nb_lignes

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

    def differer_index(self) -> None:
        """PostgreSQL: drop the secondary indexes and foreign keys of the (empty) dossier tables until `terminer`."""
        if not self.postgres:
            return
        tables = {"tables": list(TABLES_DOSSIER)}
        cibles = "(SELECT to_regclass(n) FROM unnest(CAST(:tables AS text[])) AS n)"
        vides = self.connexion.execute(text(" UNION ALL ".join(
            f"(SELECT '{t}' FROM {t} LIMIT 1)" for t in TABLES_DOSSIER))).first()
        if vides is not None:
            return  # rows already there (not a demo base): indexes and constraints stay as they are
        index = self.connexion.execute(text(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            f"WHERE i.indrelid IN {cibles} AND NOT i.indisunique AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY c.relname"
        ), tables).all()
        contraintes = self.connexion.execute(text(
            "SELECT CAST(k.conrelid AS regclass)::text, quote_ident(k.conname), pg_get_constraintdef(k.oid) "
            f"FROM pg_constraint k WHERE k.contype = 'f' AND k.conrelid IN {cibles} ORDER BY k.conname"
        ), tables).all()
        for table, nom, definition in contraintes:
            self.connexion.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {nom}"))
            self._a_retablir.append(f"ALTER TABLE {table} ADD CONSTRAINT {nom} {definition}")
        for nom, definition in index:
            self.connexion.execute(text(f"DROP INDEX {nom}"))
            self._a_retablir.insert(0, definition)

    def terminer(self) -> None:
        """Move PostgreSQL sequences past the ids given explicitly; recreate what `differer_index` dropped."""
        if not self.postgres:
            return
        if self._a_retablir:
            # Indexes first (the constraints' checks use them), then the foreign keys.
            avant = self.connexion.execute(text("SHOW maintenance_work_mem")).scalar_one()
            self.connexion.execute(text("SELECT set_config('maintenance_work_mem', :v, true)"), {"v": MEMOIRE_INDEX})
            for ordre in self._a_retablir:
                self.connexion.execute(text(ordre))
            self.connexion.execute(text("SELECT set_config('maintenance_work_mem', :v, true)"), {"v": avant})
            self._a_retablir = []
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
