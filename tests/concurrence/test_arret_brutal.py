"""kill -9 of the server (master and workers) in the middle of recording a decision, then restart.

The server runs with CALEOL_TEST_PAUSE_DECISION (a test-only hook of webapp.services.decisions): each
decision's transaction stays open for a moment after all its writes (votes, decision, séance version,
audit entry) are flushed. A client thread records decisions one after the other; once three are
committed, the test waits until PostgreSQL shows the fourth transaction open after its audit INSERT
(pg_stat_activity of the server's own connections), kills the whole process group with SIGKILL and
restarts the server. Then: the committed decisions are all there with exactly one audit entry each,
the interrupted one left nothing (no decision, no vote, no audit entry, no version step), the séance
version counts the committed decisions, and the restarted server records the interrupted decision.
"""
from __future__ import annotations

import threading
import time
from collections import Counter

import requests
from sqlalchemy import func, select, text

from tests.concurrence.conftest import SEULEMENT_POSTGRES
from tests.concurrence.monde import LOGEMENTS, construire
from webapp.models import AuditEntry, Decision, Seance, Vote

PAUSE = "1.5"
COMMITTEES_AVANT_ARRET = 3
JUSTIFICATION = "Ordre modifié en séance après examen des situations."


def _plan(monde) -> list[dict]:
    """Twelve decisions, all valid in this order: each logement's candidates ranked 1, 2, 3."""
    return [{"candidature_id": monde.candidatures[(ref, rang)], "type": "attribution_rang", "rang": rang,
             "justification": JUSTIFICATION, "unanimite": "pour"} for ref in LOGEMENTS for rang in (1, 2, 3)]


def _transaction_ouverte_apres_audit(engine, application_name: str) -> bool:
    with engine.connect() as c:
        return bool(c.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = :nom "
            "AND state = 'idle in transaction' AND query ILIKE 'INSERT INTO audit_entry%'"
        ), {"nom": application_name}).scalar())


def _connexions(engine, application_name: str) -> int:
    with engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :nom"),
                         {"nom": application_name}).scalar()


def _etat(sessions, seance_id: int):
    with sessions() as s:
        decisions = {d.id: d.candidature_id for d in s.scalars(select(Decision).where(Decision.seance_id == seance_id))}
        audits = s.scalars(select(AuditEntry).where(AuditEntry.action == "decision.enregistrer")).all()
        votes = Counter(v.candidature_id for v in s.scalars(select(Vote)))
        version = s.get(Seance, seance_id).version
    return decisions, audits, votes, version


@SEULEMENT_POSTGRES
def test_un_arret_brutal_pendant_une_decision_ne_laisse_rien_a_moitie_ecrit(serveur_gunicorn, sessions, engine):
    monde = construire(sessions)
    serveur = serveur_gunicorn(CALEOL_TEST_PAUSE_DECISION=PAUSE)
    assert len(serveur.processus_du_groupe()) == 3  # the master and its 2 workers
    plan = _plan(monde)
    acceptees: list[dict] = []
    coupures: list[BaseException] = []
    inattendues: list = []

    def client() -> None:
        version = monde.version
        with requests.Session() as http:
            http.headers.update(monde.entete(monde.presidents[0]))
            for corps in plan:
                try:
                    r = http.post(f"{serveur.url}/api/v1/seances/{monde.seance_id}/decisions",
                                  json=corps | {"version_seance": version}, timeout=60)
                except requests.ConnectionError as exc:  # the server was killed under this request
                    coupures.append(exc)
                    return
                if r.status_code != 201:
                    inattendues.append((r.status_code, r.text))
                    return
                acceptees.append(r.json())
                version = r.json()["version_seance"]

    fil = threading.Thread(target=client)
    fil.start()
    limite = time.monotonic() + 60
    while len(acceptees) < COMMITTEES_AVANT_ARRET and time.monotonic() < limite and fil.is_alive():
        time.sleep(0.05)
    assert len(acceptees) == COMMITTEES_AVANT_ARRET, inattendues
    # The next decision is being recorded: its transaction is open, everything written but not committed.
    while not _transaction_ouverte_apres_audit(engine, serveur.application_name) and time.monotonic() < limite:
        time.sleep(0.02)
    assert _transaction_ouverte_apres_audit(engine, serveur.application_name)
    serveur.tuer()
    fil.join(timeout=30)
    assert not fil.is_alive()
    assert len(coupures) == 1 and not inattendues, inattendues
    assert len(acceptees) == COMMITTEES_AVANT_ARRET
    assert serveur.processus_du_groupe() == set()
    # PostgreSQL saw the connections drop and rolled their transaction back.
    while _connexions(engine, serveur.application_name) and time.monotonic() < limite:
        time.sleep(0.05)
    assert _connexions(engine, serveur.application_name) == 0

    decisions, audits, votes, version = _etat(sessions, monde.seance_id)
    ids = [corps["id"] for corps in acceptees]
    assert sorted(decisions) == sorted(ids)
    assert sorted(int(a.objet_id) for a in audits) == sorted(ids)
    interrompue = plan[COMMITTEES_AVANT_ARRET]["candidature_id"]
    assert interrompue not in decisions.values() and interrompue not in votes
    assert votes == {decisions[i]: 5 for i in ids}
    assert version == monde.version + COMMITTEES_AVANT_ARRET == acceptees[-1]["version_seance"]

    # Restarted, the server serves again and records the interrupted decision.
    relance = serveur_gunicorn()
    assert relance.sante["statut"] == "ok"
    r = requests.post(f"{relance.url}/api/v1/seances/{monde.seance_id}/decisions", headers=monde.entete(monde.presidents[0]),
                      json=plan[COMMITTEES_AVANT_ARRET] | {"version_seance": version}, timeout=60)
    assert r.status_code == 201, r.text
    decisions, audits, votes, version = _etat(sessions, monde.seance_id)
    assert sorted(decisions) == sorted(ids + [r.json()["id"]])
    assert sorted(int(a.objet_id) for a in audits) == sorted(decisions)
    assert votes == {c: 5 for c in decisions.values()}
    assert version == monde.version + COMMITTEES_AVANT_ARRET + 1
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("decision.%"))) == len(decisions)
