"""examen de l occupation

Revision ID: 0011r
Revises: 0010j
Create Date: 2026-11-27 19:00:00

Issue 8.4: locataires en place, examens L442-5-2, séances d'examen.
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0011r"
down_revision = "0010j"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
