"""Login, CSRF, throttling and access to the dashboard."""
from __future__ import annotations

import re

import pytest
from werkzeug.security import generate_password_hash

from webapp import create_app
from webapp.models import Organisation, Role, TypeOrganisation, Utilisateur

MOT_DE_PASSE = "cAl3ol-test-mdp"


@pytest.fixture
def utilisateurs(sessions):
    with sessions.begin() as s:
        org = Organisation(nom="Bailleur test", type=TypeOrganisation.BAILLEUR)
        s.add_all(
            [
                Utilisateur(
                    identifiant="charge", nom_affiche="Camille Charge", role=Role.CHARGE_ATTRIBUTION,
                    organisation=org, mot_de_passe_hash=generate_password_hash(MOT_DE_PASSE),
                ),
                Utilisateur(
                    identifiant="inactif", nom_affiche="Ancien compte", role=Role.LECTEUR, actif=False,
                    organisation=org, mot_de_passe_hash=generate_password_hash(MOT_DE_PASSE),
                ),
            ]
        )


def fabriquer(engine, **config):
    return create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, **config})


def jeton(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_le_tableau_de_bord_exige_une_connexion(engine):
    client = fabriquer(engine).test_client()
    r = client.get("/")
    assert r.status_code == 302
    assert "/connexion" in r.headers["Location"]


def test_connexion_reussie_puis_deconnexion(engine, utilisateurs):
    client = fabriquer(engine).test_client()
    page = client.get("/connexion").get_data(as_text=True)
    assert '<label for="identifiant">Identifiant</label>' in page
    r = client.post("/connexion", data={"identifiant": "charge", "mot_de_passe": MOT_DE_PASSE, "csrf_token": jeton(page)})
    assert r.status_code == 302
    accueil = client.get("/").get_data(as_text=True)
    assert "Tableau de bord" in accueil and "Camille Charge" in accueil
    t = re.search(r'name="csrf_token" value="([^"]+)"', accueil).group(1)
    assert client.post("/connexion/deconnexion", data={"csrf_token": t}).status_code == 302
    assert client.get("/").status_code == 302


def test_mauvais_mot_de_passe_ou_compte_inactif_refuses(engine, utilisateurs):
    client = fabriquer(engine).test_client()
    for ident, mdp in (("charge", "faux"), ("inactif", MOT_DE_PASSE), ("inconnu", MOT_DE_PASSE)):
        page = client.get("/connexion").get_data(as_text=True)
        r = client.post("/connexion", data={"identifiant": ident, "mot_de_passe": mdp, "csrf_token": jeton(page)})
        assert r.status_code == 401
        assert "Identifiant ou mot de passe incorrect." in r.get_data(as_text=True)


def test_un_formulaire_sans_jeton_csrf_est_rejete(engine, utilisateurs):
    client = fabriquer(engine).test_client()
    r = client.post("/connexion", data={"identifiant": "charge", "mot_de_passe": MOT_DE_PASSE})
    assert r.status_code == 400
    assert "jeton de sécurité" in r.get_data(as_text=True)


def test_les_tentatives_de_connexion_sont_limitees(engine, utilisateurs):
    client = fabriquer(engine, LIMITE_CONNEXION="3 per minute").test_client()
    codes = []
    for _ in range(4):
        page = client.get("/connexion").get_data(as_text=True)
        codes.append(client.post("/connexion", data={"identifiant": "charge", "mot_de_passe": "faux", "csrf_token": jeton(page)}).status_code)
    assert codes == [401, 401, 401, 429]


def test_pas_de_redirection_vers_un_autre_site_apres_connexion(engine, utilisateurs):
    client = fabriquer(engine).test_client()
    page = client.get("/connexion").get_data(as_text=True)
    r = client.post(
        "/connexion?suivant=//evil.example/x",
        data={"identifiant": "charge", "mot_de_passe": MOT_DE_PASSE, "csrf_token": jeton(page)},
    )
    assert r.headers["Location"] == "/"


def test_aucune_ressource_externe_dans_les_pages(engine):
    page = fabriquer(engine).test_client().get("/connexion").get_data(as_text=True)
    assert not re.search(r'(src|href)="https?://', page)
