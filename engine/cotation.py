"""Scoring a demande with the cotation grid of its EPCI (CCH, art. L441-2-8; DOMAIN.md §6).

The criteria are rules like the others: durable_rules (or the plain evaluator) says which ones hold.
This module only adds up, as the grid says: within a rubric only the best criterion counts, rubrics
add up; ancienneté gives points per whole month (capped if the grid says so); each refused offer
without a legitimate reason costs the grid's penalty; the grid may floor the score.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from .regles import Grille

RUBRIQUE_ANCIENNETE = "anciennete"
RUBRIQUE_REFUS = "refus"


def _arrondi(x: float) -> float | int:
    r = round(x + 0.0, 2)
    return int(r) if float(r).is_integer() else r


def coter(grille: Grille, appliques: Collection[str], faits: Mapping[str, Any]) -> dict[str, Any]:
    """Score and detail for `grille`, given the ids of its criteria that hold and the flat facts."""
    meilleurs: dict[str, Any] = {}
    ecartes: list[dict[str, Any]] = []
    for critere in grille.criteres:
        if critere.id not in appliques:
            continue
        actuel = meilleurs.get(critere.rubrique)
        if actuel is None or critere.points > actuel.points:
            if actuel is not None:
                ecartes.append({"critere": actuel.id, "rubrique": actuel.rubrique, "points": _arrondi(actuel.points)})
            meilleurs[critere.rubrique] = critere
        else:
            ecartes.append({"critere": critere.id, "rubrique": critere.rubrique, "points": _arrondi(critere.points)})
    detail = [
        {"critere": c.id, "rubrique": c.rubrique, "points": _arrondi(c.points)}
        for c in grille.criteres
        if meilleurs.get(c.rubrique) is c
    ]
    score = sum(c.points for c in meilleurs.values())
    if grille.points_par_mois:
        mois = faits.get("demande.anciennete_mois")
        if mois is not None and mois > 0:
            points = mois * grille.points_par_mois
            if grille.plafond_anciennete is not None:
                points = min(points, grille.plafond_anciennete)
            detail.append({"critere": f"{grille.id}.anciennete", "rubrique": RUBRIQUE_ANCIENNETE, "points": _arrondi(points)})
            score += points
    if grille.points_par_refus:
        cle = "demande.nb_refus_non_legitimes" if grille.refus_compter == "non_legitimes" else "demande.nb_refus"
        nombre = faits.get(cle) or 0
        if nombre > 0:
            points = nombre * grille.points_par_refus
            detail.append({"critere": f"{grille.id}.refus", "rubrique": RUBRIQUE_REFUS, "points": _arrondi(points)})
            score += points
    if grille.score_minimal is not None:
        score = max(score, grille.score_minimal)
    resultat: dict[str, Any] = {
        "grille": grille.id,
        "titre": grille.titre,
        "statut": grille.statut,
        "epci": grille.epci,
        "score": _arrondi(score),
        "detail": detail,
        "ecartes": ecartes,
    }
    if grille.avertissement:
        resultat["avertissement"] = grille.avertissement
    return resultat


def sans_grille(epci: str | None) -> dict[str, Any]:
    return {"grille": None, "titre": None, "statut": None, "epci": epci, "score": None, "detail": [], "ecartes": []}
