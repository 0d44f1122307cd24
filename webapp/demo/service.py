"""Loading the demo data set into the database: one transaction (the caller's), one audit entry."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from ..audit import journaliser
from ..horloge import aujourd_hui
from ..models import Demande, Organisation, Reservataire, Utilisateur
from ..services.territoire import charger_territoire, territoire_charge
from .ecriture import Ecrivain
from .generateur import Empreinte, JeuDemo
from .locataires import charger_locataires_demo


class ErreurDemo(ValueError):
    """The demo cannot be loaded into this database (the message is French and names the reason)."""


@dataclass
class ResultatDemo:
    charge: bool
    message: str
    comptes: dict[str, int] = field(default_factory=dict)
    empreinte: str | None = None
    territoire_charge: bool = False


def _verifier_noms_libres(session: Session, jeu: JeuDemo) -> None:
    """Organisations, réservataires and accounts of the demo must not exist already (unique names)."""
    p = jeu.partenaires
    for modele, colonne, valeurs, libelle in (
        (Organisation, Organisation.nom, [o[1] for o in p.organisations], "L'organisation"),
        (Reservataire, Reservataire.nom, [r[1] for r in p.reservataires], "Le réservataire"),
        (Utilisateur, Utilisateur.identifiant, [u[1] for u in p.utilisateurs], "Le compte"),
    ):
        existant = session.scalars(select(colonne).where(colonne.in_(valeurs)).order_by(colonne).limit(1)).first()
        if existant is not None:
            raise ErreurDemo(f"{libelle} « {existant} » existe déjà dans la base : la démonstration ne peut pas y être chargée.")


@cache
def _hacher(mot_de_passe: str) -> str:
    # One hash per distinct password: hashing is deliberately slow.
    return generate_password_hash(mot_de_passe)


def charger_demo(
    session: Session,
    *,
    seed: int,
    nb_dossiers: int,
    nb_logements: int,
    acteur: str,
    si_vide: bool = False,
    date_reference: dt.date | None = None,
) -> ResultatDemo:
    """Generate and write the demo data set; with `si_vide`, do nothing when demandes already exist."""
    if nb_dossiers < 0 or nb_logements < 0:
        raise ErreurDemo("Les nombres de dossiers et de logements doivent être positifs ou nuls.")
    date = date_reference or aujourd_hui()
    existantes = session.scalar(select(func.count()).select_from(Demande)) or 0
    if existantes:
        message = f"La base contient déjà {existantes} demande(s) : les données de démonstration ne sont pas chargées."
        if si_vide:
            return ResultatDemo(False, message)
        raise ErreurDemo(message + " Chargez la démonstration dans une base vide (ou utilisez --si-vide).")
    territoire = False
    if not territoire_charge(session):
        charger_territoire(session, acteur=acteur)
        territoire = True

    jeu = JeuDemo(seed, nb_dossiers, nb_logements, date, hacher=_hacher)
    _verifier_noms_libres(session, jeu)
    ecrivain = Ecrivain(session)
    empreinte = Empreinte()
    for table, lignes in jeu.lots():
        empreinte.ajouter(table, lignes)
        ecrivain.ecrire(table, lignes)
    ecrivain.terminer()
    comptes = {t: n for t, n in ecrivain.comptes.items() if n}
    comptes.update(charger_locataires_demo(session, jeu, acteur=acteur))
    condense = empreinte.hexdigest()
    # One entry for the whole operation: counts, seed and hash; no personal data.
    journaliser(
        session,
        acteur=acteur,
        action="demo.charger",
        objet_type="demo",
        apres={"comptes": comptes, "empreinte": condense},
        details={
            "seed": seed,
            "dossiers": nb_dossiers,
            "logements": nb_logements,
            "date_reference": date.isoformat(),
            "territoire_charge": territoire,
        },
    )
    session.flush()
    return ResultatDemo(True, "Données de démonstration chargées.", comptes, condense, territoire)
