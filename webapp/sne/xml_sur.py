"""Safe reading of an SNE `interfaceNuu` file, and a walker that remembers what it has read.

The file is parsed with defusedxml with every DTD refused: an SNE file never has one, and refusing
it closes external entities and entity-expansion bombs at once. The walker (`Noeud`) names every
element by a readable path (`demandeLogement/personnePhysique/demandeur/listeRessourceRecue/
detailRessource[3]/ressource@code`), collects errors instead of stopping at the first, and marks
each element and attribute it reads, so that whatever the import does not take is listed in the
report, never silently dropped.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden, NotSupportedError
from defusedxml import ElementTree as ET_SUR

from ..referentiels import listes_sne

NS_NUU = "http://nuu.application.i2/"
RACINE = "interfaceNuu"

# Messages of the expat error codes a hand-edited or truncated file typically hits.
ERREURS_EXPAT = {
    2: "syntaxe XML invalide",
    3: "document vide",
    4: "caractère ou balise invalide",
    5: "balise non terminée",
    6: "caractère incomplet",
    7: "balise de fermeture qui ne correspond pas à la balise ouverte",
    8: "attribut répété",
    9: "contenu après l'élément racine",
    11: "entité non définie",
    27: "préfixe d'espace de noms non déclaré",
}

RE_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?$")
RE_ENTIER = re.compile(r"^\+?\d{1,9}$")
RE_MONTANT = re.compile(r"^\+?\d{1,10}(\.\d+)?$")


class ErreurSNE(ValueError):
    """A refused file: `erreurs` lists (element path, French message)."""

    def __init__(self, erreurs: list[tuple[str, str]]) -> None:
        self.erreurs = erreurs
        super().__init__(" ; ".join(f"{chemin} : {message}" if chemin else message for chemin, message in erreurs))


def nom_local(tag: str) -> str:
    """The element name without the SNE namespace; a foreign namespace stays visible."""
    if tag.startswith("{" + NS_NUU + "}"):
        return tag[len(NS_NUU) + 2 :]
    return tag


def chemin_enfant(chemin_parent: str, nom_parent: str, nom: str, rang: int, nombre: int) -> str:
    """Path of a child: list items and repeated elements carry their rank (1-based)."""
    if chemin_parent == RACINE:
        base = nom
    elif chemin_parent == "demande" and nom == "demandeLogement":
        base = nom
    else:
        base = f"{chemin_parent}/{nom}"
    if nom_parent.startswith("liste") or nombre > 1:
        base += f"[{rang}]"
    return base


def _chemin_pile(pile: list[str]) -> str:
    """Path of the element open when parsing failed (ranks are unknown at that point)."""
    chemin = RACINE
    for nom in pile[1:]:
        chemin = chemin_enfant(chemin, "", nom, 1, 1)
    return chemin


def analyser(contenu: bytes) -> Element:
    """Parse the bytes of a file; raise ErreurSNE (French, with line and element) if refused."""
    pile: list[str] = []
    try:
        iterateur = ET_SUR.iterparse(
            io.BytesIO(contenu), events=("start", "end"), forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
        for evenement, element in iterateur:
            if evenement == "start":
                pile.append(nom_local(element.tag))
            else:
                pile.pop()
        racine = iterateur.root  # type: ignore[attr-defined]
    except ParseError as exc:
        ligne, colonne = getattr(exc, "position", (0, 0))
        nature = ERREURS_EXPAT.get(getattr(exc, "code", 0), "XML mal formé")
        ou = f", dans l'élément {_chemin_pile(pile)}" if pile else ""
        raise ErreurSNE([("", f"XML mal formé (ligne {ligne}, colonne {colonne + 1}) : {nature}{ou}.")]) from None
    except DTDForbidden:
        raise ErreurSNE(
            [("", "XML refusé : déclaration DOCTYPE interdite (un fichier SNE n'en a pas ; "
                  "elle permettrait entités externes et expansion d'entités).")]
        ) from None
    except (EntitiesForbidden, ExternalReferenceForbidden):
        raise ErreurSNE([("", "XML refusé : entité déclarée ou référence externe interdite.")]) from None
    except NotSupportedError:
        raise ErreurSNE([("", "XML refusé : construction XML non prise en charge.")]) from None
    if nom_local(racine.tag) != RACINE:
        raise ErreurSNE(
            [(nom_local(racine.tag), f"Racine inattendue : un fichier SNE a pour racine {RACINE} "
                                     f"dans l'espace de noms {NS_NUU}.")]
        )
    return racine


class Lecteur:
    """What one reading has found: errors, report entries, elements and attributes read."""

    def __init__(self) -> None:
        self.erreurs: list[tuple[str, str]] = []
        self.rapport: list[dict[str, str]] = []
        self._lus: set[int] = set()
        self._attributs_lus: set[tuple[int, str]] = set()

    def erreur(self, chemin: str, message: str) -> None:
        if (chemin, message) not in self.erreurs:
            self.erreurs.append((chemin, message))

    def signaler(self, chemin: str, raison: str) -> None:
        """Something of the file that Caléol does not keep."""
        self.rapport.append({"nature": "non repris", "chemin": chemin, "raison": raison})

    def noter(self, chemin: str, raison: str) -> None:
        """Something kept, but adapted to the dossier format (the reader should know)."""
        self.rapport.append({"nature": "adapté", "chemin": chemin, "raison": raison})

    def marquer(self, element: Element, *, sous_arbre: bool = False) -> None:
        self._lus.add(id(element))
        if sous_arbre:
            for descendant in element.iter():
                self._lus.add(id(descendant))
                for attribut in descendant.attrib:
                    self._attributs_lus.add((id(descendant), attribut))

    def marquer_attribut(self, element: Element, attribut: str) -> None:
        self._attributs_lus.add((id(element), attribut))

    def balayer(self, noeud: Noeud) -> None:
        """Report every element and attribute of the tree that nothing has read."""
        for attribut in noeud.element.attrib:
            if (id(noeud.element), attribut) not in self._attributs_lus:
                self.signaler(f"{noeud.chemin}@{nom_local(attribut)}", "attribut non reconnu par l'import : non repris")
        for enfant in noeud.tous_les_enfants():
            if id(enfant.element) in self._lus:
                self.balayer(enfant)
            else:
                self.signaler(enfant.chemin, "élément non reconnu par l'import Caléol : non repris")


class Noeud:
    """An element with its readable path; every accessor marks what it reads."""

    def __init__(self, element: Element, chemin: str, lecteur: Lecteur) -> None:
        self.element = element
        self.chemin = chemin
        self.lecteur = lecteur
        self.nom = nom_local(element.tag)
        lecteur.marquer(element)

    # -- navigation ------------------------------------------------------------------------

    def _enfants_bruts(self) -> Iterator[tuple[Element, str]]:
        noms = [nom_local(e.tag) for e in self.element]
        rangs: dict[str, int] = {}
        for element, nom in zip(self.element, noms, strict=True):
            rangs[nom] = rangs.get(nom, 0) + 1
            yield element, chemin_enfant(self.chemin, self.nom, nom, rangs[nom], noms.count(nom))

    def tous_les_enfants(self) -> list[Noeud]:
        """Children without marking them read (for the final sweep)."""
        resultat = []
        for element, chemin in self._enfants_bruts():
            noeud = Noeud.__new__(Noeud)
            noeud.element, noeud.chemin, noeud.lecteur, noeud.nom = element, chemin, self.lecteur, nom_local(element.tag)
            resultat.append(noeud)
        return resultat

    def enfants(self, nom: str) -> list[Noeud]:
        return [Noeud(e, c, self.lecteur) for e, c in self._enfants_bruts() if nom_local(e.tag) == nom]

    def enfant(self, nom: str) -> Noeud | None:
        trouves = self.enfants(nom)
        if len(trouves) > 1:
            self.lecteur.erreur(trouves[1].chemin, f"Élément {nom} répété : une seule occurrence attendue.")
        return trouves[0] if trouves else None

    def non_repris(self, nom: str, raison: str) -> None:
        """A known element Caléol does not keep: read (so not «unknown»), and listed with its reason."""
        for element, chemin in self._enfants_bruts():
            if nom_local(element.tag) == nom:
                self.lecteur.marquer(element, sous_arbre=True)
                self.lecteur.signaler(chemin, raison)

    # -- values ----------------------------------------------------------------------------

    def valeur(self) -> str | None:
        texte = (self.element.text or "").strip()
        return texte or None

    def _lire(self, nom: str, conversion: Callable[[Noeud, str], Any]) -> Any:
        noeud = self.enfant(nom)
        if noeud is None:
            return None
        texte = noeud.valeur()
        if texte is None:
            return None
        return conversion(noeud, texte)

    def texte(self, nom: str) -> str | None:
        return self._lire(nom, lambda _n, t: t)

    def date(self, nom: str) -> dt.date | None:
        return self._lire(nom, _en_date)

    def date_heure(self, nom: str) -> dt.date | None:
        """An xs:dateTime (or xs:date) reduced to its date."""
        return self._lire(nom, _en_date_heure)

    def entier(self, nom: str, minimum: int = 0, maximum: int = 10**9) -> int | None:
        return self._lire(nom, lambda n, t: _en_entier(n, t, minimum, maximum))

    def montant(self, nom: str) -> Decimal | None:
        return self._lire(nom, lambda n, t: _en_decimal(n, t, "Montant invalide (nombre positif en euros, point décimal)"))

    def nombre(self, nom: str) -> Decimal | None:
        return self._lire(nom, lambda n, t: _en_decimal(n, t, "Nombre invalide (nombre positif, point décimal)"))

    def booleen(self, nom: str) -> bool | None:
        return self._lire(nom, _en_booleen)

    def code(self, nom: str, liste: str) -> str | None:
        """The `code` attribute of a child, checked against the SNE list."""
        noeud = self.enfant(nom)
        if noeud is None:
            return None
        return noeud.code_propre(liste)

    def attribut_code(self) -> str | None:
        """The raw `code` attribute of this element (an error if it is missing)."""
        if "code" not in self.element.attrib:
            self.lecteur.erreur(f"{self.chemin}@code", "Attribut code absent.")
            return None
        self.lecteur.marquer_attribut(self.element, "code")
        return self.element.attrib["code"].strip()

    def code_propre(self, liste: str) -> str | None:
        chemin = f"{self.chemin}@code"
        if "code" not in self.element.attrib:
            self.lecteur.erreur(chemin, f"Attribut code absent (liste SNE {liste}).")
            return None
        code = self.attribut_code() or ""
        if code not in listes_sne()[liste]:
            self.lecteur.erreur(chemin, f"Code inconnu « {code} » (liste SNE {liste}).")
            return None
        return code


def _en_date(noeud: Noeud, texte: str) -> dt.date | None:
    trouve = RE_DATE.match(texte)
    try:
        if trouve:
            return dt.date.fromisoformat(trouve.group(1))
    except ValueError:
        pass
    noeud.lecteur.erreur(noeud.chemin, "Date invalide (format AAAA-MM-JJ attendu).")
    return None


def _en_date_heure(noeud: Noeud, texte: str) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(texte.replace("Z", "+00:00")).date()
    except ValueError:
        noeud.lecteur.erreur(noeud.chemin, "Date et heure invalides (format AAAA-MM-JJTHH:MM:SS attendu).")
        return None


def _en_entier(noeud: Noeud, texte: str, minimum: int, maximum: int) -> int | None:
    if RE_ENTIER.match(texte) and minimum <= int(texte) <= maximum:
        return int(texte)
    noeud.lecteur.erreur(noeud.chemin, f"Nombre entier attendu, entre {minimum} et {maximum}.")
    return None


def _en_decimal(noeud: Noeud, texte: str, message: str) -> Decimal | None:
    if not RE_MONTANT.match(texte):
        noeud.lecteur.erreur(noeud.chemin, message + ".")
        return None
    valeur = Decimal(texte)
    if valeur != valeur.quantize(Decimal("0.01")):
        noeud.lecteur.erreur(noeud.chemin, message + " : au plus deux décimales.")
        return None
    return valeur.quantize(Decimal("0.01"))


def _en_booleen(noeud: Noeud, texte: str) -> bool | None:
    if texte in ("true", "1"):
        return True
    if texte in ("false", "0"):
        return False
    noeud.lecteur.erreur(noeud.chemin, "Booléen attendu (true ou false).")
    return None
