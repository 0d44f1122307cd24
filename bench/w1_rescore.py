"""W1 (issue 7): re-score a whole stock of demandes on PostgreSQL, in chunks, on every core.

    .venv/bin/python bench/w1_rescore.py                         # regional stock: 223 000 demandes
    .venv/bin/python bench/w1_rescore.py --stock national        # national stock: 2 760 000 demandes
    .venv/bin/python bench/w1_rescore.py --dossiers 20000        # a small run while developing
    .venv/bin/python bench/w1_rescore.py --schema caleol_bench_x  # reuse a schema kept by --garder

Setup (not timed against the targets): a fresh schema of the PostgreSQL database (created by the
script and dropped at the end unless --garder), migrated, the reference territory, then the demo data
set written by its bulk path (`caleol demo load`: COPY), then ANALYZE.

Measured: `webapp.services.evaluations.recalculer_evaluations(toutes=True)` — the nightly job — over
every active demande, in one transaction (commit included), with the full trace of each evaluation
computed (`--sans-trace`: the production setting, where the trace is replayed on demand instead).
Each worker (a `fork` pool, one per core by default) reads its chunk of `--lot` demandes from the
database through its own connection and evaluates it through the whole rulebook (durable_rules);
the parent writes each chunk back as it arrives (DELETE + COPY into evaluation_demande,
souhait_typologie, souhait_commune). Two figures, which the summary names:

* end-to-end: wall-clock seconds from the first read to the commit (read + evaluate + write);
* engine only: the evaluation time of the busiest worker (the sum of its chunks' evaluation times,
  reads and writes excluded): the wall time the same evaluations take on these cores when the
  dossiers are already in memory.

Memory: peak RSS of the parent (the stock is generated in a forked child, so that this figure
measures the re-score) plus each worker's peak private memory (Private_Clean + Private_Dirty of
/proc/self/smaps_rollup at the end of each chunk: the pages it still shares with the parent are counted
once, in the parent); the sum of the RSS peaks, which counts shared pages in every process, is printed
as an upper bound. PostgreSQL's own memory is not counted. A sample of stored rows
is checked against an evaluation made in this process. Each phase prints the load average of the
machine (other users may share it), and the command line is printed first.

Targets (issue 7): 223 000 demandes in 30 s or less, 2 760 000 in 6 min or less, RSS 1 GB or less.
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import random
import shlex
import signal
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import click  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from webapp import db as dbmod  # noqa: E402
from webapp.migrations import upgrade  # noqa: E402
from schema_bench import liberer_schema  # noqa: E402  (bench/schema_bench.py)

STOCKS = {"regional": (223_000, 20_000), "national": (2_760_000, 50_000)}
CIBLES_S = {"regional": 30.0, "national": 360.0}
CIBLE_RSS_MO = 1024.0


def charge_machine() -> str:
    un, cinq, quinze = os.getloadavg()
    return f"charge {un:.2f} / {cinq:.2f} / {quinze:.2f} (1, 5, 15 min ; {os.cpu_count()} cœurs)"


def verdict(valeur: float, cible: float) -> str:
    return "atteint" if valeur <= cible else "NON atteint"


def preparer(engine, factory, dossiers: int, logements: int, seed: int, date: dt.date) -> None:
    from webapp.demo.service import charger_demo
    from webapp.services.territoire import charger_territoire

    upgrade(engine)
    with dbmod.transaction(factory) as session:
        charger_territoire(session, acteur="bench:w1")
    print(f"[préparation] {charge_machine()}", flush=True)
    debut = time.perf_counter()
    with dbmod.transaction(factory) as session:
        charger_demo(session, seed=seed, nb_dossiers=dossiers, nb_logements=logements, acteur="bench:w1",
                     date_reference=date)
    duree = time.perf_counter() - debut
    print(f"[préparation] demo load (chemin de masse, COPY) : {dossiers} demandes, {logements} logements en "
          f"{duree:.1f} s ({dossiers / duree:.0f} demandes/s) — hors objectif ; après : {charge_machine()}", flush=True)
    debut = time.perf_counter()
    # The tables of this schema only (search_path): a bare ANALYZE would also go through (and wait for)
    # the schemas of the other runs sharing the database.
    from webapp.models import Base

    with engine.begin() as conn:
        conn.execute(text(f"ANALYZE {', '.join(t.name for t in Base.metadata.sorted_tables)}"))
    print(f"[préparation] ANALYZE : {time.perf_counter() - debut:.1f} s", flush=True)


def preparer_a_part(engine, factory, args, date: dt.date) -> None:
    """`preparer` in a forked child process: the memory of generating the stock (millions of rows
    for the national one) stays out of this process, whose peak RSS measures the re-score."""
    engine.dispose(close=False)  # the child opens its own connections
    enfant = mp.get_context("fork").Process(
        target=preparer, args=(engine, factory, args.dossiers, args.logements, args.seed, date), name="preparation")
    enfant.start()
    enfant.join()
    if enfant.exitcode != 0:
        raise SystemExit(f"préparation échouée (code de sortie {enfant.exitcode})")


class Interrompu(Exception):
    """The time budget (--budget-s) ran out: the transaction is rolled back, the partial rate reported."""

    def __init__(self, faites: int, duree: float):
        super().__init__(f"{faites} demandes en {duree:.1f} s")
        self.faites, self.duree = faites, duree


def recalculer(factory, date: dt.date, args, nb_actives: int) -> dict:
    from webapp.services.evaluations import recalculer_evaluations

    print(f"[recalcul] avant : {charge_machine()}", flush=True)
    debut = time.perf_counter()
    faites = 0
    with click.progressbar(length=nb_actives, label="recalcul", file=sys.stderr, show_pos=True,
                           show_percent=True, show_eta=True, width=30) as barre:

        def progression(n: int) -> None:
            nonlocal faites
            faites += n
            barre.update(n)
            if (args.budget_s and time.perf_counter() - debut > args.budget_s) or (
                    args.echeance and dt.datetime.now(dt.UTC) >= args.echeance):
                raise Interrompu(faites, time.perf_counter() - debut)

        with dbmod.transaction(factory) as session:
            bilan = recalculer_evaluations(session, date, toutes=True, processus=args.processus, taille_lot=args.lot,
                                           trace=not args.sans_trace, moteur=args.moteur, acteur="bench:w1",
                                           progression=progression)
        # The transaction commits when the block ends: the commit is inside the measure.
    bilan["mur_s"] = time.perf_counter() - debut
    bilan["moteur"] = args.moteur
    print(f"[recalcul] après : {charge_machine()}", flush=True)
    return bilan


def verifier(factory, date: dt.date, n: int, seed: int) -> tuple[int, int]:
    """Stored rows of a random sample equal an evaluation made here (same date, same rulebook)."""
    from webapp.models import Demande, EvaluationDemande, StatutDemande
    from webapp.services.evaluations import _charger_dossiers, lignes_demande

    comparees = ecarts = 0
    with factory() as session:
        ids = list(session.scalars(select(Demande.id).where(Demande.statut == StatutDemande.ACTIVE)))
        echantillon = sorted(random.Random(seed).sample(ids, min(n, len(ids))))
        stockees = {e.demande_id: e for e in session.scalars(
            select(EvaluationDemande).where(EvaluationDemande.demande_id.in_(echantillon)))}
        for demande_id, dossier in _charger_dossiers(session, echantillon):
            attendu, _, _ = lignes_demande(demande_id, dossier, date)
            e = stockees.get(demande_id)
            comparees += 1
            cles = ("score", "recevable", "eligible_plai", "eligible_plus", "eligible_pls", "regles_appliquees",
                    "detail_cotation", "priorites", "empreinte_entree", "quartile", "epci")
            if e is None or any(getattr(e, c) != attendu[c] for c in cles):
                ecarts += 1
    return comparees, ecarts


def resume(bilan: dict, nb_actives: int, stock: str | None, trace: bool) -> None:
    d = bilan["durees"]
    travailleurs = bilan["travailleurs"]
    mur = bilan["mur_s"]
    moteur_seul = max((t["evaluation_s"] for t in travailleurs.values()), default=0.0)
    lecture = max((t["chargement_s"] for t in travailleurs.values()), default=0.0)
    memoire = bilan["rss_pic_mo"]
    rss = memoire["principal"] + memoire["travailleurs_prive"]
    borne = memoire["principal"] + memoire["travailleurs"]
    n = bilan["evaluees"]
    print()
    print(f"=== W1 — résumé ({n} demandes actives réévaluées, {bilan['processus']} processus, "
          f"moteur {bilan.get('moteur', 'durable')}, trace {'complète' if trace else 'non calculée'}) ===")
    print(f"bout en bout (lecture en base + évaluation + écriture COPY + commit) : {mur:.1f} s, "
          f"{n / mur:.0f} demandes/s, {mur / n * 1e6:.0f} µs/demande")
    print(f"moteur seul (évaluation, travailleur le plus chargé) : {moteur_seul:.1f} s, {n / moteur_seul:.0f} demandes/s"
          if moteur_seul else "moteur seul : —")
    print(f"détail (sommes sur les travailleurs) : lecture {d['chargement_s']:.1f} s, évaluation {d['evaluation_s']:.1f} s ; "
          f"écriture dans le processus principal {d['ecriture_s']:.1f} s ; lecture du travailleur le plus chargé {lecture:.1f} s")
    for pid, t in sorted(travailleurs.items()):
        print(f"  travailleur {pid} : {int(t['dossiers'])} demandes, lecture {t['chargement_s']:.1f} s, "
              f"évaluation {t['evaluation_s']:.1f} s, RSS pic {t['rss_pic_mo']:.0f} Mo dont mémoire propre "
              f"{t.get('prive_pic_mo', 0.0):.0f} Mo")
    print(f"mémoire du recalcul : RSS pic du processus principal {memoire['principal']:.0f} Mo + pics de mémoire "
          f"propre des travailleurs {memoire['travailleurs_prive']:.0f} Mo = {rss:.0f} Mo (objectif ≤ "
          f"{CIBLE_RSS_MO:.0f} Mo : {verdict(rss, CIBLE_RSS_MO)}) ; borne haute en comptant les pages partagées "
          f"dans chaque processus (somme des RSS) : {borne:.0f} Mo")
    if stock:
        cible = CIBLES_S[stock]
        print(f"objectif {stock} ({STOCKS[stock][0]} demandes en ≤ {cible:.0f} s) : bout en bout {mur:.1f} s → "
              f"{verdict(mur, cible)} ; moteur seul {moteur_seul:.1f} s → {verdict(moteur_seul, cible)}")
        if nb_actives != STOCKS[stock][0]:
            print(f"  (le stock compte {nb_actives} demandes actives sur {STOCKS[stock][0]} générées : "
                  f"les autres sont radiées ou attribuées)")


_PRINCIPAL = os.getpid()


def _interrompre(_signal, _cadre) -> None:
    if os.getpid() != _PRINCIPAL:  # a forked worker ended by its pool: die quietly, as by default
        os._exit(1)
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("CALEOL_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test",
                        help="URL PostgreSQL (un schéma jetable y est créé)")
    parser.add_argument("--stock", choices=sorted(STOCKS), default=None,
                        help="regional (223 000 demandes, 20 000 logements) ou national (2 760 000, 50 000)")
    parser.add_argument("--dossiers", type=int, default=None, help="nombre de demandes (remplace --stock)")
    parser.add_argument("--logements", type=int, default=None)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--processus", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--lot", type=int, default=2000, help="demandes par morceau")
    parser.add_argument("--sans-trace", action="store_true", help="ne pas calculer la trace (réglage de production)")
    parser.add_argument("--moteur", choices=["durable", "python"], default="durable",
                        help="durable (le moteur de Caléol) ou python (l'évaluateur en Python des mêmes règles, "
                             "résultats identiques vérifiés par les tests)")
    parser.add_argument("--echantillon", type=int, default=300, help="lignes stockées vérifiées après le recalcul")
    parser.add_argument("--date", default=os.environ.get("CALEOL_TODAY") or "2026-06-15")
    parser.add_argument("--schema", default=None, help="réutiliser un schéma déjà chargé (conservé par --garder)")
    parser.add_argument("--garder", action="store_true", help="ne pas supprimer le schéma à la fin")
    parser.add_argument("--budget-s", type=float, default=None,
                        help="arrêter le recalcul au-delà de ce temps (transaction annulée, débit partiel imprimé)")
    parser.add_argument("--echeance", default=None,
                        help="heure UTC (HH:MM) au-delà de laquelle le recalcul est arrêté comme par --budget-s")
    args = parser.parse_args()
    if args.echeance:
        heure, minute = (int(x) for x in args.echeance.split(":"))
        args.echeance = dt.datetime.now(dt.UTC).replace(hour=heure, minute=minute, second=0, microsecond=0)
    # SIGTERM (kill) runs the `finally` blocks too: the transaction is rolled back and the schema dropped.
    signal.signal(signal.SIGTERM, _interrompre)
    if args.dossiers is None and args.stock is None and args.schema is None:
        args.stock = "regional"
    if args.stock and args.dossiers is None:
        args.dossiers, logements = STOCKS[args.stock]
        args.logements = args.logements or logements
    args.logements = args.logements or 3000
    os.environ["CALEOL_TODAY"] = args.date
    date = dt.date.fromisoformat(args.date)

    print("commande : " + " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]))
    print(f"date : {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC ; /proc/loadavg : "
          f"{Path('/proc/loadavg').read_text().strip() if Path('/proc/loadavg').exists() else '?'}")
    print(f"objectifs : 223 000 demandes ≤ 30 s, 2 760 000 ≤ 6 min, RSS ≤ 1 Go ; date d'évaluation {args.date}")

    admin = create_engine(dbmod.normaliser_url(args.url))
    schema = args.schema or f"caleol_bench_{uuid.uuid4().hex[:8]}"
    if not args.schema:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = dbmod.make_engine(args.url, schema=schema)
    print(f"base : {args.url} (schéma {schema}{', réutilisé' if args.schema else ', créé pour la mesure'})", flush=True)
    try:
        factory = dbmod.make_sessionmaker(engine)
        if not args.schema:
            preparer_a_part(engine, factory, args, date)
        else:
            upgrade(engine)  # a kept schema follows the migrations added since
        from webapp.models import Demande, StatutDemande

        with factory() as s:
            nb_actives = s.scalar(select(func.count(Demande.id)).where(Demande.statut == StatutDemande.ACTIVE))
            nb_total = s.scalar(select(func.count(Demande.id)))
        print(f"stock : {nb_total} demandes, dont {nb_actives} actives", flush=True)
        try:
            bilan = recalculer(factory, date, args, nb_actives)
        except Interrompu as exc:
            debit = exc.faites / exc.duree
            print(f"\n[recalcul] INTERROMPU (budget de temps ou échéance atteints ; transaction annulée) : "
                  f"{exc.faites} demandes réévaluées et écrites en {exc.duree:.1f} s, {debit:.0f} demandes/s ; "
                  f"{charge_machine()}")
            print(f"projection au même débit pour {nb_actives} demandes : {nb_actives / debit:.0f} s "
                  f"(objectif {CIBLES_S.get(args.stock or '', float('nan')):.0f} s : NON atteint, mesure partielle)")
            return 2
        debut = time.perf_counter()
        with engine.begin() as conn:  # fresh statistics of the rewritten tables, for W2 and W3 on this schema
            conn.execute(text("ANALYZE"))
        print(f"[après recalcul] ANALYZE : {time.perf_counter() - debut:.1f} s (hors mesure)", flush=True)
        stock = args.stock if args.stock and args.dossiers == STOCKS[args.stock][0] else None
        resume(bilan, nb_actives, stock, not args.sans_trace)
        if args.echantillon:
            comparees, ecarts = verifier(factory, date, args.echantillon, args.seed)
            print(f"contrôle : {comparees} lignes stockées tirées au hasard comparées à une évaluation faite ici : "
                  f"{ecarts} écart(s)")
            if ecarts:
                return 1
    finally:
        liberer_schema(engine, admin, schema, conserver=bool(args.garder or args.schema))
    return 0


if __name__ == "__main__":
    sys.exit(main())
