"""`caleol rules enregistrer-version`: record the rulebook version on disk in the database."""
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
