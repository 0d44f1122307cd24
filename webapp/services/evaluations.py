"""Persisted evaluations: one current EvaluationDemande per active demande, and its wishes.

    recalculer_evaluations(session, date, demande_ids=None, *, toutes=False) -> dict

Each active demande is evaluated without a dwelling at `date` with the rulebook in force (the
engine, without the trace: the full explanation is replayed on demand from the stored dossier, the
date and the version). What the pre-selection and the ranking read is stored: recevabilité,
eligibility per financing, household size, priorities, DALO, Logement d'abord, quartile, score and
cotation detail, and the ids of the rules that applied. The wishes are rebuilt beside it:
SouhaitTypologie, and SouhaitCommune with the commune's EPCI and the demande's score in that EPCI
(each EPCI has its own grid: a demande wishing two territories has two scores).

When to recompute:
- a dossier changed: `reevaluer_demande(session, demande_id)` right after `enregistrer_dossier`;
- the rulebook changed (stored `version_regles` differs) or the date moved (ages, ancienneté):
  `caleol evaluations recalculer` (nightly) picks every row that is missing, of another version or
  of another date; `--toutes` recomputes every active demande.

Services flush, never commit; one audit entry per call (counts only, no personal data).
"""
from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.orm import Session

from engine.evaluation import evaluer_detaille, moteur_a_la_date
from engine.geo import charger_territoire
from engine.version import version_regles

from ..audit import journaliser
from ..horloge import aujourd_hui, maintenant
from ..models import (
    Demande,
    EvaluationDemande,
    SouhaitCommune,
    SouhaitTypologie,
    StatutDemande,
)
from .dossiers import OPTIONS_DOSSIER, dossier_depuis_demande, enregistrer_dossier

TAILLE_LOT = 2000
# Below this many demandes the workers cost more than they save: starting them and their connections
# takes about a second, and 4 000 demandes evaluate in a few seconds on one core (bench/propose.py).
SEUIL_PARALLELE = 4000
CODES_DALO = frozenset({"DALO", "DALO_DESIGNE_PREFET"})
PREFIXE_EMPREINTE = "sha256:"


# --------------------------------------------------------------------------- one demande


def evaluer_sans_logement(dossier: Mapping[str, Any], date: dt.date, *, moteur: str = "durable") -> tuple[dict[str, Any], list[str], int]:
    """The engine's evaluation (contract of engine.evaluation.evaluer, without the trace), the ids of the
    rules and criteria that applied, and the number of persons counted for the surface."""
    resultat, appliquees, derivation = evaluer_detaille(dossier, None, date, moteur=moteur, trace=False)
    return resultat, sorted(appliquees), derivation.menage.nb_personnes_surface


def _score(resultat: Mapping[str, Any]) -> Decimal:
    score = (resultat.get("cotation") or {}).get("score")
    return Decimal(0) if score is None else Decimal(str(score)).quantize(Decimal("0.01"))


def _prioritaire_labellise(dossier: Mapping[str, Any], resultat: Mapping[str, Any]) -> bool:
    """DALO, a PDALHPD or SIAO label, or a priority situation verified by the bailleur or a social worker."""
    labels = dossier.get("labels") or {}
    codes_priorites = {p["code"] for p in resultat["priorites"]}
    verifiee = any(s.get("verifiee") and s["code"] in codes_priorites for s in dossier.get("situations") or ())
    return bool(resultat["dalo"] or labels.get("pdalhpd") or labels.get("siao") or verifiee)


def lignes_demande(
    demande_id: int, dossier: Mapping[str, Any], date: dt.date, *, moteur: str = "durable", version: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The EvaluationDemande row and the SouhaitTypologie / SouhaitCommune rows of one demande (plain dicts)."""
    resultat, appliquees, nb_surface = evaluer_sans_logement(dossier, date, moteur=moteur)
    res = resultat["ressources"]
    score = _score(resultat)
    priorites = [
        {"code": p["code"], "libelle": p["libelle"], "regle": p.get("regle")}
        for p in resultat["priorites"]
    ]
    evaluation = {
        "demande_id": demande_id,
        "date_evaluation": date,
        "version_regles": version or resultat["version_regles"],
        "empreinte_entree": resultat["empreinte_entree"].removeprefix(PREFIXE_EMPREINTE),
        "calculee_le": maintenant(),
        "complet": bool(resultat["dossier_complet"]),
        "recevable": resultat["recevable"] is True,
        "eligible_plai": resultat["plafonds"]["PLAI"]["eligible"] is True,
        "eligible_plus": resultat["plafonds"]["PLUS"]["eligible"] is True,
        "eligible_pls": resultat["plafonds"]["PLS"]["eligible"] is True,
        "categorie": resultat["menage"]["categorie"],
        "nb_personnes": resultat["menage"]["nb_personnes"],
        "nb_personnes_surface": nb_surface,
        "unites_consommation": _decimal(resultat["menage"]["unites_consommation"]),
        "revenu_retenu": _decimal(res["revenu_retenu"]),
        "ressources_mensuelles": _decimal(res.get("ressources_mensuelles")),
        "quartile": res["quartile"],
        "epci": res["epci"],
        "zone": resultat["zone"],
        "score": score,
        "grille": (resultat.get("cotation") or {}).get("grille"),
        "dalo": bool(resultat["dalo"]),
        "dalo_designe": bool(resultat["designation_prefet"]),
        "prioritaire": any(p["code"] not in CODES_DALO for p in priorites),
        "prioritaire_labellise": _prioritaire_labellise(dossier, resultat),
        "logement_d_abord": bool(resultat["logement_d_abord"]["eligible"]),
        "priorites": priorites,
        "motifs_irrecevabilite": list(resultat["motifs_irrecevabilite"]) + list(resultat["pieces_manquantes"]),
        "regles_appliquees": appliquees,
        "detail_cotation": list((resultat.get("cotation") or {}).get("detail") or []),
    }
    typologies = [{"demande_id": demande_id, "typologie": t} for t in dict.fromkeys(dossier.get("typologies_souhaitees") or ())]
    cle = {k: evaluation[k] for k in ("dalo_designe", "dalo", "prioritaire")}
    cle["date_depot"] = dossier["date_depot"]
    cle["numero_unique"] = dossier["numero_unique"]
    communes = [{**ligne, **cle} for ligne in _souhaits_communes(demande_id, dossier, date, res["epci"], score, moteur)]
    return evaluation, typologies, communes


def _decimal(x: Any) -> Decimal | None:
    return None if x is None else Decimal(str(x))


def _souhaits_communes(
    demande_id: int, dossier: Mapping[str, Any], date: dt.date, epci_principal: str | None, score: Decimal, moteur: str
) -> list[dict[str, Any]]:
    """One row per wished commune, with its EPCI and the demande's score under that EPCI's grid.

    The evaluation scores the demande in the EPCI of its first wished commune. For another wished
    EPCI that has a grid in force, the demande is scored again with a commune of that EPCI first
    (only the score is kept from that evaluation). An EPCI without a grid gives 0, as everywhere.
    """
    territoire = charger_territoire()
    m = moteur_a_la_date(date)
    scores: dict[str | None, Decimal] = {epci_principal: score}
    lignes = []
    communes = list(dict.fromkeys(dossier.get("communes_souhaitees") or ()))
    for code in communes:
        epci = territoire.epci(code)
        if epci not in scores:
            if m.grille(epci) is None:
                scores[epci] = Decimal(0)
            else:
                reordonne = dict(dossier)
                reordonne["communes_souhaitees"] = [code] + [c for c in communes if c != code]
                scores[epci] = _score(evaluer_sans_logement(reordonne, date, moteur=moteur)[0])
        lignes.append({"demande_id": demande_id, "code_insee": code, "epci": epci, "score": scores[epci]})
    return lignes


# --------------------------------------------------------------------------- batches


def _charger_dossiers(session: Session, ids: Sequence[int]) -> list[tuple[int, dict[str, Any]]]:
    demandes = session.scalars(
        select(Demande)
        .where(Demande.id.in_(list(ids)))
        .order_by(Demande.id)
        .options(*OPTIONS_DOSSIER)
    ).all()
    dossiers = [(d.id, dossier_depuis_demande(d)) for d in demandes]
    for d in demandes:
        session.expunge(d)
    return dossiers


def _travail(args: tuple[list[tuple[int, dict[str, Any]]], dt.date, str, str]) -> list[tuple[Any, ...]]:
    lot, date, moteur, version = args
    return [lignes_demande(i, dossier, date, moteur=moteur, version=version) for i, dossier in lot]


# The database engine of the parent, inherited by the forked workers (each opens its own connections).
_bd_parent: Any = None


def _initialiser_travailleur() -> None:
    # A forked child must not reuse the parent's pooled connections (SQLAlchemy: dispose(close=False)).
    _bd_parent.dispose(close=False)


def _travail_ids(args: tuple[list[int], dt.date, str, str]) -> list[tuple[Any, ...]]:
    """Worker: load these demandes through its own connection (committed data) and evaluate them."""
    ids, date, moteur, version = args
    with Session(bind=_bd_parent) as session:
        lot = _charger_dossiers(session, ids)
    return _travail((lot, date, moteur, version))


def _morceaux(seq: Sequence[Any], taille: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), taille):
        yield seq[i : i + taille]


def ids_a_recalculer(session: Session, date: dt.date, *, toutes: bool = False, version: str | None = None) -> list[int]:
    """Active demandes with no evaluation, or one of another rulebook version or another date (unless `toutes`)."""
    version = version or version_regles()
    requete = (
        select(Demande.id)
        .outerjoin(EvaluationDemande, EvaluationDemande.demande_id == Demande.id)
        .where(Demande.statut == StatutDemande.ACTIVE)
        .order_by(Demande.id)
    )
    if not toutes:
        requete = requete.where(
            or_(
                EvaluationDemande.demande_id.is_(None),
                EvaluationDemande.version_regles != version,
                EvaluationDemande.date_evaluation != date,
            )
        )
    return list(session.scalars(requete))


def recalculer_evaluations(
    session: Session,
    date: dt.date | None = None,
    demande_ids: Iterable[int] | None = None,
    *,
    toutes: bool = False,
    acteur: str = "systeme:evaluations",
    moteur: str = "durable",
    processus: int | None = None,
    taille_lot: int = TAILLE_LOT,
    audit: bool = True,
) -> dict[str, Any]:
    """Evaluate and upsert the given demandes (else the stale ones, or all with `toutes`); see module doc.

    Demandes that are no longer active lose their evaluation and wishes. `processus`: number of
    worker processes (default: every core when there are more than SEUIL_PARALLELE demandes).
    Returns counts and timings.
    """
    date = date or aujourd_hui()
    version = version_regles()
    debut = time.perf_counter()
    if demande_ids is not None:
        demandes = sorted(set(demande_ids))
        actives = set(
            session.scalars(select(Demande.id).where(Demande.id.in_(demandes), Demande.statut == StatutDemande.ACTIVE))
        ) if demandes else set()
        inactives = [i for i in demandes if i not in actives]
        ids = [i for i in demandes if i in actives]
    else:
        ids = ids_a_recalculer(session, date, toutes=toutes, version=version)
        inactives = list(
            session.scalars(
                select(EvaluationDemande.demande_id)
                .join(Demande, Demande.id == EvaluationDemande.demande_id)
                .where(Demande.statut != StatutDemande.ACTIVE)
            )
        )
    supprimees = 0
    for morceau in _morceaux(inactives, taille_lot):
        supprimees += _supprimer(session, morceau)

    if processus is None:
        processus = (os.cpu_count() or 1) if len(ids) > SEUIL_PARALLELE else 1
    processus = max(1, min(processus, len(ids) or 1))
    duree_calcul = duree_ecriture = 0.0
    pool = None
    if processus > 1:
        # Workers read committed data through their own connections: the demandes to evaluate
        # must be committed (the nightly job); a dossier saved in this transaction goes through
        # the single-process path (reevaluer_demande).
        global _bd_parent
        _bd_parent = session.get_bind()
        moteur_a_la_date(date)  # compiled once in the parent, inherited by the forked workers
        charger_territoire()
        pool = mp.get_context("fork").Pool(processus, initializer=_initialiser_travailleur)
    try:
        for morceau in _morceaux(ids, taille_lot * processus):
            t0 = time.perf_counter()
            if pool is None:
                resultats = _travail((_charger_dossiers(session, morceau), date, moteur, version))
            else:
                part = -(-len(morceau) // processus)
                parts = [(list(morceau[i : i + part]), date, moteur, version) for i in range(0, len(morceau), part)]
                resultats = [ligne for sortie in pool.map(_travail_ids, parts) for ligne in sortie]
            t1 = time.perf_counter()
            _ecrire(session, [r[0] for r in resultats], [x for r in resultats for x in r[1]], [x for r in resultats for x in r[2]])
            duree_calcul += t1 - t0
            duree_ecriture += time.perf_counter() - t1
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    session.flush()
    bilan = {
        "date": date.isoformat(),
        "version_regles": version,
        "evaluees": len(ids),
        "supprimees": supprimees,
        "processus": processus,
        "toutes": toutes,
    }
    if audit:
        journaliser(
            session,
            acteur=acteur,
            action="evaluations.recalculer",
            objet_type="evaluation_demande",
            details={**bilan, "demandes_designees": demande_ids is not None},
        )
        session.flush()
    bilan["durees"] = {
        "chargement_et_evaluation_s": round(duree_calcul, 3),
        "ecriture_s": round(duree_ecriture, 3),
        "total_s": round(time.perf_counter() - debut, 3),
    }
    return bilan


def _supprimer(session: Session, ids: Sequence[int]) -> int:
    if not ids:
        return 0
    ids = list(ids)
    n = session.execute(delete(EvaluationDemande).where(EvaluationDemande.demande_id.in_(ids))).rowcount or 0
    session.execute(delete(SouhaitTypologie).where(SouhaitTypologie.demande_id.in_(ids)))
    session.execute(delete(SouhaitCommune).where(SouhaitCommune.demande_id.in_(ids)))
    return n


def _ecrire(session: Session, evaluations: list[dict], typologies: list[dict], communes: list[dict]) -> None:
    """Replace the rows of these demandes (delete then insert: an upsert portable to SQLite and PostgreSQL)."""
    if not evaluations:
        return
    _supprimer(session, [e["demande_id"] for e in evaluations])
    session.execute(insert(EvaluationDemande), evaluations)
    if typologies:
        session.execute(insert(SouhaitTypologie), typologies)
    if communes:
        session.execute(insert(SouhaitCommune), communes)


def reevaluer_demande(session: Session, demande_id: int, date: dt.date | None = None, *, acteur: str) -> dict[str, Any]:
    """After a dossier was saved (webapp.services.dossiers.enregistrer_dossier): its evaluation and wishes."""
    return recalculer_evaluations(session, date, [demande_id], acteur=acteur, processus=1)


def enregistrer_et_reevaluer(
    session: Session,
    dossier: Mapping[str, Any],
    *,
    acteur: str,
    action: str = "demande.enregistrer",
    audit: bool = True,
    date: dt.date | None = None,
) -> tuple[Demande, bool]:
    """Save a validated dossier (webapp.services.dossiers.enregistrer_dossier) and, in the same
    transaction, its persisted evaluation and wishes, so that pre-selection sees it at once."""
    demande, cree = enregistrer_dossier(session, dict(dossier), acteur=acteur, action=action, audit=audit)
    recalculer_evaluations(session, date, [demande.id], acteur=acteur, processus=1, audit=False)
    return demande, cree
