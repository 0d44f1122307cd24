"""The only module that imports durable_rules (see /work/shared/DURABLE_RULES.md §7–§8).

It compiles the engine-neutral conditions of `engine.conditions` to durable's JSON and matches
normalised facts against them:

* `_HoteSilencieux` (QuietHost): a Host whose `_run` starts no dispatcher/timer threads;
* every rule starts with `{"kind": "candidat"}`, so the state fact re-asserted after each action
  can never match (no infinite loop); rules never test `id`, `sid` or the state;
* rules are named by their stable id and run the action of that name; one no-op catch-all rule
  (`_vu`, lowest priority) per ruleset, so that `delete_state` never meets a sid without action;
* rulesets (shards) hold at most `TAILLE_SHARD` weight, the weight of a rule being the number of
  alternatives of its condition once developed (each `$or` branch counted, conservatively);
* a rule fires once per matching alternative of its `$or`: ids are de-duplicated;
* one state id per evaluation, deleted in `finally` in every shard asserted (DURABLE_RULES.md §3.1
  and §7: isolation, no 1 024-sid limit, flat memory). Option `etat="reutilise"` (the `leger` glue
  only) keeps one state per ruleset instead: each evaluation asserts its fact with a fresh `id`, runs
  the actions, then retracts it; on any failure the state is deleted and rebuilt. It saves the ~8 KB
  per rule that creating a state zeroes (`createStateNode`, state.c), about 12 % of an evaluation;
  rules test one fact each (no join), and the tests check that no fact stays between evaluations;
* an exception raised inside an action is re-raised (durable stores it in `state['exception']`);
* definitions are deep-copied before registration (durable deletes `run` from them);
* facts are normalised (None, NaN and empty lists absent) and projected on the paths each shard
  tests, which keeps the JSON glue of each fired action small. The projection is written flat, one
  dotted key per path (`{"menage.nb_personnes": 3}`): durable names a nested property by the FNV-1
  hash of its full dotted path (`constructObject`, state.c), which is exactly the hash of the same
  dotted key read at the top level, so every condition sees the same properties; the fact only
  loses the intermediate object properties (`menage`, …) that no rule tests, which the C matcher
  would otherwise scan at every alpha node (checked against the nested form by the tests);
* two ways to run the actions, with identical results (checked by the tests):
  - `standard`: durable's own Python glue (`Host.assert_fact` → `Closure` → the named action,
    which records the rule id; exceptions checked in `state['exception']`);
  - `leger` (default): the same C calls durable's glue makes (`assert_fact`,
    `start_action_for_state`, `complete_and_start_action`, `delete_state`), recording the name of
    each action the C engine starts without building a Closure, re-parsing the matched fact or
    re-asserting an unchanged state. The matching is durable's; only ~90 % of its per-action
    Python overhead (DURABLE_RULES.md §5.4) goes. No Python action runs, so none can fail;
* floats are written without exponent (durable's C JSON parser refuses `1e-05`, error 204);
* no `$div`, no arithmetic at all: numbers are computed in Python before matching;
* a comparison with another fact (`valeur_de`) is guarded by `$ex` on that fact: durable answers
  *true* to `x < $m.y` when `y` is absent (observed with 2.0.28), unlike the plain evaluator.
"""
from __future__ import annotations

import copy
import itertools
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import durable_rules_engine
from durable import engine as _durable_engine

from .encodage import encodeur_json

TAILLE_SHARD = 50
PRIORITE_CATCH_ALL = 65000
NOM_CATCH_ALL = "_vu"
SID_REUTILISE = "caleol"  # never a per-evaluation sid (those are numbers)
DISCRIMINANT = {"kind": "candidat"}

_DURABLE_OP = {"lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte", "ne": "$neq"}
_INVERSE = {"eq": "ne", "ne": "eq", "lt": "ge", "le": "gt", "gt": "le", "ge": "lt"}


class ErreurMoteur(RuntimeError):
    """durable_rules failed on an evaluation (an action raised, or the C engine refused the fact)."""


# --------------------------------------------------------------------------- compilation


def _comparaison(op: str, gauche: str, droite: Any) -> dict[str, Any]:
    if op == "eq":
        return {gauche: droite}
    return {_DURABLE_OP[op]: {gauche: droite}}


def _ex(chemin: str) -> dict[str, Any]:
    return {"$ex": {chemin: 1}}


def _nex(chemin: str) -> dict[str, Any]:
    return {"$nex": {chemin: 1}}


def _ou(termes: list[dict[str, Any]]) -> dict[str, Any]:
    return termes[0] if len(termes) == 1 else {"$or": termes}


def _et(termes: list[dict[str, Any]]) -> dict[str, Any]:
    return termes[0] if len(termes) == 1 else {"$and": termes}


def _element(op: str, valeur: Any) -> dict[str, Any]:
    return {"$i": valeur} if op == "eq" else {_DURABLE_OP[op]: {"$i": valeur}}


def compiler_condition(cond: Mapping[str, Any], *, negation: bool = False) -> dict[str, Any]:
    """durable JSON expression equivalent to `cond` (negated when `negation`), without the discriminant."""
    if "all" in cond or "any" in cond:
        cle = "all" if "all" in cond else "any"
        termes = [compiler_condition(e, negation=negation) for e in cond[cle]]
        conjonction = (cle == "all") != negation
        return _et(termes) if conjonction else _ou(termes)
    if "not" in cond:
        return compiler_condition(cond["not"], negation=not negation)
    fait, op = cond["fait"], cond["op"]
    if op == "exists":
        return _nex(fait) if negation else _ex(fait)
    if op == "not_exists":
        return _ex(fait) if negation else _nex(fait)
    if op == "in":
        if negation:
            return _ou([_nex(fait), _et([_comparaison("ne", fait, v) for v in cond["valeur"]])])
        return _ou([_comparaison("eq", fait, v) for v in cond["valeur"]])
    if op == "any_item":
        sous = cond["condition"]
        valeurs = sous["valeur"] if sous["op"] == "in" else [sous["valeur"]]
        op_el = "eq" if sous["op"] == "in" else sous["op"]
        if negation:
            # Every item fails; an absent (or, once normalised, empty) list has no item.
            inverse = _et([_element(_INVERSE[op_el], v) for v in valeurs])
            return _ou([_nex(fait), {"$iall": {fait: inverse}}])
        return _ou([{"$iany": {fait: _element(op_el, v)}} for v in valeurs])
    if "valeur_de" in cond:
        autre = cond["valeur_de"]
        if negation:
            return _ou([_nex(fait), _nex(autre), _comparaison(_INVERSE[op], fait, {"$m": autre})])
        return _et([_ex(autre), _comparaison(op, fait, {"$m": autre})])
    if negation:
        return _ou([_nex(fait), _comparaison(_INVERSE[op], fait, cond["valeur"])])
    return _comparaison(op, fait, cond["valeur"])


def poids(expression: Mapping[str, Any]) -> int:
    """Alternatives of a compiled expression once developed (product over $and, sum over $or)."""
    if "$and" in expression:
        p = 1
        for t in expression["$and"]:
            p *= poids(t)
        return p
    if "$or" in expression:
        return sum(poids(t) for t in expression["$or"])
    if "$iany" in expression or "$iall" in expression:
        (interieur,) = (expression.get("$iany") or expression.get("$iall")).values()
        return max(1, poids(interieur)) if isinstance(interieur, dict) else 1
    return 1


def regle_durable(expression: Mapping[str, Any], nom: str) -> dict[str, Any]:
    return {"all": [{"m": {"$and": [dict(DISCRIMINANT), expression]}}], "run": nom}


def repartir(regles: Sequence[tuple[str, dict[str, Any]]], taille: int = TAILLE_SHARD) -> list[list[tuple[str, dict[str, Any], int]]]:
    """Split (id, expression) into shards whose total weight is at most `taille`."""
    shards: list[list[tuple[str, dict[str, Any], int]]] = []
    courant: list[tuple[str, dict[str, Any], int]] = []
    total = 0
    for rid, expr in regles:
        p = poids(expr)
        if p > taille:
            raise ValueError(f"règle {rid} : {p} alternatives, plus que les {taille} permises par ruleset")
        if courant and total + p > taille:
            shards.append(courant)
            courant, total = [], 0
        courant.append((rid, expr, p))
        total += p
    if courant:
        shards.append(courant)
    return shards


# --------------------------------------------------------------------------- host


class _HoteSilencieux(_durable_engine.Host):
    """QuietHost: no background dispatcher or timer threads; actions resolved by name."""

    def __init__(self, actions: Mapping[str, Any]):
        self._actions_nommees = dict(actions)
        super().__init__()

    def _run(self) -> None:  # the stock Host starts two self-re-arming Timer threads here
        pass

    def get_action(self, action_name: str):
        return self._actions_nommees[action_name]


class _Shard:
    __slots__ = ("nom", "regles", "chemins", "handle")

    def __init__(self, nom: str, regles: list[str], chemins: list[str]):
        self.nom = nom
        self.regles = regles
        self.chemins = tuple(chemins)
        self.handle: int | None = None


class MoteurDurable:
    """Compiled rulebook in one QuietHost: groups of rules (the rulebook, each cotation grid), sharded.

    `appliquees(faits_plats, groupes)` returns the ids of the rules that fired. Thread-safe (one lock);
    build one per process and rulebook version, never one per request.
    """

    def __init__(self, groupes: Mapping[str, Sequence[tuple[str, Mapping[str, Any], Sequence[str]]]], *,
                 prefixe: str = "caleol", glue: str = "leger", forme: str = "plate", etat: str | None = None):
        """groupes: name → [(rule id, condition, fact paths it reads)]; glue: `leger` or `standard`;
        forme: facts written `plate` (dotted keys, default) or `imbriquee` (nested objects, the
        reference form the tests compare with); etat: `par_evaluation` (default: one state id per
        evaluation, deleted in `finally`, as DURABLE_RULES.md §7 prescribes) or `reutilise` (the
        `leger` glue only: one state per ruleset, each fact retracted after its evaluation — about
        12 % faster, kept as an option)."""
        if glue not in ("leger", "standard"):
            raise ValueError(f"glue inconnue : {glue}")
        if forme not in ("plate", "imbriquee"):
            raise ValueError(f"forme de faits inconnue : {forme}")
        etat = etat or "par_evaluation"
        if etat not in ("reutilise", "par_evaluation") or (etat == "reutilise" and glue != "leger"):
            raise ValueError(f"état inconnu ou impossible avec la glue {glue} : {etat}")
        self.glue = glue
        self.imbrique = forme == "imbriquee"
        self.etat_reutilise = etat == "reutilise"
        self._verrou = threading.Lock()
        self._sids = itertools.count(1)
        self._courant: list[str] = []
        self.shards: dict[str, list[_Shard]] = {}
        definitions: dict[str, dict[str, Any]] = {}
        actions: dict[str, Any] = {NOM_CATCH_ALL: _rien}
        noms_vus: set[str] = set()
        for groupe, regles in groupes.items():
            par_id = {rid: (cond, list(ch)) for rid, cond, ch in regles}
            compilees = [(rid, compiler_condition(cond)) for rid, (cond, _) in par_id.items()]
            self.shards[groupe] = []
            for i, shard in enumerate(repartir(compilees)):
                nom = f"{prefixe}.{groupe}.{i}"
                definition: dict[str, Any] = {}
                chemins: dict[str, None] = {}
                for rid, expr, _ in shard:
                    if rid in noms_vus or rid == NOM_CATCH_ALL:
                        raise ValueError(f"identifiant de règle en double : {rid}")
                    noms_vus.add(rid)
                    definition[rid] = regle_durable(expr, rid)
                    actions[rid] = self._action(rid)
                    for c in par_id[rid][1]:
                        chemins[c] = None
                definition[NOM_CATCH_ALL] = {
                    "pri": PRIORITE_CATCH_ALL,
                    "all": [{"m": dict(DISCRIMINANT)}],
                    "run": NOM_CATCH_ALL,
                }
                definitions[nom] = definition
                self.shards[groupe].append(_Shard(nom, [rid for rid, _, _ in shard], list(chemins)))
        self.definition = copy.deepcopy(definitions)  # kept for audit (compiled JSON, run = rule id)
        self._hote = _HoteSilencieux(actions)
        self._hote.set_rulesets(copy.deepcopy(definitions))
        for shards in self.shards.values():
            for shard in shards:
                shard.handle = self._hote.get_ruleset(shard.nom)._handle

    def _action(self, rid: str):
        courant = self  # bound late: the list is swapped per evaluation under the lock

        def action(c):
            courant._courant.append(rid)

        return action

    def appliquees(self, faits: Mapping[str, Any], groupes: Iterable[str]) -> list[str]:
        """Ids of the rules of `groupes` whose condition holds on the flat normalised `faits`."""
        if self.etat_reutilise:
            with self._verrou:
                return self._appliquees_etat_reutilise(faits, groupes)
        with self._verrou:
            sid = str(next(self._sids))
            self._courant = trouvees = []
            assertes: list[_Shard] = []
            try:
                for groupe in groupes:
                    for shard in self.shards[groupe]:
                        fait = {c: faits[c] for c in shard.chemins if c in faits}
                        if self.imbrique:
                            fait = _imbriquer(fait)
                        fait["kind"] = DISCRIMINANT["kind"]
                        fait["sid"] = sid
                        assertes.append(shard)
                        if self.glue == "leger":
                            self._asserter_leger(shard, json_fait(fait), trouvees)
                            continue
                        try:
                            # Host.assert_fact, with our JSON text (no exponent) for the C parser
                            rs = self._hote.get_ruleset(shard.nom)
                            etat = self._hote._handle_function(
                                rs, lambda f, rs=rs: rs._handle_result(durable_rules_engine.assert_fact(rs._handle, json_fait(f)), f), fait, None
                            )
                        except _durable_engine.MessageNotHandledException as exc:  # pragma: no cover - catch-all
                            raise ErreurMoteur(f"fait non traité par {shard.nom} : {exc.message}") from None
                        except durable_rules_engine.error as exc:
                            raise ErreurMoteur(f"durable_rules a refusé le fait ({shard.nom}) : {exc}") from None
                        if isinstance(etat, dict) and "exception" in etat:
                            raise ErreurMoteur(f"une action de {shard.nom} a échoué : {etat['exception']}")
            finally:
                erreur_suppression = None
                for shard in assertes:
                    try:
                        # what Host.delete_state(nom, sid) does, without its two Python calls
                        durable_rules_engine.delete_state(shard.handle, sid)
                    except Exception as exc:  # noqa: BLE001 - reported below unless already failing
                        erreur_suppression = exc
                self._courant = []
            if erreur_suppression is not None:
                raise ErreurMoteur(f"suppression de l'état {sid} impossible : {erreur_suppression}")
            # A rule fires once per alternative ($or branch) that matches: keep each id once.
            return list(dict.fromkeys(trouvees))

    def _appliquees_etat_reutilise(self, faits: Mapping[str, Any], groupes: Iterable[str]) -> list[str]:
        """`appliquees` in each shard's reused state: assert the fact, run the actions, retract it."""
        trouvees: list[str] = []
        for groupe in groupes:
            for shard in self.shards[groupe]:
                fait = {c: faits[c] for c in shard.chemins if c in faits}
                if self.imbrique:
                    fait = _imbriquer(fait)
                fait["kind"] = DISCRIMINANT["kind"]
                fait["sid"] = SID_REUTILISE
                fait["id"] = next(self._sids)
                texte = json_fait(fait)
                retire = False
                try:
                    self._asserter_leger(shard, texte, trouvees)
                    retire = durable_rules_engine.retract_fact(shard.handle, texte)[0] == 0
                except durable_rules_engine.error as exc:
                    raise ErreurMoteur(f"durable_rules n'a pas retiré le fait ({shard.nom}) : {exc}") from None
                finally:
                    if not retire:
                        _effacer_etat(shard)
        # A rule fires once per alternative ($or branch) that matches: keep each id once.
        return list(dict.fromkeys(trouvees))

    def faits_en_memoire(self) -> int:
        """Facts held by the reused states (0 between two evaluations)."""
        total = 0
        with self._verrou:
            for shards in self.shards.values():
                for shard in shards:
                    try:
                        total += len(json.loads(durable_rules_engine.get_facts(shard.handle, SID_REUTILISE)))
                    except durable_rules_engine.error:  # no state (yet, or deleted): error 309
                        pass
        return total

    @staticmethod
    def _asserter_leger(shard: _Shard, texte: str, trouvees: list[str]) -> None:
        """assert_fact, then run the action loop of durable's glue, recording each action's name."""
        h = shard.handle
        try:
            resultat = durable_rules_engine.assert_fact(h, texte)
            if resultat[0] == 1:  # pragma: no cover - the catch-all rule always matches
                raise ErreurMoteur(f"fait non traité par {shard.nom}")
            etat = resultat[1]
            demarre = durable_rules_engine.start_action_for_state(h, etat)
            message = demarre[1] if demarre else None
            while message:
                # message = '{"<rule id>":{"m":{…}}}': the id is the first key (ids never contain '"').
                nom = message[2:message.index('"', 2)]
                if nom != NOM_CATCH_ALL:
                    trouvees.append(nom)
                message = durable_rules_engine.complete_and_start_action(h, etat)
        except durable_rules_engine.error as exc:
            raise ErreurMoteur(f"durable_rules a refusé le fait ({shard.nom}) : {exc}") from None

    def fermer(self) -> None:
        """Free the C rulesets (call once no evaluation is in flight; the object is then unusable)."""
        with self._verrou:
            for ruleset in self._hote._ruleset_list:
                durable_rules_engine.delete_ruleset(ruleset._handle)
            self._hote._ruleset_list = []
            self._hote._ruleset_directory = {}


def _rien(c) -> None:
    return None


def _effacer_etat(shard: _Shard) -> None:
    """Delete the reused state of `shard` (the next evaluation starts from a new one)."""
    try:
        durable_rules_engine.delete_state(shard.handle, SID_REUTILISE)
    except durable_rules_engine.error:  # no state to delete (error 309)
        pass


def _imbriquer(plats: Mapping[str, Any]) -> dict[str, Any]:
    """{"a.b": v} → {"a": {"b": v}} (the nested form of the same facts)."""
    fait: dict[str, Any] = {}
    for chemin, valeur in plats.items():
        *parents, feuille = chemin.split(".")
        cible = fait
        for p in parents:
            cible = cible.setdefault(p, {})
        cible[feuille] = valeur
    return fait


_json = encodeur_json()  # json.dumps(x, ensure_ascii=False), encoder built once


def json_fait(fait: Mapping[str, Any]) -> str:
    """JSON text for durable's C parser, which refuses exponents (`1e-05` → error 204).

    Floats whose shortest repr uses an exponent are written in plain decimal notation, which the C
    parser reads back as the same double.
    """
    texte = _json(fait)
    if ("e-" not in texte and "e+" not in texte) or not _a_exposant(fait):  # Python writes 1e-05, 1e+16
        return texte
    return _json_sans_exposant(fait)


def _a_exposant(valeur: Any) -> bool:
    if type(valeur) is float:
        return "e" in repr(valeur)
    if isinstance(valeur, dict):
        return any(_a_exposant(v) for v in valeur.values())
    if isinstance(valeur, list):
        return any(_a_exposant(v) for v in valeur)
    return False


def _json_sans_exposant(valeur: Any) -> str:
    if type(valeur) is float and "e" in repr(valeur):
        return format(Decimal(repr(valeur)), "f")
    if isinstance(valeur, dict):
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)}: {_json_sans_exposant(v)}" for k, v in valeur.items()) + "}"
    if isinstance(valeur, list):
        return "[" + ", ".join(_json_sans_exposant(v) for v in valeur) + "]"
    return json.dumps(valeur, ensure_ascii=False)
