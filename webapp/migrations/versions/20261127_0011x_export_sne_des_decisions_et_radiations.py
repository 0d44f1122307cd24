"""export sne des decisions et radiations

Revision ID: 0011x
Revises: 0010j
Create Date: 2026-11-27 19:00:00

Issue 8.3: exports vers le SNE et ce qui a été exporté.
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0011x"
down_revision = "0010j"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
