"""`caleol purge`: remove or anonymise what is past its term (rules/conservation/politique.yaml).

One transaction, one audit entry; `--simulation` reads only and says what would be done.
"""
from __future__ import annotations

import json

import click

from .cli import Contexte, date_option, erreur, pass_contexte

LIBELLES = {
    "suppression": "supprimé(s)",
    "anonymisation": "anonymisé(s)",
    "archivage": "à verser aux archives (rien n'est supprimé)",
}


def texte_plan(resume: dict, *, simulation: bool) -> list[str]:
    lignes = [
        ("Simulation : rien n'est écrit. " if simulation else "")
        + f"Purge au {resume['date']} (politique de conservation, règles {resume['version_regles']})."
    ]
    for cid, cat in resume["categories"].items():
        verbe = LIBELLES[cat["traitement"]]
        if simulation and cat["traitement"] != "archivage":
            verbe = "à " + {"suppression": "supprimer", "anonymisation": "anonymiser"}[cat["traitement"]]
        marque = " [durée à vérifier]" if cat["a_verifier"] else ""
        lignes.append(
            f"- {cat['libelle']} ({cid}) : {cat['nombre']} {verbe} — {cat['duree_mois']} mois après "
            f"{cat['evenement']}, terme atteint si ≤ {cat['limite']}{marque}"
        )
        for table, n in sorted(cat["lignes"].items()):
            lignes.append(f"    {table} : {n} ligne(s)")
    return lignes


@click.command("purge")
@click.option("--date", "date_texte", default=None, metavar="AAAA-MM-JJ",
              help="Date de la purge (défaut : CALEOL_TODAY ou aujourd'hui).")
@click.option("--simulation", is_flag=True, help="N'écrit rien : affiche ce qui serait supprimé ou anonymisé.")
@click.option("--json", "en_json", is_flag=True, help="Sortie JSON (comptes par catégorie et table, identifiants).")
@pass_contexte
def purge(contexte: Contexte, date_texte: str | None, simulation: bool, en_json: bool) -> None:
    """Supprime ou anonymise ce qui a dépassé sa durée de conservation (rules/conservation/)."""
    from engine.yaml_strict import ErreurRegles

    from .services.conservation import planifier, purger

    date = date_option(date_texte)
    try:
        if simulation:
            session = contexte.sessions()
            try:
                resume = planifier(session, date).resume()
            finally:
                session.rollback()
                session.close()
        else:
            with contexte.transaction() as session:
                resume = purger(session, date, acteur="cli:purge").resume()
    except ErreurRegles as exc:
        erreur(f"politique de conservation invalide : {exc}")
    if en_json:
        click.echo(json.dumps({"simulation": simulation, **resume}, ensure_ascii=False, indent=2, sort_keys=True))
        return
    for ligne in texte_plan(resume, simulation=simulation):
        click.echo(ligne)
    if not simulation:
        click.echo("Une entrée du journal d'audit décrit cette purge.")
