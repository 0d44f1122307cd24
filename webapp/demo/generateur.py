"""The demo data set: planned once, then streamed table by table (dossiers in chunks), with its hash.

Same seed, same sizes and same reference date ⇒ same rows, hence the same hash (`empreinte`). Every
draw comes from streams seeded by the seed (tirage.graine); dates are offsets from the reference date
(webapp.horloge.aujourd_hui(), CALEOL_TODAY in tests), never from the clock.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

from ..horloge import aujourd_hui
from .historique import lignes_historique, marquer_vacants, planifier
from .lignes import COLONNES, ORDRE, TABLES_DOSSIER, Compteurs, lignes_dossier
from .menages import Consigne, FabriqueMenages
from .patrimoine import Partenaires, lignes_logements, partenaires, patrimoine
from .referentiel import Referentiel, charger_referentiel
from .tirage import graine

TAILLE_LOT = 5000
# Columns left out of the hash: password hashes carry a random salt.
HORS_EMPREINTE = {"utilisateur": COLONNES["utilisateur"].index("mot_de_passe_hash")}


def _sans_hachage(mot_de_passe: str) -> str:
    return "(non haché)"


class JeuDemo:
    def __init__(
        self,
        seed: int,
        nb_dossiers: int,
        nb_logements: int,
        date_reference: dt.date | None = None,
        *,
        hacher: Callable[[str], str] = _sans_hachage,
        referentiel: Referentiel | None = None,
    ) -> None:
        if nb_dossiers < 0 or nb_logements < 0:
            raise ValueError("Les nombres de dossiers et de logements doivent être positifs.")
        self.seed = seed
        self.nb_dossiers = nb_dossiers
        self.nb_logements = nb_logements
        self.date = date_reference or aujourd_hui()
        self.ref = ref = referentiel or charger_referentiel()
        self.partenaires: Partenaires = partenaires(ref, graine(seed, "partenaires"), self.date.year, hacher)
        self.residences, self.logements = patrimoine(ref, graine(seed, "patrimoine"), nb_logements, self.partenaires.id_bailleur)
        r = graine(seed, "historique")
        self.seances, self.consignes = planifier(ref, r, self.date, nb_dossiers, self.logements, self.partenaires)
        marquer_vacants(ref, r, self.date, self.logements, self.seances)
        self.indicateurs: dict[int, dict[str, Any]] = {}

    # --- dossiers ------------------------------------------------------------------------------

    def dossiers(self) -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
        """Every dossier (JSON form) in index order, with its facts; restarts the same stream each call."""
        fabrique = FabriqueMenages(self.ref, graine(self.seed, "menages"), self.date, [lg.reference for lg in self.logements])
        consignes = self.consignes
        for index in range(self.nb_dossiers):
            consigne: Consigne | None = consignes.get(index)
            dossier, faits = fabrique.dossier(index, consigne)
            yield index, dossier, faits

    # --- rows ----------------------------------------------------------------------------------

    def lots(self, taille: int = TAILLE_LOT) -> Iterator[tuple[str, list[tuple]]]:
        """(table, rows) in an order that respects foreign keys; the dossiers come in chunks."""
        p = self.partenaires
        yield "organisation", p.organisations
        yield "utilisateur", p.utilisateurs
        yield "reservataire", p.reservataires
        yield "convention_reservation", p.conventions
        yield "residence", self.residences
        yield "logement", lignes_logements(self.logements)
        compteurs = Compteurs()
        lots: dict[str, list[tuple]] = {t: [] for t in TABLES_DOSSIER}
        attribues = {index for index, c in self.consignes.items() if c.classe is not None}
        for index, dossier, faits in self.dossiers():
            lignes_dossier(dossier, compteurs, lots)
            if index in attribues:
                self.indicateurs[index] = faits
            if len(lots["demande"]) >= taille:
                for table in TABLES_DOSSIER:
                    yield table, lots[table]
                lots = {t: [] for t in TABLES_DOSSIER}
        for table in TABLES_DOSSIER:
            if lots[table]:
                yield table, lots[table]
        historique = lignes_historique(self.ref, graine(self.seed, "seances"), self.seances, p, self.indicateurs, self.date)
        for table in ("commission", "seance", "membre_seance", "candidature", "decision", "attribution", "offre"):
            yield table, historique[table]


class Empreinte:
    """SHA-256 of the rows (local ids, canonical repr), independent of chunking, ids and backend."""

    def __init__(self) -> None:
        self.tables = {t: hashlib.sha256() for t in ORDRE}
        self.comptes = dict.fromkeys(ORDRE, 0)

    def ajouter(self, table: str, lignes: list[tuple]) -> None:
        if not lignes:
            return
        exclue = HORS_EMPREINTE.get(table)
        if exclue is not None:
            lignes = [ligne[:exclue] + ligne[exclue + 1:] for ligne in lignes]
        self.tables[table].update(("\n".join(map(repr, lignes)) + "\n").encode("utf-8"))
        self.comptes[table] += len(lignes)

    def hexdigest(self) -> str:
        total = hashlib.sha256()
        for t in ORDRE:
            total.update(f"{t}:{self.comptes[t]}:{self.tables[t].hexdigest()}\n".encode())
        return total.hexdigest()


def empreinte(seed: int, nb_dossiers: int, nb_logements: int, date_reference: dt.date | None = None) -> str:
    """The hash of the data a `demo load` with these arguments writes, computed without a database."""
    jeu = JeuDemo(seed, nb_dossiers, nb_logements, date_reference)
    h = Empreinte()
    for table, lignes in jeu.lots():
        h.ajouter(table, lignes)
    return h.hexdigest()
