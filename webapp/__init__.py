"""Caléol web application (Flask app factory)."""
from __future__ import annotations

from typing import Any

from flask import Flask, g

from . import db as dbmod


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(dbmod.INSTANCE), instance_relative_config=True)
    app.config.from_mapping(
        DATABASE_URL=dbmod.database_url(),
        SECRET_KEY=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.config.from_prefixed_env("CALEOL")
    if config:
        app.config.update(config)
    configure_database(app)
    configure_blueprints(app)
    return app


def configure_database(app: Flask) -> None:
    engine = app.config.get("ENGINE") or dbmod.make_engine(app.config["DATABASE_URL"])
    app.extensions["caleol.engine"] = engine
    app.extensions["caleol.sessions"] = dbmod.make_sessionmaker(engine)

    @app.teardown_appcontext
    def _fermer_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def get_session():
    """The request's session (created on first use, closed at teardown)."""
    from flask import current_app

    if "db_session" not in g:
        g.db_session = current_app.extensions["caleol.sessions"]()
    return g.db_session


def configure_blueprints(app: Flask) -> None:
    from .tableau import bp as tableau_bp

    app.register_blueprint(tableau_bp)
