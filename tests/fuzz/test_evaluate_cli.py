"""`caleol evaluate` fuzzed: invalid JSON dossiers and invalid SNE files (tests/fuzz/outils.py).

Each generated file ends with exit code 2 and a French message naming the field (JSON: its dotted path;
SNE: the element path), never a traceback. The command writes nothing (it opens no database): that is
checked by the database print of the API and form tests, which post the same generated documents.
"""
from __future__ import annotations

import json
import re
import time

from click.testing import CliRunner
from hypothesis import given

from webapp.cli import main

from . import outils


def _evaluer(runner: CliRunner, chemin) -> tuple[int, str]:
    r = runner.invoke(main, ["evaluate", str(chemin), "--sans-trace", "--date", "2026-06-15"])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r.exit_code, r.output


def test_caleol_evaluate_refuse_chaque_fichier_invalide_en_nommant_le_champ(tmp_path):
    runner = CliRunner()
    compte = {"json": 0, "xml": 0}
    debut = time.perf_counter()
    json_chemin, xml_chemin = tmp_path / "dossier.json", tmp_path / "dossier.xml"
    n = outils.quota(outils.PART_CLI)

    @outils.reglages(n * 3 // 5)
    @given(cas=outils.dossier_invalide())
    def dossiers(cas):
        dossier, champ = cas
        json_chemin.write_text(json.dumps(dossier, ensure_ascii=False), encoding="utf-8")
        code, sortie = _evaluer(runner, json_chemin)
        assert code == 2, (champ, code, sortie[-500:])
        assert "Traceback" not in sortie
        assert sortie.startswith("Erreur : DOSSIER invalide : "), sortie
        champs = re.findall(r"(?:invalide : | ; )([\w.]+) : ", sortie)
        assert outils.nomme_le_champ(dict.fromkeys(champs), champ), (champ, sortie)
        compte["json"] += 1

    @outils.reglages(n - n * 3 // 5)
    @given(cas=outils.xml_sne_invalide())
    def fichiers_sne(cas):
        contenu, element = cas
        xml_chemin.write_bytes(contenu)
        code, sortie = _evaluer(runner, xml_chemin)
        assert code == 2, (element, code, sortie[-500:])
        assert "Traceback" not in sortie
        assert sortie.startswith("Erreur : DOSSIER (fichier SNE) invalide"), sortie
        assert outils.nomme_l_element(sortie, element), (element, sortie)
        compte["xml"] += 1

    dossiers()
    fichiers_sne()
    duree = time.perf_counter() - debut
    total = sum(compte.values())
    print(f"\ncaleol evaluate : {total} fichiers invalides ({compte['json']} JSON, {compte['xml']} SNE) "
          f"refusés (code 2) en {duree:.1f} s")
    assert total >= n * 0.95, compte
