"""Les encodeurs JSON construits une fois donnent exactement le texte de json.dumps."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from engine.encodage import encodeur_json

VALEURS = [
    {},
    {"b": 1, "a": [1.5, 2, None, True, False], "é": "évaluation « quotée » \"\\ \n", "c": {"z": 1e-05, "y": 1e16, "x": -0.0}},
    [{"menage.nb_personnes": 3, "kind": "candidat", "sid": "12"}, "\u202f", 0.1 + 0.2, float("inf")],
    {"dossier": {"montant": Decimal("1742.00"), "naissance": dt.date(1954, 12, 26)}, "logement": None},
]


def _defaut(valeur):
    if isinstance(valeur, Decimal):
        return str(valeur)
    if isinstance(valeur, dt.date):
        return valeur.isoformat()
    raise TypeError(type(valeur).__name__)


@pytest.mark.parametrize("valeur", VALEURS)
def test_le_texte_est_celui_de_json_dumps(valeur) -> None:
    canonique = encodeur_json(trier=True, separateurs=(",", ":"), defaut=_defaut)
    assert canonique(valeur) == json.dumps(valeur, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_defaut)
    if "dossier" not in str(valeur):
        assert encodeur_json()(valeur) == json.dumps(valeur, ensure_ascii=False)


def test_une_valeur_non_serialisable_est_refusee() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        encodeur_json()({"a": Decimal("1")})
