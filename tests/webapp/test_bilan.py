"""Bilan annuel R441-5-1 : les totaux égalent les attributions et les propositions de l'année, chaque
ventilation retombe sur le total du réservataire, CSV (BOM, points-virgules, en-têtes français) et HTML
autonome et accessible, commande `caleol bilan`."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from webapp.cli import main
from webapp.models import Attribution, OrientationFlux, StatutLogement
from webapp.services.bilan import ENTETES_CSV, bilan_annuel, en_csv, en_html, periode
from webapp.services.flux import orienter

from .test_flux import LILLE, QPV_LILLE, VALENCIENNES, Patrimoine

JOUR = dt.date(2026, 6, 15)


def _annee(session) -> Patrimoine:
    p = Patrimoine(session)
    # Huit logements libérés orientés en 2026 (typologies, financements, QPV, communes et périodes variés).
    logements = [
        p.logement(LILLE, typologie="T2", financement="PLAI", annee_construction=1948),
        p.logement(LILLE, qpv=QPV_LILLE, typologie="T3", annee_construction=1965),
        p.logement(LILLE, qpv=QPV_LILLE, typologie="T4", financement="PLS", annee_construction=1980),
        p.logement(VALENCIENNES, typologie="T3", annee_construction=1995),
        p.logement(VALENCIENNES, typologie="T5", annee_construction=2010),
        p.logement(LILLE, typologie="T1", annee_construction=2020),
        p.logement(LILLE, typologie="T3", annee_construction=2020),
        p.logement(VALENCIENNES, typologie="T2", annee_construction=1990),
    ]
    orientations = [orienter(session, lg.id, dt.date(2026, 3, 1) + dt.timedelta(days=i), "tests") for i, lg in enumerate(logements)]
    hors_flux = orienter(session, p.logement(LILLE, typologie="T3").id, dt.date(2026, 3, 2), "tests", destination="mutation_interne")
    # Trois des logements orientés sont attribués (un bail pas encore signé), la mutation aussi.
    for o, bail in zip(orientations[:3], (dt.date(2026, 4, 20), None, dt.date(2026, 5, 2)), strict=True):
        p.attribution(o.logement, reservataire=o.reservataire, decision=dt.date(2026, 4, 10), bail=bail)
    p.attribution(hors_flux.logement, reservataire=None, decision=dt.date(2026, 3, 20), bail=dt.date(2026, 4, 1))
    # Attributions reprises sans orientation : deux en 2026, une en 2025 (hors du bilan 2026).
    p.attribution(p.logement(LILLE, statut=StatutLogement.OCCUPE, typologie="T4"), reservataire=p.al, decision=dt.date(2026, 2, 1))
    p.attribution(p.logement(VALENCIENNES, statut=StatutLogement.OCCUPE), reservataire=p.cavm, decision=dt.date(2026, 1, 15))
    p.attribution(p.logement(LILLE, statut=StatutLogement.OCCUPE), reservataire=p.al, decision=dt.date(2025, 11, 15),
                  bail=dt.date(2025, 12, 1))
    return p


def test_les_periodes_de_construction_viennent_de_rules():
    assert periode(1948) == "Avant 1949"
    assert periode(1949) == "De 1949 à 1974"
    assert periode(2014) == "De 2005 à 2014" and periode(2015) == "Depuis 2015"
    assert periode(None) == "Période inconnue"


def test_les_totaux_du_bilan_egalent_les_attributions_et_les_propositions_de_l_annee(session):
    _annee(session)
    b = bilan_annuel(session, 2026)
    attributions_2026 = session.scalar(select(func.count()).select_from(Attribution).where(
        Attribution.date_decision.between(dt.date(2026, 1, 1), dt.date(2026, 12, 31))))
    signees = session.scalar(select(func.count()).select_from(Attribution).where(
        Attribution.date_decision.between(dt.date(2026, 1, 1), dt.date(2026, 12, 31)), Attribution.date_signature_bail.is_not(None)))
    orientations_2026 = session.scalar(select(func.count()).select_from(OrientationFlux).where(OrientationFlux.annee == 2026))
    assert b["totaux"] == {"attribues": attributions_2026, "baux_signes": signees, "proposes": orientations_2026 + 2}
    assert b["totaux"] == {"attribues": 6, "baux_signes": 5, "proposes": 11}
    (bailleur,) = b["bailleurs"]
    assert bailleur["totaux"] == b["totaux"]
    for r in bailleur["reservataires"]:
        for d in b["dimensions"]:
            for champ in ("proposes", "attribues", "baux_signes"):
                assert sum(v[champ] for v in r["par"][d["code"]]) == r[champ], (r["nom"], d["code"], champ)
    par_nom = {r["nom"]: r for r in bailleur["reservataires"]}
    assert par_nom["Valenciennes (réservataire)"]["attribues"] == 1  # reprise sans orientation
    hors = [x for x in b["lignes"] if x["hors_flux"]]
    assert [(x["hors_flux"], x["proposes"], x["attribues"], x["type"]) for x in hors] == [("Mutation interne", 1, 1, "bailleur")]
    assert {v["valeur"] for v in par_nom["Bailleur d'essai — hors contingent"]["par"]["qpv"]} <= {"En QPV", "Hors QPV"}


def test_un_bilan_vide_et_un_bailleur_inconnu(session):
    p = Patrimoine(session)
    b = bilan_annuel(session, 2024)
    assert b["totaux"] == {"proposes": 0, "attribues": 0, "baux_signes": 0} and b["bailleurs"][0]["reservataires"] == []
    assert "Aucun logement proposé ni attribué en 2024" in en_html(b).decode("utf-8")
    from webapp.services.bilan import ErreurBilan

    with pytest.raises(ErreurBilan, match="Bailleur 999999 introuvable"):
        bilan_annuel(session, 2026, bailleur_id=999999)
    assert bilan_annuel(session, 2026, bailleur_id=p.bailleur.id)["bailleurs"][0]["id"] == p.bailleur.id


def _lire_csv(contenu: bytes) -> list[list[str]]:
    assert contenu.startswith(b"\xef\xbb\xbf")  # BOM : les tableurs lisent l'UTF-8
    return list(csv.reader(io.StringIO(contenu.decode("utf-8-sig")), delimiter=";"))


def test_le_csv_a_des_entetes_francais_et_ses_colonnes_retombent_sur_les_totaux(session):
    _annee(session)
    b = bilan_annuel(session, 2026)
    lignes = _lire_csv(en_csv(b))
    assert lignes[0] == [
        "Année", "Bailleur", "Réservataire", "Type de réservataire", "Code INSEE", "Commune", "Typologie", "Financement",
        "Localisation", "Période de construction", "Hors flux", "Logements proposés", "Logements attribués",
        "dont baux signés",
    ] == ENTETES_CSV
    corps = lignes[1:]
    assert len(corps) == len(b["lignes"]) and all(x[0] == "2026" for x in corps)
    assert sum(int(x[11]) for x in corps) == 11 and sum(int(x[12]) for x in corps) == 6 and sum(int(x[13]) for x in corps) == 5
    assert {x[8] for x in corps} == {"En QPV", "Hors QPV"} and "Avant 1949" in {x[9] for x in corps}
    assert any(x[5] == "Lille" and x[4] == LILLE for x in corps)


def test_le_html_est_autonome_francais_et_accessible(session):
    _annee(session)
    html = en_html(bilan_annuel(session, 2026)).decode("utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<html lang="fr">' in html and '<meta charset="utf-8">' in html
    assert "<caption>" in html and 'scope="col"' in html and 'scope="row"' in html
    assert not re.search(r"<(link|script|img)\b", html) and "http" not in html.split("<body>")[1]
    assert "R441-5-1" in html and "Logements proposés" in html
    total = re.search(r'<tfoot><tr><th scope="row">Total</th><td class="nombre">(\d+)</td><td class="nombre">(\d+)</td>'
                      r'<td class="nombre">(\d+)</td>', html)
    assert total.groups() == ("11", "6", "5")


def test_la_commande_bilan_ecrit_un_csv_ou_un_html(backend, engine, sessions, tmp_path):
    if backend != "sqlite":
        pytest.skip("La commande est testée sur SQLite ; PostgreSQL passe par la fonction de service.")
    url = engine.url.render_as_string(hide_password=False)
    with sessions() as s:
        _annee(s)
        s.commit()
    runner = CliRunner()
    r = runner.invoke(main, ["--database-url", url, "bilan", "--annee", "2026"])
    assert r.exit_code == 0, r.output
    assert sum(int(x[12]) for x in _lire_csv(r.stdout_bytes)[1:]) == 6
    sortie = tmp_path / "bilan.html"
    r = runner.invoke(main, ["--database-url", url, "bilan", "--annee", "2026", "--format", "html", "--sortie", str(sortie)])
    assert r.exit_code == 0 and "6 attributions, 11 logements proposés" in r.output, r.output
    assert '<html lang="fr">' in sortie.read_text(encoding="utf-8")
    mauvais = runner.invoke(main, ["--database-url", url, "bilan", "--annee", "26"])
    assert mauvais.exit_code == 2 and "année invalide" in mauvais.output
    impossible = runner.invoke(main, ["--database-url", url, "bilan", "--annee", "2026", "--sortie", str(tmp_path / "absent" / "b.csv")])
    assert impossible.exit_code == 2 and "impossible d'écrire" in impossible.output and "Traceback" not in impossible.output
