"""`caleol evaluate` and `caleol rules check|show`: the rules engine from the shell.

Nothing here writes to the database. Bad input ends with exit code 2 and a French message naming
the field (never a traceback); a defective rulebook ends with exit code 1.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from engine.yaml_strict import ErreurRegles


def _erreur(message: str, code: int = 2) -> None:
    from .cli import erreur

    erreur(message, code)


def _lire(chemin: Path, quoi: str) -> bytes:
    try:
        return chemin.read_bytes()
    except FileNotFoundError:
        _erreur(f"{quoi} : fichier introuvable ({chemin}).")
    except IsADirectoryError:
        _erreur(f"{quoi} : {chemin} est un dossier, pas un fichier.")
    except OSError as exc:
        _erreur(f"{quoi} : lecture impossible de {chemin} ({exc.strerror}).")
    raise AssertionError  # pragma: no cover


def _json(contenu: bytes, chemin: Path, quoi: str) -> Any:
    try:
        return json.loads(contenu.decode("utf-8"))
    except UnicodeDecodeError:
        _erreur(f"{quoi} : {chemin} n'est pas un texte UTF-8.")
    except json.JSONDecodeError as exc:
        _erreur(f"{quoi} : JSON invalide dans {chemin} (ligne {exc.lineno}, colonne {exc.colno}).")
    raise AssertionError  # pragma: no cover


def _validation(exc: Any, quoi: str) -> str:
    details = " ; ".join(f"{champ} : {' '.join(messages)}" for champ, messages in exc.erreurs.items())
    return f"{quoi} invalide : {details}"


def charger_dossier_fichier(chemin: Path) -> dict[str, Any]:
    """A dossier from a JSON file (webapp.schemas format) or an SNE interfaceNuu XML file."""
    from .schemas import ErreurValidation, charger_dossier

    contenu = _lire(chemin, "DOSSIER")
    if chemin.suffix.lower() == ".xml" or contenu.lstrip()[:1] == b"<":
        from .sne import ErreurSNE, composer_dossier, lire_demande_sne, valider

        try:
            demande = lire_demande_sne(contenu)
            return valider(demande, composer_dossier(demande, None))
        except ErreurSNE as exc:
            _erreur("DOSSIER (fichier SNE) invalide : " + " ; ".join(
                f"{chemin_xml} : {message}" if chemin_xml else message for chemin_xml, message in exc.erreurs
            ))
    donnees = _json(contenu, chemin, "DOSSIER")
    try:
        return charger_dossier(donnees)
    except ErreurValidation as exc:
        _erreur(_validation(exc, "DOSSIER"))
    raise AssertionError  # pragma: no cover


def charger_logement_fichier(chemin: Path) -> dict[str, Any]:
    from .schemas import ErreurValidation, charger_logement

    donnees = _json(_lire(chemin, "--logement"), chemin, "--logement")
    try:
        return charger_logement(donnees)
    except ErreurValidation as exc:
        _erreur(_validation(exc, "--logement"))
    raise AssertionError  # pragma: no cover


def _suivre_la_version_active(ctx: click.Context) -> None:
    """With a database designated (--database-url or CALEOL_DATABASE_URL), evaluate with the version
    activated there; without one, with the files on disk (no database is opened, none is created)."""
    from .cli import Contexte

    contexte = ctx.find_object(Contexte)
    designee = contexte is not None and (
        "sessions" in contexte.__dict__ or "engine" in contexte.__dict__ or ctx.find_root().params.get("database_url"))
    if designee:
        contexte.sessions  # noqa: B018 - opening the sessions follows the active version (webapp.cli.Contexte)


def _rejouer(ctx: click.Context, version: str, dossier: dict, logement: dict | None, date: dt.date, **options: Any):
    """The evaluation by a stored rulebook version (read from the database; nothing is written)."""
    from sqlalchemy.exc import DBAPIError

    from .cli import Contexte
    from .regles.activation import ErreurActivation, evaluer_avec_version

    contexte = ctx.find_object(Contexte) or ctx.ensure_object(Contexte)
    try:
        with contexte.sessions() as session:
            return evaluer_avec_version(session, version, dossier, logement, date, **options)
    except ErreurActivation as exc:
        _erreur(f"--version : {' '.join(m for ms in exc.erreurs.values() for m in ms)}")
    except DBAPIError:
        _erreur("--version : la base de données n'a pas de schéma à jour (lancez d'abord `caleol db upgrade`).")
    raise AssertionError  # pragma: no cover


def _date(texte: str | None) -> dt.date:
    from .horloge import aujourd_hui

    if texte is None:
        return aujourd_hui()
    try:
        return dt.date.fromisoformat(texte)
    except ValueError:
        _erreur(f"--date : date invalide « {texte} » (format AAAA-MM-JJ attendu).")
    raise AssertionError  # pragma: no cover


@click.command("evaluate")
@click.argument("dossier", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--logement", "logement_chemin", type=click.Path(path_type=Path), default=None,
              help="Logement proposé (JSON) : ajoute l'adéquation (taux d'effort, sur/sous-occupation).")
@click.option("--date", "date_texte", default=None, help="Date de référence AAAA-MM-JJ (défaut : aujourd'hui).")
@click.option("--moteur", type=click.Choice(["durable", "python"]), default="durable", show_default=True,
              help="Moteur de correspondance (les deux donnent le même résultat).")
@click.option("--sans-trace", is_flag=True, help="Omet la trace des règles.")
@click.option("--version", "version", default=None,
              help="Rejoue avec une version enregistrée du référentiel (ses fichiers conservés en base). Sans elle, "
                   "la version activée dans la base désignée (--database-url, CALEOL_DATABASE_URL), sinon rules/.")
@click.pass_context
def evaluate(ctx: click.Context, dossier: Path, logement_chemin: Path | None, date_texte: str | None, moteur: str,
             sans_trace: bool, version: str | None) -> None:
    """Évalue un dossier (JSON ou XML SNE) et imprime le résultat en JSON."""
    from engine.encodage import json_indente
    from engine.evaluation import evaluer
    from engine.parametres import ParametreIntrouvable

    date = _date(date_texte)
    donnees = charger_dossier_fichier(dossier)
    logement = charger_logement_fichier(logement_chemin) if logement_chemin is not None else None
    try:
        if version is not None:
            resultat = _rejouer(ctx, version, donnees, logement, date, moteur=moteur, trace=not sans_trace)
        else:
            _suivre_la_version_active(ctx)
            resultat = evaluer(donnees, logement, date, moteur=moteur, trace=not sans_trace)
    except ParametreIntrouvable as exc:
        _erreur(f"--date {date.isoformat()} : le référentiel ne couvre pas cette date ({exc}).")
    except ErreurRegles as exc:
        _erreur(f"référentiel invalide : {exc}", 1)
    click.echo(json_indente(resultat))


@click.group("rules")
def rules() -> None:
    """Le référentiel de règles (rules/) : vérification et consultation."""


@rules.command("check")
@click.option("--date", "date_texte", default=None, help="Date pour compter les règles en vigueur (défaut : aujourd'hui).")
def rules_check(date_texte: str | None) -> None:
    """Valide tout le référentiel, le compile pour durable_rules, imprime sa version et ses effectifs."""
    from engine.evaluation import Moteur
    from engine.parametres import charger_referentiel
    from engine.regles import charger_reglement
    from engine.version import version_regles

    date = _date(date_texte)
    try:
        regl = charger_reglement()
        referentiel = charger_referentiel()
        moteur = Moteur(regl, date, version_regles())
    except ErreurRegles as exc:
        _erreur(f"référentiel invalide : {exc}", 1)
    en_vigueur = regl.regles_en_vigueur(date)
    grilles = regl.grilles_en_vigueur(date)
    shards = sum(len(s) for s in moteur.durable.shards.values())
    moteur.durable.fermer()
    click.echo(f"Référentiel valide — version {version_regles()}")
    click.echo(f"{len(regl.regles)} règles ({len(en_vigueur)} en vigueur au {date.isoformat()})")
    click.echo(f"{len(regl.grilles)} grilles de cotation ({len(grilles)} en vigueur), "
               f"{sum(len(g.criteres) for g in regl.grilles)} critères")
    click.echo(f"{len(referentiel.definitions)} paramètres datés")
    click.echo(f"{shards} rulesets durable_rules au {date.isoformat()}")


@rules.command("show")
@click.argument("identifiant")
def rules_show(identifiant: str) -> None:
    """Affiche une règle, un critère ou une grille : texte, référence, condition en clair et compilée."""
    from engine.conditions import decrire
    from engine.durable_adapter import compiler_condition
    from engine.regles import Grille, Regle, reglement

    try:
        regl = reglement()
    except ErreurRegles as exc:
        _erreur(f"référentiel invalide : {exc}", 1)
    for g in regl.grilles:
        if g.id == identifiant:
            sortie: dict[str, Any] = {
                "grille": g.id, "titre": g.titre, "epci": g.epci, "statut": g.statut,
                "avertissement": g.avertissement, "reference": g.reference.en_json(),
                "validite": {"debut": g.debut.isoformat(), "fin": g.fin.isoformat() if g.fin else None},
                "anciennete": {"points_par_mois": g.points_par_mois, "plafond": g.plafond_anciennete},
                "refus": {"points_par_refus": g.points_par_refus, "compter": g.refus_compter},
                "criteres": [{"id": c.id, "rubrique": c.rubrique, "points": c.points,
                              "validation_requise": c.validation_requise} for c in g.criteres],
            }
            click.echo(json.dumps(sortie, ensure_ascii=False, indent=2))
            return
    r = regl.regle(identifiant)
    if r is None:
        _erreur(f"règle inconnue : {identifiant} (voir `caleol rules check`).")
    sortie = {"id": r.id, "titre": r.titre}
    if isinstance(r, Regle):
        sortie.update(
            domaine=r.domaine, fichier=f"rules/regles/{r.fichier}", reference=r.reference.en_json(),
            validite={"debut": r.debut.isoformat(), "fin": r.fin.isoformat() if r.fin else None},
            effet=r.effet,
        )
    else:
        grille = next(g for g in regl.grilles if any(c is r for c in g.criteres))
        assert isinstance(grille, Grille)
        sortie.update(grille=grille.id, rubrique=r.rubrique, points=r.points, validation_requise=r.validation_requise,
                      reference=grille.reference.en_json())
    if r.interpretation:
        sortie["interpretation"] = r.interpretation
    sortie["condition_en_clair"] = decrire(r.condition, regl.catalogue)
    sortie["condition"] = r.condition
    sortie["condition_durable"] = compiler_condition(r.condition)
    click.echo(json.dumps(sortie, ensure_ascii=False, indent=2))
