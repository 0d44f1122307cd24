"""Preparing a séance: create it with its members, put vacant dwellings on its agenda with their proposals."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.version import version_regles

from ..audit import journaliser
from ..horloge import maintenant
from ..models import (
    STATUTS_OUVERTS,
    Candidature,
    Commission,
    Commune,
    Logement,
    MembreSeance,
    ModeSeance,
    NatureSeance,
    Offre,
    PointOrdreDuJour,
    Residence,
    Seance,
    StatutLogement,
    StatutSeance,
)
from . import propositions


class ErreurPreparation(ValueError):
    def __init__(self, erreurs: dict[str, list[str]]):
        self.erreurs = erreurs
        super().__init__(" ; ".join(f"{k} : {' '.join(v)}" for k, v in erreurs.items()))


@dataclass(frozen=True)
class Membre:
    nom: str
    qualite: str
    voix_deliberative: bool
    present: bool
    utilisateur_id: int | None = None


def creer_seance(
    session: Session,
    *,
    commission_id: int,
    bailleur_id: int,
    date_seance: dt.date,
    mode: ModeSeance,
    quorum: int,
    membres: list[Membre],
    acteur: str,
    nature: NatureSeance = NatureSeance.ATTRIBUTION,
) -> Seance:
    erreurs: dict[str, list[str]] = {}
    commission = session.get(Commission, commission_id)
    if commission is None or commission.bailleur_id != bailleur_id:
        erreurs["commission"] = ["Commission inconnue pour votre organisation."]
    if quorum < 1:
        erreurs["quorum"] = ["Le quorum est d'au moins un membre."]
    if not membres:
        erreurs["membres"] = ["Indiquez au moins un membre de la séance."]
    deliberatifs = sum(1 for m in membres if m.voix_deliberative)
    if membres and quorum > deliberatifs:
        erreurs["quorum"] = [f"Le quorum ({quorum}) dépasse le nombre de membres à voix délibérative ({deliberatifs})."]
    if erreurs:
        raise ErreurPreparation(erreurs)
    seance = Seance(commission_id=commission_id, date_seance=date_seance, mode=mode, quorum=quorum,
                    statut=StatutSeance.PLANIFIEE, nature=nature)
    seance.membres = [
        MembreSeance(nom=m.nom, qualite=m.qualite, voix_deliberative=m.voix_deliberative, present=m.present,
                     utilisateur_id=m.utilisateur_id)
        for m in membres
    ]
    session.add(seance)
    session.flush()
    journaliser(
        session, acteur=acteur, action="seance.creer", objet_type="seance", objet_id=seance.id,
        apres={"commission_id": commission_id, "date_seance": date_seance.isoformat(), "mode": str(mode),
               "quorum": quorum, "nb_membres": len(membres)}
        | ({} if nature == NatureSeance.ATTRIBUTION else {"nature": str(nature)}),
    )
    return seance


def _communes_du_territoire(territoire: str):
    """Communes of a commission's territory: an EPCI (SIREN) or a département."""
    if len(territoire) == 9 and territoire.isdigit():
        return select(Commune.code_insee).where(Commune.epci_siren == territoire)
    return select(Commune.code_insee).where(Commune.departement == territoire)


def logements_inscriptibles(session: Session, seance: Seance) -> list[Logement]:
    """The vacant dwellings of the commission's territory not yet on this séance's agenda.

    A commission without a territory examines the bailleur's dwellings that no other of its
    commissions covers.
    """
    commission = seance.commission
    deja = select(PointOrdreDuJour.logement_id).where(PointOrdreDuJour.seance_id == seance.id)
    # A logement under offer (webapp/services/offres.py) comes back only once its ranks are exhausted.
    sous_offre = select(Offre.logement_id).where(Offre.statut.in_(STATUTS_OUVERTS))
    stmt = (
        select(Logement)
        .join(Residence)
        .where(
            Residence.bailleur_id == commission.bailleur_id,
            Logement.statut == StatutLogement.VACANT,
            Logement.id.not_in(deja),
            Logement.id.not_in(sous_offre),
        )
        .order_by(Residence.nom, Logement.reference)
    )
    if commission.territoire:
        stmt = stmt.where(Residence.code_insee.in_(_communes_du_territoire(commission.territoire)))
    else:
        autres = session.scalars(select(Commission.territoire).where(
            Commission.bailleur_id == commission.bailleur_id, Commission.id != commission.id,
            Commission.territoire.is_not(None))).all()
        for t in autres:
            stmt = stmt.where(Residence.code_insee.not_in(_communes_du_territoire(t)))
    return list(session.scalars(stmt))


def inscrire_logements(
    session: Session,
    seance: Seance,
    logement_ids: list[int],
    *,
    acteur: str,
    utilisateur_id: int | None = None,
    estimateur: Any = None,
) -> list[PointOrdreDuJour]:
    """Put dwellings on the agenda: compute each proposal (at the séance's date) and its candidatures."""
    if seance.statut == StatutSeance.CLOSE:
        raise ErreurPreparation({"seance": ["La séance est close : son ordre du jour ne peut plus changer."]})
    permis = {lg.id for lg in logements_inscriptibles(session, seance)}
    refuses = [i for i in logement_ids if i not in permis]
    if refuses:
        raise ErreurPreparation({"logements": [
            f"Logement {i} : pas un logement vacant de votre patrimoine hors ordre du jour." for i in refuses]})
    if not logement_ids:
        raise ErreurPreparation({"logements": ["Choisissez au moins un logement."]})
    ordre = session.scalar(select(func.coalesce(func.max(PointOrdreDuJour.ordre), 0)).where(
        PointOrdreDuJour.seance_id == seance.id))
    points = []
    version = version_regles()
    for logement_id in logement_ids:
        proposition = propositions.proposer(session, logement_id, seance.date_seance, seance_id=seance.id,
                                            estimateur=estimateur)
        ordre += 1
        point = PointOrdreDuJour(seance_id=seance.id, logement_id=logement_id, ordre=ordre,
                                 proposition=proposition, version_regles=version, calcule_le=maintenant(),
                                 inscrit_par_id=utilisateur_id)
        session.add(point)
        reservataire = ((proposition.get("orientation") or {}).get("reservataire") or {}).get("id")
        for c in proposition["candidats"]:
            session.add(Candidature(seance_id=seance.id, logement_id=logement_id, demande_id=c["demande_id"],
                                    rang_propose=c["rang"], reservataire_id=reservataire))
        session.flush()
        points.append(point)
    journaliser(
        session, acteur=acteur, action="seance.inscrire_logements", objet_type="seance", objet_id=seance.id,
        apres={"logements": logement_ids,
               "candidatures": {p.logement_id: len(p.proposition["candidats"]) for p in points},
               "version_regles": version},
    )
    return points


def points(session: Session, seance_id: int) -> list[PointOrdreDuJour]:
    return list(session.scalars(
        select(PointOrdreDuJour).where(PointOrdreDuJour.seance_id == seance_id).order_by(PointOrdreDuJour.ordre)))
