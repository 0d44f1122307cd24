"""The agenda of a séance: the vacant dwellings examined, with the proposal computed for each."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IntPk
from .patrimoine import Logement


class PointOrdreDuJour(Base):
    """One dwelling on a séance's agenda and the proposal as computed when it was put there.

    The proposal is kept as computed (rulebook version, date, ranked candidates, excluded demandes)
    so that the commission sees, and the minutes record, what was proposed.
    """

    __tablename__ = "point_ordre_du_jour"
    __table_args__ = (UniqueConstraint("seance_id", "logement_id"),)

    id: Mapped[IntPk]
    seance_id: Mapped[int] = mapped_column(ForeignKey("seance.id", ondelete="CASCADE"), index=True)
    logement_id: Mapped[int] = mapped_column(ForeignKey("logement.id"), index=True)
    ordre: Mapped[int] = mapped_column(Integer)
    proposition: Mapped[dict] = mapped_column(JSON)
    version_regles: Mapped[str] = mapped_column(String(80))
    calcule_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    inscrit_par_id: Mapped[int | None] = mapped_column(ForeignKey("utilisateur.id"))

    logement: Mapped[Logement] = relationship()
