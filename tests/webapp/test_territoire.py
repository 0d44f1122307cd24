"""Espace territoire: the quota dashboard of an EPCI, read-only, per year."""
from __future__ import annotations

import re

import pytest

from webapp.services.quotas import quotas
from webapp.tableau import donnees

from .demo_espaces import BAILLEUR, DATE, application, charger, client_de

MEL = "200093201"
AMIENS = "248000531"


@pytest.fixture
def demo(sessions):
    charger(sessions)


def lignes(page: str) -> dict[str, tuple[str, ...]]:
    """Indicator code → the text of its row's cells (numerator, denominator, rate, target, status)."""
    resultat = {}
    for m in re.finditer(r'<tr id="ligne-([^"]+)"><th scope="row">.*?</th>(.*?)</tr>', page, flags=re.S):
        resultat[m.group(1)] = tuple(re.sub(r"<[^>]+>", "", c).replace("\u202f", " ").replace("&#39;", "'")
                                     for c in re.findall(r"<td[^>]*>(.*?)</td>", m.group(2), flags=re.S))
    return resultat


def test_chaque_role_et_chaque_organisation(engine, demo):
    attendus = {**{u: 403 for u in BAILLEUR}, "reservataire.al": 403, "lecteur.al": 403, "epci.mel": 200, "etat.ddets": 200}
    for identifiant, code in attendus.items():
        c = client_de(engine, identifiant)
        assert c.get("/territoire").status_code == code, identifiant
        assert c.get("/territoire?annee=2025").status_code == code, identifiant
        # Read-only: no form posts here.
        assert c.post("/territoire", data={}).status_code == 405
    # An EPCI's user cannot read another EPCI; the État chooses among them.
    assert client_de(engine, "epci.mel").get(f"/territoire?epci={AMIENS}").status_code == 404
    assert client_de(engine, "etat.ddets").get(f"/territoire?epci={AMIENS}").status_code == 200
    r = application(engine).test_client().get("/territoire")
    assert r.status_code == 302 and "/connexion" in r.headers["Location"]


@pytest.mark.parametrize("annee", [2025, 2026])
def test_chaque_indicateur_montre_les_chiffres_du_service_des_quotas(engine, demo, sessions, annee):
    page = client_de(engine, "epci.mel").get(f"/territoire?annee={annee}").get_data(as_text=True)
    with sessions() as s:
        q = quotas(s, MEL, annee, DATE)
    vues = lignes(page)
    assert len(vues) == len(q["indicateurs"]) >= 5
    assert any(i["denominateur"] for i in q["indicateurs"] if i["code"] != "logement_d_abord")
    for i in q["indicateurs"]:
        j = donnees.jauge(i)
        numerateur, denominateur, taux, cible, statut = vues[i["code"].replace(".", "-")]
        assert (int(numerateur), int(denominateur)) == (i["numerateur"], i["denominateur"])
        assert (taux, cible, statut) == (j["taux_texte"].replace("\u202f", " "), j["cible_texte"].replace("\u202f", " "),
                                         j["statut_libelle"])
    assert f'<strong id="nb-attributions">{q["attributions"]}</strong>' in page
    assert q["version_regles"] in page
    assert f'<option value="{annee}" selected>' in page


def test_l_etat_choisit_l_epci_et_voit_ses_chiffres(engine, demo, sessions):
    page = client_de(engine, "etat.ddets").get(f"/territoire?epci={AMIENS}&annee=2025").get_data(as_text=True)
    with sessions() as s:
        q = quotas(s, AMIENS, 2025, DATE)
    assert q["nom_epci"] in page
    vues = lignes(page)
    assert {k: (int(v[0]), int(v[1])) for k, v in vues.items()} == {
        i["code"].replace(".", "-"): (i["numerateur"], i["denominateur"]) for i in q["indicateurs"]}


@pytest.mark.parametrize("valeur", ["1990", "2031", "deux-mille", "<script>"])
def test_une_annee_hors_liste_donne_un_message_francais(engine, demo, valeur):
    r = client_de(engine, "epci.mel").get("/territoire", query_string={"annee": valeur})
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "Année : choisissez une année entre" in page
    assert "<script>" not in page.split("<main", 1)[1]


def test_un_epci_inconnu_choisi_par_l_etat_est_refuse_en_francais(engine, demo):
    r = client_de(engine, "etat.ddets").get("/territoire", query_string={"epci": "<b>123</b>"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "EPCI : choisissez un EPCI de la liste." in page
    assert "<b>123</b>" not in page
