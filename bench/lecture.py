"""Reading dossiers for the nightly re-score (prints figures; not a test).

    .venv/bin/python bench/lecture.py --schema caleol_bench_…   # a schema kept by w1_rescore.py --garder

`webapp.services.evaluations._charger_dossiers` on `--morceaux` chunks of `--lot` consecutive active
demandes taken in the middle of the stock (after one chunk to warm up): wall-clock and client CPU
microseconds per dossier, and their difference (the time spent waiting for PostgreSQL). The load of
the machine is printed before and after.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from webapp import db as dbmod  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("CALEOL_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", required=True, help="schéma chargé (bench/w1_rescore.py --garder)")
    parser.add_argument("--lot", type=int, default=2000)
    parser.add_argument("--morceaux", type=int, default=10)
    args = parser.parse_args()
    from webapp.models import Demande, StatutDemande
    from webapp.services.evaluations import _charger_dossiers

    print(f"charge avant : {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    engine = dbmod.make_engine(args.url, schema=args.schema)
    with dbmod.make_sessionmaker(engine)() as session:
        ids = list(session.scalars(select(Demande.id).where(Demande.statut == StatutDemande.ACTIVE).order_by(Demande.id)))
        milieu = len(ids) // 2
        morceaux = [ids[milieu + k * args.lot: milieu + (k + 1) * args.lot] for k in range(args.morceaux)]
        _charger_dossiers(session, ids[: args.lot])
        mur, cpu, n = time.perf_counter(), time.process_time(), 0
        for morceau in morceaux:
            n += len(_charger_dossiers(session, morceau))
        mur, cpu = time.perf_counter() - mur, time.process_time() - cpu
    engine.dispose()
    print(f"{n} dossiers de {len(ids)} demandes actives : {mur / n * 1e6:.0f} µs par dossier d'horloge, "
          f"{cpu / n * 1e6:.0f} µs de CPU du client, {(mur - cpu) / n * 1e6:.0f} µs d'attente de la base")
    print(f"charge après : {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
