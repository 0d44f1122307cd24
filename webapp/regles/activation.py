"""Rulebook versions kept whole, activated without a restart, and replayed.

    archiver(racine) -> bytes                         the files of a version, as a reproducible tar.gz
    enregistrer_version(session, …, racine=…)        (webapp.regles.versions) records it with its archive
    activer(session, version, acteur=…)               every process evaluates with it from now on
    synchroniser(session)                             called on each request / command: reload if it changed
    extraire(v) -> Path                               the rules/ directory of a stored version
    evaluer_avec_version(session, version, …)         replay: the evaluation with a stored version

A version is the digest of its files (engine.version). Its archive holds exactly those files (rules/…
and the SNE code lists), named as the digest names them, with fixed dates and owners: the same files
always give the same bytes, whose SHA-256 is stored beside it. Extracted into a directory of the
machine's temporary space named after that SHA-256 (checked before use), the archive gives a rules/
directory whose version is the stored one; the engine evaluates with it (engine.evaluation.
utiliser_racine: its rules, grids and dated parameters). The application's readers of rules/ build
their paths with engine.version.chemin_regles, under the same directory, with caches per file: the
territory tables, the flux exclusions, parameters and bilan periods, the ranking, the decision and
offer referentials, the priority situations and sensitive motifs follow the active version too
(README, « Versions du référentiel », says what does not).

The active version is one row (referentiel_actif). Each process (gunicorn worker, command) reads it at
most every CALEOL_REFERENTIEL_VERIFICATION seconds (2 by default; one primary-key read) and, when it
differs from the one it evaluates with, extracts the stored archive and reloads its engine: no restart,
no signal, the same on SQLite and PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import logging
import os
import shutil
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.version import DOSSIER_REGLES, fichiers_versionnes, racine_temporaire, version_regles

from ..audit import journaliser
from ..horloge import maintenant
from ..models import ReferentielActif, VersionRegles

journal = logging.getLogger(__name__)
ID_ACTIF = 1
TTL_DEFAUT = 2.0


class ErreurActivation(ValueError):
    """A refused activation or replay: `erreurs` maps the field (`version`) to French messages."""

    def __init__(self, erreurs: dict[str, list[str]]) -> None:
        self.erreurs = erreurs
        super().__init__(" ; ".join(f"{c} : {' '.join(m)}" for c, m in erreurs.items()))


# --------------------------------------------------------------------------- the archive

_archives: dict[tuple[Path, str], bytes] = {}


def archiver(racine: Path | None = None) -> bytes:
    """The files of the version of `racine` (default: the rules/ on disk) as a reproducible tar.gz
    (built once per directory and digest in a process: ~0.3 s)."""
    from engine.version import empreinte_complete

    racine = Path(racine or DOSSIER_REGLES).resolve()
    cle = (racine, empreinte_complete(racine))
    if cle not in _archives:
        if len(_archives) > 4:
            _archives.clear()
        _archives[cle] = _archiver(racine)
    return _archives[cle]


def _archiver(racine: Path) -> bytes:
    base = racine.parent
    tampon = io.BytesIO()
    with gzip.GzipFile(fileobj=tampon, mode="wb", mtime=0, compresslevel=6) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for p in fichiers_versionnes(racine):
                contenu = p.read_bytes()
                info = tarfile.TarInfo(p.resolve().relative_to(base).as_posix())
                info.size, info.mtime, info.mode = len(contenu), 0, 0o644
                tar.addfile(info, io.BytesIO(contenu))
    return tampon.getvalue()


def empreinte(archive: bytes) -> str:
    return hashlib.sha256(archive).hexdigest()


def _dossier_cache() -> Path:
    return Path(os.environ.get("CALEOL_REFERENTIELS_DIR") or Path(tempfile.gettempdir()) / "caleol-referentiels")


def extraire(v: VersionRegles) -> Path:
    """The rules/ directory of a stored version (extracted once per machine, checked against its digest)."""
    archive = v.archive
    if not archive or empreinte(archive) != v.archive_empreinte:
        raise ErreurActivation({"version": [f"L'archive de la version {v.version} est absente ou altérée."]})
    cible = _dossier_cache() / v.archive_empreinte
    if not (cible / "rules").is_dir():
        cible.parent.mkdir(parents=True, exist_ok=True)
        provisoire = Path(tempfile.mkdtemp(prefix=".extraction-", dir=cible.parent))
        try:
            with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
                tar.extractall(provisoire, filter="data")
            try:
                os.rename(provisoire, cible)  # atomic: another process may have done it meanwhile
            except OSError:
                if not (cible / "rules").is_dir():
                    raise
        finally:
            shutil.rmtree(provisoire, ignore_errors=True)
    racine = cible / "rules"
    if version_regles(racine) != v.version:
        raise ErreurActivation({"version": [f"Les fichiers extraits ne donnent pas la version {v.version}."]})
    return racine


# --------------------------------------------------------------------------- activation

def _version(session: Session, version: Any) -> VersionRegles:
    if not isinstance(version, str) or not version.strip():
        raise ErreurActivation({"version": ["Indiquez la version à activer (par exemple 0.1.0-3fa29c01b7de)."]})
    v = session.scalars(select(VersionRegles).where(VersionRegles.version == version.strip())).one_or_none()
    if v is None:
        raise ErreurActivation({"version": [f"Version inconnue : « {version.strip()[:80]} » (voir Administration › "
                                            "Versions du référentiel ou caleol rules versions)."]})
    if v.archive_empreinte is None:
        raise ErreurActivation({"version": [f"La version {v.version} a été vue sans que ses fichiers soient conservés : "
                                            "elle ne peut être ni activée ni rejouée."]})
    return v


def version_active(session: Session) -> str | None:
    return session.scalar(select(ReferentielActif.version).where(ReferentielActif.id == ID_ACTIF))


def activer(session: Session, version: Any, *, acteur: str) -> VersionRegles:
    """Make `version` the one every process evaluates with (flush, never commit; one audit entry)."""
    v = _version(session, version)
    extraire(v)  # refuses an archive that does not give the version
    actif = session.get(ReferentielActif, ID_ACTIF)
    avant = actif.version if actif else None
    if avant == v.version:
        raise ErreurActivation({"version": [f"La version {v.version} est déjà la version active."]})
    if actif is None:
        actif = ReferentielActif(id=ID_ACTIF, version=v.version, active_depuis=maintenant(), active_par=acteur)
        session.add(actif)
    else:
        actif.version, actif.active_depuis, actif.active_par = v.version, maintenant(), acteur
    session.flush()
    journaliser(session, acteur=acteur, action="regles.activer", objet_type="version_regles", objet_id=v.version,
                avant={"version_active": avant}, apres={"version_active": v.version},
                details={"archive_empreinte": v.archive_empreinte})
    return v


# --------------------------------------------------------------------------- every process follows

_etat: dict[str, Any] = {"verifie": float("-inf"), "version": None}
_verrou = threading.Lock()


def a_verifier(ttl: float | None = None) -> bool:
    """Whether the last check of the active version is older than `ttl` seconds (no database access)."""
    ttl = float(os.environ.get("CALEOL_REFERENTIEL_VERIFICATION", TTL_DEFAUT)) if ttl is None else ttl
    return time.monotonic() - _etat["verifie"] >= ttl


def synchroniser(session: Session, *, ttl: float | None = None) -> str | None:
    """Reload this process's engine if the active version changed (checked at most every `ttl` s).

    Returns the active version (None: none activated, the files on disk)."""
    from engine.evaluation import utiliser_racine

    from .versions import recharger_regles

    if not a_verifier(ttl):
        return _etat["version"]
    with _verrou:
        version = version_active(session)
        _etat["verifie"] = time.monotonic()
        if version == _etat["version"]:
            return version
        try:
            racine = None if version is None else extraire(_version(session, version))
        except ErreurActivation as exc:
            # Keep evaluating with the current rulebook; say it once per check, never fail the request.
            journal.error("version active %s non chargée : %s", version, exc)
            return _etat["version"]
        utiliser_racine(racine)
        recharger_regles()
        _etat["version"] = version
        return version


def oublier() -> None:
    """Back to the files on disk and no active version known (tests)."""
    from engine.evaluation import utiliser_racine

    from .versions import recharger_regles

    with _verrou:
        utiliser_racine(None)
        recharger_regles()
        _etat.update(verifie=float("-inf"), version=None)


# --------------------------------------------------------------------------- replay

def evaluer_avec_version(session: Session, version: Any, dossier: dict, logement: dict | None, date: dt.date,
                         **options: Any) -> dict[str, Any]:
    """The evaluation by a stored version, in this thread only: the other threads of the process go on
    with the active version meanwhile."""
    from engine.evaluation import evaluer

    v = _version(session, version)
    with racine_temporaire(extraire(v)):
        return evaluer(dossier, logement, date, **options)


