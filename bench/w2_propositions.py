"""W2 (issue 7): proposals for 1 000 random vacant logements with a pool of 223 000 demandes, on PostgreSQL.

    .venv/bin/python bench/w2_propositions.py --schema caleol_bench_x   # a schema kept by w1_rescore.py --garder
    .venv/bin/python bench/w2_propositions.py                           # builds its own schema (223 000 demandes)
    .venv/bin/python bench/w2_propositions.py --dossiers 20000 --logements 3000 --n 200   # small run

Setup (not timed): with `--schema`, a schema already loaded and re-scored (bench/w1_rescore.py
--garder: demo data set of 223 000 demandes and 20 000 logements written by the bulk path, every
active demande evaluated); otherwise the same is built here in a fresh schema (bench/propose.py),
dropped at the end unless --garder.

Measured: `webapp.services.propositions.proposer` for N vacant logements drawn with a fixed seed
(without replacement when there are enough), each in its own read-only transaction, after one
warm-up proposal: p50 / p95 / max milliseconds, and the split between the SQL (pre-selection and the
excluded demandes), the evaluation of the shortlist with the dwelling and the quotas preview.
Without CALEOL_OPENFISCA_URL no housing-aid request is made (declared aid, else none).
Target (issue 7): p95 ≤ 150 ms.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

import propose  # noqa: E402  (bench/propose.py: setup and the measuring loop)
from webapp import db as dbmod  # noqa: E402
from webapp.migrations import upgrade  # noqa: E402
from schema_bench import liberer_schema  # noqa: E402  (bench/schema_bench.py)


def charge_machine() -> str:
    un, cinq, quinze = os.getloadavg()
    return f"charge {un:.2f} / {cinq:.2f} / {quinze:.2f} (1, 5, 15 min ; {os.cpu_count()} cœurs)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("CALEOL_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default=None, help="schéma déjà chargé et réévalué (bench/w1_rescore.py --garder)")
    parser.add_argument("--dossiers", type=int, default=223000)
    parser.add_argument("--logements", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--n", type=int, default=1000, help="propositions mesurées")
    parser.add_argument("--processus", type=int, default=None, help="processus du recalcul (schéma créé ici)")
    parser.add_argument("--moteur", choices=["durable", "python"], default="durable")
    parser.add_argument("--date", default=os.environ.get("CALEOL_TODAY") or "2026-06-15")
    parser.add_argument("--garder", action="store_true", help="ne pas supprimer le schéma créé")
    args = parser.parse_args()
    os.environ["CALEOL_TODAY"] = args.date
    date = dt.date.fromisoformat(args.date)

    print("commande : " + " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]))
    print(f"date : {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC ; /proc/loadavg : "
          f"{Path('/proc/loadavg').read_text().strip() if Path('/proc/loadavg').exists() else '?'}")
    print("objectif : p95 ≤ 150 ms par proposition, réserve de 223 000 demandes")

    admin = create_engine(dbmod.normaliser_url(args.url))
    schema = args.schema or f"caleol_bench_{uuid.uuid4().hex[:8]}"
    if not args.schema:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = dbmod.make_engine(args.url, schema=schema)
    try:
        factory = dbmod.make_sessionmaker(engine)
        if args.schema:
            upgrade(engine)  # a kept schema follows the migrations added since
            with engine.begin() as conn:  # planner statistics of the tables the re-score rewrote (not timed)
                conn.execute(text("ANALYZE"))
        else:
            propose.charger_et_evaluer(engine, factory, f"{args.url} (schéma {schema})", args, date)
        from webapp.models import Demande, EvaluationDemande, StatutDemande

        with factory() as s:
            nb = s.scalar(select(func.count(Demande.id)))
            actives = s.scalar(select(func.count(Demande.id)).where(Demande.statut == StatutDemande.ACTIVE))
            evaluees = s.scalar(select(func.count(EvaluationDemande.demande_id)).where(EvaluationDemande.date_evaluation == date))
        print(f"base : {args.url} (schéma {schema}) ; réserve : {nb} demandes, {actives} actives, {evaluees} évaluées au {args.date}")
        if evaluees < actives:
            print("ATTENTION : des demandes actives ne sont pas évaluées à cette date (elles sont écartées comme « non évaluées »).")
        print(f"[propositions] avant : {charge_machine()}", flush=True)
        propose.mesurer(engine, factory, args, date)
        print(f"[propositions] après : {charge_machine()}", flush=True)
    finally:
        liberer_schema(engine, admin, schema, conserver=bool(args.garder or args.schema))
    return 0


if __name__ == "__main__":
    sys.exit(main())
