"""Tenants in place for part of the demo stock (occupancy review, L442-5-2): deterministic, seeded.

The households are written through the tenants' import (webapp.services.occupation.importer_locataires)
in the demo's transaction. Each of the five review situations appears at least once in a territory
where the review applies, with a lease old enough for a review to be due at the reference date; the
other leases are drawn at random (size of household fitting the dwelling or not, incomes around the
dwelling's ceiling). VALEURS DE DÉMONSTRATION, sans portée juridique: the shares and factors below
only shape the fictitious data; the rules read none of them. The ceilings come from rules/donnees
(Referentiel.plafond) and the minimum surfaces from rules/parametres (engine.derivations).
"""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from engine.derivations import surface_minimale
from engine.occupation import EPCI_CONCERNES, PERIODICITE
from engine.parametres import parametres_a_la_date

from ..models import Financement, StatutLogement
from .tirage import graine, naissance_pour_age

PART_LOGES = 0.35  # share of the occupied dwellings whose tenants are loaded
FACTEUR_REVENU_MODESTE = (0.35, 0.85)  # × the dwelling's ceiling
FACTEUR_REVENU_ELEVE = (1.6, 2.2)  # × the dwelling's ceiling (situation 5)
ANCIENNETE_BAIL_JOURS = (60, 16 * 365)
PART_HANDICAP_LOGE_ADAPTE = 0.05
SITUATIONS = ("sur_occupation", "sous_occupation", "adapte_inutile", "handicap", "ressources")
TAILLE_MAX = 9


def _categorie(nb: int) -> tuple[int, int]:
    return min(nb, 6), max(nb - 6, 0)


class _Fabrique:
    def __init__(self, jeu, r: random.Random) -> None:
        self.jeu = jeu
        self.r = r
        self.date = jeu.date
        self.noms = jeu.ref.noms
        self.p = parametres_a_la_date(jeu.date)

    def _nom(self) -> str:
        return self.noms["noms"][self.r.randrange(len(self.noms["noms"]))]

    def _prenom(self, cle: str) -> str:
        liste = self.noms[cle]
        return liste[self.r.randrange(len(liste))]

    def _revenu(self, financement: str, nb: int, facteur: tuple[float, float]) -> Decimal:
        annee = self.date.year - 2
        fin = financement if financement in ("PLAI", "PLUS", "PLS") else "PLS"
        plafond = self.jeu.ref.plafond(annee, fin, *_categorie(nb))
        return Decimal(round(plafond * (facteur[0] + (facteur[1] - facteur[0]) * self.r.random()))).quantize(Decimal("0.01"))

    def menage(self, nb: int, financement: str, *, revenu: tuple[float, float], handicap: bool = False
               ) -> list[dict[str, Any]]:
        """`nb` persons: a holder (with a spouse from two persons, by chance), then children."""
        r = self.r
        nom = self._nom()
        age = r.randint(28, 72) if nb <= 2 else r.randint(28, 50)
        femme = r.random() < 0.5
        titulaire = {"role": "titulaire", "lien_cotitulaire": None, "nom": nom,
                     "prenom": self._prenom("prenoms_femmes" if femme else "prenoms_hommes"),
                     "date_naissance": naissance_pour_age(r, age, self.date), "handicap_reconnu": handicap,
                     "handicap_details": "Mobilité réduite (fauteuil roulant)" if handicap else None,
                     "revenus_fiscaux": []}
        occupants = [titulaire]
        if nb >= 2 and (nb == 2 or r.random() < 0.6):
            occupants.append({"role": "cotitulaire", "lien_cotitulaire": r.choice(["conjoint", "pacse"]),
                              "nom": nom, "prenom": self._prenom("prenoms_hommes" if femme else "prenoms_femmes"),
                              "date_naissance": naissance_pour_age(r, max(age + r.randint(-5, 5), 20), self.date),
                              "handicap_reconnu": False, "handicap_details": None, "revenus_fiscaux": []})
        while len(occupants) < nb:
            fille = r.random() < 0.5
            occupants.append({"role": "personne_a_charge", "lien_cotitulaire": None, "nom": nom,
                              "prenom": self._prenom("enfants_filles" if fille else "enfants_garcons"),
                              "date_naissance": naissance_pour_age(r, r.randint(0, 17), self.date),
                              "handicap_reconnu": False, "handicap_details": None, "revenus_fiscaux": []})
        total = self._revenu(financement, nb, revenu)
        # One notice for the couple (the cotitulaire is on it without an amount of their own).
        for annee in (self.date.year - 2, self.date.year - 1):
            titulaire["revenus_fiscaux"].append({"annee": annee, "montant": total})
            for o in occupants[1:]:
                if o["role"] == "cotitulaire":
                    o["revenus_fiscaux"].append({"annee": annee, "montant": None})
        return occupants

    def taille_sur_occupee(self, surface: Decimal) -> int | None:
        for n in range(2, TAILLE_MAX + 1):
            if surface_minimale(n, self.p) > surface:
                return n
        return None

    def taille_adaptee(self, nb_pieces: int, surface: Decimal) -> int:
        """A size neither over- nor under-occupying the dwelling (as far as possible)."""
        en_sus = self.p.valeur("adequation.sous_occupation.pieces_en_sus_des_personnes")
        n = max(nb_pieces - en_sus, 1)
        while n > 1 and surface_minimale(n, self.p) > surface:
            n -= 1
        return n

    def date_bail(self, due: bool) -> dt.date:
        periode = self.p.valeur(PERIODICITE)
        if due:
            return self.date - dt.timedelta(days=self.r.randint(periode * 365 + 30, ANCIENNETE_BAIL_JOURS[1]))
        return self.date - dt.timedelta(days=self.r.randint(*ANCIENNETE_BAIL_JOURS))

    def bail(self, lg, situation: str | None, due: bool) -> dict[str, Any] | None:
        _id, _res, reference, _typologie, nb_pieces, surface, _etage, _asc, _accessible, financement = lg.ligne[:10]
        surface = Decimal(str(surface))
        # The bailleur knows which dwellings it adapted: an accessible dwelling is not adapted by default.
        adapte = False
        besoin = False
        handicap = False
        revenu = FACTEUR_REVENU_MODESTE
        nb = self.taille_adaptee(nb_pieces, surface)
        if situation == "sur_occupation":
            nb = self.taille_sur_occupee(surface)
            if nb is None:
                return None
        elif situation == "sous_occupation":
            if nb_pieces < 3:
                return None
            nb = 1
        elif situation == "adapte_inutile":
            adapte = True
        elif situation == "handicap":
            handicap = True
            besoin = self.r.random() < 0.5
        elif self.r.random() < PART_HANDICAP_LOGE_ADAPTE:
            # A disabled tenant in the dwelling adapted for them: no situation.
            handicap = adapte = True
        elif situation == "ressources":
            revenu = FACTEUR_REVENU_ELEVE
        if situation in ("adapte_inutile", "handicap") and self.taille_sur_occupee(surface) is not None:
            nb = min(nb, self.taille_sur_occupee(surface) - 1)
        occupants = self.menage(nb, financement, revenu=revenu, handicap=handicap)
        return {"reference": f"BAIL-{reference}", "logement": reference, "date_signature": self.date_bail(due),
                "logement_adapte": adapte, "besoin_logement_adapte": besoin, "occupants": occupants}


def fichier_locataires_demo(jeu) -> dict[str, Any]:
    """The tenants' file of the demo (the loaded form of webapp.schemas.locataires), from the seed."""
    r = graine(jeu.seed, "locataires")
    fabrique = _Fabrique(jeu, r)
    concernes = set(fabrique.p.valeur(EPCI_CONCERNES))
    occupes = [lg for lg in jeu.logements
               if lg.statut == StatutLogement.OCCUPE.value and lg.ligne and lg.ligne[9] != Financement.PLI.value]
    baux: list[dict[str, Any]] = []
    pris: set[int] = set()
    # One lease due for review in a territory concerned, for each of the five situations.
    dans_zone = [lg for lg in occupes if lg.epci in concernes]
    for situation in SITUATIONS:
        for lg in dans_zone:
            if lg.id in pris:
                continue
            b = fabrique.bail(lg, situation, due=True)
            if b is not None:
                baux.append(b)
                pris.add(lg.id)
                break
    # Then a share of the other occupied dwellings, mostly without any situation.
    for lg in occupes:
        if lg.id in pris or r.random() >= PART_LOGES:
            continue
        situation = r.choice(SITUATIONS) if r.random() < 0.3 else None
        b = fabrique.bail(lg, situation, due=r.random() < 0.7) or fabrique.bail(lg, None, due=False)
        baux.append(b)
        pris.add(lg.id)
    return {"baux": baux}


def charger_locataires_demo(session, jeu, *, acteur: str) -> dict[str, int]:
    """Write the demo tenants (no audit entry of their own: the demo load writes one for everything)."""
    from ..services.occupation import importer_locataires

    fichier = fichier_locataires_demo(jeu)
    if not fichier["baux"]:
        return {}
    comptes = importer_locataires(session, fichier, acteur=acteur, journal=False)
    return {"bail_locataire": comptes["baux_crees"], "occupant_locataire": comptes["occupants"]}
