"""Long fuzzing run: the CI fuzzing tests (tests/fuzz) with many more generated invalid inputs.

    .venv/bin/python bench/fuzz_long.py [--cas 100000] [--postgres] [--tests tests/fuzz]

Runs pytest on tests/fuzz with CALEOL_FUZZ_CAS=<cas> (the total of invalid inputs of one run on one
backend, split between the API, the web forms and `caleol evaluate` as tests/fuzz/outils.py says),
on SQLite, and on PostgreSQL too with --postgres (CALEOL_TEST_DATABASE_URL, default the local server).
Hypothesis stays derandomized: the same command gives the same inputs. Prints the counts the tests
print (inputs per generator and status), the total and the duration, then pytest's verdict. Every
input must be refused (422, exit code 2) with the field named and nothing written, as in CI.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

RACINE = Path(__file__).resolve().parent.parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cas", type=int, default=100_000, help="entrées invalides générées par base (défaut 100 000)")
    p.add_argument("--postgres", action="store_true", help="aussi sur PostgreSQL")
    p.add_argument("--tests", default="tests/fuzz", help="tests à lancer (défaut tests/fuzz)")
    args = p.parse_args()
    env = dict(os.environ, CALEOL_FUZZ_CAS=str(args.cas), PYTHONUNBUFFERED="1")
    if args.postgres:
        env.setdefault("CALEOL_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    else:
        env.pop("CALEOL_TEST_DATABASE_URL", None)
    commande = [sys.executable, "-m", "pytest", args.tests, "-q", "-s", "-p", "no:cacheprovider"]
    print(f"CALEOL_FUZZ_CAS={args.cas} {' '.join(commande[2:])}", flush=True)
    debut = time.perf_counter()
    total, sortie = 0, []
    # Streamed: each test prints its count when it ends, so a run stopped early still says what it did.
    with subprocess.Popen(commande, cwd=RACINE, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as p:
        for ligne in p.stdout:
            sortie.append(ligne)
            m = re.match(r"^(API|formulaires|caleol evaluate) : .*?(\d+) (entrées|saisies|fichiers) invalides", ligne)
            if m:
                total += int(m.group(2))
                print(f"[{time.perf_counter() - debut:.0f} s] {ligne.rstrip()}", flush=True)
        code = p.wait()
    duree = time.perf_counter() - debut
    print(sortie[-1].rstrip() if sortie else "")
    print(f"total : {total} entrées invalides en {duree:.0f} s ({total / duree:.1f}/s), charge {os.getloadavg()[0]:.1f}")
    if code:
        print("".join(sortie)[-6000:])
    return code


if __name__ == "__main__":
    sys.exit(main())
