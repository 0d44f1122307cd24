"""What ties the pieces together: a dossier saved by any channel is evaluated in the same transaction."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from webapp.models import Demande, EvaluationDemande, SouhaitTypologie
from webapp.sne.service import importer_fichiers

RACINE = Path(__file__).resolve().parents[2]


def test_une_demande_importee_du_sne_est_evaluee_et_ses_souhaits_indexes(sessions):
    (resultat,) = importer_fichiers(sessions, [RACINE / "fixtures" / "sne" / "exemple_interfaceNuu_v02.00.xml"], acteur="test")
    assert resultat.resultat != "refusee"
    with sessions() as s:
        demande = s.scalars(select(Demande).where(Demande.numero_unique == "1110318016982G1104")).one()
        evaluation = s.get(EvaluationDemande, demande.id)
        assert evaluation is not None
        # Its tax years (2016, 2017) are too old at the reference date: incomplete, never "0 €".
        assert evaluation.complet is False
        souhaits = s.scalars(select(SouhaitTypologie.typologie).where(SouhaitTypologie.demande_id == demande.id)).all()
        assert sorted(souhaits) == sorted(demande.typologies_souhaitees)
