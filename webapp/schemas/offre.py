"""What an officer records on an offer: the household's answer, the document received, the lease.

Values arrive as text (form fields, command options); empty fields are absent. Every message is
French and keyed by the field; webapp/services/offres.py prefixes it with the field's label.
"""
from __future__ import annotations

from marshmallow import ValidationError, validate, validates_schema

from .champs import Date, SchemaStrict, Texte, choix

LONGUEUR_MAX_COMMENTAIRE = 2000
ACCEPTEE, REFUSEE = "acceptee", "refusee"

LIBELLES = {
    "reponse": "Réponse",
    "motif": "Motif du refus",
    "commentaire": "Commentaire",
    "date_reponse": "Date de la réponse",
    "date_reception": "Date de réception de la pièce",
    "date_signature_bail": "Date de signature du bail",
    "_schema": "Formulaire",
}


class ReponseSchema(SchemaStrict):
    reponse = Texte(required=True, validate=choix((ACCEPTEE, REFUSEE), "réponse"))
    motif = Texte(load_default=None)
    commentaire = Texte(load_default=None, validate=validate.Length(max=LONGUEUR_MAX_COMMENTAIRE,
                                                                    error="{max} caractères au plus."))
    date_reponse = Date(load_default=None)

    def __init__(self, *, motifs: dict[str, str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.motifs = motifs  # code → libellé of the refusal motifs an officer may choose

    @validates_schema
    def _motif(self, data, **_kwargs) -> None:
        motif = data.get("motif")
        if data.get("reponse") == REFUSEE:
            if not motif:
                raise ValidationError("Obligatoire pour un refus : choisissez un motif de la liste.", "motif")
            if motif not in self.motifs:
                raise ValidationError(f"Motif inconnu : {motif} (attendu : {', '.join(self.motifs)}).", "motif")
        elif motif:
            raise ValidationError("Seulement pour un refus.", "motif")


class PieceSchema(SchemaStrict):
    date_reception = Date(load_default=None)


class BailSchema(SchemaStrict):
    date_signature_bail = Date(required=True)
