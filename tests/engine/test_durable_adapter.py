"""The durable_rules adapter: compilation, the pitfalls of DURABLE_RULES.md §7, agreement with Python."""
from __future__ import annotations

import itertools
import threading

import pytest

from engine.conditions import compiler
from engine.durable_adapter import (
    DISCRIMINANT,
    NOM_CATCH_ALL,
    TAILLE_SHARD,
    ErreurMoteur,
    MoteurDurable,
    compiler_condition,
    poids,
    repartir,
)

CONDITIONS = {
    "t.eq_entier": {"fait": "a.n", "op": "eq", "valeur": 3},
    "t.ne_entier": {"fait": "a.n", "op": "ne", "valeur": 3},
    "t.lt_decimal": {"fait": "a.x", "op": "lt", "valeur": 10.5},
    "t.ge_decimal": {"fait": "a.x", "op": "ge", "valeur": 10.5},
    "t.le_autre": {"fait": "a.x", "op": "le", "valeur_de": "b.y"},
    "t.gt_autre": {"fait": "a.x", "op": "gt", "valeur_de": "b.y"},
    "t.eq_autre": {"fait": "a.n", "op": "eq", "valeur_de": "b.m"},
    "t.ne_autre": {"fait": "a.n", "op": "ne", "valeur_de": "b.m"},
    "t.in_texte": {"fait": "a.s", "op": "in", "valeur": ["SD", "SQUAT"]},
    "t.eq_booleen": {"fait": "a.b", "op": "eq", "valeur": False},
    "t.existe": {"fait": "b.y", "op": "exists"},
    "t.absent": {"fait": "b.y", "op": "not_exists"},
    "t.liste_contient": {"fait": "a.l", "op": "any_item", "condition": {"op": "eq", "valeur": "05"}},
    "t.liste_in": {"fait": "a.l", "op": "any_item", "condition": {"op": "in", "valeur": ["01", "12"]}},
    "t.liste_ne": {"fait": "a.l", "op": "any_item", "condition": {"op": "ne", "valeur": "05"}},
    "t.non_liste": {"not": {"fait": "a.l", "op": "any_item", "condition": {"op": "eq", "valeur": "05"}}},
    "t.non_lt": {"not": {"fait": "a.x", "op": "lt", "valeur": 10.5}},
    "t.non_autre": {"not": {"fait": "a.x", "op": "le", "valeur_de": "b.y"}},
    "t.non_in": {"not": {"fait": "a.s", "op": "in", "valeur": ["SD", "SQUAT"]}},
    "t.non_existe": {"not": {"fait": "b.y", "op": "exists"}},
    "t.non_tout": {"not": {"all": [{"fait": "a.b", "op": "eq", "valeur": True}, {"fait": "a.n", "op": "ge", "valeur": 2}]}},
    "t.non_non": {"not": {"not": {"fait": "a.n", "op": "eq", "valeur": 3}}},
    "t.ou_et": {"any": [{"all": [{"fait": "a.n", "op": "gt", "valeur": 1}, {"fait": "a.s", "op": "eq", "valeur": "SD"}]}, {"fait": "b.y", "op": "lt", "valeur": 0}]},
}

FAITS = [
    {},
    {"a.n": 3},
    {"a.n": 3.0, "b.m": 3},
    {"a.n": 2, "b.m": 3, "a.x": 10.5, "b.y": 10.5},
    {"a.x": 10.49, "b.y": -1.0, "a.s": "SD", "a.n": 5},
    {"a.x": 1.0},  # b.y absent: durable seul répondrait vrai à a.x < $m b.y
    {"a.x": -3, "a.b": False, "a.l": ["05"]},
    {"a.l": ["01", "13"], "a.b": True, "a.n": 2, "a.s": "SQUAT"},
    {"a.l": ["05", "05"], "a.s": "LP", "a.b": True, "a.n": 1},
]


@pytest.fixture(scope="module", params=[
    ("leger", "plate", "reutilise"), ("leger", "plate", "par_evaluation"), ("standard", "plate", "par_evaluation"),
    ("leger", "imbriquee", "reutilise"), ("standard", "imbriquee", "par_evaluation"),
])
def moteur(request):
    # both ways of running durable's action loop, with flat or nested facts, in a reused state or in
    # one state per evaluation, must give the same answers
    glue, forme, etat = request.param
    m = MoteurDurable({"t": [(rid, cond, _chemins(cond)) for rid, cond in CONDITIONS.items()]},
                      prefixe=f"test.{glue}.{forme}.{etat}", glue=glue, forme=forme, etat=etat)
    yield m
    assert m.faits_en_memoire() == 0
    m.fermer()


def _chemins(cond):
    from engine.conditions import chemins

    return chemins(cond)


@pytest.mark.parametrize("faits", FAITS, ids=[str(f) for f in FAITS])
def test_durable_et_python_s_accordent(moteur, faits) -> None:
    attendu = sorted(rid for rid, cond in CONDITIONS.items() if compiler(cond)(faits))
    assert sorted(moteur.appliquees(faits, ["t"])) == attendu


def test_chaque_regle_commence_par_le_discriminant_et_chaque_shard_a_un_catch_all(moteur) -> None:
    for definition in moteur.definition.values():
        assert definition[NOM_CATCH_ALL]["all"] == [{"m": DISCRIMINANT}]
        assert definition[NOM_CATCH_ALL]["pri"] == 65000
        for nom, regle in definition.items():
            assert regle["run"] == nom  # deep copy: durable has not removed `run` from ours
            if nom != NOM_CATCH_ALL:
                assert regle["all"][0]["m"]["$and"][0] == DISCRIMINANT


def test_une_comparaison_a_un_autre_fait_est_gardee_par_son_existence() -> None:
    assert compiler_condition({"fait": "a.x", "op": "lt", "valeur_de": "b.y"}) == {
        "$and": [{"$ex": {"b.y": 1}}, {"$lt": {"a.x": {"$m": "b.y"}}}]
    }
    assert compiler_condition({"not": {"fait": "a.x", "op": "lt", "valeur": 2}}) == {
        "$or": [{"$nex": {"a.x": 1}}, {"$gte": {"a.x": 2}}]
    }


def test_poids_et_shards() -> None:
    assert poids(compiler_condition(CONDITIONS["t.in_texte"])) == 2
    assert poids(compiler_condition(CONDITIONS["t.ou_et"])) == 2
    regles = [(f"r.x_{i}", {"$or": [{"a": i}, {"b": i}, {"c": i}]}) for i in range(40)]
    shards = repartir(regles)
    assert all(sum(p for _, _, p in s) <= TAILLE_SHARD for s in shards)
    assert sum(len(s) for s in shards) == 40
    with pytest.raises(ValueError, match="alternatives"):
        repartir([("r.trop_large", {"$or": [{"a": i} for i in range(TAILLE_SHARD + 1)]})])


def test_plus_de_1024_evaluations_ne_saturent_pas_les_etats(moteur) -> None:
    # durable garde au plus 1 024 sids vivants par ruleset : chaque évaluation supprime le sien.
    for i in range(1100):
        assert ("t.eq_entier" in moteur.appliquees({"a.n": 3 if i % 2 else 4}, ["t"])) is bool(i % 2)


@pytest.mark.parametrize("glue", ["leger", "standard"])
def test_des_evaluations_sans_regle_appliquee_ne_plantent_pas(glue) -> None:
    # delete_state après un fait qui n'a déclenché aucune action : segfault sans la règle catch-all.
    m = MoteurDurable({"u": [("u.a_b", {"fait": "a.n", "op": "eq", "valeur": 1}, ["a.n"])]}, prefixe=f"vide.{glue}", glue=glue)
    for _ in range(200):
        assert m.appliquees({"a.n": 2}, ["u"]) == []
    m.fermer()


def test_aucun_thread_de_fond_n_est_demarre() -> None:
    avant = threading.active_count()
    m = MoteurDurable({"u": [("u.a_b", {"fait": "a.n", "op": "eq", "valeur": 1}, ["a.n"])]}, prefixe="fils")
    m.appliquees({"a.n": 1}, ["u"])
    assert threading.active_count() == avant
    m.fermer()


def test_une_exception_dans_une_action_est_levee() -> None:
    m = MoteurDurable({"u": [("u.a_b", {"fait": "a.n", "op": "eq", "valeur": 1}, ["a.n"])]}, prefixe="exception", glue="standard")

    def action_en_erreur(c):
        raise RuntimeError("panne volontaire")

    m._hote._ruleset_directory["exception.u.0"]._actions["u.a_b"]._func = action_en_erreur
    with pytest.raises(ErreurMoteur, match="panne volontaire"):
        m.appliquees({"a.n": 1}, ["u"])
    # l'état a été supprimé malgré l'erreur : les évaluations suivantes marchent
    assert m.appliquees({"a.n": 2}, ["u"]) == []
    m.fermer()


@pytest.mark.parametrize("glue", ["leger", "standard"])
def test_un_fait_refuse_par_durable_devient_une_erreur_du_moteur(glue) -> None:
    # plus de 255 propriétés dans un fait : durable refuse (code 302).
    chemins = [f"a.p{i}" for i in range(300)]
    m = MoteurDurable({"u": [("u.beaucoup_champs", {"fait": "a.p0", "op": "eq", "valeur": 1}, chemins)]}, prefixe=f"limite.{glue}", glue=glue)
    with pytest.raises(ErreurMoteur):
        m.appliquees({c: 1 for c in chemins}, ["u"])
    assert m.appliquees({"a.p0": 1}, ["u"]) == ["u.beaucoup_champs"]
    m.fermer()


def test_un_identifiant_en_double_est_refuse() -> None:
    cond = {"fait": "a.n", "op": "eq", "valeur": 1}
    with pytest.raises(ValueError, match="double"):
        MoteurDurable({"u": [("u.a_b", cond, ["a.n"])], "v": [("u.a_b", cond, ["a.n"])]}, prefixe="double")


def test_les_combinaisons_de_faits_s_accordent_sur_toutes_les_conditions(moteur) -> None:
    valeurs = {"a.n": [None, 2, 3], "a.x": [None, 10.5, 1.0], "b.y": [None, 10.5], "a.l": [None, ["05"], ["12"]]}
    for combinaison in itertools.product(*valeurs.values()):
        faits = {k: v for k, v in zip(valeurs, combinaison, strict=True) if v is not None}
        attendu = sorted(rid for rid, cond in CONDITIONS.items() if compiler(cond)(faits))
        assert sorted(moteur.appliquees(faits, ["t"])) == attendu, faits


@pytest.mark.parametrize("glue", ["leger", "standard"])
@pytest.mark.parametrize("x", [1e-05, 1.5e-07, 1e16, -2.5e20, 0.0001])
def test_un_decimal_ecrit_avec_exposant_est_accepte(glue, x) -> None:
    # le parseur JSON de durable refuse « 1e-05 » (code 204) : l'adaptateur écrit 0.00001.
    conditions = {
        "u.x_petit": {"fait": "a.x", "op": "lt", "valeur": 0.5},
        "u.x_positif": {"fait": "a.x", "op": "gt", "valeur": 0.001},
        "u.x_grand": {"fait": "a.x", "op": "ge", "valeur": 1000000},
    }
    m = MoteurDurable({"u": [(r, c, ["a.x"]) for r, c in conditions.items()]}, prefixe=f"exposant.{glue}.{x}", glue=glue)
    assert sorted(m.appliquees({"a.x": x}, ["u"])) == sorted(r for r, c in conditions.items() if compiler(c)({"a.x": x}))
    m.fermer()


def test_une_glue_ou_une_forme_de_faits_inconnue_est_refusee() -> None:
    cond = {"fait": "a.n", "op": "eq", "valeur": 1}
    with pytest.raises(ValueError, match="glue inconnue"):
        MoteurDurable({"u": [("u.a_b", cond, ["a.n"])]}, prefixe="glue.inconnue", glue="rapide")
    with pytest.raises(ValueError, match="forme de faits inconnue"):
        MoteurDurable({"u": [("u.a_b", cond, ["a.n"])]}, prefixe="forme.inconnue", forme="aplatie")


def test_l_etat_reutilise_ne_garde_aucun_fait_entre_deux_evaluations() -> None:
    m = MoteurDurable({"t": [(rid, cond, _chemins(cond)) for rid, cond in CONDITIONS.items()]}, prefixe="reutilise", etat="reutilise")
    assert m.etat_reutilise and m.faits_en_memoire() == 0
    for faits in FAITS * 3:
        attendu = sorted(rid for rid, cond in CONDITIONS.items() if compiler(cond)(faits))
        assert sorted(m.appliquees(faits, ["t"])) == attendu, faits
        assert m.faits_en_memoire() == 0
    m.fermer()


def test_apres_un_fait_refuse_l_etat_reutilise_repart_de_zero() -> None:
    chemins = [f"a.p{i}" for i in range(300)]
    m = MoteurDurable({"u": [("u.beaucoup_champs", {"fait": "a.p0", "op": "eq", "valeur": 1}, chemins)]}, prefixe="reutilise.refus", etat="reutilise")
    assert m.appliquees({"a.p0": 1}, ["u"]) == ["u.beaucoup_champs"]
    with pytest.raises(ErreurMoteur):
        m.appliquees({c: 1 for c in chemins}, ["u"])
    assert m.faits_en_memoire() == 0
    assert m.appliquees({"a.p0": 1}, ["u"]) == ["u.beaucoup_champs"]
    assert m.appliquees({"a.p0": 2}, ["u"]) == []
    assert m.faits_en_memoire() == 0
    m.fermer()


def test_la_glue_standard_n_a_qu_un_etat_par_evaluation() -> None:
    cond = {"fait": "a.n", "op": "eq", "valeur": 1}
    with pytest.raises(ValueError, match="état"):
        MoteurDurable({"u": [("u.a_b", cond, ["a.n"])]}, prefixe="standard.reutilise", glue="standard", etat="reutilise")
    m = MoteurDurable({"u": [("u.a_b", cond, ["a.n"])]}, prefixe="standard.defaut", glue="standard")
    assert not m.etat_reutilise
    m.fermer()


def test_par_defaut_chaque_evaluation_a_son_propre_etat_supprime_ensuite() -> None:
    # DURABLE_RULES.md §7: one state id per evaluation, deleted in `finally`.
    m = MoteurDurable({"d": [(rid, cond, _chemins(cond)) for rid, cond in CONDITIONS.items()]}, prefixe="defaut")
    assert not m.etat_reutilise
    m.fermer()
