"""Fictitious households as dossier dicts (the JSON format of webapp.schemas.charger_dossier).

Each dossier is drawn from one seeded stream, in index order. A `Consigne` forces what the history
needs of a household (the attributed one of a past séance, or another candidate): its territory, a size
that fits the dwelling, a class of public (DALO, sortant d'hébergement, sans-abri, prioritaire,
ordinaire), a quartile, an earlier refusal. Amounts and shares come from parametres_demo.yaml, resource
ceilings and quartile thresholds from rules/donnees (through the Referentiel).
"""
from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass
from typing import Any

from .referentiel import CommuneDemo, Referentiel
from .tirage import Choix, age_le, entier_entre, entre, euros, jours, naissance_pour_age

TAILLES_TYPOLOGIE = {"T1": (1, 1), "T2": (1, 2), "T3": (2, 4), "T4": (3, 5), "T5": (4, 6), "T6": (5, 8)}
TYPOLOGIES_PAR_TAILLE = {1: ("T1", "T2"), 2: ("T2", "T3"), 3: ("T3",), 4: ("T3", "T4"), 5: ("T4", "T5"), 6: ("T5",)}
PIECES = {"T1": 1, "T2": 2, "T3": 3, "T4": 4, "T5": 5, "T6": 6}
CLASSES_PRIORITAIRES = ("dalo", "sortant_hebergement", "sans_abri", "prioritaire")
RARES = ("PRIO_SORTIE_ACT", "PRIO_VIOL_DOMICILE", "PRIO_SORTIE_PROSTITUTION", "PRIO_TRAITE_PROXENETISME")
IMPOSABLES = ("SAL", "CHO", "RET", "PINV", "PAR")
SANS_ADRESSE = ("SD", "SQUAT", "CAMCAR")


@dataclass(slots=True)
class Consigne:
    """What the history requires of one household."""

    epci: str
    typologie: str
    date_limite_depot: dt.date
    annee_seuils: int
    classe: str | None = None  # the attributed household's public; None for another candidate
    quartile: int | None = None
    date_decision: dt.date | None = None
    date_signature: dt.date | None = None
    designe_dalo: bool = False
    fonctionnaire: bool = False
    au_dessus_plafond: bool = False
    refus: dict[str, Any] | None = None


def _ascii(texte: str) -> str:
    return unicodedata.normalize("NFKD", texte).encode("ascii", "ignore").decode().lower().replace(" ", "").replace("'", "")


def _iso(d: dt.date | None) -> str | None:
    return None if d is None else d.isoformat()


class FabriqueMenages:
    def __init__(self, ref: Referentiel, r: random.Random, date_reference: dt.date, references_logements: list[str]) -> None:
        self.ref = ref
        self.p = p = ref.parametres
        self.r = r
        self.date = date_reference
        self.annee = date_reference.year
        self.references_logements = references_logements or ["—"]
        n = ref.noms
        self.noms = n["noms"]
        self.prenoms = {"F": n["prenoms_femmes"], "M": n["prenoms_hommes"]}
        self.enfants = {"F": n["enfants_filles"], "M": n["enfants_garcons"]}
        self.voies = n["voies"]
        self.professions = n["professions"]
        self.ascii_noms = {x: _ascii(x) for x in self.noms}
        self.ascii_prenoms = {x: _ascii(x) for liste in self.prenoms.values() for x in liste}
        self.choix_epci = Choix({e: t["poids_demandes"] for e, t in p["territoires"].items()})
        self.choix_communes = {
            e: Choix([(c, c.population) for c in communes]) for e, communes in ref.communes_par_epci.items()
        }
        self.choix_profil = Choix(p["profils"])
        self.choix_lien = Choix(p["liens_cotitulaire"])
        self.choix_nationalite = Choix(p["nationalites"])
        self.choix_modele = Choix(p["logement_actuel"])
        self.choix_ciblage = Choix(p["ciblage"])
        self.choix_quartile = Choix({int(k): v for k, v in p["quartiles_cibles"].items()})
        self.choix_radiation = Choix(p["motifs_radiation"])
        self.sans_abri = set(p["modeles_sans_abri"])
        self.sortants = set(p["modeles_sortants_hebergement"])
        self.heberges = set(p["modeles_heberges_tiers"])
        self.modeles_ordinaires = Choix({m: w for m, w in p["logement_actuel"].items() if m not in self.sans_abri | self.sortants})
        self.modeles_sortants = Choix({m: w for m, w in p["logement_actuel"].items() if m in self.sortants})
        self.modeles_prioritaires = Choix({"LP": 40, "CP": 20, "CPE": 20, "HLM": 12, "LTG": 4, "POCC": 4})
        self.modeles_dalo = Choix({"LP": 45, "CP": 25, "CPE": 20, "LTG": 10})
        self.uc = p["unites_consommation"]
        self.montants = p["montants_mensuels"]
        self._ages: dict[str, int] = {}

    # --- persons -------------------------------------------------------------------------------

    def _prenom(self, sexe: str, age: int) -> str:
        liste = self.enfants[sexe] if age < 25 else self.prenoms[sexe]
        return self.r.choice(liste)

    def _personne(self, role: str, sexe: str | None, naissance: dt.date | None, nom: str | None, **autres: Any) -> dict[str, Any]:
        personne = {
            "role": role,
            "lien_cotitulaire": None,
            "nom": nom,
            "prenom": None,
            "nom_naissance": None,
            "sexe": sexe,
            "date_naissance": _iso(naissance),
            "date_naissance_prevue": None,
            "lien_parente": None,
            "situation_familiale": None,
            "nationalite": None,
            "residence_reguliere": {"declaree": None, "verifiee": None},
            "mineur_emancipe": False,
            "handicap": {"cmi_invalidite": False, "details": None},
            "situation_professionnelle": None,
            "profession": None,
            "revenus_fiscaux": [],
            "ressources_12_mois": None,
            "ressources": [],
            "procedures": {"divorce": False, "dissolution_pacs": False, "ordonnance_protection": False},
        }
        personne.update(autres)
        if sexe and naissance and role != "enfant_a_naitre":
            personne["prenom"] = self._prenom(sexe, age_le(naissance, self.date))
        return personne

    def _adulte(self, role: str, age: int, sexe: str, nom: str, nationalite: str) -> dict[str, Any]:
        r = self.r
        residence = {"declaree": True, "verifiee": True if r.random() < self.p["part_residence_verifiee"] else None}
        if r.random() < self.p["part_residence_non_renseignee"]:
            residence = {"declaree": None, "verifiee": None}
        return self._personne(
            role, sexe, naissance_pour_age(r, age, self.date), nom, nationalite=nationalite, residence_reguliere=residence
        )

    def _enfant(self, role: str, age_parent: int, nom: str) -> dict[str, Any]:
        r = self.r
        age = r.randint(0, max(0, min(age_parent - 18, 20)))
        sexe = "F" if r.random() < 0.5 else "M"
        enfant = self._personne(role, sexe, naissance_pour_age(r, age, self.date), nom, lien_parente="E")
        return enfant

    def _composition(self, profil: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The persons of one household and a few facts about its shape."""
        r, p = self.r, self.p
        nom = r.choice(self.noms)
        nationalite = self.choix_nationalite.tirer(r)
        faits: dict[str, Any] = {"profil": profil, "couple": False, "marie": False, "separe": False, "lien": None}
        personnes: list[dict[str, Any]] = []
        if profil == "personne_agee":
            age = entier_entre(r, p["age_agee"])
        elif profil == "jeune_menage":
            age = entier_entre(r, p["age_jeune_menage"])
        else:
            age = min(entier_entre(r, p["age_adulte"]), entier_entre(r, p["age_adulte"]) + 8)
            if profil in ("couple_avec_enfants", "famille_monoparentale", "famille_nombreuse"):
                age = max(age, 22)
        if profil == "famille_monoparentale":
            sexe = "F" if r.random() < p["part_femmes_parent_isole"] else "M"
        else:
            sexe = "F" if r.random() < 0.52 else "M"
        demandeur = self._adulte("demandeur", age, sexe, nom, nationalite)
        personnes.append(demandeur)
        couple = profil in ("couple_sans_enfant", "jeune_menage", "couple_avec_enfants") or (
            profil == "famille_nombreuse" and r.random() < 0.65
        ) or (profil == "personne_agee" and r.random() < 0.35)
        if couple:
            lien = self.choix_lien.tirer(r)
            if profil == "jeune_menage":
                age2 = min(entier_entre(r, p["age_jeune_menage"]), p["somme_ages_jeune_menage_max"] - age)
                age2 = max(age2, 18)
            elif profil == "personne_agee":
                age2 = max(entier_entre(r, p["age_agee"]) - 2, 60)
            else:
                age2 = max(18, min(age + r.randint(-6, 6), 80))
            sexe2 = "M" if sexe == "F" else "F"
            nom2 = nom if lien == "conjoint" else r.choice(self.noms)
            conjoint = self._adulte("cotitulaire", age2, sexe2, nom2, nationalite if r.random() < 0.8 else self.choix_nationalite.tirer(r))
            conjoint["lien_cotitulaire"] = lien
            if lien == "conjoint" and sexe2 == "F":
                conjoint["nom_naissance"] = r.choice(self.noms)
            situation = {"conjoint": "M", "pacse": "P", "concubin": "U"}[lien]
            demandeur["situation_familiale"] = conjoint["situation_familiale"] = situation
            personnes.append(conjoint)
            faits.update(couple=True, marie=lien in ("conjoint", "pacse"), lien=lien)
        elif profil == "personne_seule" and r.random() < p["part_colocataires"]:
            colocataire = self._adulte("cotitulaire", max(18, age + r.randint(-5, 5)), "F" if r.random() < 0.5 else "M",
                                       r.choice(self.noms), nationalite)
            colocataire["lien_cotitulaire"] = "colocataire"
            colocataire["situation_familiale"] = "C"
            demandeur["situation_familiale"] = "C"
            personnes.append(colocataire)
            faits["lien"] = "colocataire"
        else:
            if profil == "personne_agee":
                demandeur["situation_familiale"] = "V" if r.random() < 0.6 else "D"
            elif profil in ("famille_monoparentale", "famille_nombreuse") or r.random() < 0.3:
                demandeur["situation_familiale"] = "D" if r.random() < 0.45 else ("S" if r.random() < 0.5 else "C")
                faits["separe"] = demandeur["situation_familiale"] in ("D", "S")
            else:
                demandeur["situation_familiale"] = "C"
        bornes = p["enfants"].get(profil)
        if bornes:
            nb = entier_entre(r, bornes)
            for _ in range(nb):
                role = "personne_a_charge"
                if not couple and r.random() < p["part_garde_alternee"]:
                    role = "enfant_garde_alternee"
                personnes.append(self._enfant(role, age, nom))
        if profil == "personne_seule" and faits["lien"] is None and age >= 26 and r.random() < p["part_droit_visite"]:
            for _ in range(r.randint(1, 2)):
                personnes.append(self._enfant("enfant_droit_visite", age, nom))
            faits["separe"] = True
            demandeur["situation_familiale"] = "D" if r.random() < 0.5 else "S"
        if couple and profil in ("jeune_menage", "couple_avec_enfants", "couple_sans_enfant") and r.random() < p["part_enfant_a_naitre"]:
            a_naitre = self._personne("enfant_a_naitre", None, None, None, lien_parente="E")
            a_naitre["date_naissance_prevue"] = jours(self.date, r.randint(20, 200)).isoformat()
            personnes.append(a_naitre)
        if profil != "personne_agee" and r.random() < p["part_adulte_a_charge"]:
            if age >= 45 and r.random() < 0.6:
                age_charge = r.randint(19, 24)
                sexe_c = "F" if r.random() < 0.5 else "M"
                personnes.append(self._personne("personne_a_charge", sexe_c, naissance_pour_age(r, age_charge, self.date), nom,
                                                lien_parente="E", nationalite=nationalite,
                                                residence_reguliere={"declaree": True, "verifiee": None},
                                                situation_professionnelle="ETU" if r.random() < 0.5 else "CHO",
                                                situation_familiale="C"))
            elif age >= 35:
                age_charge = min(age + r.randint(22, 32), 95)
                sexe_c = "F" if r.random() < 0.65 else "M"
                personnes.append(self._personne("personne_a_charge", sexe_c, naissance_pour_age(r, age_charge, self.date),
                                                r.choice(self.noms), lien_parente="P", nationalite=nationalite,
                                                residence_reguliere={"declaree": True, "verifiee": None},
                                                situation_professionnelle="RET", situation_familiale="V"))
        return personnes, faits

    # --- the household's numbers --------------------------------------------------------------

    def _age(self, personne: dict[str, Any]) -> int | None:
        naissance = personne["date_naissance"]
        if naissance is None:
            return None
        age = self._ages.get(naissance)
        if age is None:
            # A few tens of thousands of distinct birth dates: each is parsed once per stream.
            age = self._ages[naissance] = age_le(dt.date.fromisoformat(naissance), self.date)
        return age

    def unites_consommation(self, personnes: list[dict[str, Any]]) -> float:
        uc = 0.0
        premier = True
        for pers in personnes:
            if pers["role"] == "enfant_a_naitre":
                continue
            if premier:
                uc += self.uc["premier_adulte"]
                premier = False
                continue
            age = self._age(pers)
            uc += self.uc["autre_14_ans_et_plus"] if age is not None and age >= self.uc["age_pivot"] else self.uc["moins_de_14_ans"]
        return uc

    def categorie(self, personnes: list[dict[str, Any]], faits: dict[str, Any]) -> tuple[int, int]:
        """Approximate household category of the ceilings (for placing households around them)."""
        n = sum(1 for pers in personnes if pers["role"] != "enfant_a_naitre")
        if faits["handicap"]:
            n += 1
        categorie = min(n, 6)
        if faits["couple"] and n == 2 and faits["somme_ages"] <= self.p["somme_ages_jeune_menage_max"]:
            categorie = 3
        return categorie, max(0, n - 6)

    def _ligne(self, code: str, montant: float, sens: str = "recue") -> dict[str, Any]:
        return {"sens": sens, "code": code, "montant_mensuel": euros(montant)}

    def _ressources(self, personnes: list[dict[str, Any]], faits: dict[str, Any], consigne: Consigne | None, epci: str) -> None:
        """Resource lines per adult, tax notices N-2 and N-1; sets faits["mensuel"] and faits["quartile"]."""
        r, p, m = self.r, self.p, self.montants
        adultes = [x for x in personnes if x["role"] in ("demandeur", "cotitulaire")]
        demandeur = adultes[0]
        enfants = [x for x in personnes if x["lien_parente"] == "E" and x["role"] in ("personne_a_charge", "enfant_garde_alternee")]
        ages_enfants = [self._age(e) for e in enfants]
        mineurs = [a for a in ages_enfants if a is not None and a < 18]
        uc = self.unites_consommation(personnes)
        annee_seuils = consigne.annee_seuils if consigne else self.annee
        q1, q2, q3 = self.ref.seuils(annee_seuils, epci)

        mode = "quartile" if consigne and consigne.quartile else self.choix_ciblage.tirer(r)
        if consigne and consigne.au_dessus_plafond:
            mode = "au_dessus"
        # Family benefits first (they count in the resources of the quartile).
        prestations: list[tuple[dict[str, Any], dict[str, Any]]] = []
        if len(mineurs) >= 2:
            prestations.append((demandeur, self._ligne("AF", (len(mineurs) - 1) * entre(r, m["AF_par_enfant_au_dela_du_premier"]))))
        if any(a < 3 for a in mineurs):
            prestations.append((demandeur, self._ligne("PAJE", entre(r, m["PAJE"]))))
        if faits["enfant_handicape"]:
            prestations.append((demandeur, self._ligne("AEEH", entre(r, m["AEEH"]))))
        if faits["separe"] and mineurs and not faits["couple"] and r.random() < 0.45:
            prestations.append((demandeur, self._ligne("PAR", entre(r, m["PAR"]))))
        versee = 0.0
        if any(x["role"] == "enfant_droit_visite" for x in personnes) and r.random() < 0.6:
            versee = euros(entre(r, m["PAV"]))
        total_prestations = sum(ligne["montant_mensuel"] for _, ligne in prestations)

        categorie, supp = self.categorie(personnes, faits)
        rfr_cible: float | None = None
        if mode == "quartile":
            q = consigne.quartile if consigne and consigne.quartile else self.choix_quartile.tirer(r)
            bornes = {1: (p["bande_q1_basse"] * q1, q1), 2: (q1, q2), 3: (q2, q3), 4: (q3, p["bande_q4_haute"] * q3)}[q]
            # Inside the band with a margin, so that cent roundings never change the quartile.
            largeur = bornes[1] - bornes[0]
            par_uc = bornes[0] + largeur * (0.04 + 0.92 * r.random())
            mensuel_cible = par_uc * uc / 12
            principal = max(mensuel_cible - total_prestations + versee, 0.0)
        else:
            financement = "PLAI" if mode == "plafond_plai" else "PLUS"
            facteurs = p["plafond_plai_facteurs"] if mode == "plafond_plai" else p["plafond_plus_facteurs"]
            if mode == "au_dessus":
                facteurs = p["plafond_au_dessus_facteurs"]
            rfr_cible = self.ref.plafond(self.annee, financement, categorie, supp) * entre(r, facteurs)
            principal = rfr_cible / p["part_imposable_revenus_activite"] / 12
            if mode == "au_dessus":
                faits["force_salaire"] = True

        # Main income, split between the adults, by situation.
        parts = [1.0]
        if len(adultes) == 2:
            if r.random() < 0.25 and not faits.get("force_salaire"):
                parts = [1.0, 0.0] if r.random() < 0.6 else [0.0, 1.0]
            else:
                s = entre(r, (0.35, 0.65))
                parts = [s, 1 - s]
        for adulte, part in zip(adultes, parts, strict=False):
            self._revenus_adulte(adulte, principal * part, faits)
        for adulte, ligne in prestations:
            adulte["ressources"].append(ligne)
        if versee:
            demandeur["ressources"].append(self._ligne("PAV", versee, "versee"))
        for pers in personnes:
            if pers["role"] == "personne_a_charge" and pers["lien_parente"] == "P":
                pers["ressources"].append(self._ligne("RET" if r.random() < 0.7 else "AMV", entre(r, m["AMV"])))

        mensuel = 0.0
        for pers in personnes:
            for ligne in pers["ressources"]:
                mensuel += ligne["montant_mensuel"] if ligne["sens"] == "recue" else -ligne["montant_mensuel"]
        faits["mensuel"] = mensuel
        annuel_uc = mensuel * 12 / uc if uc else 0.0
        faits["annuel_par_uc"] = annuel_uc
        faits["quartile"] = 1 if annuel_uc <= q1 else 2 if annuel_uc <= q2 else 3 if annuel_uc <= q3 else 4
        self._avis(personnes, adultes, faits, rfr_cible)

    def _revenus_adulte(self, adulte: dict[str, Any], montant: float, faits: dict[str, Any]) -> None:
        r, m = self.r, self.montants
        age = self._age(adulte) or 30
        lignes = adulte["ressources"]
        if montant < 1:
            montant = 0.0
        if adulte["handicap"]["cmi_invalidite"] and not faits.get("force_salaire") and montant >= 300:
            aah = min(entre(r, m["AAH"]), montant)
            lignes.append(self._ligne("AAH", aah))
            adulte["situation_professionnelle"] = "AUT"
            reste = montant - aah
            if reste > 150:
                lignes.append(self._ligne("SAL", reste))
                adulte["situation_professionnelle"] = "CDD"
                adulte["profession"] = self._profession("employe")
            return
        if age >= self.p["age_retraite_demo"] and not faits.get("force_salaire"):
            adulte["situation_professionnelle"] = "RET"
            if montant <= 0:
                return
            code = "AMV" if montant < m["AMV"][1] and r.random() < 0.5 else "RET"
            lignes.append(self._ligne(code, montant))
            return
        if montant <= 0:
            adulte["situation_professionnelle"] = "AUT" if r.random() < 0.5 else "CHO"
            return
        if faits.get("fonctionnaire") and adulte["role"] == "demandeur":
            adulte["situation_professionnelle"] = "CDI"
            adulte["profession"] = self._profession("etat")
            lignes.append(self._ligne("SAL", montant))
            return
        x = r.random()
        if montant < m["RSA"][1] and not faits.get("force_salaire"):
            if x < 0.45:
                adulte["situation_professionnelle"] = "AUT" if r.random() < 0.5 else "CHO"
                lignes.append(self._ligne("RSA", montant))
            elif x < 0.65:
                adulte["situation_professionnelle"] = "CHO"
                lignes.append(self._ligne("CHO", montant))
            elif x < 0.9 or age > 26:
                adulte["situation_professionnelle"] = "CDD"
                adulte["profession"] = self._profession("ouvrier" if r.random() < 0.5 else "employe")
                lignes.append(self._ligne("SAL", montant))
            else:
                adulte["situation_professionnelle"] = "ETU"
                lignes.append(self._ligne("BE", montant))
            return
        if montant < 1300 and x < 0.25 and not faits.get("force_salaire"):
            adulte["situation_professionnelle"] = "CHO"
            lignes.append(self._ligne("CHO", montant))
            return
        contrat = "CDI" if x < 0.62 else "CDD" if x < 0.85 else "ART" if x < 0.93 else "APP" if age < 26 else "CDI"
        adulte["situation_professionnelle"] = contrat
        categorie = "intermediaire" if montant > 1900 else "employe" if r.random() < 0.55 else "ouvrier"
        adulte["profession"] = self._profession(categorie)
        lignes.append(self._ligne("SAL", montant))

    def _profession(self, categorie: str) -> str:
        liste = self.professions[categorie]
        return self.r.choice(liste)

    def _avis(self, personnes: list[dict[str, Any]], adultes: list[dict[str, Any]], faits: dict[str, Any], rfr_cible: float | None) -> None:
        """RFR of N-2 and N-1 on each tax notice; a married or PACS couple shares one notice."""
        r, p = self.r, self.p
        n2, n1 = self.annee - 2, self.annee - 1
        imposable = p["part_imposable_revenus_activite"]

        def annuel_imposable(pers: dict[str, Any]) -> float:
            total = 0.0
            for ligne in pers["ressources"]:
                if ligne["code"] in IMPOSABLES:
                    total += ligne["montant_mensuel"]
                elif ligne["code"] == "PAV":
                    total -= ligne["montant_mensuel"]
            return max(total * 12 * imposable, 0.0)

        foyers: list[list[dict[str, Any]]] = [[adultes[0], adultes[1]]] if faits["marie"] and len(adultes) == 2 else [[a] for a in adultes]
        foyers += [[x] for x in personnes if x["role"] == "personne_a_charge" and x["lien_parente"] == "P"]
        baisse = r.random() < p["part_baisse_forte_revenus"]
        for k, foyer in enumerate(foyers):
            base = sum(annuel_imposable(x) for x in foyer)
            if rfr_cible is not None and k == 0:
                rfr_n2 = rfr_cible
                rfr_n1 = rfr_cible * entre(r, (0.96, 1.05))
            elif baisse and k == 0:
                rfr_n1 = base * entre(r, (1.0, 1.4)) + 1500
                rfr_n2 = rfr_n1 * entre(r, (1.1, 1.35))
            else:
                rfr_n1 = base * entre(r, p["variation_rfr_n1"])
                rfr_n2 = rfr_n1 * entre(r, p["variation_rfr_n2"])
            numero = faits["numero_fiscal"] + str(k)
            for annee, montant in ((n2, rfr_n2), (n1, rfr_n1)):
                avis = f"{annee % 100:02d}{numero}"
                foyer[0]["revenus_fiscaux"].append({"annee": annee, "montant": int(round(montant)), "avis": avis})
                for autre in foyer[1:]:
                    autre["revenus_fiscaux"].append({"annee": annee, "montant": None, "avis": avis})
        if r.random() < p["part_rfr_manquant"]:
            # The N-2 notice of the applicant's tax household is missing (for a couple, its shared notice).
            for pers in foyers[0]:
                pers["revenus_fiscaux"] = [x for x in pers["revenus_fiscaux"] if x["annee"] != n2]
            faits["incomplet"] = True

    # --- current housing, motifs, priorities ---------------------------------------------------

    def _modele(self, consigne: Consigne | None) -> str:
        r = self.r
        if consigne is None or consigne.classe is None:
            if consigne is not None:
                return self.modeles_ordinaires.tirer(r)
            return self.choix_modele.tirer(r)
        classe = consigne.classe
        if classe == "sans_abri":
            return r.choice(sorted(self.sans_abri))
        if classe == "sortant_hebergement":
            return self.modeles_sortants.tirer(r)
        if classe == "dalo":
            return self.modeles_dalo.tirer(r)
        if classe == "prioritaire":
            return self.modeles_prioritaires.tirer(r)
        return self.modeles_ordinaires.tirer(r)

    def _logement_actuel(self, modele: str, taille: int, commune: CommuneDemo, faits: dict[str, Any]) -> dict[str, Any]:
        r, p = self.r, self.p
        actuel: dict[str, Any] = {
            "modele": modele, "typologie": None, "loyer_mensuel": None, "surface": None, "nb_pieces": None,
            "nb_occupants": taille, "commune_insee": commune.code_insee, "proprietaire": None,
        }
        if modele in ("HLM", "LP", "FONC", "POCC", "CP", "CPE", "LTG"):
            pieces = max(1, min(6, taille + r.randint(-2, 1))) if modele in ("HLM", "LP", "FONC", "POCC") else r.randint(2, 5)
            if modele == "HLM" and faits["profil"] == "personne_agee" and r.random() < 0.5:
                pieces = r.randint(3, 5)
            typologie = f"T{pieces}"
            bornes = p["surfaces_m2"][typologie]
            surface = round(entre(r, (bornes[0] * 0.85, bornes[1])), 1)
            actuel.update(typologie=typologie, surface=surface, nb_pieces=pieces, proprietaire=modele == "POCC")
            if modele in ("HLM", "LP"):
                actuel["loyer_mensuel"] = euros(surface * entre(r, p["loyer_actuel_m2"][modele]))
            if modele in ("CP", "CPE", "LTG"):
                actuel["nb_occupants"] = taille + r.randint(1, 4)
        elif modele in ("RS", "RHVS", "SLHT", "RE"):
            actuel.update(typologie="T1", surface=round(entre(r, (16, 32)), 1), nb_pieces=1, proprietaire=False,
                          loyer_mensuel=euros(entre(r, (280, 480))))
        return actuel

    def _motifs(self, modele: str, actuel: dict[str, Any], taille: int, faits: dict[str, Any]) -> list[str]:
        r = self.r
        motifs: list[str] = []
        pieces = actuel["nb_pieces"]
        if modele in self.sans_abri or modele in self.sortants or modele in ("SQUAT", "CAMCAR", "CP"):
            motifs.append("01")
        elif modele == "CPE":
            motifs.append("12" if faits["profil"] != "jeune_menage" else "14")
        elif modele == "LTG":
            motifs.append("01" if r.random() < 0.5 else "12")
        elif modele == "POCC":
            motifs.append("22" if r.random() < 0.5 else "08")
        elif modele == "FONC":
            motifs.append("18" if r.random() < 0.5 else "04")
        elif modele == "RE":
            motifs.append("19")
        else:
            if pieces is not None and taille > pieces + 1:
                motifs.append("13")
            elif pieces is not None and pieces > taille + 1:
                motifs.append("10")
            choix = ("09", "17", "19", "21", "20") if modele == "HLM" else ("09", "03", "04", "05", "17", "19", "21")
            motifs.append(r.choice(choix))
        if faits["handicap"] and "07" not in motifs:
            motifs.append("07")
        if faits["separe"] and r.random() < 0.5:
            motifs.append("11")
        if faits.get("violences"):
            motifs.append("06")
        if faits.get("anru"):
            motifs.insert(0, "02")
        return sorted(set(motifs))

    def _situations(self, modele: str, motifs: list[str], personnes: list[dict[str, Any]], faits: dict[str, Any],
                    consigne: Consigne | None, avant: dt.date) -> list[dict[str, Any]]:
        r, p = self.r, self.p
        codes: list[str] = []
        if modele in self.sans_abri or modele in ("SQUAT", "CAMCAR"):
            codes.append("PRIO_SANS_LOGEMENT")
        elif modele in self.heberges and (r.random() < 0.5 or (consigne and consigne.classe in CLASSES_PRIORITAIRES)):
            codes.append("PRIO_SANS_LOGEMENT")
        if modele in self.sortants:
            codes.append("PRIO_HEBERGE_TEMPORAIRE")
        if "05" in motifs:
            codes.append("PRIO_MENACE_EXPULSION")
        if "03" in motifs:
            codes.append("PRIO_HABITAT_INDIGNE")
            if faits["nb_mineurs"]:
                codes.append("PRIO_ENFANT_SUROCCUPE_INDECENT")
        if "13" in motifs and faits["nb_mineurs"] and r.random() < 0.3:
            codes.append("PRIO_ENFANT_SUROCCUPE_INDECENT")
        if faits["handicap"]:
            codes.append("PRIO_HANDICAP")
        if "06" in motifs:
            codes.append("PRIO_VIOLENCES_COUPLE")
        if faits["quartile"] == 1 and "09" in motifs and r.random() < 0.5:
            codes.append("PRIO_MAL_LOGE_DEFAVORISE")
        if faits["age"] <= 20 and modele in ("CDEFCM", "SH", "RS"):
            codes.append("PRIO_JEUNE_ASE")
        if r.random() < p["part_reprise_activite"] and personnes[0]["situation_professionnelle"] in ("CDD", "CDI"):
            codes.append("PRIO_REPRISE_ACTIVITE")
        if r.random() < p["part_situations_rares"]:
            codes.append(r.choice(RARES))
        classe = consigne.classe if consigne else None
        if classe in CLASSES_PRIORITAIRES and not codes:
            codes.append("PRIO_MAL_LOGE_DEFAVORISE")
        codes = sorted(set(codes))
        situations = []
        for i, code in enumerate(codes):
            if classe == "ordinaire":
                verifiee = False
            elif classe in CLASSES_PRIORITAIRES and i == 0:
                verifiee = True
            else:
                verifiee = r.random() < p["part_situations_verifiees"]
            situation = {"code": code, "verifiee": verifiee, "date_verification": None, "verifiee_par": None}
            if verifiee:
                situation["date_verification"] = jours(avant, -r.randint(5, 300)).isoformat()
                situation["verifiee_par"] = r.choice(p["verificateurs"])
            situations.append(situation)
        return situations

    # --- the dossier ---------------------------------------------------------------------------

    def _profil(self, consigne: Consigne | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        if consigne is None:
            return self._composition(self.choix_profil.tirer(self.r))
        mini, maxi = TAILLES_TYPOLOGIE[consigne.typologie]
        for _ in range(60):
            personnes, faits = self._composition(self.choix_profil.tirer(self.r))
            if mini <= len(personnes) <= maxi:
                return personnes, faits
        return personnes, faits

    def dossier(self, index: int, consigne: Consigne | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """One dossier (JSON form) and the facts the history needs about it."""
        r, p, date = self.r, self.p, self.date
        epci = consigne.epci if consigne else self.choix_epci.tirer(r)
        personnes, faits = self._profil(consigne)
        demandeur = personnes[0]
        taille = len(personnes)
        faits["age"] = self._age(demandeur)
        faits["somme_ages"] = sum(self._age(x) or 0 for x in personnes if x["role"] in ("demandeur", "cotitulaire"))
        faits["fonctionnaire"] = bool(consigne and consigne.fonctionnaire)
        faits["incomplet"] = False

        # Disability (CMI invalidité) of one person for a small share of households.
        faits["handicap"] = faits["enfant_handicape"] = False
        if r.random() < p["part_handicap"]:
            porteur = r.choice(personnes)
            if porteur["role"] != "enfant_a_naitre":
                porteur["handicap"] = {"cmi_invalidite": True, "details": None}
                faits["handicap"] = True
                age_porteur = self._age(porteur) or 0
                faits["enfant_handicape"] = age_porteur < 20 and porteur["role"] not in ("demandeur", "cotitulaire")
        ages = [self._age(x) for x in personnes if x["role"] in ("personne_a_charge", "enfant_garde_alternee")]
        faits["nb_mineurs"] = sum(1 for a in ages if a is not None and a < 18)

        communes_choix = self.choix_communes[epci]
        commune_actuelle = communes_choix.tirer(r)
        souhaitees = [commune_actuelle.code_insee] if r.random() < 0.6 else []
        for _ in range(r.randint(1, 3)):
            code = communes_choix.tirer(r).code_insee
            if code not in souhaitees:
                souhaitees.append(code)
        typologies = list(TYPOLOGIES_PAR_TAILLE[min(taille, 6)]) if taille <= 6 else ["T5", "T6"]
        if faits["profil"] == "personne_agee":
            typologies = ["T2"] if taille == 1 else ["T2", "T3"]
        if consigne and consigne.typologie not in typologies:
            typologies.append(consigne.typologie)
            typologies.sort()
        if r.random() < 0.3 and len(typologies) > 1:
            typologies = typologies[:1] if r.random() < 0.5 else typologies[1:]

        # Filing date: exponential seniority, bounded; before the séance for a candidate.
        limite = consigne.date_limite_depot if consigne else jours(date, -p["anciennete_depot_jours"][0])
        anciennete_max = (limite - jours(date, -p["anciennete_depot_jours"][1])).days
        anciennete = min(int(r.expovariate(1 / p["anciennete_lambda_jours"])), max(anciennete_max, 0))
        date_depot = jours(limite, -anciennete)

        faits["violences"] = faits["separe"] and demandeur["sexe"] == "F" and r.random() < p["part_violences_si_separation"]
        if faits["violences"]:
            demandeur["procedures"]["ordonnance_protection"] = r.random() < 0.4
            demandeur["procedures"]["divorce"] = demandeur["situation_familiale"] == "S" and r.random() < 0.5
        modele = self._modele(consigne)
        faits["anru"] = modele == "HLM" and r.random() < p["part_relogement_anru_hlm"]
        actuel = self._logement_actuel(modele, taille, commune_actuelle, faits)
        faits["numero_fiscal"] = f"{commune_actuelle.departement}{index:08d}"
        self._ressources(personnes, faits, consigne, epci)
        motifs = self._motifs(modele, actuel, taille, faits)
        avant = consigne.date_decision if consigne and consigne.date_decision else date
        situations = self._situations(modele, motifs, personnes, faits, consigne, avant)
        verifiee = any(s["verifiee"] for s in situations)

        classe = consigne.classe if consigne else None
        dalo = {"date_decision": None, "statut": "NON", "date_designation": None}
        est_dalo = classe == "dalo" or (classe is None and consigne is None and r.random() < p["part_dalo"])
        if est_dalo:
            if classe == "dalo":
                decision = jours(consigne.date_decision, -r.randint(60, 400))
                dalo["date_decision"] = decision.isoformat()
                if consigne.designe_dalo:
                    dalo["date_designation"] = jours(decision, r.randint(20, 50)).isoformat()
                dalo["statut"] = "ACTREL" if consigne.date_signature else "ACTIF"
            else:
                decision = jours(date, -r.randint(20, 700))
                dalo["date_decision"] = decision.isoformat()
                dalo["statut"] = "CADUC" if r.random() < p["part_dalo_caducs"] else "ACTIF"
                if dalo["statut"] == "ACTIF" and r.random() < p["part_dalo_designes"]:
                    dalo["date_designation"] = min(jours(decision, r.randint(20, 120)), date).isoformat()
        heberge = modele in self.sortants or modele in self.sans_abri
        labels = {"pdalhpd": False, "siao": False}
        if classe != "ordinaire":
            labels["siao"] = heberge and (classe in CLASSES_PRIORITAIRES or r.random() < p["part_label_siao_si_heberge"])
            labels["pdalhpd"] = (classe in CLASSES_PRIORITAIRES) or (verifiee and r.random() < p["part_label_pdalhpd_si_prioritaire"])
        accompagnement = {
            "avdl": classe != "ordinaire" and (est_dalo and r.random() < 0.5 or r.random() < p["part_avdl"]),
            "fsl": r.random() < p["part_fsl"] * (2 if "05" in motifs or "09" in motifs else 1),
        }
        aide = None
        if modele in ("HLM", "LP") and faits["quartile"] <= 2 and r.random() < p["aide_logement"]["part"]:
            aide = euros(entre(r, p["aide_logement"]["montant"]))
        mutation_interne = modele == "HLM" and r.random() < p["part_mutation_interne_hlm"]

        refus = []
        if consigne and consigne.refus:
            refus.append(dict(consigne.refus))
        elif consigne is None and r.random() < p["part_refus_anterieur"]:
            refus.append({
                "date": jours(date, -r.randint(15, 600)).isoformat(),
                "logement_reference": r.choice(self.references_logements),
                "motif": r.choice(p["motifs_refus"]),
                "motif_legitime": r.random() < 0.5,
            })
        refus = [x for x in refus if x["date"] > date_depot.isoformat()]

        # Status: attributed by the history, a few struck off, the rest active.
        statut, motif_radiation, date_radiation = "active", None, None
        fin = date
        if consigne and consigne.date_decision and consigne.classe is not None:
            statut = "attribuee"
            if consigne.date_signature:
                motif_radiation, date_radiation = "RADATT", consigne.date_signature.isoformat()
            fin = consigne.date_decision
        elif consigne is None and r.random() < p["part_radiees"]:
            statut = "radiee"
            motif_radiation = self.choix_radiation.tirer(r)
            fin = max(jours(date, -r.randint(1, 330)), jours(date_depot, 30))
            fin = min(fin, date)
            date_radiation = fin.isoformat()
        renouvellement = None
        if (fin - date_depot).days >= 365:
            annee = fin.year if (fin.month, fin.day) >= (date_depot.month, min(date_depot.day, 28)) else fin.year - 1
            renouvellement = dt.date(annee, date_depot.month, min(date_depot.day, 28))
        mise_a_jour = None
        if r.random() < 0.5:
            debut = renouvellement or date_depot
            mise_a_jour = jours(debut, r.randint(0, max((fin - debut).days, 0)))

        commune_contact = commune_actuelle
        if modele in SANS_ADRESSE:
            adresse = f"Domiciliation CCAS, {r.choice(self.voies)}"
        else:
            adresse = f"{r.randint(1, 180)} {r.choice(self.voies)}"
        courriel = None
        if r.random() < p["part_courriel"]:
            prenom = self.ascii_prenoms.get(demandeur["prenom"]) or _ascii(demandeur["prenom"] or "contact")
            courriel = f"{prenom}.{self.ascii_noms.get(demandeur['nom']) or _ascii(demandeur['nom'])}{index % 997}@example.org"
        contact = {
            "adresse": adresse,
            "code_postal": commune_contact.code_postal,
            "commune_insee": commune_contact.code_insee,
            "telephone": f"063998{r.randint(0, 9999):04d}" if r.random() < 0.92 else None,
            "courriel": courriel,
        }
        besoin_pmr = faits["handicap"] and r.random() < p["part_besoin_pmr_si_handicap"]
        numero = f"0{commune_actuelle.departement}11{date_depot.year % 100:02d}{index + 1:07d}D"
        dossier = {
            "numero_unique": numero,
            "date_depot": date_depot.isoformat(),
            "date_renouvellement": _iso(renouvellement),
            "date_mise_a_jour": _iso(mise_a_jour),
            "statut": statut,
            "motif_radiation": motif_radiation,
            "date_radiation": date_radiation,
            "contact": contact,
            "typologies_souhaitees": typologies,
            "communes_souhaitees": souhaitees,
            "motifs": motifs,
            "mutation_interne": mutation_interne,
            "relogement_anru": faits["anru"],
            "besoin_pmr": besoin_pmr,
            "logement_actuel": actuel,
            "dalo": dalo,
            "labels": labels,
            "accompagnement": accompagnement,
            "aide_logement_declaree": aide,
            "situations": situations,
            "refus": refus,
            "personnes": personnes,
        }
        prioritaire = est_dalo and dalo["statut"] in ("ACTIF", "ACTREL") or labels["pdalhpd"] or verifiee
        indicateurs = {
            "quartile": faits["quartile"],
            "prioritaire": bool(prioritaire),
            "dalo": bool(dalo["statut"] in ("ACTIF", "ACTREL") and dalo["date_decision"]),
            "sortant_hebergement": modele in self.sortants,
            "sans_abri": modele in self.sans_abri,
            "anru": faits["anru"],
        }
        return dossier, indicateurs
