"""Triennial occupancy review (examen de l'occupation, CCH L442-5-2): schedule, scope and the five situations.

    echeance_examen(date_bail, date, parametres) -> date | None
    zone_concernee(commune_insee, parametres, territoire=None) -> bool
    examiner(menage, logement, date, moteur="durable") -> dict

`menage` is a dossier-shaped dict (the output of webapp.schemas.charger_dossier: the tenant holder has
the role `demandeur`, dates as `datetime.date`, amounts as `Decimal`) describing the tenants' household
and its fiscal incomes; `logement` is the dwelling dict of the logement schema. The facts are derived
in plain Python (engine.derivations, the same as for a demande) with `evaluation.contexte` =
`examen_occupation`; the five situations are the rules of rules/regles/occupation.yaml whose effect
type is `examen_occupation`, evaluated by the same engines as every other rule. The period of the
review and the territories where it applies are dated parameters (rules/parametres/examen_occupation.yaml).
No legal number lives here.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .conditions import faits_plats
from .derivations import deriver
from .evaluation import MOTEURS, empreinte_entree, infos_trace, moteur_a_la_date, tracer
from .geo import Territoire, charger_territoire
from .parametres import Parametres, parametres_a_la_date

CONTEXTE = "examen_occupation"
TYPE_EFFET = "examen_occupation"
PERIODICITE = "examen_occupation.periodicite_annees"
EPCI_CONCERNES = "examen_occupation.epci_concernes"

# Facts shown beside the situations (what the commission reads), when known.
FAITS_AFFICHES = (
    "menage.nb_personnes",
    "menage.nb_personnes_surface",
    "menage.categorie",
    "menage.handicap",
    "demande.besoin_pmr",
    "ressources.revenu_retenu",
    "ressources.source",
    "ressources.annee",
    "plafonds.applicable",
    "plafonds.financement_applicable",
    "plafonds.zone",
    "logement.typologie",
    "logement.nb_pieces",
    "logement.surface_habitable",
    "logement.accessible_pmr",
    "adequation.surface_minimale",
    "adequation.pieces_max_sans_sous_occupation",
)


def _anniversaire(date_bail: dt.date, annees: int) -> dt.date:
    """`date_bail` plus whole years (a lease signed on 29 February turns on 28 February)."""
    annee = date_bail.year + annees
    try:
        return date_bail.replace(year=annee)
    except ValueError:
        return dt.date(annee, 2, 28)


def echeance_examen(date_bail: dt.date, date: dt.date, parametres: Parametres | None = None) -> dt.date | None:
    """The latest review date due on or before `date`: the lease date plus a multiple (≥ 1) of the period.

    None when the first review is not due yet. Only the latest one is due: an older anniversary that
    was never examined is not made up for.
    """
    p = parametres or parametres_a_la_date(date)
    periode = p.valeur(PERIODICITE)
    if periode < 1:
        raise ValueError(f"Paramètre {PERIODICITE} : période invalide ({periode}).")
    k = (date.year - date_bail.year) // periode
    while k >= 1 and _anniversaire(date_bail, k * periode) > date:
        k -= 1
    return _anniversaire(date_bail, k * periode) if k >= 1 else None


def prochaine_echeance(date_bail: dt.date, date: dt.date, parametres: Parametres | None = None) -> dt.date:
    """The first review date strictly after `date`."""
    p = parametres or parametres_a_la_date(date)
    periode = p.valeur(PERIODICITE)
    derniere = echeance_examen(date_bail, date, p)
    k = 1 if derniere is None else (derniere.year - date_bail.year) // periode + 1
    return _anniversaire(date_bail, k * periode)


def zone_concernee(commune_insee: str | None, parametres: Parametres, territoire: Territoire | None = None) -> bool:
    """Whether a dwelling of `commune_insee` lies in a territory where the review applies."""
    epci = (territoire or charger_territoire()).epci(commune_insee) if commune_insee else None
    return epci is not None and epci in parametres.valeur(EPCI_CONCERNES)


def _regles_occupation(m) -> tuple:
    return tuple(r for r in m.regles if r.effet and r.effet.get("type") == TYPE_EFFET)


def examiner(
    menage: Mapping[str, Any],
    logement: Mapping[str, Any],
    date: dt.date,
    *,
    moteur: str = "durable",
) -> dict[str, Any]:
    """Evaluate the five situations of L442-5-2 for a tenants' household in its dwelling at `date`.

    Returns a JSON dict: date, rulebook version, input fingerprint, the situations found (code, rule,
    title, reference), the trace of the five rules (applied or not, why, values read), the displayed
    facts, the « à vérifier » parameters read (scope and period included) and the derivation's warnings.
    """
    if date is None:
        raise ValueError("date de l'examen obligatoire")
    if moteur not in MOTEURS:
        raise ValueError(f"moteur inconnu : {moteur} (attendu : {', '.join(MOTEURS)})")
    m = moteur_a_la_date(date)
    p = parametres_a_la_date(date).suivi()
    territoire = charger_territoire()
    derivation = deriver(menage, logement, date, p, territoire=territoire)
    plats = faits_plats(derivation.faits)
    plats["evaluation.contexte"] = CONTEXTE
    regles = _regles_occupation(m)
    ids = {r.id for r in regles}
    appliquees = {rid for rid in m.appliquees(plats, None, moteur) if rid in ids}
    situations = [
        {"code": r.effet["code"], "regle": r.id, "titre": r.titre, "reference": r.reference}
        for r in regles if r.id in appliquees
    ]
    lignes: list[dict[str, Any]] = []
    tracer(infos_trace(regles), appliquees, plats, lignes)
    # Scope and period are read here too, so that their « à vérifier » status travels with the result.
    dans_zone = zone_concernee(logement.get("commune_insee"), p, territoire)
    periode = p.valeur(PERIODICITE)
    a_verifier = sorted(set(derivation.parametres_a_verifier) | set(p.a_verifier_utilises))
    return {
        "date_examen": date.isoformat(),
        "version_regles": m.version,
        "empreinte_entree": empreinte_entree(menage, logement, date, None, CONTEXTE),
        "zone_concernee": dans_zone,
        "periodicite_annees": periode,
        "situations": situations,
        "trace": lignes,
        "faits": {c: plats[c] for c in FAITS_AFFICHES if c in plats},
        "parametres_a_verifier": a_verifier,
        "avertissements": list(derivation.avertissements),
    }
