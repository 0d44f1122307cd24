"""W3 (issue 7): a local load generator against gunicorn (2 workers) on PostgreSQL.

    .venv/bin/python bench/w3_charge.py --schema caleol_bench_x     # a schema kept by w1_rescore.py --garder
    .venv/bin/python bench/w3_charge.py                             # builds its own (20 000 demandes)
    .venv/bin/python bench/w3_charge.py --clients 1,2,4 --n-api 1000 --n-seance 100

Setup (not timed): a PostgreSQL schema with the demo data set and every active demande evaluated
(`--schema`: reused, e.g. the 223 000 demandes kept by bench/w1_rescore.py --garder; otherwise a
fresh one is built here and dropped at the end). In it, a séance of the demo bailleur's commission:
20 vacant logements put on its agenda by `inscrire_logements` (the proposals, computed by Caléol),
completed to 5 candidatures per logement with other demandes wishing the logement's commune; an API
token for the demo account `charge.attribution`; 200 demo dossiers (JSON) to send.

The server: `gunicorn -c gunicorn.conf.py webapp.wsgi:app` (the production configuration of the
repository: gthread, preload, rulebook compiled in each worker) with CALEOL_WORKERS=2, on a free
local port, CALEOL_DATABASE_URL pointing at the schema; started by the script, waited for on /sante
(200 from both workers' point of view), stopped at the end. Its log goes to a temporary file.

The load: C client threads (requests.Session each, keep-alive), each sending requests back to back
until N requests are done in all, after a warm-up of 2 × C requests per scenario (not measured):

* (a) POST /api/v1/evaluations with `Authorization: Bearer …`, body one dossier (rotating over the
  200): the engine's evaluation through the API; target p95 ≤ 10 ms. `--client leger` sends them
  through http.client instead of requests (less CPU of the generator in each duration);
* (b) GET /decisions/seances/<id> as the demo président (logged in through the login form and its CSRF
  token): the séance page with 20 logements × 5 candidates; target p95 ≤ 300 ms.

Printed per scenario and concurrency: p50 / p95 / max milliseconds (client side: from sending the
request to the end of the response body), requests per second, errors (any status other than 200),
the load average before and after. The load generator runs on the same 2-core machine as the server
and PostgreSQL: its own CPU use is part of the conditions.
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlsplit

RACINE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(RACINE))
sys.path.insert(0, str(RACINE / "bench"))

import requests  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from webapp import db as dbmod  # noqa: E402
from webapp.migrations import upgrade  # noqa: E402
from schema_bench import liberer_schema  # noqa: E402  (bench/schema_bench.py)

MOT_DE_PASSE = "caleol-demo"
CIBLES_MS = {"api": 10.0, "seance": 300.0}


def charge_machine() -> str:
    un, cinq, quinze = os.getloadavg()
    return f"charge {un:.2f} / {cinq:.2f} / {quinze:.2f}"


def centile(valeurs: list[float], p: float) -> float:
    v = sorted(valeurs)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p
    bas, haut = int(k), min(int(k) + 1, len(v) - 1)
    return v[bas] + (v[haut] - v[bas]) * (k - bas)


def port_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- setup


def construire_base(engine, factory, args, date: dt.date) -> None:
    import propose

    propose.charger_et_evaluer(engine, factory, "", args, date)


def preparer_seance(factory, date: dt.date, nb_logements: int, nb_candidats: int) -> tuple[int, int]:
    """A séance of the demo bailleur with nb_logements × nb_candidats candidatures; (séance id, candidatures)."""
    from webapp.models import (
        Candidature,
        Commission,
        Demande,
        EvaluationDemande,
        Logement,
        ModeSeance,
        Residence,
        SouhaitCommune,
        StatutDemande,
        Utilisateur,
    )
    from webapp.preparation.formulaire_seance import qualites
    from webapp.services.preparation import Membre, creer_seance, inscrire_logements, logements_inscriptibles

    with dbmod.transaction(factory) as s:
        presidence = s.scalars(select(Utilisateur).where(Utilisateur.identifiant == "presidence")).one()
        bailleur = presidence.organisation_id
        seance = logements = None
        for commission in s.scalars(select(Commission).where(Commission.bailleur_id == bailleur).order_by(Commission.id)):
            candidate = creer_seance(
                s, commission_id=commission.id, bailleur_id=bailleur, date_seance=date, mode=ModeSeance.PHYSIQUE,
                quorum=1, acteur="bench:w3",
                membres=[Membre(nom="Présidence (mesure)", qualite=qualites()[0], voix_deliberative=True, present=True,
                                utilisateur_id=presidence.id)])
            logements = logements_inscriptibles(s, candidate)
            if len(logements) >= nb_logements:
                seance = candidate
                break
        if seance is None:
            raise SystemExit(f"aucune commission du bailleur de démonstration n'a {nb_logements} logements vacants à inscrire")
        choisis = [lg.id for lg in logements[:nb_logements]]
        inscrire_logements(s, seance, choisis, acteur="bench:w3", utilisateur_id=presidence.id)
        # Complete each logement to nb_candidats with other evaluated demandes wishing its commune.
        for logement_id in choisis:
            deja = set(s.scalars(select(Candidature.demande_id).where(
                Candidature.seance_id == seance.id, Candidature.logement_id == logement_id)))
            commune = s.scalar(select(Residence.code_insee).join(Logement, Logement.residence_id == Residence.id)
                               .where(Logement.id == logement_id))
            autres = s.scalars(
                select(SouhaitCommune.demande_id)
                .join(EvaluationDemande, EvaluationDemande.demande_id == SouhaitCommune.demande_id)
                .join(Demande, Demande.id == SouhaitCommune.demande_id)
                .where(SouhaitCommune.code_insee == commune, Demande.statut == StatutDemande.ACTIVE,
                       EvaluationDemande.recevable.is_(True))
                .order_by(SouhaitCommune.demande_id).limit(nb_candidats + len(deja))).all()
            rang = len(deja)
            for demande_id in autres:
                if rang >= nb_candidats:
                    break
                if demande_id in deja:
                    continue
                rang += 1
                s.add(Candidature(seance_id=seance.id, logement_id=logement_id, demande_id=demande_id, rang_propose=rang))
        s.flush()
        nb = s.scalar(select(func.count(Candidature.id)).where(Candidature.seance_id == seance.id))
        return seance.id, nb


def preparer_jeton(factory) -> str:
    from webapp.api.jetons import creer_jeton

    with dbmod.transaction(factory) as s:
        return creer_jeton(s, "charge.attribution", libelle="bench w3", acteur="bench:w3")[1]


def dossiers_json(n: int, date: dt.date) -> list[bytes]:
    from webapp.demo.generateur import JeuDemo

    jeu = JeuDemo(11, n, 10, date)
    return [json.dumps(d).encode() for _, d, _ in jeu.dossiers()]


# --------------------------------------------------------------------------- server


class Serveur:
    def __init__(self, url_base: str, schema: str, date: str) -> None:
        self.port = port_libre()
        self.adresse = f"http://127.0.0.1:{self.port}"
        options = quote(f"-csearch_path={schema}", safe="")
        separateur = "&" if "?" in url_base else "?"
        env = dict(os.environ)
        env.update(
            CALEOL_DATABASE_URL=f"{url_base}{separateur}options={options}",
            CALEOL_SECRET_KEY="bench-w3-" + uuid.uuid4().hex,
            CALEOL_WORKERS="2",
            CALEOL_BIND=f"127.0.0.1:{self.port}",
            CALEOL_TODAY=date,
        )
        env.pop("CALEOL_ACCESS_LOG", None)
        env.pop("CALEOL_OPENFISCA_URL", None)  # no housing-aid estimate over HTTP: Caléol alone is measured
        self.journal = tempfile.NamedTemporaryFile(prefix="caleol-w3-", suffix=".log", delete=False)
        self.commande = [str(RACINE / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", "webapp.wsgi:app"]
        self.processus = subprocess.Popen(self.commande, cwd=RACINE, env=env, stdout=self.journal,
                                          stderr=subprocess.STDOUT, start_new_session=True)

    def attendre(self, delai: float = 120.0) -> None:
        fin = time.monotonic() + delai
        pids: set[int] = set()
        while time.monotonic() < fin:
            if self.processus.poll() is not None:
                raise SystemExit(f"gunicorn s'est arrêté (code {self.processus.returncode}) ; journal : {self.journal.name}")
            try:
                r = requests.get(self.adresse + "/sante", timeout=5)
                if r.status_code == 200:
                    pids.add(r.json().get("processus"))
                    if len(pids) >= 2:
                        return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        if pids:
            return  # one worker answered; the other may simply not have been picked
        raise SystemExit(f"gunicorn ne répond pas sur /sante ; journal : {self.journal.name}")

    def cpu_s(self) -> float:
        """CPU time (user + system, seconds) used so far by gunicorn's master and workers (its process group)."""
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                champs = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(champs[2]) == self.processus.pid:  # process group (start_new_session: the master's pid)
                total += int(champs[11]) + int(champs[12])
        return total / os.sysconf("SC_CLK_TCK")

    def arreter(self) -> None:
        if self.processus.poll() is None:
            os.killpg(self.processus.pid, signal.SIGTERM)
            try:
                self.processus.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.processus.pid, signal.SIGKILL)
                self.processus.wait()


# --------------------------------------------------------------------------- load


class ClientLeger:
    """One kept-alive connection through http.client (`--client leger`): the generator's own CPU per
    request (≈ 1.5 ms with requests, counted in each duration and taken from the same 2 cores as the
    server) shrinks to a fraction, so that the durations say more about the server."""

    def __init__(self, adresse: str) -> None:
        u = urlsplit(adresse)
        self.connexion = http.client.HTTPConnection(u.hostname, u.port, timeout=60)

    def post(self, chemin: str, corps: bytes, entetes: dict[str, str]) -> int:
        for essai in (1, 2):
            try:
                self.connexion.request("POST", chemin, body=corps, headers=entetes)
                reponse = self.connexion.getresponse()
                reponse.read()
                return reponse.status
            except (http.client.RemoteDisconnected, ConnectionError):  # kept-alive connection closed by the server
                self.connexion.close()
                if essai == 2:
                    raise
        raise AssertionError

    def close(self) -> None:
        self.connexion.close()


def client_connecte(adresse: str, identifiant: str) -> requests.Session:
    c = requests.Session()
    page = c.get(adresse + "/connexion", timeout=30)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page.text)
    if not m:
        raise SystemExit("jeton CSRF introuvable sur /connexion")
    r = c.post(adresse + "/connexion", data={"csrf_token": m.group(1), "identifiant": identifiant,
                                             "mot_de_passe": MOT_DE_PASSE}, allow_redirects=False, timeout=30)
    if r.status_code != 302:
        raise SystemExit(f"connexion refusée pour {identifiant} ({r.status_code})")
    return c


def charger(nb_clients: int, n: int, fabrique, requete, cpu_serveur=None) -> dict:
    """nb_clients threads send `requete(client, i)` back to back until n requests are done; with
    `cpu_serveur` (a function giving the server's CPU seconds), the server's and this generator's
    CPU time per request too (on a shared machine, less sensitive to the load than the durations)."""
    clients = [fabrique() for _ in range(nb_clients)]
    for i in range(2 * nb_clients):  # warm-up: connections, caches of each worker
        requete(clients[i % nb_clients], i)
    compteur = iter(range(n))
    verrou = threading.Lock()
    durees: list[float] = []
    erreurs: list[int] = []

    def boucle(client) -> None:
        while True:
            with verrou:
                i = next(compteur, None)
            if i is None:
                return
            t = time.perf_counter()
            statut = requete(client, i)
            d = (time.perf_counter() - t) * 1000
            with verrou:
                durees.append(d)
                if statut != 200:
                    erreurs.append(statut)

    avant = charge_machine()
    cpu_avant = cpu_serveur() if cpu_serveur else None
    cpu_client = time.process_time()
    debut = time.perf_counter()
    with ThreadPoolExecutor(nb_clients) as pool:
        for f in [pool.submit(boucle, c) for c in clients]:
            f.result()
    mur = time.perf_counter() - debut
    cpu_client = time.process_time() - cpu_client
    cpu = (cpu_serveur() - cpu_avant) if cpu_serveur else None
    for c in clients:
        c.close()
    return {"durees": durees, "erreurs": erreurs, "mur": mur, "avant": avant, "apres": charge_machine(), "cpu": cpu,
            "cpu_client": cpu_client}


def imprimer(nom: str, nb_clients: int, res: dict, cible: float) -> None:
    d = res["durees"]
    p95 = centile(d, 0.95)
    print(f"{nom:<44} clients {nb_clients} : n={len(d)} p50 {centile(d, 0.5):7.1f} ; p95 {p95:7.1f} ; max {max(d):7.1f} ms ; "
          f"{len(d) / res['mur']:6.1f} req/s ; erreurs {len(res['erreurs'])}"
          f"{' ' + str(sorted(set(res['erreurs']))) if res['erreurs'] else ''} ; objectif p95 ≤ {cible:.0f} ms : "
          f"{'atteint' if p95 <= cible and not res['erreurs'] else 'NON atteint'} ; {res['avant']} → {res['apres']}"
          + (f" ; CPU par requête : serveur {res['cpu'] * 1000 / len(d):.1f} ms, générateur "
             f"{res['cpu_client'] * 1000 / len(d):.1f} ms" if res.get("cpu") is not None else ""),
          flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("CALEOL_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default=None, help="schéma déjà chargé et évalué (bench/w1_rescore.py --garder)")
    parser.add_argument("--dossiers", type=int, default=20000, help="schéma construit ici : demandes")
    parser.add_argument("--logements", type=int, default=3000, help="schéma construit ici : logements")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--processus", type=int, default=None)
    parser.add_argument("--moteur", default="durable")
    parser.add_argument("--clients", default="1,2,4", help="niveaux de concurrence, séparés par des virgules")
    parser.add_argument("--n-api", type=int, default=1000, help="requêtes mesurées par niveau (API)")
    parser.add_argument("--client", choices=["requests", "leger"], default="requests",
                        help="client HTTP du scénario (a) : requests.Session, ou http.client (leger : moins de CPU du générateur)")
    parser.add_argument("--n-seance", type=int, default=100,
                        help="requêtes mesurées par niveau (page de séance) ; 0 : pas de scénario (b), ni de séance préparée")
    parser.add_argument("--date", default=os.environ.get("CALEOL_TODAY") or "2026-06-15")
    parser.add_argument("--garder", action="store_true")
    args = parser.parse_args()
    os.environ["CALEOL_TODAY"] = args.date
    date = dt.date.fromisoformat(args.date)
    niveaux = [int(x) for x in args.clients.split(",")]

    print("commande : " + " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]))
    print(f"date : {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC ; /proc/loadavg : "
          f"{Path('/proc/loadavg').read_text().strip() if Path('/proc/loadavg').exists() else '?'} ; {os.cpu_count()} cœurs")
    print("objectifs : (a) évaluation d'un dossier par l'API p95 ≤ 10 ms ; (b) page de séance 20 logements × 5 candidats p95 ≤ 300 ms")

    admin = create_engine(dbmod.normaliser_url(args.url))
    schema = args.schema or f"caleol_bench_{uuid.uuid4().hex[:8]}"
    if not args.schema:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = dbmod.make_engine(args.url, schema=schema)
    serveur = None
    seance_id = None
    try:
        factory = dbmod.make_sessionmaker(engine)
        if args.schema:
            upgrade(engine)
            with engine.begin() as conn:  # planner statistics of the tables the re-score rewrote (not timed)
                conn.execute(text("ANALYZE"))
        else:
            construire_base(engine, factory, args, date)
        from webapp.models import Demande

        with factory() as s:
            nb = s.scalar(select(func.count(Demande.id)))
        if args.n_seance > 0:
            seance_id, nb_candidatures = preparer_seance(factory, date, 20, 5)
        jeton = preparer_jeton(factory)
        corps = dossiers_json(200, date)
        print(f"base : {args.url} (schéma {schema}) : {nb} demandes ; " + (
            f"séance {seance_id} : 20 logements, {nb_candidatures} candidatures" if seance_id else "pas de séance (--n-seance 0)"))
        serveur = Serveur(args.url, schema, args.date)
        serveur.attendre()
        print(f"serveur : {' '.join(serveur.commande)} (CALEOL_WORKERS=2, {serveur.adresse}) ; journal {serveur.journal.name}",
              flush=True)

        entetes = {"Authorization": f"Bearer {jeton}", "Content-Type": "application/json"}

        def evaluation(client: requests.Session, i: int) -> int:
            if isinstance(client, ClientLeger):
                return client.post("/api/v1/evaluations", corps[i % len(corps)], entetes)
            r = client.post(serveur.adresse + "/api/v1/evaluations", data=corps[i % len(corps)], headers=entetes, timeout=60)
            return r.status_code

        fabrique = (lambda: ClientLeger(serveur.adresse)) if args.client == "leger" else requests.Session

        r = requests.post(serveur.adresse + "/api/v1/evaluations", data=corps[0], headers=entetes, timeout=60)
        if r.status_code != 200 or "trace" not in r.json():
            raise SystemExit(f"l'API n'évalue pas le dossier : {r.status_code} {r.text[:300]}")
        for c in niveaux:
            imprimer(f"(a) POST /api/v1/evaluations [{args.client}]", c,
                     charger(c, args.n_api, fabrique, evaluation, serveur.cpu_s), CIBLES_MS["api"])

        if args.n_seance <= 0:
            return 0

        def page(client: requests.Session, i: int) -> int:
            return client.get(f"{serveur.adresse}/decisions/seances/{seance_id}", timeout=60).status_code

        essai = client_connecte(serveur.adresse, "presidence").get(f"{serveur.adresse}/decisions/seances/{seance_id}", timeout=60)
        if essai.status_code != 200:
            raise SystemExit(f"page de séance : {essai.status_code}")
        print(f"page de séance : {len(essai.content) // 1024} Kio de HTML")
        for c in niveaux:
            imprimer(f"(b) GET /decisions/seances/{seance_id}", c,
                     charger(c, args.n_seance, lambda: client_connecte(serveur.adresse, "presidence"), page, serveur.cpu_s),
                     CIBLES_MS["seance"])
    finally:
        if serveur is not None:
            serveur.arreter()
        if args.schema and seance_id is not None:
            # The reused schema gets back to what it was: the séance and its candidatures go.
            try:
                with engine.begin() as conn:
                    for table in ("candidature", "point_ordre_du_jour", "membre_seance"):
                        conn.execute(text(f"DELETE FROM {table} WHERE seance_id = :s"), {"s": seance_id})
                    conn.execute(text("DELETE FROM seance WHERE id = :s"), {"s": seance_id})
            except Exception as exc:  # noqa: BLE001 - the measure is done; say what stays
                print(f"la séance {seance_id} reste dans le schéma : {exc.__class__.__name__}")
        liberer_schema(engine, admin, schema, conserver=bool(args.garder or args.schema))
    return 0


if __name__ == "__main__":
    sys.exit(main())
