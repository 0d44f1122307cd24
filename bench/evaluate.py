"""Benchmark of `engine.evaluation.evaluer` (prints figures; not a test).

    .venv/bin/python bench/evaluate.py [--tailles 10000,100000,223000] [--processus N] [--graine 7]

Timed: from normalised dossiers in memory (the output of the marshmallow schema) to complete
evaluations — derivations, matching with durable_rules (or the plain-Python evaluator of the same
rulebook), explanations and the full trace — without I/O. Dossiers are generated deterministically
in chunks of `--lot` (generation is not timed; a chunk is freed once evaluated, results are reduced to
a checksum so that memory measures the engine, not the stored results). One third of the dossiers
come with a proposed dwelling. The first chunk is checked: every generated dossier goes through the
real schema unchanged, and both engines give identical results.

All cores: a `fork` pool (the rulebook compiled in the parent is inherited) over chunks of `--lot`
dossiers; a worker generates its chunk itself (the parent never pickles a dossier) and returns only
times and checksums; an engine's time is the evaluation time of the busiest worker. Each line ends
with the load average (1 min) of the machine, which other users may share.
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import random
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.evaluation import evaluer, moteur_a_la_date  # noqa: E402
from engine.regles import listes_sne, situations_prioritaires  # noqa: E402

DATE = dt.date(2026, 6, 15)
COMMUNES = ["59350", "59512", "59183", "62041", "80021", "69123", "75056", "78646", "59599", "02691"]
MODELES = [c for c in listes_sne()["ListeModeleLogement"] if c]
MOTIFS = [c for c in listes_sne()["ListeMotifDemande"] if c]
SITUATIONS = list(situations_prioritaires())


def _personne(rng: random.Random, role: str, lien: str | None = None) -> dict[str, Any]:
    adulte = role in ("demandeur", "cotitulaire")
    naissance = dt.date(rng.randint(1945, 2003), rng.randint(1, 12), rng.randint(1, 28)) if adulte else \
        dt.date(rng.randint(2008, 2025), rng.randint(1, 12), rng.randint(1, 28))
    revenus = []
    if adulte:
        for annee in (2024, 2025):
            if rng.random() < 0.9:
                montant = None if (role == "cotitulaire" and rng.random() < 0.5) else Decimal(rng.randint(0, 60000)).quantize(Decimal("0.01"))
                revenus.append({"annee": annee, "montant": montant, "avis": None})
    ressources = []
    if adulte and rng.random() < 0.9:
        ressources.append({"sens": "recue", "code": "SAL", "montant_mensuel": Decimal(rng.randint(0, 3500)).quantize(Decimal("0.01"))})
        if rng.random() < 0.3:
            ressources.append({"sens": "recue", "code": "AF", "montant_mensuel": Decimal("148.52")})
    return {
        "role": role,
        "lien_cotitulaire": lien,
        "nom": None, "prenom": None, "nom_naissance": None, "sexe": None,
        "date_naissance": naissance,
        "date_naissance_prevue": None,
        "lien_parente": None if adulte else "E",
        "situation_familiale": None, "nationalite": None,
        "residence_reguliere": {"declaree": True if adulte and rng.random() < 0.97 else (None if adulte else None), "verifiee": None},
        "mineur_emancipe": False,
        "handicap": {"cmi_invalidite": rng.random() < 0.05, "details": None},
        "situation_professionnelle": None, "profession": None,
        "revenus_fiscaux": revenus,
        "ressources_12_mois": None,
        "ressources": ressources,
        "procedures": {"divorce": rng.random() < 0.03, "dissolution_pacs": False, "ordonnance_protection": False},
    }


def dossier_genere(rng: random.Random, i: int) -> dict[str, Any]:
    """A normalised dossier, exactly as webapp.schemas.charger_dossier returns it (checked at start)."""
    personnes = [_personne(rng, "demandeur")]
    if rng.random() < 0.4:
        personnes.append(_personne(rng, "cotitulaire", rng.choice(["conjoint", "pacse", "concubin", "colocataire"])))
    personnes.extend(_personne(rng, "personne_a_charge") for _ in range(rng.choice([0, 0, 1, 1, 2, 3, 4])))
    situations = [
        {"code": c, "verifiee": rng.random() < 0.5, "date_verification": None, "verifiee_par": None}
        for c in rng.sample(SITUATIONS, rng.choice([0, 0, 0, 1, 1, 2]))
    ]
    depot = dt.date(rng.randint(2016, 2026), rng.randint(1, 12), rng.randint(1, 28))
    depot = min(depot, DATE)
    return {
        "numero_unique": f"0591126{i:09d}A",
        "date_depot": depot,
        "date_renouvellement": None, "date_mise_a_jour": None,
        "statut": "active", "motif_radiation": None, "date_radiation": None,
        "contact": {"adresse": None, "code_postal": None, "commune_insee": rng.choice(COMMUNES), "telephone": None, "courriel": None},
        "typologies_souhaitees": [],
        "communes_souhaitees": rng.sample(COMMUNES, rng.choice([0, 1, 1, 2])),
        "motifs": sorted(rng.sample(MOTIFS, rng.choice([0, 1, 1, 2, 3]))),
        "mutation_interne": False, "relogement_anru": False,
        "besoin_pmr": rng.random() < 0.05,
        "logement_actuel": {
            "modele": rng.choice(MODELES), "typologie": None,
            "loyer_mensuel": Decimal(rng.randint(0, 1200)).quantize(Decimal("0.01")) if rng.random() < 0.6 else None,
            "surface": Decimal(rng.randint(9, 110)).quantize(Decimal("0.01")) if rng.random() < 0.6 else None,
            "nb_pieces": None, "nb_occupants": None, "commune_insee": None, "proprietaire": None,
        },
        "dalo": {"date_decision": None, "statut": rng.choice(["NON"] * 8 + ["ACTIF", "CADUC"]), "date_designation": None},
        "labels": {"pdalhpd": rng.random() < 0.05, "siao": rng.random() < 0.05},
        "accompagnement": {"avdl": False, "fsl": rng.random() < 0.05},
        "aide_logement_declaree": Decimal(rng.randint(0, 400)).quantize(Decimal("0.01")) if rng.random() < 0.4 else None,
        "situations": situations,
        "refus": [{"date": dt.date(2025, 6, 1), "logement_reference": None, "motif": "refus", "motif_legitime": rng.random() < 0.5}
                  for _ in range(rng.choice([0, 0, 0, 1, 2]))],
        "personnes": personnes,
    }


def logement_genere(rng: random.Random) -> dict[str, Any] | None:
    if rng.random() >= 1 / 3:
        return None
    pieces = rng.randint(1, 6)
    return {
        "commune_insee": rng.choice(COMMUNES), "qpv": None,
        "financement": rng.choice(["PLAI", "PLUS", "PLUS", "PLS"]), "plai_adapte": False,
        "typologie": f"T{pieces}", "nb_pieces": pieces,
        "surface_habitable": Decimal(rng.randint(15 * pieces, 25 * pieces)).quantize(Decimal("0.01")),
        "etage": rng.randint(0, 8), "ascenseur": rng.random() < 0.5, "accessible_pmr": rng.random() < 0.2,
        "loyer_principal": Decimal(rng.randint(200, 800)).quantize(Decimal("0.01")),
        "loyer_annexes": Decimal("0.00"), "charges_recuperables": Decimal(rng.randint(0, 150)).quantize(Decimal("0.01")),
        "contribution_travaux": Decimal("0.00"),
    }


def lot(graine: int, debut: int, taille: int) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    rng = random.Random(graine * 1_000_003 + debut)
    return [(dossier_genere(rng, debut + k), logement_genere(rng)) for k in range(taille)]


def _json(valeur: Any) -> Any:
    if isinstance(valeur, Decimal):
        return float(valeur)
    if isinstance(valeur, dt.date):
        return valeur.isoformat()
    if isinstance(valeur, dict):
        return {k: _json(v) for k, v in valeur.items()}
    if isinstance(valeur, list):
        return [_json(v) for v in valeur]
    return valeur


def verifier_generateur(graine: int, n: int = 300) -> None:
    """The generator produces exactly what the schema gives, and both engines agree on it."""
    from webapp.schemas import charger_dossier, charger_logement

    for dossier, logement in lot(graine, 0, n):
        assert charger_dossier(_json(dossier)) == dossier, "le générateur s'écarte du schéma du dossier"
        if logement is not None:
            assert charger_logement(_json(logement)) == logement, "le générateur s'écarte du schéma du logement"
        assert evaluer(dossier, logement, DATE, moteur="durable") == evaluer(dossier, logement, DATE, moteur="python")


def evaluer_lot(dossiers, moteur: str) -> tuple[float, int]:
    """Evaluate a chunk; returns (seconds, checksum of applied rules) — results are not kept."""
    somme = 0
    t0 = time.perf_counter()
    for dossier, logement in dossiers:
        r = evaluer(dossier, logement, DATE, moteur=moteur)
        somme += sum(1 for ligne in r["trace"] if ligne["appliquee"]) + len(r["trace"])
    return time.perf_counter() - t0, somme


def rss_pic_mo() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def un_processus(n: int, graine: int, taille_lot: int) -> dict[str, Any]:
    res: dict[str, Any] = {"durable": 0.0, "python": 0.0}
    controle = {"durable": 0, "python": 0}
    for debut in range(0, n, taille_lot):
        dossiers = lot(graine, debut, min(taille_lot, n - debut))
        for moteur in ("durable", "python"):
            t, s = evaluer_lot(dossiers, moteur)
            res[moteur] += t
            controle[moteur] += s
        del dossiers
    assert controle["durable"] == controle["python"], "les deux moteurs divergent"
    res["rss"] = rss_pic_mo()
    return res


def _morceau(args: tuple[int, int, int]) -> tuple[int, float, float, int, int, int, float]:
    """One chunk in a pool worker: generate it (not timed), evaluate it with both engines (timed).

    Returns only small numbers (pid, seconds per engine, checksums, size, peak RSS): the dossiers are
    generated in the worker and never cross a pipe.
    """
    graine, debut, taille = args
    dossiers = lot(graine, debut, taille)
    t_durable, s_durable = evaluer_lot(dossiers, "durable")
    t_python, s_python = evaluer_lot(dossiers, "python")
    return os.getpid(), t_durable, t_python, s_durable, s_python, taille, rss_pic_mo()


def tous_les_coeurs(n: int, graine: int, taille_lot: int, nb: int) -> dict[str, Any]:
    """A `fork` pool of `nb` workers (the rulebook compiled in the parent is inherited) over chunks.

    The work is chunked (`taille_lot` dossiers per task, handed out as workers free up). The time of
    an engine is the evaluation time of the busiest worker (the sum of its chunks): both cores stay
    busy throughout, generation included, so it is the wall time the evaluations would take if the
    dossiers were already in memory.
    """
    ctx = mp.get_context("fork")
    taches = [(graine, debut, min(taille_lot, n - debut)) for debut in range(0, n, taille_lot)]
    par_processus: dict[int, list[float]] = {}
    controle = {"durable": 0, "python": 0}
    rss: dict[int, float] = {}
    total = 0
    with ctx.Pool(nb) as pool:
        for pid, t_d, t_p, s_d, s_p, taille, pic in pool.imap_unordered(_morceau, taches):
            cumul = par_processus.setdefault(pid, [0.0, 0.0])
            cumul[0] += t_d
            cumul[1] += t_p
            controle["durable"] += s_d
            controle["python"] += s_p
            rss[pid] = max(rss.get(pid, 0.0), pic)
            total += taille
    assert total == n
    assert controle["durable"] == controle["python"], "les deux moteurs divergent"
    return {
        "durable": max(c[0] for c in par_processus.values()),
        "python": max(c[1] for c in par_processus.values()),
        "rss": max(rss.values()),
        "processus": len(par_processus),
    }


def ligne(titre: str, n: int, res: dict[str, Any]) -> str:
    d, p = res["durable"], res["python"]
    return (
        f"{titre:<22} {n:>8} dossiers : durable {d:7.1f} s, {n / d:8.0f} dossiers/s, {d / n * 1e6:6.0f} µs/dossier | "
        f"Python {p:6.1f} s, {n / p:8.0f}/s, {p / n * 1e6:5.0f} µs | rapport {d / p:4.2f}× | RSS pic {res['rss']:6.0f} Mo"
        f" | charge {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tailles", default="10000,100000,223000")
    parser.add_argument("--processus", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--lot", type=int, default=5000)
    parser.add_argument("--graine", type=int, default=7)
    parser.add_argument("--un-seul", action="store_true", help="seulement le mode un processus")
    args = parser.parse_args()
    tailles = [int(x) for x in args.tailles.split(",")]

    t0 = time.perf_counter()
    m = moteur_a_la_date(DATE)  # compiled before forking: workers inherit it
    print(f"Référentiel {m.version} compilé en {time.perf_counter() - t0:.2f} s : {len(m.regles)} règles, "
          f"{sum(len(c) for _, c in m.grilles.values())} critères de cotation, "
          f"{sum(len(s) for s in m.durable.shards.values())} rulesets durable_rules")
    verifier_generateur(args.graine)
    print("Générateur vérifié (schéma du dossier) ; les deux moteurs donnent des résultats identiques sur 300 dossiers.")
    print(f"Machine : {os.cpu_count()} cœurs, charge {os.getloadavg()[0]:.2f} ; date d'évaluation {DATE.isoformat()} ; "
          "trace complète ; 1/3 avec logement.")
    for n in tailles:
        print(ligne("1 processus", n, un_processus(n, args.graine, args.lot)), flush=True)
    if not args.un_seul:
        for n in tailles:
            print(ligne(f"{args.processus} processus (fork)", n, tous_les_coeurs(n, args.graine, args.lot, args.processus)), flush=True)


if __name__ == "__main__":
    main()
