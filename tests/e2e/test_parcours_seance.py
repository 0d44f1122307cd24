"""The commission's day in a real browser.

An officer creates a séance with three vacant logements; the président records an attribution par
classement and a non-attribution with a motif, closes the séance and downloads the PDF minutes.
"""
from __future__ import annotations

import re

from pypdf import PdfReader
from sqlalchemy import select

from webapp.models import Attribution, Decision, Seance, StatutSeance, TypeDecision

from .conftest import capture

MDP = "caleol-demo"


def connecter(page, base, identifiant):
    page.goto(f"{base}/connexion")
    page.get_by_label("Identifiant").fill(identifiant)
    page.get_by_label("Mot de passe").fill(MDP)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/")


def deconnecter(page):
    page.get_by_role("button", name="Se déconnecter").click()


def decider(page, *, type_, rang=None, motif=None, vote="pour", justification=None):
    page.locator(f"#type-{type_}").check()
    if rang is not None:
        page.locator("#rang").fill(str(rang))
    if motif is not None:
        page.locator(f"#motif-{motif}").check()
    if justification:
        page.locator("#justification").fill(justification)
    page.locator("#unanimite").select_option(vote)
    page.locator("#bouton-decision").click()
    page.wait_for_load_state()
    erreurs = page.locator("#resume-erreurs, .message.erreur")
    assert erreurs.count() == 0, erreurs.first.inner_text()


def test_une_seance_de_bout_en_bout(page, serveur, tmp_path):
    base, sessions = serveur

    # 1. The chargé d'attribution prepares the séance.
    connecter(page, base, "charge.attribution")
    page.locator("#menu-nouvelle-seance").click()
    page.get_by_label("Commission").select_option(label="CALEOL Métropole lilloise")
    page.get_by_label("Date de la séance").fill("2026-06-22")
    capture(page, "01-nouvelle-seance")
    page.locator("#creer-seance").click()
    page.wait_for_url(re.compile(r".*/ordre-du-jour$"))
    seance_id = int(re.search(r"/seances/(\d+)/", page.url).group(1))
    cases = page.locator("input[name=logements]")
    assert cases.count() >= 3
    for i in range(3):
        cases.nth(i).check()
    page.locator("#inscrire").click()
    page.wait_for_load_state()
    assert page.locator("#logements-inscrits tbody tr").count() == 3
    capture(page, "02-ordre-du-jour")
    page.locator("#logements-inscrits a").first.click()
    assert page.locator("section.candidat").count() >= 1
    capture(page, "03-propositions-classees")
    deconnecter(page)

    # 2. The président decides every case of the agenda.
    connecter(page, base, "presidence")
    page.goto(f"{base}/decisions/seances/{seance_id}")
    sections = page.locator("section[aria-labelledby^=logement-]")
    assert sections.count() == 3
    liens = []
    for i in range(3):
        lignes = sections.nth(i).locator("tbody tr")
        liens.append([lignes.nth(j).locator("a").get_attribute("href") for j in range(lignes.count())])
    # Logement 1: attribution par classement, in the proposed order.
    for rang, lien in enumerate(liens[0], start=1):
        page.goto(base + lien)
        decider(page, type_="attribution_rang", rang=rang)
    capture(page, "04-decision-classement")
    # Logement 2: the first proposed is not retained (taux d'effort); the others are ranked, with a justification.
    page.goto(base + liens[1][0])
    decider(page, type_="non_attribution", motif="NA_TAUX_EFFORT", vote="contre")
    capture(page, "05-non-attribution-motivee")
    for rang, lien in enumerate(liens[1][1:], start=1):
        page.goto(base + lien)
        decider(page, type_="attribution_rang", rang=rang,
                  justification="Le premier candidat proposé n'est pas retenu : taux d'effort trop élevé.")
    # Logement 3: attribution to the first, non-attribution (better ranked candidate) for the others.
    page.goto(base + liens[2][0])
    decider(page, type_="attribution")
    for lien in liens[2][1:]:
        page.goto(base + lien)
        decider(page, type_="non_attribution", motif="NA_CANDIDAT_MIEUX_CLASSE", vote="contre")

    # 3. Close the séance, sign and download the minutes.
    page.goto(f"{base}/decisions/seances/{seance_id}")
    page.locator("#bouton-cloture").click()
    page.wait_for_load_state()
    assert "close" in page.locator("#statut-seance").inner_text()
    page.locator("#bouton-signature").click()
    page.wait_for_load_state()
    capture(page, "06-seance-close")
    with page.expect_download() as telechargement:
        page.locator("#pv-pdf").click()
    pdf = tmp_path / "pv.pdf"
    telechargement.value.save_as(pdf)
    texte = " ".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert "procès-verbal" in texte.lower()
    assert "taux d" in texte.lower()

    with sessions() as s:
        seance = s.get(Seance, seance_id)
        assert seance.statut == StatutSeance.CLOSE and seance.version_regles
        types = [d.type for d in s.scalars(select(Decision).where(Decision.seance_id == seance_id))]
        assert TypeDecision.ATTRIBUTION_RANG in types and TypeDecision.NON_ATTRIBUTION in types
        assert len(s.scalars(select(Attribution).join(Decision).where(Decision.seance_id == seance_id)).all()) >= 3
