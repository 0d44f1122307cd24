"""The logement JSON used by `caleol evaluate --logement` and the API."""
from __future__ import annotations

import functools
from typing import Any

from marshmallow import ValidationError, validate, validates_schema

from ..models import Financement, Typologie
from .champs import Booleen, Entier, Montant, Nombre, SchemaStrict, Texte, charger, choix


class LogementSchema(SchemaStrict):
    commune_insee = Texte(required=True, validate=validate.Regexp(r"^[0-9][0-9AB][0-9]{3}$", error="Code INSEE invalide."))
    qpv = Texte(required=True, allow_none=True, validate=validate.Regexp(r"^Q[A-Z0-9]{6,10}$", error="Code QPV invalide."))
    financement = Texte(required=True, validate=choix([f.value for f in Financement], "financement"))
    plai_adapte = Booleen(load_default=False)
    typologie = Texte(required=True, validate=choix([t.value for t in Typologie], "typologie"))
    nb_pieces = Entier(required=True, validate=validate.Range(min=1, max=20, error="Entre 1 et 20."))
    surface_habitable = Nombre(required=True)
    etage = Entier(required=True, validate=validate.Range(min=-2, max=60, error="Entre -2 et 60."))
    ascenseur = Booleen(required=True)
    accessible_pmr = Booleen(required=True)
    loyer_principal = Montant(required=True)
    loyer_annexes = Montant(load_default=0)
    charges_recuperables = Montant(load_default=0)
    contribution_travaux = Montant(load_default=0)

    @validates_schema
    def _pli(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("financement") == Financement.PLI:
            raise ValidationError(
                "Les plafonds de ressources PLI ne sont pas encore chargés dans le référentiel : "
                "un logement PLI ne peut pas être évalué.",
                "financement",
            )


@functools.cache
def _schema_logement() -> LogementSchema:
    return LogementSchema()  # one per process, as for the dossier (webapp.schemas.dossier)


def charger_logement(donnees: Any) -> dict[str, Any]:
    return charger(_schema_logement(), donnees)
