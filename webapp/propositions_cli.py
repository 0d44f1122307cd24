"""`caleol propose`, `caleol position` and `caleol evaluations recalculer`.

Bad input ends with exit code 2 and a French message naming the argument, never a traceback.
`propose` and `position` only read (the APL estimate cache aside); `evaluations recalculer`
writes in one transaction with one audit entry.
"""
from __future__ import annotations

import json
import os

import click

from .evaluation_cli import _date

# The group `main` of webapp/cli.py puts its Contexte in ctx.obj (not imported here: cli imports us).
pass_contexte = click.pass_obj


def erreur(message: str, code: int = 2) -> None:
    from .cli import erreur as erreur_cli

    erreur_cli(message, code)


def _estimateur():
    """The OpenFisca housing-aid estimator when CALEOL_OPENFISCA_URL is set, else none (declared aid)."""
    url = os.environ.get("CALEOL_OPENFISCA_URL")
    if not url:
        return None
    from .services.apl import EstimateurApl

    return EstimateurApl(url)


@click.command("propose")
@click.argument("logement_id", required=False, type=int)
@click.option("--date", "date_texte", default=None, help="Date de la séance AAAA-MM-JJ (défaut : aujourd'hui).")
@click.option("--seance", "seance_id", type=int, default=None,
              help="Séance : écarte les demandes déjà candidates pour un autre logement de cette séance.")
@click.option("--vacants", is_flag=True, help="Propose pour chaque logement vacant (liste JSON).")
@pass_contexte
def propose(contexte, logement_id: int | None, date_texte: str | None, seance_id: int | None, vacants: bool) -> None:
    """Candidats classés et expliqués pour un logement libéré (JSON)."""
    from sqlalchemy import select

    from .models import Logement, Seance, StatutLogement
    from .services.propositions import ErreurProposition, proposer

    date = _date(date_texte)
    if vacants == (logement_id is not None):
        erreur("indiquez soit LOGEMENT_ID, soit --vacants.")
    estimateur = _estimateur()
    with contexte.transaction() as session:
        if seance_id is not None and session.get(Seance, seance_id) is None:
            erreur(f"--seance : séance {seance_id} introuvable.")
        if not vacants:
            try:
                resultat = proposer(session, logement_id, date, seance_id=seance_id, estimateur=estimateur)
            except ErreurProposition as exc:
                erreur(f"LOGEMENT_ID : {exc}")
            click.echo(json.dumps(resultat, ensure_ascii=False, indent=2))
            return
        ids = session.scalars(select(Logement.id).where(Logement.statut == StatutLogement.VACANT).order_by(Logement.id)).all()
        sortie = []
        for i in ids:
            try:
                sortie.append(proposer(session, i, date, seance_id=seance_id, estimateur=estimateur))
            except ErreurProposition as exc:
                sortie.append({"logement": {"id": i}, "erreur": str(exc)})
    click.echo(json.dumps(sortie, ensure_ascii=False, indent=2))


@click.command("position")
@click.argument("numero_unique")
@click.option("--date", "date_texte", default=None, help="Date de consultation AAAA-MM-JJ (défaut : aujourd'hui).")
@click.option("--json", "en_json", is_flag=True, help="Sortie JSON au lieu du texte.")
@pass_contexte
def position(contexte, numero_unique: str, date_texte: str | None, en_json: bool) -> None:
    """Ce que le demandeur doit savoir : score, rang parmi les demandes semblables, délai moyen d'attente."""
    from .services.position import ErreurPosition, position as calculer, texte_position

    date = _date(date_texte)
    with contexte.transaction() as session:
        try:
            resultat = calculer(session, numero_unique, date)
        except ErreurPosition as exc:
            erreur(f"NUMERO_UNIQUE : {exc}")
    click.echo(json.dumps(resultat, ensure_ascii=False, indent=2) if en_json else texte_position(resultat))


@click.group("evaluations")
def evaluations() -> None:
    """Évaluations persistées des demandes (présélection des propositions)."""


@evaluations.command("recalculer")
@click.option("--date", "date_texte", default=None, help="Date d'évaluation AAAA-MM-JJ (défaut : aujourd'hui).")
@click.option("--toutes", is_flag=True, help="Recalcule toutes les demandes actives, même à jour.")
@click.option("--processus", type=click.IntRange(min=1), default=None,
              help="Processus de calcul (défaut : tous les cœurs au-delà de quelques milliers de demandes).")
@click.option("--moteur", type=click.Choice(["durable", "python"]), default="durable", show_default=True,
              help="Moteur de correspondance (les deux donnent le même résultat).")
@pass_contexte
def evaluations_recalculer(contexte, date_texte: str | None, toutes: bool, processus: int | None, moteur: str) -> None:
    """Évalue les demandes actives sans évaluation, d'une autre version du référentiel ou d'une autre date."""
    from .services.evaluations import recalculer_evaluations

    date = _date(date_texte)
    with contexte.transaction() as session:
        bilan = recalculer_evaluations(session, date, toutes=toutes, processus=processus, moteur=moteur,
                                       acteur="cli:evaluations recalculer")
    d = bilan["durees"]
    click.echo(f"{bilan['evaluees']} demande(s) évaluée(s) au {date.isoformat()} (référentiel {bilan['version_regles']}), "
               f"{bilan['supprimees']} évaluation(s) de demandes non actives supprimée(s), "
               f"{bilan['processus']} processus, {d['total_s']:.1f} s.")
