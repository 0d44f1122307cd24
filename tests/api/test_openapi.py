"""openapi.json (à la racine du dépôt) est celui que l'application sert : fichier de référence,
régénéré seulement avec CALEOL_REGENERER_GOLDEN=1 ; la page de documentation n'utilise que des
fichiers locaux, dont les empreintes sont celles du paquet swagger-ui-dist recopié."""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from engine.version import version_regles
from webapp.api import rendre_spec

RACINE = Path(__file__).resolve().parents[2]
FICHIER = RACINE / "openapi.json"
STATIQUE = RACINE / "webapp" / "static" / "api-docs"
OPERATIONS = {
    ("post", "/api/v1/evaluations"), ("get", "/api/v1/demandes"), ("post", "/api/v1/demandes"),
    ("get", "/api/v1/demandes/{numero_unique}"), ("patch", "/api/v1/demandes/{numero_unique}"),
    ("post", "/api/v1/demandes/import-sne"), ("get", "/api/v1/logements"),
    ("get", "/api/v1/logements/{logement_id}/propositions"), ("get", "/api/v1/seances"), ("post", "/api/v1/seances"),
    ("get", "/api/v1/seances/{seance_id}"), ("post", "/api/v1/seances/{seance_id}/decisions"),
    ("get", "/api/v1/quotas"), ("get", "/api/v1/bilan"), ("get", "/api/v1/regles"),
}


def test_le_fichier_openapi_json_est_celui_de_l_application(app):
    texte = rendre_spec(app.extensions["caleol.api"].spec.to_dict())
    if os.environ.get("CALEOL_REGENERER_GOLDEN") == "1":
        FICHIER.write_text(texte, encoding="utf-8")
    assert FICHIER.read_text(encoding="utf-8") == texte, (
        "openapi.json diffère de l'application : relisez la différence puis régénérez avec "
        "CALEOL_REGENERER_GOLDEN=1 pytest tests/api/test_openapi.py")


def test_la_specification_servie_est_le_fichier_et_decrit_chaque_operation(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.headers["X-Caleol-Regles"] == version_regles()
    assert r.get_data(as_text=True) == FICHIER.read_text(encoding="utf-8")
    spec = r.get_json()
    operations = {(m, p) for p, item in spec["paths"].items() for m in item if m in ("get", "post", "patch")}
    assert operations == OPERATIONS
    assert spec["security"] == [{"jeton": []}]
    for methode, chemin in OPERATIONS:
        reponses = spec["paths"][chemin][methode]["responses"]
        assert {"401", "403"} <= set(reponses), (methode, chemin)
        assert spec["paths"][chemin][methode]["x-roles"]
    assert spec["components"]["schemas"]["EnveloppeErreur"]["required"] == ["code", "errors", "message", "status"]


def test_la_page_de_documentation_ne_charge_que_des_fichiers_locaux(client):
    r = client.get("/api/v1/documentation")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/") for s in sources), sources
    for s in sources:
        reponse = client.get(s)
        reponse.close()  # static files are streamed: close them (ResourceWarning otherwise)
        assert reponse.status_code == 200, s


def test_les_fichiers_de_swagger_ui_sont_ceux_du_paquet_publie():
    lisezmoi = (STATIQUE / "README.md").read_text(encoding="utf-8")
    for nom, empreinte in re.findall(r"\| `([^`]+)` \| `([0-9a-f]{64})` \|", lisezmoi):
        assert hashlib.sha256((STATIQUE / "swagger-ui" / nom).read_bytes()).hexdigest() == empreinte, nom
