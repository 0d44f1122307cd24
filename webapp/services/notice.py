"""The public notice of the algorithm (CRPA, art. L311-3-1 and R311-3-1-2; CCH, art. L441-2-8 and
décret n° 2019-1378 on the cotation), generated from the rule files.

    contenu_notice(session, date) -> dict      what the notice says at `date`
    notice_autonome(contenu) -> str            the downloadable HTML file (inline style, no asset)

Everything variable comes from what the engine evaluates: the cotation grids in force, the priority,
DALO and ceiling rules with their conditions in plain French, the ceilings table, the published ranking
(rules/propositions/classement.yaml), the facts those rules read, the CRPA texts of
rules/decisions/notification.yaml and the versions recorded in the database. Nothing here decides.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import render_template
from sqlalchemy.orm import Session

from engine.parametres import ParametreIntrouvable, parametres_a_la_date
from engine.regles import reglement
from engine.version import chemin_regles, version_regles
from engine.yaml_strict import charger_yaml

from ..regles import consultation
from ..regles.versions import versions

# Where each family of facts comes from (fact path prefix → source), for « données utilisées ».
SOURCES_FAITS = (
    ("situations_verifiees.", "Vérification des situations déclarées par un travailleur social ou le service instructeur"),
    ("dalo.", "Décisions de la commission de médiation DALO et désignations par le préfet"),
    ("labels.", "Labels du plan départemental (PDALHPD) et du service intégré d'accueil et d'orientation (SIAO)"),
    ("accompagnement.", "Mesures d'accompagnement déclarées (AVDL, FSL)"),
    ("plafonds.", "Plafonds de ressources fixés par arrêté (arrêté du 29 juillet 1987 modifié)"),
    ("ressources.quartile", "Seuils des quartiles de ressources fixés chaque année par arrêté"),
    ("ressources.annuel_par_uc", "Seuils des quartiles de ressources fixés chaque année par arrêté"),
    ("ressources.epci", "Référentiel des communes et EPCI (INSEE)"),
    ("logement.", "Le logement proposé : caractéristiques et loyer enregistrés par le bailleur"),
    ("adequation.", "Calculs sur le ménage et le logement proposé (surface, taux d'effort, reste à vivre, aide au logement estimée)"),
    ("politique.", "Règlement de la commission d'attribution (valeurs de politique locale)"),
    ("", "La demande de logement social : formulaire et pièces justificatives enregistrés au système national d'enregistrement (SNE)"),
)
FAITS_TECHNIQUES = ("date_evaluation", "evaluation.contexte")
DOMAINE_FICHIER_DECISIONS = "decisions/notification.yaml"
ZONES = {
    "autres_regions": "Autres régions (dont les Hauts-de-France)",
    "idf_hors_paris": "Île-de-France hors Paris et communes limitrophes",
    "paris_limitrophes": "Paris et communes limitrophes",
}
FINANCEMENTS = ("plai", "plus", "pls")


def _source(chemin: str) -> str:
    for prefixe, source in SOURCES_FAITS:
        if chemin.startswith(prefixe):
            return source
    return SOURCES_FAITS[-1][1]  # pragma: no cover - the empty prefix matches every path


def donnees_utilisees(date: dt.date) -> list[dict[str, Any]]:
    """The facts read by the rules and criteria in force, grouped by source (sensitive details never)."""
    r = reglement()
    chemins: set[str] = set()
    for regle in r.regles_en_vigueur(date):
        if regle.domaine != "occupation":
            chemins.update(regle.chemins)
    for grille in r.grilles_en_vigueur(date):
        for c in grille.criteres:
            chemins.update(c.chemins)
    par_source: dict[str, set[str]] = {}
    for chemin in sorted(chemins):
        if chemin in FAITS_TECHNIQUES:
            continue
        libelle = r.catalogue.libelle(chemin)
        if chemin.startswith(("situations.", "situations_verifiees.")):
            libelle = "situations de priorité (article L441-1) déclarées" if chemin.startswith("situations.") else "situations de priorité vérifiées"
        par_source.setdefault(_source(chemin), set()).add(libelle)
    ordre = [s for _p, s in SOURCES_FAITS]
    return [
        {"source": source, "faits": sorted(faits)}
        for source, faits in sorted(par_source.items(), key=lambda kv: ordre.index(kv[0]))
    ]


def plafonds(date: dt.date) -> dict[str, Any]:
    """The ceilings in force at `date`: one table per zone, categories × financements."""
    p = parametres_a_la_date(date)
    tables = []
    reference = None
    for zone, titre in ZONES.items():
        lignes = []
        nombre = p.valeur_ou_none("menage.categorie.nombre_categories") or 0
        categories = [f"categorie_{i}" for i in range(1, nombre + 1)]
        for cat in [*categories, "personne_supplementaire"]:
            valeurs = {}
            for fin in FINANCEMENTS:
                chemin = f"plafonds.{fin}.{cat}.{zone}"
                if p.existe(chemin):
                    v = p.parametre(chemin)
                    valeurs[fin] = v.valeur
                    reference = reference or v.reference
            if valeurs:
                libelle = "par personne supplémentaire" if cat == "personne_supplementaire" else f"catégorie {cat.rsplit('_', 1)[1]}"
                lignes.append({"categorie": libelle, **valeurs})
        if lignes:
            tables.append({"zone": zone, "titre": titre, "lignes": lignes})
    return {"tables": tables, "reference": reference}


def _parametre(date: dt.date, chemin: str) -> Any:
    try:
        return parametres_a_la_date(date).parametre(chemin)
    except ParametreIntrouvable:
        return None


def contenu_notice(session: Session, date: dt.date) -> dict[str, Any]:
    from .propositions import criteres_publies

    vue = consultation.en_vigueur(date)
    domaines = {d.code: d for d in vue["domaines"]}
    ressources = list(domaines["ressources"].regles) if "ressources" in domaines else []
    ressources += [r for r in (domaines.get("recevabilite").regles if "recevabilite" in domaines else []) if "plafond" in r.id]
    notification = charger_yaml(chemin_regles(DOMAINE_FICHIER_DECISIONS))
    return {
        "date": date,
        "version": version_regles(),
        "grilles": vue["grilles"],
        "classement": criteres_publies(),
        "priorites": domaines["priorite"].regles if "priorite" in domaines else [],
        "dalo": domaines["dalo"].regles if "dalo" in domaines else [],
        "ressources": ressources,
        "plafonds": plafonds(date),
        "nombre_minimal": _parametre(date, "propositions.nombre_minimal_candidats"),
        "delai_moyen": _parametre(date, "information_demandeur.periode_delai_moyen_mois"),
        "donnees": donnees_utilisees(date),
        "algorithme": notification["traitement_algorithmique"],
        "motivation": notification["motivation"],
        "versions": versions(session),
    }


def notice_autonome(contenu: dict[str, Any]) -> str:
    """The notice as one self-contained HTML file (needs an application context for the filters)."""
    return render_template("regles/notice_autonome.html", n=contenu)
