"""Derivations: scenario files (tests/engine/scenarios/derivations/*.yaml) and a few direct checks.

A scenario file holds `cas`, each named by a French sentence, with optional file-level `date`.
A case gives:
  - `dossier`: merged over a minimal valid dossier (lists replace), then loaded by the real
    dossier schema (so the engine sees exactly what the application gives it);
  - `logement` (merged over a minimal dwelling) and `aide_logement` {montant_mensuel, source};
  - `attendu`: fact path → value (`~absent` for a fact that must be absent);
  - `derivation`: attribute path of the `Derivation` → value (typed results outside the facts);
  - `sous_plafond`: financing → whether `ressources.revenu_retenu` is within that ceiling;
  - `a_verifier_contient` / `a_verifier_absent`: « à vérifier » parameters read or not;
  - `pieces_manquantes`: the exact list;
  - `commune_zone`: INSEE code → zone, checked with `engine.geo.zone_plafonds`.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.derivations import (
    AideLogement,
    age_revolu,
    ajouter_mois,
    deriver,
    mois_entiers,
    respecte_plafond,
)
from engine.geo import zone_plafonds
from engine.parametres import parametres_a_la_date
from engine.yaml_strict import charger_yaml
from webapp.schemas import charger_dossier, charger_logement

RACINE = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).resolve().parent / "scenarios" / "derivations"
ABSENT = "~absent"

DOSSIER_BASE: dict[str, Any] = {
    "numero_unique": "0591126000001A",
    "date_depot": "2025-01-10",
    "communes_souhaitees": ["59350"],
    "contact": {"commune_insee": "59350"},
    "personnes": [
        {
            "role": "demandeur",
            "date_naissance": "1985-03-01",
            "residence_reguliere": {"declaree": True, "verifiee": None},
            "revenus_fiscaux": [],
        }
    ],
}

LOGEMENT_BASE: dict[str, Any] = {
    "commune_insee": "59350",
    "qpv": None,
    "financement": "PLUS",
    "typologie": "T3",
    "nb_pieces": 3,
    "surface_habitable": 65,
    "etage": 2,
    "ascenseur": True,
    "accessible_pmr": False,
    "loyer_principal": 400,
}


def _fusion(base: Any, ajout: Any) -> Any:
    if isinstance(base, dict) and isinstance(ajout, dict):
        resultat = dict(base)
        for cle, valeur in ajout.items():
            resultat[cle] = _fusion(base.get(cle), valeur) if cle in base else valeur
        return resultat
    return ajout


def _json_compatible(valeur: Any) -> Any:
    """YAML gives dates as date objects: the dossier format expects ISO strings."""
    return json.loads(json.dumps(valeur, default=lambda v: v.isoformat()))


def _lire(chemin: str, source: Any) -> Any:
    valeur = source
    for segment in chemin.split("."):
        if isinstance(valeur, dict):
            if segment not in valeur:
                return ABSENT
            valeur = valeur[segment]
        else:
            if not hasattr(valeur, segment):
                return ABSENT
            valeur = getattr(valeur, segment)
    return valeur


def _egal(obtenu: Any, attendu: Any) -> bool:
    if isinstance(obtenu, bool) or isinstance(attendu, bool):
        return obtenu is attendu
    if isinstance(attendu, int | float) and isinstance(obtenu, int | float | Decimal):
        return Decimal(str(obtenu)) == Decimal(str(attendu))
    if isinstance(obtenu, tuple):
        obtenu = list(obtenu)
    if isinstance(obtenu, dict) and isinstance(attendu, dict):
        return obtenu.keys() == attendu.keys() and all(_egal(obtenu[k], attendu[k]) for k in obtenu)
    if isinstance(obtenu, list) and isinstance(attendu, list):
        return len(obtenu) == len(attendu) and all(_egal(o, a) for o, a in zip(obtenu, attendu, strict=True))
    return obtenu == attendu


def _cas() -> list[Any]:
    params = []
    for fichier in sorted(SCENARIOS.glob("*.yaml")):
        contenu = charger_yaml(fichier)
        date_fichier = contenu.get("date")
        noms = set()
        for cas in contenu["cas"]:
            assert cas["nom"] not in noms, f"{fichier.name} : cas en double « {cas['nom']} »"
            noms.add(cas["nom"])
            params.append(pytest.param(cas, cas.get("date", date_fichier), id=f"{fichier.stem} — {cas['nom']}"))
    return params


@pytest.mark.parametrize(("cas", "date"), _cas())
def test_scenario(cas, date):
    assert isinstance(date, dt.date), "chaque cas (ou son fichier) fixe sa date"
    dossier = charger_dossier(_json_compatible(_fusion(copy.deepcopy(DOSSIER_BASE), cas.get("dossier", {}))))
    logement = None
    if "logement" in cas:
        logement = charger_logement(_json_compatible(_fusion(copy.deepcopy(LOGEMENT_BASE), cas["logement"] or {})))
    aide = None
    if "aide_logement" in cas:
        aide = AideLogement(Decimal(str(cas["aide_logement"]["montant_mensuel"])), cas["aide_logement"]["source"])
    resultat = deriver(dossier, logement, date, aide_logement=aide)

    erreurs = []
    for chemin, attendu in (cas.get("attendu") or {}).items():
        obtenu = _lire(chemin, resultat.faits)
        if not _egal(obtenu, attendu):
            erreurs.append(f"fait {chemin} : attendu {attendu!r}, obtenu {obtenu!r}")
    for chemin, attendu in (cas.get("derivation") or {}).items():
        obtenu = _lire(chemin, resultat)
        if not _egal(obtenu, attendu):
            erreurs.append(f"dérivation {chemin} : attendu {attendu!r}, obtenu {obtenu!r}")
    for financement, attendu in (cas.get("sous_plafond") or {}).items():
        revenu = resultat.ressources.revenu_retenu
        plafond = resultat.plafonds.par_financement[financement]
        if revenu is None or respecte_plafond(revenu, plafond) is not attendu:
            erreurs.append(f"{financement} : revenu {revenu} et plafond {plafond}, sous le plafond attendu {attendu}")
    for chemin in cas.get("a_verifier_contient") or ():
        if chemin not in resultat.parametres_a_verifier:
            erreurs.append(f"paramètre à vérifier non listé : {chemin} (liste : {resultat.parametres_a_verifier})")
    for chemin in cas.get("a_verifier_absent") or ():
        if chemin in resultat.parametres_a_verifier:
            erreurs.append(f"paramètre à vérifier listé à tort : {chemin}")
    if "pieces_manquantes" in cas and list(resultat.pieces_manquantes) != cas["pieces_manquantes"]:
        erreurs.append(f"pièces manquantes : attendu {cas['pieces_manquantes']}, obtenu {list(resultat.pieces_manquantes)}")
    for commune, zone in (cas.get("commune_zone") or {}).items():
        obtenue = zone_plafonds(str(commune), parametres_a_la_date(date))
        if obtenue != zone:
            erreurs.append(f"zone de {commune} : attendu {zone}, obtenu {obtenue}")
    assert not erreurs, "\n".join(erreurs)


# --- direct checks ------------------------------------------------------------------------------------

def test_l_age_est_en_annees_revolues_a_la_date():
    assert age_revolu(dt.date(2012, 6, 15), dt.date(2026, 6, 15)) == 14  # anniversaire le jour même
    assert age_revolu(dt.date(2012, 6, 16), dt.date(2026, 6, 15)) == 13  # la veille de ses 14 ans
    assert age_revolu(dt.date(2008, 2, 29), dt.date(2026, 2, 28)) == 17  # né un 29 février : le 1er mars
    assert age_revolu(dt.date(2008, 2, 29), dt.date(2026, 3, 1)) == 18


def test_l_anciennete_compte_des_mois_entiers():
    assert mois_entiers(dt.date(2025, 1, 31), dt.date(2025, 2, 28)) == 0
    assert mois_entiers(dt.date(2025, 1, 15), dt.date(2025, 2, 15)) == 1
    assert mois_entiers(dt.date(2025, 1, 15), dt.date(2026, 1, 14)) == 11
    assert mois_entiers(dt.date(2026, 1, 15), dt.date(2025, 1, 14)) == 0  # dépôt postérieur : zéro
    assert ajouter_mois(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert ajouter_mois(dt.date(2025, 12, 31), 2) == dt.date(2026, 2, 28)


def test_le_plafond_est_respecte_a_l_euro_pres():
    assert respecte_plafond(Decimal("23403"), Decimal("23403"))
    assert not respecte_plafond(Decimal("23404"), Decimal("23403"))
    assert not respecte_plafond(Decimal("23403.01"), Decimal("23403"))


def _types_json(valeur: Any, chemin: str = "") -> list[str]:
    if isinstance(valeur, dict):
        problemes = []
        for cle, v in valeur.items():
            if cle in ("id", "sid", "kind"):
                problemes.append(f"{chemin}{cle} : nom réservé")
            problemes += _types_json(v, f"{chemin}{cle}.")
        return problemes
    if isinstance(valeur, list):
        return [p for v in valeur for p in _types_json(v, chemin)]
    if valeur is None or not isinstance(valeur, str | int | float | bool):
        return [f"{chemin[:-1]} : {type(valeur).__name__}"]
    return []


def test_les_faits_ne_contiennent_que_des_types_json_sans_none():
    exemple = json.loads((RACINE / "fixtures" / "dossiers" / "famille_monoparentale_lille.json").read_text("utf-8"))
    dossier = charger_dossier(exemple)
    logement = charger_logement(LOGEMENT_BASE)
    resultat = deriver(dossier, logement, dt.date(2026, 6, 15))
    assert _types_json(resultat.faits) == []
    assert json.loads(json.dumps(resultat.faits)) == resultat.faits


def test_les_faits_derives_sont_au_catalogue():
    """Every fact produced is declared in rules/schemas/faits.yaml (the machine-readable FAITS.md)."""
    catalogue = charger_yaml(RACINE / "rules" / "schemas" / "faits.yaml")["faits"]
    exemple = json.loads((RACINE / "fixtures" / "dossiers" / "famille_monoparentale_lille.json").read_text("utf-8"))
    resultat = deriver(charger_dossier(exemple), charger_logement(LOGEMENT_BASE), dt.date(2026, 6, 15))

    def chemins(d: dict, prefixe: str = "") -> list[str]:
        sortie = []
        for cle, v in d.items():
            if isinstance(v, dict):
                sortie += chemins(v, f"{prefixe}{cle}.")
            else:
                sortie.append(f"{prefixe}{cle}")
        return sortie

    inconnus = [c for c in chemins(resultat.faits) if c not in catalogue and f"{c.rsplit('.', 1)[0]}.*" not in catalogue]
    assert inconnus == []


def test_chaque_resultat_type_porte_tous_ses_champs_comme_s_il_sortait_de_son_constructeur():
    """The results are built by `_figer` (their __dict__ filled at once): every field is there, and
    each object equals, hashes and prints like the one its frozen-dataclass constructor builds."""
    exemple = json.loads((RACINE / "fixtures" / "dossiers" / "famille_monoparentale_lille.json").read_text("utf-8"))
    resultat = deriver(charger_dossier(exemple), charger_logement(LOGEMENT_BASE), dt.date(2026, 6, 15))
    objets = [resultat, resultat.menage, resultat.localisation, resultat.ressources, resultat.plafonds,
              resultat.adequation, *resultat.menage.personnes]
    assert len(resultat.menage.personnes) >= 2
    for objet in objets:
        noms = [f.name for f in dataclasses.fields(objet)]
        assert list(vars(objet)) == noms, type(objet).__name__
        construit = type(objet)(**vars(objet))
        assert construit == objet and repr(construit) == repr(objet)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(objet, noms[0], None)
    assert hash(resultat.menage) == hash(type(resultat.menage)(**vars(resultat.menage)))


def test_des_parametres_d_une_autre_date_sont_refuses():
    dossier = charger_dossier(_json_compatible(DOSSIER_BASE))
    with pytest.raises(ValueError, match="Paramètres au 2025-06-15"):
        deriver(dossier, None, dt.date(2026, 6, 15), parametres_a_la_date(dt.date(2025, 6, 15)))


def test_la_derivation_ne_modifie_pas_le_dossier():
    dossier = charger_dossier(_json_compatible(DOSSIER_BASE))
    avant = copy.deepcopy(dossier)
    deriver(dossier, None, dt.date(2026, 6, 15))
    assert dossier == avant


def test_le_moteur_n_importe_ni_flask_ni_sqlalchemy_ni_webapp_ni_durable():
    code = (
        "import sys, engine.derivations, engine.parametres, engine.geo\n"
        "interdits = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'webapp', 'durable', 'marshmallow')]\n"
        "print(interdits); sys.exit(1 if interdits else 0)\n"
    )
    sortie = subprocess.run([sys.executable, "-c", code], cwd=RACINE, capture_output=True, text=True)
    assert sortie.returncode == 0, sortie.stdout + sortie.stderr


# --- properties over generated households -----------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_COMMUNES = ["59350", "80021", "59183", "59036", "92012", "75115", "95018", "2A004", "97411"]
_DATE = dt.date(2026, 6, 15)


@st.composite
def _dossiers(draw: st.DrawFn) -> dict[str, Any]:
    def naissance(age_min: int, age_max: int) -> str:
        jours = draw(st.integers(age_min * 366, age_max * 365 + 364))
        return (_DATE - dt.timedelta(days=jours)).isoformat()

    def revenus(avis: str | None, nul: bool) -> list[dict[str, Any]]:
        annees = draw(st.sets(st.sampled_from([2023, 2024, 2025]), max_size=3))
        return [
            {"annee": a, "montant": None if nul else draw(st.integers(0, 90000)), "avis": avis and f"{avis}-{a}"}
            for a in sorted(annees)
        ]

    def ressources() -> list[dict[str, Any]]:
        return draw(st.lists(st.fixed_dictionaries({
            "sens": st.just("recue"), "code": st.sampled_from(["SAL", "AF", "CHO", "RSA"]),
            "montant_mensuel": st.integers(0, 300000).map(lambda c: c / 100),
        }), max_size=2)) + draw(st.lists(st.fixed_dictionaries({
            "sens": st.just("versee"), "code": st.just("PAV"), "montant_mensuel": st.integers(0, 50000).map(lambda c: c / 100),
        }), max_size=1))

    procedures = {k: draw(st.booleans()) for k in ("divorce", "dissolution_pacs", "ordonnance_protection")}
    personnes: list[dict[str, Any]] = [{
        "role": "demandeur", "date_naissance": naissance(16, 90), "mineur_emancipe": draw(st.booleans()),
        "handicap": {"cmi_invalidite": draw(st.booleans())},
        "residence_reguliere": {"declaree": draw(st.sampled_from([True, False, None])), "verifiee": draw(st.sampled_from([True, False, None]))},
        "revenus_fiscaux": revenus("A", False), "ressources": ressources(), "procedures": procedures,
        "ressources_12_mois": draw(st.one_of(st.none(), st.integers(0, 90000))),
    }]
    if draw(st.booleans()):
        lien = draw(st.sampled_from(["conjoint", "pacse", "concubin", "colocataire"]))
        commun = lien in ("conjoint", "pacse") and draw(st.booleans())
        personnes.append({
            "role": "cotitulaire", "lien_cotitulaire": lien, "date_naissance": naissance(18, 90),
            "handicap": {"cmi_invalidite": draw(st.booleans())},
            "revenus_fiscaux": revenus("A" if commun else "B", commun), "ressources": ressources(),
        })
    for role in draw(st.lists(st.sampled_from(
        ["personne_a_charge", "enfant_garde_alternee", "enfant_droit_visite", "enfant_a_naitre"]), max_size=8)):
        if role == "enfant_a_naitre":
            personnes.append({"role": role, "date_naissance_prevue": "2026-10-01"})
        else:
            personnes.append({"role": role, "lien_parente": "E", "date_naissance": naissance(0, 25),
                              "handicap": {"cmi_invalidite": draw(st.booleans())}})
    return {
        "numero_unique": "0591126000009Z",
        "date_depot": naissance(0, 9),
        "communes_souhaitees": draw(st.lists(st.sampled_from(_COMMUNES), max_size=3, unique=True)),
        "contact": {"commune_insee": draw(st.sampled_from([None, *_COMMUNES]))},
        "aide_logement_declaree": draw(st.one_of(st.none(), st.integers(0, 800))),
        "logement_actuel": {"surface": draw(st.one_of(st.none(), st.integers(5, 150))), "loyer_mensuel": draw(st.one_of(st.none(), st.integers(0, 1500)))},
        "personnes": personnes,
    }


_LOGEMENTS = st.one_of(st.none(), st.fixed_dictionaries({
    "commune_insee": st.sampled_from(_COMMUNES), "qpv": st.sampled_from([None, "QN05905M"]),
    "financement": st.sampled_from(["PLAI", "PLUS", "PLS"]), "typologie": st.just("T3"),
    "nb_pieces": st.integers(1, 7), "surface_habitable": st.integers(9, 140), "etage": st.integers(0, 10),
    "ascenseur": st.booleans(), "accessible_pmr": st.booleans(), "loyer_principal": st.integers(100, 1200),
    "charges_recuperables": st.integers(0, 200),
}))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(brut=_dossiers(), logement_brut=_LOGEMENTS)
def test_aucun_menage_genere_ne_fait_echouer_les_derivations(brut, logement_brut):
    dossier = charger_dossier(brut)
    logement = charger_logement(logement_brut) if logement_brut else None
    resultat = deriver(dossier, logement, _DATE)
    menage = resultat.menage
    assert 1 <= menage.categorie <= 6 and menage.personnes_supplementaires >= 0
    assert menage.personnes_supplementaires == 0 or menage.categorie == 6
    assert menage.nb_personnes >= 1 and menage.unites_consommation >= 1
    assert _types_json(resultat.faits) == []
    r = resultat.ressources
    assert (r.revenu_retenu is not None) is r.complet is (not r.pieces_manquantes)
    if r.complet:
        assert r.revenu_retenu <= r.revenu_n2
    if resultat.plafonds.par_financement:
        plafonds = resultat.plafonds.par_financement
        assert plafonds["PLAI"] <= plafonds["PLUS"] <= plafonds["PLS"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(brut=_dossiers(), hausse=st.integers(1, 20000))
def test_augmenter_chaque_annee_du_meme_montant_n_abaisse_jamais_le_revenu_retenu(brut, hausse):
    avant = deriver(charger_dossier(brut), None, _DATE)
    for personne in brut["personnes"]:
        for ligne in personne.get("revenus_fiscaux", ()):
            if ligne["montant"] is not None:
                ligne["montant"] += hausse
        if personne.get("ressources_12_mois") is not None:
            personne["ressources_12_mois"] += hausse
    apres = deriver(charger_dossier(brut), None, _DATE)
    assert apres.ressources.complet is avant.ressources.complet
    if avant.ressources.complet:
        assert apres.ressources.revenu_retenu >= avant.ressources.revenu_retenu
    assert apres.plafonds == avant.plafonds
