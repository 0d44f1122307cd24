"""Rulebook versions kept whole, activated without a restart, replayed (issue 7.6), on SQLite and PostgreSQL.

The modified rulebook is a copy of rules/ where one dated parameter changed (the consumption units of
the first adult: 1 → 2, which divides the income per unit of the example dossier differently). Its
version is recorded with its files, then activated by the administrator in one application; a
separate process, started BEFORE the activation and never restarted, evaluates with it at its next
request. The previous version stays replayable and gives back the stored evaluation.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from tests.webapp import fabrique_propositions as fp
from tests.webapp.decisions_exemple import MOT_DE_PASSE, construire
from webapp import create_app
from webapp import db as dbmod
from webapp.cli import Contexte
from webapp.evaluation_cli import evaluate
from webapp.models import AuditEntry, Decision, EvaluationDemande, ReferentielActif, VersionRegles
from webapp.regles import activation
from webapp.regles.cli import activer as commande_activer
from webapp.regles.versions import enregistrer_version

RACINE = Path(__file__).resolve().parents[2]
DOSSIER = RACINE / "fixtures" / "dossiers" / "famille_monoparentale_lille.json"
DATE = dt.date(2026, 6, 15)
UC_AVANT = "valeurs: [{debut: 2020-01-01, fin: null, valeur: 1}]"


@pytest.fixture(autouse=True)
def _retour_au_disque(monkeypatch, tmp_path):
    monkeypatch.setenv("CALEOL_REFERENTIEL_VERIFICATION", "0")
    monkeypatch.setenv("CALEOL_REFERENTIELS_DIR", str(tmp_path / "referentiels"))
    activation.oublier()
    yield
    activation.oublier()


@pytest.fixture
def copie(tmp_path) -> Path:
    """A copy of rules/ (with the SNE code lists beside it) where one parameter changed."""
    racine = tmp_path / "copie"
    shutil.copytree(RACINE / "rules", racine / "rules")
    (racine / "fixtures" / "sne").mkdir(parents=True)
    shutil.copy(RACINE / "fixtures" / "sne" / "sne_interface_code_lists_v0201.json", racine / "fixtures" / "sne")
    fichier = racine / "rules" / "parametres" / "quartiles.yaml"
    texte = fichier.read_text(encoding="utf-8")
    debut = texte.index("unites_consommation.premier_adulte:")
    fin = texte.index(UC_AVANT, debut)
    fichier.write_text(texte[:fin] + UC_AVANT.replace("valeur: 1}", "valeur: 2}") + texte[fin + len(UC_AVANT):],
                       encoding="utf-8")
    return racine / "rules"


# What the copy of the application's own policies changes (file under rules/, text before, text after).
POLITIQUES_MODIFIEES = (
    ("propositions/classement.yaml", "titre: Ordre de présentation des candidats à la commission d'attribution\n",
     "titre: Ordre de présentation des candidats (version modifiée)\n"),
    # The ranking itself: the most recent demande first at equal priority and score.
    ("propositions/classement.yaml", "sens: croissant\n    libelle: Ancienneté de la demande",
     "sens: decroissant\n    libelle: Ancienneté de la demande"),
    ("flux/parametres/flux.yaml", "valeurs: [{debut: 2020-02-22, fin: null, valeur: orientation}]",
     "valeurs: [{debut: 2020-02-22, fin: null, valeur: bail_signe}]"),
    ("flux/exclusions.yaml", "mutation_interne: Mutation interne\n", "mutation_interne: Mutation interne (version modifiée)\n"),
    ("flux/bilan.yaml", "libelle_inconnue: Période inconnue", "libelle_inconnue: Période non renseignée"),
    ("decisions/notification.yaml", "titre: Information sur l'usage d'un traitement algorithmique",
     "titre: Usage d'un traitement algorithmique (version modifiée)"),
    ("decisions/notification.yaml", "Sur demande, vous seront communiqués", "Sur demande écrite, vous seront communiqués"),
    ("decisions/motifs_refus_offre.yaml", None, None),  # checked below through the offers' referential
    ("referentiels/situations_prioritaires.yaml",
     "libelle: Personne en situation de handicap ou ménage ayant à charge une personne en situation de handicap\n",
     "libelle: Handicap (version modifiée)\n"),
    ("donnees/epci_2026.csv", "200093201,Métropole Européenne de Lille\n", "200093201,MEL (version modifiée)\n"),
)


@pytest.fixture
def copie_politiques(tmp_path) -> Path:
    """A copy of rules/ (with the SNE code lists beside it) where the application's own policies differ:
    the ranking, the flux counting, exclusion labels and bilan periods, the decision notices, the offers'
    refusal motifs, a priority situation and an EPCI name of the territory."""
    racine = tmp_path / "politiques"
    shutil.copytree(RACINE / "rules", racine / "rules")
    (racine / "fixtures" / "sne").mkdir(parents=True)
    shutil.copy(RACINE / "fixtures" / "sne" / "sne_interface_code_lists_v0201.json", racine / "fixtures" / "sne")
    for nom, avant, apres in POLITIQUES_MODIFIEES:
        fichier = racine / "rules" / nom
        texte = fichier.read_text(encoding="utf-8")
        if avant is None:  # the first refusal motif's label
            avant = re.search(r"libelle: [^\n]+", texte).group(0)
            apres = "libelle: Motif de refus (version modifiée)"
        assert texte.count(avant) == 1, (nom, avant)
        fichier.write_text(texte.replace(avant, apres), encoding="utf-8")
    return racine / "rules"


def _versions(sessions, copie) -> tuple[str, str]:
    with dbmod.transaction(sessions) as s:
        disque, _ = enregistrer_version(s, acteur="tests", source="commande")
        modifiee, nouvelle = enregistrer_version(s, acteur="tests", source="commande", racine=copie)
        assert nouvelle and modifiee.version != disque.version
        assert modifiee.archive_empreinte == activation.empreinte(modifiee.archive)
        return disque.version, modifiee.version


def _admin(engine):
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "LIMITE_CONNEXION": "1000 per minute", "ENREGISTRER_VERSION_REGLES": False})
    c = app.test_client()
    assert c.post("/connexion", data={"identifiant": "admin", "mot_de_passe": MOT_DE_PASSE}).status_code == 302
    return c


ENFANT = textwrap.dedent('''
    import json, sys, datetime as dt
    from webapp import create_app, db as dbmod
    from webapp.schemas import charger_dossier
    from engine.evaluation import evaluer
    url, schema, chemin = sys.argv[1], sys.argv[2] or None, sys.argv[3]
    app = create_app({"ENGINE": dbmod.make_engine(url, schema=schema), "SECRET_KEY": "x", "TESTING": True,
                      "ENREGISTRER_VERSION_REGLES": False})
    client = app.test_client()
    dossier = charger_dossier(json.load(open(chemin, encoding="utf-8")))
    for ligne in sys.stdin:  # one request, one evaluation per line received: the same process throughout
        client.get("/notice")
        r = evaluer(dossier, None, dt.date(2026, 6, 15), trace=False)
        print(json.dumps({"version": r["version_regles"], "uc": r["menage"]["unites_consommation"]}), flush=True)
''')


def _schema(engine) -> str:
    if engine.dialect.name != "postgresql":
        return ""
    with engine.connect() as conn:
        return conn.execute(text("SELECT current_schema()")).scalar_one()


def test_une_version_activee_est_suivie_par_un_autre_processus_sans_redemarrage(engine, sessions, copie, tmp_path):
    monde = construire(sessions)
    disque, modifiee = _versions(sessions, copie)
    env = dict(os.environ, CALEOL_REFERENTIEL_VERIFICATION="0", PYTHONPATH=str(RACINE))
    enfant = subprocess.Popen([sys.executable, "-c", ENFANT, engine.url.render_as_string(hide_password=False),
                               _schema(engine), str(DOSSIER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=RACINE, env=env)
    try:
        enfant.stdin.write("avant\n")
        enfant.stdin.flush()
        avant = json.loads(enfant.stdout.readline() or "null")
        assert avant == {"version": disque, "uc": 1.6}, enfant.stderr.read() if avant is None else avant

        c = _admin(engine)
        audit_avant = _nombre(sessions, "regles.activer")
        r = c.post("/admin/regles/activer", data={"version": modifiee})
        assert r.status_code == 302
        page = c.get("/admin/regles").get_data(as_text=True)
        assert f'id="version-active">{modifiee}<' in page
        assert _nombre(sessions, "regles.activer") == audit_avant + 1

        enfant.stdin.write("apres\n")
        enfant.stdin.flush()
        apres = json.loads(enfant.stdout.readline() or "null")
        assert apres == {"version": modifiee, "uc": 2.6}, apres
    finally:
        enfant.stdin.close()
        enfant.wait(timeout=60)
        enfant.stdout.close()
        enfant.stderr.close()
    # This process, another application instance, follows too: a decision records the active version and
    # its page shows it.
    autre = create_app({"ENGINE": engine, "SECRET_KEY": "x", "TESTING": True, "ENREGISTRER_VERSION_REGLES": False,
                        "WTF_CSRF_ENABLED": False, "LIMITE_CONNEXION": "1000 per minute"})
    president = autre.test_client()
    assert president.post("/connexion", data={"identifiant": "president", "mot_de_passe": MOT_DE_PASSE}).status_code == 302
    url = f"/decisions/seances/{monde.seance_id}/candidatures/{next(iter(monde.candidatures.values()))}"
    assert president.post(url + "/decision", data={"type": "attribution", "unanimite": "pour"}).status_code == 302
    with sessions() as s:
        assert s.scalars(select(Decision.version_regles)).one() == modifiee
    assert f'id="version-regles-decision">{modifiee}<' in president.get(url).get_data(as_text=True)


def _contexte(engine) -> Contexte:
    """The commands' context on the test database (its own PostgreSQL schema)."""
    contexte = Contexte("sqlite://")
    contexte.__dict__["engine"] = engine
    return contexte


def _nombre(sessions, action: str) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def test_la_version_precedente_rejoue_l_evaluation_enregistree(engine, sessions, copie, tmp_path):
    from webapp.services.evaluations import _charger_dossiers, recalculer_evaluations

    disque, modifiee = _versions(sessions, copie)
    entree = fp.dossier("1", depot="2023-02-01")
    with dbmod.transaction(sessions) as s:
        ids = fp.enregistrer(s, entree)
        recalculer_evaluations(s, DATE, ids, acteur="tests", audit=False, processus=1)
    with sessions() as s:
        ancienne = s.get(EvaluationDemande, ids[0])
        stockee = (ancienne.version_regles, ancienne.empreinte_entree, ancienne.unites_consommation, ancienne.date_evaluation)
    with sessions() as s:
        dossier = _charger_dossiers(s, ids)[0][1]  # the input of the stored evaluation, as the night reads it
    assert stockee[0] == disque

    runner = CliRunner()
    chemin = tmp_path / "dossier.json"
    chemin.write_text(DOSSIER.read_text(encoding="utf-8"), encoding="utf-8")
    sortie_avant = runner.invoke(evaluate, [str(chemin), "--date", "2026-06-15"], obj=_contexte(engine))
    assert sortie_avant.exit_code == 0 and json.loads(sortie_avant.output)["version_regles"] == disque
    assert runner.invoke(commande_activer, [modifiee], obj=_contexte(engine)).exit_code == 0, "activation"
    with dbmod.transaction(sessions) as s:  # the night's recomputation under the new version
        activation.synchroniser(s, ttl=0)
        recalculer_evaluations(s, stockee[3], ids, acteur="tests", audit=False, processus=1)
    with sessions() as s:
        nouvelle = s.get(EvaluationDemande, ids[0])
        assert nouvelle.version_regles == modifiee and nouvelle.unites_consommation != stockee[2]
        rejeu = activation.evaluer_avec_version(s, disque, dossier, None, stockee[3], trace=False)
    assert (rejeu["version_regles"], rejeu["empreinte_entree"].removeprefix("sha256:")) == stockee[:2]
    assert str(rejeu["menage"]["unites_consommation"]) == str(float(stockee[2]))
    # The command replays it too: byte for byte its output before the activation (trace included).
    rejoue = runner.invoke(evaluate, [str(chemin), "--date", "2026-06-15", "--version", disque], obj=_contexte(engine))
    assert rejoue.exit_code == 0, rejoue.output
    assert json.loads(rejoue.output)["version_regles"] == disque
    assert rejoue.output == sortie_avant.output
    activation.oublier()  # as a new command process: the files on disk until it reads the database
    actuelle = runner.invoke(evaluate, [str(chemin), "--date", "2026-06-15"], obj=_contexte(engine))
    assert json.loads(actuelle.output)["version_regles"] == modifiee
    assert json.loads(actuelle.output)["menage"]["unites_consommation"] == 2.6


@pytest.mark.parametrize("saisie, message", [
    ("", "Indiquez la version"),
    ("0.1.0-000000000000", "Version inconnue"),
])
def test_une_version_refusee_est_dite_en_francais_et_rien_n_est_ecrit(engine, sessions, copie, saisie, message):
    construire(sessions)
    _versions(sessions, copie)
    c = _admin(engine)
    audit = _nombre(sessions, "regles.activer")
    r = c.post("/admin/regles/activer", data={"version": saisie})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert message in page and 'id="err-version"' in page
    with sessions() as s:
        assert s.get(ReferentielActif, activation.ID_ACTIF) is None
    assert _nombre(sessions, "regles.activer") == audit
    cli = CliRunner().invoke(commande_activer, [saisie or " "], obj=_contexte(engine))
    assert cli.exit_code == 2 and "version" in cli.output and message in cli.output, cli.output
    rejeu = CliRunner().invoke(evaluate, [str(DOSSIER), "--version", saisie or " "], obj=_contexte(engine))
    assert rejeu.exit_code == 2 and re.search(message, rejeu.output), rejeu.output
    with sessions() as s:
        assert s.get(ReferentielActif, activation.ID_ACTIF) is None


def test_l_archive_est_reproductible_et_donne_la_version(tmp_path):
    from engine.version import version_regles

    from engine.version import DOSSIER_REGLES

    a, b = activation.archiver(), activation._archiver(DOSSIER_REGLES.resolve())  # built twice: same bytes
    assert a == b
    v = VersionRegles(version=version_regles(), archive=a, archive_empreinte=activation.empreinte(a))
    assert version_regles(activation.extraire(v)) == version_regles()
    v.archive = a[:-10] + b"0123456789"
    with pytest.raises(activation.ErreurActivation, match="altérée"):
        activation.extraire(v)


def _ce_que_lit_l_application(client, sessions, logement_id: int) -> dict:
    """What the application shows or decides from its own policies of rules/ (this process, no restart)."""
    from engine.geo import charger_territoire
    from webapp.referentiels import situations_prioritaires
    from webapp.regles import consultation
    from webapp.services import bilan, decisions, flux, offres, propositions

    notice = client.get("/notice").get_data(as_text=True)  # a request: the process checks the active version
    with sessions() as s:
        classement = [c["numero_unique"] for c in propositions.proposer(s, logement_id, DATE)["candidats"]]
    return {
        "classement": classement,
        "titre": propositions.criteres_publies()["titre"],
        # The public notice: the ranking's criteria and the CRPA texts (rules/decisions/notification.yaml).
        "notice": (bool(re.search(r"Ancienneté de la demande[^<]*— ordre décroissant", notice)),
                   "Sur demande écrite, vous seront communiqués" in notice),
        "consultation": consultation.en_vigueur(DATE)["classement"]["titre"],
        "decompte": flux.parametres_flux(DATE).decompte,
        "motif_flux": flux.charger_regles_flux().motifs["mutation_interne"],
        "periode_inconnue": bilan.periodes_construction()[1],
        "decision": decisions.referentiel().notification["traitement_algorithmique"]["titre"],
        "refus": next(iter(offres.referentiel().motifs.values())).libelle,
        "situation": situations_prioritaires()["PRIO_HANDICAP"]["libelle"],
        "epci": charger_territoire().nom_epci("200093201"),
    }


def test_apres_activation_les_politiques_de_l_application_suivent_la_version_active(engine, sessions, copie_politiques):
    """Ranking, flux, bilan, decisions, offers, referentials and territory follow an activated version
    without a restart, and come back with the previous one (engine.version.chemin_regles)."""
    from webapp.services.evaluations import recalculer_evaluations

    disque, modifiee = _versions(sessions, copie_politiques)
    with dbmod.transaction(sessions) as s:
        fp.enregistrer(s, fp.dossier("N1", depot="2024-05-02"), fp.dossier("N2", depot="2023-05-02"),
                       fp.dossier("N3", depot="2025-05-02"))
        recalculer_evaluations(s, DATE, acteur="tests")
        logement_id = fp.logement(s).id
    app = create_app({"ENGINE": engine, "SECRET_KEY": "x", "TESTING": True, "ENREGISTRER_VERSION_REGLES": False})
    client = app.test_client()

    avant = _ce_que_lit_l_application(client, sessions, logement_id)
    assert avant == {
        "classement": [fp.nu("N2"), fp.nu("N1"), fp.nu("N3")],
        "titre": "Ordre de présentation des candidats à la commission d'attribution",
        "notice": (False, False),
        "consultation": "Ordre de présentation des candidats à la commission d'attribution",
        "decompte": "orientation",
        "motif_flux": "Mutation interne",
        "periode_inconnue": "Période inconnue",
        "decision": "Information sur l'usage d'un traitement algorithmique",
        "refus": avant["refus"],
        "situation": "Personne en situation de handicap ou ménage ayant à charge une personne en situation de handicap",
        "epci": "Métropole Européenne de Lille",
    }
    assert avant["refus"] != "Motif de refus (version modifiée)"

    assert CliRunner().invoke(commande_activer, [modifiee], obj=_contexte(engine)).exit_code == 0
    apres = _ce_que_lit_l_application(client, sessions, logement_id)
    assert apres == {
        "classement": [fp.nu("N3"), fp.nu("N1"), fp.nu("N2")],
        "titre": "Ordre de présentation des candidats (version modifiée)",
        "notice": (True, True),
        "consultation": "Ordre de présentation des candidats (version modifiée)",
        "decompte": "bail_signe",
        "motif_flux": "Mutation interne (version modifiée)",
        "periode_inconnue": "Période non renseignée",
        "decision": "Usage d'un traitement algorithmique (version modifiée)",
        "refus": "Motif de refus (version modifiée)",
        "situation": "Handicap (version modifiée)",
        "epci": "MEL (version modifiée)",
    }

    # Back to the previous version: everything comes back.
    assert CliRunner().invoke(commande_activer, [disque], obj=_contexte(engine)).exit_code == 0
    assert _ce_que_lit_l_application(client, sessions, logement_id) == avant


def test_un_rejeu_ne_change_pas_la_version_des_autres_fils(engine, sessions, copie):
    """A replay by a stored version (explanation of an older evaluation, `evaluer_avec_version`) in one
    thread of a worker: the other threads of the process, serving other requests meanwhile, keep the
    active rulebook — its rules, its parameters and what the application reads of rules/."""
    import threading

    from engine.evaluation import evaluer
    from engine.version import DOSSIER_REGLES, chemin_regles, racine_active
    from webapp.schemas import charger_dossier
    from webapp.services import explication

    disque, modifiee = _versions(sessions, copie)
    dossier = charger_dossier(json.loads(DOSSIER.read_text(encoding="utf-8")))
    dans_le_rejeu, fin = threading.Event(), threading.Event()
    vu: dict[str, object] = {}

    def calcul():
        dans_le_rejeu.set()
        assert fin.wait(60)
        r = evaluer(dossier, None, DATE, trace=False)
        return r["version_regles"], r["menage"]["unites_consommation"], chemin_regles("flux").parent

    def rejeu():
        with sessions() as s:
            vu["rejeu"] = explication._avec_version(s, modifiee, calcul)
            vu["par_version"] = activation.evaluer_avec_version(s, modifiee, dossier, None, DATE, trace=False)["version_regles"]

    fil = threading.Thread(target=rejeu)
    fil.start()
    try:
        assert dans_le_rejeu.wait(60)
        # While the other thread is inside its replay:
        autre = evaluer(dossier, None, DATE, trace=False)
        vu["autre"] = (autre["version_regles"], autre["menage"]["unites_consommation"], racine_active())
    finally:
        fin.set()
        fil.join(60)
    assert vu["autre"] == (disque, 1.6, DOSSIER_REGLES)
    version, uc, racine = vu["rejeu"]
    assert (version, uc) == (modifiee, 2.6) and racine != DOSSIER_REGLES
    assert vu["par_version"] == modifiee
    assert racine_active() == DOSSIER_REGLES and evaluer(dossier, None, DATE, trace=False)["version_regles"] == disque
