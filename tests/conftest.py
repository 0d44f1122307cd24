"""Shared fixtures: each test run gets its own SQLite file and its own PostgreSQL schema.

The PostgreSQL tests run when CALEOL_TEST_DATABASE_URL is set (`make test` sets it to the local
server). With CALEOL_EXIGER_POSTGRES=1 (CI), a PostgreSQL test that cannot run fails instead of
being skipped, and a run where no PostgreSQL test ran fails too.
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from webapp import db as dbmod
from webapp.migrations import upgrade
from webapp.models import Base
from webapp.services.territoire import charger_territoire

# Tables of reference data, loaded once per run and kept between tests.
TABLES_REFERENCE = {"commune", "epci", "qpv", "qpv_commune"}
EXIGER_POSTGRES = os.environ.get("CALEOL_EXIGER_POSTGRES") == "1"
_postgres_executes = 0


@pytest.fixture(autouse=True)
def _date_fixe(monkeypatch):
    """No test depends on today's date."""
    monkeypatch.setenv("CALEOL_TODAY", "2026-06-15")


@pytest.fixture(autouse=True)
def _compteurs_de_connexion_remis_a_zero():
    """Login throttling counts per process: no test inherits the attempts of the previous ones."""
    from webapp.extensions import limiter

    try:
        limiter.reset()
    except Exception:  # noqa: BLE001 - not initialised yet (no app created in this process)
        pass


def _url_postgres() -> str | None:
    return os.environ.get("CALEOL_TEST_DATABASE_URL") or None


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def moteur_base(backend, tmp_path_factory):
    """A migrated database for the whole run, with the reference territory loaded."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'caleol.sqlite3'}"
        engine = dbmod.make_engine(url)
        schema = None
    else:
        url = _url_postgres()
        if not url:
            if EXIGER_POSTGRES:
                pytest.fail("CALEOL_TEST_DATABASE_URL n'est pas défini alors que PostgreSQL est exigé.")
            pytest.skip("PostgreSQL non configuré (CALEOL_TEST_DATABASE_URL)")
        schema = f"caleol_t_{uuid.uuid4().hex[:10]}"
        admin = create_engine(dbmod.normaliser_url(url))
        try:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        except Exception as exc:  # pragma: no cover - depends on the machine
            if EXIGER_POSTGRES:
                pytest.fail(f"PostgreSQL injoignable : {exc}")
            pytest.skip(f"PostgreSQL injoignable : {exc}")
        engine = dbmod.make_engine(url, schema=schema)
    upgrade(engine)
    factory = dbmod.make_sessionmaker(engine)
    with dbmod.transaction(factory) as session:
        charger_territoire(session, acteur="tests")
    yield engine
    engine.dispose()
    if schema:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(moteur_base, backend):
    """The run's database, emptied of everything but the reference territory after each test."""
    global _postgres_executes
    if backend == "postgresql":
        _postgres_executes += 1
    yield moteur_base
    with moteur_base.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in TABLES_REFERENCE:
                conn.execute(table.delete())
        conn.execute(text("DELETE FROM audit_entry WHERE acteur <> 'tests'"))


@pytest.fixture
def sessions(engine):
    return dbmod.make_sessionmaker(engine)


@pytest.fixture
def session(sessions):
    s = sessions()
    yield s
    s.rollback()
    s.close()


def pytest_sessionfinish(session, exitstatus):
    if EXIGER_POSTGRES and exitstatus == 0 and _postgres_executes == 0:
        session.exitstatus = 1
        print("\nÉCHEC : aucun test PostgreSQL n'a été exécuté alors que PostgreSQL est exigé.")
