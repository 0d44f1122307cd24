"""A real gunicorn (gunicorn.conf.py, 2 workers) on the run's PostgreSQL schema, for the concurrency and
crash tests.

These tests are PostgreSQL tests: they take the `backend` fixture of tests/conftest.py with the single
value "postgresql" (`postgres` marker), so without CALEOL_TEST_DATABASE_URL they are skipped, and with
CALEOL_EXIGER_POSTGRES=1 (CI) they fail instead. The server is started by the test, on a free port,
with CALEOL_DATABASE_URL pointing at the test's schema (search_path in the connection options), in
its own process group so that the master and its workers can be killed together.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import text

RACINE = Path(__file__).resolve().parents[2]
SEULEMENT_POSTGRES = pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
DELAI_DEMARRAGE = 90.0


def port_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def url_du_schema(engine, **options: str) -> str:
    """The test's PostgreSQL URL, its schema as search_path (and extra libpq options)."""
    base = os.environ["CALEOL_TEST_DATABASE_URL"]
    with engine.connect() as c:
        schema = c.execute(text("SELECT current_schema()")).scalar_one()
    parametres = {"options": f"-csearch_path={schema}", **options}
    return base + ("&" if "?" in base else "?") + "&".join(f"{k}={quote(v, safe='')}" for k, v in parametres.items())


class Serveur:
    """gunicorn -c gunicorn.conf.py webapp.wsgi:app as a subprocess group."""

    def __init__(self, url_base: str, journal: Path, **env: str) -> None:
        self.port = port_libre()
        self.url = f"http://127.0.0.1:{self.port}"
        self.journal = journal
        self.env = dict(
            os.environ,
            CALEOL_DATABASE_URL=url_base,
            CALEOL_BIND=f"127.0.0.1:{self.port}",
            CALEOL_WORKERS="2",
            CALEOL_THREADS="4",
            CALEOL_SECRET_KEY="tests-concurrence",
            CALEOL_TODAY=os.environ.get("CALEOL_TODAY", "2026-06-15"),
            CALEOL_INSTANCE_PATH=str(journal.parent),
            **env,
        )
        self.processus: subprocess.Popen | None = None

    def demarrer(self) -> dict:
        sortie = self.journal.open("ab")
        self.processus = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(RACINE / "gunicorn.conf.py"), "webapp.wsgi:app"],
            cwd=RACINE, env=self.env, stdout=sortie, stderr=subprocess.STDOUT, start_new_session=True,
        )
        sortie.close()
        limite = time.monotonic() + DELAI_DEMARRAGE
        while time.monotonic() < limite:
            if self.processus.poll() is not None:
                pytest.fail(f"gunicorn s'est arrêté au démarrage :\n{self.journal.read_text()[-3000:]}")
            try:
                r = requests.get(self.url + "/sante", timeout=30)
                if r.status_code == 200:
                    return r.json()
            except requests.RequestException:  # not listening yet, or workers still compiling
                pass
            time.sleep(0.2)
        self.arreter()
        pytest.fail(f"gunicorn ne répond pas sur /sante après {DELAI_DEMARRAGE} s :\n{self.journal.read_text()[-3000:]}")

    def processus_du_groupe(self) -> set[int]:
        """Pids of the server's process group (master and workers)."""
        pids = set()
        for entree in Path("/proc").iterdir():
            if entree.name.isdigit():
                try:
                    champs = (entree / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(champs[2]) == self.processus.pid and champs[0] != "Z":
                    pids.add(int(entree.name))
        return pids

    def tuer(self) -> None:
        """kill -9 of the master and all its workers at once."""
        os.killpg(self.processus.pid, signal.SIGKILL)
        self.processus.wait(timeout=10)
        limite = time.monotonic() + 10
        while self.processus_du_groupe() and time.monotonic() < limite:
            time.sleep(0.05)

    def arreter(self) -> None:
        if self.processus is None or self.processus.poll() is not None:
            return
        os.killpg(self.processus.pid, signal.SIGINT)  # gunicorn's quick shutdown
        try:
            self.processus.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.processus.pid, signal.SIGKILL)
            self.processus.wait(timeout=10)


@pytest.fixture
def serveur_gunicorn(engine, tmp_path):
    """Start a gunicorn on the test's schema: `serveur_gunicorn(**env)`; stopped at the end of the test."""
    demarres: list[Serveur] = []

    def demarrer(**env: str) -> Serveur:
        nom = f"caleol_t_{uuid.uuid4().hex[:8]}"  # application_name of its connections (pg_stat_activity)
        s = Serveur(url_du_schema(engine, application_name=nom), tmp_path / f"gunicorn-{len(demarres)}.log", **env)
        s.application_name = nom
        demarres.append(s)
        s.sante = s.demarrer()
        return s

    yield demarrer
    for s in demarres:
        s.arreter()
