"""A fixed séance for the decision and document tests: two bailleurs, users of every role, a physical
séance of bailleur 1 with six members (one advisory, one absent), two logements and three candidates
each. Everything is explicit (names, dates, numbers) so rendered documents are stable."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from werkzeug.security import generate_password_hash

from webapp import create_app
from webapp.models import (
    Candidature,
    Commission,
    Demande,
    Logement,
    MembreSeance,
    ModeSeance,
    Organisation,
    Personne,
    Reservataire,
    Residence,
    Role,
    RolePersonne,
    Seance,
    StatutSeance,
    TypeOrganisation,
    TypeReservataire,
    Utilisateur,
)

DATE_SEANCE = dt.date(2026, 6, 10)
MOT_DE_PASSE = "mdp"
_HASH = generate_password_hash(MOT_DE_PASSE, method="pbkdf2:sha256:1000")

# identifiant → (rôle, organisation) ; « membre1 » et « president » siègent à la séance, « membre2 » non.
UTILISATEURS = {
    "president": (Role.PRESIDENT, "b1"),
    "charge": (Role.CHARGE_ATTRIBUTION, "b1"),
    "membre1": (Role.MEMBRE_COMMISSION, "b1"),
    "membre2": (Role.MEMBRE_COMMISSION, "b1"),
    "lecteur": (Role.LECTEUR, "b1"),
    "admin": (Role.ADMINISTRATEUR, "b1"),
    "president2": (Role.PRESIDENT, "b2"),
    "prefet": (Role.MEMBRE_COMMISSION, "etat"),
}

CANDIDATS = [
    # (logement, rang proposé, numéro unique, prénom, nom)
    ("L-1", 1, "0591126000001A", "Amina", "Benali"),
    ("L-1", 2, "0591126000002B", "Bruno", "Carpentier"),
    ("L-1", 3, "0591126000003C", "Chloé", "<Dupont & fils>"),
    ("L-2", 1, "0591126000004D", "David", "Lefebvre"),
    ("L-2", 2, "0591126000005E", "Émilie", "Martin"),
    ("L-2", 3, "0591126000006F", "Farid", "Nowak"),
]


@dataclass
class Monde:
    seance_id: int
    autre_seance_id: int
    candidatures: dict[str, int]  # numéro unique → candidature id
    membres: dict[str, int]  # nom court → membre_seance id
    logements: dict[str, int]
    utilisateurs: dict[str, int]


def _logement(residence: Residence, ref: str, typologie: str, loyer: str) -> Logement:
    return Logement(
        residence=residence, reference=ref, typologie=typologie, nb_pieces=int(typologie[1]),
        surface_habitable=Decimal("64.50"), etage=2, ascenseur=True, accessible_pmr=False, financement="PLUS",
        loyer_principal=Decimal(loyer), loyer_annexes=Decimal("0"), charges_recuperables=Decimal("85.00"),
        contribution_travaux=Decimal("0"), statut="vacant",
    )


def construire(sessions, *, mode: ModeSeance = ModeSeance.PHYSIQUE, quorum: int = 3) -> Monde:
    with sessions.begin() as s:
        orgs = {
            "b1": Organisation(nom="Habitat Exemple", type=TypeOrganisation.BAILLEUR),
            "b2": Organisation(nom="Autre Bailleur", type=TypeOrganisation.BAILLEUR),
            "etat": Organisation(nom="DDETS du Nord", type=TypeOrganisation.ETAT),
        }
        users = {}
        for ident, (role, org) in UTILISATEURS.items():
            users[ident] = Utilisateur(identifiant=ident, nom_affiche=f"{ident.capitalize()} Test", role=role,
                                       organisation=orgs[org], mot_de_passe_hash=_HASH)
            s.add(users[ident])
        reservataire = Reservataire(nom="Action Logement Services", type=TypeReservataire.ACTION_LOGEMENT)
        residence = Residence(bailleur=orgs["b1"], nom="Résidence des Tilleuls", adresse="12 rue des Tilleuls",
                              code_insee="59350")
        logements = {"L-1": _logement(residence, "L-1", "T3", "412.30"), "L-2": _logement(residence, "L-2", "T2", "356.00")}
        commission = Commission(bailleur=orgs["b1"], nom="CALEOL de Lille", territoire="200093201")
        seance = Seance(commission=commission, date_seance=DATE_SEANCE, mode=mode, statut=StatutSeance.OUVERTE,
                        quorum=quorum)
        membres = {
            "president": MembreSeance(seance=seance, utilisateur=users["president"], nom="Claire Président",
                                      qualite="Président(e) de la commission"),
            "membre1": MembreSeance(seance=seance, utilisateur=users["membre1"], nom="Marc Membre",
                                    qualite="Représentant(e) du bailleur"),
            "locataires": MembreSeance(seance=seance, nom="Louise Locataire", qualite="Représentant(e) des locataires"),
            "maire": MembreSeance(seance=seance, nom="Paul Maire", qualite="Maire de la commune ou son représentant"),
            "prefet": MembreSeance(seance=seance, utilisateur=users["prefet"], nom="Pierre Préfet",
                                   qualite="Représentant(e) du préfet"),
            "association": MembreSeance(seance=seance, nom="Anne Association",
                                        qualite="Association d'insertion (voix consultative)", voix_deliberative=False),
            "absent": MembreSeance(seance=seance, nom="Albert Absent", qualite="Représentant(e) du bailleur", present=False),
        }
        candidatures = {}
        for ref, rang, numero, prenom, nom in CANDIDATS:
            d = Demande(numero_unique=numero, date_depot=dt.date(2024, 1, 15), adresse="3 place du Marché",
                        code_postal="59000", commune_adresse="Lille")
            d.personnes.append(Personne(ordre=0, role=RolePersonne.DEMANDEUR, prenom=prenom, nom=nom))
            c = Candidature(seance=seance, logement=logements[ref], demande=d, rang_propose=rang,
                            reservataire=reservataire if ref == "L-2" else None)
            s.add(c)
            candidatures[numero] = c
        # A séance of the other bailleur, invisible to bailleur 1.
        residence2 = Residence(bailleur=orgs["b2"], nom="Résidence Amiens", adresse="2 rue B", code_insee="80021")
        commission2 = Commission(bailleur=orgs["b2"], nom="CALEOL d'Amiens")
        autre = Seance(commission=commission2, date_seance=DATE_SEANCE, quorum=1)
        s.add_all([residence2, autre])
        s.flush()
        return Monde(
            seance_id=seance.id,
            autre_seance_id=autre.id,
            candidatures={k: v.id for k, v in candidatures.items()},
            membres={k: v.id for k, v in membres.items()},
            logements={k: v.id for k, v in logements.items()},
            utilisateurs={k: v.id for k, v in users.items()},
        )


class Acteur:
    """What the services need of a user (the web layer passes flask_login's current_user)."""

    def __init__(self, sessions, identifiant: str) -> None:
        with sessions() as s:
            u = s.query(Utilisateur).filter_by(identifiant=identifiant).one()
            self.id, self.identifiant, self.role = u.id, u.identifiant, Role(u.role)


def jeton(html: str) -> str:
    """The CSRF token of the first form of a page."""
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def client(engine, identifiant: str | None, *, csrf: bool = False):
    """A test client logged in as `identifiant` (CSRF checks off unless `csrf`)."""
    app = create_app({
        "ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "WTF_CSRF_ENABLED": csrf,
        "LIMITE_CONNEXION": "1000 per minute",
    })
    c = app.test_client()
    if identifiant:
        donnees = {"identifiant": identifiant, "mot_de_passe": MOT_DE_PASSE}
        if csrf:
            donnees["csrf_token"] = jeton(c.get("/connexion").get_data(as_text=True))
        assert c.post("/connexion", data=donnees).status_code == 302, identifiant
    return c
