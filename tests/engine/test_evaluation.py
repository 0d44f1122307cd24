"""End-to-end evaluation: scenario files (tests/engine/scenarios/regles/*.yaml) through `evaluer`.

A scenario file holds `cas`, each named by a French sentence, with optional file-level `date`,
`contexte` and `dossier_commun` (merged over the minimal dossier). A case gives `dossier` (merged
over it; lists replace), optionally `logement` (merged over a minimal dwelling) and `date`, and
`attendu`: a dotted path of the result → value, plus:
  - `priorites`: the exact set of priority codes;
  - `appliquees` / `non_appliquees`: rule ids that must (not) have applied;
  - `cotation.criteres` / `cotation.ecartes`: the criteria ids of the detail / set aside in a rubric.
Every case runs on both engines (durable_rules and the plain-Python evaluator): the two results
must be identical, trace included. Ceiling boundaries are generated from the parameter files.
"""
from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from engine.evaluation import empreinte_entree, evaluer, moteur_a_la_date
from engine.parametres import parametres_a_la_date
from engine.version import version_regles
from engine.yaml_strict import charger_yaml
from webapp.schemas import charger_dossier, charger_logement

RACINE = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).resolve().parent / "scenarios" / "regles"
SCHEMA_EVALUATION = RACINE / "rules" / "schemas" / "evaluation.schema.json"

DOSSIER_MINIMAL: dict[str, Any] = {
    "numero_unique": "0591126000001A",
    "date_depot": "2025-01-10",
    "communes_souhaitees": ["59350"],
    "contact": {"commune_insee": "59350"},
    "logement_actuel": {"modele": "LP"},
    "personnes": [
        {
            "role": "demandeur",
            "date_naissance": "1985-03-01",
            "residence_reguliere": {"declaree": True, "verifiee": None},
            "revenus_fiscaux": [{"annee": 2024, "montant": 15000}],
            "ressources": [{"sens": "recue", "code": "SAL", "montant_mensuel": 1500}],
        }
    ],
}

LOGEMENT_MINIMAL: dict[str, Any] = {
    "commune_insee": "59350",
    "qpv": None,
    "financement": "PLUS",
    "plai_adapte": False,
    "typologie": "T2",
    "nb_pieces": 2,
    "surface_habitable": 45,
    "etage": 1,
    "ascenseur": False,
    "accessible_pmr": False,
    "loyer_principal": 300,
}


def fusion(base: Any, patch: Any) -> Any:
    """Deep merge of dicts; lists and scalars of the patch replace."""
    if isinstance(base, dict) and isinstance(patch, dict):
        res = copy.deepcopy(base)
        for k, v in patch.items():
            res[k] = fusion(res.get(k), v) if isinstance(v, dict) and isinstance(res.get(k), dict) else copy.deepcopy(v)
        return res
    return copy.deepcopy(patch)


def _iso(valeur: Any) -> Any:
    if isinstance(valeur, dt.date):
        return valeur.isoformat()
    if isinstance(valeur, dict):
        return {k: _iso(v) for k, v in valeur.items()}
    if isinstance(valeur, list):
        return [_iso(v) for v in valeur]
    return valeur


def dossier_de(patch: dict[str, Any] | None = None, commun: dict[str, Any] | None = None) -> dict[str, Any]:
    brut = fusion(fusion(DOSSIER_MINIMAL, _iso(commun or {})), _iso(patch or {}))
    return charger_dossier(brut)


def logement_de(patch: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if patch is None else charger_logement(fusion(LOGEMENT_MINIMAL, patch))


@cache
def schema_evaluation() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_EVALUATION.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def verifier_contrat(resultat: dict[str, Any]) -> None:
    """JSON Schema of the contract, and the rounding rules (2 decimals for euros, 4 for fractions)."""
    schema_evaluation().validate(resultat)
    json.dumps(resultat, allow_nan=False)

    def decimales(x: Any, n: int) -> bool:
        return x is None or round(x, n) == x

    for cle in ("revenu_retenu", "revenu_annuel_par_uc"):
        assert decimales(resultat["ressources"][cle], 2), cle
    assert decimales(resultat["menage"]["unites_consommation"], 4)
    for f in ("PLAI", "PLUS", "PLS"):
        assert decimales(resultat["plafonds"][f]["plafond"], 2)
    if "adequation" in resultat:
        a = resultat["adequation"]
        assert decimales(a["taux_effort"], 4) and decimales(a["apl"], 2) and decimales(a["reste_a_vivre_par_uc_jour"], 2)


def evaluer_deux_moteurs(dossier, logement, date, **kw) -> dict[str, Any]:
    """Evaluate with durable_rules and with the plain evaluator; they must agree on everything."""
    avec_durable = evaluer(dossier, logement, date, moteur="durable", **kw)
    avec_python = evaluer(dossier, logement, date, moteur="python", **kw)
    assert avec_durable == avec_python
    return avec_durable


def valeur(resultat: dict[str, Any], chemin: str) -> Any:
    v: Any = resultat
    for morceau in chemin.split("."):
        v = v[morceau]
    return v


def _cas() -> list[Any]:
    params = []
    for fichier in sorted(SCENARIOS.glob("*.yaml")):
        contenu = charger_yaml(fichier)
        for cas in contenu["cas"]:
            params.append(pytest.param(contenu, cas, id=f"{fichier.stem} — {cas['nom']}"))
    return params


@pytest.mark.parametrize(("fichier", "cas"), _cas())
def test_scenario(fichier: dict[str, Any], cas: dict[str, Any]) -> None:
    date = cas.get("date") or fichier["date"]
    dossier = dossier_de(cas.get("dossier"), fichier.get("dossier_commun"))
    logement = logement_de(cas.get("logement"))
    resultat = evaluer_deux_moteurs(dossier, logement, date, contexte=fichier.get("contexte", "demande"))
    verifier_contrat(resultat)
    appliquees = {t["regle"] for t in resultat["trace"] if t["appliquee"]}
    for chemin, attendu in cas["attendu"].items():
        if chemin == "priorites":
            assert sorted(p["code"] for p in resultat["priorites"]) == sorted(attendu)
        elif chemin == "appliquees":
            assert set(attendu) <= appliquees
        elif chemin == "non_appliquees":
            assert not set(attendu) & appliquees
        elif chemin == "cotation.criteres":
            assert [d["critere"] for d in resultat["cotation"]["detail"]] == attendu
        elif chemin == "cotation.ecartes":
            assert [d["critere"] for d in resultat["cotation"]["ecartes"]] == attendu
        elif isinstance(attendu, list):
            assert sorted(valeur(resultat, chemin)) == sorted(attendu), chemin
        else:
            assert valeur(resultat, chemin) == attendu, chemin


# --------------------------------------------------------------------------- ceiling boundaries

COMMUNES_ZONE = {"paris_limitrophes": "75056", "idf_hors_paris": "78646", "autres_regions": "59350"}


def _menage_categorie(categorie: int, annee_rfr: int, rfr: int) -> list[dict[str, Any]]:
    """A household of `categorie` without disability or jeune ménage: 1 person; a couple aged 40 + 40;
    one adult with categorie − 2 dependants."""
    demandeur = {
        "role": "demandeur",
        "date_naissance": "1980-01-01",
        "residence_reguliere": {"declaree": True},
        "revenus_fiscaux": [{"annee": annee_rfr, "montant": rfr}],
    }
    if categorie == 1:
        return [demandeur]
    if categorie == 2:
        conjoint = {
            "role": "cotitulaire", "lien_cotitulaire": "conjoint", "date_naissance": "1980-01-01",
            "residence_reguliere": {"declaree": True}, "revenus_fiscaux": [{"annee": annee_rfr, "montant": None}],
        }
        return [demandeur, conjoint]
    enfants = [
        {"role": "personne_a_charge", "date_naissance": f"{2010 + i}-01-01", "lien_parente": "E"}
        for i in range(categorie - 2)
    ]
    return [demandeur, *enfants]


def _bornes() -> list[Any]:
    params = []
    for annee in (2025, 2026):
        for zone in COMMUNES_ZONE:
            for categorie in range(1, 7):
                for financement in ("PLAI", "PLUS", "PLS"):
                    params.append(pytest.param(annee, zone, categorie, financement, id=f"{annee}-{zone}-cat{categorie}-{financement}"))
    return params


@pytest.mark.parametrize(("annee", "zone", "categorie", "financement"), _bornes())
def test_plafond_atteint_eligible_plafond_plus_un_euro_non(annee: int, zone: str, categorie: int, financement: str) -> None:
    # RFR = plafond → éligible ; plafond + 1 € → non. Le plafond vient des fichiers de paramètres.
    date = dt.date(annee, 6, 15)
    plafond = parametres_a_la_date(date).valeur(f"plafonds.{financement.lower()}.categorie_{categorie}.{zone}")
    commune = COMMUNES_ZONE[zone]
    for rfr, eligible in ((int(plafond), True), (int(plafond) + 1, False)):
        dossier = dossier_de({
            "communes_souhaitees": [commune], "contact": {"commune_insee": commune},
            "personnes": _menage_categorie(categorie, annee - 2, rfr),
        })
        logement = logement_de({"commune_insee": commune, "financement": financement})
        r = evaluer_deux_moteurs(dossier, logement, date)
        assert r["menage"]["categorie"] == categorie
        assert r["plafonds"][financement] == {"plafond": float(plafond), "eligible": eligible}
        assert r["adequation"]["plafond_respecte"] is eligible
        assert r["recevable"] is eligible
        assert ("RESSOURCES_SUPERIEURES_AU_PLAFOND" in r["motifs_irrecevabilite"]) is not eligible


# --------------------------------------------------------------------------- contract, replay, CLI


def test_la_famille_de_lille_donne_toutes_les_cles_du_contrat() -> None:
    brut = json.loads((RACINE / "fixtures" / "dossiers" / "famille_monoparentale_lille.json").read_text(encoding="utf-8"))
    r = evaluer_deux_moteurs(charger_dossier(brut), logement_de({}), dt.date(2026, 6, 15))
    verifier_contrat(r)
    assert r["version_regles"] == version_regles()
    regles_en_vigueur = {x.id for x in moteur_a_la_date(dt.date(2026, 6, 15)).regles}
    assert regles_en_vigueur <= {t["regle"] for t in r["trace"]}
    assert all(t["explication"] for t in r["trace"])


def test_rejouer_une_evaluation_donne_le_meme_resultat() -> None:
    dossier = dossier_de({"situations": [{"code": "PRIO_MENACE_EXPULSION"}]})
    premiere = evaluer(dossier, logement_de({}), dt.date(2026, 6, 15))
    seconde = evaluer(charger_dossier(_iso(dossier)), logement_de({}), dt.date(2026, 6, 15))
    assert premiere == seconde
    assert premiere["empreinte_entree"] == empreinte_entree(dossier, logement_de({}), dt.date(2026, 6, 15), None)


def test_l_empreinte_change_avec_l_entree_ou_la_date() -> None:
    dossier = dossier_de()
    autre = dossier_de({"motifs": ["09"]})
    date = dt.date(2026, 6, 15)
    assert empreinte_entree(dossier, None, date, None) != empreinte_entree(autre, None, date, None)
    assert empreinte_entree(dossier, None, date, None) != empreinte_entree(dossier, None, dt.date(2026, 6, 16), None)


def test_la_trace_explique_en_francais_pourquoi_une_regle_ne_s_applique_pas() -> None:
    r = evaluer(dossier_de(), None, dt.date(2026, 6, 15))
    ligne = next(t for t in r["trace"] if t["regle"] == "recevabilite.ressources_au_dessus_plafond")
    assert ligne["appliquee"] is False
    assert "n'est pas supérieur à" in ligne["explication"]
    assert ligne["valeurs"]["ressources.revenu_retenu"] == 15000.0
    assert ligne["reference"]["lien"].startswith("https://www.legifrance.gouv.fr/")


def _caleol(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("caleol")), *args],
        capture_output=True, text=True, cwd=RACINE, env={"CALEOL_TODAY": "2026-06-15", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


def test_caleol_evaluate_sur_l_exemple_sne_de_2026_donne_un_dossier_incomplet() -> None:
    res = _caleol("evaluate", "fixtures/sne/exemple_interfaceNuu_v02.00.xml", "--date", "2026-03-01")
    assert res.returncode == 0, res.stderr
    r = json.loads(res.stdout)
    verifier_contrat(r)
    assert r["dossier_complet"] is False
    assert "REVENU_FISCAL_DE_REFERENCE" in r["pieces_manquantes"]
    assert r["recevable"] is not True


def test_caleol_evaluate_avec_logement(tmp_path: Path) -> None:
    logement = tmp_path / "logement.json"
    logement.write_text(json.dumps(LOGEMENT_MINIMAL), encoding="utf-8")
    res = _caleol("evaluate", "fixtures/dossiers/famille_monoparentale_lille.json", "--logement", str(logement))
    assert res.returncode == 0, res.stderr
    r = json.loads(res.stdout)
    verifier_contrat(r)
    assert r["date_evaluation"] == "2026-06-15"
    assert r["adequation"]["financement"] == "PLUS"


@pytest.mark.parametrize(
    ("contenu", "args", "attendu"),
    [
        pytest.param('{"numero_unique": "12"}', (), "numero_unique", id="numéro unique invalide"),
        pytest.param("{pas du json", (), "JSON invalide", id="JSON illisible"),
        pytest.param(None, (), "introuvable", id="fichier absent"),
        pytest.param(json.dumps(DOSSIER_MINIMAL), ("--date", "2026-13-01"), "--date", id="date invalide"),
        pytest.param(json.dumps(DOSSIER_MINIMAL), ("--logement", "absent.json"), "--logement", id="logement absent"),
    ],
)
def test_une_entree_invalide_donne_le_code_2_et_un_message_francais(tmp_path: Path, contenu, args, attendu) -> None:
    chemin = tmp_path / "dossier.json"
    if contenu is not None:
        chemin.write_text(contenu, encoding="utf-8")
    res = _caleol("evaluate", str(chemin), *args)
    assert res.returncode == 2
    assert attendu in res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""


def test_un_logement_invalide_nomme_le_champ(tmp_path: Path) -> None:
    logement = tmp_path / "logement.json"
    logement.write_text(json.dumps(fusion(LOGEMENT_MINIMAL, {"financement": "PLI"})), encoding="utf-8")
    res = _caleol("evaluate", "fixtures/dossiers/famille_monoparentale_lille.json", "--logement", str(logement))
    assert res.returncode == 2
    assert "financement" in res.stderr and "Traceback" not in res.stderr


def test_caleol_rules_check_et_show() -> None:
    res = _caleol("rules", "check")
    assert res.returncode == 0, res.stderr
    assert version_regles() in res.stdout
    res = _caleol("rules", "show", "recevabilite.ressources_au_dessus_plafond")
    assert res.returncode == 0, res.stderr
    sortie = json.loads(res.stdout)
    assert sortie["condition_durable"] == {"$and": [{"$ex": {"plafonds.applicable": 1}}, {"$gt": {"ressources.revenu_retenu": {"$m": "plafonds.applicable"}}}]}
    res = _caleol("rules", "show", "inconnue.regle_x")
    assert res.returncode == 2 and "inconnue" in res.stderr
