"""The audit trail for auditors: filterable, paginated, read-only (blueprint `audit`).

Who: lecteurs (auditeurs), administrateurs and présidents of a bailleur or of the État. Entries only
reference sensitive facts (codes and ids); the page also masks, as a second line of defence, any
value stored under a key that names personal data or a secret.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import false, select

from .. import get_session
from ..auth import role_requis
from ..models import AuditEntry, Role, TypeOrganisation
from ..pagination import paginer

bp = Blueprint("audit", __name__, url_prefix="/audit")

ROLES_AUDIT = (Role.LECTEUR, Role.ADMINISTRATEUR, Role.PRESIDENT)
ORGANISATIONS_AUDIT = (TypeOrganisation.BAILLEUR, TypeOrganisation.ETAT)
PAR_PAGE = 50
# Keys whose values are never displayed, whatever an entry contains.
CLES_MASQUEES = frozenset({
    "mot_de_passe", "mot_de_passe_hash", "hash", "secret", "jeton", "nom", "prenom", "nom_naissance",
    "date_naissance", "adresse", "telephone", "courriel", "handicap_details", "details_handicap",
})
MASQUE = "(masqué)"
LIBELLES_ETAT = {"ajoute": "ajouté", "supprime": "supprimé", "modifie": "modifié"}


def peut_auditer(utilisateur) -> bool:
    return utilisateur.role in ROLES_AUDIT and utilisateur.organisation_type in ORGANISATIONS_AUDIT


def _masquer(cle: str, valeur: Any) -> Any:
    return MASQUE if cle.rsplit(".", 1)[-1].lower() in CLES_MASQUEES else valeur


def _aplatir(valeur: Any, prefixe: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} → {"a.b": 1}; lists stay whole (shown as one value)."""
    if isinstance(valeur, dict):
        res: dict[str, Any] = {}
        for k, v in valeur.items():
            res.update(_aplatir(v, f"{prefixe}{k}."))
        if not valeur and prefixe:
            res[prefixe[:-1]] = {}
        return res
    return {prefixe[:-1] if prefixe else "valeur": valeur}


def _texte(valeur: Any) -> str:
    if valeur is None:
        return "—"
    if isinstance(valeur, str):
        return valeur
    if isinstance(valeur, bool):
        return "oui" if valeur else "non"
    return json.dumps(valeur, ensure_ascii=False, sort_keys=True)


def differences(avant: dict | None, apres: dict | None) -> list[dict[str, str]]:
    """Before/after as rows: key, old value, new value, state (ajouté, supprimé, modifié, inchangé)."""
    a, b = _aplatir(avant or {}), _aplatir(apres or {})
    lignes = []
    for cle in sorted(set(a) | set(b)):
        if cle not in a:
            etat = "ajoute"
        elif cle not in b:
            etat = "supprime"
        elif a[cle] != b[cle]:
            etat = "modifie"
        else:
            etat = "inchange"
        lignes.append({
            "cle": cle, "etat": etat, "libelle_etat": LIBELLES_ETAT.get(etat, "inchangé"),
            "avant": _texte(_masquer(cle, a[cle])) if cle in a else "",
            "apres": _texte(_masquer(cle, b[cle])) if cle in b else "",
        })
    return lignes


def details_lisibles(details: dict | None) -> list[tuple[str, str]]:
    return [(cle, _texte(_masquer(cle, v))) for cle, v in sorted(_aplatir(details or {}).items())] if details else []


def _date(nom: str, erreurs: dict[str, list[str]], libelle: str) -> dt.date | None:
    texte = (request.args.get(nom) or "").strip()
    if not texte:
        return None
    try:
        return dt.date.fromisoformat(texte)
    except ValueError:
        erreurs.setdefault(nom, []).append(f"{libelle} : indiquez une date au format AAAA-MM-JJ.")
        return None


@bp.get("")
@role_requis(*ROLES_AUDIT)
def journal():
    if not peut_auditer(current_user):
        abort(403)
    session = get_session()
    erreurs: dict[str, list[str]] = {}
    du = _date("du", erreurs, "Du")
    au = _date("au", erreurs, "Au")
    if du and au and au < du:
        erreurs.setdefault("au", []).append("Au : la date de fin précède la date de début.")
    filtres = {cle: (request.args.get(cle) or "").strip()[:120] for cle in ("acteur", "action", "objet_type", "objet_id")}
    stmt = select(AuditEntry).order_by(AuditEntry.horodatage.desc(), AuditEntry.id.desc())
    if not erreurs:
        if du:
            stmt = stmt.where(AuditEntry.horodatage >= dt.datetime.combine(du, dt.time.min, tzinfo=dt.UTC))
        if au:
            stmt = stmt.where(AuditEntry.horodatage < dt.datetime.combine(au + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC))
        if filtres["acteur"]:
            stmt = stmt.where(AuditEntry.acteur.ilike(f"%{filtres['acteur']}%"))
        for cle in ("action", "objet_type", "objet_id"):
            if filtres[cle]:
                stmt = stmt.where(getattr(AuditEntry, cle) == filtres[cle])
    else:
        stmt = stmt.where(false())
    page = paginer(session, stmt, PAR_PAGE)
    entrees = [
        {"e": e, "lignes": differences(e.avant, e.apres), "details": details_lisibles(e.details)}
        for e in page.elements
    ]
    actions = session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
    types = session.scalars(select(AuditEntry.objet_type).distinct().order_by(AuditEntry.objet_type)).all()
    args = {k: v for k, v in {**filtres, "du": request.args.get("du", ""), "au": request.args.get("au", "")}.items() if v}
    return (
        render_template("audit/journal.html", page=page, entrees=entrees, filtres=filtres, actions=actions,
                        types=types, args=args, erreurs=erreurs, du=request.args.get("du", ""), au=request.args.get("au", "")),
        400 if erreurs else 200,
    )
