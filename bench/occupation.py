"""Measure the occupancy review (engine.occupation.examiner) on the demo tenants, without a database.

    .venv/bin/python bench/occupation.py                    # graine 42, 3 000 logements, moteur durable
    .venv/bin/python bench/occupation.py --logements 1000 --moteur python

The demo generator plans the stock (JeuDemo, no demande) and the tenants' file
(webapp/demo/locataires.py); each lease is turned into the engine's input by the service's own
functions (webapp.services.occupation.dossier_du_bail / logement_du_bail, on unsaved objects) and
examined at the reference date. Printed: number of leases, how many are due and in a territory
concerned, p50 / p95 / max milliseconds per examination, the count per situation.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.occupation import echeance_examen, examiner, zone_concernee  # noqa: E402
from engine.parametres import parametres_a_la_date  # noqa: E402
from webapp.demo.generateur import JeuDemo  # noqa: E402
from webapp.demo.locataires import fichier_locataires_demo  # noqa: E402
from webapp.models import (  # noqa: E402
    BailLocataire,
    Logement,
    OccupantLocataire,
    Residence,
    RevenuLocataire,
    RoleOccupant,
)
from webapp.services.occupation import dossier_du_bail, logement_du_bail  # noqa: E402

COLONNES_LOGEMENT = ("id", "residence_id", "reference", "typologie", "nb_pieces", "surface_habitable", "etage",
                     "ascenseur", "accessible_pmr", "financement", "plai_adapte", "loyer_principal", "loyer_annexes",
                     "charges_recuperables", "contribution_travaux")


def charge() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "inconnue"


def centile(valeurs: list[float], p: float) -> float:
    v = sorted(valeurs)
    return v[min(len(v) - 1, int(round(p * (len(v) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--logements", type=int, default=3000)
    parser.add_argument("--date", default="2026-06-15")
    parser.add_argument("--moteur", default="durable", choices=("durable", "python"))
    args = parser.parse_args()
    date = dt.date.fromisoformat(args.date)
    print(" ".join([".venv/bin/python", *sys.argv]), "—", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
          "— charge", charge())

    jeu = JeuDemo(args.seed, 0, args.logements, date)
    residences = {r[0]: Residence(id=r[0], code_insee=r[4], qpv_code=r[5]) for r in jeu.residences}
    logements = {}
    for lg in jeu.logements:
        valeurs = dict(zip(COLONNES_LOGEMENT, lg.ligne[:15], strict=True))
        for cle in ("surface_habitable", "loyer_principal", "loyer_annexes", "charges_recuperables", "contribution_travaux"):
            valeurs[cle] = Decimal(str(valeurs[cle]))
        logements[lg.reference] = Logement(**valeurs, residence=residences[lg.residence_id])
    fichier = fichier_locataires_demo(jeu)
    p = parametres_a_la_date(date)
    baux = []
    for b in fichier["baux"]:
        bail = BailLocataire(reference=b["reference"], date_signature=b["date_signature"],
                             logement_adapte=b["logement_adapte"], besoin_logement_adapte=b["besoin_logement_adapte"],
                             logement=logements[b["logement"]])
        for rang, o in enumerate(b["occupants"], start=1):
            occupant = OccupantLocataire(rang=rang, role=RoleOccupant(o["role"]), lien_cotitulaire=o["lien_cotitulaire"],
                                         date_naissance=o["date_naissance"], handicap_reconnu=o["handicap_reconnu"])
            occupant.revenus_fiscaux = [RevenuLocataire(annee=r["annee"], montant=r["montant"]) for r in o["revenus_fiscaux"]]
            bail.occupants.append(occupant)
        baux.append(bail)
    dus = [b for b in baux if zone_concernee(b.logement.residence.code_insee, p)
           and echeance_examen(b.date_signature, date, p) is not None]
    examiner(dossier_du_bail(dus[0]), logement_du_bail(dus[0]), date, moteur=args.moteur)  # compile the rulebook
    durees, par_situation = [], {}
    debut = time.perf_counter()
    for b in dus:
        t = time.perf_counter()
        r = examiner(dossier_du_bail(b), logement_du_bail(b), date, moteur=args.moteur)
        durees.append((time.perf_counter() - t) * 1000)
        for s in r["situations"]:
            par_situation[s["code"]] = par_situation.get(s["code"], 0) + 1
    total = time.perf_counter() - debut
    print(f"{len(baux)} baux de démonstration (graine {args.seed}, {args.logements} logements), "
          f"{len(dus)} dus à l'examen au {date.isoformat()} dans un EPCI concerné ; moteur {args.moteur}")
    print(f"examen : p50 {statistics.median(durees):.1f} ms, p95 {centile(durees, 0.95):.1f} ms, "
          f"max {max(durees):.1f} ms ; {total:.2f} s au total")
    for code, n in sorted(par_situation.items()):
        print(f"  {code} : {n}")
    print("charge en fin de mesure", charge())


if __name__ == "__main__":
    main()
