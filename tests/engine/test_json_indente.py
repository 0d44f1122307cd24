"""json_indente (sortie de `caleol evaluate` et de POST /api/v1/evaluations) : exactement le texte de
json.dumps(x, ensure_ascii=False, indent=2), orjson n'écrivant que lorsque son texte est le même."""
from __future__ import annotations

import datetime as dt
import enum
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import encodage
from engine.encodage import json_indente, json_indente_octets


class Texte(str):
    pass


class Rang(enum.IntEnum):
    PREMIER = 1


class Statut(str, enum.Enum):
    ACTIVE = "active"


def _attendu(valeur) -> str:
    return json.dumps(valeur, ensure_ascii=False, indent=2)


# Where orjson alone would not write json.dumps's text (exponents, NaN, integers beyond 64 bits,
# keys that are not text), and what both write alike.
CAS_LIMITES = [
    {"petit": 1e-05, "tres_petit": 5e-324, "seuil": 0.0001, "sous_le_seuil": 9.99e-05, "negatif": -1.5e-07},
    {"grand": 1e16, "enorme": 1.7976931348623157e308, "sous_le_seuil": 9999999999999998.0, "entier": 1e15},
    [float("nan"), float("inf"), float("-inf"), -0.0, 0.1 + 0.2, 1 / 3],
    {"a": 2**63, "b": 2**64, "c": -(2**63) - 1, "d": 10**30, "e": -(2**63), "f": 2**64 - 1},
    {1: "un", 1.5: "un et demi", True: "vrai", None: "rien"},
    {"vides": [{}, [], {"x": {}}, [[]], ""], "imbrique": {"a": [1, [2, [3, {"b": None}]]]}},
    {"controle": "".join(map(chr, range(0x20))) + "\x7f\x80\x9f", "guillemets": "« \" » \\ /", "ligne": "\u2028\u2029"},
    {"unicode": "évaluation ñ 漢字 😀 \ufeff \U0010ffff", "clé accentuée": "é"},
    {Texte("clé"): Texte("valeur"), "rang": Rang.PREMIER, "statut": Statut.ACTIVE, "n_uplet": (1, "a", (2,))},
    [True, False, None, 0, -1, 3.0, -2.5, "1e-05"],
    "texte seul", 12, 1.25, None, [], {},
]


@pytest.mark.parametrize("valeur", CAS_LIMITES)
def test_le_texte_est_celui_de_json_dumps_indente(valeur) -> None:
    assert json_indente(valeur) == _attendu(valeur)
    assert json_indente_octets(valeur) == _attendu(valeur).encode("utf-8")


def test_tous_les_caracteres_hors_surrogats() -> None:
    """Le texte est écrit caractère par caractère : chaque caractère, en clé et en valeur, et les caractères
    ASCII à chaque position d'un bloc de 64 (orjson en traite plusieurs à la fois)."""
    texte = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    valeur = {texte[i:i + 5000]: [texte[i:i + 5000]] for i in range(0, len(texte), 5000)}
    assert json_indente_octets(valeur) == _attendu(valeur).encode("utf-8")
    ascii_ = "".join(map(chr, range(0x80)))
    decales = [" " * decalage + ascii_ + "é" for decalage in range(64)]
    assert json_indente_octets(decales) == _attendu(decales).encode("utf-8")


def test_orjson_ecrit_quand_les_jetons_sont_ceux_de_json_dumps(monkeypatch) -> None:
    """Sans cela, l'optimisation pourrait disparaître sans qu'aucun test ne le voie."""
    appels = []
    monkeypatch.setattr(encodage, "_json_indente_python", lambda v: appels.append(v) or _attendu(v))
    resultat = {"eligible": True, "trace": [{"regle": "R-1", "faits": {"revenu": 1742.5, "taux": 0.31}}], "vide": {}}
    assert json_indente(resultat) == _attendu(resultat) and appels == []
    for valeur in ({"x": 1e-05}, [float("nan")], {"n": 2**64}, {1: 2}, [Texte("a")], {"r": Rang.PREMIER}):
        assert json_indente(valeur) == _attendu(valeur)
    assert len(appels) == 6


@pytest.mark.parametrize(("valeur", "erreur", "message"), [
    ({"montant": Decimal("1742.00")}, TypeError, "Decimal is not JSON serializable"),
    ({"naissance": dt.date(1954, 12, 26)}, TypeError, "date is not JSON serializable"),
    ({frozenset(): 1}, TypeError, "keys must be str, int, float, bool or None"),
])
def test_une_valeur_refusee_l_est_comme_par_json_dumps(valeur, erreur, message) -> None:
    with pytest.raises(erreur, match=message):
        json_indente(valeur)


def test_une_reference_circulaire_est_refusee_comme_par_json_dumps() -> None:
    boucle: list = []
    boucle.append(boucle)
    with pytest.raises(ValueError, match="Circular reference detected"):
        json_indente(boucle)


def test_un_surrogat_isole_donne_le_texte_de_json_dumps() -> None:
    assert json_indente({"a": "\ud800"}) == _attendu({"a": "\ud800"})


_scalaires = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
              | st.text(max_size=20))
_valeurs = st.recursive(
    _scalaires,
    lambda enfants: st.lists(enfants, max_size=5) | st.dictionaries(
        st.text(max_size=8) | st.integers() | st.floats(allow_nan=False) | st.booleans(), enfants, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_valeurs)
def test_propriete_meme_texte_que_json_dumps(valeur) -> None:
    assert json_indente(valeur) == _attendu(valeur)
