"""Rulebook versions seen by this instance, and what changed from one to the next.

    enregistrer_version(session, acteur=..., source=...) -> (VersionRegles, nouvelle)

The version string (engine.version.version_regles) says *that* the rule files changed; the inventory
says *what* changed: one short hash per data file, rule (rules/regles and the flux exclusions),
cotation criterion, grid, ranking criterion and dated parameter. Comparing the inventory with the one
of the last recorded version lists the rules, criteria and parameters added, removed or modified.
The loaders are called without their caches, so the inventory always describes the files on disk,
the same files the version digest was computed from.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import __version__ as version_moteur
from engine.version import DOSSIER_REGLES, RACINE, empreinte_complete, fichiers_versionnes, version_regles

from ..audit import journaliser
from ..horloge import maintenant
from ..models import VersionRegles

journal = logging.getLogger(__name__)

# Categories of the inventory, with their French names (singular, plural, feminine?) for the summary.
CATEGORIES = {
    "regles": ("règle", "règles", True),
    "criteres": ("critère de cotation", "critères de cotation", False),
    "grilles": ("grille de cotation", "grilles de cotation", True),
    "classement": ("critère de classement", "critères de classement", False),
    "parametres": ("paramètre", "paramètres", False),
    "fichiers": ("fichier", "fichiers", False),
}
NOMS_CITES = 5
_inventaires: dict[str, dict[str, Any]] = {}


def _defaut(valeur: Any) -> Any:
    if isinstance(valeur, dt.date | Decimal | Path):
        return str(valeur)
    if isinstance(valeur, frozenset | set):
        return sorted(valeur)
    if dataclasses.is_dataclass(valeur) and not isinstance(valeur, type):
        return {f.name: getattr(valeur, f.name) for f in dataclasses.fields(valeur) if f.compare}
    raise TypeError(f"valeur non sérialisable : {type(valeur).__name__}")


def _hash(objet: Any) -> str:
    texte = json.dumps(objet, sort_keys=True, ensure_ascii=False, default=_defaut)
    return hashlib.sha256(texte.encode()).hexdigest()[:16]


def _champs(objet: Any, *exclus: str) -> dict[str, Any]:
    return {f.name: getattr(objet, f.name) for f in dataclasses.fields(objet) if f.name not in exclus}


def _relatif(p: Path, base: Path = RACINE) -> str:
    try:
        return p.resolve().relative_to(base).as_posix()
    except ValueError:
        return p.as_posix()


def calculer_inventaire(racine: Path | None = None) -> dict[str, Any]:
    """The inventory of the rule files on disk, or of the rules/ directory `racine` (raises ErreurRegles
    if the rulebook does not load), flux exclusions and ranking policy included."""
    from engine.parametres import RACINE_REGLES, _charger
    from engine.regles import charger_reglement

    from ..services.flux import _charger_regles
    from ..services.propositions import charger_politique

    racine = Path(racine or DOSSIER_REGLES).resolve()
    reglement = charger_reglement(racine) if racine != Path(RACINE_REGLES).resolve() else charger_reglement()
    parametres: dict[str, str] = {}
    for dossier in (racine, racine / "flux"):
        # Without the cache: the files may have changed since this process loaded them.
        referentiel = _charger.__wrapped__(Path(dossier).resolve())
        for chemin, definition in referentiel.definitions.items():
            parametres[chemin] = _hash(_champs(definition))
    regles = {r.id: _hash(_champs(r, "chemins", "fichier")) for r in reglement.regles}
    for r in _charger_regles.__wrapped__(racine / "flux" / "exclusions.yaml").regles:
        regles[r.id] = _hash(_champs(r, "predicat"))
    criteres = {c.id: _hash(_champs(c, "chemins", "condition")) for g in reglement.grilles for c in g.criteres}
    grilles = {g.id: _hash(_champs(g, "criteres", "fichier")) for g in reglement.grilles}
    classement = {c.id: _hash(_champs(c)) for c in charger_politique(racine / "propositions" / "classement.yaml").criteres}
    fichiers = {_relatif(p, racine.parent): hashlib.sha256(p.read_bytes()).hexdigest()[:16]
                for p in fichiers_versionnes(racine)}
    return {
        "moteur": version_moteur,
        "fichiers": fichiers,
        "regles": regles,
        "criteres": criteres,
        "grilles": grilles,
        "classement": classement,
        "parametres": parametres,
    }


def inventaire_courant(racine: Path | None = None) -> tuple[str, str, dict[str, Any]]:
    """(version, full digest, inventory) of the files on disk (or of the rules/ directory `racine`, not
    of the version this process evaluates with); the inventory is computed once per digest."""
    racine = Path(racine or DOSSIER_REGLES)
    empreinte = empreinte_complete(racine)
    if empreinte not in _inventaires:
        _inventaires.clear()
        _inventaires[empreinte] = calculer_inventaire(racine)
    return version_regles(racine), empreinte, _inventaires[empreinte]


def comparer(avant: dict[str, Any] | None, apres: dict[str, Any]) -> dict[str, Any]:
    """Per category: sorted lists of the names added, removed and modified."""
    res: dict[str, Any] = {}
    for cat in CATEGORIES:
        a, b = (avant or {}).get(cat, {}), apres.get(cat, {})
        res[cat] = {
            "ajoutes": sorted(set(b) - set(a)),
            "supprimes": sorted(set(a) - set(b)),
            "modifies": sorted(k for k in set(a) & set(b) if a[k] != b[k]),
        }
    if avant is not None and avant.get("moteur") != apres.get("moteur"):
        res["moteur"] = {"avant": avant.get("moteur"), "apres": apres.get("moteur")}
    return res


def _nombre(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def _accord(participe: str, n: int, feminin: bool) -> str:
    return participe + ("e" if feminin else "") + ("s" if n > 1 else "")


def _noms(noms: list[str]) -> str:
    cites = ", ".join(noms[:NOMS_CITES])
    reste = len(noms) - NOMS_CITES
    return cites + (f" et {_nombre(reste)} autre(s)" if reste > 0 else "")


def resumer(changements: dict[str, Any], inventaire: dict[str, Any], precedente: str | None) -> str:
    """A French summary of what changed (or of what the first recorded version contains)."""
    if precedente is None:
        morceaux = []
        for cat, (sing, plur, _fem) in CATEGORIES.items():
            n = len(inventaire.get(cat, {}))
            morceaux.append(f"{_nombre(n)} {sing if n <= 1 else plur}")  # zéro est singulier en français
        return "Première version enregistrée sur cette instance : " + ", ".join(morceaux) + "."
    phrases = []
    for cat, (sing, plur, fem) in CATEGORIES.items():
        if cat == "fichiers":
            continue
        parties = []
        for cle, participe in (("ajoutes", "ajouté"), ("supprimes", "supprimé"), ("modifies", "modifié")):
            noms = changements[cat][cle]
            if noms:
                parties.append(f"{_nombre(len(noms))} {_accord(participe, len(noms), fem)} ({_noms(noms)})")
        if parties:
            phrases.append(f"{plur[0].upper() + plur[1:]} : " + ", ".join(parties))
    fichiers = changements["fichiers"]
    touches = fichiers["ajoutes"] + fichiers["supprimes"] + fichiers["modifies"]
    if touches:
        if phrases:
            phrases.append(f"Fichiers touchés : {_noms(sorted(touches))}")
        else:
            phrases.append(f"Aucune règle ni valeur modifiée ; seuls ces fichiers ont changé (commentaires, mise en forme ou données de référence) : {_noms(sorted(touches))}")
    if "moteur" in changements:
        phrases.append(f"Version du moteur : {changements['moteur']['avant']} → {changements['moteur']['apres']}")
    if not phrases:
        phrases.append("Aucune différence dans les fichiers de règles")
    return f"Depuis la version {precedente} : " + " ; ".join(phrases) + "."


def derniere_version(session: Session) -> VersionRegles | None:
    return session.scalars(
        select(VersionRegles).order_by(VersionRegles.premiere_vue.desc(), VersionRegles.id.desc()).limit(1)
    ).first()


def versions(session: Session) -> list[VersionRegles]:
    """Every recorded version, the most recent first."""
    return list(session.scalars(select(VersionRegles).order_by(VersionRegles.premiere_vue.desc(), VersionRegles.id.desc())))


def enregistrer_version(session: Session, *, acteur: str, source: str,
                        racine: Path | None = None) -> tuple[VersionRegles, bool]:
    """Record the version of the files on disk (or of the rules/ directory `racine`) with its archive
    if this instance has not seen it yet (flush, never commit); a version seen before its files were
    kept gets its archive now."""
    from .activation import archiver
    from .activation import empreinte as empreinte_archive

    version, empreinte, inventaire = inventaire_courant(racine) if racine is not None else inventaire_courant()
    existante = session.scalars(select(VersionRegles).where(VersionRegles.version == version)).first()
    if existante is not None:
        if existante.archive_empreinte is None:
            archive = archiver(racine)
            existante.archive, existante.archive_empreinte = archive, empreinte_archive(archive)
            session.flush()
        return existante, False
    precedente = derniere_version(session)
    changements = comparer(precedente.inventaire if precedente else None, inventaire)
    resume = resumer(changements, inventaire, precedente.version if precedente else None)
    v = VersionRegles(
        version=version, empreinte=empreinte, premiere_vue=maintenant(), source=source,
        precedente=precedente.version if precedente else None, resume=resume,
        changements=changements, inventaire=inventaire,
    )
    v.archive = archiver(racine)
    v.archive_empreinte = empreinte_archive(v.archive)
    session.add(v)
    session.flush()
    journaliser(
        session, acteur=acteur, action="regles.enregistrer_version", objet_type="version_regles", objet_id=version,
        apres={"version": version, "precedente": v.precedente, "resume": resume},
        details={"source": source, "empreinte": empreinte, "archive_empreinte": v.archive_empreinte},
    )
    return v, True


def enregistrer_au_demarrage(sessions) -> None:
    """At application start: record the current version when the database is migrated and has not seen it."""
    from sqlalchemy.exc import DBAPIError, IntegrityError

    from engine.yaml_strict import ErreurRegles

    session = sessions()
    try:
        _v, nouvelle = enregistrer_version(session, acteur="systeme:demarrage", source="demarrage")
        session.commit()
        if nouvelle:
            journal.info("version des règles enregistrée au démarrage : %s", _v.version)
    except IntegrityError:
        # Another worker recorded it at the same time.
        session.rollback()
    except DBAPIError:
        # Database not migrated yet (`caleol db upgrade`): nothing to record.
        session.rollback()
    except ErreurRegles as exc:
        session.rollback()
        journal.warning("version des règles non enregistrée : référentiel invalide (%s)", exc)
    finally:
        session.close()


def recharger_regles() -> None:
    """Forget every rulebook cache of this process: the engine's compiled rules, the parameters, the
    flux exclusions and periods, the published ranking, the decision and offer referentials, the
    priority situations and the labels of the filters. `engine.evaluation.recharger` alone keeps the
    parameter tables, which would then be read with the new version's name. (An activation does not
    need it for the application's readers: their caches are per file of rules/, engine.version.chemin_regles.)"""
    from engine.evaluation import recharger
    from engine.parametres import _charger

    from .. import filtres, referentiels
    from ..services import bilan, decisions, flux, offres, propositions
    from . import consultation

    recharger()
    _charger.cache_clear()
    flux._charger_regles.cache_clear()
    bilan._periodes_construction.cache_clear()
    propositions._politique.cache_clear()
    decisions._referentiel.cache_clear()
    offres._referentiel.cache_clear()
    referentiels.oublier()
    filtres._libelles_regles.cache_clear()
    consultation._cache.clear()
