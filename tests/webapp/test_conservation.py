"""Retention policy and `caleol purge`: nothing past its term keeps personal data, nothing within its
term is touched, and every table of the model is classified by the policy (so a new table holding
personal data fails here until the policy covers it)."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import Text, func, select

from engine.conservation import FICHIER_POLITIQUE, charger_politique, politique
from engine.yaml_strict import ErreurRegles
from tests.conftest import TABLES_REFERENCE
from tests.webapp.decisions_exemple import construire
from webapp.cli import Contexte
from webapp.conservation_cli import purge as commande_purge
from webapp.models import (
    Attribution,
    AuditEntry,
    BailLocataire,
    Candidature,
    Base,
    Decision,
    Demande,
    EstimationApl,
    EvaluationDemande,
    ExamenOccupation,
    ExplicationDemande,
    ExportSne,
    JetonApi,
    LigneExportSne,
    ObjetExport,
    OccupantLocataire,
    Offre,
    PointOrdreDuJour,
    Personne,
    RefusOffre,
    RenvoiCalPhysique,
    Ressource,
    RevenuFiscal,
    RevenuLocataire,
    RoleOccupant,
    RolePersonne,
    Seance,
    SensRessource,
    SituationPrioritaire,
    SouhaitCommune,
    SouhaitTypologie,
    StatutOffre,
    TypeDecision,
    Utilisateur,
)
from webapp.services.conservation import (
    ACTION_PURGE,
    chemin_vers,
    codes_sensibles,
    planifier,
    purger,
    verifier_contre_modele,
)

DATE_PURGE = dt.date(2026, 6, 15)
UTC = dt.UTC

# Column names that hold a natural person's identity or contact wherever they appear.
COLONNES_PERSONNELLES = frozenset({
    "nom", "prenom", "nom_naissance", "nom_usage", "date_naissance", "adresse", "telephone", "courriel",
    "email", "nir", "iban", "nom_affiche", "identifiant",
})
# … except in these columns, which name a legal person or a place.
NON_PERSONNELLES = frozenset({
    "organisation.nom", "reservataire.nom", "commission.nom", "commune.nom", "epci.nom", "qpv.nom",
    "residence.nom", "residence.adresse",
})
# A row linked to one of these tables concerns an applicant, a tenant or an agent.
TABLES_DE_PERSONNES = frozenset({"demande", "personne", "utilisateur"})

# numéro unique → (motif, date de radiation) ; None : demande active.
RADIATIONS = {
    "0591126000001A": ("RADATT", dt.date(2025, 1, 10)),   # past term
    "0591126000002B": ("RADIRR", dt.date(2025, 8, 1)),    # within term (sensitive facts deleted)
    "0591126000003C": ("RADREN", dt.date(2025, 6, 15)),   # exactly at the limit: past term
    "0591126000004D": ("RADABA", dt.date(2025, 6, 16)),   # one day short: within term
    "0591126000005E": None,                                # active
    "0591126000006F": (None, dt.date(2024, 12, 1)),       # past term, radiated without a motif
}
PASSEES = {"0591126000001A", "0591126000003C", "0591126000006F"}


# --------------------------------------------------------------------------- the policy itself


def test_la_politique_se_charge_et_correspond_au_modele():
    pol = verifier_contre_modele(politique())
    ids = [c.id for c in pol.categories]
    assert len(ids) == len(set(ids))
    for c in pol.categories:
        if c.a_terme:
            assert c.duree_mois(DATE_PURGE) >= 0 and c.evenement
        assert c.sources and c.base_legale
        # Nothing unconfirmed is shown as confirmed: a category resting on an unverified source is à vérifier.
        if any(s.a_verifier for s in c.sources):
            assert c.a_verifier


def test_chaque_motif_de_radiation_du_sne_a_sa_duree():
    with open(Path(__file__).resolve().parents[2] / "fixtures" / "sne" / "sne_interface_code_lists_v0201.json",
              encoding="utf-8") as f:
        motifs = {c for c in json.load(f)["codes"]["ListeMotifsRadiation"] if c}
    couverts = {m for c in politique().categories if c.evenement == "demande.date_radiation"
                for m in c.selection.get("motif_radiation", ())}
    assert motifs == couverts


def test_chaque_table_du_modele_est_classee_par_la_politique():
    """A new table must be either covered by a category or declared without personal data."""
    pol = politique()
    couvertes, sans = pol.tables_couvertes(), set(pol.sans_donnees_personnelles)
    assert not couvertes & sans
    non_classees = sorted(set(Base.metadata.tables) - couvertes - sans)
    assert non_classees == [], f"tables absentes de rules/conservation/politique.yaml : {non_classees}"


def test_aucune_table_declaree_sans_donnee_personnelle_n_en_contient():
    pol = politique()
    for nom in pol.sans_donnees_personnelles:
        table = Base.metadata.tables[nom]
        for colonne in table.c:
            qualifie = f"{nom}.{colonne.name}"
            assert colonne.name not in COLONNES_PERSONNELLES or qualifie in NON_PERSONNELLES, qualifie
        liees = {fk.column.table.name for fk in table.foreign_keys}
        assert not liees & TABLES_DE_PERSONNES, f"{nom} est liée à {liees & TABLES_DE_PERSONNES}"


def test_chaque_colonne_personnelle_est_traitee_ou_conservee_a_dessein():
    pol = politique()
    traitees, conservees = pol.colonnes_traitees(), set(pol.colonnes_conservees)
    supprimees = pol.tables_supprimees()
    for nom in pol.tables_couvertes():
        for colonne in Base.metadata.tables[nom].c:
            qualifie = f"{nom}.{colonne.name}"
            if nom in supprimees:
                continue
            if colonne.name in COLONNES_PERSONNELLES and qualifie not in NON_PERSONNELLES:
                assert qualifie in traitees | conservees, f"{qualifie} : ni traitée ni conservée à dessein"
            # A free text (Text) may describe anyone: it is treated or kept on purpose, never forgotten.
            if isinstance(colonne.type, Text):
                assert qualifie in traitees | conservees, f"{qualifie} (texte libre) : ni traitée ni conservée à dessein"


def _ecrire(tmp_path, donnees) -> Path:
    fichier = tmp_path / "politique.yaml"
    fichier.write_text(yaml.safe_dump(donnees, allow_unicode=True), encoding="utf-8")
    return fichier


@pytest.mark.parametrize(("modifier", "attendu"), [
    (lambda d: d["categories"][1].update(traitement="oubli"), "demande_radiee_attribution, champ traitement"),
    (lambda d: d["categories"][1]["duree"].update(unite="annee"), "champ duree"),
    (lambda d: d["categories"][1].pop("profil"), "profil"),
    (lambda d: d["categories"][1].pop("note"), "note"),
    (lambda d: d["categories"][1].update(sources=["inconnue"]), "source inconnue : inconnue"),
    (lambda d: d["categories"][1]["duree"]["valeurs"].append({"debut": "2020-01-01", "fin": None, "valeur": 3}),
     "périodes qui se chevauchent"),
    (lambda d: d["sources"]["rgpd_article_5"].update(a_verifier=True), "rgpd_article_5"),
])
def test_une_politique_invalide_est_refusee_en_nommant_le_champ(tmp_path, modifier, attendu):
    with open(FICHIER_POLITIQUE, encoding="utf-8") as f:
        donnees = yaml.safe_load(f)
    donnees = json.loads(json.dumps(donnees, default=str))
    modifier(donnees)
    with pytest.raises(ErreurRegles) as exc:
        charger_politique(_ecrire(tmp_path, donnees))
    assert attendu in str(exc.value)


def test_une_politique_qui_nomme_une_colonne_inconnue_est_refusee(tmp_path):
    with open(FICHIER_POLITIQUE, encoding="utf-8") as f:
        donnees = json.loads(json.dumps(yaml.safe_load(f), default=str))
    donnees["profils"]["demande"]["tables"]["personne"]["colonnes"]["surnom"] = "effacer"
    with pytest.raises(ErreurRegles, match="colonne inconnue du modèle : personne.surnom"):
        verifier_contre_modele(charger_politique(_ecrire(tmp_path, donnees)))


def test_une_duree_hors_de_ses_periodes_n_est_pas_devinee():
    cat = politique().categorie("demande_radiee_attribution")
    with pytest.raises(ErreurRegles, match="aucune durée en vigueur"):
        cat.duree_mois(dt.date(2000, 1, 1))


# --------------------------------------------------------------------------- data of every kind


def _peupler(sessions) -> dict[str, int]:
    monde = construire(sessions)
    with sessions.begin() as s:
        demandes = {d.numero_unique: d for d in s.scalars(select(Demande))}
        for i, (numero, d) in enumerate(sorted(demandes.items()), start=1):
            radiation = RADIATIONS[numero]
            if radiation:
                d.statut, d.motif_radiation, d.date_radiation = "radiee", radiation[0], radiation[1]
            else:
                # Active again, with a stale radiation date: an active demande is never treated.
                d.date_radiation = dt.date(2024, 1, 1)
            d.telephone, d.courriel = f"06000000{i:02d}", f"foyer{i}@exemple.fr"
            d.motifs = ["06", "01"]
            titulaire = d.personnes[0]
            titulaire.date_naissance, titulaire.nom_naissance = dt.date(1985, 4, 23), f"Naissance{i}"
            titulaire.nationalite, titulaire.profession = "1", f"Profession{i}"
            titulaire.handicap_details = f"Handicap détaillé {i}"
            titulaire.ressources.append(Ressource(sens=SensRessource.RECUE, code="SAL", montant_mensuel=Decimal("1450.00")))
            titulaire.revenus_fiscaux.append(RevenuFiscal(annee=2024, montant=Decimal("17400.00"), avis=f"AVIS{i:04d}"))
            d.personnes.append(Personne(ordre=1, role=RolePersonne.COTITULAIRE, prenom=f"Conjoint{i}",
                                        nom=f"Cotitulaire{i}", date_naissance=dt.date(1987, 11, 2)))
            d.situations.append(SituationPrioritaire(code="PRIO_VIOLENCES_COUPLE", verifiee=True,
                                                     verifiee_par=f"Assistante{i}"))
            d.situations.append(SituationPrioritaire(code="PRIO_SANS_LOGEMENT", verifiee=True, verifiee_par=f"Travailleur{i}"))
            d.refus.append(RefusOffre(date_refus=dt.date(2024, 9, 1), motif="TROP_LOIN", details={"commentaire": f"Refus{i}"}))
            s.add(EvaluationDemande(
                demande=d, date_evaluation=dt.date(2025, 1, 1), version_regles="v", empreinte_entree="e" * 64,
                calculee_le=dt.datetime(2025, 1, 1, tzinfo=UTC), complet=True, recevable=True, eligible_plai=True,
                eligible_plus=True, eligible_pls=True, categorie=3, nb_personnes=2, nb_personnes_surface=2,
                revenu_retenu=Decimal("17400.00"), ressources_mensuelles=Decimal("1450.00"), quartile=1, epci="200093201",
                score=Decimal("12"), prioritaire=True,
                priorites=[{"code": "PRIO_VIOLENCES_COUPLE", "libelle": "Violences"}, {"code": "PRIO_SANS_LOGEMENT", "libelle": "Sans logement"}],
                regles_appliquees=[{"id": "PRIO_VIOLENCES_COUPLE"}], detail_cotation=[{"critere": "VIOLENCES", "points": 5}],
            ))
            s.add(SouhaitTypologie(demande_id=d.id, typologie="T3"))
            s.add(SouhaitCommune(demande_id=d.id, code_insee="59350", epci="200093201", numero_unique=numero,
                                 date_depot=d.date_depot))
        s.flush()
        # Decisions (effective attribution for 01A on L-1 and 04D on L-2), an attribution, referrals.
        candidatures = monde.candidatures
        for numero, cid in candidatures.items():
            c = s.get(Candidature, cid)
            effective = numero in ("0591126000001A", "0591126000004D")
            s.add(Decision(candidature_id=cid, seance_id=c.seance_id, logement_id=c.logement_id,
                           type=TypeDecision.ATTRIBUTION if effective else TypeDecision.NON_ATTRIBUTION,
                           motifs=[] if effective else ["NA_ADEQUATION"], justification=f"Justification {numero}",
                           decide_le=dt.datetime(2025, 1, 5, tzinfo=UTC)))
            s.add(RenvoiCalPhysique(candidature_id=cid, membre_id=monde.membres["membre1"], motif=f"Renvoi {numero}",
                                    horodatage=dt.datetime(2025, 1, 5, tzinfo=UTC)))
        s.flush()
        for numero in ("0591126000001A", "0591126000004D"):
            c = s.get(Candidature, candidatures[numero])
            s.add(Attribution(decision_id=c.decision.id, logement_id=c.logement_id, demande_id=c.demande_id,
                              date_decision=dt.date(2025, 1, 5), date_signature_bail=dt.date(2025, 1, 10),
                              indicateurs={"prioritaire": True, "priorites": ["PRIO_VIOLENCES_COUPLE", "PRIO_SANS_LOGEMENT"]}))
        # Journal: old and recent entries, and an old purge entry (kept whole).
        for quand, action in ((dt.datetime(2025, 1, 1, 9, tzinfo=UTC), "modifier_demande"),
                              (dt.datetime(2025, 6, 15, 23, 59, tzinfo=UTC), "modifier_demande"),
                              (dt.datetime(2025, 6, 16, 0, 1, tzinfo=UTC), "modifier_demande"),
                              (dt.datetime(2024, 1, 1, tzinfo=UTC), ACTION_PURGE)):
            s.add(AuditEntry(horodatage=quand, acteur="charge", action=action, objet_type="demande", objet_id="1",
                             avant={"numero_unique": "0591126000001A"}, apres={"statut": "radiee"}, details={"n": 1}))
        utilisateur = s.scalars(select(Utilisateur).where(Utilisateur.identifiant == "charge")).one()
        for i, revoque in enumerate((dt.datetime(2025, 1, 1, tzinfo=UTC), dt.datetime(2025, 12, 1, tzinfo=UTC), None)):
            s.add(JetonApi(utilisateur=utilisateur, empreinte=f"{i}" * 64, prefixe=f"caleol_{i}", libelle=f"Outil {i}",
                           cree_le=dt.datetime(2024, 6, 1, tzinfo=UTC), revoque_le=revoque))
        s.add(EstimationApl(cle="a" * 64, mois="2026-04", montant=Decimal("210.00"),
                            calcule_le=dt.datetime(2026, 4, 1, 8, tzinfo=UTC)))
        s.add(EstimationApl(cle="b" * 64, mois="2026-06", montant=Decimal("190.00"),
                            calcule_le=dt.datetime(2026, 6, 1, 8, tzinfo=UTC)))
        # Offers with a free comment, on the decisions of 01A (past term) and 02B (within term).
        for numero in ("0591126000001A", "0591126000002B"):
            c = s.get(Candidature, candidatures[numero])
            s.add(Offre(decision_id=c.decision.id, seance_id=c.seance_id, logement_id=c.logement_id,
                        demande_id=c.demande_id, statut=StatutOffre.REFUSEE, motif_refus="TROP_LOIN",
                        commentaire=f"Commentaire {numero}", cree_le=dt.datetime(2025, 1, 6, tzinfo=UTC)))
        # Tenants: a lease last confirmed in 2020 (past term) and one confirmed in 2026.
        for reference, importe in (("B-ANCIEN", dt.datetime(2020, 6, 1, tzinfo=UTC)),
                                   ("B-RECENT", dt.datetime(2026, 1, 1, tzinfo=UTC))):
            logement = s.get(Candidature, candidatures["0591126000001A" if reference == "B-ANCIEN" else "0591126000004D"]).logement
            bail = BailLocataire(bailleur_id=logement.residence.bailleur_id, logement_id=logement.id, reference=reference,
                                 date_signature=dt.date(2015, 9, 1), importe_le=importe)
            occupant = OccupantLocataire(rang=1, role=RoleOccupant.TITULAIRE, nom=f"Locataire {reference}",
                                         prenom="Prénom", date_naissance=dt.date(1970, 2, 3), handicap_details="Détail")
            occupant.revenus_fiscaux.append(RevenuLocataire(annee=2024, montant=Decimal("21000.00")))
            bail.occupants.append(occupant)
            bail.examens.append(ExamenOccupation(echeance=dt.date(2024, 9, 1), date_examen=dt.date(2024, 9, 1),
                                                 situations=["OCCUPATION_SOUS_OCCUPATION"], resultat={"faits": {"x": 1}},
                                                 version_regles="v", empreinte_entree="e" * 64,
                                                 examine_le=dt.datetime(2024, 9, 1, tzinfo=UTC)))
            s.add(bail)
        # Explanations given to 01A (past term) and 02B (within term); SNE exports of 2025-01 and 2026-06.
        for numero in ("0591126000001A", "0591126000002B"):
            s.add(ExplicationDemande(demande_id=demandes[numero].id, date_evaluation=dt.date(2025, 1, 1), version_regles="v",
                                     empreinte_entree="e" * 64, entree={"nom": f"Entree {numero}"},
                                     contenu={"texte": f"Document {numero}"}, empreinte="d" * 64,
                                     genere_le=dt.datetime(2025, 1, 2, tzinfo=UTC), genere_par="charge"))
        for i, genere in enumerate((dt.datetime(2025, 1, 3, tzinfo=UTC), dt.datetime(2026, 6, 1, tzinfo=UTC))):
            export = ExportSne(genere_le=genere, par="charge", fichier=f"CALEOL-SNE-{i}.xml", sha256="f" * 64, taille=40,
                               contenu=f"<numUnique>0591126000001A</numUnique>{i}".encode(), nb_decisions=1,
                               nb_radiations=0)
            export.lignes.append(LigneExportSne(objet_type=ObjetExport.DECISION, objet_id=i + 1,
                                                date_evenement=genere.date(), numero_unique="0591126000001A",
                                                code="attribution"))
            s.add(export)
        # Agenda: a proposal computed in 2025-01 (past term) and one in 2026-01 (within term).
        for ref, calcule in (("L-1", dt.datetime(2025, 1, 2, tzinfo=UTC)), ("L-2", dt.datetime(2026, 1, 2, tzinfo=UTC))):
            s.add(PointOrdreDuJour(seance_id=monde.seance_id, logement_id=monde.logements[ref], ordre=1 if ref == "L-1" else 2,
                                   version_regles="v", calcule_le=calcule, proposition={"candidats": [{
                                       "rang": 1, "numero_unique": "0591126000001A", "score": "12",
                                       "priorites": [{"code": "PRIO_VIOLENCES_COUPLE", "libelle": "Violences"},
                                                     {"code": "PRIO_SANS_LOGEMENT", "libelle": "Sans logement"}],
                                       "cotation": {"detail": []}}]}))
        ancienne = s.get(Seance, monde.autre_seance_id)
        ancienne.date_seance = dt.date(2015, 3, 1)
        return {numero: d.id for numero, d in demandes.items()} | {"_ancienne_seance": ancienne.id}


def _instantane(engine) -> dict[str, dict[tuple, dict]]:
    """Every row of every table but the reference territory, by primary key."""
    res = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in TABLES_REFERENCE:
                continue
            pk = list(table.primary_key.columns)
            res[table.name] = {tuple(getattr(r, c.name) for c in pk): dict(r._mapping) for r in conn.execute(select(table))}
    return res


def _changements(avant, apres) -> set[tuple]:
    """(table, pk, column) of every changed cell; (table, pk, '*') for a deleted or added row."""
    res = set()
    for table in avant:
        a, b = avant[table], apres[table]
        for cle in a.keys() ^ b.keys():
            res.add((table, cle, "*"))
        for cle in a.keys() & b.keys():
            res.update((table, cle, col) for col in a[cle] if a[cle][col] != b[cle][col])
    return res


def _permis(avant, ids: dict[str, int]) -> dict[tuple, str]:
    """Changes the policy allows at DATE_PURGE, derived from the policy file and the rows' dates:
    (table, pk, column) → method (effacer, annee, vider_liste, codes_sensibles, date, ou « lignes » : *)."""
    pol = politique()
    passees = {ids[n] for n in PASSEES}
    radiees = {ids[n] for n, r in RADIATIONS.items() if r}
    res: dict[tuple, str] = {}

    def rattaches(table: str, racines: set[int]) -> set[tuple]:
        chemin = chemin_vers(Base.metadata.tables[table], Base.metadata.tables["demande"])
        lignes = set()
        for cle, ligne in avant[table].items():
            valeur = ligne
            if not chemin:
                if cle[0] in racines:
                    lignes.add(cle)
                continue
            for colonne, cible in chemin:
                valeur = valeur[colonne.name]
                if cible.table.name != "demande":
                    valeur = avant[cible.table.name][(valeur,)]
            if valeur in racines:
                lignes.add(cle)
        return lignes

    # The sensitive profile first: where both apply, the anonymisation's method wins (it is stronger).
    for profil, racines in (("sensible", radiees), ("demande", passees)):
        for table, spec in pol.profils[profil].tables.items():
            for cle in rattaches(table, racines):
                if "lignes" in spec:
                    res[(table, cle, "*")] = spec["lignes"]
                else:
                    res.update({(table, cle, col): methode for col, methode in spec["colonnes"].items()})
    res.update({("demande", (i,), "anonymise_le"): "date" for i in passees})
    for cle, ligne in avant["audit_entry"].items():
        if ligne["horodatage"].date() <= dt.date(2025, 6, 15) and ligne["action"] != ACTION_PURGE:
            res.update({("audit_entry", cle, col): "effacer" for col in ("avant", "apres", "details")})
            res[("audit_entry", cle, "anonymise_le")] = "date"
    res.update({("jeton_api", cle, "*"): "supprimer" for cle, l in avant["jeton_api"].items()
                if l["revoque_le"] and l["revoque_le"].date() <= dt.date(2025, 6, 15)})
    res.update({("estimation_apl", cle, "*"): "supprimer" for cle, l in avant["estimation_apl"].items()
                if l["calcule_le"].date() <= dt.date(2026, 5, 15)})
    res.update({("point_ordre_du_jour", cle, "proposition"): "codes_sensibles" for cle, l in avant["point_ordre_du_jour"].items()
                if l["calcule_le"].date() <= dt.date(2025, 6, 15)})
    res.update({("export_sne", cle, "contenu"): "vider" for cle, l in avant["export_sne"].items()
                if l["genere_le"].date() <= dt.date(2025, 6, 15)})
    baux = {cle[0] for cle, l in avant["bail_locataire"].items() if l["importe_le"].date() <= dt.date(2020, 6, 15)}
    for table in ("bail_locataire", "occupant_locataire", "revenu_locataire", "examen_occupation", "constat_occupation"):
        chemin = chemin_vers(Base.metadata.tables[table], Base.metadata.tables["bail_locataire"])
        for cle, ligne in avant[table].items():
            valeur = cle[0] if not chemin else ligne
            for colonne, cible in chemin:
                valeur = valeur[colonne.name]
                if cible.table.name != "bail_locataire":
                    valeur = avant[cible.table.name][(valeur,)]
            if valeur in baux:
                res[(table, cle, "*")] = "supprimer"
    return res


def _conforme(methode: str, valeur, avant_ligne, sensibles) -> bool:
    if methode == "effacer":
        return valeur is None
    if methode == "annee":
        return valeur is None or (valeur.month, valeur.day) == (1, 1) and valeur.year == avant_ligne.year
    if methode == "vider":
        return valeur is not None and len(valeur) == 0
    if methode == "vider_liste":
        return valeur == []
    if methode == "codes_sensibles":
        return not set(json.dumps(valeur).split('"')) & sensibles
    if methode == "date":
        return valeur == DATE_PURGE
    raise AssertionError(methode)


def test_la_purge_ne_laisse_rien_au_dela_de_son_terme_et_ne_touche_rien_d_autre(engine, sessions):
    ids = _peupler(sessions)
    avant = _instantane(engine)
    with sessions.begin() as s:
        plan = purger(s, DATE_PURGE, acteur="cli:purge")
    apres = _instantane(engine)
    changements = _changements(avant, apres)
    nouvelles = {c for c in changements if c[0] == "audit_entry" and c[1] not in avant["audit_entry"]}
    assert len(nouvelles) == 1, "une seule entrée du journal par purge"
    # Nothing changed that the policy does not allow.
    assert changements - nouvelles <= set(_permis(avant, ids))

    # Past term: no personal field survives (generic over the profiles, then key facts by name).
    sensibles = codes_sensibles()
    passees = {ids[n] for n in PASSEES}
    radiees = {ids[n] for n, r in RADIATIONS.items() if r}
    permis = _permis(avant, ids)
    verifies = 0
    for (table, cle, col), methode in permis.items():
        if col == "*":
            if methode == "supprimer":
                assert cle not in apres[table], (table, cle)
                verifies += 1
            elif methode == "supprimer_sensibles":
                assert (cle not in apres[table]) is (avant[table][cle]["code"] in sensibles), (table, cle)
                verifies += 1
            continue
        if cle not in apres[table]:
            assert (table, cle, "*") in permis, (table, cle)  # the whole row went (a sensitive situation)
            continue
        assert _conforme(methode, apres[table][cle][col], avant[table][cle][col], sensibles), (table, cle, col)
        verifies += 1
    assert verifies > 100
    with sessions() as s:
        for d in s.scalars(select(Demande).where(Demande.id.in_(passees))):
            assert d.anonymise_le == DATE_PURGE
            assert (d.adresse, d.code_postal, d.telephone, d.courriel) == (None, None, None, None)
            assert d.motifs == ["01"] and d.numero_unique in PASSEES
            for p in d.personnes:
                assert (p.nom, p.prenom, p.nom_naissance, p.profession, p.handicap_details, p.nationalite) == (None,) * 6
                assert p.date_naissance in (dt.date(1985, 1, 1), dt.date(1987, 1, 1))
                assert all(r.avis is None for r in p.revenus_fiscaux)
                assert [r.montant_mensuel for r in p.ressources] in ([Decimal("1450.00")], [])
            assert [x.code for x in d.situations] == ["PRIO_SANS_LOGEMENT"]
            assert all(x.verifiee_par is None for x in d.situations)
            assert all(r.details is None and r.motif == "TROP_LOIN" for r in d.refus)
            ev = s.get(EvaluationDemande, d.id)
            assert ev.quartile == 1 and ev.prioritaire and ev.revenu_retenu is None
            assert ev.priorites == [{"code": "PRIO_SANS_LOGEMENT", "libelle": "Sans logement"}]
            assert ev.detail_cotation == [] and ev.regles_appliquees == []
            assert s.scalars(select(SouhaitCommune).where(SouhaitCommune.demande_id == d.id)).all() == []
            assert s.scalars(select(SouhaitTypologie).where(SouhaitTypologie.demande_id == d.id)).all() == []
        for dec in s.scalars(select(Decision)):
            assert (dec.justification is None) is (dec.candidature.demande_id in passees)
            assert dec.type is not None and dec.decide_le is not None
        for r in s.scalars(select(RenvoiCalPhysique)):
            assert (r.motif is None) is (r.candidature.demande_id in passees)
        for a in s.scalars(select(Attribution)):
            assert a.indicateurs == {"prioritaire": True, "priorites": ["PRIO_SANS_LOGEMENT"]}
        # Within term: radiated demandes lose only their sensitive facts; the active one keeps everything.
        for numero in ("0591126000002B", "0591126000004D", "0591126000005E"):
            d = s.get(Demande, ids[numero])
            assert d.anonymise_le is None and d.telephone and d.personnes[0].nom and d.personnes[1].date_naissance.day == 2
            assert s.scalars(select(SouhaitCommune).where(SouhaitCommune.demande_id == d.id)).all() != []
            sensible_garde = numero == "0591126000005E"
            assert ("PRIO_VIOLENCES_COUPLE" in [x.code for x in d.situations]) is sensible_garde
            assert (d.personnes[0].handicap_details is not None) is sensible_garde
            assert ("06" in d.motifs) is sensible_garde
        assert s.get(Demande, ids["0591126000002B"]).id in radiees
        # Journal: old contents cleared, recent ones and purge entries whole; tokens and cache.
        for e in s.scalars(select(AuditEntry).where(AuditEntry.action != ACTION_PURGE, AuditEntry.acteur == "charge")):
            ancienne = e.horodatage.date() <= dt.date(2025, 6, 15)
            assert (e.avant is None and e.apres is None and e.details is None) is ancienne, e.horodatage
            assert e.action == "modifier_demande" and e.objet_id == "1"
        purges = s.scalars(select(AuditEntry).where(AuditEntry.action == ACTION_PURGE).order_by(AuditEntry.id)).all()
        assert len(purges) == 2 and purges[0].details == {"n": 1}
        assert sorted(j.libelle for j in s.scalars(select(JetonApi))) == ["Outil 1", "Outil 2"]
        assert [e.mois for e in s.scalars(select(EstimationApl))] == ["2026-06"]
        for o in s.scalars(select(Offre)):
            assert (o.commentaire is None) is (o.demande_id in passees) and o.motif_refus == "TROP_LOIN"
        points = {p.calcule_le.year: json.dumps(p.proposition) for p in s.scalars(select(PointOrdreDuJour))}
        assert "PRIO_VIOLENCES_COUPLE" not in points[2025] and "PRIO_SANS_LOGEMENT" in points[2025]
        assert "PRIO_VIOLENCES_COUPLE" in points[2026]
        assert [e.demande_id for e in s.scalars(select(ExplicationDemande))] == [ids["0591126000002B"]]
        exports = s.scalars(select(ExportSne).order_by(ExportSne.id)).all()
        assert [bytes(e.contenu) for e in exports] == [b"", b"<numUnique>0591126000001A</numUnique>1"]
        assert [e.sha256 for e in exports] == ["f" * 64] * 2 and len(s.scalars(select(LigneExportSne)).all()) == 2
        assert [b.reference for b in s.scalars(select(BailLocataire))] == ["B-RECENT"]
        assert [o.nom for o in s.scalars(select(OccupantLocataire))] == ["Locataire B-RECENT"]
        assert len(s.scalars(select(RevenuLocataire)).all()) == len(s.scalars(select(ExamenOccupation)).all()) == 1
        # Archives: the old séance is listed, not deleted.
        assert s.get(Seance, ids["_ancienne_seance"]) is not None

    # The audit entry: counts and ids, never a personal value.
    entree = purges[-1]
    assert entree.acteur == "cli:purge" and entree.objet_id == "2026-06-15"
    resume = entree.details["categories"]
    assert resume["demande_radiee_attribution"]["ids"] == [ids["0591126000001A"]]
    assert resume["demande_radiee_non_renouvellement"]["ids"] == [ids["0591126000003C"]]
    assert resume["demande_radiee_autre_motif"]["ids"] == [ids["0591126000006F"]]
    assert resume["demande_radiee_abandon"]["nombre"] == 0
    assert resume["demande_radiee_irrecevabilite"]["nombre"] == 0
    assert sorted(resume["situations_sensibles"]["ids"]) == sorted(radiees)
    assert resume["decisions_et_seances"]["ids"] == [ids["_ancienne_seance"]]
    assert resume["journal_audit"]["nombre"] == 2 and "ids" not in resume["journal_audit"]
    assert resume["jetons_api_revoques"]["nombre"] == 1 and resume["cache_estimations_apl"]["nombre"] == 1
    assert resume["locataires_en_place"]["nombre"] == 1 and resume["exports_sne"]["nombre"] == 1
    assert resume["demande_radiee_attribution"]["lignes"]["explication_demande"] == 1
    assert resume["demande_radiee_attribution"]["lignes"]["personne"] == 2
    texte = json.dumps(entree.details, ensure_ascii=False)
    personnels = {v for t in ("personne", "demande", "revenu_fiscal", "situation_prioritaire", "decision", "offre",
                              "occupant_locataire")
                  for ligne in avant[t].values()
                  for k, v in ligne.items()
                  if k in ("nom", "prenom", "nom_naissance", "telephone", "courriel", "adresse", "avis",
                           "verifiee_par", "justification", "handicap_details", "profession", "commentaire")
                  and isinstance(v, str)}
    assert personnels and not [v for v in personnels if v in texte]
    assert plan.resume()["categories"] == json.loads(json.dumps(resume))
    # « effacer » writes an SQL NULL, also in a JSON column (not the JSON value null).
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AuditEntry.__table__).where(
            AuditEntry.anonymise_le.isnot(None), AuditEntry.avant.is_(None), AuditEntry.details.is_(None))) == 2
        assert conn.scalar(select(func.count()).select_from(RefusOffre.__table__).where(RefusOffre.details.is_(None))) == 3


def test_la_purge_est_idempotente_et_la_simulation_n_ecrit_rien(engine, sessions):
    _peupler(sessions)
    avant = _instantane(engine)
    with sessions() as s:
        prevu = planifier(s, DATE_PURGE).resume()
        s.rollback()
    assert _instantane(engine) == avant
    with sessions.begin() as s:
        fait = purger(s, DATE_PURGE, acteur="cli:purge").resume()
    assert fait == prevu
    with sessions.begin() as s:
        second = purger(s, DATE_PURGE, acteur="cli:purge").resume()
    assert all(c["nombre"] == 0 for cid, c in second["categories"].items() if c["traitement"] != "archivage")
    assert second["categories"]["decisions_et_seances"]["nombre"] == 1


def _contexte(engine) -> Contexte:
    contexte = Contexte("sqlite://")
    contexte.__dict__["engine"] = engine  # the test database (its own PostgreSQL schema)
    return contexte


def test_la_commande_purge_simule_puis_purge(engine, sessions, monkeypatch):
    ids = _peupler(sessions)
    runner = CliRunner()
    simulation = runner.invoke(commande_purge, ["--simulation", "--date", "2026-06-15"], obj=_contexte(engine))
    assert simulation.exit_code == 0, simulation.output
    assert simulation.output.startswith("Simulation : rien n'est écrit. Purge au 2026-06-15")
    assert "Demande radiée après attribution (RADATT) (demande_radiee_attribution) : 1 à anonymiser" in simulation.output
    assert "[durée à vérifier]" in simulation.output
    with sessions() as s:
        assert s.get(Demande, ids["0591126000001A"]).anonymise_le is None
        assert s.scalars(select(AuditEntry).where(AuditEntry.acteur == "cli:purge")).all() == []
    en_json = runner.invoke(commande_purge, ["--simulation", "--json"], obj=_contexte(engine))
    donnees = json.loads(en_json.output)
    assert donnees["simulation"] is True and donnees["date"] == "2026-06-15"  # CALEOL_TODAY of the tests
    assert donnees["categories"]["demande_radiee_attribution"]["ids"] == [ids["0591126000001A"]]
    reel = runner.invoke(commande_purge, [], obj=_contexte(engine))
    assert reel.exit_code == 0, reel.output
    assert "Demande radiée après attribution (RADATT) (demande_radiee_attribution) : 1 anonymisé(s)" in reel.output
    with sessions() as s:
        assert s.get(Demande, ids["0591126000001A"]).anonymise_le == DATE_PURGE
        assert len(s.scalars(select(AuditEntry).where(AuditEntry.acteur == "cli:purge")).all()) == 1
    mauvaise = runner.invoke(commande_purge, ["--date", "15/06/2026"], obj=_contexte(engine))
    assert mauvaise.exit_code == 2 and "--date : date invalide « 15/06/2026 » (format AAAA-MM-JJ attendu)." in mauvaise.output


def test_une_date_plus_tardive_fait_passer_le_terme(engine, sessions):
    ids = _peupler(sessions)
    with sessions.begin() as s:
        purger(s, dt.date(2026, 8, 1), acteur="tests:purge")
    with sessions() as s:
        assert s.get(Demande, ids["0591126000002B"]).anonymise_le == dt.date(2026, 8, 1)
        assert s.get(Demande, ids["0591126000004D"]).anonymise_le == dt.date(2026, 8, 1)
        assert s.get(Demande, ids["0591126000005E"]).anonymise_le is None


# --------------------------------------------------------------------------- administration page


def test_la_page_d_administration_montre_la_politique_et_les_echus_sans_rien_ecrire(engine, sessions):
    from tests.webapp.decisions_exemple import client

    _peupler(sessions)
    admin = client(engine, "admin")  # the application start records the rulebook version
    avant = _instantane(engine)
    page = admin.get("/admin/conservation")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Conservation des données</h1>" in html and 'id="date-purge">15/06/2026<' in html
    for c in politique().categories:
        assert f'id="categorie-{c.id}"' in html
    bloc = html.split('id="categorie-demande_radiee_attribution"')[1].split("</tr>")[0]
    assert '<span class="echus">1</span>' in bloc and "12 mois" in bloc and "à vérifier" in bloc
    assert "événement au plus tard le 2025-06-15" in bloc
    bloc = html.split('id="categorie-decisions_et_seances"')[1].split("</tr>")[0]
    assert '<span class="echus">1</span>' in bloc and "archivage" in bloc
    assert "Benali" not in html and "0591126000001A" not in html
    assert _instantane(engine) == avant
    for qui in ("charge", "president", "lecteur", "membre1"):
        assert client(engine, qui).get("/admin/conservation").status_code == 403, qui


def test_une_politique_incompatible_avec_le_modele_arrete_la_commande_sans_rien_ecrire(engine, sessions, tmp_path, monkeypatch):
    import webapp.services.conservation as service

    _peupler(sessions)
    with open(FICHIER_POLITIQUE, encoding="utf-8") as f:
        donnees = json.loads(json.dumps(yaml.safe_load(f), default=str))
    donnees["categories"][1]["tables"].append("table_disparue")
    casse = charger_politique(_ecrire(tmp_path, donnees))
    monkeypatch.setattr(service, "politique", lambda: casse)
    avant = _instantane(engine)
    r = CliRunner().invoke(commande_purge, [], obj=_contexte(engine))
    assert r.exit_code == 2
    assert r.output == ("Erreur : politique de conservation invalide : politique.yaml, règle demande_radiee_attribution, "
                        "champ tables : table inconnue du modèle : table_disparue\n")
    assert _instantane(engine) == avant


def test_la_fiche_d_une_demande_anonymisee_le_dit_et_ne_montre_plus_personne(engine, sessions):
    from tests.webapp.decisions_exemple import client

    _peupler(sessions)
    with sessions.begin() as s:
        purger(s, DATE_PURGE, acteur="tests:purge")
    charge = client(engine, "charge")
    html = charge.get("/demandes/0591126000001A").get_data(as_text=True)
    assert 'id="demande-anonymisee">Anonymisée le 15/06/2026' in html
    assert "Benali" not in html and "Amina" not in html and "foyer1@exemple.fr" not in html
    html = charge.get("/demandes/0591126000002B").get_data(as_text=True)
    assert "demande-anonymisee" not in html and "Carpentier" in html


def test_le_journal_montre_la_purge_et_les_entrees_anonymisees(engine, sessions):
    from tests.webapp.decisions_exemple import client

    _peupler(sessions)
    with sessions.begin() as s:
        purger(s, DATE_PURGE, acteur="cli:purge")
    html = client(engine, "lecteur").get("/audit?action=modifier_demande").get_data(as_text=True)
    assert html.count('class="entree-anonymisee">Avant, après et détails effacés le 15/06/2026') == 2
    html = client(engine, "lecteur").get(f"/audit?action={ACTION_PURGE}").get_data(as_text=True)
    assert "categories.demande_radiee_attribution.nombre" in html and "cli:purge" in html
