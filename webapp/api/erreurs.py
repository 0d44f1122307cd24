"""One error envelope for the whole API: `{code, status, message, errors}`, in French.

`errors` maps a field path (`personnes.0.date_naissance`, `page`, `membres.1.qualite`) to its
messages, as `webapp.schemas.ErreurValidation.erreurs` does; it is `{}` when no field is at fault.
Every refusal of the API goes through `refuser(code, message, errors)` or through a werkzeug
exception (404 of an unknown path, 405 of a wrong method, 500 of an unexpected error): the handlers
below turn both into the envelope. They answer only under /api/: the HTML pages keep their own.
"""
from __future__ import annotations

from typing import Any, NoReturn

from flask import Flask, current_app, json, request
from marshmallow import fields
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from ..schemas import aplatir_erreurs
from ..schemas.champs import SchemaStrict

PREFIXE = "/api/"

STATUTS = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Accès refusé",
    404: "Introuvable",
    405: "Méthode non autorisée",
    406: "Format de réponse non disponible",
    409: "Conflit",
    412: "Précondition non remplie",
    413: "Requête trop volumineuse",
    415: "Type de contenu non pris en charge",
    422: "Données invalides",
    429: "Trop de requêtes",
    500: "Erreur interne",
}
MESSAGES = {
    400: "La requête est invalide.",
    401: "Authentification requise : envoyez l'en-tête « Authorization: Bearer <jeton> ».",
    403: "Votre rôle ou votre organisation ne permet pas cette opération.",
    404: "Cette ressource n'existe pas (ou n'est pas dans le périmètre de votre organisation).",
    405: "Cette méthode HTTP n'est pas acceptée sur cette adresse.",
    406: "Cette ressource ne se sert qu'en JSON.",
    409: "L'opération contredit l'état actuel de la ressource : rien n'a été enregistré.",
    412: "La ressource a changé depuis votre lecture (en-tête If-Match) : rien n'a été enregistré.",
    413: "Le corps de la requête est trop volumineux.",
    415: "Type de contenu non pris en charge.",
    422: "Données invalides : rien n'a été enregistré.",
    429: "Trop de requêtes : patientez avant de réessayer.",
    500: "Erreur interne du serveur : rien n'a été enregistré. L'incident est journalisé.",
}
# webargs names the part of the request a field came from; the envelope keys by field path only.
EMPLACEMENTS = ("json", "query", "querystring", "path", "view_args", "headers", "form")


class EnveloppeErreurSchema(SchemaStrict):
    """The error envelope (documentation of every error response)."""

    code = fields.Integer(required=True, metadata={"description": "Code HTTP.", "example": 422})
    status = fields.String(required=True, metadata={"description": "Nom du statut, en français.",
                                                     "example": "Données invalides"})
    message = fields.String(required=True, metadata={"description": "Explication en français.",
                                                      "example": "Données invalides : rien n'a été enregistré."})
    errors = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()), required=True,
        metadata={"description": "Messages par chemin de champ (vide si aucun champ n'est en cause).",
                  "example": {"personnes.0.date_naissance": ["Date de naissance obligatoire."]}},
    )


def refuser(code: int, message: str | None = None, errors: dict[str, list[str]] | None = None,
            headers: dict[str, str] | None = None) -> NoReturn:
    """Stop the request with this error (the transaction is rolled back at teardown)."""
    exc = default_exceptions[code]()
    exc.data = {"message": message or MESSAGES[code], "errors": errors or {}, "headers": headers or {}}
    raise exc


def invalide(errors: dict[str, list[str]], message: str | None = None) -> NoReturn:
    refuser(422, message, errors)


def _erreurs_webargs(messages: Any) -> dict[str, list[str]]:
    """webargs's {"json": {...}, "query": {...}} flattened into field paths."""
    resultat: dict[str, list[str]] = {}
    if isinstance(messages, dict) and set(messages) <= set(EMPLACEMENTS):
        for valeur in messages.values():
            for cle, msgs in aplatir_erreurs(valeur).items():
                resultat.setdefault(cle, []).extend(msgs)
        return resultat
    return aplatir_erreurs(messages)


def enveloppe(exc: HTTPException):
    code = exc.code or 500
    data = getattr(exc, "data", None) or {}
    message = data.get("message") or MESSAGES.get(code) or STATUTS.get(code, "Erreur.")
    if "errors" in data:
        errors = data["errors"]
    elif "messages" in data:
        errors = _erreurs_webargs(data["messages"])
    else:
        errors = {}
    if code == 422 and "messages" in data and "message" not in data:
        message = MESSAGES[422]
    corps = {"code": code, "status": STATUTS.get(code, exc.name), "message": message, "errors": errors}
    reponse = current_app.response_class(
        json.dumps(corps, ensure_ascii=False, indent=2) + "\n", status=code, mimetype="application/json"
    )
    if code == 405 and getattr(exc, "valid_methods", None):
        reponse.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    if code == 401:
        reponse.headers["WWW-Authenticate"] = 'Bearer realm="caleol"'
    for cle, valeur in (data.get("headers") or {}).items():
        reponse.headers[cle] = valeur
    return reponse


def est_requete_api() -> bool:
    return request.path.startswith(PREFIXE) or request.path == PREFIXE.rstrip("/")


def installer(app: Flask) -> None:
    """Answer every error under /api/ with the envelope; keep the HTML pages' handlers elsewhere.

    Flask looks for a handler by status code before it looks by exception class: each code that
    already has a handler (the HTML error pages) gets a dispatcher in front of it, and a class
    handler covers the other codes. Must run after the app's own error handlers are registered.
    """
    handlers = app.error_handler_spec.setdefault(None, {})
    codes = set(STATUTS) | {c for c in handlers if c is not None}
    for code in sorted(codes):
        classe = default_exceptions.get(code)
        if classe is None:
            continue
        precedent = handlers.get(code, {}).get(classe)
        app.register_error_handler(code, _aiguilleur(precedent))
    precedent_classe = handlers.get(None, {}).get(HTTPException)
    app.register_error_handler(HTTPException, _aiguilleur(precedent_classe))


def _aiguilleur(precedent):
    def gerer(exc: HTTPException):
        if est_requete_api():
            if not isinstance(exc, HTTPException):  # pragma: no cover - Flask wraps them in a 500
                exc = InternalServerError(original_exception=exc)
            return enveloppe(exc)
        if precedent is not None:
            return precedent(exc)
        return exc

    return gerer
