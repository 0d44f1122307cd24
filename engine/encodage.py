"""JSON encoders built once and reused (the hot path encodes every dossier and every fact).

`json.dumps(x, **options)` with any non-default option builds a `JSONEncoder` and a C encoder per
call. `encodeur_json(...)` builds CPython's C encoder once, with the same options, and returns a
function giving exactly the text `json.dumps(x, ensure_ascii=False, ...)` gives (same C code).
Without circular-reference markers: the values encoded here are trees (a cycle would end in
RecursionError instead of ValueError).
"""
from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any


def _refuser(valeur: Any) -> Any:
    raise TypeError(f"Object of type {valeur.__class__.__name__} is not JSON serializable")


def encodeur_json(*, trier: bool = False, separateurs: tuple[str, str] = (", ", ": "),
                  defaut: Callable[[Any], Any] | None = None) -> Callable[[Any], str]:
    """`lambda x: json.dumps(x, ensure_ascii=False, sort_keys=trier, separators=separateurs, default=defaut)`."""
    defaut = defaut or _refuser
    fabrique = getattr(json.encoder, "c_make_encoder", None)
    if fabrique is None:  # pragma: no cover - CPython always has its C encoder
        return lambda valeur: json.dumps(valeur, ensure_ascii=False, sort_keys=trier, separators=separateurs, default=defaut)
    virgule, deux_points = separateurs
    encodeur = fabrique(None, defaut, json.encoder.encode_basestring, None, deux_points, virgule, trier, False, True)
    return lambda valeur: "".join(encodeur(valeur, 0))
