"""`caleol api jeton creer|lister|revoquer`: the tokens of the JSON API (/api/v1).

A token is printed once, when it is issued; only its SHA-256 is kept. Each issue and revocation is
one transaction with one audit entry (webapp.api.jetons).
"""
from __future__ import annotations

import click

from .cli import Contexte, erreur, pass_contexte


@click.group("api")
def api() -> None:
    """L'API JSON (/api/v1) : jetons d'accès."""


@api.group("jeton")
def jeton() -> None:
    """Jetons d'accès à l'API (un par outil et par compte, révocables)."""


@jeton.command("creer")
@click.argument("identifiant")
@click.option("--libelle", default="Jeton d'API", show_default=True, help="À quoi sert le jeton (outil, usage).")
@pass_contexte
def jeton_creer(contexte: Contexte, identifiant: str, libelle: str) -> None:
    """Délivre un jeton au compte IDENTIFIANT (il en a le rôle et l'organisation) et l'affiche une fois."""
    from .api.jetons import ErreurJeton, creer_jeton

    try:
        with contexte.transaction() as session:
            ligne, texte = creer_jeton(session, identifiant, libelle=libelle, acteur="cli:api jeton creer")
            numero, prefixe = ligne.id, ligne.prefixe
    except ErreurJeton as exc:
        erreur(str(exc))
    click.echo(f"Jeton n° {numero} délivré à {identifiant} ({prefixe}…). Conservez-le : il ne sera plus affiché.")
    click.echo(texte)


@jeton.command("lister")
@click.option("--utilisateur", "identifiant", default=None, help="Seulement les jetons de ce compte.")
@pass_contexte
def jeton_lister(contexte: Contexte, identifiant: str | None) -> None:
    """Liste les jetons (numéro, début du jeton, compte, libellé, dates) ; jamais le jeton lui-même."""
    from .api.jetons import jetons

    with contexte.transaction() as session:
        lignes = [(j.id, j.prefixe, j.utilisateur.identifiant, j.libelle, j.cree_le, j.revoque_le)
                  for j in jetons(session, identifiant)]
    if not lignes:
        click.echo("Aucun jeton.")
        return
    for numero, prefixe, compte, libelle, cree, revoque in lignes:
        etat = f"révoqué le {revoque:%Y-%m-%d}" if revoque else "actif"
        click.echo(f"{numero}\t{prefixe}…\t{compte}\t{libelle}\tcréé le {cree:%Y-%m-%d}\t{etat}")


@jeton.command("revoquer")
@click.argument("numero", type=int)
@pass_contexte
def jeton_revoquer(contexte: Contexte, numero: int) -> None:
    """Révoque le jeton NUMERO : il est refusé dès la requête suivante."""
    from .api.jetons import ErreurJeton, revoquer_jeton

    try:
        with contexte.transaction() as session:
            revoquer_jeton(session, numero, acteur="cli:api jeton revoquer")
    except ErreurJeton as exc:
        erreur(str(exc))
    click.echo(f"Jeton n° {numero} révoqué.")
