"""What the demo generator reads: its own parameters and names, and the reference data of the product.

Legal figures (resource ceilings, quartile thresholds) are read from rules/donnees at run time and the
attribution shares from the DREAL bilan; nothing numeric about the law is written in this package.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from engine.yaml_strict import charger_yaml

from ..referentiels import situations_prioritaires

ICI = Path(__file__).resolve().parent
RACINE = ICI.parents[1]
PARAMETRES = ICI / "parametres_demo.yaml"
NOMS = ICI / "donnees" / "noms.yaml"
COMMUNES = ICI / "donnees" / "communes_demo.csv"
PLAFONDS = RACINE / "rules" / "donnees" / "plafonds_ressources_logement_social_2020_2026.csv"
QUARTILES = RACINE / "rules" / "donnees" / "france_quartile_thresholds_2024_2026_long.csv"
DREAL = RACINE / "fixtures" / "dreal_hdf_bilan_attributions_2025_extract.csv"
QPV = RACINE / "fixtures" / "geo" / "hdf_qpv_2024.csv"
EPCI = RACINE / "fixtures" / "geo" / "hdf_epci_2026.csv"
CONTOURS = RACINE / "fixtures" / "geo" / "hdf_qpv_2024_contours.geojson"
# Hauts-de-France is entirely in the "autres régions" zone of the ceilings (DOMAIN.md §7.1).
ZONE = "autres_regions"
LIGNE_DREAL = "Hauts-de-France"


@dataclass(frozen=True)
class CommuneDemo:
    code_insee: str
    nom: str
    departement: str
    code_postal: str
    population: int
    epci: str


@dataclass(frozen=True)
class QpvDemo:
    code: str
    nom: str
    communes: tuple[str, ...]
    # Outer rings of the contour polygons, as (longitude, latitude) points.
    anneaux: tuple[tuple[tuple[float, float], ...], ...]


@dataclass
class Referentiel:
    parametres: dict[str, Any]
    noms: dict[str, Any]
    communes: dict[str, CommuneDemo]
    communes_par_epci: dict[str, list[CommuneDemo]]
    noms_epci: dict[str, str]
    qpv_par_epci: dict[str, list[QpvDemo]]
    # (année, financement, catégorie "1".."6" | "pers_supp") → plafond annuel (€), zone autres régions.
    plafonds: dict[tuple[int, str, str], int]
    # (année, SIREN) → (Q1, Q2, Q3) en € annuels par UC.
    quartiles: dict[tuple[int, str], tuple[int, int, int]]
    # Shares of the regional attributions (DREAL bilan): prioritaires, dalo, sortants, sans_abri, q1, qpv.
    parts_attributions: dict[str, float]
    situations: tuple[str, ...] = field(default_factory=tuple)

    def annee_disponible(self, annees: set[int], annee: int) -> int:
        """The year itself when the table has it, else the nearest earlier (or the first) one."""
        anterieures = [a for a in annees if a <= annee]
        return max(anterieures) if anterieures else min(annees)

    def plafond(self, annee: int, financement: str, categorie: int, supplementaires: int) -> int:
        annee = self.annee_disponible(self._annees_plafonds, annee)
        base = self.plafonds[(annee, financement, str(min(categorie, 6)))]
        return base + supplementaires * self.plafonds[(annee, financement, "pers_supp")]

    def seuils(self, annee: int, epci: str) -> tuple[int, int, int]:
        annee = self.annee_disponible(self._annees_quartiles, annee)
        return self.quartiles[(annee, epci)]

    def __post_init__(self) -> None:
        self._annees_plafonds = {a for a, _, _ in self.plafonds}
        self._annees_quartiles = {a for a, _ in self.quartiles}


def _pourcentage(texte: str) -> float:
    return float(texte.strip().rstrip("%").replace(",", ".")) / 100


def _entier(texte: str) -> int:
    return int(texte.replace(" ", "").replace("\u202f", ""))


def _anneaux(geometrie: dict[str, Any]) -> tuple[tuple[tuple[float, float], ...], ...]:
    polygones = geometrie["coordinates"] if geometrie["type"] == "MultiPolygon" else [geometrie["coordinates"]]
    return tuple(tuple((float(x), float(y)) for x, y in poly[0]) for poly in polygones)


@cache
def charger_referentiel() -> Referentiel:
    parametres = charger_yaml(PARAMETRES)
    noms = charger_yaml(NOMS)
    epcis = set(parametres["territoires"])

    communes: dict[str, CommuneDemo] = {}
    with open(COMMUNES, encoding="utf-8") as f:
        for ligne in csv.DictReader(f):
            communes[ligne["code_insee"]] = CommuneDemo(
                code_insee=ligne["code_insee"],
                nom=ligne["nom"],
                departement=ligne["departement"],
                code_postal=ligne["codes_postaux"].split()[0],
                population=int(ligne["population"]),
                epci=ligne["epci_siren"],
            )
    communes_par_epci = {e: sorted((c for c in communes.values() if c.epci == e), key=lambda c: c.code_insee) for e in sorted(epcis)}

    with open(EPCI, encoding="utf-8") as f:
        noms_epci = {ligne["epci_siren"]: ligne["nom"] for ligne in csv.DictReader(f) if ligne["epci_siren"] in epcis}

    with open(CONTOURS, encoding="utf-8") as f:
        contours = {feat["properties"]["code_qp"]: _anneaux(feat["geometry"]) for feat in json.load(f)["features"]}
    qpv_par_epci: dict[str, list[QpvDemo]] = {e: [] for e in sorted(epcis)}
    with open(QPV, encoding="utf-8") as f:
        for ligne in csv.DictReader(f):
            siens = [c for c in ligne["insee_communes"].split(";") if c in communes]
            for epci in sorted({communes[c].epci for c in siens}):
                qpv_par_epci[epci].append(
                    QpvDemo(
                        code=ligne["code_qp"],
                        nom=ligne["lib_qp"],
                        communes=tuple(c for c in siens if communes[c].epci == epci),
                        anneaux=contours.get(ligne["code_qp"], ()),
                    )
                )

    plafonds: dict[tuple[int, str, str], int] = {}
    with open(PLAFONDS, encoding="utf-8") as f:
        for ligne in csv.DictReader(f):
            if ligne["zone"] == ZONE:
                plafonds[(int(ligne["annee"]), ligne["financement"], ligne["categorie_menage"])] = _entier(
                    ligne["plafond_rfr_annuel_eur"]
                )

    quartiles: dict[tuple[int, str], tuple[int, int, int]] = {}
    with open(QUARTILES, encoding="utf-8") as f:
        for ligne in csv.DictReader(f):
            if ligne["epci_siren"] in epcis:
                quartiles[(int(ligne["annee"]), ligne["epci_siren"])] = (
                    _entier(ligne["q1_annuel_uc"]),
                    _entier(ligne["q2_annuel_uc"]),
                    _entier(ligne["q3_annuel_uc"]),
                )

    with open(DREAL, encoding="utf-8") as f:
        ligne = next(r for r in csv.DictReader(f) if r["territoire"] == LIGNE_DREAL)
    total = _entier(ligne["total_attributions_2025"])
    parts = {
        "prioritaires": _entier(ligne["attrib_menages_prioritaires_dalo_pdalhpd"]) / total,
        "dalo": _entier(ligne["dont_dalo"]) / total,
        "sortants_hebergement": _entier(ligne["attrib_sortants_hebergement"]) / total,
        "sans_abri": _entier(ligne["attrib_sans_abri"]) / total,
        "q1": _entier(ligne["attrib_sous_seuil_q1_toutes_localisations"]) / total,
        "en_qpv": _pourcentage(ligne["pct_attrib_en_qpv_tout_public"]),
    }
    return Referentiel(
        parametres=parametres,
        noms=noms,
        communes=communes,
        communes_par_epci=communes_par_epci,
        noms_epci=noms_epci,
        qpv_par_epci=qpv_par_epci,
        plafonds=plafonds,
        quartiles=quartiles,
        parts_attributions=parts,
        situations=tuple(situations_prioritaires()),
    )
