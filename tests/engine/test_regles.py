"""Loading the rulebook: every file checked; a defect refuses the whole rulebook, naming file, rule, field."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from engine.regles import charger_reglement, reglement
from engine.version import version_regles
from engine.yaml_strict import ErreurRegles

RULES = Path(__file__).resolve().parents[2] / "rules"


@pytest.fixture()
def copie(tmp_path: Path) -> Path:
    """A copy of rules/ as a stored version holds it: with the SNE code lists beside it (the rules are
    checked against the catalogue, lists and priority situations of their own directory)."""
    shutil.copytree(RULES, tmp_path / "rules")
    (tmp_path / "fixtures" / "sne").mkdir(parents=True)
    shutil.copy(RULES.parent / "fixtures" / "sne" / "sne_interface_code_lists_v0201.json", tmp_path / "fixtures" / "sne")
    return tmp_path / "rules"


def _remplacer(fichier: Path, avant: str, apres: str) -> None:
    texte = fichier.read_text(encoding="utf-8")
    assert avant in texte
    fichier.write_text(texte.replace(avant, apres, 1), encoding="utf-8")


def test_le_referentiel_livre_se_charge() -> None:
    regl = reglement()
    ids = [r.id for r in regl.regles]
    assert len(ids) == len(set(ids))
    assert {g.id for g in regl.grilles} == {"lyon_exemple_publie", "mel_demonstration"}
    assert all(r.reference.lien.startswith("https://") for r in regl.regles)
    codes = {r.effet["code"] for r in regl.regles if r.effet["type"] == "priorite"}
    from engine.regles import situations_prioritaires

    assert set(situations_prioritaires()) <= codes  # chaque catégorie L441-1 a sa règle
    mel = regl.grille_pour("200093201", dt.date(2026, 6, 15))
    assert mel is not None and "non officielle" in mel.titre


@pytest.mark.parametrize(
    ("fichier", "avant", "apres", "regle", "champ", "message"),
    [
        pytest.param("regles/dalo.yaml", "    titre: Décision favorable", "    titre: Doublon\n    titre: Décision favorable", None, None, "clé en double", id="clé en double"),
        pytest.param("regles/dalo.yaml", "fait: dalo.designe_prefet", "fait: dalo.designe", "dalo.designation_prefet_active", "condition.all.1.fait", "fait inconnu", id="fait inconnu"),
        pytest.param("regles/dalo.yaml", "{fait: dalo.decision_favorable, op: eq, valeur: true}\n    effet", "{fait: dalo.decision_favorable, op: eq, valeur: oui}\n    effet", "dalo.decision_favorable_active", "condition.valeur", "incompatible", id="type de valeur"),
        pytest.param("regles/dalo.yaml", "type: dalo, code: DALO}", "type: drapeau, code: DALO}", "dalo.decision_favorable_active", "effet.type", "non permise", id="effet inconnu"),
        pytest.param("regles/dalo.yaml", "id: dalo.decision_favorable_active", "id: priorite.decision_favorable_active", "priorite.decision_favorable_active", "id", "domaine", id="identifiant hors domaine"),
        pytest.param("regles/dalo.yaml", "    validite: {debut: 2020-01-01}\n    interpretation", "    interpretation", "dalo.decision_favorable_active", None, "validite", id="fenêtre manquante"),
        pytest.param("regles/dalo.yaml", "    validite: {debut: 2020-01-01}\n    interpretation", "    validite: {debut: 2020-01-01, fin: 2019-01-01}\n    interpretation", "dalo.decision_favorable_active", "validite.fin", "précède", id="fin avant début"),
        pytest.param("regles/mixite.yaml", "lien: https://", "lien: http://", "mixite.menage_premier_quartile", "reference.lien", "format", id="lien non https"),
        pytest.param("regles/mixite.yaml", "op: eq, valeur: 1}", "op: div, valeur: 1}", "mixite.menage_premier_quartile", "condition.op", "opérateur inconnu", id="division refusée"),
        pytest.param("regles/priorites.yaml", "code: PRIO_SORTIE_ACT", "code: PRIO_INVENTEE", "priorite.sortie_act_declaree", "effet.code", "référentiel", id="priorité inconnue"),
        pytest.param("cotation/lyon_exemple_publie.yaml", "    points: 5\n", "    points: cinq\n", "lyon_exemple_publie.parent_isole", "points", "type", id="points non numériques"),
        pytest.param("cotation/lyon_exemple_publie.yaml", "rubrique: famille", "rubrique: inconnue", "lyon_exemple_publie.parent_isole", "rubrique", "rubrique", id="rubrique non déclarée"),
        pytest.param("cotation/lyon_exemple_publie.yaml", 'epci: "200046977"', 'epci: "200093201"', "mel_demonstration", "validite", "deux grilles", id="deux grilles pour un EPCI"),
    ],
)
def test_un_fichier_defectueux_refuse_tout_le_referentiel(copie, fichier, avant, apres, regle, champ, message) -> None:
    _remplacer(copie / fichier, avant, apres)
    with pytest.raises(ErreurRegles) as exc:
        charger_reglement(copie)
    assert Path(exc.value.fichier).name in (Path(fichier).name, "mel_demonstration.yaml")
    assert exc.value.regle == regle
    assert exc.value.champ == champ
    assert message in str(exc.value)


def test_un_identifiant_defini_deux_fois_est_refuse(copie) -> None:
    texte = (copie / "regles" / "mixite.yaml").read_text(encoding="utf-8")
    (copie / "regles" / "mixite_bis.yaml").write_text(texte, encoding="utf-8")
    with pytest.raises(ErreurRegles, match="déjà défini"):
        charger_reglement(copie)


def test_la_version_change_quand_un_fichier_change(copie) -> None:
    avant = version_regles(copie)
    assert avant == version_regles(copie)
    _remplacer(copie / "regles" / "mixite.yaml", "Ménage du premier quartile", "Ménage au premier quartile")
    apres = version_regles(copie)
    assert apres != avant
    assert apres.startswith("0.1.0-") and len(apres.split("-")[1]) == 12


def test_une_regle_hors_de_sa_fenetre_n_est_pas_en_vigueur(copie) -> None:
    _remplacer(copie / "regles" / "mixite.yaml", "validite: {debut: 2020-01-01}", "validite: {debut: 2020-01-01, fin: 2024-12-31}")
    regl = charger_reglement(copie)
    assert "mixite.menage_premier_quartile" in {r.id for r in regl.regles_en_vigueur(dt.date(2024, 12, 31))}
    assert "mixite.menage_premier_quartile" not in {r.id for r in regl.regles_en_vigueur(dt.date(2025, 1, 1))}
    assert dt.date(2025, 1, 1) in regl.bornes()


def test_une_version_se_verifie_avec_ses_propres_situations_listes_et_catalogue(copie) -> None:
    """A stored version that adds a priority situation and the rule granting it loads, checked against
    its own referentials (catalogue of facts, SNE lists, situations), while the checkout's rulebook and
    lists stay as they are; the derivation of that version knows the new situation."""
    from engine.conditions import catalogue
    from engine.derivations import codes_situations
    from engine.regles import listes_sne, situations_prioritaires
    from engine.version import racine_temporaire

    situations = copie / "referentiels" / "situations_prioritaires.yaml"
    situations.write_text(situations.read_text(encoding="utf-8") + (
        "  PRIO_ESSAI:\n    libelle: Situation d'essai\n    lettre: z\n    lettre_a_verifier: true\n    sensible: false\n"),
        encoding="utf-8")
    regles = copie / "regles" / "priorites.yaml"
    regles.write_text(regles.read_text(encoding="utf-8") + (
        "- id: priorite.situation_essai\n  titre: Situation d'essai\n  reference:\n    titre: CCH, art. L441-1\n"
        "    lien: https://www.legifrance.gouv.fr/codes/texte_lc/LEGITEXT000006074096/\n"
        "  validite:\n    debut: '2020-01-01'\n"
        "  condition: {fait: situations.PRIO_ESSAI, op: eq, valeur: true}\n"
        "  effet:\n    type: priorite\n    code: PRIO_ESSAI\n"), encoding="utf-8")

    regl = charger_reglement(copie)
    assert "priorite.situation_essai" in {r.id for r in regl.regles}
    with racine_temporaire(copie):
        assert "PRIO_ESSAI" in codes_situations() and "PRIO_ESSAI" in situations_prioritaires()
        assert catalogue().definition("situations.PRIO_ESSAI") is not None
        assert listes_sne()["ListeMotifDemande"]  # read beside the copy (fixtures/sne of the version)
    # Outside the block: the checkout's referentials, unchanged.
    assert "PRIO_ESSAI" not in codes_situations() and "PRIO_ESSAI" not in situations_prioritaires()
    assert catalogue().definition("situations.PRIO_ESSAI") is None
    assert "priorite.situation_essai" not in {r.id for r in reglement().regles}
