"""Review séances of the CALEOL (examen de l'occupation, CCH L442-5-2).

Who does what: the chargé d'attribution of the bailleur creates a review séance, puts on its agenda
the tenants' files where the engine found a situation, and records the follow-up (review of the
residential path with the tenant); the président and the members record the commission's findings
(situation noted, characteristics of a suitable dwelling, advice); the lecteur reads. Séances are
seen by the users of the commission's bailleur and by the séance's own members (404 otherwise).
Names are hidden in the pseudonymised view; handicap details only for the roles that may see
sensitive facts. Every form carries the CSRF token.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from engine.derivations import age_revolu

from .. import get_session
from ..auth import role_requis
from ..models import (
    Accessibilite,
    BailLocataire,
    Commission,
    ExamenOccupation,
    IssueParcours,
    MembreSeance,
    NatureSeance,
    Role,
    Seance,
    TypeOrganisation,
    Typologie,
)
from ..preparation.formulaire_seance import saisie_seance
from ..schemas.champs import ErreurValidation
from ..schemas.occupation import charger_constat, charger_suivi
from ..services import decisions as svc_decisions
from ..services import occupation as svc
from ..services import preparation as svc_preparation
from ..services.documents import en_pdf
from ..services.occupation_documents import LIBELLES_ACCESSIBILITE, LIBELLES_ISSUE, LIBELLES_ROLES, pv_examen_html

bp = Blueprint("occupation", __name__, url_prefix="/occupation")

LECTURE = (Role.CHARGE_ATTRIBUTION, Role.MEMBRE_COMMISSION, Role.PRESIDENT, Role.LECTEUR)
CONSTATANTS = (Role.PRESIDENT, Role.MEMBRE_COMMISSION)
MESSAGE_CONCURRENCE = "La séance a été modifiée en même temps par quelqu'un d'autre : rien n'a été enregistré, rechargez la page."


def _du_bailleur(seance: Seance) -> bool:
    return (current_user.organisation_type == TypeOrganisation.BAILLEUR
            and seance.commission.bailleur_id == current_user.organisation_id)


def _seance(seance_id: int) -> Seance:
    seance = get_session().get(Seance, seance_id)
    if (seance is None or seance.nature != NatureSeance.EXAMEN_OCCUPATION
            or not (_du_bailleur(seance) or svc_decisions.membre_de(seance, current_user.id) is not None)):
        abort(404)
    return seance


def _examen(seance: Seance, examen_id: int) -> ExamenOccupation:
    examen = get_session().get(ExamenOccupation, examen_id)
    if examen is None or examen.seance_id != seance.id:
        abort(404)
    return examen


def _peut_preparer(seance: Seance | None = None) -> bool:
    return (current_user.role == Role.CHARGE_ATTRIBUTION and current_user.organisation_type == TypeOrganisation.BAILLEUR
            and (seance is None or _du_bailleur(seance)))


def _peut_constater(seance: Seance) -> bool:
    return current_user.role in CONSTATANTS and (
        _du_bailleur(seance) or svc_decisions.membre_de(seance, current_user.id) is not None)


def _commit(action):
    """Run a service call and commit; on a refusal roll back and return the French errors."""
    session = get_session()
    try:
        resultat = action(session)
        session.commit()
        return resultat, None
    except svc.ErreurOccupation as exc:
        session.rollback()
        return None, exc.erreurs
    except svc_preparation.ErreurPreparation as exc:
        session.rollback()
        return None, exc.erreurs
    except ErreurValidation as exc:
        session.rollback()
        return None, exc.erreurs
    except (StaleDataError, IntegrityError):
        # A concurrent write (the same finding recorded meanwhile, the séance changed): nothing written.
        session.rollback()
        return None, {"__all__": [MESSAGE_CONCURRENCE]}


def _contexte_commun() -> dict:
    return {"situations": svc.situations_connues(), "libelles_accessibilite": LIBELLES_ACCESSIBILITE,
            "libelles_issue": LIBELLES_ISSUE, "libelles_roles": LIBELLES_ROLES}


# --------------------------------------------------------------------------- pages


@bp.get("/")
@role_requis(*LECTURE)
def index():
    session = get_session()
    stmt = (select(Seance).join(Commission).where(Seance.nature == NatureSeance.EXAMEN_OCCUPATION)
            .order_by(Seance.date_seance.desc(), Seance.id.desc()).limit(200))
    a_transmettre: list[ExamenOccupation] = []
    if current_user.organisation_type == TypeOrganisation.BAILLEUR:
        stmt = stmt.where(Commission.bailleur_id == current_user.organisation_id)
        a_transmettre = [e for e in session.scalars(
            select(ExamenOccupation).join(ExamenOccupation.bail)
            .where(ExamenOccupation.seance_id.is_(None),
                   BailLocataire.bailleur_id == current_user.organisation_id)
            .order_by(ExamenOccupation.date_examen.desc(), ExamenOccupation.id)) if e.situations]
    else:
        stmt = stmt.where(Seance.id.in_(select(MembreSeance.seance_id).where(MembreSeance.utilisateur_id == current_user.id)))
    return render_template("occupation/index.html", seances=session.scalars(stmt).all(), a_transmettre=a_transmettre,
                           peut_preparer=_peut_preparer(), **_contexte_commun())


@bp.route("/seances/nouvelle", methods=["GET", "POST"])
@role_requis(Role.CHARGE_ATTRIBUTION)
def nouvelle_seance():
    saisie = saisie_seance()
    if saisie.a_creer:
        seance, saisie.erreurs = _commit(lambda s: svc_preparation.creer_seance(
            s, **saisie.arguments_creation(), nature=NatureSeance.EXAMEN_OCCUPATION))
        if not saisie.erreurs:
            flash("Séance d'examen de l'occupation créée. Inscrivez les dossiers à son ordre du jour.", "info")
            return redirect(url_for("occupation.seance", seance_id=seance.id))
    return saisie.page("occupation/nouvelle_seance.html")


@bp.route("/seances/<int:seance_id>", methods=["GET", "POST"])
@role_requis(*LECTURE)
def seance(seance_id: int):
    session = get_session()
    s = _seance(seance_id)
    peut_preparer = _peut_preparer(s)
    erreurs: dict[str, list[str]] = {}
    if request.method == "POST":
        if not peut_preparer:
            abort(403)
        ids = []
        for v in request.form.getlist("examens"):
            if not (v.isascii() and v.isdigit()):
                erreurs["examens"] = ["Sélection invalide."]
                break
            ids.append(int(v))
        if not erreurs:
            _, erreurs = _commit(lambda sess: svc.inscrire_examens(sess, s, ids, acteur=current_user.identifiant))
            if not erreurs:
                flash(f"{len(ids)} dossier(s) inscrit(s) à l'ordre du jour.", "info")
                return redirect(url_for("occupation.seance", seance_id=s.id))
    return render_template(
        "occupation/seance.html", seance=s, dossiers=svc.ordre_du_jour(session, s), erreurs=erreurs,
        inscriptibles=svc.examens_inscriptibles(session, s) if peut_preparer else [], peut_preparer=peut_preparer,
        quorum=svc_decisions.etat_quorum(s), **_contexte_commun()), (422 if erreurs else 200)


def _page_dossier(s: Seance, examen: ExamenOccupation, erreurs: dict[str, list[str]] | None = None,
                  formulaire: str | None = None):
    return render_template(
        "occupation/dossier.html", seance=s, examen=examen, bail=examen.bail, constat=examen.constat,
        erreurs=erreurs or {}, formulaire=formulaire, peut_constater=_peut_constater(s),
        peut_suivre=_peut_preparer(s), voit_sensibles=current_user.voit_donnees_sensibles and _du_bailleur(s),
        typologies=[t.value for t in Typologie], accessibilites=list(Accessibilite), issues=list(IssueParcours),
        ages={o.id: age_revolu(o.date_naissance, examen.date_examen) for o in examen.bail.occupants},
        **_contexte_commun()), (422 if erreurs else 200)


@bp.get("/seances/<int:seance_id>/dossiers/<int:examen_id>")
@role_requis(*LECTURE)
def dossier(seance_id: int, examen_id: int):
    s = _seance(seance_id)
    return _page_dossier(s, _examen(s, examen_id))


def _enregistrer_dossier(seance_id: int, examen_id: int, formulaire: str, autorise, enregistrer, charger,
                         message: str):
    """Records one form of a file (the commission's finding, the follow-up): 403 without the right to, the file's
    page again with the errors (422, nothing written), or back to the file with `message`."""
    s = _seance(seance_id)
    examen = _examen(s, examen_id)
    if not autorise(s):
        abort(403)
    _, erreurs = _commit(lambda sess: enregistrer(
        sess, s, examen.id, charger(request.form), utilisateur_id=current_user.id,
        acteur=current_user.identifiant))
    if erreurs:
        return _page_dossier(s, _examen(s, examen_id), erreurs, formulaire)
    flash(message, "info")
    return redirect(url_for("occupation.dossier", seance_id=s.id, examen_id=examen.id))


@bp.post("/seances/<int:seance_id>/dossiers/<int:examen_id>/constat")
@role_requis(*CONSTATANTS)
def constat(seance_id: int, examen_id: int):
    return _enregistrer_dossier(seance_id, examen_id, "constat", _peut_constater, svc.enregistrer_constat,
                                charger_constat, "Constat de la commission enregistré.")


@bp.post("/seances/<int:seance_id>/dossiers/<int:examen_id>/suivi")
@role_requis(Role.CHARGE_ATTRIBUTION)
def suivi(seance_id: int, examen_id: int):
    return _enregistrer_dossier(seance_id, examen_id, "suivi", _peut_preparer, svc.enregistrer_suivi,
                                charger_suivi, "Suivi du parcours résidentiel enregistré.")


@bp.get("/seances/<int:seance_id>/proces-verbal")
@role_requis(*LECTURE)
def proces_verbal(seance_id: int):
    from ..pseudonymisation import vue_pseudonymisee

    s = _seance(seance_id)
    nominatif = _du_bailleur(s) and not vue_pseudonymisee()
    html = pv_examen_html(get_session(), s, nominatif=nominatif)
    if request.args.get("format") == "pdf":
        return Response(en_pdf(html), mimetype="application/pdf", headers={
            "Content-Disposition": f'inline; filename="pv-examen-occupation-{s.date_seance.isoformat()}.pdf"'})
    return Response(html, mimetype="text/html")
