"""The condition language of the rule files, and its plain-Python evaluator.

A condition is data, identical for durable_rules (compiled by `engine.durable_adapter`) and for
this evaluator, which also explains in French why a rule did not apply:

    {all: [c, …]} | {any: [c, …]} | {not: c}
    {fait: <chemin>, op: eq|ne|lt|le|gt|ge, valeur: v}       comparison with a constant
    {fait: <chemin>, op: eq|ne|lt|le|gt|ge, valeur_de: <chemin>}  comparison with another fact
    {fait: <chemin>, op: in, valeur: [v, …]}
    {fait: <chemin>, op: exists | not_exists}
    {fait: <liste>, op: any_item, condition: {op: eq|ne|lt|le|gt|ge|in, valeur: v}}

Semantics (durable's, reproduced here and checked by the tests on every scenario): a comparison on
an absent fact is false, `ne` included; `valeur_de` is false when either fact is absent; `not`
negates; `any_item` is false on an absent list. Facts are normalised first (`normaliser_faits`):
None, NaN and empty lists are absent. No arithmetic: numbers are computed in Python beforehand.
"""
from __future__ import annotations

import datetime as dt
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from .yaml_strict import ErreurRegles, charger_yaml


COMPARAISONS = ("eq", "ne", "lt", "le", "gt", "ge")
OPERATEURS = (*COMPARAISONS, "in", "exists", "not_exists", "any_item")
OPERATEURS_ELEMENT = (*COMPARAISONS, "in")
NOMS_RESERVES = frozenset({"id", "sid", "kind", "$s"})

_PY = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}

LIBELLES_OP = {
    "eq": "vaut",
    "ne": "diffère de",
    "lt": "est inférieur à",
    "le": "est inférieur ou égal à",
    "gt": "est supérieur à",
    "ge": "est supérieur ou égal à",
    "in": "fait partie de",
    "exists": "est renseigné",
    "not_exists": "n'est pas renseigné",
    "any_item": "contient un élément qui",
}
NEGATIONS_OP = {
    "eq": "ne vaut pas",
    "ne": "ne diffère pas de",
    "lt": "n'est pas inférieur à",
    "le": "n'est pas inférieur ou égal à",
    "gt": "n'est pas supérieur à",
    "ge": "n'est pas supérieur ou égal à",
    "in": "ne fait pas partie de",
}

_INF = float("inf")
Faits = Mapping[str, Any]  # flat: {"menage.nb_personnes": 3, …}


# --------------------------------------------------------------------------- facts


def normaliser_faits(faits: Mapping[str, Any]) -> dict[str, Any]:
    """Nested JSON-safe facts: None/NaN/empty lists removed, Decimal→float, date→ISO, dotted keys nested.

    Both engines receive exactly this dict (durable through a projection on the paths it tests).
    """
    resultat: dict[str, Any] = {}
    for cle, valeur in faits.items():
        if not isinstance(cle, str):
            raise TypeError(f"clé de fait non textuelle : {cle!r}")
        morceaux = cle.split(".")
        if morceaux[0] in NOMS_RESERVES:
            raise ValueError(f"nom de fait réservé : {cle}")
        v = _normaliser_valeur(valeur)
        if v is None:
            continue
        cible = resultat
        for m in morceaux[:-1]:
            cible = cible.setdefault(m, {})
            if not isinstance(cible, dict):
                raise ValueError(f"fait {cle} : {m} n'est pas un objet")
        feuille = morceaux[-1]
        if isinstance(v, dict) and isinstance(cible.get(feuille), dict):
            cible[feuille].update(v)
        else:
            cible[feuille] = v
    return resultat


def _normaliser_valeur(valeur: Any) -> Any:
    if valeur is None:
        return None
    if isinstance(valeur, bool | str | int):
        return valeur
    if isinstance(valeur, float):
        return None if math.isnan(valeur) or math.isinf(valeur) else valeur
    if isinstance(valeur, Decimal):
        return None if not valeur.is_finite() else float(valeur)
    if isinstance(valeur, dt.date):
        return valeur.isoformat()
    if isinstance(valeur, Mapping):
        sous = normaliser_faits(valeur)
        return sous or None
    if isinstance(valeur, list | tuple | set | frozenset):
        elements = [_normaliser_valeur(v) for v in (sorted(valeur) if isinstance(valeur, set | frozenset) else valeur)]
        elements = [e for e in elements if e is not None]
        return elements or None
    raise TypeError(f"type de fait non pris en charge : {type(valeur).__name__}")


def faits_plats(faits: Mapping[str, Any], prefixe: str = "", sortie: dict[str, Any] | None = None) -> dict[str, Any]:
    """Normalise and flatten in one pass (what both engines read): {"a.b": leaf}, absent values dropped."""
    plat: dict[str, Any] = {} if sortie is None else sortie
    for cle, valeur in faits.items():
        if prefixe == "" and cle in NOMS_RESERVES:
            raise ValueError(f"nom de fait réservé : {cle}")
        chemin = prefixe + cle
        if type(valeur) is dict:
            # A group of facts (the common case): its leaves inline, without a recursive call; the
            # dotted path of each leaf is built once per process (a string kept with its hash).
            noms = _chemins.get(chemin)
            if noms is None:
                noms = {} if len(_chemins) >= TAILLE_CHEMINS else _chemins.setdefault(chemin, {})
            for k, v in valeur.items():
                nom = noms.get(k)
                if nom is None:
                    nom = chemin + "." + k
                    if len(noms) < TAILLE_CHEMINS:
                        noms[k] = nom
                t = type(v)
                if t is bool or t is str or t is int:
                    plat[nom] = v
                elif t is float:
                    if -_INF < v < _INF:  # NaN and infinities are absent
                        plat[nom] = v
                else:
                    _feuille(nom, v, plat)
            continue
        _feuille(chemin, valeur, plat)
    return plat


# group path → {key: "group path.key"}: the paths of the facts are those of the catalogue, a few
# hundred; the bound only keeps arbitrary input (tests, tools) from growing it.
TAILLE_CHEMINS = 4096
_chemins: dict[str, dict[str, str]] = {}


def _feuille(chemin: str, valeur: Any, plat: dict[str, Any]) -> None:
    """One fact of `faits_plats`: normalised, or dropped when absent; a dict is flattened under its path."""
    if isinstance(valeur, dict):
        faits_plats(valeur, chemin + ".", plat)
        return
    t = type(valeur)
    if t is float:
        if not -_INF < valeur < _INF:  # NaN or infinite: absent
            return
    elif valeur is None or (t is not bool and t is not int and t is not str):
        valeur = _normaliser_valeur(valeur)
        if valeur is None:
            return
        if isinstance(valeur, dict):
            faits_plats(valeur, chemin + ".", plat)
            return
    plat[chemin] = valeur


def aplatir(faits: Mapping[str, Any], prefixe: str = "") -> dict[str, Any]:
    """Nested facts → {"a.b": leaf}; lists are leaves."""
    plat: dict[str, Any] = {}
    for cle, valeur in faits.items():
        chemin = f"{prefixe}{cle}"
        if isinstance(valeur, dict):
            plat.update(aplatir(valeur, chemin + "."))
        else:
            plat[chemin] = valeur
    return plat


# --------------------------------------------------------------------------- catalogue


class Catalogue:
    """The facts rules may test (rules/schemas/faits.yaml): type, allowed values, French label."""

    def __init__(self, definitions: Mapping[str, Mapping[str, Any]], listes: Mapping[str, Iterable[str]]):
        self.exacts: dict[str, dict[str, Any]] = {}
        self.prefixes: dict[str, dict[str, Any]] = {}
        for chemin, d in definitions.items():
            d = dict(d)
            if "valeurs_de" in d:
                d["valeurs"] = list(listes[d["valeurs_de"]])
            if "cles_de" in d:
                d["cles"] = frozenset(listes[d["cles_de"]])
            if chemin.endswith(".*"):
                self.prefixes[chemin[:-1]] = d
            else:
                self.exacts[chemin] = d

    def definition(self, chemin: str) -> dict[str, Any] | None:
        if chemin in self.exacts:
            return self.exacts[chemin]
        for prefixe, d in self.prefixes.items():
            if chemin.startswith(prefixe):
                cle = chemin[len(prefixe):]
                if "." not in cle and (not d.get("cles") or cle in d["cles"]):
                    return d
        return None

    def libelle(self, chemin: str) -> str:
        d = self.definition(chemin)
        if d is None:
            return chemin
        if chemin in self.exacts:
            return d["libelle"]
        return f"{d['libelle']} {chemin.rsplit('.', 1)[1]}"

    def chemins(self) -> list[str]:
        """Every concrete path (wildcards expanded with their listed keys)."""
        res = list(self.exacts)
        for prefixe, d in self.prefixes.items():
            res.extend(prefixe + c for c in sorted(d.get("cles", ())))
        return res


def catalogue() -> Catalogue:
    """The fact catalogue (rules/schemas/faits.yaml and the code lists) of the rulebook this thread
    evaluates with (engine.version.racine_active), built once per directory."""
    from .version import racine_active

    return _catalogue_de(racine_active())


@lru_cache(maxsize=8)
def _catalogue_de(racine: Path) -> Catalogue:
    from .regles import listes_pour_catalogue

    donnees = charger_yaml(racine / "schemas" / "faits.yaml")
    return Catalogue(donnees["faits"], listes_pour_catalogue(racine))


# --------------------------------------------------------------------------- validation


def valider_condition(cond: Any, cat: Catalogue, *, fichier: str | Path, regle: str, champ: str = "condition") -> None:
    """Raise ErreurRegles (file, rule, field) unless `cond` is a well-formed condition on known facts."""

    def err(message: str, ou: str) -> ErreurRegles:
        return ErreurRegles(fichier, message, regle=regle, champ=ou)

    if not isinstance(cond, dict):
        raise err("condition attendue (objet all, any, not ou fait/op)", champ)
    groupes = [k for k in ("all", "any", "not") if k in cond]
    if groupes:
        if len(cond) != 1:
            raise err(f"{groupes[0]} ne se combine avec aucune autre clé", champ)
        cle = groupes[0]
        if cle == "not":
            valider_condition(cond["not"], cat, fichier=fichier, regle=regle, champ=f"{champ}.not")
            return
        enfants = cond[cle]
        if not isinstance(enfants, list) or not enfants:
            raise err(f"{cle} attend une liste non vide de conditions", f"{champ}.{cle}")
        for i, enfant in enumerate(enfants):
            valider_condition(enfant, cat, fichier=fichier, regle=regle, champ=f"{champ}.{cle}.{i}")
        return
    cles_permises = {"fait", "op", "valeur", "valeur_de", "condition"}
    inconnues = set(cond) - cles_permises
    if inconnues:
        raise err(f"clé inconnue : {', '.join(sorted(inconnues))}", champ)
    fait = cond.get("fait")
    op = cond.get("op")
    if not isinstance(fait, str):
        raise err("fait (chemin du fait testé) obligatoire", f"{champ}.fait")
    definition = cat.definition(fait)
    if definition is None:
        raise err(f"fait inconnu du catalogue (rules/schemas/faits.yaml) : {fait}", f"{champ}.fait")
    if op not in OPERATEURS:
        raise err(f"opérateur inconnu : {op!r} (attendu : {', '.join(OPERATEURS)})", f"{champ}.op")
    type_fait = definition["type"]
    a_valeur, a_valeur_de, a_sous = "valeur" in cond, "valeur_de" in cond, "condition" in cond
    if op in ("exists", "not_exists"):
        if a_valeur or a_valeur_de or a_sous:
            raise err(f"{op} ne prend ni valeur ni valeur_de", champ)
        return
    if op == "any_item":
        if type_fait != "liste_str":
            raise err(f"any_item s'applique à une liste ; {fait} est de type {type_fait}", f"{champ}.op")
        if a_valeur or a_valeur_de or not a_sous:
            raise err("any_item attend une sous-condition `condition` {op, valeur}", champ)
        sous = cond["condition"]
        if not isinstance(sous, dict) or set(sous) != {"op", "valeur"} or sous["op"] not in OPERATEURS_ELEMENT:
            raise err("sous-condition d'any_item : {op: eq|ne|lt|le|gt|ge|in, valeur: …}", f"{champ}.condition")
        _valider_valeur(sous["op"], sous["valeur"], "str", definition, err, f"{champ}.condition.valeur")
        return
    if a_sous:
        raise err("`condition` n'est permise qu'avec any_item", champ)
    if a_valeur == a_valeur_de:
        raise err("il faut exactement une de valeur ou valeur_de", champ)
    if type_fait == "liste_str":
        raise err(f"{fait} est une liste : utiliser any_item", f"{champ}.op")
    if a_valeur_de:
        if op == "in":
            raise err("in n'accepte pas valeur_de", f"{champ}.valeur_de")
        autre = cond["valeur_de"]
        d_autre = cat.definition(autre) if isinstance(autre, str) else None
        if d_autre is None:
            raise err(f"fait inconnu du catalogue : {autre}", f"{champ}.valeur_de")
        if _famille(d_autre["type"]) != _famille(type_fait):
            raise err(f"types incompatibles : {fait} ({type_fait}) et {autre} ({d_autre['type']})", f"{champ}.valeur_de")
        return
    _valider_valeur(op, cond["valeur"], type_fait, definition, err, f"{champ}.valeur")


def _famille(type_fait: str) -> str:
    return "nombre" if type_fait in ("int", "float") else type_fait


def _valider_valeur(op, valeur, type_fait, definition, err, ou) -> None:
    valeurs = valeur if op == "in" else [valeur]
    if op == "in" and (not isinstance(valeur, list) or not valeur):
        raise err("in attend une liste non vide", ou)
    for v in valeurs:
        if type_fait == "bool":
            ok = isinstance(v, bool)
        elif type_fait in ("int", "float"):
            ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            if ok and "e" in repr(v):
                # durable_rules' C parser misreads or refuses exponents (1e-05, 1e+16)
                raise err(f"valeur {v!r} : écrire le nombre sans exposant, entre 0,0001 et 10^16", ou)
            if ok and type_fait == "int" and isinstance(v, float) and not v.is_integer():
                ok = False
        else:
            ok = isinstance(v, str)
        if not ok:
            raise err(f"valeur {v!r} incompatible avec le type {type_fait} du fait", ou)
        if type_fait == "bool" and op not in ("eq", "ne"):
            raise err(f"un booléen se compare avec eq ou ne, pas {op}", ou)
        permises = definition.get("valeurs")
        if permises is not None and v not in permises:
            raise err(f"valeur {v!r} hors de la liste permise ({', '.join(map(str, permises))})", ou)


def chemins(cond: Mapping[str, Any]) -> list[str]:
    """Fact paths a condition reads, in order of appearance, without duplicates."""
    vus: dict[str, None] = {}

    def parcourir(c: Mapping[str, Any]) -> None:
        for cle in ("all", "any"):
            if cle in c:
                for e in c[cle]:
                    parcourir(e)
                return
        if "not" in c:
            parcourir(c["not"])
            return
        vus[c["fait"]] = None
        if "valeur_de" in c:
            vus[c["valeur_de"]] = None

    parcourir(cond)
    return list(vus)


# --------------------------------------------------------------------------- evaluation


Predicat = Callable[[Faits], bool]


def compiler(cond: Mapping[str, Any]) -> Predicat:
    """Closure over flat facts, same semantics as the compiled durable rule."""
    if "all" in cond:
        enfants = tuple(compiler(e) for e in cond["all"])
        if len(enfants) == 1:
            return enfants[0]
        return lambda f: all(p(f) for p in enfants)
    if "any" in cond:
        enfants = tuple(compiler(e) for e in cond["any"])
        if len(enfants) == 1:
            return enfants[0]
        return lambda f: any(p(f) for p in enfants)
    if "not" in cond:
        enfant = compiler(cond["not"])
        return lambda f: not enfant(f)
    fait, op = cond["fait"], cond["op"]
    if op == "exists":
        return lambda f: fait in f
    if op == "not_exists":
        return lambda f: fait not in f
    if op == "any_item":
        test = _test_element(cond["condition"])
        return lambda f: any(test(x) for x in f.get(fait, ()))
    if op == "in":
        permises = tuple(cond["valeur"])
        return lambda f: fait in f and any(f[fait] == v for v in permises)
    comparer = _PY[op]
    if "valeur_de" in cond:
        autre = cond["valeur_de"]
        return lambda f: fait in f and autre in f and comparer(f[fait], f[autre])
    valeur = cond["valeur"]
    if op == "eq":
        return lambda f: fait in f and f[fait] == valeur
    return lambda f: fait in f and comparer(f[fait], valeur)


def _test_element(sous: Mapping[str, Any]) -> Callable[[Any], bool]:
    op, valeur = sous["op"], sous["valeur"]
    if op == "in":
        permises = tuple(valeur)
        return lambda x: any(x == v for v in permises)
    comparer = _PY[op]
    return lambda x: comparer(x, valeur)


def evaluer(cond: Mapping[str, Any], faits: Faits) -> bool:
    return compiler(cond)(faits)


# --------------------------------------------------------------------------- explanation


_TEXTES_NOMBRES: dict[float, str] = {}  # float → its French text (amounts and ceilings repeat)


def _fmt(v: Any) -> str:
    if type(v) is float:
        texte = _TEXTES_NOMBRES.get(v)
        if texte is None:
            if v.is_integer():
                texte = f"{int(v):,}".replace(",", "\u202f")
            else:
                texte = f"{v:,.4f}".rstrip("0").rstrip(".").replace(",", "\u202f").replace(".", ",")
            if len(_TEXTES_NOMBRES) >= 65536:
                _TEXTES_NOMBRES.clear()
            _TEXTES_NOMBRES[v] = texte
        return texte
    if isinstance(v, bool):
        return "vrai" if v else "faux"
    if isinstance(v, float):
        if v.is_integer():
            v = int(v)
        else:
            return f"{v:,.4f}".rstrip("0").rstrip(".").replace(",", "\u202f").replace(".", ",")
    if isinstance(v, int):
        return f"{v:,}".replace(",", "\u202f")
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return f"« {v} »"


def decrire(cond: Mapping[str, Any], cat: Catalogue | None = None) -> str:
    """The condition in French (for `caleol rules show` and the trace of applied rules)."""
    lib = (cat.libelle if cat else (lambda c: c))
    if "all" in cond:
        return "(" + " et ".join(decrire(e, cat) for e in cond["all"]) + ")"
    if "any" in cond:
        return "(" + " ou ".join(decrire(e, cat) for e in cond["any"]) + ")"
    if "not" in cond:
        return "non " + decrire(cond["not"], cat)
    fait, op = cond["fait"], cond["op"]
    sujet = f"{lib(fait)} [{fait}]"
    if op in ("exists", "not_exists"):
        return f"{sujet} {LIBELLES_OP[op]}"
    if op == "any_item":
        s = cond["condition"]
        return f"{sujet} contient un élément qui {LIBELLES_OP[s['op']]} {_fmt(s['valeur'])}"
    if "valeur_de" in cond:
        return f"{sujet} {LIBELLES_OP[op]} {lib(cond['valeur_de'])} [{cond['valeur_de']}]"
    return f"{sujet} {LIBELLES_OP[op]} {_fmt(cond['valeur'])}"


Explication = Callable[[Faits], list[str]]


def expliquer_echec(cond: Mapping[str, Any], faits: Faits, cat: Catalogue | None = None) -> list[str]:
    """Why `cond` is false on `faits`: one French sentence per failed elementary condition, with values.

    `all`: every failed child; `any`: every child (all failed); `not`: the negated condition held.
    Returns [] when the condition holds.
    """
    if evaluer(cond, faits):
        return []
    return compiler_explication(cond, cat)(faits)


def compiler_explication(cond: Mapping[str, Any], cat: Catalogue | None = None) -> Explication:
    """Precompiled `expliquer_echec` for a condition known to be false on the facts it is given."""
    lib = (cat.libelle if cat else (lambda c: c))
    if "all" in cond:
        enfants = tuple((compiler(e), compiler_explication(e, cat)) for e in cond["all"])
        return lambda f: [m for p, e in enfants if not p(f) for m in e(f)]
    if "any" in cond:
        enfants_any = tuple(compiler_explication(e, cat) for e in cond["any"])
        if len(enfants_any) == 1:
            return enfants_any[0]
        return lambda f: ["aucune des conditions n'est remplie : " + " ; ".join(m for e in enfants_any for m in e(f))]
    if "not" in cond:
        message = f"la condition contraire est remplie : {decrire(cond['not'], cat)}"
        return lambda f: [message]
    fait, op = cond["fait"], cond["op"]
    sujet = f"{lib(fait)} [{fait}]"
    absent = [f"{sujet} n'est pas renseigné"]
    if op == "exists":
        return lambda f: absent
    if op == "not_exists":
        return lambda f: [f"{sujet} est renseigné ({_fmt(f[fait])})"]
    if op == "any_item":
        s = cond["condition"]
        suite = f"ne contient aucun élément qui {LIBELLES_OP[s['op']]} {_fmt(s['valeur'])}"
        return lambda f: absent if fait not in f else [f"{sujet} ({_fmt(f[fait])}) {suite}"]
    if "valeur_de" in cond:
        autre = cond["valeur_de"]
        sujet_autre = f"{lib(autre)} [{autre}]"
        autre_absent = [f"{sujet_autre} n'est pas renseigné"]
        negation = NEGATIONS_OP[op]

        def explication_valeur_de(f: Faits) -> list[str]:
            if fait not in f:
                return absent
            if autre not in f:
                return autre_absent
            return [f"{sujet} ({_fmt(f[fait])}) {negation} {sujet_autre} ({_fmt(f[autre])})"]

        return explication_valeur_de
    suite = f"{NEGATIONS_OP[op]} {_fmt(cond['valeur'])}"
    return lambda f: absent if fait not in f else [f"{sujet} ({_fmt(f[fait])}) {suite}"]
