"""A small world for the API tests, on SQLite and PostgreSQL (fixtures of tests/conftest.py).

- the séance of tests/webapp/decisions_exemple.py: bailleur « Habitat Exemple » (président, chargé,
  membres, lecteur, administrateur), another bailleur (president2), the État (prefet, who sits);
- « Bailleur des tests » with a vacant T3 in Douai and three active demandes wishing Douai, evaluated
  (tests/webapp/fabrique_propositions.py), and its chargé(e) d'attribution « charge.douai »;
- an EPCI organisation (Métropole Européenne de Lille) with « epci.mel », a réservataire with
  « reservataire.al »;
- one API token per user, issued by the service of `caleol api jeton creer`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from werkzeug.security import generate_password_hash

from tests.webapp import fabrique_propositions as fp
from tests.webapp.decisions_exemple import Monde, construire
from webapp import create_app
from webapp import db as dbmod
from webapp.api.jetons import creer_jeton
from webapp.models import Organisation, Role, TypeOrganisation, Utilisateur

DATE = dt.date(2026, 6, 15)
MEL = "200093201"
_HASH = generate_password_hash("mdp", method="pbkdf2:sha256:1000")


@dataclass
class MondeApi:
    seance: Monde
    logement_douai: int
    demandes_douai: list[str]
    jetons: dict[str, str]

    def entete(self, identifiant: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.jetons[identifiant]}"}


def _utilisateur(session, identifiant: str, role: Role, organisation: Organisation) -> None:
    session.add(Utilisateur(identifiant=identifiant, nom_affiche=identifiant, role=role, organisation=organisation,
                            mot_de_passe_hash=_HASH))


@pytest.fixture
def monde(sessions) -> MondeApi:
    from webapp.services.evaluations import recalculer_evaluations

    seance = construire(sessions)
    with dbmod.transaction(sessions) as s:
        logement_id = fp.logement(s, reference="D-1").id
        dossiers = [fp.dossier("1", depot="2023-02-01"), fp.dossier("2", depot="2024-03-01"), fp.dossier("3", depot="2025-01-15")]
        ids = fp.enregistrer(s, *dossiers)
        recalculer_evaluations(s, DATE, ids, acteur="tests", audit=False, processus=1)
        _utilisateur(s, "charge.douai", Role.CHARGE_ATTRIBUTION, fp.bailleur(s))
        _utilisateur(s, "epci.mel", Role.MEMBRE_COMMISSION,
                     Organisation(nom="Métropole Européenne de Lille", type=TypeOrganisation.EPCI, epci_siren=MEL))
        _utilisateur(s, "reservataire.al", Role.CHARGE_ATTRIBUTION,
                     Organisation(nom="Action Logement Services (organisation)", type=TypeOrganisation.RESERVATAIRE))
        s.flush()
        identifiants = [*seance.utilisateurs, "charge.douai", "epci.mel", "reservataire.al"]
        jetons = {i: creer_jeton(s, i, libelle="tests", acteur="tests")[1] for i in identifiants}
        demandes = [d["numero_unique"] for d in dossiers]
    return MondeApi(seance=seance, logement_douai=logement_id, demandes_douai=demandes, jetons=jetons)


@pytest.fixture
def app(engine):
    return create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "ENREGISTRER_VERSION_REGLES": False})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def jeton_lecteur(sessions) -> dict[str, str]:
    """The Authorization header of a lecteur of a bailleur (for the tests that need no data)."""
    with dbmod.transaction(sessions) as s:
        _utilisateur(s, "lecteur.seul", Role.LECTEUR, Organisation(nom="Bailleur seul", type=TypeOrganisation.BAILLEUR))
        s.flush()
        jeton = creer_jeton(s, "lecteur.seul", libelle="tests", acteur="tests")[1]
    return {"Authorization": f"Bearer {jeton}"}
