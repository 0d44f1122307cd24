"""`caleol export-sne`: CALEOL decisions and radiations to the SNE format (fixtures/sne/EXPORT.md)."""
from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy.exc import IntegrityError

from . import db as dbmod
from .cli import Contexte, erreur, pass_contexte
from .schemas import ErreurValidation
from .schemas.export_sne import charger_demande_export
from .services.export_sne import ErreurExport, ecrire_fichier, exporter

SORTIE_PAR_DEFAUT = dbmod.INSTANCE / "exports_sne"


def _pluriel(n: int, singulier: str, pluriel: str) -> str:
    return f"{n} {singulier if n <= 1 else pluriel}"


@click.command("export-sne")
@click.option("--jour", default=None, metavar="AAAA-MM-JJ",
              help="Les décisions des séances closes de ce jour et les radiations de ce jour (défaut : tout ce qui "
                   "n'a pas encore été exporté, jusqu'à aujourd'hui).")
@click.option("--sortie", default=None, type=click.Path(file_okay=False, path_type=Path), metavar="DOSSIER",
              help="Dossier où écrire le fichier XML (défaut : instance/exports_sne/).")
@click.option("--forcer", is_flag=True, help="Exporte aussi ce qui l'a déjà été (nouvel envoi).")
@click.option("--bailleur", "bailleur_id", type=int, default=None, metavar="ID",
              help="Seulement les séances et logements de ce bailleur (identifiant d'organisation).")
@click.option("--json", "en_json", is_flag=True, help="Affiche le résultat en JSON.")
@pass_contexte
def export_sne(contexte: Contexte, jour: str | None, sortie: Path | None, forcer: bool, bailleur_id: int | None,
               en_json: bool) -> None:
    """Exporte vers le SNE les décisions de CALEOL et les radiations, dans une transaction.

    Un fichier XML (interfaceNuu) par jour ou à la demande ; chaque décision ou radiation n'est
    exportée qu'une fois, sauf --forcer. Rien de nouveau : aucun fichier, rien n'est enregistré.
    """
    try:
        demande = charger_demande_export(
            {"etendue": "tout" if jour is None else "jour", "jour": jour, "forcer": forcer}
        )
    except ErreurValidation as exc:
        erreur(" ; ".join(f"--{champ} : {' '.join(m)}" for champ, m in exc.erreurs.items()))
        return
    if sortie is None:
        sortie = SORTIE_PAR_DEFAUT
        sortie.mkdir(parents=True, exist_ok=True)
    elif not sortie.is_dir():
        erreur(f"--sortie : le dossier {sortie} n'existe pas.")
        return
    try:
        # The file is written once the export is committed: never a file without its record.
        with contexte.transaction() as session:
            resultat = exporter(session, acteur="cli:export-sne", jour=demande["jour"], forcer=demande["forcer"],
                                bailleur_id=bailleur_id)
    except ErreurExport as exc:
        erreur(" ; ".join(f"--{c} : {m}" if c in ("jour", "sortie") else m for c, ms in exc.erreurs.items() for m in ms))
        return
    except IntegrityError:
        erreur("un autre export a envoyé les mêmes décisions ou radiations au même moment : rien n'est enregistré, "
               "recommencez.")
        return
    finally:
        if "engine" in contexte.__dict__:
            contexte.engine.dispose()
    if not resultat.vide:
        resultat.chemin = ecrire_fichier(sortie, resultat.fichier, resultat.contenu)
    if en_json:
        click.echo(json.dumps(resultat.en_dict(), indent=2, ensure_ascii=False))
        return
    portee = f"du {resultat.jour.isoformat()}" if resultat.jour else "à la demande"
    for e in resultat.ecartes:
        click.echo(f"Non exportée : {e['objet_type']} n° {e['objet_id']} ({e['code']}) — {e['raison']}.")
    if resultat.vide:
        click.echo(f"Export SNE {portee} : rien de nouveau à exporter, aucun fichier écrit.")
        return
    click.echo(
        f"Export SNE {portee} n° {resultat.export_id} : {_pluriel(resultat.nb_decisions, 'décision', 'décisions')}, "
        f"{_pluriel(resultat.nb_radiations, 'radiation', 'radiations')}{' (renvoi forcé)' if resultat.force else ''}."
    )
    click.echo(f"Fichier : {resultat.chemin} (SHA-256 {resultat.sha256}).")
