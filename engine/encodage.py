"""JSON encoders built once and reused (the hot path encodes every dossier and every fact).

`json.dumps(x, **options)` with any non-default option builds a `JSONEncoder` and a C encoder per
call. `encodeur_json(...)` builds CPython's C encoder once, with the same options, and returns a
function giving exactly the text `json.dumps(x, ensure_ascii=False, ...)` gives (same C code).
Without circular-reference markers: the values encoded here are trees (a cycle would end in
RecursionError instead of ValueError).

`json_indente(x)` is `json.dumps(x, ensure_ascii=False, indent=2)` (the output of `caleol evaluate` and
of POST /api/v1/evaluations), written by orjson when its text is proven to be the same.
"""
from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any

import orjson


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


# --------------------------------------------------------------------------- indented output

_SCALAIRES = frozenset({str, int, bool, type(None)})


def _json_indente_python(valeur: Any) -> str:
    return json.dumps(valeur, ensure_ascii=False, indent=2)


def _ecrit_comme_json_dumps(valeur: Any) -> bool:
    """Whether orjson writes each token of `valeur` as json.dumps does.

    Only values of these exact types (no subclass, no Enum, no date: json.dumps refuses some that
    orjson writes): dict and list or tuple of them, str, int, bool, None, and floats whose orjson
    text is their repr (json.dumps writes float.__repr__; orjson writes `0.00001` for 1e-05 and `null`
    for NaN or an infinity). Text is written alike character by character (the tests try every
    character), integers alike (orjson refuses those beyond 64 bits), and keys alike (orjson refuses
    a key that is not text, json.dumps converts it)."""
    pile = [valeur]
    while pile:
        x = pile.pop()
        t = type(x)
        if t is dict:
            pile.extend(x.values())
        elif t is list or t is tuple:
            pile.extend(x)
        elif t is float:
            if orjson.dumps(x) != repr(x).encode("ascii"):
                return False
        elif t not in _SCALAIRES:
            return False
    return True


def json_indente_octets(valeur: Any) -> bytes:
    """The UTF-8 bytes of `json.dumps(valeur, ensure_ascii=False, indent=2)`, byte for byte.

    With an indent, json.dumps runs its pure-Python encoder (≈ 1 ms for an evaluation with its trace,
    40 kB); orjson writes the same layout (two spaces, `": "`, `[]` and `{}` when empty) some forty
    times faster, but not always the same tokens. Its text is used when every token is known to be
    the same (`_ecrit_comme_json_dumps`); otherwise, or if orjson refuses the value, json.dumps
    itself answers, errors included.
    """
    try:
        texte = orjson.dumps(valeur, option=orjson.OPT_INDENT_2)
    except orjson.JSONEncodeError:  # beyond 64 bits, a key that is not text, a lone surrogate, a cycle, a type
        texte = None
    if texte is not None and _ecrit_comme_json_dumps(valeur):  # orjson wrote it: no cycle to walk into
        return texte
    return _json_indente_python(valeur).encode("utf-8")


def json_indente(valeur: Any) -> str:
    """`json.dumps(valeur, ensure_ascii=False, indent=2)`, by json_indente_octets when it can."""
    try:
        return json_indente_octets(valeur).decode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: json.dumps's text, which only its reader can encode (or not)
        return _json_indente_python(valeur)
