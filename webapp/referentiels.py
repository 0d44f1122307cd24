"""Code lists the inputs are checked against: SNE lists (fixtures/sne) and rules/referentiels.

rules/referentiels and the SNE lists (stored beside rules/ in a version) are read in the rulebook
version this process evaluates with (engine.version.chemin_regles, engine.regles.listes_sne).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from engine.regles import listes_sne as engine_listes_sne
from engine.regles import situations_prioritaires as engine_situations_prioritaires
from engine.version import chemin_regles, racine_active


def listes_sne() -> dict[str, dict[str, str]]:
    """The SNE code lists of the active version (those the engine checks the rules against)."""
    return engine_listes_sne()


def codes_sne(liste: str) -> list[str]:
    return [c for c in listes_sne()[liste] if c]


def situations_prioritaires() -> dict[str, dict]:
    """The priority situations of the active version (rules/referentiels/situations_prioritaires.yaml),
    as the engine reads them."""
    return engine_situations_prioritaires()


def situations_sensibles() -> frozenset[str]:
    return _situations_sensibles(racine_active())


@lru_cache(maxsize=4)  # per rules/ directory: an activated version has its own
def _situations_sensibles(racine: Path) -> frozenset[str]:
    return frozenset(code for code, s in engine_situations_prioritaires().items() if s.get("sensible"))


def motifs_sensibles() -> frozenset[str]:
    """SNE motif codes that reveal a sensitive fact (rules/referentiels/motifs_sensibles.yaml of the active version)."""
    return _motifs_sensibles(chemin_regles("referentiels", "motifs_sensibles.yaml"))


@lru_cache(maxsize=4)
def _motifs_sensibles(fichier: Path) -> frozenset[str]:
    with open(fichier, encoding="utf-8") as f:
        return frozenset(yaml.safe_load(f)["motifs_sensibles"])


def oublier() -> None:
    """Forget the files read (webapp.regles.versions.recharger_regles: they may have changed on disk)."""
    for f in (_situations_sensibles, _motifs_sensibles):
        f.cache_clear()
