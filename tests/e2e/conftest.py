"""End-to-end tests in a real browser: Playwright for Python driving Debian's chromium.

The app runs in a thread (werkzeug) on a free loopback port, on its own SQLite database loaded with
a small deterministic demo. Screenshots are saved under test-artefacts/ as test artefacts.
"""
from __future__ import annotations

import os
import shutil
import socket
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from webapp import create_app
from webapp import db as dbmod
from webapp.demo.service import charger_demo
from webapp.migrations import upgrade
from webapp.services.evaluations import recalculer_evaluations

CHROMIUM = os.environ.get("CALEOL_CHROMIUM", "/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts"
DATE_REFERENCE = "2026-06-15"


@pytest.fixture(scope="session")
def navigateur():
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") or os.environ.get("CALEOL_EXIGER_POSTGRES") == "1":
            pytest.fail(f"Chromium introuvable ({CHROMIUM}) : make test l'installe avec apt.")
        pytest.skip(f"Chromium introuvable ({CHROMIUM})")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield b
        b.close()


@pytest.fixture(scope="session")
def serveur(tmp_path_factory):
    """The app on a demo database (seed 7: 2 000 demandes, 300 logements) with evaluations computed."""
    ancien = os.environ.get("CALEOL_TODAY")
    os.environ["CALEOL_TODAY"] = DATE_REFERENCE
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'caleol.sqlite3'}"
    engine = dbmod.make_engine(url)
    upgrade(engine)
    factory = dbmod.make_sessionmaker(engine)
    with dbmod.transaction(factory) as s:
        charger_demo(s, seed=7, nb_dossiers=2000, nb_logements=300, acteur="e2e")
    with dbmod.transaction(factory) as s:
        recalculer_evaluations(s, processus=1, acteur="e2e")
    app = create_app({"ENGINE": engine, "SECRET_KEY": "e2e", "TESTING": False})
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    serveur_http = make_server("127.0.0.1", port, app, threaded=True)
    fil = threading.Thread(target=serveur_http.serve_forever, daemon=True)
    fil.start()
    yield f"http://127.0.0.1:{port}", factory
    serveur_http.shutdown()
    engine.dispose()
    if ancien is None:
        os.environ.pop("CALEOL_TODAY", None)
    else:
        os.environ["CALEOL_TODAY"] = ancien


@pytest.fixture
def page(navigateur, request):
    contexte = navigateur.new_context(locale="fr-FR", accept_downloads=True, viewport={"width": 1280, "height": 900})
    p = contexte.new_page()
    yield p
    contexte.close()


def capture(page, nom: str) -> Path:
    ARTEFACTS.mkdir(exist_ok=True)
    chemin = ARTEFACTS / f"{nom}.png"
    page.screenshot(path=str(chemin), full_page=True)
    return chemin
