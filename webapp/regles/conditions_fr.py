"""The engine-neutral condition language (engine/conditions.py) rendered in plain French.

    en_clair({"fait": "ressources.revenu_retenu", "op": "le", "valeur_de": "plafonds.applicable"})
    → "le revenu fiscal de référence retenu est inférieur ou égal au plafond applicable"

Fact labels come from the catalogue (rules/schemas/faits.yaml, or the `faits` block of a rule file
that declares its own), code values from the SNE code lists and the priority situations referential.
`structure()` gives the same text as a tree (one node per `all`/`any`/`not`) for nested HTML lists.
Unlike `engine.conditions.decrire` (for engineers: fact paths in brackets), nothing technical is shown.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.conditions import Catalogue
from engine.regles import listes_sne, situations_prioritaires

# Head nouns of the catalogue's labels that are feminine (the article and the agreement follow).
FEMININS = frozenset({
    "date", "ancienneté", "définition", "catégorie", "source", "année", "zone", "situation", "typologie",
    "surface", "aide", "destination", "personne", "personnes", "unités", "ressources", "pièces", "demande",
    "décision", "réservation", "valeur",
})
# Head nouns ending in -s or -x that are singular.
SINGULIERS_EN_S = frozenset({"taux", "mois", "plus", "ascenseur"})
VOYELLES = tuple("aàâeéèêiîoôuûyAÀÂEÉÈÊIÎOÔUÛY")

ADJECTIFS = {
    "lt": ("inférieur", "à"),
    "le": ("inférieur ou égal", "à"),
    "gt": ("supérieur", "à"),
    "ge": ("supérieur ou égal", "à"),
    "eq": ("égal", "à"),
    "ne": ("différent", "de"),
}


@dataclass(frozen=True)
class Sujet:
    """A fact as the subject of a French sentence."""

    libelle: str
    feminin: bool
    pluriel: bool
    booleen: bool = False

    @property
    def article(self) -> str:
        if self.pluriel:
            return "les "
        if self.libelle.startswith(VOYELLES):
            return "l'"
        return "la " if self.feminin else "le "

    @property
    def avec_article(self) -> str:
        return f"{self.article}{self.libelle}"

    def apres(self, preposition: str) -> str:
        """`à` / `de` followed by the subject, contracted (au, aux, du, des)."""
        if self.pluriel:
            return f"{'aux' if preposition == 'à' else 'des'} {self.libelle}"
        if self.article == "le ":
            return f"{'au' if preposition == 'à' else 'du'} {self.libelle}"
        return f"{preposition} {self.avec_article}"

    def accorder(self, adjectif: str) -> str:
        """Agreement of an adjective (or a chain such as « inférieur ou égal »)."""
        def un(mot: str) -> str:
            if mot in ("ou", "et"):
                return mot
            if self.feminin:
                mot += "e"
            if self.pluriel:
                mot = "égaux" if mot == "égal" else mot + "s"
            return mot

        return " ".join(un(m) for m in adjectif.split(" "))

    @property
    def etre(self) -> str:
        return "sont" if self.pluriel else "est"


def _tete(libelle: str) -> str:
    return libelle.split(" ", 1)[0].split("'", 1)[0].lower()


def sujet(chemin: str, cat: Catalogue) -> Sujet:
    definition = cat.definition(chemin) or {}
    libelle = definition.get("libelle", chemin)
    tete = _tete(libelle)
    pluriel = tete.endswith(("s", "x")) and tete not in SINGULIERS_EN_S
    return Sujet(libelle, tete in FEMININS, pluriel, definition.get("type") == "bool")


def _situation(chemin: str) -> tuple[str, str] | None:
    """('déclarée' | 'vérifiée', label) for situations.* / situations_verifiees.* facts."""
    for prefixe, etat in (("situations.", "déclarée"), ("situations_verifiees.", "vérifiée")):
        if chemin.startswith(prefixe):
            code = chemin[len(prefixe):]
            info = situations_prioritaires().get(code)
            return etat, (info["libelle"] if info else code)
    return None


def _nombre(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    texte = f"{Decimal(str(v)):,}" if isinstance(v, int) else f"{Decimal(str(v)):,f}"
    return texte.replace(",", "\u202f").replace(".", ",")


def valeur_en_clair(chemin: str, valeur: Any, cat: Catalogue) -> str:
    """A value as the reader knows it: SNE code → its label, number in French, text in quotes."""
    if isinstance(valeur, bool):
        return "oui" if valeur else "non"
    if isinstance(valeur, int | float):
        return _nombre(valeur)
    if isinstance(valeur, list | tuple):
        return ", ".join(valeur_en_clair(chemin, v, cat) for v in valeur)
    definition = cat.definition(chemin) or {}
    liste = definition.get("valeurs_de")
    if liste:
        libelles = situations_prioritaires() if liste == "situations_prioritaires" else listes_sne().get(liste, {})
        libelle = libelles.get(str(valeur))
        if isinstance(libelle, dict):
            libelle = libelle.get("libelle")
        if libelle:
            return f"« {libelle} »"
    return f"« {valeur} »"


def _feuille(cond: Mapping[str, Any], cat: Catalogue) -> str:
    fait, op = cond["fait"], cond["op"]
    situation = _situation(fait)
    if situation is not None:
        etat, libelle = situation
        oui = op == "eq" and cond.get("valeur") is True or op == "ne" and cond.get("valeur") is False
        if op in ("eq", "ne") and isinstance(cond.get("valeur"), bool):
            return f"la situation « {libelle} » {'est' if oui else 'n’est pas'} {etat}"
        if op == "exists":
            return f"la situation « {libelle} » est renseignée"
        if op == "not_exists":
            return f"la situation « {libelle} » n’est pas renseignée"
    s = sujet(fait, cat)
    if s.booleen and op in ("exists", "not_exists"):
        return f"{s.libelle} : {'renseigné' if op == 'exists' else 'non renseigné'}"
    if op == "exists":
        return f"{s.avec_article} {s.etre} {s.accorder('renseigné')}"
    if op == "not_exists":
        return f"{s.avec_article} {'ne sont pas' if s.pluriel else 'n’est pas'} {s.accorder('renseigné')}"
    if op == "any_item":
        sous = cond["condition"]
        verbe = "comprennent" if s.pluriel else "comprend"
        if sous["op"] == "in":
            return f"{s.avec_article} {verbe} l’une des valeurs suivantes : {valeur_en_clair(fait, sous['valeur'], cat)}"
        if sous["op"] == "eq":
            return f"{s.avec_article} {verbe} {valeur_en_clair(fait, sous['valeur'], cat)}"
        adjectif, prep = ADJECTIFS[sous["op"]]
        return f"{s.avec_article} {verbe} une valeur {adjectif} {prep} {valeur_en_clair(fait, sous['valeur'], cat)}"
    if "valeur_de" in cond:
        autre = sujet(cond["valeur_de"], cat)
        adjectif, prep = ADJECTIFS[op]
        return f"{s.avec_article} {s.etre} {s.accorder(adjectif)} {autre.apres(prep)}"
    valeur = cond["valeur"]
    if s.booleen and isinstance(valeur, bool):
        oui = valeur if op == "eq" else not valeur
        return f"{s.libelle} : {'oui' if oui else 'non'}"
    if op == "in":
        return f"{s.avec_article} {s.etre} l’une des valeurs suivantes : {valeur_en_clair(fait, valeur, cat)}"
    if op == "eq":
        if isinstance(valeur, int | float):
            return f"{s.avec_article} {s.etre} {s.accorder('égal')} à {valeur_en_clair(fait, valeur, cat)}"
        return f"{s.avec_article} {'valent' if s.pluriel else 'vaut'} {valeur_en_clair(fait, valeur, cat)}"
    adjectif, prep = ADJECTIFS[op]
    rendu = valeur_en_clair(fait, valeur, cat)
    liaison = f"{prep} " if not (prep == "de" and rendu.startswith("«")) else "de "
    return f"{s.avec_article} {s.etre} {s.accorder(adjectif)} {liaison}{rendu}"


def _negation_simple(cond: Mapping[str, Any], cat: Catalogue) -> str | None:
    """`not` of a yes/no fact compared to true: « non ou non renseigné » (an absent fact fails the test)."""
    if "fait" not in cond or cond["op"] != "eq" or cond.get("valeur") is not True:
        return None
    if _situation(cond["fait"]) is not None:
        return None
    s = sujet(cond["fait"], cat)
    return f"{s.libelle} : non ou non renseigné" if s.booleen else None


@dataclass(frozen=True)
class Noeud:
    """One line of a condition: a sentence, or an introduction followed by its sub-conditions."""

    texte: str
    enfants: tuple[Noeud, ...] = ()


def structure(cond: Mapping[str, Any], cat: Catalogue) -> Noeud:
    if "all" in cond:
        enfants = tuple(structure(e, cat) for e in cond["all"])
        if len(enfants) == 1:
            return enfants[0]
        return Noeud("toutes les conditions suivantes sont remplies :", enfants)
    if "any" in cond:
        enfants = tuple(structure(e, cat) for e in cond["any"])
        if len(enfants) == 1:
            return enfants[0]
        return Noeud("au moins une des conditions suivantes est remplie :", enfants)
    if "not" in cond:
        negation = _negation_simple(cond["not"], cat)
        if negation:
            return Noeud(negation)
        interne = structure(cond["not"], cat)
        if not interne.enfants:
            return Noeud(f"il n’est pas vrai que {interne.texte}")
        return Noeud("la condition suivante n’est pas remplie :", (interne,))
    return Noeud(_feuille(cond, cat))


def en_clair(cond: Mapping[str, Any], cat: Catalogue) -> str:
    """The condition as one French sentence (sub-groups in parentheses)."""

    def phrase(c: Mapping[str, Any], imbrique: bool) -> str:
        for cle, lien in (("all", " et "), ("any", " ou ")):
            if cle in c:
                morceaux = [phrase(e, True) for e in c[cle]]
                if len(morceaux) == 1:
                    return morceaux[0]
                texte = lien.join(morceaux)
                return f"({texte})" if imbrique else texte
        if "not" in c:
            return _negation_simple(c["not"], cat) or f"il n’est pas vrai que {phrase(c['not'], True)}"
        return _feuille(c, cat)

    return phrase(cond, False)
