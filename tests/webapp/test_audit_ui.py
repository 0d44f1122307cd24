"""Journal d'audit : qui le lit, filtres (dates, acteur, action, type et identifiant d'objet), pagination,
avant/après lisibles, valeurs personnelles ou secrètes masquées, lecture seule."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from webapp import create_app
from webapp.models import AuditEntry, Organisation, Role, TypeOrganisation, Utilisateur


def _h(jour: int, heure: int = 10) -> dt.datetime:
    return dt.datetime(2026, 6, jour, heure, 0, tzinfo=dt.UTC)


@pytest.fixture
def monde(sessions):
    with sessions.begin() as s:
        bailleur = Organisation(nom="Bailleur audit", type=TypeOrganisation.BAILLEUR)
        epci = Organisation(nom="EPCI audit", type=TypeOrganisation.EPCI)
        etat = Organisation(nom="État audit", type=TypeOrganisation.ETAT)
        h = generate_password_hash("mdp")
        for ident, role, org in [
            ("lecteur", Role.LECTEUR, bailleur), ("admin", Role.ADMINISTRATEUR, bailleur),
            ("president", Role.PRESIDENT, bailleur), ("charge", Role.CHARGE_ATTRIBUTION, bailleur),
            ("membre", Role.MEMBRE_COMMISSION, bailleur), ("lecteur.epci", Role.LECTEUR, epci),
            ("lecteur.etat", Role.LECTEUR, etat),
        ]:
            s.add(Utilisateur(identifiant=ident, nom_affiche=ident, role=role, organisation=org, mot_de_passe_hash=h))
        s.add_all([
            AuditEntry(horodatage=_h(1), acteur="charge", action="seance.creer", objet_type="seance", objet_id="7",
                       apres={"quorum": 3, "mode": "physique"}),
            AuditEntry(horodatage=_h(3), acteur="president", action="decision.enregistrer", objet_type="decision",
                       objet_id="12", avant={"type": "non_attribution", "motifs": ["A"], "rang": None},
                       apres={"type": "attribution_rang", "motifs": [], "rang": 1}),
            AuditEntry(horodatage=_h(5, 23), acteur="admin", action="utilisateur.modifier", objet_type="utilisateur",
                       objet_id="3", avant={"role": "lecteur", "nom": "Ne pas afficher", "mot_de_passe_hash": "scrypt:xyz"},
                       apres={"role": "president", "nom": "Ne pas afficher non plus"},
                       details={"telephone": "0600000000", "raison": "<b>promotion</b>"}),
            AuditEntry(horodatage=_h(9), acteur="cli:demo", action="demo.charger", objet_type="demo", objet_id=None,
                       details={"graine": 7}),
        ])


def client(engine, identifiant: str):
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "ENREGISTRER_VERSION_REGLES": False})
    c = app.test_client()
    assert c.post("/connexion", data={"identifiant": identifiant, "mot_de_passe": "mdp"}).status_code == 302
    return c


def actions_listees(page: str) -> list[str]:
    return re.findall(r'<h2>[^<]* — ([a-z_.]+)</h2>', page)


@pytest.mark.parametrize(("identifiant", "code"), [
    ("lecteur", 200), ("admin", 200), ("president", 200), ("lecteur.etat", 200),
    ("charge", 403), ("membre", 403), ("lecteur.epci", 403),
])
def test_le_journal_est_reserve_aux_auditeurs(engine, monde, identifiant, code):
    assert client(engine, identifiant).get("/audit").status_code == code


def test_sans_filtre_les_entrees_sont_listees_de_la_plus_recente_a_la_plus_ancienne(engine, monde):
    page = client(engine, "lecteur").get("/audit").get_data(as_text=True)
    assert actions_listees(page) == ["demo.charger", "utilisateur.modifier", "decision.enregistrer", "seance.creer"]


@pytest.mark.parametrize(("requete", "attendues"), [
    ("du=2026-06-03&au=2026-06-05", ["utilisateur.modifier", "decision.enregistrer"]),  # bornes incluses, 23 h compris
    ("du=2026-06-04", ["demo.charger", "utilisateur.modifier"]),
    ("au=2026-06-01", ["seance.creer"]),
    ("acteur=PRESID", ["decision.enregistrer"]),  # partie de l'identifiant, sans casse
    ("action=demo.charger", ["demo.charger"]),
    ("objet_type=utilisateur", ["utilisateur.modifier"]),
    ("objet_id=12", ["decision.enregistrer"]),
    ("objet_type=seance&objet_id=12", []),
])
def test_chaque_filtre_restreint_la_liste(engine, monde, requete, attendues):
    page = client(engine, "admin").get(f"/audit?{requete}").get_data(as_text=True)
    assert actions_listees(page) == attendues
    if not attendues:
        assert "Aucune entrée ne correspond à ces filtres." in page


def test_une_date_mal_saisie_est_signalee_et_rien_n_est_liste(engine, monde):
    r = client(engine, "lecteur").get("/audit?du=hier&au=2026-06-01")
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "Du : indiquez une date au format AAAA-MM-JJ." in page and actions_listees(page) == []
    r = client(engine, "lecteur").get("/audit?du=2026-06-05&au=2026-06-01")
    assert r.status_code == 400 and "Au : la date de fin précède la date de début." in r.get_data(as_text=True)


def test_avant_et_apres_sont_lus_champ_par_champ(engine, monde):
    page = client(engine, "lecteur").get("/audit?objet_id=12").get_data(as_text=True)
    assert '<tr class="diff-modifie"><th scope="row"><code>type</code></th><td><del>non_attribution</del></td><td><ins>attribution_rang</ins></td><td>modifié</td></tr>' in page
    assert '<tr class="diff-modifie"><th scope="row"><code>rang</code></th><td><del>—</del></td><td><ins>1</ins></td>' in page
    assert '<td><del>[&#34;A&#34;]</del></td><td><ins>[]</ins></td>' in page


def test_les_noms_les_coordonnees_et_les_empreintes_de_mot_de_passe_ne_sont_jamais_affiches(engine, monde):
    page = client(engine, "admin").get("/audit?objet_type=utilisateur").get_data(as_text=True)
    for secret in ("Ne pas afficher", "scrypt:xyz", "0600000000"):
        assert secret not in page
    assert page.count("(masqué)") == 4  # nom avant, nom après, empreinte, téléphone
    assert '<tr class="diff-supprime"><th scope="row"><code>mot_de_passe_hash</code></th><td><del>(masqué)</del></td><td></td><td>supprimé</td></tr>' in page
    # Other details are shown, escaped.
    assert "&lt;b&gt;promotion&lt;/b&gt;" in page


def test_la_pagination_parcourt_toutes_les_entrees(engine, monde, sessions):
    with sessions.begin() as s:
        s.add_all([AuditEntry(horodatage=_h(20) + dt.timedelta(minutes=i), acteur="tests:lot", action="lot.ecrire",
                              objet_type="lot", objet_id=str(i)) for i in range(60)])
    c = client(engine, "lecteur")
    premiere = c.get("/audit?action=lot.ecrire").get_data(as_text=True)
    seconde = c.get("/audit?action=lot.ecrire&page=2").get_data(as_text=True)
    assert "Page 1 sur 2 — 60 résultat(s)" in premiere and 'rel="next"' in premiere
    # The link to the next page keeps the filters.
    assert 'href="/audit?page=2&amp;action=lot.ecrire"' in premiere
    ids = re.findall(r'lot n° (\d+)', premiere) + re.findall(r'lot n° (\d+)', seconde)
    assert sorted(map(int, ids)) == list(range(60)) and len(ids) == 60


def compter(sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry))


def test_le_journal_est_en_lecture_seule(engine, monde, sessions):
    avant = compter(sessions)
    c = client(engine, "admin")
    assert c.post("/audit").status_code == 405
    assert c.get("/audit?action=demo.charger").status_code == 200
    assert compter(sessions) == avant
