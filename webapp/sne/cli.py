"""`caleol import-sne FICHIER.xml…`: import SNE interfaceNuu files (see fixtures/sne/IMPORT.md)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..cli import Contexte, erreur, pass_contexte
from .service import CREEE, REFUSEE, ResultatFichier, dossier_du_fichier, importer_fichiers
from .xml_sur import ErreurSNE

LIBELLE_TYPE = {
    None: "sans type",
    "CRE": "création",
    "CRS": "création suite à séparation",
    "MOD": "modification",
    "RAD": "radiation",
    "REN": "renouvellement",
    "SUP": "suppression",
    "DIS": "dispatching",
    "RET": "retour",
    "COP": "copie numérique",
}


def _lignes_erreurs(erreurs: list[tuple[str, str]]) -> list[str]:
    return [f"    {chemin} : {message}" if chemin else f"    {message}" for chemin, message in erreurs]


def _lignes_rapport(rapport: list[dict[str, str]]) -> list[str]:
    return [f"    {e['nature']} : {e['chemin']} ({e['raison']})" for e in rapport]


def _afficher(resultat: ResultatFichier) -> None:
    if resultat.resultat == REFUSEE:
        click.echo(f"{resultat.nom} : refusé, rien n'est enregistré.")
        click.echo("\n".join(_lignes_erreurs(resultat.erreurs)))
        return
    if resultat.resultat == CREEE:
        action = "créée"
    elif resultat.type_fichier == "RAD":
        action = "radiée" if resultat.statut == "radiee" else "déradiée"
    else:
        action = "mise à jour"
    click.echo(
        f"{resultat.nom} : demande {resultat.numero_unique} {action} "
        f"(fichier {LIBELLE_TYPE.get(resultat.type_fichier, resultat.type_fichier)})."
    )
    if resultat.rapport:
        click.echo("\n".join(_lignes_rapport(resultat.rapport)))


@click.command("import-sne")
@click.argument("fichiers", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--json",
    "afficher_json",
    is_flag=True,
    help="Affiche le dossier JSON de chaque fichier au lieu de l'enregistrer (rapport sur la sortie d'erreur).",
)
@pass_contexte
def import_sne(contexte: Contexte, fichiers: tuple[Path, ...], afficher_json: bool) -> None:
    """Importe des demandes SNE (fichiers XML interfaceNuu v02.00), chacune dans sa transaction.

    Un fichier refusé (XML mal formé, code inconnu, DTD…) n'enregistre rien et n'empêche pas
    les autres ; le code de sortie est alors 2. Les éléments non repris sont listés.
    """
    if not fichiers:
        erreur("aucun fichier à importer (caleol import-sne FICHIER.xml…).")
    if afficher_json:
        _afficher_json(fichiers)
        return
    try:
        resultats = importer_fichiers(contexte.sessions, fichiers, acteur="cli:import-sne", au_fil=_afficher)
    finally:
        if "engine" in contexte.__dict__:
            contexte.engine.dispose()
    refuses = sum(1 for r in resultats if r.resultat == REFUSEE)
    creees = sum(1 for r in resultats if r.resultat == CREEE)
    click.echo(
        f"Import SNE : {len(resultats)} fichier(s), {creees} demande(s) créée(s), "
        f"{len(resultats) - creees - refuses} mise(s) à jour, {refuses} refusé(s)."
    )
    if refuses:
        erreur(f"{refuses} fichier(s) refusé(s) sur {len(resultats)}.")


def _afficher_json(fichiers: tuple[Path, ...]) -> None:
    dossiers = []
    refuses = 0
    for chemin in fichiers:
        try:
            dossier, demande = dossier_du_fichier(chemin.read_bytes())
        except ErreurSNE as exc:
            refuses += 1
            click.echo(f"{chemin} : refusé.", err=True)
            click.echo("\n".join(_lignes_erreurs(exc.erreurs)), err=True)
            continue
        except OSError:
            refuses += 1
            click.echo(f"{chemin} : refusé.\n    Fichier introuvable ou illisible.", err=True)
            continue
        dossiers.append(dossier)
        if demande.rapport:
            click.echo(f"{chemin} : éléments non repris ou adaptés", err=True)
            click.echo("\n".join(_lignes_rapport(demande.rapport)), err=True)
    if dossiers:
        sortie = dossiers[0] if len(fichiers) == 1 else dossiers
        click.echo(json.dumps(sortie, indent=2, ensure_ascii=False))
    if refuses:
        sys.stdout.flush()
        erreur(f"{refuses} fichier(s) refusé(s) sur {len(fichiers)}.")
