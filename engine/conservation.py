"""The retention policy (rules/conservation/politique.yaml): loading, checking, terms.

Pure Python: the policy says, per kind of data, from which event (``table.colonne``) a duration
runs, how long (a dated value in months: the value in force at the purge date applies), and what
happens at term. `webapp.services.conservation` applies it to the database; no duration is written
in Python. An invalid file raises `ErreurRegles` naming the file, the category (or source, profile)
and the field.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from .derivations import ajouter_mois
from .yaml_strict import ErreurRegles, charger_yaml

RACINE = Path(__file__).resolve().parent.parent
FICHIER_POLITIQUE = RACINE / "rules" / "conservation" / "politique.yaml"
SCHEMA = RACINE / "rules" / "schemas" / "conservation.schema.json"

TRAITEMENTS_A_TERME = frozenset({"suppression", "anonymisation", "archivage"})
LIBELLES_TRAITEMENT = {
    "suppression": "suppression",
    "anonymisation": "anonymisation",
    "archivage": "archivage (versement aux archives)",
    "conservation": "conservation tant que la finalité dure",
    "non_stocke": "non stocké",
}


@dataclass(frozen=True)
class Source:
    id: str
    titre: str
    lien: str
    a_verifier: bool
    note: str | None


@dataclass(frozen=True)
class ValeurDatee:
    debut: dt.date
    fin: dt.date | None
    valeur: int


@dataclass(frozen=True)
class Profil:
    id: str
    description: str
    # table -> {"colonnes": {colonne: methode}} or {"lignes": methode}
    tables: dict[str, dict[str, Any]]

    def colonnes(self) -> set[str]:
        return {f"{t}.{c}" for t, d in self.tables.items() for c in d.get("colonnes", {})}


@dataclass(frozen=True)
class Categorie:
    id: str
    libelle: str
    donnees: str
    tables: tuple[str, ...]
    evenement: str | None
    duree: tuple[ValeurDatee, ...] | None
    traitement: str
    profil: Profil | None
    base_legale: str
    sources: tuple[Source, ...]
    a_verifier_propre: bool
    note: str | None
    selection: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclusion: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def a_verifier(self) -> bool:
        """The category, or one of the sources it rests on, is not confirmed."""
        return self.a_verifier_propre or any(s.a_verifier for s in self.sources)

    @property
    def a_terme(self) -> bool:
        return self.traitement in TRAITEMENTS_A_TERME

    @property
    def table_evenement(self) -> str | None:
        return self.evenement.split(".", 1)[0] if self.evenement else None

    @property
    def colonne_evenement(self) -> str | None:
        return self.evenement.split(".", 1)[1] if self.evenement else None

    def duree_mois(self, date: dt.date) -> int:
        """The duration in force at `date`; a date outside every period is an error, never a guess."""
        for v in self.duree or ():
            if v.debut <= date and (v.fin is None or date <= v.fin):
                return v.valeur
        raise ErreurRegles(FICHIER_POLITIQUE.name, f"aucune durée en vigueur le {date.isoformat()}",
                           regle=self.id, champ="duree.valeurs")

    def limite(self, date: dt.date) -> dt.date:
        """Rows whose event is on or before this date are past their term at `date`."""
        return ajouter_mois(date, -self.duree_mois(date))

    def echeance(self, evenement: dt.date, date: dt.date) -> dt.date:
        """The term of a row whose event is `evenement`, with the duration in force at `date`."""
        return ajouter_mois(evenement, self.duree_mois(date))


@dataclass(frozen=True)
class Politique:
    fichier: Path
    titre: str
    sources: dict[str, Source]
    sans_donnees_personnelles: dict[str, str]
    colonnes_conservees: dict[str, str]
    profils: dict[str, Profil]
    categories: tuple[Categorie, ...]

    def categorie(self, id_: str) -> Categorie:
        for c in self.categories:
            if c.id == id_:
                return c
        raise KeyError(id_)

    def tables_couvertes(self) -> set[str]:
        return {t for c in self.categories for t in c.tables}

    def tables_supprimees(self) -> set[str]:
        """Tables whose rows are deleted whole at term (a suppression without a profile)."""
        return {t for c in self.categories if c.traitement == "suppression" and c.profil is None for t in c.tables}

    def colonnes_traitees(self) -> set[str]:
        return {col for p in self.profils.values() for col in p.colonnes()}


@cache
def _validateur() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _en_texte(valeur: Any) -> Any:
    if isinstance(valeur, dt.date):
        return valeur.isoformat()
    if isinstance(valeur, dict):
        return {k: _en_texte(v) for k, v in valeur.items()}
    if isinstance(valeur, list):
        return [_en_texte(v) for v in valeur]
    return valeur


def _message(erreur: jsonschema.ValidationError) -> str:
    if erreur.validator == "required":
        return "champ obligatoire manquant : " + (erreur.message.split("'")[1] if "'" in erreur.message else erreur.message)
    if erreur.validator == "additionalProperties":
        permis = set(erreur.schema.get("properties", {}))
        inconnus = sorted(k for k in erreur.instance if k not in permis) if isinstance(erreur.instance, dict) else []
        return f"champ inconnu : {', '.join(inconnus)}"
    if erreur.validator == "enum":
        return f"valeur {erreur.instance!r} non permise (attendu : {', '.join(map(str, erreur.validator_value))})"
    if erreur.validator in ("type", "oneOf", "const"):
        return f"valeur {erreur.instance!r} invalide ici"
    if erreur.validator == "pattern":
        return f"format invalide : {erreur.instance!r}"
    return erreur.message


def _verifier_schema(donnees: Any, fichier: Path) -> None:
    erreurs = sorted(_validateur().iter_errors(donnees), key=lambda e: (-len(e.absolute_path), list(map(str, e.absolute_path))))
    if not erreurs:
        return
    e = erreurs[0]
    chemin = list(e.absolute_path)
    regle = None
    if len(chemin) >= 2 and chemin[0] == "categories" and isinstance(chemin[1], int):
        element = donnees["categories"][chemin[1]]
        regle = element.get("id") if isinstance(element, dict) and isinstance(element.get("id"), str) else f"n° {chemin[1] + 1}"
        chemin = chemin[2:]
    elif len(chemin) >= 2 and chemin[0] in ("sources", "profils"):
        regle = str(chemin[1])
        chemin = chemin[2:]
    raise ErreurRegles(fichier.name, _message(e), regle=regle, champ=".".join(map(str, chemin)) or None)


def _periodes(brut: list[dict[str, Any]], fichier: Path, regle: str) -> tuple[ValeurDatee, ...]:
    valeurs = []
    for i, v in enumerate(brut):
        try:
            debut = dt.date.fromisoformat(v["debut"])
            fin = dt.date.fromisoformat(v["fin"]) if v["fin"] else None
        except ValueError:
            raise ErreurRegles(fichier.name, "date invalide", regle=regle, champ=f"duree.valeurs.{i}") from None
        if fin is not None and fin < debut:
            raise ErreurRegles(fichier.name, "la fin précède le début", regle=regle, champ=f"duree.valeurs.{i}.fin")
        valeurs.append(ValeurDatee(debut, fin, v["valeur"]))
    valeurs.sort(key=lambda v: v.debut)
    for a, b in zip(valeurs, valeurs[1:]):
        if a.fin is None or a.fin >= b.debut:
            raise ErreurRegles(fichier.name, "périodes qui se chevauchent", regle=regle, champ="duree.valeurs")
    return tuple(valeurs)


def charger_politique(fichier: str | Path = FICHIER_POLITIQUE) -> Politique:
    fichier = Path(fichier)
    donnees = _en_texte(charger_yaml(fichier))
    _verifier_schema(donnees, fichier)
    sources = {
        k: Source(k, v["titre"], v["lien"], bool(v.get("a_verifier", False)), v.get("note"))
        for k, v in donnees["sources"].items()
    }
    profils = {k: Profil(k, v["description"], v["tables"]) for k, v in donnees["profils"].items()}
    categories = []
    vus: set[str] = set()
    for brut in donnees["categories"]:
        cid = brut["id"]
        if cid in vus:
            raise ErreurRegles(fichier.name, "identifiant de catégorie en double", regle=cid, champ="id")
        vus.add(cid)
        for s in brut["sources"]:
            if s not in sources:
                raise ErreurRegles(fichier.name, f"source inconnue : {s}", regle=cid, champ="sources")
        profil = None
        if "profil" in brut:
            if brut["profil"] not in profils:
                raise ErreurRegles(fichier.name, f"profil inconnu : {brut['profil']}", regle=cid, champ="profil")
            profil = profils[brut["profil"]]
        evenement = brut["evenement"]
        if evenement and brut["traitement"] in TRAITEMENTS_A_TERME and not brut["tables"]:
            raise ErreurRegles(fichier.name, "une catégorie traitée à terme doit nommer ses tables", regle=cid, champ="tables")
        if evenement and brut["tables"] and evenement.split(".")[0] not in brut["tables"]:
            raise ErreurRegles(fichier.name, "la table de l'événement doit être parmi les tables de la catégorie",
                               regle=cid, champ="evenement")
        categories.append(Categorie(
            id=cid,
            libelle=brut["libelle"],
            donnees=brut["donnees"],
            tables=tuple(brut["tables"]),
            evenement=evenement,
            duree=_periodes(brut["duree"]["valeurs"], fichier, cid) if brut["duree"] else None,
            traitement=brut["traitement"],
            profil=profil,
            base_legale=brut["base_legale"],
            sources=tuple(sources[s] for s in brut["sources"]),
            a_verifier_propre=bool(brut.get("a_verifier", False)),
            note=brut.get("note"),
            selection={k: tuple(v) for k, v in (brut.get("selection") or {}).items()},
            exclusion={k: tuple(v) for k, v in (brut.get("exclusion") or {}).items()},
        ))
    for colonne in donnees["colonnes_conservees"]:
        if colonne.split(".")[0] in donnees["sans_donnees_personnelles"]:
            raise ErreurRegles(fichier.name, "colonne personnelle dans une table déclarée sans donnée personnelle",
                               champ=f"colonnes_conservees.{colonne}")
    return Politique(
        fichier=fichier,
        titre=donnees["titre"],
        sources=sources,
        sans_donnees_personnelles=dict(donnees["sans_donnees_personnelles"]),
        colonnes_conservees=dict(donnees["colonnes_conservees"]),
        profils=profils,
        categories=tuple(categories),
    )


def politique() -> Politique:
    """The policy of the rulebook this process uses (engine.version.racine_active: this checkout's rules/
    or an activated stored version), loaded once per directory."""
    from .version import racine_active

    return _politique_de(racine_active())


@lru_cache(maxsize=8)
def _politique_de(racine: Path) -> Politique:
    return charger_politique(racine / "conservation" / "politique.yaml")
