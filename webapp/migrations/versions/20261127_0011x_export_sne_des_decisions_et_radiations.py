"""export sne des decisions et radiations

Revision ID: 0011x
Revises: 0010j
Create Date: 2026-11-27 19:00:00

Issue 8.3: exports vers le SNE et ce qui a été exporté. `export_sne`: one row per XML file (day or
on demand, bailleur, who, when, name, SHA-256, size, the file, counts); `ligne_export_sne`: one row
per decision or radiation sent, unique per (object, event date, sending rank) so that the same
object is sent twice only by a forced re-export (rank 2, 3…).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011x"
down_revision = "0010j"
branch_labels = None
depends_on = None

ID = sa.Integer().with_variant(sa.BigInteger(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "export_sne",
        sa.Column("id", ID, nullable=False),
        sa.Column("jour", sa.Date(), nullable=True),
        sa.Column("bailleur_id", ID, nullable=True),
        sa.Column("genere_le", sa.DateTime(timezone=True), nullable=False),
        sa.Column("par", sa.String(length=120), nullable=False),
        sa.Column("fichier", sa.String(length=120), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("taille", sa.Integer(), nullable=False),
        sa.Column("contenu", sa.LargeBinary(), nullable=False),
        sa.Column("nb_decisions", sa.Integer(), nullable=False),
        sa.Column("nb_radiations", sa.Integer(), nullable=False),
        sa.Column("force", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["bailleur_id"], ["organisation.id"], name=op.f("fk_export_sne_bailleur_id_organisation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_sne")),
        sa.UniqueConstraint("fichier", name=op.f("uq_export_sne_fichier")),
    )
    op.create_index(op.f("ix_export_sne_jour"), "export_sne", ["jour"], unique=False)
    op.create_index(op.f("ix_export_sne_bailleur_id"), "export_sne", ["bailleur_id"], unique=False)
    op.create_table(
        "ligne_export_sne",
        sa.Column("id", ID, nullable=False),
        sa.Column("export_id", ID, nullable=False),
        sa.Column("objet_type", sa.Enum("decision", "radiation", name="objet_export", native_enum=False, length=10),
                  nullable=False),
        sa.Column("objet_id", ID, nullable=False),
        sa.Column("date_evenement", sa.Date(), nullable=False),
        sa.Column("numero_unique", sa.String(length=30), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("envoi", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["export_id"], ["export_sne.id"], name=op.f("fk_ligne_export_sne_export_id_export_sne"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ligne_export_sne")),
        sa.UniqueConstraint("objet_type", "objet_id", "date_evenement", "envoi",
                            name=op.f("uq_ligne_export_sne_objet_type_objet_id_date_evenement_envoi")),
    )
    op.create_index(op.f("ix_ligne_export_sne_export_id"), "ligne_export_sne", ["export_id"], unique=False)
    op.create_index(op.f("ix_ligne_export_sne_numero_unique"), "ligne_export_sne", ["numero_unique"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ligne_export_sne_numero_unique"), table_name="ligne_export_sne")
    op.drop_index(op.f("ix_ligne_export_sne_export_id"), table_name="ligne_export_sne")
    op.drop_table("ligne_export_sne")
    op.drop_index(op.f("ix_export_sne_bailleur_id"), table_name="export_sne")
    op.drop_index(op.f("ix_export_sne_jour"), table_name="export_sne")
    op.drop_table("export_sne")
