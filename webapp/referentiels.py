"""Code lists the inputs are checked against: SNE lists (fixtures/sne) and rules/referentiels."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import yaml

RACINE = Path(__file__).resolve().parent.parent


@cache
def listes_sne() -> dict[str, dict[str, str]]:
    with open(RACINE / "fixtures" / "sne" / "sne_interface_code_lists_v0201.json", encoding="utf-8") as f:
        return json.load(f)["codes"]


def codes_sne(liste: str) -> list[str]:
    return [c for c in listes_sne()[liste] if c]


@cache
def situations_prioritaires() -> dict[str, dict]:
    with open(RACINE / "rules" / "referentiels" / "situations_prioritaires.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)["situations"]


def situations_sensibles() -> frozenset[str]:
    return frozenset(code for code, s in situations_prioritaires().items() if s.get("sensible"))


@cache
def motifs_sensibles() -> frozenset[str]:
    """SNE motif codes that reveal a sensitive fact (rules/referentiels/motifs_sensibles.yaml)."""
    with open(RACINE / "rules" / "referentiels" / "motifs_sensibles.yaml", encoding="utf-8") as f:
        return frozenset(yaml.safe_load(f)["motifs_sensibles"])
