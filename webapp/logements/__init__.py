"""Logements of the patrimoine: filters and fiche, within the user's perimeter."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import get_session
from ..auth.perimetre import filtrer_logements
from ..models import Financement, Logement, Residence, StatutLogement, Typologie
from ..pagination import paginer

bp = Blueprint("logements", __name__, url_prefix="/logements")


@bp.get("")
@login_required
def liste():
    filtres = {k: request.args.get(k) or "" for k in ("statut", "typologie", "financement", "commune")}
    stmt = filtrer_logements(select(Logement), current_user).options(joinedload(Logement.residence))
    if filtres["statut"] in {s.value for s in StatutLogement}:
        stmt = stmt.where(Logement.statut == filtres["statut"])
    if filtres["typologie"] in {t.value for t in Typologie}:
        stmt = stmt.where(Logement.typologie == filtres["typologie"])
    if filtres["financement"] in {f.value for f in Financement}:
        stmt = stmt.where(Logement.financement == filtres["financement"])
    if filtres["commune"]:
        stmt = stmt.where(Residence.code_insee == filtres["commune"])
    stmt = stmt.order_by(Residence.nom, Logement.reference)
    page = paginer(get_session(), stmt)
    return render_template(
        "logements/liste.html",
        page=page,
        filtres=filtres,
        statuts=list(StatutLogement),
        typologies=list(Typologie),
        financements=list(Financement),
    )


@bp.get("/<int:logement_id>")
@login_required
def fiche(logement_id: int):
    stmt = filtrer_logements(select(Logement), current_user).where(Logement.id == logement_id)
    logement = get_session().scalars(stmt.options(joinedload(Logement.residence))).one_or_none()
    if logement is None:
        abort(404)
    return render_template("logements/fiche.html", logement=logement)
