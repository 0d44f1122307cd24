"""activation des versions du referentiel

Revision ID: 0011v
Revises: 0010j
Create Date: 2026-11-27 19:00:00

Issue 7.6: activation d'une version du référentiel sans redémarrage.
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0011v"
down_revision = "0010j"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
