"""GET /api/v1/regles: the rulebook in force at a date, read as the engine reads it.

The content is webapp.regles.consultation.en_vigueur (the rules browser and the public notice use
it too): rules by domain with id, title, legal reference, validity, condition and effect in plain
French; dated parameters with their reference and « à vérifier » flag; cotation grids with their
criteria; the ranking criteria; the rulebook version. Every role reads it.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from flask_smorest import Blueprint

from engine.parametres import ParametreIntrouvable
from engine.yaml_strict import ErreurRegles

from ..horloge import aujourd_hui
from ..regles import consultation
from .erreurs import invalide, refuser
from .jetons import acces
from .outils import repondre
from .schemas import ObjetSchema, ReglesRequeteSchema

blp = Blueprint("api_regles", __name__, url_prefix="/api/v1/regles",
                description="Le référentiel de règles en vigueur à une date (règles, paramètres, grilles, classement).")


def _reference(ref: Any) -> Any:
    if ref is None or isinstance(ref, dict):
        return ref
    if hasattr(ref, "en_json"):
        return ref.en_json()
    if dataclasses.is_dataclass(ref):
        return dataclasses.asdict(ref)
    return ref


def _validite(debut, fin) -> dict[str, Any]:
    return {"debut": debut, "fin": fin}


def en_vigueur_json(date) -> dict[str, Any]:
    vue = consultation.en_vigueur(date)
    return {
        "date": vue["date"],
        "version": vue["version"],
        "domaines": [
            {"code": d.code, "titre": d.titre, "description": d.description, "regles": [
                {"id": r.id, "titre": r.titre, "reference": _reference(r.reference), "validite": _validite(r.debut, r.fin),
                 "condition": r.condition, "effet": r.effet, "interpretation": r.interpretation,
                 "non_confirme": r.non_confirme, "note": r.note}
                for r in d.regles]}
            for d in vue["domaines"]
        ],
        "parametres": [
            {"code": g.code, "titre": g.titre, "parametres": [
                {"chemin": p.chemin, "description": p.description,
                 "valeur": list(p.valeur) if isinstance(p.valeur, tuple) else p.valeur,
                 "unite": p.unite, "type": p.type, "validite": _validite(p.debut, p.fin),
                 "reference": _reference(p.reference), "a_verifier": p.a_verifier, "note": p.note,
                 "politique_locale": p.politique_locale, "source": p.source}
                for p in g.parametres],
             "quartiles": g.quartiles, "reference_quartiles": _reference(g.reference_quartiles)}
            for g in vue["parametres"]
        ],
        "grilles": [
            {"id": gv.grille.id, "titre": gv.grille.titre, "epci": gv.grille.epci, "epci_nom": gv.grille.epci_nom,
             "statut": gv.grille.statut, "avertissement": gv.grille.avertissement,
             "reference": _reference(gv.grille.reference), "validite": _validite(gv.grille.debut, gv.grille.fin),
             "anciennete": {"points_par_mois": gv.grille.points_par_mois, "plafond": gv.grille.plafond_anciennete},
             "refus": {"points_par_refus": gv.grille.points_par_refus, "compter": gv.grille.refus_compter},
             "score_minimal": gv.grille.score_minimal,
             "rubriques": [
                 {"code": r["code"], "titre": r["titre"], "criteres": [
                     {"id": c["id"], "titre": c["titre"], "points": c["points"],
                      "validation_requise": c["validation_requise"], "condition": c["condition"],
                      "interpretation": c["interpretation"]}
                     for c in r["criteres"]]}
                 for r in gv.rubriques]}
            for gv in vue["grilles"]
        ],
        "classement": vue["classement"],
    }


@blp.route("", methods=["GET"])
@acces(blp)
@blp.arguments(ReglesRequeteSchema, location="query", as_kwargs=True)
@blp.response(200, ObjetSchema, description="{date, version, domaines, parametres, grilles, classement}.")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
def lire(date):
    """Le référentiel en vigueur à une date (défaut : aujourd'hui)."""
    date = date or aujourd_hui()
    try:
        return repondre(en_vigueur_json(date))
    except ParametreIntrouvable as exc:
        invalide({"date": [f"Le référentiel ne couvre pas le {date.isoformat()} ({exc})."]})
    except ErreurRegles as exc:
        refuser(500, f"Le référentiel de règles est invalide ({exc}).")
