"""Annual bilan of the dwellings proposed and attributed per réservataire (R441-5-1 CCH).

Before 28 February the bailleur sends each réservataire the bilan of the previous year: dwellings
proposed and attributed, by réservataire, typology, financing, in or out of QPV, commune and
construction period (DOMAIN.md §5). Here:

- proposed in the year: each dwelling oriented in the year (rules/flux/README.md), to its réservataire
  (the bailleur for its own share and for the dwellings kept out of the flux, with the motif); an
  attribution of the year recorded without an orientation counts as proposed to its réservataire;
- attributed in the year: each attribution decided in the year, to the réservataire it carries, with
  the number followed by a signed lease.

Outputs: CSV (semicolon, UTF-8 with BOM, French headers, one row per combination) and a standalone
HTML page (templates/bilan/annuel.html).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.version import version_regles
from engine.yaml_strict import ErreurRegles, charger_yaml

from ..horloge import aujourd_hui
from ..models import (
    Attribution,
    Commune,
    Logement,
    Organisation,
    OrientationFlux,
    Reservataire,
    Residence,
    TypeOrganisation,
    TypeReservataire,
)
from .flux import charger_regles_flux, couvertures, dossier_flux

GABARITS = Path(__file__).resolve().parent.parent / "templates"

LIBELLES_TYPES = {
    TypeReservataire.ETAT_PRIORITAIRES.value: "État — publics prioritaires",
    TypeReservataire.ETAT_FONCTIONNAIRES.value: "État — agents de l'État",
    TypeReservataire.ACTION_LOGEMENT.value: "Action Logement",
    TypeReservataire.COLLECTIVITE.value: "Collectivité territoriale",
    TypeReservataire.AUTRE.value: "Autre réservataire",
    TypeReservataire.BAILLEUR.value: "Bailleur (hors contingent)",
}
ORDRE_TYPES = list(LIBELLES_TYPES)
EN_QPV, HORS_QPV = "En QPV", "Hors QPV"

ENTETES_CSV = [
    "Année", "Bailleur", "Réservataire", "Type de réservataire", "Code INSEE", "Commune", "Typologie", "Financement",
    "Localisation", "Période de construction", "Hors flux", "Logements proposés", "Logements attribués",
    "dont baux signés",
]
DIMENSIONS = (
    ("typologie", "Typologie"),
    ("financement", "Financement"),
    ("qpv", "Localisation (QPV)"),
    ("commune", "Commune"),
    ("periode", "Période de construction"),
)


class ErreurBilan(ValueError):
    def __init__(self, message: str, champ: str = "_general") -> None:
        self.erreurs = {champ: [message]}
        super().__init__(message)


@dataclass(frozen=True)
class Periode:
    code: str
    libelle: str
    debut: int | None
    fin: int | None


def periodes_construction(chemin: Path | None = None) -> tuple[tuple[Periode, ...], str]:
    """The construction periods of rules/flux/bilan.yaml of the active version, or of `chemin` (contiguous,
    without overlap), and the unknown label."""
    return _periodes_construction(chemin or dossier_flux() / "bilan.yaml")


@lru_cache(maxsize=4)
def _periodes_construction(chemin: Path) -> tuple[tuple[Periode, ...], str]:
    fichier = "rules/flux/bilan.yaml"
    contenu = charger_yaml(chemin)
    if not isinstance(contenu, dict) or set(contenu) != {"periodes_construction", "libelle_inconnue"}:
        raise ErreurRegles(fichier, "clés attendues : periodes_construction, libelle_inconnue")
    periodes = []
    for i, p in enumerate(contenu["periodes_construction"]):
        if not isinstance(p, dict) or set(p) != {"code", "libelle", "debut", "fin"}:
            raise ErreurRegles(fichier, "une période porte code, libelle, debut, fin", champ=f"periodes_construction[{i}]")
        periodes.append(Periode(p["code"], p["libelle"], p["debut"], p["fin"]))
    for a, b in zip(periodes, periodes[1:], strict=False):
        if a.fin is None or b.debut != a.fin + 1:
            raise ErreurRegles(fichier, f"périodes non contiguës entre {a.code} et {b.code}", champ="periodes_construction")
    return tuple(periodes), contenu["libelle_inconnue"]


def periode(annee: int | None) -> str:
    periodes, inconnue = periodes_construction()
    if annee is not None:
        for p in periodes:
            if (p.debut is None or annee >= p.debut) and (p.fin is None or annee <= p.fin):
                return p.libelle
    return inconnue


def _logements(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    resultat: dict[int, dict[str, Any]] = {}
    for i in range(0, len(ids), 900):
        for lid, typologie, financement, qpv, insee, nom, annee, bailleur_id in session.execute(
            select(Logement.id, Logement.typologie, Logement.financement, Residence.qpv_code, Commune.code_insee,
                   Commune.nom, Residence.annee_construction, Residence.bailleur_id)
            .join(Residence, Residence.id == Logement.residence_id)
            .join(Commune, Commune.code_insee == Residence.code_insee)
            .where(Logement.id.in_(ids[i:i + 900]))
        ):
            resultat[lid] = {
                "typologie": str(getattr(typologie, "value", typologie)),
                "financement": str(getattr(financement, "value", financement)),
                "qpv": EN_QPV if qpv else HORS_QPV,
                "code_insee": insee,
                "commune": nom,
                "periode": periode(annee),
                "bailleur_id": bailleur_id,
            }
    return resultat


def bilan_annuel(session: Session, annee: int, *, bailleur_id: int | None = None) -> dict[str, Any]:
    """The bilan of the year for every bailleur (or one): rows per combination, groupings and totals."""
    debut, fin = dt.date(annee, 1, 1), dt.date(annee, 12, 31)
    requete = select(Organisation).where(Organisation.type == TypeOrganisation.BAILLEUR).order_by(Organisation.id)
    if bailleur_id is not None:
        requete = requete.where(Organisation.id == bailleur_id)
    bailleurs = {b.id: b for b in session.scalars(requete)}
    if bailleur_id is not None and not bailleurs:
        raise ErreurBilan(f"Bailleur {bailleur_id} introuvable.", "bailleur")
    motifs = charger_regles_flux().motifs
    reservataires = {r.id: r for r in session.scalars(select(Reservataire).order_by(Reservataire.id))}
    # The bailleur's own share carries the name of its own réservataire row when it has one.
    noms_propres = {b: f"{o.nom} (hors contingent)" for b, o in bailleurs.items()}
    for r in reversed(list(reservataires.values())):
        if r.type == TypeReservataire.BAILLEUR and r.organisation_id in noms_propres:
            noms_propres[r.organisation_id] = r.nom

    orientations = session.execute(
        select(OrientationFlux.id, OrientationFlux.logement_id, OrientationFlux.date_orientation,
               OrientationFlux.reservataire_id, OrientationFlux.motif_exclusion, OrientationFlux.bailleur_id)
        .where(OrientationFlux.bailleur_id.in_(list(bailleurs)), OrientationFlux.date_orientation <= fin)
    ).all()
    attributions = session.execute(
        select(Attribution.id, Attribution.logement_id, Attribution.date_decision, Attribution.date_signature_bail,
               Attribution.reservataire_id)
        .join(Logement, Logement.id == Attribution.logement_id)
        .join(Residence, Residence.id == Logement.residence_id)
        .where(Residence.bailleur_id.in_(list(bailleurs)), Attribution.date_decision.between(debut, fin))
    ).all()
    couverture = couvertures([(o.id, o.logement_id, o.date_orientation) for o in orientations],
                             [(a.id, a.logement_id, a.date_decision) for a in attributions])
    logements = _logements(session, sorted({o.logement_id for o in orientations} | {a.logement_id for a in attributions}))

    def cle_reservataire(reservataire_id: int | None, bailleur: int) -> tuple[str, str, str]:
        """(key, name, type) of the line: the réservataire, or the bailleur itself."""
        r = reservataires.get(reservataire_id) if reservataire_id is not None else None
        if r is None or r.type == TypeReservataire.BAILLEUR:
            return f"bailleur:{bailleur}", noms_propres[bailleur], TypeReservataire.BAILLEUR.value
        return f"r{r.id}", r.nom, TypeReservataire(r.type).value

    comptes: dict[tuple, dict[str, int]] = defaultdict(lambda: {"proposes": 0, "attribues": 0, "baux_signes": 0})

    def noter(reservataire_id: int | None, logement_id: int, hors_flux: str, champ: str) -> None:
        lg = logements[logement_id]
        cle, nom, type_ = cle_reservataire(reservataire_id, lg["bailleur_id"])
        comptes[(lg["bailleur_id"], cle, nom, type_, lg["code_insee"], lg["commune"], lg["typologie"], lg["financement"],
                 lg["qpv"], lg["periode"], hors_flux)][champ] += 1

    for o in orientations:
        if debut <= o.date_orientation <= fin:
            noter(o.reservataire_id, o.logement_id, motifs.get(o.motif_exclusion, o.motif_exclusion or ""), "proposes")
    motif_orientation = {o.id: o.motif_exclusion for o in orientations}
    for a in attributions:
        hors_flux = ""
        oid = couverture.get(a.id)
        if oid is None:
            noter(a.reservataire_id, a.logement_id, "", "proposes")
        else:
            motif = motif_orientation[oid]
            hors_flux = motifs.get(motif, motif or "")
        noter(a.reservataire_id, a.logement_id, hors_flux, "attribues")
        if a.date_signature_bail is not None:
            noter(a.reservataire_id, a.logement_id, hors_flux, "baux_signes")

    ordre_periodes = {p.libelle: i for i, p in enumerate(periodes_construction()[0])}
    lignes = []
    for (b, cle, nom, type_, insee, commune, typologie, financement, qpv, per, hors), n in comptes.items():
        lignes.append({
            "bailleur_id": b, "bailleur": bailleurs[b].nom, "reservataire_cle": cle, "reservataire": nom, "type": type_,
            "type_libelle": LIBELLES_TYPES[type_], "code_insee": insee, "commune": commune, "typologie": typologie,
            "financement": financement, "qpv": qpv, "periode": per, "hors_flux": hors, **n,
        })
    lignes.sort(key=lambda x: (x["bailleur_id"], ORDRE_TYPES.index(x["type"]), x["reservataire"], x["commune"],
                               x["code_insee"], x["typologie"], x["financement"], x["qpv"],
                               ordre_periodes.get(x["periode"], 99), x["hors_flux"]))

    par_bailleur = []
    for b in bailleurs.values():
        siennes = [x for x in lignes if x["bailleur_id"] == b.id]
        groupes: dict[str, dict[str, Any]] = {}
        for x in siennes:
            g = groupes.setdefault(x["reservataire_cle"], {
                "nom": x["reservataire"], "type": x["type"], "type_libelle": x["type_libelle"],
                "proposes": 0, "attribues": 0, "baux_signes": 0, "par": {d: {} for d, _ in DIMENSIONS},
            })
            for champ in ("proposes", "attribues", "baux_signes"):
                g[champ] += x[champ]
            for dimension, _libelle in DIMENSIONS:
                valeur = f"{x['commune']} ({x['code_insee']})" if dimension == "commune" else x[dimension]
                case = g["par"][dimension].setdefault(valeur, {"proposes": 0, "attribues": 0, "baux_signes": 0})
                for champ in ("proposes", "attribues", "baux_signes"):
                    case[champ] += x[champ]
        for g in groupes.values():
            for dimension, _libelle in DIMENSIONS:
                cles = sorted(g["par"][dimension], key=lambda v: (ordre_periodes.get(v, 99), v) if dimension == "periode" else v)
                g["par"][dimension] = [{"valeur": v, **g["par"][dimension][v]} for v in cles]
        par_bailleur.append({
            "id": b.id, "nom": b.nom, "reservataires": list(groupes.values()),
            "totaux": {c: sum(x[c] for x in siennes) for c in ("proposes", "attribues", "baux_signes")},
        })
    return {
        "annee": annee,
        "date_edition": aujourd_hui().isoformat(),
        "version_regles": version_regles(),
        "bailleurs": par_bailleur,
        "lignes": lignes,
        "dimensions": [{"code": d, "libelle": lib} for d, lib in DIMENSIONS],
        "totaux": {c: sum(x[c] for x in lignes) for c in ("proposes", "attribues", "baux_signes")},
    }


def en_csv(bilan: dict[str, Any]) -> bytes:
    """Semicolon-separated, UTF-8 with BOM (spreadsheets), French headers, one row per combination."""
    tampon = io.StringIO()
    ecrivain = csv.writer(tampon, delimiter=";", lineterminator="\r\n")
    ecrivain.writerow(ENTETES_CSV)
    for x in bilan["lignes"]:
        ecrivain.writerow([
            bilan["annee"], x["bailleur"], x["reservataire"], x["type_libelle"], x["code_insee"], x["commune"],
            x["typologie"], x["financement"], x["qpv"], x["periode"], x["hors_flux"], x["proposes"], x["attribues"],
            x["baux_signes"],
        ])
    return tampon.getvalue().encode("utf-8-sig")


@lru_cache(maxsize=1)
def _environnement() -> Environment:
    return Environment(loader=FileSystemLoader(str(GABARITS)), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


def _entier(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def en_html(bilan: dict[str, Any]) -> bytes:
    """A standalone French HTML page (no external asset), accessible tables with captions and scopes."""
    env = _environnement()
    env.filters["entier"] = _entier
    date = dt.date.fromisoformat(bilan["date_edition"])
    return env.get_template("bilan/annuel.html").render(bilan=bilan, date_edition=date.strftime("%d/%m/%Y")).encode("utf-8")
