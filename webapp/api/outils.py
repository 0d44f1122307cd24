"""What every resource of the API shares: JSON in and out, pagination, the unit of work."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import current_app, request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from engine.encodage import json_indente_octets

from ..services.dossiers import en_json
from .erreurs import refuser

TYPES_JSON = ("application/json", "application/merge-patch+json")


def repondre(objet: Any, code: int = 200, headers: dict[str, str] | None = None):
    """A JSON response: UTF-8 text, keys in the order the service gave them, like the CLI's output."""
    reponse = current_app.response_class(
        json_indente_octets(en_json(objet)), status=code, mimetype="application/json"
    )
    for cle, valeur in (headers or {}).items():
        reponse.headers[cle] = valeur
    return reponse


def lire_json(types: tuple[str, ...] = TYPES_JSON) -> Any:
    """The request body as JSON (400 if it is not JSON, 415 if it is announced as something else)."""
    if request.mimetype not in types:
        refuser(415, f"Type de contenu non pris en charge ({request.mimetype or 'absent'}) : "
                     f"envoyez {' ou '.join(types)}.")
    contenu = request.get_data(cache=True)
    try:
        return json.loads(contenu.decode("utf-8"))
    except UnicodeDecodeError:
        refuser(400, "Le corps de la requête n'est pas un texte UTF-8.")
    except json.JSONDecodeError as exc:
        refuser(400, f"JSON invalide (ligne {exc.lineno}, colonne {exc.colno}).")


def paginer(session: Session, stmt: Select, page: int, par_page: int, vers_json: Callable[[Any], dict]) -> dict:
    """`{elements, pagination}` of one page of a query (ordered by the caller)."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    elements = list(session.scalars(stmt.limit(par_page).offset((page - 1) * par_page)))
    return {
        "elements": [vers_json(e) for e in elements],
        "pagination": {"page": page, "par_page": par_page, "total": total, "nb_pages": max(1, -(-total // par_page))},
    }
