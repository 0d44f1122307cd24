"""examen de l occupation

Revision ID: 0011r
Revises: 0010j
Create Date: 2026-11-27 19:00:00

Issue 8.4: locataires en place, examens L442-5-2, séances d'examen.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011r"
down_revision = "0010j"
branch_labels = None
depends_on = None

ID = sa.Integer().with_variant(sa.BigInteger(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("seance", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "nature", sa.Enum("ATTRIBUTION", "EXAMEN_OCCUPATION", name="nature_seance", native_enum=False, length=20),
            server_default="ATTRIBUTION", nullable=False))
        batch_op.create_index(batch_op.f("ix_seance_nature"), ["nature"], unique=False)

    op.create_table(
        "bail_locataire",
        sa.Column("id", ID, nullable=False),
        sa.Column("bailleur_id", ID, nullable=False),
        sa.Column("logement_id", ID, nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("date_signature", sa.Date(), nullable=False),
        sa.Column("logement_adapte", sa.Boolean(), nullable=True),
        sa.Column("besoin_logement_adapte", sa.Boolean(), nullable=False),
        sa.Column("importe_le", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bailleur_id"], ["organisation.id"], name=op.f("fk_bail_locataire_bailleur_id_organisation")),
        sa.ForeignKeyConstraint(["logement_id"], ["logement.id"], name=op.f("fk_bail_locataire_logement_id_logement")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bail_locataire")),
        sa.UniqueConstraint("bailleur_id", "reference", name=op.f("uq_bail_locataire_bailleur_id_reference")),
    )
    with op.batch_alter_table("bail_locataire", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bail_locataire_bailleur_id"), ["bailleur_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bail_locataire_logement_id"), ["logement_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bail_locataire_date_signature"), ["date_signature"], unique=False)

    op.create_table(
        "occupant_locataire",
        sa.Column("id", ID, nullable=False),
        sa.Column("bail_id", ID, nullable=False),
        sa.Column("rang", sa.Integer(), nullable=False),
        sa.Column("role", sa.Enum("TITULAIRE", "COTITULAIRE", "PERSONNE_A_CHARGE", "ENFANT_GARDE_ALTERNEE",
                                  name="role_occupant", native_enum=False, length=24), nullable=False),
        sa.Column("lien_cotitulaire", sa.String(length=12), nullable=True),
        sa.Column("nom", sa.String(length=120), nullable=True),
        sa.Column("prenom", sa.String(length=120), nullable=True),
        sa.Column("date_naissance", sa.Date(), nullable=False),
        sa.Column("handicap_reconnu", sa.Boolean(), nullable=False),
        sa.Column("handicap_details", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["bail_id"], ["bail_locataire.id"], name=op.f("fk_occupant_locataire_bail_id_bail_locataire"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_occupant_locataire")),
        sa.UniqueConstraint("bail_id", "rang", name=op.f("uq_occupant_locataire_bail_id_rang")),
    )
    with op.batch_alter_table("occupant_locataire", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_occupant_locataire_bail_id"), ["bail_id"], unique=False)

    op.create_table(
        "revenu_locataire",
        sa.Column("id", ID, nullable=False),
        sa.Column("occupant_id", ID, nullable=False),
        sa.Column("annee", sa.Integer(), nullable=False),
        sa.Column("montant", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.ForeignKeyConstraint(["occupant_id"], ["occupant_locataire.id"],
                                name=op.f("fk_revenu_locataire_occupant_id_occupant_locataire"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revenu_locataire")),
        sa.UniqueConstraint("occupant_id", "annee", name=op.f("uq_revenu_locataire_occupant_id_annee")),
    )
    with op.batch_alter_table("revenu_locataire", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revenu_locataire_occupant_id"), ["occupant_id"], unique=False)

    op.create_table(
        "examen_occupation",
        sa.Column("id", ID, nullable=False),
        sa.Column("bail_id", ID, nullable=False),
        sa.Column("echeance", sa.Date(), nullable=False),
        sa.Column("date_examen", sa.Date(), nullable=False),
        sa.Column("situations", sa.JSON(), nullable=False),
        sa.Column("resultat", sa.JSON(), nullable=False),
        sa.Column("version_regles", sa.String(length=80), nullable=False),
        sa.Column("empreinte_entree", sa.String(length=80), nullable=False),
        sa.Column("seance_id", ID, nullable=True),
        sa.Column("ordre", sa.Integer(), nullable=True),
        sa.Column("examine_le", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["bail_id"], ["bail_locataire.id"], name=op.f("fk_examen_occupation_bail_id_bail_locataire"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["seance_id"], ["seance.id"], name=op.f("fk_examen_occupation_seance_id_seance"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_examen_occupation")),
        sa.UniqueConstraint("bail_id", "echeance", name=op.f("uq_examen_occupation_bail_id_echeance")),
    )
    with op.batch_alter_table("examen_occupation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_examen_occupation_bail_id"), ["bail_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_examen_occupation_date_examen"), ["date_examen"], unique=False)
        batch_op.create_index(batch_op.f("ix_examen_occupation_seance_id"), ["seance_id"], unique=False)

    op.create_table(
        "constat_occupation",
        sa.Column("id", ID, nullable=False),
        sa.Column("examen_id", ID, nullable=False),
        sa.Column("seance_id", ID, nullable=False),
        sa.Column("situations_constatees", sa.JSON(), nullable=False),
        sa.Column("observations", sa.Text(), nullable=True),
        sa.Column("typologies", sa.JSON(), nullable=False),
        sa.Column("surface_min", sa.Numeric(precision=7, scale=2), nullable=True),
        sa.Column("surface_max", sa.Numeric(precision=7, scale=2), nullable=True),
        sa.Column("accessibilite", sa.Enum("SANS_EXIGENCE", "ACCESSIBLE", "ADAPTE", name="accessibilite",
                                           native_enum=False, length=16), nullable=False),
        sa.Column("communes", sa.JSON(), nullable=False),
        sa.Column("secteur", sa.String(length=200), nullable=True),
        sa.Column("conseil_accession", sa.Boolean(), nullable=False),
        sa.Column("avis", sa.Text(), nullable=True),
        sa.Column("constate_par_id", ID, nullable=True),
        sa.Column("constate_le", sa.DateTime(timezone=True), nullable=False),
        sa.Column("suivi_date", sa.Date(), nullable=True),
        sa.Column("suivi_issue", sa.Enum("MAINTIEN", "MUTATION_PROPOSEE", "MUTATION_ACCEPTEE", "MUTATION_REFUSEE",
                                         "ACCESSION_SOCIALE", "SANS_REPONSE", name="issue_parcours", native_enum=False,
                                         length=20), nullable=True),
        sa.Column("suivi_commentaire", sa.Text(), nullable=True),
        sa.Column("mutation_demande_creee", sa.Boolean(), nullable=True),
        sa.Column("mutation_numero_unique", sa.String(length=30), nullable=True),
        sa.Column("suivi_par_id", ID, nullable=True),
        sa.Column("suivi_le", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["constate_par_id"], ["utilisateur.id"],
                                name=op.f("fk_constat_occupation_constate_par_id_utilisateur")),
        sa.ForeignKeyConstraint(["examen_id"], ["examen_occupation.id"],
                                name=op.f("fk_constat_occupation_examen_id_examen_occupation"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["seance_id"], ["seance.id"], name=op.f("fk_constat_occupation_seance_id_seance"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["suivi_par_id"], ["utilisateur.id"],
                                name=op.f("fk_constat_occupation_suivi_par_id_utilisateur")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_constat_occupation")),
    )
    with op.batch_alter_table("constat_occupation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_constat_occupation_examen_id"), ["examen_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_constat_occupation_seance_id"), ["seance_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("constat_occupation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_constat_occupation_seance_id"))
        batch_op.drop_index(batch_op.f("ix_constat_occupation_examen_id"))
    op.drop_table("constat_occupation")
    with op.batch_alter_table("examen_occupation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_examen_occupation_seance_id"))
        batch_op.drop_index(batch_op.f("ix_examen_occupation_date_examen"))
        batch_op.drop_index(batch_op.f("ix_examen_occupation_bail_id"))
    op.drop_table("examen_occupation")
    with op.batch_alter_table("revenu_locataire", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revenu_locataire_occupant_id"))
    op.drop_table("revenu_locataire")
    with op.batch_alter_table("occupant_locataire", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_occupant_locataire_bail_id"))
    op.drop_table("occupant_locataire")
    with op.batch_alter_table("bail_locataire", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bail_locataire_date_signature"))
        batch_op.drop_index(batch_op.f("ix_bail_locataire_logement_id"))
        batch_op.drop_index(batch_op.f("ix_bail_locataire_bailleur_id"))
    op.drop_table("bail_locataire")
    with op.batch_alter_table("seance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seance_nature"))
        batch_op.drop_column("nature")
