"""The condition language: plain-Python semantics (durable's), validation and French explanations."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine.conditions import (
    catalogue,
    chemins,
    decrire,
    evaluer,
    expliquer_echec,
    faits_plats,
    normaliser_faits,
    valider_condition,
)
from engine.yaml_strict import ErreurRegles

FAITS = {
    "ressources.revenu_retenu": 23403.0,
    "plafonds.PLUS": 23403.0,
    "plafonds.PLAI": 12759.0,
    "menage.nb_personnes": 3,
    "menage.residence_reguliere": "oui",
    "labels.siao": False,
    "demande.motifs": ["05", "12"],
}


@pytest.mark.parametrize(
    ("condition", "attendu"),
    [
        pytest.param({"fait": "menage.nb_personnes", "op": "eq", "valeur": 3}, True, id="eq"),
        pytest.param({"fait": "menage.nb_personnes", "op": "eq", "valeur": 3.0}, True, id="eq entier et décimal"),
        pytest.param({"fait": "menage.nb_personnes", "op": "ne", "valeur": 3}, False, id="ne"),
        pytest.param({"fait": "menage.categorie", "op": "ne", "valeur": 3}, False, id="ne sur un fait absent est faux"),
        pytest.param({"fait": "menage.categorie", "op": "lt", "valeur": 3}, False, id="lt sur un fait absent est faux"),
        pytest.param({"fait": "ressources.revenu_retenu", "op": "le", "valeur_de": "plafonds.PLUS"}, True, id="le à la borne"),
        pytest.param({"fait": "ressources.revenu_retenu", "op": "lt", "valeur_de": "plafonds.PLUS"}, False, id="lt à la borne"),
        pytest.param({"fait": "ressources.revenu_retenu", "op": "gt", "valeur_de": "plafonds.PLAI"}, True, id="gt autre fait"),
        pytest.param({"fait": "ressources.revenu_retenu", "op": "lt", "valeur_de": "plafonds.PLS"}, False, id="valeur_de absente est fausse"),
        pytest.param({"fait": "menage.residence_reguliere", "op": "in", "valeur": ["oui", "non"]}, True, id="in"),
        pytest.param({"fait": "menage.residence_reguliere", "op": "in", "valeur": ["non"]}, False, id="in faux"),
        pytest.param({"fait": "labels.siao", "op": "exists"}, True, id="exists d'un booléen faux"),
        pytest.param({"fait": "labels.pdalhpd", "op": "not_exists"}, True, id="not_exists"),
        pytest.param({"fait": "demande.motifs", "op": "any_item", "condition": {"op": "eq", "valeur": "05"}}, True, id="any_item"),
        pytest.param({"fait": "demande.motifs", "op": "any_item", "condition": {"op": "in", "valeur": ["01", "02"]}}, False, id="any_item in"),
        pytest.param({"not": {"fait": "menage.categorie", "op": "eq", "valeur": 3}}, True, id="not d'un fait absent"),
        pytest.param({"all": [{"fait": "labels.siao", "op": "eq", "valeur": False}, {"fait": "menage.nb_personnes", "op": "ge", "valeur": 3}]}, True, id="all"),
        pytest.param({"any": [{"fait": "labels.siao", "op": "eq", "valeur": True}, {"fait": "menage.nb_personnes", "op": "gt", "valeur": 3}]}, False, id="any"),
    ],
)
def test_semantique_des_conditions(condition, attendu) -> None:
    assert evaluer(condition, FAITS) is attendu


def test_les_faits_absents_vides_ou_non_numeriques_sont_retires() -> None:
    faits = {
        "demande": {"motifs": [], "anciennete_mois": 3},
        "ressources": {"revenu_retenu": Decimal("1200.50"), "quartile": None, "annuel_par_uc": float("nan")},
        "date_evaluation": dt.date(2026, 6, 15),
    }
    assert faits_plats(faits) == {"demande.anciennete_mois": 3, "ressources.revenu_retenu": 1200.5, "date_evaluation": "2026-06-15"}
    assert normaliser_faits({"a.b": 1, "a": {"c": None}}) == {"a": {"b": 1}}
    assert evaluer({"fait": "demande.motifs", "op": "not_exists"}, faits_plats(faits))


def test_les_faits_imbriques_sur_plusieurs_niveaux_sont_aplatis_dans_l_ordre() -> None:
    faits = {
        "a": {"b": {"c": 1, "d": None}, "e": float("inf"), "f": [Decimal("2.50"), None], "g": {}, "h": True},
        "i": {"j": dt.date(2026, 1, 2), "k": {"l": {"m": "x"}}},
        "n": -float("inf"),
    }
    plats = faits_plats(faits)
    assert list(plats.items()) == [("a.b.c", 1), ("a.f", [2.5]), ("a.h", True), ("i.j", "2026-01-02"), ("i.k.l.m", "x")]


@pytest.mark.parametrize("nom", ["kind", "sid", "id"])
def test_un_nom_reserve_est_refuse(nom: str) -> None:
    with pytest.raises(ValueError, match="réservé"):
        faits_plats({nom: "x"})


def test_l_explication_donne_les_valeurs_comparees() -> None:
    cat = catalogue()
    condition = {"fait": "ressources.revenu_retenu", "op": "gt", "valeur_de": "plafonds.PLUS"}
    (message,) = expliquer_echec(condition, FAITS, cat)
    assert message == (
        "revenu fiscal de référence retenu [ressources.revenu_retenu] (23\u202f403) n'est pas supérieur à "
        "plafond PLUS [plafonds.PLUS] (23\u202f403)"
    )
    assert expliquer_echec({"fait": "plafonds.PLS", "op": "exists"}, FAITS, cat) == ["plafond PLS [plafonds.PLS] n'est pas renseigné"]
    assert expliquer_echec({"fait": "menage.nb_personnes", "op": "eq", "valeur": 3}, FAITS, cat) == []


def test_l_explication_d_un_any_liste_chaque_branche() -> None:
    condition = {"any": [{"fait": "labels.siao", "op": "eq", "valeur": True}, {"fait": "demande.motifs", "op": "any_item", "condition": {"op": "eq", "valeur": "01"}}]}
    (message,) = expliquer_echec(condition, FAITS, catalogue())
    assert message.startswith("aucune des conditions n'est remplie")
    assert "label SIAO [labels.siao] (faux) ne vaut pas vrai" in message
    assert "ne contient aucun élément qui vaut « 01 »" in message


def test_l_explication_d_un_all_ne_garde_que_les_conditions_en_echec() -> None:
    condition = {"all": [{"fait": "labels.siao", "op": "eq", "valeur": False}, {"fait": "menage.nb_personnes", "op": "gt", "valeur": 4}]}
    assert expliquer_echec(condition, FAITS, catalogue()) == ["nombre de personnes du ménage [menage.nb_personnes] (3) n'est pas supérieur à 4"]


def test_chemins_et_description() -> None:
    condition = {"all": [{"fait": "a.b", "op": "lt", "valeur_de": "c.d"}, {"not": {"fait": "a.b", "op": "exists"}}]}
    assert chemins(condition) == ["a.b", "c.d"]
    assert decrire({"fait": "menage.nb_personnes", "op": "ge", "valeur": 2}, catalogue()) == (
        "nombre de personnes du ménage [menage.nb_personnes] est supérieur ou égal à 2"
    )


@pytest.mark.parametrize(
    ("condition", "champ", "message"),
    [
        pytest.param({"fait": "menage.inconnu", "op": "eq", "valeur": 1}, "condition.fait", "fait inconnu", id="fait inconnu"),
        pytest.param({"fait": "menage.nb_personnes", "op": "eq", "valeur": "3"}, "condition.valeur", "incompatible", id="texte pour un entier"),
        pytest.param({"fait": "menage.nb_personnes", "op": "eq", "valeur": 2.5}, "condition.valeur", "incompatible", id="décimal pour un entier"),
        pytest.param({"fait": "labels.siao", "op": "lt", "valeur": True}, "condition.valeur", "booléen", id="booléen ordonné"),
        pytest.param({"fait": "menage.residence_reguliere", "op": "eq", "valeur": "peut-etre"}, "condition.valeur", "hors de la liste", id="valeur hors liste"),
        pytest.param({"fait": "menage.nb_personnes", "op": "in", "valeur": []}, "condition.valeur", "non vide", id="in vide"),
        pytest.param({"fait": "menage.nb_personnes", "op": "div", "valeur": 2}, "condition.op", "opérateur inconnu", id="division"),
        pytest.param({"fait": "menage.nb_personnes", "op": "any_item", "condition": {"op": "eq", "valeur": "1"}}, "condition.op", "liste", id="any_item hors liste"),
        pytest.param({"fait": "menage.nb_personnes", "op": "lt", "valeur": 1, "valeur_de": "menage.categorie"}, "condition", "exactement une", id="valeur et valeur_de"),
        pytest.param({"fait": "menage.nb_personnes", "op": "lt", "valeur_de": "menage.residence_reguliere"}, "condition.valeur_de", "incompatibles", id="types incompatibles"),
        pytest.param({"all": []}, "condition.all", "non vide", id="all vide"),
        pytest.param({"fait": "adequation.taux_effort", "op": "lt", "valeur": 1e-05}, "condition.valeur", "exposant", id="nombre à exposant"),
        pytest.param({"all": [{"fait": "x.y", "op": "exists"}]}, "condition.all.0.fait", "fait inconnu", id="chemin de l'erreur"),
        pytest.param({"fait": "demande.motifs", "op": "any_item", "condition": {"op": "eq", "valeur": "99"}}, "condition.condition.valeur", "hors de la liste", id="code SNE inconnu"),
        pytest.param({"fait": "situations.PRIO_INCONNUE", "op": "eq", "valeur": True}, "condition.fait", "fait inconnu", id="situation inconnue"),
    ],
)
def test_une_condition_mal_formee_est_refusee_en_nommant_le_champ(condition, champ, message) -> None:
    with pytest.raises(ErreurRegles) as exc:
        valider_condition(condition, catalogue(), fichier="regles.yaml", regle="x.y_z")
    assert exc.value.champ == champ
    assert exc.value.regle == "x.y_z"
    assert message in str(exc.value)
