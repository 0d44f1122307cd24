"""Database engine and sessions. The URL comes from CALEOL_DATABASE_URL (default: SQLite under instance/)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

RACINE = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("CALEOL_INSTANCE_PATH", RACINE / "instance"))


def database_url() -> str:
    url = os.environ.get("CALEOL_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{INSTANCE / 'caleol.sqlite3'}"


def normaliser_url(url: str) -> str:
    """postgresql:// URLs use psycopg 3, the only PostgreSQL driver we install."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def make_engine(url: str | None = None, *, schema: str | None = None, **kwargs) -> Engine:
    url = normaliser_url(url or database_url())
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    connect_args = kwargs.pop("connect_args", {})
    if schema:
        # Each test run of PostgreSQL works in its own schema.
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit at the end, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
