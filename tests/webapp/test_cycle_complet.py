"""Le cycle complet de l'issue 8 sur les données de démonstration, en ligne de commande.

Séance → attribution par classement (3 rangs) → offre refusée par le rang 1 avec un motif codé (refus
enregistré, pénalité de la grille de cotation visible à la réévaluation) → offre au rang 2 acceptée →
bail signé → demande radiée RADATT → export SNE des décisions et de la radiation.

La séance et ses décisions passent par les services (ce que font les pages : aucune commande ne
décide) ; tout ce qui suit la séance passe par `caleol offres …` et `caleol export-sne`.
"""
from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.regles import reglement
from webapp.cli import Contexte, main
from webapp.demo.service import charger_demo
from webapp.models import (
    Attribution,
    Commission,
    Demande,
    EvaluationDemande,
    ModeSeance,
    Offre,
    RefusOffre,
    StatutDemande,
    StatutOffre,
    Utilisateur,
)
from webapp.services import decisions as svc_decisions
from webapp.services import preparation
from webapp.services.decisions import DonneesDecision
from webapp.services.evaluations import recalculer_evaluations

JOUR_SEANCE = dt.date(2026, 6, 15)  # CALEOL_TODAY of the tests
JOUR_ACCEPTATION = dt.date(2026, 6, 17)
JOUR_BAIL = dt.date(2026, 6, 18)
NS = "{http://nuu.application.i2/}"


class Acteur:
    def __init__(self, u: Utilisateur) -> None:
        self.id, self.identifiant, self.role, self.organisation_id = u.id, u.identifiant, u.role, u.organisation_id


def _grille(nom: str):
    return next(g for g in reglement().grilles if g.id == nom)


@pytest.fixture
def seance_decidee(sessions):
    """Demo data, a séance of the Métropole lilloise commission today, one logement with three candidates
    ranked 1 to 3 by the commission, séance closed. Returns (séance id, [demande id of rank 1, 2, 3])."""
    with sessions.begin() as s:
        charger_demo(s, seed=7, nb_dossiers=300, nb_logements=120, acteur="test", date_reference=JOUR_SEANCE)
    with sessions.begin() as s:
        recalculer_evaluations(s, JOUR_SEANCE, processus=1, acteur="test")
    with sessions.begin() as s:
        charge = Acteur(s.scalars(select(Utilisateur).where(Utilisateur.identifiant == "charge.attribution")).one())
        president = s.scalars(select(Utilisateur).where(Utilisateur.identifiant == "presidence")).one()
        commission = s.scalars(select(Commission).where(Commission.nom == "CALEOL Métropole lilloise")).one()
        seance = preparation.creer_seance(
            s, commission_id=commission.id, bailleur_id=charge.organisation_id, date_seance=JOUR_SEANCE,
            mode=ModeSeance.PHYSIQUE, quorum=1, acteur=charge.identifiant,
            membres=[preparation.Membre(nom="Présidence", qualite="Président(e) de la commission", voix_deliberative=True,
                                        present=True, utilisateur_id=president.id)],
        )
        # The first vacant logement of the territory whose proposal has three candidates.
        point = None
        for logement in preparation.logements_inscriptibles(s, seance):
            [point] = preparation.inscrire_logements(s, seance, [logement.id], acteur=charge.identifiant)
            if len(point.proposition["candidats"]) >= 3:
                break
        assert point is not None and len(point.proposition["candidats"]) >= 3, "aucun logement à trois candidats"
        seance_id, logement_id, membre_id = seance.id, point.logement_id, seance.membres[0].id
        candidatures = {c.rang_propose: c.id for c in seance.candidatures if c.logement_id == logement_id}
        autres = [c.id for c in seance.candidatures if c.logement_id != logement_id]
    president_acteur = Acteur(president)
    for rang in (1, 2, 3):
        with sessions.begin() as s:
            svc_decisions.enregistrer_decision(s, candidature_id=candidatures[rang], acteur=president_acteur,
                                               donnees=DonneesDecision(type="attribution_rang", rang=rang),
                                               votes={membre_id: "pour"})
    for cid in [c for r, c in candidatures.items() if r > 3] + autres:
        with sessions.begin() as s:
            svc_decisions.enregistrer_decision(s, candidature_id=cid, acteur=president_acteur,
                                               donnees=DonneesDecision(type="non_attribution", motifs=["NA_CANDIDAT_MIEUX_CLASSE"]),
                                               votes={membre_id: "contre"})
    with sessions.begin() as s:
        svc_decisions.cloturer_seance(s, seance_id=seance_id, acteur=president_acteur)
        demandes = [s.scalars(select(Offre.demande_id).where(Offre.seance_id == seance_id)).one()]
        from webapp.models import Candidature

        for rang in (2, 3):
            demandes.append(s.get(Candidature, candidatures[rang]).demande_id)
    return seance_id, logement_id, demandes


def test_le_cycle_complet_en_ligne_de_commande(sessions, engine, seance_decidee, monkeypatch, tmp_path):
    seance_id, logement_id, (rang1, rang2, rang3) = seance_decidee
    monkeypatch.setattr(Contexte, "engine", property(lambda _self: engine))
    runner = CliRunner()

    def caleol(*args: str) -> str:
        r = runner.invoke(main, list(args), catch_exceptions=False)
        assert r.exit_code == 0, r.output
        return r.output

    # 1. After the closure: one offer, to rank 1, with its deadline (R441-10: 10 days).
    [offre1] = json.loads(caleol("offres", "lister", "--seance", str(seance_id), "--json"))
    assert (offre1["demande_id"], offre1["rang"], offre1["statut"], offre1["date_limite_reponse"]) == (
        rang1, 1, "en_cours", "2026-06-25")
    with sessions() as s:
        avant = s.get(EvaluationDemande, rang1)
        score_avant, grille = avant.score, avant.grille
    assert grille == "mel_demonstration"  # the premise: the EPCI's grid penalises a refusal without legitimate motif
    penalite = _grille(grille).points_par_refus
    assert penalite < 0 and _grille(grille).refus_compter == "non_legitimes"

    # 2. Rank 1 refuses (neighbourhood not wished: no legitimate motif) → structured refusal, penalty, rank 2.
    sortie = json.loads(caleol("offres", "repondre", str(offre1["id"]), "refusee", "--motif", "QUARTIER",
                               "--utilisateur", "charge.attribution", "--json"))
    assert (sortie["statut"], sortie["motif_refus"]) == ("refusee", "QUARTIER")
    with sessions() as s:
        refus = s.scalars(select(RefusOffre).where(RefusOffre.demande_id == rang1, RefusOffre.details.is_not(None))).all()
        assert [(r.motif, r.motif_legitime, r.date_refus) for r in refus if (r.details or {}).get("offre_id") == offre1["id"]] == [
            ("QUARTIER", False, JOUR_SEANCE)]
        apres = s.get(EvaluationDemande, rang1)
        nb_non_legitimes = sum(1 for r in s.get(Demande, rang1).refus if not r.motif_legitime)
        ligne = next(x for x in apres.detail_cotation if x["critere"] == f"{grille}.refus")
        assert Decimal(str(ligne["points"])) == Decimal(str(penalite)) * nb_non_legitimes
        assert apres.score == score_avant + Decimal(str(penalite))
    offres = json.loads(caleol("offres", "lister", "--seance", str(seance_id), "--json"))
    offre2 = next(o for o in offres if o["statut"] == "en_cours")
    assert (offre2["demande_id"], offre2["rang"], offre2["date_limite_reponse"]) == (rang2, 2, "2026-06-25")

    # 3. Rank 2 accepts two days later, the lease is signed the next day.
    monkeypatch.setenv("CALEOL_TODAY", JOUR_BAIL.isoformat())
    caleol("offres", "repondre", str(offre2["id"]), "acceptee", "--date", JOUR_ACCEPTATION.isoformat(),
           "--utilisateur", "presidence")
    texte = caleol("offres", "bail", str(offre2["id"]), "--date", JOUR_BAIL.isoformat(), "--utilisateur", "charge.attribution")
    assert "Bail signé : attribution close, demande radiée (RADATT)." in texte

    # 4. The demande is radiée RADATT at the lease date; the attribution is closed and counts in the quotas.
    from webapp.services.quotas import attributions_signees

    with sessions() as s:
        d = s.get(Demande, rang2)
        assert (d.statut, d.motif_radiation, d.date_radiation) == (StatutDemande.RADIEE, "RADATT", JOUR_BAIL)
        a = s.scalars(select(Attribution).where(Attribution.logement_id == logement_id, Attribution.date_decision == JOUR_SEANCE)).one()
        assert (a.demande_id, a.date_signature_bail) == (rang2, JOUR_BAIL)
        assert s.get(EvaluationDemande, rang2) is None  # no longer in the active file
        assert s.get(Demande, rang3).statut == StatutDemande.ACTIVE
        assert s.scalars(select(Offre).where(Offre.demande_id == rang3)).all() == []
        assert len(attributions_signees(s, "200093201", 2026, JOUR_BAIL)) >= 1
        statuts = sorted(StatutOffre(o.statut).value for o in s.scalars(select(Offre).where(Offre.seance_id == seance_id)))
    assert statuts == ["bail_signe", "refusee"]

    # 5. SNE export: the séance's decisions (the three ranks), then the RADATT radiation with its lease.
    dossier = tmp_path / "sne"
    dossier.mkdir()
    export = json.loads(caleol("export-sne", "--jour", JOUR_SEANCE.isoformat(), "--sortie", str(dossier), "--json"))
    xml = ET.parse(export["chemin"]).getroot()
    decisions = {}
    for bloc in xml.iter(f"{NS}demande"):
        numero = bloc.find(f".//{NS}numUnique").text
        dc = bloc.find(f".//{NS}decisionCommission")
        if dc is not None and dc.find(f"{NS}logementAttribue/{NS}reference") is not None:
            decisions[numero] = (dc.find(f"{NS}decision").get("code"), dc.findtext(f"{NS}rang"),
                                 dc.findtext(f"{NS}logementAttribue/{NS}reference"))
    with sessions() as s:
        numeros = {i: s.get(Demande, i).numero_unique for i in (rang1, rang2, rang3)}
        reference = s.get(Attribution, a.id).logement.reference
    assert {decisions[numeros[i]] for i in (rang1, rang2, rang3)} == {
        ("attribution_rang", "1", reference), ("attribution_rang", "2", reference), ("attribution_rang", "3", reference)}
    export = json.loads(caleol("export-sne", "--jour", JOUR_BAIL.isoformat(), "--sortie", str(dossier), "--json"))
    assert export["nb_radiations"] >= 1
    xml = ET.parse(export["chemin"]).getroot()
    radiations = {b.findtext(f".//{NS}numUnique"): b.find(f".//{NS}radiation") for b in xml.iter(f"{NS}demande")
                  if b.find(f".//{NS}radiation") is not None}
    rad = radiations[numeros[rang2]]
    assert rad.find(f"{NS}motifRadiation").get("code") == "RADATT"
    assert rad.findtext(f"{NS}dateRadiation") == JOUR_BAIL.isoformat()
    assert rad.findtext(f"{NS}attribution/{NS}dateSignatureBail") == JOUR_BAIL.isoformat()
    assert rad.findtext(f"{NS}attribution/{NS}logementAttribue/{NS}reference") == reference
