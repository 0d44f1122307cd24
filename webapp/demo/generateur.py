"""The demo data set: planned once, then streamed table by table (dossiers in chunks), with its hash.

Same seed, same sizes and same reference date ⇒ same rows, hence the same hash (`empreinte`). Every
draw comes from streams seeded by the seed (tirage.graine); dates are offsets from the reference date
(webapp.horloge.aujourd_hui(), CALEOL_TODAY in tests), never from the clock.

The dossiers come in blocks of TAILLE_BLOC (230 000, more than the regional stock of 223 000 demandes):
block 0 draws from the stream "menages", block k ≥ 1 from its own stream "menages:k", so that blocks
can be generated apart (in parallel, webapp.demo.parallele) and still give the same rows. A demo of at
most TAILLE_BLOC dossiers (every demo in use but the national stock) is one block: its rows and its hash
are those of the single stream. In block k, the ids of the tables under demande (personne, ressource…)
start at k × PAS_IDS_BLOC (the demande ids stay the dossier index + 1), so a block's ids do not depend
on the blocks before it; the hash of such a table is that of its block 0, or, with several blocks, the
SHA-256 of the blocks' hashes.
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
TAILLE_BLOC = 230_000
# Ids of the dossier tables (except demande) in block k: k × PAS_IDS_BLOC + 1, + 2… (checked at the end
# of each block; a block of 230 000 dossiers writes about 0.55 M personnes and 0.62 M revenus fiscaux).
PAS_IDS_BLOC = 10_000_000
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
        taille_bloc: int = TAILLE_BLOC,
    ) -> None:
        if nb_dossiers < 0 or nb_logements < 0:
            raise ValueError("Les nombres de dossiers et de logements doivent être positifs.")
        if taille_bloc < 1:
            raise ValueError("La taille d'un bloc de dossiers doit être positive.")
        self.seed = seed
        self.taille_bloc = taille_bloc
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

    def blocs(self) -> list[range]:
        """The dossier indices of each block (see the module's docstring)."""
        return [range(d, min(d + self.taille_bloc, self.nb_dossiers)) for d in range(0, self.nb_dossiers, self.taille_bloc)]

    def dossiers(self) -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
        """Every dossier (JSON form) in index order, with its facts; restarts the same stream each call."""
        for bloc, indices in enumerate(self.blocs()):
            yield from self.dossiers_bloc(bloc, indices)

    def dossiers_bloc(self, bloc: int, indices: range) -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
        flux = "menages" if bloc == 0 else f"menages:{bloc}"
        fabrique = FabriqueMenages(self.ref, graine(self.seed, flux), self.date, [lg.reference for lg in self.logements])
        consignes = self.consignes
        for index in indices:
            consigne: Consigne | None = consignes.get(index)
            dossier, faits = fabrique.dossier(index, consigne)
            yield index, dossier, faits

    # --- rows ----------------------------------------------------------------------------------

    def lots(self, taille: int = TAILLE_LOT) -> Iterator[tuple[str, list[tuple], int]]:
        """(table, rows, block) in an order that respects foreign keys; the dossiers come in chunks."""
        for table, lignes in self.lots_partenaires():
            yield table, lignes, 0
        for bloc, indices in enumerate(self.blocs()):
            for table, lignes in self.lots_bloc(bloc, indices, taille):
                yield table, lignes, bloc
        for table, lignes in self.lots_historique().items():
            yield table, lignes, 0

    def lots_partenaires(self) -> Iterator[tuple[str, list[tuple]]]:
        """The rows before the dossiers: partners, accounts, conventions, the housing stock."""
        p = self.partenaires
        yield "organisation", p.organisations
        yield "utilisateur", p.utilisateurs
        yield "reservataire", p.reservataires
        yield "convention_reservation", p.conventions
        yield "residence", self.residences
        yield "logement", lignes_logements(self.logements)

    def lots_bloc(self, bloc: int, indices: range, taille: int = TAILLE_LOT) -> Iterator[tuple[str, list[tuple]]]:
        """The rows of one block of dossiers, in chunks of `taille` dossiers (demande first in each chunk)."""
        compteurs = Compteurs(indices.start, bloc * PAS_IDS_BLOC)
        lots: dict[str, list[tuple]] = {t: [] for t in TABLES_DOSSIER}
        consignes = self.consignes
        for index, dossier, faits in self.dossiers_bloc(bloc, indices):
            lignes_dossier(dossier, compteurs, lots)
            consigne = consignes.get(index)
            if consigne is not None and consigne.classe is not None:
                self.indicateurs[index] = faits
            if len(lots["demande"]) >= taille:
                for table in TABLES_DOSSIER:
                    yield table, lots[table]
                lots = {t: [] for t in TABLES_DOSSIER}
        for table in TABLES_DOSSIER:
            if lots[table]:
                yield table, lots[table]
        if indices.stop < self.nb_dossiers:
            # The next block's ids start at (bloc + 1) × PAS_IDS_BLOC: they must not meet these.
            for table, dernier in compteurs.derniers.items():
                if table in TABLES_DOSSIER and table != "demande" and dernier - bloc * PAS_IDS_BLOC >= PAS_IDS_BLOC:
                    raise ValueError(f"Le bloc {bloc} dépasse {PAS_IDS_BLOC} lignes de {table} : réduisez la taille des blocs.")

    def lots_historique(self) -> dict[str, list[tuple]]:
        """The history's rows (after every dossier: it needs the facts of the attributed households)."""
        historique = lignes_historique(self.ref, graine(self.seed, "seances"), self.seances, self.partenaires,
                                       self.indicateurs, self.date)
        return {t: historique[t] for t in ("commission", "seance", "membre_seance", "candidature", "decision", "attribution", "offre")}


class Empreinte:
    """SHA-256 of the rows (local ids, canonical repr), independent of chunking, ids, backend and parallelism.

    One hash per table and block of dossiers (tables outside the dossiers: block 0); a table's hash is
    its block 0's when it has no other block, else the SHA-256 of its blocks' hashes in block order.
    """

    def __init__(self) -> None:
        self.hachages: dict[tuple[str, int], Any] = {}
        self.comptes = dict.fromkeys(ORDRE, 0)

    def ajouter(self, table: str, lignes: list[tuple], bloc: int = 0) -> None:
        if not lignes:
            return
        exclue = HORS_EMPREINTE.get(table)
        if exclue is not None:
            lignes = [ligne[:exclue] + ligne[exclue + 1:] for ligne in lignes]
        h = self.hachages.get((table, bloc))
        if h is None:
            h = self.hachages[(table, bloc)] = hashlib.sha256()
        h.update(("\n".join(map(repr, lignes)) + "\n").encode("utf-8"))
        self.comptes[table] += len(lignes)

    def partielle(self) -> dict[tuple[str, int], str]:
        """(table, block) → hash: what a worker hands back (with `comptes`) for the blocks it generated."""
        return {cle: h if isinstance(h, str) else h.hexdigest() for cle, h in self.hachages.items()}

    def reprendre(self, partielle: dict[tuple[str, int], str], comptes: dict[str, int]) -> None:
        """Take in the hashes and row counts of blocks generated elsewhere (see `partielle`)."""
        for cle, condense in partielle.items():
            if cle in self.hachages:
                raise ValueError(f"Empreinte : le bloc {cle[1]} de {cle[0]} est déjà compté.")
            self.hachages[cle] = condense
        for table, n in comptes.items():
            self.comptes[table] += n

    def _table(self, table: str) -> str:
        blocs = sorted((k, h if isinstance(h, str) else h.hexdigest()) for (t, k), h in self.hachages.items() if t == table)
        if not blocs:
            return hashlib.sha256().hexdigest()
        if len(blocs) == 1 and blocs[0][0] == 0:
            return blocs[0][1]
        return hashlib.sha256("".join(f"{k}:{h}\n" for k, h in blocs).encode()).hexdigest()

    def hexdigest(self) -> str:
        total = hashlib.sha256()
        for t in ORDRE:
            total.update(f"{t}:{self.comptes[t]}:{self._table(t)}\n".encode())
        return total.hexdigest()


def empreinte(seed: int, nb_dossiers: int, nb_logements: int, date_reference: dt.date | None = None,
              taille_bloc: int = TAILLE_BLOC) -> str:
    """The hash of the data a `demo load` with these arguments writes, computed without a database."""
    jeu = JeuDemo(seed, nb_dossiers, nb_logements, date_reference, taille_bloc=taille_bloc)
    h = Empreinte()
    for table, lignes, bloc in jeu.lots():
        h.ajouter(table, lignes, bloc)
    return h.hexdigest()
