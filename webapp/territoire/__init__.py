"""Espace territoire: the quota dashboard of an EPCI (L441-1 CCH), read-only, for a selectable year.

An EPCI's users see their own territory; the État's users choose among the EPCI where the instance has
a patrimoine. Everyone else gets 403; another EPCI is 404 for an EPCI's user. Every indicator of
webapp.services.quotas.quotas is shown with its numerator, denominator, rate, target and status.
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import func, select

from .. import get_session
from ..horloge import aujourd_hui
from ..models import Attribution, TypeOrganisation
from ..services.quotas import ErreurQuotas, quotas
from ..tableau import donnees

bp = Blueprint("territoire", __name__, url_prefix="/territoire")



def _annees(session, annee_courante: int) -> list[int]:
    """The years offered: from the first signed lease recorded to this year, most recent first."""
    premiere = session.scalar(select(func.min(Attribution.date_signature_bail)))
    debut = min(premiere.year, annee_courante) if premiere else annee_courante
    return list(range(annee_courante, debut - 1, -1))


def _epcis() -> list[str]:
    match current_user.organisation_type:
        case TypeOrganisation.EPCI:
            return [current_user.organisation_epci] if current_user.organisation_epci else []
        case TypeOrganisation.ETAT:
            return donnees.epcis_du_perimetre(get_session(), current_user)
    abort(403)


@bp.get("")
@login_required
def index():
    session = get_session()
    epcis = _epcis()
    date = aujourd_hui()
    annees = _annees(session, date.year)
    erreurs: dict[str, list[str]] = {}
    texte_annee = (request.args.get("annee") or str(date.year)).strip()
    annee = date.year
    if not (texte_annee.isascii() and texte_annee.isdigit()) or int(texte_annee) not in annees:
        erreurs["annee"] = [f"Année : choisissez une année entre {annees[-1]} et {annees[0]}."]
    else:
        annee = int(texte_annee)
    epci = request.args.get("epci") or (epcis[0] if epcis else None)
    if epci is not None and epci not in epcis:
        if current_user.organisation_type == TypeOrganisation.EPCI:
            abort(404)
        erreurs["epci"] = ["EPCI : choisissez un EPCI de la liste."]
        epci = epcis[0] if epcis else None
    resultat = None
    if epci is not None and not erreurs:
        try:
            resultat = quotas(session, epci, annee, date)
        except ErreurQuotas as exc:
            erreurs.update({f"{k}": v for k, v in exc.erreurs.items()})
        else:
            resultat["jauges"] = [donnees.jauge(i) for i in resultat["indicateurs"]]
    return render_template(
        "territoire/index.html",
        resultat=resultat,
        epci=epci,
        epcis=epcis,
        noms=donnees.noms_epci(session, epcis),
        annee=annee,
        annees=annees,
        date=date,
        erreurs=erreurs,
        choix_epci=current_user.organisation_type == TypeOrganisation.ETAT,
    ), (400 if erreurs else 200)
