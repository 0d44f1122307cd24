"""Explication de l'algorithme sur demande (CRPA R311-3-1-2) : les quatre points avec les valeurs du
demandeur, le rejeu identique quand la date du jour change, une autre version du référentiel, le
fichier de référence, les rôles, le PDF, la commande et la démonstration.

Le fichier de référence tests/webapp/golden/explication/ ne se régénère qu'avec
CALEOL_REGENERER_GOLDEN=1 ; la version du référentiel et l'empreinte (qui en dépend) y sont
remplacées par VERSION et EMPREINTE.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from engine.evaluation import evaluer
from engine.version import version_regles
from webapp.cli import main
from webapp.filtres import euros, nombre
from webapp.models import (
    AuditEntry,
    Candidature,
    Commission,
    Decision,
    Demande,
    EvaluationDemande,
    ExplicationDemande,
    Logement,
    Organisation,
    PointOrdreDuJour,
    Residence,
    Role,
    Seance,
    StatutSeance,
    TypeDecision,
    TypeOrganisation,
    Utilisateur,
)
from webapp.schemas import charger_dossier
from webapp.services import explication as svc
from webapp.services.dossiers import charger_demande, dossier_depuis_demande
from webapp.services.evaluations import enregistrer_et_reevaluer, recalculer_evaluations

from .demo_espaces import client_de

EXEMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "dossiers" / "famille_monoparentale_lille.json"
GOLDEN = Path(__file__).resolve().parent / "golden" / "explication"
REGENERER = os.environ.get("CALEOL_REGENERER_GOLDEN") == "1"
NUMERO = "0591125000123A"
DATE = dt.date(2026, 6, 15)
MDP = "mdp"
HABILITES = ("charge", "president")
NON_HABILITES = ("membre", "lecteur", "admin", "epci")
VIOLENCES = "Personne victime de violences au sein du couple ou menacée de mariage forcé"
SECTIONS = (
    "1. Degré et mode de contribution du traitement à la décision",
    "2. Données traitées et leurs sources",
    "3. Paramètres et pondérations appliqués à votre situation",
    "4. Opérations effectuées par le traitement",
)


def dossier_exemple(*, sensible: bool = True) -> dict:
    dossier = charger_dossier(json.loads(EXEMPLE.read_text(encoding="utf-8")))
    if sensible:
        dossier["situations"].append({"code": "PRIO_VIOLENCES_COUPLE", "verifiee": True,
                                      "date_verification": dt.date(2026, 1, 2), "verifiee_par": "CIDFF du Nord"})
        dossier["personnes"][0]["handicap"] = {"cmi_invalidite": True, "details": "Sclérose en plaques"}
        dossier["motifs"] = [*dossier["motifs"], "08"]  # raisons de santé: a protected motif
    return dossier


@pytest.fixture
def monde(sessions):
    """A bailleur's roles and an EPCI member; the example demande, saved and evaluated on 15/06/2026."""
    with sessions.begin() as s:
        b = Organisation(nom="Bailleur Un", type=TypeOrganisation.BAILLEUR)
        mel = Organisation(nom="MEL", type=TypeOrganisation.EPCI, epci_siren="200093201")
        h = generate_password_hash(MDP)
        for ident, role, org in [
            ("charge", Role.CHARGE_ATTRIBUTION, b), ("membre", Role.MEMBRE_COMMISSION, b), ("president", Role.PRESIDENT, b),
            ("lecteur", Role.LECTEUR, b), ("admin", Role.ADMINISTRATEUR, b), ("epci", Role.MEMBRE_COMMISSION, mel),
        ]:
            s.add(Utilisateur(identifiant=ident, nom_affiche=ident, role=role, organisation=org, mot_de_passe_hash=h))
        enregistrer_et_reevaluer(s, dossier_exemple(), acteur="test", date=DATE)


def texte(html: str) -> str:
    """The text of a page, tags removed and spaces (thin ones included) as one space."""
    import html as html_lib

    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", html)))


def texte_pdf(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages))


def nb(sessions, modele) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(modele))


# --------------------------------------------------------------------------- the four points


def test_les_quatre_points_avec_les_valeurs_du_demandeur(monde, sessions):
    with sessions() as s:
        x = svc.expliquer(s, NUMERO)
        ev = s.get(EvaluationDemande, charger_demande(s, NUMERO).id)
        attendu = evaluer(dossier_depuis_demande(charger_demande(s, NUMERO)), None, DATE, trace=True)
    page = texte(svc.explication_html(x))
    for titre in SECTIONS:
        assert titre in page
    # Explains the stored evaluation: its date, version and input fingerprint.
    assert x.version_regles == ev.version_regles == version_regles()
    assert f"Évaluation expliquée au 15/06/2026, version des règles {ev.version_regles}" in page
    assert f"sha256:{ev.empreinte_entree}" in page and f"Empreinte de ce document sha256:{x.empreinte}" in page
    # 1° the algorithm proposes and ranks, the commission decides.
    assert "Caléol ne décide pas" in page and "décide souverainement" in page
    # 2° data with their sources: fiscal income with its notice, a verified situation with who verified it.
    assert re.sub(r"\s+", " ", f"revenu fiscal de référence 2024 {euros(14820, 0)} avis d'imposition avis-2024-lefebvre") in page
    assert f"{VIOLENCES} vérifiée le 02/01/2026 par CIDFF du Nord" in page
    assert "Personne menacée d'expulsion sans relogement vérifiée le 20/01/2026 par CCAS de Lille" in page
    # 3° ceilings of the household's category and zone with their text and validity, the grid's points.
    res = attendu["ressources"]
    for fin in ("PLAI", "PLUS", "PLS"):
        plafond = attendu["plafonds"][fin]["plafond"]
        assert re.sub(r"\s+", " ", f"revenu retenu {euros(res['revenu_retenu'], 0)} ≤ plafond {euros(plafond, 0)}") in page
    assert "Arrêté du 29 juillet 1987" in page and "en vigueur du 01/01/2026 au 31/12/2026" in page
    score = attendu["cotation"]["score"]
    assert ev.score == Decimal(str(score)).quantize(Decimal("0.01"))
    assert re.sub(r"\s+", " ", f"= {nombre(score, 2).removesuffix(',00')} point(s)") in page
    # Within a rubric only the best criterion met counts: violences (10) before the eviction threat (8).
    assert "Violences familiales (validées par un travailleur social) Urgence de la situation 10 rempli, compté" in page
    assert "Menacé d'expulsion ou congé Urgence de la situation 8 rempli, non compté" in page
    assert "Score de cotation de la demande (grille de l'EPCI du logement)" in page
    # 4° what was computed, every rule with its result.
    assert f"Catégorie de ménage (arrêté du 29 juillet 1987) {attendu['menage']['categorie']}" in page
    assert re.sub(r"\s+", " ", f"Unités de consommation {nombre(attendu['menage']['unites_consommation'], 2)}") in page
    assert f"Quartile de ressources {res['quartile']}" in page
    assert "Taux d'effort et reste à vivre non calculés" in page
    lignes = attendu["trace"]
    assert sum(1 for ligne in lignes if ligne["appliquee"]) == sum(
        g["appliquees"] for g in x.contenu["operations"]["groupes"])
    assert sum(len(g["regles"]) for g in x.contenu["operations"]["groupes"]) == len(lignes)
    assert "Ressources inférieures ou égales au plafond PLUS oui Condition remplie" in page


def decision_classee_deuxieme(sessions) -> int:
    """Caléol proposed the applicant 1st for L-1 (agenda of the séance of 10/06/2026); the commission ranked them 2nd."""
    with sessions.begin() as s:
        demande = charger_demande(s, NUMERO)
        bailleur = s.scalars(select(Organisation).where(Organisation.nom == "Bailleur Un")).one()
        residence = Residence(bailleur=bailleur, nom="Résidence des Tilleuls", adresse="12 rue des Tilleuls", code_insee="59350")
        logement = Logement(residence=residence, reference="L-1", typologie="T3", nb_pieces=3, surface_habitable=Decimal("64.50"),
                            etage=2, ascenseur=True, accessible_pmr=False, financement="PLUS", loyer_principal=Decimal("412.30"),
                            loyer_annexes=Decimal("0"), charges_recuperables=Decimal("85.00"), contribution_travaux=Decimal("0"),
                            statut="vacant")
        seance = Seance(commission=Commission(bailleur=bailleur, nom="CALEOL de Lille"), date_seance=dt.date(2026, 6, 10),
                        statut=StatutSeance.CLOSE)
        c = Candidature(seance=seance, logement=logement, demande=demande, rang_propose=1)
        s.add(c)
        s.flush()
        s.add(PointOrdreDuJour(seance_id=seance.id, logement_id=logement.id, ordre=1, version_regles="0.1.0-proposition",
                               calcule_le=dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC), proposition={
                                   "date": "2026-06-01", "candidats": [
                                       {"rang": 1, "demande_id": demande.id, "score": 25.25, "taux_effort": 0.1734,
                                        "reste_a_vivre_par_uc_jour": 21.4, "apl": 212.0, "source_apl": "declaree",
                                        "cout_mensuel": 497.3, "cout_net_mensuel": 285.3,
                                        "pourquoi_devant": {"critere": "score_cotation", "texte": "autre candidat : 12 points"}},
                                       {"rang": 2, "demande_id": demande.id + 1000, "score": 12}]}))
        d = Decision(candidature_id=c.id, seance_id=seance.id, logement_id=logement.id, type=TypeDecision.ATTRIBUTION_RANG,
                     rang=2, motifs=[], justification="Le candidat classé premier est relogé en urgence.",
                     version_regles=version_regles(), decide_le=dt.datetime(2026, 6, 10, 15, tzinfo=dt.UTC))
        s.add(d)
        s.flush()
        return d.id


def test_la_decision_suivie_ou_non_avec_la_justification_et_la_proposition(monde, sessions):
    """A commission that ranked the applicant 2nd where Caléol proposed 1st: the departure and its justification."""
    decision_id = decision_classee_deuxieme(sessions)
    with sessions() as s:
        x = svc.expliquer(s, NUMERO, decision_id)
    page = texte(svc.explication_html(x))
    assert "Proposition de Caléol rang 1 sur 2 candidat(s) présenté(s), calculée le 01/06/2026" in page
    assert "Critère qui vous a départagé du candidat suivant Score de cotation de la demande" in page
    assert "autre candidat" not in page  # the other applicant's values are not disclosed
    assert "Décision de la commission Attribution par classement, au rang 2" in page or "au rang 2" in page
    assert ("la commission s'est écartée de l'ordre proposé par Caléol ; justification enregistrée : "
            "« Le candidat classé premier est relogé en urgence. »") in page
    assert "Taux d'effort pour le logement proposé 17,3 %" in page.replace("\u202f", " ")
    assert re.sub(r"\s+", " ", f"Reste à vivre pour le logement proposé {euros(21.4)} par unité de consommation") in page
    # A decision of another demande is refused in French.
    with sessions() as s, pytest.raises(svc.ErreurExplication, match=r"Décision 999999 : aucune décision"):
        svc.expliquer(s, NUMERO, 999999)


def test_une_demande_qui_n_est_plus_active_est_expliquee_pour_sa_decision(monde, sessions, monkeypatch):
    """No stored evaluation any more (the nightly job drops those of inactive demandes): for a decision, the
    dossier is evaluated at the séance's date with the rules in force, said in the document, and replayed."""
    decision_id = decision_classee_deuxieme(sessions)
    with sessions.begin() as s:
        s.execute(EvaluationDemande.__table__.delete())
    with sessions() as s, pytest.raises(svc.ErreurExplication, match="indiquez la décision de la commission à expliquer"):
        svc.expliquer(s, NUMERO)
    with sessions.begin() as s:
        x1, _ = svc.communiquer(s, NUMERO, decision_id, acteur="president")
    monkeypatch.setenv("CALEOL_TODAY", "2026-11-30")
    with sessions.begin() as s:
        x2, _ = svc.communiquer(s, NUMERO, decision_id, acteur="president")
    assert x1.empreinte == x2.empreinte and svc.explication_html(x1) == svc.explication_html(x2)
    page = texte(svc.explication_html(x1))
    assert x1.contenu["evaluation"]["date"] == "2026-06-10"
    assert ("Votre demande n'a plus d'évaluation enregistrée (elle n'est plus active). Pour ce document, Caléol a évalué "
            f"les données de votre demande telles qu'enregistrées lors de sa première génération, à la date de la séance "
            f"(10/06/2026), avec la version {version_regles()} des règles") in page
    assert "Position parmi les demandes semblables" not in page
    for titre in SECTIONS:
        assert titre in page


# --------------------------------------------------------------------------- replay


def test_rejeu_identique_quand_la_date_du_jour_change(monde, sessions, monkeypatch):
    with sessions.begin() as s:
        x1, ligne1 = svc.communiquer(s, NUMERO, acteur="charge")
        html1 = svc.explication_html(x1)
    monkeypatch.setenv("CALEOL_TODAY", "2027-03-02")
    with sessions.begin() as s:
        x2, ligne2 = svc.communiquer(s, NUMERO, acteur="president")
        html2 = svc.explication_html(x2)
    assert html1 == html2 and x1.empreinte == x2.empreinte
    assert x2.premiere is not None and x2.premiere.id == ligne1.id and x2.recalculee
    assert f"sha256:{x1.empreinte}" in html1
    assert "02/03/2027" not in texte(html2) and "2027-03-02" not in html2
    with sessions() as s:
        lignes = s.scalars(select(ExplicationDemande).order_by(ExplicationDemande.id)).all()
        assert [(ligne.genere_par, ligne.empreinte) for ligne in lignes] == [("charge", x1.empreinte), ("president", x1.empreinte)]
        audits = s.scalars(select(AuditEntry).where(AuditEntry.action == "explication.communiquer").order_by(AuditEntry.id)).all()
        demande_id = charger_demande(s, NUMERO).id
    assert [(a.acteur, a.objet_id, a.details["version_regles"], a.details["empreinte"]) for a in audits] == [
        ("charge", str(demande_id), x1.version_regles, x1.empreinte), ("president", str(demande_id), x1.version_regles, x1.empreinte)]
    assert audits[1].details["reproduit"] == lignes[0].id
    # Sensitive facts are referenced, never copied into the audit.
    journal = json.dumps([[a.avant, a.apres, a.details] for a in audits], ensure_ascii=False)
    for secret in ("CIDFF", "violences", "Sclérose", "Lefebvre", "14820"):
        assert secret not in journal


def test_un_document_communique_se_reproduit_apres_le_recalcul_de_la_nuit(monde, sessions, monkeypatch):
    """The nightly job evaluates again at a later date: a new request explains the new evaluation, while the
    document communicated before is reproduced byte for byte from its stored input."""
    with sessions.begin() as s:
        x1, ligne1 = svc.communiquer(s, NUMERO, acteur="charge")
        html1 = svc.explication_html(x1)
    monkeypatch.setenv("CALEOL_TODAY", "2026-09-01")
    with sessions.begin() as s:
        recalculer_evaluations(s, dt.date(2026, 9, 1), processus=1, acteur="test")
    with sessions() as s:
        nouvelle = svc.expliquer(s, NUMERO)
        ancienne = svc.reproduire(s, ligne1.id)
        assert [c.id for c in svc.communications(s, charger_demande(s, NUMERO).id)] == [ligne1.id]
    assert nouvelle.contenu["evaluation"]["date"] == "2026-09-01" and nouvelle.empreinte != x1.empreinte
    # The origin of the record is still the entry that saved it, not the communication of the first document.
    assert nouvelle.contenu["donnees"]["origine"] == x1.contenu["donnees"]["origine"] == "saisie ou mise à jour dans Caléol (le 15/06/2026)"
    assert nouvelle.premiere is None
    assert ancienne.recalculee and ancienne.empreinte == x1.empreinte and svc.explication_html(ancienne) == html1
    with sessions() as s, pytest.raises(svc.ErreurExplication, match="Explication n° 0 introuvable"):
        svc.reproduire(s, 0)


def test_une_demande_modifiee_depuis_son_evaluation_n_est_pas_expliquee(monde, sessions):
    with sessions.begin() as s:
        charger_demande(s, NUMERO).logement_actuel_loyer = Decimal("700.00")
    with sessions() as s, pytest.raises(svc.ErreurExplication, match="modifiée depuis son évaluation enregistrée du 15/06/2026"):
        svc.communiquer(s, NUMERO, acteur="charge")
    assert nb(sessions, ExplicationDemande) == 0


def test_une_autre_version_en_vigueur_est_dite_et_le_document_communique_reproduit(monde, sessions, monkeypatch):
    with sessions.begin() as s:
        x1, _ = svc.communiquer(s, NUMERO, acteur="charge")
        html1 = svc.explication_html(x1)
    monkeypatch.setattr(svc, "version_regles", lambda: "0.1.0-nouvelle00000")
    with sessions.begin() as s:
        x2, _ = svc.communiquer(s, NUMERO, acteur="charge")
    assert x2.empreinte == x1.empreinte and x2.contenu == x1.contenu and not x2.recalculee
    html2 = svc.explication_html(x2)
    assert html2 != html1
    page = texte(html2)
    assert (f"Ce document explique l'évaluation calculée avec la version {x1.version_regles} des règles. La version en "
            "vigueur aujourd'hui est 0.1.0-nouvelle00000") in page
    assert "il reproduit à l'identique le contenu enregistré lors de sa première communication" in page
    # Without the section stating the version, the document is the one first communicated.
    debut = html2.index('<p class="avertissement"')
    assert html2[:debut] + html2[html2.index("</p>", debut) + len("</p>\n"):] == html1


def test_sans_document_communique_une_autre_version_est_refusee_en_francais(monde, sessions, monkeypatch):
    monkeypatch.setattr(svc, "version_regles", lambda: "0.1.0-nouvelle00000")
    with sessions() as s, pytest.raises(svc.ErreurExplication) as exc:
        svc.communiquer(s, NUMERO, acteur="charge")
    message = str(exc.value)
    assert f"la version {version_regles()} des règles, dont les fichiers ne sont pas conservés sur cette instance" in message
    assert "version en vigueur : 0.1.0-nouvelle00000" in message and "ne peut pas la reproduire" in message
    assert nb(sessions, ExplicationDemande) == 0


@pytest.fixture
def referentiel_modifie(tmp_path, monkeypatch):
    """A copy of rules/ where the consumption units of the first adult are 2 instead of 1 (another version);
    this process's engine goes back to the files on disk afterwards."""
    import shutil

    from webapp.regles import activation

    monkeypatch.setenv("CALEOL_REFERENTIEL_VERIFICATION", "0")
    monkeypatch.setenv("CALEOL_REFERENTIELS_DIR", str(tmp_path / "referentiels"))
    racine_depot = Path(__file__).resolve().parents[2]
    racine = tmp_path / "copie"
    shutil.copytree(racine_depot / "rules", racine / "rules")
    (racine / "fixtures" / "sne").mkdir(parents=True)
    shutil.copy(racine_depot / "fixtures" / "sne" / "sne_interface_code_lists_v0201.json", racine / "fixtures" / "sne")
    fichier = racine / "rules" / "parametres" / "quartiles.yaml"
    avant = "valeurs: [{debut: 2020-01-01, fin: null, valeur: 1}]"
    texte_yaml = fichier.read_text(encoding="utf-8")
    debut = texte_yaml.index("unites_consommation.premier_adulte:")
    fin = texte_yaml.index(avant, debut)
    fichier.write_text(texte_yaml[:fin] + avant.replace("valeur: 1}", "valeur: 2}") + texte_yaml[fin + len(avant):],
                       encoding="utf-8")
    activation.oublier()
    yield racine / "rules"
    activation.oublier()


def test_une_version_conservee_recalcule_le_document_avec_ses_regles(monde, sessions, referentiel_modifie):
    """The evaluation was computed with the files on disk; another version is now active. Never communicated,
    the document is computed with the kept files of the evaluation's version: the same content as before."""
    from webapp.regles import activation
    from webapp.regles.versions import enregistrer_version

    with sessions() as s:
        avant = svc.expliquer(s, NUMERO)
    with sessions.begin() as s:
        disque, _ = enregistrer_version(s, acteur="tests", source="commande")
        modifiee, _ = enregistrer_version(s, acteur="tests", source="commande", racine=referentiel_modifie)
        activation.activer(s, modifiee.version, acteur="tests")
        version_disque, version_modifiee = disque.version, modifiee.version
    with sessions() as s:
        activation.synchroniser(s, ttl=0)
        assert version_regles() == version_modifiee != version_disque == avant.version_regles
        x = svc.expliquer(s, NUMERO)
    assert x.recalculee and x.premiere is None and x.autre_version
    assert x.empreinte == avant.empreinte and x.contenu == avant.contenu
    page = texte(svc.explication_html(x))
    assert (f"Ce document explique l'évaluation calculée avec la version {version_disque} des règles. La version en vigueur "
            f"aujourd'hui est {version_modifiee} ; les fichiers de la version {version_disque} sont conservés sur cette "
            "instance : le document est calculé avec les règles de cette version.") in page
    assert version_regles() == version_modifiee  # the process is back to the active version


def test_sans_evaluation_enregistree(sessions):
    with sessions.begin() as s:
        enregistrer_et_reevaluer(s, dossier_exemple(sensible=False), acteur="test", date=DATE)
        s.execute(EvaluationDemande.__table__.delete())
    with sessions() as s:
        with pytest.raises(svc.ErreurExplication, match=f"Demande {NUMERO} : aucune évaluation enregistrée"):
            svc.expliquer(s, NUMERO)
        with pytest.raises(svc.ErreurExplication, match="Demande INCONNUE introuvable"):
            svc.expliquer(s, "INCONNUE")


# --------------------------------------------------------------------------- golden file and PDF


def test_fichier_de_reference_et_pdf(sessions):
    with sessions.begin() as s:
        enregistrer_et_reevaluer(s, dossier_exemple(sensible=False), acteur="test", date=DATE)
    with sessions() as s:
        x = svc.expliquer(s, NUMERO)
    html = svc.explication_html(x)
    obtenu = html.replace(x.empreinte, "EMPREINTE").replace(x.version_regles, "VERSION")
    chemin = GOLDEN / "explication_famille_monoparentale.html"
    if REGENERER:
        chemin.parent.mkdir(parents=True, exist_ok=True)
        chemin.write_text(obtenu, encoding="utf-8")
    assert chemin.exists(), f"{chemin} absent : lancez les tests avec CALEOL_REGENERER_GOLDEN=1"
    assert obtenu == chemin.read_text(encoding="utf-8")
    pdf = texte_pdf(svc.en_pdf(html))
    for titre in ("Explication de l'algorithme (R311-3-1-2)", *SECTIONS, "Plafonds de ressources", "Cotation de la demande",
                  "Chaque règle examinée", "0591125000123A"):
        assert titre in pdf, titre
    assert x.empreinte[:20] in pdf.replace(" ", "")


# --------------------------------------------------------------------------- web and roles


@pytest.mark.parametrize("identifiant", HABILITES + NON_HABILITES)
def test_la_page_suit_les_regles_des_donnees_sensibles(monde, engine, identifiant):
    page = client_de(engine, identifiant, mot_de_passe=MDP).get(f"/demandes/{NUMERO}/explication").get_data(as_text=True)
    t = texte(page)
    for titre in SECTIONS:
        assert titre in t
    assert "Lefebvre" not in t  # no name in the document
    assert "Sclérose" not in t  # the handicap details are not processed: not in the document
    if identifiant in HABILITES:
        assert VIOLENCES in t and "CIDFF du Nord" in t and "Vue restreinte" not in t
        assert "Raisons de santé" in t and "Logement trop cher, Logement trop petit, Raisons de santé" in t
        assert "Générer le document à communiquer" in t
    else:
        assert VIOLENCES not in t and "CIDFF" not in t and "Vue restreinte" in t
        assert "Raisons de santé" not in t and "Logement trop cher, Logement trop petit, motif protégé" in t
        assert "Critère relatif à une situation protégée" in t and "Violences familiales" not in t
        assert "Situation protégée (accès restreint)" in t
        assert "Générer le document à communiquer" not in t


def test_la_fiche_mene_a_l_explication(monde, engine):
    page = client_de(engine, "lecteur", mot_de_passe=MDP).get(f"/demandes/{NUMERO}").get_data(as_text=True)
    assert f'href="/demandes/{NUMERO}/explication"' in page and "Explication de l'algorithme (R311-3-1-2)" in page


@pytest.mark.parametrize("identifiant", NON_HABILITES)
def test_seuls_les_roles_habilites_generent_le_document(monde, engine, sessions, identifiant):
    r = client_de(engine, identifiant, mot_de_passe=MDP).post(f"/demandes/{NUMERO}/explication/communiquer", data={"format": "pdf"})
    assert r.status_code == 403
    assert nb(sessions, ExplicationDemande) == 0


def test_generer_le_document_pdf_et_html_depuis_la_page(monde, engine, sessions):
    client = client_de(engine, "charge", csrf=True, mot_de_passe=MDP)
    page = client.get(f"/demandes/{NUMERO}/explication").get_data(as_text=True)
    assert client.post(f"/demandes/{NUMERO}/explication/communiquer", data={"format": "pdf"}).status_code == 400  # no CSRF token
    assert nb(sessions, ExplicationDemande) == 0
    jeton = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post(f"/demandes/{NUMERO}/explication/communiquer", data={"format": "pdf", "csrf_token": jeton})
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert "4. Opérations effectuées par le traitement" in texte_pdf(r.data)
    r = client.post(f"/demandes/{NUMERO}/explication/communiquer", data={"format": "html", "csrf_token": jeton})
    assert r.status_code == 200 and r.mimetype == "text/html" and VIOLENCES in texte(r.get_data(as_text=True))
    page = texte(client.get(f"/demandes/{NUMERO}/explication").get_data(as_text=True))
    assert "Documents déjà communiqués" in page
    with sessions() as s:
        assert [ligne.genere_par for ligne in s.scalars(select(ExplicationDemande))] == ["charge", "charge"]
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "explication.communiquer")) == 2


def test_une_page_impossible_le_dit_en_francais(monde, engine, sessions):
    with sessions.begin() as s:
        charger_demande(s, NUMERO).logement_actuel_loyer = Decimal("700.00")
    r = client_de(engine, "charge", mot_de_passe=MDP).get(f"/demandes/{NUMERO}/explication")
    assert r.status_code == 409 and "modifiée depuis son évaluation enregistrée" in texte(r.get_data(as_text=True))
    assert client_de(engine, "charge", mot_de_passe=MDP).get("/demandes/INCONNUE/explication").status_code == 404
    assert client_de(engine, "charge", mot_de_passe=MDP).get(f"/demandes/{NUMERO}/explication?decision=abc").status_code == 404


# --------------------------------------------------------------------------- CLI and demo


def test_la_commande_et_la_demonstration(tmp_path):
    """A small demo loaded, evaluated, then one applicant's explanation generated by the command."""
    from webapp import db as dbmod
    from webapp.demo.service import charger_demo

    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    runner = CliRunner()
    assert runner.invoke(main, ["--database-url", url, "db", "upgrade"]).exit_code == 0
    factory = dbmod.make_sessionmaker(dbmod.make_engine(url))
    with dbmod.transaction(factory) as s:
        charger_demo(s, seed=3, nb_dossiers=40, nb_logements=10, acteur="test")
    with dbmod.transaction(factory) as s:
        recalculer_evaluations(s, DATE, processus=1, acteur="test")
        numero = s.scalars(select(Demande.numero_unique).join(EvaluationDemande, EvaluationDemande.demande_id == Demande.id)
                           .order_by(Demande.id).limit(1)).one()
    html, pdf = tmp_path / "x.html", tmp_path / "x.pdf"
    res = runner.invoke(main, ["--database-url", url, "explication", numero, "--html", str(html), "--pdf", str(pdf)])
    assert res.exit_code == 0, res.output
    empreinte = re.search(r"empreinte sha256:([0-9a-f]{64})", res.output).group(1)
    assert f"sha256:{empreinte}" in html.read_text(encoding="utf-8")
    assert "données de démonstration" in texte(html.read_text(encoding="utf-8"))
    assert "2. Données traitées et leurs sources" in texte_pdf(pdf.read_bytes())
    res = runner.invoke(main, ["--database-url", url, "explication", numero])
    assert res.exit_code == 0 and res.output.startswith("<!doctype html>")
    assert html.read_text(encoding="utf-8") in res.output
    res = runner.invoke(main, ["--database-url", url, "explication", "INCONNUE"])
    assert res.exit_code == 2 and "Erreur : Demande INCONNUE introuvable." in res.output
    res = runner.invoke(main, ["--database-url", url, "explication", numero, "--decision", "424242"])
    assert res.exit_code == 2 and "Décision 424242" in res.output
    with dbmod.transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(ExplicationDemande)) == 2
        assert {a.acteur for a in s.scalars(select(AuditEntry).where(AuditEntry.action == "explication.communiquer"))} == {"cli:explication"}


def test_une_demande_importee_du_sne_le_dit(sessions):
    """The real SNE example file, imported: the origin is the SNE import, found in the import's audit entry."""
    from webapp.sne.service import importer_fichiers

    fichier = Path(__file__).resolve().parents[2] / "fixtures" / "sne" / "exemple_interfaceNuu_v02.00.xml"
    (resultat,) = importer_fichiers(sessions, [fichier], acteur="test")
    with sessions() as s:
        x = svc.expliquer(s, resultat.numero_unique)
    assert x.contenu["donnees"]["origine"] == "import du fichier du système national d'enregistrement (SNE) (le 15/06/2026)"
    page = texte(svc.explication_html(x))
    for titre in SECTIONS:
        assert titre in page
