"""The demande fiche: evaluation at today's date, its trace in plain French, position, sensitive facts masked."""
from __future__ import annotations

import datetime as dt
import html as html_lib
import json
import re
from pathlib import Path

import pytest
from markupsafe import escape
from werkzeug.security import generate_password_hash

from engine.evaluation import evaluer
from webapp.demandes.evaluation import explication_en_clair, sensibilite, texte_valeur
from webapp.filtres import euros, nombre
from webapp.models import Organisation, Reservataire, Role, TypeOrganisation, TypeReservataire, Utilisateur
from webapp.referentiels import situations_prioritaires
from webapp.schemas import charger_dossier
from webapp.services.dossiers import charger_demande, dossier_depuis_demande, enregistrer_dossier
from webapp.services.position import position

from .demo_espaces import application, client_de

EXEMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "dossiers" / "famille_monoparentale_lille.json"
NUMERO = "0591125000123A"
DATE = dt.date(2026, 6, 15)
MDP = "mdp"
HABILITES = ("charge", "president")
NON_HABILITES = ("membre", "lecteur", "admin", "al", "epci", "etat")


@pytest.fixture
def monde(sessions):
    """A bailleur's five roles, a réservataire, an EPCI and the État; one demande declaring a protected situation."""
    with sessions.begin() as s:
        b = Organisation(nom="Bailleur Un", type=TypeOrganisation.BAILLEUR)
        al = Organisation(nom="Action Logement", type=TypeOrganisation.RESERVATAIRE)
        s.add(Reservataire(nom="Action Logement Services", type=TypeReservataire.ACTION_LOGEMENT, organisation=al))
        mel = Organisation(nom="MEL", type=TypeOrganisation.EPCI, epci_siren="200093201")
        etat = Organisation(nom="DDETS", type=TypeOrganisation.ETAT)
        h = generate_password_hash(MDP)
        for ident, role, org in [
            ("charge", Role.CHARGE_ATTRIBUTION, b), ("membre", Role.MEMBRE_COMMISSION, b), ("president", Role.PRESIDENT, b),
            ("lecteur", Role.LECTEUR, b), ("admin", Role.ADMINISTRATEUR, b), ("al", Role.CHARGE_ATTRIBUTION, al),
            ("epci", Role.MEMBRE_COMMISSION, mel), ("etat", Role.MEMBRE_COMMISSION, etat),
        ]:
            s.add(Utilisateur(identifiant=ident, nom_affiche=ident, role=role, organisation=org, mot_de_passe_hash=h))
        dossier = charger_dossier(json.loads(EXEMPLE.read_text(encoding="utf-8")))
        dossier["situations"].append({"code": "PRIO_VIOLENCES_COUPLE", "verifiee": True, "date_verification": dt.date(2026, 1, 2),
                                      "verifiee_par": "CIDFF"})
        dossier["personnes"][0]["handicap"] = {"cmi_invalidite": True, "details": "Sclérose en plaques"}
        enregistrer_dossier(s, dossier, acteur="test")


def page_de(engine, identifiant: str) -> str:
    r = client_de(engine, identifiant, mot_de_passe=MDP).get(f"/demandes/{NUMERO}")
    assert r.status_code == 200, identifiant
    return r.get_data(as_text=True)


def resultat(sessions) -> dict:
    with sessions() as s:
        return evaluer(dossier_depuis_demande(charger_demande(s, NUMERO)), None, DATE, trace=True)


def texte(html: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def echappe(valeur: str) -> str:
    return str(escape(valeur))


def dans(fragment: str, page: str) -> bool:
    """`fragment` in the page's text, spaces (thin no-break ones included) compared as one space."""
    return re.sub(r"\s+", " ", fragment) in page


def rangees(page: str) -> dict[str, str]:
    """Row id → the row's HTML, for the rows of the trace."""
    return {m.group(1): m.group(0) for m in re.finditer(r'<tr id="(regle-[^"]+)".*?</tr>', page, flags=re.S)}


def test_chaque_role_voit_l_evaluation_du_jour_et_un_anonyme_est_renvoye_a_la_connexion(engine, monde, sessions):
    version = resultat(sessions)["version_regles"]
    for identifiant in HABILITES + NON_HABILITES:
        page = page_de(engine, identifiant)
        assert "Évaluation au 15/06/2026" in page and f'<strong id="version-regles">{version}</strong>' in page
    r = application(engine).test_client().get(f"/demandes/{NUMERO}")
    assert r.status_code == 302 and "/connexion" in r.headers["Location"]
    assert client_de(engine, "charge", mot_de_passe=MDP).get("/demandes/0590000000000X").status_code == 404


def test_la_synthese_du_menage_est_celle_du_moteur(engine, monde, sessions):
    r = resultat(sessions)
    page = texte(page_de(engine, "charge"))
    m, res = r["menage"], r["ressources"]
    assert dans(f"catégorie {m['categorie']} (personne seule avec une ou plusieurs personnes à charge)", page)
    assert dans(f"Unités de consommation {nombre(m['unites_consommation'], 2)}", page)
    assert dans(f"{euros(res['revenu_retenu'], 0)} par an — revenu fiscal de l'année N-2 ({res['annee_revenu']})", page)
    assert dans(f"{res['quartile']}e quartile sur Métropole Européenne de Lille", page)
    for f, p in r["plafonds"].items():
        assert dans(f"{f} {euros(p['plafond'], 0)} {'oui' if p['eligible'] else 'non'}", page)
    assert "Personne victime de violences au sein du couple ou menacée de mariage forcé ( CCH, art. L441-1 )" in page
    assert dans(f"Score : {nombre(r['cotation']['score'], 2)} point(s)", page)
    for d in r["cotation"]["detail"]:
        assert dans(nombre(d["points"], 2), page)
    assert "DALO non" in page and "Logement d'abord non" in page
    assert r["parametres_a_verifier"]
    for chemin in r["parametres_a_verifier"]:
        assert chemin in page


def test_chaque_regle_de_la_trace_est_citee_avec_son_article_et_son_explication_en_clair(engine, monde, sessions):
    r = resultat(sessions)
    page = page_de(engine, "charge")
    lignes = rangees(page)
    assert len(lignes) == len(r["trace"]) > 50
    for ligne in r["trace"]:
        rangee = lignes[f"regle-{ligne['regle'].replace('.', '-')}"]
        assert f'data-appliquee="{"oui" if ligne["appliquee"] else "non"}"' in rangee
        assert "data-masquee" not in rangee
        assert echappe(ligne["titre"]) in rangee
        assert f'href="{ligne["reference"]["lien"]}"' in rangee and echappe(ligne["reference"]["titre"]) in rangee
        explication = texte(rangee)
        # No fact path such as [menage.nb_personnes] is left in the text.
        assert not re.search(r"\[[a-z_]+\.[A-Za-z0-9_.]+\]", explication)
        assert dans(explication_en_clair(ligne["explication"]), explication)
    appliquee = lignes["regle-priorite-violences_couple_declarees"]
    assert "Appliquée" in appliquee and "Condition remplie" in appliquee
    assert "situation déclarée « Personne victime de violences au sein du couple ou menacée de mariage forcé » : oui" in texte(appliquee)


@pytest.mark.parametrize("identifiant", NON_HABILITES)
def test_les_regles_sur_une_situation_protegee_sont_masquees_aux_roles_non_habilites(engine, monde, sessions, identifiant):
    r = resultat(sessions)
    page = page_de(engine, identifiant)
    lignes = rangees(page)
    masquees = [x for x in r["trace"] if sensibilite(x["regle"], r["version_regles"]).lit_sensible]
    assert len(masquees) >= 8
    assert sum('data-masquee="oui"' in x for x in lignes.values()) == len(masquees)
    # The applied rule on violences is shown as applied, without its title, id, explanation or values.
    assert any('data-appliquee="oui" data-masquee="oui"' in x and "Règle relative à une situation protégée" in x
               for x in lignes.values())
    # A criterion reading every situation keeps its neutral title, not its detail.
    critere = lignes["regle-mel_demonstration-priorite_l441_1"]
    assert "Demande relevant d&#39;une catégorie prioritaire" in critere and "Détail réservé" in critere
    for sensible in ("violences", "viol ", "prostitution", "proxénétisme", "coordination thérapeutique", "sclérose", "prio_viol"):
        assert sensible not in page.lower(), sensible
    for code, s in situations_prioritaires().items():
        if s.get("sensible"):
            assert code not in page and echappe(s["libelle"]) not in page


@pytest.mark.parametrize("identifiant", HABILITES)
def test_les_roles_habilites_voient_tout_le_detail(engine, monde, sessions, identifiant):
    page = page_de(engine, identifiant)
    assert 'data-masquee="oui"' not in page and "Règle relative à une situation protégée" not in page
    assert "Violences familiales (validées par un travailleur social)" in page
    assert "Sclérose en plaques" in page


def test_la_position_du_demandeur_est_celle_du_service(engine, monde, sessions):
    with sessions() as s:
        p = position(s, NUMERO, DATE)
    assert p["positions"]
    page = texte(page_de(engine, "membre"))
    for x in p["positions"]:
        assert x["texte"] in page
    assert "Ordre de classement : " + " ; puis ".join(c["libelle"] for c in p["criteres"]) in page


def test_l_explication_en_clair_retire_les_chemins_et_nomme_les_situations():
    brut = "Non appliquée : situation déclarée PRIO_SANS_LOGEMENT [situations.PRIO_SANS_LOGEMENT] (faux) ne vaut pas vrai."
    assert explication_en_clair(brut) == ("Non appliquée : situation déclarée « Personne dépourvue de logement, y compris "
                                          "hébergée par des tiers » (faux) ne vaut pas vrai.")
    assert [texte_valeur(v) for v in (None, True, False, 3, 0.3, 1478.92, ["06", "11"], "LP")] == [
        "non renseigné", "oui", "non", "3", "0,30", "1\u202f478,92", "06, 11", "LP"]
