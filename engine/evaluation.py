"""One evaluation: dossier (+ dwelling) at a date → derived facts → rules → the JSON contract.

    evaluer(dossier, logement=None, date=..., aide_logement=None) -> dict

`dossier` and `logement` are the outputs of webapp.schemas.charger_dossier / charger_logement
(Decimal amounts, date objects). The result is the integrator contract published in
rules/schemas/evaluation.schema.json. It is reproducible: it records the date, the rulebook
version and the fingerprint of the normalised input; replaying the same input at the same date
with the same rulebook gives the same result.

The rulebook is compiled once per process and per validity window (the interval between two dates
where a rule or grid starts or ends): `Moteur` holds the durable_rules host (one QuietHost) and the
plain-Python closures of the same conditions. `recharger()` drops the cache after an edit of rules/.
"""
from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .conditions import Catalogue, Predicat, compiler, compiler_explication, decrire, faits_plats
from .cotation import coter, sans_grille
from .derivations import AideLogement, Derivation, deriver
from .durable_adapter import MoteurDurable
from .encodage import encodeur_json
from .parametres import oublier_racines, parametres_a_la_date
from .regles import Critere, Grille, Regle, Reglement, reglement, situations_prioritaires
from .version import DOSSIER_REGLES, _racine_active, racine_active, version_regles

MOTEURS = ("durable", "python")
CONTEXTES = ("demande", "examen_occupation")
FINANCEMENTS = ("PLAI", "PLUS", "PLS")
GROUPE_REGLES = "regles"
TAILLE_MEMO = 4096


def _groupe_grille(grille: Grille) -> str:
    return f"grille.{grille.id}"


@dataclass(frozen=True)
class RegleCompilee:
    """A rule (or cotation criterion) ready to evaluate and to explain.

    Everything that does not depend on the dossier is computed once per rulebook and shared by the
    trace lines of every evaluation: title, reference (the same dict object), explanation of an
    applied rule; the explanation of a rule that did not apply is memoised per rule on the values
    it reads (it depends on nothing else).
    """

    id: str
    titre: str
    reference: dict[str, Any]
    effet: dict[str, Any] | None
    chemins: tuple[str, ...]
    predicat: Predicat
    explication: Any
    remplie: str  # explanation of an applied rule, computed once
    lit_une_liste: bool = False
    memo: dict[Any, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def depuis(cls, r: Regle | Critere, cat: Catalogue, reference: dict[str, Any]) -> RegleCompilee:
        return cls(
            id=r.id,
            titre=r.titre,
            reference=reference,
            effet=getattr(r, "effet", None),
            chemins=r.chemins,
            predicat=compiler(r.condition),
            explication=compiler_explication(r.condition, cat),
            remplie="Condition remplie : " + decrire(r.condition, cat) + ".",
            lit_une_liste=any((cat.definition(c) or {}).get("type") == "liste_str" for c in r.chemins),
        )


# What the trace reads of a rule, as one tuple (one unpacking per line instead of attribute reads):
# id, the path (str) when it reads one fact or the paths (tuple), memo of explanations when not
# applied, the explanation function, reads a list, then the line of the rule applied and the line of
# the rule not applied, built once with their keys in the order of the contract: a trace line is a
# copy of one of them (a copy of a small dict is ~2.5× faster than a 6-key dict display) where
# `valeurs` (and the explanation of a rule not applied) are then written.
_InfoTrace = tuple[str, "str | tuple[str, ...]", dict[Any, str], Any, bool, dict[str, Any], dict[str, Any]]


def infos_trace(regles: Sequence[RegleCompilee]) -> tuple[_InfoTrace, ...]:
    return tuple(
        (r.id, r.chemins[0] if len(r.chemins) == 1 else r.chemins, r.memo, r.explication, r.lit_une_liste,
         {"regle": r.id, "titre": r.titre, "reference": r.reference, "appliquee": True, "explication": r.remplie,
          "valeurs": None},
         {"regle": r.id, "titre": r.titre, "reference": r.reference, "appliquee": False, "explication": None,
          "valeurs": None})
        for r in regles
    )


def tracer(infos: Sequence[_InfoTrace], appliquees: set[str] | frozenset[str], faits: Mapping[str, Any],
           lignes: list[dict[str, Any]]) -> None:
    """Append one trace line per rule of `infos`: applied or not, why, and the values it read."""
    lire = faits.get
    ajouter = lignes.append
    for rid, chemins, memo, explication, lit_une_liste, modele_appliquee, modele_non_appliquee in infos:
        if type(chemins) is str:
            v = lire(chemins)
            valeurs = {chemins: v}
            if rid in appliquees:
                ligne = modele_appliquee.copy()
                ligne["valeurs"] = valeurs
                ajouter(ligne)
                continue
            cle: Any = tuple(v) if lit_une_liste and isinstance(v, list) else v
        else:
            valeurs = {c: lire(c) for c in chemins}
            if rid in appliquees:
                ligne = modele_appliquee.copy()
                ligne["valeurs"] = valeurs
                ajouter(ligne)
                continue
            cle = tuple(valeurs.values())
            if lit_une_liste:
                cle = tuple(tuple(x) if isinstance(x, list) else x for x in cle)
        # The explanation depends only on the values the rule reads (the value itself when it reads
        # one fact, their tuple otherwise; a list as a tuple): memoised per rule.
        texte = memo.get(cle)
        if texte is None:
            texte = "Non appliquée : " + " ; ".join(explication(faits)) + "."
            if len(memo) >= TAILLE_MEMO:
                memo.clear()
            memo[cle] = texte
        ligne = modele_non_appliquee.copy()
        ligne["explication"] = texte
        ligne["valeurs"] = valeurs
        ajouter(ligne)


class Moteur:
    """The rulebook in force over one validity window, compiled for both engines."""

    def __init__(self, regl: Reglement, date: dt.date, version: str):
        self.version = version
        self.racine: Path | None = None  # the rules/ directory it was compiled from (None: this checkout)
        self.date = date
        cat = regl.catalogue
        self.regles = tuple(RegleCompilee.depuis(r, cat, r.reference.en_json()) for r in regl.regles_en_vigueur(date))
        self.rang_regle = {r.id: i for i, r in enumerate(self.regles)}
        self.trace_regles = infos_trace(self.regles)
        # grid id → (its compiled criteria, their trace infos)
        self.traces_grilles: dict[str, tuple[tuple[RegleCompilee, ...], tuple[_InfoTrace, ...]]] = {}
        self.grilles: dict[str, tuple[Grille, tuple[RegleCompilee, ...]]] = {}
        groupes: dict[str, list[tuple[str, dict[str, Any], Sequence[str]]]] = {
            GROUPE_REGLES: [(r.id, r.condition, r.chemins) for r in regl.regles_en_vigueur(date)]
        }
        for g in regl.grilles_en_vigueur(date):
            ref = g.reference.en_json()
            self.grilles[g.epci] = (g, tuple(RegleCompilee.depuis(c, cat, ref) for c in g.criteres))
            criteres = self.grilles[g.epci][1]
            self.traces_grilles[g.id] = (criteres, infos_trace(criteres))
            groupes[_groupe_grille(g)] = [(c.id, c.condition, c.chemins) for c in g.criteres]
        self.durable = MoteurDurable(groupes)

    def grille(self, epci: str | None) -> tuple[Grille, tuple[RegleCompilee, ...]] | None:
        return self.grilles.get(epci) if epci else None

    def appliquees(self, faits: Mapping[str, Any], grille: Grille | None, moteur: str) -> set[str]:
        if moteur == "durable":
            groupes = [GROUPE_REGLES] + ([_groupe_grille(grille)] if grille else [])
            return set(self.durable.appliquees(faits, groupes))
        if moteur != "python":
            raise ValueError(f"moteur inconnu : {moteur} (attendu : {', '.join(MOTEURS)})")
        res = {r.id for r in self.regles if r.predicat(faits)}
        if grille is not None:
            res.update(c.id for c in self.grilles[grille.epci][1] if c.predicat(faits))
        return res


_verrou = threading.Lock()
_moteurs: dict[tuple[str, dt.date | None, dt.date | None], Moteur] = {}
# rules/ directory → its rulebook, version, validity bounds (the active one, and those replays used)
_etats: dict[Path, dict[str, Any]] = {}
MOTEURS_MAX = 16  # compiled windows kept (replays of stored versions add theirs)


def recharger() -> None:
    """Forget the compiled rulebooks and the reference lists read with them (after an edit of rules/);
    in-flight evaluations keep theirs."""
    from . import conditions, conservation, derivations, regles

    with _verrou:
        _moteurs.clear()
        _etats.clear()
        reglement.cache_clear()
        for lecteur in (regles._situations_de, regles._listes_sne_de, conditions._catalogue_de,
                        derivations._codes_situations_de, derivations._situations_a_faux_de, conservation._politique_de):
            lecteur.cache_clear()
        oublier_racines()


def utiliser_racine(racine: str | Path | None) -> None:
    """Evaluate from now on with the rulebook of the directory `racine` (its rules, grids and dated
    parameters; None: the rules/ of this checkout) — a stored version the application extracted. The
    compiled rulebooks are forgotten; an evaluation in flight keeps its own."""
    with _verrou:
        _racine_active[0] = Path(racine).resolve() if racine is not None else DOSSIER_REGLES
        _moteurs.clear()
        _etats.clear()
        reglement.cache_clear()
        oublier_racines()


def _etat_de(racine: Path) -> dict[str, Any]:
    etat = _etats.get(racine)
    if etat is None:
        regl = reglement()  # of racine_active(), that is `racine`
        etat = _etats[racine] = {"reglement": regl, "version": version_regles(racine), "bornes": regl.bornes(),
                                 "racine": racine if racine != DOSSIER_REGLES else None}
    return etat


def moteur_a_la_date(date: dt.date) -> Moteur:
    """The compiled rulebook for `date`, built once per (version, validity window) in this process, of
    the rules/ directory this thread evaluates with (engine.version.racine_active)."""
    racine = racine_active()
    with _verrou:
        etat = _etat_de(racine)
        bornes = etat["bornes"]
        i = bisect.bisect_right(bornes, date)
        fenetre = (etat["version"], bornes[i - 1] if i else None, bornes[i] if i < len(bornes) else None)
        moteur = _moteurs.get(fenetre)
        if moteur is None:
            if len(_moteurs) >= MOTEURS_MAX:
                _moteurs.clear()  # in-flight evaluations keep theirs
            moteur = _moteurs[fenetre] = Moteur(etat["reglement"], date, etat["version"])
            moteur.racine = etat["racine"]
        return moteur


# --------------------------------------------------------------------------- input fingerprint


def _defaut(valeur: Any) -> Any:
    t = type(valeur)  # the two common cases first, by exact type (~11 calls per dossier)
    if t is Decimal:
        return str(valeur)
    if t is dt.date:
        return valeur.isoformat()
    if isinstance(valeur, Decimal):
        return str(valeur)
    if isinstance(valeur, dt.date):
        return valeur.isoformat()
    if isinstance(valeur, AideLogement):
        return {"montant_mensuel": str(valeur.montant_mensuel), "source": valeur.source}
    raise TypeError(f"valeur non sérialisable dans l'entrée : {type(valeur).__name__}")


# json.dumps(x, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_defaut), built once
_json_canonique = encodeur_json(trier=True, separateurs=(",", ":"), defaut=_defaut)


def empreinte_entree(dossier: Mapping[str, Any], logement: Mapping[str, Any] | None, date: dt.date,
                     aide_logement: AideLogement | None, contexte: str = "demande") -> str:
    """SHA-256 of the canonical JSON of the normalised input (sorted keys; Decimal as its text, dates ISO).

    The input is the output of the marshmallow schemas, where amounts are Decimal quantised to the
    cent: the same dossier always gives the same text.
    """
    entree = {"dossier": dossier, "logement": logement, "date": date, "aide_logement": aide_logement, "contexte": contexte}
    texte = _json_canonique(entree)
    return "sha256:" + hashlib.sha256(texte.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- evaluation


def _euros(x: Any) -> float | None:
    return None if x is None else round(float(x), 2)


def _fraction(x: Any) -> float | None:
    return None if x is None else round(float(x), 4)


def _aide(aide_logement: AideLogement | Decimal | float | int | None) -> AideLogement | None:
    if aide_logement is None or isinstance(aide_logement, AideLogement):
        return aide_logement
    montant = Decimal(str(aide_logement))
    if montant < 0:
        raise ValueError("aide au logement négative")
    return AideLogement(montant_mensuel=montant, source="fournie")


def evaluer(
    dossier: Mapping[str, Any],
    logement: Mapping[str, Any] | None = None,
    date: dt.date | None = None,
    aide_logement: AideLogement | Decimal | float | None = None,
    *,
    moteur: str = "durable",
    contexte: str = "demande",
    trace: bool = True,
) -> dict[str, Any]:
    """Evaluate a normalised dossier (and dwelling) at `date` with the rulebook in force; see module doc."""
    return evaluer_detaille(dossier, logement, date, aide_logement, moteur=moteur, contexte=contexte, trace=trace)[0]


def evaluer_detaille(
    dossier: Mapping[str, Any],
    logement: Mapping[str, Any] | None = None,
    date: dt.date | None = None,
    aide_logement: AideLogement | Decimal | float | None = None,
    *,
    moteur: str = "durable",
    contexte: str = "demande",
    trace: bool = True,
) -> tuple[dict[str, Any], set[str], Derivation]:
    """`evaluer`, plus what the contract leaves out: the ids of the rules and criteria that applied and
    the derivation (the persisted evaluations of webapp store them)."""
    if date is None:
        raise ValueError("date de référence obligatoire (la date de la commission, ou aujourd'hui)")
    if contexte not in CONTEXTES:
        raise ValueError(f"contexte inconnu : {contexte}")
    aide = _aide(aide_logement)
    m = moteur_a_la_date(date)
    derivation = deriver(dossier, logement, date, parametres_a_la_date(date, m.racine), aide_logement=aide)
    plats = faits_plats(derivation.faits)
    plats["evaluation.contexte"] = contexte  # the fact `evaluation: {contexte}`, last as before
    grille_et_criteres = m.grille(derivation.ressources.epci)
    grille = grille_et_criteres[0] if grille_et_criteres else None
    appliquees = m.appliquees(plats, grille, moteur)
    resultat = assembler(m, derivation, plats, appliquees, grille_et_criteres, logement, trace=trace)
    resultat["empreinte_entree"] = empreinte_entree(dossier, logement, date, aide, contexte)
    return resultat, appliquees, derivation


def assembler(
    m: Moteur,
    derivation: Derivation,
    faits: Mapping[str, Any],
    appliquees: set[str],
    grille_et_criteres: tuple[Grille, tuple[RegleCompilee, ...]] | None,
    logement: Mapping[str, Any] | None,
    *,
    trace: bool = True,
) -> dict[str, Any]:
    """The contract (rules/schemas/evaluation.schema.json) from the facts and the rules that applied."""
    # The rules that applied, in rulebook order, grouped by type of effect (codes without duplicates).
    regles = m.regles
    rang = m.rang_regle
    par_type: dict[str, list[RegleCompilee]] = {}
    codes_par_type: dict[str, dict[str, None]] = {}
    for i in sorted(rang[rid] for rid in appliquees if rid in rang):
        r = regles[i]
        type_ = r.effet["type"]
        par_type.setdefault(type_, []).append(r)
        codes_par_type.setdefault(type_, {})[r.effet["code"]] = None

    def codes(type_: str) -> list[str]:
        return list(codes_par_type.get(type_, ()))

    motifs = codes("irrecevabilite")
    pieces = codes("incompletude")
    dossier_complet = not pieces and not derivation.pieces_manquantes
    recevable: bool | None = False if motifs else (True if dossier_complet else None)
    eligibles = set(codes("eligibilite"))
    revenu = faits.get("ressources.revenu_retenu")
    situations = situations_prioritaires()
    priorites = []
    vus: set[str] = set()
    for r in (*par_type.get("dalo", ()), *par_type.get("priorite", ())):
        code = r.effet["code"]
        if code in vus:
            continue
        vus.add(code)
        libelle = situations[code]["libelle"] if code in situations else r.titre
        priorites.append({"code": code, "libelle": libelle, "reference": r.reference, "regle": r.id})
    lda = codes("logement_d_abord")
    res = derivation.ressources
    resultat: dict[str, Any] = {
        "date_evaluation": derivation.date.isoformat(),
        "version_regles": m.version,
        "empreinte_entree": None,
        "parametres_a_verifier": list(derivation.parametres_a_verifier),
        "dossier_complet": dossier_complet,
        "pieces_manquantes": pieces,
        "pieces_manquantes_detail": list(derivation.pieces_manquantes),
        "avertissements": list(derivation.avertissements),
        "menage": {
            "nb_personnes": derivation.menage.nb_personnes,
            "nb_personnes_a_charge": derivation.menage.nb_personnes_a_charge,
            "categorie": derivation.menage.categorie,
            "personnes_supplementaires": derivation.menage.personnes_supplementaires,
            "unites_consommation": _fraction(derivation.menage.unites_consommation),
            "fondement_categorie": derivation.menage.fondement_categorie,
        },
        "ressources": {
            "revenu_retenu": _euros(res.revenu_retenu),
            "source_revenu": res.source,
            "annee_revenu": res.annee,
            "revenu_annuel_par_uc": _euros(res.annuel_par_uc),
            "ressources_mensuelles": _euros(res.mensuelles),
            "epci": res.epci,
            "quartile": res.quartile,
            "quartiles": dict(res.quartiles),
            "premier_quartile": "Q1" in codes("quartile"),
        },
        "plafonds": {
            f: {
                "plafond": _euros(faits.get(f"plafonds.{f}")),
                "eligible": None if revenu is None or f"plafonds.{f}" not in faits else f in eligibles,
            }
            for f in FINANCEMENTS
        },
        "zone": derivation.plafonds.zone,
        "recevable": recevable,
        "motifs_irrecevabilite": motifs,
        "priorites": priorites,
        "dalo": "DALO" in codes("dalo"),
        "designation_prefet": "DALO_DESIGNE_PREFET" in codes("dalo"),
        "logement_d_abord": {"eligible": bool(lda), "criteres": lda},
        "alertes": codes("alerte"),
        "cotation": None,
        "trace": [],
    }
    if faits.get("evaluation.contexte") == "examen_occupation":
        resultat["examen_occupation"] = codes("examen_occupation")
    if grille_et_criteres is not None:
        grille, criteres = grille_et_criteres
        resultat["cotation"] = coter(grille, appliquees, faits)
    else:
        resultat["cotation"] = sans_grille(res.epci)
    if logement is not None and derivation.adequation is not None:
        a = derivation.adequation
        adequats = set(codes("adequation"))
        plafond_applicable = faits.get("plafonds.applicable")
        resultat["adequation"] = {
            "financement": a.financement,
            "plafond": _euros(plafond_applicable),
            "plafond_respecte": None if revenu is None or plafond_applicable is None
            else "recevabilite.ressources_au_dessus_plafond" not in appliquees,
            "taux_effort": _fraction(a.taux_effort),
            "apl": _euros(a.aide_logement),
            "source_apl": a.source_aide_logement,
            "cout_mensuel": _euros(a.cout_mensuel),
            "cout_net_mensuel": _euros(a.cout_net_mensuel),
            "reste_a_vivre_par_uc_jour": _euros(a.reste_a_vivre_uc_jour),
            "surface_minimale": _euros(a.surface_minimale),
            "sur_occupation": "SUR_OCCUPATION" in adequats,
            "sous_occupation": "SOUS_OCCUPATION" in adequats,
            "alertes": [c for c in resultat["alertes"]],
        }
    if trace:
        lignes: list[dict[str, Any]] = []
        tracer(m.trace_regles, appliquees, faits, lignes)
        if grille_et_criteres is not None:
            grille, criteres = grille_et_criteres
            connus = m.traces_grilles.get(grille.id)
            infos = connus[1] if connus is not None and connus[0] is criteres else infos_trace(criteres)
            tracer(infos, appliquees, faits, lignes)
        resultat["trace"] = lignes
    return resultat
