"""POST /api/v1/evaluations répond exactement ce que `caleol evaluate` imprime sur le même fichier à la même date."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from webapp.cli import main

RACINE = Path(__file__).resolve().parents[2]
SNE = RACINE / "fixtures" / "sne" / "exemple_interfaceNuu_v02.00.xml"
DOSSIER = RACINE / "fixtures" / "dossiers" / "famille_monoparentale_lille.json"
LOGEMENT = {"commune_insee": "59350", "qpv": None, "financement": "PLUS", "typologie": "T3", "nb_pieces": 3,
            "surface_habitable": 64.5, "etage": 2, "ascenseur": True, "accessible_pmr": False,
            "loyer_principal": 412.3, "charges_recuperables": 85}


def _cli(*args: str) -> str:
    r = CliRunner().invoke(main, ["evaluate", *args])
    assert r.exit_code == 0, r.output
    return r.output


def test_le_fichier_sne_d_exemple_donne_le_json_de_caleol_evaluate(client, jeton_lecteur):
    attendu = _cli(str(SNE), "--date", "2026-06-15")
    r = client.post("/api/v1/evaluations?date=2026-06-15", data=SNE.read_bytes(),
                    headers={**jeton_lecteur, "Content-Type": "application/xml"})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json() == json.loads(attendu)
    # Byte for byte: the CLI adds only the final newline of click.echo.
    assert r.get_data(as_text=True) + "\n" == attendu
    assert json.loads(attendu)["trace"]


def test_sans_date_les_deux_evaluent_au_jour_de_reference(client, jeton_lecteur):
    attendu = _cli(str(SNE))
    r = client.post("/api/v1/evaluations", data=SNE.read_bytes(), headers={**jeton_lecteur, "Content-Type": "text/xml"})
    assert r.get_data(as_text=True) + "\n" == attendu
    assert json.loads(attendu)["date_evaluation"] == "2026-06-15"  # CALEOL_TODAY of the tests


def test_un_dossier_json_avec_logement_et_sans_trace_donne_le_meme_json(client, jeton_lecteur, tmp_path):
    fichier_logement = tmp_path / "logement.json"
    fichier_logement.write_text(json.dumps(LOGEMENT), encoding="utf-8")
    attendu = _cli(str(DOSSIER), "--logement", str(fichier_logement), "--date", "2026-06-20", "--sans-trace")
    corps = {"dossier": json.loads(DOSSIER.read_text(encoding="utf-8")), "logement": LOGEMENT, "date": "2026-06-20"}
    r = client.post("/api/v1/evaluations?trace=false", json=corps, headers=jeton_lecteur)
    assert r.get_data(as_text=True) + "\n" == attendu
    assert json.loads(attendu)["adequation"]["financement"] == "PLUS"
