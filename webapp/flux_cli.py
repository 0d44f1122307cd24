"""`caleol flux …`, `caleol quotas` and `caleol bilan`: gestion en flux, live quotas and the annual bilan."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from engine.parametres import ParametreIntrouvable

from .cli import Contexte, date_option, erreur, pass_contexte


def _annee(valeur: int) -> int:
    if not 2000 <= valeur <= 2100:
        erreur(f"--annee : année invalide {valeur} (AAAA attendu).")
    return valeur


def _pluriel(n: int, singulier: str, pluriel: str) -> str:
    return f"{n} {singulier if n <= 1 else pluriel}"


def _nombre(x: float | int | None, decimales: int = 1) -> str:
    if x is None:
        return "—"
    if isinstance(x, int) or float(x).is_integer():
        return f"{int(x):,}".replace(",", "\u202f")
    return f"{x:.{decimales}f}".replace(".", ",")


def _pourcent(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}".replace(".", ",") + " %"


def _tableau(entetes: list[str], lignes: list[list[str]], droite: set[int]) -> str:
    largeurs = [max(len(str(c)) for c in col) for col in zip(entetes, *lignes, strict=False)] if lignes else [len(e) for e in entetes]
    def fmt(ligne: list[str]) -> str:
        return "  ".join(str(c).rjust(w) if i in droite else str(c).ljust(w) for i, (c, w) in enumerate(zip(ligne, largeurs, strict=True)))
    return "\n".join([fmt(entetes), "  ".join("-" * w for w in largeurs), *(fmt(ligne) for ligne in lignes)])


# --- caleol flux ---------------------------------------------------------------------------------------

@click.group()
def flux() -> None:
    """Gestion en flux : orientation des logements libérés, désignations, restitutions, compteurs."""


@flux.command("orienter")
@click.argument("logement_id", type=int, required=False)
@click.option("--vacants", is_flag=True, help="Oriente chaque logement vacant sans orientation en cours.")
@click.option("--date", "date_texte", default=None, help="Date de l'orientation AAAA-MM-JJ (défaut : aujourd'hui).")
@click.option("--destination", default=None,
              help="Destination déclarée du logement (mutation_interne, relogement_anru, relogement_orcod, relogement_operation).")
@click.option("--json", "en_json", is_flag=True, help="Sortie JSON (orientations et explications).")
@pass_contexte
def flux_orienter(contexte: Contexte, logement_id: int | None, vacants: bool, date_texte: str | None,
                  destination: str | None, en_json: bool) -> None:
    """Oriente un logement libéré (ou tous les vacants) vers le réservataire le plus en retard sur sa part."""
    from .services.flux import ErreurFlux, orienter, orienter_vacants

    date = date_option(date_texte)
    if vacants == (logement_id is not None):
        erreur("Indiquer soit un LOGEMENT_ID, soit --vacants.")
    if vacants and destination:
        erreur("--destination ne s'emploie qu'avec un LOGEMENT_ID.")
    try:
        with contexte.transaction() as session:
            if vacants:
                orientations = orienter_vacants(session, date, acteur="cli:flux orienter")
            else:
                orientations = [orienter(session, logement_id, date, acteur="cli:flux orienter", destination=destination)]
            resume = [_resume_orientation(o) for o in orientations]
    except (ErreurFlux, ParametreIntrouvable) as exc:
        erreur(str(exc))
    if en_json:
        click.echo(json.dumps(resume, ensure_ascii=False, indent=2))
        return
    hors = sum(1 for o in resume if o["motif_exclusion"])
    click.echo(f"{_pluriel(len(resume), 'logement orienté', 'logements orientés')} au {date.isoformat()}"
               + (f", dont {hors} hors flux" if hors else "") + ".")
    par_reservataire: dict[str, int] = {}
    for o in resume:
        cle = o["reservataire"] or f"hors flux ({o['motif_exclusion']})"
        par_reservataire[cle] = par_reservataire.get(cle, 0) + 1
    for nom, n in sorted(par_reservataire.items(), key=lambda kv: (-kv[1], kv[0])):
        click.echo(f"  {nom} : {n}")
    if not vacants and resume:
        click.echo(resume[0]["motif"])


def _resume_orientation(o: Any) -> dict[str, Any]:
    explication = o.explication or {}
    return {
        "id": o.id,
        "logement_id": o.logement_id,
        "reservataire_id": o.reservataire_id,
        "reservataire": (explication.get("retenu") or {}).get("reservataire") or (o.reservataire.nom if o.reservataire else None),
        "statut": str(o.statut.value if hasattr(o.statut, "value") else o.statut),
        "date_orientation": o.date_orientation.isoformat(),
        "date_limite_designation": o.date_limite_designation.isoformat() if o.date_limite_designation else None,
        "motif_exclusion": o.motif_exclusion,
        "motif": explication.get("motif"),
        "explication": explication,
    }


@flux.command("designer")
@click.argument("orientation_id", type=int)
@click.argument("numeros", nargs=-1, required=True)
@click.option("--date", "date_texte", default=None, help="Date de la désignation AAAA-MM-JJ (défaut : aujourd'hui).")
@pass_contexte
def flux_designer(contexte: Contexte, orientation_id: int, numeros: tuple[str, ...], date_texte: str | None) -> None:
    """Enregistre les candidats désignés par le réservataire (numéros uniques, dans l'ordre de classement)."""
    from .models import Demande
    from .services.flux import ErreurFlux, designer

    date = date_option(date_texte)
    try:
        with contexte.transaction() as session:
            ids = []
            for numero in numeros:
                demande_id = session.scalar(select(Demande.id).where(Demande.numero_unique == numero))
                if demande_id is None:
                    raise ErreurFlux(f"Demande {numero} introuvable (numéro unique).", "numeros")
                ids.append(demande_id)
            nouvelles = designer(session, orientation_id, ids, date, acteur="cli:flux designer")
            rangs = [d.rang for d in nouvelles]
    except (ErreurFlux, ParametreIntrouvable) as exc:
        erreur(str(exc))
    click.echo(f"{_pluriel(len(rangs), 'candidat désigné', 'candidats désignés')} sur l'orientation {orientation_id} "
               f"(rangs {', '.join(map(str, rangs))}).")


@flux.command("echeances")
@click.option("--date", "date_texte", default=None, help="Date du jour AAAA-MM-JJ (défaut : aujourd'hui).")
@pass_contexte
def flux_echeances(contexte: Contexte, date_texte: str | None) -> None:
    """Clôt les orientations des logements attribués et rend au bailleur celles dont le délai de désignation est passé."""
    from .services.flux import cloturer_attribuees, restituer_echues

    date = date_option(date_texte)
    try:
        with contexte.transaction() as session:
            closes = cloturer_attribuees(session, date, acteur="cli:flux echeances")
            rendues = restituer_echues(session, date, acteur="cli:flux echeances")
            n_closes, n_rendues = len(closes), len(rendues)
    except ParametreIntrouvable as exc:
        erreur(str(exc))
    click.echo(f"{_pluriel(n_closes, 'orientation close', 'orientations closes')} (logement attribué) ; "
               f"{_pluriel(n_rendues, 'orientation restituée', 'orientations restituées')} au bailleur "
               f"(aucune désignation dans le délai) au {date.isoformat()}.")


@flux.command("compteurs")
@click.option("--annee", type=int, required=True, help="Année du flux (AAAA).")
@click.option("--bailleur", "bailleur_id", type=int, default=None, help="Identifiant du bailleur (défaut : tous).")
@click.option("--json", "en_json", is_flag=True, help="Sortie JSON.")
@pass_contexte
def flux_compteurs(contexte: Contexte, annee: int, bailleur_id: int | None, en_json: bool) -> None:
    """Compteurs par réservataire : part, dû, orientés, désignés, attribués, restitués, écart."""
    from .models import Organisation, TypeOrganisation
    from .services.flux import compteurs

    _annee(annee)
    try:
        with contexte.transaction() as session:
            requete = select(Organisation).where(Organisation.type == TypeOrganisation.BAILLEUR).order_by(Organisation.id)
            if bailleur_id is not None:
                requete = requete.where(Organisation.id == bailleur_id)
            bailleurs = session.scalars(requete).all()
            if bailleur_id is not None and not bailleurs:
                erreur(f"--bailleur : bailleur {bailleur_id} introuvable.")
            resultats = {b.id: (b.nom, compteurs(session, b.id, annee)) for b in bailleurs}
    except ParametreIntrouvable as exc:
        erreur(str(exc))
    if en_json:
        click.echo(json.dumps({str(k): v[1] for k, v in resultats.items()}, ensure_ascii=False, indent=2))
        return
    if not resultats:
        click.echo("Aucun bailleur.")
    for nom, lignes in resultats.values():
        click.echo(f"Flux {annee} — {nom}")
        entetes = ["Réservataire", "Territoire", "Part", "Flux", "Dû", "Orientés", "En attente", "Désignés",
                   "Restitués", "Attribués", "Baux signés", "Comptés", "Écart"]
        corps = [[x["reservataire"], x["territoire"], _pourcent(x["part"]) if x["part"] is not None else "reste",
                  _nombre(x["flux_territoire"]), _nombre(x["du"]), _nombre(x["orientes"]), _nombre(x["en_attente"]),
                  _nombre(x["designes"]), _nombre(x["restitues"]), _nombre(x["attribues"]), _nombre(x["baux_signes"]),
                  _nombre(x["comptes"]), _nombre(x["ecart"])] for x in lignes]
        click.echo(_tableau(entetes, corps, set(range(2, 13))))
        click.echo("")


# --- caleol quotas -------------------------------------------------------------------------------------

STATUTS = {
    "atteint": "atteint", "en_dessous": "en dessous", "respecte": "respecté", "depasse": "dépassé",
    "sans_attribution": "aucune attribution", "en_cours": "en cours", "non_atteint": "non atteint",
    "sans_objectif": "sans objectif",
}


@click.command("quotas")
@click.option("--epci", required=True, help="SIREN de l'EPCI.")
@click.option("--annee", type=int, required=True, help="Année (AAAA).")
@click.option("--date", "date_texte", default=None, help="Compter jusqu'à cette date AAAA-MM-JJ (défaut : aujourd'hui).")
@click.option("--json", "en_json", is_flag=True, help="Sortie JSON.")
@pass_contexte
def quotas(contexte: Contexte, epci: str, annee: int, date_texte: str | None, en_json: bool) -> None:
    """Objectifs d'attribution de l'année sur un EPCI (baux signés) : mixité, publics prioritaires, État, Logement d'abord."""
    from .services.quotas import ErreurQuotas
    from .services.quotas import quotas as calculer

    _annee(annee)
    date = date_option(date_texte)
    if not (len(epci) == 9 and epci.isdigit()):
        erreur(f"--epci : SIREN invalide « {epci} » (9 chiffres attendus).")
    try:
        with contexte.transaction() as session:
            resultat = calculer(session, epci, annee, date)
    except (ErreurQuotas, ParametreIntrouvable) as exc:
        erreur(str(exc))
    if en_json:
        click.echo(json.dumps(resultat, ensure_ascii=False, indent=2))
        return
    click.echo(f"Objectifs d'attribution {annee} — {resultat['nom_epci']} ({epci}), baux signés jusqu'au {date.isoformat()}")
    click.echo(f"{_pluriel(resultat['attributions'], 'attribution suivie', 'attributions suivies')} d'un bail signé.")
    if resultat["note"]:
        click.echo(resultat["note"])
    entetes = ["Indicateur", "Numérateur", "Dénominateur", "Taux", "Cible", "Statut"]
    corps = []
    for x in resultat["indicateurs"]:
        if x["code"] == "logement_d_abord":
            cible = f"objectif {x['objectif']}" if x["objectif"] else "—"
        else:
            cible = ("≥ " if x["sens"] == "minimum" else "≤ ") + _pourcent(x["cible"])
        corps.append([x["libelle"], _nombre(x["numerateur"]), _nombre(x["denominateur"]), _pourcent(x["taux"]), cible,
                      STATUTS.get(x["statut"], x["statut"])])
    click.echo(_tableau(entetes, corps, {1, 2, 3}))
    if resultat["parametres_a_verifier"]:
        click.echo(f"Paramètres à vérifier : {', '.join(resultat['parametres_a_verifier'])}.")
    click.echo(f"Référentiel {resultat['version_regles']}.")


# --- caleol bilan --------------------------------------------------------------------------------------

@click.command("bilan")
@click.option("--annee", type=int, required=True, help="Année du bilan (AAAA).")
@click.option("--format", "format_", type=click.Choice(["csv", "html"]), default="csv", show_default=True,
              help="CSV (point-virgule, UTF-8 avec BOM) ou HTML autonome.")
@click.option("--sortie", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Fichier à écrire (défaut : sortie standard).")
@click.option("--bailleur", "bailleur_id", type=int, default=None, help="Identifiant du bailleur (défaut : tous).")
@pass_contexte
def bilan(contexte: Contexte, annee: int, format_: str, sortie: Path | None, bailleur_id: int | None) -> None:
    """Bilan annuel des logements proposés et attribués par réservataire (R441-5-1 CCH)."""
    from .services.bilan import ErreurBilan, bilan_annuel, en_csv, en_html

    _annee(annee)
    try:
        with contexte.transaction() as session:
            donnees = bilan_annuel(session, annee, bailleur_id=bailleur_id)
    except ErreurBilan as exc:
        erreur(str(exc))
    contenu = en_csv(donnees) if format_ == "csv" else en_html(donnees)
    if sortie is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(contenu)
        sys.stdout.buffer.flush()
        return
    try:
        sortie.write_bytes(contenu)
    except OSError as exc:
        erreur(f"--sortie : impossible d'écrire {sortie} ({exc.strerror}).")
    click.echo(f"Bilan {annee} écrit dans {sortie} ({format_.upper()}, {donnees['totaux']['attribues']} attributions, "
               f"{donnees['totaux']['proposes']} logements proposés).", err=True)
