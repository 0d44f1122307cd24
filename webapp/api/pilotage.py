"""Steering figures: the EPCI's attribution objectives (quotas) and the annual bilan (R441-5-1 CCH).

Quotas, as in the web app's espace territoire: an EPCI's users read their own territory (another
EPCI is 404), the État's users the EPCI where the instance has a patrimoine; other organisations
get 403. Bilan: a bailleur's users read their bailleur's bilan (as `caleol bilan --bailleur`), a
réservataire's, an EPCI's or the État's users the lines of the réservataires their organisation holds
(as in the web app's espace réservataire). Both are the services' JSON, unchanged.
"""
from __future__ import annotations

from flask_smorest import Blueprint

from engine.parametres import ParametreIntrouvable

from .. import get_session
from ..horloge import aujourd_hui
from ..models import Role, TypeOrganisation
from ..reservataires import bilan_du_reservataire
from ..services import bilan as svc_bilan
from ..services.quotas import ErreurQuotas, quotas
from ..tableau import donnees
from .erreurs import invalide, refuser
from .jetons import acces, utilisateur_courant
from .outils import repondre
from .schemas import BilanRequeteSchema, ObjetSchema, QuotasRequeteSchema

LECTURE = (Role.CHARGE_ATTRIBUTION, Role.MEMBRE_COMMISSION, Role.PRESIDENT, Role.LECTEUR)

blp_quotas = Blueprint("api_quotas", __name__, url_prefix="/api/v1/quotas",
                       description="Objectifs d'attribution d'un EPCI sur une année (L441-1 CCH), comptés sur les baux signés.")
blp_bilan = Blueprint("api_bilan", __name__, url_prefix="/api/v1/bilan",
                      description="Bilan annuel des logements proposés et attribués par réservataire (R441-5-1 CCH).")


def _erreurs(exc) -> dict[str, list[str]]:
    return {("_schema" if cle == "_general" else cle): messages for cle, messages in exc.erreurs.items()}


@blp_quotas.route("", methods=["GET"])
@acces(blp_quotas)
@blp_quotas.arguments(QuotasRequeteSchema, location="query", as_kwargs=True)
@blp_quotas.response(200, ObjetSchema, description="Indicateurs (numérateur, dénominateur, taux, cible, statut) "
                                                    "et version du référentiel, comme `caleol quotas --json`.")
@blp_quotas.alt_response(404, response="NOT_FOUND")
@blp_quotas.alt_response(422, response="UNPROCESSABLE_ENTITY")
def lire_quotas(epci, annee):
    """Les objectifs d'attribution de l'année pour un EPCI, comptés jusqu'à aujourd'hui."""
    u = utilisateur_courant()
    session = get_session()
    if u.organisation_type not in (TypeOrganisation.EPCI, TypeOrganisation.ETAT):
        refuser(403, "Les objectifs d'attribution d'un territoire se lisent par les EPCI et les services de l'État.")
    epcis = donnees.epcis_du_perimetre(session, u)
    epci = epci or (epcis[0] if epcis else None)
    if epci is None:
        invalide({"epci": ["Indiquez le SIREN de l'EPCI."]})
    if epci not in epcis:
        if u.organisation_type == TypeOrganisation.EPCI:
            refuser(404, f"EPCI {epci} hors de votre territoire.")
        invalide({"epci": [f"EPCI {epci} : pas d'EPCI de ce SIREN où l'instance a un patrimoine."]})
    date = aujourd_hui()
    annee = annee or date.year
    if annee > date.year:
        invalide({"annee": [f"Année à venir : les objectifs se comptent jusqu'à {date.year}."]})
    try:
        return repondre(quotas(session, epci, annee, date))
    except ErreurQuotas as exc:
        invalide(_erreurs(exc))
    except ParametreIntrouvable as exc:
        invalide({"annee": [f"Le référentiel ne couvre pas l'année {annee} ({exc})."]})


@blp_bilan.route("", methods=["GET"])
@acces(blp_bilan, *LECTURE)
@blp_bilan.arguments(BilanRequeteSchema, location="query", as_kwargs=True)
@blp_bilan.response(200, ObjetSchema, description="Le bilan (lignes par réservataire, regroupements par bailleur, totaux).")
@blp_bilan.alt_response(422, response="UNPROCESSABLE_ENTITY")
def lire_bilan(annee):
    """Le bilan annuel : par bailleur pour un bailleur, par réservataire détenu pour les autres organisations."""
    u = utilisateur_courant()
    session = get_session()
    date = aujourd_hui()
    annee = annee or date.year
    if annee > date.year:
        invalide({"annee": [f"Année à venir : le bilan porte sur {date.year} au plus tard."]})
    try:
        if u.organisation_type == TypeOrganisation.BAILLEUR:
            resultat = svc_bilan.bilan_annuel(session, annee, bailleur_id=u.organisation_id)
        else:
            resultat = bilan_du_reservataire(svc_bilan.bilan_annuel(session, annee), donnees.reservataires_de(session, u))
    except svc_bilan.ErreurBilan as exc:
        invalide(_erreurs(exc))
    return repondre(resultat)
