"""Espace réservataire: share of the flux, oriented logements, designation before the deadline, bilan."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from webapp.models import (
    AuditEntry,
    Demande,
    Designation,
    OrientationFlux,
    Reservataire,
    StatutDemande,
    StatutOrientation,
    Utilisateur,
)
from webapp.services.bilan import bilan_annuel, en_csv
from webapp.services.flux import compteurs
from webapp.tableau import donnees

from .demo_espaces import BAILLEUR, DATE, application, charger, client_de, jeton

APRES_DELAI = "2026-07-16"


@pytest.fixture
def demo(sessions):
    charger(sessions)


def reservataire(s, type_: str, nom: str | None = None) -> Reservataire:
    stmt = select(Reservataire).where(Reservataire.type == type_)
    if nom:
        stmt = stmt.where(Reservataire.nom.like(f"{nom}%"))
    return s.scalars(stmt).one()


def orientation_de(s, reservataire_id: int) -> OrientationFlux:
    return s.scalars(
        select(OrientationFlux).where(OrientationFlux.reservataire_id == reservataire_id,
                                      OrientationFlux.statut == StatutOrientation.EN_ATTENTE,
                                      OrientationFlux.date_orientation == DATE)
        .order_by(OrientationFlux.id)
    ).first()


def numeros_actifs(s, n: int, *, sauf=()) -> list[str]:
    return list(s.scalars(select(Demande.numero_unique).where(Demande.statut == StatutDemande.ACTIVE,
                                                              Demande.numero_unique.not_in(list(sauf) or [""]))
                          .order_by(Demande.id).limit(n)))


def etat_ecrit(s, orientation_id: int) -> tuple[int, int, str]:
    return (
        s.scalar(select(func.count(Designation.id)).where(Designation.orientation_id == orientation_id)),
        s.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "flux.designer")),
        str(s.get(OrientationFlux, orientation_id).statut),
    )


@pytest.fixture
def ids(demo, sessions):
    with sessions() as s:
        al = reservataire(s, "action_logement")
        mel = reservataire(s, "collectivite", "Métropole Européenne de Lille")
        etat = reservataire(s, "etat_prioritaires")
        return {
            "al": al.id,
            "o_al": orientation_de(s, al.id).id,
            "o_mel": orientation_de(s, mel.id).id,
            "o_etat": orientation_de(s, etat.id).id,
        }


def test_chaque_route_pour_chaque_role_et_chaque_organisation(engine, ids, sessions):
    o_al, o_mel = ids["o_al"], ids["o_mel"]
    routes = ["/reservataire", f"/reservataire/orientations/{o_al}", f"/reservataire/orientations/{o_mel}",
              "/reservataire/bilan/2025.html", "/reservataire/bilan/2026.csv"]
    attendus = {
        **{u: [403, 403, 403, 403, 403] for u in BAILLEUR},
        "reservataire.al": [200, 200, 404, 200, 200],
        "lecteur.al": [200, 200, 404, 200, 200],
        # The MEL holds its collectivité réservataire; the État its contingents.
        "epci.mel": [200, 404, 200, 200, 200],
        "etat.ddets": [200, 404, 404, 200, 200],
    }
    for identifiant, codes in attendus.items():
        c = client_de(engine, identifiant)
        for url, code in zip(routes, codes, strict=True):
            assert c.get(url).status_code == code, (identifiant, url)
        # Designating: only a chargé(e) d'attribution of the orientation's réservataire.
        poste = c.post(f"/reservataire/orientations/{o_al}", data={"rang_1": ""})
        attendu = {"reservataire.al": 422, "lecteur.al": 403}.get(identifiant, 403 if identifiant in BAILLEUR else 403)
        assert poste.status_code == attendu, (identifiant, "POST")
    assert client_de(engine, "reservataire.al").get("/reservataire/orientations/999999").status_code == 404
    assert client_de(engine, "reservataire.al").get("/reservataire/bilan/1999.html").status_code == 404
    assert client_de(engine, "reservataire.al").get("/reservataire/bilan/2030.html").status_code == 404
    anonyme = application(engine).test_client()
    for url in routes:
        r = anonyme.get(url)
        assert r.status_code == 302 and "/connexion" in r.headers["Location"]
    assert anonyme.post(f"/reservataire/orientations/{o_al}", data={}).status_code == 302
    with sessions() as s:
        assert etat_ecrit(s, o_al) == (0, 0, "en_attente")


def test_le_reservataire_designe_trois_demandes_classees_avant_la_date_limite(engine, ids, sessions):
    o = ids["o_al"]
    with sessions() as s:
        numeros = numeros_actifs(s, 3)
        limite = s.get(OrientationFlux, o).date_limite_designation
    c = client_de(engine, "reservataire.al")
    page = c.get(f"/reservataire/orientations/{o}").get_data(as_text=True)
    assert limite.strftime("%d/%m/%Y") in page and 'name="rang_3"' in page and 'name="rang_4"' not in page
    r = c.post(f"/reservataire/orientations/{o}", data={"rang_1": numeros[0].lower(), "rang_2": numeros[1], "rang_3": numeros[2]})
    assert r.status_code == 302
    with sessions() as s:
        designations = s.scalars(select(Designation).where(Designation.orientation_id == o).order_by(Designation.rang)).all()
        assert [(d.rang, d.demande.numero_unique) for d in designations] == list(enumerate(numeros, start=1))
        al = s.scalars(select(Utilisateur).where(Utilisateur.identifiant == "reservataire.al")).one()
        assert all(d.designe_par_id == al.id and d.date_designation == DATE for d in designations)
        assert s.get(OrientationFlux, o).statut == StatutOrientation.DESIGNEE
        audits = s.scalars(select(AuditEntry).where(AuditEntry.action == "flux.designer")).all()
        assert len(audits) == 1 and audits[0].acteur == "reservataire.al" and audits[0].objet_id == str(o)
    page = c.get(f"/reservataire/orientations/{o}").get_data(as_text=True)
    assert all(n in page for n in numeros) and "Tous les candidats ont été désignés" in page
    assert 'name="rang_1"' not in page
    # Every place is taken: a further designation is refused and writes nothing.
    with sessions() as s:
        autre = numeros_actifs(s, 1, sauf=numeros)[0]
        avant = etat_ecrit(s, o)
    r = c.post(f"/reservataire/orientations/{o}", data={"rang_4": autre})
    assert r.status_code == 422 and "Tous les candidats ont déjà été désignés" in r.get_data(as_text=True)
    with sessions() as s:
        assert etat_ecrit(s, o) == avant


def test_une_designation_partielle_laisse_les_places_suivantes(engine, ids, sessions):
    o = ids["o_al"]
    with sessions() as s:
        premier, second = numeros_actifs(s, 2)
    c = client_de(engine, "reservataire.al")
    assert c.post(f"/reservataire/orientations/{o}", data={"rang_1": premier, "rang_2": "", "rang_3": ""}).status_code == 302
    page = c.get(f"/reservataire/orientations/{o}").get_data(as_text=True)
    assert 'name="rang_1"' not in page and 'name="rang_2"' in page and 'name="rang_3"' in page
    assert c.post(f"/reservataire/orientations/{o}", data={"rang_2": second}).status_code == 302
    with sessions() as s:
        assert [(d.rang, d.demande.numero_unique) for d in
                s.scalars(select(Designation).where(Designation.orientation_id == o).order_by(Designation.rang))] == [
            (1, premier), (2, second)]
        assert s.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "flux.designer")) == 2


@pytest.mark.parametrize(
    ("saisie", "message"),
    [
        ({"rang_1": "", "rang_2": "", "rang_3": ""}, "Rang 1 : saisissez au moins le numéro unique"),
        ({"rang_1": "0599999999999Z"}, "Rang 1 : aucune demande n° 0599999999999Z."),
        ({"rang_1": "pas un numéro"}, "Rang 1 : numéro unique invalide"),
        ({"rang_1": "", "rang_2": "{n0}"}, "Rang 1 : saisissez un numéro unique avant de remplir le rang 2"),
        ({"rang_1": "{n0}", "rang_2": "{n0}"}, "Rang 2 : la demande {n0} est déjà saisie au rang 1."),
        ({"rang_1": "{n0}", "rang_2": "{radiee}"}, "Rang 2 : la demande {radiee} n'est pas active"),
    ],
)
def test_une_saisie_refusee_nomme_le_champ_en_francais_et_n_ecrit_rien(engine, ids, sessions, saisie, message):
    o = ids["o_al"]
    with sessions() as s:
        n0 = numeros_actifs(s, 1)[0]
        radiee = s.scalars(select(Demande.numero_unique).where(Demande.statut != StatutDemande.ACTIVE).order_by(Demande.id)).first()
        assert radiee
        avant = etat_ecrit(s, o)
    valeurs = {k: v.format(n0=n0, radiee=radiee) for k, v in saisie.items()}
    r = client_de(engine, "reservataire.al").post(f"/reservataire/orientations/{o}", data=valeurs)
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert message.format(n0=n0, radiee=radiee).replace("'", "&#39;") in page
    assert "Rien n'a été enregistré" in page and 'aria-invalid="true"' in page
    with sessions() as s:
        assert etat_ecrit(s, o) == avant


def test_apres_la_date_limite_le_formulaire_disparait_et_la_designation_est_refusee(engine, ids, sessions, monkeypatch):
    o = ids["o_al"]
    with sessions() as s:
        n0 = numeros_actifs(s, 1)[0]
        limite = s.get(OrientationFlux, o).date_limite_designation
        avant = etat_ecrit(s, o)
    assert limite.isoformat() == "2026-07-15"
    c = client_de(engine, "reservataire.al")
    # The last day still allows it (no write here: only the form's presence is checked).
    monkeypatch.setenv("CALEOL_TODAY", limite.isoformat())
    assert 'name="rang_1"' in c.get(f"/reservataire/orientations/{o}").get_data(as_text=True)
    monkeypatch.setenv("CALEOL_TODAY", APRES_DELAI)
    page = c.get(f"/reservataire/orientations/{o}").get_data(as_text=True)
    assert 'name="rang_1"' not in page and "le délai a expiré le 15/07/2026" in page
    r = c.post(f"/reservataire/orientations/{o}", data={"rang_1": n0})
    assert r.status_code == 422
    assert "Le délai de désignation a expiré le 15/07/2026" in r.get_data(as_text=True)
    with sessions() as s:
        assert etat_ecrit(s, o) == avant
    # On the deadline itself the designation goes through.
    monkeypatch.setenv("CALEOL_TODAY", limite.isoformat())
    assert c.post(f"/reservataire/orientations/{o}", data={"rang_1": n0}).status_code == 302


def test_sans_jeton_csrf_la_designation_est_refusee_avec_le_jeton_elle_passe(engine, ids, sessions):
    o = ids["o_al"]
    with sessions() as s:
        n0 = numeros_actifs(s, 1)[0]
    c = client_de(engine, "reservataire.al", csrf=True)
    url = f"/reservataire/orientations/{o}"
    r = c.post(url, data={"rang_1": n0})
    assert r.status_code == 400 and "jeton de sécurité" in r.get_data(as_text=True)
    assert c.post(url, data={"rang_1": n0, "csrf_token": "faux"}).status_code == 400
    with sessions() as s:
        assert etat_ecrit(s, o)[0] == 0
    assert c.post(url, data={"rang_1": n0, "csrf_token": jeton(c, url)}).status_code == 302
    with sessions() as s:
        assert etat_ecrit(s, o)[0] == 1


def test_la_saisie_renvoyee_est_echappee(engine, ids):
    o = ids["o_al"]
    r = client_de(engine, "reservataire.al").post(f"/reservataire/orientations/{o}", data={"rang_1": '"><script>alert(1)</script>'})
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_l_espace_montre_la_part_du_flux_et_les_logements_orientes_au_seul_reservataire(engine, ids, sessions):
    page = client_de(engine, "reservataire.al").get("/reservataire").get_data(as_text=True)
    with sessions() as s:
        siennes = s.scalars(select(OrientationFlux).where(OrientationFlux.reservataire_id == ids["al"],
                                                          OrientationFlux.statut.in_(["en_attente", "designee"]))).all()
        autres = s.scalars(select(OrientationFlux).where(OrientationFlux.reservataire_id != ids["al"],
                                                         OrientationFlux.statut == "en_attente")).all()
        lignes = [x for b in donnees.bailleurs_du_perimetre(s, None, 2026, [ids["al"]], siens_seulement=True)
                  for x in compteurs(s, b.id, 2026, DATE) if x["reservataire_id"] == ids["al"]]
    assert siennes and autres and lignes
    assert all(f'id="orientation-{o.id}"' in page for o in siennes)
    assert not any(f'id="orientation-{o.id}"' in page for o in autres)
    for x in lignes:
        assert f'data-du="{x["du"]}" data-comptes="{x["comptes"]}" data-ecart="{x["ecart"]}"' in page
    assert page.count('<tr id="flux-') == len(lignes)


def test_les_logements_orientes_au_reservataire_lui_sont_visibles(engine, ids, sessions):
    with sessions() as s:
        lg_al = s.get(OrientationFlux, ids["o_al"]).logement
        lg_etat = s.get(OrientationFlux, ids["o_etat"]).logement
        ref_al, id_al, ref_etat, id_etat = lg_al.reference, lg_al.id, lg_etat.reference, lg_etat.id
    c = client_de(engine, "reservataire.al")
    liste = c.get("/logements?statut=vacant").get_data(as_text=True)
    assert f">{ref_al}<" in liste and f">{ref_etat}<" not in liste
    assert c.get(f"/logements/{id_al}").status_code == 200
    assert c.get(f"/logements/{id_etat}").status_code == 404


def test_le_bilan_ne_montre_que_le_reservataire_et_ses_chiffres(engine, ids, sessions):
    with sessions() as s:
        bilan = bilan_annuel(s, 2025)
        noms_autres = {r.nom for r in s.scalars(select(Reservataire).where(Reservataire.id != ids["al"]))}
        nom_al = s.get(Reservataire, ids["al"]).nom
    siennes = [x for x in bilan["lignes"] if x["reservataire_cle"] == f"r{ids['al']}"]
    assert siennes and len(siennes) < len(bilan["lignes"])
    c = client_de(engine, "reservataire.al")
    page = c.get("/reservataire/bilan/2025.html").get_data(as_text=True)
    assert nom_al in page.replace("&#39;", "'")
    assert not any(nom in page.replace("&#39;", "'") for nom in noms_autres)
    total = sum(x["proposes"] for x in siennes)
    assert f"<td class=\"nombre\">{total}</td>" in page
    csv = c.get("/reservataire/bilan/2025.csv")
    assert csv.headers["Content-Type"].startswith("text/csv")
    filtre = {**bilan, "lignes": siennes}
    assert csv.data == en_csv(filtre)
