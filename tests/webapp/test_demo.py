"""The demonstration data set: deterministic, valid, realistic, written in one transaction with one audit entry."""
from __future__ import annotations

import collections
import datetime as dt
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from werkzeug.security import check_password_hash

from webapp.cli import main
from webapp.demo.generateur import JeuDemo, empreinte
from webapp.demo.referentiel import charger_referentiel
from webapp.demo.service import ErreurDemo, charger_demo
from webapp.models import (
    Attribution,
    AuditEntry,
    Candidature,
    ConventionReservation,
    Decision,
    Demande,
    Logement,
    Organisation,
    QpvCommune,
    Reservataire,
    Residence,
    Role,
    Seance,
    SouhaitCommune,
    SouhaitTypologie,
    StatutDemande,
    StatutLogement,
    StatutSeance,
    TypeDecision,
    TypeOrganisation,
    Utilisateur,
)
from webapp.schemas import charger_dossier
from webapp.services.dossiers import charger_demande, dossier_depuis_demande, en_json

REFERENCE = dt.date(2026, 6, 15)  # CALEOL_TODAY of tests/conftest.py


def charger(sessions, dossiers=300, logements=60, seed=42, **options):
    with sessions.begin() as s:
        return charger_demo(s, seed=seed, nb_dossiers=dossiers, nb_logements=logements, acteur="test", **options)


def compter(s, modele, *conditions):
    return s.scalar(select(func.count()).select_from(modele).where(*conditions))


# --- determinism ---------------------------------------------------------------------------------

def test_la_meme_graine_donne_la_meme_empreinte_et_une_autre_graine_une_autre():
    premiere = empreinte(42, 300, 60, REFERENCE)
    assert empreinte(42, 300, 60, REFERENCE) == premiere
    assert empreinte(43, 300, 60, REFERENCE) != premiere
    # The data are relative to the reference date: another date, other data.
    assert empreinte(42, 300, 60, dt.date(2027, 1, 10)) != premiere


def test_l_empreinte_ne_depend_pas_du_decoupage_en_lots():
    from webapp.demo.generateur import Empreinte

    empreintes = []
    for taille in (7, 5000):
        h = Empreinte()
        for table, lignes, bloc in JeuDemo(42, 120, 40, REFERENCE).lots(taille):
            h.ajouter(table, lignes, bloc)
        empreintes.append(h.hexdigest())
    assert empreintes[0] == empreintes[1]


def test_une_demo_sans_logement_ou_sans_dossier_reste_coherente():
    assert empreinte(42, 0, 30, REFERENCE) != empreinte(42, 30, 0, REFERENCE)
    jeu = JeuDemo(42, 30, 0, REFERENCE)
    assert not jeu.consignes and not any(s.examens for s in jeu.seances)


def test_les_dates_generees_partent_de_la_date_de_reference():
    autre = dt.date(2027, 1, 10)
    jeu = JeuDemo(42, 200, 40, autre)
    for _, dossier, _ in jeu.dossiers():
        assert dossier["date_depot"] <= autre.isoformat()
        annees = {r["annee"] for p in dossier["personnes"] for r in p["revenus_fiscaux"]}
        assert annees <= {2025, 2026}
    passees = [s.date for s in jeu.seances if not s.future]
    assert passees and all(autre - dt.timedelta(days=365) < d < autre for d in passees)
    assert [s.date > autre for s in jeu.seances if s.future] == [True]


# --- the load ------------------------------------------------------------------------------------

def test_le_chargement_ecrit_les_lignes_et_une_seule_entree_d_audit_sans_donnee_personnelle(sessions):
    resultat = charger(sessions)
    assert resultat.charge
    assert resultat.empreinte == empreinte(42, 300, 60, REFERENCE)
    with sessions() as s:
        assert compter(s, Demande) == resultat.comptes["demande"] == 300
        assert compter(s, Logement) == resultat.comptes["logement"] == 60
        assert compter(s, Attribution) == resultat.comptes["attribution"] > 0
        entrees = s.scalars(select(AuditEntry).where(AuditEntry.action == "demo.charger")).all()
        assert len(entrees) == 1
        entree = entrees[0]
        assert entree.details["seed"] == 42
        assert entree.apres["empreinte"] == resultat.empreinte
        assert entree.apres["comptes"]["demande"] == 300
        texte = json.dumps([entree.avant, entree.apres, entree.details], ensure_ascii=False)
        noms = s.scalars(select(Demande.numero_unique).limit(20)).all()
        assert not any(n in texte for n in noms)
        # Ids given by the load leave the sequences usable for ordinary inserts.
        s.add(Organisation(nom="Autre organisation", type=TypeOrganisation.BAILLEUR))
        s.flush()
        s.rollback()


def test_les_dossiers_generes_sont_valides_et_font_l_aller_retour_par_la_base(sessions):
    charger(sessions)
    dossiers = [d for _, d, _ in JeuDemo(42, 300, 60, REFERENCE).dossiers()]
    charges = [charger_dossier(d) for d in dossiers]  # every dossier is valid
    with sessions() as s:
        for dossier in charges[::15]:
            demande = charger_demande(s, dossier["numero_unique"])
            assert en_json(dossier_depuis_demande(demande)) == en_json(dossier)
            # The wishes are also written one per row, for the SQL pre-selection.
            typologies = s.scalars(select(SouhaitTypologie.typologie).where(SouhaitTypologie.demande_id == demande.id))
            communes = s.scalars(select(SouhaitCommune.code_insee).where(SouhaitCommune.demande_id == demande.id))
            assert sorted(typologies) == sorted(dossier["typologies_souhaitees"])
            assert sorted(communes) == sorted(dossier["communes_souhaitees"])


def test_les_menages_ont_l_allure_de_la_demande_des_hauts_de_france():
    ref = charger_referentiel()
    jeu = JeuDemo(42, 3000, 300, REFERENCE)
    c = collections.Counter()
    for _, d, faits in jeu.dossiers():
        personnes = d["personnes"]
        roles = {p["role"] for p in personnes}
        c["q1"] += faits["quartile"] == 1
        c["garde_alternee"] += "enfant_garde_alternee" in roles
        c["droit_visite"] += "enfant_droit_visite" in roles
        c["a_naitre"] += "enfant_a_naitre" in roles
        c["handicap"] += any(p["handicap"]["cmi_invalidite"] for p in personnes)
        c["seul"] += len(personnes) == 1
        c["rfr_n2_manquant"] += not any(r["annee"] == 2024 for r in personnes[0]["revenus_fiscaux"])
        c["sejour_non_renseigne"] += personnes[0]["residence_reguliere"]["declaree"] is None
        c["dalo_designe"] += d["dalo"]["date_designation"] is not None
        c["sans_abri"] += d["logement_actuel"]["modele"] == "SD"
        c["hlm"] += d["logement_actuel"]["modele"] == "HLM"
        rfr = sum(r["montant"] or 0 for p in personnes for r in p["revenus_fiscaux"] if r["annee"] == 2024)
        n = sum(1 for p in personnes if p["role"] != "enfant_a_naitre")
        c["au_dessus_plus"] += rfr > ref.plafond(2026, "PLUS", min(n, 6), max(0, n - 6))
        # A married or PACS couple shares one tax notice; the second person has no amount of their own.
        cotitulaire = next((p for p in personnes if p["role"] == "cotitulaire"), None)
        if cotitulaire and cotitulaire["lien_cotitulaire"] in ("conjoint", "pacse"):
            c["couples_maries"] += 1
            avis = {r["avis"] for r in personnes[0]["revenus_fiscaux"]}
            assert all(r["montant"] is None and r["avis"] in avis for r in cotitulaire["revenus_fiscaux"])
    part = {k: v / 3000 for k, v in c.items()}
    assert 0.20 <= part["q1"] <= 0.30  # about a quarter under the EPCI's Q1 threshold
    assert 0.04 <= part["au_dessus_plus"] <= 0.20  # some households above the PLUS ceiling
    assert 0.30 <= part["seul"] <= 0.45
    assert 0.25 <= part["hlm"] <= 0.42  # mutations
    assert 0.03 <= part["handicap"] <= 0.09
    assert 0.01 <= part["rfr_n2_manquant"] <= 0.06
    assert 0.005 <= part["sejour_non_renseigne"] <= 0.04
    for cle in ("garde_alternee", "droit_visite", "a_naitre", "dalo_designe", "sans_abri", "couples_maries"):
        assert c[cle] > 0, cle


def test_environ_un_logement_sur_dix_est_vacant_avec_sa_date_de_liberation(sessions):
    charger(sessions, logements=200)
    with sessions() as s:
        vacants = s.scalars(select(Logement).where(Logement.statut == StatutLogement.VACANT)).all()
        occupes = s.scalars(select(Logement).where(Logement.statut == StatutLogement.OCCUPE)).all()
        assert 0.08 <= len(vacants) / 200 <= 0.12
        assert all(lg.date_liberation is not None for lg in vacants)
        assert all(lg.date_liberation is None for lg in occupes)
        attribues = set(s.scalars(select(Attribution.logement_id)))
        assert not attribues & {lg.id for lg in vacants}
        for lg in s.scalars(select(Logement)).all():
            assert lg.nb_pieces == int(lg.typologie.value[1])
            assert lg.loyer_principal > 0 and lg.surface_habitable > 0


def test_les_residences_en_qpv_sont_dans_une_commune_du_quartier(sessions):
    charger(sessions, logements=400)
    with sessions() as s:
        residences = s.scalars(select(Residence)).all()
        en_qpv = [r for r in residences if r.qpv_code]
        assert en_qpv and len(en_qpv) < len(residences)
        for r in en_qpv:
            communes = set(s.scalars(select(QpvCommune.code_insee).where(QpvCommune.qpv_code == r.qpv_code)))
            assert r.code_insee in communes
            assert r.latitude is not None and 49 < r.latitude < 51.2 and 1.8 < r.longitude < 3.6


def test_les_attributions_ont_un_bail_signe_et_les_indicateurs_des_quotas(sessions):
    charger(sessions, dossiers=600, logements=300)
    with sessions() as s:
        attributions = s.scalars(select(Attribution)).all()
        assert attributions
        signees = [a for a in attributions if a.date_signature_bail]
        assert len(signees) / len(attributions) >= 0.8
        for a in attributions:
            assert set(a.indicateurs) >= {"quartile", "prioritaire", "dalo", "sortant_hebergement", "sans_abri", "en_qpv", "epci", "anru"}
            assert a.reservataire_id is not None
            assert REFERENCE - dt.timedelta(days=366) < a.date_decision < REFERENCE
            assert a.date_signature_bail is None or a.date_decision < a.date_signature_bail <= REFERENCE
            assert a.decision.type in (TypeDecision.ATTRIBUTION, TypeDecision.ATTRIBUTION_RANG, TypeDecision.ATTRIBUTION_SOUS_CONDITION)
            assert a.demande.statut == StatutDemande.ATTRIBUEE
            if a.date_signature_bail:
                assert a.demande.motif_radiation == "RADATT"
            residence = a.logement.residence
            assert a.indicateurs["en_qpv"] == (residence.qpv_code is not None)
        # Three ranked candidates per dwelling, except a DALO household designated by the préfet.
        par_examen = collections.Counter(s.execute(select(Candidature.seance_id, Candidature.logement_id)).all())
        assert set(par_examen.values()) <= {1, 3}
        non_attribues = s.scalars(select(Decision).where(Decision.type == TypeDecision.NON_ATTRIBUTION)).all()
        assert non_attribues and all(d.motifs for d in non_attribues)
        futures = s.scalars(select(Seance).where(Seance.statut == StatutSeance.PLANIFIEE)).all()
        assert len(futures) == 1 and futures[0].date_seance > REFERENCE and not futures[0].candidatures


def test_les_parts_des_attributions_de_l_annee_suivent_le_bilan_dreal(sessions):
    """3 000 dossiers and 3 000 logements give 300 attributions; the history is planned to the DREAL shares
    (20 % prioritaires, 2.2 % DALO, 4.2 % sortants d'hébergement, 3.1 % sans-abri, 17.2 % sous Q1):
    each share is checked within ±2 points (±4 for the QPV share, which follows the stock)."""
    charger(sessions, dossiers=3000, logements=3000)
    cibles = charger_referentiel().parts_attributions
    with sessions() as s:
        indicateurs = [
            a.indicateurs for a in s.scalars(
                select(Attribution).where(Attribution.date_decision >= REFERENCE - dt.timedelta(days=365))
            )
        ]
    n = len(indicateurs)
    assert n == 300
    part = {
        cle: sum(1 for i in indicateurs if i[cle]) / n
        for cle in ("prioritaire", "dalo", "sortant_hebergement", "sans_abri", "en_qpv")
    }
    part["q1"] = sum(1 for i in indicateurs if i["quartile"] == 1) / n
    assert abs(part["prioritaire"] - cibles["prioritaires"]) <= 0.02
    assert abs(part["dalo"] - cibles["dalo"]) <= 0.02
    assert abs(part["sortant_hebergement"] - cibles["sortants_hebergement"]) <= 0.02
    assert abs(part["sans_abri"] - cibles["sans_abri"]) <= 0.02
    assert abs(part["q1"] - cibles["q1"]) <= 0.02
    assert abs(part["en_qpv"] - cibles["en_qpv"]) <= 0.06


def test_organisations_comptes_reservataires_et_conventions_en_flux(sessions):
    charger(sessions)
    with sessions() as s:
        types = {o.type for o in s.scalars(select(Organisation))}
        assert types == set(TypeOrganisation)
        bailleur = s.scalars(select(Organisation).where(Organisation.type == TypeOrganisation.BAILLEUR)).one()
        roles = {u.role for u in s.scalars(select(Utilisateur).where(Utilisateur.organisation_id == bailleur.id))}
        assert roles == set(Role)
        autres = s.scalars(select(Utilisateur).where(Utilisateur.organisation_id != bailleur.id)).all()
        assert {u.organisation.type for u in autres} == {TypeOrganisation.RESERVATAIRE, TypeOrganisation.EPCI, TypeOrganisation.ETAT}
        for u in s.scalars(select(Utilisateur)):
            assert check_password_hash(u.mot_de_passe_hash, "caleol-demo")
        # For each EPCI and year, the flux shares of the conventions that cover it add up to 100 %.
        conventions = s.scalars(select(ConventionReservation)).all()
        assert {c.annee for c in conventions} == {2025, 2026}
        parametres = charger_referentiel().parametres
        for annee in (2025, 2026):
            for siren in parametres["territoires"]:
                departement = charger_referentiel().communes_par_epci[siren][0].departement
                parts = [c.part_flux for c in conventions if c.annee == annee and c.territoire in (siren, departement)]
                assert sum(parts) == 1
        etat = s.scalars(select(Reservataire).where(Reservataire.nom.like("État%"))).all()
        assert len(etat) == 2


def test_si_vide_ne_fait_rien_quand_la_base_contient_des_demandes(sessions):
    charger(sessions)
    resultat = charger(sessions, si_vide=True)
    assert not resultat.charge and "déjà 300 demande" in resultat.message
    with pytest.raises(ErreurDemo, match="contient déjà 300 demande"):
        charger(sessions, seed=7)
    with sessions() as s:
        assert compter(s, Demande) == 300
        assert compter(s, AuditEntry, AuditEntry.action == "demo.charger") == 1


def test_la_commande_charge_la_demo_dans_une_base_vide_puis_ne_fait_plus_rien(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    runner = CliRunner()
    sans_schema = runner.invoke(main, ["--database-url", url, "demo", "load", "--si-vide"])
    assert sans_schema.exit_code == 2 and "caleol db upgrade" in sans_schema.output
    assert runner.invoke(main, ["--database-url", url, "db", "upgrade"]).exit_code == 0
    premier = runner.invoke(main, ["--database-url", url, "demo", "load", "--si-vide", "--dossiers", "40", "--logements", "20"])
    assert premier.exit_code == 0, premier.output
    assert "Référentiel territorial chargé" in premier.output
    assert f"Empreinte des données : {empreinte(42, 40, 20, REFERENCE)}" in premier.output
    second = runner.invoke(main, ["--database-url", url, "demo", "load", "--si-vide"])
    assert second.exit_code == 0 and "ne sont pas chargées" in second.output
    troisieme = runner.invoke(main, ["--database-url", url, "demo", "load", "--dossiers", "40"])
    assert troisieme.exit_code == 2 and "Erreur : La base contient déjà 40 demande(s)" in troisieme.output
    assert "Traceback" not in troisieme.output


def test_la_demo_se_charge_a_cote_de_donnees_existantes_sans_collision_d_identifiants(sessions):
    with sessions.begin() as s:
        autre = Organisation(nom="Bailleur déjà présent", type=TypeOrganisation.BAILLEUR)
        s.add(autre)
        s.flush()
        s.add(Utilisateur(identifiant="deja.la", nom_affiche="Déjà là", mot_de_passe_hash="x", role=Role.LECTEUR,
                          organisation_id=autre.id))
    charger(sessions)
    with sessions() as s:
        bailleur = s.scalars(select(Organisation).where(Organisation.nom.like("Habitat des Hauts%"))).one()
        charge = s.scalars(select(Utilisateur).where(Utilisateur.identifiant == "charge.attribution")).one()
        assert charge.organisation_id == bailleur.id
        assert {r.bailleur_id for r in s.scalars(select(Residence))} == {bailleur.id}
        # The sequences continue after the ids written by the load.
        s.add(Organisation(nom="Encore un bailleur", type=TypeOrganisation.BAILLEUR))
        s.flush()
        s.rollback()


def test_un_compte_de_demonstration_deja_present_est_refuse_sans_rien_ecrire(sessions):
    with sessions.begin() as s:
        autre = Organisation(nom="Bailleur déjà présent", type=TypeOrganisation.BAILLEUR)
        s.add(autre)
        s.flush()
        s.add(Utilisateur(identifiant="admin", nom_affiche="Admin", mot_de_passe_hash="x", role=Role.ADMINISTRATEUR,
                          organisation_id=autre.id))
    with pytest.raises(ErreurDemo, match="Le compte « admin » existe déjà"):
        charger(sessions)
    with sessions() as s:
        assert compter(s, Demande) == 0
        assert compter(s, AuditEntry, AuditEntry.action == "demo.charger") == 0


# --- blocks of dossiers and the bulk path (national stock) ------------------------------------------

def test_en_plusieurs_blocs_le_premier_garde_le_flux_unique_et_les_suivants_ont_leur_flux_et_leurs_identifiants():
    from webapp.demo.generateur import PAS_IDS_BLOC

    unique = list(JeuDemo(42, 150, 40, REFERENCE).dossiers())
    jeu = JeuDemo(42, 150, 40, REFERENCE, taille_bloc=60)
    en_blocs = list(jeu.dossiers())
    assert [i for i, _, _ in en_blocs] == list(range(150))
    # Block 0 is the single stream of a demo of at most one block (every demo but the national stock).
    assert [d for _, d, _ in en_blocs[:60]] == [d for _, d, _ in unique[:60]]
    assert [d for _, d, _ in en_blocs[60:120]] != [d for _, d, _ in unique[60:120]]
    assert empreinte(42, 150, 40, REFERENCE, taille_bloc=60) != empreinte(42, 150, 40, REFERENCE)
    assert empreinte(42, 150, 40, REFERENCE, taille_bloc=150) == empreinte(42, 150, 40, REFERENCE)
    premiers: dict[tuple[str, int], int] = {}
    for table, lignes, bloc in jeu.lots(taille=25):
        if table in ("demande", "personne", "ressource") and lignes:
            premiers.setdefault((table, bloc), lignes[0][0])
    assert premiers[("demande", 1)] == 61 and premiers[("demande", 2)] == 121
    assert premiers[("personne", 0)] == 1 and premiers[("ressource", 0)] == 1
    assert premiers[("personne", 1)] == PAS_IDS_BLOC + 1 and premiers[("personne", 2)] == 2 * PAS_IDS_BLOC + 1
    assert premiers[("ressource", 2)] == 2 * PAS_IDS_BLOC + 1


def test_un_bloc_qui_deborderait_sur_les_identifiants_du_suivant_est_refuse(monkeypatch):
    import webapp.demo.generateur as generateur

    monkeypatch.setattr(generateur, "PAS_IDS_BLOC", 100)  # 60 dossiers make more than 100 personnes
    with pytest.raises(ValueError, match="Le bloc 0 dépasse 100 lignes de personne"):
        list(JeuDemo(42, 150, 40, REFERENCE, taille_bloc=60).lots())
    # The last block has no successor: nothing to meet.
    assert empreinte(42, 60, 40, REFERENCE, taille_bloc=60)


def _contenu(sessions) -> dict[str, list[tuple]]:
    from webapp.demo.lignes import ORDRE
    from webapp.models import Base

    with sessions() as s:
        return {t: [tuple(r) for r in s.execute(select(Base.metadata.tables[t]).order_by(
                    *Base.metadata.tables[t].primary_key.columns))] for t in ORDRE if t != "utilisateur"}


def _vider(sessions) -> None:
    from tests.conftest import TABLES_REFERENCE
    from webapp.models import Base

    with sessions.begin() as s:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in TABLES_REFERENCE:
                s.execute(table.delete())


def test_le_chemin_de_masse_en_parallele_ecrit_les_memes_lignes_et_la_meme_empreinte_qu_un_seul_processus(sessions):
    # Blocks of 60 dossiers: on PostgreSQL, two forked workers generate them and the parent writes them.
    attendue = empreinte(42, 150, 40, REFERENCE, taille_bloc=60)
    contenus = []
    for processus in (2, 1):
        resultat = charger(sessions, dossiers=150, logements=40, processus=processus, taille_bloc=60)
        assert resultat.empreinte == attendue
        assert resultat.comptes["demande"] == 150
        contenus.append(_contenu(sessions))
        with sessions() as s:
            assert compter(s, AuditEntry, AuditEntry.action == "demo.charger") == 1
            assert s.scalar(select(func.max(Attribution.id))) == resultat.comptes["attribution"]
        _vider(sessions)
    assert contenus[0] == contenus[1]
    assert len(contenus[0]["personne"]) > 150 and contenus[0]["attribution"]


def _index_et_contraintes(sessions) -> list[tuple]:
    from webapp.demo.lignes import TABLES_DOSSIER

    with sessions() as s:
        index = s.execute(text(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = ANY(:t) ORDER BY 1, 2"), {"t": list(TABLES_DOSSIER)}).all()
        contraintes = s.execute(text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
            "WHERE connamespace = current_schema()::regnamespace AND conrelid::regclass::text = ANY(:t) ORDER BY 1, 2"),
            {"t": list(TABLES_DOSSIER)}).all()
    return [tuple(r) for r in index + contraintes]


def test_postgresql_les_index_et_cles_etrangeres_differes_sont_recrees_a_l_identique_et_un_echec_les_laisse_en_place(
        sessions, backend, monkeypatch):
    if backend != "postgresql":
        pytest.skip("index et contraintes différés : PostgreSQL seulement")
    avant = _index_et_contraintes(sessions)
    assert any("fk_personne_demande_id_demande" in r for r in avant) and any("ix_personne_demande_id" in r for r in avant)
    charger(sessions, dossiers=150, logements=40, processus=2, taille_bloc=60)
    assert _index_et_contraintes(sessions) == avant
    _vider(sessions)

    # A worker fails in its last block, after the first blocks were written: everything is rolled back.
    lots_bloc = JeuDemo.lots_bloc

    def lots_bloc_en_echec(self, bloc, indices, taille=5000):
        for n, lot in enumerate(lots_bloc(self, bloc, indices, taille)):
            if bloc == 2 and n == 3:
                raise ValueError("échec simulé dans le bloc 2")
            yield lot

    monkeypatch.setattr(JeuDemo, "lots_bloc", lots_bloc_en_echec)
    with pytest.raises(RuntimeError, match="échec simulé dans le bloc 2"):
        charger(sessions, dossiers=150, logements=40, processus=2, taille_bloc=60)
    assert _index_et_contraintes(sessions) == avant
    with sessions() as s:
        assert compter(s, Demande) == 0
