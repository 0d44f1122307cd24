"""The API's own marshmallow schemas: query strings, the bodies that are not a dossier, the responses.

Dossier and logement bodies use the application's schemas (webapp.schemas): the API validates
exactly what `caleol evaluate` and `caleol import-sne` validate. Every message is French.
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from ..models import Financement, ModeSeance, StatutDemande, StatutLogement, Typologie
from ..pagination import PAR_PAGE
from ..preparation.formulaire_seance import qualites
from ..schemas.champs import Booleen, Date, Entier, Imbrique, Liste, SchemaStrict, Texte, choix

PAR_PAGE_MAX = 200
ID_MAX = 2**63 - 1  # identifiers are 64-bit integers (BIGINT on PostgreSQL, INTEGER on SQLite)


def _identifiant(**kwargs) -> Entier:
    return Entier(validate=validate.Range(min=1, max=ID_MAX, error="Identifiant invalide."), **kwargs)
MESSAGES_REQUETE = {
    "required": "Paramètre obligatoire.",
    "null": "Ce paramètre ne peut pas être vide.",
    "invalid": "Valeur invalide.",
    "validator_failed": "Valeur invalide.",
}


def _entier_requete(**kwargs) -> fields.Integer:
    return fields.Integer(strict=False, error_messages={**MESSAGES_REQUETE, "invalid": "Nombre entier attendu.",
                                                        "too_large": "Nombre trop grand."}, **kwargs)


def _date_requete(**kwargs) -> fields.Date:
    return fields.Date(error_messages={**MESSAGES_REQUETE, "invalid": "Date invalide (format AAAA-MM-JJ attendu).",
                                       "format": "Date invalide (format AAAA-MM-JJ attendu)."}, **kwargs)


def _texte_requete(**kwargs) -> fields.String:
    return fields.String(error_messages={**MESSAGES_REQUETE, "invalid": "Texte attendu."}, **kwargs)


def _booleen_requete(**kwargs) -> fields.Boolean:
    return fields.Boolean(error_messages={**MESSAGES_REQUETE, "invalid": "Booléen attendu (true ou false)."}, **kwargs)


class RequeteSchema(Schema):
    class Meta:
        unknown = EXCLUDE


# --------------------------------------------------------------------------- pagination


class PaginationRequeteSchema(RequeteSchema):
    page = _entier_requete(load_default=1, validate=validate.Range(min=1, max=1_000_000, error="Page : entre 1 et 1 000 000."),
                           metadata={"description": "Numéro de la page (1 pour la première)."})
    par_page = _entier_requete(
        load_default=PAR_PAGE, validate=validate.Range(min=1, max=PAR_PAGE_MAX, error=f"Entre 1 et {PAR_PAGE_MAX} éléments par page."),
        metadata={"description": f"Éléments par page (défaut {PAR_PAGE}, au plus {PAR_PAGE_MAX})."})


class PaginationSchema(Schema):
    page = fields.Integer(metadata={"description": "Numéro de cette page."})
    par_page = fields.Integer(metadata={"description": "Éléments par page."})
    total = fields.Integer(metadata={"description": "Nombre total d'éléments répondant aux filtres."})
    nb_pages = fields.Integer(metadata={"description": "Nombre de pages (au moins 1)."})


def page_de(schema_element: type[Schema], nom: str) -> type[Schema]:
    """The body of a list: `{elements: [...], pagination: {...}}`."""
    return type(nom, (Schema,), {
        "elements": fields.List(fields.Nested(schema_element)),
        "pagination": fields.Nested(PaginationSchema),
        "__doc__": "Une page de la liste : les éléments et la pagination (page, par_page, total, nb_pages).",
    })


# --------------------------------------------------------------------------- evaluations


class EvaluationRequeteSchema(RequeteSchema):
    date = _date_requete(load_default=None, metadata={"description": "Date de référence (défaut : aujourd'hui)."})
    trace = _booleen_requete(load_default=True, metadata={"description": "Inclure la trace des règles (défaut : oui)."})


class EvaluationCorpsSchema(SchemaStrict):
    """Un dossier avec un logement proposé et une date : la forme longue du corps JSON."""

    dossier = fields.Dict(required=True, error_messages={"required": "Champ obligatoire.", "invalid": "Objet JSON attendu."},
                          metadata={"description": "Le dossier (format Dossier)."})
    logement = fields.Dict(load_default=None, allow_none=True,
                           error_messages={"invalid": "Objet JSON attendu.", "null": "Objet JSON attendu."},
                           metadata={"description": "Le logement proposé (format Logement) : ajoute l'adéquation."})
    date = Date(load_default=None, allow_none=True, metadata={"description": "Date de référence AAAA-MM-JJ."})


# --------------------------------------------------------------------------- demandes


class DemandesRequeteSchema(PaginationRequeteSchema):
    statut = _texte_requete(load_default=None, validate=choix([s.value for s in StatutDemande], "statut"),
                            metadata={"description": "Statut de la demande."})
    numero_unique = _texte_requete(load_default=None, validate=validate.Length(max=30, error="30 caractères au plus."),
                                   metadata={"description": "Numéro unique exact."})
    depose_depuis = _date_requete(load_default=None, metadata={"description": "Déposées ce jour ou après."})
    depose_jusqu_au = _date_requete(load_default=None, metadata={"description": "Déposées ce jour ou avant."})


class ResumeDemandeSchema(Schema):
    numero_unique = fields.String()
    statut = fields.String()
    date_depot = fields.Date()
    date_renouvellement = fields.Date(allow_none=True)
    date_mise_a_jour = fields.Date(allow_none=True)
    nb_personnes = fields.Integer()
    typologies_souhaitees = fields.List(fields.String())
    communes_souhaitees = fields.List(fields.String())


class DemandeSchema(Schema):
    numero_unique = fields.String()
    dossier = fields.Dict(metadata={"description": "Le dossier (format Dossier), masqué selon le rôle."})
    pseudonymise = fields.Boolean(metadata={"description": "Noms, adresse et contact masqués (vue pseudonymisée)."})
    masques = fields.List(fields.String(), metadata={"description": "Éléments sensibles retirés pour votre rôle."})


class ImportSneSchema(Schema):
    numero_unique = fields.String()
    resultat = fields.String(metadata={"description": "creee ou mise_a_jour."})
    type_fichier = fields.String(allow_none=True)
    statut = fields.String(allow_none=True)
    rapport = fields.List(fields.Dict(), metadata={"description": "Éléments du fichier non repris ou adaptés."})
    demande = fields.Nested(DemandeSchema)


# --------------------------------------------------------------------------- logements


class LogementsRequeteSchema(PaginationRequeteSchema):
    statut = _texte_requete(load_default=None, validate=choix([s.value for s in StatutLogement], "statut"))
    typologie = _texte_requete(load_default=None, validate=choix([t.value for t in Typologie], "typologie"))
    financement = _texte_requete(load_default=None, validate=choix([f.value for f in Financement], "financement"))
    commune = _texte_requete(load_default=None, validate=validate.Regexp(r"^[0-9][0-9AB][0-9]{3}$", error="Code INSEE invalide."),
                             metadata={"description": "Code INSEE de la commune de la résidence."})


class LogementPatrimoineSchema(Schema):
    id = fields.Integer()
    reference = fields.String()
    residence = fields.Dict(metadata={"description": "id, nom, adresse, commune_insee, qpv."})
    typologie = fields.String()
    nb_pieces = fields.Integer()
    surface_habitable = fields.Float()
    etage = fields.Integer()
    ascenseur = fields.Boolean()
    accessible_pmr = fields.Boolean()
    financement = fields.String()
    plai_adapte = fields.Boolean()
    loyer_principal = fields.Float()
    loyer_annexes = fields.Float()
    charges_recuperables = fields.Float()
    contribution_travaux = fields.Float()
    statut = fields.String()


class PropositionsRequeteSchema(RequeteSchema):
    date = _date_requete(load_default=None, metadata={"description": "Date de la commission (défaut : aujourd'hui)."})


class PropositionsSchema(Schema):
    """Les candidats proposés pour le logement, classés (webapp.services.propositions)."""

    class Meta:
        unknown = EXCLUDE

    logement = fields.Dict()
    date = fields.String()
    version_regles = fields.String()
    candidats = fields.List(fields.Dict())
    exclus = fields.List(fields.Dict())
    avertissements = fields.List(fields.String())


# --------------------------------------------------------------------------- séances


class SeancesRequeteSchema(PaginationRequeteSchema):
    statut = _texte_requete(load_default=None, validate=choix(["planifiee", "ouverte", "close"], "statut"))


class MembreSchema(SchemaStrict):
    nom = Texte(required=True, validate=validate.Length(min=1, max=200, error="De 1 à 200 caractères."))
    qualite = Texte(required=True, validate=choix(qualites(), "qualité"))
    voix_deliberative = Booleen(load_default=True)
    present = Booleen(load_default=True)
    utilisateur_id = _identifiant(load_default=None, allow_none=True,
                            metadata={"description": "Compte Caléol du membre (pour qu'il vote lui-même)."})


class SeanceCreationSchema(SchemaStrict):
    commission_id = _identifiant(required=True)
    date_seance = Date(required=True)
    mode = Texte(load_default=ModeSeance.PHYSIQUE.value, validate=choix([m.value for m in ModeSeance], "mode"))
    quorum = Entier(load_default=3, validate=validate.Range(min=1, max=100, error="Entre 1 et 100."))
    membres = Liste(Imbrique(MembreSchema), required=True)


class SeanceSchema(Schema):
    id = fields.Integer()
    commission = fields.Dict(metadata={"description": "id, nom, territoire."})
    date_seance = fields.Date()
    mode = fields.String()
    statut = fields.String()
    quorum = fields.Integer()
    version_regles = fields.String(allow_none=True)
    version = fields.Integer(metadata={"description": "Version de la séance (verrou optimiste) : à renvoyer dans "
                                                      "`version_seance` en enregistrant une décision."})
    membres = fields.List(fields.Dict())
    logements = fields.List(fields.Integer(), metadata={"description": "Logements inscrits à l'ordre du jour."})
    nb_candidatures = fields.Integer()


class DecisionCorpsSchema(SchemaStrict):
    candidature_id = _identifiant(required=True)
    type = Texte(required=True, metadata={"description": "Type de décision (R441-3) : attribution, attribution_rang, "
                                                         "attribution_sous_condition, non_attribution, rejet_irrecevabilite."})
    rang = Entier(load_default=None, allow_none=True)
    motifs = Liste(Texte(), load_default=list)
    piece_manquante = Texte(load_default=None, allow_none=True)
    date_limite_condition = Date(load_default=None, allow_none=True)
    justification = Texte(load_default=None, allow_none=True)
    votes = fields.Dict(keys=Texte(validate=validate.Regexp(r"^[0-9]{1,12}$", error="Identifiant de membre attendu.")),
                        values=Texte(validate=choix(["pour", "contre", "abstention", "conflit"], "vote")),
                        load_default=dict, error_messages={"invalid": "Objet JSON attendu."},
                        metadata={"description": "Vote de chaque membre présent à voix délibérative (id du membre → "
                                                 "pour, contre, abstention ou conflit), séance physique."})
    unanimite = Texte(load_default=None, allow_none=True, validate=choix(["pour", "contre", "abstention"], "vote"),
                      metadata={"description": "Vote de chaque membre votant sans vote indiqué dans `votes`."})
    version_seance = Entier(load_default=None, allow_none=True,
                            validate=validate.Range(min=1, error="Version de la séance : nombre entier positif attendu."),
                            metadata={"description": "Version de la séance lue par le client (`version` de la séance) : "
                                                     "si la séance a changé depuis, 409 et rien n'est écrit."})


class DecisionSchema(Schema):
    id = fields.Integer()
    candidature_id = fields.Integer()
    seance_id = fields.Integer()
    logement_id = fields.Integer()
    numero_unique = fields.String()
    type = fields.String()
    rang = fields.Integer(allow_none=True)
    motifs = fields.List(fields.String())
    piece_manquante = fields.String(allow_none=True)
    date_limite_condition = fields.Date(allow_none=True)
    version_regles = fields.String()
    version_seance = fields.Integer(metadata={"description": "Version de la séance après l'enregistrement."})
    vote = fields.Dict(metadata={"description": "Dépouillement : pour, contre, abstentions, conflits, issue."})


# --------------------------------------------------------------------------- quotas, bilan, règles


class QuotasRequeteSchema(RequeteSchema):
    epci = _texte_requete(load_default=None, validate=validate.Regexp(r"^[0-9]{9}$", error="SIREN invalide (9 chiffres attendus)."),
                          metadata={"description": "SIREN de l'EPCI (défaut : celui de votre organisation)."})
    annee = _entier_requete(load_default=None, validate=validate.Range(min=2000, max=2100, error="Année entre 2000 et 2100."),
                            metadata={"description": "Année (défaut : l'année en cours)."})


class BilanRequeteSchema(RequeteSchema):
    annee = _entier_requete(load_default=None, validate=validate.Range(min=2000, max=2100, error="Année entre 2000 et 2100."),
                            metadata={"description": "Année du bilan (défaut : l'année en cours)."})


class ReglesRequeteSchema(RequeteSchema):
    date = _date_requete(load_default=None, metadata={"description": "Date (défaut : aujourd'hui)."})


class ObjetSchema(Schema):
    """Un objet JSON (structure décrite dans la documentation de l'opération)."""

    class Meta:
        unknown = EXCLUDE
