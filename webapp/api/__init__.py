"""The JSON API (/api/v1) for the bailleurs' ERPs, the EPCI's shared file and the réservataires' tools.

flask-smorest builds the OpenAPI document from the marshmallow schemas and the views; the views
call the services of the web app and the CLI (no rule and no write is implemented twice):

    POST  /api/v1/evaluations                 engine.evaluation.evaluer (same JSON as `caleol evaluate`)
    GET   /api/v1/demandes                    the shared file, paginated, filtered
    POST  /api/v1/demandes                    services.evaluations.enregistrer_et_reevaluer (creation, evaluated at once)
    GET   /api/v1/demandes/{numero_unique}    one dossier, masked for the role
    PATCH /api/v1/demandes/{numero_unique}    JSON merge patch, then the whole dossier validated
    POST  /api/v1/demandes/import-sne         sne.service.importer_contenus (`caleol import-sne`)
    GET   /api/v1/logements                   within auth.perimetre.filtrer_logements
    GET   /api/v1/logements/{id}/propositions services.propositions.proposer
    GET   /api/v1/seances                     séances of the bailleur, or where the user sits
    POST  /api/v1/seances                     services.preparation.creer_seance
    POST  /api/v1/seances/{id}/decisions      services.decisions.enregistrer_decision
    GET   /api/v1/quotas                      services.quotas.quotas
    GET   /api/v1/bilan                       services.bilan.bilan_annuel
    GET   /api/v1/regles                      regles.consultation.en_vigueur
    GET   /api/v1/openapi.json                this document (the committed openapi.json, golden-tested)
    GET   /api/v1/documentation               Swagger UI served from webapp/static/api-docs (no CDN)

Authentication is a bearer token per user (webapp.api.jetons); the API never reads nor writes the
session cookie, so CSRF protection (for the HTML forms) does not apply to it. Every response under
/api/ carries the rulebook version in `X-Caleol-Regles`, and every error is the envelope of
webapp.api.erreurs. Lists answer `{elements, pagination}` with `page` and `par_page` parameters.
"""
from __future__ import annotations

import json
import time
from typing import Any

from flask import Blueprint, Flask, current_app, render_template, request, url_for
from flask_smorest import Api

from engine.version import racine_active, version_regles

from ..schemas.champs import Montant, Nombre
from . import erreurs
from .erreurs import EnveloppeErreurSchema

PREFIXE = "/api/v1"
ID_MAX = 2**63 - 1  # identifiers are 64-bit integers (BIGINT on PostgreSQL, INTEGER on SQLite)
DESCRIPTION = """\
API JSON de Caléol : évaluer un dossier, consulter et alimenter le fichier partagé des demandes,
lire les logements de son périmètre et leurs propositions, créer une séance et y enregistrer les
décisions (article R441-3 du CCH), suivre les objectifs d'attribution et le bilan annuel, lire le
référentiel de règles en vigueur à une date.

**Authentification.** Chaque requête porte l'en-tête `Authorization: Bearer <jeton>`. Un jeton est
délivré à un compte par `caleol api jeton creer IDENTIFIANT` (affiché une seule fois, seule son
empreinte est conservée) et révoqué par `caleol api jeton revoquer ID`. Il hérite du rôle et de
l'organisation du compte : l'API permet ce que l'application web permet (`x-roles` : rôles admis).

**Erreurs.** Toute erreur répond `{code, status, message, errors}` ; `errors` donne les messages par
chemin de champ (`personnes.0.date_naissance`). Une donnée invalide est un 422 et rien n'est écrit.

**Listes.** Paramètres `page` (à partir de 1) et `par_page` (50 par défaut, 200 au plus) ; le corps
est `{elements, pagination: {page, par_page, total, nb_pages}}`.

**Version des règles.** Chaque réponse, erreurs comprises, porte l'en-tête `X-Caleol-Regles`.
"""


class ApiCaleol(Api):
    """flask-smorest's Api with Caléol's error envelope; errors are answered by webapp.api.erreurs."""

    ERROR_SCHEMA = EnveloppeErreurSchema

    def _register_error_handlers(self) -> None:
        """Nothing here: `erreurs.installer` answers under /api/ only, the HTML pages keep theirs."""

    def _openapi_json(self):
        return current_app.response_class(rendre_spec(self.spec.to_dict()), mimetype="application/json")


def rendre_spec(spec: dict[str, Any]) -> str:
    """The text of openapi.json (the committed file is exactly this)."""
    return json.dumps(spec, ensure_ascii=False, indent=2) + "\n"


documentation = Blueprint("api_documentation", __name__, url_prefix=PREFIXE, template_folder="templates")


@documentation.get("/documentation")
def page_documentation():
    return render_template("api/documentation.html", url_spec=url_for("api-docs.openapi_json"), version=version_regles())


def _parametres_hors_bornes():
    """Refuse before any query what the database cannot hold: NUL in a text (PostgreSQL refuses it) in
    the path or the query string, an identifier in the path beyond a 64-bit integer."""
    if not erreurs.est_requete_api():
        return
    if "\x00" in request.path or any(isinstance(v, int) and not 0 <= v <= ID_MAX for v in (request.view_args or {}).values()):
        erreurs.refuser(404)
    fautifs = {cle: ["Caractère nul (U+0000) interdit."] for cle, valeur in request.args.items(multi=True)
               if "\x00" in cle or "\x00" in valeur}
    if fautifs:
        erreurs.invalide(fautifs)


# version_regles() walks rules/ and stats each file (≈ 0.5 ms): the header reuses it for a moment.
DUREE_VERSION_EN_TETE = 2.0
_version_en_tete: list[tuple[Any, str | None, float]] = [(None, None, float("-inf"))]  # (racine, version, until)
_horloge = time.monotonic


def version_en_tete() -> str:
    """version_regles() of the active rulebook, read again when the active rules/ directory changes
    (an activation: at once) or DUREE_VERSION_EN_TETE seconds after the last reading (a file edited
    on disk, as the 2-second check of the active version)."""
    racine, maintenant = racine_active(), _horloge()
    memo_racine, version, jusqu_a = _version_en_tete[0]
    if memo_racine != racine or maintenant >= jusqu_a or version is None:
        version = version_regles(racine)
        _version_en_tete[0] = (racine, version, maintenant + DUREE_VERSION_EN_TETE)
    return version


def _entete_version(reponse):
    if erreurs.est_requete_api():
        reponse.headers["X-Caleol-Regles"] = version_en_tete()
        reponse.headers.setdefault("Cache-Control", "no-store")
    return reponse


def init_app(app: Flask) -> ApiCaleol:
    """Register the API on the app; run after the app's own error handlers (see erreurs.installer)."""
    from ..extensions import csrf
    from . import demandes, evaluations, logements, pilotage, regles, seances

    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIXE)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = ApiCaleol(spec_kwargs={
        "title": "Caléol — API JSON",
        "version": "1",
        "openapi_version": "3.0.3",
        "info": {"description": DESCRIPTION, "license": {"name": "AGPL-3.0-or-later"}},
        "security": [{"jeton": []}],
    })
    api.register_field(Montant, "number", None)
    api.register_field(Nombre, "number", None)
    api.init_app(app)
    api.spec.components.security_scheme("jeton", {
        "type": "http", "scheme": "bearer",
        "description": "Jeton personnel délivré par `caleol api jeton creer IDENTIFIANT`.",
    })
    for nom, schema in {**evaluations.COMPOSANTS, "SeanceCreation": seances.SeanceCreationSchema,
                        "DecisionCorps": seances.DecisionCorpsSchema}.items():
        api.spec.components.schema(nom, schema=schema)
    for blp in (evaluations.blp, demandes.blp, logements.blp, seances.blp, pilotage.blp_quotas, pilotage.blp_bilan,
                regles.blp):
        api.register_blueprint(blp)
        csrf.exempt(blp)
    app.register_blueprint(documentation)
    erreurs.installer(app)
    app.before_request(_parametres_hors_bornes)
    app.after_request(_entete_version)
    app.extensions["caleol.api"] = api
    return api
