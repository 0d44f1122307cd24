"""fusion des branches de la session 2

Revision ID: 0012
Revises: 0011o, 0011x, 0011r, 0011e, 0011c, 0011k, 0011v
Create Date: 2026-11-27 19:30:00

Joins the independent branches written side by side (offres, export SNE, examen de l'occupation,
explications, conservation, concurrence, activation du référentiel) into one head.
"""
from __future__ import annotations

revision = "0012"
down_revision = ('0011o', '0011x', '0011r', '0011e', '0011c', '0011k', '0011v')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
