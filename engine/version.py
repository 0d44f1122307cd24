"""The rulebook version: one value, shown identically wherever a version is shown.

    version_regles() == "<engine.__version__>-<12 hex>"     e.g. "0.1.0-3fa29c01b7de"

The 12 hex digits start the SHA-256 of: the engine's version, then, for each file sorted by path,
its path relative to the repository and the SHA-256 of its bytes. The files are the data files (.yaml, .json,
.csv) under rules/ — rule files (regles/), cotation grids (cotation/), dated parameters (parametres/), their
schemas (schemas/), the reference data they use (donnees/: ceilings, quartile thresholds, communes
and EPCI; referentiels/: priority situations) — and the SNE code lists the rules and inputs are
checked against. Superseded rules and values stay in these files, so one version answers for every
date; the evaluation records its date next to the version. `empreinte_complete()` gives the full
64-hex digest for audit records. Without an argument, the functions describe the rules/ directory the
process evaluates with (`racine_active()`: the checkout's, or an activated stored version).
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from . import __version__

RACINE = Path(__file__).resolve().parent.parent
DOSSIER_REGLES = RACINE / "rules"
AUTRES_FICHIERS = (RACINE / "fixtures" / "sne" / "sne_interface_code_lists_v0201.json",)

SUFFIXES_DONNEES = frozenset({".yaml", ".yml", ".json", ".csv"})  # documentation (.md) does not decide

_cache: dict[tuple, str] = {}

# The rules/ directory this process evaluates with: the checkout's, or a copy (a stored version the
# application extracted and activated; engine.evaluation.utiliser_racine changes it).
_racine_active: list[Path] = [DOSSIER_REGLES]


# A rules/ directory used for the time of one replay (`racine_temporaire`), in this thread or task only:
# the other threads of the process go on with the active one.
_racine_du_contexte: ContextVar[Path | None] = ContextVar("racine_du_contexte", default=None)


def racine_active() -> Path:
    """The rules/ directory evaluations read: the one of a replay in progress in this thread
    (`racine_temporaire`), else the process's (the checkout's, or an activated stored version)."""
    return _racine_du_contexte.get() or _racine_active[0]


@contextmanager
def racine_temporaire(racine: str | Path) -> Iterator[Path]:
    """Evaluate with the rulebook of the directory `racine` inside the block, in this thread only (a
    replay by a stored version): every reader of rules/ follows it there (`racine_active`), while the
    other threads of the process keep the active rulebook. Compiled rulebooks are cached per directory,
    so nothing of the active one is forgotten."""
    jeton = _racine_du_contexte.set(Path(racine).resolve())
    try:
        yield _racine_du_contexte.get()
    finally:
        _racine_du_contexte.reset(jeton)


def chemin_regles(*parties: str) -> Path:
    """A path under the rules/ directory this process evaluates with (`racine_active()`): every reader
    of rules/ (engine or application) builds its path here, so what it reads follows an activated version.

        chemin_regles("flux", "exclusions.yaml")  ->  <active rules/>/flux/exclusions.yaml
    """
    return racine_active().joinpath(*parties)


def _racine(racine: Path | None) -> Path:
    return racine_active() if racine is None else Path(racine)


def chemin_listes_sne(racine: Path | None = None) -> Path:
    """The SNE code lists a version includes: beside the rules/ directory `racine` (default: the one this
    thread evaluates with), fixtures/sne/… of this checkout or of the copy of a stored version."""
    return _autres_fichiers(_racine(racine))[0]


def _autres_fichiers(racine: Path) -> tuple[Path, ...]:
    """The files outside rules/ that a version includes, beside `racine` (a copy has them beside it too)."""
    base = Path(racine).resolve().parent
    if base == RACINE:
        return AUTRES_FICHIERS
    return tuple(base / p.relative_to(RACINE) for p in AUTRES_FICHIERS)


def fichiers_versionnes(racine: Path | None = None) -> list[Path]:
    racine = _racine(racine)
    fichiers = [
        p for p in racine.rglob("*")
        if p.is_file() and p.suffix in SUFFIXES_DONNEES and not p.name.startswith(".")
    ]
    fichiers.extend(p for p in _autres_fichiers(racine) if p.is_file())
    return sorted(set(fichiers))


def _relatif(p: Path, base: Path = RACINE) -> str:
    """The path as the version names it: relative to the directory holding rules/ (this checkout or a copy)."""
    try:
        return p.resolve().relative_to(base).as_posix()
    except ValueError:
        return p.as_posix()


def _etat_fichiers(racine: Path) -> list[tuple[str, int, int]]:
    """(path, mtime, size) of `fichiers_versionnes(racine)`, in its order, with one stat per file.

    Called on every version request (each API response carries the version): a walk with scandir,
    whose entries know their type, on plain strings sorted by their parts (pathlib's order), instead
    of pathlib's glob and two stats per file.
    """
    trouves: dict[str, tuple[str, int, int]] = {}
    a_voir = [str(racine)]
    while a_voir:
        try:
            entrees = list(os.scandir(a_voir.pop()))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for e in entrees:
            if e.is_dir(follow_symlinks=False):  # as pathlib's rglob, which does not follow them
                a_voir.append(e.path)
            elif e.is_file() and not e.name.startswith(".") and os.path.splitext(e.name)[1] in SUFFIXES_DONNEES:
                st = e.stat()
                trouves[e.path] = (e.path, st.st_mtime_ns, st.st_size)
    for p in _autres_fichiers(racine):
        try:
            st = os.stat(p)
        except FileNotFoundError:
            continue
        trouves[str(p)] = (str(p), st.st_mtime_ns, st.st_size)
    return [trouves[c] for c in sorted(trouves, key=lambda c: c.split(os.sep))]


def empreinte_complete(racine: Path | None = None) -> str:
    racine = _racine(racine)
    cle = (__version__, tuple(_etat_fichiers(racine)))
    if cle in _cache:
        return _cache[cle]
    fichiers = [Path(p) for p, _, _ in cle[1]]
    h = hashlib.sha256()
    h.update(f"caleol-engine {__version__}\n".encode())
    base = Path(racine).resolve().parent
    for p in fichiers:
        h.update(f"{_relatif(p, base)}\0{hashlib.sha256(p.read_bytes()).hexdigest()}\n".encode())
    _cache.clear()
    _cache[cle] = h.hexdigest()
    return _cache[cle]


def version_regles(racine: Path | None = None) -> str:
    """Short form shown to users, stored with every evaluation: '<engine version>-<12 hex>' (of the
    active rules/ directory by default)."""
    return f"{__version__}-{empreinte_complete(racine)[:12]}"
