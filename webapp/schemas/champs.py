"""Strict fields with French messages, and the flattening of errors into field paths."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

MESSAGES_COMMUNS = {
    "required": "Champ obligatoire.",
    "null": "Ce champ ne peut pas être vide (null).",
    "validator_failed": "Valeur invalide.",
}


class Texte(fields.String):
    default_error_messages = {**MESSAGES_COMMUNS, "invalid": "Texte attendu.", "invalid_utf8": "Texte UTF-8 invalide.",
                              "nul": "Caractère nul (U+0000) interdit."}

    def _deserialize(self, value, attr, data, **kwargs):
        texte = super()._deserialize(value, attr, data, **kwargs)
        # PostgreSQL refuses NUL in text columns: refused here, with the field's path, never at the write.
        if "\x00" in texte:
            raise self.make_error("nul")
        return texte


class Entier(fields.Integer):
    default_error_messages = {**MESSAGES_COMMUNS, "invalid": "Nombre entier attendu.", "too_large": "Nombre trop grand."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Booleen(fields.Boolean):
    default_error_messages = {**MESSAGES_COMMUNS, "invalid": "Booléen attendu (true ou false)."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Montant(fields.Field):
    """An amount in euros: a JSON number (never a string), at most two decimals, as Decimal."""

    default_error_messages = {
        **MESSAGES_COMMUNS,
        "invalid": "Montant attendu (nombre en euros, par exemple 1250.50).",
        "decimales": "Au plus deux décimales.",
        "negatif": "Le montant ne peut pas être négatif.",
        "trop_grand": "Montant trop grand.",
    }

    def __init__(self, *, positif: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.positif = positif

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise self.make_error("invalid")
        try:
            montant = Decimal(str(value))
        except InvalidOperation as exc:  # pragma: no cover - str of a number is always valid
            raise self.make_error("invalid") from exc
        if not montant.is_finite():
            raise self.make_error("invalid")
        # Before quantize: a huge amount (1e+26) overflows the decimal context's precision there.
        if abs(montant) >= Decimal("10000000000"):
            raise self.make_error("trop_grand")
        if montant != montant.quantize(Decimal("0.01")):
            raise self.make_error("decimales")
        if self.positif and montant < 0:
            raise self.make_error("negatif")
        return montant.quantize(Decimal("0.01"))

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return float(value)


class Nombre(fields.Field):
    """A non-negative measure (surface in m²): a JSON number, as Decimal with two places."""

    default_error_messages = {**MESSAGES_COMMUNS, "invalid": "Nombre attendu.", "negatif": "Valeur négative interdite.",
                              "trop_grand": "Nombre trop grand (moins de 100 000)."}

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise self.make_error("invalid")
        nombre = Decimal(str(value))
        if not nombre.is_finite():
            raise self.make_error("invalid")
        if nombre < 0:
            raise self.make_error("negatif")
        # The columns hold five digits before the point (Numeric(7, 2)); quantize overflows far beyond.
        if nombre >= Decimal("100000"):
            raise self.make_error("trop_grand")
        return nombre.quantize(Decimal("0.01"))

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else float(value)


class Date(fields.Date):
    default_error_messages = {
        **MESSAGES_COMMUNS,
        "invalid": "Date invalide (format AAAA-MM-JJ attendu).",
        "format": "Date invalide (format AAAA-MM-JJ attendu).",
    }

    def _deserialize(self, value, attr, data, **kwargs) -> dt.date:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Liste(fields.List):
    default_error_messages = {**MESSAGES_COMMUNS, "invalid": "Liste attendue."}


class Imbrique(fields.Nested):
    default_error_messages = {**MESSAGES_COMMUNS, "type": "Objet attendu."}


def choix(valeurs, libelle: str = "valeur") -> validate.OneOf:
    valeurs = list(valeurs)
    return validate.OneOf(valeurs, error=f"{libelle.capitalize()} inconnue : {{input}} (attendu : {', '.join(map(str, valeurs))}).")


class SchemaStrict(Schema):
    """Unknown fields are rejected; every message is French."""

    error_messages = {
        "unknown": "Champ inconnu.",
        "type": "Objet JSON attendu.",
    }


class ErreurValidation(ValueError):
    """Invalid input: `erreurs` maps each field path (personnes.0.date_naissance) to its messages."""

    def __init__(self, erreurs: dict[str, list[str]], message: str = "Données invalides.") -> None:
        self.erreurs = erreurs
        super().__init__(message + " " + " ; ".join(f"{k} : {' '.join(v)}" for k, v in erreurs.items()))


def aplatir_erreurs(erreurs: Any, prefixe: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested error dict into {"a.0.b": ["message"]}."""
    resultat: dict[str, list[str]] = {}
    if isinstance(erreurs, dict):
        for cle, valeur in erreurs.items():
            chemin = f"{prefixe}.{cle}" if prefixe else str(cle)
            if cle == "_schema":
                chemin = prefixe or "_schema"
            for k, v in aplatir_erreurs(valeur, chemin).items():
                resultat.setdefault(k, []).extend(v)
    elif isinstance(erreurs, list):
        if all(isinstance(e, str) for e in erreurs):
            resultat[prefixe or "_schema"] = list(erreurs)
        else:
            for e in erreurs:
                for k, v in aplatir_erreurs(e, prefixe).items():
                    resultat.setdefault(k, []).extend(v)
    else:
        resultat[prefixe or "_schema"] = [str(erreurs)]
    return resultat


def charger(schema: Schema, donnees: Any) -> dict[str, Any]:
    try:
        return schema.load(donnees)
    except ValidationError as exc:
        raise ErreurValidation(aplatir_erreurs(exc.messages)) from None
