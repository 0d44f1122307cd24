"""Administration of the instance (role administrateur): users and rulebook versions.

Every form posts with its CSRF token (CSRFProtect); a refused form is shown again with French
messages naming the field and nothing is written; each write commits once with one audit entry.
A temporary password is shown once, in the response to the request that generated it, never stored
in clear nor put in the session or the logs.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import get_session
from ..audit import journaliser
from ..auth import LIBELLES_ROLES, role_requis
from ..models import Organisation, Role, Utilisateur
from ..services import utilisateurs as svc
from ..services.utilisateurs import ErreurUtilisateur, Saisie

bp = Blueprint("admin", __name__, url_prefix="/admin")
LIBELLES_ORGANISATIONS = {"bailleur": "bailleur", "reservataire": "réservataire", "epci": "EPCI", "etat": "État"}


def _organisations() -> list[Organisation]:
    return list(get_session().scalars(select(Organisation).order_by(Organisation.nom)))


def _formulaire(modele: str, *, statut: int = 200, **contexte):
    reponse = make_response(render_template(
        modele, roles=list(Role), libelles_roles=LIBELLES_ROLES, organisations=_organisations(),
        libelles_organisations=LIBELLES_ORGANISATIONS, **contexte), statut)
    return reponse


def _sans_cache(reponse):
    """A page that shows a temporary password must not be kept by the browser or a proxy."""
    reponse.headers["Cache-Control"] = "no-store"
    reponse.headers["Pragma"] = "no-cache"
    return reponse


def _saisie() -> Saisie:
    f = request.form
    return Saisie(identifiant=f.get("identifiant"), nom_affiche=f.get("nom_affiche"), role=f.get("role"),
                  organisation_id=f.get("organisation_id"))


def _compte(utilisateur_id: int) -> Utilisateur:
    u = get_session().get(Utilisateur, utilisateur_id)
    if u is None:
        abort(404)
    return u


@bp.get("")
@role_requis(Role.ADMINISTRATEUR)
def accueil():
    return redirect(url_for("admin.utilisateurs"))


@bp.get("/utilisateurs")
@role_requis(Role.ADMINISTRATEUR)
def utilisateurs():
    comptes = get_session().scalars(select(Utilisateur).join(Organisation).order_by(Organisation.nom, Utilisateur.identifiant)).all()
    return render_template("admin/utilisateurs.html", comptes=comptes, libelles_roles=LIBELLES_ROLES,
                           libelles_organisations=LIBELLES_ORGANISATIONS)


@bp.route("/utilisateurs/nouveau", methods=["GET", "POST"])
@role_requis(Role.ADMINISTRATEUR)
def nouvel_utilisateur():
    if request.method == "GET":
        return _formulaire("admin/utilisateur.html", compte=None, saisie=Saisie(), erreurs={})
    session = get_session()
    try:
        u, mot_de_passe = svc.creer_utilisateur(session, _saisie(), acteur=current_user.identifiant)
        session.commit()
    except ErreurUtilisateur as exc:
        session.rollback()
        return _formulaire("admin/utilisateur.html", statut=422, compte=None, saisie=_saisie(), erreurs=exc.erreurs)
    return _sans_cache(make_response(render_template(
        "admin/mot_de_passe.html", compte=u, mot_de_passe=mot_de_passe, creation=True)))


@bp.route("/utilisateurs/<int:utilisateur_id>", methods=["GET", "POST"])
@role_requis(Role.ADMINISTRATEUR)
def utilisateur(utilisateur_id: int):
    u = _compte(utilisateur_id)
    if request.method == "GET":
        saisie = Saisie(identifiant=u.identifiant, nom_affiche=u.nom_affiche, role=Role(u.role).value, organisation_id=u.organisation_id)
        return _formulaire("admin/utilisateur.html", compte=u, saisie=saisie, erreurs={})
    session = get_session()
    try:
        svc.modifier_utilisateur(session, u.id, _saisie(), acteur=current_user.identifiant, acteur_id=current_user.id)
        session.commit()
    except ErreurUtilisateur as exc:
        session.rollback()
        return _formulaire("admin/utilisateur.html", statut=422, compte=_compte(utilisateur_id), saisie=_saisie(), erreurs=exc.erreurs)
    flash(f"Compte « {u.identifiant} » enregistré.", "info")
    return redirect(url_for("admin.utilisateurs"))


def _activite(utilisateur_id: int, actif: bool):
    u = _compte(utilisateur_id)
    session = get_session()
    try:
        svc.changer_activite(session, u.id, actif, acteur=current_user.identifiant, acteur_id=current_user.id)
        session.commit()
    except ErreurUtilisateur as exc:
        session.rollback()
        for messages in exc.erreurs.values():
            for m in messages:
                flash(m, "erreur")
        return redirect(url_for("admin.utilisateurs"))
    flash(f"Compte « {u.identifiant} » {'réactivé' if actif else 'désactivé'}.", "info")
    return redirect(url_for("admin.utilisateurs"))


@bp.post("/utilisateurs/<int:utilisateur_id>/desactiver")
@role_requis(Role.ADMINISTRATEUR)
def desactiver(utilisateur_id: int):
    return _activite(utilisateur_id, False)


@bp.post("/utilisateurs/<int:utilisateur_id>/reactiver")
@role_requis(Role.ADMINISTRATEUR)
def reactiver(utilisateur_id: int):
    return _activite(utilisateur_id, True)


@bp.post("/utilisateurs/<int:utilisateur_id>/mot-de-passe")
@role_requis(Role.ADMINISTRATEUR)
def reinitialiser(utilisateur_id: int):
    u = _compte(utilisateur_id)
    session = get_session()
    u, mot_de_passe = svc.reinitialiser_mot_de_passe(session, u.id, acteur=current_user.identifiant)
    session.commit()
    return _sans_cache(make_response(render_template(
        "admin/mot_de_passe.html", compte=u, mot_de_passe=mot_de_passe, creation=False)))


@bp.get("/regles")
@role_requis(Role.ADMINISTRATEUR)
def regles():
    from engine.version import version_regles

    from ..regles.versions import versions

    from ..regles.activation import version_active

    return render_template("admin/regles.html", versions=versions(get_session()), version=version_regles(),
                           active=version_active(get_session()), erreurs={})


@bp.post("/regles/activer")
@role_requis(Role.ADMINISTRATEUR)
def activer():
    """Make a stored version the one every process evaluates with (each reloads within seconds)."""
    from engine.version import version_regles

    from ..regles.activation import ErreurActivation, activer as activer_version, synchroniser, version_active
    from ..regles.versions import versions

    session = get_session()
    try:
        v = activer_version(session, request.form.get("version"), acteur=current_user.identifiant)
        session.commit()
    except ErreurActivation as exc:
        session.rollback()
        return render_template("admin/regles.html", versions=versions(session), version=version_regles(),
                               active=version_active(session), erreurs=exc.erreurs), 422
    synchroniser(session, ttl=0)
    flash(f"Version {v.version} activée : chaque processus du service la charge dans les secondes qui viennent.", "info")
    return redirect(url_for("admin.regles"))


@bp.get("/conservation")
@role_requis(Role.ADMINISTRATEUR)
def conservation():
    """The retention policy and what is past its term today (read only: `caleol purge` applies it)."""
    from engine.conservation import LIBELLES_TRAITEMENT

    from ..horloge import aujourd_hui
    from ..services.conservation import planifier

    session = get_session()
    date = aujourd_hui()
    plan = planifier(session, date)
    session.rollback()
    return render_template("admin/conservation.html", date=date, politique=plan.politique,
                           echus={op.categorie.id: op for op in plan.operations},
                           libelles_traitement=LIBELLES_TRAITEMENT)


@bp.post("/regles/recharger")
@role_requis(Role.ADMINISTRATEUR)
def recharger():
    """Drop the compiled rulebook of this process, then record the version now on disk if it is new."""
    from engine.version import version_regles
    from engine.yaml_strict import ErreurRegles

    from ..regles.versions import enregistrer_version, recharger_regles

    session = get_session()
    avant = version_regles()
    recharger_regles()
    try:
        v, nouvelle = enregistrer_version(session, acteur=current_user.identifiant, source="administration")
    except ErreurRegles as exc:
        session.rollback()
        flash(f"Les fichiers de règles sont invalides, aucune version n'est enregistrée : {exc}", "erreur")
        return redirect(url_for("admin.regles"))
    journaliser(session, acteur=current_user.identifiant, action="regles.recharger", objet_type="version_regles",
                objet_id=v.version, avant={"version": avant}, apres={"version": v.version}, details={"nouvelle_version": nouvelle})
    session.commit()
    if nouvelle:
        flash(f"Règles rechargées : nouvelle version {v.version} enregistrée.", "info")
    else:
        flash(f"Règles rechargées : version {v.version}, déjà enregistrée.", "info")
    return redirect(url_for("admin.regles"))
