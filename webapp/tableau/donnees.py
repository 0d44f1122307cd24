"""What the dashboards read, within the user's perimeter, from the services (never recomputed here).

Perimeter of each organisation kind:
- a bailleur's users: their bailleur (its séances, its patrimoine, its flux, the EPCI where it has
  résidences);
- an EPCI's users: their territory (the logements of its communes, the flux rows of the bailleurs
  present there that concern the EPCI or its département, its quotas);
- the État's users: everything;
- a réservataire's users (and an EPCI or the État for the réservataires they hold): their own share
  of the flux and their own priority-public indicator.

Figures come from webapp.services.quotas.quotas and webapp.services.flux.compteurs; this module
selects and labels them for display. Gauges carry their text (rate, numerator, denominator, target,
status in words) and a bar whose width is the rate: the colour is never the only signal.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..auth.perimetre import filtrer_logements
from ..models import (
    Commission,
    Commune,
    ConventionReservation,
    Epci,
    Logement,
    MembreSeance,
    Organisation,
    OrientationFlux,
    Reservataire,
    Residence,
    Seance,
    StatutLogement,
    StatutOrientation,
    TypeOrganisation,
    TypeReservataire,
)
from ..services.flux import compteurs, est_epci
from ..services.quotas import ErreurQuotas, quotas

LIBELLES_STATUTS = {
    "atteint": "Objectif atteint",
    "en_dessous": "En dessous de l'objectif",
    "respecte": "Plafond respecté",
    "depasse": "Plafond dépassé",
    "sans_attribution": "Aucune attribution comptée à ce jour",
    "en_cours": "En cours d'année : objectif pas encore atteint",
    "non_atteint": "Objectif non atteint",
    "sans_objectif": "Aucun objectif fixé",
}
# Each status also gets a symbol and a bar pattern, so that it never rests on colour alone.
ETATS_STATUTS = {
    "atteint": "conforme",
    "respecte": "conforme",
    "en_dessous": "alerte",
    "depasse": "alerte",
    "non_atteint": "alerte",
    "en_cours": "neutre",
    "sans_attribution": "neutre",
    "sans_objectif": "neutre",
}
SYMBOLES = {"conforme": "✓", "alerte": "⚠", "neutre": "•"}

LIBELLES_SEANCES = {"planifiee": "Planifiée", "ouverte": "Ouverte", "close": "Close"}
LIBELLES_MODES = {"physique": "Physique", "dematerialisee": "Dématérialisée"}
LIBELLES_ORIENTATIONS = {
    StatutOrientation.EN_ATTENTE.value: "En attente de désignation",
    StatutOrientation.DESIGNEE.value: "Candidats désignés",
    StatutOrientation.RESTITUEE.value: "Restitué au bailleur (délai expiré)",
    StatutOrientation.HORS_FLUX.value: "Hors flux",
    StatutOrientation.CLOSE.value: "Attribué",
}


# --------------------------------------------------------------------------- formatting


def pourcent(fraction: float | None, decimales: int = 1) -> str:
    """0.2512 → « 25,1 % » (French, thin no-break space), None → « — »."""
    if fraction is None:
        return "—"
    texte = f"{float(fraction) * 100:.{decimales}f}"
    if "." in texte:
        texte = texte.rstrip("0").rstrip(".")
    return texte.replace(".", ",") + "\u202f%"


def jauge(indicateur: dict[str, Any]) -> dict[str, Any]:
    """An indicator of `quotas()` with what its gauge shows: bar width, target mark, status in words."""
    taux = indicateur.get("taux")
    cible = indicateur.get("cible")
    statut = indicateur["statut"]
    etat = ETATS_STATUTS.get(statut, "neutre")
    if indicateur["code"] == "logement_d_abord":
        objectif = indicateur.get("objectif")
        cible_texte = f"objectif annuel : {objectif} attribution(s)" if objectif else "aucun objectif annuel"
    elif cible is None:
        cible_texte = "aucune cible"
    elif indicateur.get("sens") == "maximum":
        cible_texte = f"plafond : au plus {pourcent(cible)}"
    else:
        cible_texte = f"objectif : au moins {pourcent(cible)}"
    return {
        **indicateur,
        "taux_texte": pourcent(taux) if taux is not None else "Sans taux",
        "cible_texte": cible_texte,
        "statut_libelle": LIBELLES_STATUTS.get(statut, statut),
        "etat": etat,
        "symbole": SYMBOLES[etat],
        "largeur": 0.0 if taux is None else round(min(float(taux), 1.0) * 100, 1),
        "repere": None if cible is None else round(min(float(cible), 1.0) * 100, 1),
    }


# --------------------------------------------------------------------------- perimeter


def reservataires_de(session: Session, utilisateur) -> list[Reservataire]:
    """The réservataires the user's organisation holds (the bailleur's own share is not one)."""
    if utilisateur.organisation_type == TypeOrganisation.BAILLEUR:
        return []
    return list(session.scalars(
        select(Reservataire)
        .where(Reservataire.organisation_id == utilisateur.organisation_id, Reservataire.type != TypeReservataire.BAILLEUR)
        .order_by(Reservataire.nom)
    ))


def _epcis_du_patrimoine(session: Session, bailleur_id: int | None = None) -> list[str]:
    stmt = (
        select(Commune.epci_siren).distinct()
        .join(Residence, Residence.code_insee == Commune.code_insee)
        .where(Commune.epci_siren.is_not(None))
    )
    if bailleur_id is not None:
        stmt = stmt.where(Residence.bailleur_id == bailleur_id)
    return sorted(session.scalars(stmt))


def epcis_du_perimetre(session: Session, utilisateur) -> list[str]:
    """SIREN of the EPCI whose quotas the user follows."""
    match utilisateur.organisation_type:
        case TypeOrganisation.BAILLEUR:
            return _epcis_du_patrimoine(session, utilisateur.organisation_id)
        case TypeOrganisation.EPCI:
            return [utilisateur.organisation_epci] if utilisateur.organisation_epci else []
        case TypeOrganisation.ETAT | TypeOrganisation.RESERVATAIRE:
            return _epcis_du_patrimoine(session)
    return []


def noms_epci(session: Session, sirens: Iterable[str]) -> dict[str, str]:
    sirens = sorted(set(sirens))
    if not sirens:
        return {}
    return dict(session.execute(select(Epci.siren, Epci.nom).where(Epci.siren.in_(sirens))).all())


def departements_epci(session: Session, siren: str) -> set[str]:
    return set(session.scalars(select(Commune.departement).distinct().where(Commune.epci_siren == siren)))


def libelle_territoire(code: str, noms: dict[str, str]) -> str:
    if est_epci(code):
        return noms.get(code, f"EPCI {code}")
    return f"Département {code}"


# --------------------------------------------------------------------------- séances and logements


def prochaines_seances(session: Session, utilisateur, date: dt.date, limite: int = 5) -> list[tuple[Seance, Commission]]:
    """The next séances: those of the user's bailleur, else those the user sits on."""
    stmt = (
        select(Seance, Commission).join(Commission, Commission.id == Seance.commission_id)
        .where(Seance.date_seance >= date)
        .order_by(Seance.date_seance, Seance.id)
        .limit(limite)
    )
    if utilisateur.organisation_type == TypeOrganisation.BAILLEUR:
        stmt = stmt.where(Commission.bailleur_id == utilisateur.organisation_id)
    else:
        stmt = stmt.where(Seance.id.in_(select(MembreSeance.seance_id).where(MembreSeance.utilisateur_id == utilisateur.id)))
    return [tuple(x) for x in session.execute(stmt).all()]  # type: ignore[misc]


def nombre_vacants(session: Session, utilisateur) -> int:
    stmt = filtrer_logements(select(func.count(Logement.id)).select_from(Logement), utilisateur)
    return session.scalar(stmt.where(Logement.statut == StatutLogement.VACANT)) or 0


def orientations_a_designer(session: Session, reservataire_ids: list[int]) -> int:
    """Dwellings oriented to these réservataires and still waiting for their designations."""
    if not reservataire_ids:
        return 0
    return session.scalar(
        select(func.count(OrientationFlux.id)).where(
            OrientationFlux.reservataire_id.in_(reservataire_ids),
            OrientationFlux.statut == StatutOrientation.EN_ATTENTE,
        )
    ) or 0


# --------------------------------------------------------------------------- quotas


def quotas_du_perimetre(
    session: Session, utilisateur, annee: int, date: dt.date, reservataires: list[Reservataire] | None = None
) -> list[dict[str, Any]]:
    """One block per EPCI of the perimeter: the indicators of `quotas()` as gauges.

    A réservataire's users only see their own priority-public indicator (their obligation).
    """
    blocs = []
    cles = None
    if utilisateur.organisation_type == TypeOrganisation.RESERVATAIRE:
        cles = {f"publics_prioritaires.r{r.id}" for r in (reservataires or [])}
    for siren in epcis_du_perimetre(session, utilisateur):
        try:
            q = quotas(session, siren, annee, date)
        except ErreurQuotas:
            continue
        indicateurs = q["indicateurs"] if cles is None else [i for i in q["indicateurs"] if i["code"] in cles]
        if cles is not None and not indicateurs:
            continue
        blocs.append({**q, "jauges": [jauge(i) for i in indicateurs]})
    return blocs


# --------------------------------------------------------------------------- flux


def bailleurs_du_perimetre(
    session: Session, utilisateur, annee: int, reservataire_ids: list[int], *, siens_seulement: bool = False
) -> list[Organisation]:
    stmt = select(Organisation).where(Organisation.type == TypeOrganisation.BAILLEUR).order_by(Organisation.nom)
    if siens_seulement:
        return list(session.scalars(stmt.where(Organisation.id.in_(
            select(ConventionReservation.bailleur_id).where(
                ConventionReservation.reservataire_id.in_(reservataire_ids or [-1]), ConventionReservation.annee == annee)
        ))))
    match utilisateur.organisation_type:
        case TypeOrganisation.BAILLEUR:
            stmt = stmt.where(Organisation.id == utilisateur.organisation_id)
        case TypeOrganisation.EPCI:
            communes = select(Commune.code_insee).where(Commune.epci_siren == utilisateur.organisation_epci)
            stmt = stmt.where(Organisation.id.in_(select(Residence.bailleur_id).where(Residence.code_insee.in_(communes))))
        case TypeOrganisation.RESERVATAIRE:
            return bailleurs_du_perimetre(session, utilisateur, annee, reservataire_ids, siens_seulement=True)
    return list(session.scalars(stmt))


def flux_du_perimetre(
    session: Session, utilisateur, annee: int, date: dt.date, reservataire_ids: list[int] | None = None,
    *, siens_seulement: bool = False,
) -> list[dict[str, Any]]:
    """The flux balance of each bailleur of the perimeter: rows of `compteurs()` the user may see.

    `siens_seulement` (and always for a réservataire's users): only the rows of `reservataire_ids`.
    """
    reservataire_ids = list(reservataire_ids or [])
    siens_seulement = siens_seulement or utilisateur.organisation_type == TypeOrganisation.RESERVATAIRE
    territoires_epci: set[str] = set()
    if utilisateur.organisation_type == TypeOrganisation.EPCI and utilisateur.organisation_epci:
        territoires_epci = {utilisateur.organisation_epci} | departements_epci(session, utilisateur.organisation_epci)
    blocs = []
    date_parametres = date if date.year == annee else dt.date(annee, 12, 31)
    for bailleur in bailleurs_du_perimetre(session, utilisateur, annee, reservataire_ids, siens_seulement=siens_seulement):
        lignes = compteurs(session, bailleur.id, annee, date_parametres)
        if siens_seulement:
            lignes = [x for x in lignes if x["reservataire_id"] in reservataire_ids and x["type"] != TypeReservataire.BAILLEUR.value]
        elif utilisateur.organisation_type == TypeOrganisation.EPCI:
            lignes = [x for x in lignes if x["territoire"] in territoires_epci]
        if lignes:
            blocs.append({"bailleur": bailleur, "lignes": lignes})
    noms = noms_epci(session, [x["territoire"] for b in blocs for x in b["lignes"] if est_epci(x["territoire"])])
    for b in blocs:
        for x in b["lignes"]:
            x["territoire_libelle"] = libelle_territoire(x["territoire"], noms)
    return blocs
