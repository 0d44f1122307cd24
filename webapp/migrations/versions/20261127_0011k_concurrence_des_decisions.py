"""concurrence des decisions

Revision ID: 0011k
Revises: 0010j
Create Date: 2026-11-27 19:00:00

Issue 7.3: contraintes de concurrence des décisions — aucune modification du schéma n'est nécessaire.

Tout ce que la concurrence exige de la base existe depuis 0006d, identique sur SQLite et PostgreSQL :
- `uq_decision_attribution_effective` : index unique partiel (seance_id, logement_id) des attributions
  effectives (attribution, attribution sous condition, premier rang d'un classement) : au plus une par
  logement et par séance ;
- `uq_decision_rang_classement` : index unique partiel (seance_id, logement_id, rang) des attributions
  par classement : au plus un candidat par rang ;
- la clé étrangère composée (candidature_id, seance_id, logement_id) qui tient la séance et le logement
  de la décision égaux à ceux de sa candidature, et l'unicité de la décision par candidature ;
- `seance.version`, compteur du verrou optimiste (version_id_col du modèle Seance).

tests/concurrence/test_contraintes_base.py vérifie que ces index existent après toutes les migrations
et que la base refuse les doublons écrits en SQL, sans passer par le code de l'application.
"""
from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0011k"
down_revision = "0010j"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Rien à ajouter : voir la docstring du module."""


def downgrade() -> None:
    """Rien à retirer."""
