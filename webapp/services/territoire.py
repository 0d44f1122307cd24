"""Loading the reference territory (communes, EPCI, QPV 2024) from fixtures/geo."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from ..audit import journaliser
from ..models import Commune, Epci, Qpv, QpvCommune

GEO = Path(__file__).resolve().parents[2] / "fixtures" / "geo"


def territoire_charge(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Commune)))


def charger_territoire(session: Session, *, acteur: str, dossier: Path = GEO) -> dict[str, int]:
    """Replace the reference territory. One bulk operation, one audit entry."""
    with open(dossier / "france_communes_epci_2026.csv", encoding="utf-8") as f:
        communes = list(csv.DictReader(f))
    with open(dossier / "hdf_qpv_2024.csv", encoding="utf-8") as f:
        qpvs = list(csv.DictReader(f))
    with open(dossier / "hdf_qpv_2024_contours.geojson", encoding="utf-8") as f:
        contours = {
            feat["properties"]["code_qp"]: json.dumps(feat["geometry"], separators=(",", ":"))
            for feat in json.load(f)["features"]
        }

    epcis: dict[str, str] = {}
    for c in communes:
        if c["epci_siren"]:
            epcis.setdefault(c["epci_siren"], c["epci_nom"])

    for table in (QpvCommune, Qpv):
        session.execute(delete(table))
    existants = set(session.scalars(select(Commune.code_insee)))
    epci_existants = set(session.scalars(select(Epci.siren)))
    nouveaux_epci = [{"siren": s, "nom": n} for s, n in sorted(epcis.items()) if s not in epci_existants]
    if nouveaux_epci:
        session.execute(insert(Epci), nouveaux_epci)
    lignes = [
        {
            "code_insee": c["code_insee"],
            "nom": c["nom"],
            "departement": c["departement"],
            "epci_siren": c["epci_siren"] or None,
            "commune_parente": c["commune_parente"] or None,
        }
        for c in communes
        if c["code_insee"] not in existants
    ]
    if lignes:
        session.execute(insert(Commune), lignes)
    session.execute(
        insert(Qpv),
        [
            {
                "code": q["code_qp"],
                "nom": q["lib_qp"],
                "epcis": [e for e in q["epci_siren"].split(";") if e],
                "contour_geojson": contours.get(q["code_qp"]),
            }
            for q in qpvs
        ],
    )
    liens = sorted(
        {(q["code_qp"], insee) for q in qpvs for insee in q["insee_communes"].split(";") if insee}
    )
    session.execute(insert(QpvCommune), [{"qpv_code": q, "code_insee": i} for q, i in liens])
    session.flush()
    resultat = {"communes": len(communes), "epci": len(epcis), "qpv": len(qpvs)}
    journaliser(
        session,
        acteur=acteur,
        action="territoire.charger",
        objet_type="territoire",
        apres=resultat,
        details={"source": "fixtures/geo"},
    )
    return resultat
