"""Séances of the CALEOL: list, create (with members), record a decision.

Access is the web app's: a séance is seen by the users of its commission's bailleur and by its own
members (404 for anybody else); the chargé(e) d'attribution of a bailleur creates séances
(webapp.services.preparation.creer_seance); the président(e) of the bailleur records decisions
(webapp.services.decisions.enregistrer_decision: quorum, majority, casting vote, conflicts of
interest, justification of departures from the proposed order, the one-effective-attribution
constraint). A decision recorded at the same time by someone else, a stale `version_seance` (the
séance `version` the client read: optimistic lock) or a decision that contradicts one recorded
meanwhile (checked by the service, then by the unique indexes of the database) is a 409 naming the
field, and nothing is written.
"""
from __future__ import annotations

from flask import url_for
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from .. import get_session
from ..horloge import aujourd_hui
from ..models import (
    Candidature,
    Commission,
    MembreSeance,
    ModeSeance,
    PointOrdreDuJour,
    Role,
    Seance,
    TypeOrganisation,
    Utilisateur,
)
from ..schemas import ErreurValidation
from ..schemas.champs import charger
from ..services import decisions as svc_decisions
from ..services import preparation as svc_preparation
from .erreurs import invalide, refuser
from .jetons import acces, utilisateur_courant
from .outils import lire_json, paginer, repondre
from .schemas import DecisionCorpsSchema, DecisionSchema, SeanceCreationSchema, SeanceSchema, SeancesRequeteSchema, page_de

blp = Blueprint("api_seances", __name__, url_prefix="/api/v1/seances",
                description="Séances de la commission d'attribution et décisions (R441-3 CCH).")

LECTURE = (Role.CHARGE_ATTRIBUTION, Role.MEMBRE_COMMISSION, Role.PRESIDENT, Role.LECTEUR)
PageSeances = page_de(SeanceSchema, "PageSeances")


def _du_bailleur(seance: Seance) -> bool:
    u = utilisateur_courant()
    return u.organisation_type == TypeOrganisation.BAILLEUR and seance.commission.bailleur_id == u.organisation_id


def _seance_ou_404(seance_id: int) -> Seance:
    seance = get_session().get(Seance, seance_id)
    if seance is None or not (_du_bailleur(seance) or svc_decisions.membre_de(seance, utilisateur_courant().id) is not None):
        refuser(404, f"Séance {seance_id} introuvable.")
    return seance


def seance_json(s: Seance) -> dict:
    session = get_session()
    logements = session.scalars(select(PointOrdreDuJour.logement_id).where(PointOrdreDuJour.seance_id == s.id)
                                .order_by(PointOrdreDuJour.ordre)).all()
    return {
        "id": s.id,
        "commission": {"id": s.commission.id, "nom": s.commission.nom, "territoire": s.commission.territoire},
        "date_seance": s.date_seance,
        "mode": str(s.mode),
        "statut": str(s.statut),
        "quorum": s.quorum,
        "version_regles": s.version_regles,
        "version": s.version,
        "membres": [{"id": m.id, "nom": m.nom, "qualite": m.qualite, "voix_deliberative": m.voix_deliberative,
                     "present": m.present, "utilisateur_id": m.utilisateur_id}
                    for m in sorted(s.membres, key=lambda m: m.id)],
        "logements": list(logements),
        "nb_candidatures": len(s.candidatures),
    }


@blp.route("", methods=["GET"])
@acces(blp, *LECTURE)
@blp.arguments(SeancesRequeteSchema, location="query", as_kwargs=True)
@blp.response(200, PageSeances)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def lister(page, par_page, statut):
    """Lister les séances visibles (celles de votre bailleur, ou celles où vous siégez), les plus récentes d'abord."""
    u = utilisateur_courant()
    stmt = select(Seance).join(Commission).order_by(Seance.date_seance.desc(), Seance.id.desc())
    if u.organisation_type == TypeOrganisation.BAILLEUR:
        stmt = stmt.where(Commission.bailleur_id == u.organisation_id)
    else:
        stmt = stmt.where(Seance.id.in_(select(MembreSeance.seance_id).where(MembreSeance.utilisateur_id == u.id)))
    if statut:
        stmt = stmt.where(Seance.statut == statut)
    return repondre(paginer(get_session(), stmt, page, par_page, seance_json))


@blp.route("", methods=["POST"])
@acces(blp, Role.CHARGE_ATTRIBUTION, description="Seul(e) un(e) chargé(e) d'attribution d'un bailleur crée une séance.")
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SeanceCreation"}}}})
@blp.response(201, SeanceSchema)
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def creer():
    """Créer une séance avec ses membres (l'ordre du jour se compose ensuite dans l'application)."""
    u = utilisateur_courant()
    if u.organisation_type != TypeOrganisation.BAILLEUR:
        refuser(403, "Seul(e) un(e) chargé(e) d'attribution d'un bailleur crée une séance.")
    try:
        donnees = charger(SeanceCreationSchema(), lire_json())
    except ErreurValidation as exc:
        invalide(exc.erreurs)
    erreurs: dict[str, list[str]] = {}
    if donnees["date_seance"] < aujourd_hui():
        erreurs["date_seance"] = ["La date de la séance ne peut pas être passée."]
    session = get_session()
    for i, m in enumerate(donnees["membres"]):
        if m["utilisateur_id"] is not None:
            membre = session.get(Utilisateur, m["utilisateur_id"])
            if membre is None or not membre.actif:
                erreurs[f"membres.{i}.utilisateur_id"] = ["Compte inconnu ou désactivé."]
    if erreurs:
        invalide(erreurs)
    membres = [svc_preparation.Membre(nom=m["nom"].strip(), qualite=m["qualite"], voix_deliberative=m["voix_deliberative"],
                                      present=m["present"], utilisateur_id=m["utilisateur_id"]) for m in donnees["membres"]]
    try:
        seance = svc_preparation.creer_seance(
            session, commission_id=donnees["commission_id"], bailleur_id=u.organisation_id,
            date_seance=donnees["date_seance"], mode=ModeSeance(donnees["mode"]), quorum=donnees["quorum"],
            membres=membres, acteur=u.identifiant)
    except svc_preparation.ErreurPreparation as exc:
        invalide(exc.erreurs)
    session.commit()
    return repondre(seance_json(seance), 201, {"Location": url_for("api_seances.lire", seance_id=seance.id)})


@blp.route("/<int:seance_id>", methods=["GET"])
@acces(blp, *LECTURE)
@blp.response(200, SeanceSchema)
@blp.alt_response(404, response="NOT_FOUND")
def lire(seance_id):
    """Lire une séance (membres, logements inscrits, nombre de candidatures)."""
    return repondre(seance_json(_seance_ou_404(seance_id)))


def _decision_json(session, decision, candidature: Candidature) -> dict:
    resultat = svc_decisions.resultat_vote(session, candidature)
    return {
        "id": decision.id,
        "candidature_id": candidature.id,
        "seance_id": candidature.seance_id,
        "logement_id": candidature.logement_id,
        "numero_unique": candidature.demande.numero_unique,
        "type": str(decision.type),
        "rang": decision.rang,
        "motifs": list(decision.motifs or []),
        "piece_manquante": decision.piece_manquante,
        "date_limite_condition": decision.date_limite_condition,
        "version_regles": decision.version_regles,
        "version_seance": candidature.seance.version,
        "vote": {"pour": resultat.pour, "contre": resultat.contre, "abstentions": resultat.abstentions,
                 "conflits": resultat.conflits, "issue": resultat.issue,
                 "voix_preponderante": resultat.voix_preponderante},
    }


@blp.route("/<int:seance_id>/decisions", methods=["POST"])
@acces(blp, Role.PRESIDENT, description="Seul(e) le (la) président(e) de la commission enregistre une décision.")
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DecisionCorps"}}}})
@blp.response(201, DecisionSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def decider(seance_id):
    """Enregistrer la décision de la commission sur un candidat, avec les votes (séance physique).

    Séance physique : `votes` donne le vote de chaque membre présent à voix délibérative, `unanimite`
    celui des autres. Séance dématérialisée : les membres ont voté eux-mêmes dans la fenêtre de vote.
    Les refus (quorum, majorité, motif, pièce, rang, justification…) sont des 422 aux messages du service.
    """
    u = utilisateur_courant()
    seance = _seance_ou_404(seance_id)
    if not _du_bailleur(seance):
        refuser(403, "Seul(e) le (la) président(e) de la commission du bailleur enregistre une décision.")
    try:
        donnees = charger(DecisionCorpsSchema(), lire_json())
    except ErreurValidation as exc:
        invalide(exc.erreurs)
    session = get_session()
    candidature = session.get(Candidature, donnees["candidature_id"])
    if candidature is None or candidature.seance_id != seance.id:
        invalide({"candidature_id": ["Candidature inconnue dans cette séance."]})
    votes: dict[int, str] = {int(k): v for k, v in donnees["votes"].items()}
    if seance.mode != ModeSeance.DEMATERIALISEE and donnees["unanimite"]:
        for m in svc_decisions.votants_presents(seance):
            votes.setdefault(m.id, donnees["unanimite"])
    decision_donnees = svc_decisions.DonneesDecision(
        type=donnees["type"], rang=donnees["rang"], motifs=donnees["motifs"],
        piece_manquante=donnees["piece_manquante"], date_limite_condition=donnees["date_limite_condition"],
        justification=donnees["justification"])
    try:
        decision = svc_decisions.enregistrer_decision(
            session, candidature_id=candidature.id, acteur=u, donnees=decision_donnees, votes=votes or None,
            version_seance=donnees["version_seance"])
        session.commit()
    except svc_decisions.ConflitDecision as exc:
        session.rollback()
        refuser(409, " ".join(m for ms in exc.erreurs.values() for m in ms), exc.erreurs)
    except svc_decisions.ErreurDecision as exc:
        session.rollback()
        invalide({("_schema" if cle == "__all__" else cle): messages for cle, messages in exc.erreurs.items()})
    except StaleDataError:
        session.rollback()
        refuser(409, svc_decisions.MESSAGE_CONCURRENCE, {"version_seance": [svc_decisions.MESSAGE_CONCURRENCE]})
    except IntegrityError as exc:
        session.rollback()
        message = svc_decisions.message_contrainte(exc)
        refuser(409, message, {svc_decisions.champ_contrainte(exc): [message]})
    return repondre(_decision_json(session, decision, candidature), 201)
