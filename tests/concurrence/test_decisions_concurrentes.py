"""Eight président(e)s record decisions on one séance at the same time, against gunicorn (2 workers) and
PostgreSQL: no lost update, one effective attribution per logement, one candidate per rank, a French
409 for every refused write and nothing half-written.

Every thread reads the séance version, waits at a barrier, then sends its decision with that version
(optimistic lock). The first commit bumps the version, so exactly one first attempt succeeds and the
seven others get a 409 on `version_seance`; a thread refused for a stale version reads the séance
again and retries; a thread whose decision contradicts one committed meanwhile gets a 409 on `type`
or `rang` and stops.
"""
from __future__ import annotations

import re
import threading
from collections import Counter

import requests
from sqlalchemy import func, select

from tests.concurrence.conftest import SEULEMENT_POSTGRES
from tests.concurrence.monde import MOT_DE_PASSE, construire
from webapp.models import AuditEntry, Decision, Seance, Vote
from webapp.services.decisions import MESSAGES_CONTRAINTES

JUSTIFICATION = "Ordre modifié en séance après examen des situations."
# (logement, rang proposé du candidat, type, rang décidé): one plan per thread / président(e).
PLAN = [
    ("L-1", 1, "attribution", None),
    ("L-1", 2, "attribution", None),
    ("L-1", 3, "attribution", None),
    ("L-2", 1, "attribution_rang", 1),
    ("L-2", 2, "attribution_rang", 1),
    ("L-2", 3, "attribution_rang", 3),
    ("L-3", 1, "attribution", None),
    ("L-4", 2, "attribution", None),
]
MESSAGES_CONFLIT = [
    re.compile(r"^Version de la séance : la séance a été modifiée depuis que vous l'avez ouverte \(version \d+ lue, "
               r"version \d+ enregistrée\) ; rien n'a été enregistré"),
    re.compile(r"^Type de décision : le logement est déjà attribué au candidat \w+ dans cette séance\.$"),
    re.compile(r"^Rang : le rang 1 est déjà donné au candidat \w+ pour ce logement\.$"),
    *(re.compile("^" + re.escape(m) + "$") for m in MESSAGES_CONTRAINTES.values()),
]
ESSAIS_MAX = 20


def _version(serveur, monde, ident) -> int:
    r = requests.get(f"{serveur.url}/api/v1/seances/{monde.seance_id}", headers=monde.entete(ident), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["version"]


@SEULEMENT_POSTGRES
def test_huit_presidences_decident_en_meme_temps_sans_perte_ni_doublon(serveur_gunicorn, sessions):
    monde = construire(sessions)
    serveur = serveur_gunicorn()
    assert len(serveur.processus_du_groupe()) == 3  # the master and its 2 workers
    version_initiale = _version(serveur, monde, monde.presidents[0])
    barriere = threading.Barrier(len(PLAN))
    resultats: list[list[tuple[int, dict]]] = [[] for _ in PLAN]
    erreurs: list[BaseException] = []

    def presidence(i: int) -> None:
        ident = monde.presidents[i]
        logement, rang_propose, type_, rang = PLAN[i]
        corps = {"candidature_id": monde.candidatures[(logement, rang_propose)], "type": type_, "rang": rang,
                 "justification": JUSTIFICATION, "unanimite": "pour"}
        try:
            version = _version(serveur, monde, ident)
            with requests.Session() as http:
                http.headers.update(monde.entete(ident))
                barriere.wait(timeout=60)
                for _ in range(ESSAIS_MAX):
                    r = http.post(f"{serveur.url}/api/v1/seances/{monde.seance_id}/decisions",
                                  json=corps | {"version_seance": version}, timeout=60)
                    resultats[i].append((r.status_code, r.json()))
                    if r.status_code == 409 and "version_seance" in r.json()["errors"]:
                        version = _version(serveur, monde, ident)
                        continue
                    break
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            erreurs.append(exc)

    fils = [threading.Thread(target=presidence, args=(i,)) for i in range(len(PLAN))]
    for f in fils:
        f.start()
    for f in fils:
        f.join(timeout=120)
    assert not erreurs, erreurs
    assert all(not f.is_alive() for f in fils)

    # First attempts all carried the same version: exactly one wins, seven get the optimistic-lock 409.
    premiers = Counter(r[0][0] for r in resultats)
    assert premiers == {201: 1, 409: 7}, resultats
    for essais in resultats:
        for statut, corps in essais:
            assert statut in (201, 409), (statut, corps)
            if statut == 409:
                assert corps["code"] == 409 and corps["status"] == "Conflit" and corps["errors"]
                for champ, messages in corps["errors"].items():
                    assert champ in ("version_seance", "type", "rang")
                    for m in messages:
                        assert any(p.search(m) for p in MESSAGES_CONFLIT), m
    finals = [essais[-1] for essais in resultats]
    acceptees = {i: corps for i, (statut, corps) in enumerate(finals) if statut == 201}
    refusees = {i: corps for i, (statut, corps) in enumerate(finals) if statut == 409}
    assert len(acceptees) + len(refusees) == len(PLAN)
    # L-1: one attribution among three; L-2: one first rank among two, the third rank; L-3 and L-4.
    assert len([i for i in acceptees if i in (0, 1, 2)]) == 1
    assert len([i for i in acceptees if i in (3, 4)]) == 1
    assert {5, 6, 7} <= set(acceptees)
    assert len(acceptees) == 5 and len(refusees) == 3
    for i, corps in refusees.items():
        assert set(corps["errors"]) <= {"type", "rang"} and "version_seance" not in corps["errors"], corps

    with sessions() as s:
        decisions = {d.id: d for d in s.scalars(select(Decision).where(Decision.seance_id == monde.seance_id))}
        audits = s.scalars(select(AuditEntry).where(AuditEntry.action == "decision.enregistrer")).all()
        votes = s.scalars(select(Vote)).all()
        version_finale = s.get(Seance, monde.seance_id).version
    # No lost update: every accepted write is in the database and in the audit, nothing else is.
    assert set(decisions) == {corps["id"] for corps in acceptees.values()}
    for i, corps in acceptees.items():
        logement, rang_propose, type_, rang = PLAN[i]
        d = decisions[corps["id"]]
        assert (d.candidature_id, str(d.type), d.rang) == (monde.candidatures[(logement, rang_propose)], type_, rang)
    assert sorted(int(a.objet_id) for a in audits) == sorted(decisions)
    assert {int(a.objet_id): a.acteur for a in audits} == {corps["id"]: monde.presidents[i] for i, corps in acceptees.items()}
    # Nothing half-written: the votes are those of the accepted decisions only (5 members each).
    assert Counter(v.candidature_id for v in votes) == {d.candidature_id: 5 for d in decisions.values()}
    # One version step per accepted decision, none for a refused one.
    assert version_finale == version_initiale + len(acceptees)
    assert max(corps["version_seance"] for corps in acceptees.values()) == version_finale


@SEULEMENT_POSTGRES
def test_un_formulaire_perime_recoit_un_409_et_un_message_sans_rien_ecrire(serveur_gunicorn, sessions):
    """Four président(e)s open the same candidature's page, then submit at once: one decision, three
    pages answered 409 with the conflict message flashed, and a fresh form that then succeeds."""
    monde = construire(sessions)
    serveur = serveur_gunicorn()
    cid = monde.candidatures[("L-1", 1)]
    url = f"{serveur.url}/decisions/seances/{monde.seance_id}/candidatures/{cid}"
    navigateurs = []
    for ident in monde.presidents[:4]:
        http = requests.Session()
        page = http.get(f"{serveur.url}/connexion", timeout=30).text
        jeton = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        r = http.post(f"{serveur.url}/connexion", data={"identifiant": ident, "mot_de_passe": MOT_DE_PASSE,
                                                        "csrf_token": jeton}, allow_redirects=False, timeout=30)
        assert r.status_code == 302, r.text
        page = http.get(url, timeout=30).text
        formulaire = page[page.index('id="formulaire-decision"'):]
        champs = dict(re.findall(r'<input type="hidden" name="(csrf_token|version_seance)" value="([^"]+)"', formulaire))
        assert champs["version_seance"] == str(monde.version)
        navigateurs.append((http, champs))
    barriere = threading.Barrier(len(navigateurs))
    reponses: list = [None] * len(navigateurs)

    def soumettre(i: int) -> None:
        http, champs = navigateurs[i]
        barriere.wait(timeout=60)
        reponses[i] = http.post(url + "/decision", data=champs | {"type": "attribution", "unanimite": "pour"},
                                allow_redirects=False, timeout=60)

    fils = [threading.Thread(target=soumettre, args=(i,)) for i in range(len(navigateurs))]
    for f in fils:
        f.start()
    for f in fils:
        f.join(timeout=120)
    assert Counter(r.status_code for r in reponses) == {302: 1, 409: 3}
    for r in reponses:
        if r.status_code == 409:
            assert '<p class="message erreur">Version de la séance : la séance a été modifiée depuis que vous l&#39;avez ouverte' in r.text
            # The page shows the fresh state: the decision recorded meanwhile and the new version.
            assert 'name="version_seance" value="%d"' % (monde.version + 1) in r.text
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Decision)) == 1
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "decision.enregistrer")) == 1
        assert s.get(Seance, monde.seance_id).version == monde.version + 1
    # A refused président(e) resubmits the fresh form of another candidate of the same logement: the
    # conflict is now the logement's, answered 409 on the form as well.
    perdant = next(i for i, r in enumerate(reponses) if r.status_code == 409)
    http, champs = navigateurs[perdant]
    autre = f"{serveur.url}/decisions/seances/{monde.seance_id}/candidatures/{monde.candidatures[('L-1', 2)]}"
    page = http.get(autre, timeout=30).text
    champs = dict(re.findall(r'<input type="hidden" name="(csrf_token|version_seance)" value="([^"]+)"',
                             page[page.index('id="formulaire-decision"'):]))
    r = http.post(autre + "/decision", data=champs | {"type": "attribution", "unanimite": "pour",
                                                      "justification": JUSTIFICATION}, allow_redirects=False, timeout=60)
    assert r.status_code == 409
    assert "Type de décision : le logement est déjà attribué au candidat" in r.text
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Decision)) == 1
