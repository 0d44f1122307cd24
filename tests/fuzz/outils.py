"""What the fuzzing tests share: the number of cases, the invalid-input strategies, the database print.

Number of cases: CALEOL_FUZZ_CAS (default 2 100, so that each backend gets 2 000 or more) is the total of generated invalid inputs of one run on
one backend; it is split between the API (PART_API), the web forms (PART_FORMULAIRES) and `caleol
evaluate` (PART_CLI). `bench/fuzz_long.py` runs the same tests with CALEOL_FUZZ_CAS=100000.

Strategies (hypothesis, deterministic with derandomize=True):
- `dossier_invalide()`: the documented example dossier with ONE leaf replaced by a value of the wrong
  type (a text for a number, a number for a text, a list for an object…) or ONE unknown key added to an
  object: invalid for the strict schemas whatever the value drawn; it comes with the path of the field
  at fault (`personnes.0.date_naissance`), which the refusal must name;
- `xml_sne_invalide()`: the example SNE interfaceNuu file with ONE typed value made invalid (a date, a
  number, a boolean, a code of a code list — never a free text) or the file cut short (malformed XML);
  with the element path at fault (None for a malformed file).
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

RACINE = Path(__file__).resolve().parents[2]
DOSSIER_EXEMPLE = RACINE / "fixtures" / "dossiers" / "famille_monoparentale_lille.json"
SNE_EXEMPLE = RACINE / "fixtures" / "sne" / "exemple_interfaceNuu_v02.00.xml"
NS_NUU = "http://nuu.application.i2/"

CAS_TOTAL = int(os.environ.get("CALEOL_FUZZ_CAS", "2100"))
PART_API, PART_FORMULAIRES, PART_CLI = 0.25, 0.20, 0.55


def quota(part: float) -> int:
    return max(1, round(CAS_TOTAL * part))


def reglages(exemples: int):
    """Hypothesis settings of every fuzzing test: derandomized (same code, same inputs), no deadline."""
    return settings(max_examples=max(1, exemples), derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])


# --------------------------------------------------------------------------- the database print

TABLES_REFERENCE = {"commune", "epci", "qpv", "qpv_commune"}


def empreinte_base(engine) -> dict[str, tuple[int, str]]:
    """(row count, digest of every row) of each table but the reference territory: any write shows."""
    from webapp.models import Base

    resultat = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in TABLES_REFERENCE:
                continue
            cle = list(table.primary_key.columns) or list(table.columns)
            lignes = conn.execute(select(table).order_by(*cle)).all()
            resultat[table.name] = (len(lignes), hashlib.sha256(repr(lignes).encode()).hexdigest())
    return resultat


def nombre_audit(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM audit_entry")).scalar_one()


# --------------------------------------------------------------------------- invalid dossiers (JSON)

def dossier_exemple() -> dict[str, Any]:
    return json.loads(DOSSIER_EXEMPLE.read_text(encoding="utf-8"))


def _feuilles(valeur: Any, chemin: tuple = ()) -> list[tuple[tuple, Any]]:
    """Every (path, value) of the document, objects and lists included (the root excluded)."""
    res = [(chemin, valeur)] if chemin else []
    if isinstance(valeur, dict):
        for k, v in valeur.items():
            res += _feuilles(v, (*chemin, k))
    elif isinstance(valeur, list):
        for i, v in enumerate(valeur):
            res += _feuilles(v, (*chemin, i))
    return res


_LETTRES = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèàçABCXYZ -_'", min_size=1, max_size=12).filter(
    lambda t: any(c.isalpha() for c in t) and t.strip().lower() not in {"nan", "inf", "infinity", "true", "false",
                                                                         "null", "none", "yes", "no", "on", "off",
                                                                         "y", "n", "t", "f"})
_NOMBRES = st.one_of(st.integers(min_value=-10**6, max_value=10**6), st.floats(allow_nan=False, allow_infinity=False,
                                                                              width=32))
_LISTES = st.lists(st.one_of(st.integers(), _LETTRES), max_size=3)
_OBJETS = st.dictionaries(_LETTRES, st.one_of(st.integers(), _LETTRES), max_size=2)


def _mauvais_type(original: Any) -> st.SearchStrategy:
    """Values that cannot be read as a field holding `original`, whatever its field."""
    if isinstance(original, bool):
        return st.one_of(_LETTRES, _LISTES, _OBJETS)
    if isinstance(original, (int, float)):
        return st.one_of(_LETTRES, _LISTES, _OBJETS, st.booleans())
    if isinstance(original, str):
        return st.one_of(_NOMBRES, _LISTES, _OBJETS, st.booleans())
    if isinstance(original, list):
        return st.one_of(_LETTRES, _NOMBRES, _OBJETS, st.booleans())
    if isinstance(original, dict):
        return st.one_of(_LETTRES, _NOMBRES, _LISTES, st.booleans())
    return st.one_of(_LISTES, _OBJETS)  # null: an optional field; a list or an object is never one of them


def _remplacer(document: Any, chemin: tuple, valeur: Any) -> Any:
    copie = copy.deepcopy(document)
    cible = copie
    for cle in chemin[:-1]:
        cible = cible[cle]
    cible[chemin[-1]] = valeur
    return copie


@st.composite
def dossier_invalide(draw, base: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
    """(invalid dossier, dotted path of the field at fault)."""
    document = base if base is not None else dossier_exemple()
    feuilles = _feuilles(document)
    if draw(st.integers(min_value=0, max_value=4)) == 0:  # one unknown key in an object
        objets = [(c, v) for c, v in [((), document), *feuilles] if isinstance(v, dict)]
        chemin, objet = draw(st.sampled_from(objets))
        cle = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=15).filter(lambda k: k not in objet))
        valeur = draw(st.one_of(st.integers(), _LETTRES, st.booleans()))
        copie = copy.deepcopy(document)
        cible = copie
        for c in chemin:
            cible = cible[c]
        cible[cle] = valeur
        return copie, ".".join(str(c) for c in (*chemin, cle))
    chemin, original = draw(st.sampled_from(feuilles))
    return _remplacer(document, chemin, draw(_mauvais_type(original))), ".".join(str(c) for c in chemin)


def nomme_le_champ(erreurs: dict[str, Any], chemin: str) -> bool:
    """The refusal names the field at fault: the path itself, one of its parents or one of its children."""
    for cle in erreurs:
        cle = re.sub(r"^(dossier|json)\.", "", cle)
        if cle == chemin or chemin.startswith(cle + ".") or cle.startswith(chemin + "."):
            return True
    return False


# --------------------------------------------------------------------------- invalid SNE files (XML)

_XML_EXEMPLE = SNE_EXEMPLE.read_bytes()
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T[\d:.+-]+)?")
_NOMBRE = re.compile(r"\s*[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?\s*")
# Values of the employer's address are not read (IMPORT.md): changing them is not an error.
_NON_LUS = {"situationProfessionnelle"}
_NOMBRES_SNE = {"anneeMoins1", "anneeMoins2", "montant", "montantMoins1", "montantMoins2", "montantMensuelLoyer",
                "nombre", "nombreHabitant", "surface", "codePostal"}


def _nom(element: ET.Element) -> str:
    return element.tag.split("}")[-1]


def _cibles_sne() -> list[tuple[tuple[int, ...], str | None, str]]:
    """(index path, attribute or None, kind) of every typed value the reader checks."""
    cibles: list[tuple[tuple[int, ...], str | None, str]] = []

    def parcourir(e: ET.Element, chemin: tuple[int, ...], noms: tuple[str, ...]) -> None:
        for i, enfant in enumerate(e):
            c, n = (*chemin, i), (*noms, _nom(enfant))
            if not _NON_LUS & set(n):
                texte = (enfant.text or "").strip()
                if len(enfant) == 0 and texte:
                    if _DATE.fullmatch(texte):
                        cibles.append((c, None, "date"))
                    elif texte in ("true", "false"):
                        cibles.append((c, None, "booleen"))
                    elif _nom(enfant) in _NOMBRES_SNE:
                        cibles.append((c, None, "nombre"))
                if "code" in enfant.attrib:
                    cibles.append((c, "code", "code"))
            parcourir(enfant, c, n)

    parcourir(ET.fromstring(_XML_EXEMPLE), (), ())
    return cibles


CIBLES_SNE = _cibles_sne()
# An empty element is an absent value (optional elements): the invalid values are never blank.
_TEXTE_XML = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
    lambda t: t.strip() != "")
_INVALIDES = {
    "date": _TEXTE_XML.filter(lambda t: not _DATE.fullmatch(t.strip())),
    "booleen": _TEXTE_XML.filter(lambda t: t.strip() not in ("true", "false", "1", "0")),
    "nombre": _TEXTE_XML.filter(lambda t: not _NOMBRE.fullmatch(t)),
    # A code of a code list is letters and digits: any other character makes it unknown.
    "code": _TEXTE_XML.filter(lambda t: not t.strip().isalnum() or not t.strip().isascii()),
}


def _chemin_sne(racine: ET.Element, indices: tuple[int, ...]) -> tuple[ET.Element, str]:
    e, noms = racine, []
    for i in indices:
        e = e[i]
        noms.append(_nom(e))
    return e, "/".join(noms)


@st.composite
def xml_sne_invalide(draw) -> tuple[bytes, str | None]:
    """(invalid SNE file, element path at fault or None when the XML itself is malformed)."""
    if draw(st.integers(min_value=0, max_value=5)) == 0:  # cut short: never well-formed
        fin = _XML_EXEMPLE.rindex(b"</")
        return _XML_EXEMPLE[: draw(st.integers(min_value=1, max_value=fin))], None
    indices, attribut, genre = draw(st.sampled_from(CIBLES_SNE))
    racine = ET.fromstring(_XML_EXEMPLE)
    element, chemin = _chemin_sne(racine, indices)
    valeur = draw(_INVALIDES[genre])
    if attribut:
        element.set(attribut, valeur)
    else:
        element.text = valeur
    return ET.tostring(racine, encoding="utf-8", xml_declaration=True), chemin


def nomme_l_element(erreurs: dict[str, Any] | str, chemin: str | None) -> bool:
    """The refusal of an SNE file names the element at fault (any message for a malformed file)."""
    if chemin is None:
        return bool(erreurs)
    # "demandeLogement/personnePhysique/demandeur/dateNaissance" in the message; lists are numbered ([1]).
    sans_rang = lambda t: re.sub(r"\[\d+\]", "", t)  # noqa: E731
    attendu = sans_rang(chemin.split("/", 1)[1] if chemin.startswith("demande/") else chemin)
    textes = list(erreurs) if isinstance(erreurs, dict) else [erreurs]
    return any(attendu in sans_rang(t) for t in textes)


ET.register_namespace("nuu", NS_NUU)
