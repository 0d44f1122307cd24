"""votes, conflits d'intérêts, renvois en CAL physique, signature du procès-verbal ; unicité des décisions

Revision ID: 0006d
Revises: 0005
Create Date: 2026-11-27 19:00:00

A decision now carries its séance and logement (copied from its candidature, kept equal to it by a
composite foreign key), so that two partial unique indexes hold in the database itself: one
effective attribution per logement and séance, one candidate per rank of a ranking. A remote séance
gets its voting window.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006d"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.Integer().with_variant(sa.BigInteger(), "postgresql")
EFFECTIVE = "type IN ('ATTRIBUTION', 'ATTRIBUTION_SOUS_CONDITION') OR (type = 'ATTRIBUTION_RANG' AND rang = 1)"
CLASSEMENT = "type = 'ATTRIBUTION_RANG'"


def upgrade() -> None:
    with op.batch_alter_table("seance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vote_ouverture", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("vote_cloture", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("candidature", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_candidature_id_seance_id_logement_id"), ["id", "seance_id", "logement_id"]
        )

    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seance_id", ID, nullable=True))
        batch_op.add_column(sa.Column("logement_id", ID, nullable=True))
    op.execute(
        "UPDATE decision SET "
        "seance_id = (SELECT c.seance_id FROM candidature c WHERE c.id = decision.candidature_id), "
        "logement_id = (SELECT c.logement_id FROM candidature c WHERE c.id = decision.candidature_id)"
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.alter_column("seance_id", existing_type=ID, nullable=False)
        batch_op.alter_column("logement_id", existing_type=ID, nullable=False)
        batch_op.create_foreign_key(
            "fk_decision_candidature_seance_logement",
            "candidature",
            ["candidature_id", "seance_id", "logement_id"],
            ["id", "seance_id", "logement_id"],
            ondelete="CASCADE",
        )
    op.create_index(
        "uq_decision_attribution_effective",
        "decision",
        ["seance_id", "logement_id"],
        unique=True,
        sqlite_where=sa.text(EFFECTIVE),
        postgresql_where=sa.text(EFFECTIVE),
    )
    op.create_index(
        "uq_decision_rang_classement",
        "decision",
        ["seance_id", "logement_id", "rang"],
        unique=True,
        sqlite_where=sa.text(CLASSEMENT),
        postgresql_where=sa.text(CLASSEMENT),
    )

    op.create_table(
        "vote",
        sa.Column("id", ID, nullable=False),
        sa.Column("candidature_id", ID, nullable=False),
        sa.Column("membre_id", ID, nullable=False),
        sa.Column(
            "choix",
            sa.Enum("POUR", "CONTRE", "ABSTENTION", name="choix_vote", native_enum=False, length=12),
            nullable=True,
        ),
        sa.Column("conflit_interets", sa.Boolean(), nullable=False),
        sa.Column("rang", sa.Integer(), nullable=True),
        sa.Column("horodatage", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saisi_par_id", ID, nullable=True),
        sa.CheckConstraint(
            "(conflit_interets AND choix IS NULL) OR (NOT conflit_interets AND choix IS NOT NULL)",
            name=op.f("ck_vote_conflit_sans_choix"),
        ),
        sa.CheckConstraint("rang IS NULL OR rang >= 1", name=op.f("ck_vote_rang_positif")),
        sa.ForeignKeyConstraint(
            ["candidature_id"], ["candidature.id"], name=op.f("fk_vote_candidature_id_candidature"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["membre_id"], ["membre_seance.id"], name=op.f("fk_vote_membre_id_membre_seance"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["saisi_par_id"], ["utilisateur.id"], name=op.f("fk_vote_saisi_par_id_utilisateur")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vote")),
        sa.UniqueConstraint("candidature_id", "membre_id", name=op.f("uq_vote_candidature_id_membre_id")),
    )
    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vote_candidature_id"), ["candidature_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vote_membre_id"), ["membre_id"], unique=False)

    op.create_table(
        "renvoi_cal_physique",
        sa.Column("id", ID, nullable=False),
        sa.Column("candidature_id", ID, nullable=False),
        sa.Column("membre_id", ID, nullable=False),
        sa.Column("motif", sa.Text(), nullable=True),
        sa.Column("horodatage", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidature_id"], ["candidature.id"],
            name=op.f("fk_renvoi_cal_physique_candidature_id_candidature"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["membre_id"], ["membre_seance.id"],
            name=op.f("fk_renvoi_cal_physique_membre_id_membre_seance"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renvoi_cal_physique")),
        sa.UniqueConstraint("candidature_id", "membre_id", name=op.f("uq_renvoi_cal_physique_candidature_id_membre_id")),
    )
    with op.batch_alter_table("renvoi_cal_physique", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_renvoi_cal_physique_candidature_id"), ["candidature_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_renvoi_cal_physique_membre_id"), ["membre_id"], unique=False)

    op.create_table(
        "signature_proces_verbal",
        sa.Column("id", ID, nullable=False),
        sa.Column("seance_id", ID, nullable=False),
        sa.Column("signe_par_id", ID, nullable=False),
        sa.Column("signe_le", sa.DateTime(timezone=True), nullable=False),
        sa.Column("empreinte", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["seance_id"], ["seance.id"], name=op.f("fk_signature_proces_verbal_seance_id_seance"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["signe_par_id"], ["utilisateur.id"], name=op.f("fk_signature_proces_verbal_signe_par_id_utilisateur")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signature_proces_verbal")),
        sa.UniqueConstraint("seance_id", name=op.f("uq_signature_proces_verbal_seance_id")),
    )


def downgrade() -> None:
    op.drop_table("signature_proces_verbal")
    with op.batch_alter_table("renvoi_cal_physique", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renvoi_cal_physique_membre_id"))
        batch_op.drop_index(batch_op.f("ix_renvoi_cal_physique_candidature_id"))
    op.drop_table("renvoi_cal_physique")
    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vote_membre_id"))
        batch_op.drop_index(batch_op.f("ix_vote_candidature_id"))
    op.drop_table("vote")
    op.drop_index("uq_decision_rang_classement", table_name="decision")
    op.drop_index("uq_decision_attribution_effective", table_name="decision")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_constraint("fk_decision_candidature_seance_logement", type_="foreignkey")
        batch_op.drop_column("logement_id")
        batch_op.drop_column("seance_id")
    with op.batch_alter_table("candidature", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_candidature_id_seance_id_logement_id"), type_="unique")
    with op.batch_alter_table("seance", schema=None) as batch_op:
        batch_op.drop_column("vote_cloture")
        batch_op.drop_column("vote_ouverture")
