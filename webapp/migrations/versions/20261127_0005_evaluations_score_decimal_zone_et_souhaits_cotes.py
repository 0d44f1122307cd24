"""evaluations : score décimal, zone, prioritaire labellisé ; souhaits de commune cotés par EPCI

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 18:00:00

The cotation grids give fractional points (ancienneté per month): the score becomes an exact decimal.
The zone of the eligibility flags lets the pre-selection trust them only in the same zone. Each
wished commune carries its EPCI and the demande's score in that EPCI's grid, so that a dwelling's
candidates are ordered by the score of the dwelling's territory.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evaluation_demande", schema=None) as batch_op:
        batch_op.alter_column(
            "score", existing_type=sa.Integer(), type_=sa.Numeric(precision=10, scale=2), existing_nullable=False
        )
        batch_op.add_column(sa.Column("zone", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("prioritaire_labellise", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(batch_op.f("ix_evaluation_demande_prioritaire_labellise"), ["prioritaire_labellise"], unique=False)
        batch_op.create_index("ix_evaluation_demande_epci_score", ["epci", "score"], unique=False)

    with op.batch_alter_table("souhait_commune", schema=None) as batch_op:
        batch_op.add_column(sa.Column("epci", sa.String(length=9), nullable=True))
        batch_op.add_column(sa.Column("score", sa.Numeric(precision=10, scale=2), nullable=True))
        batch_op.create_index(batch_op.f("ix_souhait_commune_epci"), ["epci"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("souhait_commune", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_souhait_commune_epci"))
        batch_op.drop_column("score")
        batch_op.drop_column("epci")

    with op.batch_alter_table("evaluation_demande", schema=None) as batch_op:
        batch_op.drop_index("ix_evaluation_demande_epci_score")
        batch_op.drop_index(batch_op.f("ix_evaluation_demande_prioritaire_labellise"))
        batch_op.drop_column("prioritaire_labellise")
        batch_op.drop_column("zone")
        batch_op.alter_column(
            "score", existing_type=sa.Numeric(precision=10, scale=2), type_=sa.Integer(), existing_nullable=False
        )
