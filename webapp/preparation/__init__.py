"""Preparing a séance (chargé d'attribution): create it, compose its agenda, read the proposals."""
from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from engine.yaml_strict import charger_yaml

from .. import get_session
from ..auth import role_requis
from ..horloge import aujourd_hui
from ..models import Commission, ModeSeance, NatureSeance, PointOrdreDuJour, Role, Seance, StatutSeance, TypeOrganisation
from ..demandes.evaluation import masquer_proposition
from ..services import decisions as svc_decisions
from ..services import preparation as svc
from ..services.apl import EstimateurApl
from ..services.propositions import criteres_publies

bp = Blueprint("preparation", __name__, url_prefix="/preparation")

LECTURE = (Role.CHARGE_ATTRIBUTION, Role.MEMBRE_COMMISSION, Role.PRESIDENT, Role.LECTEUR)
LIGNES_VIDES = 3
COMPOSITION = Path(__file__).resolve().parents[2] / "rules" / "decisions" / "composition.yaml"


@cache
def qualites() -> list[str]:
    """The qualités of the members of a CALEOL (rules/decisions/composition.yaml)."""
    return [q["libelle"] for q in charger_yaml(COMPOSITION)["qualites"]]


def _commissions() -> list[Commission]:
    if current_user.organisation_type != TypeOrganisation.BAILLEUR:
        abort(403)
    return list(get_session().scalars(
        select(Commission).where(Commission.bailleur_id == current_user.organisation_id).order_by(Commission.nom)))


def _seance(seance_id: int) -> Seance:
    seance = get_session().get(Seance, seance_id)
    du_bailleur = (seance is not None and current_user.organisation_type == TypeOrganisation.BAILLEUR
                   and seance.commission.bailleur_id == current_user.organisation_id)
    # A review séance (examen de l'occupation) has its own agenda (webapp/occupation).
    if (seance is None or seance.nature != NatureSeance.ATTRIBUTION
            or not (du_bailleur or svc_decisions.membre_de(seance, current_user.id) is not None)):
        abort(404)
    return seance


def _membres_precedents(commission: Commission | None) -> list[dict]:
    if commission is None or not commission.seances:
        return []
    derniere = max(commission.seances, key=lambda s: (s.date_seance, s.id))
    return [{"nom": m.nom, "qualite": m.qualite, "voix_deliberative": m.voix_deliberative, "present": True}
            for m in sorted(derniere.membres, key=lambda m: m.id)]


def _entier(texte: str) -> bool:
    """Digits 0-9 only: str.isdigit() also accepts « ² » or « ٣ », which int() refuses."""
    return texte.isascii() and texte.isdigit()


def _lire_membres(form) -> tuple[list[svc.Membre], dict[str, list[str]]]:
    membres, erreurs = [], {}
    nb_lignes = int(form.get("nb_lignes", "0")) if _entier((form.get("nb_lignes") or "")) else 0
    for i in range(min(nb_lignes, 60)):
        nom = (form.get(f"membre-{i}-nom") or "").strip()
        if not nom:
            continue
        qualite = form.get(f"membre-{i}-qualite") or ""
        if qualite not in qualites():
            erreurs[f"membre-{i}-qualite"] = ["Choisissez la qualité du membre."]
            continue
        if len(nom) > 200:
            erreurs[f"membre-{i}-nom"] = ["200 caractères au plus."]
            continue
        membres.append(svc.Membre(nom=nom, qualite=qualite,
                                  voix_deliberative=form.get(f"membre-{i}-deliberative") == "on",
                                  present=form.get(f"membre-{i}-present") == "on"))
    return membres, erreurs


@bp.route("/seances/nouvelle", methods=["GET", "POST"])
@role_requis(Role.CHARGE_ATTRIBUTION)
def nouvelle_seance():
    commissions = _commissions()
    erreurs: dict[str, list[str]] = {}
    valeurs = {"commission": str(commissions[0].id) if commissions else "", "date_seance": "", "mode": "physique",
               "quorum": "3"}
    membres = _membres_precedents(commissions[0] if commissions else None)
    if request.method == "POST":
        f = request.form
        valeurs = {k: (f.get(k) or "").strip() for k in valeurs}
        membres_saisis, erreurs = _lire_membres(f)
        membres = [m.__dict__ for m in membres_saisis]
        try:
            date_seance = dt.date.fromisoformat(valeurs["date_seance"])
            if date_seance < aujourd_hui():
                erreurs["date_seance"] = ["La date de la séance ne peut pas être passée."]
        except ValueError:
            erreurs["date_seance"] = ["Date invalide (format AAAA-MM-JJ attendu)."]
        if valeurs["mode"] not in {m.value for m in ModeSeance}:
            erreurs["mode"] = ["Mode inconnu."]
        if not _entier(valeurs["quorum"]):
            erreurs["quorum"] = ["Nombre entier attendu."]
        if not _entier(valeurs["commission"]):
            erreurs["commission"] = ["Choisissez une commission."]
        if not erreurs:
            session = get_session()
            try:
                seance = svc.creer_seance(
                    session, commission_id=int(valeurs["commission"]), bailleur_id=current_user.organisation_id,
                    date_seance=date_seance, mode=ModeSeance(valeurs["mode"]), quorum=int(valeurs["quorum"]),
                    membres=membres_saisis, acteur=current_user.identifiant)
                session.commit()
            except svc.ErreurPreparation as exc:
                session.rollback()
                erreurs = exc.erreurs
            else:
                flash("Séance créée. Composez son ordre du jour.", "info")
                return redirect(url_for("preparation.ordre_du_jour", seance_id=seance.id))
    lignes = membres + [{"nom": "", "qualite": "", "voix_deliberative": True, "present": True}] * LIGNES_VIDES
    return render_template("preparation/nouvelle_seance.html", commissions=commissions, valeurs=valeurs,
                           lignes=lignes, qualites=qualites(), erreurs=erreurs,
                           modes=list(ModeSeance)), (422 if erreurs else 200)


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
            if not _entier(v):
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
