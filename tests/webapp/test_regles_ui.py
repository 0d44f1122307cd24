"""Règles en clair, navigateur des règles à une date, versions du référentiel, notice publique de l'algorithme.

Le fichier de référence tests/webapp/golden/notice/ ne se régénère qu'avec CALEOL_REGENERER_GOLDEN=1 ;
la date (CALEOL_TODAY), l'historique des versions et la version courante (remplacée par VERSION) y
sont fixes : seul un changement des fichiers de règles ou du gabarit change la notice, et le diff du
fichier de référence montre alors ce que le public lira.
"""
from __future__ import annotations

import datetime as dt
import html
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from engine.regles import reglement
from engine.version import version_regles
from webapp import create_app
from webapp import db as dbmod
from webapp.cli import Contexte
from webapp.models import AuditEntry, Organisation, Role, TypeOrganisation, Utilisateur, VersionRegles
from webapp.regles import versions as svc_versions
from webapp.regles.cli import enregistrer_version as commande_enregistrer
from webapp.regles.conditions_fr import en_clair, structure
from webapp.services.propositions import criteres_publies

GOLDEN = Path(__file__).resolve().parent / "golden" / "notice"
REGENERER = os.environ.get("CALEOL_REGENERER_GOLDEN") == "1"
DATE = dt.date(2026, 6, 15)


def clair(cond: dict) -> str:
    return en_clair(cond, reglement().catalogue)


# --------------------------------------------------------------------------- conditions in plain French


def test_une_comparaison_entre_deux_faits_se_lit_avec_leurs_libelles_et_les_contractions():
    assert clair({"fait": "ressources.revenu_retenu", "op": "le", "valeur_de": "plafonds.applicable"}) == (
        "le revenu fiscal de référence retenu est inférieur ou égal au plafond applicable"
    )
    assert clair({"fait": "ressources.revenu_retenu", "op": "gt", "valeur_de": "plafonds.PLAI"}) == (
        "le revenu fiscal de référence retenu est supérieur au plafond PLAI"
    )


def test_l_accord_suit_le_genre_et_le_nombre_du_fait():
    assert clair({"fait": "logement.surface_habitable", "op": "lt", "valeur_de": "adequation.surface_minimale"}) == (
        "la surface habitable du logement est inférieure à la surface minimale pour le ménage"
    )
    assert clair({"fait": "logement.surface_habitable", "op": "ge", "valeur": 9.5}) == (
        "la surface habitable du logement est supérieure ou égale à 9,5"
    )
    assert clair({"fait": "ressources.annuel_par_uc", "op": "le", "valeur": 12000}) == (
        "les ressources annuelles par unité de consommation sont inférieures ou égales à 12\u202f000"
    )
    assert clair({"fait": "logement.nb_pieces", "op": "gt", "valeur_de": "adequation.pieces_max_sans_sous_occupation"}) == (
        "le nombre de pièces du logement est supérieur aux pièces au-delà desquelles le logement est sous-occupé"
    )
    assert clair({"fait": "demandeur.age", "op": "exists"}) == "l'âge du demandeur est renseigné"


def test_oui_non_codes_du_sne_et_situations_prioritaires_sont_lus_par_leur_libelle():
    assert clair({"fait": "menage.parent_isole", "op": "eq", "valeur": True}) == "parent isolé : oui"
    assert clair({"fait": "ressources.complet", "op": "eq", "valeur": False}) == "revenus fiscaux requis présents : non"
    assert clair({"fait": "demande.motifs", "op": "any_item", "condition": {"op": "eq", "valeur": "12"}}) == (
        "les motifs de la demande comprennent « Décohabitation »"
    )
    assert clair({"fait": "logement_actuel.modele", "op": "in", "valeur": ["SQUAT", "CAMCAR"]}) == (
        "la situation de logement actuelle est l’une des valeurs suivantes : « Dans un squat », « Camping, Caravaning »"
    )
    assert clair({"fait": "situations_verifiees.PRIO_SANS_LOGEMENT", "op": "eq", "valeur": True}) == (
        "la situation « Personne dépourvue de logement, y compris hébergée par des tiers » est vérifiée"
    )


def test_les_groupes_et_la_negation_se_lisent_en_francais():
    cond = {"all": [{"fait": "demandeur.majeur", "op": "eq", "valeur": False},
                    {"not": {"fait": "demandeur.mineur_emancipe", "op": "eq", "valeur": True}}]}
    # A missing fact fails the test: « non ou non renseigné » is what `not (= oui)` means.
    assert clair(cond) == "demandeur majeur : non et demandeur mineur émancipé : non ou non renseigné"
    arbre = structure({"any": [{"fait": "labels.siao", "op": "eq", "valeur": True},
                               {"all": [{"fait": "menage.nb_mineurs", "op": "ge", "valeur": 1},
                                        {"fait": "logement_actuel.sur_occupe", "op": "eq", "valeur": True}]}]},
                      reglement().catalogue)
    assert arbre.texte == "au moins une des conditions suivantes est remplie :"
    assert [e.texte for e in arbre.enfants] == ["label SIAO : oui", "toutes les conditions suivantes sont remplies :"]
    assert [e.texte for e in arbre.enfants[1].enfants] == [
        "le nombre d'enfants mineurs est supérieur ou égal à 1", "logement actuel sur-occupé : oui"]


def test_chaque_regle_et_chaque_critere_du_referentiel_se_lit_sans_chemin_technique():
    r = reglement()
    chemins = set(r.catalogue.chemins())
    conditions = [x.condition for x in r.regles] + [c.condition for g in r.grilles for c in g.criteres]
    for cond in conditions:
        texte = clair(cond)
        assert texte and not any(c in texte for c in chemins if "." in c), texte


# --------------------------------------------------------------------------- the rules browser


@pytest.fixture
def compte(sessions):
    with sessions.begin() as s:
        org = Organisation(nom="Bailleur test", type=TypeOrganisation.BAILLEUR)
        s.add(Utilisateur(identifiant="lectrice", nom_affiche="Lectrice", role=Role.LECTEUR, organisation=org,
                          mot_de_passe_hash=generate_password_hash("mdp")))


def client_connecte(engine, **config):
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "WTF_CSRF_ENABLED": False, **config})
    c = app.test_client()
    assert c.post("/connexion", data={"identifiant": "lectrice", "mot_de_passe": "mdp"}).status_code == 302
    return c


def test_le_navigateur_des_regles_exige_une_connexion(engine):
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True})
    r = app.test_client().get("/regles")
    assert r.status_code == 302 and "/connexion" in r.headers["Location"]


def test_les_regles_en_vigueur_a_la_date_sont_toutes_montrees_avec_leur_reference_et_leur_validite(engine, compte):
    page = client_connecte(engine).get("/regles?date=2026-06-15").get_data(as_text=True)
    r = reglement()
    assert f'id="version-regles">{version_regles()}<' in page
    for regle in r.regles_en_vigueur(DATE):
        assert f'id="regle-{regle.id}"' in page
        assert html.escape(regle.reference.lien) in page
    for grille in r.grilles_en_vigueur(DATE):
        for c in grille.criteres:
            assert f'id="critere-{c.id}"' in page
    for c in criteres_publies()["criteres"]:
        assert f'id="classement-{c["id"]}"' in page
    # Parameters: local policy and « à vérifier » marked, values in French.
    assert 'id="param-politique.taux_effort_alerte"' in page and "politique locale" in page
    ligne = re.search(r'<tr id="param-quartiles\.seuil_inclus">(.*?)</tr>', page, re.S).group(1)
    assert "à vérifier" in ligne
    # A rule's interpretation with its date, the internal notes' references removed.
    assert "Interprétation retenue" in page and "DOMAIN.md" not in page
    assert "le revenu fiscal de référence retenu est supérieur au plafond applicable" in page


def test_une_date_anterieure_montre_ce_qui_etait_en_vigueur_alors(engine, compte):
    c = client_connecte(engine)
    avant = c.get("/regles?date=2023-06-01").get_data(as_text=True)
    assert 'id="grille-lyon_exemple_publie"' in avant
    assert 'id="grille-mel_demonstration"' not in avant  # en vigueur à partir du 1er janvier 2024
    apres = c.get("/regles?date=2024-01-01").get_data(as_text=True)
    assert 'id="grille-mel_demonstration"' in apres


def test_une_date_mal_saisie_est_signalee_en_francais(engine, compte):
    r = client_connecte(engine).get("/regles?date=31/12/2026")
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "Date : indiquez une date au format AAAA-MM-JJ" in page
    assert 'aria-invalid="true"' in page and "Traceback" not in page


# --------------------------------------------------------------------------- versions


def compter(sessions, modele, *conditions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(modele).where(*conditions))


def test_le_demarrage_enregistre_la_version_courante_une_seule_fois(engine, sessions):
    for _ in range(2):
        create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True})
    with sessions() as s:
        v = s.scalars(select(VersionRegles)).one()
        assert v.version == version_regles() and v.source == "demarrage" and v.precedente is None
        assert v.resume.startswith("Première version enregistrée sur cette instance : ")
        assert set(v.inventaire["regles"]) >= {x.id for x in reglement().regles}
    assert compter(sessions, AuditEntry, AuditEntry.action == "regles.enregistrer_version") == 1


def test_le_demarrage_peut_ne_pas_enregistrer_la_version(engine, sessions):
    create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "ENREGISTRER_VERSION_REGLES": False})
    assert compter(sessions, VersionRegles) == 0


def test_une_nouvelle_version_dit_ce_qui_a_change_depuis_la_precedente(sessions, monkeypatch):
    inventaire = {
        "moteur": "0.1.0",
        "fichiers": {"rules/regles/dalo.yaml": "a", "rules/parametres/delais.yaml": "b"},
        "regles": {"dalo.decision_favorable_active": "1", "dalo.ancienne": "2"},
        "criteres": {}, "grilles": {}, "classement": {"dalo": "c"},
        "parametres": {"delais.acceptation_offre_jours": "x"},
    }
    monkeypatch.setattr(svc_versions, "inventaire_courant", lambda: ("0.1.0-aaaaaaaaaaaa", "a" * 64, inventaire))
    with sessions.begin() as s:
        premiere, nouvelle = svc_versions.enregistrer_version(s, acteur="tests:versions", source="commande")
        assert nouvelle and premiere.resume == (
            "Première version enregistrée sur cette instance : 2 règles, 0 critère de cotation, 0 grille de cotation, "
            "1 critère de classement, 1 paramètre, 2 fichiers."
        )
    suivant = {
        **inventaire,
        "fichiers": {"rules/regles/dalo.yaml": "a2", "rules/parametres/delais.yaml": "b"},
        "regles": {"dalo.decision_favorable_active": "1-modifiee", "dalo.nouvelle": "3"},
        "parametres": {"delais.acceptation_offre_jours": "x", "delais.nouveau": "y"},
    }
    monkeypatch.setattr(svc_versions, "inventaire_courant", lambda: ("0.1.0-bbbbbbbbbbbb", "b" * 64, suivant))
    with sessions.begin() as s:
        v, nouvelle = svc_versions.enregistrer_version(s, acteur="tests:versions", source="commande")
        assert nouvelle and v.precedente == "0.1.0-aaaaaaaaaaaa"
        assert v.changements["regles"] == {"ajoutes": ["dalo.nouvelle"], "supprimes": ["dalo.ancienne"],
                                           "modifies": ["dalo.decision_favorable_active"]}
        assert v.resume == (
            "Depuis la version 0.1.0-aaaaaaaaaaaa : Règles : 1 ajoutée (dalo.nouvelle), 1 supprimée (dalo.ancienne), "
            "1 modifiée (dalo.decision_favorable_active) ; Paramètres : 1 ajouté (delais.nouveau) ; "
            "Fichiers touchés : rules/regles/dalo.yaml."
        )
    # The same version again: nothing written.
    with sessions.begin() as s:
        _v, nouvelle = svc_versions.enregistrer_version(s, acteur="tests:versions", source="commande")
        assert not nouvelle
    assert compter(sessions, AuditEntry, AuditEntry.acteur == "tests:versions") == 2


def test_seuls_des_commentaires_changes_sont_dits_comme_tels():
    avant = {"moteur": "0.1.0", "fichiers": {"rules/regles/dalo.yaml": "a"}, "regles": {"r": "1"}}
    apres = {"moteur": "0.1.0", "fichiers": {"rules/regles/dalo.yaml": "b"}, "regles": {"r": "1"}}
    texte = svc_versions.resumer(svc_versions.comparer(avant, apres), apres, "0.1.0-x")
    assert texte == ("Depuis la version 0.1.0-x : Aucune règle ni valeur modifiée ; seuls ces fichiers ont changé "
                     "(commentaires, mise en forme ou données de référence) : rules/regles/dalo.yaml.")


def _contexte(engine) -> Contexte:
    contexte = Contexte("sqlite://")
    contexte.__dict__["engine"] = engine  # the test database (its own PostgreSQL schema)
    return contexte


def test_la_commande_enregistre_la_version_puis_ne_fait_rien(engine, sessions):
    runner = CliRunner()
    r = runner.invoke(commande_enregistrer, [], obj=_contexte(engine))
    assert r.exit_code == 0, r.output
    assert f"Version {version_regles()} enregistrée." in r.output and "Première version" in r.output
    r = runner.invoke(commande_enregistrer, [], obj=_contexte(engine))
    assert r.exit_code == 0 and "déjà enregistrée : rien à faire" in r.output
    with sessions() as s:
        assert s.scalars(select(VersionRegles.source)).all() == ["commande"]


def test_la_commande_sur_une_base_sans_schema_donne_un_message_francais(tmp_path):
    moteur = dbmod.make_engine(f"sqlite:///{tmp_path / 'vide.sqlite3'}")
    r = CliRunner().invoke(commande_enregistrer, [], obj=_contexte(moteur))
    assert r.exit_code == 2
    assert "lancez d'abord `caleol db upgrade`" in r.output and "Traceback" not in r.output


# --------------------------------------------------------------------------- the public notice


def test_la_notice_est_publique_et_decrit_ce_qui_s_execute(engine):
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True})
    page = app.test_client().get("/notice").get_data(as_text=True)
    texte = html.unescape(page)
    r = reglement()
    for grille in r.grilles_en_vigueur(DATE):
        assert grille.titre in texte
        for c in grille.criteres:
            assert c.titre in texte
    # The tie-breakers, in the published order.
    positions = [texte.index(c["libelle"]) for c in criteres_publies()["criteres"]]
    assert positions == sorted(positions)
    for regle in r.regles_en_vigueur(DATE):
        if regle.domaine in ("priorite", "dalo"):
            assert regle.titre in texte
    assert version_regles() in texte
    assert "L311-3-1" in texte and "L441-2-8" in texte and "2019-1378" in texte
    # The version recorded at start is in the history.
    assert re.search(r"<td>15/06/2026</td><td>" + re.escape(version_regles()) + "</td>", page)


def test_la_notice_se_telecharge_en_un_fichier_autonome(engine):
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True})
    r = app.test_client().get("/notice/telecharger")
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert r.headers["Content-Disposition"] == f'attachment; filename="notice-algorithme-caleol-{version_regles()}.html"'
    page = r.get_data(as_text=True)
    assert "<style>" in page and "<link" not in page and "<script" not in page and "/static/" not in page


def _versions_fixes(sessions) -> None:
    with sessions.begin() as s:
        s.add_all([
            VersionRegles(version="0.1.0-000000000001", empreinte="1" * 64, source="demarrage", precedente=None,
                          premiere_vue=dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC),
                          resume="Première version enregistrée sur cette instance : 40 règles.", changements={}, inventaire={}),
            VersionRegles(version="0.1.0-000000000002", empreinte="2" * 64, source="administration",
                          precedente="0.1.0-000000000001", premiere_vue=dt.datetime(2026, 5, 2, 9, 30, tzinfo=dt.UTC),
                          resume="Depuis la version 0.1.0-000000000001 : Règles : 1 ajoutée (dalo.designation_prefet_active).",
                          changements={}, inventaire={}),
        ])


def test_la_notice_telechargee_est_identique_au_fichier_de_reference(engine, sessions):
    _versions_fixes(sessions)
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "ENREGISTRER_VERSION_REGLES": False})
    page = app.test_client().get("/notice/telecharger").get_data(as_text=True).replace(version_regles(), "VERSION")
    chemin = GOLDEN / "notice_algorithme.html"
    if REGENERER:
        chemin.parent.mkdir(parents=True, exist_ok=True)
        chemin.write_text(page, encoding="utf-8")
    assert chemin.exists(), f"{chemin} absent : lancez les tests avec CALEOL_REGENERER_GOLDEN=1"
    attendu = chemin.read_text(encoding="utf-8")
    assert page == attendu, "la notice a changé : relisez le diff puis régénérez avec CALEOL_REGENERER_GOLDEN=1"
    # The history, most recent first.
    assert page.index("0.1.0-000000000002") < page.index("0.1.0-000000000001")
