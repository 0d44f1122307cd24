"""The optimistic lock of a séance in one process (SQLite and PostgreSQL): the API and the decision form
carry the séance version; a stale one is a 409 naming `version_seance` with a French message, a
decision contradicting one recorded meanwhile is a 409 naming its field, and nothing is written; the
test-only pause of tests/concurrence/test_arret_brutal.py happens after every write of the decision."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.webapp.decisions_exemple import Acteur, client, construire
from webapp import create_app
from webapp import db as dbmod
from webapp.api.jetons import creer_jeton
from webapp.models import AuditEntry, Decision, Seance, Vote
from webapp.services import decisions as svc

N1, N2 = "0591126000001A", "0591126000002B"


def _compter(sessions, modele) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(modele))


def _version(sessions, seance_id: int) -> int:
    with sessions() as s:
        return s.get(Seance, seance_id).version


@pytest.fixture
def api(engine, sessions):
    monde = construire(sessions)
    with dbmod.transaction(sessions) as s:
        jeton = creer_jeton(s, "president", libelle="tests", acteur="tests")[1]
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "ENREGISTRER_VERSION_REGLES": False})
    return monde, app.test_client(), {"Authorization": f"Bearer {jeton}"}


def test_l_api_donne_la_version_et_refuse_une_version_perimee(api, sessions):
    monde, http, entete = api
    url = f"/api/v1/seances/{monde.seance_id}"
    version = http.get(url, headers=entete).get_json()["version"]
    assert version == _version(sessions, monde.seance_id)
    audits = _compter(sessions, AuditEntry)
    corps = {"candidature_id": monde.candidatures[N1], "type": "attribution", "unanimite": "pour"}
    r = http.post(url + "/decisions", headers=entete, json=corps | {"version_seance": version + 1})
    assert r.status_code == 409
    erreur = r.get_json()
    assert erreur["status"] == "Conflit" and list(erreur["errors"]) == ["version_seance"]
    assert erreur["errors"]["version_seance"] == [svc.message_version(version + 1, version)]
    assert erreur["message"] == svc.message_version(version + 1, version)
    assert _compter(sessions, Decision) + _compter(sessions, Vote) == 0 and _compter(sessions, AuditEntry) == audits
    assert _version(sessions, monde.seance_id) == version
    r = http.post(url + "/decisions", headers=entete, json=corps | {"version_seance": version})
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.get_json()["version_seance"] == version + 1 == _version(sessions, monde.seance_id)
    # The same body again carries a version that is now stale.
    assert http.post(url + "/decisions", headers=entete, json=corps | {"version_seance": version}).status_code == 409
    assert _compter(sessions, Decision) == 1


def test_l_api_repond_409_a_une_decision_contredite_entre_temps(api, sessions):
    monde, http, entete = api
    url = f"/api/v1/seances/{monde.seance_id}/decisions"
    assert http.post(url, headers=entete, json={"candidature_id": monde.candidatures[N1], "type": "attribution",
                                                "unanimite": "pour"}).status_code == 201
    audits = _compter(sessions, AuditEntry)
    r = http.post(url, headers=entete, json={"candidature_id": monde.candidatures[N2], "type": "attribution",
                                             "unanimite": "pour", "justification": "Situation plus urgente."})
    assert r.status_code == 409
    assert r.get_json()["errors"] == {"type": [f"Type de décision : le logement est déjà attribué au candidat {N1} dans cette séance."]}
    assert _compter(sessions, Decision) == 1 and _compter(sessions, AuditEntry) == audits
    r = http.post(url, headers=entete, json={"candidature_id": monde.candidatures[N2], "type": "attribution",
                                             "unanimite": "pour", "version_seance": "deux"})
    assert r.status_code == 422 and "version_seance" in r.get_json()["errors"]


def test_le_formulaire_perime_est_refuse_en_409_avec_un_message(engine, sessions):
    monde = construire(sessions)
    c = client(engine, "president")
    url = f"/decisions/seances/{monde.seance_id}/candidatures/{monde.candidatures[N1]}"
    version = _version(sessions, monde.seance_id)
    assert f'name="version_seance" value="{version}"' in c.get(url).get_data(as_text=True)
    r = c.post(url + "/decision", data={"type": "attribution", "unanimite": "pour", "version_seance": str(version - 1)})
    assert r.status_code == 409
    page = r.get_data(as_text=True)
    assert ('<p class="message erreur">Version de la séance : la séance a été modifiée depuis que vous l&#39;avez '
            f"ouverte (version {version - 1} lue, version {version} enregistrée)") in page
    assert _compter(sessions, Decision) + _compter(sessions, Vote) == 0
    r = c.post(url + "/decision", data={"type": "attribution", "unanimite": "pour", "version_seance": str(version)})
    assert r.status_code == 302
    assert _version(sessions, monde.seance_id) == version + 1


def test_la_pause_de_test_a_lieu_apres_toutes_les_ecritures(sessions, monkeypatch):
    monde = construire(sessions)
    vu = {}

    def dormir(secondes):
        with sessions() as autre:  # what is flushed is visible to the transaction only, not yet committed
            vu.update(secondes=secondes, committe=autre.scalar(select(func.count()).select_from(Decision)))
        vu["audits_en_cours"] = s.scalar(select(func.count()).select_from(AuditEntry)
                                         .where(AuditEntry.action == "decision.enregistrer"))
        vu["version"] = s.get(Seance, monde.seance_id).version

    monkeypatch.setattr(svc.time, "sleep", dormir)
    monkeypatch.setenv(svc.VARIABLE_PAUSE_DE_TEST, "0.25")
    with sessions.begin() as s:
        svc.enregistrer_decision(s, candidature_id=monde.candidatures[N1], acteur=Acteur(sessions, "president"),
                                 donnees=svc.DonneesDecision(type="attribution"),
                                 votes={m: "pour" for m in (monde.membres["president"], monde.membres["membre1"],
                                                            monde.membres["locataires"], monde.membres["maire"],
                                                            monde.membres["prefet"])})
    assert vu == {"secondes": 0.25, "committe": 0, "audits_en_cours": 1, "version": 2}
