"""Login, roles and the rules of access: who may see and do what."""
from __future__ import annotations

from functools import wraps
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.security import check_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..extensions import limiter
from ..models import Role, TypeOrganisation, Utilisateur

bp = Blueprint("auth", __name__, url_prefix="/connexion")
login_manager = LoginManager()
login_manager.login_view = "auth.connexion"
login_manager.login_message = "Connectez-vous pour accéder à cette page."
login_manager.login_message_category = "info"

# Roles that may see sensitive facts (violences, santé, détails du handicap).
ROLES_DONNEES_SENSIBLES = frozenset({Role.CHARGE_ATTRIBUTION, Role.PRESIDENT})


class Connecte(UserMixin):
    """The logged-in user, detached from the database session."""

    def __init__(self, u: Utilisateur) -> None:
        self.id = u.id
        self.identifiant = u.identifiant
        self.nom_affiche = u.nom_affiche
        self.role = Role(u.role)
        self.organisation_id = u.organisation_id
        self.organisation_nom = u.organisation.nom
        self.organisation_type = TypeOrganisation(u.organisation.type)
        self.organisation_epci = u.organisation.epci_siren

    def get_id(self) -> str:
        return str(self.id)

    @property
    def voit_donnees_sensibles(self) -> bool:
        return self.role in ROLES_DONNEES_SENSIBLES and self.organisation_type == TypeOrganisation.BAILLEUR

    @property
    def libelle_role(self) -> str:
        return LIBELLES_ROLES[self.role]


LIBELLES_ROLES = {
    Role.CHARGE_ATTRIBUTION: "Chargé(e) d'attribution",
    Role.MEMBRE_COMMISSION: "Membre de commission",
    Role.PRESIDENT: "Président(e) de commission",
    Role.LECTEUR: "Lecteur / auditeur",
    Role.ADMINISTRATEUR: "Administrateur",
}


@login_manager.user_loader
def charger_utilisateur(identifiant: str) -> Connecte | None:
    from .. import get_session

    if not identifiant.isdigit():
        return None
    u = get_session().get(Utilisateur, int(identifiant))
    if u is None or not u.actif:
        return None
    return Connecte(u)


def role_requis(*roles: Role):
    """Restrict a view to some roles (403 otherwise); implies login."""

    def decorateur(vue):
        @wraps(vue)
        @login_required
        def enveloppe(*args: Any, **kwargs: Any):
            if current_user.role not in roles:
                abort(403)
            return vue(*args, **kwargs)

        return enveloppe

    return decorateur


class FormulaireConnexion(FlaskForm):
    identifiant = StringField("Identifiant", validators=[DataRequired("Saisissez votre identifiant."), Length(max=120)])
    mot_de_passe = PasswordField("Mot de passe", validators=[DataRequired("Saisissez votre mot de passe.")])


def _destination_sure(cible: str | None) -> str:
    """Only local paths: never redirect to another site after login."""
    if cible and cible.startswith("/") and not cible.startswith("//"):
        return cible
    return url_for("tableau.index")


@bp.route("", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LIMITE_CONNEXION"], methods=["POST"])
def connexion():
    from .. import get_session

    if current_user.is_authenticated:
        return redirect(url_for("tableau.index"))
    form = FormulaireConnexion()
    if form.validate_on_submit():
        u = get_session().scalars(
            select(Utilisateur).where(Utilisateur.identifiant == form.identifiant.data.strip())
        ).one_or_none()
        if u is not None and u.actif and check_password_hash(u.mot_de_passe_hash, form.mot_de_passe.data):
            login_user(Connecte(u))
            current_app.logger.info("connexion réussie utilisateur=%s", u.id)
            return redirect(_destination_sure(request.args.get("suivant")))
        current_app.logger.info("échec de connexion")
        flash("Identifiant ou mot de passe incorrect.", "erreur")
    return render_template("auth/connexion.html", form=form), (401 if request.method == "POST" else 200)


@bp.post("/deconnexion")
@login_required
def deconnexion():
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    logout_user()
    flash("Vous êtes déconnecté(e).", "info")
    return redirect(url_for("auth.connexion"))
