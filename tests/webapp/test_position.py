"""What the applicant is owed (L441-2-8): score, position among similar demandes, average waiting time."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from webapp.cli import main
from webapp.models import Attribution
from webapp.services.evaluations import recalculer_evaluations
from webapp.services.position import ErreurPosition, position, texte_position

from .fabrique_propositions import DATE, DOUAI, LILLE, ROUBAIX, dossier, enregistrer, logement, nu


def _attribuer(session, demande_id, lgt, bail: str | None):
    session.add(Attribution(logement_id=lgt.id, demande_id=demande_id, date_decision=dt.date(2025, 1, 1),
                            date_signature_bail=dt.date.fromisoformat(bail) if bail else None))
    session.flush()


def test_le_rang_parmi_les_demandes_semblables_suit_le_classement_publie(session):
    enregistrer(
        session,
        dossier("R1", communes=(LILLE,), depot="2022-06-15"),
        dossier("R2", communes=(ROUBAIX,), depot="2024-06-15"),  # same EPCI (MEL), another commune: similar
        dossier("R3", communes=(LILLE,), depot="2025-06-15"),
        dossier("R4", communes=(LILLE,), depot="2026-01-15", dalo="ACTIF"),  # DALO: before everyone
        dossier("R5", communes=(LILLE,), depot="2020-06-15", typologies=("T2",)),  # other typology
        dossier("R6", communes=(DOUAI,), depot="2020-06-15"),  # other territory
        dossier("R7", communes=(LILLE,), depot="2019-06-15", rfr=90000),  # not recevable: not counted
    )
    recalculer_evaluations(session, DATE, acteur="tests")
    p = position(session, nu("R3"), DATE)
    (t3,) = p["positions"]
    assert (t3["typologie"], t3["epci"], t3["rang"], t3["total"]) == ("T3", "200093201", 4, 4)
    assert p["evaluation_recalculee"] is False
    assert p["territoire"]["nom"] == "Métropole Européenne de Lille"
    assert position(session, nu("R4"), DATE)["positions"][0]["rang"] == 1
    assert position(session, nu("R1"), DATE)["positions"][0]["rang"] == 2
    assert p["cotation"]["grille"] == "mel_demonstration" and p["cotation"]["score"] > 0
    assert "T3 : rang 4 sur 4 demandes semblables" in texte_position(p)


def test_chaque_typologie_souhaitee_a_sa_position(session):
    enregistrer(session, dossier("P1", communes=(DOUAI,), typologies=("T2", "T3")), dossier("P2", communes=(DOUAI,), depot="2020-01-01"))
    recalculer_evaluations(session, DATE, acteur="tests")
    p = position(session, nu("P1"), DATE)
    assert [(x["typologie"], x["rang"], x["total"]) for x in p["positions"]] == [("T2", 1, 1), ("T3", 2, 2)]


def test_le_delai_moyen_compte_les_baux_signes_des_douze_derniers_mois_du_meme_type(session):
    ids = enregistrer(
        session,
        dossier("A1", communes=(DOUAI,), depot="2024-03-10", statut="attribuee"),  # bail 2025-07-10: 16 mois
        dossier("A2", communes=(DOUAI,), depot="2025-05-20", statut="attribuee"),  # bail 2026-05-20: 12 mois
        dossier("A3", communes=(DOUAI,), depot="2023-01-01", statut="attribuee"),  # bail 2025-06-15: hors période
        dossier("A4", communes=(DOUAI,), depot="2024-01-01", statut="attribuee"),  # T2: autre typologie
        dossier("A5", communes=(DOUAI,), depot="2024-01-01", statut="attribuee"),  # à Lille: autre EPCI
        dossier("A6", communes=(DOUAI,), depot="2024-01-01", statut="attribuee"),  # bail non signé
        dossier("Q", communes=(DOUAI,)),
    )
    t3 = logement(session)
    _attribuer(session, ids[0], t3, "2025-07-10")
    _attribuer(session, ids[1], t3, "2026-05-20")
    _attribuer(session, ids[2], t3, "2025-06-15")
    _attribuer(session, ids[3], logement(session, reference="T2", typologie="T2", nb_pieces=2, surface="45"), "2026-01-10")
    _attribuer(session, ids[4], logement(session, reference="L", commune=LILLE), "2026-01-10")
    _attribuer(session, ids[5], t3, None)
    recalculer_evaluations(session, DATE, acteur="tests")
    (t3_position,) = position(session, nu("Q"), DATE)["positions"]
    delai = t3_position["delai_moyen"]
    assert delai["attributions"] == 2 and delai["mois"] == 14  # (16 + 12) / 2
    assert delai["periode"] == {"debut": "2025-06-15", "fin": "2026-06-15"}
    assert "délai moyen d'attente des 2 attribution(s) de ce type sur les 12 derniers mois : 14 mois" in t3_position["texte"]


def test_sans_attribution_le_delai_moyen_est_dit_absent(session):
    enregistrer(session, dossier("Z", communes=(DOUAI,)))
    recalculer_evaluations(session, DATE, acteur="tests")
    (x,) = position(session, nu("Z"), DATE)["positions"]
    assert x["delai_moyen"]["mois"] is None
    assert "aucune attribution de ce type avec bail signé sur les 12 derniers mois" in x["texte"]


def test_une_demande_sans_evaluation_a_jour_est_evaluee_pour_la_consultation(session):
    enregistrer(session, dossier("F", communes=(DOUAI,)))
    p = position(session, nu("F"), DATE)
    assert p["evaluation_recalculee"] is True and p["positions"][0]["rang"] == 1
    assert "recalculée pour cette consultation" in texte_position(p)


def test_un_numero_inconnu_est_refuse_en_francais(session):
    with pytest.raises(ErreurPosition, match="Demande INCONNU introuvable"):
        position(session, "INCONNU", DATE)


def test_la_commande_position_en_texte_et_en_json(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.sqlite3'}"
    runner = CliRunner()
    assert runner.invoke(main, ["--database-url", url, "db", "upgrade"]).exit_code == 0
    from webapp import db as dbmod

    factory = dbmod.make_sessionmaker(dbmod.make_engine(url))
    with dbmod.transaction(factory) as s:
        enregistrer(s, dossier("C1", communes=(DOUAI,)), dossier("C2", communes=(DOUAI,), depot="2020-01-01"))
        recalculer_evaluations(s, DATE, acteur="tests")
    res = runner.invoke(main, ["--database-url", url, "position", nu("C1"), "--date", "2026-06-15"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith(f"Demande {nu('C1')} — situation au 15/06/2026")
    assert "T3 : rang 2 sur 2 demandes semblables" in res.output
    res = runner.invoke(main, ["--database-url", url, "position", nu("C1"), "--date", "2026-06-15", "--json"])
    assert json.loads(res.output)["positions"][0]["rang"] == 2
    res = runner.invoke(main, ["--database-url", url, "position", "NU9999999999"])
    assert res.exit_code == 2 and "Demande NU9999999999 introuvable" in res.output
