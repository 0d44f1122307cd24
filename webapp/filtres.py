"""Jinja filters: French formatting of amounts, numbers and dates."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

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


def init_app(app: Flask) -> None:
    app.add_template_filter(nombre)
    app.add_template_filter(euros)
    app.add_template_filter(date_fr)
    app.add_template_filter(oui_non)
