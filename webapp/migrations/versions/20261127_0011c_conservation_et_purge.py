"""conservation et purge

Revision ID: 0011c
Revises: 0010j
Create Date: 2026-11-27 19:00:00

Issue 8.6: politique de conservation, purge. Date d'anonymisation des demandes et des entrées du
journal (une demande ou une entrée anonymisée n'est jamais traitée deux fois).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011c"
down_revision = "0010j"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("demande") as batch:
        batch.add_column(sa.Column("anonymise_le", sa.Date(), nullable=True))
    with op.batch_alter_table("audit_entry") as batch:
        batch.add_column(sa.Column("anonymise_le", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_entry") as batch:
        batch.drop_column("anonymise_le")
    with op.batch_alter_table("demande") as batch:
        batch.drop_column("anonymise_le")
