"""`caleol locataires importer` and `caleol occupation examiner`: tenants in place and the triennial review."""
from __future__ import annotations

import json
from pathlib import Path

import click

from .cli import Contexte, date_option, erreur, pass_contexte


@click.group()
def locataires() -> None:
    """Locataires en place (ménages, baux) pour l'examen de l'occupation."""


@locataires.command("importer")
@click.argument("fichier", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_contexte
def locataires_importer(contexte: Contexte, fichier: Path) -> None:
    """Charge un fichier de locataires (.json ou .csv, format de fixtures/locataires/README.md).

    Tout le fichier est validé avant toute écriture : à la moindre erreur, rien n'est enregistré et chaque
    erreur est nommée (champ, ou ligne et colonne du CSV).
    """
    from .schemas.champs import ErreurValidation
    from .schemas.locataires import charger_locataires, lire_csv
    from .services.occupation import empreinte_fichier, importer_locataires

    contenu = fichier.read_bytes()
    try:
        texte = contenu.decode("utf-8")
    except UnicodeDecodeError:
        erreur(f"{fichier.name} : le fichier n'est pas encodé en UTF-8.")
        return
    try:
        if fichier.suffix.lower() == ".csv":
            donnees = lire_csv(texte)
        elif fichier.suffix.lower() == ".json":
            try:
                brut = json.loads(texte)
            except json.JSONDecodeError as exc:
                erreur(f"{fichier.name} : JSON invalide (ligne {exc.lineno}, colonne {exc.colno}).")
                return
            donnees = charger_locataires(brut)
        else:
            erreur(f"{fichier.name} : extension inconnue (attendu : .json ou .csv).")
            return
        with contexte.transaction() as session:
            comptes = importer_locataires(session, donnees, acteur="cli:locataires importer",
                                          empreinte=empreinte_fichier(contenu), source=fichier.name)
    except ErreurValidation as exc:
        click.echo(f"Erreur : {fichier.name} refusé, rien n'a été enregistré.", err=True)
        for champ, messages in exc.erreurs.items():
            click.echo(f"  {champ} : {' '.join(messages)}", err=True)
        raise SystemExit(2) from None
    click.echo(f"{comptes['baux_crees']} bail(s) créé(s), {comptes['baux_remplaces']} remplacé(s), "
               f"{comptes['occupants']} occupant(s).")


@click.group()
def occupation() -> None:
    """Examen triennal de l'occupation des logements (CCH, art. L442-5-2)."""


@occupation.command("examiner")
@click.option("--date", "date_texte", default=None, help="Date de l'examen (AAAA-MM-JJ ; défaut : aujourd'hui).")
@pass_contexte
def occupation_examiner(contexte: Contexte, date_texte: str | None) -> None:
    """Examine les baux arrivés à échéance (tous les trois ans depuis la signature) et enregistre les examens."""
    from engine.parametres import ParametreIntrouvable

    from .services.occupation import examiner_baux, situations_connues

    date = date_option(date_texte)
    try:
        with contexte.transaction() as session:
            bilan = examiner_baux(session, date, acteur="cli:occupation examiner")
    except ParametreIntrouvable as exc:
        erreur(f"examen impossible au {date.isoformat()}, rien n'a été enregistré : {exc}")
        return
    click.echo(f"Examen de l'occupation au {date.isoformat()} : {bilan['examines']} bail(s) examiné(s), "
               f"{bilan['a_transmettre']} dossier(s) à transmettre à la CALEOL.")
    libelles = situations_connues()
    for code, nombre in bilan["par_situation"].items():
        click.echo(f"  {libelles.get(code, {}).get('titre', code)} : {nombre}")
