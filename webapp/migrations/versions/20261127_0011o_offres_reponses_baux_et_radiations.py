"""offres reponses baux et radiations

Revision ID: 0011o
Revises: 0010j
Create Date: 2026-11-27 19:00:00

Issue 8.1-8.2: offres, réponses, conditions suspensives, signature du bail, radiation RADATT.
One table, `offre`: the offer of an attributed logement to a household (one per decision), its
deadline, the awaited document of a suspensive condition, the answer with its coded motif, its end,
and the séance whose agenda the logement went back on when the ranks were exhausted. The lease and
the radiation use the existing columns (attribution.date_signature_bail, demande.statut,
motif_radiation, date_radiation).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011o"
down_revision = "0010j"
branch_labels = None
depends_on = None


ID = sa.Integer().with_variant(sa.BigInteger(), "postgresql")
INDEXES = ("date_limite_reponse", "demande_id", "logement_id", "seance_id", "statut")


def upgrade() -> None:
    op.create_table(
        "offre",
        sa.Column("id", ID, nullable=False),
        sa.Column("decision_id", ID, nullable=False),
        sa.Column("seance_id", ID, nullable=False),
        sa.Column("logement_id", ID, nullable=False),
        sa.Column("demande_id", ID, nullable=False),
        sa.Column("rang", sa.Integer(), nullable=True),
        sa.Column(
            "statut",
            sa.Enum("ATTENTE_PIECE", "EN_COURS", "ACCEPTEE", "BAIL_SIGNE", "REFUSEE", "EXPIREE", "CADUQUE",
                    name="statut_offre", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("date_emission", sa.Date(), nullable=True),
        sa.Column("date_limite_reponse", sa.Date(), nullable=True),
        sa.Column("piece_attendue", sa.String(length=120), nullable=True),
        sa.Column("date_limite_piece", sa.Date(), nullable=True),
        sa.Column("date_piece_recue", sa.Date(), nullable=True),
        sa.Column("date_reponse", sa.Date(), nullable=True),
        sa.Column("motif_refus", sa.String(length=40), nullable=True),
        sa.Column("commentaire", sa.Text(), nullable=True),
        sa.Column("date_fin", sa.Date(), nullable=True),
        sa.Column("seance_reinscription_id", ID, nullable=True),
        sa.Column("cree_le", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_offre_decision_id_decision")),
        sa.ForeignKeyConstraint(["seance_id"], ["seance.id"], name=op.f("fk_offre_seance_id_seance")),
        sa.ForeignKeyConstraint(["logement_id"], ["logement.id"], name=op.f("fk_offre_logement_id_logement")),
        sa.ForeignKeyConstraint(["demande_id"], ["demande.id"], name=op.f("fk_offre_demande_id_demande")),
        sa.ForeignKeyConstraint(["seance_reinscription_id"], ["seance.id"],
                                name=op.f("fk_offre_seance_reinscription_id_seance")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offre")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_offre_decision_id")),
    )
    for colonne in INDEXES:
        op.create_index(op.f(f"ix_offre_{colonne}"), "offre", [colonne], unique=False)


def downgrade() -> None:
    for colonne in INDEXES:
        op.drop_index(op.f(f"ix_offre_{colonne}"), table_name="offre")
    op.drop_table("offre")
