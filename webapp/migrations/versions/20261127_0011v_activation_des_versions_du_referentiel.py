"""activation des versions du referentiel

Revision ID: 0011v
Revises: 0010j
Create Date: 2026-11-27 19:00:00

Issue 7.6: activation d'une version du référentiel sans redémarrage. Each recorded version keeps the
files it was computed from (a tar.gz archive and its SHA-256), so that it can be activated and replayed
after the files on disk changed; `referentiel_actif` (one row) names the version every process
evaluates with.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011v"
down_revision = "0010j"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("version_regles") as batch:
        batch.add_column(sa.Column("archive", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("archive_empreinte", sa.String(length=64), nullable=True))
    op.create_table(
        "referentiel_actif",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=80), nullable=False),
        sa.Column("active_depuis", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active_par", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referentiel_actif")),
    )


def downgrade() -> None:
    op.drop_table("referentiel_actif")
    with op.batch_alter_table("version_regles") as batch:
        batch.drop_column("archive_empreinte")
        batch.drop_column("archive")
