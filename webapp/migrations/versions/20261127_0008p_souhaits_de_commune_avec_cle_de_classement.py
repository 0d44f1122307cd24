"""souhaits de commune avec la clé de classement

Revision ID: 0008p
Revises: 0007
Create Date: 2026-11-27 19:00:00

Each wished commune carries the demande's ranking key in that commune's EPCI (DALO designated, DALO,
priority, score, filing date, numéro unique), with an index in the published order: the pre-selection
of a dwelling's candidates walks that index for the dwelling's commune and stops after the first
matches instead of sorting every demande that wished the commune (bench/propose.py).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008p"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("souhait_commune", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dalo_designe", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("dalo", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("prioritaire", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("date_depot", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("numero_unique", sa.String(length=30), nullable=True))
    op.create_index(
        "ix_souhait_commune_classement",
        "souhait_commune",
        ["code_insee", sa.text("dalo_designe DESC"), sa.text("dalo DESC"), sa.text("prioritaire DESC"),
         sa.text("score DESC"), "date_depot", "numero_unique"],
    )
    op.create_index("ix_souhait_commune_epci_score", "souhait_commune",
                    ["epci", sa.text("score DESC"), "date_depot", "numero_unique"])


def downgrade() -> None:
    op.drop_index("ix_souhait_commune_epci_score", table_name="souhait_commune")
    op.drop_index("ix_souhait_commune_classement", table_name="souhait_commune")
    with op.batch_alter_table("souhait_commune", schema=None) as batch_op:
        batch_op.drop_column("numero_unique")
        batch_op.drop_column("date_depot")
        batch_op.drop_column("prioritaire")
        batch_op.drop_column("dalo")
        batch_op.drop_column("dalo_designe")
