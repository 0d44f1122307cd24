"""Les évaluations de 2 000 dossiers générés restent identiques, octet pour octet, à celles figées.

Le fichier tests/engine/golden/evaluations_generees.json garde, pour chaque évaluation, les 16
premiers chiffres hexadécimaux du SHA-256 de son JSON (`json.dumps(resultat, ensure_ascii=False)`,
ordre des clés compris : c'est ce qu'imprime `caleol evaluate`), trace complète, la version du
référentiel remplacée par un repère fixe (elle change avec tout fichier de rules/, même sans effet
sur ces évaluations). Il a été calculé avec le moteur d'avant les optimisations du chemin chaud de
`engine.evaluation` (commit 2f921e3) : toute optimisation doit rendre exactement la même sortie. Les dossiers viennent du générateur déterministe de
bench/evaluate.py (graine 7) ; un tiers porte un logement, certains sont évalués aussi au
2025-09-01, en contexte d'examen d'occupation ou avec une aide au logement fournie.

Une modification voulue des règles, des paramètres ou du générateur change ces empreintes : après
avoir vérifié la différence, régénérer avec CALEOL_REGENERER_GOLDEN=1.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
import os
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from engine.evaluation import evaluer
from engine.version import version_regles

RACINE = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden" / "evaluations_generees.json"
REGENERER = os.environ.get("CALEOL_REGENERER_GOLDEN") == "1"
GRAINE = 7
NOMBRE = 2000
AUTRE_DATE = dt.date(2025, 9, 1)


@cache
def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_evaluate", RACINE / "bench" / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _evaluations() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(étiquette, arguments, options) de chaque évaluation, dans un ordre fixe."""
    bench = _bench()
    cas = []
    for k, (dossier, logement) in enumerate(bench.lot(GRAINE, 0, NOMBRE)):
        cas.append((f"{k}", {"dossier": dossier, "logement": logement, "date": bench.DATE}, {}))
        if k % 4 == 0:
            cas.append((f"{k}/examen", {"dossier": dossier, "logement": logement, "date": bench.DATE}, {"contexte": "examen_occupation"}))
        if k % 7 == 0:
            cas.append((f"{k}/{AUTRE_DATE}", {"dossier": dossier, "logement": logement, "date": AUTRE_DATE}, {}))
        if k % 5 == 0 and logement is not None:
            cas.append((f"{k}/aide", {"dossier": dossier, "logement": logement, "date": bench.DATE,
                                      "aide_logement": Decimal("123.45")}, {}))
    return cas


def _empreinte(resultat: dict[str, Any]) -> str:
    texte = json.dumps({**resultat, "version_regles": "<version>"}, ensure_ascii=False)
    return hashlib.sha256(texte.encode("utf-8")).hexdigest()[:16]


def empreintes(evaluer=evaluer, controler: bool = True) -> dict[str, str]:
    """Étiquette → empreinte de chaque évaluation (avec `controler`, les deux moteurs et la trace vérifiés)."""
    obtenues: dict[str, str] = {}
    for etiquette, arguments, options in _evaluations():
        resultat = evaluer(**arguments, **options)
        obtenues[etiquette] = _empreinte(resultat)
        # The plain-Python evaluator gives the same JSON, and no trace is the same result without it.
        if controler and etiquette.endswith("0"):
            assert evaluer(**arguments, **options, moteur="python") == resultat, etiquette
            sans_trace = evaluer(**arguments, **options, trace=False)
            assert sans_trace == {**resultat, "trace": []}, etiquette
    return obtenues


def ecrire(obtenues: dict[str, str], version: str) -> None:
    contenu = {
        "graine": GRAINE,
        "nombre_dossiers": NOMBRE,
        "version_regles": version,  # for information: not part of the fingerprints
        "empreinte_totale": hashlib.sha256("".join(obtenues.values()).encode()).hexdigest(),
        "empreintes": obtenues,
    }
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(contenu, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")


def test_les_evaluations_de_dossiers_generes_sont_identiques_a_celles_figees():
    obtenues = empreintes()
    if REGENERER:
        ecrire(obtenues, version_regles())
        pytest.skip("fichier de référence régénéré")
    assert GOLDEN.exists(), f"{GOLDEN} absent : lancez ce test avec CALEOL_REGENERER_GOLDEN=1"
    attendu = json.loads(GOLDEN.read_text(encoding="utf-8"))
    differentes = [e for e, h in obtenues.items() if attendu["empreintes"].get(e) != h]
    assert not differentes, (
        f"{len(differentes)} évaluations diffèrent, dont : {differentes[:10]} ; si les règles ou les paramètres "
        "ont changé volontairement, vérifier ces évaluations puis régénérer avec CALEOL_REGENERER_GOLDEN=1"
    )
    assert set(obtenues) == set(attendu["empreintes"])
    assert hashlib.sha256("".join(obtenues.values()).encode()).hexdigest() == attendu["empreinte_totale"]
