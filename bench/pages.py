"""Measure the dashboard, the réservataire and territoire spaces and the demande fiche with the Flask test client.

    .venv/bin/python bench/pages.py                                 # 20 000 demandes, PostgreSQL local, fresh schema
    .venv/bin/python bench/pages.py --schema caleol_bench_xxxx      # reuse a loaded and evaluated schema (bench/propose.py --garder)
    .venv/bin/python bench/pages.py --url sqlite --dossiers 20000 --logements 3000

The base gets the demo data set (`caleol demo load`), the persisted evaluations and the orientation of
the vacant dwellings (what `make run` does); then each page is requested N times per demo user after a
warm-up request (compiled rulebook, parameters, territory). Printed per page and user: p50 / p95 / max
milliseconds and the number of SQL statements per request (the same for every demande: no N+1).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, event, func, select, text  # noqa: E402

from webapp import db as dbmod  # noqa: E402
from webapp.migrations import upgrade  # noqa: E402

MOT_DE_PASSE = "caleol-demo"


def centile(valeurs: list[float], p: float) -> float:
    v = sorted(valeurs)
    k = (len(v) - 1) * p
    bas, haut = int(k), min(int(k) + 1, len(v) - 1)
    return v[bas] + (v[haut] - v[bas]) * (k - bas)


def preparer(engine, factory, args, date: dt.date) -> None:
    from webapp.demo.service import charger_demo
    from webapp.services.evaluations import recalculer_evaluations
    from webapp.services.territoire import charger_territoire

    upgrade(engine)
    with dbmod.transaction(factory) as session:
        charger_territoire(session, acteur="bench")
    debut = time.perf_counter()
    with dbmod.transaction(factory) as session:
        charger_demo(session, seed=args.seed, nb_dossiers=args.dossiers, nb_logements=args.logements,
                     acteur="bench:pages", date_reference=date)
    with dbmod.transaction(factory) as session:
        recalculer_evaluations(session, date, toutes=True, processus=args.processus, acteur="bench:pages")
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    print(f"préparation (hors mesure) : {time.perf_counter() - debut:.1f} s")
    orienter_si_besoin(factory, date)


def orienter_si_besoin(factory, date: dt.date) -> None:
    from webapp.models import OrientationFlux
    from webapp.services.flux import orienter_vacants

    with dbmod.transaction(factory) as session:
        if not session.scalar(select(func.count(OrientationFlux.id)).where(OrientationFlux.date_orientation == date)):
            print(f"logements vacants orientés : {len(orienter_vacants(session, date, 'bench:pages'))}")


def client(app, identifiant: str):
    c = app.test_client()
    r = c.post("/connexion", data={"identifiant": identifiant, "mot_de_passe": MOT_DE_PASSE})
    if r.status_code != 302:
        raise SystemExit(f"connexion refusée pour {identifiant} ({r.status_code})")
    return c


def mesurer(app, engine, identifiant: str, urls: list[str], etiquette: str, requetes: list[int]) -> None:
    c = client(app, identifiant)
    r = c.get(urls[0])  # warm-up, not measured
    if r.status_code != 200:
        raise SystemExit(f"{urls[0]} : {r.status_code} pour {identifiant}")
    durees, nb = [], []
    for url in urls:
        requetes[0] = 0
        debut = time.perf_counter()
        r = c.get(url)
        durees.append((time.perf_counter() - debut) * 1000)
        nb.append(requetes[0])
        if r.status_code != 200:
            raise SystemExit(f"{url} : {r.status_code} pour {identifiant}")
    print(f"{etiquette:<34} {identifiant:<19} n={len(urls):<3} p50 {centile(durees, .5):7.1f} ; p95 {centile(durees, .95):7.1f} ; "
          f"max {max(durees):7.1f} ms ; requêtes SQL {min(nb)}–{max(nb)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("CALEOL_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--dossiers", type=int, default=20000)
    parser.add_argument("--logements", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--n", type=int, default=20, help="requêtes mesurées par page et par utilisateur")
    parser.add_argument("--processus", type=int, default=None)
    parser.add_argument("--date", default=os.environ.get("CALEOL_TODAY") or "2026-06-15")
    parser.add_argument("--schema", default=None, help="schéma PostgreSQL déjà chargé et évalué, réutilisé")
    parser.add_argument("--garder", action="store_true", help="ne pas supprimer le schéma créé")
    args = parser.parse_args()
    os.environ["CALEOL_TODAY"] = args.date
    date = dt.date.fromisoformat(args.date)

    admin = schema = None
    if args.url.startswith("sqlite"):
        engine = dbmod.make_engine(f"sqlite:///{tempfile.mkdtemp(prefix='caleol-bench-')}/pages.sqlite3")
    else:
        schema = args.schema or f"caleol_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(dbmod.normaliser_url(args.url))
        if not args.schema:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = dbmod.make_engine(args.url, schema=schema)
    try:
        factory = dbmod.make_sessionmaker(engine)
        if args.schema:
            print(f"schéma réutilisé : {schema}")
            orienter_si_besoin(factory, date)
        else:
            preparer(engine, factory, args, date)
        requetes = [0]

        @event.listens_for(engine, "before_cursor_execute")
        def _compter(*_a, **_k):
            requetes[0] += 1

        from webapp import create_app
        from webapp.models import Demande, OrientationFlux, Reservataire, StatutDemande

        app = create_app({"ENGINE": engine, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False, "LIMITE_CONNEXION": "1000 per minute"})
        with factory() as s:
            nb_demandes = s.scalar(select(func.count(Demande.id)))
            numeros = list(s.scalars(select(Demande.numero_unique).where(Demande.statut == StatutDemande.ACTIVE).order_by(Demande.id)))
            orientation_al = s.scalar(
                select(OrientationFlux.id).join(Reservataire, Reservataire.id == OrientationFlux.reservataire_id)
                .where(Reservataire.type == "action_logement").order_by(OrientationFlux.id.desc()).limit(1))
        print(f"base : {engine.url.render_as_string(hide_password=True)}{f' (schéma {schema})' if schema else ''} ; "
              f"{nb_demandes} demandes ; date {args.date}")
        fiches = [f"/demandes/{n}" for n in random.Random(args.seed).sample(numeros, min(args.n, len(numeros)))]
        for identifiant in ("charge.attribution", "epci.mel", "etat.ddets", "reservataire.al"):
            mesurer(app, engine, identifiant, ["/"] * args.n, "tableau de bord /", requetes)
        mesurer(app, engine, "charge.attribution", fiches, "fiche demande (évaluation, position)", requetes)
        mesurer(app, engine, "membre.commission", fiches, "fiche demande (évaluation, position)", requetes)
        mesurer(app, engine, "reservataire.al", ["/reservataire"] * args.n, "espace réservataire", requetes)
        if orientation_al:
            mesurer(app, engine, "reservataire.al", [f"/reservataire/orientations/{orientation_al}"] * args.n,
                    "logement orienté (formulaire)", requetes)
        mesurer(app, engine, "epci.mel", ["/territoire"] * args.n, "quotas du territoire", requetes)
        mesurer(app, engine, "reservataire.al", ["/reservataire/bilan/2025.html"] * max(3, args.n // 4), "bilan réservataire 2025", requetes)
    finally:
        engine.dispose()
        if admin is not None:
            if not (args.garder or args.schema):
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
