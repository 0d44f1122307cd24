"""The small demo used by the dashboard, réservataire, territoire and fiche tests, and logged-in clients."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from webapp import create_app
from webapp.demo.service import charger_demo
from webapp.models import Attribution, Commune, Logement, Organisation, Residence, Role, Utilisateur
from webapp.services.evaluations import recalculer_evaluations
from webapp.services.flux import orienter_vacants

MDP = "caleol-demo"
DATE = dt.date(2026, 6, 15)
BAILLEUR = ("charge.attribution", "membre.commission", "presidence", "lecteur", "admin")
TOUS = (*BAILLEUR, "reservataire.al", "lecteur.al", "epci.mel", "etat.ddets")


def charger(sessions) -> None:
    """Demo (seed 7, 400 dossiers, 200 logements), evaluations, vacant dwellings oriented on 15/06/2026.

    The small demo's attributions all fall in 2025: every other one of each EPCI is moved into the first
    months of 2026 so that this year's quota gauges and flux counters have something to count. A second user of
    Action Logement, with the lecteur role, reads without designating.
    """
    with sessions.begin() as s:
        charger_demo(s, seed=7, nb_dossiers=400, nb_logements=200, acteur="test")
    with sessions.begin() as s:
        recalculer_evaluations(s, DATE, processus=1, acteur="test")
    with sessions.begin() as s:
        orienter_vacants(s, DATE, "test")
        rangs: dict[str, int] = {}
        for a, epci in s.execute(
            select(Attribution, Commune.epci_siren).join(Logement, Logement.id == Attribution.logement_id)
            .join(Residence, Residence.id == Logement.residence_id).join(Commune, Commune.code_insee == Residence.code_insee)
            .order_by(Attribution.id)
        ):
            # Every other attribution of each EPCI, so that each EPCI has some in both years.
            i = rangs[epci] = rangs.get(epci, -1) + 1
            if i % 2 == 0:
                a.date_decision = dt.date(2026, 1 + i % 5, 2 + i % 20)
                a.date_signature_bail = a.date_decision + dt.timedelta(days=10)
        al = s.scalars(select(Organisation).where(Organisation.nom.like("Action Logement%"))).one()
        s.add(Utilisateur(identifiant="lecteur.al", nom_affiche="Lecteur AL", role=Role.LECTEUR, organisation=al,
                          mot_de_passe_hash=generate_password_hash(MDP)))


def application(engine, *, csrf: bool = False):
    return create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "WTF_CSRF_ENABLED": csrf,
                       "LIMITE_CONNEXION": "1000 per minute"})


def client_de(engine, identifiant: str, *, csrf: bool = False, mot_de_passe: str = MDP):
    c = application(engine, csrf=csrf).test_client()
    data = {"identifiant": identifiant, "mot_de_passe": mot_de_passe}
    if csrf:
        page = c.get("/connexion").get_data(as_text=True)
        data["csrf_token"] = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = c.post("/connexion", data=data)
    assert r.status_code == 302, f"connexion de {identifiant} refusée"
    return c


def jeton(c, url: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', c.get(url).get_data(as_text=True)).group(1)


def element(html: str, ident: str) -> str:
    """The opening tag (with its attributes) of the element whose id is `ident`."""
    m = re.search(r'<[a-z]+[^>]*\bid="' + re.escape(ident) + r'"[^>]*>', html)
    assert m, f"élément {ident} absent de la page"
    return m.group(0)


def attribut(balise: str, nom: str) -> str:
    m = re.search(r'\b' + nom + r'="([^"]*)"', balise)
    assert m, f"attribut {nom} absent de {balise}"
    return m.group(1)
