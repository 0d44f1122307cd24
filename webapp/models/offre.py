"""The offer of an attributed logement to a household, its answer, and what follows (R441-3, R441-10).

After the séance's closure, the effective attribution (direct, under suspensive condition, or rank 1
of a classement) gives an offer to its household. A refusal or a lapsed deadline passes the offer to
the next rank of the classement; when the ranks are exhausted the logement goes back on the agenda.
An accepted offer ends with the lease (Attribution.date_signature_bail) and the radiation RADATT of
the demande (webapp/services/offres.py).
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, DateTime, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IntPk
from .commission import Decision, Seance
from .demande import Demande
from .patrimoine import Logement


class StatutOffre(enum.StrEnum):
    # Attribution sous condition suspensive: the missing document is awaited before the offer runs.
    ATTENTE_PIECE = "attente_piece"
    EN_COURS = "en_cours"
    ACCEPTEE = "acceptee"
    BAIL_SIGNE = "bail_signe"
    REFUSEE = "refusee"
    # No answer within the deadline.
    EXPIREE = "expiree"
    # The suspensive condition failed (document not produced in time) or the demande left the file.
    CADUQUE = "caduque"


STATUTS_OUVERTS = (StatutOffre.ATTENTE_PIECE, StatutOffre.EN_COURS, StatutOffre.ACCEPTEE)


class Offre(Base):
    __tablename__ = "offre"

    id: Mapped[IntPk]
    # The candidate's decision (one offer per decision); séance, logement and demande copied for the lists.
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), unique=True)
    seance_id: Mapped[int] = mapped_column(ForeignKey("seance.id"), index=True)
    logement_id: Mapped[int] = mapped_column(ForeignKey("logement.id"), index=True)
    demande_id: Mapped[int] = mapped_column(ForeignKey("demande.id"), index=True)
    rang: Mapped[int | None] = mapped_column(Integer)
    statut: Mapped[StatutOffre] = mapped_column(
        Enum(StatutOffre, name="statut_offre", native_enum=False, length=16), index=True
    )
    date_emission: Mapped[dt.date | None] = mapped_column(Date)
    date_limite_reponse: Mapped[dt.date | None] = mapped_column(Date, index=True)
    # Suspensive condition: the document awaited (code of rules/decisions/pieces_justificatives.yaml).
    piece_attendue: Mapped[str | None] = mapped_column(String(120))
    date_limite_piece: Mapped[dt.date | None] = mapped_column(Date)
    date_piece_recue: Mapped[dt.date | None] = mapped_column(Date)
    date_reponse: Mapped[dt.date | None] = mapped_column(Date)
    # Code of rules/decisions/motifs_refus_offre.yaml.
    motif_refus: Mapped[str | None] = mapped_column(String(40))
    # Free text (may describe the household): never copied into the audit.
    commentaire: Mapped[str | None] = mapped_column(Text)
    # End of the offer: refusal, lapse, failed condition, or lease.
    date_fin: Mapped[dt.date | None] = mapped_column(Date)
    # When the ranks are exhausted: the séance whose agenda the logement went back on, if one was planned.
    seance_reinscription_id: Mapped[int | None] = mapped_column(ForeignKey("seance.id"))
    cree_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    decision: Mapped[Decision] = relationship()
    seance: Mapped[Seance] = relationship(foreign_keys=[seance_id])
    seance_reinscription: Mapped[Seance | None] = relationship(foreign_keys=[seance_reinscription_id])
    logement: Mapped[Logement] = relationship()
    demande: Mapped[Demande] = relationship()
