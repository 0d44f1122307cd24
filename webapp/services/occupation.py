"""Occupancy review (examen de l'occupation, CCH L442-5-2): tenants' files, examinations, review séances.

- `importer_locataires`: the tenants' file (validated by webapp.schemas.locataires) written in the
  caller's transaction, with one audit entry (counts and the file's fingerprint, no personal data).
- `examiner_baux`: the leases whose review is due at a date (every `examen_occupation.periodicite_annees`
  years from the lease, in the EPCI of `examen_occupation.epci_concernes`) are examined by the engine
  (engine.occupation.examiner: the five rules of rules/regles/occupation.yaml, trace, rulebook version).
- review séances (`Seance.nature == examen_occupation`): agenda of the files with a situation, the
  CALEOL's findings (`ConstatOccupation`) and the bailleur's follow-up.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from engine import occupation as moteur_occupation
from engine.geo import charger_territoire
from engine.parametres import parametres_a_la_date
from engine.regles import reglement
from engine.version import version_regles

from ..audit import journaliser
from ..horloge import maintenant
from ..models import (
    Accessibilite,
    BailLocataire,
    Commission,
    ConstatOccupation,
    ExamenOccupation,
    IssueParcours,
    Logement,
    NatureSeance,
    OccupantLocataire,
    Residence,
    RevenuLocataire,
    RoleOccupant,
    Seance,
    StatutLogement,
)
from ..schemas.champs import ErreurValidation

ROLE_DOSSIER = {
    RoleOccupant.TITULAIRE: "demandeur",
    RoleOccupant.COTITULAIRE: "cotitulaire",
    RoleOccupant.PERSONNE_A_CHARGE: "personne_a_charge",
    RoleOccupant.ENFANT_GARDE_ALTERNEE: "enfant_garde_alternee",
}


class ErreurOccupation(ValueError):
    """A refused operation; `erreurs` maps each field to its French messages."""

    def __init__(self, erreurs: dict[str, list[str]]):
        self.erreurs = erreurs
        super().__init__(" ; ".join(f"{k} : {' '.join(v)}" for k, v in erreurs.items()))


# --------------------------------------------------------------------------- the five situations


def situations_connues() -> dict[str, dict[str, Any]]:
    """Code → {titre, reference, regle} of the review rules in the rulebook (rules/regles/occupation.yaml)."""
    res: dict[str, dict[str, Any]] = {}
    for r in reglement().regles:
        effet = getattr(r, "effet", None) or {}
        if effet.get("type") == moteur_occupation.TYPE_EFFET and effet["code"] not in res:
            res[effet["code"]] = {"titre": r.titre.removeprefix("Examen de l'occupation : "),
                                  "reference": r.reference.en_json(), "regle": r.id}
    return res


# --------------------------------------------------------------------------- import


def empreinte_fichier(contenu: bytes) -> str:
    return "sha256:" + hashlib.sha256(contenu).hexdigest()


def importer_locataires(session: Session, fichier: Mapping[str, Any], *, acteur: str,
                        empreinte: str | None = None, source: str | None = None,
                        journal: bool = True) -> dict[str, int]:
    """Write the validated tenants' file (webapp.schemas.locataires): create or replace each lease.

    A lease is known by (bailleur of its logement, reference); an existing one is replaced with its
    household (its examinations are kept). Refused, with nothing written: an unknown or ambiguous
    logement reference, a vacant logement, a logement already let under another lease. With
    `journal=False` the caller writes the audit entry of its own bulk operation (the demo load).
    """
    baux = list(fichier["baux"])
    references_logements = sorted({b["logement"] for b in baux})
    logements: dict[str, list[Logement]] = {}
    for lg in session.scalars(select(Logement).where(Logement.reference.in_(references_logements))
                              .options(selectinload(Logement.residence))):
        logements.setdefault(lg.reference, []).append(lg)
    erreurs: dict[str, list[str]] = {}
    cibles: list[tuple[dict[str, Any], Logement]] = []
    par_logement: dict[int, str] = {}
    for b in baux:
        cle = f"bail {b['reference']}, logement"
        trouves = logements.get(b["logement"], [])
        if not trouves:
            erreurs[cle] = [f"Logement inconnu : {b['logement']}."]
            continue
        if len(trouves) > 1:
            erreurs[cle] = [f"Référence de logement ambiguë : {b['logement']} ({len(trouves)} logements)."]
            continue
        lg = trouves[0]
        if lg.statut == StatutLogement.VACANT:
            erreurs[cle] = [f"Le logement {lg.reference} est vacant dans Caléol : il ne peut pas avoir de locataire en place."]
            continue
        if lg.id in par_logement:
            erreurs[cle] = [f"Le logement {lg.reference} figure aussi au bail {par_logement[lg.id]} du fichier."]
            continue
        par_logement[lg.id] = b["reference"]
        cibles.append((b, lg))
    if erreurs:
        raise ErreurValidation(erreurs, "Fichier de locataires refusé.")

    existants = {(x.bailleur_id, x.reference): x for x in session.scalars(
        select(BailLocataire).where(BailLocataire.reference.in_([b["reference"] for b in baux]))
        .options(selectinload(BailLocataire.occupants)))}
    occupes = {x.logement_id: x for x in session.scalars(
        select(BailLocataire).where(BailLocataire.logement_id.in_([lg.id for _, lg in cibles])))}
    for b, lg in cibles:
        autre = occupes.get(lg.id)
        if autre is not None and autre.reference != b["reference"]:
            erreurs[f"bail {b['reference']}, logement"] = [
                f"Le logement {lg.reference} est déjà loué sous le bail {autre.reference} : retirez-le d'abord."]
    if erreurs:
        raise ErreurValidation(erreurs, "Fichier de locataires refusé.")

    crees = remplaces = nb_occupants = 0
    horodatage = maintenant()
    for b, lg in cibles:
        bailleur_id = lg.residence.bailleur_id
        bail = existants.get((bailleur_id, b["reference"]))
        if bail is None:
            bail = BailLocataire(bailleur_id=bailleur_id, reference=b["reference"])
            session.add(bail)
            crees += 1
        else:
            bail.occupants.clear()
            session.flush()
            remplaces += 1
        bail.logement_id = lg.id
        bail.date_signature = b["date_signature"]
        bail.logement_adapte = b["logement_adapte"]
        bail.besoin_logement_adapte = b["besoin_logement_adapte"]
        bail.importe_le = horodatage
        # Holder first, then the others in the file's order.
        ordre = sorted(b["occupants"], key=lambda o: o["role"] != RoleOccupant.TITULAIRE)
        for rang, o in enumerate(ordre, start=1):
            occupant = OccupantLocataire(
                rang=rang, role=RoleOccupant(o["role"]), lien_cotitulaire=o["lien_cotitulaire"], nom=o["nom"],
                prenom=o["prenom"], date_naissance=o["date_naissance"], handicap_reconnu=o["handicap_reconnu"],
                handicap_details=o["handicap_details"])
            occupant.revenus_fiscaux = [RevenuLocataire(annee=r["annee"], montant=r["montant"])
                                        for r in o["revenus_fiscaux"]]
            bail.occupants.append(occupant)
            nb_occupants += 1
    session.flush()
    comptes = {"baux_crees": crees, "baux_remplaces": remplaces, "occupants": nb_occupants}
    if journal:
        journaliser(session, acteur=acteur, action="locataires.importer", objet_type="bail_locataire",
                    apres=comptes, details={"empreinte_fichier": empreinte, "source": source})
    return comptes


# --------------------------------------------------------------------------- engine input


def dossier_du_bail(bail: BailLocataire) -> dict[str, Any]:
    """The tenants' household as the engine's dossier (the holder is the `demandeur`)."""
    return {
        "besoin_pmr": bool(bail.besoin_logement_adapte),
        "personnes": [
            {
                "role": ROLE_DOSSIER[RoleOccupant(o.role)],
                "lien_cotitulaire": o.lien_cotitulaire,
                "date_naissance": o.date_naissance,
                "handicap": {"cmi_invalidite": bool(o.handicap_reconnu)},
                "revenus_fiscaux": [{"annee": r.annee, "montant": None if r.montant is None else Decimal(r.montant),
                                     "avis": None} for r in o.revenus_fiscaux],
                "ressources": [],
            }
            for o in bail.occupants
        ],
    }


def logement_du_bail(bail: BailLocataire) -> dict[str, Any]:
    """The dwelling as the engine reads it; an adapted dwelling (`logement_adapte`) counts as accessible."""
    lg = bail.logement
    residence = lg.residence
    return {
        "commune_insee": residence.code_insee,
        "qpv": residence.qpv_code,
        "financement": str(lg.financement),
        "plai_adapte": bool(lg.plai_adapte),
        "typologie": str(lg.typologie),
        "nb_pieces": lg.nb_pieces,
        "surface_habitable": Decimal(lg.surface_habitable),
        "etage": lg.etage,
        "ascenseur": bool(lg.ascenseur),
        "accessible_pmr": bool(lg.accessible_pmr if bail.logement_adapte is None else bail.logement_adapte),
        "loyer_principal": lg.loyer_principal,
        "loyer_annexes": lg.loyer_annexes,
        "charges_recuperables": lg.charges_recuperables,
        "contribution_travaux": lg.contribution_travaux,
    }


def examiner_bail(bail: BailLocataire, date: dt.date, *, moteur: str = "durable") -> dict[str, Any]:
    return moteur_occupation.examiner(dossier_du_bail(bail), logement_du_bail(bail), date, moteur=moteur)


# --------------------------------------------------------------------------- schedule


def echeances_dues(session: Session, date: dt.date, *, bailleur_id: int | None = None
                   ) -> list[tuple[BailLocataire, dt.date]]:
    """The leases whose latest review date (≤ `date`) has no examination yet, in a territory concerned."""
    p = parametres_a_la_date(date)
    territoire = charger_territoire()
    stmt = (select(BailLocataire).join(Logement, BailLocataire.logement_id == Logement.id).join(Residence)
            .options(selectinload(BailLocataire.occupants).selectinload(OccupantLocataire.revenus_fiscaux),
                     selectinload(BailLocataire.logement).selectinload(Logement.residence),
                     selectinload(BailLocataire.examens))
            .order_by(BailLocataire.bailleur_id, BailLocataire.reference))
    if bailleur_id is not None:
        stmt = stmt.where(BailLocataire.bailleur_id == bailleur_id)
    dus = []
    concernees: dict[str, bool] = {}
    for bail in session.scalars(stmt):
        commune = bail.logement.residence.code_insee
        if commune not in concernees:
            concernees[commune] = moteur_occupation.zone_concernee(commune, p, territoire)
        if not concernees[commune]:
            continue
        echeance = moteur_occupation.echeance_examen(bail.date_signature, date, p)
        if echeance is None or any(e.echeance == echeance for e in bail.examens):
            continue
        dus.append((bail, echeance))
    return dus


def examiner_baux(session: Session, date: dt.date, *, acteur: str, moteur: str = "durable") -> dict[str, Any]:
    """Examine every lease due at `date` and record the examinations; one audit entry."""
    dus = echeances_dues(session, date)
    horodatage = maintenant()
    par_situation: dict[str, int] = {}
    a_transmettre = 0
    version = version_regles()
    for bail, echeance in dus:
        resultat = examiner_bail(bail, date, moteur=moteur)
        codes = [s["code"] for s in resultat["situations"]]
        for c in codes:
            par_situation[c] = par_situation.get(c, 0) + 1
        a_transmettre += bool(codes)
        session.add(ExamenOccupation(
            bail_id=bail.id, echeance=echeance, date_examen=date, situations=codes, resultat=resultat,
            version_regles=resultat["version_regles"], empreinte_entree=resultat["empreinte_entree"],
            examine_le=horodatage))
    session.flush()
    bilan = {"examines": len(dus), "a_transmettre": a_transmettre, "par_situation": dict(sorted(par_situation.items()))}
    journaliser(session, acteur=acteur, action="occupation.examiner", objet_type="examen_occupation",
                apres=bilan, details={"date": date.isoformat(), "version_regles": version, "moteur": moteur})
    return bilan


# --------------------------------------------------------------------------- review séances


def _du_territoire(stmt, commission: Commission):
    from .preparation import _communes_du_territoire

    if commission.territoire:
        return stmt.where(Residence.code_insee.in_(_communes_du_territoire(commission.territoire)))
    return stmt


def examens_inscriptibles(session: Session, seance: Seance) -> list[ExamenOccupation]:
    """Examinations with at least one situation, of the commission's bailleur and territory, not on an agenda."""
    commission = seance.commission
    stmt = (select(ExamenOccupation).join(BailLocataire).join(Logement, BailLocataire.logement_id == Logement.id)
            .join(Residence)
            .where(BailLocataire.bailleur_id == commission.bailleur_id, ExamenOccupation.seance_id.is_(None))
            .options(selectinload(ExamenOccupation.bail).selectinload(BailLocataire.logement))
            .order_by(ExamenOccupation.date_examen, BailLocataire.reference))
    return [e for e in session.scalars(_du_territoire(stmt, commission)) if e.situations]


def inscrire_examens(session: Session, seance: Seance, examen_ids: Iterable[int], *, acteur: str
                     ) -> list[ExamenOccupation]:
    ids = list(examen_ids)
    if seance.nature != NatureSeance.EXAMEN_OCCUPATION:
        raise ErreurOccupation({"seance": ["Cette séance n'est pas une séance d'examen de l'occupation."]})
    if not ids:
        raise ErreurOccupation({"examens": ["Choisissez au moins un dossier."]})
    permis = {e.id: e for e in examens_inscriptibles(session, seance)}
    refuses = [i for i in ids if i not in permis]
    if refuses:
        raise ErreurOccupation({"examens": [
            f"Examen {i} : pas un dossier à transmettre de votre patrimoine hors ordre du jour." for i in refuses]})
    ordre = session.scalar(select(func.coalesce(func.max(ExamenOccupation.ordre), 0))
                           .where(ExamenOccupation.seance_id == seance.id)) or 0
    inscrits = []
    for i in ids:
        ordre += 1
        permis[i].seance_id = seance.id
        permis[i].ordre = ordre
        inscrits.append(permis[i])
    session.flush()
    journaliser(session, acteur=acteur, action="seance.inscrire_examens_occupation", objet_type="seance",
                objet_id=seance.id, apres={"examens": ids})
    return inscrits


def ordre_du_jour(session: Session, seance: Seance) -> list[ExamenOccupation]:
    return list(session.scalars(
        select(ExamenOccupation).where(ExamenOccupation.seance_id == seance.id)
        .options(selectinload(ExamenOccupation.bail).selectinload(BailLocataire.occupants),
                 selectinload(ExamenOccupation.bail).selectinload(BailLocataire.logement)
                 .selectinload(Logement.residence),
                 selectinload(ExamenOccupation.constat))
        .order_by(ExamenOccupation.ordre)))


def _texte_audit(texte: str | None) -> str | None:
    """Free texts may hold personal facts: the audit keeps their length, never their content."""
    return None if not texte else f"(texte, {len(texte)} caractères)"


def _etat_constat(c: ConstatOccupation | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "situations_constatees": list(c.situations_constatees or []),
        "typologies": list(c.typologies or []),
        "surface_min": None if c.surface_min is None else str(c.surface_min),
        "surface_max": None if c.surface_max is None else str(c.surface_max),
        "accessibilite": str(c.accessibilite),
        "communes": list(c.communes or []),
        "secteur": _texte_audit(c.secteur),
        "conseil_accession": bool(c.conseil_accession),
        "observations": _texte_audit(c.observations),
        "avis": _texte_audit(c.avis),
    }


def _etat_suivi(c: ConstatOccupation | None) -> dict[str, Any] | None:
    if c is None or c.suivi_le is None:
        return None
    return {
        "suivi_date": c.suivi_date.isoformat() if c.suivi_date else None,
        "suivi_issue": None if c.suivi_issue is None else str(c.suivi_issue),
        "suivi_commentaire": _texte_audit(c.suivi_commentaire),
        "mutation_demande_creee": c.mutation_demande_creee,
        "mutation_numero_unique": c.mutation_numero_unique,
    }


def _examen_de_la_seance(session: Session, seance: Seance, examen_id: int) -> ExamenOccupation:
    examen = session.get(ExamenOccupation, examen_id)
    if examen is None or examen.seance_id != seance.id:
        raise ErreurOccupation({"examen": ["Ce dossier n'est pas à l'ordre du jour de la séance."]})
    return examen


def enregistrer_constat(session: Session, seance: Seance, examen_id: int, donnees: Mapping[str, Any], *,
                        utilisateur_id: int | None, acteur: str) -> ConstatOccupation:
    """Record (or correct) the CALEOL's findings on one file of the séance; `donnees` from ConstatSchema."""
    examen = _examen_de_la_seance(session, seance, examen_id)
    inconnues = [c for c in donnees["situations_constatees"] if c not in situations_connues()]
    if inconnues:
        raise ErreurOccupation({"situations_constatees": [f"Situation inconnue : {c}." for c in inconnues]})
    constat = examen.constat
    avant = _etat_constat(constat)
    if constat is None:
        constat = ConstatOccupation(examen_id=examen.id, seance_id=seance.id)
        session.add(constat)
        examen.constat = constat
    for champ in ("situations_constatees", "typologies", "surface_min", "surface_max", "communes", "secteur",
                  "conseil_accession", "observations", "avis"):
        setattr(constat, champ, donnees[champ])
    constat.accessibilite = Accessibilite(donnees["accessibilite"])
    constat.constate_par_id = utilisateur_id
    constat.constate_le = maintenant()
    session.flush()
    journaliser(session, acteur=acteur, action="occupation.constat", objet_type="examen_occupation",
                objet_id=examen.id, avant=avant, apres=_etat_constat(constat), details={"seance_id": seance.id})
    return constat


def enregistrer_suivi(session: Session, seance: Seance, examen_id: int, donnees: Mapping[str, Any], *,
                      utilisateur_id: int | None, acteur: str) -> ConstatOccupation:
    """Record the bailleur's review of the residential path with the tenant, after the CALEOL's findings."""
    examen = _examen_de_la_seance(session, seance, examen_id)
    constat = examen.constat
    if constat is None:
        raise ErreurOccupation({"suivi": ["La commission n'a pas encore rendu son constat sur ce dossier."]})
    if donnees["mutation_demande_creee"] and not donnees["mutation_numero_unique"]:
        raise ErreurOccupation({"mutation_numero_unique": ["Numéro unique de la demande de mutation obligatoire."]})
    if not donnees["mutation_demande_creee"] and donnees["mutation_numero_unique"]:
        raise ErreurOccupation({"mutation_numero_unique": ["Pas de numéro unique sans demande de mutation créée."]})
    avant = _etat_suivi(constat)
    constat.suivi_date = donnees["suivi_date"]
    constat.suivi_issue = IssueParcours(donnees["suivi_issue"])
    constat.suivi_commentaire = donnees["suivi_commentaire"]
    constat.mutation_demande_creee = donnees["mutation_demande_creee"]
    constat.mutation_numero_unique = donnees["mutation_numero_unique"]
    constat.suivi_par_id = utilisateur_id
    constat.suivi_le = maintenant()
    session.flush()
    journaliser(session, acteur=acteur, action="occupation.suivi", objet_type="examen_occupation",
                objet_id=examen.id, avant=avant, apres=_etat_suivi(constat), details={"seance_id": seance.id})
    return constat
