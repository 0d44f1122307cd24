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

# json.dumps(x, ensure_ascii=False) without spaces: CPython's C encoder, the one json.dumps uses when
# there is no indentation, with json.dumps's defaults otherwise (NaN and Infinity written, no `default`).
_compact_cpython = (json.encoder.c_make_encoder(None, None, json.encoder.encode_basestring, None, ":", ",", False, False,
                                                True) if json.encoder.c_make_encoder is not None else None)


def _json_indente_python(valeur: Any) -> str:
    return json.dumps(valeur, ensure_ascii=False, indent=2)


def json_indente_octets(valeur: Any) -> bytes:
    """The UTF-8 bytes of `json.dumps(valeur, ensure_ascii=False, indent=2)`, byte for byte.

    With an indent, json.dumps runs its pure-Python encoder (≈ 1 ms for an evaluation with its trace,
    50 kB); orjson writes the same layout (two spaces, `": "`, `[]` and `{}` when empty) about forty
    times faster, but not always the same tokens: `1e-05` becomes `0.00001`, NaN becomes `null`, an
    integer beyond 64 bits or a non-text key is refused. So orjson's text is used only when it is
    proven identical: its compact form must equal CPython's compact form (the C encoder of json.dumps,
    same floats, integers, escapes and key conversions as the indented encoder). Both compact texts
    hold the same tokens as their indented forms, and both indent the same way, so equal compact
    texts give equal indented texts. Otherwise (or if either encoder refuses the value), json.dumps
    itself answers, errors included.
    """
    if _compact_cpython is not None:
        try:
            compact = orjson.dumps(valeur)
            identique = "".join(_compact_cpython(valeur, 0)).encode("utf-8") == compact
        except Exception:  # noqa: BLE001 - refused by either encoder: json.dumps answers, with its own error if any
            identique = False
        if identique:
            return orjson.dumps(valeur, option=orjson.OPT_INDENT_2)
    return _json_indente_python(valeur).encode("utf-8")


def json_indente(valeur: Any) -> str:
    """`json.dumps(valeur, ensure_ascii=False, indent=2)`, by json_indente_octets when it can."""
    try:
        return json_indente_octets(valeur).decode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: json.dumps's text, which only its reader can encode (or not)
        return _json_indente_python(valeur)
