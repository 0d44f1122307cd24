"""Import of SNE (système national d'enregistrement) `interfaceNuu` files into dossiers.

Reading is pure and safe (`correspondance`, `xml_sur`); `service` writes to the database, one
transaction per file and one audit entry per operation; `cli` is `caleol import-sne`.
"""
from .correspondance import DemandeSNE, composer_dossier, lire_demande_sne, valider
from .service import ResultatFichier, dossier_du_fichier, importer_contenus, importer_demande, importer_fichiers
from .xml_sur import ErreurSNE

__all__ = [
    "DemandeSNE",
    "ErreurSNE",
    "ResultatFichier",
    "composer_dossier",
    "dossier_du_fichier",
    "importer_contenus",
    "importer_demande",
    "importer_fichiers",
    "lire_demande_sne",
    "valider",
]
