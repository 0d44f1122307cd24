"""Tableau de bord: what the territory's data holds at a glance."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required
from sqlalchemy import func, select

from .. import get_session
from ..horloge import aujourd_hui
from ..models import Commission, Demande, Logement, Seance, StatutDemande, StatutLogement

bp = Blueprint("tableau", __name__)


@bp.get("/")
@login_required
def index():
    session = get_session()
    nb_demandes = session.scalar(
        select(func.count()).select_from(Demande).where(Demande.statut == StatutDemande.ACTIVE)
    )
    nb_logements = session.scalar(select(func.count()).select_from(Logement))
    nb_vacants = session.scalar(
        select(func.count()).select_from(Logement).where(Logement.statut == StatutLogement.VACANT)
    )
    prochaines = session.execute(
        select(Seance, Commission)
        .join(Commission)
        .where(Seance.date_seance >= aujourd_hui())
        .order_by(Seance.date_seance)
        .limit(5)
    ).all()
    return render_template(
        "tableau/index.html",
        nb_demandes=nb_demandes,
        nb_logements=nb_logements,
        nb_vacants=nb_vacants,
        prochaines=prochaines,
    )
