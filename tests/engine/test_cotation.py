"""Scoring arithmetic: best criterion per rubric, rubrics add up, ancienneté, refusals, floor."""
from __future__ import annotations

import dataclasses
import datetime as dt

from engine.cotation import coter, sans_grille
from engine.regles import reglement

DATE = dt.date(2026, 6, 15)


def _grille(epci: str):
    g = reglement().grille_pour(epci, DATE)
    assert g is not None
    return g


def test_l_exemple_publie_de_lyon_vaut_35_points() -> None:
    g = _grille("200046977")
    appliques = {"lyon_exemple_publie.menace_expulsion", "lyon_exemple_publie.parent_isole", "lyon_exemple_publie.taux_effort_eleve"}
    r = coter(g, appliques, {})
    assert r["score"] == 35
    assert [(d["critere"], d["points"]) for d in r["detail"]] == [
        ("lyon_exemple_publie.menace_expulsion", 20), ("lyon_exemple_publie.parent_isole", 5), ("lyon_exemple_publie.taux_effort_eleve", 10),
    ]


def test_dans_une_rubrique_seul_le_meilleur_critere_compte() -> None:
    g = _grille("200093201")
    r = coter(g, {"mel_demonstration.decohabitation", "mel_demonstration.chez_parents"}, {})
    assert r["score"] == 2
    assert r["ecartes"] == [{"critere": "mel_demonstration.chez_parents", "rubrique": "hebergement", "points": 1}]


def test_les_rubriques_s_additionnent() -> None:
    g = _grille("200093201")
    r = coter(g, {"mel_demonstration.sans_abri", "mel_demonstration.parent_isole", "mel_demonstration.handicap"}, {})
    assert r["score"] == 8 + 2 + 4


def test_anciennete_plafonnee_et_refus() -> None:
    g = _grille("200093201")
    assert coter(g, set(), {"demande.anciennete_mois": 10})["score"] == 2.5
    assert coter(g, set(), {"demande.anciennete_mois": 500})["score"] == 24
    r = coter(g, {"mel_demonstration.sans_abri"}, {"demande.nb_refus_non_legitimes": 1, "demande.nb_refus": 3})
    assert r["score"] == 3
    assert r["detail"][-1] == {"critere": "mel_demonstration.refus", "rubrique": "refus", "points": -5}
    assert coter(g, set(), {"demande.nb_refus_non_legitimes": 4})["score"] == 0  # score minimal de la grille


def test_refus_comptes_tous_et_sans_plancher() -> None:
    g = dataclasses.replace(_grille("200093201"), refus_compter="tous", score_minimal=None)
    assert coter(g, set(), {"demande.nb_refus_non_legitimes": 0, "demande.nb_refus": 2})["score"] == -10


def test_sans_grille() -> None:
    assert sans_grille("248000531") == {"grille": None, "titre": None, "statut": None, "epci": "248000531", "score": None, "detail": [], "ecartes": []}


def test_un_critere_a_valider_lit_les_situations_verifiees() -> None:
    g = _grille("200093201")
    critere = next(c for c in g.criteres if c.id == "mel_demonstration.violences_familiales")
    assert critere.validation_requise
    assert critere.condition_publiee == {"fait": "situations.PRIO_VIOLENCES_COUPLE", "op": "eq", "valeur": True}
    assert critere.condition == {"fait": "situations_verifiees.PRIO_VIOLENCES_COUPLE", "op": "eq", "valeur": True}
