"""Models round-trip on SQLite and PostgreSQL; the migrations build the schema of the models."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import inspect, select

from webapp.migrations import current
from webapp.models import (
    Base,
    Commune,
    Demande,
    Logement,
    Organisation,
    Personne,
    Qpv,
    Residence,
    Ressource,
    RevenuFiscal,
    RolePersonne,
    SensRessource,
    SituationPrioritaire,
    TypeOrganisation,
)


def test_migrations_creent_toutes_les_tables_des_modeles(engine):
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert current(engine) is not None


def test_le_territoire_de_reference_est_charge(session):
    lille = session.get(Commune, "59350")
    assert lille.nom == "Lille"
    assert lille.epci_siren == "200093201"
    frais_marais = session.get(Qpv, "QN05905M")
    assert {c.code_insee for c in frais_marais.communes} >= {"59178"}


def test_une_demande_complete_fait_l_aller_retour(sessions):
    with sessions.begin() as s:
        d = Demande(
            numero_unique="059112500012345A",
            date_depot=dt.date(2024, 3, 1),
            typologies_souhaitees=["T2", "T3"],
            communes_souhaitees=["59350"],
            motifs=["09", "13"],
            logement_actuel_loyer=Decimal("612.40"),
            dalo_date_decision=dt.date(2025, 1, 10),
        )
        p = Personne(
            role=RolePersonne.DEMANDEUR,
            nom="Martin",
            date_naissance=dt.date(1985, 5, 4),
        )
        p.revenus_fiscaux.append(RevenuFiscal(annee=2024, montant=Decimal("18250.00"), avis="avis-1"))
        p.ressources.append(Ressource(sens=SensRessource.RECUE, code="SAL", montant_mensuel=Decimal("1450.55")))
        d.personnes.append(p)
        d.situations.append(SituationPrioritaire(code="PRIO_SANS_LOGEMENT", verifiee=True))
        s.add(d)
    with sessions() as s:
        relue = s.scalars(select(Demande).where(Demande.numero_unique == "059112500012345A")).one()
        assert relue.typologies_souhaitees == ["T2", "T3"]
        assert relue.logement_actuel_loyer == Decimal("612.40")
        assert relue.personnes[0].revenus_fiscaux[0].montant == Decimal("18250.00")
        assert relue.personnes[0].ressources[0].montant_mensuel == Decimal("1450.55")
        assert relue.situations[0].code == "PRIO_SANS_LOGEMENT"


def test_un_logement_fait_l_aller_retour(sessions):
    with sessions.begin() as s:
        b = Organisation(nom="Bailleur test", type=TypeOrganisation.BAILLEUR)
        r = Residence(bailleur=b, nom="Les Tilleuls", adresse="1 rue des Tilleuls", code_insee="59350", qpv_code=None)
        s.add(
            Logement(
                residence=r,
                reference="A-101",
                typologie="T3",
                nb_pieces=3,
                surface_habitable=Decimal("64.50"),
                etage=1,
                ascenseur=False,
                accessible_pmr=False,
                financement="PLUS",
                loyer_principal=Decimal("402.18"),
                loyer_annexes=Decimal("25.00"),
                charges_recuperables=Decimal("80.00"),
                contribution_travaux=Decimal("0"),
                statut="vacant",
            )
        )
    with sessions() as s:
        lgt = s.scalars(select(Logement)).one()
        assert lgt.loyer_principal == Decimal("402.18")
        assert lgt.residence.bailleur.nom == "Bailleur test"
