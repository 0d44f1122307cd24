"""Persisted evaluations: what is stored, the wishes rebuilt, staleness, inactive demandes, audit, parallel path."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from click.testing import CliRunner
from sqlalchemy import func, select, update

from engine.evaluation import evaluer
from engine.version import version_regles
from webapp.cli import main
from webapp.models import AuditEntry, Demande, EvaluationDemande, SouhaitCommune, SouhaitTypologie
from webapp.services.dossiers import charger_demande, dossier_depuis_demande, enregistrer_dossier
from webapp.services.evaluations import ids_a_recalculer, recalculer_evaluations, reevaluer_demande

from .fabrique_propositions import DATE, DOUAI, LILLE, ROUBAIX, dossier, enregistrer, nu


def test_une_demande_evaluee_stocke_ce_que_la_preselection_et_le_classement_lisent(session):
    d = dossier("E1", communes=(LILLE, ROUBAIX), typologies=("T3", "T4"), dalo="ACTIF",
                situations=(("PRIO_SANS_LOGEMENT", True),), depot="2022-06-15")
    (i,) = enregistrer(session, d)
    bilan = recalculer_evaluations(session, DATE, acteur="tests")
    assert bilan["evaluees"] == 1
    ev = session.get(EvaluationDemande, i)
    # The stored row replays from the stored dossier, the date and the version.
    attendu = evaluer(dossier_depuis_demande(charger_demande(session, nu("E1"))), None, DATE, trace=False)
    assert ev.version_regles == version_regles() and ev.date_evaluation == DATE
    assert "sha256:" + ev.empreinte_entree == attendu["empreinte_entree"]
    assert ev.recevable is True and ev.complet is True
    assert (ev.eligible_plai, ev.eligible_plus, ev.eligible_pls) == tuple(
        attendu["plafonds"][f]["eligible"] for f in ("PLAI", "PLUS", "PLS"))
    assert ev.nb_personnes == 2 and ev.nb_personnes_surface == 2
    assert ev.dalo is True and ev.dalo_designe is False
    assert ev.prioritaire is True and ev.prioritaire_labellise is True
    assert {p["code"] for p in ev.priorites} >= {"DALO", "PRIO_SANS_LOGEMENT"}
    assert ev.epci == "200093201" and ev.grille == "mel_demonstration" and ev.zone == "autres_regions"
    # 48 months of ancienneté at 0.25 point, plus the grid's criteria: an exact decimal.
    assert ev.score == Decimal(str(attendu["cotation"]["score"])) and ev.score >= Decimal("12")
    assert ev.detail_cotation == attendu["cotation"]["detail"]
    assert "dalo.decision_favorable_active" in ev.regles_appliquees
    assert sorted(session.scalars(select(SouhaitTypologie.typologie).where(SouhaitTypologie.demande_id == i))) == ["T3", "T4"]
    communes = {c.code_insee: (c.epci, c.score) for c in session.scalars(select(SouhaitCommune).where(SouhaitCommune.demande_id == i))}
    assert communes == {LILLE: ("200093201", ev.score), ROUBAIX: ("200093201", ev.score)}


def test_chaque_epci_souhaite_a_son_score_de_cotation(session):
    # First wish in Douai (no grid: 0), second in Lille (MEL demonstration grid: ancienneté points).
    (i,) = enregistrer(session, dossier("E2", communes=(DOUAI, LILLE), depot="2022-06-15"))
    recalculer_evaluations(session, DATE, acteur="tests")
    ev = session.get(EvaluationDemande, i)
    assert ev.score == 0 and ev.grille is None
    scores = dict(session.execute(select(SouhaitCommune.code_insee, SouhaitCommune.score).where(SouhaitCommune.demande_id == i)).all())
    assert scores[DOUAI] == 0
    # The MEL score is the one of the same dossier evaluated with Lille first: 48 months × 0.25 + criteria.
    lille_d_abord = dossier_depuis_demande(charger_demande(session, nu("E2")))
    lille_d_abord["communes_souhaitees"] = [LILLE, DOUAI]
    attendu = evaluer(lille_d_abord, None, DATE, trace=False)["cotation"]
    assert attendu["grille"] == "mel_demonstration"
    assert scores[LILLE] == Decimal(str(attendu["score"])) >= Decimal("12")


def test_un_dossier_incomplet_ou_irrecevable_est_stocke_non_recevable(session):
    incomplet, riche = enregistrer(session, dossier("E3", residence_declaree=None), dossier("E4", rfr=90000))
    recalculer_evaluations(session, DATE, acteur="tests")
    ev = session.get(EvaluationDemande, incomplet)
    assert (ev.recevable, ev.complet) == (False, False)
    assert "TITRE_DE_SEJOUR" in ev.motifs_irrecevabilite
    ev = session.get(EvaluationDemande, riche)
    assert (ev.recevable, ev.complet, ev.eligible_plus) == (False, True, False)
    assert "RESSOURCES_SUPERIEURES_AU_PLAFOND" in ev.motifs_irrecevabilite


def test_seules_les_evaluations_perimees_sont_recalculees(session):
    a, b = enregistrer(session, dossier("E5"), dossier("E6"))
    assert ids_a_recalculer(session, DATE) == [a, b]
    recalculer_evaluations(session, DATE, acteur="tests")
    assert ids_a_recalculer(session, DATE) == []
    # The rulebook changed for one row; the date moved for all (ages, ancienneté).
    session.execute(update(EvaluationDemande).where(EvaluationDemande.demande_id == b).values(version_regles="0.0.0-ancienne"))
    assert ids_a_recalculer(session, DATE) == [b]
    assert ids_a_recalculer(session, DATE + dt.timedelta(days=1)) == [a, b]
    assert ids_a_recalculer(session, DATE, toutes=True) == [a, b]
    bilan = recalculer_evaluations(session, DATE, acteur="tests")
    assert bilan["evaluees"] == 1
    assert session.get(EvaluationDemande, b).version_regles == version_regles()


def test_une_demande_radiee_perd_son_evaluation_et_ses_souhaits(session):
    a, b = enregistrer(session, dossier("E7"), dossier("E8"))
    recalculer_evaluations(session, DATE, acteur="tests")
    session.execute(update(Demande).where(Demande.id == b).values(statut="radiee"))
    bilan = recalculer_evaluations(session, DATE, acteur="tests")
    assert bilan["supprimees"] == 1 and bilan["evaluees"] == 0
    assert session.get(EvaluationDemande, b) is None
    assert session.scalar(select(func.count()).select_from(SouhaitCommune).where(SouhaitCommune.demande_id == b)) == 0
    assert session.get(EvaluationDemande, a) is not None


def test_un_dossier_modifie_est_reevalue_et_ses_souhaits_reconstruits(session):
    d = dossier("E9", typologies=("T2",))
    (i,) = enregistrer(session, d)
    recalculer_evaluations(session, DATE, acteur="tests")
    d["typologies_souhaitees"] = ["T3", "T4"]
    d["communes_souhaitees"] = [LILLE]
    enregistrer_dossier(session, d, acteur="tests", audit=False)
    reevaluer_demande(session, i, DATE, acteur="tests")
    assert sorted(session.scalars(select(SouhaitTypologie.typologie).where(SouhaitTypologie.demande_id == i))) == ["T3", "T4"]
    assert list(session.scalars(select(SouhaitCommune.code_insee).where(SouhaitCommune.demande_id == i))) == [LILLE]
    assert session.get(EvaluationDemande, i).epci == "200093201"


def test_un_recalcul_laisse_une_seule_entree_d_audit_sans_donnee_personnelle(session):
    enregistrer(session, dossier("E10"), dossier("E11"), dossier("E12"))
    avant = session.scalar(select(func.count()).select_from(AuditEntry))
    recalculer_evaluations(session, DATE, acteur="tests:recalcul")
    entrees = session.scalars(select(AuditEntry).where(AuditEntry.acteur == "tests:recalcul")).all()
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == avant + 1
    (entree,) = entrees
    assert entree.action == "evaluations.recalculer"
    assert entree.details["evaluees"] == 3
    assert nu("E10") not in str(entree.details)


def test_le_calcul_en_plusieurs_processus_donne_les_memes_lignes(sessions):
    with sessions.begin() as s:
        enregistrer(s, *(dossier(f"P{i}", depot=f"202{i % 5}-0{1 + i % 9}-10", communes=(LILLE,), enfants=i % 3) for i in range(6)))
    colonnes = ("demande_id", "recevable", "eligible_plus", "score", "nb_personnes_surface", "quartile", "regles_appliquees")

    def lignes():
        with sessions() as s:
            return [tuple(getattr(e, c) for c in colonnes) for e in s.scalars(select(EvaluationDemande).order_by(EvaluationDemande.demande_id))]

    with sessions.begin() as s:
        assert recalculer_evaluations(s, DATE, toutes=True, processus=1, acteur="tests")["processus"] == 1
    seul = lignes()
    with sessions.begin() as s:
        bilan = recalculer_evaluations(s, DATE, toutes=True, processus=2, taille_lot=2, acteur="tests")
    assert bilan["processus"] == 2
    assert lignes() == seul and len(seul) == 6
    # Memory of the job: the workers' own pages, without those they share with the parent (their RSS
    # counts those a second time).
    memoire = bilan["rss_pic_mo"]
    assert 0 < memoire["travailleurs_prive"] < memoire["travailleurs"]


def test_la_commande_recalcule_les_evaluations(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    runner = CliRunner()
    assert runner.invoke(main, ["--database-url", url, "db", "upgrade"]).exit_code == 0
    from webapp import db as dbmod

    factory = dbmod.make_sessionmaker(dbmod.make_engine(url))
    with dbmod.transaction(factory) as s:
        enregistrer(s, dossier("C1"), dossier("C2"))
    res = runner.invoke(main, ["--database-url", url, "evaluations", "recalculer", "--date", "2026-06-15"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("2 demande(s) évaluée(s) au 2026-06-15")
    res = runner.invoke(main, ["--database-url", url, "evaluations", "recalculer", "--date", "2026-06-15"])
    assert res.output.startswith("0 demande(s) évaluée(s)")
    res = runner.invoke(main, ["--database-url", url, "evaluations", "recalculer", "--date", "15/06/2026"])
    assert res.exit_code == 2 and "--date : date invalide" in res.output
