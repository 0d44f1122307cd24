"""Dated parameters of the rulebook (rules/parametres/*.yaml and the data tables they reference).

Every legal number the engine uses lives here as a dated value with its reference. A file that does
not match the schema makes the whole rulebook refuse to load (`ErreurRegles` naming the file, the
parameter and the field). `Parametres` answers for one date and records the parameters marked
« à vérifier » that were read, so that an evaluation can list them.
"""
from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from .yaml_strict import ErreurRegles, charger_yaml

RACINE_REGLES = Path(__file__).resolve().parent.parent / "rules"

TYPES = ("entier", "decimal", "fraction", "montant", "booleen", "texte", "liste_texte")
_CHEMIN = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+$")
_CLES_PARAMETRE = {
    "description", "type", "unite", "reference", "politique_locale", "source", "a_verifier", "note", "valeurs",
}
_CLES_PERIODE = {"debut", "fin", "valeur", "reference", "a_verifier", "note"}
_LEGIFRANCE = "https://www.legifrance.gouv.fr/"
FINANCEMENTS = ("PLAI", "PLUS", "PLS")
TAILLE_MEMO = 65536  # computations memorised per date (`Parametres.memorise`)
ZONES = ("paris_limitrophes", "idf_hors_paris", "autres_regions")


class ErreurParametres(ErreurRegles):
    """A parameter file (or data table) is invalid; `.parametre` is the parameter path."""

    def __init__(self, fichier: str | Path, message: str, *, parametre: str | None = None, champ: str | None = None):
        super().__init__(fichier, message, regle=parametre, champ=champ)
        self.parametre = parametre
        ou = self.fichier
        if parametre:
            ou += f", paramètre {parametre}"
        if champ:
            ou += f", champ {champ}"
        self.args = (f"{ou} : {message}",)


class ParametreIntrouvable(LookupError):
    """No value of this parameter is in force at the date (or the path is unknown)."""


@dataclass(frozen=True)
class Reference:
    titre: str
    lien: str


@dataclass(frozen=True)
class Periode:
    debut: dt.date
    fin: dt.date | None
    valeur: Any
    a_verifier: bool
    note: str | None
    reference: Reference | None
    statut: str | None = None


@dataclass(frozen=True)
class DefinitionParametre:
    chemin: str
    description: str
    type: str
    unite: str | None
    reference: Reference | None
    politique_locale: bool
    source: str | None
    fichier: str
    periodes: tuple[Periode, ...]

    def periode_a(self, date: dt.date) -> Periode | None:
        for periode in self.periodes:
            if periode.debut <= date and (periode.fin is None or date <= periode.fin):
                return periode
        return None


@dataclass(frozen=True)
class ValeurEnVigueur:
    """One parameter as it stands at a date."""

    chemin: str
    valeur: Any
    debut: dt.date
    fin: dt.date | None
    a_verifier: bool
    note: str | None
    reference: Reference | None
    politique_locale: bool
    source: str | None
    statut: str | None
    fichier: str
    description: str


# --- helpers -----------------------------------------------------------------------------------

def _relatif(chemin: Path) -> str:
    """rules/… : relative to the directory holding rules/ (this checkout, or an extracted stored version)."""
    p = chemin.resolve()
    try:
        return str(p.relative_to(RACINE_REGLES.parent))
    except ValueError:
        for parent in p.parents:
            if parent.name == "rules":
                return str(p.relative_to(parent.parent))
        return str(chemin)


def arrondi_euro(montant: Decimal) -> Decimal:
    """Round to the nearest euro, halves up (rounding of the published PLS tables)."""
    return montant.quantize(Decimal("1"), rounding=ROUND_HALF_UP)


def _convertir(fichier: str, chemin: str, champ: str, type_: str, valeur: Any) -> Any:
    def erreur(message: str) -> ErreurParametres:
        return ErreurParametres(fichier, message, parametre=chemin, champ=champ)

    if type_ == "booleen":
        if not isinstance(valeur, bool):
            raise erreur(f"booléen attendu (true/false), trouvé {valeur!r}")
        return valeur
    if type_ == "entier":
        if isinstance(valeur, bool) or not isinstance(valeur, int):
            raise erreur(f"entier attendu, trouvé {valeur!r}")
        return valeur
    if type_ in ("decimal", "fraction", "montant"):
        if isinstance(valeur, bool) or not isinstance(valeur, int | float):
            raise erreur(f"nombre attendu, trouvé {valeur!r}")
        nombre = Decimal(str(valeur))
        if type_ == "fraction" and not (0 <= nombre <= 1):
            raise erreur(f"fraction attendue entre 0 et 1, trouvé {valeur!r}")
        if type_ == "montant" and (nombre < 0 or nombre != nombre.quantize(Decimal("0.01"))):
            raise erreur(f"montant positif à deux décimales au plus attendu, trouvé {valeur!r}")
        return nombre
    if type_ == "texte":
        if not isinstance(valeur, str) or not valeur:
            raise erreur(f"texte non vide attendu, trouvé {valeur!r}")
        return valeur
    if type_ == "liste_texte":
        if not isinstance(valeur, list) or not all(isinstance(v, str) and v for v in valeur):
            raise erreur(f"liste de textes attendue, trouvé {valeur!r}")
        if len(set(valeur)) != len(valeur):
            raise erreur("liste avec un élément en double")
        return tuple(valeur)
    raise erreur(f"type inconnu {type_!r}")  # pragma: no cover - the type is checked before


def _texte(fichier: str, chemin: str | None, champ: str, valeur: Any) -> str:
    if not isinstance(valeur, str) or not valeur.strip():
        raise ErreurParametres(fichier, "texte non vide attendu", parametre=chemin, champ=champ)
    return valeur


def _booleen(fichier: str, chemin: str | None, champ: str, valeur: Any) -> bool:
    if not isinstance(valeur, bool):
        raise ErreurParametres(fichier, f"booléen attendu (true/false), trouvé {valeur!r}", parametre=chemin, champ=champ)
    return valeur


def _reference(fichier: str, chemin: str | None, champ: str, valeur: Any) -> Reference:
    if not isinstance(valeur, dict) or set(valeur) != {"titre", "lien"}:
        raise ErreurParametres(
            fichier, "référence attendue : exactement `titre` et `lien`", parametre=chemin, champ=champ
        )
    titre = _texte(fichier, chemin, f"{champ}.titre", valeur["titre"])
    lien = _texte(fichier, chemin, f"{champ}.lien", valeur["lien"])
    if not lien.startswith(_LEGIFRANCE):
        raise ErreurParametres(
            fichier, f"le lien d'une référence juridique doit pointer vers Légifrance ({_LEGIFRANCE})",
            parametre=chemin, champ=f"{champ}.lien",
        )
    return Reference(titre, lien)


def _date(fichier: str, chemin: str, champ: str, valeur: Any, *, nulle: bool = False) -> dt.date | None:
    if valeur is None and nulle:
        return None
    if isinstance(valeur, dt.datetime) or not isinstance(valeur, dt.date):
        raise ErreurParametres(fichier, f"date AAAA-MM-JJ attendue, trouvé {valeur!r}", parametre=chemin, champ=champ)
    return valeur


def _verifier_periodes(fichier: str, chemin: str, periodes: list[Periode]) -> tuple[Periode, ...]:
    periodes = sorted(periodes, key=lambda p: p.debut)
    for i, periode in enumerate(periodes):
        if periode.fin is not None and periode.fin < periode.debut:
            raise ErreurParametres(fichier, "fin antérieure au début", parametre=chemin, champ=f"valeurs[{i}].fin")
        if i and (periodes[i - 1].fin is None or periodes[i - 1].fin >= periode.debut):
            raise ErreurParametres(
                fichier, f"périodes qui se chevauchent (à partir du {periode.debut.isoformat()})",
                parametre=chemin, champ=f"valeurs[{i}].debut",
            )
    return tuple(periodes)


# --- parameter files -----------------------------------------------------------------------------

def _definition(fichier: str, chemin: Any, brut: Any) -> DefinitionParametre:
    if not isinstance(chemin, str) or not _CHEMIN.match(chemin):
        raise ErreurParametres(fichier, f"chemin de paramètre invalide {chemin!r} (segments séparés par des points)")
    if not isinstance(brut, dict):
        raise ErreurParametres(fichier, "un paramètre est un dictionnaire", parametre=chemin)
    inconnues = set(brut) - _CLES_PARAMETRE
    if inconnues:
        raise ErreurParametres(fichier, "clé inconnue", parametre=chemin, champ=sorted(inconnues)[0])
    for cle in ("description", "type", "valeurs"):
        if cle not in brut:
            raise ErreurParametres(fichier, "champ obligatoire absent", parametre=chemin, champ=cle)
    description = _texte(fichier, chemin, "description", brut["description"])
    type_ = brut["type"]
    if type_ not in TYPES:
        raise ErreurParametres(fichier, f"type inconnu {type_!r} (attendu : {', '.join(TYPES)})", parametre=chemin, champ="type")
    unite = _texte(fichier, chemin, "unite", brut["unite"]) if "unite" in brut else None
    politique_locale = _booleen(fichier, chemin, "politique_locale", brut.get("politique_locale", False))
    reference = source = None
    if politique_locale:
        # Local policy is not law: it names where the value was adopted, never a legal text.
        if "reference" in brut:
            raise ErreurParametres(
                fichier, "une valeur de politique locale n'a pas de référence juridique : utiliser `source`",
                parametre=chemin, champ="reference",
            )
        if "source" not in brut:
            raise ErreurParametres(fichier, "champ obligatoire absent", parametre=chemin, champ="source")
        source = _texte(fichier, chemin, "source", brut["source"])
    else:
        if "reference" not in brut:
            raise ErreurParametres(fichier, "référence juridique obligatoire", parametre=chemin, champ="reference")
        reference = _reference(fichier, chemin, "reference", brut["reference"])
        if "source" in brut:
            raise ErreurParametres(fichier, "`source` est réservé à la politique locale", parametre=chemin, champ="source")
    a_verifier = _booleen(fichier, chemin, "a_verifier", brut.get("a_verifier", False))
    note = _texte(fichier, chemin, "note", brut["note"]) if "note" in brut else None
    if a_verifier and not note:
        raise ErreurParametres(fichier, "un paramètre à vérifier dit pourquoi dans `note`", parametre=chemin, champ="note")
    valeurs = brut["valeurs"]
    if not isinstance(valeurs, list) or not valeurs:
        raise ErreurParametres(fichier, "liste non vide de périodes attendue", parametre=chemin, champ="valeurs")
    periodes = []
    for i, v in enumerate(valeurs):
        champ = f"valeurs[{i}]"
        if not isinstance(v, dict):
            raise ErreurParametres(fichier, "une période est un dictionnaire", parametre=chemin, champ=champ)
        inconnues = set(v) - _CLES_PERIODE
        if inconnues:
            raise ErreurParametres(fichier, "clé inconnue", parametre=chemin, champ=f"{champ}.{sorted(inconnues)[0]}")
        for cle in ("debut", "fin", "valeur"):
            if cle not in v:
                raise ErreurParametres(fichier, "champ obligatoire absent (fin: null pour une valeur en vigueur)", parametre=chemin, champ=f"{champ}.{cle}")
        p_verifier = _booleen(fichier, chemin, f"{champ}.a_verifier", v.get("a_verifier", False))
        p_note = _texte(fichier, chemin, f"{champ}.note", v["note"]) if "note" in v else None
        if p_verifier and not (p_note or note):
            raise ErreurParametres(fichier, "une valeur à vérifier dit pourquoi dans `note`", parametre=chemin, champ=f"{champ}.note")
        p_reference = None
        if "reference" in v:
            if politique_locale:
                raise ErreurParametres(fichier, "pas de référence juridique pour la politique locale", parametre=chemin, champ=f"{champ}.reference")
            p_reference = _reference(fichier, chemin, f"{champ}.reference", v["reference"])
        periodes.append(
            Periode(
                debut=_date(fichier, chemin, f"{champ}.debut", v["debut"]),  # type: ignore[arg-type]
                fin=_date(fichier, chemin, f"{champ}.fin", v["fin"], nulle=True),
                valeur=_convertir(fichier, chemin, f"{champ}.valeur", type_, v["valeur"]),
                a_verifier=a_verifier or p_verifier,
                note=p_note or note,
                reference=p_reference or reference,
            )
        )
    return DefinitionParametre(
        chemin=chemin, description=description, type=type_, unite=unite, reference=reference,
        politique_locale=politique_locale, source=source, fichier=fichier,
        periodes=_verifier_periodes(fichier, chemin, periodes),
    )


def _annees(fichier: str, prefixe: str, brut: Any) -> dict[int, Reference]:
    if not isinstance(brut, dict) or not brut:
        raise ErreurParametres(fichier, "dictionnaire non vide des années attendu", parametre=prefixe, champ="annees")
    annees = {}
    for annee, contenu in brut.items():
        if not isinstance(annee, int) or isinstance(annee, bool):
            raise ErreurParametres(fichier, f"année entière attendue, trouvé {annee!r}", parametre=prefixe, champ="annees")
        if not isinstance(contenu, dict) or set(contenu) != {"reference"}:
            raise ErreurParametres(fichier, "une année porte exactement sa `reference`", parametre=prefixe, champ=f"annees.{annee}")
        annees[annee] = _reference(fichier, prefixe, f"annees.{annee}.reference", contenu["reference"])
    return annees


def _lire_csv(fichier_yaml: str, prefixe: str, chemin: Path, colonnes: Iterable[str]) -> list[dict[str, str]]:
    if not chemin.is_file():
        raise ErreurParametres(fichier_yaml, f"fichier de données introuvable : {_relatif(chemin)}", parametre=prefixe, champ="fichier")
    with open(chemin, encoding="utf-8", newline="") as f:
        lecteur = csv.DictReader(f)
        manquantes = set(colonnes) - set(lecteur.fieldnames or ())
        if manquantes:
            raise ErreurParametres(_relatif(chemin), f"colonnes absentes : {', '.join(sorted(manquantes))}", parametre=prefixe)
        return list(lecteur)


def _entier_csv(fichier: str, chemin: str, champ: str, texte: str, ligne: int) -> int:
    try:
        valeur = int(texte)
    except ValueError:
        raise ErreurParametres(fichier, f"ligne {ligne} : entier attendu, trouvé {texte!r}", parametre=chemin, champ=champ) from None
    if valeur < 0:
        raise ErreurParametres(fichier, f"ligne {ligne} : montant négatif", parametre=chemin, champ=champ)
    return valeur


def _table_plafonds(
    fichier: str, prefixe: str, brut: dict[str, Any], racine: Path, definitions: Mapping[str, DefinitionParametre]
) -> tuple[list[DefinitionParametre], Path]:
    autorisees = {"format", "description", "fichier", "unite", "coefficient_pls", "statuts", "annees"}
    _cles_table(fichier, prefixe, brut, autorisees)
    description = _texte(fichier, prefixe, "description", brut["description"])
    annees = _annees(fichier, prefixe, brut["annees"])
    statuts_brut = brut["statuts"]
    if not isinstance(statuts_brut, dict) or not statuts_brut:
        raise ErreurParametres(fichier, "dictionnaire des statuts attendu", parametre=prefixe, champ="statuts")
    statuts: dict[str, tuple[bool, str | None]] = {}
    for statut, regle in statuts_brut.items():
        if not isinstance(regle, dict) or not set(regle) <= {"a_verifier", "note"} or "a_verifier" not in regle:
            raise ErreurParametres(fichier, "un statut porte `a_verifier` (et `note`)", parametre=prefixe, champ=f"statuts.{statut}")
        a_verifier = _booleen(fichier, prefixe, f"statuts.{statut}.a_verifier", regle["a_verifier"])
        note = _texte(fichier, prefixe, f"statuts.{statut}.note", regle["note"]) if "note" in regle else None
        if a_verifier and not note:
            raise ErreurParametres(fichier, "un statut à vérifier dit pourquoi dans `note`", parametre=prefixe, champ=f"statuts.{statut}.note")
        statuts[statut] = (a_verifier, note)
    if "computed_rule" not in statuts:
        raise ErreurParametres(fichier, "le statut computed_rule (PLS calculés) doit être décrit", parametre=prefixe, champ="statuts")
    coefficient_chemin = brut["coefficient_pls"]
    coefficient_def = definitions.get(coefficient_chemin) if isinstance(coefficient_chemin, str) else None
    if coefficient_def is None or coefficient_def.type != "decimal":
        raise ErreurParametres(fichier, f"paramètre décimal {coefficient_chemin!r} introuvable", parametre=prefixe, champ="coefficient_pls")
    chemin_csv = racine / _texte(fichier, prefixe, "fichier", brut["fichier"])
    csv_rel = _relatif(chemin_csv)
    colonnes = ("annee", "financement", "zone", "categorie_menage", "plafond_rfr_annuel_eur", "statut", "source")
    lignes = _lire_csv(fichier, prefixe, chemin_csv, colonnes)
    categories = [str(c) for c in range(1, 7)] + ["pers_supp"]
    cellules: dict[tuple[int, str, str, str], tuple[int, str, str, int]] = {}
    for numero, ligne in enumerate(lignes, start=2):
        annee = _entier_csv(csv_rel, prefixe, "annee", ligne["annee"], numero)
        financement, zone, categorie = ligne["financement"], ligne["zone"], ligne["categorie_menage"]
        if annee not in annees:
            raise ErreurParametres(csv_rel, f"ligne {numero} : année {annee} sans référence dans {fichier}", parametre=prefixe, champ="annee")
        if financement not in FINANCEMENTS or zone not in ZONES or categorie not in categories:
            raise ErreurParametres(csv_rel, f"ligne {numero} : cellule inconnue {financement}/{zone}/{categorie}", parametre=prefixe)
        if ligne["statut"] not in statuts:
            raise ErreurParametres(csv_rel, f"ligne {numero} : statut {ligne['statut']!r} non décrit dans {fichier}", parametre=prefixe, champ="statut")
        cle = (annee, financement, zone, categorie)
        if cle in cellules:
            raise ErreurParametres(csv_rel, f"ligne {numero} : cellule en double", parametre=_chemin_plafond(prefixe, financement, zone, categorie))
        montant = _entier_csv(csv_rel, prefixe, "plafond_rfr_annuel_eur", ligne["plafond_rfr_annuel_eur"], numero)
        cellules[cle] = (montant, ligne["statut"], ligne["source"], numero)
    # One PLS cell computed from the PLUS cell per art. 1 of the arrêté, checked against the file.
    for (annee, financement, zone, categorie), (montant, statut, _source, numero) in cellules.items():
        if financement == "PLS" and statut == "computed_rule":
            plus = cellules.get((annee, "PLUS", zone, categorie))
            chemin = _chemin_plafond(prefixe, "PLS", zone, categorie)
            if plus is None:
                raise ErreurParametres(csv_rel, f"ligne {numero} : PLS calculé sans plafond PLUS", parametre=chemin)
            periode = coefficient_def.periode_a(dt.date(annee, 1, 1))
            if periode is None:
                raise ErreurParametres(fichier, f"coefficient PLS non en vigueur en {annee}", parametre=coefficient_chemin)
            calcule = arrondi_euro(Decimal(plus[0]) * periode.valeur)
            if calcule != montant:
                raise ErreurParametres(
                    csv_rel, f"ligne {numero} ({annee}) : PLS {montant} € ≠ arrondi(PLUS {plus[0]} × {periode.valeur}) = {calcule} €",
                    parametre=chemin, champ="plafond_rfr_annuel_eur",
                )
    resultat = []
    for financement in FINANCEMENTS:
        for zone in ZONES:
            for categorie in categories:
                chemin = _chemin_plafond(prefixe, financement, zone, categorie)
                periodes = []
                for annee in sorted(annees):
                    cellule = cellules.get((annee, financement, zone, categorie))
                    if cellule is None:
                        raise ErreurParametres(csv_rel, f"cellule {annee} absente", parametre=chemin)
                    montant, statut, source, _numero = cellule
                    a_verifier, note = statuts[statut]
                    periodes.append(Periode(
                        debut=dt.date(annee, 1, 1), fin=dt.date(annee, 12, 31), valeur=Decimal(montant),
                        a_verifier=a_verifier, note=f"{note} (source : {source})" if note else None,
                        reference=annees[annee], statut=statut,
                    ))
                resultat.append(DefinitionParametre(
                    chemin=chemin, description=f"{description} — {financement}, {zone}, {categorie}",
                    type="montant", unite=brut.get("unite"), reference=None, politique_locale=False, source=None,
                    fichier=csv_rel, periodes=_verifier_periodes(csv_rel, chemin, periodes),
                ))
    return resultat, chemin_csv


def _chemin_plafond(prefixe: str, financement: str, zone: str, categorie: str) -> str:
    cellule = "personne_supplementaire" if categorie == "pers_supp" else f"categorie_{categorie}"
    return f"{prefixe}.{financement.lower()}.{cellule}.{zone}"


def _table_quartiles(fichier: str, prefixe: str, brut: dict[str, Any], racine: Path) -> tuple[list[DefinitionParametre], Path]:
    autorisees = {"format", "description", "fichier", "unite", "seuils_regionaux", "annees"}
    _cles_table(fichier, prefixe, brut, autorisees)
    description = _texte(fichier, prefixe, "description", brut["description"])
    annees = _annees(fichier, prefixe, brut["annees"])
    regions = brut.get("seuils_regionaux", {})
    if not isinstance(regions, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in regions.items()):
        raise ErreurParametres(fichier, "dictionnaire clé → nom de région attendu", parametre=prefixe, champ="seuils_regionaux")
    chemin_csv = racine / _texte(fichier, prefixe, "fichier", brut["fichier"])
    csv_rel = _relatif(chemin_csv)
    colonnes = ("annee", "region", "epci_siren", "q1_annuel_uc", "q2_annuel_uc", "q3_annuel_uc")
    lignes = _lire_csv(fichier, prefixe, chemin_csv, colonnes)
    seuils: dict[tuple[int, str], tuple[int, int, int]] = {}
    regionaux: dict[tuple[int, str], tuple[int, int, int]] = {}
    noms_regions = {v: k for k, v in regions.items()}
    for numero, ligne in enumerate(lignes, start=2):
        annee = _entier_csv(csv_rel, prefixe, "annee", ligne["annee"], numero)
        siren = ligne["epci_siren"]
        chemin = f"{prefixe}.{siren}"
        if annee not in annees:
            raise ErreurParametres(csv_rel, f"ligne {numero} : année {annee} sans référence dans {fichier}", parametre=chemin, champ="annee")
        if not re.fullmatch(r"[0-9]{9}", siren):
            raise ErreurParametres(csv_rel, f"ligne {numero} : SIREN invalide {siren!r}", parametre=chemin, champ="epci_siren")
        valeurs = tuple(_entier_csv(csv_rel, chemin, f"q{i}_annuel_uc", ligne[f"q{i}_annuel_uc"], numero) for i in (1, 2, 3))
        if not valeurs[0] <= valeurs[1] <= valeurs[2]:
            raise ErreurParametres(csv_rel, f"ligne {numero} : seuils non croissants {valeurs}", parametre=chemin)
        # An EPCI spanning several departments is listed once per department: same values required.
        if seuils.setdefault((annee, siren), valeurs) != valeurs:  # type: ignore[arg-type]
            raise ErreurParametres(csv_rel, f"ligne {numero} : seuils {annee} différents pour le même EPCI", parametre=chemin)
        cle_region = noms_regions.get(ligne["region"])
        if cle_region and regionaux.setdefault((annee, cle_region), valeurs) != valeurs:  # type: ignore[arg-type]
            raise ErreurParametres(
                csv_rel, f"ligne {numero} : le seuil {annee} de la région {ligne['region']} n'est pas unique",
                parametre=f"quartiles.seuils_regionaux.{cle_region}",
            )
    resultat = []

    def definitions(base: str, donnees: dict[tuple[int, str], tuple[int, int, int]]) -> None:
        par_cle: dict[str, list[tuple[int, tuple[int, int, int]]]] = {}
        for (annee, cle), valeurs in donnees.items():
            par_cle.setdefault(cle, []).append((annee, valeurs))
        for cle, series in sorted(par_cle.items()):
            for rang in (1, 2, 3):
                chemin = f"{base}.{cle}.q{rang}"
                periodes = [
                    Periode(debut=dt.date(annee, 1, 1), fin=dt.date(annee, 12, 31), valeur=Decimal(valeurs[rang - 1]),
                            a_verifier=False, note=None, reference=annees[annee])
                    for annee, valeurs in series
                ]
                resultat.append(DefinitionParametre(
                    chemin=chemin, description=f"{description} — {cle}, seuil du quartile {rang}",
                    type="montant", unite=brut.get("unite"), reference=None, politique_locale=False, source=None,
                    fichier=csv_rel, periodes=_verifier_periodes(csv_rel, chemin, periodes),
                ))

    definitions(prefixe, seuils)
    definitions(prefixe.rsplit(".", 1)[0] + ".seuils_regionaux", regionaux)
    return resultat, chemin_csv


def _cles_table(fichier: str, prefixe: str, brut: dict[str, Any], autorisees: set[str]) -> None:
    inconnues = set(brut) - autorisees
    if inconnues:
        raise ErreurParametres(fichier, "clé inconnue", parametre=prefixe, champ=sorted(inconnues)[0])
    manquantes = autorisees - set(brut) - {"unite", "seuils_regionaux"}
    if manquantes:
        raise ErreurParametres(fichier, "champ obligatoire absent", parametre=prefixe, champ=sorted(manquantes)[0])


# --- the rulebook of parameters ----------------------------------------------------------------------

class ReferentielParametres:
    """Every parameter with all its dated values (superseded ones included)."""

    def __init__(self, definitions: dict[str, DefinitionParametre], fichiers: tuple[Path, ...]):
        self.definitions = definitions
        self.fichiers = fichiers
        # date → (values in force, memo of computations on them shared by every evaluation at that date)
        self._par_date: dict[dt.date, tuple[dict[str, tuple[DefinitionParametre, Periode]], dict[Any, Any]]] = {}

    def a_la_date(self, date: dt.date) -> Parametres:
        table = self._par_date.get(date)
        if table is None:
            en_vigueur = {}
            for chemin, definition in self.definitions.items():
                periode = definition.periode_a(date)
                if periode is not None:
                    en_vigueur[chemin] = (definition, periode)
            if len(self._par_date) > 64:
                self._par_date.clear()
            table = self._par_date[date] = (en_vigueur, {})
        return Parametres(date, *table)


def charger_referentiel(racine: str | Path | None = None) -> ReferentielParametres:
    """Load and check every file of rules/parametres (cached per directory; by default the rules/ the
    process evaluates with, engine.version.racine_active)."""
    from .version import racine_active

    cle = racine if racine is not None else racine_active()
    memorisable = isinstance(cle, str | Path)  # (another os.PathLike may not be hashable)
    resolue = _racines_resolues.get(cle) if memorisable else None
    if resolue is None:
        resolue = Path(cle).resolve()
        # A relative path depends on the working directory: never memoised.
        if memorisable and Path(cle).is_absolute():
            if len(_racines_resolues) >= 64:
                _racines_resolues.clear()
            _racines_resolues[cle] = resolue
    return _charger(resolue)


# Absolute directory given (or active) → its resolved path: `Path.resolve()` (one lstat per part) cost
# ~30 µs at every evaluation. `oublier_racines()` empties it (engine.evaluation.recharger and
# utiliser_racine call it, so that a symbolic link changed since is followed again).
_racines_resolues: dict[str | Path, Path] = {}


def oublier_racines() -> None:
    _racines_resolues.clear()


@lru_cache(maxsize=8)
def _charger(racine: Path) -> ReferentielParametres:
    dossier = racine / "parametres"
    if not dossier.is_dir():
        raise ErreurParametres(_relatif(dossier), "dossier des paramètres introuvable")
    fichiers_yaml = sorted(dossier.rglob("*.yaml"))
    definitions: dict[str, DefinitionParametre] = {}
    tables: list[tuple[str, str, dict[str, Any]]] = []
    fichiers: list[Path] = list(fichiers_yaml)

    def ajouter(definition: DefinitionParametre) -> None:
        deja = definitions.get(definition.chemin)
        if deja is not None:
            raise ErreurParametres(
                definition.fichier, f"paramètre déjà défini dans {deja.fichier}", parametre=definition.chemin
            )
        definitions[definition.chemin] = definition

    for chemin_fichier in fichiers_yaml:
        fichier = _relatif(chemin_fichier)
        contenu = charger_yaml(chemin_fichier)
        if not isinstance(contenu, dict) or not contenu or not set(contenu) <= {"parametres", "tables"}:
            raise ErreurParametres(fichier, "le fichier contient `parametres` et/ou `tables`, et rien d'autre")
        parametres = contenu.get("parametres", {})
        if not isinstance(parametres, dict):
            raise ErreurParametres(fichier, "`parametres` est un dictionnaire chemin → paramètre")
        for chemin, brut in parametres.items():
            ajouter(_definition(fichier, chemin, brut))
        tables_brutes = contenu.get("tables", {})
        if not isinstance(tables_brutes, dict):
            raise ErreurParametres(fichier, "`tables` est un dictionnaire préfixe → table")
        for prefixe, brut in tables_brutes.items():
            if not isinstance(prefixe, str) or not _CHEMIN.match(prefixe + ".x"):
                raise ErreurParametres(fichier, f"préfixe de table invalide {prefixe!r}")
            if not isinstance(brut, dict):
                raise ErreurParametres(fichier, "une table est un dictionnaire", parametre=prefixe)
            tables.append((fichier, prefixe, brut))
    # Tables after plain parameters: the PLS table reads its coefficient.
    for fichier, prefixe, brut in tables:
        format_ = brut.get("format")
        if format_ == "plafonds_ressources":
            nouvelles, donnees = _table_plafonds(fichier, prefixe, brut, racine, definitions)
        elif format_ == "seuils_quartiles":
            nouvelles, donnees = _table_quartiles(fichier, prefixe, brut, racine)
        else:
            raise ErreurParametres(fichier, f"format de table inconnu {format_!r}", parametre=prefixe, champ="format")
        for definition in nouvelles:
            ajouter(definition)
        fichiers.append(donnees)
    return ReferentielParametres(definitions, tuple(sorted({f.resolve() for f in fichiers})))


def fichiers_parametres(racine: str | Path | None = None) -> list[Path]:
    """Sorted paths of every file the parameters and the derivations read (for the rulebook version).

    The parameter files, the data tables they reference, the territory tables of engine.geo and the
    priority situations referential (one fact per code).
    """
    from .geo import fichiers_territoire

    base = Path(racine).resolve() if racine is not None else RACINE_REGLES
    referentiel = charger_referentiel(racine)
    situations = (base / "referentiels" / "situations_prioritaires.yaml").resolve()
    return sorted(set(referentiel.fichiers) | set(fichiers_territoire(racine)) | {situations})


# --- the parameters at one date ----------------------------------------------------------------------

class Parametres:
    """The values in force at `date`. `valeur()` records the « à vérifier » parameters it returns.

    The table of values is shared; `suivi()` gives a view with its own record, so one cached
    `Parametres` can serve many evaluations.
    """

    __slots__ = ("date", "_en_vigueur", "_a_verifier", "_memo")

    def __init__(self, date: dt.date, en_vigueur: dict[str, tuple[DefinitionParametre, Periode]],
                 memo: dict[Any, Any] | None = None):
        self.date = date
        self._en_vigueur = en_vigueur
        self._a_verifier: dict[str, None] = {}
        self._memo = {} if memo is None else memo

    def suivi(self) -> Parametres:
        return Parametres(self.date, self._en_vigueur, self._memo)

    def memorise(self, cle: Any, calcul: Callable[[Parametres], Any]) -> Any:
        """`calcul(p)`, computed once per date for `cle` and shared (the result must not be mutated).

        `calcul` reads the parameters through the `Parametres` it is given; the « à vérifier » ones
        it read are recorded on this one at every call, as if it had read them itself. An exception
        is not memorised.
        """
        entree = self._memo.get(cle)
        if entree is None:
            temoin = Parametres(self.date, self._en_vigueur, self._memo)
            entree = (calcul(temoin), tuple(temoin._a_verifier))
            if len(self._memo) >= TAILLE_MEMO:
                self._memo.clear()
            self._memo[cle] = entree
        valeur, lus = entree
        for chemin in lus:
            self._a_verifier[chemin] = None
        return valeur

    def existe(self, chemin: str) -> bool:
        return chemin in self._en_vigueur

    def valeur(self, chemin: str) -> Any:
        try:
            _definition, periode = self._en_vigueur[chemin]
        except KeyError:
            raise ParametreIntrouvable(
                f"Paramètre {chemin} : aucune valeur en vigueur au {self.date.isoformat()}."
            ) from None
        if periode.a_verifier:
            self._a_verifier[chemin] = None
        return periode.valeur

    def valeur_ou_none(self, chemin: str) -> Any:
        return self.valeur(chemin) if chemin in self._en_vigueur else None

    def parametre(self, chemin: str) -> ValeurEnVigueur:
        """The value with its metadata (does not record anything)."""
        try:
            definition, periode = self._en_vigueur[chemin]
        except KeyError:
            raise ParametreIntrouvable(
                f"Paramètre {chemin} : aucune valeur en vigueur au {self.date.isoformat()}."
            ) from None
        return ValeurEnVigueur(
            chemin=chemin, valeur=periode.valeur, debut=periode.debut, fin=periode.fin,
            a_verifier=periode.a_verifier, note=periode.note, reference=periode.reference,
            politique_locale=definition.politique_locale, source=definition.source, statut=periode.statut,
            fichier=definition.fichier, description=definition.description,
        )

    def chemins(self, prefixe: str = "") -> list[str]:
        return sorted(c for c in self._en_vigueur if c.startswith(prefixe))

    @property
    def a_verifier_utilises(self) -> tuple[str, ...]:
        """Paths of the « à vérifier » parameters read through `valeur()`, sorted."""
        return tuple(sorted(self._a_verifier))


def parametres_a_la_date(date: dt.date, racine: str | Path | None = None) -> Parametres:
    return charger_referentiel(racine).a_la_date(date)


def decimal_strict(valeur: Any) -> Decimal:
    """Decimal from an int, a Decimal or a float's shortest repr (never binary noise)."""
    if isinstance(valeur, Decimal):
        return valeur
    try:
        return Decimal(str(valeur))
    except InvalidOperation:
        raise ValueError(f"nombre attendu : {valeur!r}") from None
