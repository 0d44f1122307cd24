"""POST /api/v1/evaluations: the engine on a dossier sent in the request, the same JSON as `caleol evaluate`.

The body is a dossier JSON (webapp.schemas format), an SNE interfaceNuu XML file (Content-Type
application/xml), or `{dossier, logement, date}` to add a proposed dwelling. The dossier is read and
validated by the same functions as `caleol evaluate` (charger_dossier, or the SNE reading
lire_demande_sne → composer_dossier → valider), the logement by charger_logement, and evaluated by
engine.evaluation.evaluer with the durable engine: the response body is the CLI's output, byte for
byte. Nothing is written.
"""
from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint

from engine.encodage import json_indente_octets
from engine.parametres import ParametreIntrouvable
from engine.yaml_strict import ErreurRegles

from ..horloge import aujourd_hui
from ..schemas import DossierSchema, ErreurValidation, LogementSchema, charger_dossier, charger_logement
from ..schemas.champs import charger
from .erreurs import invalide, refuser
from .jetons import acces
from .outils import lire_json
from .schemas import EvaluationCorpsSchema, EvaluationRequeteSchema, ObjetSchema

blp = Blueprint("api_evaluations", __name__, url_prefix="/api/v1/evaluations",
                description="Évaluation d'un dossier par le moteur de règles (rien n'est enregistré).")

TYPES_XML = ("application/xml", "text/xml")


def _prefixer(erreurs: dict[str, list[str]], prefixe: str) -> dict[str, list[str]]:
    return {f"{prefixe}.{cle}": messages for cle, messages in erreurs.items()}


def _dossier_sne(contenu: bytes) -> dict:
    from ..sne import ErreurSNE, composer_dossier, lire_demande_sne, valider

    try:
        demande = lire_demande_sne(contenu)
        return valider(demande, composer_dossier(demande, None))
    except ErreurSNE as exc:
        erreurs: dict[str, list[str]] = {}
        for chemin, message in exc.erreurs:
            erreurs.setdefault(chemin or "_schema", []).append(message)
        invalide(erreurs, "Fichier SNE invalide : rien n'est évalué.")


def lire_evaluation() -> tuple[dict, dict | None, object]:
    """(dossier, logement, date in the body or None) from the request body, validated."""
    if request.mimetype in TYPES_XML:
        return _dossier_sne(request.get_data(cache=True)), None, None
    corps = lire_json()
    if isinstance(corps, dict) and "dossier" in corps:
        try:
            enveloppe = charger(EvaluationCorpsSchema(), corps)
        except ErreurValidation as exc:
            invalide(exc.erreurs)
        erreurs: dict[str, list[str]] = {}
        dossier = logement = None
        try:
            dossier = charger_dossier(enveloppe["dossier"])
        except ErreurValidation as exc:
            erreurs.update(_prefixer(exc.erreurs, "dossier"))
        if enveloppe["logement"] is not None:
            try:
                logement = charger_logement(enveloppe["logement"])
            except ErreurValidation as exc:
                erreurs.update(_prefixer(exc.erreurs, "logement"))
        if erreurs:
            invalide(erreurs)
        return dossier, logement, enveloppe["date"]
    try:
        return charger_dossier(corps), None, None
    except ErreurValidation as exc:
        invalide(exc.erreurs)


@blp.route("", methods=["POST"])
@acces(blp)
@blp.arguments(EvaluationRequeteSchema, location="query", as_kwargs=True)
@blp.doc(requestBody={
    "required": True,
    "description": "Un dossier (JSON), un fichier SNE interfaceNuu v02.00 (XML), ou {dossier, logement, date}.",
    "content": {
        "application/json": {"schema": {"oneOf": [
            {"$ref": "#/components/schemas/Dossier"}, {"$ref": "#/components/schemas/EvaluationCorps"},
        ]}},
        "application/xml": {"schema": {"type": "string", "description": "Fichier SNE interfaceNuu v02.00."}},
    },
})
@blp.response(200, ObjetSchema, description="Le résultat de l'évaluation (contrat rules/schemas/evaluation.schema.json), "
                                             "identique à la sortie de `caleol evaluate`.")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def evaluer(date, trace):
    """Évaluer un dossier à une date, avec ou sans logement proposé.

    La date est celle du corps (forme longue), sinon le paramètre `date`, sinon aujourd'hui ; les deux
    ne peuvent pas différer. Le moteur est celui de `caleol evaluate` (durable_rules).
    """
    from engine.evaluation import evaluer as evaluer_moteur

    dossier, logement, date_corps = lire_evaluation()
    if date_corps is not None and date is not None and date_corps != date:
        invalide({"date": ["La date du corps et celle du paramètre diffèrent : n'en donnez qu'une."]})
    date_ref = date_corps or date or aujourd_hui()
    try:
        resultat = evaluer_moteur(dossier, logement, date_ref, moteur="durable", trace=trace)
    except ParametreIntrouvable as exc:
        invalide({"date": [f"Le référentiel ne couvre pas le {date_ref.isoformat()} ({exc})."]})
    except ErreurRegles as exc:
        current_app.logger.error("référentiel invalide : %s", exc)
        refuser(500, "Le référentiel de règles est invalide : l'évaluation est impossible.")
    # The text of `caleol evaluate` (json.dumps(…, ensure_ascii=False, indent=2)), byte for byte.
    return current_app.response_class(json_indente_octets(resultat), mimetype="application/json")


COMPOSANTS = {"Dossier": DossierSchema, "Logement": LogementSchema, "EvaluationCorps": EvaluationCorpsSchema}
