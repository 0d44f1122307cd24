"""Occupancy review (L442-5-2): tenants' import, examinations by the engine, review séances, roles.

Runs on SQLite and PostgreSQL. The acceptance test works on the demo data: load the demo, import the
documented example files, run the examination, create a review séance, record a finding, render pages.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from webapp import create_app
from webapp.cli import Contexte
from webapp.demo.service import charger_demo
from webapp.models import (
    AuditEntry,
    BailLocataire,
    Commission,
    ConstatOccupation,
    ExamenOccupation,
    Logement,
    NatureSeance,
    OccupantLocataire,
    Organisation,
    Residence,
    RevenuLocataire,
    Seance,
    TypeOrganisation,
)
from webapp.occupation_cli import locataires, occupation
from webapp.schemas.champs import ErreurValidation
from webapp.schemas.locataires import charger_locataires, lire_csv
from webapp.services.occupation import examiner_baux, importer_locataires

MDP = "caleol-demo"
EXEMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "locataires"
SITUATIONS = {"OCCUPATION_SUR_OCCUPATION", "OCCUPATION_SOUS_OCCUPATION", "OCCUPATION_LOGEMENT_ADAPTE_INUTILE",
              "OCCUPATION_HANDICAP_LOGEMENT_INADAPTE", "OCCUPATION_RESSOURCES_AU_DESSUS_DU_PLAFOND"}
DATE = dt.date(2026, 6, 15)


def client_de(engine, identifiant):
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True})
    c = app.test_client()
    page = c.get("/connexion").get_data(as_text=True)
    jeton = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert c.post("/connexion", data={"identifiant": identifiant, "mot_de_passe": MDP, "csrf_token": jeton}).status_code == 302
    return c


def jeton_de(c, url):
    return re.search(r'name="csrf_token" value="([^"]+)"', c.get(url).get_data(as_text=True)).group(1)


def contexte_de(engine) -> Contexte:
    contexte = Contexte("sqlite://")
    contexte.__dict__["engine"] = engine  # the test database (its own PostgreSQL schema)
    return contexte


def compter(s, *modeles):
    return tuple(s.scalar(select(func.count()).select_from(m)) for m in modeles)


def nb_audit(s, action):
    return s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


# --------------------------------------------------------------------------- small stock without the demo


@pytest.fixture
def parc(sessions):
    """One bailleur, dwellings in Lille (review applies) and in Amiens (it does not), one vacant."""
    with sessions.begin() as s:
        b = Organisation(nom="Bailleur occupation", type=TypeOrganisation.BAILLEUR)
        lille = Residence(bailleur=b, nom="Les Tilleuls", adresse="1 rue des Tilleuls", code_insee="59350")
        amiens = Residence(bailleur=b, nom="Les Hortillons", adresse="2 rue d'Amiens", code_insee="80021")

        def logement(residence, ref, pieces, surface, statut="occupe", accessible=False):
            s.add(Logement(residence=residence, reference=ref, typologie=f"T{pieces}", nb_pieces=pieces,
                           surface_habitable=Decimal(surface), etage=1, ascenseur=False, accessible_pmr=accessible,
                           financement="PLUS", loyer_principal=Decimal("400"), loyer_annexes=Decimal(0),
                           charges_recuperables=Decimal(0), contribution_travaux=Decimal(0), statut=statut))

        logement(lille, "L-1", 4, "80")
        logement(lille, "L-2", 2, "45")
        logement(lille, "L-3", 3, "60", statut="vacant")
        logement(amiens, "A-1", 4, "80")


def bail(reference, logement, date_signature, nb=1, **autres):
    occupants = [{"role": "titulaire", "nom": "Martin", "prenom": "Lou", "date_naissance": "1970-05-01",
                  "revenus_fiscaux": [{"annee": 2024, "montant": 15000}]}]
    occupants += [{"role": "personne_a_charge", "date_naissance": "2015-01-01"} for _ in range(nb - 1)]
    return {"reference": reference, "logement": logement, "date_signature": date_signature, "occupants": occupants,
            **autres}


def importer(sessions, fichier):
    with sessions.begin() as s:
        return importer_locataires(s, charger_locataires(fichier), acteur="test")


def test_import_json_ecrit_le_menage_en_une_transaction_et_une_entree_d_audit(parc, sessions):
    comptes = importer(sessions, {"baux": [bail("B-1", "L-1", "2020-01-10", nb=2, logement_adapte=True),
                                           bail("B-2", "A-1", "2019-01-10")]})
    assert comptes == {"baux_crees": 2, "baux_remplaces": 0, "occupants": 3}
    with sessions() as s:
        b = s.scalars(select(BailLocataire).where(BailLocataire.reference == "B-1")).one()
        assert b.logement.reference == "L-1" and b.logement_adapte is True and b.date_signature == dt.date(2020, 1, 10)
        assert [o.role.value for o in b.occupants] == ["titulaire", "personne_a_charge"]
        assert b.occupants[0].revenus_fiscaux[0].montant == Decimal("15000.00")
        entree = s.scalars(select(AuditEntry).where(AuditEntry.action == "locataires.importer")).one()
        assert entree.apres == comptes and "Martin" not in json.dumps(entree.details)
    # Re-import: the household is replaced, the lease kept.
    comptes = importer(sessions, {"baux": [bail("B-1", "L-1", "2020-01-10", nb=3)]})
    assert comptes == {"baux_crees": 0, "baux_remplaces": 1, "occupants": 3}
    with sessions() as s:
        assert compter(s, BailLocataire, OccupantLocataire) == (2, 4)
        assert nb_audit(s, "locataires.importer") == 2


@pytest.mark.parametrize("fichier, cle, message", [
    ({"baux": [bail("B-1", "L-1", "2020-01-10") | {"date_signature": "2020-13-01"}]}, "baux.0.date_signature", "Date invalide"),
    ({"baux": [bail("B-1", "L-1", "2030-01-10")]}, "baux.0.date_signature", "futur"),
    ({"baux": [bail("B-1", "L-1", "2020-01-10") | {"inconnu": 1}]}, "baux.0.inconnu", "Champ inconnu"),
    ({"baux": [bail("B-1", "L-1", "2020-01-10") | {"occupants": []}]}, "baux.0.occupants", "exactement un titulaire"),
    ({"baux": [bail("B-1", "L-1", "2020-01-10"), bail("B-1", "L-2", "2020-01-10")]}, "baux.1.reference", "en double"),
    ({"baux": [{**bail("B-1", "L-1", "2020-01-10"), "occupants": [
        {"role": "titulaire", "date_naissance": "1970-01-01"},
        {"role": "cotitulaire", "date_naissance": "1970-01-01"}]}]}, "baux.0.occupants.1.lien_cotitulaire", "Lien"),
    ({"baux": [{**bail("B-1", "L-1", "2020-01-10"), "occupants": [
        {"role": "titulaire", "date_naissance": "1970-01-01", "revenus_fiscaux": [{"annee": 2024, "montant": "15000"}]}]}]},
     "baux.0.occupants.0.revenus_fiscaux.0.montant", "Montant attendu"),
    ({"baux": [bail("B-1", "L-9", "2020-01-10")]}, "bail B-1, logement", "Logement inconnu"),
    ({"baux": [bail("B-1", "L-3", "2020-01-10")]}, "bail B-1, logement", "vacant"),
    ({"baux": [bail("B-1", "L-1", "2020-01-10"), bail("B-2", "L-1", "2021-01-10")]}, "bail B-2, logement", "aussi au bail B-1"),
])
def test_import_refuse_nomme_le_champ_et_n_ecrit_rien(parc, sessions, fichier, cle, message):
    with pytest.raises(ErreurValidation) as exc:
        importer(sessions, fichier)
    assert cle in exc.value.erreurs, exc.value.erreurs
    assert message in " ".join(exc.value.erreurs[cle])
    with sessions() as s:
        assert compter(s, BailLocataire, OccupantLocataire, RevenuLocataire) == (0, 0, 0)
        assert nb_audit(s, "locataires.importer") == 0


def test_import_refuse_un_logement_deja_loue_sous_un_autre_bail(parc, sessions):
    importer(sessions, {"baux": [bail("B-1", "L-1", "2020-01-10")]})
    with pytest.raises(ErreurValidation) as exc:
        importer(sessions, {"baux": [bail("B-2", "L-2", "2020-01-10"), bail("B-3", "L-1", "2021-01-10")]})
    assert "déjà loué sous le bail B-1" in exc.value.erreurs["bail B-3, logement"][0]
    with sessions() as s:
        assert s.scalars(select(BailLocataire.reference)).all() == ["B-1"]
        assert nb_audit(s, "locataires.importer") == 1


def test_csv_erreurs_par_ligne_et_colonne_rien_d_ecrit(parc, sessions, tmp_path):
    entete = ("reference_bail;logement;date_signature;logement_adapte;besoin_logement_adapte;role;lien_cotitulaire;"
              "nom;prenom;date_naissance;handicap_reconnu;handicap_details;revenu_fiscal_annee;revenu_fiscal_montant")
    bon = entete + "\nB-1;L-1;2020-01-10;;;titulaire;;Martin;Lou;1970-05-01;non;;2024;15000,50\n"
    assert lire_csv(bon)["baux"][0]["occupants"][0]["revenus_fiscaux"] == [{"annee": 2024, "montant": Decimal("15000.50")}]
    mauvais = (entete + "\nB-1;L-1;2020-01-10;;;titulaire;;Martin;Lou;1970-05-01;peut-être;;2024;15000"
               "\nB-1;L-1;2020-01-10;;;cotitulaire;;Martin;Léo;1971-02-30;non;;;"
               "\nB-2;L-2;2021-01-10;;;titulaire;;Durand;Max;1980-01-01;non;;2024;abc\n")
    with pytest.raises(ErreurValidation) as exc:
        lire_csv(mauvais)
    assert set(exc.value.erreurs) == {"ligne 2, colonne handicap_reconnu", "ligne 4, colonne revenu_fiscal_montant"}
    # Once the cells are readable, the schema's errors come back with their line and column too.
    schema = entete + "\nB-1;L-1;2020-01-10;;;titulaire;;Martin;Lou;1970-05-01;non;;;\nB-1;L-1;2020-01-10;;;cotitulaire;;Martin;Léo;1971-02-30;non;;;\n"
    with pytest.raises(ErreurValidation) as exc:
        lire_csv(schema)
    assert set(exc.value.erreurs) == {"ligne 3, colonne date_naissance"}
    with pytest.raises(ErreurValidation) as exc:
        lire_csv(schema.replace("1971-02-30", "1971-02-28"))
    assert exc.value.erreurs == {"ligne 3, colonne lien_cotitulaire": [
        "Lien avec le titulaire obligatoire pour un cotitulaire (conjoint, pacse, concubin ou colocataire)."]}
    with pytest.raises(ErreurValidation) as exc:
        lire_csv(entete.replace(";role;", ";rôle;") + "\n")
    assert exc.value.erreurs["ligne 1"] == ["Colonne inconnue : rôle.", "Colonne obligatoire absente : role."]
    # The command says so and writes nothing.
    chemin = tmp_path / "locataires.csv"
    chemin.write_text(schema, encoding="utf-8")
    r = CliRunner().invoke(locataires, ["importer", str(chemin)], obj=contexte_de(sessions.kw["bind"]))
    assert r.exit_code == 2 and "rien n'a été enregistré" in r.output and "ligne 3, colonne date_naissance" in r.output
    with sessions() as s:
        assert compter(s, BailLocataire, OccupantLocataire) == (0, 0)


def test_examen_tous_les_trois_ans_dans_les_zones_concernees(parc, sessions):
    importer(sessions, {"baux": [
        bail("B-1", "L-1", "2020-01-10"),  # sous-occupation (1 person, 4 rooms), due 2026-01-10
        bail("B-2", "L-2", "2024-01-10"),  # first review on 2027-01-10
        bail("B-3", "A-1", "2019-01-10"),  # Amiens: the review does not apply there
    ]})
    with sessions.begin() as s:
        bilan = examiner_baux(s, DATE, acteur="test")
    assert bilan == {"examines": 1, "a_transmettre": 1, "par_situation": {"OCCUPATION_SOUS_OCCUPATION": 1}}
    with sessions() as s:
        e = s.scalars(select(ExamenOccupation)).one()
        assert (e.bail.reference, e.echeance, e.date_examen) == ("B-1", dt.date(2026, 1, 10), DATE)
        assert e.situations == ["OCCUPATION_SOUS_OCCUPATION"] and e.version_regles == e.resultat["version_regles"]
        assert len(e.resultat["trace"]) == 5 and e.empreinte_entree.startswith("sha256:")
        assert nb_audit(s, "occupation.examiner") == 1
    # Nothing new until the next anniversary (the next review of B-1 is on 2029-01-10).
    with sessions.begin() as s:
        assert examiner_baux(s, dt.date(2026, 12, 31), acteur="test")["examines"] == 0


def test_examen_a_chaque_anniversaire_triennal(parc, sessions):
    importer(sessions, {"baux": [bail("B-1", "L-1", "2020-01-10"), bail("B-2", "L-2", "2023-02-01")]})
    for date, attendu in ((dt.date(2023, 1, 9), 0), (dt.date(2023, 1, 10), 1), (dt.date(2025, 12, 31), 0),
                          (dt.date(2026, 1, 10), 1), (dt.date(2026, 2, 1), 1), (dt.date(2026, 6, 15), 0)):
        with sessions.begin() as s:
            assert examiner_baux(s, date, acteur="test")["examines"] == attendu, date
    with sessions() as s:
        assert [(e.bail.reference, e.echeance) for e in s.scalars(select(ExamenOccupation).order_by(ExamenOccupation.id))] == [
            ("B-1", dt.date(2023, 1, 10)), ("B-1", dt.date(2026, 1, 10)), ("B-2", dt.date(2026, 2, 1))]


def test_sans_revenu_fiscal_la_situation_des_ressources_est_signalee_non_examinee(parc, sessions, engine):
    from werkzeug.security import generate_password_hash

    from webapp.models import ModeSeance, Role, Utilisateur
    from webapp.services.occupation import inscrire_examens
    from webapp.services.preparation import Membre, creer_seance

    sans_revenu = bail("B-1", "L-1", "2020-01-10")
    sans_revenu["occupants"][0]["revenus_fiscaux"] = []
    importer(sessions, {"baux": [sans_revenu]})
    with sessions.begin() as s:
        bailleur = s.scalars(select(Organisation).where(Organisation.nom == "Bailleur occupation")).one()
        s.add(Utilisateur(identifiant="presidence.occ", nom_affiche="P", role=Role.PRESIDENT, organisation=bailleur,
                          mot_de_passe_hash=generate_password_hash(MDP)))
        commission = Commission(bailleur=bailleur, nom="CALEOL test")
        s.add(commission)
        s.flush()
        examiner_baux(s, DATE, acteur="test")
        seance = creer_seance(s, commission_id=commission.id, bailleur_id=bailleur.id, date_seance=DATE, quorum=1,
                              mode=ModeSeance.PHYSIQUE, acteur="test", nature=NatureSeance.EXAMEN_OCCUPATION,
                              membres=[Membre(nom="M. A", qualite="Représentant(e) du bailleur", voix_deliberative=True,
                                              present=True)])
        examen = s.scalars(select(ExamenOccupation)).one()
        inscrire_examens(s, seance, [examen.id], acteur="test")
        url = f"/occupation/seances/{seance.id}/dossiers/{examen.id}"
    page = client_de(engine, "presidence.occ").get(url).get_data(as_text=True)
    assert 'id="ressources-inconnues"' in page and "logement sous-occupé" in page


# --------------------------------------------------------------------------- acceptance on the demo


@pytest.fixture
def demo(sessions):
    with sessions.begin() as s:
        charger_demo(s, seed=7, nb_dossiers=400, nb_logements=200, acteur="test", date_reference=DATE)


def formulaire_seance(c, commission_id):
    data = {"csrf_token": jeton_de(c, "/occupation/seances/nouvelle"), "commission": str(commission_id),
            "date_seance": "2026-06-25", "mode": "physique", "quorum": "2", "nb_lignes": "4"}
    membres = [("Mme Leroy", "Représentant(e) du bailleur"), ("M. Dubois", "Représentant(e) des locataires"),
               ("Mme Petit", "Maire de la commune ou son représentant")]
    for i, (nom, qualite) in enumerate(membres):
        data |= {f"membre-{i}-nom": nom, f"membre-{i}-qualite": qualite, f"membre-{i}-deliberative": "on",
                 f"membre-{i}-present": "on"}
    return data | {"membre-3-nom": "", "membre-3-qualite": ""}


def test_seance_d_examen_sur_la_demonstration(engine, demo, sessions):
    runner = CliRunner()
    # The demo has tenants; the documented examples load on top of it (JSON, then CSV replacing them).
    with sessions() as s:
        nb_baux_demo = compter(s, BailLocataire)[0]
        assert nb_baux_demo > 5
    for nom, attendu in (("exemple_locataires.json", "3 bail(s) créé(s), 0 remplacé(s), 5 occupant(s)."),
                         ("exemple_locataires.csv", "0 bail(s) créé(s), 3 remplacé(s), 5 occupant(s).")):
        r = runner.invoke(locataires, ["importer", str(EXEMPLES / nom)], obj=contexte_de(engine))
        assert r.exit_code == 0, r.output
        assert attendu in r.output
    r = runner.invoke(occupation, ["examiner", "--date", DATE.isoformat()], obj=contexte_de(engine))
    assert r.exit_code == 0, r.output
    with sessions() as s:
        examens = s.scalars(select(ExamenOccupation)).all()
        trouvees = {c for e in examens if e.bail.reference.startswith("BAIL-HDH-") for c in e.situations}
        assert trouvees == SITUATIONS  # each of the five situations, among the demo's own tenants
        assert all(e.version_regles and len(e.resultat["trace"]) == 5 for e in examens)
        assert nb_audit(s, "occupation.examiner") == 1
        commission = s.scalars(select(Commission).where(Commission.territoire == "200093201")).one()
        exemple_handicap = s.scalars(select(ExamenOccupation).join(BailLocataire).where(
            BailLocataire.reference == "BAIL-EX-0003")).one()
        assert exemple_handicap.situations == ["OCCUPATION_SOUS_OCCUPATION", "OCCUPATION_HANDICAP_LOGEMENT_INADAPTE"]
    r = runner.invoke(occupation, ["examiner", "--date", DATE.isoformat()], obj=contexte_de(engine))
    assert "0 bail(s) examiné(s)" in r.output

    # The chargé d'attribution creates the review séance and puts the files on its agenda.
    charge = client_de(engine, "charge.attribution")
    accueil = charge.get("/occupation/").get_data(as_text=True)
    assert 'id="menu-examen-occupation"' in accueil and 'id="dossiers-a-transmettre"' in accueil
    r = charge.post("/occupation/seances/nouvelle", data=formulaire_seance(charge, commission.id))
    assert r.status_code == 302, r.get_data(as_text=True)
    url = r.headers["Location"]
    with sessions() as s:
        seance = s.scalars(select(Seance).where(Seance.nature == NatureSeance.EXAMEN_OCCUPATION)).one()
        assert url.endswith(f"/occupation/seances/{seance.id}") and len(seance.membres) == 3
        creation = s.scalars(select(AuditEntry).where(AuditEntry.action == "seance.creer")
                             .order_by(AuditEntry.id.desc())).first()
        assert creation.apres["nature"] == "examen_occupation"
    page = charge.get(url).get_data(as_text=True)
    ids = re.findall(r'name="examens" value="(\d+)"', page)
    assert str(exemple_handicap.id) in ids
    r = charge.post(url, data={"csrf_token": jeton_de(charge, url), "examens": ids})
    assert r.status_code == 302
    page = charge.get(url).get_data(as_text=True)
    assert 'id="ordre-du-jour-examen"' in page and "Bail BAIL-EX-0003" in page
    assert "handicap ou perte d&#39;autonomie nécessitant un logement adapté" in page
    assert "3 pièce(s) pour 1 personne(s) : au plus 2 pièce(s) sans sous-occupation." in page
    # Review séances are not attribution séances.
    assert f'id="seance-{seance.id}"' not in charge.get("/decisions/seances").get_data(as_text=True)
    assert charge.get(f"/decisions/seances/{seance.id}").status_code == 404
    assert charge.get(f"/preparation/seances/{seance.id}/ordre-du-jour").status_code == 404
    tableau = charge.get("/").get_data(as_text=True)
    assert f'href="/occupation/seances/{seance.id}"' in tableau and "— examen de l'occupation" in tableau

    # The président reads the file (with the explanation and the sensitive details) and records the finding.
    dossier = f"{url}/dossiers/{exemple_handicap.id}"
    presidence = client_de(engine, "presidence")
    page = presidence.get(dossier).get_data(as_text=True)
    assert "Explication : les cinq règles de l'examen" in page and "CCH, art. L442-5-2 4°" in page
    assert "Mobilité réduite depuis 2024" in page and "Bruno Lemaire" in page
    assert 'id="formulaire-constat"' in page and 'id="formulaire-suivi"' not in page
    donnees = {"csrf_token": jeton_de(presidence, dossier),
               "situations_constatees": ["OCCUPATION_HANDICAP_LOGEMENT_INADAPTE"], "typologies": ["T2"],
               "surface_min": "35", "surface_max": "50,5", "accessibilite": "adapte", "communes": "59350, 59599",
               "secteur": "Lille-Sud", "avis": "Proposer un T2 adapté en rez-de-chaussée."}
    r = presidence.post(dossier + "/constat", data=donnees | {"surface_min": "beaucoup", "communes": "5935"})
    assert r.status_code == 422
    assert 'id="err-surface_min"' in r.get_data(as_text=True) and 'id="err-communes"' in r.get_data(as_text=True)
    with sessions() as s:
        assert compter(s, ConstatOccupation) == (0,)
    assert presidence.post(dossier + "/constat", data=donnees).status_code == 302
    with sessions() as s:
        constat = s.scalars(select(ConstatOccupation)).one()
        assert constat.situations_constatees == ["OCCUPATION_HANDICAP_LOGEMENT_INADAPTE"]
        assert (constat.surface_min, constat.surface_max, constat.communes) == (Decimal("35.00"), Decimal("50.50"), ["59350", "59599"])
        entree = s.scalars(select(AuditEntry).where(AuditEntry.action == "occupation.constat")).one()
        assert entree.avant is None and entree.apres["avis"] == "(texte, 41 caractères)"

    # The chargé records the follow-up (review of the residential path); the page renders it.
    suivi = {"csrf_token": jeton_de(charge, dossier), "suivi_date": "2026-07-02", "suivi_issue": "mutation_proposee",
             "mutation_demande_creee": "on"}
    r = charge.post(dossier + "/suivi", data=suivi)
    assert r.status_code == 422 and "Numéro unique de la demande de mutation obligatoire." in r.get_data(as_text=True)
    assert charge.post(dossier + "/suivi", data=suivi | {"mutation_numero_unique": "059112600099Z"}).status_code == 302
    page = charge.get(dossier).get_data(as_text=True)
    assert 'id="constat-enregistre"' in page and "mutation proposée" in page and "créée (059112600099Z)" in page

    # Minutes: HTML without names for a reader, and PDF.
    pv = charge.get(url + "/proces-verbal").get_data(as_text=True)
    assert "Bail BAIL-EX-0003" in pv and "Proposer un T2 adapté" in pv and "Mobilité réduite" not in pv
    pdf = charge.get(url + "/proces-verbal?format=pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")

    # The lecteur reads, without names nor handicap details, and may not record anything.
    lecteur = client_de(engine, "lecteur")
    page = lecteur.get(dossier).get_data(as_text=True)
    assert lecteur.get(dossier).status_code == 200
    assert "Mobilité réduite" not in page and "Bruno Lemaire" not in page and "Personne 1" in page
    assert 'id="formulaire-constat"' not in page and 'id="formulaire-suivi"' not in page
    assert lecteur.post(dossier + "/constat", data={"csrf_token": jeton_de(lecteur, dossier)}).status_code == 403
    assert lecteur.post(dossier + "/suivi", data={"csrf_token": jeton_de(lecteur, dossier)}).status_code == 403
    assert "Bruno Lemaire" not in lecteur.get(url + "/proces-verbal").get_data(as_text=True)
    # A member of the commission records findings but sees no handicap details; the chargé may not.
    membre = client_de(engine, "membre.commission")
    page = membre.get(dossier).get_data(as_text=True)
    assert "Mobilité réduite" not in page and 'id="formulaire-constat"' in page
    assert charge.post(dossier + "/constat", data=donnees | {"csrf_token": jeton_de(charge, dossier)}).status_code == 403
    # CSRF on every form.
    assert membre.post(dossier + "/constat", data={k: v for k, v in donnees.items() if k != "csrf_token"}).status_code == 400
    # Another organisation does not see the séance.
    assert client_de(engine, "reservataire.al").get(url).status_code == 404
