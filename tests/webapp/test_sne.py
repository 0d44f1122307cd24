"""Import SNE interfaceNuu : correspondance vers le dossier, sûreté du XML, base de données, commande."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from webapp.cli import main
from webapp.models import AuditEntry, Demande, Personne, Ressource, RevenuFiscal
from webapp.referentiels import listes_sne
from webapp.schemas import charger_dossier
from webapp.services.dossiers import charger_demande, dossier_depuis_demande, en_json, enregistrer_dossier
from webapp.sne import ErreurSNE, composer_dossier, importer_contenus, lire_demande_sne, valider

RACINE = Path(__file__).resolve().parents[2]
EXEMPLE = RACINE / "fixtures" / "sne" / "exemple_interfaceNuu_v02.00.xml"
DONNEES = Path(__file__).resolve().parent / "donnees_sne"
NS = "http://nuu.application.i2/"
NUMERO = "1110318016982G1104"
DEMANDEUR = "n:demande/n:demandeLogement/n:personnePhysique/n:demandeur"
COTITULAIRE = "n:demande/n:demandeLogement/n:personnePhysique/n:listeCotitulaire/n:cotitulaire"
LOGEMENT_ACTUEL = "n:demande/n:demandeLogement/n:personnePhysique/n:logementActuel"

ET.register_namespace("nuu", NS)


def exemple() -> bytes:
    return EXEMPLE.read_bytes()


def donnee(nom: str) -> bytes:
    return (DONNEES / nom).read_bytes()


def variante(modifier) -> bytes:
    """The sample modified by `modifier(root)` (trusted test data, built with the standard library)."""
    racine = ET.fromstring(exemple())
    modifier(racine)
    return ET.tostring(racine, encoding="utf-8", xml_declaration=True)


def trouver(racine: ET.Element, chemin: str) -> ET.Element:
    element = racine.find(chemin, {"n": NS})
    assert element is not None, chemin
    return element


def ajouter(parent: ET.Element, nom: str, texte: str | None = None, **attributs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{NS}}}{nom}", attributs)
    element.text = texte
    return element


def dossier_seul(contenu: bytes) -> dict:
    demande = lire_demande_sne(contenu)
    return en_json(valider(demande, composer_dossier(demande, None)))


def par_role(dossier: dict, role: str) -> list[dict]:
    return [p for p in dossier["personnes"] if p["role"] == role]


def compter(sessions) -> dict[str, int]:
    with sessions() as s:
        return {
            modele.__tablename__: s.scalar(select(func.count()).select_from(modele))
            for modele in (Demande, Personne, Ressource, RevenuFiscal, AuditEntry)
        }


# -- l'exemple SNE -----------------------------------------------------------------------------


def test_l_exemple_sne_donne_un_couple_marie_un_enfant_a_charge_un_enfant_a_naitre_et_deux_enfants_en_garde():
    dossier = dossier_seul(exemple())
    assert dossier["numero_unique"] == NUMERO
    assert dossier["date_depot"] == "2018-03-15"
    assert [p["role"] for p in dossier["personnes"]] == [
        "demandeur",
        "cotitulaire",
        "personne_a_charge",
        "enfant_a_naitre",
        "enfant_garde_alternee",
        "enfant_droit_visite",
    ]
    demandeur, cotitulaire = dossier["personnes"][:2]
    assert (demandeur["sexe"], demandeur["nationalite"], demandeur["situation_familiale"]) == ("M", "1", "M")
    assert (demandeur["situation_professionnelle"], demandeur["profession"]) == ("CDI", "Agent de sécurité")
    assert (cotitulaire["lien_cotitulaire"], cotitulaire["sexe"], cotitulaire["nom_naissance"]) == ("conjoint", "F", "MARTIN")
    assert cotitulaire["nationalite"] == "2"
    enfant = par_role(dossier, "personne_a_charge")[0]
    assert (enfant["sexe"], enfant["lien_parente"], enfant["date_naissance"]) == ("F", "E", "2010-01-01")
    assert par_role(dossier, "enfant_a_naitre")[0]["date_naissance_prevue"] == "2018-08-01"
    assert par_role(dossier, "enfant_garde_alternee")[0]["date_naissance"] == "2012-01-01"
    assert par_role(dossier, "enfant_droit_visite")[0]["date_naissance"] == "2014-01-01"


def test_les_ressources_mensuelles_de_l_exemple_sont_reprises_avec_leur_sens():
    demandeur, cotitulaire = dossier_seul(exemple())["personnes"][:2]
    recues = {r["code"]: r["montant_mensuel"] for r in demandeur["ressources"] if r["sens"] == "recue"}
    assert recues["SAL"] == 1500
    assert recues["AF"] == 400
    assert len(recues) == 14
    assert [r for r in demandeur["ressources"] if r["sens"] == "versee"] == [
        {"sens": "versee", "code": "PAV", "montant_mensuel": 120}
    ]
    assert {"sens": "versee", "code": "PAV", "montant_mensuel": 30} in cotitulaire["ressources"]
    assert {"sens": "recue", "code": "AMV", "montant_mensuel": 600} in cotitulaire["ressources"]


def test_la_conjointe_sans_montant_figure_sur_l_avis_d_imposition_du_demandeur():
    demandeur, cotitulaire = dossier_seul(exemple())["personnes"][:2]
    assert demandeur["revenus_fiscaux"] == [
        {"annee": 2016, "montant": 20000, "avis": "avis-2016-1"},
        {"annee": 2017, "montant": 21000, "avis": "avis-2017-1"},
    ]
    assert cotitulaire["revenus_fiscaux"] == [
        {"annee": 2016, "montant": None, "avis": "avis-2016-1"},
        {"annee": 2017, "montant": None, "avis": "avis-2017-1"},
    ]


def test_un_concubin_sans_montant_garde_son_propre_avis_sans_montant():
    def concubin(racine):
        trouver(racine, f"{COTITULAIRE}/n:lienDemandeur").set("code", "C")

    cotitulaire = dossier_seul(variante(concubin))["personnes"][1]
    assert cotitulaire["lien_cotitulaire"] == "concubin"
    assert cotitulaire["revenus_fiscaux"] == [
        {"annee": 2016, "montant": None, "avis": "avis-2016-2"},
        {"annee": 2017, "montant": None, "avis": "avis-2017-2"},
    ]


def test_une_conjointe_avec_son_montant_a_son_propre_avis():
    def montant(racine):
        rf = trouver(racine, f"{COTITULAIRE}/n:revenuFiscal")
        ajouter(rf, "montantMoins1", "9000")

    cotitulaire = dossier_seul(variante(montant))["personnes"][1]
    assert cotitulaire["revenus_fiscaux"] == [
        {"annee": 2016, "montant": None, "avis": "avis-2016-1"},
        {"annee": 2017, "montant": 9000, "avis": "avis-2017-2"},
    ]


def test_le_contact_et_le_logement_actuel_viennent_de_l_adresse_du_demandeur():
    dossier = dossier_seul(exemple())
    assert dossier["contact"] == {
        "adresse": "103 avenue de france",
        "code_postal": "75013",
        "commune_insee": "75113",
        "telephone": "0606060606",
        "courriel": "jean.dupont@yyyy.fr",
    }
    assert dossier["logement_actuel"] == {
        "modele": "LP",
        "typologie": "T3",
        "loyer_mensuel": 1000,
        "surface": 50,
        "nb_pieces": None,
        "nb_occupants": 5,
        # Paris 13e : code d'arrondissement, code INSEE valide.
        "commune_insee": "75113",
        "proprietaire": False,
    }


def test_la_residence_reguliere_reste_inconnue_meme_pour_un_demandeur_francais():
    dossier = dossier_seul(exemple())
    assert dossier["personnes"][0]["nationalite"] == "1"
    assert all(p["residence_reguliere"] == {"declaree": None, "verifiee": None} for p in dossier["personnes"])


def test_le_rapport_nomme_les_elements_non_repris_sans_recopier_leurs_valeurs():
    demande = lire_demande_sne(exemple())
    chemins = {e["chemin"]: e for e in demande.rapport}
    assert "demandeLogement/personnePhysique/logementActuel/categorieLogement" in chemins
    assert "demandeLogement/personnePhysique/demandeur/situationProfessionnelle/nomEmployeurPrincipal" in chemins
    assert (
        "demandeLogement/personnePhysique/listeCotitulaire/cotitulaire[1]/situationProfessionnelle/commune"
        in chemins
    )
    assert all(e["nature"] in ("non repris", "adapté") and e["raison"] for e in demande.rapport)
    texte = json.dumps(demande.rapport, ensure_ascii=False)
    assert "AAAA" not in texte and "Département" not in texte and "Dupont" not in texte


def test_un_element_inconnu_est_signale_avec_son_chemin_jamais_ignore():
    demande = lire_demande_sne(donnee("modification.xml"))
    inconnus = [e for e in demande.rapport if e["chemin"] == "demandeLogement/zoneInconnue"]
    assert len(inconnus) == 1 and "non reconnu" in inconnus[0]["raison"]
    assert "demandeLogement/zoneInconnue/valeur" not in {e["chemin"] for e in demande.rapport}


def test_un_attribut_inconnu_est_signale():
    def attribut(racine):
        trouver(racine, f"{DEMANDEUR}/n:nom").set("usage", "x")

    rapport = lire_demande_sne(variante(attribut)).rapport
    assert {"nature": "non repris", "chemin": "demandeLogement/personnePhysique/demandeur/nom@usage",
            "raison": "attribut non reconnu par l'import : non repris"} in rapport


def test_la_recherche_les_motifs_et_la_modification_sont_repris():
    dossier = dossier_seul(donnee("modification.xml"))
    # C (chambre) est compté comme un T1, T6P comme un T6.
    assert dossier["typologies_souhaitees"] == ["T4", "T3", "T1", "T6"]
    assert dossier["communes_souhaitees"] == ["75113", "75120"]
    assert dossier["motifs"] == ["13", "09"]
    assert dossier["date_mise_a_jour"] == "2018-09-02"
    rapport = lire_demande_sne(donnee("modification.xml")).rapport
    assert any(e["nature"] == "adapté" and e["chemin"].endswith("typeLogement[3]@code") for e in rapport)


def test_les_ressources_des_personnes_a_charge_vont_au_titulaire_qui_les_declare():
    def ressource(racine):
        liste = trouver(racine, f"{DEMANDEUR}/n:listeRessourceRecuePersACharge")
        detail = ajouter(liste, "detailRessource")
        ajouter(detail, "ressource", code="BE")
        ajouter(detail, "montant", "85.50")

    contenu = variante(ressource)
    demandeur = dossier_seul(contenu)["personnes"][0]
    assert {"sens": "recue", "code": "BE", "montant_mensuel": 85.5} in demandeur["ressources"]
    assert any(e["nature"] == "adapté" and e["chemin"].endswith("listeRessourceRecuePersACharge")
               for e in lire_demande_sne(contenu).rapport)


# -- chaque code des listes SNE ----------------------------------------------------------------


def _codes(liste: str) -> list[str]:
    return sorted(listes_sne()[liste])


@pytest.mark.parametrize("code", _codes("ListeCivilite"))
def test_chaque_civilite_donne_un_sexe(code):
    dossier = dossier_seul(variante(lambda r: trouver(r, f"{DEMANDEUR}/n:civilite").set("code", code)))
    assert dossier["personnes"][0]["sexe"] == {"1": "M", "2": "F", "3": "F"}[code]


@pytest.mark.parametrize("code", _codes("ListeNationalite"))
def test_chaque_nationalite_est_reprise_sans_rien_en_deduire(code):
    demandeur = dossier_seul(variante(lambda r: trouver(r, f"{DEMANDEUR}/n:nationalite").set("code", code)))["personnes"][0]
    assert demandeur["nationalite"] == code
    assert demandeur["residence_reguliere"] == {"declaree": None, "verifiee": None}


@pytest.mark.parametrize("code", _codes("ListeSituationFamiliale"))
def test_chaque_situation_familiale_est_reprise(code):
    dossier = dossier_seul(variante(lambda r: trouver(r, f"{COTITULAIRE}/n:situationFamiliale").set("code", code)))
    assert dossier["personnes"][1]["situation_familiale"] == code


@pytest.mark.parametrize("code", _codes("ListeLienDemandeur"))
def test_chaque_lien_avec_le_demandeur_donne_un_lien_de_cotitularite(code):
    dossier = dossier_seul(variante(lambda r: trouver(r, f"{COTITULAIRE}/n:lienDemandeur").set("code", code)))
    attendu = {"M": "conjoint", "P": "pacse", "C": "concubin", "L": "colocataire"}[code]
    assert dossier["personnes"][1]["lien_cotitulaire"] == attendu


@pytest.mark.parametrize("code", _codes("ListeTypeContratTravail"))
def test_chaque_type_de_contrat_donne_la_situation_professionnelle(code):
    chemin = f"{DEMANDEUR}/n:situationProfessionnelle/n:typeContratTravail"
    dossier = dossier_seul(variante(lambda r: trouver(r, chemin).set("code", code)))
    assert dossier["personnes"][0]["situation_professionnelle"] == code


@pytest.mark.parametrize("code", _codes("ListeRessourceRecue"))
def test_chaque_ressource_recue_est_reprise(code):
    chemin = f"{DEMANDEUR}/n:listeRessourceRecue/n:detailRessource/n:ressource"
    dossier = dossier_seul(variante(lambda r: trouver(r, chemin).set("code", code)))
    assert dossier["personnes"][0]["ressources"][0] == {"sens": "recue", "code": code, "montant_mensuel": 100}


@pytest.mark.parametrize("code", _codes("ListeRessourceVersee"))
def test_chaque_ressource_versee_est_reprise(code):
    chemin = f"{DEMANDEUR}/n:listeRessourceVersee/n:detailRessource/n:ressource"
    dossier = dossier_seul(variante(lambda r: trouver(r, chemin).set("code", code)))
    assert dossier["personnes"][0]["ressources"][-1] == {"sens": "versee", "code": code, "montant_mensuel": 120}


@pytest.mark.parametrize("code", _codes("ListeSexe"))
def test_chaque_sexe_d_un_enfant_est_repris(code):
    chemin = "n:demande/n:demandeLogement/n:personnePhysique/n:listePersonneACharge/n:personneACharge/n:sexe"
    dossier = dossier_seul(variante(lambda r: trouver(r, chemin).set("code", code)))
    assert par_role(dossier, "personne_a_charge")[0]["sexe"] == code


@pytest.mark.parametrize("code", _codes("ListeLienParente"))
def test_chaque_lien_de_parente_est_repris(code):
    chemin = "n:demande/n:demandeLogement/n:personnePhysique/n:listePersonneACharge/n:personneACharge/n:lienParente"
    dossier = dossier_seul(variante(lambda r: trouver(r, chemin).set("code", code)))
    assert par_role(dossier, "personne_a_charge")[0]["lien_parente"] == code


@pytest.mark.parametrize("code", _codes("ListeCoparentalite"))
def test_chaque_coparentalite_donne_le_role_de_l_enfant(code):
    chemin = "n:demande/n:demandeLogement/n:personnePhysique/n:listePersonneEnGarde/n:personneEnGarde/n:coParentalite"
    dossier = dossier_seul(variante(lambda r: trouver(r, chemin).set("code", code)))
    role = {"G": "enfant_garde_alternee", "D": "enfant_droit_visite"}[code]
    assert [p["date_naissance"] for p in par_role(dossier, role)][0] == "2012-01-01"


@pytest.mark.parametrize("code", _codes("ListeModeleLogement"))
def test_chaque_situation_de_logement_actuel_est_reprise(code):
    chemin = f"{LOGEMENT_ACTUEL}/n:listeModeleLogement/n:modeleLogement"
    dossier = dossier_seul(variante(lambda r: trouver(r, chemin).set("code", code)))
    assert dossier["logement_actuel"]["modele"] == code


@pytest.mark.parametrize("code", _codes("ListeTypeLogement"))
def test_chaque_type_de_logement_actuel_donne_une_typologie(code):
    dossier = dossier_seul(variante(lambda r: trouver(r, f"{LOGEMENT_ACTUEL}/n:typeLogementActuel").set("code", code)))
    attendu = {"C": "T1", "T6P": "T6"}.get(code, code)
    assert dossier["logement_actuel"]["typologie"] == attendu


@pytest.mark.parametrize("code", _codes("ListeTypeLogement"))
def test_chaque_type_de_logement_souhaite_donne_une_typologie(code):
    def souhait(racine):
        dl = trouver(racine, "n:demande/n:demandeLogement")
        lr = ajouter(dl, "logementRecherche")
        ajouter(ajouter(lr, "listeTypeLogement"), "typeLogement", code=code)

    dossier = dossier_seul(variante(souhait))
    assert dossier["typologies_souhaitees"] == [{"C": "T1", "T6P": "T6"}.get(code, code)]


@pytest.mark.parametrize("code", _codes("ListeCategorieLogement"))
def test_chaque_categorie_de_logement_est_acceptee_et_signalee_non_reprise(code):
    contenu = variante(lambda r: trouver(r, f"{LOGEMENT_ACTUEL}/n:categorieLogement").set("code", code))
    chemins = [e["chemin"] for e in lire_demande_sne(contenu).rapport if e["nature"] == "non repris"]
    assert "demandeLogement/personnePhysique/logementActuel/categorieLogement" in chemins


@pytest.mark.parametrize("code", _codes("ListeMotifDemande"))
def test_chaque_motif_de_demande_est_repris(code):
    def motif(racine):
        dl = trouver(racine, "n:demande/n:demandeLogement")
        ajouter(ajouter(dl, "listeMotifDemande"), "motifDemande", code=code)

    assert dossier_seul(variante(motif))["motifs"] == [code]


def _fichier_radiation(motif: str, sous_motif: str | None = None) -> bytes:
    def radiation(racine):
        entete = trouver(racine, "n:entete")
        entete.insert(0, ET.Element(f"{{{NS}}}typeFichier"))
        entete[0].text = "RAD"
        rad = ajouter(trouver(racine, "n:demande/n:demandeLogement"), "radiation")
        ajouter(rad, "motifRadiation", code=motif)
        if sous_motif:
            ajouter(rad, "sousMotifRadiation", code=sous_motif)

    return variante(radiation)


@pytest.mark.parametrize("code", [c for c in _codes("ListeMotifsRadiation") if c])
def test_chaque_motif_de_radiation_radie_la_demande_a_la_date_du_fichier(code):
    sous_motif = "IRRSEJ" if code == "RADIRR" else None
    dossier = dossier_seul(_fichier_radiation(code, sous_motif))
    assert (dossier["statut"], dossier["motif_radiation"], dossier["date_radiation"]) == ("radiee", code, "2018-03-15")


@pytest.mark.parametrize("code", _codes("ListeSousMotifRadiationIrrecevabilite"))
def test_chaque_sous_motif_d_irrecevabilite_est_accepte_et_signale(code):
    demande = lire_demande_sne(_fichier_radiation("RADIRR", code))
    assert demande.radiation["motif"] == "RADIRR"
    assert any(e["chemin"].endswith("radiation/sousMotifRadiation") for e in demande.rapport)


def test_une_radiation_pour_irrecevabilite_sans_sous_motif_est_refusee():
    with pytest.raises(ErreurSNE) as exc:
        lire_demande_sne(_fichier_radiation("RADIRR"))
    assert exc.value.erreurs[0][0] == "demandeLogement/radiation/sousMotifRadiation"


@pytest.mark.parametrize("code", _codes("ListeTypeFichier"))
def test_chaque_type_de_fichier_a_un_effet_defini(code):
    def typer(racine):
        entete = trouver(racine, "n:entete")
        element = ET.Element(f"{{{NS}}}typeFichier")
        element.text = code
        entete.insert(0, element)
        if code == "RAD":
            ajouter(ajouter(trouver(racine, "n:demande/n:demandeLogement"), "radiation"), "motifRadiation", code="RADABA")

    contenu = variante(typer)
    if code == "SUP":
        with pytest.raises(ErreurSNE) as exc:
            lire_demande_sne(contenu)
        assert exc.value.erreurs[0][0] == "entete/typeFichier"
        return
    dossier = dossier_seul(contenu)
    assert dossier["statut"] == ("radiee" if code == "RAD" else "active")
    assert dossier["date_renouvellement"] == ("2018-03-15" if code == "REN" else None)
    assert dossier["date_mise_a_jour"] == ("2018-03-15" if code in ("MOD", "REN") else None)


# -- fichiers refusés --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fichier", "attendu"),
    [
        ("malforme.xml", "XML mal formé (ligne 14"),
        ("malforme.xml", "dans l'élément demandeLogement/personnePhysique/demandeur/prenom"),
        ("entite_externe.xml", "DOCTYPE interdite"),
        ("bombe_entites.xml", "DOCTYPE interdite"),
        (
            "code_inconnu.xml",
            "demandeLogement/personnePhysique/demandeur/listeRessourceRecue/detailRessource[3]/ressource@code : "
            "Code inconnu « XYZ » (liste SNE ListeRessourceRecue).",
        ),
    ],
)
def test_un_fichier_dangereux_ou_faux_est_refuse_en_nommant_l_element(fichier, attendu):
    with pytest.raises(ErreurSNE) as exc:
        lire_demande_sne(donnee(fichier))
    assert attendu in str(exc.value)
    assert "root:" not in str(exc.value)


@pytest.mark.parametrize(
    ("modifier", "chemin"),
    [
        (lambda r: trouver(r, f"{DEMANDEUR}/n:dateNaissance").__setattr__("text", "01/01/1970"),
         "demandeLogement/personnePhysique/demandeur/dateNaissance"),
        (lambda r: trouver(r, f"{COTITULAIRE}/n:lienDemandeur").set("code", "X"),
         "demandeLogement/personnePhysique/listeCotitulaire/cotitulaire[1]/lienDemandeur@code"),
        (lambda r: trouver(r, f"{DEMANDEUR}/n:listeRessourceVersee/n:detailRessource/n:montant").__setattr__("text", "-120"),
         "demandeLogement/personnePhysique/demandeur/listeRessourceVersee/detailRessource[1]/montant"),
        (lambda r: trouver(r, f"{DEMANDEUR}/n:adressePostale/n:commune").set("code", "7511"),
         "demandeLogement/personnePhysique/demandeur/adressePostale/commune@code"),
        (lambda r: trouver(r, "n:demande/n:demandeLogement/n:numUnique").__setattr__("text", "abc"),
         "demandeLogement/numUnique"),
        (lambda r: r.set("versionInterface", "03.00"), "interfaceNuu@versionInterface"),
        (lambda r: trouver(r, f"{LOGEMENT_ACTUEL}/n:nombreHabitant").__setattr__("text", "cinq"),
         "demandeLogement/personnePhysique/logementActuel/nombreHabitant"),
    ],
)
def test_une_valeur_invalide_est_refusee_en_nommant_son_element(modifier, chemin):
    contenu = variante(modifier)
    with pytest.raises(ErreurSNE) as exc:
        demande = lire_demande_sne(contenu)
        valider(demande, composer_dossier(demande, None))
    assert chemin in [c for c, _ in exc.value.erreurs]


def test_un_cotitulaire_sans_lien_est_refuse_en_nommant_l_element_attendu():
    def sans_lien(racine):
        cotitulaire = trouver(racine, COTITULAIRE)
        cotitulaire.remove(trouver(racine, f"{COTITULAIRE}/n:lienDemandeur"))

    demande = lire_demande_sne(variante(sans_lien))
    with pytest.raises(ErreurSNE) as exc:
        valider(demande, composer_dossier(demande, None))
    assert exc.value.erreurs[0][0] == "demandeLogement/personnePhysique/listeCotitulaire/cotitulaire[1]/lienDemandeur"


# -- en base (SQLite et PostgreSQL) ------------------------------------------------------------


def test_l_exemple_importe_cree_la_demande_avec_ses_personnes_et_un_audit_sans_nom(sessions):
    resultats = importer_contenus(sessions, [("exemple.xml", exemple())], acteur="test")
    assert [(r.resultat, r.numero_unique) for r in resultats] == [("creee", NUMERO)]
    with sessions() as s:
        demande = charger_demande(s, NUMERO)
        dossier = en_json(dossier_depuis_demande(demande))
        assert len(demande.personnes) == 6
        sal = s.scalars(select(Ressource).where(Ressource.code == "SAL").order_by(Ressource.montant_mensuel)).all()
        assert [float(r.montant_mensuel) for r in sal] == [1000.0, 1500.0]
        entrees = s.scalars(select(AuditEntry).where(AuditEntry.acteur == "test")).all()
    assert dossier["personnes"][0]["revenus_fiscaux"][0] == {"annee": 2016, "montant": 20000, "avis": "avis-2016-1"}
    assert dossier["personnes"][1]["revenus_fiscaux"][1] == {"annee": 2017, "montant": None, "avis": "avis-2017-1"}
    assert len(entrees) == 1
    assert entrees[0].action == "sne.importer"
    assert entrees[0].details["creees"] == 1 and entrees[0].details["refusees"] == 0
    texte = json.dumps(entrees[0].details, ensure_ascii=False)
    assert "Dupont" not in texte and "DUPONT" not in texte and "jean.dupont" not in texte


def test_importer_deux_fois_le_meme_numero_met_a_jour_sans_doublon(sessions):
    importer_contenus(sessions, [("exemple.xml", exemple())], acteur="test")
    avant = compter(sessions)
    resultats = importer_contenus(sessions, [("exemple.xml", exemple())], acteur="test")
    assert resultats[0].resultat == "mise_a_jour"
    apres = compter(sessions)
    assert apres["demande"] == 1
    assert {k: v for k, v in apres.items() if k != "audit_entry"} == {k: v for k, v in avant.items() if k != "audit_entry"}
    with sessions() as s:
        entree = s.scalars(select(AuditEntry).where(AuditEntry.acteur == "test").order_by(AuditEntry.id)).all()[-1]
    demande = entree.details["demandes"][0]
    # Même fichier : le dossier est inchangé.
    assert demande["empreinte_avant"] == demande["empreinte"]


def test_une_mise_a_jour_sne_garde_ce_que_seul_caleol_sait_du_menage(sessions):
    importer_contenus(sessions, [("exemple.xml", exemple())], acteur="test")
    with sessions.begin() as s:
        dossier = en_json(dossier_depuis_demande(charger_demande(s, NUMERO)))
        dossier["personnes"][0]["residence_reguliere"] = {"declaree": True, "verifiee": True}
        dossier["situations"] = [{"code": "PRIO_MENACE_EXPULSION", "verifiee": True, "date_verification": "2019-01-10",
                                  "verifiee_par": "CCAS"}]
        dossier["typologies_souhaitees"] = ["T4"]
        enregistrer_dossier(s, charger_dossier(dossier), acteur="test")
    importer_contenus(sessions, [("renouvellement.xml", donnee("renouvellement.xml"))], acteur="test")
    with sessions() as s:
        dossier = en_json(dossier_depuis_demande(charger_demande(s, NUMERO)))
    assert dossier["personnes"][0]["residence_reguliere"] == {"declaree": True, "verifiee": True}
    assert dossier["personnes"][1]["residence_reguliere"] == {"declaree": None, "verifiee": None}
    assert [s["code"] for s in dossier["situations"]] == ["PRIO_MENACE_EXPULSION"]
    # Le fichier ne décrit pas le logement recherché : les souhaits connus restent.
    assert dossier["typologies_souhaitees"] == ["T4"]


def test_un_renouvellement_date_la_demande_et_remplace_les_ressources(sessions):
    importer_contenus(sessions, [("exemple.xml", exemple())], acteur="test")
    resultats = importer_contenus(sessions, [("renouvellement.xml", donnee("renouvellement.xml"))], acteur="test")
    assert (resultats[0].resultat, resultats[0].type_fichier) == ("mise_a_jour", "REN")
    with sessions() as s:
        dossier = en_json(dossier_depuis_demande(charger_demande(s, NUMERO)))
        assert s.scalar(select(func.count()).select_from(Demande)) == 1
        assert s.scalar(select(func.count()).select_from(Personne)) == 6
    assert (dossier["date_depot"], dossier["date_renouvellement"], dossier["date_mise_a_jour"]) == (
        "2018-03-15", "2019-03-11", "2019-03-11",
    )
    salaires = [r["montant_mensuel"] for r in dossier["personnes"][0]["ressources"] if r["code"] == "SAL"]
    assert salaires == [1620.5]


def test_une_radiation_radie_la_demande_connue_et_une_deradiation_la_reactive(sessions):
    importer_contenus(sessions, [("exemple.xml", exemple())], acteur="test")
    resultats = importer_contenus(sessions, [("radiation.xml", donnee("radiation.xml"))], acteur="test")
    assert resultats[0].statut == "radiee"
    with sessions() as s:
        demande = charger_demande(s, NUMERO)
        assert (demande.statut, demande.motif_radiation, demande.date_radiation.isoformat()) == (
            "radiee", "RADATT", "2019-06-18",
        )
        assert len(demande.personnes) == 6
    importer_contenus(sessions, [("deradiation.xml", donnee("deradiation.xml"))], acteur="test")
    with sessions() as s:
        demande = charger_demande(s, NUMERO)
        assert (demande.statut, demande.motif_radiation, demande.date_radiation) == ("active", None, None)


def test_une_radiation_d_une_demande_inconnue_sans_menage_est_refusee_sans_rien_ecrire(sessions):
    avant = compter(sessions)
    resultats = importer_contenus(sessions, [("radiation.xml", donnee("radiation.xml"))], acteur="test")
    assert resultats[0].resultat == "refusee"
    assert resultats[0].erreurs[0][0] == "demandeLogement/personnePhysique"
    assert compter(sessions) == avant


@pytest.mark.parametrize("fichier", ["malforme.xml", "code_inconnu.xml", "entite_externe.xml", "bombe_entites.xml"])
def test_un_fichier_refuse_n_ecrit_rien_meme_apres_une_demande_existante(sessions, fichier):
    importer_contenus(sessions, [("exemple.xml", exemple())], acteur="test")
    avant = compter(sessions)
    with sessions() as s:
        empreinte_avant = en_json(dossier_depuis_demande(charger_demande(s, NUMERO)))
    resultats = importer_contenus(sessions, [(fichier, donnee(fichier))], acteur="test")
    assert resultats[0].resultat == "refusee" and resultats[0].erreurs
    assert compter(sessions) == avant
    with sessions() as s:
        assert en_json(dossier_depuis_demande(charger_demande(s, NUMERO))) == empreinte_avant


def test_un_lot_importe_les_fichiers_valides_et_resume_l_operation_dans_un_seul_audit(sessions):
    lot = [
        ("code_inconnu.xml", donnee("code_inconnu.xml")),
        ("exemple.xml", exemple()),
        ("malforme.xml", donnee("malforme.xml")),
        ("radiation.xml", donnee("radiation.xml")),
    ]
    resultats = importer_contenus(sessions, lot, acteur="test")
    assert [r.resultat for r in resultats] == ["refusee", "creee", "refusee", "mise_a_jour"]
    with sessions() as s:
        assert charger_demande(s, NUMERO).statut == "radiee"
        entrees = s.scalars(select(AuditEntry).where(AuditEntry.acteur == "test")).all()
    assert len(entrees) == 1
    details = entrees[0].details
    assert (details["fichiers"], details["creees"], details["mises_a_jour"], details["refusees"]) == (4, 1, 1, 2)
    assert [d["numero_unique"] for d in details["demandes"]] == [NUMERO, NUMERO]
    assert "code_inconnu" not in json.dumps(details)


# -- la commande caleol import-sne -------------------------------------------------------------


def _url_sqlite(backend, engine) -> str:
    if backend != "sqlite":
        pytest.skip("La commande est testée sur SQLite ; PostgreSQL passe par la fonction de service.")
    return engine.url.render_as_string(hide_password=False)


def test_la_commande_importe_et_resume_chaque_fichier(backend, engine, sessions):
    url = _url_sqlite(backend, engine)
    resultat = CliRunner().invoke(main, ["--database-url", url, "import-sne", str(EXEMPLE)])
    assert resultat.exit_code == 0, resultat.output
    assert f"demande {NUMERO} créée" in resultat.stdout
    assert "non repris : demandeLogement/personnePhysique/logementActuel/categorieLogement" in resultat.stdout
    resultat = CliRunner().invoke(main, ["--database-url", url, "import-sne", str(EXEMPLE)])
    assert f"demande {NUMERO} mise à jour" in resultat.stdout
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Demande)) == 1


def test_la_commande_sort_en_erreur_2_si_un_fichier_est_refuse_et_importe_les_autres(backend, engine, sessions):
    url = _url_sqlite(backend, engine)
    fichiers = [str(DONNEES / "code_inconnu.xml"), str(EXEMPLE), str(DONNEES / "absent.xml")]
    resultat = CliRunner().invoke(main, ["--database-url", url, "import-sne", *fichiers])
    assert resultat.exit_code == 2
    assert "code_inconnu.xml : refusé, rien n'est enregistré." in resultat.stdout
    assert "detailRessource[3]/ressource@code : Code inconnu « XYZ »" in resultat.stdout
    assert "Fichier introuvable." in resultat.stdout
    assert "Erreur : 2 fichier(s) refusé(s) sur 3." in resultat.stderr
    assert "Traceback" not in resultat.output
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Demande)) == 1


def test_la_commande_json_affiche_le_dossier_sans_rien_enregistrer(backend, engine, sessions):
    url = _url_sqlite(backend, engine)
    resultat = CliRunner().invoke(main, ["--database-url", url, "import-sne", "--json", str(EXEMPLE)])
    assert resultat.exit_code == 0, resultat.output
    dossier = json.loads(resultat.stdout)
    assert dossier["numero_unique"] == NUMERO
    roles = [p["role"] for p in dossier["personnes"]]
    assert roles.count("demandeur") == 1 and roles.count("cotitulaire") == 1
    assert dossier["personnes"][1]["lien_cotitulaire"] == "conjoint"
    assert roles.count("personne_a_charge") == 1 and roles.count("enfant_a_naitre") == 1
    assert roles.count("enfant_garde_alternee") == 1 and roles.count("enfant_droit_visite") == 1
    assert "Agent de sécurité" in resultat.stdout  # ensure_ascii=False
    assert resultat.stdout.startswith('{\n  "numero_unique"')  # indentation de 2
    assert "non repris : demandeLogement/personnePhysique/logementActuel/categorieLogement" in resultat.stderr
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Demande)) == 0


def test_la_commande_json_refuse_un_fichier_avec_entite_externe():
    resultat = CliRunner().invoke(main, ["import-sne", "--json", str(DONNEES / "entite_externe.xml")])
    assert resultat.exit_code == 2
    assert "DOCTYPE interdite" in resultat.stderr
    assert resultat.stdout == ""


def test_la_commande_sans_fichier_explique_en_francais():
    resultat = CliRunner().invoke(main, ["import-sne", "--json"])
    assert resultat.exit_code == 2
    assert "aucun fichier à importer" in resultat.stderr


def test_la_commande_json_sur_plusieurs_fichiers_affiche_une_liste():
    resultat = CliRunner().invoke(
        main, ["import-sne", "--json", str(EXEMPLE), str(DONNEES / "modification.xml")]
    )
    assert resultat.exit_code == 0, resultat.output
    dossiers = json.loads(resultat.stdout)
    assert [d["date_mise_a_jour"] for d in dossiers] == [None, "2018-09-02"]


def test_un_fichier_a_deux_demandes_est_refuse():
    def doubler(racine):
        demande = trouver(racine, "n:demande")
        racine.append(ET.fromstring(ET.tostring(demande)))

    with pytest.raises(ErreurSNE) as exc:
        lire_demande_sne(variante(doubler))
    assert exc.value.erreurs == [
        ("demande/demandeLogement", "Un fichier doit contenir exactement une demande de logement (2 trouvées).")
    ]


def test_un_conjoint_declarant_le_meme_rfr_que_le_demandeur_est_signale():
    def meme_montant(racine):
        ajouter(trouver(racine, f"{COTITULAIRE}/n:revenuFiscal"), "montantMoins1", "21000")

    demande = lire_demande_sne(variante(meme_montant))
    notes = [e for e in demande.rapport if e["nature"] == "adapté" and e["chemin"].endswith("cotitulaire[1]/revenuFiscal")]
    assert len(notes) == 1 and "compté deux fois" in notes[0]["raison"]


@pytest.mark.parametrize(
    ("contenu", "attendu"),
    [
        (b'<?xml version="1.0"?><autre xmlns="http://nuu.application.i2/"/>', "Racine inattendue"),
        (b"", "document vide"),
        (b"<a>&inconnue;</a>", "entité non définie"),
    ],
)
def test_un_fichier_qui_n_est_pas_une_demande_sne_est_refuse(contenu, attendu):
    with pytest.raises(ErreurSNE) as exc:
        lire_demande_sne(contenu)
    assert attendu in str(exc.value)


def test_une_demande_sans_numero_unique_est_refusee():
    def sans_numero(racine):
        dl = trouver(racine, "n:demande/n:demandeLogement")
        dl.remove(trouver(racine, "n:demande/n:demandeLogement/n:numUnique"))

    with pytest.raises(ErreurSNE) as exc:
        lire_demande_sne(variante(sans_numero))
    assert exc.value.erreurs[0][0] == "demandeLogement/numUnique"
    assert "enregistrées au SNE" in exc.value.erreurs[0][1]
