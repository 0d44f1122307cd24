"""Health of one server process, for the supervisor and the load balancer: GET /sante.

No login, no personal data, exempt from rate limiting. JSON:

    {"statut": "ok" | "degrade", "base_de_donnees": "joignable" | "injoignable",
     "moteur": {"pret": bool, "version_regles": "0.1.0-…", "date": "AAAA-MM-JJ", "prepare_en_s": 0.8},
     "version_application": "0.1.0", "processus": 12345}

200 when the database answers `SELECT 1` and the rulebook in force today is compiled in this process;
503 otherwise (with the reason in French under `erreurs`).

The compiled rulebook (engine.evaluation: durable_rules host and plain-Python closures) is built once
per process by `preparer_moteur()`: gunicorn calls it in each worker after the fork (gunicorn.conf.py,
`post_worker_init`), never in the master, so no durable_rules state crosses a fork; the development
server calls it before serving. A dossier of fixtures/ is evaluated once to warm the caches, so the
first request of a worker does not pay for it.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from .extensions import limiter
from .horloge import aujourd_hui

bp = Blueprint("sante", __name__)
journal = logging.getLogger("webapp.sante")
DOSSIER_ECHAUFFEMENT = Path(__file__).resolve().parents[1] / "fixtures" / "dossiers" / "famille_monoparentale_lille.json"

_verrou = threading.Lock()
_etat: dict[str, Any] = {"pret": False, "version_regles": None, "date": None, "prepare_en_s": None, "processus": None}


def version_application() -> str:
    try:
        return metadata.version("caleol")
    except metadata.PackageNotFoundError:  # pragma: no cover - source tree without installation
        from engine import __version__

        return __version__


def preparer_moteur(*, echauffer: bool = True) -> dict[str, Any]:
    """Compile the rulebook in force today in this process (once), and warm it up with one evaluation."""
    with _verrou:
        date = aujourd_hui()
        if _etat["pret"] and _etat["processus"] == os.getpid() and _etat["date"] == date.isoformat():
            return dict(_etat)
        from engine.evaluation import evaluer, moteur_a_la_date

        debut = time.perf_counter()
        moteur = moteur_a_la_date(date)
        if echauffer and DOSSIER_ECHAUFFEMENT.is_file():
            from .schemas import charger_dossier

            dossier = charger_dossier(json.loads(DOSSIER_ECHAUFFEMENT.read_text(encoding="utf-8")))
            evaluer(dossier, date=date)
        _etat.update(pret=True, version_regles=moteur.version, date=date.isoformat(),
                     prepare_en_s=round(time.perf_counter() - debut, 3), processus=os.getpid())
        journal.info("Référentiel %s compilé dans le processus %s en %.3f s.", moteur.version, os.getpid(),
                     _etat["prepare_en_s"])
        return dict(_etat)


def etat_moteur() -> dict[str, Any]:
    """The rulebook compiled in this process for today (compiled now if the day or the process changed);
    its version is read from the engine's cache each time (a rulebook reloaded since shows its own)."""
    from engine.evaluation import moteur_a_la_date

    etat = preparer_moteur()
    etat["version_regles"] = moteur_a_la_date(aujourd_hui()).version
    return etat


@bp.get("/sante")
@limiter.exempt
def sante():
    erreurs: list[str] = []
    try:
        with current_app.extensions["caleol.engine"].connect() as connexion:
            connexion.execute(text("SELECT 1"))
        base = "joignable"
    except Exception:  # noqa: BLE001 - any failure means unreachable; its text may name the server
        journal.exception("Base de données injoignable (contrôle de santé).")
        base = "injoignable"
        erreurs.append("La base de données ne répond pas.")
    try:
        etat = etat_moteur()
        moteur = {"pret": bool(etat["pret"]), "version_regles": etat["version_regles"], "date": etat["date"],
                  "prepare_en_s": etat["prepare_en_s"]}
    except Exception:  # noqa: BLE001 - a rulebook that does not compile is reported, not raised
        journal.exception("Référentiel non compilé (contrôle de santé).")
        moteur = {"pret": False, "version_regles": None, "date": None, "prepare_en_s": None}
        erreurs.append("Le référentiel de règles n'a pas pu être compilé dans ce processus.")
    if not moteur["pret"] and not erreurs:
        erreurs.append("Le référentiel de règles n'est pas compilé dans ce processus.")
    corps: dict[str, Any] = {
        "statut": "degrade" if erreurs else "ok",
        "base_de_donnees": base,
        "moteur": moteur,
        "version_application": version_application(),
        "processus": os.getpid(),
    }
    if erreurs:
        corps["erreurs"] = erreurs
    reponse = jsonify(corps)
    reponse.status_code = 503 if erreurs else 200
    reponse.headers["Cache-Control"] = "no-store"
    return reponse
