"""Cache of housing-aid estimates (OpenFisca), keyed by household, resources, rent, commune and month."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class EstimationApl(Base):
    __tablename__ = "estimation_apl"

    cle: Mapped[str] = mapped_column(String(64), primary_key=True)
    mois: Mapped[str] = mapped_column(String(7))
    montant: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    calcule_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
