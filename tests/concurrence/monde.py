"""The séance of the concurrency tests: a physical séance of one bailleur, four logements with three
candidates each, five voting members present (quorum 3), and eight président(e)s of the bailleur, each
with an API token and a password (only a président(e) records decisions)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from werkzeug.security import generate_password_hash

from tests.webapp.decisions_exemple import _logement
from webapp.api.jetons import creer_jeton
from webapp.models import (
    Candidature,
    Commission,
    Demande,
    MembreSeance,
    ModeSeance,
    Organisation,
    Personne,
    Residence,
    Role,
    RolePersonne,
    Seance,
    StatutSeance,
    TypeOrganisation,
    Utilisateur,
)

MOT_DE_PASSE = "mdp-concurrence"
_HASH = generate_password_hash(MOT_DE_PASSE, method="pbkdf2:sha256:1000")
LOGEMENTS = ("L-1", "L-2", "L-3", "L-4")
NB_PRESIDENTS = 8


@dataclass
class Monde:
    seance_id: int
    version: int
    candidatures: dict[tuple[str, int], int]  # (logement, rang proposé) → candidature id
    logements: dict[str, int]
    presidents: list[str]
    jetons: dict[str, str]

    def entete(self, identifiant: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.jetons[identifiant]}"}


def construire(sessions) -> Monde:
    with sessions.begin() as s:
        bailleur = Organisation(nom="Habitat Concurrence", type=TypeOrganisation.BAILLEUR)
        presidents = [f"presidence.{i}" for i in range(1, NB_PRESIDENTS + 1)]
        for ident in presidents:
            s.add(Utilisateur(identifiant=ident, nom_affiche=ident, role=Role.PRESIDENT, organisation=bailleur,
                              mot_de_passe_hash=_HASH))
        residence = Residence(bailleur=bailleur, nom="Résidence des Acacias", adresse="5 rue des Acacias",
                              code_insee="59350")
        logements = {ref: _logement(residence, ref, "T3", "400.00") for ref in LOGEMENTS}
        seance = Seance(commission=Commission(bailleur=bailleur, nom="CALEOL concurrence", territoire="200093201"),
                        date_seance=dt.date(2026, 6, 10), mode=ModeSeance.PHYSIQUE, statut=StatutSeance.OUVERTE,
                        quorum=3)
        for nom, qualite in (("Claire Président", "Président(e) de la commission"),
                             ("Marc Membre", "Représentant(e) du bailleur"),
                             ("Louise Locataire", "Représentant(e) des locataires"),
                             ("Paul Maire", "Maire de la commune ou son représentant"),
                             ("Pierre Préfet", "Représentant(e) du préfet")):
            MembreSeance(seance=seance, nom=nom, qualite=qualite)
        candidatures = {}
        n = 0
        for ref in LOGEMENTS:
            for rang in (1, 2, 3):
                n += 1
                d = Demande(numero_unique=f"05911260{n:05d}X", date_depot=dt.date(2024, 1, 15),
                            adresse="3 place du Marché", code_postal="59000", commune_adresse="Lille")
                d.personnes.append(Personne(ordre=0, role=RolePersonne.DEMANDEUR, prenom="Prénom", nom=f"Nom{n}"))
                candidatures[(ref, rang)] = Candidature(seance=seance, logement=logements[ref], demande=d, rang_propose=rang)
                s.add(candidatures[(ref, rang)])
        s.flush()
        jetons = {i: creer_jeton(s, i, libelle="tests", acteur="tests")[1] for i in presidents}
        return Monde(
            seance_id=seance.id, version=seance.version,
            candidatures={k: c.id for k, c in candidatures.items()},
            logements={k: lg.id for k, lg in logements.items()},
            presidents=presidents, jetons=jetons,
        )
