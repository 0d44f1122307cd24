"""Export SNE des décisions et radiations (issue 8.3) : contenu du fichier (codes des listes SNE et des
référentiels de Caléol), relecture par le lecteur XML sûr du projet et par l'import SNE, unicité des
envois (rien de nouveau au second export, --forcer renvoie), erreurs françaises sans écriture,
commande `caleol export-sne`, page « Exports SNE » par rôle et formulaire CSRF."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from webapp.cli import Contexte
from webapp.export_sne_cli import export_sne
from webapp.models import (
    Attribution,
    AuditEntry,
    Candidature,
    Demande,
    EvaluationDemande,
    ExportSne,
    LigneExportSne,
    Logement,
    ObjetExport,
    Residence,
    StatutDemande,
    Utilisateur,
)
from webapp.referentiels import listes_sne, situations_prioritaires
from webapp.services import decisions as svc_decisions
from webapp.services.decisions import DonneesDecision
from webapp.services.evaluations import CODES_DALO
from webapp.services.export_sne import ErreurExport, exporter
from webapp.sne import lire_demande_sne
from webapp.sne.xml_sur import NS_NUU, Lecteur, Noeud, analyser

from .decisions_exemple import DATE_SEANCE, Acteur, client, construire, jeton

N1, N2, N3, N4, N5, N6 = (f"059112600000{i}{c}" for i, c in zip(range(1, 7), "ABCDEF", strict=True))
VOTANTS = ("president", "membre1", "locataires", "maire", "prefet")
DATE_BAIL = dt.date(2026, 6, 12)
DATE_RADIRR = dt.date(2026, 6, 13)


def _decider(sessions, m, numero: str, type_: str, choix: str, **champs) -> None:
    with sessions.begin() as s:
        svc_decisions.enregistrer_decision(
            s, candidature_id=m.candidatures[numero], acteur=Acteur(sessions, "president"),
            donnees=DonneesDecision(type=type_, **champs), votes={m.membres[k]: choix for k in VOTANTS},
        )


def _evaluation(demande_id: int, priorites: list[str]) -> EvaluationDemande:
    return EvaluationDemande(
        demande_id=demande_id, date_evaluation=DATE_SEANCE, version_regles="test", empreinte_entree="0" * 64,
        calculee_le=dt.datetime(2026, 6, 1, tzinfo=dt.UTC), complet=True, recevable=True, eligible_plai=True,
        eligible_plus=True, eligible_pls=True, categorie=1, nb_personnes=1, nb_personnes_surface=1,
        score=Decimal("10"), dalo=False, prioritaire=bool(priorites),
        priorites=[{"code": c, "libelle": c, "regle": None} for c in priorites],
        motifs_irrecevabilite=[], regles_appliquees=[], detail_cotation=[],
    )


@pytest.fixture
def monde(sessions):
    """The sample séance, decided and closed; N1's lease signed (RADATT), N3 rejected then radiated (RADIRR)."""
    m = construire(sessions)
    with sessions.begin() as s:
        ids = {d.numero_unique: d.id for d in s.scalars(select(Demande))}
        s.add(_evaluation(ids[N1], ["PRIO_SANS_LOGEMENT", "DALO"]))
        s.add(_evaluation(ids[N4], ["PRIO_VIOLENCES_COUPLE"]))
    _decider(sessions, m, N1, "attribution", "pour")
    _decider(sessions, m, N2, "non_attribution", "contre", motifs=["NA_TAUX_EFFORT"])
    _decider(sessions, m, N3, "rejet_irrecevabilite", "contre", motifs=["REJ_PLAFONDS"])
    _decider(sessions, m, N4, "attribution_sous_condition", "pour", piece_manquante="AVIS_IMPOSITION",
             date_limite_condition="2026-06-25")
    _decider(sessions, m, N5, "non_attribution", "contre", motifs=["NA_TYPOLOGIE_INADAPTEE"])
    _decider(sessions, m, N6, "non_attribution", "contre", motifs=["NA_TYPOLOGIE_INADAPTEE"])
    with sessions.begin() as s:
        svc_decisions.cloturer_seance(s, seance_id=m.seance_id, acteur=Acteur(sessions, "president"), version="test")
    # The lease contract of the offers work (issue 8.2): attribution closed by the lease, demande radiated RADATT.
    with sessions.begin() as s:
        d1 = s.scalars(select(Demande).where(Demande.numero_unique == N1)).one()
        s.scalars(select(Attribution).where(Attribution.demande_id == d1.id)).one().date_signature_bail = DATE_BAIL
        d1.statut, d1.motif_radiation, d1.date_radiation = StatutDemande.RADIEE, "RADATT", DATE_BAIL
        d3 = s.scalars(select(Demande).where(Demande.numero_unique == N3)).one()
        d3.statut, d3.motif_radiation, d3.date_radiation = StatutDemande.RADIEE, "RADIRR", DATE_RADIRR
    return m


def _exporter(sessions, **kwargs):
    with sessions.begin() as s:
        return exporter(s, acteur=kwargs.pop("acteur", "tests-export"), **kwargs)


def _compter(sessions, modele) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(modele))


def _demandes(contenu: bytes) -> list[Noeud]:
    """The file read by the project's safe reader (defusedxml, DTD refused); every code checked."""
    racine = analyser(contenu)
    assert racine.tag == f"{{{NS_NUU}}}interfaceNuu" and racine.attrib["versionInterface"] == "02.01"
    lecteur = Lecteur()
    noeud = Noeud(racine, "interfaceNuu", lecteur)
    assert noeud.enfant("entete").date_heure("dateFichier") == dt.date(2026, 6, 15)
    demandes = noeud.enfants("demande")
    assert not lecteur.erreurs, lecteur.erreurs
    return demandes


def _par_numero(demandes: list[Noeud], bloc: str) -> dict[str, Noeud]:
    res = {}
    for d in demandes:
        dl = d.enfant("demandeLogement")
        b = dl.enfant(bloc)
        if b is not None:
            res[dl.texte("numUnique")] = b
    return res


# --------------------------------------------------------------------------- content


def test_l_export_porte_les_decisions_de_la_seance_close_et_les_radiations_avec_leurs_codes(sessions, monde):
    with sessions.begin() as s:
        s.get(Logement, monde.logements["L-2"]).residence.qpv_code = "QN05905M"
    r = _exporter(sessions)
    assert (r.nb_decisions, r.nb_radiations) == (6, 2) and r.export_id is not None
    demandes = _demandes(r.contenu)
    decisions = _par_numero(demandes, "decisionCommission")
    assert set(decisions) == {N1, N2, N3, N4, N5, N6}

    d1 = decisions[N1]
    assert d1.date("dateCommission") == DATE_SEANCE
    assert d1.enfant("decision").attribut_code() == "attribution"
    assert d1.code("typeReservataire", "ListeTypeReservataire") == "AUCUN"  # L-1: no réservataire
    logement = d1.enfant("logementAttribue")
    assert logement.texte("reference") == "L-1"
    assert logement.enfant("commune").attribut_code() == "59350"
    assert logement.code("typeLogement", "ListeTypeLogement") == "T3"
    priorites = [p.attribut_code() for p in d1.enfant("listeMotifPriorite").enfants("motifPriorite")]
    assert priorites == ["DALO", "PRIO_SANS_LOGEMENT"]

    d4 = decisions[N4]
    assert d4.enfant("decision").attribut_code() == "attribution_sous_condition"
    assert d4.code("typeReservataire", "ListeTypeReservataire") == "COLACT"  # L-2: Action Logement
    assert d4.enfant("pieceManquante").attribut_code() == "AVIS_IMPOSITION"
    assert d4.date("dateLimiteCondition") == dt.date(2026, 6, 25)
    assert d4.enfant("logementAttribue").code("typeLogement", "ListeTypeLogement") == "T2"
    assert d4.enfant("logementAttribue").texte("codeQpv") == "QN05905M"

    d2 = decisions[N2]
    assert [m.attribut_code() for m in d2.enfant("listeMotifDecision").enfants("motifDecision")] == ["NA_TAUX_EFFORT"]
    assert d2.enfant("listeMotifPriorite") is None  # no evaluation, no priority

    radiations = _par_numero(demandes, "radiation")
    assert set(radiations) == {N1, N3}
    r1 = radiations[N1]
    assert r1.code("motifRadiation", "ListeMotifsRadiation") == "RADATT"
    assert r1.date("dateRadiation") == DATE_BAIL
    att = r1.enfant("attribution")
    assert att.date("dateSignatureBail") == DATE_BAIL and att.date("dateCommission") == DATE_SEANCE
    assert att.code("typeReservataire", "ListeTypeReservataire") == "AUCUN"
    assert att.enfant("logementAttribue").texte("reference") == "L-1"
    r3 = radiations[N3]
    assert r3.code("motifRadiation", "ListeMotifsRadiation") == "RADIRR"
    assert r3.code("sousMotifRadiation", "ListeSousMotifRadiationIrrecevabilite") == "IRRRES"  # REJ_PLAFONDS
    assert r3.date("dateRadiation") == DATE_RADIRR
    assert not demandes[0].lecteur.erreurs, demandes[0].lecteur.erreurs


def test_chaque_code_du_fichier_appartient_a_sa_liste(sessions, monde):
    contenu = _exporter(sessions).contenu
    assert b"codeQpv" not in contenu  # the sample residence is not in a QPV
    ref = svc_decisions.referentiel()
    listes = listes_sne()
    attendues = {
        "decision": set(ref.types),
        "motifDecision": set(ref.motifs),
        "pieceManquante": set(ref.pieces),
        "motifPriorite": set(situations_prioritaires()) | CODES_DALO,
        "typeReservataire": set(listes["ListeTypeReservataire"]),
        "typeLogement": set(listes["ListeTypeLogement"]),
        "motifRadiation": set(listes["ListeMotifsRadiation"]) - {""},
        "sousMotifRadiation": set(listes["ListeSousMotifRadiationIrrecevabilite"]),
        "commune": None,  # an INSEE code
    }
    vus = set()
    for e in analyser(contenu).iter():
        if "code" in e.attrib:
            nom = e.tag.removeprefix(f"{{{NS_NUU}}}")
            assert nom in attendues, nom
            vus.add(nom)
            if attendues[nom] is not None:
                assert e.attrib["code"] in attendues[nom], (nom, e.attrib["code"])
    assert vus >= {"decision", "motifDecision", "pieceManquante", "motifPriorite", "typeReservataire",
                   "typeLogement", "motifRadiation", "sousMotifRadiation", "commune"}


def test_une_radiation_du_fichier_se_relit_par_l_import_sne(sessions, monde):
    """Each radiation block, alone in a RAD file, is what `caleol import-sne` reads: same motif, same date."""
    import xml.etree.ElementTree as ET

    contenu = _exporter(sessions).contenu
    racine = analyser(contenu)
    for demande in racine.findall(f"{{{NS_NUU}}}demande"):
        if demande.find(f"{{{NS_NUU}}}demandeLogement/{{{NS_NUU}}}radiation") is None:
            continue
        seul = ET.Element(f"{{{NS_NUU}}}interfaceNuu", {"versionInterface": "02.01"})
        entete = ET.SubElement(seul, f"{{{NS_NUU}}}entete")
        ET.SubElement(entete, f"{{{NS_NUU}}}typeFichier").text = "RAD"
        ET.SubElement(entete, f"{{{NS_NUU}}}dateFichier").text = "2026-06-15T12:00:00+00:00"
        seul.append(demande)
        lu = lire_demande_sne(ET.tostring(seul, encoding="UTF-8", xml_declaration=True))
        numero = lu.numero_unique
        attendu = {N1: {"motif": "RADATT", "date": DATE_BAIL.isoformat()},
                   N3: {"motif": "RADIRR", "date": DATE_RADIRR.isoformat()}}[numero]
        assert lu.radiation == attendu


# --------------------------------------------------------------------------- record, uniqueness, audit


def test_l_export_est_enregistre_avec_ses_lignes_et_une_seule_entree_d_audit_sans_donnee_personnelle(sessions, monde):
    r = _exporter(sessions)
    with sessions() as s:
        export = s.get(ExportSne, r.export_id)
        assert export.contenu == r.contenu and export.sha256 == hashlib.sha256(r.contenu).hexdigest()
        assert (export.nb_decisions, export.nb_radiations, export.jour, export.force) == (6, 2, None, False)
        assert export.fichier == r.fichier and export.fichier.startswith("CALEOL-SNE-DEMANDE-20260615")
        lignes = {(lg.objet_type, lg.numero_unique, lg.code, lg.envoi) for lg in export.lignes}
        assert (ObjetExport.RADIATION, N1, "RADATT", 1) in lignes and (ObjetExport.DECISION, N4,
                                                                       "attribution_sous_condition", 1) in lignes
        entrees = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "sne.exporter")))
    assert len(entrees) == 1
    texte = json.dumps([entrees[0].details, entrees[0].apres], ensure_ascii=False)
    assert entrees[0].details["nb_decisions"] == 6 and len(entrees[0].details["decisions"]) == 6
    for personnel in (N1, N3, "Benali", "Dupont", "PRIO_", "59350", "L-1"):
        assert personnel not in texte


def test_un_second_export_ne_renvoie_rien_et_forcer_renvoie_tout(sessions, monde, tmp_path):
    premier = _exporter(sessions)
    second = _exporter(sessions, sortie=tmp_path)
    assert second.vide and (second.nb_decisions, second.nb_radiations) == (0, 0)
    assert list(tmp_path.iterdir()) == [] and _compter(sessions, ExportSne) == 1
    force = _exporter(sessions, forcer=True, sortie=tmp_path)
    assert (force.nb_decisions, force.nb_radiations) == (6, 2) and force.export_id != premier.export_id
    assert force.chemin == tmp_path / force.fichier and force.chemin.read_bytes() == force.contenu
    with sessions() as s:
        assert set(s.scalars(select(LigneExportSne.envoi).where(LigneExportSne.export_id == force.export_id))) == {2}
    assert _compter(sessions, LigneExportSne) == 16


def test_la_base_refuse_d_enregistrer_deux_fois_le_meme_premier_envoi(sessions, monde):
    r = _exporter(sessions)
    with sessions() as s:
        ligne = s.scalars(select(LigneExportSne).where(LigneExportSne.export_id == r.export_id)).first()
        cle = (ligne.objet_type, ligne.objet_id, ligne.date_evenement, ligne.numero_unique, ligne.code)
    with pytest.raises(IntegrityError):
        with sessions.begin() as s:
            s.add(LigneExportSne(export_id=r.export_id, objet_type=cle[0], objet_id=cle[1], date_evenement=cle[2],
                                 numero_unique=cle[3], code=cle[4], envoi=1))


def test_un_export_du_jour_ne_prend_que_ce_jour(sessions, monde):
    seance = _exporter(sessions, jour=DATE_SEANCE)
    assert (seance.nb_decisions, seance.nb_radiations) == (6, 0)
    bail = _exporter(sessions, jour=DATE_BAIL)
    assert (bail.nb_decisions, bail.nb_radiations) == (0, 1)
    assert _par_numero(_demandes(bail.contenu), "radiation").keys() == {N1}
    with sessions() as s:
        assert s.get(ExportSne, bail.export_id).fichier.startswith("CALEOL-SNE-20260612-")
    # Then on demand: only what is left (N3's radiation).
    reste = _exporter(sessions)
    assert (reste.nb_decisions, reste.nb_radiations) == (0, 1)
    assert _exporter(sessions, jour=DATE_SEANCE).vide


def test_seule_une_seance_close_est_exportee_et_seulement_pour_son_bailleur(sessions):
    m = construire(sessions)
    _decider(sessions, m, N1, "attribution", "pour")
    assert _exporter(sessions).vide  # séance still open
    with sessions() as s:
        b2 = s.scalars(select(Residence.bailleur_id).where(Residence.code_insee == "80021")).one()
        b1 = s.scalars(select(Residence.bailleur_id).where(Residence.code_insee == "59350")).one()
    assert b1 != b2
    for numero in (N2, N3):
        _decider(sessions, m, numero, "non_attribution", "contre", motifs=["NA_TAUX_EFFORT"])
    for numero in (N4, N5, N6):
        _decider(sessions, m, numero, "non_attribution", "contre", motifs=["NA_TAUX_EFFORT"])
    with sessions.begin() as s:
        svc_decisions.cloturer_seance(s, seance_id=m.seance_id, acteur=Acteur(sessions, "president"), version="test")
    assert _exporter(sessions, bailleur_id=b2).vide
    assert _exporter(sessions, bailleur_id=b1).nb_decisions == 6


def test_une_radiation_sans_lien_avec_le_bailleur_ou_recue_du_sne_n_est_pas_exportee(sessions, monde):
    with sessions.begin() as s:
        # RADATT without a signed lease here; RADREN (the SNE's own); RADABA of a demande never examined.
        s.add(Demande(numero_unique="0591126000099Z", date_depot=dt.date(2024, 1, 1), statut=StatutDemande.RADIEE,
                      motif_radiation="RADATT", date_radiation=DATE_BAIL))
        d5 = s.scalars(select(Demande).where(Demande.numero_unique == N5)).one()
        d5.statut, d5.motif_radiation, d5.date_radiation = StatutDemande.RADIEE, "RADREN", DATE_BAIL
        d6 = s.scalars(select(Demande).where(Demande.numero_unique == N6)).one()
        d6.statut, d6.motif_radiation, d6.date_radiation = StatutDemande.RADIEE, "RADABA", DATE_BAIL
        d2 = s.scalars(select(Demande).where(Demande.numero_unique == N2)).one()
        d2.statut, d2.motif_radiation, d2.date_radiation = StatutDemande.RADIEE, "RADCON", DATE_BAIL
        # N6's radiation came from an SNE file (import-sne records it in its audit entry).
        s.add(AuditEntry(horodatage=dt.datetime(2026, 6, 14, 9, tzinfo=dt.UTC), acteur="cli:import-sne",
                         action="sne.importer", objet_type="import_sne",
                         details={"demandes": [{"numero_unique": N6, "type_fichier": "RAD", "statut": "radiee"}]}))
    r = _exporter(sessions)
    assert set(_par_numero(_demandes(r.contenu), "radiation")) == {N1, N2, N3}


def test_une_demande_attribuee_radatt_des_donnees_anciennes_est_exportee_comme_radiee(sessions, monde):
    """The demo (and older data) mark a housed demande `attribuee` with motif RADATT: same radiation."""
    with sessions.begin() as s:
        s.scalars(select(Demande).where(Demande.numero_unique == N1)).one().statut = StatutDemande.ATTRIBUEE
    r = _exporter(sessions)
    assert _par_numero(_demandes(r.contenu), "radiation")[N1].code("motifRadiation", "ListeMotifsRadiation") == "RADATT"


def test_une_radiation_pour_irrecevabilite_sans_sous_motif_connu_est_ecartee_et_dite(sessions, monde):
    with sessions.begin() as s:
        d2 = s.scalars(select(Demande).where(Demande.numero_unique == N2)).one()
        d2.statut, d2.motif_radiation, d2.date_radiation = StatutDemande.RADIEE, "RADIRR", DATE_BAIL
        d2_id = d2.id
    r = _exporter(sessions)
    assert r.nb_radiations == 2
    assert [(e["objet_id"], e["code"]) for e in r.ecartes] == [(d2_id, "RADIRR")]
    assert "sous-motif" in r.ecartes[0]["raison"]


# --------------------------------------------------------------------------- refused requests


def test_un_jour_futur_ou_un_role_non_habilite_est_refuse_sans_ecriture(sessions, monde, tmp_path):
    with pytest.raises(ErreurExport) as exc:
        _exporter(sessions, jour=dt.date(2026, 6, 16))
    assert "jour" in exc.value.erreurs and "futur" in exc.value.erreurs["jour"][0]
    with pytest.raises(ErreurExport) as exc:
        _exporter(sessions, jour="2026-06-10")
    assert exc.value.erreurs == {"jour": ["date attendue (AAAA-MM-JJ)."]}
    with pytest.raises(ErreurExport) as exc:
        _exporter(sessions, sortie=tmp_path / "absent")
    assert "n'existe pas" in exc.value.erreurs["sortie"][0]
    with pytest.raises(ErreurExport, match="votre rôle ne permet pas"):
        _exporter(sessions, acteur=Acteur(sessions, "membre1"))
    assert _compter(sessions, ExportSne) == 0
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "sne.exporter")) == 0
    # A datetime is taken for its day.
    assert _exporter(sessions, jour=dt.datetime(2026, 6, 10, 18, 30)).nb_decisions == 6


# --------------------------------------------------------------------------- command line


def test_la_commande_exporte_puis_ne_refait_rien_puis_force(engine, monde, tmp_path):
    r = _invoquer(engine, "--sortie", str(tmp_path), "--json")
    assert r.exit_code == 0, r.output
    sortie = json.loads(r.output)
    assert (sortie["nb_decisions"], sortie["nb_radiations"], sortie["force"]) == (6, 2, False)
    fichier = tmp_path / sortie["fichier"]
    assert hashlib.sha256(fichier.read_bytes()).hexdigest() == sortie["sha256"]
    _demandes(fichier.read_bytes())
    r = _invoquer(engine, "--sortie", str(tmp_path))
    assert r.exit_code == 0 and "rien de nouveau à exporter" in r.output
    r = _invoquer(engine, "--jour", "2026-06-10", "--forcer", "--sortie", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "Export SNE du 2026-06-10" in r.output and "6 décisions, 0 radiation (renvoi forcé)" in r.output
    assert len(list(tmp_path.iterdir())) == 2


@pytest.mark.parametrize("jour, message", [
    ("2026-13-01", "--jour : Date invalide (format AAAA-MM-JJ attendu)."),
    ("hier", "--jour : Date invalide (format AAAA-MM-JJ attendu)."),
    ("2026-06-16", "--jour : le 2026-06-16 est dans le futur"),
])
def test_la_commande_refuse_un_mauvais_jour_en_francais_sans_rien_ecrire(engine, monde, tmp_path, jour, message):
    r = _invoquer(engine, "--jour", jour, "--sortie", str(tmp_path))
    assert r.exit_code == 2 and message in r.output, r.output
    assert list(tmp_path.iterdir()) == []
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ExportSne.__table__)) == 0


def _invoquer(engine, *args: str):
    """`caleol export-sne …` on the test database (its own PostgreSQL schema: the engine is passed in)."""
    contexte = Contexte("sqlite://")
    contexte.__dict__["engine"] = engine
    return CliRunner().invoke(export_sne, list(args), obj=contexte)


# --------------------------------------------------------------------------- web page


def test_la_page_liste_les_exports_pour_chaque_role_autorise(engine, sessions, monde):
    r = _exporter(sessions, bailleur_id=_bailleur(sessions))
    for qui in ("charge", "president", "admin", "lecteur"):
        page = client(engine, qui).get("/exports-sne")
        assert page.status_code == 200, qui
        html = page.get_data(as_text=True)
        assert r.fichier in html and "<h1>Exports SNE</h1>" in html
        assert ('id="generer-export"' in html) is (qui != "lecteur"), qui
        assert ('href="/exports-sne/%d/fichier"' % r.export_id in html) is (qui in ("charge", "president")), qui
    for qui in ("membre1", "prefet"):
        assert client(engine, qui).get("/exports-sne").status_code == 403
    # The other bailleur sees none of bailleur 1's exports.
    assert r.fichier not in client(engine, "president2").get("/exports-sne").get_data(as_text=True)


def test_le_telechargement_rend_le_fichier_exporte_aux_seuls_roles_habilites(engine, sessions, monde):
    r = _exporter(sessions, bailleur_id=_bailleur(sessions))
    reponse = client(engine, "charge").get(f"/exports-sne/{r.export_id}/fichier")
    assert reponse.status_code == 200 and reponse.data == r.contenu
    assert reponse.mimetype == "application/xml" and r.fichier in reponse.headers["Content-Disposition"]
    for qui in ("lecteur", "admin", "membre1"):
        assert client(engine, qui).get(f"/exports-sne/{r.export_id}/fichier").status_code == 403, qui
    assert client(engine, "president2").get(f"/exports-sne/{r.export_id}/fichier").status_code == 404


def test_le_formulaire_genere_un_export_du_bailleur_avec_le_jeton_csrf(engine, sessions, monde):
    c = client(engine, "president", csrf=True)
    page = c.get("/exports-sne").get_data(as_text=True)
    assert c.post("/exports-sne", data={"etendue": "tout"}).status_code == 400  # no CSRF token
    r = c.post("/exports-sne", data={"csrf_token": jeton(page), "etendue": "jour", "jour": "2026-06-10"})
    assert r.status_code == 302
    suite = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "6 décisions et 0 radiation" in suite
    with sessions() as s:
        export = s.scalars(select(ExportSne)).one()
        assert (export.jour, export.bailleur_id, export.par) == (DATE_SEANCE, _bailleur(sessions), "president")


@pytest.mark.parametrize("donnees, champ, message", [
    ({}, "etendue", "Champ obligatoire."),
    ({"etendue": "jour", "jour": ""}, "jour", "Indiquez le jour à exporter"),
    ({"etendue": "jour", "jour": "2026-02-30"}, "jour", "Date invalide"),
    ({"etendue": "jour", "jour": "2026-07-01"}, "jour", "dans le futur"),
    ({"etendue": "semaine"}, "etendue", "Étendue inconnue"),
    ({"etendue": "tout", "jour": "2026-06-10"}, "jour", "ne prend pas de jour"),
    ({"etendue": "tout", "forcer": "1; DROP"}, "forcer", "cochez la case ou laissez-la vide"),
])
def test_le_formulaire_refuse_une_mauvaise_saisie_en_nommant_le_champ_sans_rien_ecrire(engine, sessions, monde,
                                                                                      donnees, champ, message):
    r = client(engine, "charge").post("/exports-sne", data=donnees)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and message in html, html
    assert f'id="err-{champ}"' in html
    assert _compter(sessions, ExportSne) == 0


def test_le_lecteur_et_le_membre_ne_peuvent_pas_generer(engine, sessions, monde):
    for qui in ("lecteur", "membre1"):
        assert client(engine, qui).post("/exports-sne", data={"etendue": "tout"}).status_code == 403
    assert _compter(sessions, ExportSne) == 0


def _bailleur(sessions) -> int:
    with sessions() as s:
        return s.scalars(select(Residence.bailleur_id).join(Logement).join(Candidature)).first()


# --------------------------------------------------------------------------- with the offers of issue 8.1-8.2


def test_cycle_classement_refus_du_rang_1_bail_du_rang_2_puis_export(sessions, monkeypatch):
    """Séance → classement → offer refused by rank 1 → accepted by rank 2 → lease (webapp.services.offres)
    → the export carries the three ranked decisions and rank 2's RADATT radiation with its logement."""
    from webapp.models import Offre
    from webapp.services import offres

    m = construire(sessions)
    for rang, numero in enumerate((N1, N2, N3), start=1):
        _decider(sessions, m, numero, "attribution_rang", "pour", rang=str(rang))
    for numero in (N4, N5, N6):
        _decider(sessions, m, numero, "non_attribution", "contre", motifs=["NA_CANDIDAT_MIEUX_CLASSE"])
    with sessions.begin() as s:
        svc_decisions.cloturer_seance(s, seance_id=m.seance_id, acteur=Acteur(sessions, "president"), version="test")

    def offre(numero: str) -> int:
        with sessions() as s:
            return s.scalars(select(Offre.id).join(Demande, Demande.id == Offre.demande_id)
                             .where(Demande.numero_unique == numero).order_by(Offre.id.desc())).first()

    charge = Acteur(sessions, "charge")
    with sessions() as s:
        charge.organisation_id = s.get(Utilisateur, charge.id).organisation_id

    def ecrire(fonction, offre_id: int, **donnees) -> None:
        with sessions.begin() as s:
            fonction(s, offre_id=offre_id, acteur=charge, donnees=donnees)

    ecrire(offres.repondre, offre(N1), reponse="refusee", motif="QUARTIER", date_reponse="2026-06-15")
    monkeypatch.setenv("CALEOL_TODAY", "2026-06-20")
    ecrire(offres.repondre, offre(N2), reponse="acceptee", date_reponse="2026-06-16")
    ecrire(offres.signer_bail, offre(N2), date_signature_bail="2026-06-18")

    r = _exporter(sessions)
    racine = analyser(r.contenu)
    noeud = Noeud(racine, "interfaceNuu", Lecteur())
    demandes = noeud.enfants("demande")
    decisions = _par_numero(demandes, "decisionCommission")
    assert {n: (d.enfant("decision").attribut_code(), d.entier("rang")) for n, d in decisions.items()
            if n in (N1, N2, N3)} == {N1: ("attribution_rang", 1), N2: ("attribution_rang", 2),
                                      N3: ("attribution_rang", 3)}
    radiations = _par_numero(demandes, "radiation")
    assert set(radiations) == {N2}
    rad = radiations[N2]
    assert rad.code("motifRadiation", "ListeMotifsRadiation") == "RADATT"
    assert rad.date("dateRadiation") == dt.date(2026, 6, 18)
    att = rad.enfant("attribution")
    assert att.date("dateSignatureBail") == dt.date(2026, 6, 18) and att.date("dateCommission") == DATE_SEANCE
    assert att.enfant("logementAttribue").texte("reference") == "L-1"
    assert not noeud.lecteur.erreurs, noeud.lecteur.erreurs
    assert _exporter(sessions).vide
