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

In bulk (`recalculer_evaluations` over many demandes) the dossiers are read with column queries,
not ORM objects (`_charger_dossiers`, equal to `dossier_depuis_demande`), in chunks handed to one
forked worker per core, and the parent writes each chunk as it comes back (COPY on PostgreSQL).

Services flush, never commit; one audit entry per call (counts only, no personal data).
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import multiprocessing as mp
import os
import resource
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Integer, any_, delete, insert, literal, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from engine.evaluation import evaluer_detaille, moteur_a_la_date
from engine.geo import charger_territoire
from engine.version import version_regles

from ..audit import journaliser
from ..horloge import aujourd_hui, maintenant
from ..models import (
    Demande,
    EvaluationDemande,
    Personne,
    RefusOffre,
    Ressource,
    RevenuFiscal,
    SituationPrioritaire,
    SouhaitCommune,
    SouhaitTypologie,
    StatutDemande,
)
from .dossiers import (
    champs_demande,
    champs_personne,
    enregistrer_dossier,
    refus_offre,
    ressource,
    revenu_fiscal,
    situation,
)

TAILLE_LOT = 2000
# Below this many demandes the workers cost more than they save: starting them and their connections
# takes about a second, and 4 000 demandes evaluate in a few seconds on one core (bench/propose.py).
SEUIL_PARALLELE = 4000
CODES_DALO = frozenset({"DALO", "DALO_DESIGNE_PREFET"})
PREFIXE_EMPREINTE = "sha256:"


# --------------------------------------------------------------------------- one demande


def evaluer_sans_logement(dossier: Mapping[str, Any], date: dt.date, *, moteur: str = "durable",
                          trace: bool = False) -> tuple[dict[str, Any], list[str], int]:
    """The engine's evaluation (contract of engine.evaluation.evaluer, without the trace unless `trace`),
    the ids of the rules and criteria that applied, and the number of persons counted for the surface."""
    resultat, appliquees, derivation = evaluer_detaille(dossier, None, date, moteur=moteur, trace=trace)
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
    demande_id: int, dossier: Mapping[str, Any], date: dt.date, *, moteur: str = "durable", version: str | None = None,
    trace: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The EvaluationDemande row and the SouhaitTypologie / SouhaitCommune rows of one demande (plain dicts)."""
    resultat, appliquees, nb_surface = evaluer_sans_logement(dossier, date, moteur=moteur, trace=trace)
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


def _parmi(colonne: Any, ids: Sequence[int], postgres: bool) -> Any:
    """`colonne IN ids`: one array parameter on PostgreSQL (`= ANY(%s)`), whose text psycopg does not
    have to split into thousands of placeholders; an expanding IN elsewhere."""
    if postgres:
        return colonne == any_(literal(list(ids), ARRAY(Integer)))
    return colonne.in_(list(ids))


_COLONNES_DEMANDE = (
    Demande.id, Demande.numero_unique, Demande.date_depot, Demande.date_renouvellement, Demande.date_mise_a_jour,
    Demande.statut, Demande.motif_radiation, Demande.date_radiation, Demande.adresse, Demande.code_postal,
    Demande.commune_adresse, Demande.telephone, Demande.courriel, Demande.typologies_souhaitees,
    Demande.communes_souhaitees, Demande.motifs, Demande.mutation_interne, Demande.relogement_anru, Demande.besoin_pmr,
    Demande.logement_actuel_modele, Demande.logement_actuel_typologie, Demande.logement_actuel_loyer,
    Demande.logement_actuel_surface, Demande.logement_actuel_nb_pieces, Demande.logement_actuel_nb_occupants,
    Demande.logement_actuel_commune, Demande.logement_actuel_proprietaire, Demande.dalo_date_decision,
    Demande.dalo_statut, Demande.dalo_date_designation, Demande.label_pdalhpd, Demande.label_siao,
    Demande.accompagnement_avdl, Demande.accompagnement_fsl, Demande.aide_logement_declaree,
)
_COLONNES_PERSONNE = (
    Personne.id, Personne.demande_id, Personne.role, Personne.lien_cotitulaire, Personne.nom, Personne.prenom,
    Personne.nom_naissance, Personne.sexe, Personne.date_naissance, Personne.date_naissance_prevue,
    Personne.lien_parente, Personne.situation_familiale, Personne.nationalite, Personne.residence_reguliere_declaree,
    Personne.residence_reguliere_verifiee, Personne.mineur_emancipe, Personne.handicap_cmi_invalidite,
    Personne.handicap_details, Personne.situation_professionnelle, Personne.profession, Personne.ressources_12_mois,
    Personne.procedure_divorce, Personne.dissolution_pacs, Personne.ordonnance_protection,
)


def _charger_dossiers(session: Session, ids: Sequence[int]) -> list[tuple[int, dict[str, Any]]]:
    """(id, dossier) of these demandes in id order: exactly `dossier_depuis_demande` of each (checked by
    the tests), read with six column queries (no ORM object: the nightly job reads 200 000 of them)
    in the relationships' order (personnes by rank, ressources by id, revenus by year, situations by
    code, refus by date)."""
    if not ids:
        return []
    postgres = session.get_bind().dialect.name == "postgresql"
    voulus = frozenset(ids)
    bas, haut = min(voulus), max(voulus)
    # A chunk of the nightly job is a run of consecutive ids with a few gaps (demandes no longer
    # active): one range of each index instead of one lookup per id; the rows of the demandes in the
    # gaps are read and left aside.
    plage = haut - bas < 2 * len(voulus)
    dans = (lambda colonne: colonne.between(bas, haut)) if plage else functools.partial(_parmi, ids=ids, postgres=postgres)
    personnes: dict[int, list[dict[str, Any]]] = {}
    par_id: dict[int, dict[str, Any]] = {}
    for p in session.execute(
        select(*_COLONNES_PERSONNE).where(dans(Personne.demande_id)).order_by(Personne.demande_id, Personne.ordre, Personne.id)
    ):
        personne = champs_personne(p, revenus_fiscaux=[], ressources=[])
        par_id[p.id] = personne
        personnes.setdefault(p.demande_id, []).append(personne)
    for r in session.execute(
        select(RevenuFiscal.personne_id, RevenuFiscal.annee, RevenuFiscal.montant, RevenuFiscal.avis)
        .join(Personne, Personne.id == RevenuFiscal.personne_id)
        .where(dans(Personne.demande_id)).order_by(RevenuFiscal.annee, RevenuFiscal.id)
    ):
        par_id[r.personne_id]["revenus_fiscaux"].append(revenu_fiscal(r))
    for r in session.execute(
        select(Ressource.personne_id, Ressource.sens, Ressource.code, Ressource.montant_mensuel)
        .join(Personne, Personne.id == Ressource.personne_id)
        .where(dans(Personne.demande_id)).order_by(Ressource.id)
    ):
        par_id[r.personne_id]["ressources"].append(ressource(r))
    situations: dict[int, list[dict[str, Any]]] = {}
    for s in session.execute(
        select(SituationPrioritaire.demande_id, SituationPrioritaire.code, SituationPrioritaire.verifiee,
               SituationPrioritaire.date_verification, SituationPrioritaire.verifiee_par)
        .where(dans(SituationPrioritaire.demande_id)).order_by(SituationPrioritaire.code, SituationPrioritaire.id)
    ):
        situations.setdefault(s.demande_id, []).append(situation(s))
    refus: dict[int, list[dict[str, Any]]] = {}
    for r in session.execute(
        select(RefusOffre.demande_id, RefusOffre.date_refus, RefusOffre.logement_reference, RefusOffre.motif,
               RefusOffre.motif_legitime)
        .where(dans(RefusOffre.demande_id)).order_by(RefusOffre.date_refus, RefusOffre.id)
    ):
        refus.setdefault(r.demande_id, []).append(refus_offre(r))
    dossiers = []
    for d in session.execute(select(*_COLONNES_DEMANDE).where(dans(Demande.id)).order_by(Demande.id)):
        if d.id not in voulus:
            continue
        dossiers.append((d.id, champs_demande(
            d, situations=situations.get(d.id, []), refus=refus.get(d.id, []), personnes=personnes.get(d.id, []),
        )))
    return dossiers


@dataclass
class _Lot:
    """What a worker hands back for one chunk: the rows to write and its own measures."""

    evaluations: list[Any]
    typologies: list[Any]
    communes: list[Any]
    colonnes: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]] | None  # COPY column order, else dict rows
    pid: int
    chargement_s: float
    evaluation_s: float
    rss_pic_mo: float
    prive_mo: float | None = None  # private memory (not shared with the parent) when the chunk ended


_TABLES = (EvaluationDemande.__table__, SouhaitTypologie.__table__, SouhaitCommune.__table__)


def _en_tuples(table: Any, lignes: list[dict[str, Any]]) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """Rows as COPY tuples, in the order of the first row's keys; JSON columns as their text
    (json.dumps, as SQLAlchemy's JSON type writes them); psycopg adapts the other values (Decimal,
    dates) as it does for any query."""
    if not lignes:
        return (), []
    colonnes = tuple(lignes[0])
    json_ = [i for i, c in enumerate(colonnes) if isinstance(table.c[c].type, JSON)]
    tuples = []
    for ligne in lignes:
        valeurs = [ligne[c] for c in colonnes]
        for i in json_:
            if valeurs[i] is not None:
                valeurs[i] = json.dumps(valeurs[i])
        tuples.append(tuple(valeurs))
    return colonnes, tuples


def _evaluer_lot(lot: list[tuple[int, dict[str, Any]]], date: dt.date, moteur: str, version: str, trace: bool,
                 copie: bool) -> _Lot:
    t0 = time.perf_counter()
    evaluations: list[Any] = []
    typologies: list[Any] = []
    communes: list[Any] = []
    for i, dossier in lot:
        e, t, c = lignes_demande(i, dossier, date, moteur=moteur, version=version, trace=trace)
        evaluations.append(e)
        typologies.extend(t)
        communes.extend(c)
    colonnes = None
    if copie:  # the worker does the conversions: the parent only streams rows to COPY
        (c_e, evaluations), (c_t, typologies), (c_c, communes) = (
            _en_tuples(table, lignes) for table, lignes in zip(_TABLES, (evaluations, typologies, communes), strict=True))
        colonnes = (c_e, c_t, c_c)
    return _Lot(evaluations, typologies, communes, colonnes, os.getpid(), 0.0, time.perf_counter() - t0, _rss_pic_mo(),
                _memoire_privee_mo())


def _rss_pic_mo() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memoire_privee_mo() -> float | None:
    """Private memory of this process in MB (Private_Clean + Private_Dirty of /proc/self/smaps_rollup):
    what a forked worker holds of its own, the pages it still shares with the parent left out (its
    RSS counts them a second time). None where the kernel does not give it."""
    try:
        with open("/proc/self/smaps_rollup", encoding="ascii") as f:
            kilo = sum(int(ligne.split()[1]) for ligne in f if ligne.startswith(("Private_Clean:", "Private_Dirty:")))
    except (OSError, ValueError, IndexError):
        return None
    return kilo / 1024


# The database engine of the parent, inherited by the forked workers (each opens its own connections).
_bd_parent: Any = None


def _initialiser_travailleur() -> None:
    # A forked child must not reuse the parent's pooled connections (SQLAlchemy: dispose(close=False)).
    _bd_parent.dispose(close=False)


def _travail_ids(args: tuple[list[int], dt.date, str, str, bool, bool]) -> _Lot:
    """Worker: load these demandes through its own connection (committed data) and evaluate them."""
    ids, date, moteur, version, trace, copie = args
    t0 = time.perf_counter()
    with Session(bind=_bd_parent) as session:
        lot = _charger_dossiers(session, ids)
    chargement = time.perf_counter() - t0
    resultat = _evaluer_lot(lot, date, moteur, version, trace, copie)
    resultat.chargement_s = chargement
    return resultat


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
    trace: bool = False,
    progression: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Evaluate and upsert the given demandes (else the stale ones, or all with `toutes`); see module doc.

    Demandes that are no longer active lose their evaluation and wishes. `processus`: number of
    worker processes (default: every core when there are more than SEUIL_PARALLELE demandes).
    The work goes in chunks of `taille_lot` demandes: each worker loads its chunk through its own
    connection and evaluates it, while this process writes the chunks already done (PostgreSQL:
    COPY; elsewhere multi-row INSERT), all in the caller's transaction. `trace`: the engine also
    builds the full trace of each evaluation (not stored: measured by bench/w1_rescore.py).
    `progression(n)` is called after each chunk written with its number of demandes.
    Returns counts, timings (the loading and evaluation times are summed over the workers; per
    worker in `travailleurs`) and peak memory.
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
    copie = session.get_bind().dialect.name == "postgresql"
    duree_ecriture = 0.0
    travailleurs: dict[int, dict[str, float]] = {}

    def ecrire(lot: _Lot) -> None:
        nonlocal duree_ecriture
        t = time.perf_counter()
        _ecrire(session, lot)
        duree_ecriture += time.perf_counter() - t
        cumul = travailleurs.setdefault(lot.pid, {"dossiers": 0, "chargement_s": 0.0, "evaluation_s": 0.0, "rss_pic_mo": 0.0,
                                                  "prive_pic_mo": 0.0})
        cumul["dossiers"] += len(lot.evaluations)
        cumul["chargement_s"] += lot.chargement_s
        cumul["evaluation_s"] += lot.evaluation_s
        cumul["rss_pic_mo"] = max(cumul["rss_pic_mo"], lot.rss_pic_mo)
        if lot.prive_mo is not None:
            cumul["prive_pic_mo"] = max(cumul["prive_pic_mo"], lot.prive_mo)
        if progression is not None:
            progression(len(lot.evaluations))

    if processus == 1:
        for morceau in _morceaux(ids, taille_lot):
            t0 = time.perf_counter()
            lot = _charger_dossiers(session, morceau)
            chargement = time.perf_counter() - t0
            resultat = _evaluer_lot(lot, date, moteur, version, trace, copie)
            resultat.chargement_s = chargement
            ecrire(resultat)
    else:
        # Workers read committed data through their own connections: the demandes to evaluate
        # must be committed (the nightly job); a dossier saved in this transaction goes through
        # the single-process path (reevaluer_demande).
        global _bd_parent
        _bd_parent = session.get_bind()
        moteur_a_la_date(date)  # compiled once in the parent, inherited by the forked workers
        charger_territoire()
        session.flush()
        taches = [(list(m), date, moteur, version, trace, copie) for m in _morceaux(ids, taille_lot)]
        with mp.get_context("fork").Pool(processus, initializer=_initialiser_travailleur) as pool:
            # Chunks are handed out as workers free up; each is written as soon as it comes back.
            for resultat in pool.imap_unordered(_travail_ids, taches):
                ecrire(resultat)
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
    chargement = sum(t["chargement_s"] for t in travailleurs.values())
    evaluation = sum(t["evaluation_s"] for t in travailleurs.values())
    bilan["durees"] = {
        "chargement_et_evaluation_s": round(chargement + evaluation, 3),
        "chargement_s": round(chargement, 3),
        "evaluation_s": round(evaluation, 3),
        "ecriture_s": round(duree_ecriture, 3),
        "total_s": round(time.perf_counter() - debut, 3),
    }
    bilan["travailleurs"] = travailleurs
    bilan["rss_pic_mo"] = {"principal": round(_rss_pic_mo(), 1),
                           "travailleurs": round(sum(t["rss_pic_mo"] for t in travailleurs.values()), 1)
                           if processus > 1 else 0.0,
                           # the workers' own pages (measured at the end of each chunk): with the parent's
                           # RSS, the memory of the whole job, shared pages counted once
                           "travailleurs_prive": round(sum(t["prive_pic_mo"] for t in travailleurs.values()), 1)
                           if processus > 1 else 0.0}
    return bilan


def _supprimer(session: Session, ids: Sequence[int]) -> int:
    if not ids:
        return 0
    postgres = session.get_bind().dialect.name == "postgresql"
    n = session.execute(delete(EvaluationDemande).where(_parmi(EvaluationDemande.demande_id, ids, postgres))).rowcount or 0
    session.execute(delete(SouhaitTypologie).where(_parmi(SouhaitTypologie.demande_id, ids, postgres)))
    session.execute(delete(SouhaitCommune).where(_parmi(SouhaitCommune.demande_id, ids, postgres)))
    return n


def _ecrire(session: Session, lot: _Lot) -> None:
    """Replace the rows of these demandes: delete, then COPY (PostgreSQL) or multi-row INSERT."""
    if not lot.evaluations:
        return
    if lot.colonnes is None:
        _supprimer(session, [e["demande_id"] for e in lot.evaluations])
        for table, lignes in zip(_TABLES, (lot.evaluations, lot.typologies, lot.communes), strict=True):
            if lignes:
                session.execute(insert(table), lignes)
        return
    i = lot.colonnes[0].index("demande_id")
    _supprimer(session, [e[i] for e in lot.evaluations])
    brute = session.connection().connection.dbapi_connection
    with brute.cursor() as curseur:
        for table, colonnes, lignes in zip(_TABLES, lot.colonnes, (lot.evaluations, lot.typologies, lot.communes), strict=True):
            if not lignes:
                continue
            with curseur.copy(f"COPY {table.name} ({', '.join(colonnes)}) FROM STDIN") as copie:
                for ligne in lignes:
                    copie.write_row(ligne)


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
