"""SQLAlchemy models of Caléol (typed, SQLAlchemy 2.0 style)."""
from .apl import EstimationApl
from .audit import AuditEntry
from .base import Base
from .commission import (
    Attribution,
    Candidature,
    Commission,
    Decision,
    MembreSeance,
    ModeSeance,
    NatureSeance,
    Seance,
    StatutSeance,
    TypeDecision,
)
from .demande import (
    Demande,
    LienCotitulaire,
    Personne,
    RefusOffre,
    Ressource,
    RevenuFiscal,
    RolePersonne,
    SensRessource,
    SituationPrioritaire,
    StatutDemande,
)
from .evaluation import EvaluationDemande, SouhaitCommune, SouhaitTypologie
from .export_sne import ExportSne, LigneExportSne, ObjetExport
from .explication import ExplicationDemande
from .flux import Designation, OrientationFlux, StatutOrientation
from .jeton import JetonApi
from .occupation import (
    Accessibilite,
    BailLocataire,
    ConstatOccupation,
    ExamenOccupation,
    IssueParcours,
    OccupantLocataire,
    RevenuLocataire,
    RoleOccupant,
)
from .ordre_du_jour import PointOrdreDuJour
from .offre import STATUTS_OUVERTS, Offre, StatutOffre
from .organisation import Organisation, Role, TypeOrganisation, Utilisateur
from .patrimoine import (
    CODE_SNE_RESERVATAIRE,
    ConventionReservation,
    Financement,
    Logement,
    ModeReservation,
    Reservataire,
    Residence,
    StatutLogement,
    Typologie,
    TypeReservataire,
)
from .territoire import Commune, Epci, Qpv, QpvCommune
from .version_regles import ReferentielActif, VersionRegles
from .vote import ChoixVote, RenvoiCalPhysique, SignatureProcesVerbal, Vote

__all__ = [name for name in dir() if not name.startswith("_")]
