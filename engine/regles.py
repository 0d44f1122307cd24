"""Loading and checking the rulebook: rules/regles/*.yaml (rules) and rules/cotation/*.yaml (grids).

Every file is read with the duplicate-refusing YAML loader, validated against its JSON Schema
(rules/schemas/) and then checked in depth (known fact paths, value types, ids unique and stable,
validity windows, weight per durable ruleset). Any defect makes the whole rulebook refuse to load
with `ErreurRegles` naming the file, the rule and the field: a half-loaded rulebook would decide
on part of the law.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

from .conditions import Catalogue, catalogue, chemins, valider_condition
from .version import chemin_listes_sne, racine_active, racine_temporaire
from .yaml_strict import ErreurRegles, charger_yaml

RACINE = Path(__file__).resolve().parent.parent
DOSSIER_REGLES = RACINE / "rules"
SCHEMAS = DOSSIER_REGLES / "schemas"


# --------------------------------------------------------------------------- reference lists


def situations_prioritaires() -> dict[str, dict[str, Any]]:
    """rules/referentiels/situations_prioritaires.yaml of the rulebook this thread evaluates with
    (engine.version.racine_active), read once per directory."""
    return _situations_de(racine_active())


@lru_cache(maxsize=8)
def _situations_de(racine: Path) -> dict[str, dict[str, Any]]:
    return charger_yaml(racine / "referentiels" / "situations_prioritaires.yaml")["situations"]


def listes_sne() -> dict[str, dict[str, str]]:
    """The SNE code lists of the rulebook this thread evaluates with (beside its rules/ directory)."""
    return _listes_sne_de(racine_active())


@lru_cache(maxsize=8)
def _listes_sne_de(racine: Path) -> dict[str, dict[str, str]]:
    with open(chemin_listes_sne(racine), encoding="utf-8") as f:
        return json.load(f)["codes"]


def listes_pour_catalogue(racine: Path | None = None) -> dict[str, list[str]]:
    racine = racine_active() if racine is None else racine
    listes = {nom: [c for c in codes if c] for nom, codes in _listes_sne_de(racine).items()}
    listes["situations_prioritaires"] = list(_situations_de(racine))
    return listes


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Reference:
    titre: str
    lien: str
    a_verifier: bool = False

    def en_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"titre": self.titre, "lien": self.lien}
        if self.a_verifier:
            d["a_verifier"] = True
        return d


@dataclass(frozen=True)
class Regle:
    id: str
    titre: str
    reference: Reference
    debut: dt.date
    fin: dt.date | None
    condition: dict[str, Any]
    effet: dict[str, Any]
    fichier: str
    domaine: str
    interpretation: dict[str, str] | None = None
    chemins: tuple[str, ...] = ()

    def en_vigueur(self, date: dt.date) -> bool:
        return self.debut <= date and (self.fin is None or date <= self.fin)


@dataclass(frozen=True)
class Critere:
    id: str
    titre: str
    rubrique: str
    points: float
    validation_requise: bool
    condition: dict[str, Any]  # as evaluated (situations.* rewritten when validation is required)
    condition_publiee: dict[str, Any]
    interpretation: dict[str, str] | None = None
    chemins: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grille:
    id: str
    titre: str
    epci: str
    statut: str
    reference: Reference
    debut: dt.date
    fin: dt.date | None
    points_par_mois: float
    plafond_anciennete: float | None
    points_par_refus: float
    refus_compter: str
    score_minimal: int | None
    criteres: tuple[Critere, ...]
    rubriques: dict[str, str]
    fichier: str
    avertissement: str | None = None
    epci_nom: str | None = None

    def en_vigueur(self, date: dt.date) -> bool:
        return self.debut <= date and (self.fin is None or date <= self.fin)


@dataclass(frozen=True)
class Reglement:
    """The whole rulebook (every version of every rule and grid, superseded ones included)."""

    regles: tuple[Regle, ...]
    grilles: tuple[Grille, ...]
    catalogue: Catalogue = field(repr=False)

    def regle(self, rid: str) -> Regle | Critere | None:
        for r in self.regles:
            if r.id == rid:
                return r
        for g in self.grilles:
            for c in g.criteres:
                if c.id == rid:
                    return c
        return None

    def regles_en_vigueur(self, date: dt.date) -> tuple[Regle, ...]:
        return tuple(r for r in self.regles if r.en_vigueur(date))

    def grilles_en_vigueur(self, date: dt.date) -> tuple[Grille, ...]:
        return tuple(g for g in self.grilles if g.en_vigueur(date))

    def grille_pour(self, epci: str | None, date: dt.date) -> Grille | None:
        if not epci:
            return None
        for g in self.grilles_en_vigueur(date):
            if g.epci == epci:
                return g
        return None

    def bornes(self) -> list[dt.date]:
        """Dates where the set of rules or grids in force changes (start dates and day after end)."""
        dates: set[dt.date] = set()
        for x in (*self.regles, *self.grilles):
            dates.add(x.debut)
            if x.fin is not None:
                dates.add(x.fin + dt.timedelta(days=1))
        return sorted(dates)


# --------------------------------------------------------------------------- schema


@cache
def _validateurs() -> dict[str, jsonschema.protocols.Validator]:
    schemas = {nom: json.loads((SCHEMAS / nom).read_text(encoding="utf-8")) for nom in ("regles.schema.json", "cotation.schema.json")}
    registre = Registry().with_resources(
        [(s["$id"], Resource.from_contents(s)) for s in schemas.values()]
        + [(nom, Resource.from_contents(s)) for nom, s in schemas.items()]
    )
    res = {}
    for nom, schema in schemas.items():
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        res[nom] = cls(schema, registry=registre)
    return res


def _dates_en_texte(valeur: Any) -> Any:
    if isinstance(valeur, dt.date):
        return valeur.isoformat()
    if isinstance(valeur, dict):
        return {k: _dates_en_texte(v) for k, v in valeur.items()}
    if isinstance(valeur, list):
        return [_dates_en_texte(v) for v in valeur]
    return valeur


def _message_schema(erreur: jsonschema.ValidationError) -> str:
    v = erreur.validator
    if v == "required":
        manquant = erreur.message.split("'")[1] if "'" in erreur.message else erreur.message
        return f"champ obligatoire manquant : {manquant}"
    if v == "additionalProperties":
        permis = set(erreur.schema.get("properties", {}))
        inconnus = sorted(k for k in erreur.instance if k not in permis) if isinstance(erreur.instance, dict) else []
        return f"champ inconnu : {', '.join(inconnus)}"
    if v == "enum":
        return f"valeur {erreur.instance!r} non permise (attendu : {', '.join(map(str, erreur.validator_value))})"
    if v == "type":
        return f"type invalide pour {erreur.instance!r} (attendu : {erreur.validator_value})"
    if v == "pattern":
        return f"format invalide : {erreur.instance!r}"
    if v in ("minItems", "minLength"):
        return "valeur vide"
    if v in ("minimum", "maximum"):
        return f"valeur {erreur.instance!r} hors bornes"
    if v == "oneOf":
        return "structure invalide"
    return erreur.message


def _valider_schema(donnees: Any, nom_schema: str, fichier: Path, cle_liste: str) -> None:
    validateur = _validateurs()[nom_schema]
    erreurs = sorted(validateur.iter_errors(donnees), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if not erreurs:
        return
    erreur = erreurs[0]
    chemin = list(erreur.absolute_path)
    regle = None
    if len(chemin) >= 2 and chemin[0] == cle_liste and isinstance(chemin[1], int):
        element = donnees[cle_liste][chemin[1]]
        regle = element.get("id") if isinstance(element, dict) and isinstance(element.get("id"), str) else f"n° {chemin[1] + 1}"
        chemin = chemin[2:]
        # A malformed condition: the semantic checker gives the precise French message.
        if chemin and chemin[0] == "condition" and isinstance(element, dict):
            valider_condition(element.get("condition"), catalogue(), fichier=fichier, regle=regle)
    champ = ".".join(map(str, chemin)) or None
    raise ErreurRegles(fichier, _message_schema(erreur), regle=regle, champ=champ)


# --------------------------------------------------------------------------- loading


def _date(texte: str, fichier: Path, regle: str, champ: str) -> dt.date:
    try:
        return dt.date.fromisoformat(texte)
    except ValueError:
        raise ErreurRegles(fichier, f"date invalide : {texte}", regle=regle, champ=champ) from None


def _fenetre(d: Mapping[str, Any], fichier: Path, regle: str) -> tuple[dt.date, dt.date | None]:
    debut = _date(d["debut"], fichier, regle, "validite.debut")
    fin = _date(d["fin"], fichier, regle, "validite.fin") if d.get("fin") else None
    if fin is not None and fin < debut:
        raise ErreurRegles(fichier, "la fin de validité précède son début", regle=regle, champ="validite.fin")
    return debut, fin


def _reference(d: Mapping[str, Any]) -> Reference:
    return Reference(d["titre"], d["lien"], bool(d.get("a_verifier", False)))


def charger_fichier_regles(fichier: Path, cat: Catalogue) -> list[Regle]:
    donnees = _dates_en_texte(charger_yaml(fichier))
    _valider_schema(donnees, "regles.schema.json", fichier, "regles")
    domaine = donnees["domaine"]
    regles = []
    for r in donnees["regles"]:
        rid = r["id"]
        if rid.split(".", 1)[0] != domaine:
            raise ErreurRegles(fichier, f"l'identifiant doit commencer par le domaine du fichier ({domaine}.)", regle=rid, champ="id")
        valider_condition(r["condition"], cat, fichier=fichier, regle=rid)
        effet = r["effet"]
        if effet["type"] == "priorite" and effet["code"].startswith("PRIO_") and effet["code"] not in situations_prioritaires():
            raise ErreurRegles(fichier, f"code de priorité inconnu du référentiel : {effet['code']}", regle=rid, champ="effet.code")
        debut, fin = _fenetre(r["validite"], fichier, rid)
        regles.append(
            Regle(
                id=rid,
                titre=r["titre"],
                reference=_reference(r["reference"]),
                debut=debut,
                fin=fin,
                condition=r["condition"],
                effet=dict(effet),
                fichier=fichier.name,
                domaine=domaine,
                interpretation=r.get("interpretation"),
                chemins=tuple(chemins(r["condition"])),
            )
        )
    return regles


def _exiger_verification(cond: Any) -> Any:
    """situations.X → situations_verifiees.X (a criterion that counts only once a social worker checked it)."""
    if isinstance(cond, dict):
        res = {k: _exiger_verification(v) for k, v in cond.items()}
        for cle in ("fait", "valeur_de"):
            if isinstance(res.get(cle), str) and res[cle].startswith("situations."):
                res[cle] = "situations_verifiees." + res[cle][len("situations."):]
        return res
    if isinstance(cond, list):
        return [_exiger_verification(c) for c in cond]
    return cond


def charger_fichier_grille(fichier: Path, cat: Catalogue) -> Grille:
    donnees = _dates_en_texte(charger_yaml(fichier))
    _valider_schema(donnees, "cotation.schema.json", fichier, "criteres")
    gid = donnees["id"]
    rubriques = dict(donnees.get("rubriques") or {})
    criteres = []
    vus: set[str] = set()
    for c in donnees["criteres"]:
        cid = c["id"]
        if not cid.startswith(gid + "."):
            raise ErreurRegles(fichier, f"l'identifiant d'un critère commence par celui de la grille ({gid}.)", regle=cid, champ="id")
        if cid in vus:
            raise ErreurRegles(fichier, "identifiant de critère en double", regle=cid, champ="id")
        vus.add(cid)
        if rubriques and c["rubrique"] not in rubriques:
            raise ErreurRegles(fichier, f"rubrique non déclarée : {c['rubrique']}", regle=cid, champ="rubrique")
        valider_condition(c["condition"], cat, fichier=fichier, regle=cid)
        requise = bool(c.get("validation_requise", False))
        evaluee = _exiger_verification(c["condition"]) if requise else c["condition"]
        criteres.append(
            Critere(
                id=cid,
                titre=c["titre"],
                rubrique=c["rubrique"],
                points=c["points"],
                validation_requise=requise,
                condition=evaluee,
                condition_publiee=c["condition"],
                interpretation=c.get("interpretation"),
                chemins=tuple(chemins(evaluee)),
            )
        )
    debut, fin = _fenetre(donnees["validite"], fichier, gid)
    anc = donnees["anciennete"]
    refus = donnees["refus"]
    return Grille(
        id=gid,
        titre=donnees["titre"],
        epci=donnees["epci"],
        statut=donnees["statut"],
        reference=_reference(donnees["reference"]),
        debut=debut,
        fin=fin,
        points_par_mois=anc["points_par_mois"],
        plafond_anciennete=anc.get("plafond"),
        points_par_refus=refus["points_par_refus"],
        refus_compter=refus.get("compter", "non_legitimes"),
        score_minimal=donnees.get("score_minimal"),
        criteres=tuple(criteres),
        rubriques=rubriques,
        fichier=fichier.name,
        avertissement=donnees.get("avertissement"),
        epci_nom=donnees.get("epci_nom"),
    )


def fichiers_regles(racine: Path = DOSSIER_REGLES) -> list[Path]:
    return sorted((racine / "regles").glob("*.yaml"))


def fichiers_grilles(racine: Path = DOSSIER_REGLES) -> list[Path]:
    return sorted((racine / "cotation").glob("*.yaml"))


def charger_reglement(racine: Path = DOSSIER_REGLES) -> Reglement:
    """Load and check every rule file and grid under `racine`; raise ErreurRegles on the first defect.

    The fact catalogue, the code lists and the priority situations the rules are checked against are
    those of the same directory (read inside `racine_temporaire(racine)`)."""
    with racine_temporaire(racine):
        return _charger_reglement(Path(racine))


def _charger_reglement(racine: Path) -> Reglement:
    from .durable_adapter import compiler_condition, poids, TAILLE_SHARD

    cat = catalogue()
    regles: list[Regle] = []
    ids: dict[str, str] = {}
    for fichier in fichiers_regles(racine):
        for r in charger_fichier_regles(fichier, cat):
            if r.id in ids:
                raise ErreurRegles(fichier, f"identifiant déjà défini dans {ids[r.id]}", regle=r.id, champ="id")
            ids[r.id] = fichier.name
            regles.append(r)
    grilles: list[Grille] = []
    for fichier in fichiers_grilles(racine):
        g = charger_fichier_grille(fichier, cat)
        for autre in grilles:
            if autre.id == g.id:
                raise ErreurRegles(fichier, f"identifiant de grille déjà défini dans {autre.fichier}", regle=g.id, champ="id")
            chevauche = autre.epci == g.epci and g.debut <= (autre.fin or dt.date.max) and autre.debut <= (g.fin or dt.date.max)
            if chevauche:
                raise ErreurRegles(fichier, f"deux grilles en vigueur en même temps pour l'EPCI {g.epci} ({autre.id})", regle=g.id, champ="validite")
        for c in g.criteres:
            if c.id in ids:
                raise ErreurRegles(fichier, f"identifiant déjà défini dans {ids[c.id]}", regle=c.id, champ="id")
            ids[c.id] = fichier.name
        grilles.append(g)
    for r in regles:
        if poids(compiler_condition(r.condition)) > TAILLE_SHARD:
            raise ErreurRegles(r.fichier, f"condition trop ramifiée pour durable_rules (plus de {TAILLE_SHARD} alternatives)", regle=r.id, champ="condition")
    return Reglement(tuple(regles), tuple(grilles), cat)


def reglement() -> Reglement:
    """The rulebook the process evaluates with (engine.version.racine_active: this checkout's rules/, an
    activated stored version, or the version a replay uses in this thread), loaded once per directory."""
    return _reglement_de(racine_active())


@lru_cache(maxsize=8)
def _reglement_de(racine: Path) -> Reglement:
    return charger_reglement(racine)


reglement.cache_clear = _reglement_de.cache_clear  # type: ignore[attr-defined]  # forget every directory's
