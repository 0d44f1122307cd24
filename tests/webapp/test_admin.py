"""Administration : comptes (création avec mot de passe temporaire montré une fois, rôle et organisation,
désactivation, réinitialisation), formulaires refusés sans écriture, une entrée d'audit par écriture sans
mot de passe ni empreinte ; versions des règles et rechargement."""
from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from engine.version import version_regles
from webapp import create_app
from webapp.models import AuditEntry, Organisation, Role, TypeOrganisation, Utilisateur, VersionRegles
from webapp.services.utilisateurs import LONGUEUR_MOT_DE_PASSE, generer_mot_de_passe

MDP = "mdp-initial"


@pytest.fixture
def monde(sessions):
    with sessions.begin() as s:
        bailleur = Organisation(nom="Bailleur admin", type=TypeOrganisation.BAILLEUR)
        epci = Organisation(nom="EPCI admin", type=TypeOrganisation.EPCI)
        s.add(epci)
        h = generate_password_hash(MDP)
        s.add_all([
            Utilisateur(identifiant="admin", nom_affiche="Admin", role=Role.ADMINISTRATEUR, organisation=bailleur, mot_de_passe_hash=h),
            Utilisateur(identifiant="lecteur", nom_affiche="Léa Lecture", role=Role.LECTEUR, organisation=bailleur, mot_de_passe_hash=h),
            Utilisateur(identifiant="charge", nom_affiche="Charge", role=Role.CHARGE_ATTRIBUTION, organisation=bailleur, mot_de_passe_hash=h),
        ])
        s.flush()
        return {"bailleur": bailleur.id, "epci": epci.id}


def app_de(engine):
    return create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "WTF_CSRF_ENABLED": False})


def connecte(app, identifiant: str, mot_de_passe: str = MDP):
    c = app.test_client()
    r = c.post("/connexion", data={"identifiant": identifiant, "mot_de_passe": mot_de_passe})
    return c, r.status_code == 302


def compte(sessions, identifiant: str) -> Utilisateur | None:
    with sessions() as s:
        return s.scalars(select(Utilisateur).where(Utilisateur.identifiant == identifiant)).one_or_none()


def entrees(sessions, action: str | None = None) -> list[AuditEntry]:
    with sessions() as s:
        stmt = select(AuditEntry).where(AuditEntry.objet_type == "utilisateur")
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        return list(s.scalars(stmt.order_by(AuditEntry.id)))


def temporaire(page: str) -> str:
    return re.search(r'id="mot-de-passe-temporaire">([^<]+)<', page).group(1)


def test_les_mots_de_passe_generes_sont_forts_et_tous_differents():
    mdps = {generer_mot_de_passe() for _ in range(200)}
    assert len(mdps) == 200
    for m in mdps:
        assert len(m) == LONGUEUR_MOT_DE_PASSE
        assert re.search(r"[a-z]", m) and re.search(r"[A-Z]", m) and re.search(r"[2-9]", m) and re.search(r"[^A-Za-z0-9]", m)
        assert not set(m) & set("0O1lI")


def test_seul_l_administrateur_accede_a_l_administration(engine, monde):
    app = app_de(engine)
    for identifiant in ("lecteur", "charge"):
        c, _ = connecte(app, identifiant)
        for url in ("/admin", "/admin/utilisateurs", "/admin/utilisateurs/nouveau", "/admin/regles"):
            assert c.get(url).status_code == 403, (identifiant, url)
        assert c.post("/admin/regles/recharger").status_code == 403
    c, _ = connecte(app, "admin")
    page = c.get("/admin/utilisateurs").get_data(as_text=True)
    assert 'id="compte-lecteur"' in page and "Lecteur / auditeur" in page and "Bailleur admin (bailleur)" in page


def test_creer_un_compte_montre_le_mot_de_passe_une_fois_et_il_permet_de_se_connecter(engine, monde, sessions):
    app = app_de(engine)
    c, _ = connecte(app, "admin")
    r = c.post("/admin/utilisateurs/nouveau", data={"identifiant": "nouvelle.lectrice", "nom_affiche": "Nouvelle Lectrice",
                                                    "role": "lecteur", "organisation_id": str(monde["epci"])})
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    mdp = temporaire(r.get_data(as_text=True))
    u = compte(sessions, "nouvelle.lectrice")
    assert u.actif and u.role == Role.LECTEUR and u.organisation_id == monde["epci"]
    assert check_password_hash(u.mot_de_passe_hash, mdp) and mdp not in u.mot_de_passe_hash
    # Shown once: the list does not show it again.
    assert mdp not in c.get("/admin/utilisateurs").get_data(as_text=True)
    _c, ok = connecte(app, "nouvelle.lectrice", mdp)
    assert ok
    (e,) = entrees(sessions, "utilisateur.creer")
    assert e.acteur == "admin" and e.objet_id == str(u.id)
    assert e.apres == {"identifiant": "nouvelle.lectrice", "role": "lecteur", "organisation_id": monde["epci"], "actif": True}
    contenu = repr((e.avant, e.apres, e.details))
    assert mdp not in contenu and "scrypt" not in contenu and "Nouvelle Lectrice" not in contenu


def test_un_formulaire_incorrect_nomme_chaque_champ_et_n_ecrit_rien(engine, monde, sessions):
    c, _ = connecte(app_de(engine), "admin")
    with sessions() as s:
        avant = (s.scalar(select(func.count()).select_from(Utilisateur)), s.scalar(select(func.count()).select_from(AuditEntry)))
    r = c.post("/admin/utilisateurs/nouveau", data={"identifiant": "Éric <b>", "nom_affiche": "  ", "role": "roi",
                                                    "organisation_id": "999999"})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    for message in ("Identifiant : de 3 à 120 caractères, lettres minuscules sans accent, chiffres, point, tiret ou soulignement.",
                    "Nom affiché : obligatoire.", "Rôle : choisissez un rôle de la liste.",
                    "Organisation : choisissez une organisation de la liste."):
        assert message in page
    assert 'value="Éric &lt;b&gt;"' in page and 'aria-invalid="true"' in page
    r = c.post("/admin/utilisateurs/nouveau", data={"identifiant": "lecteur", "nom_affiche": "Doublon", "role": "lecteur",
                                                    "organisation_id": str(monde["bailleur"])})
    assert r.status_code == 422 and "Identifiant : déjà utilisé par un autre compte." in r.get_data(as_text=True)
    with sessions() as s:
        assert (s.scalar(select(func.count()).select_from(Utilisateur)), s.scalar(select(func.count()).select_from(AuditEntry))) == avant


def test_changer_le_role_et_l_organisation_prend_effet_a_la_requete_suivante(engine, monde, sessions):
    app = app_de(engine)
    c, _ = connecte(app, "admin")
    lecteur, _ = connecte(app, "lecteur")
    assert lecteur.get("/admin/utilisateurs").status_code == 403
    uid = compte(sessions, "lecteur").id
    assert 'value="lecteur" selected' in c.get(f"/admin/utilisateurs/{uid}").get_data(as_text=True)
    r = c.post(f"/admin/utilisateurs/{uid}", data={"nom_affiche": "Léa Lecture", "role": "administrateur",
                                                   "organisation_id": str(monde["epci"])})
    assert r.status_code == 302
    assert lecteur.get("/admin/utilisateurs").status_code == 200
    (e,) = entrees(sessions, "utilisateur.modifier")
    assert e.avant == {"identifiant": "lecteur", "role": "lecteur", "organisation_id": monde["bailleur"], "actif": True}
    assert e.apres == {"identifiant": "lecteur", "role": "administrateur", "organisation_id": monde["epci"], "actif": True}
    # The same values again: nothing to record.
    c.post(f"/admin/utilisateurs/{uid}", data={"nom_affiche": "Léa Lecture", "role": "administrateur", "organisation_id": str(monde["epci"])})
    assert len(entrees(sessions, "utilisateur.modifier")) == 1
    r = c.post(f"/admin/utilisateurs/{uid}", data={"nom_affiche": "x" * 201, "role": "lecteur", "organisation_id": ""})
    assert r.status_code == 422
    assert "Nom affiché : 200 caractères au plus." in r.get_data(as_text=True)
    assert compte(sessions, "lecteur").role == Role.ADMINISTRATEUR


def test_desactiver_un_compte_ferme_sa_session_et_sa_connexion(engine, monde, sessions):
    app = app_de(engine)
    c, _ = connecte(app, "admin")
    lecteur, _ = connecte(app, "lecteur")
    uid = compte(sessions, "lecteur").id
    assert c.post(f"/admin/utilisateurs/{uid}/desactiver").status_code == 302
    assert lecteur.get("/demandes").status_code == 302  # back to the login page
    _c, ok = connecte(app, "lecteur")
    assert not ok
    assert "désactivé" in c.get("/admin/utilisateurs").get_data(as_text=True)
    assert c.post(f"/admin/utilisateurs/{uid}/reactiver").status_code == 302
    _c, ok = connecte(app, "lecteur")
    assert ok
    assert [e.action for e in entrees(sessions)] == ["utilisateur.desactiver", "utilisateur.reactiver"]


def test_l_administrateur_ne_peut_ni_se_desactiver_ni_retirer_le_dernier_administrateur(engine, monde, sessions):
    c, _ = connecte(app_de(engine), "admin")
    uid = compte(sessions, "admin").id
    r = c.post(f"/admin/utilisateurs/{uid}/desactiver", follow_redirects=True)
    assert "Utilisateur : vous ne pouvez pas désactiver votre propre compte." in r.get_data(as_text=True)
    r = c.post(f"/admin/utilisateurs/{uid}", data={"nom_affiche": "Admin", "role": "lecteur", "organisation_id": str(monde["bailleur"])})
    assert r.status_code == 422
    assert "Rôle : vous ne pouvez pas retirer votre propre rôle d'administrateur." in html.unescape(r.get_data(as_text=True))
    assert compte(sessions, "admin").actif and compte(sessions, "admin").role == Role.ADMINISTRATEUR
    assert entrees(sessions) == []


def test_reinitialiser_le_mot_de_passe_remplace_l_ancien(engine, monde, sessions):
    app = app_de(engine)
    c, _ = connecte(app, "admin")
    uid = compte(sessions, "charge").id
    r = c.post(f"/admin/utilisateurs/{uid}/mot-de-passe")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    mdp = temporaire(r.get_data(as_text=True))
    assert not connecte(app, "charge", MDP)[1]
    assert connecte(app, "charge", mdp)[1]
    (e,) = entrees(sessions, "utilisateur.reinitialiser_mot_de_passe")
    assert mdp not in repr((e.avant, e.apres, e.details)) and "scrypt" not in repr((e.avant, e.apres, e.details))


def test_un_compte_inconnu_donne_404(engine, monde):
    c, _ = connecte(app_de(engine), "admin")
    assert c.get("/admin/utilisateurs/999999").status_code == 404
    assert c.post("/admin/utilisateurs/999999/desactiver").status_code == 404
    assert c.post("/admin/utilisateurs/999999/mot-de-passe").status_code == 404


def test_les_versions_des_regles_sont_listees_et_le_rechargement_est_journalise(engine, monde, sessions):
    c, _ = connecte(app_de(engine), "admin")
    page = c.get("/admin/regles").get_data(as_text=True)
    assert f'id="version-courante">{version_regles()}<' in page
    assert f'id="version-{version_regles()}"' in page and "démarrage du service" in page and "Première version" in page
    r = c.post("/admin/regles/recharger", follow_redirects=True)
    assert f"Règles rechargées : version {version_regles()}, déjà enregistrée." in r.get_data(as_text=True)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(VersionRegles)) == 1
        (e,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "regles.recharger")).all()
        assert e.acteur == "admin" and e.details == {"nouvelle_version": False}
