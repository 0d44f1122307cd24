"""Properties (hypothesis): both engines agree, nothing crashes, monotonicity of resources and priorities.

Facts are generated from the catalogue (rules/schemas/faits.yaml), with values around the constants
the rules compare to; dossiers are generated in the dossier JSON format and loaded by its schema.
"""
from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.conditions import catalogue
from engine.durable_adapter import MoteurDurable
from engine.evaluation import evaluer, moteur_a_la_date
from engine.regles import listes_sne, reglement, situations_prioritaires
from tests.engine.test_evaluation import verifier_contrat
from webapp.schemas import charger_dossier, charger_logement

DATE = dt.date(2026, 6, 15)
REGLAGES = settings(max_examples=1000, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- facts


def _valeurs(definition: dict[str, Any]) -> st.SearchStrategy[Any]:
    t = definition["type"]
    if "valeurs" in definition:
        valeurs = list(definition["valeurs"])
        if t == "liste_str":
            return st.lists(st.sampled_from(valeurs), max_size=4)
        return st.sampled_from(valeurs)
    if t == "bool":
        return st.booleans()
    if t == "int":
        return st.integers(min_value=-1, max_value=12)
    if t == "float":
        return st.one_of(
            st.sampled_from([0.0, 0.3, 0.33, 0.5, 9.0, 16.0, 10.0, 23403.0, 30000.0]),
            st.floats(min_value=-10, max_value=100000, allow_nan=False, allow_infinity=False),
        )
    if t == "liste_str":
        return st.lists(st.text(max_size=3), max_size=3)
    return st.text(max_size=6)


@st.composite
def faits_generes(draw) -> dict[str, Any]:
    cat = catalogue()
    chemins = cat.chemins()
    choisis = draw(st.lists(st.sampled_from(chemins), unique=True, min_size=0, max_size=60))
    faits = {c: draw(_valeurs(cat.definition(c))) for c in choisis}
    if draw(st.booleans()):  # often compare a fact with itself to hit equality boundaries
        for a, b in (("ressources.revenu_retenu", "plafonds.applicable"), ("logement.surface_habitable", "adequation.surface_minimale")):
            if a in faits:
                faits[b] = faits[a]
    return {k: v for k, v in faits.items() if v != []}


@cache
def _glue_standard() -> MoteurDurable:
    """The same rulebook run the reference way: durable's own Python glue (Closures and named
    actions) on nested facts, one state per evaluation (the engine's default is the light glue on
    flat dotted keys, in a reused state)."""
    m = moteur_a_la_date(DATE)
    groupes = {"regles": [(r.id, r.condition, r.chemins) for r in reglement().regles_en_vigueur(DATE)]}
    for g, _ in m.grilles.values():
        groupes[f"grille.{g.id}"] = [(c.id, c.condition, c.chemins) for c in g.criteres]
    return MoteurDurable(groupes, prefixe="proprietes.standard", glue="standard", forme="imbriquee")


@REGLAGES
@given(faits=faits_generes())
def test_durable_et_python_s_accordent_sur_des_faits_generes(faits) -> None:
    m = moteur_a_la_date(DATE)
    standard = _glue_standard()
    for grille in [None, *(g for g, _ in m.grilles.values())]:
        python = m.appliquees(faits, grille, "python")
        assert m.appliquees(faits, grille, "durable") == python
        groupes = ["regles"] + ([f"grille.{grille.id}"] if grille else [])
        assert set(standard.appliquees(faits, groupes)) == python


# --------------------------------------------------------------------------- dossiers

COMMUNES = ["59350", "59183", "69123", "80021", "75056", "78646", "62041"]
MODELES = [c for c in listes_sne()["ListeModeleLogement"] if c]
MOTIFS = [c for c in listes_sne()["ListeMotifDemande"] if c]
SITUATIONS = list(situations_prioritaires())
montants = st.one_of(st.none(), st.integers(min_value=0, max_value=90000))


def _date(min_annee: int, max_annee: int) -> st.SearchStrategy[str]:
    return st.dates(dt.date(min_annee, 1, 1), dt.date(max_annee, 12, 28)).map(dt.date.isoformat)


@st.composite
def personne(draw, role: str) -> dict[str, Any]:
    p: dict[str, Any] = {"role": role}
    if role == "enfant_a_naitre":
        p["date_naissance_prevue"] = draw(_date(2026, 2026))
        return p
    adulte = role in ("demandeur", "cotitulaire")
    p["date_naissance"] = draw(_date(1940, 2008) if adulte else _date(2008, 2026))
    if role == "cotitulaire":
        p["lien_cotitulaire"] = draw(st.sampled_from(["conjoint", "pacse", "concubin", "colocataire"]))
    if adulte:
        p["residence_reguliere"] = {"declaree": draw(st.sampled_from([True, True, True, False, None])), "verifiee": draw(st.sampled_from([None, True, False]))}
        p["mineur_emancipe"] = draw(st.booleans())
        annees = draw(st.lists(st.sampled_from([2023, 2024, 2025]), unique=True, max_size=3))
        p["revenus_fiscaux"] = [{"annee": a, "montant": draw(montants)} for a in annees]
        if draw(st.booleans()):
            p["ressources_12_mois"] = draw(st.integers(min_value=0, max_value=60000))
        p["procedures"] = {"divorce": draw(st.booleans()), "dissolution_pacs": False, "ordonnance_protection": False}
    p["handicap"] = {"cmi_invalidite": draw(st.booleans()), "details": None}
    if draw(st.booleans()):
        p["ressources"] = [{"sens": "recue", "code": "SAL", "montant_mensuel": draw(st.integers(min_value=0, max_value=4000))}]
    return p


@st.composite
def dossier_genere(draw) -> dict[str, Any]:
    autres = draw(st.lists(st.sampled_from(["cotitulaire", "personne_a_charge", "personne_a_charge", "enfant_garde_alternee", "enfant_droit_visite", "enfant_a_naitre"]), max_size=5))
    if autres.count("cotitulaire") > 1:
        autres = [r for r in autres if r != "cotitulaire"] + ["cotitulaire"]
    situations = draw(st.lists(st.sampled_from(SITUATIONS), unique=True, max_size=3))
    d: dict[str, Any] = {
        "numero_unique": "0591126000001A",
        "date_depot": draw(_date(2015, 2026)),
        "communes_souhaitees": draw(st.lists(st.sampled_from(COMMUNES), unique=True, max_size=2)),
        "contact": {"commune_insee": draw(st.sampled_from(COMMUNES))},
        "motifs": draw(st.lists(st.sampled_from(MOTIFS), unique=True, max_size=3)),
        "besoin_pmr": draw(st.booleans()),
        "logement_actuel": {
            "modele": draw(st.sampled_from(MODELES)),
            "surface": draw(st.one_of(st.none(), st.integers(min_value=5, max_value=120))),
            "loyer_mensuel": draw(st.one_of(st.none(), st.integers(min_value=0, max_value=1500))),
        },
        "dalo": {"statut": draw(st.sampled_from(["NON", "ACTIF", "CADUC", None])), "date_decision": None,
                 "date_designation": draw(st.one_of(st.none(), _date(2024, 2026)))},
        "labels": {"pdalhpd": draw(st.booleans()), "siao": draw(st.booleans())},
        "aide_logement_declaree": draw(st.one_of(st.none(), st.integers(min_value=0, max_value=500))),
        "situations": [{"code": c, "verifiee": draw(st.booleans())} for c in situations],
        "refus": [{"date": "2026-01-01", "motif": "refus", "motif_legitime": draw(st.booleans())} for _ in range(draw(st.integers(0, 3)))],
        "personnes": [draw(personne("demandeur"))] + [draw(personne(r)) for r in autres],
    }
    return d


@st.composite
def logement_genere(draw) -> dict[str, Any] | None:
    if draw(st.booleans()):
        return None
    return {
        "commune_insee": draw(st.sampled_from(COMMUNES)),
        "qpv": None,
        "financement": draw(st.sampled_from(["PLAI", "PLUS", "PLS"])),
        "typologie": draw(st.sampled_from(["T1", "T2", "T3", "T4", "T5"])),
        "nb_pieces": draw(st.integers(min_value=1, max_value=6)),
        "surface_habitable": draw(st.integers(min_value=8, max_value=120)),
        "etage": draw(st.integers(min_value=0, max_value=10)),
        "ascenseur": draw(st.booleans()),
        "accessible_pmr": draw(st.booleans()),
        "loyer_principal": draw(st.integers(min_value=100, max_value=1200)),
        "charges_recuperables": draw(st.integers(min_value=0, max_value=200)),
    }


def _charger(brut: dict[str, Any], logement: dict[str, Any] | None):
    return charger_dossier(brut), (charger_logement(logement) if logement is not None else None)


@REGLAGES
@given(brut=dossier_genere(), logement=logement_genere())
def test_aucun_dossier_genere_ne_fait_planter_et_les_deux_moteurs_s_accordent(brut, logement) -> None:
    dossier, log = _charger(brut, logement)
    durable = evaluer(dossier, log, DATE, moteur="durable")
    python = evaluer(dossier, log, DATE, moteur="python")
    assert durable == python
    verifier_contrat(durable)


def _augmenter(brut: dict[str, Any], delta: int) -> dict[str, Any]:
    plus = copy.deepcopy(brut)
    for p in plus["personnes"]:
        for rf in p.get("revenus_fiscaux", ()):
            if rf["montant"] is not None:
                rf["montant"] += delta
        if p.get("ressources_12_mois") is not None:
            p["ressources_12_mois"] += delta
    return plus


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(brut=dossier_genere(), delta=st.integers(min_value=1, max_value=20000))
def test_augmenter_les_ressources_de_chaque_annee_ne_rend_jamais_eligible(brut, delta) -> None:
    avant = evaluer(*_charger(brut, None), DATE, trace=False)
    apres = evaluer(*_charger(_augmenter(brut, delta), None), DATE, trace=False)
    for financement in ("PLAI", "PLUS", "PLS"):
        if apres["plafonds"][financement]["eligible"] is True:
            assert avant["plafonds"][financement]["eligible"] is True
    if apres["recevable"] is True:
        assert avant["recevable"] is True


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(brut=dossier_genere(), code=st.sampled_from(SITUATIONS), verifiee=st.booleans())
def test_ajouter_une_situation_prioritaire_ne_baisse_jamais_le_score(brut, code, verifiee) -> None:
    avant = evaluer(*_charger(brut, None), DATE, trace=False)
    plus = copy.deepcopy(brut)
    deja = next((s for s in plus["situations"] if s["code"] == code), None)
    if deja is None:
        plus["situations"].append({"code": code, "verifiee": verifiee})
    else:  # a declared situation may only gain its verification
        deja["verifiee"] = deja["verifiee"] or verifiee
    apres = evaluer(*_charger(plus, None), DATE, trace=False)
    if avant["cotation"]["score"] is not None:
        assert apres["cotation"]["grille"] == avant["cotation"]["grille"]
        assert Decimal(str(apres["cotation"]["score"])) >= Decimal(str(avant["cotation"]["score"]))
    assert {p["code"] for p in avant["priorites"]} <= {p["code"] for p in apres["priorites"]}
