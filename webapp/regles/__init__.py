"""The rulebook as people read it: the rules browser (/regles, logged-in users) and the public notice of
the algorithm (/notice, no login: CRPA L311-3-1 and R311-3-1-2; décret n° 2019-1378).

Both pages are built from the objects the engine evaluates (engine.regles, engine.parametres, the
ranking of rules/propositions/classement.yaml), so they cannot say something else than what runs.
At registration the blueprint records the current rulebook version if the database has not seen it
(webapp.regles.versions), which feeds the version history of the notice.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, render_template, request
from flask_login import login_required

from .. import get_session
from ..horloge import aujourd_hui
from . import consultation

bp = Blueprint("regles", __name__)
bp.add_app_template_filter(consultation.valeur_texte, "valeur_parametre")


@bp.record_once
def _au_demarrage(etat) -> None:
    app = etat.app
    if app.config.get("ENREGISTRER_VERSION_REGLES", True):
        from .versions import enregistrer_au_demarrage

        enregistrer_au_demarrage(app.extensions["caleol.sessions"])


@bp.before_app_request
def _suivre_la_version_active() -> None:
    """Every process follows the activated rulebook version without a restart (checked every few seconds)."""
    from sqlalchemy.exc import DBAPIError

    from .activation import a_verifier, synchroniser

    if not a_verifier():  # checked a moment ago: no session, no query
        return
    session = get_session()
    try:
        synchroniser(session)
    except DBAPIError:  # schema not created yet: the files on disk
        session.rollback()


def _date_demandee() -> tuple[dt.date, dict[str, list[str]]]:
    texte = (request.args.get("date") or "").strip()
    if not texte:
        return aujourd_hui(), {}
    try:
        return dt.date.fromisoformat(texte), {}
    except ValueError:
        return aujourd_hui(), {"date": ["Date : indiquez une date au format AAAA-MM-JJ (par exemple 2026-06-15)."]}


@bp.get("/regles")
@login_required
def consulter():
    date, erreurs = _date_demandee()
    vue = consultation.en_vigueur(date)
    return (
        render_template("regles/consultation.html", erreurs=erreurs, saisie=request.args.get("date", ""),
                        sans_renvoi=consultation.sans_renvoi_interne, **vue),
        400 if erreurs else 200,
    )


def _notice() -> dict:
    from ..services.notice import contenu_notice

    return contenu_notice(get_session(), aujourd_hui())


@bp.get("/notice")
def notice():
    return render_template("regles/notice.html", n=_notice())


@bp.get("/notice/telecharger")
def notice_telecharger():
    from ..services.notice import notice_autonome

    n = _notice()
    reponse = Response(notice_autonome(n), mimetype="text/html")
    reponse.headers["Content-Disposition"] = f'attachment; filename="notice-algorithme-caleol-{n["version"]}.html"'
    return reponse
