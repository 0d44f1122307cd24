"""engine.occupation: the triennial schedule, the territories concerned and the five situations of L442-5-2."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine.occupation import echeance_examen, examiner, prochaine_echeance, zone_concernee
from engine.parametres import parametres_a_la_date

DATE = dt.date(2026, 6, 15)
LILLE = "59350"  # Métropole européenne de Lille: concerned (rules/parametres/examen_occupation.yaml)
AMIENS = "80021"  # Amiens Métropole: not concerned

SUR = "OCCUPATION_SUR_OCCUPATION"
SOUS = "OCCUPATION_SOUS_OCCUPATION"
ADAPTE_INUTILE = "OCCUPATION_LOGEMENT_ADAPTE_INUTILE"
HANDICAP = "OCCUPATION_HANDICAP_LOGEMENT_INADAPTE"
RESSOURCES = "OCCUPATION_RESSOURCES_AU_DESSUS_DU_PLAFOND"


def personne(role="demandeur", naissance=dt.date(1980, 1, 1), rfr=None, handicap=False, lien=None):
    return {"role": role, "lien_cotitulaire": lien, "date_naissance": naissance,
            "handicap": {"cmi_invalidite": handicap},
            "revenus_fiscaux": [] if rfr is None else [{"annee": 2024, "montant": Decimal(rfr), "avis": None}],
            "ressources": []}


def menage(nb=1, rfr="15000", handicap=False, besoin=False):
    personnes = [personne(rfr=rfr, handicap=handicap)]
    personnes += [personne("personne_a_charge", dt.date(2015, 1, 1)) for _ in range(nb - 1)]
    return {"besoin_pmr": besoin, "personnes": personnes}


def logement(pieces=2, surface="45", accessible=False, financement="PLUS", commune=LILLE):
    return {"commune_insee": commune, "qpv": None, "financement": financement, "plai_adapte": False,
            "typologie": f"T{min(pieces, 6)}", "nb_pieces": pieces, "surface_habitable": Decimal(surface), "etage": 1,
            "ascenseur": False, "accessible_pmr": accessible, "loyer_principal": Decimal("400"),
            "loyer_annexes": Decimal(0), "charges_recuperables": Decimal(0), "contribution_travaux": Decimal(0)}


def codes(resultat):
    return [s["code"] for s in resultat["situations"]]


CAS = {
    # name: (household, dwelling, expected situations)
    "aucune": (menage(2), logement(3, "60"), []),
    "sur_occupation": (menage(5), logement(2, "40"), [SUR]),  # 5 persons need 43 m²
    "surface_minimale_atteinte": (menage(5), logement(4, "43"), []),
    "sous_occupation": (menage(1), logement(3, "60"), [SOUS]),  # 3 rooms > 1 person + 1
    "pieces_egales_personnes_plus_un": (menage(1), logement(2, "40"), []),
    "adapte_inutile": (menage(2), logement(3, "60", accessible=True), [ADAPTE_INUTILE]),
    "adapte_occupe_par_personne_handicapee": (menage(2, handicap=True), logement(3, "60", accessible=True), []),
    "handicap_logement_inadapte": (menage(2, handicap=True), logement(3, "60"), [HANDICAP]),
    "perte_autonomie_logement_inadapte": (menage(2, besoin=True), logement(3, "60"), [HANDICAP]),
    "ressources_au_dessus": (menage(1, rfr="90000"), logement(2, "40"), [RESSOURCES]),
    "ressources_au_plafond": (menage(1, rfr="23403"), logement(2, "40"), []),  # PLUS 2026 cat. 1: 23 403 €
    "ressources_inconnues": (menage(1, rfr=None), logement(2, "40"), []),
}


@pytest.mark.parametrize("moteur", ["durable", "python"])
@pytest.mark.parametrize("cas", list(CAS))
def test_chaque_situation_est_relevee_ou_non_par_les_regles(cas, moteur):
    foyer, lg, attendu = CAS[cas]
    resultat = examiner(foyer, lg, DATE, moteur=moteur)
    assert codes(resultat) == attendu
    # The trace explains the five rules, each with its reference, applied exactly when found.
    assert len(resultat["trace"]) == 5
    assert {ligne["regle"] for ligne in resultat["trace"] if ligne["appliquee"]} == {s["regle"] for s in resultat["situations"]}
    assert all(ligne["reference"]["titre"].startswith("CCH, art. L442-5-2") for ligne in resultat["trace"])
    assert resultat["version_regles"] and resultat["empreinte_entree"].startswith("sha256:")


def test_plusieurs_situations_a_la_fois_dans_l_ordre_du_referentiel():
    resultat = examiner(menage(1, rfr="90000", handicap=True), logement(4, "80"), DATE)
    assert codes(resultat) == [SOUS, HANDICAP, RESSOURCES]


def test_le_plafond_est_celui_du_financement_du_logement():
    # 30 000 € for one person: above the PLUS ceiling, within the PLS one (PLUS × 1.3).
    assert codes(examiner(menage(1, rfr="30000"), logement(2, "40", financement="PLUS"), DATE)) == [RESSOURCES]
    assert codes(examiner(menage(1, rfr="30000"), logement(2, "40", financement="PLS"), DATE)) == []


def test_resultat_reproductible_et_zone_a_verifier_signalee():
    a = examiner(menage(2), logement(3, "60"), DATE)
    b = examiner(menage(2), logement(3, "60"), DATE)
    assert a == b
    assert a["zone_concernee"] is True and a["periodicite_annees"] == 3
    assert "examen_occupation.epci_concernes" in a["parametres_a_verifier"]
    assert examiner(menage(2), logement(3, "60", commune=AMIENS), DATE)["zone_concernee"] is False


@pytest.mark.parametrize("bail, date, attendu", [
    (dt.date(2024, 1, 10), DATE, None),  # first review not due yet
    (dt.date(2023, 6, 15), DATE, dt.date(2026, 6, 15)),  # due on the third anniversary itself
    (dt.date(2023, 6, 16), DATE, None),  # one day short
    (dt.date(2020, 6, 16), DATE, dt.date(2023, 6, 16)),  # the sixth anniversary is tomorrow
    (dt.date(2014, 3, 1), DATE, dt.date(2026, 3, 1)),  # fourth review (12 years)
    (dt.date(2008, 10, 1), DATE, dt.date(2023, 10, 1)),  # only the latest one is due
    (dt.date(2020, 2, 29), dt.date(2023, 3, 1), dt.date(2023, 2, 28)),  # 29 February: 28 February
])
def test_echeance_tous_les_trois_ans_a_compter_du_bail(bail, date, attendu):
    assert echeance_examen(bail, date) == attendu


def test_prochaine_echeance():
    assert prochaine_echeance(dt.date(2024, 1, 10), DATE) == dt.date(2027, 1, 10)
    assert prochaine_echeance(dt.date(2020, 6, 16), DATE) == dt.date(2026, 6, 16)


def test_zone_concernee_selon_le_parametre():
    p = parametres_a_la_date(DATE)
    assert zone_concernee(LILLE, p) is True
    assert zone_concernee(AMIENS, p) is False
    assert zone_concernee(None, p) is False
