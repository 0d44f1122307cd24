"""Gestion en flux: exclusions, orientation au plus grand écart (déterministe, expliquée), désignations
dans le délai, restitutions, compteurs, et une année simulée où chaque réservataire finit à moins d'un
logement de sa part. Données construites à la main (`Patrimoine`), partagées avec test_quotas et test_bilan.
"""
from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.yaml_strict import ErreurRegles
from webapp.cli import main
from webapp.models import (
    Attribution,
    AuditEntry,
    ConventionReservation,
    Demande,
    Designation,
    Financement,
    Logement,
    ModeReservation,
    Organisation,
    OrientationFlux,
    Reservataire,
    Residence,
    StatutDemande,
    StatutLogement,
    StatutOrientation,
    TypeOrganisation,
    Typologie,
    TypeReservataire,
)
from webapp.services import flux
from webapp.services.flux import (
    ErreurFlux,
    ParametresFlux,
    charger_regles_flux,
    compteurs,
    designe_par_bailleur,
    designer,
    orientation_en_cours,
    orienter,
    orienter_vacants,
    restituer_echues,
    unites_de_l_annee,
)

LILLE = "59350"  # Métropole européenne de Lille (200093201), Nord
VALENCIENNES = "59606"  # CA Valenciennes Métropole (245901160), Nord
MEL = "200093201"
CAVM = "245901160"
QPV_LILLE = "QN05971M"
JOUR = dt.date(2026, 6, 15)


class Patrimoine:
    """A bailleur, the conventions of the demo (État 25 % + 5 %, Action Logement 30 %, each EPCI 20 %,
    the bailleur the remainder) and helpers to add dwellings, demandes and attributions."""

    def __init__(self, session, *, annee: int = 2026, conventions: bool = True, convention_bailleur: bool = False):
        self.s = session
        self.bailleur = Organisation(nom="Bailleur d'essai", type=TypeOrganisation.BAILLEUR)
        etat = Organisation(nom="Services de l'État (essai)", type=TypeOrganisation.ETAT)
        al = Organisation(nom="Action Logement (essai)", type=TypeOrganisation.RESERVATAIRE)
        session.add_all([self.bailleur, etat, al])
        session.flush()
        self.etat_prio = self._reservataire("État — prioritaires", TypeReservataire.ETAT_PRIORITAIRES, etat)
        self.etat_agents = self._reservataire("État — agents", TypeReservataire.ETAT_FONCTIONNAIRES, etat)
        self.al = self._reservataire("Action Logement", TypeReservataire.ACTION_LOGEMENT, al)
        self.mel = self._reservataire("Métropole (réservataire)", TypeReservataire.COLLECTIVITE, None)
        self.cavm = self._reservataire("Valenciennes (réservataire)", TypeReservataire.COLLECTIVITE, None)
        self.propre = self._reservataire("Bailleur d'essai — hors contingent", TypeReservataire.BAILLEUR, self.bailleur)
        self.armee = self._reservataire("Ministère des Armées", TypeReservataire.AUTRE, None)
        self.annee = annee
        if conventions:
            for r, territoire, part in (
                (self.etat_prio, "59", "0.25"), (self.etat_agents, "59", "0.05"), (self.al, "59", "0.30"),
                (self.mel, MEL, "0.20"), (self.cavm, CAVM, "0.20"),
            ):
                self.convention(r, territoire, part)
            if convention_bailleur:
                self.convention(self.propre, "59", "0.20")
        self.residences: dict[tuple[str, str | None, int], Residence] = {}
        self.n_logements = 0
        self.n_demandes = 0

    def _reservataire(self, nom, type_, organisation) -> Reservataire:
        r = Reservataire(nom=nom, type=type_, organisation_id=organisation.id if organisation else None)
        self.s.add(r)
        self.s.flush()
        return r

    def convention(self, reservataire, territoire, part, annee=None) -> ConventionReservation:
        c = ConventionReservation(reservataire_id=reservataire.id, bailleur_id=self.bailleur.id, territoire=territoire,
                                  annee=annee or self.annee, part_flux=Decimal(part))
        self.s.add(c)
        self.s.flush()
        return c

    def logement(self, commune=LILLE, *, qpv=None, typologie="T3", financement="PLUS", statut=StatutLogement.VACANT,
                 mode=ModeReservation.FLUX, stock=None, annee_construction=1990) -> Logement:
        cle = (commune, qpv, annee_construction)
        residence = self.residences.get(cle)
        if residence is None:
            residence = Residence(bailleur_id=self.bailleur.id, nom=f"Résidence {len(self.residences) + 1}",
                                  adresse="1 rue d'essai", code_insee=commune, qpv_code=qpv,
                                  annee_construction=annee_construction)
            self.s.add(residence)
            self.s.flush()
            self.residences[cle] = residence
        self.n_logements += 1
        lg = Logement(
            residence_id=residence.id, reference=f"L{self.n_logements:05d}", typologie=Typologie(typologie),
            nb_pieces=int(typologie[1]), surface_habitable=Decimal("60"), etage=1, ascenseur=True, accessible_pmr=False,
            financement=Financement(financement), plai_adapte=False, loyer_principal=Decimal("400"),
            loyer_annexes=Decimal("0"), charges_recuperables=Decimal("60"), contribution_travaux=Decimal("0"),
            statut=statut, date_liberation=JOUR, mode_reservation=mode,
            reservataire_stock_id=stock.id if stock else None,
        )
        self.s.add(lg)
        self.s.flush()
        return lg

    def demande(self, *, statut=StatutDemande.ACTIVE, anru=False) -> Demande:
        self.n_demandes += 1
        d = Demande(numero_unique=f"059112600{self.n_demandes:05d}D", date_depot=dt.date(2025, 1, 1), statut=statut,
                    relogement_anru=anru)
        self.s.add(d)
        self.s.flush()
        return d

    def attribution(self, logement, *, reservataire=None, decision=dt.date(2026, 3, 1), bail=dt.date(2026, 3, 20),
                    demande=None, **indicateurs) -> Attribution:
        faits = {"quartile": 2, "prioritaire": False, "dalo": False, "sortant_hebergement": False, "sans_abri": False,
                 "anru": False}
        faits.update(indicateurs)
        a = Attribution(logement_id=logement.id, demande_id=(demande or self.demande()).id,
                        reservataire_id=reservataire.id if reservataire else None, date_decision=decision,
                        date_signature_bail=bail, indicateurs=faits)
        self.s.add(a)
        self.s.flush()
        return a


def _audits(session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _parametres(**changes) -> ParametresFlux:
    base = flux.parametres_flux(JOUR)
    return ParametresFlux(**{**base.__dict__, **changes})


# -- les règles d'exclusion -------------------------------------------------------------------------


def test_les_exclusions_du_flux_sont_des_regles_avec_reference_et_non_confirmees():
    regles = charger_regles_flux()
    assert [r.id for r in regles.regles] == [
        "flux.reservation_stock_conservee", "flux.mutation_interne_exclue",
        "flux.relogement_renouvellement_urbain_exclu", "flux.relogement_operation_exclu",
    ]
    for r in regles.regles:
        assert r.reference["lien"].startswith("https://www.legifrance.gouv.fr/")
        assert r.non_confirme and "[UNCONFIRMED]" in r.note
    assert set(regles.destinations) == {"mutation_interne", "relogement_anru", "relogement_orcod", "relogement_operation"}


def test_un_fichier_d_exclusions_casse_est_refuse_en_nommant_fichier_regle_et_champ(tmp_path: Path):
    source = flux.fichier_exclusions().read_text(encoding="utf-8")
    casse = tmp_path / "exclusions.yaml"
    casse.write_text(source.replace("valeur: mutation_interne}", "valeur: demenagement}", 1), encoding="utf-8")
    with pytest.raises(ErreurRegles) as exc:
        charger_regles_flux(casse)
    assert exc.value.regle == "flux.mutation_interne_exclue" and exc.value.champ == "condition.valeur"
    sans_note = tmp_path / "sans_note.yaml"
    sans_note.write_text(source.replace("[UNCONFIRMED] Exclusion couramment citée ;", "Exclusion citée ;", 1), encoding="utf-8")
    with pytest.raises(ErreurRegles, match="règle flux.relogement_renouvellement_urbain_exclu, champ note"):
        charger_regles_flux(sans_note)


@pytest.mark.parametrize("destination, motif", [
    ("mutation_interne", "mutation_interne"),
    ("relogement_anru", "relogement_renouvellement_urbain"),
    ("relogement_orcod", "relogement_renouvellement_urbain"),
    ("relogement_operation", "relogement_operation"),
])
def test_un_logement_destine_a_une_mutation_ou_un_relogement_sort_du_flux(session, destination, motif):
    p = Patrimoine(session)
    lg = p.logement()
    o = orienter(session, lg.id, JOUR, "tests", destination=destination)
    assert o.statut == StatutOrientation.HORS_FLUX and o.motif_exclusion == motif and o.reservataire_id is None
    assert o.explication["exclusion"]["non_confirme"] is True
    assert designe_par_bailleur(o)
    # Hors flux : il ne compte dans la part de personne.
    assert unites_de_l_annee(session, p.bailleur.id, 2026, _parametres()) == []
    suivant = orienter(session, p.logement().id, JOUR, "tests")
    assert suivant.explication["lignes"][0]["flux_territoire"] == 0


def test_une_reservation_en_stock_reste_au_reservataire_titulaire_hors_flux(session):
    p = Patrimoine(session)
    lg = p.logement(mode=ModeReservation.STOCK, stock=p.armee)
    o = orienter(session, lg.id, JOUR, "tests")
    assert o.motif_exclusion == "reservation_stock" and o.reservataire_id == p.armee.id
    assert o.statut == StatutOrientation.EN_ATTENTE and o.date_limite_designation == JOUR + dt.timedelta(days=30)
    assert not designe_par_bailleur(o)
    assert unites_de_l_annee(session, p.bailleur.id, 2026, _parametres()) == []


def test_une_destination_inconnue_est_refusee_sans_rien_ecrire(session):
    p = Patrimoine(session)
    lg = p.logement()
    with pytest.raises(ErreurFlux) as exc:
        orienter(session, lg.id, JOUR, "tests", destination="vente")
    assert "destination" in exc.value.erreurs and "mutation_interne" in str(exc.value)
    assert session.scalar(select(func.count()).select_from(OrientationFlux)) == 0


def test_un_logement_occupe_ou_deja_oriente_n_est_pas_oriente(session):
    p = Patrimoine(session)
    occupe = p.logement(statut=StatutLogement.OCCUPE)
    with pytest.raises(ErreurFlux, match="n'est pas vacant"):
        orienter(session, occupe.id, JOUR, "tests")
    lg = p.logement()
    premiere = orienter(session, lg.id, JOUR, "tests")
    with pytest.raises(ErreurFlux, match=f"orientation en cours \\(n° {premiere.id}"):
        orienter(session, lg.id, JOUR, "tests")
    with pytest.raises(ErreurFlux, match="Logement 999999 introuvable"):
        orienter(session, 999999, JOUR, "tests")
    assert orientation_en_cours(session, lg.id).id == premiere.id
    assert orientation_en_cours(session, occupe.id) is None


# -- l'algorithme ----------------------------------------------------------------------------------


def test_le_premier_logement_va_a_la_plus_grande_part_et_l_explication_donne_parts_comptes_et_ecarts(session):
    p = Patrimoine(session)
    o = orienter(session, p.logement(LILLE).id, JOUR, "tests")
    assert o.reservataire_id == p.al.id and o.statut == StatutOrientation.EN_ATTENTE
    e = o.explication
    lignes = {x["reservataire_id"]: x for x in e["lignes"]}
    # Lille : État (59) 25 % et 5 %, Action Logement (59) 30 %, la Métropole 20 %, le reste (20 %) au bailleur.
    assert set(lignes) == {p.etat_prio.id, p.etat_agents.id, p.al.id, p.mel.id, p.propre.id}
    assert lignes[p.al.id] | {} == lignes[p.al.id] and lignes[p.al.id]["part"] == 0.3 and lignes[p.al.id]["ecart"] == 0.3
    assert lignes[p.mel.id]["territoire"] == MEL and lignes[p.propre.id]["part"] == 0.2
    assert lignes[p.propre.id]["territoire"] == MEL  # le reste est mesuré sur le plus petit territoire des conventions
    assert all(x["comptes"] == 0 and x["flux_territoire"] == 0 for x in e["lignes"])
    assert e["retenu"]["reservataire_id"] == p.al.id and "Action Logement" in e["motif"]
    assert e["decompte"] == "orientation" and "flux.decompte" in e["parametres_a_verifier"]
    assert o.date_limite_designation == JOUR + dt.timedelta(days=30)
    # Deuxième logement : Action Logement a 0,3 × 2 − 1 = −0,4 ; l'État prioritaire 0,25 × 2 = 0,5 l'emporte.
    o2 = orienter(session, p.logement(LILLE).id, JOUR, "tests")
    assert o2.reservataire_id == p.etat_prio.id
    assert {x["reservataire_id"]: x["ecart"] for x in o2.explication["lignes"]}[p.al.id] == -0.4
    assert len(_audits(session, "flux.orienter")) == 2


def test_une_egalite_est_departagee_par_l_ordre_stable_des_types(session):
    p = Patrimoine(session, conventions=False)
    p.convention(p.al, "59", "0.25")
    p.convention(p.etat_prio, "59", "0.25")
    o = orienter(session, p.logement().id, JOUR, "tests")
    # Écarts égaux (0,25 chacun, et 0,5 pour le reste du bailleur) : le bailleur d'abord ; puis l'État avant Action Logement.
    assert o.explication["retenu"]["type"] == "bailleur"
    o2 = orienter(session, p.logement().id, JOUR, "tests")
    assert o2.reservataire_id == p.etat_prio.id and "ordre stable" in o2.explication["motif"]


def test_sans_convention_le_logement_reste_au_bailleur(session):
    p = Patrimoine(session, conventions=False)
    o = orienter(session, p.logement().id, JOUR, "tests")
    assert o.reservataire_id == p.propre.id and o.date_limite_designation is None
    assert designe_par_bailleur(o) and "Aucune convention" in o.explication["motif"]


def test_des_conventions_au_dela_de_100_pourcent_sont_refusees(session):
    p = Patrimoine(session)
    p.convention(p.armee, "59", "0.30")
    with pytest.raises(ErreurFlux, match="dépassent 100 % du flux"):
        orienter(session, p.logement().id, JOUR, "tests")


def _sequence(session, patrimoine, communes, *, une_par_une: bool) -> list[int | None]:
    logements = [patrimoine.logement(c) for c in communes]
    if une_par_une:
        orientations = [orienter(session, lg.id, JOUR + dt.timedelta(days=i // 3), "tests") for i, lg in enumerate(logements)]
        return [o.reservataire_id for o in orientations]
    orientations = orienter_vacants(session, JOUR, "tests")
    return [o.reservataire_id for o in sorted(orientations, key=lambda o: o.logement_id)]


def test_l_orientation_est_deterministe_une_par_une_comme_en_lot(sessions):
    tirage = random.Random(7)
    communes = [tirage.choice([LILLE, VALENCIENNES]) for _ in range(40)]
    resultats = []
    for une_par_une in (True, False, True):
        with sessions() as s:
            p = Patrimoine(s)
            seq = _sequence(s, p, communes, une_par_une=une_par_une)
            noms = {r.id: r.nom for r in s.scalars(select(Reservataire))}
            resultats.append([noms.get(x) for x in seq])
            s.rollback()
    assert resultats[0] == resultats[1] == resultats[2]
    assert len(set(resultats[0])) == 6  # État ×2, Action Logement, deux collectivités, bailleur


def test_sur_une_annee_de_400_vacances_chaque_reservataire_finit_a_moins_d_un_logement_de_sa_part(session):
    p = Patrimoine(session)
    r = random.Random(2026)
    logements = [p.logement(LILLE if r.random() < 0.6 else VALENCIENNES) for _ in range(400)]
    jour = dt.date(2026, 1, 2)
    for i, lg in enumerate(logements):
        orienter(session, lg.id, jour + dt.timedelta(days=i * 360 // 400), "tests")
    lignes = compteurs(session, p.bailleur.id, 2026)
    par_cle = {(x["reservataire_id"], x["territoire"]): x for x in lignes}
    assert par_cle[(p.al.id, "59")]["flux_territoire"] == 400
    for x in lignes:
        assert abs(x["ecart"]) <= 1, x
        assert x["orientes"] == x["comptes"]
    n_lille = sum(1 for lg in logements if lg.residence.code_insee == LILLE)
    assert par_cle[(p.mel.id, MEL)]["flux_territoire"] == n_lille
    assert abs(par_cle[(p.mel.id, MEL)]["comptes"] - 0.2 * n_lille) <= 1
    bailleur = par_cle[(p.propre.id, "59")]
    assert bailleur["part"] is None and abs(bailleur["du"] - 0.2 * 400) < 1e-6
    assert sum(x["comptes"] for x in lignes if x["territoire"] == "59") + par_cle[(p.mel.id, MEL)]["comptes"] \
        + par_cle[(p.cavm.id, CAVM)]["comptes"] == 400


def test_les_attributions_sans_orientation_comptent_pour_leur_reservataire(session):
    p = Patrimoine(session)
    for _ in range(3):
        p.attribution(p.logement(statut=StatutLogement.OCCUPE), reservataire=p.al)
    p.attribution(p.logement(statut=StatutLogement.OCCUPE), reservataire=p.al, decision=dt.date(2025, 12, 30))
    o = orienter(session, p.logement().id, JOUR, "tests")
    al = next(x for x in o.explication["lignes"] if x["reservataire_id"] == p.al.id)
    assert al["comptes"] == 3 and al["flux_territoire"] == 3  # l'attribution de 2025 n'est pas de l'année
    assert o.reservataire_id == p.etat_prio.id


# -- le paramètre de décompte ------------------------------------------------------------------------


def test_le_decompte_a_la_proposition_ou_au_bail_signe_ne_compte_que_ce_qui_est_fait(session):
    p = Patrimoine(session)
    o1 = orienter(session, p.logement().id, JOUR, "tests")  # Action Logement
    o2 = orienter(session, p.logement().id, JOUR, "tests")  # État prioritaires
    designer(session, o1.id, [p.demande().id], JOUR, "tests")
    a = p.attribution(session.get(Logement, o1.logement_id), reservataire=p.al, decision=JOUR + dt.timedelta(days=5), bail=None)

    def comptes(**parametres):
        return sorted((u.cle, u.compte) for u in unites_de_l_annee(session, p.bailleur.id, 2026, _parametres(**parametres)))

    al, etat = f"r{p.al.id}", f"r{p.etat_prio.id}"
    assert comptes(decompte="orientation") == sorted([(al, True), (etat, True)])
    assert comptes(decompte="proposition") == sorted([(al, True), (etat, False)])
    assert comptes(decompte="bail_signe") == sorted([(al, False), (etat, False)])
    a.date_signature_bail = JOUR + dt.timedelta(days=20)
    session.flush()
    assert comptes(decompte="bail_signe") == sorted([(al, True), (etat, False)])
    # Une orientation restituée reste imputée au réservataire, sauf si le paramètre dit le contraire.
    restituer_echues(session, o2.date_limite_designation + dt.timedelta(days=1), "tests")
    assert comptes(decompte="orientation") == sorted([(al, True), (etat, True)])
    assert comptes(decompte="orientation", restitution_imputee=False) == sorted([(al, True), ("bailleur", True)])


def test_au_decompte_par_bail_signe_les_logements_en_cours_comptent_pour_choisir(session, monkeypatch):
    p = Patrimoine(session)
    parametres = _parametres(decompte="bail_signe")
    monkeypatch.setattr(flux, "parametres_flux", lambda date: parametres)
    choisis = [orienter(session, p.logement().id, JOUR, "tests").reservataire_id for _ in range(3)]
    # Aucun bail signé : sans compter les orientations en cours, Action Logement recevrait les trois logements.
    assert choisis == [p.al.id, p.etat_prio.id, p.mel.id]
    assert orienter(session, p.logement().id, JOUR, "tests").explication["decompte"] == "bail_signe"


# -- désignations et restitutions ---------------------------------------------------------------------


def test_le_reservataire_designe_dans_le_delai_des_demandes_actives_classees(session):
    p = Patrimoine(session)
    o = orienter(session, p.logement().id, JOUR, "tests")
    d1, d2, d3 = p.demande(), p.demande(), p.demande()
    nouvelles = designer(session, o.id, [d2.id, d1.id], o.date_limite_designation, "reservataire")
    assert [(x.demande_id, x.rang) for x in nouvelles] == [(d2.id, 1), (d1.id, 2)]
    designer(session, o.id, [d3.id], o.date_limite_designation, "reservataire")
    assert [x.rang for x in o.designations] == [1, 2, 3] and o.statut == StatutOrientation.DESIGNEE
    audit = _audits(session, "flux.designer")
    assert len(audit) == 2 and audit[0].details["demandes"] == [d2.id, d1.id] and audit[0].acteur == "reservataire"


@pytest.mark.parametrize("cas, message", [
    ("apres_le_delai", "Délai de désignation expiré"),
    ("demande_radiee", "n'est pas active"),
    ("doublon", "désignée deux fois"),
    ("vide", "Au moins une demande"),
    ("inconnue", "introuvable"),
    ("avant_l_orientation", "antérieure à l'orientation"),
])
def test_une_designation_fautive_est_refusee_sans_rien_ecrire(session, cas, message):
    p = Patrimoine(session)
    o = orienter(session, p.logement().id, JOUR, "tests")
    d = p.demande()
    date, ids = JOUR, [d.id]
    if cas == "apres_le_delai":
        date = o.date_limite_designation + dt.timedelta(days=1)
    elif cas == "demande_radiee":
        ids = [p.demande(statut=StatutDemande.RADIEE).id]
    elif cas == "doublon":
        ids = [d.id, d.id]
    elif cas == "vide":
        ids = []
    elif cas == "inconnue":
        ids = [d.id, 987654]
    else:
        date = JOUR - dt.timedelta(days=1)
    with pytest.raises(ErreurFlux, match=message):
        designer(session, o.id, ids, date, "tests")
    assert session.scalar(select(func.count()).select_from(Designation)) == 0
    assert o.statut == StatutOrientation.EN_ATTENTE and not _audits(session, "flux.designer")


def test_la_part_propre_du_bailleur_n_attend_aucune_designation(session):
    p = Patrimoine(session, conventions=False)
    o = orienter(session, p.logement().id, JOUR, "tests")
    with pytest.raises(ErreurFlux, match="part propre du bailleur"):
        designer(session, o.id, [p.demande().id], JOUR, "tests")
    assert restituer_echues(session, JOUR + dt.timedelta(days=365), "tests") == []


def test_sans_designation_dans_le_delai_le_logement_revient_au_bailleur_et_l_evenement_est_journalise(session):
    p = Patrimoine(session)
    o1 = orienter(session, p.logement().id, JOUR, "tests")
    o2 = orienter(session, p.logement().id, JOUR + dt.timedelta(days=1), "tests")
    o3 = orienter(session, p.logement().id, JOUR, "tests")
    designer(session, o3.id, [p.demande().id], JOUR, "tests")
    limite = o1.date_limite_designation
    # Le jour limite est encore dans le délai.
    assert restituer_echues(session, limite, "tests") == []
    rendues = restituer_echues(session, limite + dt.timedelta(days=1), "cli:flux echeances")
    assert [o.id for o in rendues] == [o1.id]
    assert o1.statut == StatutOrientation.RESTITUEE and o1.date_restitution == limite + dt.timedelta(days=1)
    assert o1.explication["restitution"]["imputee_au_reservataire"] is True
    assert designe_par_bailleur(o1) and orientation_en_cours(session, o1.logement_id).id == o1.id
    assert o2.statut == StatutOrientation.EN_ATTENTE and o3.statut == StatutOrientation.DESIGNEE
    (audit,) = _audits(session, "flux.restituer_echues")
    assert audit.acteur == "cli:flux echeances" and audit.details["restitutions"][0] == {
        "orientation_id": o1.id, "logement_id": o1.logement_id, "reservataire_id": o1.reservataire_id,
        "date_limite_designation": limite.isoformat(),
    }
    with pytest.raises(ErreurFlux, match="n'attend pas de désignation"):
        designer(session, o1.id, [p.demande().id], limite, "tests")
    lignes = compteurs(session, p.bailleur.id, 2026)
    al = next(x for x in lignes if x["reservataire_id"] == o1.reservataire_id)
    assert al["restitues"] == 1 and al["orientes"] == 1 and al["comptes"] == 1


def test_une_orientation_est_close_quand_le_logement_est_attribue(session):
    p = Patrimoine(session)
    o = orienter(session, p.logement().id, JOUR, "tests")
    p.attribution(session.get(Logement, o.logement_id), reservataire=p.al, decision=JOUR + dt.timedelta(days=10), bail=None)
    assert flux.cloturer_attribuees(session, JOUR + dt.timedelta(days=9), "tests") == []
    assert [x.id for x in flux.cloturer_attribuees(session, JOUR + dt.timedelta(days=10), "tests")] == [o.id]
    assert o.statut == StatutOrientation.CLOSE and orientation_en_cours(session, o.logement_id) is None


def test_les_compteurs_donnent_part_du_orientes_designes_attribues_et_restitues(session):
    p = Patrimoine(session, convention_bailleur=True)
    orientations = [orienter(session, p.logement().id, JOUR, "tests") for _ in range(10)]
    al = [o for o in orientations if o.reservataire_id == p.al.id]
    designer(session, al[0].id, [p.demande().id], JOUR, "tests")
    p.attribution(session.get(Logement, al[0].logement_id), reservataire=p.al, decision=JOUR + dt.timedelta(days=3),
                  bail=JOUR + dt.timedelta(days=9))
    lignes = compteurs(session, p.bailleur.id, 2026)
    ligne_al = next(x for x in lignes if x["reservataire_id"] == p.al.id)
    assert ligne_al == {
        "reservataire_id": p.al.id, "reservataire": "Action Logement", "type": "action_logement", "territoire": "59",
        "part": 0.3, "flux_territoire": 10, "du": 3.0, "orientes": 3, "en_attente": 2, "designes": 1, "restitues": 0,
        "attribues": 1, "baux_signes": 1, "comptes": 3, "ecart": 0.0,
    }
    assert sum(x["orientes"] for x in lignes if x["territoire"] in ("59", MEL)) == 10
    assert [x["type"] for x in lignes if x["territoire"] == "59"] == [
        "etat_prioritaires", "etat_fonctionnaires", "action_logement", "bailleur"]


# -- la commande -------------------------------------------------------------------------------------


def _url_sqlite(backend, engine) -> str:
    if backend != "sqlite":
        pytest.skip("La commande est testée sur SQLite ; PostgreSQL passe par les fonctions de service.")
    return engine.url.render_as_string(hide_password=False)


def test_les_commandes_flux_orientent_les_vacants_restituent_et_comptent(backend, engine, sessions):
    url = _url_sqlite(backend, engine)
    with sessions() as s:
        p = Patrimoine(s)
        for _ in range(5):
            p.logement()
        p.logement(statut=StatutLogement.OCCUPE)
        bailleur_id = p.bailleur.id
        s.commit()
    runner = CliRunner()
    r = runner.invoke(main, ["--database-url", url, "flux", "orienter", "--vacants", "--date", "2026-06-15"])
    assert r.exit_code == 0, r.output
    assert "5 logements orientés" in r.output
    r = runner.invoke(main, ["--database-url", url, "flux", "orienter", "--vacants", "--date", "2026-06-15"])
    assert "0 logement orienté" in r.output
    r = runner.invoke(main, ["--database-url", url, "flux", "echeances", "--date", "2026-07-16"])
    assert r.exit_code == 0 and "4 orientations restituées au bailleur" in r.output, r.output
    r = runner.invoke(main, ["--database-url", url, "flux", "compteurs", "--annee", "2026"])
    assert r.exit_code == 0 and "Action Logement" in r.output and "Restitués" in r.output, r.output
    r = runner.invoke(main, ["--database-url", url, "flux", "compteurs", "--annee", "2026", "--json"])
    donnees = json.loads(r.output)
    assert sum(x["orientes"] for x in donnees[str(bailleur_id)] if x["territoire"] in ("59", MEL)) == 5
    with sessions() as s:
        attente = s.scalars(select(OrientationFlux).where(OrientationFlux.statut == StatutOrientation.RESTITUEE)).first()
        nouveau = Patrimoine.__new__(Patrimoine)
        nouveau.s, nouveau.n_demandes = s, 900
        numeros = [nouveau.demande().numero_unique for _ in range(2)]
        lg = Logement(**{c: getattr(attente.logement, c) for c in (
            "residence_id", "typologie", "nb_pieces", "surface_habitable", "etage", "ascenseur", "accessible_pmr", "financement",
            "plai_adapte", "loyer_principal", "loyer_annexes", "charges_recuperables", "contribution_travaux", "statut",
            "mode_reservation")}, reference="L-CLI")
        s.add(lg)
        s.commit()
        logement_id = lg.id
    r = runner.invoke(main, ["--database-url", url, "flux", "orienter", str(logement_id), "--date", "2026-08-01"])
    assert r.exit_code == 0 and "1 logement orienté" in r.output and "plus grand écart" in r.output, r.output
    with sessions() as s:
        orientation_id = orientation_en_cours(s, logement_id).id
    r = runner.invoke(main, ["--database-url", url, "flux", "designer", str(orientation_id), *numeros, "--date", "2026-08-02"])
    assert r.exit_code == 0 and "2 candidats désignés" in r.output and "rangs 1, 2" in r.output, r.output
    r = runner.invoke(main, ["--database-url", url, "flux", "designer", str(orientation_id), "0000INCONNU", "--date", "2026-08-02"])
    assert r.exit_code == 2 and "Demande 0000INCONNU introuvable" in r.output
    r = runner.invoke(main, ["--database-url", url, "flux", "orienter", "--vacants", "--destination", "mutation_interne"])
    assert r.exit_code == 2 and "--destination" in r.output
    avant = runner.invoke(main, ["--database-url", url, "flux", "echeances", "--date", "2019-06-15"])
    assert avant.exit_code == 2 and "aucune valeur en vigueur au 2019-06-15" in avant.output and "Traceback" not in avant.output
    mauvais = runner.invoke(main, ["--database-url", url, "flux", "orienter", "--vacants", "--date", "15/06/2026"])
    assert mauvais.exit_code == 2 and "date invalide" in mauvais.output and "Traceback" not in mauvais.output
    with sessions() as s:
        assert len(_audits(s, "flux.orienter_vacants")) == 1 and len(_audits(s, "flux.restituer_echues")) == 1
