"""Housing-aid (APL/AL) estimate through OpenFisca-France, run as its own web API.

OpenFisca runs in a separate virtual environment and process (`make openfisca`): its pins must not
enter Caléol's environment. We send one request per batch of shortlisted households, cache each
answer by (household, resources, rent, commune, month), and fall back to the amount the household
declared, else none. The evaluation says which source was used.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..horloge import maintenant
from ..models import EstimationApl

journal = logging.getLogger(__name__)

# SNE resource codes → OpenFisca-France monthly input variables. Other codes (family benefits,
# RSA, AAH…) are not resources for the housing aid or are computed by OpenFisca itself.
VARIABLES_RESSOURCES = {
    "SAL": "salaire_imposable",
    "CHO": "chomage_imposable",
    "RET": "retraite_imposable",
    "PINV": "pensions_invalidite",
    "PAR": "pensions_alimentaires_percues",
}
PARENTS = {"demandeur", "cotitulaire"}
ENFANTS = {"personne_a_charge", "enfant_garde_alternee"}


@dataclass(frozen=True)
class Apl:
    montant: Decimal | None
    source: str  # "openfisca", "declaree" or "aucune"


class ErreurOpenFisca(RuntimeError):
    pass


def _mois(date: dt.date, decalage: int) -> str:
    annee, mois = divmod(date.year * 12 + date.month - 1 + decalage, 12)
    return f"{annee:04d}-{mois + 1:02d}"


def situation(dossier: dict[str, Any], logement: dict[str, Any], date: dt.date, cle: str) -> dict[str, Any]:
    """The OpenFisca situation of one household in one dwelling for the month of `date`."""
    mois = _mois(date, 0)
    douze_mois = [_mois(date, -i) for i in range(12, 0, -1)]
    individus: dict[str, Any] = {}
    parents: list[str] = []
    enfants: list[str] = []
    for i, p in enumerate(dossier["personnes"]):
        role = str(p["role"])
        if role not in PARENTS | ENFANTS or not p.get("date_naissance"):
            continue
        if role == "cotitulaire" and str(p.get("lien_cotitulaire")) == "colocataire":
            continue
        nom = f"{cle}_p{i}"
        individu: dict[str, Any] = {"date_naissance": {"ETERNITY": p["date_naissance"].isoformat()}}
        for r in p.get("ressources", []):
            variable = VARIABLES_RESSOURCES.get(r["code"])
            if variable and str(r["sens"]) == "recue":
                montant = float(r["montant_mensuel"])
                serie = individu.setdefault(variable, {m: 0.0 for m in douze_mois})
                for m in douze_mois:
                    serie[m] += montant
        individus[nom] = individu
        (parents if role in PARENTS else enfants).append(nom)
    return {
        "individus": individus,
        "familles": {f"{cle}_f": {"parents": parents, "enfants": enfants, "aide_logement_montant": {mois: None}}},
        "foyers_fiscaux": {f"{cle}_ff": {"declarants": parents, "personnes_a_charge": enfants}},
        "menages": {
            f"{cle}_m": {
                "personne_de_reference": parents[:1],
                "conjoint": parents[1:2],
                "enfants": enfants,
                "loyer": {mois: float(logement["loyer_principal"])},
                "statut_occupation_logement": {mois: "locataire_hlm"},
                "depcom": {mois: logement["commune_insee"]},
            }
        },
    }


def cle_cache(sit: dict[str, Any]) -> str:
    # Names of entities are positional: hash the situation with neutral names.
    texte = json.dumps(sit, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(texte.encode("utf-8")).hexdigest()


def _prefixe(cle: str) -> str:
    return f"h{cle[:16]}"


class EstimateurApl:
    def __init__(self, url: str | None, *, delai: float = 30.0) -> None:
        self.url = url.rstrip("/") if url else None
        self.delai = delai

    def _appeler(self, situations: dict[str, dict[str, Any]]) -> dict[str, Decimal]:
        corps: dict[str, dict[str, Any]] = {"individus": {}, "familles": {}, "foyers_fiscaux": {}, "menages": {}}
        for sit in situations.values():
            for entite, contenu in sit.items():
                corps[entite].update(contenu)
        requete = urllib.request.Request(
            f"{self.url}/calculate",
            data=json.dumps(corps).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(requete, timeout=self.delai) as reponse:  # noqa: S310 - configured URL
                resultat = json.load(reponse)
        except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
            raise ErreurOpenFisca(f"OpenFisca ne répond pas ({exc.__class__.__name__})") from exc
        montants: dict[str, Decimal] = {}
        for cle in situations:
            famille = resultat["familles"][f"{_prefixe(cle)}_f"]["aide_logement_montant"]
            (valeur,) = famille.values()
            montants[cle] = Decimal(str(valeur)).quantize(Decimal("0.01"))
        return montants

    def estimer(
        self,
        session: Session,
        demandes: list[tuple[dict[str, Any], dict[str, Any]]],
        date: dt.date,
    ) -> list[Apl]:
        """Estimate the aid of each (dossier, logement) pair; one OpenFisca request for what is not cached."""
        cles: list[str] = []
        situations: dict[str, dict[str, Any]] = {}
        for dossier, logement in demandes:
            neutre = situation(dossier, logement, date, "x")
            cle = cle_cache(neutre)
            cles.append(cle)
            situations.setdefault(cle, situation(dossier, logement, date, _prefixe(cle)))
        connus = {
            e.cle: e.montant
            for e in session.scalars(select(EstimationApl).where(EstimationApl.cle.in_(list(situations))))
        }
        manquants = {c: s for c, s in situations.items() if c not in connus}
        if manquants and self.url:
            try:
                nouveaux = self._appeler(manquants)
            except ErreurOpenFisca as exc:
                journal.warning("estimation APL indisponible : %s", exc)
                nouveaux = {}
            for cle, montant in nouveaux.items():
                session.add(EstimationApl(cle=cle, mois=_mois(date, 0), montant=montant, calcule_le=maintenant()))
                connus[cle] = montant
            session.flush()
        resultats = []
        for (dossier, _logement), cle in zip(demandes, cles, strict=True):
            if cle in connus:
                resultats.append(Apl(connus[cle], "openfisca"))
            elif dossier.get("aide_logement_declaree") is not None:
                resultats.append(Apl(dossier["aide_logement_declaree"], "declaree"))
            else:
                resultats.append(Apl(None, "aucune"))
        return resultats
