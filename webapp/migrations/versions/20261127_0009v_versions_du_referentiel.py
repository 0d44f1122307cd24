"""versions du référentiel de règles

Revision ID: 0009v
Revises: 0008p
Create Date: 2026-11-27 16:10:00

Each rulebook version the instance has seen, first seen when, and what changed since the previous one
(rules, criteria, parameters and files added, removed or modified, from their hashes): the version
history of the public notice of the algorithm and of the administration page.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009v"
down_revision = "0008p"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "version_regles",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column("version", sa.String(length=80), nullable=False),
        sa.Column("empreinte", sa.String(length=64), nullable=False),
        sa.Column("premiere_vue", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("precedente", sa.String(length=80), nullable=True),
        sa.Column("resume", sa.Text(), nullable=False),
        sa.Column("changements", sa.JSON(), nullable=False),
        sa.Column("inventaire", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version_regles")),
        sa.UniqueConstraint("version", name=op.f("uq_version_regles_version")),
    )
    op.create_index(op.f("ix_version_regles_premiere_vue"), "version_regles", ["premiere_vue"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_version_regles_premiere_vue"), table_name="version_regles")
    op.drop_table("version_regles")
