"""Offres après la séance : émission à la clôture, réponse codée, refus structuré, rang suivant,
épuisement des rangs et retour à l'ordre du jour, condition suspensive, échéances, bail et radiation
RADATT, quotas comptés au bail seulement ; formulaires refusés sans écriture ; commande caleol offres."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from webapp.cli import main
from webapp.models import (
    Attribution,
    AuditEntry,
    Demande,
    Logement,
    MembreSeance,
    Offre,
    PointOrdreDuJour,
    RefusOffre,
    Seance,
    StatutDemande,
    StatutLogement,
    StatutOffre,
    StatutSeance,
    Utilisateur,
)
from webapp.services import decisions as svc_decisions
from webapp.services import offres as svc
from webapp.services.decisions import DonneesDecision
from webapp.services.offres import ErreurOffre

from .decisions_exemple import construire

N1, N2, N3, N4, N5, N6 = (f"059112600000{i}{c}" for i, c in zip(range(1, 7), "ABCDEF", strict=True))
VOTANTS = ("president", "membre1", "locataires", "maire", "prefet")
AUJOURD_HUI = dt.date(2026, 6, 15)  # CALEOL_TODAY of the tests
MEL = "200093201"


class Acteur:
    """A user as the services see it (flask_login's current_user in the web layer)."""

    def __init__(self, sessions, identifiant: str) -> None:
        with sessions() as s:
            u = s.scalars(select(Utilisateur).where(Utilisateur.identifiant == identifiant)).one()
            self.id, self.identifiant, self.role, self.organisation_id = u.id, u.identifiant, u.role, u.organisation_id


def _decider(sessions, m, numero: str, type_: str, choix: str = "pour", **champs) -> None:
    with sessions.begin() as s:
        svc_decisions.enregistrer_decision(
            s, candidature_id=m.candidatures[numero], acteur=Acteur(sessions, "president"),
            donnees=DonneesDecision(type=type_, **champs), votes={m.membres[k]: choix for k in VOTANTS},
        )


@pytest.fixture
def monde(sessions):
    """L-1: classement N1, N2, N3; L-2: N4 sous condition (pièce jusqu'au 20 juin), N5 et N6 non attribués. Séance close."""
    m = construire(sessions)
    for rang, numero in enumerate((N1, N2, N3), start=1):
        _decider(sessions, m, numero, "attribution_rang", rang=str(rang))
    _decider(sessions, m, N4, "attribution_sous_condition", piece_manquante="AVIS_IMPOSITION",
             date_limite_condition="2026-06-20")
    for numero in (N5, N6):
        _decider(sessions, m, numero, "non_attribution", choix="contre", motifs=["NA_CANDIDAT_MIEUX_CLASSE"])
    with sessions.begin() as s:
        svc_decisions.cloturer_seance(s, seance_id=m.seance_id, acteur=Acteur(sessions, "president"), version="essai")
    return m


def offre_de(sessions, numero: str) -> Offre:
    with sessions() as s:
        o = s.scalars(select(Offre).join(Demande, Demande.id == Offre.demande_id).where(Demande.numero_unique == numero)).one()
        s.expunge(o)
        return o


def ecrire(sessions, fonction, offre_id: int, qui: str = "charge", **donnees):
    with sessions.begin() as s:
        return fonction(s, offre_id=offre_id, acteur=Acteur(sessions, qui), donnees=donnees).id


def compter(sessions, modele, *conditions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(modele).where(*conditions))


def attribution_du_logement(sessions, logement_id: int) -> tuple[str, dt.date | None] | None:
    with sessions() as s:
        a = s.scalars(select(Attribution).where(Attribution.logement_id == logement_id)).one_or_none()
        return None if a is None else (a.demande.numero_unique, a.date_signature_bail)


def audit(sessions, action: str) -> list[AuditEntry]:
    with sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def nouvelle_seance(sessions, m, date: dt.date) -> int:
    with sessions.begin() as s:
        premiere = s.get(Seance, m.seance_id)
        seance = Seance(commission_id=premiere.commission_id, date_seance=date, statut=StatutSeance.PLANIFIEE, quorum=1)
        seance.membres = [MembreSeance(nom="Claire Président", qualite="Président(e) de la commission")]
        s.add(seance)
        s.flush()
        return seance.id


# --------------------------------------------------------------------------- issuing


def test_la_cloture_emet_une_offre_par_attribution_effective_avec_son_delai(sessions, monde):
    delai = svc.delai_reponse(AUJOURD_HUI)
    assert delai == 10  # rules/parametres/delais.yaml, delais.acceptation_offre_jours (R441-10)
    o1 = offre_de(sessions, N1)
    assert (o1.statut, o1.rang, o1.date_emission, o1.date_limite_reponse) == (
        StatutOffre.EN_COURS, 1, AUJOURD_HUI, AUJOURD_HUI + dt.timedelta(days=delai))
    o4 = offre_de(sessions, N4)
    assert (o4.statut, o4.piece_attendue, o4.date_limite_piece, o4.date_emission) == (
        StatutOffre.ATTENTE_PIECE, "AVIS_IMPOSITION", dt.date(2026, 6, 20), None)
    # Ranks 2 and 3 wait; no offer for the non-attributions.
    assert compter(sessions, Offre) == 2
    [cloture] = audit(sessions, "seance.cloturer")
    assert sorted(cloture.details["offres"]) == sorted([o1.id, o4.id])
    # A logement under offer is not put on another agenda.
    from webapp.services.preparation import logements_inscriptibles

    seance_id = nouvelle_seance(sessions, monde, dt.date(2026, 7, 1))
    with sessions() as s:
        assert monde.logements["L-1"] not in {lg.id for lg in logements_inscriptibles(s, s.get(Seance, seance_id))}


def test_le_vocabulaire_des_refus_dit_la_legitimite_de_chaque_motif():
    ref = svc.referentiel()
    assert ref.motifs["TAILLE_INADAPTEE"].legitime and not ref.motifs["QUARTIER"].legitime
    assert ref.motif_expiration == "SANS_REPONSE" and "SANS_REPONSE" not in ref.motifs_de_reponse()
    assert ref.a_verifier and ref.note


def test_un_vocabulaire_invalide_est_refuse_en_nommant_le_champ(tmp_path):
    from engine.yaml_strict import ErreurRegles

    (tmp_path / "motifs_refus_offre.yaml").write_text(
        "reference: {titre: R441-10}\nmotif_expiration: ABSENT\nmotifs:\n  A: {libelle: a, legitime: true}\n", encoding="utf-8")
    with pytest.raises(ErreurRegles, match="motif_expiration"):
        svc.charger_referentiel(tmp_path)
    (tmp_path / "motifs_refus_offre.yaml").write_text(
        "reference: {titre: R441-10}\nmotif_expiration: A\nmotifs:\n  A: {libelle: a}\n", encoding="utf-8")
    with pytest.raises(ErreurRegles, match="legitime"):
        svc.charger_referentiel(tmp_path)


# --------------------------------------------------------------------------- answers


def test_un_refus_code_est_enregistre_et_l_offre_passe_au_rang_2(sessions, monde):
    o1 = offre_de(sessions, N1)
    ecrire(sessions, svc.repondre, o1.id, reponse="refusee", motif="QUARTIER", commentaire="Trop loin de l'école",
           date_reponse="2026-06-15")
    o1 = offre_de(sessions, N1)
    assert (o1.statut, o1.motif_refus, o1.date_reponse, o1.date_fin) == (
        StatutOffre.REFUSEE, "QUARTIER", AUJOURD_HUI, AUJOURD_HUI)
    with sessions() as s:
        [refus] = s.scalars(select(RefusOffre)).all()
        assert (refus.demande.numero_unique, refus.motif, refus.motif_legitime, refus.logement_reference,
                refus.date_refus) == (N1, "QUARTIER", False, "L-1", AUJOURD_HUI)
        assert refus.details["offre_id"] == o1.id
    o2 = offre_de(sessions, N2)
    assert (o2.statut, o2.rang, o2.date_emission, o2.date_limite_reponse) == (
        StatutOffre.EN_COURS, 2, AUJOURD_HUI, AUJOURD_HUI + dt.timedelta(days=10))
    # The effective attribution follows the offer: one for the logement, now to N2, unsigned.
    assert attribution_du_logement(sessions, monde.logements["L-1"]) == (N2, None)
    [entree] = audit(sessions, "offre.repondre")
    assert entree.acteur == "charge" and entree.details["suite"] == "rang_suivant" and entree.details["rang"] == 2
    assert entree.apres["commentaire"] == "fourni" and "école" not in json.dumps(entree.apres | entree.details)
    assert entree.avant["statut"] == "en_cours" and entree.apres["statut"] == "refusee"

    # The free comment is shown to the officers only.
    from .decisions_exemple import client

    engine = sessions.kw["bind"]
    assert "Trop loin de l&#39;école" in client(engine, "charge").get(f"/offres/{o1.id}").get_data(as_text=True)
    lecture = client(engine, "lecteur").get(f"/offres/{o1.id}").get_data(as_text=True)
    assert "école" not in lecture and "réservé aux chargés d'attribution" in lecture


@pytest.mark.parametrize("donnees, champ, message", [
    ({"reponse": "refusee"}, "motif", "Motif du refus : Obligatoire pour un refus"),
    ({"reponse": "refusee", "motif": "INCONNU"}, "motif", "Motif du refus : Motif inconnu : INCONNU"),
    ({"reponse": "refusee", "motif": "SANS_REPONSE"}, "motif", "Motif inconnu : SANS_REPONSE"),
    ({"reponse": "acceptee", "motif": "QUARTIER"}, "motif", "Seulement pour un refus"),
    ({"reponse": "peut-etre"}, "reponse", "Réponse : Réponse inconnue"),
    ({}, "reponse", "Réponse : Champ obligatoire"),
    ({"reponse": "acceptee", "date_reponse": "15/06/2026"}, "date_reponse", "Date de la réponse : Date invalide"),
    ({"reponse": "acceptee", "date_reponse": "2026-06-16"}, "date_reponse", "postérieure à aujourd'hui"),
    ({"reponse": "acceptee", "date_reponse": "2026-06-14"}, "date_reponse", "ne peut pas précéder l'émission"),
    ({"reponse": "acceptee", "commentaire": "x" * 2001}, "commentaire", "Commentaire : 2000 caractères au plus"),
    ({"reponse": "acceptee", "inconnu": "1"}, "inconnu", "Champ inconnu"),
])
def test_une_reponse_invalide_est_refusee_en_nommant_le_champ_sans_rien_ecrire(sessions, monde, donnees, champ, message):
    o1 = offre_de(sessions, N1)
    with pytest.raises(ErreurOffre) as exc:
        ecrire(sessions, svc.repondre, o1.id, **donnees)
    assert champ in exc.value.erreurs and message in str(exc.value)
    assert offre_de(sessions, N1).statut == StatutOffre.EN_COURS
    assert compter(sessions, RefusOffre) == 0 and compter(sessions, Offre) == 2
    assert audit(sessions, "offre.repondre") == []


def test_seuls_le_charge_et_la_presidence_du_bailleur_enregistrent(sessions, monde):
    o1 = offre_de(sessions, N1)
    for qui, message in (("lecteur", "Votre rôle ne permet pas"), ("membre1", "Votre rôle ne permet pas"),
                         ("president2", "Offre introuvable")):
        with pytest.raises(ErreurOffre, match=message):
            ecrire(sessions, svc.repondre, o1.id, qui=qui, reponse="acceptee")
    with pytest.raises(ErreurOffre, match="Offre introuvable"):
        ecrire(sessions, svc.repondre, 10**9, reponse="acceptee")
    ecrire(sessions, svc.repondre, o1.id, qui="president", reponse="acceptee")
    assert offre_de(sessions, N1).statut == StatutOffre.ACCEPTEE
    with pytest.raises(ErreurOffre, match="n'attend pas de réponse : elle est acceptée"):
        ecrire(sessions, svc.repondre, o1.id, reponse="refusee", motif="QUARTIER")


def test_les_rangs_epuises_remettent_le_logement_a_l_ordre_du_jour_de_la_prochaine_seance(sessions, monde):
    prochaine = nouvelle_seance(sessions, monde, dt.date(2026, 7, 1))
    for numero, motif in ((N1, "QUARTIER"), (N2, "TAILLE_INADAPTEE"), (N3, "CONVENANCE")):
        ecrire(sessions, svc.repondre, offre_de(sessions, numero).id, reponse="refusee", motif=motif)
    o3 = offre_de(sessions, N3)
    assert o3.statut == StatutOffre.REFUSEE and o3.seance_reinscription_id == prochaine
    # No effective attribution left; the logement is vacant and on the next séance's agenda.
    assert attribution_du_logement(sessions, monde.logements["L-1"]) is None
    with sessions() as s:
        assert s.get(Logement, monde.logements["L-1"]).statut == StatutLogement.VACANT
        assert s.scalars(select(PointOrdreDuJour.logement_id).where(PointOrdreDuJour.seance_id == prochaine)).all() == [
            monde.logements["L-1"]]
        legitimes = dict(s.execute(select(Demande.numero_unique, RefusOffre.motif_legitime).join(RefusOffre)).all())
    assert legitimes == {N1: False, N2: True, N3: False}
    derniere = audit(sessions, "offre.repondre")[-1]
    assert derniere.details["suite"] == "ordre_du_jour" and derniere.details["seance_id"] == prochaine
    assert derniere.details["attribution_supprimee"] is not None


def test_une_seance_d_examen_de_l_occupation_n_est_pas_la_prochaine_seance_d_attribution(sessions, monde):
    from webapp.models import NatureSeance

    examen = nouvelle_seance(sessions, monde, dt.date(2026, 6, 20))
    with sessions.begin() as s:
        s.get(Seance, examen).nature = NatureSeance.EXAMEN_OCCUPATION
    prochaine = nouvelle_seance(sessions, monde, dt.date(2026, 7, 1))
    for numero in (N1, N2, N3):
        ecrire(sessions, svc.repondre, offre_de(sessions, numero).id, reponse="refusee", motif="CONVENANCE")
    assert offre_de(sessions, N3).seance_reinscription_id == prochaine


def test_sans_seance_prevue_le_logement_redevient_inscriptible(sessions, monde):
    for numero in (N1, N2, N3):
        ecrire(sessions, svc.repondre, offre_de(sessions, numero).id, reponse="refusee", motif="CONVENANCE")
    assert offre_de(sessions, N3).seance_reinscription_id is None
    from webapp.services.preparation import logements_inscriptibles

    seance_id = nouvelle_seance(sessions, monde, dt.date(2026, 7, 1))
    with sessions() as s:
        assert monde.logements["L-1"] in {lg.id for lg in logements_inscriptibles(s, s.get(Seance, seance_id))}


# --------------------------------------------------------------------------- suspensive condition and lapses


def test_la_piece_recue_rend_l_attribution_definitive_et_l_offre_court(sessions, monde):
    o4 = offre_de(sessions, N4)
    with pytest.raises(ErreurOffre, match="n'attend pas de pièce"):
        ecrire(sessions, svc.piece_recue, offre_de(sessions, N1).id, date_reception="2026-06-12")
    with pytest.raises(ErreurOffre, match="ne peut pas précéder la séance"):
        ecrire(sessions, svc.piece_recue, o4.id, date_reception="2026-06-01")
    with pytest.raises(ErreurOffre) as exc:
        ecrire(sessions, svc.repondre, o4.id, reponse="acceptee")
    assert "n'attend pas de réponse" in str(exc.value)
    ecrire(sessions, svc.piece_recue, o4.id, date_reception="2026-06-12")
    o4 = offre_de(sessions, N4)
    assert (o4.statut, o4.date_piece_recue, o4.date_emission, o4.date_limite_reponse) == (
        StatutOffre.EN_COURS, dt.date(2026, 6, 12), dt.date(2026, 6, 12), dt.date(2026, 6, 22))
    [entree] = audit(sessions, "offre.piece_recue")
    assert entree.apres["date_piece_recue"] == "2026-06-12"


def test_les_echeances_font_echoir_les_offres_sans_reponse_et_les_conditions_non_levees(sessions, monde):
    # Nothing is overdue on the day of the deadline.
    with sessions.begin() as s:
        assert svc.echeances(s, date=dt.date(2026, 6, 20)) == []
    assert audit(sessions, "offres.echeances") == []
    with sessions.begin() as s:
        evenements = svc.echeances(s, date=dt.date(2026, 6, 26))
    assert [e["evenement"] for e in evenements] == ["expiree", "condition_non_levee"]
    o1, o4 = offre_de(sessions, N1), offre_de(sessions, N4)
    assert (o1.statut, o1.motif_refus, o1.date_fin) == (StatutOffre.EXPIREE, "SANS_REPONSE", dt.date(2026, 6, 26))
    assert (o4.statut, o4.date_fin) == (StatutOffre.CADUQUE, dt.date(2026, 6, 21))
    # No answer counts as a refusal under the expiration motif (not legitimate); rank 2 gets the offer.
    with sessions() as s:
        [refus] = s.scalars(select(RefusOffre)).all()
        assert (refus.demande.numero_unique, refus.motif, refus.motif_legitime) == (N1, "SANS_REPONSE", False)
    o2 = offre_de(sessions, N2)
    assert (o2.statut, o2.date_emission, o2.date_limite_reponse) == (StatutOffre.EN_COURS, dt.date(2026, 6, 26), dt.date(2026, 7, 6))
    # The direct attribution under condition lapses: no attribution, the logement is vacant again.
    assert attribution_du_logement(sessions, monde.logements["L-2"]) is None
    assert attribution_du_logement(sessions, monde.logements["L-1"]) == (N2, None)
    [entree] = audit(sessions, "offres.echeances")
    assert entree.details["nombre"] == 2 and entree.acteur == "systeme:offres"
    # A second run on the same day finds nothing.
    with sessions.begin() as s:
        assert svc.echeances(s, date=dt.date(2026, 6, 26)) == []


# --------------------------------------------------------------------------- lease and radiation


def test_le_bail_clot_l_attribution_la_compte_dans_les_quotas_et_radie_la_demande(sessions, monde, monkeypatch):
    from webapp.services.quotas import attributions_signees

    monkeypatch.setenv("CALEOL_TODAY", "2026-06-20")

    o1 = offre_de(sessions, N1)
    with pytest.raises(ErreurOffre, match="après l'acceptation"):
        ecrire(sessions, svc.signer_bail, o1.id, date_signature_bail="2026-06-15")
    ecrire(sessions, svc.repondre, o1.id, reponse="acceptee", date_reponse="2026-06-16")
    with sessions() as s:
        assert attributions_signees(s, MEL, 2026, dt.date(2026, 6, 20)) == []
    for date, message in (("", "Date de signature du bail : Champ obligatoire"),
                          ("2026-06-15", "ne peut pas précéder l'acceptation"),
                          ("2026-06-21", "postérieure à aujourd'hui")):
        with pytest.raises(ErreurOffre, match=message):
            ecrire(sessions, svc.signer_bail, o1.id, date_signature_bail=date)
    assert attribution_du_logement(sessions, monde.logements["L-1"]) == (N1, None)
    ecrire(sessions, svc.signer_bail, o1.id, date_signature_bail="2026-06-19")
    assert offre_de(sessions, N1).statut == StatutOffre.BAIL_SIGNE
    assert attribution_du_logement(sessions, monde.logements["L-1"]) == (N1, dt.date(2026, 6, 19))
    with sessions() as s:
        assert len(attributions_signees(s, MEL, 2026, dt.date(2026, 6, 20))) == 1
        d = s.scalars(select(Demande).where(Demande.numero_unique == N1)).one()
        assert (d.statut, d.motif_radiation, d.date_radiation) == (StatutDemande.RADIEE, "RADATT", dt.date(2026, 6, 19))
        assert s.get(Logement, monde.logements["L-1"]).statut == StatutLogement.OCCUPE
    [entree] = audit(sessions, "offre.signer_bail")
    assert entree.apres["demande"] == {"id": d.id, "statut": "radiee", "motif_radiation": "RADATT", "date_radiation": "2026-06-19"}
    assert entree.avant["attribution"]["date_signature_bail"] is None


def test_le_bail_rend_caduques_les_autres_offres_du_menage(sessions, monde):
    """N1's household is also first on L-3 in a later séance; its lease on L-1 passes L-3 to rank 2 (N5)."""
    from decimal import Decimal

    from webapp.models import Candidature

    with sessions.begin() as s:
        premiere = s.get(Seance, monde.seance_id)
        l1 = s.get(Logement, monde.logements["L-1"])
        l3 = Logement(residence=l1.residence, reference="L-3", typologie="T3", nb_pieces=3, surface_habitable=Decimal("60"),
                      etage=1, ascenseur=True, accessible_pmr=False, financement="PLUS", loyer_principal=Decimal("400"),
                      loyer_annexes=Decimal("0"), charges_recuperables=Decimal("80"), contribution_travaux=Decimal("0"),
                      statut="vacant")
        s.add(l3)
        seance = Seance(commission_id=premiere.commission_id, date_seance=dt.date(2026, 6, 12), statut=StatutSeance.OUVERTE, quorum=1)
        president = s.scalars(select(Utilisateur).where(Utilisateur.identifiant == "president")).one()
        membre = MembreSeance(seance=seance, utilisateur=president, nom="Claire Président", qualite="Président(e) de la commission")
        demandes = {d.numero_unique: d for d in s.scalars(select(Demande))}
        c1 = Candidature(seance=seance, logement=l3, demande=demandes[N1], rang_propose=1)
        c5 = Candidature(seance=seance, logement=l3, demande=demandes[N5], rang_propose=2)
        s.add_all([seance, membre, c1, c5])
        s.flush()
        ids = (seance.id, membre.id, c1.id, c5.id)
    seance_id, membre_id, c1_id, c5_id = ids
    for cid, rang in ((c1_id, "1"), (c5_id, "2")):
        with sessions.begin() as s:
            svc_decisions.enregistrer_decision(s, candidature_id=cid, acteur=Acteur(sessions, "president"),
                                               donnees=DonneesDecision(type="attribution_rang", rang=rang), votes={membre_id: "pour"})
    with sessions.begin() as s:
        svc_decisions.cloturer_seance(s, seance_id=seance_id, acteur=Acteur(sessions, "president"), version="essai")
    with sessions() as s:
        sur_l3 = s.scalars(select(Offre).where(Offre.seance_id == seance_id)).one()
        assert (sur_l3.demande.numero_unique, sur_l3.statut) == (N1, StatutOffre.EN_COURS)
        l3_id, autre_id = sur_l3.logement_id, sur_l3.id
        o1 = s.scalars(select(Offre).where(Offre.seance_id == monde.seance_id, Offre.rang == 1)).one()
    ecrire(sessions, svc.repondre, o1.id, reponse="acceptee")
    ecrire(sessions, svc.signer_bail, o1.id, date_signature_bail="2026-06-15")
    with sessions() as s:
        autre = s.get(Offre, autre_id)
        assert (autre.statut, autre.date_fin) == (StatutOffre.CADUQUE, dt.date(2026, 6, 15))
        suivante = s.scalars(select(Offre).where(Offre.seance_id == seance_id, Offre.id != autre_id)).one()
        assert (suivante.demande.numero_unique, suivante.rang, suivante.statut) == (N5, 2, StatutOffre.EN_COURS)
    assert attribution_du_logement(sessions, l3_id) == (N5, None)
    [entree] = audit(sessions, "offre.signer_bail")
    assert entree.details["offres_caduques"][0]["offre_id"] == autre_id


# --------------------------------------------------------------------------- the command


def sur_la_base_de_test(monkeypatch, engine) -> None:
    """The command's database handles are the test's engine (its PostgreSQL schema included)."""
    from webapp.cli import Contexte

    monkeypatch.setattr(Contexte, "engine", property(lambda _self: engine))


def test_la_commande_caleol_offres(sessions, engine, monde, monkeypatch):
    sur_la_base_de_test(monkeypatch, engine)
    runner = CliRunner()

    def caleol(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    o1, o4 = offre_de(sessions, N1), offre_de(sessions, N4)
    r = caleol("offres", "lister", "--json")
    assert r.exit_code == 0, r.output
    lignes = json.loads(r.output)
    assert {(x["numero_unique"], x["statut"]) for x in lignes} == {(N1, "en_cours"), (N4, "attente_piece")}
    r = caleol("offres", "lister", "--statut", "en_cours")
    assert f"Offre {o1.id} : logement L-1, demande {N1} rang 1 — en attente de réponse, réponse attendue au plus tard le 2026-06-25" in r.output
    # Refused input: French message naming the field, non-zero exit, nothing written.
    r = caleol("offres", "repondre", str(o1.id), "refusee", "--utilisateur", "charge")
    assert r.exit_code == 2 and "Motif du refus : Obligatoire pour un refus" in r.output
    r = caleol("offres", "repondre", str(o1.id), "acceptee", "--utilisateur", "inconnu")
    assert r.exit_code == 2 and "--utilisateur : compte « inconnu » introuvable" in r.output
    assert compter(sessions, RefusOffre) == 0
    r = caleol("offres", "repondre", str(o1.id), "refusee", "--motif", "QUARTIER", "--utilisateur", "charge", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["statut"] == "refusee"
    o2 = offre_de(sessions, N2)
    r = caleol("offres", "repondre", str(o2.id), "acceptee", "--utilisateur", "president")
    assert r.exit_code == 0 and "Offre acceptée." in r.output
    r = caleol("offres", "piece-recue", str(o4.id), "--date", "2026-06-12", "--utilisateur", "charge")
    assert r.exit_code == 0 and "Pièce reçue" in r.output
    r = caleol("offres", "bail", str(o2.id), "--date", "2026-06-15", "--utilisateur", "charge", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["statut"] == "bail_signe"
    r = caleol("offres", "echeances", "--date", "2026-07-01", "--json")
    assert r.exit_code == 0, r.output
    [evenement] = json.loads(r.output)["evenements"]
    assert evenement["offre_id"] == o4.id and evenement["evenement"] == "expiree"
    assert evenement["suite"] == "ordre_du_jour"
    r = caleol("offres", "echeances", "--date", "2026-07-01")
    assert "Aucune offre échue au 2026-07-01." in r.output
    r = caleol("offres", "echeances", "--date", "01/07/2026")
    assert r.exit_code == 2 and "--date : date invalide" in r.output


# --------------------------------------------------------------------------- the pages


def test_la_page_offres_et_baux_par_role(engine, sessions, monde):
    from .decisions_exemple import client

    o1, o4 = offre_de(sessions, N1), offre_de(sessions, N4)
    for qui in ("charge", "president", "lecteur", "membre1"):
        page = client(engine, qui).get("/offres").get_data(as_text=True)
        assert 'id="menu-offres"' in page and f'id="offre-{o1.id}"' in page and f'id="offre-{o4.id}"' in page, qui
        assert "réponse au plus tard le 25/06/2026" in page and "pièce au plus tard le 20/06/2026" in page
    fiche = client(engine, "lecteur").get(f"/offres/{o1.id}").get_data(as_text=True)
    assert "Offre du logement L-1" in fiche and 'id="formulaire-reponse"' not in fiche
    assert 'id="formulaire-reponse"' in client(engine, "charge").get(f"/offres/{o1.id}").get_data(as_text=True)
    assert 'id="formulaire-piece"' in client(engine, "president").get(f"/offres/{o4.id}").get_data(as_text=True)
    # Readers do not write; other organisations see nothing.
    assert client(engine, "lecteur").post(f"/offres/{o1.id}/reponse", data={"reponse": "acceptee"}).status_code == 403
    assert client(engine, "prefet").get("/offres").status_code == 403
    autre = client(engine, "president2")
    assert f'id="offre-{o1.id}"' not in autre.get("/offres").get_data(as_text=True)
    assert autre.get(f"/offres/{o1.id}").status_code == 404
    assert autre.post(f"/offres/{o1.id}/reponse", data={"reponse": "acceptee"}).status_code == 404
    assert offre_de(sessions, N1).statut == StatutOffre.EN_COURS
    # The closed séance links to the page.
    assert 'id="lien-offres"' in client(engine, "charge").get(f"/decisions/seances/{monde.seance_id}").get_data(as_text=True)


def test_les_formulaires_refusent_sans_ecrire_puis_enregistrent(engine, sessions, monde):
    from .decisions_exemple import client, jeton

    c = client(engine, "charge", csrf=True)
    o1 = offre_de(sessions, N1)
    page = c.get(f"/offres/{o1.id}").get_data(as_text=True)
    assert c.post(f"/offres/{o1.id}/reponse", data={"reponse": "refusee", "motif": "QUARTIER"}).status_code == 400
    r = c.post(f"/offres/{o1.id}/reponse", data={"csrf_token": jeton(page), "reponse": "refusee", "motif": "",
                                                  "commentaire": "<script>alert(1)</script>"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "Rien n'a été enregistré" in html
    assert 'href="#motif">Motif du refus : Obligatoire pour un refus' in html and 'aria-invalid="true"' in html
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert compter(sessions, RefusOffre) == 0 and offre_de(sessions, N1).statut == StatutOffre.EN_COURS
    r = c.post(f"/offres/{o1.id}/reponse", data={"csrf_token": jeton(page), "reponse": "refusee", "motif": "TAILLE_INADAPTEE"})
    assert r.status_code == 302
    assert offre_de(sessions, N1).statut == StatutOffre.REFUSEE and offre_de(sessions, N2).statut == StatutOffre.EN_COURS
    o2 = offre_de(sessions, N2)
    r = c.post(f"/offres/{o2.id}/reponse", data={"csrf_token": jeton(page), "reponse": "acceptee"})
    assert r.status_code == 302
    fiche = c.get(f"/offres/{o2.id}").get_data(as_text=True)
    assert 'id="formulaire-bail"' in fiche
    r = c.post(f"/offres/{o2.id}/bail", data={"csrf_token": jeton(page), "date_signature_bail": "2026-13-01"})
    assert r.status_code == 422 and "Date de signature du bail : Date invalide" in r.get_data(as_text=True)
    r = c.post(f"/offres/{o2.id}/bail", data={"csrf_token": jeton(page), "date_signature_bail": "2026-06-15"})
    assert r.status_code == 302
    fiche = c.get(f"/offres/{o2.id}").get_data(as_text=True)
    assert "bail signé" in fiche and "RADATT" in fiche


def test_ouvrir_la_page_fait_echoir_les_offres_en_retard(engine, sessions, monde, monkeypatch):
    from .decisions_exemple import client

    o1 = offre_de(sessions, N1)
    monkeypatch.setenv("CALEOL_TODAY", "2026-06-25")
    # The deadline day: still running, not overdue.
    page = client(engine, "lecteur").get("/offres").get_data(as_text=True)
    assert "échéance dépassée" not in page.split('id="offres-en_cours"')[1].split("</section>")[0]
    # The piece of N4 was due on 20 June: a reader sees it highlighted, nothing lapses for a reader.
    assert "échéance dépassée" in page and offre_de(sessions, N4).statut == StatutOffre.ATTENTE_PIECE
    monkeypatch.setenv("CALEOL_TODAY", "2026-06-26")
    page = client(engine, "charge").get("/offres", follow_redirects=True).get_data(as_text=True)
    assert "2 offre(s) échue(s)" in page
    assert offre_de(sessions, N1).statut == StatutOffre.EXPIREE and offre_de(sessions, N4).statut == StatutOffre.CADUQUE
    assert offre_de(sessions, N2).statut == StatutOffre.EN_COURS and o1.id != offre_de(sessions, N2).id
    [entree] = audit(sessions, "offres.echeances")
    assert entree.acteur == "charge"


def test_la_demonstration_contient_des_offres_coherentes_avec_son_historique(sessions):
    from webapp.demo.service import charger_demo

    with sessions.begin() as s:
        charger_demo(s, seed=7, nb_dossiers=300, nb_logements=120, acteur="test", date_reference=AUJOURD_HUI)
    with sessions() as s:
        offres = s.scalars(select(Offre).order_by(Offre.id)).all()
        statuts = {o.statut for o in offres}
        assert {StatutOffre.BAIL_SIGNE, StatutOffre.REFUSEE} <= statuts
        for o in offres:
            attribution = s.scalars(select(Attribution).where(Attribution.decision_id == o.decision_id)).one_or_none()
            if o.statut == StatutOffre.BAIL_SIGNE:
                assert attribution.date_signature_bail == o.date_fin == o.demande.date_radiation
                assert o.demande.motif_radiation == "RADATT" and attribution.demande_id == o.demande_id
            elif o.statut == StatutOffre.REFUSEE:
                assert attribution is None and o.motif_refus in svc.referentiel().motifs
                assert o.logement.reference in {r.logement_reference for r in o.demande.refus}
                # The next rank holds the attribution of the logement.
                suivante = s.scalars(select(Offre).where(Offre.seance_id == o.seance_id, Offre.logement_id == o.logement_id,
                                                         Offre.id != o.id)).one()
                assert suivante.rang == o.rang + 1
            assert o.date_emission is None or o.date_limite_reponse == o.date_emission + dt.timedelta(days=10)


def test_le_flux_et_le_bilan_comptent_une_attribution_par_logement_et_le_bail_une_fois_signe(sessions, monde):
    """The refused rank 1 and the accepted rank 2 are one attribution of L-1; the lease makes it count."""
    from webapp.services.bilan import bilan_annuel
    from webapp.services.flux import parametres_flux, unites_de_l_annee

    with sessions() as s:
        bailleur_id = s.scalars(select(Utilisateur.organisation_id).where(Utilisateur.identifiant == "charge")).one()

    def chiffres() -> tuple[int, int, int, int]:
        with sessions() as s:
            # Counted at the lease when the rulebook's flux.decompte says so (rules/flux/parametres).
            parametres = dataclasses.replace(parametres_flux(AUJOURD_HUI), decompte="bail_signe")
            unites = [u for u in unites_de_l_annee(s, bailleur_id, 2026, parametres) if u.epci == MEL]
            bilan = bilan_annuel(s, 2026, bailleur_id=bailleur_id)["lignes"]
            return (len(unites), sum(u.compte for u in unites),
                    sum(x["attribues"] for x in bilan), sum(x["baux_signes"] for x in bilan))

    assert chiffres() == (2, 0, 2, 0)  # units of the flux: L-1 (rank 1) and L-2 (under condition), no lease
    ecrire(sessions, svc.repondre, offre_de(sessions, N1).id, reponse="refusee", motif="QUARTIER")
    assert chiffres() == (2, 0, 2, 0)
    o2 = offre_de(sessions, N2)
    ecrire(sessions, svc.repondre, o2.id, reponse="acceptee")
    ecrire(sessions, svc.signer_bail, o2.id, date_signature_bail="2026-06-15")
    assert chiffres() == (2, 1, 2, 1)
    # The condition of L-2 fails: its attribution lapses and no longer counts.
    with sessions.begin() as s:
        svc.echeances(s, date=dt.date(2026, 6, 21))
    assert chiffres() == (1, 1, 1, 1)


def test_la_lettre_d_offre_dit_le_logement_le_delai_et_comment_repondre(engine, sessions, monde):
    from .decisions_exemple import client

    o1, o4 = offre_de(sessions, N1), offre_de(sessions, N4)
    c = client(engine, "charge")
    assert 'id="lettre-offre-pdf"' in c.get(f"/offres/{o1.id}").get_data(as_text=True)
    r = c.get(f"/offres/{o1.id}/lettre.html")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert "Objet : proposition du logement L-1" in html and "Amina BENALI" in html
    assert "Date limite de réponse : 25 juin 2026." in html and "délai de 10 jours" in html
    assert "rang 1" in html and "412,30" in html
    assert "Quartier ou commune non souhaités" in html and "Absence de réponse" not in html
    assert "0591126000001A" in html and "Habitat Exemple" in html and "R441-10" in html
    assert c.get(f"/offres/{o1.id}/lettre.pdf").data.startswith(b"%PDF")
    # Not yet issued (document awaited): no letter; readers and members: no nominative letter.
    assert c.get(f"/offres/{o4.id}/lettre.html").status_code == 404
    assert client(engine, "lecteur").get(f"/offres/{o1.id}/lettre.html").status_code == 403
    assert 'id="lettre-offre-pdf"' not in client(engine, "lecteur").get(f"/offres/{o1.id}").get_data(as_text=True)
    assert client(engine, "president2").get(f"/offres/{o1.id}/lettre.html").status_code == 404


def test_deux_reponses_simultanees_sont_servies_l_une_apres_l_autre(backend, sessions, monde):
    import threading

    if backend != "postgresql":
        pytest.skip("Verrou de ligne (SELECT … FOR UPDATE) : PostgreSQL ; SQLite sérialise déjà les écritures.")
    o1 = offre_de(sessions, N1)
    acteur = Acteur(sessions, "charge")
    premiere = sessions()
    premiere.begin()
    svc.repondre(premiere, offre_id=o1.id, acteur=acteur, donnees={"reponse": "refusee", "motif": "QUARTIER"})
    resultat: dict[str, str] = {}

    def seconde() -> None:
        with sessions.begin() as s:
            try:
                svc.repondre(s, offre_id=o1.id, acteur=acteur, donnees={"reponse": "refusee", "motif": "CONVENANCE"})
            except ErreurOffre as exc:
                resultat["erreur"] = str(exc)

    fil = threading.Thread(target=seconde)
    fil.start()
    fil.join(1.5)
    assert fil.is_alive()  # waiting for the first answer's lock
    premiere.commit()
    premiere.close()
    fil.join(30)
    assert "n'attend pas de réponse : elle est refusée" in resultat["erreur"]
    assert compter(sessions, RefusOffre) == 1 and compter(sessions, Offre) == 3
    assert offre_de(sessions, N1).motif_refus == "QUARTIER"


def test_un_menage_radie_avant_la_cloture_ne_recoit_pas_l_offre(sessions):
    """N1 was housed elsewhere between the decision and the closure: the offer goes straight to rank 2."""
    m = construire(sessions)
    for rang, numero in enumerate((N1, N2, N3), start=1):
        _decider(sessions, m, numero, "attribution_rang", rang=str(rang))
    for numero in (N4, N5, N6):
        _decider(sessions, m, numero, "non_attribution", choix="contre", motifs=["NA_CANDIDAT_MIEUX_CLASSE"])
    with sessions.begin() as s:
        d = s.scalars(select(Demande).where(Demande.numero_unique == N1)).one()
        d.statut, d.motif_radiation, d.date_radiation = StatutDemande.RADIEE, "RADATT", dt.date(2026, 6, 12)
    with sessions.begin() as s:
        svc_decisions.cloturer_seance(s, seance_id=m.seance_id, acteur=Acteur(sessions, "president"), version="essai")
    o1, o2 = offre_de(sessions, N1), offre_de(sessions, N2)
    assert (o1.statut, o1.date_fin) == (StatutOffre.CADUQUE, AUJOURD_HUI)
    assert (o2.statut, o2.rang, o2.date_limite_reponse) == (StatutOffre.EN_COURS, 2, dt.date(2026, 6, 25))
    assert attribution_du_logement(sessions, m.logements["L-1"]) == (N2, None)
    assert compter(sessions, RefusOffre) == 0
    [cloture] = audit(sessions, "seance.cloturer")
    assert sorted(cloture.details["offres"]) == sorted([o1.id, o2.id])
