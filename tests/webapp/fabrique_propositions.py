"""Small constructed pools for the tests of evaluations, proposals and position (no demo data).

Douai (59178, CA Douaisis Agglo) has no cotation grid: every score is 0 there, so the ranking falls
to DALO, priorities, ancienneté and the numéro unique. Lille (59350, Métropole Européenne de Lille)
has the demonstration grid: 0.25 point per month of ancienneté (capped), plus its criteria.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from webapp.models import Logement, Organisation, Residence, TypeOrganisation
from webapp.schemas import charger_dossier
from webapp.services.dossiers import enregistrer_dossier

DATE = dt.date(2026, 6, 15)
DOUAI = "59178"
LILLE = "59350"
ROUBAIX = "59512"


def nu(code: str) -> str:
    """The numéro unique of a test demande (10 to 30 digits or capitals)."""
    return "NU" + code.rjust(10, "0")


def dossier(
    code: str,
    *,
    depot: str = "2024-01-10",
    typologies: tuple[str, ...] = ("T3",),
    communes: tuple[str, ...] = (DOUAI,),
    enfants: int = 1,
    rfr: int = 15000,
    salaire: float = 1400,
    dalo: str | None = None,
    designation: str | None = None,
    situations: tuple[tuple[str, bool], ...] = (),
    pdalhpd: bool = False,
    besoin_pmr: bool = False,
    aide: float | None = None,
    statut: str = "active",
    residence_declaree: bool | None = True,
) -> dict[str, Any]:
    """A validated dossier: one adult (and `enfants` children), RFR of N-2 and N-1; numéro nu(code)."""
    numero = nu(code)
    personnes = [{
        "role": "demandeur",
        "date_naissance": "1985-03-02",
        "residence_reguliere": {"declaree": residence_declaree, "verifiee": None},
        "revenus_fiscaux": [{"annee": 2024, "montant": rfr, "avis": f"a24-{numero}"},
                            {"annee": 2025, "montant": rfr, "avis": f"a25-{numero}"}],
        "ressources": [{"sens": "recue", "code": "SAL", "montant_mensuel": salaire}],
    }]
    for i in range(enfants):
        personnes.append({"role": "personne_a_charge", "date_naissance": f"{2012 + i % 10}-05-0{1 + i % 9}", "lien_parente": "E"})
    return charger_dossier({
        "numero_unique": numero,
        "date_depot": depot,
        "statut": statut,
        "typologies_souhaitees": list(typologies),
        "communes_souhaitees": list(communes),
        "besoin_pmr": besoin_pmr,
        "dalo": {"date_decision": "2025-06-01" if dalo else None, "statut": dalo or "NON", "date_designation": designation},
        "labels": {"pdalhpd": pdalhpd, "siao": False},
        "aide_logement_declaree": aide,
        "situations": [{"code": code, "verifiee": verifiee} for code, verifiee in situations],
        "personnes": personnes,
    })


def enregistrer(session: Session, *dossiers: dict[str, Any]) -> list[int]:
    ids = [enregistrer_dossier(session, d, acteur="tests", audit=False)[0].id for d in dossiers]
    session.flush()
    return ids


def bailleur(session: Session) -> Organisation:
    org = session.scalars(select(Organisation).where(Organisation.nom == "Bailleur des tests")).one_or_none()
    if org is None:
        org = Organisation(nom="Bailleur des tests", type=TypeOrganisation.BAILLEUR)
        session.add(org)
        session.flush()
    return org


def logement(
    session: Session,
    *,
    reference: str = "A-1",
    commune: str = DOUAI,
    typologie: str = "T3",
    nb_pieces: int = 3,
    surface: str = "60",
    financement: str = "PLUS",
    plai_adapte: bool = False,
    accessible_pmr: bool = False,
    loyer: str = "420",
) -> Logement:
    residence = Residence(bailleur=bailleur(session), nom=f"Résidence {reference}", adresse="1 rue du Test", code_insee=commune)
    lgt = Logement(
        residence=residence, reference=reference, typologie=typologie, nb_pieces=nb_pieces,
        surface_habitable=Decimal(surface), etage=1, ascenseur=True, accessible_pmr=accessible_pmr,
        financement=financement, plai_adapte=plai_adapte, loyer_principal=Decimal(loyer), loyer_annexes=Decimal("0"),
        charges_recuperables=Decimal("60"), contribution_travaux=Decimal("0"), statut="vacant",
    )
    session.add(lgt)
    session.flush()
    return lgt
