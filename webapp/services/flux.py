"""Gestion en flux (décret 2020-145, R441-5 CCH): orientation of each vacated dwelling, designations,
returns to the bailleur and counters per réservataire. The algorithm is described in rules/flux/README.md.

Services take a Session, flush and never commit; the CLI commits once.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import OrientationFlux, StatutOrientation

# An orientation is current until the dwelling is attributed (statut CLOSE).
STATUTS_EN_COURS = (
    StatutOrientation.EN_ATTENTE,
    StatutOrientation.DESIGNEE,
    StatutOrientation.RESTITUEE,
    StatutOrientation.HORS_FLUX,
)


def orientation_en_cours(session: Session, logement_id: int) -> OrientationFlux | None:
    """The orientation of the dwelling's current vacancy (the latest one not closed), or None."""
    return session.scalars(
        select(OrientationFlux)
        .where(OrientationFlux.logement_id == logement_id, OrientationFlux.statut.in_(STATUTS_EN_COURS))
        .order_by(OrientationFlux.date_orientation.desc(), OrientationFlux.id.desc())
        .limit(1)
    ).first()
