"""Procès-verbal et lettres de notification : fichiers de référence (HTML et texte extrait du PDF).

Les fichiers de tests/webapp/golden/documents/ ne se régénèrent qu'avec CALEOL_REGENERER_GOLDEN=1 ;
la date (CALEOL_TODAY), les données et la version des règles sont fixes. Le PDF est comparé par son
texte (pypdf), espaces normalisés, jamais par ses octets.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from pypdf import PdfReader

from webapp.models import Candidature, Seance
from webapp.services import decisions as svc
from webapp.services import documents
from webapp.services.decisions import DonneesDecision

from .decisions_exemple import Acteur, client, construire

GOLDEN = Path(__file__).resolve().parent / "golden" / "documents"
REGENERER = os.environ.get("CALEOL_REGENERER_GOLDEN") == "1"
VERSION = "0.1.0-golden000000"
N1, N2, N3, N4, N5, N6 = (f"059112600000{i}{c}" for i, c in zip(range(1, 7), "ABCDEF", strict=True))


def texte_pdf(pdf: bytes) -> str:
    """Text of each page, one stripped line per PDF line, without empty lines."""
    lignes = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for ligne in (page.extract_text() or "").splitlines():
            ligne = " ".join(ligne.split())
            if ligne:
                lignes.append(ligne)
    return "\n".join(lignes) + "\n"


def comparer(nom: str, obtenu: str) -> None:
    chemin = GOLDEN / nom
    if REGENERER:
        chemin.parent.mkdir(parents=True, exist_ok=True)
        chemin.write_text(obtenu, encoding="utf-8")
        return
    assert chemin.exists(), f"{chemin} absent : lancez les tests avec CALEOL_REGENERER_GOLDEN=1"
    attendu = chemin.read_text(encoding="utf-8")
    if nom.endswith(".txt"):
        # Line breaks of a PDF depend on the fonts' metrics: compare the words.
        assert " ".join(obtenu.split()) == " ".join(attendu.split()), nom
    else:
        assert obtenu == attendu, nom


@pytest.fixture
def seance_decidee(sessions):
    """The fixed séance, every candidate decided, closed with a fixed version and signed."""
    m = construire(sessions)
    president = Acteur(sessions, "president")
    votants = [m.membres[k] for k in ("president", "membre1", "locataires", "maire", "prefet")]

    def tous(choix):
        return dict.fromkeys(votants, choix)

    with sessions.begin() as s:
        svc.voter(s, candidature_id=m.candidatures[N2], acteur=Acteur(sessions, "prefet"), choix=None,
                  conflit_interets=True)
    plan = [
        (N1, DonneesDecision(type="attribution_rang", rang=2, justification="Le ménage proposé deuxième est prioritaire DALO & relogé en urgence."), tous("pour")),
        (N2, DonneesDecision(type="attribution_rang", rang=1, motifs=["ATT_DALO"], justification="Reconnu prioritaire DALO : classé premier."),
         {votants[0]: "pour", votants[1]: "pour", votants[2]: "contre", votants[3]: "pour", votants[4]: "conflit"}),
        (N3, DonneesDecision(type="rejet_irrecevabilite", motifs=["REJ_PLAFONDS"]), tous("contre")),
        (N4, DonneesDecision(type="attribution_sous_condition", piece_manquante="AVIS_IMPOSITION",
                             date_limite_condition="2026-06-25"),
         {votants[0]: "pour", votants[1]: "contre", votants[2]: "contre", votants[3]: "pour", votants[4]: "abstention"}),
        (N5, DonneesDecision(type="non_attribution", motifs=["NA_CANDIDAT_MIEUX_CLASSE"]), tous("contre")),
        (N6, DonneesDecision(type="non_attribution", motifs=["NA_TYPOLOGIE_INADAPTEE", "NA_TAUX_EFFORT"]), tous("contre")),
    ]
    for numero, donnees, votes in plan:
        with sessions.begin() as s:
            svc.enregistrer_decision(s, candidature_id=m.candidatures[numero], acteur=president, donnees=donnees, votes=votes)
    with sessions.begin() as s:
        svc.cloturer_seance(s, seance_id=m.seance_id, acteur=president, version=VERSION)
    with sessions.begin() as s:
        seance = s.get(Seance, m.seance_id)
        svc.signer_proces_verbal(s, seance_id=m.seance_id, acteur=president,
                                 html=documents.pv_html(s, seance, avec_signature=False))
    return m


def test_proces_verbal_html_et_pdf(sessions, seance_decidee):
    with sessions() as s:
        seance = s.get(Seance, seance_decidee.seance_id)
        html = documents.pv_html(s, seance)
        nominatif = documents.pv_html(s, seance, nominatif=True)
    comparer("pv.html", html)
    comparer("pv_nominatif.html", nominatif)
    comparer("pv.txt", texte_pdf(documents.en_pdf(html)))


def test_le_proces_verbal_dit_tout_ce_que_la_commission_a_decide(sessions, seance_decidee):
    with sessions() as s:
        texte = " ".join(texte_pdf(documents.en_pdf(documents.pv_html(s, s.get(Seance, seance_decidee.seance_id)))).split())
    for attendu in (
        "5 membre(s) à voix délibérative présent(s) pour un quorum de 3 : quorum atteint.",
        "Albert Absent", "absent(e)", "consultative",
        "Logement L-1", "0591126000001A",
        "Attribution par classement (rang 1 à 3) — rang 2",
        "Écart à l'ordre proposé. Justification : Le ménage proposé deuxième est prioritaire DALO & relogé en urgence.",
        "Ressources supérieures aux plafonds réglementaires",
        "article R441-1, 1°",
        "Pièce manquante : Avis d'imposition",
        "2 pour, 2 contre, 1 abstention(s) : favorable à l'attribution (voix prépondérante du maire)",
        "Pierre Préfet (Représentant(e) du préfet) a déclaré un conflit d'intérêts",
        f"Version des règles appliquées, enregistrée à la clôture : {VERSION}.",
        "Signé électroniquement le 15/06/2026 à 12:00 (UTC).",
    ):
        assert attendu in texte, attendu
    assert "BENALI" not in texte  # names only in the nominative version


LETTRES = {N2: "lettre_attribution_rang", N4: "lettre_sous_condition", N5: "lettre_non_attribution", N3: "lettre_irrecevabilite"}


@pytest.mark.parametrize("numero", list(LETTRES))
def test_lettres_de_notification(sessions, seance_decidee, numero):
    with sessions() as s:
        html = documents.lettre_html(s, s.get(Candidature, seance_decidee.candidatures[numero]))
    comparer(f"{LETTRES[numero]}.html", html)
    comparer(f"{LETTRES[numero]}.txt", texte_pdf(documents.en_pdf(html)))


def test_chaque_lettre_porte_la_mention_crpa_et_les_refus_les_voies_de_recours(sessions, seance_decidee):
    with sessions() as s:
        textes = {
            n: " ".join(texte_pdf(documents.en_pdf(documents.lettre_html(s, s.get(Candidature, seance_decidee.candidatures[n])))).split())
            for n in LETTRES
        }
    for numero, texte in textes.items():
        assert "Cette décision a été prise sur le fondement d'un traitement algorithmique" in texte
        assert "articles L311-3-1, R311-3-1-1 et R311-3-1-2" in texte
        assert f"Version des règles appliquées : {VERSION}." in texte
        refus = numero in (N3, N5)
        assert ("tribunal administratif" in texte and "dans un délai de 2 mois" in texte) == refus, numero
        assert ("Recours gracieux" in texte) == refus
    assert "rejeter votre demande pour irrecevabilité" in textes[N3]
    assert "Ressources supérieures aux plafonds réglementaires — fondement : Code de la construction" in textes[N3]
    assert "ne pas vous attribuer ce logement" in textes[N5] and "Un autre candidat a été classé avant" in textes[N5]
    assert "rang 1" in textes[N2] and "délai de 10 jours" in textes[N2]
    assert "au plus tard le 25 juin 2026" in textes[N4]


def test_le_pv_telecharge_est_celui_des_fichiers_de_reference(engine, seance_decidee):
    r = client(engine, "lecteur").get(f"/decisions/seances/{seance_decidee.seance_id}/pv.html")
    assert r.status_code == 200
    comparer("pv.html", r.get_data(as_text=True))
    r = client(engine, "president").get(f"/decisions/seances/{seance_decidee.seance_id}/pv.pdf?nominatif=1")
    assert "BENALI" in texte_pdf(r.data).upper()
