"""Explanations of the algorithm communicated to an applicant (CRPA, art. L311-3-1 and R311-3-1-2).

One row per document generated for communication: what it explains (the stored evaluation's date,
rulebook version and input fingerprint; the decision, if any), the stored input it was computed from
(`entree`: the dossier as evaluated and what the database said around it), the document's content
(`contenu`) and its SHA-256 (`empreinte`, printed in the document). A later request for the same
evaluation replays `entree` and must find the same content; when the rulebook version it was
computed with is no longer loaded, the stored content is what is reproduced (and the document says
so). The input holds personal data, sensitive facts included (it is the applicant's own file): it is
never copied into the audit log, which records the id, the version and the digest only.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IntPk
from .commission import Decision
from .demande import Demande


class ExplicationDemande(Base):
    __tablename__ = "explication_demande"
    __table_args__ = (
        # The replay looks up the first document generated for the same evaluation (and decision).
        Index("ix_explication_demande_base", "demande_id", "version_regles", "date_evaluation", "empreinte_entree"),
    )

    id: Mapped[IntPk]
    demande_id: Mapped[int] = mapped_column(ForeignKey("demande.id", ondelete="CASCADE"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.id", ondelete="SET NULL"), index=True)
    date_evaluation: Mapped[dt.date] = mapped_column(Date)
    version_regles: Mapped[str] = mapped_column(String(80))
    # SHA-256 of the normalised input of the stored evaluation (EvaluationDemande.empreinte_entree).
    empreinte_entree: Mapped[str] = mapped_column(String(64))
    entree: Mapped[dict] = mapped_column(JSON)
    contenu: Mapped[dict] = mapped_column(JSON)
    # SHA-256 of the canonical JSON of `contenu`, printed in the document.
    empreinte: Mapped[str] = mapped_column(String(64), index=True)
    genere_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    genere_par: Mapped[str] = mapped_column(String(120))

    demande: Mapped[Demande] = relationship()
    decision: Mapped[Decision | None] = relationship()
