"""marshmallow schemas: the boundary where every input is validated, with French messages."""
from .champs import ErreurValidation, aplatir_erreurs
from .dossier import DossierSchema, charger_dossier
from .logement import LogementSchema, charger_logement

__all__ = [
    "DossierSchema",
    "ErreurValidation",
    "LogementSchema",
    "aplatir_erreurs",
    "charger_dossier",
    "charger_logement",
]
