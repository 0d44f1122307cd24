"""Production serving: /sante, one structured log line per request without personal data, request ids,
gunicorn.conf.py (workers, preload, hooks) and `caleol serve --production` (SQLite and PostgreSQL)."""
from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine

from tests.webapp.decisions_exemple import construire
from webapp import create_app, journalisation
from webapp.sante import preparer_moteur, version_application

RACINE = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(engine):
    return create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "ENREGISTRER_VERSION_REGLES": False})


def test_sante_repond_sans_connexion_avec_la_base_et_le_referentiel_du_processus(app):
    from engine.evaluation import moteur_a_la_date
    from webapp.horloge import aujourd_hui

    r = app.test_client().get("/sante")
    assert r.status_code == 200
    corps = r.get_json()
    assert corps["statut"] == "ok" and corps["base_de_donnees"] == "joignable"
    assert corps["moteur"]["pret"] is True
    assert corps["moteur"]["version_regles"] == moteur_a_la_date(aujourd_hui()).version
    assert corps["moteur"]["date"] == "2026-06-15"
    assert corps["version_application"] == version_application()
    assert corps["processus"] == os.getpid()
    assert "erreurs" not in corps
    assert r.headers["Cache-Control"] == "no-store" and "Set-Cookie" not in r.headers


def test_sante_est_exemptee_de_la_limite_de_debit(engine):
    from webapp.extensions import limiter

    # An application-wide limit (set once on the shared limiter: removed below for the other tests).
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "ENREGISTRER_VERSION_REGLES": False,
                      "RATELIMIT_APPLICATION": "2 per minute"})
    try:
        client = app.test_client()
        assert [client.get("/sante").status_code for _ in range(5)] == [200] * 5
        # The same limit does apply elsewhere (the exemption is what lets /sante through).
        assert 429 in [client.get("/notice").status_code for _ in range(5)]
    finally:
        limiter.limit_manager.set_application_limits([])
        limiter.reset()
    assert [client.get("/notice").status_code for _ in range(3)] == [200] * 3


def test_sante_repond_503_quand_la_base_ne_repond_pas():
    injoignable = create_engine("postgresql+psycopg://personne@127.0.0.1:1/aucune", connect_args={"connect_timeout": 2})
    app = create_app({"ENGINE": injoignable, "SECRET_KEY": "test", "TESTING": True, "ENREGISTRER_VERSION_REGLES": False})
    r = app.test_client().get("/sante")
    assert r.status_code == 503
    corps = r.get_json()
    assert corps["statut"] == "degrade" and corps["base_de_donnees"] == "injoignable"
    assert corps["erreurs"] == ["La base de données ne répond pas."]
    assert "127.0.0.1" not in r.get_data(as_text=True) and "personne" not in r.get_data(as_text=True)


def test_le_maitre_de_gunicorn_ne_construit_aucun_moteur(tmp_path):
    """Importing webapp.wsgi (what gunicorn's preloading master does) builds no durable_rules host."""
    code = ("from webapp.wsgi import app; import engine.evaluation as e, webapp.sante as s; "
            "print(len(e._moteurs), s._etat['pret'], app.extensions['caleol.engine'].url.get_backend_name())")
    env = dict(os.environ, CALEOL_DATABASE_URL=f"sqlite:///{tmp_path / 'maitre.sqlite3'}", CALEOL_SECRET_KEY="test",
               CALEOL_INSTANCE_PATH=str(tmp_path))
    sortie = subprocess.run([sys.executable, "-c", code], cwd=RACINE, env=env, capture_output=True, text=True, timeout=120)
    assert sortie.returncode == 0, sortie.stderr[-2000:]
    assert sortie.stdout.split() == ["0", "False", "sqlite"]


def test_le_referentiel_est_compile_une_fois_par_processus():
    premier = preparer_moteur()
    second = preparer_moteur()
    assert premier == second and premier["pret"] and premier["processus"] == os.getpid()


# --------------------------------------------------------------------------- logs


@pytest.fixture
def lignes_json():
    """JSON log lines of the webapp loggers, with the production formatter and filters."""
    flux = io.StringIO()
    gestionnaire = logging.StreamHandler(flux)
    gestionnaire.setFormatter(journalisation.formateur("json"))
    gestionnaire.addFilter(journalisation.FiltreDonneesPersonnelles())
    gestionnaire.addFilter(journalisation.FiltreIdRequete())
    journal = logging.getLogger("webapp.requetes")
    ancien = journal.level
    journal.setLevel(logging.INFO)
    journal.addHandler(gestionnaire)
    yield lambda: [json.loads(ligne) for ligne in flux.getvalue().splitlines()]
    journal.removeHandler(gestionnaire)
    journal.setLevel(ancien)


def test_une_ligne_json_par_requete_sans_donnee_personnelle(app, sessions, lignes_json):
    monde = construire(sessions)
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = str(monde.utilisateurs["president"])
        s["_fresh"] = True
    r = client.get("/demandes/0591126000001A?q=Benali", headers={"X-Request-Id": "proxy-42.a_b"})
    assert r.status_code == 200 and "Benali" in r.get_data(as_text=True)
    assert r.headers["X-Request-Id"] == "proxy-42.a_b"
    r2 = client.get("/sante", headers={"X-Request-Id": "<script>Benali</script>"})
    assert r2.headers["X-Request-Id"] != "<script>Benali</script>" and len(r2.headers["X-Request-Id"]) == 32
    lignes = lignes_json()
    assert len(lignes) == 2
    fiche, sante = lignes
    assert fiche["journal"] == "webapp.requetes" and fiche["niveau"] == "INFO"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", fiche["horodatage"])
    assert re.fullmatch(r"GET /demandes/… 200 \d+\.\d\d ms utilisateur=%d" % monde.utilisateurs["president"], fiche["message"])
    assert fiche["id_requete"] == "proxy-42.a_b"
    assert (fiche["methode"], fiche["route"], fiche["statut"]) == ("GET", "/demandes/<numero_unique>", 200)
    assert fiche["utilisateur_id"] == monde.utilisateurs["president"]
    assert isinstance(fiche["duree_ms"], float) and fiche["duree_ms"] >= 0
    assert (sante["route"], sante["utilisateur_id"], sante["id_requete"]) == ("/sante", None, r2.headers["X-Request-Id"])
    texte = json.dumps(lignes, ensure_ascii=False)
    for donnee in ("0591126000001A", "Benali", "q=", "Amina", "<script>"):
        assert donnee not in texte


def test_le_format_texte_et_un_format_inconnu(monkeypatch):
    record = logging.LogRecord("webapp.requetes", logging.INFO, __file__, 1, "GET %s 200", ("/demandes/…",), None)
    journalisation.FiltreIdRequete().filter(record)
    assert journalisation.formateur("texte").format(record).endswith("INFO webapp.requetes [-] GET /demandes/… 200")
    monkeypatch.setenv("CALEOL_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="CALEOL_LOG_FORMAT : « xml » inconnu"):
        journalisation.configuration()


def test_la_ligne_d_acces_de_gunicorn_est_masquee():
    # gunicorn passes its atoms as one dict: the filter masks the values, not the keys.
    atomes = {"h": "127.0.0.1", "m": "GET", "U": "/demandes/0591125000123A", "r": "GET /demandes?q=Lefebvre HTTP/1.1"}
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, '%(h)s "%(m)s %(U)s" [%(r)s]', (atomes,), None)
    journalisation.FiltreDonneesPersonnelles().filter(record)
    ligne = record.getMessage()
    assert ligne == '127.0.0.1 "GET /demandes/…" [GET /demandes?… HTTP/1.1]'


# --------------------------------------------------------------------------- gunicorn.conf.py and the CLI


def _configuration_gunicorn(monkeypatch, **env):
    for cle in ("CALEOL_WORKERS", "CALEOL_THREADS", "CALEOL_ACCESS_LOG", "CALEOL_CONTROL_SOCKET", "CALEOL_WORKER_TMP_DIR"):
        monkeypatch.delenv(cle, raising=False)
    for cle, valeur in env.items():
        monkeypatch.setenv(cle, valeur)
    spec = importlib.util.spec_from_file_location("gunicorn_conf_test", RACINE / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_la_configuration_de_gunicorn(monkeypatch):
    conf = _configuration_gunicorn(monkeypatch)
    assert conf.workers == len(os.sched_getaffinity(0)) and conf.worker_class == "gthread" and conf.threads == 4
    assert conf.preload_app is True and conf.timeout == 60 and conf.accesslog is None
    assert conf.control_socket_disable is True
    assert conf.logconfig_dict["loggers"]["gunicorn.access"]["level"] == "WARNING"
    assert "%(U)s" in conf.access_log_format and "%(r)s" not in conf.access_log_format
    assert "%(q)s" not in conf.access_log_format and "%(f)s" not in conf.access_log_format
    assert callable(conf.post_fork) and callable(conf.post_worker_init) and callable(conf.when_ready)
    assert conf.worker_tmp_dir == ("/dev/shm" if os.path.isdir("/dev/shm") else None)
    conf = _configuration_gunicorn(monkeypatch, CALEOL_WORKERS="3", CALEOL_ACCESS_LOG="1", CALEOL_LOG_FORMAT="json",
                                   CALEOL_WORKER_TMP_DIR="/tmp")
    assert conf.workers == 3 and conf.accesslog == "-" and conf.worker_tmp_dir == "/tmp"
    assert conf.logconfig_dict["loggers"]["gunicorn.access"]["level"] == "INFO"
    assert conf.logconfig_dict["formatters"]["caleol"]["format_"] == "json"
    with pytest.raises(SystemExit, match="CALEOL_WORKERS : nombre entier attendu"):
        _configuration_gunicorn(monkeypatch, CALEOL_WORKERS="beaucoup")


def test_gunicorn_ne_construit_pas_la_ligne_d_acces_qu_il_jetterait(monkeypatch):
    from gunicorn.glogging import Logger

    conf = _configuration_gunicorn(monkeypatch)
    assert issubclass(conf.logger_class, Logger)
    construites = []
    monkeypatch.setattr(Logger, "access", lambda self, *args: construites.append(args))
    journal = conf.logger_class.__new__(conf.logger_class)
    journal.access_log = logging.getLogger("tests.gunicorn.access")
    journal.access_log.setLevel(logging.WARNING)  # CALEOL_ACCESS_LOG absent
    journal.access(None, None, {}, 0)
    assert construites == []
    journal.access_log.setLevel(logging.INFO)  # CALEOL_ACCESS_LOG=1: gunicorn's own line
    journal.access(None, None, {}, 0)
    assert construites == [(None, None, {}, 0)]


def test_caleol_serve_production_lance_gunicorn(monkeypatch):
    from webapp.cli import main

    lance = {}

    def execve(programme, arguments, env):
        lance.update(programme=programme, arguments=arguments, env=env)
        raise SystemExit(0)

    monkeypatch.setattr(os, "execve", execve)
    monkeypatch.chdir(RACINE)
    r = CliRunner().invoke(main, ["--database-url", "sqlite:////tmp/caleol-inexistante.sqlite3", "serve", "--production",
                                  "--port", "8123", "--workers", "2"])
    assert r.exit_code == 0, r.output
    assert lance["arguments"][1:] == ["-m", "gunicorn", "-c", str(RACINE / "gunicorn.conf.py"), "webapp.wsgi:app"]
    assert lance["env"]["CALEOL_BIND"] == "127.0.0.1:8123" and lance["env"]["CALEOL_WORKERS"] == "2"
    assert lance["env"]["CALEOL_DATABASE_URL"] == "sqlite:////tmp/caleol-inexistante.sqlite3"
