"""Demandes of the shared file: list, read, create, amend (JSON merge patch), import an SNE file.

Writes go through the services of the web app and the CLI: `enregistrer_et_reevaluer` (one audit entry
per demande written) and the SNE import `importer_contenus` (the `caleol import-sne` service, one
audit entry per import). A dossier is validated whole by `charger_dossier` before anything is written.
Who: every role reads; the chargé(e) d'attribution writes. What is shown: the vue pseudonymisée
(names, address and contact hidden) is forced for the roles and organisations for which the web app
forces it; sensitive facts (protected priority situations, details of a handicap) only go to the
roles that may see them (webapp.auth.ROLES_DONNEES_SENSIBLES in a bailleur).
"""
from __future__ import annotations

import copy
from typing import Any

from flask import current_app, request, url_for
from flask_smorest import Blueprint
from sqlalchemy import select

from .. import get_session
from ..models import Demande, Role
from ..pseudonymisation import pseudonymisation_forcee
from ..referentiels import situations_sensibles
from ..schemas import ErreurValidation, charger_dossier
from ..services.dossiers import charger_demande, dossier_depuis_demande, empreinte, en_json
from ..services.evaluations import enregistrer_et_reevaluer
from .erreurs import invalide, refuser
from .jetons import acces, utilisateur_courant
from .outils import lire_json, paginer, repondre
from .schemas import (
    DemandeSchema,
    DemandesRequeteSchema,
    ImportSneSchema,
    ResumeDemandeSchema,
    page_de,
)

blp = Blueprint("api_demandes", __name__, url_prefix="/api/v1/demandes",
                description="Demandes de logement social du fichier partagé (format Dossier).")

ECRITURE = (Role.CHARGE_ATTRIBUTION,)
MESSAGE_ECRITURE = "Seul(e) un(e) chargé(e) d'attribution enregistre ou modifie une demande."
CHAMPS_CONTACT = ("adresse", "code_postal", "commune_insee", "telephone", "courriel")
CHAMPS_NOMS = ("nom", "prenom", "nom_naissance")
PageDemandes = page_de(ResumeDemandeSchema, "PageDemandes")


def _resume(d: Demande) -> dict[str, Any]:
    return {
        "numero_unique": d.numero_unique,
        "statut": str(d.statut),
        "date_depot": d.date_depot,
        "date_renouvellement": d.date_renouvellement,
        "date_mise_a_jour": d.date_mise_a_jour,
        "nb_personnes": len(d.personnes),
        "typologies_souhaitees": list(d.typologies_souhaitees or []),
        "communes_souhaitees": list(d.communes_souhaitees or []),
    }


def vue_demande(dossier: dict[str, Any]) -> dict[str, Any]:
    """The dossier (JSON form) as the request's user may see it."""
    u = utilisateur_courant()
    vue = copy.deepcopy(en_json(dossier))
    masques: list[str] = []
    pseudonymise = pseudonymisation_forcee()
    if pseudonymise:
        vue["contact"] = {cle: None for cle in CHAMPS_CONTACT}
        for p in vue["personnes"]:
            for cle in CHAMPS_NOMS:
                p[cle] = None
    if not u.voit_donnees_sensibles:
        sensibles = situations_sensibles()
        gardees = [s for s in vue["situations"] if s["code"] not in sensibles]
        if len(gardees) != len(vue["situations"]):
            masques.append("situations")
        vue["situations"] = gardees
        for i, p in enumerate(vue["personnes"]):
            if (p.get("handicap") or {}).get("details"):
                p["handicap"]["details"] = None
                masques.append(f"personnes.{i}.handicap.details")
    return {"numero_unique": vue["numero_unique"], "dossier": vue, "pseudonymise": pseudonymise, "masques": masques}


def _etag(dossier: dict[str, Any]) -> str:
    return f'"{empreinte(dossier)}"'


def _demande_ou_404(numero_unique: str) -> Demande:
    demande = charger_demande(get_session(), numero_unique)
    if demande is None:
        refuser(404, f"Demande inconnue : {numero_unique}.")
    return demande


@blp.route("", methods=["GET"])
@acces(blp)
@blp.arguments(DemandesRequeteSchema, location="query", as_kwargs=True)
@blp.response(200, PageDemandes)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def lister(page, par_page, statut, numero_unique, depose_depuis, depose_jusqu_au):
    """Lister les demandes (paginé), par date de dépôt puis numéro unique.

    Le corps est `{elements, pagination}` ; `pagination` donne page, par_page, total et nb_pages.
    Les résumés ne contiennent aucun nom.
    """
    stmt = select(Demande).order_by(Demande.date_depot, Demande.numero_unique)
    if statut:
        stmt = stmt.where(Demande.statut == statut)
    if numero_unique:
        stmt = stmt.where(Demande.numero_unique == numero_unique)
    if depose_depuis:
        stmt = stmt.where(Demande.date_depot >= depose_depuis)
    if depose_jusqu_au:
        stmt = stmt.where(Demande.date_depot <= depose_jusqu_au)
    return repondre(paginer(get_session(), stmt, page, par_page, _resume))


@blp.route("", methods=["POST"])
@acces(blp, *ECRITURE, description=MESSAGE_ECRITURE)
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Dossier"}}}})
@blp.response(201, DemandeSchema, headers={"Location": {"description": "Adresse de la demande créée.",
                                                         "schema": {"type": "string"}}})
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def creer():
    """Créer une demande à partir d'un dossier JSON complet (409 si le numéro unique existe déjà)."""
    u = utilisateur_courant()
    try:
        dossier = charger_dossier(lire_json())
    except ErreurValidation as exc:
        invalide(exc.erreurs)
    session = get_session()
    if charger_demande(session, dossier["numero_unique"]) is not None:
        refuser(409, f"La demande {dossier['numero_unique']} existe déjà : modifiez-la avec PATCH.",
                {"numero_unique": ["Numéro unique déjà enregistré."]})
    enregistrer_et_reevaluer(session, dossier, acteur=u.identifiant, action="demande.creer_api")
    session.commit()
    return repondre(vue_demande(dossier), 201, {
        "Location": url_for("api_demandes.lire", numero_unique=dossier["numero_unique"]), "ETag": _etag(dossier)})


@blp.route("/<string:numero_unique>", methods=["GET"])
@acces(blp)
@blp.response(200, DemandeSchema, headers={"ETag": {"description": "Empreinte du dossier (pour If-Match).",
                                                     "schema": {"type": "string"}}})
@blp.alt_response(404, response="NOT_FOUND")
def lire(numero_unique):
    """Lire une demande (dossier masqué selon le rôle) ; l'en-tête ETag sert à PATCH (If-Match)."""
    dossier = dossier_depuis_demande(_demande_ou_404(numero_unique))
    return repondre(vue_demande(dossier), headers={"ETag": _etag(dossier)})


def fusionner(cible: Any, correctif: Any) -> Any:
    """JSON merge patch (RFC 7396): objects merged key by key, null removes, anything else replaces."""
    if not isinstance(correctif, dict):
        return copy.deepcopy(correctif)
    resultat = dict(cible) if isinstance(cible, dict) else {}
    for cle, valeur in correctif.items():
        if valeur is None:
            resultat.pop(cle, None)
        else:
            resultat[cle] = fusionner(resultat.get(cle), valeur)
    return resultat


@blp.route("/<string:numero_unique>", methods=["PATCH"])
@acces(blp, *ECRITURE, description=MESSAGE_ECRITURE)
@blp.doc(
    requestBody={"required": True, "description": "Un dossier partiel (JSON merge patch, RFC 7396) : les objets se "
                 "fusionnent champ par champ, une liste remplace la liste, null efface (valeur par défaut).",
                 "content": {"application/merge-patch+json": {"schema": {"type": "object"}},
                             "application/json": {"schema": {"type": "object"}}}},
    parameters=[{"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
                 "description": "ETag lu par GET : refuse (412) si la demande a changé depuis."}],
)
@blp.response(200, DemandeSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(412, response="PRECONDITION_FAILED")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def modifier(numero_unique):
    """Modifier une demande : le dossier partiel est fusionné au dossier enregistré, puis tout est revalidé."""
    u = utilisateur_courant()
    correctif = lire_json()
    if not isinstance(correctif, dict):
        invalide({"_schema": ["Objet JSON attendu (dossier partiel)."]})
    session = get_session()
    demande = _demande_ou_404(numero_unique)
    avant = en_json(dossier_depuis_demande(demande))
    attendu = request.headers.get("If-Match")
    if attendu and attendu.strip() not in ("*", _etag(dossier_depuis_demande(demande))):
        refuser(412)
    fusion = fusionner(avant, correctif)
    if fusion.get("numero_unique") != numero_unique:
        invalide({"numero_unique": ["Le numéro unique d'une demande ne se modifie pas."]})
    try:
        dossier = charger_dossier(fusion)
    except ErreurValidation as exc:
        invalide(exc.erreurs)
    enregistrer_et_reevaluer(session, dossier, acteur=u.identifiant, action="demande.modifier_api")
    session.commit()
    return repondre(vue_demande(dossier), headers={"ETag": _etag(dossier)})


@blp.route("/import-sne", methods=["POST"])
@acces(blp, *ECRITURE, description=MESSAGE_ECRITURE)
@blp.doc(requestBody={"required": True, "description": "Un fichier SNE interfaceNuu v02.00.",
                      "content": {"application/xml": {"schema": {"type": "string"}}}})
@blp.response(201, ImportSneSchema, description="Demande créée (200 : demande mise à jour).")
@blp.alt_response(200, schema=ImportSneSchema, description="Demande mise à jour.", success=True)
@blp.alt_response(415, response="UNSUPPORTED_MEDIA_TYPE")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def importer_sne():
    """Importer un fichier SNE : la demande est créée ou mise à jour comme par `caleol import-sne`."""
    from ..sne.service import CREEE, REFUSEE, importer_contenus

    u = utilisateur_courant()
    if request.mimetype not in ("application/xml", "text/xml"):
        refuser(415, "Type de contenu non pris en charge : envoyez le fichier SNE en application/xml.")
    contenu = request.get_data(cache=True)
    (resultat,) = importer_contenus(current_app.extensions["caleol.sessions"], [("requete", contenu)],
                                    acteur=u.identifiant)
    if resultat.resultat == REFUSEE:
        erreurs: dict[str, list[str]] = {}
        for chemin, message in resultat.erreurs:
            erreurs.setdefault(chemin or "_schema", []).append(message)
        invalide(erreurs, "Fichier SNE refusé : rien n'est enregistré.")
    return repondre({
        "numero_unique": resultat.numero_unique,
        "resultat": resultat.resultat,
        "type_fichier": resultat.type_fichier,
        "statut": resultat.statut,
        "rapport": resultat.rapport,
        "demande": vue_demande(resultat.dossier or {}),
    }, 201 if resultat.resultat == CREEE else 200)
