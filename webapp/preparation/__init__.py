"""Preparing a séance (chargé d'attribution): create it, compose its agenda, read the proposals."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import get_session
from ..auth import role_requis
from ..models import NatureSeance, PointOrdreDuJour, Role, Seance, StatutSeance, TypeOrganisation
from ..demandes.evaluation import masquer_proposition
from ..services import decisions as svc_decisions
from ..services import preparation as svc
from ..services.apl import EstimateurApl
from ..services.propositions import criteres_publies
from .formulaire_seance import entier, saisie_seance

bp = Blueprint("preparation", __name__, url_prefix="/preparation")

LECTURE = (Role.CHARGE_ATTRIBUTION, Role.MEMBRE_COMMISSION, Role.PRESIDENT, Role.LECTEUR)


def _seance(seance_id: int) -> Seance:
    seance = get_session().get(Seance, seance_id)
    du_bailleur = (seance is not None and current_user.organisation_type == TypeOrganisation.BAILLEUR
                   and seance.commission.bailleur_id == current_user.organisation_id)
    # A review séance (examen de l'occupation) has its own agenda (webapp/occupation).
    if (seance is None or seance.nature != NatureSeance.ATTRIBUTION
            or not (du_bailleur or svc_decisions.membre_de(seance, current_user.id) is not None)):
        abort(404)
    return seance


@bp.route("/seances/nouvelle", methods=["GET", "POST"])
@role_requis(Role.CHARGE_ATTRIBUTION)
def nouvelle_seance():
    saisie = saisie_seance()
    if saisie.a_creer:
        session = get_session()
        try:
            seance = svc.creer_seance(session, **saisie.arguments_creation())
            session.commit()
        except svc.ErreurPreparation as exc:
            session.rollback()
            saisie.erreurs = exc.erreurs
        else:
            flash("Séance créée. Composez son ordre du jour.", "info")
            return redirect(url_for("preparation.ordre_du_jour", seance_id=seance.id))
    return saisie.page("preparation/nouvelle_seance.html")


@bp.route("/seances/<int:seance_id>/ordre-du-jour", methods=["GET", "POST"])
@role_requis(*LECTURE)
def ordre_du_jour(seance_id: int):
    session = get_session()
    seance = _seance(seance_id)
    peut_preparer = (current_user.role == Role.CHARGE_ATTRIBUTION and seance.statut != StatutSeance.CLOSE
                     and current_user.organisation_type == TypeOrganisation.BAILLEUR)
    erreurs: dict[str, list[str]] = {}
    if request.method == "POST":
        if not peut_preparer:
            abort(403)
        ids = []
        for v in request.form.getlist("logements"):
            if not entier(v):
                erreurs["logements"] = ["Sélection invalide."]
                break
            ids.append(int(v))
        if not erreurs:
            try:
                svc.inscrire_logements(session, seance, ids, acteur=current_user.identifiant,
                                       utilisateur_id=current_user.id,
                                       estimateur=EstimateurApl(current_app.config.get("OPENFISCA_URL")))
                session.commit()
            except svc.ErreurPreparation as exc:
                session.rollback()
                erreurs = exc.erreurs
            else:
                flash(f"{len(ids)} logement(s) inscrit(s) à l'ordre du jour avec leurs propositions.", "info")
                return redirect(url_for("preparation.ordre_du_jour", seance_id=seance.id))
    inscrits = svc.points(session, seance.id)
    return render_template(
        "preparation/ordre_du_jour.html", seance=seance, points=inscrits, erreurs=erreurs,
        inscriptibles=svc.logements_inscriptibles(session, seance) if peut_preparer else [],
        peut_preparer=peut_preparer), (422 if erreurs else 200)


@bp.get("/seances/<int:seance_id>/logements/<int:logement_id>")
@role_requis(*LECTURE)
def propositions(seance_id: int, logement_id: int):
    seance = _seance(seance_id)
    point = get_session().scalars(select(PointOrdreDuJour).where(
        PointOrdreDuJour.seance_id == seance.id, PointOrdreDuJour.logement_id == logement_id)).one_or_none()
    if point is None:
        abort(404)
    p = masquer_proposition(point.proposition, current_user.voit_donnees_sensibles)
    score_max = max([float(c["score"]) for c in p["candidats"]] + [1.0])
    return render_template("preparation/propositions.html", seance=seance, point=point, p=p,
                           score_max=score_max, criteres=criteres_publies())
