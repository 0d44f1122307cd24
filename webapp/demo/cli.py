"""`caleol demo …`: the deterministic demonstration data set."""
from __future__ import annotations

import time

import click

from ..cli import Contexte, erreur, pass_contexte

LIBELLES = {
    "organisation": "organisations",
    "utilisateur": "utilisateurs",
    "reservataire": "réservataires",
    "convention_reservation": "conventions de réservation",
    "residence": "résidences",
    "logement": "logements",
    "demande": "demandes",
    "personne": "personnes",
    "ressource": "ressources",
    "revenu_fiscal": "revenus fiscaux",
    "situation_prioritaire": "situations de priorité",
    "refus_offre": "refus d'offres",
    "souhait_typologie": "souhaits de typologie",
    "souhait_commune": "souhaits de commune",
    "commission": "commissions",
    "seance": "séances",
    "membre_seance": "membres de séance",
    "candidature": "candidatures",
    "decision": "décisions",
    "attribution": "attributions",
    "bail_locataire": "baux de locataires en place",
    "occupant_locataire": "occupants de ces logements",
}


@click.group()
def demo() -> None:
    """Données de démonstration (fictives, déterministes)."""


@demo.command("load")
@click.option("--seed", default=42, show_default=True, type=int, help="Graine : même graine, mêmes données.")
@click.option("--dossiers", default=20000, show_default=True, type=click.IntRange(min=0), help="Nombre de demandes.")
@click.option("--logements", default=3000, show_default=True, type=click.IntRange(min=0), help="Nombre de logements.")
@click.option("--si-vide", is_flag=True, help="Ne rien faire si la base contient déjà des demandes.")
@pass_contexte
def demo_load(contexte: Contexte, seed: int, dossiers: int, logements: int, si_vide: bool) -> None:
    """Charge le jeu de démonstration en une transaction (date de référence : CALEOL_TODAY ou le jour)."""
    from ..migrations import current
    from .service import ErreurDemo, charger_demo

    if current(contexte.engine) is None:
        erreur("La base n'a pas encore de schéma : lancez d'abord « caleol db upgrade ».")
    debut = time.perf_counter()
    try:
        with contexte.transaction() as session:
            resultat = charger_demo(
                session, seed=seed, nb_dossiers=dossiers, nb_logements=logements, acteur="cli:demo load", si_vide=si_vide
            )
    except ErreurDemo as exc:
        erreur(str(exc))
        return
    if not resultat.charge:
        click.echo(resultat.message)
        return
    duree = time.perf_counter() - debut
    if resultat.territoire_charge:
        click.echo("Référentiel territorial chargé (communes, EPCI, QPV 2024).")
    click.echo(f"Données de démonstration chargées en {duree:.1f} s (graine {seed}) :")
    for table, nombre in resultat.comptes.items():
        click.echo(f"  {LIBELLES.get(table, table)} : {nombre}")
    click.echo("Comptes de démonstration : voir webapp/demo/UTILISATEURS.md.")
    click.echo(f"Empreinte des données : {resultat.empreinte}")
