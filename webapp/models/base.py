"""Declarative base, naming convention and the column types used across the models."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, Numeric, String
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Euros are exact decimals with two places, never floats.
Euros = Annotated[Decimal, mapped_column(Numeric(12, 2))]
EurosNullable = Annotated[Decimal | None, mapped_column(Numeric(12, 2), nullable=True)]
IntPk = Annotated[int, mapped_column(Integer().with_variant(BigInteger(), "postgresql"), primary_key=True)]
Code = Annotated[str, mapped_column(String(32))]
CodeNullable = Annotated[str | None, mapped_column(String(32), nullable=True)]
Horodatage = Annotated[dt.datetime, mapped_column(DateTime(timezone=True))]
JsonList = Annotated[list[Any], mapped_column(JSON, default=list)]
JsonDict = Annotated[dict[str, Any], mapped_column(JSON, default=dict)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
