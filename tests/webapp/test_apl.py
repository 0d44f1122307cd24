"""Housing-aid estimate through the real OpenFisca-France web API (started by the fixture)."""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from webapp.models import EstimationApl
from webapp.schemas import charger_dossier
from webapp.services.apl import EstimateurApl

RACINE = Path(__file__).resolve().parents[2]
OPENFISCA = RACINE / ".openfisca" / "bin" / "openfisca"


def _port_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def openfisca_url(tmp_path_factory):
    if not OPENFISCA.exists():
        if os.environ.get("CALEOL_EXIGER_OPENFISCA") == "1":
            pytest.fail("OpenFisca n'est pas installé (make openfisca) alors qu'il est exigé.")
        pytest.skip("OpenFisca non installé : make openfisca")
    port = _port_libre()
    journal = tmp_path_factory.mktemp("openfisca") / "serve.log"
    with open(journal, "wb") as sortie:
        proc = subprocess.Popen(
            [str(OPENFISCA), "serve", "--country-package", "openfisca_france", "--port", str(port), "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            stdout=sortie,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/spec", timeout=2).close()  # noqa: S310 - loopback
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("OpenFisca s'est arrêté : " + journal.read_text(errors="replace")[-2000:])
                time.sleep(0.5)
        else:
            pytest.fail("OpenFisca n'a pas démarré en 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


LOGEMENT_LILLE = {"commune_insee": "59350", "loyer_principal": Decimal("420")}


def _parent_isole(salaire: float, aide_declaree=None) -> dict:
    return charger_dossier(
        {
            "numero_unique": "0591125000999A",
            "date_depot": "2025-01-01",
            "aide_logement_declaree": aide_declaree,
            "personnes": [
                {
                    "role": "demandeur", "date_naissance": "1989-04-17",
                    "ressources": [{"sens": "recue", "code": "SAL", "montant_mensuel": salaire}],
                },
                {"role": "personne_a_charge", "date_naissance": "2014-06-02"},
            ],
        }
    )


def test_l_aide_estimee_par_openfisca_est_celle_du_cas_de_reference(openfisca_url, session):
    # OPENFISCA.md: a parent alone with one child, 1 200 € a month, rent 420 € in Lille, March 2026: 292 €.
    (apl,) = EstimateurApl(openfisca_url).estimer(session, [(_parent_isole(1200), LOGEMENT_LILLE)], dt.date(2026, 3, 10))
    assert apl.source == "openfisca"
    assert apl.montant == Decimal("292.00")


def test_un_lot_fait_une_requete_et_le_cache_evite_la_suivante(openfisca_url, session):
    estimateur = EstimateurApl(openfisca_url)
    lot = [(_parent_isole(1200), LOGEMENT_LILLE), (_parent_isole(2400), LOGEMENT_LILLE), (_parent_isole(1200), LOGEMENT_LILLE)]
    premiers = estimateur.estimer(session, lot, dt.date(2026, 3, 10))
    assert premiers[0].montant == premiers[2].montant
    assert premiers[1].montant < premiers[0].montant
    assert session.scalar(select(func.count()).select_from(EstimationApl)) == 2
    # The cache answers even when the service is gone.
    seconds = EstimateurApl("http://127.0.0.1:9").estimer(session, lot, dt.date(2026, 3, 10))
    assert [a.montant for a in seconds] == [a.montant for a in premiers]


def test_repli_sur_l_aide_declaree_puis_sur_aucune(session):
    hors_service = EstimateurApl("http://127.0.0.1:9", delai=2)
    declaree, aucune = hors_service.estimer(
        session,
        [(_parent_isole(1300, aide_declaree=150), LOGEMENT_LILLE), (_parent_isole(1310), LOGEMENT_LILLE)],
        dt.date(2026, 3, 10),
    )
    assert (declaree.source, declaree.montant) == ("declaree", Decimal("150.00"))
    assert (aucune.source, aucune.montant) == ("aucune", None)
    sans_url = EstimateurApl(None).estimer(session, [(_parent_isole(1300), LOGEMENT_LILLE)], dt.date(2026, 3, 10))
    assert sans_url[0].source == "aucune"


def test_la_situation_envoyee_ne_contient_ni_nom_ni_numero(session):
    from webapp.services.apl import situation

    dossier = _parent_isole(1200)
    dossier["personnes"][0]["nom"] = "Lefebvre"
    texte = json.dumps(situation(dossier, LOGEMENT_LILLE, dt.date(2026, 3, 10), "x"))
    assert "Lefebvre" not in texte and "0591125000999A" not in texte
