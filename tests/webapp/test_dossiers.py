"""The dossier JSON format: validation at the boundary and the round trip through the database."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from webapp.models import AuditEntry, Demande
from webapp.schemas import ErreurValidation, charger_dossier, charger_logement
from webapp.services.dossiers import dossier_depuis_demande, en_json, enregistrer_dossier

EXEMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "dossiers"


def exemple(nom: str) -> dict:
    return json.loads((EXEMPLES / nom).read_text(encoding="utf-8"))


@pytest.mark.parametrize("fichier", sorted(p.name for p in EXEMPLES.glob("*.json")))
def test_les_exemples_documentes_sont_valides(fichier):
    charger_dossier(exemple(fichier))


def test_un_dossier_fait_l_aller_retour_par_la_base(sessions):
    dossier = charger_dossier(exemple("famille_monoparentale_lille.json"))
    with sessions.begin() as s:
        _, cree = enregistrer_dossier(s, dossier, acteur="test")
        assert cree
    with sessions() as s:
        relu = dossier_depuis_demande(s.scalars(select(Demande)).one())
    assert en_json(relu) == en_json(dossier)


def test_reenregistrer_le_meme_numero_met_a_jour_sans_doublon(sessions):
    dossier = charger_dossier(exemple("famille_monoparentale_lille.json"))
    with sessions.begin() as s:
        enregistrer_dossier(s, dossier, acteur="test")
    dossier["typologies_souhaitees"] = ["T3"]
    with sessions.begin() as s:
        _, cree = enregistrer_dossier(s, dossier, acteur="test")
        assert not cree
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Demande)) == 1
        assert s.scalars(select(Demande)).one().typologies_souhaitees == ["T3"]
        entrees = s.scalars(select(AuditEntry).where(AuditEntry.action == "demande.enregistrer").order_by(AuditEntry.id)).all()
        assert len(entrees) == 2
        assert entrees[1].avant["empreinte"] != entrees[1].apres["empreinte"]


def test_l_audit_ne_recopie_ni_les_noms_ni_les_situations_sensibles(sessions):
    dossier = charger_dossier(exemple("famille_monoparentale_lille.json"))
    dossier["situations"].append({"code": "PRIO_VIOLENCES_COUPLE", "verifiee": False, "date_verification": None, "verifiee_par": None})
    with sessions.begin() as s:
        enregistrer_dossier(s, dossier, acteur="test")
    with sessions() as s:
        entree = s.scalars(select(AuditEntry).where(AuditEntry.action == "demande.enregistrer")).one()
        texte = json.dumps([entree.avant, entree.apres, entree.details], ensure_ascii=False)
    assert "VIOLENCES" not in texte
    assert "Lefebvre" not in texte
    assert entree.apres["nb_situations_sensibles"] == 1


@pytest.mark.parametrize(
    ("modifier", "chemin"),
    [
        (lambda d: d.update(inconnu=1), "inconnu"),
        (lambda d: d["personnes"][0].update(date_naissance="17/04/1989"), "personnes.0.date_naissance"),
        (lambda d: d["personnes"][0]["ressources"][0].update(montant_mensuel="1180"), "personnes.0.ressources.0.montant_mensuel"),
        (lambda d: d["personnes"][0]["ressources"][0].update(code="XYZ"), "personnes.0.ressources.0.code"),
        (lambda d: d["personnes"][0]["revenus_fiscaux"][0].update(montant=12.345), "personnes.0.revenus_fiscaux.0.montant"),
        (lambda d: d.update(motifs=["99"]), "motifs.0"),
        (lambda d: d["logement_actuel"].update(nb_pieces=True), "logement_actuel.nb_pieces"),
        (lambda d: d["situations"][0].update(code="PRIO_INCONNUE"), "situations.0.code"),
        (lambda d: d["personnes"].pop(0), "personnes"),
        (lambda d: d["personnes"][1].update(role="cotitulaire"), "personnes.1.lien_cotitulaire"),
    ],
)
def test_un_dossier_invalide_est_refuse_en_nommant_le_champ_et_rien_n_est_ecrit(sessions, modifier, chemin):
    donnees = exemple("famille_monoparentale_lille.json")
    modifier(donnees)
    with pytest.raises(ErreurValidation) as exc:
        charger_dossier(donnees)
    assert chemin in exc.value.erreurs
    assert all(m and m[0].isupper() for m in exc.value.erreurs[chemin])
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Demande)) == 0


def test_un_logement_pli_est_refuse_avec_un_message_clair():
    with pytest.raises(ErreurValidation) as exc:
        charger_logement(
            {
                "commune_insee": "59350", "qpv": None, "financement": "PLI", "typologie": "T3", "nb_pieces": 3,
                "surface_habitable": 65, "etage": 2, "ascenseur": True, "accessible_pmr": False, "loyer_principal": 500,
            }
        )
    assert "PLI" in exc.value.erreurs["financement"][0]
