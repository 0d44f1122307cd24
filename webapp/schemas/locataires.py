"""The tenants' file (`caleol locataires importer`): JSON or CSV, documented in fixtures/locataires/README.md.

Both formats are validated by the same strict marshmallow schema (unknown field refused, French
message per field). A CSV file (one line per occupant) is first read into the JSON structure; its
errors are then reported by line and column (`ligne 4, colonne date_naissance`).
"""
from __future__ import annotations

import csv
import io
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import ValidationError, validate, validates_schema

from ..horloge import aujourd_hui
from ..models import LienCotitulaire, RoleOccupant
from .champs import (
    Booleen,
    Date,
    Entier,
    ErreurValidation,
    Imbrique,
    Liste,
    Montant,
    SchemaStrict,
    Texte,
    aplatir_erreurs,
    choix,
)

REFERENCE = validate.Regexp(r"^[0-9A-Za-z][0-9A-Za-z._/-]{0,59}$",
                            error="Référence invalide (1 à 60 lettres, chiffres, points, tirets, barres obliques).")


class RevenuLocataireSchema(SchemaStrict):
    annee = Entier(required=True, validate=validate.Range(min=1990, max=2100, error="Année invalide."))
    # null: the person appears on another occupant's notice, with no amount of their own.
    montant = Montant(required=True, allow_none=True)


class OccupantSchema(SchemaStrict):
    role = Texte(required=True, validate=choix([r.value for r in RoleOccupant], "rôle"))
    lien_cotitulaire = Texte(load_default=None, allow_none=True,
                             validate=choix([lien.value for lien in LienCotitulaire], "lien"))
    nom = Texte(load_default=None, allow_none=True, validate=validate.Length(max=120))
    prenom = Texte(load_default=None, allow_none=True, validate=validate.Length(max=120))
    date_naissance = Date(required=True)
    handicap_reconnu = Booleen(load_default=False)
    # Sensitive: shown only to the roles that may see sensitive facts.
    handicap_details = Texte(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    revenus_fiscaux = Liste(Imbrique(RevenuLocataireSchema), load_default=list)

    @validates_schema
    def _coherence(self, data: dict[str, Any], **_kwargs: Any) -> None:
        role = data.get("role")
        if role == RoleOccupant.COTITULAIRE and not data.get("lien_cotitulaire"):
            raise ValidationError(
                "Lien avec le titulaire obligatoire pour un cotitulaire (conjoint, pacse, concubin ou colocataire).",
                "lien_cotitulaire")
        if role and role != RoleOccupant.COTITULAIRE and data.get("lien_cotitulaire"):
            raise ValidationError("Seul un cotitulaire a un lien de cotitularité.", "lien_cotitulaire")
        if data.get("date_naissance") and data["date_naissance"] > aujourd_hui():
            raise ValidationError("Date de naissance dans le futur.", "date_naissance")
        annees = [r["annee"] for r in data.get("revenus_fiscaux", [])]
        if len(annees) != len(set(annees)):
            raise ValidationError("Une même année de revenu fiscal figure deux fois.", "revenus_fiscaux")


class BailSchema(SchemaStrict):
    reference = Texte(required=True, validate=REFERENCE)
    logement = Texte(required=True, validate=validate.Length(min=1, max=50, error="Référence de logement invalide."))
    date_signature = Date(required=True)
    # null: the logement's own accessibility (accessible_pmr) says whether it is adapted.
    logement_adapte = Booleen(load_default=None, allow_none=True)
    besoin_logement_adapte = Booleen(load_default=False)
    occupants = Liste(Imbrique(OccupantSchema), required=True)

    @validates_schema
    def _menage(self, data: dict[str, Any], **_kwargs: Any) -> None:
        occupants = data.get("occupants")
        if occupants is not None and sum(1 for o in occupants if o.get("role") == RoleOccupant.TITULAIRE) != 1:
            raise ValidationError("Le ménage doit compter exactement un titulaire du bail.", "occupants")
        if data.get("date_signature") and data["date_signature"] > aujourd_hui():
            raise ValidationError("Date de signature du bail dans le futur.", "date_signature")


class FichierLocatairesSchema(SchemaStrict):
    baux = Liste(Imbrique(BailSchema), required=True)

    @validates_schema
    def _references(self, data: dict[str, Any], **_kwargs: Any) -> None:
        vues: set[str] = set()
        for i, b in enumerate(data.get("baux") or ()):
            if b["reference"] in vues:
                raise ValidationError({"baux": {i: {"reference": [f"Référence de bail en double : {b['reference']}."]}}})
            vues.add(b["reference"])


def charger_locataires(donnees: Any) -> dict[str, Any]:
    """Validate the JSON structure; ErreurValidation with field paths (baux.0.occupants.1.date_naissance)."""
    try:
        return FichierLocatairesSchema().load(donnees)
    except ValidationError as exc:
        raise ErreurValidation(aplatir_erreurs(exc.messages), "Fichier de locataires invalide.") from None


# --------------------------------------------------------------------------- CSV

COLONNES_BAIL = ("reference_bail", "logement", "date_signature", "logement_adapte", "besoin_logement_adapte")
COLONNES_OCCUPANT = ("role", "lien_cotitulaire", "nom", "prenom", "date_naissance", "handicap_reconnu",
                     "handicap_details", "revenu_fiscal_annee", "revenu_fiscal_montant")
COLONNES = COLONNES_BAIL + COLONNES_OCCUPANT
OBLIGATOIRES = ("reference_bail", "logement", "date_signature", "role", "date_naissance")
# JSON path (after baux.i. / occupants.j.) → CSV column
COLONNE_DU_CHAMP = {"reference": "reference_bail", "revenus_fiscaux": "revenu_fiscal_annee"}
VRAI, FAUX = ("oui", "vrai", "true", "1"), ("non", "faux", "false", "0")


def _booleen(texte: str, erreurs: list[str]) -> bool | None:
    t = texte.strip().lower()
    if not t:
        return None
    if t in VRAI:
        return True
    if t in FAUX:
        return False
    erreurs.append("Booléen attendu (oui ou non).")
    return None


def _entier(texte: str, erreurs: list[str]) -> int | None:
    t = texte.strip()
    if not t:
        return None
    if not re.fullmatch(r"-?[0-9]+", t):
        erreurs.append("Nombre entier attendu.")
        return None
    return int(t)


def _montant(texte: str, erreurs: list[str]) -> float | None:
    t = texte.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if not t:
        return None
    try:
        valeur = Decimal(t)
    except InvalidOperation:
        erreurs.append("Montant attendu (par exemple 18250,50).")
        return None
    if not valeur.is_finite():
        erreurs.append("Montant attendu (par exemple 18250,50).")
        return None
    return float(valeur) if valeur != valeur.to_integral_value() else int(valeur)


def lire_csv(texte: str) -> dict[str, Any]:
    """Read the CSV (`;` or `,` separated, header line) into the JSON structure, then validate it.

    Every error names its line (header = line 1) and column; nothing is returned on error.
    """
    erreurs: dict[str, list[str]] = {}
    if texte.startswith("\ufeff"):
        texte = texte[1:]
    premiere = texte.split("\n", 1)[0]
    separateur = ";" if premiere.count(";") >= premiere.count(",") else ","
    lecteur = csv.reader(io.StringIO(texte, newline=""), delimiter=separateur)
    try:
        entete = [c.strip() for c in next(lecteur)]
    except StopIteration:
        raise ErreurValidation({"ligne 1": ["Fichier vide : ligne d'en-tête attendue."]}, "Fichier de locataires invalide.") from None
    inconnues = [c for c in entete if c not in COLONNES]
    manquantes = [c for c in OBLIGATOIRES if c not in entete]
    if inconnues:
        erreurs["ligne 1"] = [f"Colonne inconnue : {c}." for c in inconnues]
    if manquantes:
        erreurs.setdefault("ligne 1", []).extend(f"Colonne obligatoire absente : {c}." for c in manquantes)
    if len(set(entete)) != len(entete):
        erreurs.setdefault("ligne 1", []).append("Une colonne figure deux fois.")
    if erreurs:
        raise ErreurValidation(erreurs, "Fichier de locataires invalide.")

    baux: dict[str, dict[str, Any]] = {}
    lignes_bail: dict[str, int] = {}
    lignes_occupant: list[list[int]] = []
    valeurs_bail: dict[str, dict[str, str]] = {}
    for numero, cellules in enumerate(lecteur, start=2):
        if not any(c.strip() for c in cellules):
            continue
        if len(cellules) != len(entete):
            erreurs[f"ligne {numero}"] = [f"{len(cellules)} colonnes au lieu de {len(entete)}."]
            continue
        ligne = dict(zip(entete, cellules, strict=True))
        ref = ligne["reference_bail"].strip()

        def cellule(colonne: str, conversion=None, ligne=ligne, numero=numero):
            texte = ligne.get(colonne, "")
            if conversion is None:
                return texte.strip() or None
            messages: list[str] = []
            valeur = conversion(texte, messages)
            if messages:
                erreurs.setdefault(f"ligne {numero}, colonne {colonne}", []).extend(messages)
            return valeur

        bail_brut = {c: ligne.get(c, "").strip() for c in COLONNES_BAIL}
        if ref not in baux:
            bail: dict[str, Any] = {"reference": ref, "logement": cellule("logement"),
                                    "date_signature": cellule("date_signature"), "occupants": []}
            adapte = cellule("logement_adapte", _booleen)
            if adapte is not None:
                bail["logement_adapte"] = adapte
            besoin = cellule("besoin_logement_adapte", _booleen)
            if besoin is not None:
                bail["besoin_logement_adapte"] = besoin
            baux[ref] = bail
            lignes_bail[ref] = numero
            valeurs_bail[ref] = bail_brut
            lignes_occupant.append([])
        elif bail_brut != valeurs_bail[ref]:
            differentes = [c for c in COLONNES_BAIL if bail_brut[c] != valeurs_bail[ref][c]]
            erreurs[f"ligne {numero}, colonne {differentes[0]}"] = [
                f"Valeur différente de celle de la ligne {lignes_bail[ref]} pour le même bail."]
        occupant: dict[str, Any] = {}
        for colonne in ("role", "lien_cotitulaire", "nom", "prenom", "date_naissance", "handicap_details"):
            v = cellule(colonne)
            if v is not None:
                occupant[colonne] = v
        handicap = cellule("handicap_reconnu", _booleen)
        if handicap is not None:
            occupant["handicap_reconnu"] = handicap
        annee = cellule("revenu_fiscal_annee", _entier)
        montant = cellule("revenu_fiscal_montant", _montant)
        if annee is not None:
            occupant["revenus_fiscaux"] = [{"annee": annee, "montant": montant}]
        elif montant is not None:
            erreurs.setdefault(f"ligne {numero}, colonne revenu_fiscal_annee", []).append(
                "Année obligatoire avec un montant de revenu fiscal.")
        baux[ref]["occupants"].append(occupant)
        lignes_occupant[list(baux).index(ref)].append(numero)
    if erreurs:
        raise ErreurValidation(erreurs, "Fichier de locataires invalide.")
    references = list(baux)
    try:
        return charger_locataires({"baux": list(baux.values())})
    except ErreurValidation as exc:
        raise ErreurValidation(_erreurs_csv(exc.erreurs, references, lignes_bail, lignes_occupant),
                               "Fichier de locataires invalide.") from None


def _erreurs_csv(erreurs: dict[str, list[str]], references: list[str], lignes_bail: dict[str, int],
                 lignes_occupant: list[list[int]]) -> dict[str, list[str]]:
    """Schema errors (baux.0.occupants.1.date_naissance) → line and column of the CSV."""
    sortie: dict[str, list[str]] = {}
    for chemin, messages in erreurs.items():
        parties = chemin.split(".")
        cle = chemin
        if len(parties) >= 2 and parties[0] == "baux" and parties[1].isdigit():
            i = int(parties[1])
            ligne = lignes_bail[references[i]]
            reste = parties[2:]
            if len(reste) >= 2 and reste[0] == "occupants" and reste[1].isdigit():
                ligne = lignes_occupant[i][int(reste[1])]
                reste = reste[2:]
            champ = reste[0] if reste else None
            if champ == "revenus_fiscaux" and len(reste) >= 3:
                colonne = "revenu_fiscal_" + reste[2]
            else:
                colonne = COLONNE_DU_CHAMP.get(champ, champ) if champ else None
            cle = f"ligne {ligne}" + (f", colonne {colonne}" if colonne else "")
        sortie.setdefault(cle, []).extend(messages)
    return sortie
