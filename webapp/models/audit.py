"""Audit trail: who, when, what, before and after. One entry per bulk operation."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IntPk


class AuditEntry(Base):
    __tablename__ = "audit_entry"

    id: Mapped[IntPk]
    horodatage: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    # User identifiant, or "cli:<command>" for a command-line operation.
    acteur: Mapped[str] = mapped_column(String(120), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    objet_type: Mapped[str] = mapped_column(String(40), index=True)
    objet_id: Mapped[str | None] = mapped_column(String(60), index=True)
    # Sensitive facts are referenced (by code and id), never copied.
    avant: Mapped[dict | None] = mapped_column(JSON)
    apres: Mapped[dict | None] = mapped_column(JSON)
    details: Mapped[dict | None] = mapped_column(JSON)
    # Date the before/after/details were cleared at the term of the retention policy, if done.
    anonymise_le: Mapped[dt.date | None] = mapped_column(Date)
