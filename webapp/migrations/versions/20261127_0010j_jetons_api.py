"""jetons de l'API JSON

Revision ID: 0010j
Revises: 0009v
Create Date: 2026-11-27 18:00:00

API tokens (/api/v1): one row per token issued to a user, holding only the SHA-256 of the token, a
short prefix to recognise it, its label, when it was issued and when it was revoked.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010j"
down_revision = "0009v"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jeton_api",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column("utilisateur_id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), nullable=False),
        sa.Column("empreinte", sa.String(length=64), nullable=False),
        sa.Column("prefixe", sa.String(length=16), nullable=False),
        sa.Column("libelle", sa.String(length=200), nullable=False),
        sa.Column("cree_le", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoque_le", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["utilisateur_id"], ["utilisateur.id"], name=op.f("fk_jeton_api_utilisateur_id_utilisateur")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jeton_api")),
        sa.UniqueConstraint("empreinte", name=op.f("uq_jeton_api_empreinte")),
    )
    op.create_index(op.f("ix_jeton_api_utilisateur_id"), "jeton_api", ["utilisateur_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_jeton_api_utilisateur_id"), table_name="jeton_api")
    op.drop_table("jeton_api")
