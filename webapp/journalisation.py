"""Logs without personal data: request lines lose their query string and identifying path segments.

Production logs (gunicorn.conf.py, `caleol serve`): `CALEOL_LOG_FORMAT=json` writes one JSON object
per line (python-json-logger), `texte` (default) one readable line. Each request leaves one line on
the `webapp.requetes` logger with its id (`X-Request-Id`, echoed in the response), its route (the
URL *pattern*, e.g. `/demandes/<numero>`, never the values), method, status, duration and the id of
the logged-in user; never a name, a numéro unique or a query string.
"""
from __future__ import annotations

import logging
import logging.config
import os
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

# /demandes/<numéro unique> and the like: the segment after these prefixes identifies a person.
_SEGMENTS_IDENTIFIANTS = re.compile(r"(/demandes/)[^/\s?\"]+")
_REQUETE = re.compile(r"\?[^\s\"]*")
# An id given by a proxy is kept only if it cannot carry anything but an identifier.
_ID_REQUETE_SUR = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
FORMATS = ("texte", "json")
FORMAT_TEXTE = "%(asctime)s %(levelname)s %(name)s [%(id_requete)s] %(message)s"
# Fields of a JSON line, in this order (then the `extra` of the record: route, statut, duree_ms…).
CHAMPS_JSON = "%(asctime)s %(levelname)s %(name)s %(process)d %(id_requete)s %(message)s"


def masquer(texte: str) -> str:
    texte = _REQUETE.sub("?…", texte)
    return _SEGMENTS_IDENTIFIANTS.sub(r"\1…", texte)


def _masquer_valeur(valeur: Any) -> Any:
    return masquer(valeur) if isinstance(valeur, str) else valeur


class FiltreDonneesPersonnelles(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, Mapping):  # gunicorn's access log passes a dict of atoms
            record.args = {k: _masquer_valeur(v) for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(_masquer_valeur(a) for a in record.args)
        if isinstance(record.msg, str):
            record.msg = masquer(record.msg)
        return True


class FiltreIdRequete(logging.Filter):
    """Adds `id_requete` (the current request's id, or "-") to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "id_requete"):
            record.id_requete = id_requete_courante()
        return True


def id_requete_courante() -> str:
    from flask import g, has_app_context

    if has_app_context():
        return g.get("id_requete", "-")
    return "-"


def installer() -> None:
    filtre = FiltreDonneesPersonnelles()
    for nom in ("werkzeug", "gunicorn.access", "webapp"):
        logger = logging.getLogger(nom)
        if not any(isinstance(f, FiltreDonneesPersonnelles) for f in logger.filters):
            logger.addFilter(filtre)


def format_journal() -> str:
    """CALEOL_LOG_FORMAT: `texte` (default) or `json`; anything else is refused in French."""
    valeur = (os.environ.get("CALEOL_LOG_FORMAT") or "texte").strip().lower()
    if valeur not in FORMATS:
        raise ValueError(f"CALEOL_LOG_FORMAT : « {valeur} » inconnu (attendu : {', '.join(FORMATS)}).")
    return valeur


def formateur(format_: str = "texte") -> logging.Formatter:
    """`json`: one JSON object per line (python-json-logger), French keys; `texte`: one readable line."""
    if format_ == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter(
            CHAMPS_JSON,
            datefmt="%Y-%m-%dT%H:%M:%S%z",
            rename_fields={"asctime": "horodatage", "levelname": "niveau", "name": "journal", "process": "processus"},
            json_ensure_ascii=False,
        )
    return logging.Formatter(FORMAT_TEXTE)


def configuration(format_: str | None = None, niveau: str | None = None, *, acces_gunicorn: bool = False) -> dict[str, Any]:
    """A logging.config dictionary for the application and gunicorn (gunicorn.conf.py `logconfig_dict`).

    gunicorn's access lines are dropped unless `acces_gunicorn`: the application's own line per
    request (`webapp.requetes`) says the same and more."""
    format_ = format_ or format_journal()
    niveau = (niveau or os.environ.get("CALEOL_LOG_LEVEL") or "INFO").upper()
    formateur_ = {"()": "webapp.journalisation.formateur", "format_": format_}
    filtres = {
        "donnees_personnelles": {"()": FiltreDonneesPersonnelles},
        "id_requete": {"()": FiltreIdRequete},
    }
    gestionnaire = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "formatter": "caleol",
        "filters": ["donnees_personnelles", "id_requete"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"caleol": formateur_},
        "filters": filtres,
        "handlers": {"console": gestionnaire},
        "root": {"level": niveau, "handlers": ["console"]},
        "loggers": {
            # gunicorn's own loggers write through the same handler (no duplicate lines).
            "gunicorn.error": {"level": niveau, "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": niveau if acces_gunicorn else "WARNING", "handlers": ["console"],
                                "propagate": False},
        },
    }


def configurer(format_: str | None = None, niveau: str | None = None) -> None:
    logging.config.dictConfig(configuration(format_, niveau))


# --------------------------------------------------------------------------- one line per request

JOURNAL_REQUETES = logging.getLogger("webapp.requetes")


def installer_requetes(app) -> None:
    """Request id, duration and one structured line per request (logger `webapp.requetes`)."""
    from flask import g, request

    @app.before_request
    def _debut() -> None:
        g.debut_requete = time.perf_counter()
        propose = request.headers.get("X-Request-Id", "")
        g.id_requete = propose if _ID_REQUETE_SUR.match(propose) else uuid.uuid4().hex

    @app.after_request
    def _fin(reponse):
        debut = g.get("debut_requete")
        identifiant = g.get("id_requete") or uuid.uuid4().hex
        reponse.headers["X-Request-Id"] = identifiant
        if debut is not None and JOURNAL_REQUETES.isEnabledFor(logging.INFO):
            regle = request.url_rule
            utilisateur = g.get("_login_user")
            duree_ms = round((time.perf_counter() - debut) * 1000, 2)
            utilisateur_id = getattr(utilisateur, "id", None) if getattr(utilisateur, "is_authenticated", False) else None
            JOURNAL_REQUETES.info(
                "%s %s %s %.2f ms utilisateur=%s", request.method, regle.rule if regle is not None else "(route inconnue)",
                reponse.status_code, duree_ms, utilisateur_id if utilisateur_id is not None else "-",
                extra={
                    "id_requete": identifiant,
                    "methode": request.method,
                    "route": regle.rule if regle is not None else None,
                    "statut": reponse.status_code,
                    "duree_ms": duree_ms,
                    "utilisateur_id": utilisateur_id,
                },
            )
        return reponse
