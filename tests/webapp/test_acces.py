"""Chaque route de l'application × chaque compte de démonstration (et un visiteur anonyme).

Une petite base de démonstration (graine 7, 300 demandes, 120 logements), des logements vacants orientés
dans le flux et un logement inscrit à l'ordre du jour de la séance à venir donnent des identifiants
réels. La table PERMISSIONS dit, route par route, qui y accède ; toute route absente de la table fait
échouer le test. Jamais d'erreur 500 ; l'anonyme est renvoyé vers la connexion sauf pour la notice
publique, la connexion et les fichiers statiques ; un refus est un 403 ou un 404. Les formulaires sont
envoyés avec un jeton CSRF valide et des champs vides (les écritures autorisées sont refusées par la
validation, jamais par une erreur) ; sans jeton, chaque POST est rejeté (400).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from flask import url_for
from sqlalchemy import func, select, text
from werkzeug.security import generate_password_hash

from webapp import create_app
from webapp import db as dbmod
from webapp.demo.service import charger_demo
from webapp.models import (
    Base,
    Candidature,
    Decision,
    Logement,
    MembreSeance,
    Offre,
    Organisation,
    OrientationFlux,
    PointOrdreDuJour,
    Reservataire,
    Residence,
    Role,
    Seance,
    StatutSeance,
    Utilisateur,
)

DATE = dt.date(2026, 6, 15)
MOT_DE_PASSE = "caleol-demo"
MEL = "200093201"

# The demo accounts (webapp/demo/UTILISATEURS.md).
C, M, P, L, A = "charge.attribution", "membre.commission", "presidence", "lecteur", "admin"
R, E, S = "reservataire.al", "epci.mel", "etat.ddets"
ANONYME = "anonyme"
TOUS = frozenset({C, M, P, L, A, R, E, S})
BAILLEUR = frozenset({C, M, P, L, A})
HORS_BAILLEUR = frozenset({R, E, S})
LECTURE_SEANCES = frozenset({C, M, P, L, R, E, S})  # roles that read séances (each sees only its own)
PERSONNE: frozenset[str] = frozenset()
# What the anonymous visitor may open (everything else redirects to the login page).
PUBLIC = frozenset({"regles.notice", "regles.notice_telecharger", "auth.connexion", "static", "sante.sante"})


@dataclass(frozen=True)
class Acces:
    """Who reaches the view (anybody else gets 403 or 404), and the sample of each URL parameter."""

    get: frozenset[str] = PERSONNE
    post: frozenset[str] = PERSONNE
    parametres: str = ""  # key of the sample set of URL parameters


# Séances: the sample séance (closed, decided, a commission where epci.mel does not sit and
# etat.ddets does) and the upcoming séance with one logement on its agenda (where both sit).
PERMISSIONS: dict[str, Acces] = {
    "static": Acces(get=TOUS, parametres="statique"),
    "auth.connexion": Acces(get=TOUS, post=TOUS),
    "auth.deconnexion": Acces(post=TOUS),  # checked last, separately: it ends the session
    "tableau.index": Acces(get=TOUS),
    "demandes.liste": Acces(get=TOUS),
    "demandes.fiche": Acces(get=TOUS, parametres="demande"),
    # Explanation of the algorithm (R311-3-1-2): read by all (protected facts masked), generated for the
    # applicant only by the roles that may see sensitive facts.
    "demandes.explication": Acces(get=TOUS, parametres="demande"),
    "demandes.communiquer": Acces(post={C, P}, parametres="demande"),
    "logements.liste": Acces(get=TOUS),
    # A logement of the bailleur in the MEL, neither reserved in stock for nor oriented to Action Logement.
    "logements.fiche": Acces(get=BAILLEUR | {E, S}, parametres="logement_mel"),
    "decisions.seances": Acces(get=LECTURE_SEANCES),
    "decisions.seance": Acces(get={C, M, P, L, S}, parametres="seance"),
    "decisions.logement": Acces(get={C, M, P, L, S}, parametres="seance_logement"),
    "decisions.candidature": Acces(get={C, M, P, L, S}, parametres="candidature"),
    "decisions.pv_html": Acces(get={C, M, P, L, S}, parametres="seance"),
    "decisions.pv_pdf": Acces(get={C, M, P, L, S}, parametres="seance"),
    # Letters are nominative: the chargé d'attribution and the président of the bailleur only.
    "decisions.lettre_html": Acces(get={C, P}, parametres="candidature"),
    "decisions.lettre_pdf": Acces(get={C, P}, parametres="candidature"),
    "decisions.decider": Acces(post={P}, parametres="candidature"),
    "decisions.voter": Acces(post={M, P, S}, parametres="candidature"),
    "decisions.renvoyer": Acces(post={M, P, S}, parametres="candidature"),
    "decisions.fenetre": Acces(post={C, P}, parametres="seance"),
    "decisions.cloturer": Acces(post={P}, parametres="seance"),
    "decisions.signer": Acces(post={P}, parametres="seance"),
    "preparation.nouvelle_seance": Acces(get={C}, post={C}),
    "preparation.ordre_du_jour": Acces(get={C, M, P, L, E, S}, post={C}, parametres="seance_a_venir"),
    "preparation.propositions": Acces(get={C, M, P, L, E, S}, parametres="point"),
    "reservataires.index": Acces(get=HORS_BAILLEUR),
    "reservataires.orientation": Acces(get={R}, parametres="orientation_al"),
    "reservataires.designer_candidats": Acces(post={R}, parametres="orientation_al"),
    "reservataires.bilan_html": Acces(get=HORS_BAILLEUR, parametres="annee"),
    "reservataires.bilan_csv": Acces(get=HORS_BAILLEUR, parametres="annee"),
    "territoire.index": Acces(get={E, S}),
    "regles.consulter": Acces(get=TOUS),
    "regles.notice": Acces(get=TOUS),
    "sante.sante": Acces(get=TOUS),  # health of the process: no login, no personal data
    "regles.notice_telecharger": Acces(get=TOUS),
    "audit.journal": Acces(get={P, L, A}),
    "admin.accueil": Acces(get={A}),
    "admin.utilisateurs": Acces(get={A}),
    "admin.nouvel_utilisateur": Acces(get={A}, post={A}),
    "admin.utilisateur": Acces(get={A}, post={A}, parametres="utilisateur"),
    "admin.desactiver": Acces(post={A}, parametres="utilisateur"),
    "admin.reactiver": Acces(post={A}, parametres="utilisateur"),
    "admin.reinitialiser": Acces(post={A}, parametres="utilisateur"),
    "admin.regles": Acces(get={A}),
    "admin.recharger": Acces(post={A}),
    "admin.activer": Acces(post={A}),
    "admin.conservation": Acces(get={A}),
    "pseudonymisation.basculer": Acces(post=TOUS),
    # SNE exports of the bailleur; the file (priority codes, some sensitive) only for C and P.
    "exports_sne.index": Acces(get={C, P, A, L}),
    "exports_sne.generer": Acces(post={C, P, A}),
    "exports_sne.fichier": Acces(get={C, P}, parametres="export_sne"),
    # Offers and leases: read by the bailleur's séance roles, recorded by its chargé d'attribution and président.
    "offres.liste": Acces(get={C, M, P, L}),
    "offres.fiche": Acces(get={C, M, P, L}, parametres="offre"),
    "offres.repondre": Acces(post={C, P}, parametres="offre"),
    "offres.piece": Acces(post={C, P}, parametres="offre"),
    "offres.bail": Acces(post={C, P}, parametres="offre"),
    # The offer letter is nominative: the chargé d'attribution and the président of the bailleur only.
    "offres.lettre_html": Acces(get={C, P}, parametres="offre"),
    "offres.lettre_pdf": Acces(get={C, P}, parametres="offre"),
    # Occupancy review (L442-5-2): review séances of the bailleur; findings by its président and members,
    # agenda and follow-up by its chargé d'attribution; the index lists each user's own séances.
    "occupation.index": Acces(get=LECTURE_SEANCES),
    "occupation.nouvelle_seance": Acces(get={C}, post={C}),
    "occupation.seance": Acces(get={C, M, P, L}, post={C}, parametres="seance_examen"),
    "occupation.dossier": Acces(get={C, M, P, L}, parametres="examen"),
    "occupation.constat": Acces(post={M, P}, parametres="examen"),
    "occupation.suivi": Acces(post={C}, parametres="examen"),
    "occupation.proces_verbal": Acces(get={C, M, P, L}, parametres="seance_examen"),
}
# Form fields sent with the token: enough to reach the view, never enough to write anything harmful.
DONNEES_POST = {"pseudonymisation.basculer": {"active": "1", "retour": "/"}, "demandes.communiquer": {"format": "html"}}


def _vider(engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in {"commune", "epci", "qpv", "qpv_commune"}:
                conn.execute(table.delete())
        conn.execute(text("DELETE FROM audit_entry WHERE acteur <> 'tests'"))


@pytest.fixture(scope="module")
def demo(moteur_base):
    """The demo database and the sample identifiers of each URL parameter."""
    from webapp.services.flux import orienter_vacants
    from webapp.services.preparation import inscrire_logements, logements_inscriptibles

    _vider(moteur_base)
    factory = dbmod.make_sessionmaker(moteur_base)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CALEOL_TODAY", DATE.isoformat())
        with dbmod.transaction(factory) as s:
            charger_demo(s, seed=7, nb_dossiers=300, nb_logements=120, acteur="test", date_reference=DATE)
            orienter_vacants(s, DATE, "test")
            a_venir = s.scalars(select(Seance).where(Seance.statut == StatutSeance.PLANIFIEE).order_by(Seance.date_seance)).first()
            point = inscrire_logements(s, a_venir, [logements_inscriptibles(s, a_venir)[0].id], acteur="test")[0]
            bailleur = s.scalars(select(Utilisateur).where(Utilisateur.identifiant == C)).one().organisation
            cible = Utilisateur(identifiant="cible.acces", nom_affiche="Compte cible", role=Role.LECTEUR,
                                organisation=bailleur, mot_de_passe_hash=generate_password_hash("cible"))
            s.add(cible)
            s.flush()
            echantillons = _echantillons(s, a_venir, point, cible)
            from webapp.services.export_sne import exporter

            export = exporter(s, acteur="test", bailleur_id=bailleur.id)
            assert export.export_id is not None, "aucune décision de séance close à exporter dans la démonstration"
            echantillons["export_sne"] = {"export_id": export.export_id}
            echantillons |= _echantillons_examen(s, bailleur.id)
    yield echantillons
    _vider(moteur_base)


def _utilisateur_id(s, identifiant: str) -> int:
    return s.scalars(select(Utilisateur.id).where(Utilisateur.identifiant == identifiant)).one()


def _membre(s, seance_id: int, identifiant: str) -> bool:
    return bool(s.scalar(select(func.count()).select_from(MembreSeance).where(
        MembreSeance.seance_id == seance_id, MembreSeance.utilisateur_id == _utilisateur_id(s, identifiant))))


def _echantillons(s, a_venir: Seance, point: PointOrdreDuJour, cible: Utilisateur) -> dict[str, dict]:
    # The most recent decided séance where etat.ddets sits and epci.mel does not.
    seances = s.scalars(
        select(Seance).where(Seance.id.in_(select(Decision.seance_id))).order_by(Seance.date_seance.desc())
    ).all()
    seance = next(x for x in seances if _membre(s, x.id, S) and not _membre(s, x.id, E))
    candidature = s.scalars(select(Candidature).where(Candidature.seance_id == seance.id, Candidature.id.in_(select(Decision.candidature_id))).order_by(Candidature.id)).first()
    # The premises of the table, checked rather than assumed.
    assert _membre(s, a_venir.id, E) and _membre(s, a_venir.id, S)
    assert not _membre(s, seance.id, R) and not _membre(s, a_venir.id, R)
    al = s.scalars(select(Utilisateur).where(Utilisateur.identifiant == R)).one().organisation_id
    reservataires_al = select(Reservataire.id).where(Reservataire.organisation_id == al)
    orientation_al = s.scalars(select(OrientationFlux).where(OrientationFlux.reservataire_id.in_(reservataires_al)).order_by(OrientationFlux.id)).first()
    assert orientation_al is not None, "aucun logement orienté vers Action Logement dans la démonstration"
    from webapp.models import Commune

    logement_mel = s.scalars(
        select(Logement).join(Residence).join(Commune, Commune.code_insee == Residence.code_insee)
        .where(Commune.epci_siren == MEL, Logement.reservataire_stock_id.is_(None),
               ~Logement.id.in_(select(OrientationFlux.logement_id)))
        .order_by(Logement.id)
    ).first()
    numero = s.scalars(select(Candidature).where(Candidature.id == candidature.id)).one().demande.numero_unique
    return {
        "": {},
        "statique": {"filename": "css/caleol.css"},
        "demande": {"numero_unique": numero},
        "logement_mel": {"logement_id": logement_mel.id},
        "seance": {"seance_id": seance.id},
        "seance_logement": {"seance_id": seance.id, "logement_id": candidature.logement_id},
        "candidature": {"seance_id": seance.id, "candidature_id": candidature.id},
        "seance_a_venir": {"seance_id": a_venir.id},
        "point": {"seance_id": a_venir.id, "logement_id": point.logement_id},
        "orientation_al": {"orientation_id": orientation_al.id},
        "annee": {"annee": DATE.year},
        "utilisateur": {"utilisateur_id": cible.id},
        "offre": {"offre_id": s.scalars(select(Offre.id).order_by(Offre.id)).first()},
    }


def _echantillons_examen(s, bailleur_id: int) -> dict[str, dict]:
    """A review séance (examen de l'occupation) of the MEL commission with one tenant's file on its agenda."""
    from webapp.models import Commission, ModeSeance, NatureSeance
    from webapp.services.occupation import examens_inscriptibles, examiner_baux, inscrire_examens
    from webapp.services.preparation import Membre, creer_seance

    examiner_baux(s, DATE, acteur="test")
    commission = s.scalars(select(Commission).where(Commission.territoire == MEL)).one()
    revue = creer_seance(s, commission_id=commission.id, bailleur_id=bailleur_id, date_seance=DATE + dt.timedelta(days=10),
                         mode=ModeSeance.PHYSIQUE, quorum=1, acteur="test", nature=NatureSeance.EXAMEN_OCCUPATION,
                         membres=[Membre(nom="Mme Leroy", qualite="Représentant(e) du bailleur", voix_deliberative=True,
                                         present=True)])
    examen = examens_inscriptibles(s, revue)[0]
    inscrire_examens(s, revue, [examen.id], acteur="test")
    return {"seance_examen": {"seance_id": revue.id}, "examen": {"seance_id": revue.id, "examen_id": examen.id}}


@pytest.fixture(scope="module")
def app(moteur_base, demo):
    return create_app({"ENGINE": moteur_base, "SECRET_KEY": "test", "TESTING": True, "LIMITE_CONNEXION": "1000 per minute"})


def jeton_de(page: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def connecter(app, identifiant: str):
    client = app.test_client()
    if identifiant == ANONYME:
        return client, jeton_de(client.get("/connexion").get_data(as_text=True))
    page = client.get("/connexion").get_data(as_text=True)
    r = client.post("/connexion", data={"identifiant": identifiant, "mot_de_passe": MOT_DE_PASSE, "csrf_token": jeton_de(page)})
    assert r.status_code == 302, f"connexion de {identifiant} impossible"
    return client, jeton_de(client.get("/notice").get_data(as_text=True))


def routes(app):
    """(endpoint, method, URL) for every rule of the application, in a stable order."""
    res = []
    for regle in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if regle.rule.startswith("/api/"):
            continue  # the JSON API (bearer tokens, no session, no CSRF): tests/api
        for methode in sorted(regle.methods - {"HEAD", "OPTIONS"}):
            res.append((regle, methode))
    return res


def _url(app, demo, regle) -> str:
    acces = PERMISSIONS[regle.endpoint]
    with app.test_request_context():
        return url_for(regle.endpoint, **demo[acces.parametres])


def test_chaque_route_figure_dans_la_table_des_permissions(app):
    absentes = sorted({r.endpoint for r, _m in routes(app)} - set(PERMISSIONS))
    assert not absentes, f"routes sans permission attendue dans PERMISSIONS : {absentes}"
    en_trop = sorted(set(PERMISSIONS) - {r.endpoint for r, _m in routes(app)})
    assert not en_trop, f"permissions de routes qui n'existent plus : {en_trop}"


@pytest.mark.parametrize("identifiant", sorted(TOUS) + [ANONYME])
def test_chaque_route_repond_selon_la_table_sans_erreur_serveur(app, demo, identifiant):
    client, jeton = connecter(app, identifiant)
    ecarts = []
    for regle, methode in routes(app):
        if regle.endpoint == "auth.deconnexion":
            continue
        url = _url(app, demo, regle)
        if methode == "GET":
            r = client.get(url)
        else:
            r = client.post(url, data={"csrf_token": jeton, **DONNEES_POST.get(regle.endpoint, {})})
        code = r.status_code
        lieu = r.headers.get("Location", "")
        r.close()
        acces = PERMISSIONS[regle.endpoint]
        autorises = acces.get if methode == "GET" else acces.post
        if code >= 500:
            ecarts.append(f"{methode} {url} : erreur {code}")
        elif identifiant == ANONYME:
            if regle.endpoint in PUBLIC:
                if code in (302, 403, 404) or code >= 500:
                    ecarts.append(f"{methode} {url} : {code} pour l'anonyme sur une page publique")
            elif not (code == 302 and "/connexion" in lieu):
                ecarts.append(f"{methode} {url} : {code} au lieu du renvoi vers la connexion")
        elif identifiant in autorises:
            if code in (403, 404) or (code == 302 and "/connexion" in lieu) or code == 405:
                ecarts.append(f"{methode} {url} : {code} alors que {identifiant} y a accès")
        elif code not in (403, 404):
            ecarts.append(f"{methode} {url} : {code} alors que {identifiant} n'y a pas accès (403 ou 404 attendu)")
    assert not ecarts, "\n".join(ecarts)
    # Last: logging out ends the session.
    r = client.post("/connexion/deconnexion", data={"csrf_token": jeton})
    assert r.status_code == 302 and "/connexion" in r.headers["Location"]
    if identifiant != ANONYME:
        assert client.get("/").status_code == 302


@pytest.mark.parametrize("identifiant", [A, ANONYME])
def test_chaque_formulaire_sans_jeton_csrf_est_rejete(app, demo, identifiant):
    client, _jeton = connecter(app, identifiant)
    acceptes = []
    for regle, methode in routes(app):
        if methode != "POST":
            continue
        url = _url(app, demo, regle)
        r = client.post(url, data=DONNEES_POST.get(regle.endpoint, {}))
        r.close()
        if r.status_code != 400:
            acceptes.append(f"POST {url} : {r.status_code}")
    assert not acceptes, "POST acceptés sans jeton CSRF :\n" + "\n".join(acceptes)
    assert client.get("/").status_code == (200 if identifiant != ANONYME else 302)


def test_un_jeton_csrf_d_une_autre_session_est_rejete(app, demo):
    _autre, jeton_autre = connecter(app, P)
    client, _jeton = connecter(app, A)
    r = client.post(url_for_app(app, "admin.recharger"), data={"csrf_token": jeton_autre})
    assert r.status_code == 400


def url_for_app(app, endpoint: str, **valeurs) -> str:
    with app.test_request_context():
        return url_for(endpoint, **valeurs)


def test_le_menu_ne_montre_que_les_entrees_du_role(app, demo):
    for identifiant, audit, admin in ((A, True, True), (L, True, False), (P, True, False), (C, False, False), (S, False, False)):
        client, _ = connecter(app, identifiant)
        page = client.get("/").get_data(as_text=True)
        assert 'id="menu-regles"' in page
        assert ('id="menu-audit"' in page) is audit, identifiant
        assert ('id="menu-admin"' in page) is admin, identifiant
    anonyme = app.test_client().get("/notice").get_data(as_text=True)
    assert 'id="menu-regles"' not in anonyme and 'id="lien-notice"' in anonyme


def test_les_organisations_de_la_demo_sont_celles_de_la_table(app, demo, moteur_base):
    with dbmod.make_sessionmaker(moteur_base)() as s:
        types = {u.identifiant: u.organisation.type.value for u in s.scalars(select(Utilisateur).join(Organisation))}
    assert {i for i, t in types.items() if t == "bailleur"} >= BAILLEUR
    assert (types[R], types[E], types[S]) == ("reservataire", "epci", "etat")


# --------------------------------------------------------------------------- the pseudonymised view


def _titulaire(moteur_base, numero: str) -> tuple[str, str, str]:
    from webapp.models import Demande, Personne, RolePersonne

    with dbmod.make_sessionmaker(moteur_base)() as s:
        p = s.scalars(select(Personne).join(Demande).where(Demande.numero_unique == numero,
                                                           Personne.role == RolePersonne.DEMANDEUR)).one()
        return p.prenom, p.nom, p.demande.statut.value


def _basculer(client, jeton: str, active: bool, retour: str = "/demandes") -> None:
    r = client.post("/preferences/vue-pseudonymisee", data={"csrf_token": jeton, "active": "1" if active else "0", "retour": retour})
    assert r.status_code == 302 and r.headers["Location"].endswith(retour)


def test_la_vue_pseudonymisee_cache_noms_et_recherche_par_nom_puis_se_desactive(app, demo, moteur_base):
    numero = demo["demande"]["numero_unique"]
    prenom, nom, statut = _titulaire(moteur_base, numero)
    client, jeton = connecter(app, P)
    fiche = f"/demandes/{numero}"
    assert nom in client.get(fiche).get_data(as_text=True)
    assert numero in client.get(f"/demandes?q={nom}&statut={statut}").get_data(as_text=True)
    _basculer(client, jeton, True)
    page = client.get(fiche).get_data(as_text=True)
    assert nom not in page and prenom not in page and "Personne 1" in page
    assert "Cotation" in page or "cotation" in page  # the criteria stay visible
    # A name no longer finds its demande; the numéro unique still does.
    assert numero not in client.get(f"/demandes?q={nom}&statut={statut}").get_data(as_text=True)
    assert numero in client.get(f"/demandes?q={numero}&statut={statut}").get_data(as_text=True)
    assert 'aria-pressed="true"' in page
    _basculer(client, jeton, False)
    assert nom in client.get(fiche).get_data(as_text=True)


def test_la_vue_pseudonymisee_cache_le_nom_du_candidat_en_seance_et_les_documents_nominatifs(app, demo):
    client, jeton = connecter(app, P)
    c = demo["candidature"]
    url = f"/decisions/seances/{c['seance_id']}/candidatures/{c['candidature_id']}"
    avec_noms = client.get(url).get_data(as_text=True)
    titre = re.search(r"<h1>(.*?)</h1>", avec_noms).group(1)
    assert " — " in titre  # « Demande <numéro> — <nom> »
    assert client.get(f"{url}/lettre.html").status_code == 200
    _basculer(client, jeton, True, retour=url)
    sans_noms = client.get(url).get_data(as_text=True)
    assert re.search(r"<h1>(.*?)</h1>", sans_noms).group(1) == titre.split(" — ")[0]
    assert client.get(f"{url}/lettre.html").status_code in (403, 404)
    seance = client.get(f"/decisions/seances/{c['seance_id']}").get_data(as_text=True)
    assert 'id="pv-pdf-nominatif"' not in seance


@pytest.mark.parametrize("identifiant", [M, L, E, S])
def test_la_vue_pseudonymisee_est_imposee_aux_membres_aux_lecteurs_et_hors_bailleur(app, demo, moteur_base, identifiant):
    numero = demo["demande"]["numero_unique"]
    prenom, nom, _statut = _titulaire(moteur_base, numero)
    client, jeton = connecter(app, identifiant)
    _basculer(client, jeton, False)
    page = client.get(f"/demandes/{numero}").get_data(as_text=True)
    assert nom not in page and prenom not in page and "Personne 1" in page
    assert "Vue pseudonymisée (imposée pour votre rôle)" in page
