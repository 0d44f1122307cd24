"""Jinja filters: French formatting of amounts, numbers and dates."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache

from flask import Flask

ESPACE_FINE = "\u202f"


def nombre(valeur, decimales: int = 0) -> str:
    if valeur is None:
        return "—"
    texte = f"{Decimal(str(valeur)):,.{decimales}f}"
    return texte.replace(",", ESPACE_FINE).replace(".", ",")


def euros(valeur, decimales: int = 2) -> str:
    return "—" if valeur is None else f"{nombre(valeur, decimales)}{ESPACE_FINE}€"


def date_fr(valeur) -> str:
    if valeur is None:
        return "—"
    if isinstance(valeur, str):
        valeur = dt.date.fromisoformat(valeur)
    return valeur.strftime("%d/%m/%Y")


def oui_non(valeur) -> str:
    return {True: "oui", False: "non"}.get(valeur, "non renseigné")


@cache
def _libelles_regles() -> dict[str, str]:
    """Titles of the rules' effect codes and of the cotation criteria, from the rulebook."""
    from engine.cotation import RUBRIQUE_ANCIENNETE, RUBRIQUE_REFUS
    from engine.regles import reglement

    r = reglement()
    libelles: dict[str, str] = {}
    for regle in r.regles:
        libelles.setdefault(regle.id, regle.titre)
        code = (regle.effet or {}).get("code")
        if code:
            libelles.setdefault(code, regle.titre)
    for grille in r.grilles:
        for critere in grille.criteres:
            libelles.setdefault(critere.id, critere.titre)
        for code, titre in grille.rubriques.items():
            libelles.setdefault(f"rubrique:{code}", titre)
        libelles.setdefault(f"{grille.id}.anciennete", "Ancienneté de la demande")
        libelles.setdefault(f"{grille.id}.refus", "Refus d'offres adaptées (pénalité)")
    libelles.setdefault(f"rubrique:{RUBRIQUE_ANCIENNETE}", "Ancienneté")
    libelles.setdefault(f"rubrique:{RUBRIQUE_REFUS}", "Refus")
    return libelles


def libelle_regle(code) -> str:
    """The French title of a rule, an effect code or a cotation criterion (the code itself if unknown)."""
    if code is None:
        return "—"
    return _libelles_regles().get(str(code), str(code))


def libelle_rubrique(code) -> str:
    return _libelles_regles().get(f"rubrique:{code}", str(code))


def init_app(app: Flask) -> None:
    app.add_template_filter(libelle_regle)
    app.add_template_filter(libelle_rubrique)
    app.add_template_filter(nombre)
    app.add_template_filter(euros)
    app.add_template_filter(date_fr)
    app.add_template_filter(oui_non)
