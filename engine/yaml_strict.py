"""YAML loading that refuses duplicate keys (a silently overwritten legal value is a wrong decision)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ErreurRegles(ValueError):
    """A rulebook file is invalid: names the file, the rule (or parameter) and the field."""

    def __init__(self, fichier: str | Path, message: str, *, regle: str | None = None, champ: str | None = None):
        self.fichier = str(fichier)
        self.regle = regle
        self.champ = champ
        ou = self.fichier
        if regle:
            ou += f", règle {regle}"
        if champ:
            ou += f", champ {champ}"
        super().__init__(f"{ou} : {message}")


class _ChargeurStrict(yaml.SafeLoader):
    pass


def _mapping_sans_doublon(loader: _ChargeurStrict, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    vues: set[Any] = set()
    for cle_node, _ in node.value:
        cle = loader.construct_object(cle_node, deep=deep)
        if cle in vues:
            raise yaml.constructor.ConstructorError(
                None, None, f"clé en double : {cle!r}", cle_node.start_mark
            )
        vues.add(cle)
    return loader.construct_mapping(node, deep=deep)


_ChargeurStrict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_sans_doublon)


def charger_yaml(chemin: str | Path) -> Any:
    chemin = Path(chemin)
    try:
        with open(chemin, encoding="utf-8") as f:
            return yaml.load(f, Loader=_ChargeurStrict)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ErreurRegles(chemin, f"YAML invalide ({exc})") from None
