"""Demandes and logements pages: search, perimeter of each organisation, sensitive facts, escaping."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from webapp import create_app
from webapp.models import Logement, Organisation, Reservataire, Residence, Role, TypeOrganisation, TypeReservataire, Utilisateur
from webapp.schemas import charger_dossier
from webapp.services.dossiers import enregistrer_dossier

EXEMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "dossiers" / "famille_monoparentale_lille.json"


def _logement(residence, ref):
    return Logement(
        residence=residence, reference=ref, typologie="T3", nb_pieces=3, surface_habitable=Decimal("60"), etage=0,
        ascenseur=False, accessible_pmr=True, financement="PLUS", loyer_principal=Decimal("400"),
        loyer_annexes=Decimal("0"), charges_recuperables=Decimal("60"), contribution_travaux=Decimal("0"), statut="vacant",
    )


@pytest.fixture
def monde(sessions):
    """Two bailleurs, an EPCI, a réservataire, and users of each."""
    with sessions.begin() as s:
        b1 = Organisation(nom="Bailleur Un", type=TypeOrganisation.BAILLEUR)
        b2 = Organisation(nom="Bailleur Deux", type=TypeOrganisation.BAILLEUR)
        mel = Organisation(nom="MEL", type=TypeOrganisation.EPCI, epci_siren="200093201")
        al = Organisation(nom="Action Logement", type=TypeOrganisation.RESERVATAIRE)
        r_al = Reservataire(nom="Action Logement Services", type=TypeReservataire.ACTION_LOGEMENT, organisation=al)
        lille = Residence(bailleur=b1, nom="Résidence <Lille>", adresse="1 rue A", code_insee="59350")
        amiens = Residence(bailleur=b2, nom="Résidence Amiens", adresse="2 rue B", code_insee="80021")
        s.add_all([_logement(lille, "L-1"), _logement(amiens, "A-1")])
        stock = _logement(amiens, "A-2")
        stock.mode_reservation = "stock"
        stock.reservataire_stock = r_al
        s.add(stock)
        h = generate_password_hash("mdp")
        for ident, role, org in [
            ("charge1", Role.CHARGE_ATTRIBUTION, b1),
            ("membre1", Role.MEMBRE_COMMISSION, b1),
            ("lecteur1", Role.LECTEUR, b1),
            ("epci", Role.LECTEUR, mel),
            ("al", Role.CHARGE_ATTRIBUTION, al),
        ]:
            s.add(Utilisateur(identifiant=ident, nom_affiche=ident, role=role, organisation=org, mot_de_passe_hash=h))
        dossier = charger_dossier(json.loads(EXEMPLE.read_text(encoding="utf-8")))
        dossier["situations"].append({"code": "PRIO_VIOLENCES_COUPLE", "verifiee": True, "date_verification": dt.date(2026, 1, 2), "verifiee_par": "CIDFF"})
        dossier["personnes"][0]["handicap"] = {"cmi_invalidite": True, "details": "Sclérose en plaques"}
        dossier["personnes"][0]["nom"] = "<script>alert(1)</script>"
        dossier["motifs"] = ["06", "09"]
        enregistrer_dossier(s, dossier, acteur="test")


def client_de(engine, identifiant):
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "WTF_CSRF_ENABLED": False})
    c = app.test_client()
    assert c.post("/connexion", data={"identifiant": identifiant, "mot_de_passe": "mdp"}).status_code == 302
    return c


def test_recherche_par_numero_unique_et_par_nom(engine, monde):
    c = client_de(engine, "charge1")
    assert "0591125000123A" in c.get("/demandes?q=0591125000123a").get_data(as_text=True)
    assert "0591125000123A" in c.get("/demandes?q=script").get_data(as_text=True)
    assert "Aucune demande" in c.get("/demandes?q=Introuvable").get_data(as_text=True)


def test_le_texte_saisi_est_echappe(engine, monde):
    page = client_de(engine, "charge1").get("/demandes/0591125000123A").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_les_faits_sensibles_ne_sont_montres_qu_aux_roles_qui_en_ont_besoin(engine, monde):
    charge = client_de(engine, "charge1").get("/demandes/0591125000123A").get_data(as_text=True)
    assert "violences au sein du couple" in charge
    assert "Sclérose en plaques" in charge
    assert "Violences familiales" in charge
    for ident in ("membre1", "lecteur1", "epci"):
        page = client_de(engine, ident).get("/demandes/0591125000123A").get_data(as_text=True)
        assert "violences" not in page.lower()
        assert "motif protégé" in page
        assert "Sclérose" not in page
        assert "Situation protégée" in page


@pytest.mark.parametrize(
    ("identifiant", "visibles", "invisibles"),
    [
        ("charge1", {"L-1"}, {"A-1", "A-2"}),
        ("epci", {"L-1"}, {"A-1", "A-2"}),
        ("al", {"A-2"}, {"L-1", "A-1"}),
    ],
)
def test_chaque_organisation_ne_voit_que_son_perimetre(engine, monde, sessions, identifiant, visibles, invisibles):
    c = client_de(engine, identifiant)
    liste = c.get("/logements").get_data(as_text=True)
    with sessions() as s:
        ids = {l.reference: l.id for l in s.query(Logement)}
    for ref in visibles:
        assert f">{ref}<" in liste
        assert c.get(f"/logements/{ids[ref]}").status_code == 200
    for ref in invisibles:
        assert f">{ref}<" not in liste
        assert c.get(f"/logements/{ids[ref]}").status_code == 404


def test_demande_inconnue_404(engine, monde):
    assert client_de(engine, "charge1").get("/demandes/INCONNU0000").status_code == 404
