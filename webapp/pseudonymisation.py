"""The pseudonymised view for the commission: names and addresses of applicants hidden, criteria shown.

A per-user choice kept in the session (POST /preferences/vue-pseudonymisee), available to every role;
forced on for the roles that never need to know who the applicant is (membre de commission, lecteur)
and for the users of a réservataire, an EPCI or the État. Templates call the Jinja globals
`vue_pseudonymisee()`, `nom_personne(personne)` and `adresse_demandeur(demande)`; the séance pages hide
the candidates' names through `decisions._peut_voir_noms`, which reads `vue_pseudonymisee()` too.
The toggle writes nothing in the database (a display preference, like the language of a page).
"""
from __future__ import annotations

from flask import Blueprint, abort, redirect, request, session, url_for
from flask_login import current_user, login_required

from .models import Role, TypeOrganisation

bp = Blueprint("pseudonymisation", __name__, url_prefix="/preferences")

CLE_SESSION = "vue_pseudonymisee"
ROLES_FORCES = frozenset({Role.MEMBRE_COMMISSION, Role.LECTEUR})
ORGANISATIONS_FORCEES = frozenset({TypeOrganisation.RESERVATAIRE, TypeOrganisation.EPCI, TypeOrganisation.ETAT})
NOM_MASQUE = "Personne {rang}"
ADRESSE_MASQUEE = "adresse masquée (vue pseudonymisée)"


def pseudonymisation_forcee() -> bool:
    if not current_user.is_authenticated:
        return True
    return current_user.role in ROLES_FORCES or current_user.organisation_type in ORGANISATIONS_FORCEES


def vue_pseudonymisee() -> bool:
    """True when the current page must hide the applicants' names and addresses."""
    return pseudonymisation_forcee() or bool(session.get(CLE_SESSION, False))


def nom_personne(personne, rang: int | None = None) -> str:
    """« Prénom Nom », or « Personne n » (its rank in the household) in the pseudonymised view."""
    if vue_pseudonymisee():
        if rang is None:
            rang = (getattr(personne, "ordre", 0) or 0) + 1
        return NOM_MASQUE.format(rang=rang)
    morceaux = [(getattr(personne, "prenom", None) or "").strip(), (getattr(personne, "nom", None) or "").strip()]
    return " ".join(m for m in morceaux if m) or "—"


def adresse_demandeur(demande) -> str:
    if vue_pseudonymisee():
        return ADRESSE_MASQUEE
    morceaux = [getattr(demande, "adresse", None), getattr(demande, "code_postal", None)]
    return " ".join(m for m in morceaux if m) or "—"


@bp.app_context_processor
def _globaux() -> dict:
    return {
        "vue_pseudonymisee": vue_pseudonymisee,
        "pseudonymisation_forcee": pseudonymisation_forcee,
        "nom_personne": nom_personne,
        "adresse_demandeur": adresse_demandeur,
    }


def _retour() -> str:
    cible = request.form.get("retour") or ""
    if cible.startswith("/") and not cible.startswith("//"):
        return cible
    return url_for("tableau.index")


@bp.post("/vue-pseudonymisee")
@login_required
def basculer():
    valeur = request.form.get("active")
    if valeur not in ("0", "1"):
        abort(400)
    if not pseudonymisation_forcee():
        session[CLE_SESSION] = valeur == "1"
    return redirect(_retour())
