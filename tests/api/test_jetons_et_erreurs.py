"""Jetons d'accès (empreinte seule, révocation, compte désactivé, commande caleol api jeton), enveloppe
d'erreur française et en-tête X-Caleol-Regles sur toute réponse de l'API, pages HTML inchangées."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import event, func, select, text

from engine.version import version_regles
from webapp import create_app
from webapp import db as dbmod
from webapp.api import jetons as jetons_api
from webapp.cli import Contexte, main
from webapp.models import AuditEntry, JetonApi, Utilisateur


commande_api = main.commands["api"]
DOSSIER = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "dossiers" /
                      "famille_monoparentale_lille.json").read_text(encoding="utf-8"))


def _contexte(engine) -> Contexte:
    contexte = Contexte("sqlite://")
    contexte.__dict__["engine"] = engine  # the test database (its own PostgreSQL schema)
    return contexte


def _jeton(sortie: str) -> str:
    return next(ligne for ligne in sortie.splitlines() if ligne.startswith("caleol_"))


def test_seule_l_empreinte_du_jeton_est_conservee(monde, sessions, engine):
    jeton = monde.jetons["charge"]
    with sessions() as s:
        ligne = s.scalars(select(JetonApi).join(Utilisateur).where(Utilisateur.identifiant == "charge")).one()
        assert ligne.empreinte == hashlib.sha256(jeton.encode()).hexdigest() and jeton.startswith(ligne.prefixe)
    with engine.connect() as conn:
        for colonne in ("empreinte", "prefixe", "libelle"):
            assert conn.scalar(text(f"SELECT count(*) FROM jeton_api WHERE {colonne} = :j"), {"j": jeton}) == 0


def _horloge_fixe(monkeypatch) -> list[float]:
    """The clock of the tokens remembered by the process, moved by the test."""
    horloge = [1000.0]
    monkeypatch.setattr(jetons_api, "_horloge", lambda: horloge[0])
    return horloge


def test_le_jeton_d_un_compte_desactive_est_refuse(client, engine, monde, sessions, monkeypatch):
    """Désactivé ailleurs (un autre processus) : refusé au plus tard API_JETON_CACHE secondes après."""
    horloge = _horloge_fixe(monkeypatch)
    assert client.get("/api/v1/demandes", headers=monde.entete("lecteur")).status_code == 200
    with dbmod.transaction(sessions) as s:
        s.scalars(select(Utilisateur).where(Utilisateur.identifiant == "lecteur")).one().actif = False
    # Another application (its own remembered tokens, as another process) reads the database at once.
    autre = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "ENREGISTRER_VERSION_REGLES": False})
    assert autre.test_client().get("/api/v1/demandes", headers=monde.entete("lecteur")).status_code == 401
    horloge[0] += jetons_api.DUREE_RECONNAISSANCE
    r = client.get("/api/v1/demandes", headers=monde.entete("lecteur"))
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Bearer realm="caleol"'
    assert r.get_json()["message"] == "Jeton d'accès inconnu ou révoqué, ou compte désactivé."


def test_un_jeton_reconnu_evite_la_base_pendant_deux_secondes_au_plus(engine, monde, sessions, monkeypatch):
    """Un client qui enchaîne les évaluations ne coûte aucune requête SQL ; passé le délai, le jeton est relu ;
    avec API_JETON_CACHE=0, chaque requête le relit."""
    monkeypatch.setenv("CALEOL_REFERENTIEL_VERIFICATION", "3600")  # the active rulebook version: read once
    horloge = _horloge_fixe(monkeypatch)
    requetes: list[str] = []

    def noter(_conn, _curseur, instruction, *_args) -> None:
        requetes.append(instruction)

    event.listen(engine, "before_cursor_execute", noter)
    try:
        for cache, attendues in ((None, [1, 0, 0, 1]), (0, [1, 1, 1, 1])):
            config = {"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "ENREGISTRER_VERSION_REGLES": False}
            client = create_app(config if cache is None else {**config, "API_JETON_CACHE": cache}).test_client()
            client.get("/api/v1/seances", headers=monde.entete("charge"))
            jetons_api.oublier_jetons_reconnus()
            vues = []
            for decalage in (0, 0, jetons_api.DUREE_RECONNAISSANCE - 0.01, 0.01):
                horloge[0] += decalage
                del requetes[:]
                r = client.post("/api/v1/evaluations?date=2026-06-15", json=DOSSIER, headers=monde.entete("charge"))
                assert r.status_code == 200
                vues.append(sum("jeton_api" in q for q in requetes))
                assert len(requetes) == vues[-1], requetes  # nothing else reaches the database
            assert vues == attendues, cache
    finally:
        event.remove(engine, "before_cursor_execute", noter)


def test_une_session_web_ne_donne_pas_acces_a_l_api_et_le_jeton_se_passe_de_csrf(engine, monde):
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "ENREGISTRER_VERSION_REGLES": False, "LIMITE_CONNEXION": "1000 per minute"})
    navigateur = app.test_client()
    assert navigateur.post("/connexion", data={"identifiant": "charge", "mot_de_passe": "mdp"}).status_code == 302
    assert navigateur.get("/api/v1/demandes").status_code == 401
    # With CSRF checks on, an API write with a token and no CSRF token goes through (no cookie is read).
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "WTF_CSRF_ENABLED": True,
                      "ENREGISTRER_VERSION_REGLES": False})
    r = app.test_client().post("/api/v1/demandes", json={}, headers=monde.entete("charge"))
    assert r.status_code == 422 and "Set-Cookie" not in r.headers


def test_la_commande_delivre_liste_et_revoque_un_jeton(client, monde, engine, sessions):
    runner = CliRunner()
    avant = sessions().scalar(select(func.count()).select_from(AuditEntry))
    r = runner.invoke(commande_api, ["jeton", "creer", "president", "--libelle", "ERP du bailleur"], obj=_contexte(engine))
    assert r.exit_code == 0, r.output
    jeton = _jeton(r.output)
    assert "il ne sera plus affiché" in r.output
    entete = {"Authorization": f"Bearer {jeton}"}
    assert client.get("/api/v1/seances", headers=entete).status_code == 200
    liste = runner.invoke(commande_api, ["jeton", "lister", "--utilisateur", "president"], obj=_contexte(engine))
    assert liste.exit_code == 0 and "ERP du bailleur" in liste.output and jeton not in liste.output
    numero = liste.output.strip().splitlines()[-1].split("\t")[0]
    assert runner.invoke(commande_api, ["jeton", "revoquer", numero], obj=_contexte(engine)).exit_code == 0
    assert client.get("/api/v1/seances", headers=entete).status_code == 401
    encore = runner.invoke(commande_api, ["jeton", "revoquer", numero], obj=_contexte(engine))
    assert encore.exit_code == 2 and "déjà révoqué" in encore.output
    with sessions() as s:
        actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()[avant:]
        assert actions == ["api.jeton.creer", "api.jeton.revoquer"]
        assert all(jeton not in str(e.apres) for e in s.scalars(select(AuditEntry)))


def test_la_commande_refuse_un_compte_inconnu_ou_desactive(engine, monde, sessions):
    r = CliRunner().invoke(commande_api, ["jeton", "creer", "personne"], obj=_contexte(engine))
    assert r.exit_code == 2 and "Erreur : utilisateur inconnu : personne." in r.output
    with dbmod.transaction(sessions) as s:
        s.scalars(select(Utilisateur).where(Utilisateur.identifiant == "admin")).one().actif = False
    r = CliRunner().invoke(commande_api, ["jeton", "creer", "admin"], obj=_contexte(engine))
    assert r.exit_code == 2 and "désactivé" in r.output


def test_chemin_inconnu_et_methode_refusee_repondent_l_enveloppe(client, jeton_lecteur):
    r = client.get("/api/v1/inexistant", headers=jeton_lecteur)
    assert r.status_code == 404 and r.headers["X-Caleol-Regles"] == version_regles()
    assert r.get_json() == {"code": 404, "status": "Introuvable", "errors": {},
                            "message": "Cette ressource n'existe pas (ou n'est pas dans le périmètre de votre organisation)."}
    r = client.delete("/api/v1/demandes", headers=jeton_lecteur)
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    assert r.get_json()["status"] == "Méthode non autorisée"


def test_une_erreur_inattendue_est_un_500_francais_sans_trace(engine, jeton_lecteur, monkeypatch):
    from webapp.api import regles

    def panne(_date):
        raise RuntimeError("détail interne à ne pas montrer")

    monkeypatch.setattr(regles, "en_vigueur_json", panne)
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": False, "PROPAGATE_EXCEPTIONS": False,
                      "ENREGISTRER_VERSION_REGLES": False})
    r = app.test_client().get("/api/v1/regles", headers=jeton_lecteur)
    assert r.status_code == 500 and r.headers["X-Caleol-Regles"] == version_regles()
    assert r.get_json() == {"code": 500, "status": "Erreur interne", "errors": {},
                            "message": "Erreur interne du serveur : rien n'a été enregistré. L'incident est journalisé."}
    assert "détail interne" not in r.get_data(as_text=True)


def test_les_pages_html_gardent_leurs_erreurs(client):
    r = client.get("/inexistant")
    assert r.status_code == 404 and r.mimetype == "text/html" and "X-Caleol-Regles" not in r.headers


def test_un_caractere_nul_est_refuse_avant_toute_requete_a_la_base(client, monde, sessions):
    """PostgreSQL refuse l'octet nul dans un texte : l'API le refuse avant (422 ou 404), jamais en 500."""
    import json
    from pathlib import Path

    dossier = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "dossiers" /
                          "famille_monoparentale_lille.json").read_text(encoding="utf-8"))
    dossier["personnes"][0]["nom"] = "Le\x00febvre"
    entete = monde.entete("charge")
    r = client.post("/api/v1/demandes", json=dossier, headers=entete)
    assert r.status_code == 422 and r.get_json()["errors"] == {"personnes.0.nom": ["Caractère nul (U+0000) interdit."]}
    r = client.get("/api/v1/demandes?numero_unique=%00", headers=entete)
    assert r.status_code == 422 and r.get_json()["errors"] == {"numero_unique": ["Caractère nul (U+0000) interdit."]}
    assert client.get("/api/v1/demandes/AB%00CDEFGHIJ", headers=entete).status_code == 404
    assert client.patch("/api/v1/demandes/NU0000000001", json={"contact": {"adresse": "\x00"}},
                        headers=entete).status_code == 422


def test_la_version_de_l_en_tete_est_relue_a_l_activation_et_toutes_les_deux_secondes(monkeypatch):
    """Parcourir rules/ coûte ≈ 0,5 ms : l'en-tête réutilise la version lue, sauf si le dossier actif change
    (une activation : aussitôt) ou DUREE_VERSION_EN_TETE secondes après (un fichier modifié sur le disque)."""
    import webapp.api as api

    horloge, racine, lectures = [1000.0], ["/regles/a"], []

    def version(r):
        lectures.append(r)
        return f"v-{r}-{len(lectures)}"

    monkeypatch.setattr(api, "_horloge", lambda: horloge[0])
    monkeypatch.setattr(api, "racine_active", lambda: racine[0])
    monkeypatch.setattr(api, "version_regles", version)
    monkeypatch.setattr(api, "_version_en_tete", [(None, None, float("-inf"))])
    assert api.version_en_tete() == "v-/regles/a-1"
    horloge[0] += api.DUREE_VERSION_EN_TETE - 0.01
    assert api.version_en_tete() == "v-/regles/a-1"
    racine[0] = "/regles/b"
    assert api.version_en_tete() == "v-/regles/b-2"
    horloge[0] += api.DUREE_VERSION_EN_TETE
    assert api.version_en_tete() == "v-/regles/b-3"
    assert lectures == ["/regles/a", "/regles/b", "/regles/b"]
