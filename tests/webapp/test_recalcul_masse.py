"""The bulk path of the persisted evaluations (issue 7, W1): column loading, COPY writing, chunks, trace.

The nightly re-score reads the dossiers with column queries instead of ORM objects and writes its
rows with COPY on PostgreSQL: both must give exactly what the ORM path gives.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from webapp.demo.generateur import JeuDemo
from webapp.models import Demande, EvaluationDemande, SouhaitCommune, SouhaitTypologie
from webapp.schemas import charger_dossier
from webapp.services.dossiers import OPTIONS_DOSSIER, dossier_depuis_demande, enregistrer_dossier
from webapp.services.evaluations import _charger_dossiers, lignes_demande, recalculer_evaluations

DATE = dt.date(2026, 6, 15)


def _demo(session, n: int = 150) -> list[int]:
    """n dossiers of the demo generator (several persons, resources, tax incomes, priority
    situations, refusals, wishes), saved through the ordinary path."""
    jeu = JeuDemo(7, n, 30, DATE)
    ids = [enregistrer_dossier(session, charger_dossier(d), acteur="tests", audit=False)[0].id
           for _, d, _ in jeu.dossiers()]
    session.flush()
    return ids


def test_le_chargement_par_colonnes_rend_exactement_le_dossier_de_l_orm(session):
    ids = _demo(session)
    par_colonnes = _charger_dossiers(session, list(reversed(ids)))
    session.expire_all()
    orm = [(d.id, dossier_depuis_demande(d)) for d in session.scalars(
        select(Demande).where(Demande.id.in_(ids)).order_by(Demande.id).options(*OPTIONS_DOSSIER))]
    assert par_colonnes == orm
    # The sample exercises every child collection, not only empty lists.
    dossiers = [d for _, d in par_colonnes]
    assert sum(1 for d in dossiers if d["refus"]) and sum(1 for d in dossiers if d["situations"])
    assert sum(1 for d in dossiers if len(d["personnes"]) > 2)
    assert sum(1 for d in dossiers for p in d["personnes"] if len(p["ressources"]) > 1)
    assert sum(1 for d in dossiers for p in d["personnes"] if len(p["revenus_fiscaux"]) > 1)
    assert _charger_dossiers(session, []) == []
    assert [i for i, _ in _charger_dossiers(session, [ids[3], 10**9, ids[1]])] == [ids[1], ids[3]]
    # A run of ids with gaps (read as one range, the demandes in the gaps left aside) and a sparse set
    # (read id by id): each gives exactly the dossiers asked for.
    orm_par_id = dict(orm)
    for partie in (ids[::2], ids[5:40:3], ids[::10], [ids[0], ids[-1]]):
        assert _charger_dossiers(session, partie) == [(i, orm_par_id[i]) for i in sorted(partie)]


def _lignes(session, ids):
    evaluations = {e.demande_id: {c.name: getattr(e, c.name) for c in EvaluationDemande.__table__.c if c.name != "calculee_le"}
                   for e in session.scalars(select(EvaluationDemande).where(EvaluationDemande.demande_id.in_(ids)))}
    typologies = sorted(session.execute(select(SouhaitTypologie.demande_id, SouhaitTypologie.typologie)).all())
    communes = sorted(tuple(r) for r in session.execute(select(SouhaitCommune.__table__)).all())
    return evaluations, typologies, communes


def test_le_recalcul_par_morceaux_ecrit_les_lignes_du_calcul_d_une_demande(session):
    ids = _demo(session, 60)
    vus: list[int] = []
    bilan = recalculer_evaluations(session, DATE, toutes=True, processus=1, taille_lot=7, acteur="tests",
                                   progression=vus.append)
    assert bilan["evaluees"] == len(ids) - bilan["supprimees"] - sum(
        1 for d in session.scalars(select(Demande).where(Demande.id.in_(ids))) if str(d.statut) != "active")
    assert sum(vus) == bilan["evaluees"] and max(vus) <= 7
    evaluations, typologies, communes = _lignes(session, ids)
    # Each stored row is exactly what lignes_demande gives for that demande (COPY on PostgreSQL).
    attendues_typologies, attendues_communes = [], []
    for demande_id, dossier in _charger_dossiers(session, sorted(evaluations)):
        e, t, c = lignes_demande(demande_id, dossier, DATE)
        del e["calculee_le"]
        assert evaluations[demande_id] == e
        attendues_typologies += [(x["demande_id"], x["typologie"]) for x in t]
        attendues_communes += [tuple(x[col.name] for col in SouhaitCommune.__table__.c) for x in c]
    assert typologies == sorted(attendues_typologies)
    assert communes == sorted(attendues_communes)
    assert len(communes) > len(evaluations) / 2


def test_calculer_la_trace_ne_change_aucune_ligne(session):
    ids = _demo(session, 40)
    recalculer_evaluations(session, DATE, toutes=True, processus=1, acteur="tests")
    sans = _lignes(session, ids)
    bilan = recalculer_evaluations(session, DATE, toutes=True, processus=1, trace=True, acteur="tests")
    assert _lignes(session, ids) == sans
    assert bilan["durees"]["evaluation_s"] > 0 and bilan["durees"]["chargement_s"] > 0
    assert bilan["rss_pic_mo"]["principal"] > 0
