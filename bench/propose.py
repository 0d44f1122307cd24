"""Measure `proposer` on a large pool: the persisted evaluations, then proposals for random vacant dwellings.

    .venv/bin/python bench/propose.py                       # 223 000 demandes, 200 proposals, PostgreSQL local
    .venv/bin/python bench/propose.py --n 1000
    .venv/bin/python bench/propose.py --url sqlite --dossiers 20000 --logements 3000

PostgreSQL: a fresh schema of the given database (created, then dropped unless --garder), migrated,
the reference territory loaded, the demo data set written by the generator's bulk path
(`caleol demo load`), then `recalculer_evaluations` over every active demande (timed: that is the
nightly job), ANALYZE, then `proposer` for N vacant dwellings drawn with a fixed seed. Printed:
p50 / p95 / max milliseconds per proposal, and the split between the SQL (pre-selection and the
excluded demandes) and the evaluation of the shortlist with the dwelling. Target (issue 4):
p95 ≤ 150 ms on 223 000 demandes. Without CALEOL_OPENFISCA_URL no housing-aid request is made
(declared aid, else none), so the figures measure Caléol, not OpenFisca.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from webapp import db as dbmod  # noqa: E402
from webapp.migrations import upgrade  # noqa: E402


def centile(valeurs: list[float], p: float) -> float:
    v = sorted(valeurs)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p
    bas, haut = int(k), min(int(k) + 1, len(v) - 1)
    return v[bas] + (v[haut] - v[bas]) * (k - bas)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("CALEOL_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test",
                        help="URL PostgreSQL (un schéma jetable y est créé) ou « sqlite » (fichier temporaire)")
    parser.add_argument("--dossiers", type=int, default=223000)
    parser.add_argument("--logements", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--n", type=int, default=200, help="nombre de propositions mesurées")
    parser.add_argument("--processus", type=int, default=None, help="processus du recalcul (défaut : tous les cœurs)")
    parser.add_argument("--moteur", choices=["durable", "python"], default="durable")
    parser.add_argument("--date", default=os.environ.get("CALEOL_TODAY") or "2026-06-15", help="date de référence")
    parser.add_argument("--garder", action="store_true", help="ne pas supprimer le schéma PostgreSQL à la fin")
    parser.add_argument("--schema", default=None,
                        help="réutiliser un schéma PostgreSQL déjà chargé et évalué (conservé par --garder) : seules les propositions sont mesurées")
    args = parser.parse_args()
    os.environ["CALEOL_TODAY"] = args.date
    date = dt.date.fromisoformat(args.date)

    schema = None
    admin = None
    postgres = not args.url.startswith("sqlite")
    if not postgres:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='caleol-bench-')}/propose.sqlite3"
        engine = dbmod.make_engine(url)
    else:
        schema = args.schema or f"caleol_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(dbmod.normaliser_url(args.url))
        if not args.schema:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = dbmod.make_engine(args.url, schema=schema)
        url = f"{args.url} (schéma {schema})"
    reutilise = bool(args.schema and postgres)
    try:
        factory = dbmod.make_sessionmaker(engine)
        if reutilise:
            print(f"base : {url} (réutilisée : chargement et recalcul non refaits)")
        else:
            charger_et_evaluer(engine, factory, url, args, date)
        mesurer(engine, factory, args, date)
    finally:
        engine.dispose()
        if schema and admin is not None:
            if args.garder or reutilise:
                print(f"schéma conservé : {schema}")
            else:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return 0


def charger_et_evaluer(engine, factory, url: str, args, date: dt.date) -> None:
    from webapp.demo.service import charger_demo
    from webapp.services.evaluations import recalculer_evaluations
    from webapp.services.territoire import charger_territoire

    postgres = engine.dialect.name == "postgresql"
    upgrade(engine)
    with dbmod.transaction(factory) as session:
        charger_territoire(session, acteur="bench")
    debut = time.perf_counter()
    with dbmod.transaction(factory) as session:
        charger_demo(session, seed=args.seed, nb_dossiers=args.dossiers, nb_logements=args.logements,
                     acteur="bench:propose", date_reference=date)
    duree_demo = time.perf_counter() - debut
    print(f"base : {url}")
    print(f"graine {args.seed}, {args.dossiers} dossiers, {args.logements} logements, date {args.date}, moteur {args.moteur}")
    print(f"demo load (hors mesure) : {duree_demo:.1f} s")

    debut = time.perf_counter()
    with dbmod.transaction(factory) as session:
        bilan = recalculer_evaluations(session, date, toutes=True, processus=args.processus, moteur=args.moteur,
                                       acteur="bench:propose")
    duree_eval = time.perf_counter() - debut
    d = bilan["durees"]
    print(f"recalcul des évaluations : {bilan['evaluees']} demandes actives en {duree_eval:.1f} s "
          f"({bilan['evaluees'] / duree_eval:.0f} demandes/s, {bilan['processus']} processus ; "
          f"chargement + évaluation {d['chargement_et_evaluation_s']:.1f} s, écriture {d['ecriture_s']:.1f} s, "
          f"commit compris)")
    if postgres:
        debut = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        print(f"ANALYZE : {time.perf_counter() - debut:.1f} s")


def mesurer(engine, factory, args, date: dt.date) -> None:
    from webapp.models import Logement, StatutLogement
    from webapp.services.propositions import proposer

    session = factory()
    try:
        vacants = list(session.scalars(select(Logement.id).where(Logement.statut == StatutLogement.VACANT).order_by(Logement.id)))
        tirage = random.Random(args.seed)
        choisis = [tirage.choice(vacants) for _ in range(args.n)] if len(vacants) < args.n else tirage.sample(vacants, args.n)
        print(f"logements vacants : {len(vacants)} ; propositions mesurées : {len(choisis)}")
        # Warm-up (compiled rulebook, parameters, territory): not measured.
        proposer(session, choisis[0], date, moteur=args.moteur)
        session.rollback()
        totaux, sql, evals, quotas, nb_candidats, exceptions, evaluees = [], [], [], [], [], 0, []
        for logement_id in choisis:
            mesures: dict[str, float] = {}
            debut = time.perf_counter()
            r = proposer(session, logement_id, date, moteur=args.moteur, mesures=mesures)
            totaux.append((time.perf_counter() - debut) * 1000)
            sql.append(mesures["preselection_ms"])
            evals.append(mesures["evaluation_ms"])
            quotas.append(mesures["quotas_ms"])
            evaluees.append(mesures["evaluees"])
            nb_candidats.append(len(r["candidats"]))
            exceptions += r["exception"] is not None
            session.rollback()
    finally:
        session.close()
    print(f"ms par proposition : p50 {centile(totaux, 0.5):.1f} ; p95 {centile(totaux, 0.95):.1f} ; max {max(totaux):.1f}")
    print(f"  SQL (présélection et exclus) : p50 {centile(sql, 0.5):.1f} ; p95 {centile(sql, 0.95):.1f} ; max {max(sql):.1f}")
    print(f"  évaluation de la liste restreinte avec le logement : p50 {centile(evals, 0.5):.1f} ; "
          f"p95 {centile(evals, 0.95):.1f} ; max {max(evals):.1f} "
          f"({statistics.mean(evaluees):.1f} demandes évaluées en moyenne)")
    print(f"  aperçu des quotas (webapp.services.quotas.impact) : p50 {centile(quotas, 0.5):.1f} ; "
          f"p95 {centile(quotas, 0.95):.1f} ; max {max(quotas):.1f}")
    print(f"candidats : {sum(1 for n in nb_candidats if n >= 3)} propositions à 3 candidats ou plus, "
          f"{exceptions} avec une exception de R441-3")
    print(f"objectif p95 ≤ 150 ms : {'atteint' if centile(totaux, 0.95) <= 150 else 'NON atteint'}")


if __name__ == "__main__":
    sys.exit(main())
