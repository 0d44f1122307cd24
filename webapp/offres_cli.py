"""`caleol offres …`: offers after the séance, answers, documents received, leases, daily lapses."""
from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy import select

from .cli import Contexte, date_option, erreur, pass_contexte

OPTION_JSON = click.option("--json", "en_json", is_flag=True, help="Sortie JSON.")
OPTION_UTILISATEUR = click.option(
    "--utilisateur", required=True,
    help="Identifiant du compte qui enregistre (chargé(e) d'attribution ou présidence du bailleur).",
)


def _utilisateur(session, identifiant: str):
    from .models import Utilisateur

    u = session.scalars(select(Utilisateur).where(Utilisateur.identifiant == identifiant, Utilisateur.actif.is_(True))).first()
    if u is None:
        erreur(f"--utilisateur : compte « {identifiant} » introuvable ou désactivé.")
    return u


def _ligne(o: dict[str, Any]) -> str:
    from .models import StatutOffre
    from .services.offres import LIBELLES_STATUTS

    statut = LIBELLES_STATUTS[StatutOffre(o["statut"])]
    echeance = ""
    if o["statut"] == "en_cours":
        echeance = f", réponse attendue au plus tard le {o['date_limite_reponse']}"
    elif o["statut"] == "attente_piece":
        echeance = f", pièce attendue au plus tard le {o['date_limite_piece']}"
    rang = f" rang {o['rang']}" if o["rang"] else ""
    return f"Offre {o['id']} : logement {o['logement']}, demande {o['numero_unique']}{rang} — {statut}{echeance}"


def _ecrire(contexte: Contexte, action, en_json: bool, message: str) -> None:
    from .services.offres import ErreurOffre, offre_dict

    try:
        with contexte.transaction() as session:
            offre = action(session)
            sortie = offre_dict(offre)
    except ErreurOffre as exc:
        erreur(str(exc))
    if en_json:
        click.echo(json.dumps(sortie, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{message}\n{_ligne(sortie)}")


@click.group("offres")
def offres() -> None:
    """Offres faites aux ménages après la séance : réponses, pièces, baux, échéances."""


@offres.command("lister")
@click.option("--statut", type=click.Choice(["attente_piece", "en_cours", "acceptee", "bail_signe", "refusee", "expiree", "caduque"]),
              default=None, help="Seulement les offres de ce statut.")
@click.option("--seance", "seance_id", type=int, default=None, help="Seulement les offres de cette séance.")
@OPTION_JSON
@pass_contexte
def offres_lister(contexte: Contexte, statut: str | None, seance_id: int | None, en_json: bool) -> None:
    """Liste les offres (échéance la plus proche d'abord)."""
    from .services.offres import lister, offre_dict

    with contexte.sessions() as session:
        lignes = [offre_dict(o) for o in lister(session, statut=statut) if seance_id is None or o.seance_id == seance_id]
    if en_json:
        click.echo(json.dumps(lignes, ensure_ascii=False, indent=2))
        return
    if not lignes:
        click.echo("Aucune offre.")
    for o in lignes:
        click.echo(_ligne(o))


@offres.command("repondre")
@click.argument("offre_id", type=int)
@click.argument("reponse", type=click.Choice(["acceptee", "refusee"]))
@click.option("--motif", default=None, help="Code du motif de refus (rules/decisions/motifs_refus_offre.yaml).")
@click.option("--commentaire", default=None, help="Commentaire libre (jamais recopié dans le journal d'audit).")
@click.option("--date", "date_texte", default=None, help="Date de la réponse AAAA-MM-JJ (défaut : aujourd'hui).")
@OPTION_UTILISATEUR
@OPTION_JSON
@pass_contexte
def offres_repondre(contexte: Contexte, offre_id: int, reponse: str, motif: str | None, commentaire: str | None,
                    date_texte: str | None, utilisateur: str, en_json: bool) -> None:
    """Enregistre la réponse du ménage ; un refus passe l'offre au rang suivant (ou remet le logement à l'ordre du jour)."""
    from .services.offres import repondre

    donnees = {"reponse": reponse, "motif": motif, "commentaire": commentaire, "date_reponse": date_texte}
    _ecrire(contexte, lambda s: repondre(s, offre_id=offre_id, acteur=_utilisateur(s, utilisateur), donnees=donnees),
            en_json, "Offre acceptée." if reponse == "acceptee" else "Refus enregistré.")


@offres.command("piece-recue")
@click.argument("offre_id", type=int)
@click.option("--date", "date_texte", default=None, help="Date de réception AAAA-MM-JJ (défaut : aujourd'hui).")
@OPTION_UTILISATEUR
@OPTION_JSON
@pass_contexte
def offres_piece_recue(contexte: Contexte, offre_id: int, date_texte: str | None, utilisateur: str, en_json: bool) -> None:
    """Enregistre la pièce justificative reçue : l'attribution sous condition devient définitive, l'offre court."""
    from .services.offres import piece_recue

    _ecrire(contexte, lambda s: piece_recue(s, offre_id=offre_id, acteur=_utilisateur(s, utilisateur),
                                            donnees={"date_reception": date_texte}),
            en_json, "Pièce reçue : l'attribution est définitive.")


@offres.command("bail")
@click.argument("offre_id", type=int)
@click.option("--date", "date_texte", required=True, help="Date de signature du bail AAAA-MM-JJ.")
@OPTION_UTILISATEUR
@OPTION_JSON
@pass_contexte
def offres_bail(contexte: Contexte, offre_id: int, date_texte: str, utilisateur: str, en_json: bool) -> None:
    """Enregistre la signature du bail : l'attribution compte, la demande est radiée (RADATT)."""
    from .services.offres import signer_bail

    _ecrire(contexte, lambda s: signer_bail(s, offre_id=offre_id, acteur=_utilisateur(s, utilisateur),
                                            donnees={"date_signature_bail": date_texte}),
            en_json, "Bail signé : attribution close, demande radiée (RADATT).")


@offres.command("echeances")
@click.option("--date", "date_texte", default=None, help="Date du jour AAAA-MM-JJ (défaut : aujourd'hui).")
@OPTION_JSON
@pass_contexte
def offres_echeances(contexte: Contexte, date_texte: str | None, en_json: bool) -> None:
    """Tâche quotidienne : offres sans réponse dans le délai et conditions non levées à temps passent au rang suivant."""
    from engine.parametres import ParametreIntrouvable

    from .services.offres import echeances

    date = date_option(date_texte)
    try:
        with contexte.transaction() as session:
            evenements = echeances(session, date=date, acteur="cli:offres echeances")
    except ParametreIntrouvable as exc:
        erreur(str(exc))
    if en_json:
        click.echo(json.dumps({"date": date.isoformat(), "evenements": evenements}, ensure_ascii=False, indent=2))
        return
    if not evenements:
        click.echo(f"Aucune offre échue au {date.isoformat()}.")
    for e in evenements:
        quoi = "échue sans réponse" if e["evenement"] == "expiree" else "caduque (pièce non reçue dans le délai)"
        if e["suite"] == "rang_suivant":
            suite = f"offerte au rang {e['rang']} (offre {e['nouvelle_offre_id']})"
        elif e.get("seance_id"):
            suite = f"logement inscrit à l'ordre du jour de la séance {e['seance_id']}"
        else:
            suite = "rangs épuisés : logement à réinscrire à l'ordre du jour d'une prochaine séance"
        click.echo(f"Offre {e['offre_id']} {quoi} : {suite}.")
