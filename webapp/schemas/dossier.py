"""The dossier JSON format (one demande with its household). Documented in fixtures/dossiers/README.md."""
from __future__ import annotations

import functools
from typing import Any

from marshmallow import ValidationError, validate, validates_schema

from ..models import LienCotitulaire, RolePersonne, SensRessource, StatutDemande, Typologie
from ..referentiels import codes_sne, situations_prioritaires
from .champs import (
    Booleen,
    Date,
    Entier,
    Imbrique,
    Liste,
    Montant,
    Nombre,
    SchemaStrict,
    Texte,
    charger,
    choix,
)

TYPOLOGIES = [t.value for t in Typologie]


class RevenuFiscalSchema(SchemaStrict):
    annee = Entier(required=True, validate=validate.Range(min=1990, max=2100, error="Année invalide."))
    # null: the person appears on another person's notice, with no amount of their own.
    montant = Montant(required=True, allow_none=True)
    avis = Texte(load_default=None, allow_none=True, validate=validate.Length(max=40))


class RessourceSchema(SchemaStrict):
    sens = Texte(required=True, validate=choix([s.value for s in SensRessource], "sens"))
    code = Texte(required=True)
    montant_mensuel = Montant(required=True)

    @validates_schema
    def _code_connu(self, data: dict[str, Any], **_kwargs: Any) -> None:
        liste = "ListeRessourceRecue" if data.get("sens") == "recue" else "ListeRessourceVersee"
        if "code" in data and data["code"] not in codes_sne(liste):
            raise ValidationError(
                f"Code de ressource inconnu : {data['code']} (liste SNE {liste}).", field_name="code"
            )


class ResidenceReguliereSchema(SchemaStrict):
    # null: not answered; the dossier is then incomplete, never irrecevable on that ground.
    declaree = Booleen(load_default=None, allow_none=True)
    verifiee = Booleen(load_default=None, allow_none=True)


class HandicapSchema(SchemaStrict):
    cmi_invalidite = Booleen(load_default=False)
    # Sensitive: shown only to the roles that need it.
    details = Texte(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class ProceduresSchema(SchemaStrict):
    divorce = Booleen(load_default=False)
    dissolution_pacs = Booleen(load_default=False)
    ordonnance_protection = Booleen(load_default=False)


class PersonneSchema(SchemaStrict):
    role = Texte(required=True, validate=choix([r.value for r in RolePersonne], "rôle"))
    lien_cotitulaire = Texte(
        load_default=None, allow_none=True, validate=choix([lien.value for lien in LienCotitulaire], "lien")
    )
    nom = Texte(load_default=None, allow_none=True, validate=validate.Length(max=120))
    prenom = Texte(load_default=None, allow_none=True, validate=validate.Length(max=120))
    nom_naissance = Texte(load_default=None, allow_none=True, validate=validate.Length(max=120))
    sexe = Texte(load_default=None, allow_none=True, validate=choix(["M", "F"], "sexe"))
    date_naissance = Date(load_default=None, allow_none=True)
    date_naissance_prevue = Date(load_default=None, allow_none=True)
    lien_parente = Texte(load_default=None, allow_none=True, validate=choix(codes_sne("ListeLienParente"), "lien de parenté"))
    situation_familiale = Texte(
        load_default=None, allow_none=True, validate=choix(codes_sne("ListeSituationFamiliale"), "situation familiale")
    )
    nationalite = Texte(load_default=None, allow_none=True, validate=choix(codes_sne("ListeNationalite"), "nationalité"))
    residence_reguliere = Imbrique(ResidenceReguliereSchema, load_default=lambda: {"declaree": None, "verifiee": None})
    mineur_emancipe = Booleen(load_default=False)
    handicap = Imbrique(HandicapSchema, load_default=lambda: {"cmi_invalidite": False, "details": None})
    situation_professionnelle = Texte(
        load_default=None, allow_none=True, validate=choix(codes_sne("ListeTypeContratTravail"), "situation professionnelle")
    )
    profession = Texte(load_default=None, allow_none=True, validate=validate.Length(max=120))
    revenus_fiscaux = Liste(Imbrique(RevenuFiscalSchema), load_default=list)
    ressources_12_mois = Montant(load_default=None, allow_none=True)
    ressources = Liste(Imbrique(RessourceSchema), load_default=list)
    procedures = Imbrique(
        ProceduresSchema, load_default=lambda: {"divorce": False, "dissolution_pacs": False, "ordonnance_protection": False}
    )

    @validates_schema
    def _coherence(self, data: dict[str, Any], **_kwargs: Any) -> None:
        role = data.get("role")
        if role == RolePersonne.ENFANT_A_NAITRE:
            if not data.get("date_naissance_prevue"):
                raise ValidationError("Date de naissance prévue obligatoire pour un enfant à naître.", "date_naissance_prevue")
        elif role and not data.get("date_naissance"):
            raise ValidationError("Date de naissance obligatoire.", "date_naissance")
        if role == RolePersonne.COTITULAIRE and not data.get("lien_cotitulaire"):
            raise ValidationError(
                "Lien avec le demandeur obligatoire pour un cotitulaire (conjoint, pacse, concubin ou colocataire).",
                "lien_cotitulaire",
            )
        if role != RolePersonne.COTITULAIRE and data.get("lien_cotitulaire"):
            raise ValidationError("Seul un cotitulaire a un lien de cotitularité.", "lien_cotitulaire")
        annees = [r["annee"] for r in data.get("revenus_fiscaux", [])]
        if len(annees) != len(set(annees)):
            raise ValidationError("Une même année de revenu fiscal figure deux fois.", "revenus_fiscaux")


class LogementActuelSchema(SchemaStrict):
    modele = Texte(load_default=None, allow_none=True, validate=choix(codes_sne("ListeModeleLogement"), "situation de logement"))
    typologie = Texte(load_default=None, allow_none=True, validate=choix(TYPOLOGIES, "typologie"))
    loyer_mensuel = Montant(load_default=None, allow_none=True)
    surface = Nombre(load_default=None, allow_none=True)
    nb_pieces = Entier(load_default=None, allow_none=True, validate=validate.Range(min=0, max=30, error="Entre 0 et 30."))
    nb_occupants = Entier(load_default=None, allow_none=True, validate=validate.Range(min=0, max=50, error="Entre 0 et 50."))
    commune_insee = Texte(load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9][0-9AB][0-9]{3}$", error="Code INSEE invalide."))
    proprietaire = Booleen(load_default=None, allow_none=True)


class ContactSchema(SchemaStrict):
    adresse = Texte(load_default=None, allow_none=True, validate=validate.Length(max=300))
    code_postal = Texte(load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9]{5}$", error="Code postal invalide."))
    commune_insee = Texte(load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9][0-9AB][0-9]{3}$", error="Code INSEE invalide."))
    telephone = Texte(load_default=None, allow_none=True, validate=validate.Length(max=30))
    courriel = Texte(load_default=None, allow_none=True, validate=validate.Length(max=200))


class DaloSchema(SchemaStrict):
    date_decision = Date(load_default=None, allow_none=True)
    statut = Texte(load_default=None, allow_none=True, validate=choix(codes_sne("ListeStatutDalo"), "statut DALO"))
    date_designation = Date(load_default=None, allow_none=True)


class LabelsSchema(SchemaStrict):
    pdalhpd = Booleen(load_default=False)
    siao = Booleen(load_default=False)


class AccompagnementSchema(SchemaStrict):
    avdl = Booleen(load_default=False)
    fsl = Booleen(load_default=False)


class SituationSchema(SchemaStrict):
    code = Texte(required=True)
    verifiee = Booleen(load_default=False)
    date_verification = Date(load_default=None, allow_none=True)
    verifiee_par = Texte(load_default=None, allow_none=True, validate=validate.Length(max=120))

    @validates_schema
    def _code_connu(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "code" in data and data["code"] not in situations_prioritaires():
            raise ValidationError(f"Situation de priorité inconnue : {data['code']}.", "code")


class RefusSchema(SchemaStrict):
    date = Date(required=True)
    logement_reference = Texte(load_default=None, allow_none=True, validate=validate.Length(max=80))
    motif = Texte(required=True, validate=validate.Length(min=1, max=40))
    motif_legitime = Booleen(load_default=False)


class DossierSchema(SchemaStrict):
    numero_unique = Texte(
        required=True,
        validate=validate.Regexp(r"^[0-9A-Z]{10,30}$", error="Numéro unique invalide (10 à 30 chiffres ou majuscules)."),
    )
    date_depot = Date(required=True)
    date_renouvellement = Date(load_default=None, allow_none=True)
    date_mise_a_jour = Date(load_default=None, allow_none=True)
    statut = Texte(load_default=StatutDemande.ACTIVE.value, validate=choix([s.value for s in StatutDemande], "statut"))
    motif_radiation = Texte(load_default=None, allow_none=True, validate=choix(codes_sne("ListeMotifsRadiation"), "motif de radiation"))
    date_radiation = Date(load_default=None, allow_none=True)
    contact = Imbrique(ContactSchema, load_default=dict)
    typologies_souhaitees = Liste(Texte(validate=choix(TYPOLOGIES, "typologie")), load_default=list)
    communes_souhaitees = Liste(
        Texte(validate=validate.Regexp(r"^[0-9][0-9AB][0-9]{3}$", error="Code INSEE invalide.")), load_default=list
    )
    motifs = Liste(Texte(validate=choix(codes_sne("ListeMotifDemande"), "motif")), load_default=list)
    mutation_interne = Booleen(load_default=False)
    relogement_anru = Booleen(load_default=False)
    besoin_pmr = Booleen(load_default=False)
    logement_actuel = Imbrique(LogementActuelSchema, load_default=dict)
    dalo = Imbrique(DaloSchema, load_default=lambda: {"date_decision": None, "statut": None, "date_designation": None})
    labels = Imbrique(LabelsSchema, load_default=lambda: {"pdalhpd": False, "siao": False})
    accompagnement = Imbrique(AccompagnementSchema, load_default=lambda: {"avdl": False, "fsl": False})
    aide_logement_declaree = Montant(load_default=None, allow_none=True)
    situations = Liste(Imbrique(SituationSchema), load_default=list)
    refus = Liste(Imbrique(RefusSchema), load_default=list)
    personnes = Liste(Imbrique(PersonneSchema), required=True)

    @validates_schema
    def _menage(self, data: dict[str, Any], **_kwargs: Any) -> None:
        personnes = data.get("personnes") or []
        demandeurs = [p for p in personnes if p.get("role") == RolePersonne.DEMANDEUR]
        if len(demandeurs) != 1:
            raise ValidationError("Le ménage doit compter exactement un demandeur.", "personnes")
        if data.get("statut") == StatutDemande.RADIEE and not data.get("motif_radiation"):
            raise ValidationError("Motif de radiation obligatoire pour une demande radiée.", "motif_radiation")
        codes = [s["code"] for s in data.get("situations", [])]
        if len(codes) != len(set(codes)):
            raise ValidationError("Une même situation de priorité figure deux fois.", "situations")


@functools.cache
def _schema_dossier() -> DossierSchema:
    # One instance per process: a Schema keeps no state between loads, and building one (with its
    # nested schemas) cost twice the validation itself on every API request (bench/w3_charge.py).
    return DossierSchema()


def charger_dossier(donnees: Any) -> dict[str, Any]:
    """Validate a dossier JSON object; raise ErreurValidation with field paths on error."""
    return charger(_schema_dossier(), donnees)
