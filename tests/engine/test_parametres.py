"""Dated parameters: content, dates, « à vérifier » record, schema errors, and oracles on the data."""
from __future__ import annotations

import csv
import datetime as dt
import shutil
import statistics
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from engine.geo import charger_territoire, zone_plafonds
from engine.parametres import (
    ErreurParametres,
    ParametreIntrouvable,
    charger_referentiel,
    fichiers_parametres,
    parametres_a_la_date,
)
from engine.yaml_strict import ErreurRegles

RACINE = Path(__file__).resolve().parents[2]
REGLES = RACINE / "rules"
CSV_PLAFONDS = REGLES / "donnees" / "plafonds_ressources_logement_social_2020_2026.csv"
CSV_QUARTILES = REGLES / "donnees" / "france_quartile_thresholds_2024_2026_long.csv"
ORACLE_PLAFONDS = Path("/work/shared/data/plafonds/plafonds_ressources_logement_social_2020_2026.csv")
FIXTURES_GEO = RACINE / "fixtures" / "geo"


def _lignes(chemin: Path) -> list[dict[str, str]]:
    with open(chemin, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _chemin_cellule(ligne: dict[str, str]) -> str:
    cat = ligne["categorie_menage"]
    cellule = "personne_supplementaire" if cat == "pers_supp" else f"categorie_{cat}"
    return f"plafonds.{ligne['financement'].lower()}.{cellule}.{ligne['zone']}"


# --- content ---------------------------------------------------------------------------------------------

def test_le_referentiel_se_charge_avec_chaque_cellule_de_plafond_et_chaque_epci():
    referentiel = charger_referentiel()
    plafonds = [c for c in referentiel.definitions if c.startswith("plafonds.") and c.count(".") == 3]
    assert len(plafonds) == 3 * 3 * 7  # financements × zones × (6 catégories + personne supplémentaire)
    for chemin in plafonds:
        assert [p.debut.year for p in referentiel.definitions[chemin].periodes] == list(range(2020, 2027))
    sirens_csv = {ligne["epci_siren"] for ligne in _lignes(CSV_QUARTILES)}
    sirens = {c.split(".")[2] for c in referentiel.definitions if c.startswith("quartiles.seuils.")}
    assert sirens == sirens_csv


def test_chaque_parametre_porte_une_reference_legifrance_ou_une_source_de_politique_locale():
    for definition in charger_referentiel().definitions.values():
        for periode in definition.periodes:
            if definition.politique_locale:
                assert definition.source and periode.reference is None, definition.chemin
            else:
                assert periode.reference is not None, definition.chemin
                assert periode.reference.lien.startswith("https://www.legifrance.gouv.fr/"), definition.chemin
                assert periode.reference.titre
            if periode.a_verifier:
                assert periode.note, definition.chemin


def test_les_valeurs_de_politique_locale_ne_sont_pas_du_droit():
    p = parametres_a_la_date(dt.date(2026, 6, 15))
    for chemin in ("politique.taux_effort_alerte", "politique.reste_a_vivre_min_uc_jour", "delais.designation_reservataire_jours"):
        valeur = p.parametre(chemin)
        assert valeur.politique_locale and valeur.reference is None and valeur.source
    assert p.valeur("politique.taux_effort_alerte") == Decimal("0.30")
    assert p.valeur("politique.reste_a_vivre_min_uc_jour") == Decimal("10")


def test_les_valeurs_legales_attendues_sont_chargees():
    p = parametres_a_la_date(dt.date(2026, 6, 15))
    attendus = {
        "menage.jeune_menage.somme_ages_max": 55,
        "menage.age_majorite": 18,
        "unites_consommation.age_seuil": 14,
        "unites_consommation.premier_adulte": Decimal("1"),
        "unites_consommation.autre_personne_age_seuil_et_plus": Decimal("0.5"),
        "unites_consommation.personne_sous_age_seuil": Decimal("0.3"),
        "ressources.baisse.ratio_max": Decimal("0.9"),
        "adequation.sur_occupation.surface_une_personne": Decimal("9"),
        "adequation.sur_occupation.surface_deux_personnes": Decimal("16"),
        "adequation.sur_occupation.surface_par_personne_supplementaire": Decimal("9"),
        "adequation.sur_occupation.surface_plafond": Decimal("70"),
        "adequation.sous_occupation.pieces_en_sus_des_personnes": 1,
        "quotas.premier_quartile_hors_qpv": Decimal("0.25"),
        "quotas.hors_premier_quartile_en_qpv": Decimal("0.50"),
        "quotas.publics_prioritaires_par_reservataire": Decimal("0.25"),
        "quotas.contingent_etat.part_max": Decimal("0.30"),
        "quotas.contingent_etat.agents_part_max": Decimal("0.05"),
        "delais.acceptation_offre_jours": 10,
        "delais.validite_demande_mois": 12,
        "quartiles.seuil_inclus": True,
        "plafonds.pls.coefficient_sur_plus": Decimal("1.30"),
        "zones.idf_hors_paris.departements": ("75", "77", "78", "91", "92", "93", "94", "95"),
    }
    for chemin, valeur in attendus.items():
        assert p.valeur(chemin) == valeur, chemin
    # Sources marked [UNCONFIRMED] stay « à vérifier ».
    for chemin in ("unites_consommation.premier_adulte", "quartiles.seuil_inclus", "menage.qui_compte.enfant_a_naitre.personne"):
        assert p.parametre(chemin).a_verifier, chemin
    assert "inférieur" in p.parametre("quartiles.seuil_inclus").note


def test_la_valeur_en_vigueur_depend_de_la_date_et_les_anciennes_restent():
    chemin = "plafonds.plus.categorie_1.autres_regions"
    assert parametres_a_la_date(dt.date(2025, 12, 31)).valeur(chemin) == 23201
    assert parametres_a_la_date(dt.date(2026, 1, 1)).valeur(chemin) == 23403
    assert parametres_a_la_date(dt.date(2020, 6, 1)).valeur(chemin) == 20870
    assert parametres_a_la_date(dt.date(2024, 5, 1)).valeur("quartiles.seuils.200093201.q1") == 9324
    assert parametres_a_la_date(dt.date(2025, 5, 1)).valeur("quartiles.seuils.200093201.q1") == 9427
    assert parametres_a_la_date(dt.date(2026, 5, 1)).valeur("quartiles.seuils.248000531.q1") == 9300
    reference = parametres_a_la_date(dt.date(2026, 1, 1)).parametre(chemin).reference
    assert "19 décembre 2025" in reference.titre


def test_un_plafond_non_charge_est_refuse_avec_un_message_clair():
    p = parametres_a_la_date(dt.date(2027, 1, 1))
    with pytest.raises(ParametreIntrouvable, match=r"plafonds\.plus\.categorie_1\.autres_regions.*2027-01-01"):
        p.valeur("plafonds.plus.categorie_1.autres_regions")
    assert p.valeur_ou_none("plafonds.plus.categorie_1.autres_regions") is None


def test_seuls_les_parametres_a_verifier_lus_sont_enregistres_et_chaque_suivi_a_le_sien():
    partage = parametres_a_la_date(dt.date(2026, 6, 15))
    p = partage.suivi()
    p.valeur("plafonds.plus.categorie_3.autres_regions")
    assert p.a_verifier_utilises == ()
    p.valeur("plafonds.plai.categorie_3.autres_regions")  # DERIVED_UNVERIFIED en 2026
    p.parametre("plafonds.plai.categorie_4.autres_regions")  # métadonnées : pas un usage
    assert p.a_verifier_utilises == ("plafonds.plai.categorie_3.autres_regions",)
    assert partage.suivi().a_verifier_utilises == ()
    cellule = p.parametre("plafonds.plai.categorie_3.autres_regions")
    assert cellule.statut == "DERIVED_UNVERIFIED" and "IRL" in cellule.note


def test_un_calcul_memorise_a_une_date_enregistre_ses_parametres_a_verifier_a_chaque_usage():
    calculs = []

    def plai_et_plus(q):
        calculs.append(1)
        return q.valeur("plafonds.plai.categorie_3.autres_regions") + q.valeur("plafonds.plus.categorie_3.autres_regions")

    date = dt.date(2026, 6, 15)
    premier = parametres_a_la_date(date).suivi()
    total = premier.memorise(("essai", "plai_et_plus"), plai_et_plus)
    assert premier.a_verifier_utilises == ("plafonds.plai.categorie_3.autres_regions",)
    second = parametres_a_la_date(date).suivi()
    assert second.memorise(("essai", "plai_et_plus"), plai_et_plus) == total
    assert calculs == [1]  # computed once for the date, recorded on each record
    assert second.a_verifier_utilises == ("plafonds.plai.categorie_3.autres_regions",)
    autre_date = parametres_a_la_date(dt.date(2025, 6, 15)).suivi()
    autre_date.memorise(("essai", "plai_et_plus"), plai_et_plus)
    assert calculs == [1, 1]  # another date, another table
    with pytest.raises(ParametreIntrouvable):
        premier.memorise(("essai", "absent"), lambda q: q.valeur("plafonds.plus.categorie_1.nulle_part"))
    assert ("essai", "absent") not in premier._memo


def test_les_cellules_derived_unverified_et_seulement_elles_sont_a_verifier():
    referentiel = charger_referentiel()
    for ligne in _lignes(CSV_PLAFONDS):
        annee = int(ligne["annee"])
        periode = referentiel.definitions[_chemin_cellule(ligne)].periode_a(dt.date(annee, 7, 1))
        assert periode.statut == ligne["statut"]
        assert periode.a_verifier is (ligne["statut"] == "DERIVED_UNVERIFIED"), ligne
    # Les PLAI 2026 sont tous estimés : tous à vérifier.
    p = parametres_a_la_date(dt.date(2026, 3, 1))
    assert all(p.parametre(c).a_verifier for c in p.chemins("plafonds.plai."))


def test_chaque_pls_calcule_vaut_le_plus_majore_de_30_pourcent_arrondi_au_demi_superieur():
    lignes = _lignes(CSV_PLAFONDS)
    plus = {(r["annee"], r["zone"], r["categorie_menage"]): Decimal(r["plafond_rfr_annuel_eur"]) for r in lignes if r["financement"] == "PLUS"}
    referentiel = charger_referentiel()
    verifiees = 0
    for ligne in lignes:
        if ligne["financement"] == "PLS" and ligne["statut"] == "computed_rule":
            attendu = (plus[(ligne["annee"], ligne["zone"], ligne["categorie_menage"])] * Decimal("1.3")).quantize(
                Decimal("1"), rounding=ROUND_HALF_UP
            )
            assert Decimal(ligne["plafond_rfr_annuel_eur"]) == attendu, ligne
            periode = referentiel.definitions[_chemin_cellule(ligne)].periode_a(dt.date(int(ligne["annee"]), 1, 1))
            assert periode.valeur == attendu
            verifiees += 1
    assert verifiees == 7 * 21


def test_le_pls_2025_publie_en_autres_regions_est_retrouve():
    # rules_and_sanity_facts.md A : tableau PLS 2025 publié (omhgrandnancy.fr), y compris 68 789,5 → 68 790.
    p = parametres_a_la_date(dt.date(2025, 6, 1))
    publies = [30161, 40279, 48437, 58477, 68790, 77527]
    assert [p.valeur(f"plafonds.pls.categorie_{i}.autres_regions") for i in range(1, 7)] == publies
    assert p.valeur("plafonds.pls.personne_supplementaire.autres_regions") == 8648


@pytest.mark.skipif(not ORACLE_PLAFONDS.is_file(), reason="données de référence partagées absentes")
def test_oracle_chaque_cellule_officielle_egale_le_parametre_charge():
    referentiel = charger_referentiel()
    officielles = 0
    for ligne in _lignes(ORACLE_PLAFONDS):
        periode = referentiel.definitions[_chemin_cellule(ligne)].periode_a(dt.date(int(ligne["annee"]), 6, 1))
        assert periode.valeur == Decimal(ligne["plafond_rfr_annuel_eur"]), ligne
        if ligne["statut"] == "official":
            officielles += 1
    assert officielles > 100


def test_les_medianes_des_seuils_du_premier_quartile_sont_celles_publiees():
    # rules_and_sanity_facts.md B : médiane nationale 2026 10 066,5 ; Hauts-de-France 9 225,5 (2026), 9 066,5 (2025).
    lignes = _lignes(CSV_QUARTILES)
    for annee, region, attendue in ((2026, None, Decimal("10066.5")), (2026, "Hauts-de-France", Decimal("9225.5")), (2025, "Hauts-de-France", Decimal("9066.5"))):
        p = parametres_a_la_date(dt.date(annee, 6, 1))
        sirens = {r["epci_siren"] for r in lignes if int(r["annee"]) == annee and (region is None or r["region"] == region)}
        assert statistics.median(p.valeur(f"quartiles.seuils.{s}.q1") for s in sirens) == attendue


def test_le_seuil_regional_d_ile_de_france_est_unique():
    p = parametres_a_la_date(dt.date(2026, 6, 1))
    assert p.valeur("quartiles.seuils_regionaux.ile_de_france.q1") == 12083
    assert p.valeur("quartiles.seuils.217500016.q1") == 12083  # Paris


# --- geography -------------------------------------------------------------------------------------------

@pytest.mark.skipif(not (FIXTURES_GEO / "zones_plafonds_ressources.csv").is_file(), reason="fixtures géographiques absentes")
def test_la_liste_des_communes_limitrophes_est_celle_des_donnees_de_reference():
    p = parametres_a_la_date(dt.date(2026, 6, 1))
    attendues = {r["code_insee"] for r in _lignes(FIXTURES_GEO / "zones_plafonds_ressources.csv") if r["zone"] == "paris_limitrophes"}
    assert set(p.valeur("zones.paris_limitrophes.communes")) == attendues
    assert len(attendues) == 30


@pytest.mark.skipif(not (FIXTURES_GEO / "france_communes_epci_2026.csv").is_file(), reason="fixtures géographiques absentes")
def test_la_table_compacte_des_communes_reprend_exactement_la_source():
    territoire = charger_territoire()
    source = _lignes(FIXTURES_GEO / "france_communes_epci_2026.csv")
    assert len(source) == len(territoire.communes) == 35014
    for ligne in source:
        commune = territoire.commune(ligne["code_insee"])
        assert (commune.departement, commune.commune_parente or "", commune.epci_siren or "") == (
            ligne["departement"], ligne["commune_parente"], ligne["epci_siren"]
        )
        if ligne["epci_siren"]:
            assert territoire.nom_epci(ligne["epci_siren"]) == ligne["epci_nom"]


def test_chaque_commune_d_ile_de_france_hors_limitrophes_est_en_zone_idf():
    p = parametres_a_la_date(dt.date(2026, 6, 1))
    territoire = charger_territoire()
    limitrophes = set(p.valeur("zones.paris_limitrophes.communes"))
    comptes: dict[str, int] = {}
    for code, commune in territoire.communes.items():
        zone = zone_plafonds(code, p, territoire)
        comptes[zone] = comptes.get(zone, 0) + 1
        parent = commune.commune_parente or code
        if parent in limitrophes:
            assert zone == "paris_limitrophes"
        elif commune.departement in p.valeur("zones.idf_hors_paris.departements"):
            assert zone == "idf_hors_paris", code
        else:
            assert zone == "autres_regions", code
    assert comptes["paris_limitrophes"] == 30 + 20  # Paris, ses 20 arrondissements et les 29 communes


def test_fichiers_parametres_liste_les_yaml_et_les_donnees_lues_tries():
    fichiers = fichiers_parametres()
    assert fichiers == sorted(fichiers)
    noms = {f.relative_to(REGLES).as_posix() for f in fichiers}
    assert {
        "parametres/plafonds.yaml",
        "parametres/quartiles.yaml",
        "donnees/plafonds_ressources_logement_social_2020_2026.csv",
        "donnees/france_quartile_thresholds_2024_2026_long.csv",
        "donnees/communes_epci_2026.csv",
        "donnees/epci_2026.csv",
        "referentiels/situations_prioritaires.yaml",
    } <= noms
    assert all(f.is_file() for f in fichiers)


# --- a broken file refuses the whole rulebook ---------------------------------------------------------

@pytest.fixture
def copie_regles(tmp_path: Path) -> Path:
    racine = tmp_path / "rules"
    shutil.copytree(REGLES / "parametres", racine / "parametres")
    shutil.copytree(REGLES / "donnees", racine / "donnees")
    return racine


def _remplacer(fichier: Path, ancien: str, nouveau: str) -> None:
    texte = fichier.read_text(encoding="utf-8")
    assert ancien in texte, ancien
    fichier.write_text(texte.replace(ancien, nouveau, 1), encoding="utf-8")


CASSES = [
    pytest.param(
        "parametres/menage.yaml", "        valeur: 18\n", "        valeur: 18\n        valeur: 19\n",
        "parametres/menage.yaml", None, None, "clé en double", id="une clé en double",
    ),
    pytest.param(
        "parametres/menage.yaml", "        valeur: 18\n", "        valeur: dix-huit\n",
        "parametres/menage.yaml", "menage.age_majorite", "valeurs[0].valeur", "entier attendu", id="une valeur du mauvais type",
    ),
    pytest.param(
        "parametres/adequation.yaml", "    type: entier\n    reference:\n      titre: Code de la construction et de l'habitation, article L621-2",
        "    type: entier\n    refrence:\n      titre: Code de la construction et de l'habitation, article L621-2",
        "parametres/adequation.yaml", "adequation.sous_occupation.pieces_en_sus_des_personnes", "refrence", "clé inconnue",
        id="une clé mal orthographiée",
    ),
    pytest.param(
        "parametres/zones.yaml", "      lien: https://www.legifrance.gouv.fr/loda/id/JORFTEXT000000294318\n    valeurs:\n      - debut: 2020-01-01\n        fin: null\n        valeur: [\"75\"",
        "      lien: https://example.org/\n    valeurs:\n      - debut: 2020-01-01\n        fin: null\n        valeur: [\"75\"",
        "parametres/zones.yaml", "zones.idf_hors_paris.departements", "reference.lien", "Légifrance", id="un lien hors Légifrance",
    ),
    pytest.param(
        "parametres/delais.yaml", "    note: Délai de dix jours relevé par une source secondaire (bailleur) ; à vérifier sur R441-10\n", "",
        "parametres/delais.yaml", "delais.acceptation_offre_jours", "note", "dit pourquoi", id="un paramètre à vérifier sans note",
    ),
    pytest.param(
        "parametres/plafonds.yaml", "      - debut: 2020-01-01\n        fin: null\n        valeur: 1.30\n",
        "      - debut: 2020-01-01\n        fin: null\n        valeur: 1.30\n      - debut: 2025-01-01\n        fin: null\n        valeur: 1.35\n",
        "parametres/plafonds.yaml", "plafonds.pls.coefficient_sur_plus", "valeurs[1].debut", "chevauchent", id="deux périodes qui se chevauchent",
    ),
    pytest.param(
        "parametres/politique_locale.yaml", "    source: Règlement intérieur de la CALEOL (valeur d'exemple ; pratiques relevées entre 20 % et 30 %)\n",
        "", "parametres/politique_locale.yaml", "politique.taux_effort_alerte", "source", "obligatoire", id="une politique locale sans source",
    ),
    pytest.param(
        "parametres/menage.yaml", "  menage.age_majorite:\n", "  menage.age majorite:\n",
        "parametres/menage.yaml", None, None, "chemin de paramètre invalide", id="un chemin invalide",
    ),
    pytest.param(
        "donnees/plafonds_ressources_logement_social_2020_2026.csv", "2026,PLS,autres_regions,1,30424,", "2026,PLS,autres_regions,1,30425,",
        "donnees/plafonds_ressources_logement_social_2020_2026.csv", "plafonds.pls.categorie_1.autres_regions", "plafond_rfr_annuel_eur",
        "30425", id="un PLS calculé qui diffère de PLUS × 1,3",
    ),
    pytest.param(
        "donnees/plafonds_ressources_logement_social_2020_2026.csv", "2026,PLUS,autres_regions,1,23403,official", "2026,PLUS,autres_regions,1,23403,officiel",
        "donnees/plafonds_ressources_logement_social_2020_2026.csv", "plafonds", "statut", "non décrit", id="un statut de cellule inconnu",
    ),
    pytest.param(
        "donnees/france_quartile_thresholds_2024_2026_long.csv", "2026,Hauts-de-France,59 - Nord,Métropole Européenne de Lille,200093201,oui,9456,",
        "2026,Hauts-de-France,59 - Nord,Métropole Européenne de Lille,200093201,oui,99456,",
        "donnees/france_quartile_thresholds_2024_2026_long.csv", "quartiles.seuils.200093201", None, "non croissants", id="des seuils de quartile non croissants",
    ),
]


@pytest.mark.parametrize(("fichier", "ancien", "nouveau", "nomme_fichier", "parametre", "champ", "message"), CASSES)
def test_un_fichier_casse_empeche_tout_le_referentiel_de_se_charger(
    copie_regles, fichier, ancien, nouveau, nomme_fichier, parametre, champ, message
):
    _remplacer(copie_regles / fichier, ancien, nouveau)
    with pytest.raises(ErreurRegles) as erreur:
        charger_referentiel(copie_regles)
    texte = str(erreur.value)
    assert nomme_fichier in erreur.value.fichier, texte
    assert message in texte, texte
    if parametre:
        assert isinstance(erreur.value, ErreurParametres) and erreur.value.parametre == parametre, texte
        assert f"paramètre {parametre}" in texte
    if champ:
        assert erreur.value.champ == champ, texte


def test_un_parametre_defini_dans_deux_fichiers_est_refuse(copie_regles):
    (copie_regles / "parametres" / "double.yaml").write_text(
        (copie_regles / "parametres" / "delais.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with pytest.raises(ErreurParametres, match="déjà défini dans"):
        charger_referentiel(copie_regles)


def test_la_copie_intacte_se_charge(copie_regles):
    assert len(charger_referentiel(copie_regles).definitions) == len(charger_referentiel().definitions)


# --- the resolution of the directory given, memoised -----------------------------------------------------

def _copie(dossier: Path) -> Path:
    shutil.copytree(REGLES / "parametres", dossier / "parametres")
    shutil.copytree(REGLES / "donnees", dossier / "donnees")
    return dossier


def _vient_de(referentiel, dossier: Path) -> bool:
    return all(f.is_relative_to(dossier.resolve()) for f in referentiel.fichiers)


def test_la_resolution_memorisee_suit_le_dossier_courant_et_un_lien_change_apres_recharger(tmp_path, monkeypatch):
    from engine.evaluation import recharger

    a = _copie(tmp_path / "a" / "rules")
    b = _copie(tmp_path / "b" / "rules")
    lien = tmp_path / "lien"
    lien.symlink_to(a, target_is_directory=True)
    depuis_a = charger_referentiel(lien)
    assert _vient_de(depuis_a, a)
    assert charger_referentiel(lien) is depuis_a
    # A relative path depends on the working directory: resolved again at every call.
    monkeypatch.chdir(tmp_path / "b")
    assert _vient_de(charger_referentiel("rules"), b)
    monkeypatch.chdir(tmp_path / "a")
    assert charger_referentiel("rules") is depuis_a
    # The link now points to b: followed once the compiled rulebooks are forgotten.
    lien.unlink()
    lien.symlink_to(b, target_is_directory=True)
    recharger()
    assert _vient_de(charger_referentiel(lien), b)
