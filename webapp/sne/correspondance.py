"""From an SNE `interfaceNuu` v02.00 file to the dossier JSON of webapp/schemas/dossier.py.

What is mapped, what is only reported and which element names are hypotheses is documented in
fixtures/sne/IMPORT.md. Reading is pure (no database): `lire_demande_sne` turns the bytes into a
`DemandeSNE` (the sections the file carries, in dossier JSON form), `composer_dossier` lays them
over the stored dossier (or nothing) and `valider` checks the result with the dossier schema,
naming the XML element of any refused value.
"""
from __future__ import annotations

import copy
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..referentiels import listes_sne
from ..schemas import ErreurValidation, charger_dossier
from ..services.dossiers import en_json
from .xml_sur import RACINE, ErreurSNE, Lecteur, Noeud, analyser

VERSIONS_INTERFACE = ("02.00", "02.01")

# Correspondences between SNE code lists and the dossier's values (no legal number here).
SEXE_PAR_CIVILITE = {"1": "M", "2": "F", "3": "F"}
LIEN_COTITULAIRE = {"M": "conjoint", "P": "pacse", "C": "concubin", "L": "colocataire"}
ROLE_PAR_COPARENTALITE = {"G": "enfant_garde_alternee", "D": "enfant_droit_visite"}
TYPOLOGIE_PAR_TYPE_LOGEMENT = {"C": "T1", "T1": "T1", "T2": "T2", "T3": "T3", "T4": "T4", "T5": "T5", "T6P": "T6"}
# Married and PACS couples file one joint tax return, hence one notice for both.
LIENS_AVIS_COMMUN = ("conjoint", "pacse")

# File types (ListeTypeFichier): what each one does to the demande.
TYPES_MISE_A_JOUR = ("MOD", "REN")
TYPES_REFUSES = {
    "SUP": "type de fichier SUP (suppression) : Caléol ne supprime pas une demande sur import ; "
    "rien n'est modifié.",
}

RE_INSEE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")
RE_CODE_POSTAL = re.compile(r"^[0-9]{5}$")

# Fields the SNE never carries: an update keeps what Caléol already knows of them.
CHAMPS_CALEOL_PERSONNE = ("residence_reguliere", "mineur_emancipe", "handicap", "procedures", "ressources_12_mois")

RAISON_LIEU_TRAVAIL = "employeur et lieu de travail : pas de champ dans le dossier Caléol"


@dataclass
class DemandeSNE:
    """What one SNE file says of one demande, in dossier JSON form, section by section.

    `sections` holds only what the file carries ("menage", "logement_actuel",
    "logement_recherche", "motifs"): an absent section leaves the stored values unchanged.
    """

    numero_unique: str
    type_fichier: str | None
    date_fichier: dt.date | None
    date_depot: str | None
    sections: dict[str, Any]
    radiation: dict[str, Any] | None
    date_renouvellement: str | None
    rapport: list[dict[str, str]]
    origine: dict[str, str] = field(default_factory=dict)


def _iso(valeur: dt.date | None) -> str | None:
    return None if valeur is None else valeur.isoformat()


def _code_insee(noeud: Noeud, nom: str) -> str | None:
    enfant = noeud.enfant(nom)
    if enfant is None:
        return None
    code = enfant.attribut_code()
    if code is not None and not RE_INSEE.match(code):
        noeud.lecteur.erreur(f"{enfant.chemin}@code", f"Code commune INSEE invalide « {code} » (5 caractères).")
        return None
    return code


class _Lecture:
    """The reading of one file: the walker's state plus the dossier paths' origins."""

    def __init__(self) -> None:
        self.lecteur = Lecteur()
        self.origine: dict[str, str] = {}

    # -- persons ---------------------------------------------------------------------------

    def identite(self, noeud: Noeud, personne: dict[str, Any], prefixe: str) -> None:
        civilite = noeud.code("civilite", "ListeCivilite")
        sexe = noeud.code("sexe", "ListeSexe")
        personne["sexe"] = sexe or (SEXE_PAR_CIVILITE[civilite] if civilite else None)
        personne["nom"] = noeud.texte("nom")
        personne["prenom"] = noeud.texte("prenom")
        personne["nom_naissance"] = noeud.texte("nomPatronymique")
        personne["date_naissance"] = _iso(noeud.date("dateNaissance"))
        self.origine[prefixe] = noeud.chemin
        for champ, element in (
            ("date_naissance", "dateNaissance"),
            ("nom", "nom"),
            ("prenom", "prenom"),
            ("nom_naissance", "nomPatronymique"),
        ):
            self.origine[f"{prefixe}.{champ}"] = f"{noeud.chemin}/{element}"

    def titulaire(
        self, noeud: Noeud, role: str, prefixe: str
    ) -> tuple[dict[str, Any], list[tuple[int, Decimal | None]]]:
        p: dict[str, Any] = {"role": role}
        self.identite(noeud, p, prefixe)
        p["nationalite"] = noeud.code("nationalite", "ListeNationalite")
        p["situation_familiale"] = noeud.code("situationFamiliale", "ListeSituationFamiliale")
        if role == "cotitulaire":
            lien = noeud.code("lienDemandeur", "ListeLienDemandeur")
            p["lien_cotitulaire"] = LIEN_COTITULAIRE[lien] if lien else None
            self.origine[f"{prefixe}.lien_cotitulaire"] = f"{noeud.chemin}/lienDemandeur"
            for element in ("adressePostale", "telPortable", "mel"):
                noeud.non_repris(element, "coordonnées d'un cotitulaire : le dossier ne garde que celles du ménage (demandeur)")
        pro = noeud.enfant("situationProfessionnelle")
        if pro is not None:
            p["profession"] = pro.texte("profession")
            p["situation_professionnelle"] = pro.code("typeContratTravail", "ListeTypeContratTravail")
            for element in ("nomEmployeurPrincipal", "etranger", "codePostal", "commune"):
                pro.non_repris(element, RAISON_LIEU_TRAVAIL)
        p["ressources"] = self.ressources(noeud)
        return p, self.revenu_fiscal(noeud)

    def revenu_fiscal(self, noeud: Noeud) -> list[tuple[int, Decimal | None]]:
        rf = noeud.enfant("revenuFiscal")
        if rf is None:
            return []
        annees: list[tuple[int, Decimal | None]] = []
        for suffixe in ("Moins1", "Moins2"):
            annee = rf.entier(f"annee{suffixe}", 1990, 2100)
            montant = rf.montant(f"montant{suffixe}")
            if annee is None:
                if montant is not None:
                    self.lecteur.erreur(f"{rf.chemin}/montant{suffixe}", f"Montant sans année (annee{suffixe} absente).")
                continue
            if any(a == annee for a, _ in annees):
                self.lecteur.erreur(f"{rf.chemin}/annee{suffixe}", "Même année de revenu fiscal donnée deux fois.")
                continue
            annees.append((annee, montant))
        return annees

    def ressources(self, noeud: Noeud) -> list[dict[str, Any]]:
        resultat: list[dict[str, Any]] = []
        for liste, sens, code_liste in (
            ("listeRessourceRecue", "recue", "ListeRessourceRecue"),
            ("listeRessourceVersee", "versee", "ListeRessourceVersee"),
            ("listeRessourceRecuePersACharge", "recue", "ListeRessourceRecue"),
            ("listeRessourceVerseePersACharge", "versee", "ListeRessourceVersee"),
        ):
            conteneur = noeud.enfant(liste)
            if conteneur is None:
                continue
            details = conteneur.enfants("detailRessource")
            if details and liste.endswith("PersACharge"):
                self.lecteur.noter(
                    conteneur.chemin,
                    "ressources des personnes à charge : rattachées à ce titulaire (le SNE ne les attribue "
                    "à aucune personne) ; le total du ménage est inchangé",
                )
            for detail in details:
                noeud_code = detail.enfant("ressource")
                code = noeud_code.code_propre(code_liste) if noeud_code is not None else None
                noeud_montant = detail.enfant("montant")
                texte = noeud_montant.valeur() if noeud_montant is not None else None
                montant = detail.montant("montant") if texte is not None else None
                if noeud_code is None:
                    self.lecteur.erreur(f"{detail.chemin}/ressource", "Élément ressource absent.")
                if texte is None:
                    self.lecteur.erreur(f"{detail.chemin}/montant", "Montant absent.")
                if code is not None and montant is not None:
                    resultat.append({"sens": sens, "code": code, "montant_mensuel": montant})
        return resultat

    # -- household -------------------------------------------------------------------------

    def menage(self, pp: Noeud) -> dict[str, Any]:
        personnes: list[dict[str, Any]] = []
        titulaires: list[tuple[dict[str, Any], list[tuple[int, Decimal | None]], str]] = []
        demandeur = pp.enfant("demandeur")
        contact: dict[str, Any] = {}
        commune_adresse = None
        if demandeur is None:
            self.lecteur.erreur(f"{pp.chemin}/demandeur", "Demandeur absent : le ménage doit avoir un demandeur.")
        else:
            p, rf = self.titulaire(demandeur, "demandeur", "personnes.0")
            personnes.append(p)
            titulaires.append((p, rf, demandeur.chemin))
            contact, commune_adresse = self.contact(demandeur)
        liste = pp.enfant("listeCotitulaire")
        for cotitulaire in liste.enfants("cotitulaire") if liste else []:
            p, rf = self.titulaire(cotitulaire, "cotitulaire", f"personnes.{len(personnes)}")
            personnes.append(p)
            titulaires.append((p, rf, cotitulaire.chemin))
        self.avis_fiscaux(titulaires)

        liste = pp.enfant("listePersonneACharge")
        for noeud in liste.enfants("personneACharge") if liste else []:
            p = {"role": "personne_a_charge"}
            self.identite(noeud, p, f"personnes.{len(personnes)}")
            p["lien_parente"] = noeud.code("lienParente", "ListeLienParente")
            personnes.append(p)

        a_naitre = pp.enfant("personneANaitre")
        if a_naitre is not None:
            nombre = a_naitre.entier("nombre", 0, 20)
            date_prevue = _iso(a_naitre.date("dateNaissancePrevue"))
            if nombre and date_prevue is None:
                self.lecteur.erreur(f"{a_naitre.chemin}/dateNaissancePrevue", "Date de naissance prévue obligatoire.")
            for _ in range(nombre or 0):
                self.origine[f"personnes.{len(personnes)}"] = a_naitre.chemin
                personnes.append({"role": "enfant_a_naitre", "date_naissance_prevue": date_prevue})

        liste = pp.enfant("listePersonneEnGarde")
        for noeud in liste.enfants("personneEnGarde") if liste else []:
            coparentalite = noeud.code("coParentalite", "ListeCoparentalite")
            if coparentalite is None and noeud.enfant("coParentalite") is None:
                self.lecteur.erreur(f"{noeud.chemin}/coParentalite", "Garde alternée (G) ou droit de visite (D) à préciser.")
            p = {"role": ROLE_PAR_COPARENTALITE.get(coparentalite or "", "enfant_garde_alternee")}
            self.identite(noeud, p, f"personnes.{len(personnes)}")
            personnes.append(p)

        return {"personnes": personnes, "contact": contact, "commune_adresse": commune_adresse}

    def avis_fiscaux(self, titulaires: list[tuple[dict[str, Any], list[tuple[int, Decimal | None]], str]]) -> None:
        """Each titulaire's RFR per year, with the reference of the tax notice it comes from.

        The demandeur's notice of year Y is `avis-Y-1`; a titulaire with an amount has their own
        (`avis-Y-<rank>`); a spouse or PACS partner with the year but no amount is on the
        demandeur's notice (one joint return), amount null; any other year without an amount
        stays null on the person's own notice, and the dossier is then incomplete.
        """
        if not titulaires:
            return
        annees_demandeur = {annee: montant for annee, montant in titulaires[0][1]}
        for rang, (personne, annees, chemin) in enumerate(titulaires, start=1):
            lignes = []
            for annee, montant in sorted(annees):
                avis = f"avis-{annee}-{rang}"
                if montant is None and rang > 1 and personne.get("lien_cotitulaire") in LIENS_AVIS_COMMUN:
                    if annee in annees_demandeur:
                        avis = f"avis-{annee}-1"
                elif (
                    montant is not None
                    and rang > 1
                    and personne.get("lien_cotitulaire") in LIENS_AVIS_COMMUN
                    and annees_demandeur.get(annee) == montant
                ):
                    self.lecteur.noter(
                        f"{chemin}/revenuFiscal",
                        f"RFR {annee} identique à celui du demandeur : s'il s'agit du même avis d'imposition, "
                        "il est compté deux fois (à vérifier)",
                    )
                lignes.append({"annee": annee, "montant": montant, "avis": avis})
            personne["revenus_fiscaux"] = lignes

    def contact(self, demandeur: Noeud) -> tuple[dict[str, Any], str | None]:
        contact: dict[str, Any] = {
            "adresse": None,
            "code_postal": None,
            "commune_insee": None,
            "telephone": demandeur.texte("telPortable"),
            "courriel": demandeur.texte("mel"),
        }
        self.origine["contact.telephone"] = f"{demandeur.chemin}/telPortable"
        self.origine["contact.courriel"] = f"{demandeur.chemin}/mel"
        adresse = demandeur.enfant("adressePostale")
        if adresse is None:
            return contact, None
        self.origine["contact.adresse"] = adresse.chemin
        etranger = adresse.booleen("etranger")
        voie = " ".join(v for v in (adresse.texte("numero"), adresse.texte("voie")) if v)
        contact["adresse"] = voie or None
        if etranger:
            for element in ("codePostal", "commune"):
                adresse.non_repris(element, "adresse à l'étranger : code postal et commune hors du référentiel français")
            return contact, None
        code_postal = adresse.texte("codePostal")
        if code_postal is not None and not RE_CODE_POSTAL.match(code_postal):
            self.lecteur.erreur(f"{adresse.chemin}/codePostal", "Code postal invalide (5 chiffres).")
            code_postal = None
        commune = _code_insee(adresse, "commune")
        contact["code_postal"] = code_postal
        contact["commune_insee"] = commune
        self.origine["contact.code_postal"] = f"{adresse.chemin}/codePostal"
        self.origine["contact.commune_insee"] = f"{adresse.chemin}/commune@code"
        self.origine["logement_actuel.commune_insee"] = f"{adresse.chemin}/commune@code"
        return contact, commune

    # -- housing ---------------------------------------------------------------------------

    def typologie(self, noeud: Noeud, liste: str = "ListeTypeLogement") -> str | None:
        code = noeud.code_propre(liste)
        if code == "C":
            self.lecteur.noter(f"{noeud.chemin}@code", "chambre (C) : comptée comme un T1, le dossier n'ayant pas de type chambre")
        return TYPOLOGIE_PAR_TYPE_LOGEMENT[code] if code else None

    def logement_actuel(self, la: Noeud) -> dict[str, Any]:
        modele = None
        liste = la.enfant("listeModeleLogement")
        for rang, noeud in enumerate(liste.enfants("modeleLogement") if liste else []):
            code = noeud.code_propre("ListeModeleLogement")
            if rang == 0:
                modele = code
                self.origine["logement_actuel.modele"] = f"{noeud.chemin}@code"
            else:
                self.lecteur.signaler(noeud.chemin, "situation de logement supplémentaire : le dossier n'en garde qu'une (la première)")
        type_actuel = la.enfant("typeLogementActuel")
        categorie = la.enfant("categorieLogement")
        if categorie is not None:
            categorie.code_propre("ListeCategorieLogement")
            self.lecteur.signaler(f"{categorie.chemin}", "catégorie appartement ou maison : pas de champ dans le dossier Caléol")
        for champ, element in (
            ("loyer_mensuel", "montantMensuelLoyer"),
            ("nb_occupants", "nombreHabitant"),
            ("surface", "surface"),
            ("proprietaire", "proprietaire"),
            ("typologie", "typeLogementActuel"),
        ):
            self.origine[f"logement_actuel.{champ}"] = f"{la.chemin}/{element}"
        return {
            "modele": modele,
            "typologie": self.typologie(type_actuel) if type_actuel is not None else None,
            "loyer_mensuel": la.montant("montantMensuelLoyer"),
            "nb_occupants": la.entier("nombreHabitant", 0, 50),
            "surface": la.nombre("surface"),
            "proprietaire": la.booleen("proprietaire"),
        }

    def logement_recherche(self, lr: Noeud) -> dict[str, Any]:
        lr.non_repris("demandeElargie", "demande élargie : pas de champ dans le dossier Caléol")
        typologies: list[str] = []
        liste = lr.enfant("listeTypeLogement")
        for noeud in liste.enfants("typeLogement") if liste else []:
            typologie = self.typologie(noeud)
            if typologie and typologie not in typologies:
                typologies.append(typologie)
        communes: list[str] = []
        liste = lr.enfant("listeLocalisationSouhaite")
        for noeud in liste.enfants("localisationSouhaite") if liste else []:
            commune = _code_insee(noeud, "commune")
            if noeud.enfant("commune") is None:
                self.lecteur.erreur(f"{noeud.chemin}/commune", "Commune souhaitée absente.")
            if commune and commune not in communes:
                communes.append(commune)
        self.origine["typologies_souhaitees"] = f"{lr.chemin}/listeTypeLogement"
        self.origine["communes_souhaitees"] = f"{lr.chemin}/listeLocalisationSouhaite"
        return {"typologies_souhaitees": typologies, "communes_souhaitees": communes}


def _type_fichier(lecture: _Lecture, entete: Noeud | None) -> str | None:
    if entete is None:
        return None
    noeud = entete.enfant("typeFichier")
    if noeud is None:
        return None
    # The interface carries the type as text; a `code` attribute is accepted too.
    code = noeud.valeur() or (noeud.attribut_code() if "code" in noeud.element.attrib else None)
    if code is None:
        return None
    if code not in listes_sne()["ListeTypeFichier"]:
        lecture.lecteur.erreur(noeud.chemin, f"Type de fichier inconnu « {code} » (liste SNE ListeTypeFichier).")
        return None
    if code in TYPES_REFUSES:
        lecture.lecteur.erreur(noeud.chemin, TYPES_REFUSES[code])
    return code


def lire_demande_sne(contenu: bytes) -> DemandeSNE:
    """Read one SNE file; raise ErreurSNE naming each faulty element."""
    racine = analyser(contenu)
    lecture = _Lecture()
    lecteur = lecture.lecteur
    nuu = Noeud(racine, RACINE, lecteur)

    version = racine.attrib.get("versionInterface")
    lecteur.marquer_attribut(racine, "versionInterface")
    if version not in VERSIONS_INTERFACE:
        lecteur.erreur(
            f"{RACINE}@versionInterface",
            f"Version d'interface {'absente' if version is None else '« ' + version + ' »'} : "
            f"seules les versions {', '.join(VERSIONS_INTERFACE)} sont lues.",
        )

    entete = nuu.enfant("entete")
    type_fichier = _type_fichier(lecture, entete)
    date_fichier = entete.date_heure("dateFichier") if entete is not None else None

    demandes = nuu.enfants("demande")
    logements = [d for demande in demandes for d in demande.enfants("demandeLogement")]
    if len(logements) != 1:
        lecteur.erreur(
            "demande/demandeLogement",
            "Un fichier doit contenir exactement une demande de logement "
            f"({len(logements)} trouvée{'s' if len(logements) > 1 else ''}).",
        )
        raise ErreurSNE(lecteur.erreurs)
    dl = logements[0]

    numero = dl.texte("numUnique")
    lecture.origine["numero_unique"] = f"{dl.chemin}/numUnique"
    lecture.origine["date_depot"] = f"{dl.chemin}/dateCreationDemande"
    if numero is None:
        lecteur.erreur(
            f"{dl.chemin}/numUnique",
            "Numéro unique absent : Caléol n'importe que des demandes enregistrées au SNE.",
        )
    date_depot = _iso(dl.date("dateCreationDemande"))
    dl.non_repris("numGuichet", "guichet enregistreur : pas de champ dans le dossier Caléol")
    dl.non_repris("listeAnomalie", "anomalies renvoyées par le SNE : non reprises")

    sections: dict[str, Any] = {}
    pp = dl.enfant("personnePhysique")
    if pp is not None:
        sections["menage"] = lecture.menage(pp)
        la = pp.enfant("logementActuel")
        if la is not None:
            sections["logement_actuel"] = lecture.logement_actuel(la)
    lr = dl.enfant("logementRecherche")
    if lr is not None:
        sections["logement_recherche"] = lecture.logement_recherche(lr)
    # Hypothesis (see IMPORT.md): the motifs follow the interface's naming of code lists.
    motifs_noeud = dl.enfant("listeMotifDemande")
    if motifs_noeud is not None:
        motifs: list[str] = []
        for noeud in motifs_noeud.enfants("motifDemande"):
            code = noeud.code_propre("ListeMotifDemande")
            if code and code not in motifs:
                motifs.append(code)
        sections["motifs"] = motifs
        lecture.origine["motifs"] = motifs_noeud.chemin

    date_fichier_utilisee = type_fichier in TYPES_MISE_A_JOUR
    radiation = None
    noeud_radiation = dl.enfant("radiation")
    if noeud_radiation is not None:
        motif = noeud_radiation.code("motifRadiation", "ListeMotifsRadiation")
        sous_motif = noeud_radiation.code("sousMotifRadiation", "ListeSousMotifRadiationIrrecevabilite")
        date_radiation = noeud_radiation.date("dateRadiation")
        if sous_motif is not None:
            lecteur.signaler(
                f"{noeud_radiation.chemin}/sousMotifRadiation",
                "sous-motif d'irrecevabilité : pas de champ dans le dossier (le motif RADIRR est gardé)",
            )
        if type_fichier == "RAD":
            if motif == "RADIRR" and sous_motif is None:
                lecteur.erreur(
                    f"{noeud_radiation.chemin}/sousMotifRadiation",
                    "Sous-motif obligatoire pour une radiation pour irrecevabilité (RADIRR).",
                )
            if date_radiation is None:
                date_fichier_utilisee = True
            radiation = {"motif": motif, "date": _iso(date_radiation or date_fichier)}
        else:
            lecteur.signaler(noeud_radiation.chemin, "radiation dans un fichier qui n'est pas de type RAD : non appliquée")
    if type_fichier == "RAD":
        if radiation is None or radiation["motif"] is None:
            if not any(chemin.startswith(f"{dl.chemin}/radiation/motifRadiation") for chemin, _ in lecteur.erreurs):
                lecteur.erreur(
                    f"{dl.chemin}/radiation/motifRadiation",
                    "Motif de radiation obligatoire pour un fichier de type RAD (liste SNE ListeMotifsRadiation).",
                )
        elif radiation["motif"] and radiation["date"] is None:
            lecteur.erreur(f"{dl.chemin}/radiation/dateRadiation", "Date de radiation absente (ni dateRadiation ni dateFichier).")

    date_renouvellement = None
    if type_fichier == "REN":
        renouvellement = dl.date("dateRenouvellement")
        date_renouvellement = _iso(renouvellement or date_fichier)
        if date_renouvellement is None:
            lecteur.erreur("entete/dateFichier", "Date de renouvellement absente (ni dateRenouvellement ni dateFichier).")
    elif dl.enfant("dateRenouvellement") is not None:
        lecteur.signaler(f"{dl.chemin}/dateRenouvellement", "date de renouvellement hors fichier REN : non appliquée")
    if date_fichier is not None and not date_fichier_utilisee:
        lecteur.signaler(
            "entete/dateFichier",
            "date du fichier : sert seulement aux fichiers MOD, REN et RAD (mise à jour, renouvellement, radiation)",
        )

    lecteur.balayer(nuu)
    if lecteur.erreurs:
        raise ErreurSNE(lecteur.erreurs)
    return DemandeSNE(
        numero_unique=numero or "",
        type_fichier=type_fichier,
        date_fichier=date_fichier,
        date_depot=date_depot,
        sections=sections,
        radiation=radiation,
        date_renouvellement=date_renouvellement,
        rapport=lecteur.rapport,
        origine=lecture.origine,
    )


# -- laying the file over the stored dossier -------------------------------------------------


def _normaliser(texte: str | None) -> str | None:
    if texte is None:
        return None
    sans_accents = "".join(c for c in unicodedata.normalize("NFKD", texte) if not unicodedata.combining(c))
    return " ".join(sans_accents.casefold().split())


def _cles_personnes(personnes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    cles = []
    rang_a_naitre = 0
    for p in personnes:
        if p.get("role") == "enfant_a_naitre":
            cles.append(("a_naitre", rang_a_naitre))
            rang_a_naitre += 1
        else:
            cles.append((_normaliser(p.get("nom")), _normaliser(p.get("prenom")), p.get("date_naissance")))
    return cles


def fusionner_personnes(anciennes: list[dict[str, Any]], nouvelles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The file's persons, keeping what Caléol alone knows of a person found again (same names and birth date)."""
    restantes = list(zip(_cles_personnes(anciennes), anciennes, strict=True))
    resultat = []
    for cle, personne in zip(_cles_personnes(nouvelles), nouvelles, strict=True):
        personne = dict(personne)
        for i, (cle_ancienne, ancienne) in enumerate(restantes):
            if cle_ancienne == cle:
                for champ in CHAMPS_CALEOL_PERSONNE:
                    if champ in ancienne:
                        personne[champ] = copy.deepcopy(ancienne[champ])
                del restantes[i]
                break
        resultat.append(personne)
    return resultat


def composer_dossier(demande: DemandeSNE, ancien: dict[str, Any] | None) -> dict[str, Any]:
    """The dossier JSON after the file: the stored dossier (JSON form) with the file's sections laid over it."""
    if ancien is None and "menage" not in demande.sections:
        raise ErreurSNE(
            [("demandeLogement/personnePhysique",
              "Ménage absent : la demande n'existe pas encore dans Caléol et le fichier ne décrit pas le ménage.")]
        )
    d: dict[str, Any] = copy.deepcopy(ancien) if ancien else {}
    d["numero_unique"] = demande.numero_unique
    if demande.date_depot is not None:
        d["date_depot"] = demande.date_depot
    logement_actuel = dict(d.get("logement_actuel") or {})
    menage = demande.sections.get("menage")
    if menage is not None:
        d["contact"] = dict(menage["contact"])
        d["personnes"] = fusionner_personnes(list((ancien or {}).get("personnes") or []), menage["personnes"])
        logement_actuel["commune_insee"] = menage["commune_adresse"]
    if "logement_actuel" in demande.sections:
        logement_actuel.update(demande.sections["logement_actuel"])
    if logement_actuel:
        d["logement_actuel"] = logement_actuel
    if "logement_recherche" in demande.sections:
        d.update(demande.sections["logement_recherche"])
    if "motifs" in demande.sections:
        d["motifs"] = list(demande.sections["motifs"])
    if demande.type_fichier in TYPES_MISE_A_JOUR and demande.date_fichier is not None:
        d["date_mise_a_jour"] = demande.date_fichier.isoformat()
    if demande.type_fichier == "REN":
        d["date_renouvellement"] = demande.date_renouvellement
    if demande.radiation is not None:
        if demande.radiation["motif"]:
            d["statut"] = "radiee"
            d["motif_radiation"] = demande.radiation["motif"]
            d["date_radiation"] = demande.radiation["date"]
        elif d.get("statut") == "radiee":
            # Empty motif: the SNE's «déradiation», the demande is active again.
            d["statut"] = "active"
            d["motif_radiation"] = None
            d["date_radiation"] = None
    return en_json(d)


def _traduire(chemin: str, origine: dict[str, str]) -> str:
    """The XML element a dossier path comes from (its longest known prefix)."""
    morceaux = chemin.split(".")
    for n in range(len(morceaux), 0, -1):
        prefixe = ".".join(morceaux[:n])
        if prefixe in origine:
            reste = ".".join(morceaux[n:])
            return origine[prefixe] + (f" (champ {reste})" if reste else "")
    return f"dossier : {chemin}"


def valider(demande: DemandeSNE, dossier: dict[str, Any]) -> dict[str, Any]:
    """The dossier checked by the schema; an error names the XML element it comes from."""
    try:
        return charger_dossier(dossier)
    except ErreurValidation as exc:
        raise ErreurSNE(
            [(_traduire(chemin, demande.origine), " ".join(messages)) for chemin, messages in exc.erreurs.items()]
        ) from None
