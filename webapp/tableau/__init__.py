"""Tableau de bord: next séances, vacant logements, this year's quota gauges, flux balance — within the user's perimeter."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required
from sqlalchemy import func, select

from .. import get_session
from ..horloge import aujourd_hui
from ..models import Demande, Role, StatutDemande, TypeOrganisation
from . import donnees

bp = Blueprint("tableau", __name__)
# Who may open a séance page (webapp/decisions): the dashboard links to it only for them.
ROLES_SEANCES = (Role.CHARGE_ATTRIBUTION, Role.MEMBRE_COMMISSION, Role.PRESIDENT, Role.LECTEUR)


@bp.app_template_filter("pourcent")
def _pourcent(valeur, decimales: int = 1) -> str:
    return donnees.pourcent(valeur, decimales)


@bp.get("/")
@login_required
def index():
    session = get_session()
    date = aujourd_hui()
    annee = date.year
    reservataires = donnees.reservataires_de(session, current_user)
    ids = [r.id for r in reservataires]
    return render_template(
        "tableau/index.html",
        date=date,
        annee=annee,
        nb_demandes=session.scalar(
            select(func.count(Demande.id)).where(Demande.statut == StatutDemande.ACTIVE)
        ) or 0,
        nb_vacants=donnees.nombre_vacants(session, current_user),
        prochaines=donnees.prochaines_seances(session, current_user, date),
        lien_seances=current_user.role in ROLES_SEANCES,
        reservataires=reservataires,
        a_designer=donnees.orientations_a_designer(session, ids),
        quotas=donnees.quotas_du_perimetre(session, current_user, annee, date, reservataires),
        flux=donnees.flux_du_perimetre(session, current_user, annee, date, ids),
        perimetre=_perimetre(),
        libelles_seances=donnees.LIBELLES_SEANCES,
        libelles_modes=donnees.LIBELLES_MODES,
    )


def _perimetre() -> str:
    match current_user.organisation_type:
        case TypeOrganisation.BAILLEUR:
            return f"les logements, séances et flux de {current_user.organisation_nom}"
        case TypeOrganisation.EPCI:
            return f"le territoire de {current_user.organisation_nom}"
        case TypeOrganisation.ETAT:
            return "l'ensemble des bailleurs et des territoires"
        case TypeOrganisation.RESERVATAIRE:
            return f"la part du flux de {current_user.organisation_nom} et les logements qui lui sont orientés"
    return ""
