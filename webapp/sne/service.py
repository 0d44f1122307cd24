"""Import of SNE files into the database: one transaction per file, one audit entry per operation."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..audit import journaliser
from ..db import transaction
from ..services.dossiers import charger_demande, dossier_depuis_demande, empreinte, en_json
from ..services.evaluations import enregistrer_et_reevaluer
from .correspondance import DemandeSNE, composer_dossier, lire_demande_sne, valider
from .xml_sur import ErreurSNE

CREEE = "creee"
MISE_A_JOUR = "mise_a_jour"
REFUSEE = "refusee"


@dataclass
class ResultatFichier:
    """The outcome of one file. `erreurs` and `rapport` name elements, never personal values."""

    nom: str
    resultat: str
    numero_unique: str | None = None
    type_fichier: str | None = None
    statut: str | None = None
    erreurs: list[tuple[str, str]] = field(default_factory=list)
    rapport: list[dict[str, str]] = field(default_factory=list)
    dossier: dict[str, Any] | None = None
    empreinte_avant: str | None = None


def dossier_du_fichier(contenu: bytes) -> tuple[dict[str, Any], DemandeSNE]:
    """The validated dossier (JSON form) a file describes on its own, without the database."""
    demande = lire_demande_sne(contenu)
    return en_json(valider(demande, composer_dossier(demande, None))), demande


def importer_demande(session: Session, demande: DemandeSNE, *, acteur: str) -> ResultatFichier:
    """Lay one read file over the stored demande (or create it), in the caller's transaction, without audit."""
    existante = charger_demande(session, demande.numero_unique)
    ancien = en_json(dossier_depuis_demande(existante)) if existante is not None else None
    dossier = valider(demande, composer_dossier(demande, ancien))
    # Saved and evaluated in the same transaction: the pre-selection of proposals sees it at once.
    _, cree = enregistrer_et_reevaluer(session, dossier, acteur=acteur, action="demande.importer_sne", audit=False)
    return ResultatFichier(
        nom="",
        resultat=CREEE if cree else MISE_A_JOUR,
        numero_unique=demande.numero_unique,
        type_fichier=demande.type_fichier,
        statut=dossier["statut"],
        rapport=demande.rapport,
        dossier=en_json(dossier),
        empreinte_avant=None if ancien is None else empreinte(ancien),
    )


def importer_sources(
    sessions: sessionmaker[Session],
    sources: Iterable[tuple[str, Callable[[], bytes]]],
    *,
    acteur: str,
    au_fil: Callable[[ResultatFichier], None] | None = None,
) -> list[ResultatFichier]:
    """Import each file in its own transaction; a refused file writes nothing, the others go on.

    One audit entry sums up the operation (counts, numéros uniques and fingerprints, no names),
    written once at the end if at least one demande was created or updated.
    """
    resultats: list[ResultatFichier] = []
    for nom, lire in sources:
        try:
            contenu = lire()
        except FileNotFoundError:
            resultat = ResultatFichier(nom=nom, resultat=REFUSEE, erreurs=[("", "Fichier introuvable.")])
        except OSError:
            resultat = ResultatFichier(nom=nom, resultat=REFUSEE, erreurs=[("", "Fichier illisible.")])
        else:
            resultat = _importer_contenu(sessions, nom, contenu, acteur=acteur)
        resultats.append(resultat)
        if au_fil is not None:
            au_fil(resultat)
    importees = [r for r in resultats if r.resultat != REFUSEE]
    if importees:
        with transaction(sessions) as session:
            journaliser(
                session,
                acteur=acteur,
                action="sne.importer",
                objet_type="import_sne",
                details={
                    "fichiers": len(resultats),
                    "creees": sum(1 for r in importees if r.resultat == CREEE),
                    "mises_a_jour": sum(1 for r in importees if r.resultat == MISE_A_JOUR),
                    "refusees": len(resultats) - len(importees),
                    "elements_non_repris": sum(
                        1 for r in importees for e in r.rapport if e["nature"] == "non repris"
                    ),
                    "demandes": [
                        {
                            "numero_unique": r.numero_unique,
                            "resultat": r.resultat,
                            "type_fichier": r.type_fichier,
                            "statut": r.statut,
                            "empreinte_avant": r.empreinte_avant,
                            "empreinte": empreinte(r.dossier or {}),
                        }
                        for r in importees
                    ],
                },
            )
    return resultats


def _importer_contenu(sessions: sessionmaker[Session], nom: str, contenu: bytes, *, acteur: str) -> ResultatFichier:
    try:
        demande = lire_demande_sne(contenu)
        with transaction(sessions) as session:
            resultat = importer_demande(session, demande, acteur=acteur)
    except ErreurSNE as exc:
        return ResultatFichier(nom=nom, resultat=REFUSEE, erreurs=exc.erreurs)
    except SQLAlchemyError as exc:
        # The driver's message may quote the values: only the kind of error is shown.
        return ResultatFichier(
            nom=nom,
            resultat=REFUSEE,
            erreurs=[("", f"Erreur de la base de données ({type(exc).__name__}) : rien n'est enregistré pour ce fichier.")],
        )
    resultat.nom = nom
    return resultat


def importer_fichiers(
    sessions: sessionmaker[Session],
    chemins: Iterable[Path],
    *,
    acteur: str,
    au_fil: Callable[[ResultatFichier], None] | None = None,
) -> list[ResultatFichier]:
    """Import SNE files from disk (read one at a time)."""
    return importer_sources(
        sessions, ((str(chemin), chemin.read_bytes) for chemin in chemins), acteur=acteur, au_fil=au_fil
    )


def importer_contenus(
    sessions: sessionmaker[Session], contenus: Iterable[tuple[str, bytes]], *, acteur: str
) -> list[ResultatFichier]:
    """Import SNE files given as bytes (tests, uploads)."""
    return importer_sources(sessions, ((nom, (lambda c=c: c)) for nom, c in contenus), acteur=acteur)
