"""What each organisation may see. Demandes are a shared file; patrimoine and séances belong to a bailleur."""
from __future__ import annotations

from sqlalchemy import Select, or_, select

from ..models import Commune, Logement, OrientationFlux, Reservataire, Residence, TypeOrganisation
from ..services.flux import STATUTS_EN_COURS


def filtrer_logements(stmt: Select, utilisateur) -> Select:
    """Restrict a query selecting Logement to what the user's organisation may see."""
    stmt = stmt.join(Residence, Logement.residence_id == Residence.id)
    match utilisateur.organisation_type:
        case TypeOrganisation.BAILLEUR:
            return stmt.where(Residence.bailleur_id == utilisateur.organisation_id)
        case TypeOrganisation.EPCI:
            communes = select(Commune.code_insee).where(Commune.epci_siren == utilisateur.organisation_epci)
            return stmt.where(Residence.code_insee.in_(communes))
        case TypeOrganisation.RESERVATAIRE:
            siens = select(Reservataire.id).where(Reservataire.organisation_id == utilisateur.organisation_id)
            # Its stock reservations, and the dwellings whose current orientation (not closed) is theirs.
            orientes = select(OrientationFlux.logement_id).where(
                OrientationFlux.reservataire_id.in_(siens), OrientationFlux.statut.in_(STATUTS_EN_COURS)
            )
            return stmt.where(or_(Logement.reservataire_stock_id.in_(siens), Logement.id.in_(orientes)))
        case TypeOrganisation.ETAT:
            return stmt
    return stmt.where(False)  # pragma: no cover - every organisation type is handled above
