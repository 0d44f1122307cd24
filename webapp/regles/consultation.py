"""What is in force at a date, read from the rule files as the engine reads them.

    en_vigueur(date) -> dict: domaines of rules (conditions in plain French), groups of parameters,
    cotation grids, ranking criteria, rulebook version.

Shared by the rules browser (/regles) and the public notice (webapp.services.notice): both show the
objects the engine evaluates, never a copy of them.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.geo import charger_territoire
from engine.parametres import ValeurEnVigueur, charger_referentiel
from engine.regles import Grille, reglement
from engine.version import chemin_regles, version_regles
from engine.yaml_strict import charger_yaml

from .conditions_fr import Noeud, en_clair, structure

# French names of the rule domains (the `domaine` of each file of rules/regles, and the flux).
DOMAINES = {
    "recevabilite": "Recevabilité de la demande",
    "ressources": "Plafonds de ressources",
    "priorite": "Publics prioritaires (article L441-1)",
    "dalo": "Droit au logement opposable (DALO)",
    "lda": "Logement d'abord",
    "mixite": "Mixité sociale : quartiles de ressources",
    "adequation": "Adéquation entre le ménage et le logement",
    "occupation": "Examen de l'occupation des logements",
    "flux": "Gestion en flux : logements soustraits du flux",
}
ORDRE_DOMAINES = tuple(DOMAINES)

# Parameter groups: the file that defines them (a data table is grouped with the file declaring it).
GROUPES_PARAMETRES = {
    "plafonds": "Plafonds de ressources",
    "ressources": "Ressources retenues",
    "menage": "Composition du ménage",
    "quartiles": "Quartiles de ressources et unités de consommation",
    "zones": "Zones des plafonds",
    "adequation": "Adéquation entre le ménage et le logement",
    "delais": "Délais",
    "propositions": "Propositions de candidats",
    "quotas": "Objectifs d'attribution",
    "politique_locale": "Politique locale du bailleur (ce n'est pas du droit)",
    "flux": "Gestion en flux",
    "objectifs": "Objectifs Logement d'abord du territoire",
}
TABLE_QUARTILES = re.compile(r"^quartiles\.seuils\.([0-9]{9})\.(q[123])$")
# References to the team's internal notes (DOMAIN.md §…), alone in parentheses or after a separator.
_RENVOIS_INTERNES = (
    re.compile(r"\s*\((?:voir )?DOMAIN\.md[^)]*\)"),
    re.compile(r"\s*[;,]\s*DOMAIN\.md[^);]*(?=\))"),
    re.compile(r"\s*DOMAIN\.md\s*§[0-9.]+(?:\s*(?:et|,|–|-)\s*§?[0-9.]+)*"),
)
UNITES = {  # unit → (singular, plural)
    "m2": ("m²", "m²"), "an": ("an", "ans"), "jour": ("jour", "jours"), "mois": ("mois", "mois"),
    "attribution": ("attribution", "attributions"), "euro_annuel_par_uc": ("€ par an et par UC", "€ par an et par UC"),
    "euro": ("€", "€"), "euro_annuel": ("€ par an", "€ par an"),
}


def sans_renvoi_interne(texte: str | None) -> str | None:
    """Drop the references to the team's internal domain notes (DOMAIN.md §…) from a displayed text."""
    if texte is None:
        return None
    for motif in _RENVOIS_INTERNES:
        texte = motif.sub("", texte)
    return texte.strip()


@dataclass
class RegleVue:
    id: str
    titre: str
    reference: dict[str, Any]
    debut: dt.date
    fin: dt.date | None
    condition: str
    arbre: Noeud
    effet: str
    interpretation: dict[str, Any] | None = None
    non_confirme: bool = False
    note: str | None = None


@dataclass
class Domaine:
    code: str
    titre: str
    description: str | None
    regles: list[RegleVue] = field(default_factory=list)


@dataclass
class ParametreVue:
    chemin: str
    description: str
    valeur: Any
    unite: str | None
    type: str
    debut: dt.date
    fin: dt.date | None
    reference: Any
    a_verifier: bool
    note: str | None
    politique_locale: bool
    source: str | None


@dataclass
class GroupeParametres:
    code: str
    titre: str
    parametres: list[ParametreVue] = field(default_factory=list)
    # Large data tables summarised instead of listed (quartile thresholds per EPCI).
    quartiles: list[dict[str, Any]] = field(default_factory=list)
    reference_quartiles: Any = None


def _descriptions_domaines() -> dict[str, str]:
    res = {}
    for fichier in sorted(chemin_regles("regles").glob("*.yaml")):
        contenu = charger_yaml(fichier)
        res[contenu["domaine"]] = sans_renvoi_interne(" ".join(str(contenu.get("description", "")).split()))
    flux = charger_yaml(chemin_regles("flux", "exclusions.yaml"))
    res["flux"] = sans_renvoi_interne(" ".join(str(flux.get("description", "")).split()))
    return res


def _effet(effet: dict[str, Any]) -> str:
    type_ = effet.get("type")
    code = effet.get("code")
    libelles = {
        "irrecevabilite": "motif d'irrecevabilité",
        "incompletude": "pièce manquante",
        "eligibilite": "éligible au financement",
        "priorite": "priorité",
        "dalo": "DALO",
        "logement_d_abord": "public du Logement d'abord",
        "quartile": "quartile",
        "adequation": "inadéquation signalée",
        "alerte": "alerte à la commission",
        "examen_occupation": "situation de l'examen de l'occupation",
    }
    if type_ is None and "motif" in effet:
        return f"logement hors flux, motif : {effet['motif']}"
    texte = libelles.get(type_, str(type_))
    return f"{texte} : {code}" if code else texte


def domaines_en_vigueur(date: dt.date) -> list[Domaine]:
    from ..services.flux import charger_regles_flux

    r = reglement()
    descriptions = _descriptions_domaines()
    domaines: dict[str, Domaine] = {}

    def domaine(code: str) -> Domaine:
        if code not in domaines:
            domaines[code] = Domaine(code, DOMAINES.get(code, code), descriptions.get(code))
        return domaines[code]

    for regle in r.regles_en_vigueur(date):
        domaine(regle.domaine).regles.append(RegleVue(
            id=regle.id, titre=regle.titre, reference=regle.reference.en_json(), debut=regle.debut, fin=regle.fin,
            condition=en_clair(regle.condition, r.catalogue), arbre=structure(regle.condition, r.catalogue),
            effet=_effet(regle.effet), interpretation=regle.interpretation,
        ))
    flux = charger_regles_flux()
    for regle in flux.regles:
        if regle.en_vigueur(date):
            domaine("flux").regles.append(RegleVue(
                id=regle.id, titre=regle.titre, reference=dict(regle.reference), debut=regle.debut, fin=regle.fin,
                condition=en_clair(regle.condition, flux.catalogue), arbre=structure(regle.condition, flux.catalogue),
                effet=f"hors flux : {flux.motifs.get(regle.motif, regle.motif)}", non_confirme=regle.non_confirme,
                note=regle.note,
            ))
    rang = {c: i for i, c in enumerate(ORDRE_DOMAINES)}
    return sorted(domaines.values(), key=lambda d: (rang.get(d.code, len(rang)), d.code))


def _groupe(valeur: ValeurEnVigueur) -> str:
    fichier = Path(valeur.fichier)
    if fichier.suffix == ".yaml":
        return fichier.stem
    return valeur.chemin.split(".", 1)[0]


def parametres_en_vigueur(date: dt.date) -> list[GroupeParametres]:
    groupes: dict[str, GroupeParametres] = {}
    quartiles: dict[str, dict[str, Any]] = defaultdict(dict)
    territoire = charger_territoire()
    for racine in (None, chemin_regles("flux")):
        p = charger_referentiel(racine).a_la_date(date)
        for chemin in p.chemins():
            v = p.parametre(chemin)
            code = _groupe(v)
            g = groupes.setdefault(code, GroupeParametres(code, GROUPES_PARAMETRES.get(code, code)))
            m = TABLE_QUARTILES.match(chemin)
            if m:
                ligne = quartiles[m.group(1)]
                ligne[m.group(2)] = v.valeur
                ligne.update(siren=m.group(1), nom=territoire.nom_epci(m.group(1)) or "—", a_verifier=ligne.get("a_verifier") or v.a_verifier)
                g.reference_quartiles = g.reference_quartiles or v.reference
                continue
            g.parametres.append(ParametreVue(
                chemin=chemin, description=" ".join(v.description.split()), valeur=v.valeur,
                unite=charger_referentiel(racine).definitions[chemin].unite,
                type=charger_referentiel(racine).definitions[chemin].type, debut=v.debut, fin=v.fin,
                reference=v.reference, a_verifier=v.a_verifier, note=v.note, politique_locale=v.politique_locale,
                source=v.source,
            ))
    if quartiles:
        groupes["quartiles"].quartiles = sorted(quartiles.values(), key=lambda ligne: (ligne["nom"], ligne["siren"]))
    rang = {c: i for i, c in enumerate(GROUPES_PARAMETRES)}
    return sorted(groupes.values(), key=lambda g: (rang.get(g.code, len(rang)), g.code))


@dataclass
class GrilleVue:
    grille: Grille
    rubriques: list[dict[str, Any]]


def grilles_en_vigueur(date: dt.date) -> list[GrilleVue]:
    r = reglement()
    res = []
    for g in r.grilles_en_vigueur(date):
        par_rubrique: dict[str, list[dict[str, Any]]] = {}
        for c in g.criteres:
            par_rubrique.setdefault(c.rubrique, []).append({
                "id": c.id, "titre": c.titre, "points": c.points, "validation_requise": c.validation_requise,
                # The condition as evaluated: a criterion that needs validation reads the verified situation.
                "condition": en_clair(c.condition, r.catalogue), "arbre": structure(c.condition, r.catalogue),
                "interpretation": c.interpretation,
            })
        ordre = list(g.rubriques) + [k for k in par_rubrique if k not in g.rubriques]
        rubriques = [
            {"code": k, "titre": g.rubriques.get(k, k), "criteres": par_rubrique[k]} for k in ordre if k in par_rubrique
        ]
        res.append(GrilleVue(g, rubriques))
    return res


def valeur_texte(p: ParametreVue) -> str:
    """A parameter value in French (fractions as percentages, booleans as oui/non, lists joined)."""
    from ..filtres import nombre

    v = p.valeur
    if isinstance(v, bool):
        return "oui" if v else "non"
    if isinstance(v, tuple | list):
        return ", ".join(map(str, v))
    if p.type == "fraction":
        return f"{nombre(v * 100, 2).rstrip('0').rstrip(',')}\u202f%"
    if p.type in ("entier", "decimal", "montant"):
        decimales = {"entier": 0, "decimal": 4, "montant": 2}[p.type]
        texte = nombre(v, decimales)
        if decimales:
            texte = texte.rstrip("0").rstrip(",")
        if p.type == "montant" and not p.unite:
            return f"{texte}\u202f€"
        if p.unite:
            singulier, pluriel = UNITES.get(p.unite, (p.unite, p.unite))
            return f"{texte}\u202f{singulier if v == 1 else pluriel}"
        return texte
    return str(v)


def en_vigueur(date: dt.date) -> dict[str, Any]:
    """Everything in force at `date` (computed once per rulebook version and date in this process)."""
    cle = (version_regles(), date)
    if cle not in _cache:
        if len(_cache) > 16:
            _cache.clear()
        _cache[cle] = _en_vigueur(date)
    return _cache[cle]


_cache: dict[tuple[str, dt.date], dict[str, Any]] = {}


def _en_vigueur(date: dt.date) -> dict[str, Any]:
    from ..services.propositions import criteres_publies

    return {
        "date": date,
        "version": version_regles(),
        "domaines": domaines_en_vigueur(date),
        "parametres": parametres_en_vigueur(date),
        "grilles": grilles_en_vigueur(date),
        "classement": criteres_publies(),
    }
