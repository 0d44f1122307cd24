"""Offset pagination for the lists."""
from __future__ import annotations

from dataclasses import dataclass

from flask import request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

PAR_PAGE = 50


@dataclass(frozen=True)
class Page:
    elements: list
    numero: int
    total: int
    par_page: int

    @property
    def nb_pages(self) -> int:
        return max(1, -(-self.total // self.par_page))


def paginer(session: Session, stmt: Select, par_page: int = PAR_PAGE) -> Page:
    try:
        numero = max(1, int(request.args.get("page", "1")))
    except ValueError:
        numero = 1
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    elements = list(session.scalars(stmt.limit(par_page).offset((numero - 1) * par_page)))
    return Page(elements, numero, total, par_page)
