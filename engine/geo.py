"""Commune → zone of the ceilings and commune → EPCI, from the files of rules/donnees (never the database).

rules/donnees/communes_epci_2026.csv: every commune and municipal arrondissement of France with its
department, its parent commune (arrondissements) and its EPCI (SIREN); rules/donnees/epci_2026.csv:
the EPCI names. The zone lists (Paris and bordering communes, Île-de-France departments) are dated
parameters of rules/parametres/zones.yaml.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .parametres import RACINE_REGLES, ErreurParametres, Parametres
from .version import racine_active

FICHIER_COMMUNES = "donnees/communes_epci_2026.csv"
FICHIER_EPCI = "donnees/epci_2026.csv"

ZONE_PARIS = "paris_limitrophes"
ZONE_IDF = "idf_hors_paris"
ZONE_AUTRES = "autres_regions"


@dataclass(frozen=True)
class Commune:
    code_insee: str
    departement: str
    commune_parente: str | None
    epci_siren: str | None


class Territoire:
    def __init__(self, communes: dict[str, Commune], epci: dict[str, str]):
        self.communes = communes
        self.noms_epci = epci

    def commune(self, code_insee: str) -> Commune | None:
        return self.communes.get(code_insee)

    def epci(self, code_insee: str | None) -> str | None:
        """SIREN of the commune's EPCI; None for an unknown commune or one outside any EPCI."""
        if not code_insee:
            return None
        commune = self.communes.get(code_insee)
        return commune.epci_siren if commune else None

    def nom_epci(self, siren: str | None) -> str | None:
        return self.noms_epci.get(siren) if siren else None


def departement_du_code(code_insee: str) -> str:
    """Department of an INSEE code by its prefix (overseas departments use three digits)."""
    return code_insee[:3] if code_insee.startswith("97") else code_insee[:2]


def zone_plafonds(code_insee: str, parametres: Parametres, territoire: Territoire | None = None) -> str:
    """Zone of the ceilings: Paris and bordering communes, rest of Île-de-France, other regions.

    A municipal arrondissement follows its parent commune (Paris 75101 … 75120 → 75056).
    """
    territoire = territoire or charger_territoire()
    commune = territoire.commune(code_insee)
    code = commune.commune_parente if commune and commune.commune_parente else code_insee
    if code in parametres.valeur("zones.paris_limitrophes.communes"):
        return ZONE_PARIS
    departement = commune.departement if commune else departement_du_code(code_insee)
    if departement in parametres.valeur("zones.idf_hors_paris.departements"):
        return ZONE_IDF
    return ZONE_AUTRES


def fichiers_territoire(racine: str | Path | None = None) -> list[Path]:
    base = Path(racine).resolve() if racine is not None else RACINE_REGLES
    return [(base / FICHIER_COMMUNES).resolve(), (base / FICHIER_EPCI).resolve()]


def charger_territoire(racine: str | Path | None = None) -> Territoire:
    """The territory tables of `racine`, by default of the rules/ the process evaluates with (cached per directory)."""
    return _charger(Path(racine).resolve() if racine is not None else racine_active())


@lru_cache(maxsize=4)
def _charger(racine: Path) -> Territoire:
    communes: dict[str, Commune] = {}
    chemin = racine / FICHIER_COMMUNES
    if not chemin.is_file():
        raise ErreurParametres(str(chemin), "table des communes introuvable")
    with open(chemin, encoding="utf-8", newline="") as f:
        for numero, ligne in enumerate(csv.DictReader(f), start=2):
            code = ligne.get("code_insee") or ""
            if len(code) != 5 or code in communes:
                raise ErreurParametres(str(chemin), f"ligne {numero} : code INSEE invalide ou en double {code!r}", champ="code_insee")
            communes[code] = Commune(
                code_insee=code,
                departement=ligne["departement"],
                commune_parente=ligne["commune_parente"] or None,
                epci_siren=ligne["epci_siren"] or None,
            )
    epci: dict[str, str] = {}
    chemin = racine / FICHIER_EPCI
    if not chemin.is_file():
        raise ErreurParametres(str(chemin), "table des EPCI introuvable")
    with open(chemin, encoding="utf-8", newline="") as f:
        for ligne in csv.DictReader(f):
            epci[ligne["epci_siren"]] = ligne["epci_nom"]
    return Territoire(communes, epci)
