"""explications sur demande

Revision ID: 0011e
Revises: 0010j
Create Date: 2026-11-27 19:00:00

Issue 8.5: explication de l'algorithme sur demande (CRPA R311-3-1-2).
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0011e"
down_revision = "0010j"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
