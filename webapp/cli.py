"""The `caleol` command: every operation of Caléol from the shell.

Transactions live here: each command opens one unit of work, commits once or rolls back.
"""
from __future__ import annotations

import datetime as dt

import sys
from functools import cached_property

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from . import db as dbmod


class Contexte:
    """Lazily built database handles for the commands."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or dbmod.database_url()

    @cached_property
    def engine(self) -> Engine:
        return dbmod.make_engine(self.url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        sessions = dbmod.make_sessionmaker(self.engine)
        _suivre_la_version_active(sessions)
        return sessions

    def transaction(self):
        return dbmod.transaction(self.sessions)


def _suivre_la_version_active(sessions: sessionmaker[Session]) -> None:
    """A command evaluates with the rulebook version activated in its database (webapp.regles.activation)."""
    from sqlalchemy.exc import DBAPIError

    from .regles.activation import synchroniser

    with sessions() as session:
        try:
            synchroniser(session, ttl=0)
        except DBAPIError:  # schema not created yet (`caleol db upgrade`): the files on disk
            session.rollback()


pass_contexte = click.make_pass_decorator(Contexte, ensure=True)


def erreur(message: str, code: int = 2) -> None:
    """A clear French message on stderr and a non-zero exit, never a traceback."""
    click.echo(f"Erreur : {message}", err=True)
    sys.exit(code)


def date_option(texte: str | None, option: str = "--date") -> dt.date:
    """The date given to a command option (AAAA-MM-JJ), today (CALEOL_TODAY) without one."""
    from .horloge import aujourd_hui

    if texte is None:
        return aujourd_hui()
    try:
        return dt.date.fromisoformat(texte)
    except ValueError:
        erreur(f"{option} : date invalide « {texte} » (format AAAA-MM-JJ attendu).")
        raise  # pragma: no cover - erreur() exits


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    envvar="CALEOL_DATABASE_URL",
    default=None,
    help="Base de données (défaut : SQLite sous instance/).",
)
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """Caléol : aide à la décision des commissions d'attribution (CALEOL)."""
    ctx.obj = Contexte(database_url)


@main.group()
def db() -> None:
    """Schéma de la base de données."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@pass_contexte
def db_upgrade(contexte: Contexte, revision: str) -> None:
    """Crée ou met à jour le schéma (migrations Alembic)."""
    from .migrations import current, upgrade

    upgrade(contexte.engine, revision)
    click.echo(f"Schéma à jour (révision {current(contexte.engine)}).")


@db.command("current")
@pass_contexte
def db_current(contexte: Contexte) -> None:
    """Affiche la révision du schéma."""
    from .migrations import current

    click.echo(current(contexte.engine) or "aucune")


@main.group()
def territoire() -> None:
    """Référentiel territorial (communes, EPCI, QPV 2024)."""


@territoire.command("charger")
@pass_contexte
def territoire_charger(contexte: Contexte) -> None:
    """Charge les communes, les EPCI et les QPV de fixtures/geo."""
    from .services.territoire import charger_territoire

    with contexte.transaction() as session:
        res = charger_territoire(session, acteur="cli:territoire charger")
    click.echo(f"{res['communes']} communes, {res['epci']} EPCI, {res['qpv']} QPV chargés.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug/--no-debug", default=False)
@click.option("--production", is_flag=True,
              help="Sert avec gunicorn (gunicorn.conf.py : un processus par cœur, référentiel compilé dans chacun).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Avec --production : nombre de processus (défaut : CALEOL_WORKERS, sinon un par cœur).")
@pass_contexte
def serve(contexte: Contexte, host: str, port: int, debug: bool, production: bool, workers: int | None) -> None:
    """Sert l'application web (serveur de développement, ou gunicorn avec --production)."""
    import os

    if production:
        configuration = dbmod.RACINE / "gunicorn.conf.py"
        if not configuration.is_file():
            erreur(f"configuration de gunicorn introuvable : {configuration}")
        env = dict(os.environ, CALEOL_DATABASE_URL=contexte.url, CALEOL_BIND=f"{host}:{port}")
        if workers:
            env["CALEOL_WORKERS"] = str(workers)
        # exec: the gunicorn master replaces this process (signals reach it directly).
        os.chdir(dbmod.RACINE)
        os.execve(sys.executable, [sys.executable, "-m", "gunicorn", "-c", str(configuration), "webapp.wsgi:app"], env)
    from . import create_app, journalisation
    from .sante import preparer_moteur

    if os.environ.get("CALEOL_LOG_FORMAT"):
        journalisation.configurer()
    app = create_app({"DATABASE_URL": contexte.url})
    with app.app_context():
        preparer_moteur()
    app.run(host=host, port=port, debug=debug, use_reloader=False)


from .sne.cli import import_sne  # noqa: E402  (the command needs Contexte, defined above)

main.add_command(import_sne)

from .evaluation_cli import evaluate, rules  # noqa: E402  (moteur de règles)

main.add_command(evaluate)
main.add_command(rules)


from .demo.cli import demo  # noqa: E402 - registered last: it imports this module's helpers

main.add_command(demo)

from .propositions_cli import evaluations, position, propose  # noqa: E402  (propositions, position, évaluations)

main.add_command(propose)
main.add_command(position)
main.add_command(evaluations)

from .flux_cli import bilan, flux, quotas  # noqa: E402  (gestion en flux, quotas, bilan annuel)

main.add_command(flux)
main.add_command(quotas)
main.add_command(bilan)

from .regles.cli import activer, enregistrer_version  # noqa: E402  (versions du référentiel)

rules.add_command(enregistrer_version)
rules.add_command(activer)

from .api_cli import api  # noqa: E402  (jetons de l'API JSON)

main.add_command(api)

from .export_sne_cli import export_sne  # noqa: E402  (retour des décisions et radiations au SNE)

main.add_command(export_sne)

from .offres_cli import offres  # noqa: E402  (offres, réponses, baux et radiations)

main.add_command(offres)

from .occupation_cli import locataires, occupation  # noqa: E402  (locataires en place, examen de l'occupation)

main.add_command(locataires)
main.add_command(occupation)

from .conservation_cli import purge  # noqa: E402  (politique de conservation, purge)

main.add_command(purge)

from .explication_cli import explication  # noqa: E402  (explication de l'algorithme, R311-3-1-2)

main.add_command(explication)
