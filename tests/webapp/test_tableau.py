"""Tableau de bord: each organisation sees its perimeter, and the figures are those of the services."""
from __future__ import annotations

import datetime as dt
import html as html_lib
import re

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from webapp.auth.perimetre import filtrer_logements
from webapp.models import (
    Commission,
    ConventionReservation,
    Logement,
    Organisation,
    Reservataire,
    Role,
    Seance,
    StatutLogement,
    TypeOrganisation,
    Utilisateur,
)
from webapp.services.flux import compteurs
from webapp.services.quotas import quotas
from webapp.tableau import donnees

from .demo_espaces import DATE, MDP, TOUS, application, charger, client_de

MEL = "200093201"


@pytest.fixture
def demo(sessions):
    charger(sessions)


class Utilisateur_:
    """What the perimeter helpers read from the logged-in user (flask_login's Connecte)."""

    def __init__(self, u: Utilisateur) -> None:
        self.id = u.id
        self.organisation_id = u.organisation_id
        self.organisation_type = TypeOrganisation(u.organisation.type)
        self.organisation_epci = u.organisation.epci_siren


def utilisateur(s, identifiant: str) -> Utilisateur_:
    return Utilisateur_(s.scalars(select(Utilisateur).where(Utilisateur.identifiant == identifiant)).one())


def jauges(page: str) -> dict[str, dict[str, str]]:
    """id → data attributes of each gauge on the page."""
    resultat = {}
    for m in re.finditer(r'<li class="jauge[^"]*" id="(jauge-[^"]+)"([^>]*)>', page):
        resultat[m.group(1)] = dict(re.findall(r'data-([a-z]+)="([^"]*)"', m.group(2)))
    return resultat


def lignes_flux(page: str) -> dict[str, dict[str, str]]:
    resultat = {}
    for m in re.finditer(r'<tr id="(flux-[^"]+)"([^>]*)>', page):
        resultat[m.group(1)] = dict(re.findall(r'data-([a-z]+)="([^"]*)"', m.group(2)))
    return resultat


def test_chaque_utilisateur_ouvre_son_tableau_de_bord_et_un_anonyme_est_renvoye_a_la_connexion(engine, demo):
    for identifiant in TOUS:
        r = client_de(engine, identifiant).get("/")
        assert r.status_code == 200, identifiant
        assert "Tableau de bord" in r.get_data(as_text=True)
    r = application(engine).test_client().get("/")
    assert r.status_code == 302 and "/connexion" in r.headers["Location"]


def test_les_jauges_du_bailleur_sont_celles_du_service_des_quotas_pour_chaque_epci_de_son_patrimoine(engine, demo, sessions):
    page = client_de(engine, "charge.attribution").get("/").get_data(as_text=True)
    vues = jauges(page)
    with sessions() as s:
        epcis = donnees.epcis_du_perimetre(s, utilisateur(s, "charge.attribution"))
        assert len(epcis) >= 3
        comptees = nb_indicateurs = 0
        for epci in epcis:
            q = quotas(s, epci, 2026, DATE)
            nb_indicateurs += len(q["indicateurs"])
            for i in q["indicateurs"]:
                v = vues[f"jauge-{epci}-{i['code'].replace('.', '-')}"]
                assert (int(v["numerateur"]), int(v["denominateur"]), v["statut"]) == (i["numerateur"], i["denominateur"], i["statut"])
                comptees += i["denominateur"] if i["code"] == "contingent_etat" else 0
            assert f"{q['attributions']} bail(aux) signé(s) en 2026" in page
    # The demo's moved attributions give this year's gauges something to count.
    assert comptees > 0
    assert len(vues) == nb_indicateurs


def test_une_jauge_dit_son_taux_sa_cible_et_son_etat_en_toutes_lettres_la_barre_n_est_qu_un_rappel(engine, demo, sessions):
    page = client_de(engine, "epci.mel").get("/").get_data(as_text=True)
    with sessions() as s:
        q = quotas(s, MEL, 2026, DATE)
    for i in q["indicateurs"]:
        ident = f"jauge-{MEL}-{i['code'].replace('.', '-')}"
        bloc = page[page.index(f'id="{ident}"'):]
        bloc = bloc[:bloc.index("</li>")]
        j = donnees.jauge(i)
        texte = html_lib.unescape(re.sub(r"<[^>]+>", " ", bloc))
        assert j["taux_texte"] in texte and j["cible_texte"] in texte and j["statut_libelle"] in texte
        assert f"{i['numerateur']} sur {i['denominateur']}" in texte
        assert 'class="jauge-barre" aria-hidden="true"' in bloc
        assert f"width: {j['largeur']}%" in bloc


def test_l_etat_des_jauges_ne_repose_pas_sur_la_couleur():
    # Below a minimum target: the symbol, the words and the bar's pattern class all say so.
    j = donnees.jauge({"code": "x", "numerateur": 1, "denominateur": 10, "taux": 0.1, "cible": 0.25, "sens": "minimum",
                       "statut": "en_dessous"})
    assert (j["etat"], j["symbole"], j["statut_libelle"], j["taux_texte"]) == ("alerte", "⚠", "En dessous de l'objectif", "10\u202f%")
    assert j["cible_texte"] == "objectif : au moins 25\u202f%" and j["largeur"] == 10.0 and j["repere"] == 25.0
    j = donnees.jauge({"code": "y", "numerateur": 3, "denominateur": 10, "taux": 0.3, "cible": 0.3, "sens": "maximum",
                       "statut": "respecte"})
    assert (j["etat"], j["symbole"], j["cible_texte"]) == ("conforme", "✓", "plafond : au plus 30\u202f%")
    sans = donnees.jauge({"code": "z", "numerateur": 0, "denominateur": 0, "taux": None, "cible": 0.25, "sens": "minimum",
                          "statut": "sans_attribution"})
    assert (sans["taux_texte"], sans["largeur"], sans["etat"], sans["statut_libelle"]) == (
        "Sans taux", 0.0, "neutre", "Aucune attribution comptée à ce jour")


def test_l_epci_ne_voit_que_les_jauges_de_son_territoire_et_l_etat_celles_de_tous(engine, demo, sessions):
    mel = jauges(client_de(engine, "epci.mel").get("/").get_data(as_text=True))
    assert mel and all(k.startswith(f"jauge-{MEL}-") for k in mel)
    etat = jauges(client_de(engine, "etat.ddets").get("/").get_data(as_text=True))
    with sessions() as s:
        tous = donnees._epcis_du_patrimoine(s)
    assert {k.split("-")[1] for k in etat} == set(tous)


def test_le_reservataire_ne_voit_que_son_propre_objectif_de_publics_prioritaires(engine, demo, sessions):
    vues = jauges(client_de(engine, "reservataire.al").get("/").get_data(as_text=True))
    with sessions() as s:
        al = s.scalars(select(Reservataire).where(Reservataire.type == "action_logement")).one()
        attendus = {}
        for epci in donnees._epcis_du_patrimoine(s):
            for i in quotas(s, epci, 2026, DATE)["indicateurs"]:
                if i["code"] == f"publics_prioritaires.r{al.id}":
                    attendus[f"jauge-{epci}-publics_prioritaires-r{al.id}"] = (i["numerateur"], i["denominateur"])
    assert attendus and set(vues) == set(attendus)
    assert {k: (int(v["numerateur"]), int(v["denominateur"])) for k, v in vues.items()} == attendus


def test_l_equilibre_du_flux_est_celui_des_compteurs_dans_le_perimetre_de_chacun(engine, demo, sessions):
    with sessions() as s:
        bailleur = s.scalars(select(Organisation).where(Organisation.type == TypeOrganisation.BAILLEUR)).one()
        lignes = compteurs(s, bailleur.id, 2026, DATE)
        al = s.scalars(select(Reservataire).where(Reservataire.type == "action_logement")).one()
        departements_mel = donnees.departements_epci(s, MEL)

    def attendu(x):
        return f"flux-{bailleur.id}-{x['reservataire_id'] or 'bailleur'}-{x['territoire']}", (x["du"], x["comptes"], x["ecart"])

    def vus(identifiant):
        return {k: (float(v["du"]), int(v["comptes"]), float(v["ecart"]))
                for k, v in lignes_flux(client_de(engine, identifiant).get("/").get_data(as_text=True)).items()}

    tout = dict(attendu(x) for x in lignes)
    assert any(c for _, c, _ in tout.values())
    assert vus("charge.attribution") == tout
    assert vus("etat.ddets") == tout
    siens = dict(attendu(x) for x in lignes if x["reservataire_id"] == al.id)
    territoire = dict(attendu(x) for x in lignes if x["territoire"] in {MEL} | departements_mel)
    assert siens and territoire and len(territoire) < len(tout)
    assert vus("reservataire.al") == siens
    assert vus("epci.mel") == territoire


def test_personne_ne_voit_les_seances_d_un_autre_bailleur_les_membres_voient_les_leurs(engine, demo, sessions):
    with sessions.begin() as s:
        autre = Organisation(nom="Autre bailleur", type=TypeOrganisation.BAILLEUR)
        commission = Commission(bailleur=autre, nom="Commission <b>de l'autre</b>")
        seance = Seance(commission=commission, date_seance=dt.date(2026, 6, 20), quorum=1)
        s.add_all([autre, commission, seance,
                   Utilisateur(identifiant="charge.autre", nom_affiche="Autre", role=Role.CHARGE_ATTRIBUTION,
                               organisation=autre, mot_de_passe_hash=generate_password_hash(MDP))])
        s.flush()
        autre_id = seance.id
        demo_ids = set(s.scalars(select(Seance.id).join(Commission).where(
            Commission.bailleur_id != autre.id, Seance.date_seance >= DATE)))
    assert demo_ids
    for identifiant in ("charge.attribution", "lecteur", "admin"):
        page = client_de(engine, identifiant).get("/").get_data(as_text=True)
        assert f'id="seance-{autre_id}"' not in page and "de l'autre" not in page
        assert all(f'id="seance-{i}"' in page for i in demo_ids)
    page = client_de(engine, "charge.autre").get("/").get_data(as_text=True)
    assert f'id="seance-{autre_id}"' in page
    assert "&lt;b&gt;de l&#39;autre&lt;/b&gt;" in page and "<b>de l'autre</b>" not in page
    assert not any(f'id="seance-{i}"' in page for i in demo_ids)
    # epci.mel and etat.ddets sit on the demo's next séance; Action Logement sits on none.
    for identifiant in ("epci.mel", "etat.ddets"):
        page = client_de(engine, identifiant).get("/").get_data(as_text=True)
        assert all(f'id="seance-{i}"' in page for i in demo_ids) and f'id="seance-{autre_id}"' not in page
    page = client_de(engine, "reservataire.al").get("/").get_data(as_text=True)
    assert "Aucune séance à venir." in page
    # Only the roles that may open a séance get the link.
    assert "/decisions/seances/" in client_de(engine, "lecteur").get("/").get_data(as_text=True)
    assert "/decisions/seances/" not in client_de(engine, "admin").get("/").get_data(as_text=True)


def test_le_nombre_de_logements_vacants_est_celui_du_perimetre(engine, demo, sessions):
    for identifiant in ("charge.attribution", "reservataire.al", "epci.mel", "etat.ddets"):
        page = client_de(engine, identifiant).get("/").get_data(as_text=True)
        with sessions() as s:
            attendu = s.scalar(filtrer_logements(select(func.count(Logement.id)).select_from(Logement), utilisateur(s, identifiant))
                               .where(Logement.statut == StatutLogement.VACANT))
        affiche = re.search(r'id="nb-vacants">([^<]+)<', page).group(1).replace("\u202f", "")
        assert int(affiche) == attendu, identifiant
        assert "/logements?statut=vacant" in page
    with sessions() as s:
        assert 0 < s.scalar(select(func.count(Logement.id)).where(Logement.statut == StatutLogement.VACANT))


def test_le_nom_d_un_reservataire_est_echappe_dans_l_equilibre_du_flux(engine, demo, sessions):
    with sessions.begin() as s:
        al = s.scalars(select(Reservataire).where(Reservataire.type == "action_logement")).one()
        al.nom = "Action <script>alert(1)</script>"
        assert s.scalar(select(func.count(ConventionReservation.id)).where(ConventionReservation.reservataire_id == al.id))
    page = client_de(engine, "charge.attribution").get("/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "Action &lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_le_menu_ne_montre_les_espaces_qu_aux_utilisateurs_concernes(engine, demo):
    for identifiant in TOUS:
        page = client_de(engine, identifiant).get("/").get_data(as_text=True)
        assert ('id="menu-territoire"' in page) == (identifiant in ("epci.mel", "etat.ddets")), identifiant
        # Action Logement, the MEL and the État hold réservataires; the bailleur's users do not.
        assert ('id="menu-reservataire"' in page) == (identifiant in ("reservataire.al", "lecteur.al", "epci.mel", "etat.ddets")), identifiant
