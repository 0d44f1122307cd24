"""Measure `caleol demo load`: seconds, rows per table, dossiers per second, peak memory.

    .venv/bin/python bench/demo_load.py                          # 223 000 dossiers, PostgreSQL local
    .venv/bin/python bench/demo_load.py --url sqlite --dossiers 20000 --logements 3000
    .venv/bin/python bench/demo_load.py --dossiers 20000 --valider  # also validates every dossier
    .venv/bin/python bench/demo_load.py --dossiers 2760000 --logements 50000  # national stock (issue 7)

PostgreSQL: works in a fresh schema of the given database (created, then dropped unless --garder).
SQLite: works in a temporary file. The reference territory is loaded first and timed apart.
Target (issue 2): 223 000 dossiers in under 2 minutes on PostgreSQL on the 2-core machine; national
stock (issue 7, setup of W1): 2 760 000 dossiers and 50 000 logements in 8 minutes or less, 2 GB or
less. Beyond one block of dossiers (webapp.demo.generateur.TAILLE_BLOC), PostgreSQL generates the
blocks in forked workers (--processus, default one per core). Memory: peak RSS of the parent and the
largest peak of the workers (forked: they share the parent's pages). The load average is printed
before and after (other users may share the machine).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from webapp import db as dbmod  # noqa: E402
from webapp.migrations import upgrade  # noqa: E402


def rss_max_mo(qui: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(qui).ru_maxrss / 1024


def charge_machine() -> str:
    un, cinq, quinze = os.getloadavg()
    return f"charge {un:.2f} / {cinq:.2f} / {quinze:.2f} (1, 5, 15 min ; {os.cpu_count()} cœurs)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("CALEOL_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test",
                        help="URL PostgreSQL (un schéma jetable y est créé) ou « sqlite » (fichier temporaire)")
    parser.add_argument("--dossiers", type=int, default=223000)
    parser.add_argument("--logements", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--date", default=os.environ.get("CALEOL_TODAY") or "2026-06-15", help="date de référence")
    parser.add_argument("--garder", action="store_true", help="ne pas supprimer le schéma PostgreSQL à la fin")
    parser.add_argument("--valider", action="store_true", help="valider aussi chaque dossier avec charger_dossier")
    parser.add_argument("--processus", type=int, default=None,
                        help="processus de génération des blocs de dossiers (PostgreSQL ; défaut : un par cœur)")
    args = parser.parse_args()
    os.environ["CALEOL_TODAY"] = args.date

    from webapp.demo.service import charger_demo
    from webapp.services.territoire import charger_territoire

    schema = None
    admin = None
    if args.url == "sqlite" or args.url.startswith("sqlite"):
        dossier = tempfile.mkdtemp(prefix="caleol-bench-")
        url = f"sqlite:///{dossier}/demo.sqlite3"
        engine = dbmod.make_engine(url)
    else:
        schema = f"caleol_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(dbmod.normaliser_url(args.url))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = dbmod.make_engine(args.url, schema=schema)
        url = f"{args.url} (schéma {schema})"
    try:
        upgrade(engine)
        factory = dbmod.make_sessionmaker(engine)
        debut = time.perf_counter()
        with dbmod.transaction(factory) as session:
            charger_territoire(session, acteur="bench")
        duree_territoire = time.perf_counter() - debut

        print(f"avant : {charge_machine()}", flush=True)
        debut = time.perf_counter()
        with dbmod.transaction(factory) as session:
            resultat = charger_demo(
                session, seed=args.seed, nb_dossiers=args.dossiers, nb_logements=args.logements, acteur="bench:demo_load",
                processus=args.processus,
            )
        duree = time.perf_counter() - debut
        print(f"après : {charge_machine()}", flush=True)

        print(f"base : {url}")
        print(f"graine {args.seed}, {args.dossiers} dossiers, {args.logements} logements, date de référence {args.date}")
        print(f"territoire de référence : {duree_territoire:.1f} s (hors mesure)")
        print(f"demo load (génération + écriture + commit, une transaction) : {duree:.1f} s")
        print(f"débit : {args.dossiers / duree:,.0f} dossiers/s".replace(",", " "))
        print(f"lignes écrites : {sum(resultat.comptes.values()):,}".replace(",", " "))
        for table, n in resultat.comptes.items():
            print(f"  {table:<24} {n:>10,}".replace(",", " "))
        print(f"empreinte : {resultat.empreinte}")
        print(f"mémoire résidente maximale : {rss_max_mo():.0f} Mo (parent), "
              f"{rss_max_mo(resource.RUSAGE_CHILDREN):.0f} Mo (le plus gros processus de génération)")

        if args.valider:
            from webapp.demo.generateur import JeuDemo
            from webapp.schemas import ErreurValidation, charger_dossier

            debut = time.perf_counter()
            invalides = 0
            for _, dossier, _ in JeuDemo(args.seed, args.dossiers, args.logements, dt.date.fromisoformat(args.date)).dossiers():
                try:
                    charger_dossier(dossier)
                except ErreurValidation as exc:
                    invalides += 1
                    if invalides <= 5:
                        print(f"  dossier invalide {dossier['numero_unique']} : {exc.erreurs}")
            print(f"validation charger_dossier : {args.dossiers - invalides} valides, {invalides} invalides "
                  f"({time.perf_counter() - debut:.1f} s)")
            if invalides:
                return 1
    finally:
        engine.dispose()
        if schema and admin is not None:
            if args.garder:
                print(f"schéma conservé : {schema}")
            else:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
