"""The form creating a séance, shared by the attribution séances (webapp/preparation) and the review séances
(examen de l'occupation, webapp/occupation): the bailleur's commissions, the members of its last séance as
defaults, and the reading and checking of what was typed (template: templates/_seance_formulaire.html).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from flask import abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from engine.yaml_strict import charger_yaml

from .. import get_session
from ..horloge import aujourd_hui
from ..models import Commission, ModeSeance, TypeOrganisation
from ..services.preparation import Membre

LIGNES_VIDES = 3
COMPOSITION = Path(__file__).resolve().parents[2] / "rules" / "decisions" / "composition.yaml"


@cache
def qualites() -> list[str]:
    """The qualités of the members of a CALEOL (rules/decisions/composition.yaml)."""
    return [q["libelle"] for q in charger_yaml(COMPOSITION)["qualites"]]


def entier(texte: str) -> bool:
    """Digits 0-9 only: str.isdigit() also accepts « ² » or « ٣ », which int() refuses."""
    return texte.isascii() and texte.isdigit()


def commissions_du_bailleur() -> list[Commission]:
    """The commissions of the current user's bailleur (403 for any other organisation)."""
    if current_user.organisation_type != TypeOrganisation.BAILLEUR:
        abort(403)
    return list(get_session().scalars(
        select(Commission).where(Commission.bailleur_id == current_user.organisation_id).order_by(Commission.nom)))


def membres_precedents(commission: Commission | None) -> list[dict]:
    """The members of the commission's last séance, all present: the default rows of a new séance."""
    if commission is None or not commission.seances:
        return []
    derniere = max(commission.seances, key=lambda s: (s.date_seance, s.id))
    return [{"nom": m.nom, "qualite": m.qualite, "voix_deliberative": m.voix_deliberative, "present": True}
            for m in sorted(derniere.membres, key=lambda m: m.id)]


def lire_membres(form) -> tuple[list[Membre], dict[str, list[str]]]:
    """The member rows typed (a row without a name is ignored) and the errors, by field."""
    membres, erreurs = [], {}
    nb_lignes = int(form.get("nb_lignes", "0")) if entier((form.get("nb_lignes") or "")) else 0
    for i in range(min(nb_lignes, 60)):
        nom = (form.get(f"membre-{i}-nom") or "").strip()
        if not nom:
            continue
        qualite = form.get(f"membre-{i}-qualite") or ""
        if qualite not in qualites():
            erreurs[f"membre-{i}-qualite"] = ["Choisissez la qualité du membre."]
            continue
        if len(nom) > 200:
            erreurs[f"membre-{i}-nom"] = ["200 caractères au plus."]
            continue
        membres.append(Membre(nom=nom, qualite=qualite,
                              voix_deliberative=form.get(f"membre-{i}-deliberative") == "on",
                              present=form.get(f"membre-{i}-present") == "on"))
    return membres, erreurs


@dataclass
class SaisieSeance:
    """What the form shows or received: its values, the members read, the date, the errors by field."""

    commissions: list[Commission]
    valeurs: dict[str, str]
    lignes_membres: list[dict]
    membres: list[Membre] = field(default_factory=list)
    date_seance: dt.date | None = None
    erreurs: dict[str, list[str]] = field(default_factory=dict)

    def arguments_creation(self) -> dict:
        """The arguments of services.preparation.creer_seance for a checked form (no errors), by the current user."""
        return {"commission_id": int(self.valeurs["commission"]), "bailleur_id": current_user.organisation_id,
                "date_seance": self.date_seance, "mode": ModeSeance(self.valeurs["mode"]),
                "quorum": int(self.valeurs["quorum"]), "membres": self.membres, "acteur": current_user.identifiant}

    @property
    def a_creer(self) -> bool:
        """Posted and checked without error: the séance may be created."""
        return request.method == "POST" and not self.erreurs

    def page(self, template: str):
        """The form's page (422 when it has errors)."""
        lignes = self.lignes_membres + [{"nom": "", "qualite": "", "voix_deliberative": True, "present": True}] * LIGNES_VIDES
        return render_template(template, commissions=self.commissions, valeurs=self.valeurs, lignes=lignes,
                               qualites=qualites(), erreurs=self.erreurs,
                               modes=list(ModeSeance)), (422 if self.erreurs else 200)


def saisie_seance() -> SaisieSeance:
    """The form of the current request: its defaults (GET), or what was posted, read and checked; nothing is
    written. Only for a bailleur's user (403 otherwise)."""
    commissions = commissions_du_bailleur()
    valeurs = {"commission": str(commissions[0].id) if commissions else "", "date_seance": "", "mode": "physique",
               "quorum": "3"}
    if request.method != "POST":
        return SaisieSeance(commissions, valeurs, membres_precedents(commissions[0] if commissions else None))
    form = request.form
    valeurs = {k: (form.get(k) or "").strip() for k in valeurs}
    membres, erreurs = lire_membres(form)
    saisie = SaisieSeance(commissions, valeurs, [m.__dict__ for m in membres], membres, erreurs=erreurs)
    try:
        saisie.date_seance = dt.date.fromisoformat(valeurs["date_seance"])
        if saisie.date_seance < aujourd_hui():
            erreurs["date_seance"] = ["La date de la séance ne peut pas être passée."]
    except ValueError:
        erreurs["date_seance"] = ["Date invalide (format AAAA-MM-JJ attendu)."]
    if valeurs["mode"] not in {m.value for m in ModeSeance}:
        erreurs["mode"] = ["Mode inconnu."]
    if not entier(valeurs["quorum"]):
        erreurs["quorum"] = ["Nombre entier attendu."]
    if not entier(valeurs["commission"]):
        erreurs["commission"] = ["Choisissez une commission."]
    return saisie
