"""`caleol rules enregistrer-version | activer VERSION`: record the rulebook version on disk (with its
files) in the database; make a recorded version the one every process evaluates with."""
from __future__ import annotations

import click

from ..cli import Contexte, erreur, pass_contexte


@click.command("enregistrer-version")
@pass_contexte
def enregistrer_version(contexte: Contexte) -> None:
    """Enregistre la version courante des règles si la base ne l'a jamais vue, avec le résumé des changements."""
    from sqlalchemy.exc import DBAPIError

    from engine.yaml_strict import ErreurRegles

    from .versions import enregistrer_version as enregistrer

    try:
        with contexte.transaction() as session:
            v, nouvelle = enregistrer(session, acteur="cli:rules enregistrer-version", source="commande")
            version, resume = v.version, v.resume
    except ErreurRegles as exc:
        erreur(f"référentiel de règles invalide : {exc}")
    except DBAPIError:
        erreur("la base de données n'a pas de schéma à jour : lancez d'abord `caleol db upgrade`.")
    if nouvelle:
        click.echo(f"Version {version} enregistrée.")
        click.echo(resume)
    else:
        click.echo(f"Version {version} déjà enregistrée : rien à faire.")


@click.command("activer")
@click.argument("version")
@pass_contexte
def activer(contexte: Contexte, version: str) -> None:
    """Active une version enregistrée : chaque processus (serveur, commandes) l'utilise sans redémarrage."""
    from sqlalchemy.exc import DBAPIError

    from .activation import ErreurActivation
    from .activation import activer as activer_version

    try:
        with contexte.transaction() as session:
            v = activer_version(session, version, acteur="cli:rules activer")
            nom = v.version
    except ErreurActivation as exc:
        erreur(str(exc))
    except DBAPIError:
        erreur("la base de données n'a pas de schéma à jour : lancez d'abord `caleol db upgrade`.")
    click.echo(f"Version {nom} activée : chaque processus du service la charge dans les secondes qui viennent.")
