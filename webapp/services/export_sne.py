"""Feedback to the national register (SNE): CALEOL decisions and radiations as an `interfaceNuu` file.

`exporter` selects what has not been sent yet (the decisions of closed séances, the radiations made
through Caléol), writes one XML file in the conventions of the SNE interface (namespace
`http://nuu.application.i2/`, `code` attributes of the SNE code lists; structure and deduced names in
fixtures/sne/EXPORT.md), records the export and its lines and leaves one audit entry — all in the
caller's transaction. The unique key of the lines keeps an object from being sent twice; `forcer`
sends it again (next sending rank).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..audit import journaliser
from ..horloge import aujourd_hui, maintenant
from ..models import (
    CODE_SNE_RESERVATAIRE,
    Attribution,
    AuditEntry,
    Candidature,
    Commission,
    Decision,
    Demande,
    EvaluationDemande,
    ExportSne,
    LigneExportSne,
    Logement,
    ObjetExport,
    Reservataire,
    Residence,
    Role,
    Seance,
    StatutDemande,
    StatutSeance,
    TypeDecision,
)
from ..sne.xml_sur import NS_NUU
from .decisions import referentiel

VERSION_INTERFACE = "02.01"
# The SNE samples write the namespace with the prefix `ns1`, which ElementTree reserves for its own
# generated prefixes: `nuu` names the same namespace (the prefix itself carries no meaning in XML).
PREFIXE = "nuu"
ET.register_namespace(PREFIXE, NS_NUU)

# Caléol's logement typologies → SNE ListeTypeLogement (the reverse of the import's T6P → T6).
TYPE_LOGEMENT_SNE = {"T1": "T1", "T2": "T2", "T3": "T3", "T4": "T4", "T5": "T5", "T6": "T6P"}
# Reasons of a rejection for inadmissibility → SNE ListeSousMotifRadiationIrrecevabilite.
SOUS_MOTIF_PAR_MOTIF_REJET = {"REJ_RESIDENCE_IRREGULIERE": "IRRSEJ", "REJ_PLAFONDS": "IRRRES"}
# Radiations Caléol reports. RADREN (non-renouvellement) is pronounced by the SNE itself; RADATT is
# reported only with its signed lease; the others only for a demande examined by the bailleur's CALEOL.
MOTIFS_RADIATION_EXPORTES = ("RADATT", "RADIRR", "RADABA", "RADCON")
# A demande radiated after a lease is `radiee` (issue 8.2) or, in older data (the demo), `attribuee`.
STATUTS_RADIES = (StatutDemande.RADIEE, StatutDemande.ATTRIBUEE)
# Who may generate an export (the web layer and the service agree).
ROLES_EXPORT = frozenset({Role.CHARGE_ATTRIBUTION, Role.PRESIDENT, Role.ADMINISTRATEUR})


class ErreurExport(ValueError):
    """A refused export: `erreurs` maps the field (jour, sortie, acteur…) to French messages."""

    def __init__(self, erreurs: dict[str, list[str]] | str, champ: str = "_general") -> None:
        if isinstance(erreurs, str):
            erreurs = {champ: [erreurs]}
        self.erreurs = erreurs
        super().__init__(" ; ".join(f"{c} : {m}" if c != "_general" else m for c, ms in erreurs.items() for m in ms))


@dataclass
class ResultatExport:
    """What one call produced. Nothing new to send: no file, no record (`export_id` None)."""

    jour: dt.date | None
    force: bool
    export_id: int | None = None
    fichier: str | None = None
    chemin: Path | None = None
    contenu: bytes | None = None
    sha256: str | None = None
    nb_decisions: int = 0
    nb_radiations: int = 0
    # Objects found but not sent, with the reason (ids and codes only).
    ecartes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def vide(self) -> bool:
        return self.export_id is None

    def en_dict(self) -> dict[str, Any]:
        return {
            "export_id": self.export_id,
            "jour": None if self.jour is None else self.jour.isoformat(),
            "force": self.force,
            "fichier": self.fichier,
            "chemin": None if self.chemin is None else str(self.chemin),
            "sha256": self.sha256,
            "taille": None if self.contenu is None else len(self.contenu),
            "nb_decisions": self.nb_decisions,
            "nb_radiations": self.nb_radiations,
            "ecartes": self.ecartes,
        }


# --------------------------------------------------------------------------- what is sent


@dataclass
class _Objet:
    """One decision or radiation to send: its line and its XML block."""

    objet_type: ObjetExport
    objet_id: int
    date_evenement: dt.date
    numero_unique: str
    code: str
    bloc: ET.Element


def _q(nom: str) -> str:
    return f"{{{NS_NUU}}}{nom}"


def _sous(parent: ET.Element, nom: str, texte: str | None = None, *, code: str | None = None) -> ET.Element:
    e = ET.SubElement(parent, _q(nom))
    if code is not None:
        e.set("code", code)
    if texte is not None:
        e.text = texte
    return e


def _liste(parent: ET.Element, liste: str, element: str, codes: Iterable[str]) -> None:
    codes = list(codes)
    if codes:
        conteneur = _sous(parent, liste)
        for code in codes:
            _sous(conteneur, element, code=code)


def _code_reservataire(reservataire: Reservataire | None, logement: Logement) -> str:
    """The contingent désignataire (SNE ListeTypeReservataire): the designating réservataire, else the
    stock reservation of the logement, else « AUCUN » (hors contingent)."""
    r = reservataire or logement.reservataire_stock
    return "AUCUN" if r is None else CODE_SNE_RESERVATAIRE[r.type]


def _logement(parent: ET.Element, logement: Logement, residence: Residence) -> None:
    bloc = _sous(parent, "logementAttribue")
    _sous(bloc, "reference", logement.reference)
    _sous(bloc, "commune", code=residence.code_insee)
    _sous(bloc, "typeLogement", code=TYPE_LOGEMENT_SNE[logement.typologie])
    if residence.qpv_code:
        _sous(bloc, "codeQpv", residence.qpv_code)


def _entete_demande(numero_unique: str) -> tuple[ET.Element, ET.Element]:
    demande = ET.Element(_q("demande"))
    dl = _sous(demande, "demandeLogement")
    _sous(dl, "numUnique", numero_unique)
    return demande, dl


def _par_lots(ids: list[int], taille: int = 500) -> Iterable[list[int]]:
    for i in range(0, len(ids), taille):
        yield ids[i:i + taille]


def _priorites(session: Session, paires: list[tuple[int, int]]) -> dict[int, list[str]]:
    """Priority codes of each household (decision id → codes): as frozen on the attribution when the
    séance was closed, else those of the demande's stored evaluation. Two queries for all decisions."""
    figees: dict[int, list[dict[str, Any]]] = {}
    decisions = sorted({d for d, _ in paires})
    for lot in _par_lots(decisions):
        for decision_id, indicateurs in session.execute(
            select(Attribution.decision_id, Attribution.indicateurs).where(Attribution.decision_id.in_(lot))
        ):
            if indicateurs and "priorites" in indicateurs:
                figees[decision_id] = indicateurs["priorites"]
    evaluees: dict[int, list[dict[str, Any]]] = {}
    demandes = sorted({dem for d, dem in paires if d not in figees})
    for lot in _par_lots(demandes):
        for demande_id, priorites in session.execute(
            select(EvaluationDemande.demande_id, EvaluationDemande.priorites).where(EvaluationDemande.demande_id.in_(lot))
        ):
            evaluees[demande_id] = priorites
    return {
        d: sorted({p["code"] for p in (figees[d] if d in figees else evaluees.get(dem)) or []})
        for d, dem in paires
    }


def _bloc_decision(d: Decision, c: Candidature, seance: Seance, logement: Logement, residence: Residence,
                   demande: Demande, priorites: list[str]) -> ET.Element:
    bloc, dl = _entete_demande(demande.numero_unique)
    dc = _sous(dl, "decisionCommission")
    _sous(dc, "dateCommission", seance.date_seance.isoformat())
    _sous(dc, "decision", code=TypeDecision(d.type).value)
    if d.rang is not None:
        _sous(dc, "rang", str(d.rang))
    _liste(dc, "listeMotifDecision", "motifDecision", d.motifs or [])
    if d.piece_manquante:
        piece = referentiel().piece(d.piece_manquante)
        _sous(dc, "pieceManquante", code=piece.code if piece is not None else d.piece_manquante)
    if d.date_limite_condition is not None:
        _sous(dc, "dateLimiteCondition", d.date_limite_condition.isoformat())
    _sous(dc, "typeReservataire", code=_code_reservataire(c.reservataire, logement))
    _logement(dc, logement, residence)
    _liste(dc, "listeMotifPriorite", "motifPriorite", priorites)
    return bloc


def _deja_envoyes(session: Session, objet_type: ObjetExport) -> set[tuple[int, dt.date]]:
    return {
        (i, j) for i, j in session.execute(
            select(LigneExportSne.objet_id, LigneExportSne.date_evenement).where(LigneExportSne.objet_type == objet_type)
        )
    }


def _decisions(session: Session, jour: dt.date | None, bailleur_id: int | None, forcer: bool) -> list[_Objet]:
    stmt = (
        select(Decision, Candidature, Seance, Logement, Residence, Demande)
        .join(Candidature, Decision.candidature_id == Candidature.id)
        .join(Seance, Decision.seance_id == Seance.id)
        .join(Commission, Seance.commission_id == Commission.id)
        .join(Logement, Decision.logement_id == Logement.id)
        .join(Residence, Logement.residence_id == Residence.id)
        .join(Demande, Candidature.demande_id == Demande.id)
        .where(Seance.statut == StatutSeance.CLOSE)
        .order_by(Seance.date_seance, Decision.id)
    )
    stmt = stmt.where(Seance.date_seance == jour) if jour is not None else stmt.where(Seance.date_seance <= aujourd_hui())
    if bailleur_id is not None:
        stmt = stmt.where(Commission.bailleur_id == bailleur_id)
    envoyes = set() if forcer else _deja_envoyes(session, ObjetExport.DECISION)
    lignes = [r for r in session.execute(stmt) if (r[0].id, r[2].date_seance) not in envoyes]
    priorites = _priorites(session, [(r[0].id, r[5].id) for r in lignes])
    return [
        _Objet(ObjetExport.DECISION, d.id, seance.date_seance, demande.numero_unique, TypeDecision(d.type).value,
               _bloc_decision(d, c, seance, logement, residence, demande, priorites[d.id]))
        for d, c, seance, logement, residence, demande in lignes
    ]


def _radiations_recues_du_sne(session: Session, numeros: set[str], depuis: dt.date) -> set[str]:
    """Numéros uniques whose radiation came from an SNE file (import-sne, type RAD): never sent back."""
    if not numeros:
        return set()
    recues: set[str] = set()
    debut = dt.datetime.combine(depuis, dt.time.min, tzinfo=dt.UTC)
    for details in session.scalars(
        select(AuditEntry.details).where(AuditEntry.action == "sne.importer", AuditEntry.horodatage >= debut)
    ):
        for ligne in (details or {}).get("demandes") or ():
            if ligne.get("type_fichier") == "RAD" and ligne.get("numero_unique") in numeros:
                if ligne.get("statut") == StatutDemande.RADIEE.value:
                    recues.add(ligne["numero_unique"])
                else:
                    recues.discard(ligne["numero_unique"])
    return recues


def _radiations(session: Session, jour: dt.date | None, bailleur_id: int | None, forcer: bool,
                ecartes: list[dict[str, Any]]) -> list[_Objet]:
    stmt = (
        select(Demande)
        .where(Demande.statut.in_(STATUTS_RADIES), Demande.motif_radiation.in_(MOTIFS_RADIATION_EXPORTES),
               Demande.date_radiation.is_not(None))
        .order_by(Demande.date_radiation, Demande.id)
    )
    stmt = stmt.where(Demande.date_radiation == jour) if jour is not None else stmt.where(Demande.date_radiation <= aujourd_hui())
    envoyes = set() if forcer else _deja_envoyes(session, ObjetExport.RADIATION)
    demandes = [d for d in session.scalars(stmt) if (d.id, d.date_radiation) not in envoyes]
    if not demandes:
        return []
    recues = _radiations_recues_du_sne(
        session, {d.numero_unique for d in demandes if d.motif_radiation != "RADATT"},
        min(d.date_radiation for d in demandes),
    )
    baux = _baux_signes(session, [d.id for d in demandes if d.motif_radiation == "RADATT"], bailleur_id)
    decisions = _decisions_des_demandes(session, [d.id for d in demandes if d.motif_radiation != "RADATT"], bailleur_id)
    objets = []
    for demande in demandes:
        objet = _radiation(demande, baux, decisions, recues, ecartes)
        if objet is not None:
            objets.append(objet)
    return objets


def _baux_signes(session: Session, demandes: list[int], bailleur_id: int | None
                 ) -> dict[int, tuple[Attribution, Logement, Residence]]:
    """Each demande's latest attribution with a signed lease (on a logement of the bailleur)."""
    baux: dict[int, tuple[Attribution, Logement, Residence]] = {}
    for lot in _par_lots(demandes):
        stmt = (
            select(Attribution, Logement, Residence)
            .join(Logement, Attribution.logement_id == Logement.id)
            .join(Residence, Logement.residence_id == Residence.id)
            .where(Attribution.demande_id.in_(lot), Attribution.date_signature_bail.is_not(None))
            .order_by(Attribution.date_signature_bail.desc(), Attribution.id.desc())
        )
        if bailleur_id is not None:
            stmt = stmt.where(Residence.bailleur_id == bailleur_id)
        for a, logement, residence in session.execute(stmt):
            baux.setdefault(a.demande_id, (a, logement, residence))
    return baux


def _decisions_des_demandes(session: Session, demandes: list[int], bailleur_id: int | None
                            ) -> dict[int, list[tuple[Decision, Seance]]]:
    """The decisions of the bailleur's closed séances on each demande, the latest first."""
    resultat: dict[int, list[tuple[Decision, Seance]]] = {}
    for lot in _par_lots(demandes):
        stmt = (
            select(Candidature.demande_id, Decision, Seance)
            .join(Decision, Decision.candidature_id == Candidature.id)
            .join(Seance, Decision.seance_id == Seance.id)
            .join(Commission, Seance.commission_id == Commission.id)
            .where(Candidature.demande_id.in_(lot), Seance.statut == StatutSeance.CLOSE)
            .order_by(Seance.date_seance.desc(), Decision.id.desc())
        )
        if bailleur_id is not None:
            stmt = stmt.where(Commission.bailleur_id == bailleur_id)
        for demande_id, d, seance in session.execute(stmt):
            resultat.setdefault(demande_id, []).append((d, seance))
    return resultat


def _radiation(demande: Demande, baux: dict[int, tuple[Attribution, Logement, Residence]],
               decisions_par_demande: dict[int, list[tuple[Decision, Seance]]], recues: set[str],
               ecartes: list[dict[str, Any]]) -> _Objet | None:
    motif = demande.motif_radiation
    bloc, dl = _entete_demande(demande.numero_unique)
    rad = _sous(dl, "radiation")
    _sous(rad, "motifRadiation", code=motif)
    if motif == "RADATT":
        if demande.id not in baux:
            # Radiated after a lease signed elsewhere (or imported from the SNE): not this bailleur's to report.
            return None
        a, logement, residence = baux[demande.id]
        _sous(rad, "dateRadiation", demande.date_radiation.isoformat())
        att = _sous(rad, "attribution")
        _sous(att, "dateSignatureBail", a.date_signature_bail.isoformat())
        _sous(att, "dateCommission", a.date_decision.isoformat())
        _sous(att, "typeReservataire", code=_code_reservataire(a.reservataire, logement))
        _logement(att, logement, residence)
    else:
        if demande.numero_unique in recues:
            return None
        decisions = [(d, s) for d, s in decisions_par_demande.get(demande.id, ()) if s.date_seance <= demande.date_radiation]
        if not decisions:
            return None
        if motif == "RADIRR":
            rejets = [d for d, _s in decisions if d.type == TypeDecision.REJET_IRRECEVABILITE]
            sous_motifs = sorted({SOUS_MOTIF_PAR_MOTIF_REJET[m] for d in rejets[:1] for m in d.motifs or []
                                  if m in SOUS_MOTIF_PAR_MOTIF_REJET})
            if not sous_motifs:
                ecartes.append({"objet_type": ObjetExport.RADIATION.value, "objet_id": demande.id, "code": motif,
                                "raison": "radiation pour irrecevabilité sans décision de rejet motivée par le séjour "
                                          "ou les plafonds : sous-motif SNE inconnu, non exportée"})
                return None
            _sous(rad, "sousMotifRadiation", code=sous_motifs[0])
        _sous(rad, "dateRadiation", demande.date_radiation.isoformat())
    return _Objet(ObjetExport.RADIATION, demande.id, demande.date_radiation, demande.numero_unique, motif, bloc)


# --------------------------------------------------------------------------- the file


def document(objets: list[_Objet], genere_le: dt.datetime) -> bytes:
    """The XML file: the root and header of interfaceNuu, then one `demande` per object."""
    racine = ET.Element(_q("interfaceNuu"), {"versionInterface": VERSION_INTERFACE})
    entete = _sous(racine, "entete")
    _sous(entete, "dateFichier", genere_le.isoformat(timespec="seconds"))
    for o in objets:
        racine.append(o.bloc)
    ET.indent(racine, space="    ")
    return ET.tostring(racine, encoding="UTF-8", xml_declaration=True) + b"\n"


def nom_fichier(jour: dt.date | None, genere_le: dt.datetime, numero: int) -> str:
    portee = jour.strftime("%Y%m%d") if jour is not None else "DEMANDE"
    return f"CALEOL-SNE-{portee}-{genere_le.strftime('%Y%m%d%H%M%S')}-{numero:06d}.xml"


def ecrire_fichier(sortie: Path, nom: str, contenu: bytes) -> Path:
    """Write atomically (temporary file then rename): a reader never sees half a file."""
    chemin = sortie / nom
    fd, temporaire = tempfile.mkstemp(dir=sortie, prefix=".export-sne-", suffix=".xml")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(contenu)
        os.replace(temporaire, chemin)
    except BaseException:
        Path(temporaire).unlink(missing_ok=True)
        raise
    return chemin


def _identifiant(acteur: Any) -> str:
    if isinstance(acteur, str):
        return acteur
    return str(acteur.identifiant)


def _verifier_acteur(acteur: Any) -> None:
    """A user must have a role that generates exports; a string is a system actor (cli:…, tests)."""
    if isinstance(acteur, str):
        if not acteur.strip():
            raise ErreurExport("acteur absent.", champ="acteur")
        return
    role = getattr(acteur, "role", None)
    if role is not None and Role(role) not in ROLES_EXPORT:
        raise ErreurExport("votre rôle ne permet pas de générer un export SNE "
                           "(chargé(e) d'attribution, président(e) ou administrateur).", champ="acteur")


def exporter(
    session: Session,
    *,
    acteur: Any,
    jour: dt.date | None = None,
    forcer: bool = False,
    sortie: Path | None = None,
    bailleur_id: int | None = None,
) -> ResultatExport:
    """Export to the SNE format, in the caller's transaction (it commits once, or rolls back).

    `jour`: the decisions of the séances held that day and the radiations of that day; None: everything
    not exported yet up to today. `forcer`: include what was already exported (sent again). `sortie`:
    a directory where the file is also written. `bailleur_id`: only that bailleur's séances and
    logements (the web page passes the user's bailleur). Nothing to send: no file, no record, no audit.
    """
    if isinstance(jour, dt.datetime):
        jour = jour.date()
    if jour is not None and not isinstance(jour, dt.date):
        raise ErreurExport("date attendue (AAAA-MM-JJ).", champ="jour")
    if jour is not None and jour > aujourd_hui():
        raise ErreurExport(f"le {jour.isoformat()} est dans le futur ; rien ne peut encore être exporté "
                           "pour ce jour.", champ="jour")
    if sortie is not None and not Path(sortie).is_dir():
        raise ErreurExport(f"le dossier {sortie} n'existe pas.", champ="sortie")
    _verifier_acteur(acteur)
    resultat = ResultatExport(jour=jour, force=forcer)
    objets = _decisions(session, jour, bailleur_id, forcer) + _radiations(session, jour, bailleur_id, forcer, resultat.ecartes)
    if not objets:
        return resultat
    genere_le = maintenant()
    contenu = document(objets, genere_le)
    empreinte = hashlib.sha256(contenu).hexdigest()
    export = ExportSne(
        jour=jour, bailleur_id=bailleur_id, genere_le=genere_le, par=_identifiant(acteur), fichier="",
        sha256=empreinte, taille=len(contenu), contenu=contenu,
        nb_decisions=sum(1 for o in objets if o.objet_type == ObjetExport.DECISION),
        nb_radiations=sum(1 for o in objets if o.objet_type == ObjetExport.RADIATION), force=forcer,
    )
    session.add(export)
    session.flush()
    export.fichier = nom_fichier(jour, genere_le, export.id)
    rangs = _rangs_suivants(session, objets) if forcer else {}
    for o in objets:
        session.add(LigneExportSne(
            export_id=export.id, objet_type=o.objet_type, objet_id=o.objet_id, date_evenement=o.date_evenement,
            numero_unique=o.numero_unique, code=o.code, envoi=rangs.get((o.objet_type, o.objet_id, o.date_evenement), 1),
        ))
    # The unique key of the lines is checked here: a concurrent export of the same objects fails before any file.
    session.flush()
    journaliser(
        session, acteur=export.par, action="sne.exporter", objet_type="export_sne", objet_id=export.id,
        apres={"fichier": export.fichier, "sha256": empreinte, "taille": len(contenu)},
        details={
            "jour": None if jour is None else jour.isoformat(),
            "force": forcer,
            "bailleur_id": bailleur_id,
            "nb_decisions": export.nb_decisions,
            "nb_radiations": export.nb_radiations,
            "decisions": [o.objet_id for o in objets if o.objet_type == ObjetExport.DECISION],
            "radiations": [o.objet_id for o in objets if o.objet_type == ObjetExport.RADIATION],
            "ecartes": [{k: e[k] for k in ("objet_type", "objet_id", "code")} for e in resultat.ecartes],
        },
    )
    session.flush()
    resultat.export_id = export.id
    resultat.fichier = export.fichier
    resultat.contenu = contenu
    resultat.sha256 = empreinte
    resultat.nb_decisions = export.nb_decisions
    resultat.nb_radiations = export.nb_radiations
    if sortie is not None:
        resultat.chemin = ecrire_fichier(Path(sortie), export.fichier, contenu)
    return resultat


def _rangs_suivants(session: Session, objets: list[_Objet]) -> dict[tuple[ObjetExport, int, dt.date], int]:
    """For a forced re-export: the next sending rank of each object already sent."""
    rangs: dict[tuple[ObjetExport, int, dt.date], int] = {}
    for objet_type in ObjetExport:
        ids = [o.objet_id for o in objets if o.objet_type == objet_type]
        if not ids:
            continue
        for i in range(0, len(ids), 500):
            for oid, date_ev, rang in session.execute(
                select(LigneExportSne.objet_id, LigneExportSne.date_evenement, func.max(LigneExportSne.envoi))
                .where(LigneExportSne.objet_type == objet_type, LigneExportSne.objet_id.in_(ids[i:i + 500]))
                .group_by(LigneExportSne.objet_id, LigneExportSne.date_evenement)
            ):
                rangs[(objet_type, oid, date_ev)] = rang + 1
    return rangs


def exports(session: Session, bailleur_id: int | None = None) -> list[ExportSne]:
    """Past exports, most recent first (without loading the files)."""
    from sqlalchemy.orm import defer

    stmt = select(ExportSne).options(defer(ExportSne.contenu)).order_by(ExportSne.genere_le.desc(), ExportSne.id.desc())
    if bailleur_id is not None:
        stmt = stmt.where(ExportSne.bailleur_id == bailleur_id)
    return list(session.scalars(stmt))
