"""Proposals for a vacant dwelling: ranking, tie-breakers, R441-3 exceptions, exclusions, pools, séance, APL."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from engine.yaml_strict import ErreurRegles
from webapp.cli import main
from webapp.models import (
    Candidature,
    Commission,
    Designation,
    OrientationFlux,
    Reservataire,
    Seance,
    StatutOrientation,
    TypeReservataire,
)
from webapp.services import propositions as service
from webapp.services.apl import EstimateurApl
from webapp.services.evaluations import recalculer_evaluations
from webapp.services.propositions import ErreurProposition, charger_politique, criteres_publies, proposer

from .fabrique_propositions import DATE, LILLE, ROUBAIX, bailleur, dossier, enregistrer, logement, nu
from .test_apl import openfisca_url  # noqa: F401  (the real OpenFisca service, skipped when not installed)


def preparer(session, *dossiers):
    ids = enregistrer(session, *dossiers)
    recalculer_evaluations(session, DATE, acteur="tests")
    return ids


def numeros(resultat):
    return [c["numero_unique"] for c in resultat["candidats"]]


def criteres_devant(resultat):
    return [c["pourquoi_devant"]["critere"] if c["pourquoi_devant"] else None for c in resultat["candidats"]]


# --------------------------------------------------------------------------- ranking


def test_le_classement_est_deterministe_et_total(session):
    # Same date, same household, same everything: only the numéro unique separates them.
    preparer(session, *(dossier(code) for code in ("D5", "D3", "D1", "D4", "D2")))
    lgt = logement(session)
    premier = proposer(session, lgt.id, DATE)
    second = proposer(session, lgt.id, DATE)
    assert json.dumps(premier, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert numeros(premier) == [nu("D1"), nu("D2"), nu("D3")]
    assert [c["rang"] for c in premier["candidats"]] == [1, 2, 3]
    assert criteres_devant(premier) == ["numero_unique", "numero_unique", "numero_unique"]
    assert premier["candidats"][0]["pourquoi_devant"]["texte"] == (
        f"Devant le rang 2 : Numéro unique d'enregistrement (ordre alphanumérique, pour que l'ordre soit total) — "
        f"{nu('D1')} contre {nu('D2')}."
    )
    assert premier["exception"] is None


def test_dalo_designe_puis_dalo_puis_prioritaire_puis_anciennete(session):
    preparer(
        session,
        dossier("A", depot="2026-01-10", dalo="ACTIF", designation="2026-03-01"),
        dossier("B", depot="2025-01-10", dalo="ACTIF"),
        dossier("C", depot="2020-01-10", situations=(("PRIO_SANS_LOGEMENT", False),)),
        dossier("D", depot="2019-01-10"),
        dossier("E", depot="2019-06-10"),
    )
    r = proposer(session, logement(session).id, DATE)
    assert numeros(r) == [nu("A"), nu("B"), nu("C")]
    assert criteres_devant(r) == ["dalo_designe_prefet", "dalo", "publics_prioritaires"]
    a = r["candidats"][0]
    assert a["dalo_designe_prefet"] is True and a["dalo"] is True
    assert {"DALO", "DALO_DESIGNE_PREFET"} <= {p["code"] for p in a["priorites"]}
    # The last one is compared with the first demande not proposed.
    assert r["candidats"][2]["pourquoi_devant"]["texte"].startswith(f"Devant le premier demandeur non proposé ({nu('D')})")


def test_a_egalite_de_priorite_la_demande_la_plus_ancienne_passe_devant(session):
    preparer(session, dossier("N1", depot="2024-05-02"), dossier("N2", depot="2023-05-02"), dossier("N3", depot="2025-05-02"))
    r = proposer(session, logement(session).id, DATE)
    assert numeros(r) == [nu("N2"), nu("N1"), nu("N3")]
    assert criteres_devant(r)[:2] == ["anciennete", "anciennete"]
    assert r["candidats"][0]["pourquoi_devant"]["texte"].endswith("02/05/2023 contre 02/05/2024.")


def test_le_score_de_cotation_du_territoire_du_logement_departage(session):
    # Lille: the MEL demonstration grid gives ancienneté points; a verified priority criterion adds more.
    preparer(
        session,
        dossier("S1", communes=(LILLE,), depot="2025-06-15"),
        dossier("S2", communes=(LILLE,), depot="2022-06-15"),
        dossier("S3", communes=(LILLE,), depot="2024-06-15"),
    )
    r = proposer(session, logement(session, commune=LILLE).id, DATE)
    assert numeros(r) == [nu("S2"), nu("S3"), nu("S1")]
    assert criteres_devant(r)[:2] == ["score_cotation", "score_cotation"]
    scores = [Decimal(str(c["score"])) for c in r["candidats"]]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[1] > scores[2]
    assert r["candidats"][0]["cotation"]["grille"] == "mel_demonstration"
    assert any(d["rubrique"] == "anciennete" for d in r["candidats"][0]["cotation"]["detail"])


def test_une_demande_qui_souhaite_deux_epci_est_classee_avec_le_score_du_logement(session):
    # X wishes Douai first (no grid, stored score 0) and Lille; the Lille dwelling ranks it by its MEL score.
    preparer(session, dossier("X", communes=("59178", LILLE), depot="2021-06-15"),
             dossier("Y", communes=(LILLE,), depot="2024-06-15"), dossier("Z", communes=(LILLE,), depot="2025-06-15"))
    r = proposer(session, logement(session, commune=LILLE).id, DATE)
    assert numeros(r) == [nu("X"), nu("Y"), nu("Z")]
    assert r["candidats"][0]["pourquoi_devant"]["critere"] == "score_cotation"


def test_au_moins_trois_candidats_quand_le_vivier_le_permet(session):
    preparer(session, *(dossier(f"M{i}", depot=f"202{i}-02-01") for i in range(6)))
    r = proposer(session, logement(session).id, DATE)
    assert len(r["candidats"]) == r["nombre_minimal"] == 3 and r["exception"] is None
    for c in r["candidats"]:
        assert c["pourquoi_devant"] is not None
        assert c["taux_effort"] is not None and c["reste_a_vivre_par_uc_jour"] is not None
        assert c["quartile"] in (1, 2, 3, 4, None)
        assert set(c["logement_d_abord"]) == {"eligible", "criteres"}
    # The three next ones, eligible, are shown as ranked after.
    assert [e["motif"] for e in r["exclus"][:3]] == ["CLASSE_APRES"] * 3


# --------------------------------------------------------------------------- exceptions of R441-3


def test_moins_de_trois_demandes_eligibles_donne_l_exception_d_insuffisance(session):
    preparer(session, dossier("I1"), dossier("I2"))
    r = proposer(session, logement(session).id, DATE)
    assert len(r["candidats"]) == 2
    assert r["exception"]["code"] == "CANDIDATS_INSUFFISANTS"
    assert r["exception"]["nombre_candidats"] == 2
    assert "R441-3" in r["exception"]["reference"]["titre"]


def test_un_logement_plai_adapte_donne_son_exception(session):
    preparer(session, dossier("P1", rfr=9000, salaire=800))
    r = proposer(session, logement(session, financement="PLAI", plai_adapte=True).id, DATE)
    assert numeros(r) == [nu("P1")]
    assert r["exception"]["code"] == "LOGEMENT_PLAI_ADAPTE"
    assert "D331-25-1" in r["exception"]["reference"]["titre"]


def test_un_menage_dalo_designe_par_le_prefet_donne_son_exception(session):
    preparer(session, dossier("Q1", dalo="ACTIF", designation="2026-05-01"))
    r = proposer(session, logement(session, financement="PLAI", plai_adapte=True, reference="Q").id, DATE)
    # Both exceptions could apply: the DALO designation comes first in rules/propositions/classement.yaml.
    assert r["exception"]["code"] == "DESIGNATION_DALO_PREFET"


def test_aucun_candidat_donne_l_exception_d_insuffisance(session):
    preparer(session, dossier("R1", typologies=("T2",)))
    r = proposer(session, logement(session).id, DATE)
    assert r["candidats"] == [] and r["exception"]["code"] == "CANDIDATS_INSUFFISANTS"
    assert r["exclus"][0]["motif"] == "TYPOLOGIE_NON_SOUHAITEE"


# --------------------------------------------------------------------------- exclusions


@pytest.fixture
def dix_exclus(monkeypatch):
    monkeypatch.setattr(service, "politique", lambda: dataclasses.replace(charger_politique(), exclus_affiches=12))


def test_chaque_demande_ecartee_porte_la_regle_qui_l_a_ecartee(session, dix_exclus):
    # A T3 of 60 m² (3 rooms, PLUS, not accessible) in Douai. Every household filed long ago, so that the
    # excluded ones are the best-scored (all scores are 0 in Douai: ancienneté decides).
    preparer(
        session,
        dossier("X01", depot="2015-01-01", typologies=("T2",)),
        dossier("X02", depot="2015-01-02", communes=("59007",)),  # another commune of the Douaisis
        dossier("X03", depot="2015-01-03", rfr=42000),  # above PLUS, below PLS
        dossier("X04", depot="2015-01-04", enfants=6),
        dossier("X05", depot="2015-01-05", enfants=0),
        dossier("X06", depot="2015-01-06", besoin_pmr=True),
        dossier("X07", depot="2015-01-07", residence_declaree=None),
        dossier("X08", depot="2015-01-08", rfr=90000),
        dossier("OK1", depot="2020-01-01"),
    )
    r = proposer(session, logement(session).id, DATE)
    assert numeros(r) == [nu("OK1")]
    motifs = {e["numero_unique"]: (e["motif"], e["regles"]) for e in r["exclus"]}
    assert motifs[nu("X01")] == ("TYPOLOGIE_NON_SOUHAITEE", [])
    assert motifs[nu("X02")] == ("COMMUNE_NON_SOUHAITEE", [])
    assert motifs[nu("X03")] == ("PLAFOND_FINANCEMENT", ["recevabilite.ressources_au_dessus_plafond"])
    assert motifs[nu("X04")] == ("SUR_OCCUPATION", ["adequation.surface_sur_occupation"])
    assert motifs[nu("X05")] == ("SOUS_OCCUPATION", ["adequation.pieces_sous_occupation"])
    assert motifs[nu("X06")] == ("ACCESSIBILITE", ["adequation.accessibilite_manquante"])
    assert motifs[nu("X07")] == ("DOSSIER_INCOMPLET", ["recevabilite.sejour_non_renseigne"])
    assert motifs[nu("X08")] == ("NON_RECEVABLE", ["recevabilite.ressources_au_dessus_plafond"])
    detail = {e["numero_unique"]: e["detail"] for e in r["exclus"]}
    assert detail[nu("X04")] == "7 personne(s) pour 60 m² (au plus 6 personne(s))"
    assert detail[nu("X01")] == "typologies souhaitées : T2 ; logement : T3"
    # Best-scored first, then the oldest.
    assert [e["numero_unique"] for e in r["exclus"][:3]] == [nu("X01"), nu("X02"), nu("X03")]


def test_les_cinq_mieux_cotes_non_proposes_sont_montres(session):
    preparer(session, *(dossier(f"T{i}", typologies=("T2",), depot=f"201{i}-01-01") for i in range(8)))
    r = proposer(session, logement(session).id, DATE)
    assert len(r["exclus"]) == 5
    assert [e["numero_unique"] for e in r["exclus"]] == [nu(f"T{i}") for i in range(5)]


def test_un_logement_accessible_accepte_le_besoin_d_accessibilite(session):
    preparer(session, dossier("H1", besoin_pmr=True))
    r = proposer(session, logement(session, accessible_pmr=True).id, DATE)
    assert numeros(r) == [nu("H1")]


def test_la_sous_occupation_signalee_plutot_qu_exclue_selon_la_politique(session, monkeypatch):
    preparer(session, dossier("U1", enfants=0))
    assert proposer(session, logement(session).id, DATE)["candidats"] == []
    monkeypatch.setattr(service, "politique", lambda: dataclasses.replace(charger_politique(), sous_occupation="signaler"))
    r = proposer(session, logement(session, reference="A-2").id, DATE)
    assert numeros(r) == [nu("U1")] and r["candidats"][0]["sous_occupation"] is True


# --------------------------------------------------------------------------- pool per orientation


def _reservataire(session, nom, type_):
    res = Reservataire(nom=nom, type=type_)
    session.add(res)
    session.flush()
    return res


def _orienter(session, lgt, reservataire, statut=StatutOrientation.DESIGNEE, designes=()):
    o = OrientationFlux(logement_id=lgt.id, bailleur_id=bailleur(session).id, reservataire_id=reservataire.id if reservataire else None,
                        annee=2026, date_orientation=dt.date(2026, 5, 1), date_limite_designation=dt.date(2026, 5, 31),
                        statut=statut)
    session.add(o)
    session.flush()
    for rang, demande_id in enumerate(designes, start=1):
        session.add(Designation(orientation_id=o.id, demande_id=demande_id, rang=rang, date_designation=dt.date(2026, 5, 10)))
    session.flush()
    session.expire(o)
    return o


def test_un_logement_oriente_vers_un_reservataire_ne_propose_que_ses_designes(session):
    ids = preparer(session, *(dossier(f"V{i}", depot=f"201{i}-01-01") for i in range(5)))
    lgt = logement(session)
    al = _reservataire(session, "Action Logement (tests)", TypeReservataire.ACTION_LOGEMENT)
    _orienter(session, lgt, al, designes=(ids[3], ids[4]))
    r = proposer(session, lgt.id, DATE)
    assert r["vivier"]["code"] == "designations"
    assert numeros(r) == [nu("V3"), nu("V4")]
    assert [c["designation_reservataire"] for c in r["candidats"]] == [1, 2]
    assert r["exception"]["code"] == "CANDIDATS_INSUFFISANTS"
    assert r["exclus"][0]["numero_unique"] == nu("V0") and r["exclus"][0]["motif"] == "NON_DESIGNE"


def test_un_designe_qui_ne_remplit_pas_les_conditions_est_montre_avec_son_motif(session):
    ids = preparer(session, dossier("W1"), dossier("W2", typologies=("T5",)))
    lgt = logement(session)
    coll = _reservataire(session, "Commune (tests)", TypeReservataire.COLLECTIVITE)
    _orienter(session, lgt, coll, designes=ids)
    r = proposer(session, lgt.id, DATE)
    assert numeros(r) == [nu("W1")]
    (w2,) = [e for e in r["exclus"] if e["numero_unique"] == nu("W2")]
    assert w2["designe_par_reservataire"] is True and w2["motif"] == "TYPOLOGIE_NON_SOUHAITEE"


def test_le_contingent_prefectoral_ajoute_les_menages_prioritaires_labellises(session):
    ids = preparer(session, dossier("K1"), dossier("K2", pdalhpd=True), dossier("K3", situations=(("PRIO_SANS_LOGEMENT", True),)),
                   dossier("K4", situations=(("PRIO_SANS_LOGEMENT", False),)), dossier("K5", depot="2010-01-01"))
    lgt = logement(session)
    etat = _reservataire(session, "Préfet (tests)", TypeReservataire.ETAT_PRIORITAIRES)
    _orienter(session, lgt, etat, statut=StatutOrientation.EN_ATTENTE, designes=(ids[0],))
    r = proposer(session, lgt.id, DATE)
    assert r["vivier"]["code"] == "designations_et_prioritaires"
    # K4's situation is declared, not verified: not labelled. K5 is the oldest but not designated.
    assert sorted(numeros(r)) == [nu("K1"), nu("K2"), nu("K3")]
    motifs = {e["numero_unique"]: e["motif"] for e in r["exclus"]}
    assert motifs[nu("K5")] == "NON_DESIGNE" and motifs[nu("K4")] == "NON_DESIGNE"


@pytest.mark.parametrize("cas", ["bailleur", "restituee", "aucune"])
def test_la_part_du_bailleur_ou_un_logement_restitue_propose_toutes_les_demandes(session, cas):
    ids = preparer(session, *(dossier(f"B{i}", depot=f"201{i}-01-01") for i in range(4)))
    lgt = logement(session)
    if cas == "bailleur":
        _orienter(session, lgt, _reservataire(session, "Bailleur (part propre)", TypeReservataire.BAILLEUR))
    elif cas == "restituee":
        al = _reservataire(session, "Action Logement (tests)", TypeReservataire.ACTION_LOGEMENT)
        _orienter(session, lgt, al, statut=StatutOrientation.RESTITUEE, designes=(ids[3],))
    r = proposer(session, lgt.id, DATE)
    assert r["vivier"]["code"] == "toutes_demandes"
    assert numeros(r) == [nu("B0"), nu("B1"), nu("B2")]


# --------------------------------------------------------------------------- séance


def test_une_demande_deja_candidate_dans_la_seance_n_est_pas_reproposee(session):
    ids = preparer(session, *(dossier(f"G{i}", depot=f"201{i}-01-01") for i in range(4)))
    premier, second = logement(session, reference="G-1"), logement(session, reference="G-2")
    commission = Commission(bailleur_id=bailleur(session).id, nom="CALEOL (tests)")
    seance = Seance(commission=commission, date_seance=DATE)
    session.add(seance)
    session.flush()
    session.add(Candidature(seance_id=seance.id, logement_id=premier.id, demande_id=ids[0], rang_propose=1))
    session.flush()
    sans = proposer(session, second.id, DATE)
    avec = proposer(session, second.id, DATE, seance_id=seance.id)
    assert numeros(sans)[0] == nu("G0")
    assert numeros(avec) == [nu("G1"), nu("G2"), nu("G3")]
    assert {e["numero_unique"]: e["motif"] for e in avec["exclus"]}[nu("G0")] == "DEJA_PROPOSE_SEANCE"
    # For the dwelling it is a candidate for, it stays.
    assert nu("G0") in numeros(proposer(session, premier.id, DATE, seance_id=seance.id))


# --------------------------------------------------------------------------- APL


def test_sans_openfisca_l_aide_declaree_sinon_aucune(session):
    preparer(session, dossier("L1", aide=180, depot="2019-01-01"), dossier("L2", depot="2020-01-01"))
    lgt = logement(session)
    for estimateur in (None, EstimateurApl("http://127.0.0.1:9", delai=2)):
        r = proposer(session, lgt.id, DATE, estimateur=estimateur)
        sources = {c["numero_unique"]: (c["source_apl"], c["apl"]) for c in r["candidats"]}
        assert sources == {nu("L1"): ("declaree", 180.0), nu("L2"): ("aucune", 0.0)}
    # The aid lowers the taux d'effort: (420 + 60 − 180) / 1 400.
    assert r["candidats"][0]["taux_effort"] == 0.2143


def test_avec_openfisca_l_aide_est_estimee_pour_la_liste_restreinte(session, openfisca_url):  # noqa: F811
    preparer(session, dossier("O1", communes=(LILLE,), salaire=1200, aide=50))
    lgt = logement(session, commune=LILLE)
    r = proposer(session, lgt.id, DATE, estimateur=EstimateurApl(openfisca_url))
    (c,) = r["candidats"]
    assert c["source_apl"] == "openfisca"
    assert c["apl"] > 0 and c["apl"] != 50.0


# --------------------------------------------------------------------------- published criteria, errors, command


def test_les_criteres_publies_sont_ordonnes_et_references():
    publies = criteres_publies()
    assert [c["id"] for c in publies["criteres"]] == [
        "dalo_designe_prefet", "dalo", "publics_prioritaires", "score_cotation", "anciennete", "numero_unique"]
    assert all(c["reference"]["lien"].startswith("https://") for c in publies["criteres"])
    assert [e["code"] for e in publies["exceptions"]] == ["DESIGNATION_DALO_PREFET", "LOGEMENT_PLAI_ADAPTE", "CANDIDATS_INSUFFISANTS"]


def test_un_classement_sans_numero_unique_en_dernier_est_refuse(tmp_path):
    from engine.parametres import RACINE_REGLES

    texte = (RACINE_REGLES / "propositions" / "classement.yaml").read_text(encoding="utf-8")
    coupe = texte.replace("  - id: numero_unique\n    champ: numero_unique", "  - id: numero_unique\n    champ: score")
    copie = tmp_path / "classement.yaml"
    copie.write_text(coupe, encoding="utf-8")
    with pytest.raises(ErreurRegles, match="numéro unique"):
        charger_politique(copie)


def test_un_logement_inconnu_est_refuse_en_francais(session):
    with pytest.raises(ErreurProposition, match="Logement 999999 introuvable"):
        proposer(session, 999999, DATE)


def test_la_commande_propose_un_logement_ou_tous_les_vacants(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.sqlite3'}"
    runner = CliRunner()
    assert runner.invoke(main, ["--database-url", url, "db", "upgrade"]).exit_code == 0
    from webapp import db as dbmod
    from webapp.services.territoire import charger_territoire

    factory = dbmod.make_sessionmaker(dbmod.make_engine(url))
    with dbmod.transaction(factory) as s:
        charger_territoire(s, acteur="tests")
        preparer(s, *(dossier(f"Y{i}", communes=(ROUBAIX,)) for i in range(4)))
        lgt = logement(s, commune=ROUBAIX)
        logement(s, commune=ROUBAIX, reference="A-2", typologie="T5", nb_pieces=5, surface="95")
        ident = lgt.id
    res = runner.invoke(main, ["--database-url", url, "propose", str(ident), "--date", "2026-06-15"])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.output)["candidats"]) == 3
    res = runner.invoke(main, ["--database-url", url, "propose", "--vacants", "--date", "2026-06-15"])
    sortie = json.loads(res.output)
    assert [len(x["candidats"]) for x in sortie] == [3, 0]
    assert sortie[1]["exception"]["code"] == "CANDIDATS_INSUFFISANTS"
    res = runner.invoke(main, ["--database-url", url, "propose", "424242"])
    assert res.exit_code == 2 and "Logement 424242 introuvable" in res.output
    res = runner.invoke(main, ["--database-url", url, "propose", str(ident), "--seance", "77"])
    assert res.exit_code == 2 and "--seance : séance 77 introuvable" in res.output
    res = runner.invoke(main, ["--database-url", url, "propose"])
    assert res.exit_code == 2 and "LOGEMENT_ID" in res.output
