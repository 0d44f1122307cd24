"""Findings of a review séance (constat de la CALEOL) and the bailleur's follow-up: strict schemas.

`donnees_formulaire` turns the HTML form into JSON types (lists, numbers, booleans) without guessing:
a value that is not a number is passed as text, and the schema refuses it with its French message.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import ValidationError, validate, validates_schema

from ..models import Accessibilite, IssueParcours, Typologie
from .champs import Booleen, Date, ErreurValidation, Liste, Nombre, SchemaStrict, Texte, charger, choix

CODE_INSEE = validate.Regexp(r"^[0-9][0-9AB][0-9]{3}$", error="Code INSEE invalide.")


class ConstatSchema(SchemaStrict):
    situations_constatees = Liste(Texte(validate=validate.Length(max=60)), load_default=list)
    observations = Texte(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    typologies = Liste(Texte(validate=choix([t.value for t in Typologie], "typologie")), load_default=list)
    surface_min = Nombre(load_default=None, allow_none=True)
    surface_max = Nombre(load_default=None, allow_none=True)
    accessibilite = Texte(required=True, validate=choix([a.value for a in Accessibilite], "accessibilité"))
    communes = Liste(Texte(validate=CODE_INSEE), load_default=list)
    secteur = Texte(load_default=None, allow_none=True, validate=validate.Length(max=200))
    conseil_accession = Booleen(load_default=False)
    avis = Texte(load_default=None, allow_none=True, validate=validate.Length(max=4000))

    @validates_schema
    def _coherence(self, data: dict[str, Any], **_kwargs: Any) -> None:
        mini, maxi = data.get("surface_min"), data.get("surface_max")
        if mini is not None and maxi is not None and mini > maxi:
            raise ValidationError("La surface minimale dépasse la surface maximale.", "surface_max")
        if len(set(data.get("communes") or [])) != len(data.get("communes") or []):
            raise ValidationError("Une même commune figure deux fois.", "communes")


class SuiviSchema(SchemaStrict):
    suivi_date = Date(required=True)
    suivi_issue = Texte(required=True, validate=choix([i.value for i in IssueParcours], "issue"))
    suivi_commentaire = Texte(load_default=None, allow_none=True, validate=validate.Length(max=4000))
    mutation_demande_creee = Booleen(load_default=False)
    mutation_numero_unique = Texte(
        load_default=None, allow_none=True,
        validate=validate.Regexp(r"^[0-9A-Z]{10,30}$", error="Numéro unique invalide (10 à 30 chiffres ou majuscules)."))


def _texte(valeur: str | None) -> str | None:
    valeur = (valeur or "").strip()
    return valeur or None


def _nombre(valeur: str | None) -> Any:
    texte = (valeur or "").strip().replace(",", ".")
    if not texte:
        return None
    try:
        nombre = Decimal(texte)
    except InvalidOperation:
        return texte  # refused by the schema: « Nombre attendu. »
    return float(nombre) if nombre.is_finite() else texte


def charger_constat(form) -> dict[str, Any]:
    """Validate the findings form (a werkzeug MultiDict); ErreurValidation names each field."""
    communes = [c.strip() for c in (form.get("communes") or "").replace(";", ",").split(",") if c.strip()]
    donnees = {
        "situations_constatees": form.getlist("situations_constatees"),
        "observations": _texte(form.get("observations")),
        "typologies": form.getlist("typologies"),
        "surface_min": _nombre(form.get("surface_min")),
        "surface_max": _nombre(form.get("surface_max")),
        "accessibilite": form.get("accessibilite") or "",
        "communes": communes,
        "secteur": _texte(form.get("secteur")),
        "conseil_accession": form.get("conseil_accession") == "on",
        "avis": _texte(form.get("avis")),
    }
    return _par_champ(lambda: charger(ConstatSchema(), donnees))


def charger_suivi(form) -> dict[str, Any]:
    donnees = {
        "suivi_date": (form.get("suivi_date") or "").strip(),
        "suivi_issue": form.get("suivi_issue") or "",
        "suivi_commentaire": _texte(form.get("suivi_commentaire")),
        "mutation_demande_creee": form.get("mutation_demande_creee") == "on",
        "mutation_numero_unique": _texte(form.get("mutation_numero_unique")),
    }
    if not donnees["suivi_date"]:
        del donnees["suivi_date"]
    return _par_champ(lambda: charger(SuiviSchema(), donnees))


def _par_champ(chargement) -> dict[str, Any]:
    """Errors keyed by the form field (`communes.1` → `communes`): one field, one place in the form."""
    try:
        return chargement()
    except ErreurValidation as exc:
        erreurs: dict[str, list[str]] = {}
        for chemin, messages in exc.erreurs.items():
            erreurs.setdefault(chemin.split(".")[0], []).extend(messages)
        raise ErreurValidation(erreurs) from None
