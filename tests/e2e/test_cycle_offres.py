"""The full cycle of issue 8 in a real browser, on the demo data.

The chargé d'attribution prepares a séance with one logement; the président ranks its three candidates
and closes the séance; the offer goes to rank 1, who refuses it (coded motif): the refusal is recorded
and the cotation penalty of the EPCI's grid shows at once; the offer goes to rank 2, who accepts; the
lease is signed: the demande is radiée RADATT; the SNE export carries the decisions and the radiation.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

from sqlalchemy import select

from engine.regles import reglement
from webapp.models import (
    Attribution,
    Decision,
    Demande,
    EvaluationDemande,
    Offre,
    PointOrdreDuJour,
    RefusOffre,
    StatutDemande,
    StatutOffre,
)

from .conftest import capture
from .test_parcours_seance import connecter, decider, deconnecter

NS = "{http://nuu.application.i2/}"


def test_seance_classement_refus_acceptation_bail_radiation_et_export(page, serveur, tmp_path):
    base, sessions = serveur

    # 1. The chargé d'attribution prepares a séance today with the first vacant logement of the list.
    connecter(page, base, "charge.attribution")
    page.locator("#menu-nouvelle-seance").click()
    page.get_by_label("Commission").select_option(label="CALEOL Métropole lilloise")
    page.get_by_label("Date de la séance").fill("2026-06-15")
    page.locator("#creer-seance").click()
    page.wait_for_url(re.compile(r".*/ordre-du-jour$"))
    seance_id = int(re.search(r"/seances/(\d+)/", page.url).group(1))
    page.locator("input[name=logements]").first.check()
    page.locator("#inscrire").click()
    page.wait_for_load_state()
    with sessions() as s:
        [point] = s.scalars(select(PointOrdreDuJour).where(PointOrdreDuJour.seance_id == seance_id)).all()
        assert len(point.proposition["candidats"]) == 3, "le premier logement vacant n'a pas trois candidats"
        logement_id = point.logement_id
    deconnecter(page)

    # 2. The président ranks the three candidates in the proposed order and closes the séance.
    connecter(page, base, "presidence")
    page.goto(f"{base}/decisions/seances/{seance_id}")
    lignes = page.locator(f"section[aria-labelledby=logement-{logement_id}] tbody tr")
    liens = [lignes.nth(j).locator("a").get_attribute("href") for j in range(lignes.count())]
    for rang, lien in enumerate(liens, start=1):
        page.goto(base + lien)
        decider(page, type_="attribution_rang", rang=rang)
    page.goto(f"{base}/decisions/seances/{seance_id}")
    page.locator("#bouton-cloture").click()
    page.wait_for_load_state()
    assert "close" in page.locator("#statut-seance").inner_text()
    assert page.locator("#lien-offres").is_visible()
    deconnecter(page)
    with sessions() as s:
        rangs = {d.rang: d.candidature.demande_id for d in s.scalars(select(Decision).where(Decision.seance_id == seance_id))}
        rang1, rang2 = rangs[1], rangs[2]
        [offre1] = s.scalars(select(Offre).where(Offre.seance_id == seance_id)).all()
        assert (offre1.demande_id, offre1.statut) == (rang1, StatutOffre.EN_COURS)
        avant = s.get(EvaluationDemande, rang1)
        score_avant, grille = avant.score, avant.grille
        numeros = {i: s.get(Demande, i).numero_unique for i in (rang1, rang2)}
    penalite = next(g for g in reglement().grilles if g.id == grille).points_par_refus
    assert penalite < 0, f"la grille {grille} ne pénalise pas les refus : le test n'a pas de sens"

    # 3. The chargé d'attribution records the refusal of rank 1 with a coded motif.
    connecter(page, base, "charge.attribution")
    page.locator("#menu-offres").click()
    page.wait_for_url(f"{base}/offres")
    capture(page, "10-offres-et-baux")
    page.locator(f"#lien-offre-{offre1.id}").click()
    assert "en attente de réponse" in page.locator("#statut-offre").inner_text()
    page.locator("#reponse-refusee").check()
    page.get_by_label("Motif du refus (obligatoire pour un refus)").select_option("QUARTIER")
    page.locator("#bouton-reponse").click()
    page.wait_for_load_state()
    assert page.locator("#resume-erreurs").count() == 0
    assert "refusée" in page.locator("#statut-offre").inner_text()
    capture(page, "11-offre-refusee")
    with sessions() as s:
        [refus] = [r for r in s.scalars(select(RefusOffre).where(RefusOffre.demande_id == rang1))
                   if (r.details or {}).get("offre_id") == offre1.id]
        assert (refus.motif, refus.motif_legitime) == ("QUARTIER", False)
        apres = s.get(EvaluationDemande, rang1)
        assert apres.score == score_avant + Decimal(str(penalite))
        assert any(x["critere"] == f"{grille}.refus" for x in apres.detail_cotation)
        offre2 = s.scalars(select(Offre).where(Offre.seance_id == seance_id, Offre.rang == 2)).one()
        assert (offre2.demande_id, offre2.statut) == (rang2, StatutOffre.EN_COURS)

    # 4. Rank 2 accepts; the lease is signed.
    page.goto(f"{base}/offres")
    page.locator(f"#lien-offre-{offre2.id}").click()
    page.locator("#reponse-acceptee").check()
    page.locator("#bouton-reponse").click()
    page.wait_for_load_state()
    assert "acceptée" in page.locator("#statut-offre").inner_text()
    page.get_by_label("Date de signature du bail (AAAA-MM-JJ)").fill("2026-06-15")
    page.locator("#bouton-bail").click()
    page.wait_for_load_state()
    assert page.locator("#resume-erreurs").count() == 0
    assert "bail signé" in page.locator("#statut-offre").inner_text()
    assert "RADATT" in page.locator("#radiation").inner_text()
    capture(page, "12-bail-signe")
    with sessions() as s:
        d = s.get(Demande, rang2)
        assert (d.statut, d.motif_radiation, d.date_radiation.isoformat()) == (StatutDemande.RADIEE, "RADATT", "2026-06-15")
        a = s.scalars(select(Attribution).where(Attribution.decision_id == offre2.decision_id)).one()
        assert (a.demande_id, a.date_signature_bail.isoformat()) == (rang2, "2026-06-15")
        reference = a.logement.reference

    # 5. The SNE export (everything not yet sent) carries the séance's decisions and the RADATT radiation.
    page.locator("#menu-exports-sne").click()
    page.locator("#etendue-tout").check()
    page.get_by_role("button", name="Générer l'export").click()
    page.wait_for_load_state()
    export_id = int(re.search(r"#export-(\d+)$", page.url).group(1))
    with page.expect_download() as telechargement:
        page.locator(f"#export-{export_id} a").click()
    fichier = tmp_path / "export.xml"
    telechargement.value.save_as(fichier)
    capture(page, "13-export-sne")
    racine = ET.parse(fichier).getroot()
    blocs = {}
    for b in racine.iter(f"{NS}demande"):
        blocs.setdefault(b.findtext(f".//{NS}numUnique"), []).append(b)
    decisions_rang2 = [b.find(f".//{NS}decisionCommission") for b in blocs[numeros[rang2]]]
    assert any(dc is not None and dc.find(f"{NS}decision").get("code") == "attribution_rang" and dc.findtext(f"{NS}rang") == "2"
               and dc.findtext(f"{NS}logementAttribue/{NS}reference") == reference for dc in decisions_rang2)
    [rad] = [b.find(f".//{NS}radiation") for b in blocs[numeros[rang2]] if b.find(f".//{NS}radiation") is not None]
    assert rad.find(f"{NS}motifRadiation").get("code") == "RADATT"
    assert rad.findtext(f"{NS}attribution/{NS}dateSignatureBail") == "2026-06-15"
    assert any(b.find(f".//{NS}decisionCommission/{NS}rang") is not None for b in blocs[numeros[rang1]])
