"""The evaluation shown on a demande's fiche: the engine's result at a date with its trace in plain French.

`vue_evaluation(session, demande, date, voit_sensible)` evaluates the stored dossier without a dwelling
(engine.evaluation.evaluer, with the trace), then prepares what the page shows: the household summary,
the rules grouped by domain (title, applied or not, explanation, values used, article), the cotation
breakdown, the parameters « à vérifier » read, the rulebook version, and the applicant's position
(webapp.services.position).

Sensitive facts: a rule or cotation criterion that reads a situation flagged `sensible` in
rules/referentiels/situations_prioritaires.yaml, or whose effect is such a situation, has its
explanation and values masked for the roles that may not see sensitive facts; its title too when the
title itself names the situation (it reads only sensitive situations, or its effect is one). The
priorities and the cotation lines follow the same rule.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from engine.evaluation import evaluer
from engine.geo import charger_territoire
from engine.parametres import ParametreIntrouvable, parametres_a_la_date
from engine.regles import reglement
from engine.version import version_regles
from engine.yaml_strict import ErreurRegles

from ..filtres import libelle_regle, nombre
from ..models import Demande
from ..referentiels import motifs_sensibles, situations_prioritaires, situations_sensibles
from ..services.dossiers import dossier_depuis_demande
from ..services.position import ErreurPosition, position

PREFIXES_SITUATIONS = ("situations.", "situations_verifiees.")
MASQUE_TITRE = "Règle relative à une situation protégée"
MASQUE_CRITERE = "Critère relatif à une situation protégée"
MASQUE_SITUATION = "Situation protégée (accès restreint)"
MASQUE_DETAIL = "Détail réservé aux rôles habilités à connaître les situations protégées."
MASQUE_MOTIF = "motif protégé"

# In the order the fiche shows them (the cotation grids come after the DALO and Logement d'abord).
DOMAINES = {
    "recevabilite": "Recevabilité de la demande",
    "ressources": "Ressources et plafonds",
    "mixite": "Quartiles de ressources (mixité sociale)",
    "priorite": "Publics prioritaires (article L441-1 du CCH)",
    "dalo": "Droit au logement opposable (DALO)",
    "lda": "Logement d'abord",
    "adequation": "Adéquation au logement (évaluée avec un logement)",
    "occupation": "Examen de l'occupation (article L442-5-2 du CCH)",
}
FONDEMENTS_CATEGORIE = {
    "nombre_personnes": "nombre de personnes du ménage",
    "personne_seule_avec_charge": "personne seule avec une ou plusieurs personnes à charge",
    "handicap": "personne handicapée dans le ménage",
    "jeune_menage": "jeune ménage",
}
SOURCES_REVENU = {"N-2": "revenu fiscal de l'année N-2", "N-1": "revenu fiscal de l'année N-1",
                  "12_mois": "ressources des douze derniers mois"}
ZONES = {"paris_limitrophes": "Paris et communes limitrophes", "idf_hors_paris": "Île-de-France hors Paris et communes limitrophes",
         "autres_regions": "autres régions"}
CHEMIN_ENTRE_CROCHETS = re.compile(r"\s*\[[A-Za-z0-9_.\-]+\]")
CODE_SITUATION = re.compile(r"\b(PRIO_[A-Z_]+)\b")


@dataclass(frozen=True)
class Sensibilite:
    lit_sensible: bool  # explanation and values are masked
    titre_sensible: bool  # the title is masked too


def _code_situation(chemin: str) -> str | None:
    for prefixe in PREFIXES_SITUATIONS:
        if chemin.startswith(prefixe):
            return chemin[len(prefixe):]
    return None


@lru_cache(maxsize=4)
def _sensibilites(version: str) -> dict[str, Sensibilite]:
    """Per rule or criterion id: does it read or conclude a sensitive situation (for this rulebook version)."""
    sensibles = situations_sensibles()
    resultat: dict[str, Sensibilite] = {}
    r = reglement()
    elements: list[Any] = list(r.regles) + [c for g in r.grilles for c in g.criteres]
    motifs = motifs_sensibles()
    for e in elements:
        codes = [c for c in (_code_situation(ch) for ch in e.chemins) if c is not None]
        lus = [c for c in codes if c in sensibles]
        # A condition on a sensitive motif of the demande (violences, santé, handicap) reads a sensitive fact.
        motifs_lus = [m for m in _valeurs_de(e.condition, "demande.motifs") if m in motifs]
        if motifs_lus:
            codes.append("motif")
            lus.append("motif")
        effet = (getattr(e, "effet", None) or {}).get("code")
        effet_sensible = effet in sensibles
        resultat[e.id] = Sensibilite(
            lit_sensible=bool(lus) or effet_sensible,
            titre_sensible=effet_sensible or (bool(codes) and len(lus) == len(codes)),
        )
    return resultat


def _valeurs_de(condition: Any, fait: str) -> list[str]:
    """Every constant a condition compares the fact `fait` (or its items) with."""
    def constantes(c: Any) -> list[str]:
        if isinstance(c, dict):
            trouvees = [str(v) for v in (c["valeur"] if isinstance(c.get("valeur"), list) else [c.get("valeur")])
                        if v is not None]
            return trouvees + [x for v in c.values() if isinstance(v, (dict, list)) for x in constantes(v)]
        if isinstance(c, list):
            return [x for v in c for x in constantes(v)]
        return []

    if isinstance(condition, dict):
        if condition.get("fait") == fait:
            return constantes(condition)
        return [x for v in condition.values() for x in _valeurs_de(v, fait)]
    if isinstance(condition, list):
        return [x for v in condition for x in _valeurs_de(v, fait)]
    return []


def masquer_motifs(valeur: Any, voit_sensible: bool) -> Any:
    """The demande's motifs with the sensitive ones replaced, for roles that may not see them."""
    if voit_sensible or not isinstance(valeur, (list, tuple)):
        return valeur
    sensibles = motifs_sensibles()
    return [MASQUE_MOTIF if str(m) in sensibles else m for m in valeur]


def sensibilite(regle_id: str, version: str | None = None) -> Sensibilite:
    """`version`: the rulebook version of the evaluation (computing it hashes the rule files: pass it)."""
    return _sensibilites(version or version_regles()).get(regle_id, Sensibilite(False, False))


# --------------------------------------------------------------------------- plain French


def texte_valeur(valeur: Any) -> str:
    if valeur is None:
        return "non renseigné"
    if isinstance(valeur, bool):
        return "oui" if valeur else "non"
    if isinstance(valeur, int):
        return nombre(valeur)
    if isinstance(valeur, float):
        return nombre(valeur, 2).removesuffix(",00")
    if isinstance(valeur, (list, tuple)):
        return ", ".join(texte_valeur(v) for v in valeur) or "aucun"
    return str(valeur)


def _libelles_situations(texte: str) -> str:
    situations = situations_prioritaires()
    return CODE_SITUATION.sub(lambda m: f"« {situations[m.group(1)]['libelle']} »" if m.group(1) in situations else m.group(1), texte)


def explication_en_clair(texte: str) -> str:
    """The engine's explanation without the fact paths in brackets, situation codes given by their label."""
    return _libelles_situations(CHEMIN_ENTRE_CROCHETS.sub("", texte))


def _domaine(regle_id: str, grilles: dict[str, str]) -> tuple[str, str]:
    prefixe = regle_id.split(".", 1)[0]
    if prefixe in grilles:
        return f"cotation:{prefixe}", f"Cotation : {grilles[prefixe]}"
    return prefixe, DOMAINES.get(prefixe, prefixe)


def ligne_trace(ligne: dict[str, Any], voit_sensible: bool, catalogue, version: str) -> dict[str, Any]:
    s = sensibilite(ligne["regle"], version)
    masquee = s.lit_sensible and not voit_sensible
    titre_masque = masquee and s.titre_sensible
    return {
        # The id of a rule names its situation: not shown when the title is masked.
        "regle": None if titre_masque else ligne["regle"],
        "titre": MASQUE_TITRE if titre_masque else ligne["titre"],
        "reference": ligne["reference"],
        "appliquee": ligne["appliquee"],
        "masquee": masquee,
        "explication": MASQUE_DETAIL if masquee else explication_en_clair(ligne["explication"]),
        "valeurs": None if masquee else [
            {"chemin": c, "libelle": _libelles_situations(catalogue.libelle(c)),
             "valeur": texte_valeur(masquer_motifs(v, voit_sensible) if c == "demande.motifs" else v)}
            for c, v in ligne["valeurs"].items()
        ],
    }


def groupes_trace(trace: list[dict[str, Any]], voit_sensible: bool, version: str) -> list[dict[str, Any]]:
    """The trace's lines grouped by domain in the rulebook's order, applied rules counted."""
    r = reglement()
    grilles = {g.id: g.titre for g in r.grilles}
    groupes: dict[str, dict[str, Any]] = {}
    for brut in trace:
        cle, titre = _domaine(brut["regle"], grilles)
        g = groupes.setdefault(cle, {"cle": cle, "titre": titre, "lignes": [], "appliquees": 0})
        ligne = ligne_trace(brut, voit_sensible, r.catalogue, version)
        g["lignes"].append(ligne)
        g["appliquees"] += ligne["appliquee"]
    ordre = list(DOMAINES)
    rang_cotation = ordre.index("lda") + 0.5
    return sorted(groupes.values(), key=lambda g: rang_cotation if g["cle"].startswith("cotation:")
                  else (ordre.index(g["cle"]) if g["cle"] in ordre else len(ordre)))


# --------------------------------------------------------------------------- summary


def _libelle_masque(code: str, voit_sensible: bool, masque: str, version: str) -> str:
    if not voit_sensible and sensibilite(code, version).titre_sensible:
        return masque
    return libelle_regle(code)


def _priorites(resultat: dict[str, Any], voit_sensible: bool) -> list[dict[str, Any]]:
    sensibles = situations_sensibles()
    return [
        {"code": p["code"], "libelle": MASQUE_SITUATION if (p["code"] in sensibles and not voit_sensible) else p["libelle"],
         "reference": p.get("reference")}
        for p in resultat["priorites"]
    ]


def _cotation(resultat: dict[str, Any], voit_sensible: bool) -> dict[str, Any] | None:
    c = resultat.get("cotation") or {}
    if not c.get("grille"):
        return None
    version = resultat["version_regles"]

    def lignes(elements):
        return [{"libelle": _libelle_masque(d["critere"], voit_sensible, MASQUE_CRITERE, version), "rubrique": d["rubrique"],
                 "points": d["points"]} for d in elements]
    detail = lignes(c["detail"])
    maximum = max((float(d["points"]) for d in detail if float(d["points"]) > 0), default=0.0)
    for d in detail:
        d["largeur"] = round(100 * max(float(d["points"]), 0.0) / maximum) if maximum else 0
    return {**c, "detail": detail, "ecartes": lignes(c.get("ecartes") or [])}


def _parametres_a_verifier(chemins: list[str], date: dt.date) -> list[dict[str, Any]]:
    p = parametres_a_la_date(date)
    resultat = []
    for chemin in chemins:
        try:
            v = p.parametre(chemin)
        except ParametreIntrouvable:
            resultat.append({"chemin": chemin, "description": None, "note": None, "reference": None})
            continue
        resultat.append({"chemin": chemin, "description": v.description, "note": v.note,
                         "reference": v.reference})
    return resultat


def vue_evaluation(session: Session, demande: Demande, date: dt.date, voit_sensible: bool) -> dict[str, Any]:
    """What the fiche shows of the evaluation at `date`, or {"erreur": message} if it cannot be computed."""
    try:
        resultat = evaluer(dossier_depuis_demande(demande), None, date, trace=True)
    except (ErreurRegles, ParametreIntrouvable) as exc:
        return {"erreur": f"L'évaluation au {date:%d/%m/%Y} n'a pas pu être calculée : {exc}"}
    try:
        pos: dict[str, Any] | None = position(session, demande.numero_unique, date)
        erreur_position = None
    except (ErreurPosition, ErreurRegles, ParametreIntrouvable) as exc:
        pos, erreur_position = None, str(exc)
    res = resultat["ressources"]
    territoire = charger_territoire()
    return {
        "erreur": None,
        "nom_epci": territoire.nom_epci(res["epci"]) if res["epci"] else None,
        "date": date,
        "resultat": resultat,
        "version_regles": resultat["version_regles"],
        "fondement_categorie": FONDEMENTS_CATEGORIE.get(resultat["menage"]["fondement_categorie"],
                                                        resultat["menage"]["fondement_categorie"]),
        "source_revenu": SOURCES_REVENU.get(res["source_revenu"], res["source_revenu"]),
        "zone": ZONES.get(resultat["zone"], resultat["zone"]),
        "priorites": _priorites(resultat, voit_sensible),
        "cotation": _cotation(resultat, voit_sensible),
        "groupes": groupes_trace(resultat["trace"], voit_sensible, resultat["version_regles"]),
        "parametres_a_verifier": _parametres_a_verifier(resultat["parametres_a_verifier"], date),
        "position": pos,
        "erreur_position": erreur_position,
    }


def masquer_proposition(proposition: dict[str, Any], voit_sensible: bool) -> dict[str, Any]:
    """A proposal (webapp.services.propositions.proposer) as a role may see it: the priorities and
    cotation criteria that reveal a protected situation are replaced by neutral labels."""
    if voit_sensible:
        return proposition
    sensibles = situations_sensibles()
    version = proposition.get("version_regles")
    candidats = []
    for c in proposition.get("candidats", []):
        c = dict(c)
        c["priorites"] = [
            {**p, "code": None, "libelle": MASQUE_SITUATION} if p.get("code") in sensibles else p
            for p in c.get("priorites", [])
        ]
        cotation = dict(c.get("cotation") or {})
        cotation["detail"] = [
            {**d, "critere": None, "libelle": MASQUE_CRITERE}
            if sensibilite(d.get("critere") or "", version).titre_sensible else d
            for d in cotation.get("detail", [])
        ]
        c["cotation"] = cotation
        candidats.append(c)
    return {**proposition, "candidats": candidats}
