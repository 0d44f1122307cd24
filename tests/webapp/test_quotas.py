"""Quotas de l'année sur une année construite à la main : numérateurs et dénominateurs exacts, QPV et
hors QPV, filtre du bail signé, bornes de l'année ; aperçu d'impact d'un candidat qui ne bouge que les
indicateurs qu'il doit bouger ; commande `caleol quotas`."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.evaluation import evaluer
from engine.parametres import parametres_a_la_date
from webapp.cli import main
from webapp.models import Epci, EvaluationDemande, OrientationFlux, StatutLogement, StatutOrientation
from webapp.schemas import charger_dossier
from webapp.services.dossiers import enregistrer_dossier
from webapp.services.flux import orienter
from webapp.services.quotas import ErreurQuotas, faits_candidat, impact, impacts, quotas

from .test_flux import CAVM, LILLE, MEL, QPV_LILLE, VALENCIENNES, Patrimoine

JOUR = dt.date(2026, 6, 15)
DOSSIER = Path(__file__).resolve().parents[2] / "fixtures" / "dossiers" / "famille_monoparentale_lille.json"


def _annee_construite(session) -> Patrimoine:
    """2026 sur la Métropole européenne de Lille, comptée au 15 juin (voir chaque ligne)."""
    p = Patrimoine(session)
    occupe = StatutLogement.OCCUPE

    def hors_qpv():
        return p.logement(LILLE, statut=occupe)

    def en_qpv():
        return p.logement(LILLE, qpv=QPV_LILLE, statut=occupe)

    # Hors QPV : 6 baux signés comptés, dont 3 au 1er quartile ou ANRU.
    p.attribution(hors_qpv(), reservataire=p.al, quartile=1)                                   # compté, Q1
    p.attribution(hors_qpv(), reservataire=p.al, quartile=3, anru=True)                        # compté, ANRU
    p.attribution(hors_qpv(), reservataire=p.etat_prio, quartile=2, prioritaire=True, sans_abri=True)
    p.attribution(hors_qpv(), reservataire=p.propre, quartile=4)
    p.attribution(hors_qpv(), reservataire=p.al, quartile=1, decision=dt.date(2025, 12, 20), bail=dt.date(2026, 1, 1))  # Q1
    mutation = p.logement(LILLE)
    orienter(session, mutation.id, dt.date(2026, 2, 1), "tests", destination="mutation_interne")
    p.attribution(mutation, reservataire=None, quartile=2, decision=dt.date(2026, 2, 10), bail=dt.date(2026, 2, 20))
    # Ne comptent pas : bail non signé, bail signé en 2025, bail signé après la date, autre EPCI.
    p.attribution(hors_qpv(), reservataire=p.al, quartile=1, bail=None)
    p.attribution(hors_qpv(), reservataire=p.al, quartile=1, decision=dt.date(2025, 12, 10), bail=dt.date(2025, 12, 31))
    p.attribution(hors_qpv(), reservataire=p.al, quartile=1, decision=dt.date(2026, 6, 1), bail=dt.date(2026, 6, 16))
    p.attribution(p.logement(VALENCIENNES, statut=occupe), reservataire=p.cavm, quartile=1, dalo=True)
    # En QPV : 4 baux signés, dont 2 aux quartiles 2 à 4 (un quartile inconnu ne compte qu'au dénominateur).
    p.attribution(en_qpv(), reservataire=p.etat_agents, quartile=1)
    p.attribution(en_qpv(), reservataire=p.al, quartile=2, dalo=True, prioritaire=True)
    p.attribution(en_qpv(), reservataire=p.mel, quartile=3, sortant_hebergement=True)
    p.attribution(en_qpv(), reservataire=p.propre, quartile=None)
    return p


def _par_code(resultat) -> dict[str, dict]:
    return {x["code"]: x for x in resultat["indicateurs"]}


def test_les_quotas_d_une_annee_construite_ont_des_numerateurs_et_denominateurs_exacts(session):
    p = _annee_construite(session)
    r = quotas(session, MEL, 2026, JOUR)
    assert r["soumis_quartiles"] is True and r["attributions"] == 10 and r["note"] is None
    x = _par_code(r)
    p_ = parametres_a_la_date(JOUR)

    def mesure(code):
        return (x[code]["numerateur"], x[code]["denominateur"], x[code]["taux"], x[code]["statut"])

    assert mesure("premier_quartile_hors_qpv") == (3, 6, 0.5, "atteint")
    assert x["premier_quartile_hors_qpv"]["cible"] == float(p_.valeur("quotas.premier_quartile_hors_qpv"))
    assert mesure("hors_premier_quartile_en_qpv") == (2, 4, 0.5, "atteint")
    assert x["hors_premier_quartile_en_qpv"]["non_renseignes"] == 0
    assert mesure(f"publics_prioritaires.r{p.al.id}") == (1, 4, 0.25, "atteint")  # seuil inclus
    assert mesure(f"publics_prioritaires.r{p.mel.id}") == (0, 1, 0.0, "en_dessous")
    assert mesure("publics_prioritaires.bailleur") == (0, 3, 0.0, "en_dessous")  # stock non réservé, mutation comprise
    assert f"publics_prioritaires.r{p.cavm.id}" not in x  # sa convention couvre un autre EPCI
    assert not any(c.startswith("publics_prioritaires.r") and c.endswith(str(p.etat_prio.id)) for c in x)
    # Contingent de l'État rapporté au flux : la mutation (hors flux) sort du dénominateur.
    assert mesure("contingent_etat") == (2, 9, 0.2222, "respecte")
    assert mesure("contingent_etat_agents") == (1, 9, 0.1111, "depasse")
    assert x["contingent_etat"]["sens"] == "maximum" and x["contingent_etat"]["cible"] == 0.3
    lda = x["logement_d_abord"]
    assert (lda["numerateur"], lda["denominateur"], lda["objectif"], lda["taux"], lda["statut"]) == (2, 8, 8, 0.25, "en_cours")
    assert "quotas.publics_prioritaires_par_reservataire" in r["parametres_a_verifier"]
    json.dumps(r)  # JSON-able


def test_les_bornes_de_l_annee_suivent_la_date_de_signature_du_bail(session):
    _annee_construite(session)
    fin_2025 = quotas(session, MEL, 2025, dt.date(2026, 6, 15))
    # En 2025 : seul le bail signé le 31 décembre 2025 compte.
    assert fin_2025["attributions"] == 1
    assert _par_code(fin_2025)["premier_quartile_hors_qpv"]["numerateur"] == 1
    au_16_juin = quotas(session, MEL, 2026, dt.date(2026, 6, 16))
    assert au_16_juin["attributions"] == 11
    assert quotas(session, MEL, 2026, dt.date(2025, 12, 31))["attributions"] == 0
    assert quotas(session, MEL, 2026, dt.date(2026, 1, 1))["attributions"] == 1


def test_un_epci_sans_seuil_de_quartile_n_a_pas_les_objectifs_de_mixite(session):
    _annee_construite(session)
    soumis = {s for s in parametres_a_la_date(JOUR).chemins("quartiles.seuils.")}
    autre = next(e for e in session.scalars(select(Epci.siren).order_by(Epci.siren)) if f"quartiles.seuils.{e}.q1" not in soumis)
    r = quotas(session, autre, 2026, JOUR)
    assert r["soumis_quartiles"] is False and "n'est pas soumis" in r["note"]
    assert "premier_quartile_hors_qpv" not in _par_code(r) and "contingent_etat" in _par_code(r)
    assert _par_code(r)["logement_d_abord"]["statut"] == "sans_objectif"
    with pytest.raises(ErreurQuotas, match="EPCI 123456789 inconnu"):
        quotas(session, "123456789", 2026, JOUR)


# -- aperçu d'impact -----------------------------------------------------------------------------------


def _evaluation(session, demande, **champs) -> EvaluationDemande:
    valeurs = dict(
        demande_id=demande.id, date_evaluation=JOUR, version_regles="essai", empreinte_entree="0" * 64,
        calculee_le=dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC), complet=True, recevable=True, eligible_plai=True,
        eligible_plus=True, eligible_pls=True, categorie=2, nb_personnes=2, nb_personnes_surface=2,
        unites_consommation=Decimal("1.5"), ressources_mensuelles=Decimal("900"), quartile=2, epci=MEL, score=Decimal(10),
        dalo=False, prioritaire=False, logement_d_abord=False,
    )
    valeurs.update(champs)
    e = EvaluationDemande(**valeurs)
    session.add(e)
    session.flush()
    return e


def _variations(lignes) -> dict[str, tuple[int, int]]:
    return {x["code"]: (x["variation"]["numerateur"], x["variation"]["denominateur"]) for x in lignes if x["concerne"]}


def test_l_impact_d_un_candidat_ne_bouge_que_les_indicateurs_qu_il_doit_bouger(session):
    p = _annee_construite(session)
    logement = p.logement(LILLE)
    session.add(OrientationFlux(logement_id=logement.id, bailleur_id=p.bailleur.id, reservataire_id=p.al.id, annee=2026,
                                date_orientation=JOUR, statut=StatutOrientation.DESIGNEE))
    session.flush()
    q1_prioritaire = p.demande()
    _evaluation(session, q1_prioritaire, quartile=1, prioritaire=True)
    lignes = impact(session, logement.id, q1_prioritaire.id, JOUR)
    assert _variations(lignes) == {
        "premier_quartile_hors_qpv": (1, 1),
        f"publics_prioritaires.r{p.al.id}": (1, 1),
        "contingent_etat": (0, 1),
        "contingent_etat_agents": (0, 1),
    }
    ligne = next(x for x in lignes if x["code"] == "premier_quartile_hors_qpv")
    assert ligne["avant"] == {"numerateur": 3, "denominateur": 6, "taux": 0.5}
    assert ligne["apres"] == {"numerateur": 4, "denominateur": 7, "taux": 0.5714}
    assert ligne["sens"] == "minimum" and ligne["cible"] == 0.25 and ligne["faits_candidat"]["source"] == "evaluation_persistee"
    assert {"code", "libelle", "perimetre", "avant", "apres", "cible", "sens"} <= set(ligne)
    # Les indicateurs suivent la même arithmétique que quotas() : l'avant est l'état de l'année.
    etat = _par_code(quotas(session, MEL, 2026, JOUR))
    for x in lignes:
        assert x["avant"]["numerateur"] == etat[x["code"]]["numerateur"]


def test_en_qpv_sur_la_part_du_bailleur_un_menage_logement_d_abord_bouge_ses_indicateurs(session):
    p = _annee_construite(session)
    logement = p.logement(LILLE, qpv=QPV_LILLE)  # aucune orientation : part propre du bailleur
    candidat = p.demande()
    _evaluation(session, candidat, quartile=3, logement_d_abord=True, dalo=True)
    assert _variations(impact(session, logement.id, candidat.id, JOUR)) == {
        "hors_premier_quartile_en_qpv": (1, 1),
        "publics_prioritaires.bailleur": (1, 1),
        "contingent_etat": (0, 1),
        "contingent_etat_agents": (0, 1),
        "logement_d_abord": (1, 0),
    }


def test_un_logement_hors_flux_ne_change_pas_le_denominateur_du_contingent_de_l_etat(session):
    p = _annee_construite(session)
    logement = p.logement(LILLE)
    orienter(session, logement.id, JOUR, "tests", destination="relogement_anru")
    candidat = p.demande(anru=True)
    _evaluation(session, candidat, quartile=3)
    assert _variations(impact(session, logement.id, candidat.id, JOUR)) == {
        "premier_quartile_hors_qpv": (1, 1),  # relogé ANRU : compte au numérateur malgré le 3e quartile
        "publics_prioritaires.bailleur": (0, 1),
    }


def test_le_quartile_du_candidat_est_celui_de_l_epci_du_logement(session):
    p = Patrimoine(session)
    candidat = p.demande()
    # 750 € par mois pour 1 UC = 9 000 € par an : 2e quartile à Valenciennes (Q1 8 801 €), 1er à Lille (Q1 9 456 €).
    _evaluation(session, candidat, epci=CAVM, quartile=2, ressources_mensuelles=Decimal("750"), unites_consommation=Decimal("1"))
    assert faits_candidat(session, candidat.id, MEL, JOUR)["quartile"] == 1
    assert faits_candidat(session, candidat.id, CAVM, JOUR)["quartile"] == 2


def test_sans_evaluation_persistee_le_dossier_est_evalue_a_la_volee(session):
    p = Patrimoine(session)
    dossier = charger_dossier(json.loads(DOSSIER.read_text(encoding="utf-8")))
    demande, _ = enregistrer_dossier(session, dossier, acteur="tests")
    attendu = evaluer(dossier, None, JOUR, moteur="python", trace=False)
    faits = faits_candidat(session, demande.id, MEL, JOUR)
    assert faits["source"] == "evaluation_a_la_volee"
    assert faits["quartile"] == attendu["ressources"]["quartiles"][MEL]
    assert faits["prioritaire"] is bool(attendu["priorites"]) is True
    logement = p.logement(LILLE)
    assert len(impacts(session, logement.id, [demande.id], JOUR)[demande.id]) == len(quotas(session, MEL, 2026, JOUR)["indicateurs"])
    with pytest.raises(ErreurQuotas, match="Demande 999999 introuvable"):
        impact(session, logement.id, 999999, JOUR)
    with pytest.raises(ErreurQuotas, match="Logement 999999 introuvable"):
        impact(session, 999999, demande.id, JOUR)


# -- la commande -------------------------------------------------------------------------------------


def test_la_commande_quotas_affiche_un_tableau_francais_ou_du_json(backend, engine, sessions):
    if backend != "sqlite":
        pytest.skip("La commande est testée sur SQLite ; PostgreSQL passe par la fonction de service.")
    url = engine.url.render_as_string(hide_password=False)
    with sessions() as s:
        _annee_construite(s)
        s.commit()
    runner = CliRunner()
    r = runner.invoke(main, ["--database-url", url, "quotas", "--epci", MEL, "--annee", "2026", "--date", "2026-06-15"])
    assert r.exit_code == 0, r.output
    assert "Métropole Européenne de Lille" in r.output and "10 attributions suivies d'un bail signé" in r.output
    assert "50,0 %" in r.output and "≥ 25,0 %" in r.output and "dépassé" in r.output and "objectif 8" in r.output
    r = runner.invoke(main, ["--database-url", url, "quotas", "--epci", MEL, "--annee", "2026", "--date", "2026-06-15", "--json"])
    assert json.loads(r.output)["attributions"] == 10
    mauvais = runner.invoke(main, ["--database-url", url, "quotas", "--epci", "MEL", "--annee", "2026"])
    assert mauvais.exit_code == 2 and "SIREN invalide" in mauvais.output and "Traceback" not in mauvais.output
    inconnu = runner.invoke(main, ["--database-url", url, "quotas", "--epci", "123456789", "--annee", "2026"])
    assert inconnu.exit_code == 2 and "inconnu" in inconnu.output
