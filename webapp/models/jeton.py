"""API tokens: one user's key to the JSON API (/api/v1), with that user's role and organisation.

Only the SHA-256 of a token is stored: the token itself is shown once, when it is issued
(`caleol api jeton creer IDENTIFIANT`). A revoked token stays in the table (who issued it, when it was
revoked) and is refused from then on, as is the token of a deactivated user.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IntPk
from .organisation import Utilisateur


class JetonApi(Base):
    __tablename__ = "jeton_api"

    id: Mapped[IntPk]
    utilisateur_id: Mapped[int] = mapped_column(ForeignKey("utilisateur.id"), index=True)
    # SHA-256 (hex) of the token: a stolen copy of the database gives no usable token.
    empreinte: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, to recognise it in a list without storing it.
    prefixe: Mapped[str] = mapped_column(String(16))
    libelle: Mapped[str] = mapped_column(String(200))
    cree_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoque_le: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    utilisateur: Mapped[Utilisateur] = relationship()
