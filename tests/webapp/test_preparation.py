"""Preparing a séance: create it, put vacant dwellings on its agenda, read the ranked proposals."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from webapp import create_app
from webapp.demo.service import charger_demo
from webapp.models import (
    AuditEntry,
    Candidature,
    Commission,
    Commune,
    Logement,
    PointOrdreDuJour,
    Residence,
    Seance,
    StatutLogement,
)
from webapp.services.evaluations import recalculer_evaluations
from webapp.services.preparation import logements_inscriptibles

MDP = "caleol-demo"


@pytest.fixture
def demo(sessions):
    with sessions.begin() as s:
        charger_demo(s, seed=7, nb_dossiers=400, nb_logements=200, acteur="test")
    with sessions.begin() as s:
        recalculer_evaluations(s, processus=1, acteur="test")


def client_de(engine, identifiant):
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True})
    c = app.test_client()
    page = c.get("/connexion").get_data(as_text=True)
    jeton = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert c.post("/connexion", data={"identifiant": identifiant, "mot_de_passe": MDP, "csrf_token": jeton}).status_code == 302
    return c


def jeton_de(c, url):
    return re.search(r'name="csrf_token" value="([^"]+)"', c.get(url).get_data(as_text=True)).group(1)


def formulaire_seance(c, **valeurs):
    data = {"csrf_token": jeton_de(c, "/preparation/seances/nouvelle"), "date_seance": "2026-06-22", "mode": "physique",
            "quorum": "2", "nb_lignes": "10"}
    membres = [("Mme Leroy", "Représentant(e) du bailleur"), ("M. Dubois", "Représentant(e) des locataires"),
               ("Mme Petit", "Maire de la commune ou son représentant")]
    for i, (nom, qualite) in enumerate(membres):
        data |= {f"membre-{i}-nom": nom, f"membre-{i}-qualite": qualite, f"membre-{i}-deliberative": "on",
                 f"membre-{i}-present": "on"}
    for i in range(len(membres), 10):
        data |= {f"membre-{i}-nom": "", f"membre-{i}-qualite": ""}
    data |= valeurs
    return data


def test_le_charge_cree_une_seance_puis_compose_son_ordre_du_jour(engine, demo, sessions):
    c = client_de(engine, "charge.attribution")
    with sessions() as s:
        commission = s.scalars(select(Commission).order_by(Commission.id)).first()
    r = c.post("/preparation/seances/nouvelle", data=formulaire_seance(c, commission=str(commission.id)))
    assert r.status_code == 302, r.get_data(as_text=True)
    url_odj = r.headers["Location"]
    with sessions() as s:
        seance = s.scalars(select(Seance).order_by(Seance.id.desc())).first()
        assert len(seance.membres) == 3 and seance.quorum == 2
        inscriptibles = logements_inscriptibles(s, seance)
        assert inscriptibles and all(lg.statut == StatutLogement.VACANT for lg in inscriptibles)
        vacants = [lg.id for lg in inscriptibles][:3]
    page = c.get(url_odj).get_data(as_text=True)
    for i in vacants:
        assert f'id="inscrire-{i}"' in page
    r = c.post(url_odj, data={"csrf_token": jeton_de(c, url_odj), "logements": [str(i) for i in vacants]})
    assert r.status_code == 302
    with sessions() as s:
        points = list(s.scalars(select(PointOrdreDuJour).where(PointOrdreDuJour.seance_id == seance.id)))
        assert [p.logement_id for p in sorted(points, key=lambda p: p.ordre)] == vacants
        for p in points:
            nb = len(p.proposition["candidats"])
            assert nb >= 3 or p.proposition["exception"] is not None
            cands = s.scalars(select(Candidature).where(Candidature.seance_id == seance.id,
                                                         Candidature.logement_id == p.logement_id)).all()
            assert sorted(x.rang_propose for x in cands) == list(range(1, nb + 1))
        # A demande is proposed for one dwelling of the séance only.
        demandes = s.scalars(select(Candidature.demande_id).where(Candidature.seance_id == seance.id)).all()
        assert len(demandes) == len(set(demandes))
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "seance.inscrire_logements")) == 1
    proposition = c.get(f"/preparation/seances/{seance.id}/logements/{vacants[0]}")
    assert proposition.status_code == 200
    html = proposition.get_data(as_text=True)
    assert "Candidats proposés" in html and "Ordre de présentation" in html
    # Already on the agenda: cannot be put there twice.
    r = c.post(url_odj, data={"csrf_token": jeton_de(c, url_odj), "logements": [str(vacants[0])]})
    assert r.status_code == 422 and "hors ordre du jour" in r.get_data(as_text=True)


def test_chaque_commission_n_examine_que_les_logements_de_son_territoire(engine, demo, sessions):
    with sessions.begin() as s:
        communes_par_commission = {}
        for commission in s.scalars(select(Commission)).all():
            seance = Seance(commission_id=commission.id, date_seance=dt.date(2026, 6, 30), quorum=1)
            s.add(seance)
            s.flush()
            communes_par_commission[commission.territoire] = {
                (lg.residence.code_insee, s.get(Commune, lg.residence.code_insee).epci_siren)
                for lg in logements_inscriptibles(s, seance)}
            s.delete(seance)
    assert communes_par_commission["200093201"] and all(e == "200093201" for _, e in communes_par_commission["200093201"])
    assert communes_par_commission[None] and all(e != "200093201" for _, e in communes_par_commission[None])


def test_saisie_invalide_rien_n_est_ecrit(engine, demo, sessions):
    c = client_de(engine, "charge.attribution")
    with sessions() as s:
        avant = s.scalar(select(func.count()).select_from(Seance))
        commission = s.scalars(select(Commission)).first()
    r = c.post("/preparation/seances/nouvelle", data=formulaire_seance(c, commission=str(commission.id), date_seance="22/06/2026", quorum="9"))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Date invalide" in html
    r = c.post("/preparation/seances/nouvelle", data=formulaire_seance(c, commission=str(commission.id), quorum="9"))
    assert "dépasse le nombre de membres" in r.get_data(as_text=True)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Seance)) == avant


@pytest.mark.parametrize("identifiant", ["membre.commission", "presidence", "lecteur", "reservataire.al", "epci.mel"])
def test_seul_le_charge_d_attribution_du_bailleur_cree_une_seance(engine, demo, identifiant):
    c = client_de(engine, identifiant)
    assert c.get("/preparation/seances/nouvelle").status_code == 403


def test_sans_jeton_csrf_la_creation_est_refusee(engine, demo, sessions):
    c = client_de(engine, "charge.attribution")
    data = formulaire_seance(c)
    data.pop("csrf_token")
    assert c.post("/preparation/seances/nouvelle", data=data).status_code == 400


def test_les_priorites_et_criteres_proteges_sont_masques_dans_les_propositions():
    from webapp.demandes.evaluation import MASQUE_CRITERE, MASQUE_SITUATION, masquer_proposition
    from engine.version import version_regles

    proposition = {
        "version_regles": version_regles(),
        "candidats": [{
            "rang": 1,
            "priorites": [{"code": "PRIO_VIOLENCES_COUPLE", "libelle": "Personne victime de violences au sein du couple"},
                          {"code": "PRIO_SANS_LOGEMENT", "libelle": "Personne dépourvue de logement"}],
            "cotation": {"detail": [{"critere": "mel_demonstration.violences_familiales", "rubrique": "urgence", "points": 8},
                                    {"critere": "mel_demonstration.anciennete", "rubrique": "anciennete", "points": 3}]},
        }],
    }
    masquee = masquer_proposition(proposition, voit_sensible=False)
    (c,) = masquee["candidats"]
    assert [p["libelle"] for p in c["priorites"]] == [MASQUE_SITUATION, "Personne dépourvue de logement"]
    assert c["cotation"]["detail"][0] == {"critere": None, "libelle": MASQUE_CRITERE, "rubrique": "urgence", "points": 8}
    assert c["cotation"]["detail"][1]["critere"] == "mel_demonstration.anciennete"
    assert "violences" not in str(masquee).lower()
    assert masquer_proposition(proposition, voit_sensible=True) is proposition
