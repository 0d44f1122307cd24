"""explications sur demande

Revision ID: 0011e
Revises: 0010j
Create Date: 2026-11-27 19:00:00

Issue 8.5: explication de l'algorithme sur demande (CRPA R311-3-1-2). One row per document generated
for communication to the applicant: the stored evaluation it explains (date, rulebook version, input
fingerprint), the decision if any, the stored input it was computed from, its content and its SHA-256.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011e"
down_revision = "0010j"
branch_labels = None
depends_on = None

ID = sa.Integer().with_variant(sa.BigInteger(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "explication_demande",
        sa.Column("id", ID, nullable=False),
        sa.Column("demande_id", ID, nullable=False),
        sa.Column("decision_id", ID, nullable=True),
        sa.Column("date_evaluation", sa.Date(), nullable=False),
        sa.Column("version_regles", sa.String(length=80), nullable=False),
        sa.Column("empreinte_entree", sa.String(length=64), nullable=False),
        sa.Column("entree", sa.JSON(), nullable=False),
        sa.Column("contenu", sa.JSON(), nullable=False),
        sa.Column("empreinte", sa.String(length=64), nullable=False),
        sa.Column("genere_le", sa.DateTime(timezone=True), nullable=False),
        sa.Column("genere_par", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["demande_id"], ["demande.id"], name=op.f("fk_explication_demande_demande_id_demande"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_explication_demande_decision_id_decision"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_explication_demande")),
    )
    op.create_index(op.f("ix_explication_demande_demande_id"), "explication_demande", ["demande_id"], unique=False)
    op.create_index(op.f("ix_explication_demande_decision_id"), "explication_demande", ["decision_id"], unique=False)
    op.create_index(op.f("ix_explication_demande_empreinte"), "explication_demande", ["empreinte"], unique=False)
    op.create_index("ix_explication_demande_base", "explication_demande",
                    ["demande_id", "version_regles", "date_evaluation", "empreinte_entree"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_explication_demande_base", table_name="explication_demande")
    op.drop_index(op.f("ix_explication_demande_empreinte"), table_name="explication_demande")
    op.drop_index(op.f("ix_explication_demande_decision_id"), table_name="explication_demande")
    op.drop_index(op.f("ix_explication_demande_demande_id"), table_name="explication_demande")
    op.drop_table("explication_demande")
