"""Logements within the perimeter of the token's organisation, and the candidates proposed for one.

The perimeter is the web app's (webapp.auth.perimetre.filtrer_logements): a bailleur sees its
patrimoine, an EPCI its territory, a réservataire its reservations and the dwellings oriented to it,
the État everything. A dwelling outside the perimeter is 404, as on the web pages. The proposals
are those of webapp.services.propositions.proposer at the requested date (nothing is written).
"""
from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from engine.parametres import ParametreIntrouvable

from .. import get_session
from ..auth.perimetre import filtrer_logements
from ..horloge import aujourd_hui
from ..models import Logement, Residence, Role
from ..services.apl import EstimateurApl
from ..demandes.evaluation import masquer_proposition
from ..services.propositions import ErreurProposition, proposer
from .erreurs import invalide, refuser
from .jetons import acces, utilisateur_courant
from .outils import paginer, repondre
from .schemas import LogementPatrimoineSchema, LogementsRequeteSchema, PropositionsRequeteSchema, PropositionsSchema, page_de

blp = Blueprint("api_logements", __name__, url_prefix="/api/v1/logements",
                description="Logements du patrimoine dans le périmètre de votre organisation, et leurs propositions.")

LECTURE_PROPOSITIONS = (Role.CHARGE_ATTRIBUTION, Role.MEMBRE_COMMISSION, Role.PRESIDENT, Role.LECTEUR)
PageLogements = page_de(LogementPatrimoineSchema, "PageLogements")


def logement_json(lg: Logement) -> dict:
    r = lg.residence
    return {
        "id": lg.id,
        "reference": lg.reference,
        "residence": {"id": r.id, "nom": r.nom, "adresse": r.adresse, "commune_insee": r.code_insee, "qpv": r.qpv_code},
        "typologie": str(lg.typologie),
        "nb_pieces": lg.nb_pieces,
        "surface_habitable": lg.surface_habitable,
        "etage": lg.etage,
        "ascenseur": lg.ascenseur,
        "accessible_pmr": lg.accessible_pmr,
        "financement": str(lg.financement),
        "plai_adapte": bool(lg.plai_adapte),
        "loyer_principal": lg.loyer_principal,
        "loyer_annexes": lg.loyer_annexes,
        "charges_recuperables": lg.charges_recuperables,
        "contribution_travaux": lg.contribution_travaux,
        "statut": str(lg.statut),
    }


@blp.route("", methods=["GET"])
@acces(blp)
@blp.arguments(LogementsRequeteSchema, location="query", as_kwargs=True)
@blp.response(200, PageLogements)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def lister(page, par_page, statut, typologie, financement, commune):
    """Lister les logements de votre périmètre (paginé), par résidence puis référence."""
    stmt = filtrer_logements(select(Logement), utilisateur_courant()).options(joinedload(Logement.residence))
    if statut:
        stmt = stmt.where(Logement.statut == statut)
    if typologie:
        stmt = stmt.where(Logement.typologie == typologie)
    if financement:
        stmt = stmt.where(Logement.financement == financement)
    if commune:
        stmt = stmt.where(Residence.code_insee == commune)
    stmt = stmt.order_by(Residence.nom, Logement.reference, Logement.id)
    return repondre(paginer(get_session(), stmt, page, par_page, logement_json))


@blp.route("/<int:logement_id>/propositions", methods=["GET"])
@acces(blp, *LECTURE_PROPOSITIONS)
@blp.arguments(PropositionsRequeteSchema, location="query", as_kwargs=True)
@blp.response(200, PropositionsSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def propositions(logement_id, date):
    """Les candidats proposés pour un logement à une date, classés et expliqués (rien n'est enregistré)."""
    session = get_session()
    stmt = filtrer_logements(select(Logement.id), utilisateur_courant()).where(Logement.id == logement_id)
    if session.scalar(stmt) is None:
        refuser(404, f"Logement {logement_id} introuvable dans votre périmètre.")
    date = date or aujourd_hui()
    try:
        resultat = proposer(session, logement_id, date, estimateur=EstimateurApl(current_app.config.get("OPENFISCA_URL")))
    except ParametreIntrouvable as exc:
        invalide({"date": [f"Le référentiel ne couvre pas le {date.isoformat()} ({exc})."]})
    except ErreurProposition as exc:
        invalide({"logement_id": [str(exc)]})
    # A read: whatever the estimator cached stays out of the database (rolled back at teardown).
    session.rollback()
    return repondre(masquer_proposition(resultat, utilisateur_courant().voit_donnees_sensibles))
