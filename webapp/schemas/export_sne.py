"""The request of an SNE export (command line and web form): which day, forced or not."""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, validates_schema

from .champs import Booleen, Date, SchemaStrict, Texte, charger, choix

ETENDUES = ("jour", "tout")


class DemandeExportSchema(SchemaStrict):
    # « jour »: the decisions and radiations of one day; « tout »: everything not exported yet.
    etendue = Texte(required=True, validate=choix(ETENDUES, "étendue"))
    jour = Date(load_default=None, allow_none=True)
    forcer = Booleen(load_default=False)

    @validates_schema
    def _jour_selon_etendue(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("etendue") == "jour" and data.get("jour") is None:
            raise ValidationError("Indiquez le jour à exporter (AAAA-MM-JJ).", "jour")
        if data.get("etendue") == "tout" and data.get("jour") is not None:
            raise ValidationError("Un export de tout ce qui n'a pas été exporté ne prend pas de jour.", "jour")


def charger_demande_export(donnees: Any) -> dict[str, Any]:
    """Validated request, or ErreurValidation naming the field (jour, etendue, forcer)."""
    return charger(DemandeExportSchema(), donnees)
