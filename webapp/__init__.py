"""Caléol web application (Flask app factory)."""
from __future__ import annotations

import importlib
import secrets
from pathlib import Path
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
        # Secure cookies unless explicitly served over plain HTTP on the loopback (make run).
        SESSION_COOKIE_SECURE=False,
        REMEMBER_COOKIE_SECURE=False,
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        LIMITE_CONNEXION="10 per minute",
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.config.from_prefixed_env("CALEOL")
    if config:
        app.config.update(config)
    from . import journalisation

    journalisation.installer()
    journalisation.installer_requetes(app)
    configure_secret(app)
    configure_database(app)
    configure_extensions(app)
    configure_blueprints(app)
    configure_errors(app)
    configure_api(app)
    return app


def configure_api(app: Flask) -> None:
    """The JSON API (/api/v1): after the error pages, so that it answers its own errors in JSON."""
    from .api import init_app

    init_app(app)


def configure_secret(app: Flask) -> None:
    """SECRET_KEY from the configuration (CALEOL_SECRET_KEY), else a random key kept in instance/."""
    if app.config.get("SECRET_KEY"):
        return
    chemin = Path(app.instance_path) / "secret_key"
    if not chemin.exists():
        chemin.parent.mkdir(parents=True, exist_ok=True)
        chemin.write_text(secrets.token_hex(32), encoding="ascii")
        chemin.chmod(0o600)
    app.config["SECRET_KEY"] = chemin.read_text(encoding="ascii").strip()


def configure_extensions(app: Flask) -> None:
    from . import filtres
    from .auth import login_manager
    from .extensions import csrf, limiter

    filtres.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)


def configure_errors(app: Flask) -> None:
    from flask import render_template

    messages = {
        400: ("Requête invalide", "La requête est invalide ou le formulaire a expiré : rechargez la page."),
        403: ("Accès refusé", "Votre rôle ne permet pas d'accéder à cette page."),
        404: ("Page introuvable", "Cette page n'existe pas."),
        429: ("Trop de tentatives", "Trop de tentatives : patientez une minute avant de réessayer."),
    }

    def gestionnaire(code: int):
        def vue(_exc):
            titre, texte = messages[code]
            return render_template("erreur.html", titre=titre, texte=texte, code=code), code

        return vue

    for code in messages:
        app.register_error_handler(code, gestionnaire(code))

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def _csrf(_exc):
        return (
            render_template(
                "erreur.html",
                titre="Formulaire expiré",
                texte="Le jeton de sécurité du formulaire est absent ou invalide : rechargez la page et recommencez.",
                code=400,
            ),
            400,
        )


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


# The blueprints (each module exposes `bp`), in the order their routes are registered.
BLUEPRINTS = (
    "auth", "tableau", "demandes", "logements", "preparation", "decisions", "regles", "audit_ui", "admin",
    "pseudonymisation", "reservataires", "territoire", "offres", "occupation", "export_sne_ui", "sante",
)


def configure_blueprints(app: Flask) -> None:
    for module in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(f".{module}", __name__).bp)
