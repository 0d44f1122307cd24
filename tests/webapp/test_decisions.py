"""Décisions de la CALEOL : quorum, majorité, voix prépondérante du maire, conflit d'intérêts, renvoi en
commission physique, séance à distance, justification des écarts, unicité en base, clôture ; puis
chaque route du blueprint pour chaque rôle, le jeton CSRF, l'échappement et les formulaires refusés."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from webapp.models import (
    Attribution,
    AuditEntry,
    Candidature,
    ChoixVote,
    Decision,
    MembreSeance,
    ModeSeance,
    RenvoiCalPhysique,
    Seance,
    SignatureProcesVerbal,
    StatutSeance,
    TypeDecision,
    Vote,
)
from webapp.services import decisions as svc
from webapp.services.decisions import DonneesDecision, ErreurDecision

from .decisions_exemple import Acteur, client, construire, jeton

N1, N2, N3, N4, N5, N6 = (f"059112600000{i}{c}" for i, c in zip(range(1, 7), "ABCDEF", strict=True))
VOTANTS = ("president", "membre1", "locataires", "maire", "prefet")


@pytest.fixture
def monde(sessions):
    return construire(sessions)


def tous(m, choix: str) -> dict[int, str]:
    return {m.membres[k]: choix for k in VOTANTS}


def votes(m, **choix: str) -> dict[int, str]:
    return {m.membres[k]: v for k, v in choix.items()}


def decider(sessions, m, numero: str, type_: str, *, qui: str = "president", votes_: dict | None = None, **champs):
    acteur = Acteur(sessions, qui)
    with sessions.begin() as s:
        d = svc.enregistrer_decision(
            s, candidature_id=m.candidatures[numero], acteur=acteur,
            donnees=DonneesDecision(type=type_, **champs), votes=votes_,
        )
        return d.id


def compter(sessions, modele) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(modele))


def audit(sessions, action: str) -> list[AuditEntry]:
    with sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


# --------------------------------------------------------------------------- quorum and majority


def test_sans_quorum_aucune_decision_n_est_enregistree(sessions, monde):
    with sessions.begin() as s:
        for k in ("locataires", "maire", "prefet"):
            s.get(MembreSeance, monde.membres[k]).present = False
    with pytest.raises(ErreurDecision, match="2 membre\\(s\\) à voix délibérative présent\\(s\\) pour un quorum de 3"):
        decider(sessions, monde, N1, "attribution", votes_=votes(monde, president="pour", membre1="pour"))
    assert compter(sessions, Decision) == 0
    assert compter(sessions, Vote) == 0


def test_le_membre_consultatif_et_l_absent_ne_comptent_pas_dans_le_quorum(sessions, monde):
    with sessions() as s:
        etat = svc.etat_quorum(s.get(Seance, monde.seance_id))
    assert (etat.presents, etat.quorum, etat.atteint) == (5, 3, True)


def test_la_majorite_des_suffrages_exprimes_decide_et_les_abstentions_ne_comptent_pas(sessions, monde):
    # 2 pour, 1 contre, 2 abstentions : favorable.
    v = votes(monde, president="pour", membre1="pour", locataires="contre", maire="abstention", prefet="abstention")
    decider(sessions, monde, N1, "attribution", votes_=v)
    with sessions() as s:
        r = svc.resultat_vote(s, s.get(Candidature, monde.candidatures[N1]))
    assert (r.pour, r.contre, r.abstentions, r.issue, r.voix_preponderante) == (2, 1, 2, "favorable", False)
    assert compter(sessions, Vote) == 5


def test_une_attribution_refusee_par_la_majorite_n_est_pas_enregistree(sessions, monde):
    v = votes(monde, president="pour", membre1="contre", locataires="contre", maire="abstention", prefet="abstention")
    with pytest.raises(ErreurDecision) as exc:
        decider(sessions, monde, N1, "attribution", votes_=v)
    assert "majorité est défavorable" in exc.value.erreurs["votes"][0]
    assert compter(sessions, Decision) == 0 and compter(sessions, Vote) == 0


def test_une_non_attribution_exige_une_majorite_defavorable(sessions, monde):
    with pytest.raises(ErreurDecision, match="majorité est favorable"):
        decider(sessions, monde, N2, "non_attribution", votes_=tous(monde, "pour"), motifs=["NA_TAUX_EFFORT"])
    decider(sessions, monde, N2, "non_attribution", votes_=tous(monde, "contre"), motifs=["NA_TAUX_EFFORT"])


def test_en_cas_de_partage_la_voix_du_maire_est_preponderante(sessions, monde):
    # 2 pour (dont le maire), 2 contre, 1 abstention : le maire départage.
    v = votes(monde, president="contre", membre1="pour", locataires="contre", maire="pour", prefet="abstention")
    decider(sessions, monde, N1, "attribution", votes_=v)
    with sessions() as s:
        r = svc.resultat_vote(s, s.get(Candidature, monde.candidatures[N1]))
    assert (r.issue, r.voix_preponderante) == ("favorable", True)
    assert "voix prépondérante du maire" in r.libelle


def test_partage_sans_vote_du_maire_pas_de_decision(sessions, monde):
    v = votes(monde, president="pour", membre1="pour", locataires="contre", maire="abstention", prefet="contre")
    with pytest.raises(ErreurDecision, match="partage des voix sans voix prépondérante"):
        decider(sessions, monde, N1, "attribution", votes_=v)
    assert compter(sessions, Decision) == 0


def test_aucun_suffrage_exprime_pas_de_decision(sessions, monde):
    with pytest.raises(ErreurDecision, match="aucun suffrage exprimé"):
        decider(sessions, monde, N1, "attribution", votes_=tous(monde, "abstention"))


def test_chaque_votant_present_doit_avoir_un_vote(sessions, monde):
    with pytest.raises(ErreurDecision) as exc:
        decider(sessions, monde, N1, "attribution", votes_=votes(monde, president="pour", membre1="pour"))
    assert set(exc.value.erreurs) == {f"vote-{monde.membres[k]}" for k in ("locataires", "maire", "prefet")}
    assert "Vote de Paul Maire" in exc.value.erreurs[f"vote-{monde.membres['maire']}"][0]


def test_un_membre_absent_ou_consultatif_ne_vote_pas(sessions, monde):
    v = tous(monde, "pour") | {monde.membres["association"]: "pour"}
    with pytest.raises(ErreurDecision, match="seuls les membres à voix délibérative présents votent"):
        decider(sessions, monde, N1, "attribution", votes_=v)


# --------------------------------------------------------------------------- conflict of interest


def test_le_membre_en_conflit_d_interets_le_declare_et_ne_vote_pas(sessions, monde):
    with sessions.begin() as s:
        svc.voter(s, candidature_id=monde.candidatures[N1], acteur=Acteur(sessions, "membre1"), choix=None,
                  conflit_interets=True)
    # The président cannot give him a vote…
    with pytest.raises(ErreurDecision) as exc:
        decider(sessions, monde, N1, "attribution", votes_=tous(monde, "pour"))
    assert "Marc Membre" in exc.value.erreurs[f"vote-{monde.membres['membre1']}"][0]
    # …the others decide without him, and the minutes will say so.
    v = votes(monde, president="pour", locataires="pour", maire="contre", prefet="abstention")
    decider(sessions, monde, N1, "attribution", votes_=v)
    with sessions() as s:
        r = svc.resultat_vote(s, s.get(Candidature, monde.candidatures[N1]))
    assert (r.pour, r.contre, r.abstentions, r.conflits) == (2, 1, 1, 1)
    assert [e.apres["choix"] for e in audit(sessions, "decision.conflit_interets")] == ["conflit"]


def test_un_membre_ne_peut_pas_voter_et_declarer_un_conflit(sessions, monde):
    with pytest.raises(ErreurDecision, match="ne vote pas"):
        with sessions.begin() as s:
            svc.voter(s, candidature_id=monde.candidatures[N1], acteur=Acteur(sessions, "membre1"), choix="pour",
                      conflit_interets=True)


def test_la_base_refuse_un_vote_avec_conflit_ou_un_second_vote_du_meme_membre(sessions, monde):
    maintenant = dt.datetime(2026, 6, 10, 9, tzinfo=dt.UTC)
    cid, mid = monde.candidatures[N1], monde.membres["maire"]
    with pytest.raises(IntegrityError):
        with sessions.begin() as s:
            s.add(Vote(candidature_id=cid, membre_id=mid, choix=ChoixVote.POUR, conflit_interets=True, horodatage=maintenant))
    with pytest.raises(IntegrityError):
        with sessions.begin() as s:
            s.add(Vote(candidature_id=cid, membre_id=mid, choix=ChoixVote.POUR, conflit_interets=False, horodatage=maintenant))
            s.add(Vote(candidature_id=cid, membre_id=mid, choix=None, conflit_interets=True, horodatage=maintenant))
    assert compter(sessions, Vote) == 0


def test_un_vote_exprime_par_le_membre_ne_peut_pas_etre_change_par_la_presidence(sessions, monde):
    with sessions.begin() as s:
        svc.voter(s, candidature_id=monde.candidatures[N1], acteur=Acteur(sessions, "membre1"), choix="contre")
    with pytest.raises(ErreurDecision, match="exprimé par le membre lui-même"):
        decider(sessions, monde, N1, "attribution", votes_=tous(monde, "pour"))
    # Without a choice for him, his own vote is counted as cast.
    v = votes(monde, president="pour", locataires="pour", maire="pour", prefet="pour")
    decider(sessions, monde, N1, "attribution", votes_=v)
    with sessions() as s:
        assert svc.resultat_vote(s, s.get(Candidature, monde.candidatures[N1])).contre == 1


# --------------------------------------------------------------------------- content of a decision


def test_une_non_attribution_ou_une_irrecevabilite_doit_etre_motivee(sessions, monde):
    for type_ in ("non_attribution", "rejet_irrecevabilite"):
        with pytest.raises(ErreurDecision) as exc:
            decider(sessions, monde, N2, type_, votes_=tous(monde, "contre"))
        assert "doit être motivée" in exc.value.erreurs["motifs"][0]


def test_un_motif_ne_vaut_que_pour_ses_types_de_decision(sessions, monde):
    with pytest.raises(ErreurDecision) as exc:
        decider(sessions, monde, N2, "rejet_irrecevabilite", votes_=tous(monde, "contre"), motifs=["NA_TAUX_EFFORT"])
    assert "ne peut pas motiver une décision « Rejet pour irrecevabilité de la demande »" in exc.value.erreurs["motifs"][0]
    with pytest.raises(ErreurDecision, match="n'existe pas dans le vocabulaire"):
        decider(sessions, monde, N2, "non_attribution", votes_=tous(monde, "contre"), motifs=["INVENTE"])


def test_les_motifs_de_la_demonstration_sont_dans_le_vocabulaire():
    import yaml

    from webapp.demo import referentiel as demo_ref

    chemin = demo_ref.__file__.replace("referentiel.py", "parametres_demo.yaml")
    with open(chemin, encoding="utf-8") as f:
        p = yaml.safe_load(f)
    ref = svc.referentiel()
    for code in p["motifs_non_attribution"]:
        assert "non_attribution" in ref.motifs[code].types
    for code in p["motifs_irrecevabilite"]:
        assert "rejet_irrecevabilite" in ref.motifs[code].types
    for libelle in p["pieces_manquantes"]:
        assert ref.piece(libelle) is not None, libelle


def test_attribution_sous_condition_exige_la_piece_de_la_liste_et_une_date_apres_la_seance(sessions, monde):
    with pytest.raises(ErreurDecision) as exc:
        decider(sessions, monde, N1, "attribution_sous_condition", votes_=tous(monde, "pour"))
    assert set(exc.value.erreurs) == {"piece_manquante", "date_limite_condition"}
    with pytest.raises(ErreurDecision) as exc:
        decider(sessions, monde, N1, "attribution_sous_condition", votes_=tous(monde, "pour"),
                piece_manquante="Bulletin de vote", date_limite_condition="2026-06-10")
    assert "liste limitative" in exc.value.erreurs["piece_manquante"][0]
    assert "doit suivre la date de la séance" in exc.value.erreurs["date_limite_condition"][0]
    decider(sessions, monde, N1, "attribution_sous_condition", votes_=tous(monde, "pour"),
            piece_manquante="AVIS_IMPOSITION", date_limite_condition="2026-06-20")
    with sessions() as s:
        d = s.scalars(select(Decision)).one()
        assert (d.piece_manquante, d.date_limite_condition) == ("AVIS_IMPOSITION", dt.date(2026, 6, 20))


def test_rang_obligatoire_et_borne_pour_un_classement(sessions, monde):
    for rang, message in ((None, "obligatoire"), ("4", "de 1 à 3"), ("deux", "de 1 à 3"), ("0", "de 1 à 3")):
        with pytest.raises(ErreurDecision) as exc:
            decider(sessions, monde, N1, "attribution_rang", votes_=tous(monde, "pour"), rang=rang)
        assert message in exc.value.erreurs["rang"][0]
    with pytest.raises(ErreurDecision, match="seule une attribution par classement a un rang"):
        decider(sessions, monde, N1, "attribution", votes_=tous(monde, "pour"), rang="1")


def test_attribuer_au_candidat_propose_deuxieme_exige_une_justification_conservee(sessions, monde):
    with pytest.raises(ErreurDecision) as exc:
        decider(sessions, monde, N2, "attribution", votes_=tous(monde, "pour"), justification="   ")
    assert "proposé au rang 2" in exc.value.erreurs["justification"][0]
    decider(sessions, monde, N2, "attribution", votes_=tous(monde, "pour"),
            justification="Le candidat proposé premier a retiré sa candidature en séance.")
    with sessions() as s:
        d = s.scalars(select(Decision)).one()
        assert d.justification == "Le candidat proposé premier a retiré sa candidature en séance."
    entree = audit(sessions, "decision.enregistrer")[0]
    assert entree.details["ecart_ordre_propose"] is True
    assert entree.apres["justification"] == "fournie"  # referenced, not copied
    assert "retiré" not in json.dumps(entree.apres, ensure_ascii=False)


def test_un_classement_dans_un_autre_ordre_que_celui_propose_exige_une_justification(sessions, monde):
    decider(sessions, monde, N1, "attribution_rang", votes_=tous(monde, "pour"), rang="1")
    with pytest.raises(ErreurDecision, match="proposé au rang 3, est classé au rang 2"):
        decider(sessions, monde, N3, "attribution_rang", votes_=tous(monde, "pour"), rang="2")
    decider(sessions, monde, N3, "attribution_rang", votes_=tous(monde, "pour"), rang="2",
            justification="Composition familiale plus adaptée à la typologie T3.")
    with pytest.raises(ErreurDecision, match="ce candidat, proposé au rang 2, est classé au rang 3"):
        decider(sessions, monde, N2, "attribution_rang", votes_=tous(monde, "pour"), rang="3")


def test_un_rang_deja_donne_ou_un_melange_attribution_et_classement_est_refuse(sessions, monde):
    decider(sessions, monde, N1, "attribution_rang", votes_=tous(monde, "pour"), rang="1")
    with pytest.raises(ErreurDecision, match="le rang 1 est déjà donné au candidat 0591126000001A"):
        decider(sessions, monde, N2, "attribution_rang", votes_=tous(monde, "pour"), rang="1", justification="x")
    with pytest.raises(ErreurDecision, match="ne se combinent pas"):
        decider(sessions, monde, N2, "attribution", votes_=tous(monde, "pour"), justification="x")


def test_le_logement_ne_peut_etre_attribue_qu_une_fois_par_seance(sessions, monde):
    decider(sessions, monde, N1, "attribution", votes_=tous(monde, "pour"))
    with pytest.raises(ErreurDecision, match="déjà attribué au candidat 0591126000001A"):
        decider(sessions, monde, N2, "attribution_sous_condition", votes_=tous(monde, "pour"), justification="x",
                piece_manquante="HANDICAP", date_limite_condition="2026-07-01")
    # Another logement of the same séance is free.
    decider(sessions, monde, N4, "attribution", votes_=tous(monde, "pour"))


@pytest.mark.parametrize(
    ("premiere", "seconde", "index"),
    [
        ((TypeDecision.ATTRIBUTION, None), (TypeDecision.ATTRIBUTION_SOUS_CONDITION, None), "uq_decision_attribution_effective"),
        ((TypeDecision.ATTRIBUTION, None), (TypeDecision.ATTRIBUTION_RANG, 1), "uq_decision_attribution_effective"),
        ((TypeDecision.ATTRIBUTION_RANG, 2), (TypeDecision.ATTRIBUTION_RANG, 2), "uq_decision_rang_classement"),
    ],
)
def test_la_base_refuse_un_doublon_ecrit_sans_passer_par_le_service(sessions, monde, premiere, seconde, index):
    instant = dt.datetime(2026, 6, 10, 10, tzinfo=dt.UTC)

    def ligne(numero, type_, rang):
        return Decision(candidature_id=monde.candidatures[numero], seance_id=monde.seance_id,
                        logement_id=monde.logements["L-1"], type=type_, rang=rang, motifs=[], decide_le=instant)

    with sessions.begin() as s:
        s.add(ligne(N1, *premiere))
    with pytest.raises(IntegrityError) as exc:
        with sessions.begin() as s:
            s.add(ligne(N2, *seconde))
    assert svc.message_contrainte(exc.value) == svc.MESSAGES_CONTRAINTES[index]
    assert compter(sessions, Decision) == 1


def test_la_base_refuse_une_decision_qui_ne_porte_pas_le_logement_de_sa_candidature(sessions, monde):
    with pytest.raises(IntegrityError):
        with sessions.begin() as s:
            s.add(Decision(candidature_id=monde.candidatures[N1], seance_id=monde.seance_id,
                           logement_id=monde.logements["L-2"], type=TypeDecision.ATTRIBUTION, motifs=[],
                           decide_le=dt.datetime(2026, 6, 10, 10, tzinfo=dt.UTC)))


def test_des_non_attributions_et_des_rangs_differents_coexistent(sessions, monde):
    decider(sessions, monde, N1, "attribution_rang", votes_=tous(monde, "pour"), rang="1")
    decider(sessions, monde, N2, "attribution_rang", votes_=tous(monde, "pour"), rang="2")
    decider(sessions, monde, N3, "non_attribution", votes_=tous(monde, "contre"), motifs=["NA_CANDIDAT_MIEUX_CLASSE"])
    assert compter(sessions, Decision) == 3


def test_seul_le_president_enregistre_une_decision(sessions, monde):
    for qui in ("membre1", "charge", "lecteur", "admin"):
        with pytest.raises(ErreurDecision, match="Votre rôle ne permet pas"):
            decider(sessions, monde, N1, "attribution", qui=qui, votes_=tous(monde, "pour"))


def test_une_decision_peut_etre_corrigee_avant_la_cloture_avec_une_entree_d_audit_par_ecriture(sessions, monde):
    decider(sessions, monde, N1, "attribution", votes_=tous(monde, "pour"))
    decider(sessions, monde, N1, "non_attribution", votes_=tous(monde, "contre"), motifs=["NA_ELOIGNEMENT"])
    entrees = audit(sessions, "decision.enregistrer")
    assert [e.avant and e.avant["type"] for e in entrees] == [None, "attribution"]
    assert entrees[1].apres["type"] == "non_attribution"
    assert entrees[1].details["votes"]["contre"] == 5
    assert compter(sessions, Decision) == 1


# --------------------------------------------------------------------------- closing


def _decider_tout(sessions, m):
    decider(sessions, m, N1, "attribution_rang", votes_=tous(m, "pour"), rang="1")
    decider(sessions, m, N2, "attribution_rang", votes_=tous(m, "pour"), rang="2")
    decider(sessions, m, N3, "rejet_irrecevabilite", votes_=tous(m, "contre"), motifs=["REJ_PLAFONDS"])
    decider(sessions, m, N4, "attribution_sous_condition", votes_=tous(m, "pour"),
            piece_manquante="JUSTIFICATIF_RESSOURCES", date_limite_condition="2026-06-25")
    decider(sessions, m, N5, "non_attribution", votes_=tous(m, "contre"), motifs=["NA_CANDIDAT_MIEUX_CLASSE"])
    decider(sessions, m, N6, "non_attribution", votes_=tous(m, "contre"), motifs=["NA_TYPOLOGIE_INADAPTEE", "NA_ELOIGNEMENT"])


def cloturer(sessions, m, qui="president", version="0.1.0-essai00000"):
    with sessions.begin() as s:
        svc.cloturer_seance(s, seance_id=m.seance_id, acteur=Acteur(sessions, qui), version=version)


def test_la_cloture_exige_une_decision_pour_chaque_candidature(sessions, monde):
    decider(sessions, monde, N1, "attribution", votes_=tous(monde, "pour"))
    with pytest.raises(ErreurDecision, match="5 candidature\\(s\\) sans décision ni renvoi"):
        cloturer(sessions, monde)
    with sessions() as s:
        assert s.get(Seance, monde.seance_id).statut == StatutSeance.OUVERTE


def test_la_cloture_fige_les_decisions_enregistre_la_version_et_cree_les_attributions(sessions, monde):
    _decider_tout(sessions, monde)
    with pytest.raises(ErreurDecision, match="Votre rôle ne permet pas de clore"):
        cloturer(sessions, monde, qui="charge")
    cloturer(sessions, monde)
    with sessions() as s:
        seance = s.get(Seance, monde.seance_id)
        assert (seance.statut, seance.version_regles) == (StatutSeance.CLOSE, "0.1.0-essai00000")
        assert {d.version_regles for d in s.scalars(select(Decision))} == {"0.1.0-essai00000"}
        attributions = {a.demande.numero_unique: a for a in s.scalars(select(Attribution))}
        # The first of the ranking and the attribution under condition: one per logement.
        assert set(attributions) == {N1, N4}
        assert attributions[N4].reservataire.nom == "Action Logement Services"
        assert attributions[N1].reservataire_id is None
        assert attributions[N1].date_decision == dt.date(2026, 6, 10)
        assert attributions[N1].date_signature_bail is None
        assert attributions[N1].indicateurs["epci"] == "200093201"
    with pytest.raises(ErreurDecision, match="La séance est close"):
        decider(sessions, monde, N5, "non_attribution", votes_=tous(monde, "contre"), motifs=["NA_ELOIGNEMENT"])
    with pytest.raises(ErreurDecision, match="La séance est close"):
        with sessions.begin() as s:
            svc.voter(s, candidature_id=monde.candidatures[N5], acteur=Acteur(sessions, "membre1"), choix="pour")
    [entree] = audit(sessions, "seance.cloturer")
    assert entree.apres == {"statut": "close", "version_regles": "0.1.0-essai00000"}
    assert entree.details["decisions"] == {"attribution_rang": 2, "attribution_sous_condition": 1,
                                           "non_attribution": 2, "rejet_irrecevabilite": 1}


def test_la_cloture_sans_version_donnee_prend_celle_du_referentiel(sessions, monde):
    from engine.version import version_regles

    _decider_tout(sessions, monde)
    with sessions.begin() as s:
        svc.cloturer_seance(s, seance_id=monde.seance_id, acteur=Acteur(sessions, "president"))
    with sessions() as s:
        assert s.get(Seance, monde.seance_id).version_regles == version_regles()


def test_le_pv_se_signe_une_fois_apres_la_cloture(sessions, monde):
    acteur = Acteur(sessions, "president")
    with pytest.raises(ErreurDecision, match="après la clôture"):
        with sessions.begin() as s:
            svc.signer_proces_verbal(s, seance_id=monde.seance_id, acteur=acteur, html="<p>PV</p>")
    _decider_tout(sessions, monde)
    cloturer(sessions, monde)
    with sessions.begin() as s:
        svc.signer_proces_verbal(s, seance_id=monde.seance_id, acteur=acteur, html="<p>PV</p>")
    with pytest.raises(ErreurDecision, match="déjà signé"):
        with sessions.begin() as s:
            svc.signer_proces_verbal(s, seance_id=monde.seance_id, acteur=acteur, html="<p>PV</p>")
    with sessions() as s:
        sig = s.scalars(select(SignatureProcesVerbal)).one()
        assert sig.empreinte == hashlib.sha256(b"<p>PV</p>").hexdigest()


# --------------------------------------------------------------------------- remote séance


@pytest.fixture
def distance(sessions):
    m = construire(sessions, mode=ModeSeance.DEMATERIALISEE)
    with sessions.begin() as s:
        seance = s.get(Seance, m.seance_id)
        # CALEOL_TODAY = 2026-06-15: "now" is noon UTC that day.
        seance.vote_ouverture = dt.datetime(2026, 6, 15, 8, tzinfo=dt.UTC)
        seance.vote_cloture = dt.datetime(2026, 6, 15, 18, tzinfo=dt.UTC)
    return m


def test_a_distance_chaque_membre_vote_et_classe_dans_la_fenetre(sessions, distance, monkeypatch):
    cid = distance.candidatures[N1]
    with sessions.begin() as s:
        svc.voter(s, candidature_id=cid, acteur=Acteur(sessions, "membre1"), choix="pour", rang="1")
        svc.voter(s, candidature_id=cid, acteur=Acteur(sessions, "president"), choix="pour", rang="2")
        svc.voter(s, candidature_id=cid, acteur=Acteur(sessions, "prefet"), choix="contre", rang="3")
    with pytest.raises(ErreurDecision, match="Rang : indiquez un nombre entier de 1 à 3"):
        with sessions.begin() as s:
            svc.voter(s, candidature_id=cid, acteur=Acteur(sessions, "membre1"), choix="pour", rang="7")
    # The président records the result only once the window is over…
    with pytest.raises(ErreurDecision, match="fenêtre de vote est ouverte jusqu'au 15/06/2026 à 18:00"):
        decider(sessions, distance, N1, "attribution_rang", rang="1")
    # …and members cannot vote after it.
    monkeypatch.setenv("CALEOL_TODAY", "2026-06-16")
    with pytest.raises(ErreurDecision, match="fenêtre de vote de cette séance dématérialisée n'est pas ouverte"):
        with sessions.begin() as s:
            svc.voter(s, candidature_id=distance.candidatures[N2], acteur=Acteur(sessions, "membre1"), choix="pour")
    with pytest.raises(ErreurDecision, match="chaque membre vote lui-même"):
        decider(sessions, distance, N1, "attribution_rang", rang="1", votes_=tous(distance, "pour"))
    decider(sessions, distance, N1, "attribution_rang", rang="1")
    with sessions() as s:
        r = svc.resultat_vote(s, s.get(Candidature, cid))
    assert (r.pour, r.contre, r.rang_moyen) == (2, 1, 2.0)


def test_a_distance_un_membre_demande_le_renvoi_en_commission_physique(sessions, distance, monkeypatch):
    cid = distance.candidatures[N2]
    with sessions.begin() as s:
        svc.demander_renvoi(s, candidature_id=cid, acteur=Acteur(sessions, "prefet"), motif="Situation à discuter en séance")
    with pytest.raises(ErreurDecision, match="déjà demandé le renvoi"):
        with sessions.begin() as s:
            svc.demander_renvoi(s, candidature_id=cid, acteur=Acteur(sessions, "prefet"))
    with pytest.raises(ErreurDecision, match="Vous n'êtes pas membre de cette séance"):
        with sessions.begin() as s:
            svc.demander_renvoi(s, candidature_id=cid, acteur=Acteur(sessions, "membre2"))
    monkeypatch.setenv("CALEOL_TODAY", "2026-06-16")
    with pytest.raises(ErreurDecision, match="renvoyé en commission physique"):
        decider(sessions, distance, N2, "non_attribution", motifs=["NA_ELOIGNEMENT"])
    [entree] = audit(sessions, "decision.renvoi_cal_physique")
    assert entree.apres == {"membre_id": distance.membres["prefet"], "motif": "fourni"}
    with sessions() as s:
        assert s.scalars(select(RenvoiCalPhysique)).one().motif == "Situation à discuter en séance"


def test_en_seance_physique_le_renvoi_n_a_pas_d_objet(sessions, monde):
    with pytest.raises(ErreurDecision, match="ne concerne que les séances dématérialisées"):
        with sessions.begin() as s:
            svc.demander_renvoi(s, candidature_id=monde.candidatures[N1], acteur=Acteur(sessions, "membre1"))


def test_la_fenetre_de_vote_est_verifiee(sessions, distance):
    acteur = Acteur(sessions, "charge")
    with pytest.raises(ErreurDecision) as exc:
        with sessions.begin() as s:
            svc.definir_fenetre(s, seance_id=distance.seance_id, acteur=acteur,
                                ouverture=dt.datetime(2026, 6, 15, 18, tzinfo=dt.UTC),
                                cloture=dt.datetime(2026, 6, 15, 8, tzinfo=dt.UTC))
    assert exc.value.erreurs == {"vote_cloture": ["Clôture du vote : elle doit suivre l'ouverture."]}
    with pytest.raises(ErreurDecision, match="Votre rôle ne permet pas"):
        with sessions.begin() as s:
            svc.definir_fenetre(s, seance_id=distance.seance_id, acteur=Acteur(sessions, "lecteur"),
                                ouverture=None, cloture=None)


# --------------------------------------------------------------------------- routes × roles

ROLES = ("president", "charge", "membre1", "membre2", "lecteur", "admin", "president2", "prefet", None)


def _lire(m, cid):
    s = m.seance_id
    return {
        "liste": "/decisions/seances",
        "seance": f"/decisions/seances/{s}",
        "logement": f"/decisions/seances/{s}/logements/{m.logements['L-1']}",
        "candidature": f"/decisions/seances/{s}/candidatures/{cid}",
        "pv_html": f"/decisions/seances/{s}/pv.html",
        "pv_nominatif": f"/decisions/seances/{s}/pv.html?nominatif=1",
        "lettre_html": f"/decisions/seances/{s}/candidatures/{cid}/lettre.html",
    }


# Expected status per route and role (None = not logged in → redirected to the login page).
ATTENDU_LECTURE = {
    "liste": {"admin": 403, None: 302},
    "seance": {"admin": 403, "president2": 404, None: 302},
    "logement": {"admin": 403, "president2": 404, None: 302},
    "candidature": {"admin": 403, "president2": 404, None: 302},
    "pv_html": {"admin": 403, "president2": 404, None: 302},
    "pv_nominatif": {"membre1": 403, "membre2": 403, "lecteur": 403, "prefet": 403, "admin": 403, "president2": 404, None: 302},
    "lettre_html": {"membre1": 403, "membre2": 403, "lecteur": 403, "prefet": 403, "admin": 403, "president2": 404, None: 302},
}


@pytest.mark.parametrize("role", ROLES)
def test_chaque_page_de_lecture_pour_chaque_role(engine, sessions, monde, role):
    decider(sessions, monde, N1, "attribution", votes_=tous(monde, "pour"))
    c = client(engine, role)
    for nom, url in _lire(monde, monde.candidatures[N1]).items():
        attendu = ATTENDU_LECTURE[nom].get(role, 200)
        r = c.get(url)
        assert r.status_code == attendu, (nom, role, r.status_code)
        if attendu == 302:
            assert "/connexion" in r.headers["Location"]


def test_la_seance_d_un_autre_bailleur_est_introuvable(engine, monde):
    for role in ("president", "charge", "lecteur", "prefet"):
        assert client(engine, role).get(f"/decisions/seances/{monde.autre_seance_id}").status_code == 404


def test_les_pdf_du_pv_et_des_lettres(engine, sessions, monde):
    decider(sessions, monde, N1, "attribution", votes_=tous(monde, "pour"))
    cid = monde.candidatures[N1]
    pv = client(engine, "lecteur").get(f"/decisions/seances/{monde.seance_id}/pv.pdf")
    assert (pv.status_code, pv.mimetype, pv.data[:5]) == (200, "application/pdf", b"%PDF-")
    chemin = f"/decisions/seances/{monde.seance_id}/candidatures/{cid}/lettre.pdf"
    assert client(engine, "membre1").get(chemin).status_code == 403
    lettre = client(engine, "charge").get(chemin)
    assert (lettre.status_code, lettre.data[:5]) == (200, b"%PDF-")
    # No letter before a decision.
    assert client(engine, "charge").get(
        f"/decisions/seances/{monde.seance_id}/candidatures/{monde.candidatures[N2]}/lettre.pdf").status_code == 404


def _ecrire(m):
    s, cid = m.seance_id, m.candidatures[N1]
    return {
        "decision": (f"/decisions/seances/{s}/candidatures/{cid}/decision", {"type": "attribution", "unanimite": "pour"}),
        "vote": (f"/decisions/seances/{s}/candidatures/{cid}/vote", {"choix": "pour"}),
        "renvoi": (f"/decisions/seances/{s}/candidatures/{cid}/renvoi", {}),
        "fenetre": (f"/decisions/seances/{s}/fenetre", {"vote_ouverture": "2026-06-15T08:00", "vote_cloture": "2026-06-15T18:00"}),
        "cloture": (f"/decisions/seances/{s}/cloture", {}),
        "signature": (f"/decisions/seances/{s}/signature", {}),
    }


# Physical séance, nothing decided yet. 302 = done; 422 = refused with a French message (allowed role,
# but the séance's state or the person's seat does not permit it); 403/404 = no access.
ATTENDU_ECRITURE = {
    "decision": {"president": 302, "president2": 404, None: 302},
    "vote": {"membre1": 302, "president": 302, "prefet": 302, "membre2": 422, "president2": 404, None: 302},
    "renvoi": {"membre1": 422, "president": 422, "prefet": 422, "membre2": 422, "president2": 404, None: 302},
    "fenetre": {"president": 422, "charge": 422, "president2": 404, None: 302},
    "cloture": {"president": 422, "president2": 404, None: 302},
    "signature": {"president": 422, "president2": 404, None: 302},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(ATTENDU_ECRITURE))
def test_chaque_formulaire_pour_chaque_role(engine, sessions, monde, route, role):
    url, donnees = _ecrire(monde)[route]
    r = client(engine, role).post(url, data=donnees)
    attendu = ATTENDU_ECRITURE[route].get(role, 403)
    assert r.status_code == attendu, (route, role, r.status_code, r.get_data(as_text=True)[-400:])
    ecrit = compter(sessions, Decision) + compter(sessions, Vote) + compter(sessions, RenvoiCalPhysique)
    assert ecrit == (0 if attendu != 302 or role is None else (6 if route == "decision" else 1))  # a decision comes with the votes of the 5 voting members present


def test_le_parcours_du_president_jusqu_au_pv_signe(engine, sessions, monde):
    c = client(engine, "president")
    s = monde.seance_id
    plan = [
        (N1, {"type": "attribution_rang", "rang": "1"}, "pour"),
        (N2, {"type": "attribution_rang", "rang": "2"}, "pour"),
        (N3, {"type": "non_attribution", "motifs": ["NA_CANDIDAT_MIEUX_CLASSE"]}, "contre"),
        (N4, {"type": "attribution"}, "pour"),
        (N5, {"type": "non_attribution", "motifs": ["NA_TAUX_EFFORT", "NA_ELOIGNEMENT"]}, "contre"),
        (N6, {"type": "rejet_irrecevabilite", "motifs": ["REJ_RESIDENCE_IRREGULIERE"]}, "contre"),
    ]
    for numero, donnees, unanimite in plan:
        r = c.post(f"/decisions/seances/{s}/candidatures/{monde.candidatures[numero]}/decision",
                   data=donnees | {"unanimite": unanimite})
        assert r.status_code == 302, r.get_data(as_text=True)
    page = c.get(f"/decisions/seances/{s}").get_data(as_text=True)
    assert 'id="bouton-cloture"' in page
    assert c.post(f"/decisions/seances/{s}/cloture").status_code == 302
    page = c.get(f"/decisions/seances/{s}").get_data(as_text=True)
    assert "close" in page and 'id="bouton-signature"' in page
    assert c.post(f"/decisions/seances/{s}/signature").status_code == 302
    page = c.get(f"/decisions/seances/{s}").get_data(as_text=True)
    assert "signé le 15/06/2026 à 12:00 (UTC)" in page
    with sessions() as ss:
        assert ss.scalar(select(func.count()).select_from(Attribution)) == 2
        sig = ss.scalars(select(SignatureProcesVerbal)).one()
        from webapp.services import documents

        assert sig.empreinte == hashlib.sha256(
            documents.pv_html(ss, ss.get(Seance, s), avec_signature=False).encode()).hexdigest()
    assert "Signé électroniquement le 15/06/2026" in c.get(f"/decisions/seances/{s}/pv.html").get_data(as_text=True)


def test_le_membre_vote_declare_un_conflit_et_demande_un_renvoi_a_distance(engine, sessions, distance):
    c = client(engine, "membre1")
    base = f"/decisions/seances/{distance.seance_id}/candidatures/{distance.candidatures[N1]}"
    page = c.get(base).get_data(as_text=True)
    assert 'id="formulaire-vote"' in page and 'id="formulaire-renvoi"' in page
    assert 'id="formulaire-decision"' not in page
    assert c.post(base + "/vote", data={"choix": "contre", "rang_membre": "2"}).status_code == 302
    assert "Vote enregistré : contre, rang 2" in c.get(base).get_data(as_text=True)
    assert c.post(base + "/vote", data={"conflit_interets": "oui"}).status_code == 302
    assert c.post(base + "/renvoi", data={"motif_renvoi": "À voir en séance"}).status_code == 302
    page = client(engine, "lecteur").get(base).get_data(as_text=True)
    assert "Renvoi en commission physique demandé" in page and "Marc Membre" in page
    with sessions() as s:
        v = s.scalars(select(Vote)).one()
        assert (v.conflit_interets, v.choix, v.rang) == (True, None, None)


# --------------------------------------------------------------------------- forms: errors, CSRF, escaping


def test_un_formulaire_incorrect_est_reaffiche_avec_les_erreurs_en_francais_et_rien_n_est_ecrit(engine, sessions, monde):
    c = client(engine, "president")
    url = f"/decisions/seances/{monde.seance_id}/candidatures/{monde.candidatures[N2]}/decision"
    avant = compter(sessions, AuditEntry)
    r = c.post(url, data={"type": "attribution_sous_condition", "unanimite": "pour", "date_limite_condition": "demain",
                          "justification": "<b>Motif</b> saisi"})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "Pièce manquante : obligatoire pour une attribution sous condition suspensive." in page
    assert "Date limite : indiquez une date au format AAAA-MM-JJ." in page
    assert 'aria-describedby="erreur-piece_manquante"' in page and 'aria-invalid="true"' in page
    assert 'id="erreur-date_limite_condition"' in page and 'role="alert"' in page
    # What was typed is kept, escaped.
    assert "&lt;b&gt;Motif&lt;/b&gt; saisi</textarea>" in page
    assert 'value="attribution_sous_condition" checked' in page
    assert compter(sessions, Decision) + compter(sessions, Vote) == 0
    assert compter(sessions, AuditEntry) == avant


def test_la_justification_manquante_est_signalee_sur_son_champ(engine, monde):
    c = client(engine, "president")
    r = c.post(f"/decisions/seances/{monde.seance_id}/candidatures/{monde.candidatures[N3]}/decision",
               data={"type": "attribution_rang", "rang": "1", "unanimite": "pour"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Justification : obligatoire, car la décision s&#39;écarte de l&#39;ordre proposé" in page
    assert 'aria-describedby="aide-justification erreur-justification"' in page


def test_sans_jeton_csrf_le_formulaire_est_refuse_et_rien_n_est_ecrit(engine, sessions, monde):
    c = client(engine, "president", csrf=True)
    url = f"/decisions/seances/{monde.seance_id}/candidatures/{monde.candidatures[N1]}"
    for route, donnees in ((url + "/decision", {"type": "attribution", "unanimite": "pour"}),
                           (f"/decisions/seances/{monde.seance_id}/cloture", {})):
        r = c.post(route, data=donnees)
        assert r.status_code == 400 and "jeton de sécurité" in r.get_data(as_text=True)
        assert c.post(route, data=donnees | {"csrf_token": "faux"}).status_code == 400
    assert compter(sessions, Decision) == 0
    page = c.get(url).get_data(as_text=True)
    assert page.count('name="csrf_token"') >= 2  # logout form and decision form
    r = c.post(url + "/decision", data={"type": "attribution", "unanimite": "pour", "csrf_token": jeton(page)})
    assert r.status_code == 302
    assert compter(sessions, Decision) == 1


def test_le_texte_saisi_est_echappe_dans_les_pages_et_le_pv(engine, sessions, monde):
    decider(sessions, monde, N3, "attribution", votes_=tous(monde, "pour"),
            justification="<script>alert('x')</script> priorité")
    c = client(engine, "president")
    for url in (f"/decisions/seances/{monde.seance_id}/candidatures/{monde.candidatures[N3]}",
                f"/decisions/seances/{monde.seance_id}/pv.html?nominatif=1",
                f"/decisions/seances/{monde.seance_id}/logements/{monde.logements['L-1']}"):
        page = c.get(url).get_data(as_text=True)
        assert "<script>" not in page and "<DUPONT" not in page
        assert "&lt;DUPONT &amp; FILS&gt;" in page
        if "logements" not in url:  # the justification is shown on the candidature and in the minutes
            assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; priorité" in page


def test_les_noms_ne_paraissent_que_pour_les_roles_qui_traitent_les_donnees_personnelles(engine, sessions, monde):
    decider(sessions, monde, N1, "attribution", votes_=tous(monde, "pour"))
    url = f"/decisions/seances/{monde.seance_id}/candidatures/{monde.candidatures[N1]}"
    assert "BENALI" in client(engine, "president").get(url).get_data(as_text=True)
    for role in ("membre1", "lecteur", "prefet"):
        page = client(engine, role).get(url).get_data(as_text=True)
        assert "BENALI" not in page.upper() and "0591126000001A" in page
    assert "BENALI" not in client(engine, "lecteur").get(f"/decisions/seances/{monde.seance_id}/pv.html").get_data(as_text=True).upper()
    assert "BENALI" not in json.dumps([e.apres for e in audit(sessions, "decision.enregistrer")]).upper()


# --------------------------------------------------------------------------- the rulebook files


def test_un_fichier_du_referentiel_des_decisions_invalide_est_refuse_en_nommant_fichier_et_champ(tmp_path):
    import shutil

    from engine.version import chemin_regles
    from engine.yaml_strict import ErreurRegles

    shutil.copytree(chemin_regles("decisions"), tmp_path / "decisions")
    motifs = tmp_path / "decisions" / "motifs.yaml"
    motifs.write_text(motifs.read_text(encoding="utf-8").replace("    types: [rejet_irrecevabilite]\n", "    types: [rejet]\n", 1), encoding="utf-8")
    with pytest.raises(ErreurRegles, match="motifs.yaml, règle REJ_PLAFONDS, champ types : type de décision inconnu : rejet"):
        svc.charger_referentiel(tmp_path / "decisions")
    shutil.copy(chemin_regles("decisions", "motifs.yaml"), motifs)
    types = tmp_path / "decisions" / "types.yaml"
    types.write_text(types.read_text(encoding="utf-8").replace("  rang_max: 3\n", ""), encoding="utf-8")
    with pytest.raises(ErreurRegles, match="types.yaml, règle classement, champ rang_max : champ obligatoire absent"):
        svc.charger_referentiel(tmp_path / "decisions")


def test_chaque_type_de_decision_a_sa_reference_et_les_refus_ont_des_motifs():
    ref = svc.referentiel()
    assert set(ref.types) == {t.value for t in TypeDecision}
    assert all("R441-3" in t.reference.titre for t in ref.types.values())
    for code in ("non_attribution", "rejet_irrecevabilite"):
        assert ref.types[code].motif_obligatoire and ref.motifs_pour(code)
    assert ref.rang_max == 3 and ref.delai_recours == 2
