"""Users of the instance: create, change role and organisation, deactivate, reset the password.

Every function validates first and raises `ErreurUtilisateur` (French messages keyed by field) before
writing anything; a write flushes and leaves one audit entry, never the password nor its hash, never
a person's name. The temporary password is generated here, returned once to be shown once, and only
its hash is stored.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from ..audit import journaliser
from ..models import Organisation, Role, Utilisateur

IDENTIFIANT = re.compile(r"^[a-z0-9][a-z0-9._-]{2,119}$")
NOM_MAX = 200
# Temporary passwords: 20 characters from an alphabet without look-alikes (0/O, 1/l/I), at least one
# of each class; about 118 bits of entropy.
LONGUEUR_MOT_DE_PASSE = 20
MINUSCULES = "abcdefghijkmnopqrstuvwxyz"
MAJUSCULES = "ABCDEFGHJKLMNPQRSTUVWXYZ"
CHIFFRES = "23456789"
SYMBOLES = "-_.!?@#%+="
ALPHABET = MINUSCULES + MAJUSCULES + CHIFFRES + SYMBOLES


class ErreurUtilisateur(ValueError):
    """Refused input; `.erreurs` maps each field to its French messages. Nothing was written."""

    def __init__(self, erreurs: dict[str, list[str]]):
        self.erreurs = erreurs
        super().__init__("; ".join(m for ms in erreurs.values() for m in ms))


@dataclass(frozen=True)
class Saisie:
    identifiant: str | None = None
    nom_affiche: str | None = None
    role: str | None = None
    organisation_id: str | int | None = None


def generer_mot_de_passe() -> str:
    while True:
        mdp = "".join(secrets.choice(ALPHABET) for _ in range(LONGUEUR_MOT_DE_PASSE))
        if all(any(c in classe for c in mdp) for classe in (MINUSCULES, MAJUSCULES, CHIFFRES, SYMBOLES)):
            return mdp


def _resume(u: Utilisateur) -> dict:
    """What the audit keeps of a user: no name, no password, no hash."""
    return {"identifiant": u.identifiant, "role": Role(u.role).value, "organisation_id": u.organisation_id, "actif": bool(u.actif)}


def _valider_commun(session: Session, saisie: Saisie, erreurs: dict[str, list[str]]) -> tuple[str, Role | None, Organisation | None]:
    nom = (saisie.nom_affiche or "").strip()
    if not nom:
        erreurs.setdefault("nom_affiche", []).append("Nom affiché : obligatoire.")
    elif len(nom) > NOM_MAX:
        erreurs.setdefault("nom_affiche", []).append(f"Nom affiché : {NOM_MAX} caractères au plus.")
    role = None
    try:
        role = Role((saisie.role or "").strip())
    except ValueError:
        erreurs.setdefault("role", []).append("Rôle : choisissez un rôle de la liste.")
    organisation = None
    texte = str(saisie.organisation_id or "").strip()
    if texte.isascii() and texte.isdigit():
        organisation = session.get(Organisation, int(texte))
    if organisation is None:
        erreurs.setdefault("organisation_id", []).append("Organisation : choisissez une organisation de la liste.")
    return nom, role, organisation


def _administrateurs_actifs(session: Session) -> int:
    return session.scalar(
        select(func.count()).select_from(Utilisateur).where(Utilisateur.role == Role.ADMINISTRATEUR, Utilisateur.actif.is_(True))
    ) or 0


def creer_utilisateur(session: Session, saisie: Saisie, *, acteur: str) -> tuple[Utilisateur, str]:
    """Create an active user with a generated temporary password; returns (user, password in clear)."""
    erreurs: dict[str, list[str]] = {}
    identifiant = (saisie.identifiant or "").strip()
    if not identifiant:
        erreurs["identifiant"] = ["Identifiant : obligatoire."]
    elif not IDENTIFIANT.match(identifiant):
        erreurs["identifiant"] = [
            "Identifiant : de 3 à 120 caractères, lettres minuscules sans accent, chiffres, point, tiret ou soulignement."
        ]
    elif session.scalar(select(func.count()).select_from(Utilisateur).where(func.lower(Utilisateur.identifiant) == identifiant)):
        erreurs["identifiant"] = ["Identifiant : déjà utilisé par un autre compte."]
    nom, role, organisation = _valider_commun(session, saisie, erreurs)
    if erreurs:
        raise ErreurUtilisateur(erreurs)
    mot_de_passe = generer_mot_de_passe()
    u = Utilisateur(identifiant=identifiant, nom_affiche=nom, role=role, organisation=organisation,
                    mot_de_passe_hash=generate_password_hash(mot_de_passe), actif=True)
    session.add(u)
    session.flush()
    journaliser(session, acteur=acteur, action="utilisateur.creer", objet_type="utilisateur", objet_id=u.id, apres=_resume(u),
                details={"mot_de_passe": "temporaire généré"})
    return u, mot_de_passe


def _utilisateur(session: Session, utilisateur_id: int) -> Utilisateur:
    u = session.get(Utilisateur, utilisateur_id)
    if u is None:
        raise ErreurUtilisateur({"utilisateur": ["Utilisateur : compte introuvable."]})
    return u


def modifier_utilisateur(session: Session, utilisateur_id: int, saisie: Saisie, *, acteur: str, acteur_id: int | None = None) -> Utilisateur:
    """Change the display name, the role and the organisation of a user."""
    u = _utilisateur(session, utilisateur_id)
    erreurs: dict[str, list[str]] = {}
    nom, role, organisation = _valider_commun(session, saisie, erreurs)
    if role is not None and Role(u.role) == Role.ADMINISTRATEUR and role != Role.ADMINISTRATEUR:
        if u.id == acteur_id:
            erreurs.setdefault("role", []).append("Rôle : vous ne pouvez pas retirer votre propre rôle d'administrateur.")
        elif u.actif and _administrateurs_actifs(session) <= 1:
            erreurs.setdefault("role", []).append("Rôle : c'est le dernier administrateur actif de l'instance.")
    if erreurs:
        raise ErreurUtilisateur(erreurs)
    avant = _resume(u)
    nom_change = u.nom_affiche != nom
    u.nom_affiche, u.role, u.organisation = nom, role, organisation
    session.flush()
    apres = _resume(u)
    if avant == apres and not nom_change:
        return u
    journaliser(session, acteur=acteur, action="utilisateur.modifier", objet_type="utilisateur", objet_id=u.id,
                avant=avant, apres=apres, details={"nom_affiche_modifie": nom_change})
    return u


def changer_activite(session: Session, utilisateur_id: int, actif: bool, *, acteur: str, acteur_id: int | None = None) -> Utilisateur:
    """Deactivate (the user can no longer log in, current sessions end) or reactivate a user."""
    u = _utilisateur(session, utilisateur_id)
    if bool(u.actif) == actif:
        return u
    if not actif:
        if u.id == acteur_id:
            raise ErreurUtilisateur({"utilisateur": ["Utilisateur : vous ne pouvez pas désactiver votre propre compte."]})
        if Role(u.role) == Role.ADMINISTRATEUR and _administrateurs_actifs(session) <= 1:
            raise ErreurUtilisateur({"utilisateur": ["Utilisateur : c'est le dernier administrateur actif de l'instance."]})
    avant = _resume(u)
    u.actif = actif
    session.flush()
    journaliser(session, acteur=acteur, action="utilisateur.reactiver" if actif else "utilisateur.desactiver",
                objet_type="utilisateur", objet_id=u.id, avant=avant, apres=_resume(u))
    return u


def reinitialiser_mot_de_passe(session: Session, utilisateur_id: int, *, acteur: str) -> tuple[Utilisateur, str]:
    """Replace the password by a generated temporary one; returns (user, password in clear)."""
    u = _utilisateur(session, utilisateur_id)
    mot_de_passe = generer_mot_de_passe()
    u.mot_de_passe_hash = generate_password_hash(mot_de_passe)
    session.flush()
    journaliser(session, acteur=acteur, action="utilisateur.reinitialiser_mot_de_passe", objet_type="utilisateur",
                objet_id=u.id, details={"identifiant": u.identifiant, "mot_de_passe": "temporaire généré"})
    return u, mot_de_passe
