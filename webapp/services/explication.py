"""Explanation of the algorithm on request (CRPA, art. L311-3-1 and R311-3-1-2).

    expliquer(session, numero_unique, decision_id=None) -> Explication       (reads, writes nothing)
    communiquer(session, numero_unique, decision_id=None, acteur=...) -> Explication
                                                  (records the document and one audit entry; flush only)
    explication_html(explication, masquer_sensible=False) -> str
    en_pdf(html) -> bytes                                                   (WeasyPrint, as the letters)

R311-3-1-2 lists what the administration communicates, in an intelligible form, to a person subject
to an individual decision taken on the basis of an algorithmic processing: 1° the degree and the mode
of contribution of the processing to the decision; 2° the data processed and their sources; 3° the
processing parameters and, where applicable, their weighting, applied to the person's situation;
4° the operations carried out by the processing. The document answers these four points for ONE
demande, in plain French, with the applicant's own values.

What it explains. The stored evaluation of the demande (EvaluationDemande: its date, its rulebook
version and the fingerprint of its input), replayed with the engine (with the trace) on the stored
input: the dossier is taken from the database only if it still gives the stored fingerprint at the
stored date, i.e. it is the very input that was evaluated. With a decision of the commission, the
document adds what the commission saw (the proposal recorded on the séance's agenda for this
candidate: rank, score, taux d'effort, reste à vivre) and what it decided (type, rank, motifs with
their legal ground, justification of a departure from the proposed order). A demande that is no longer
active has no stored evaluation: for a decision on it, the dossier is evaluated at the séance's date with
the rulebook in force, and the document says so.

Identical on replay. Everything the document says is computed from `entree` (the stored input: the
dossier as evaluated, the evaluation date and version, and what the database said around it at the
first communication — origin of the record, position among similar demandes, decision, proposal),
never from today's date. The first document generated for communication records `entree`, the
content and its SHA-256 (webapp.models.ExplicationDemande); every later request for the same
evaluation (and decision) replays that `entree`, checks that the engine gives the same content, and
renders the same HTML with the same digest. When the rulebook version in force is not the one of the
stored evaluation, the document says which version it explains: a document already communicated is
reproduced from its recorded content; otherwise it is computed with the rules of that version when
this instance kept its files (webapp.regles.activation: the archive of each recorded version); without
them, the service refuses with a French message rather than explain the evaluation with rules that did
not produce it.

Sensitive facts (violences, santé, handicap). The document is addressed to the applicant and says
everything about their own file. Each item that reads or reveals a protected situation carries the
neutral wording that replaces it (`masque`); the web view shows that wording to the roles that may
not see sensitive facts (webapp.auth ROLES_DONNEES_SENSIBLES, as on the fiche demande), and only the
roles that may see them generate the document for communication. The audit entry records who, when,
which demande, decision, version and digest: never a fact of the file.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from engine.cotation import RUBRIQUE_ANCIENNETE, RUBRIQUE_REFUS
from engine.derivations import seuils_quartile
from engine.evaluation import empreinte_entree, evaluer_detaille, moteur_a_la_date
from engine.geo import charger_territoire
from engine.parametres import ParametreIntrouvable, parametres_a_la_date
from engine.regles import reglement
from engine.version import version_regles
from engine.yaml_strict import ErreurRegles

from ..audit import journaliser
from ..demandes.evaluation import (
    FONDEMENTS_CATEGORIE,
    MASQUE_CRITERE,
    MASQUE_DETAIL,
    MASQUE_MOTIF,
    MASQUE_SITUATION,
    MASQUE_TITRE,
    SOURCES_REVENU,
    ZONES,
    explication_en_clair,
    groupes_trace,
    sensibilite,
    texte_valeur,
)
from ..filtres import date_fr, euros, nombre
from ..horloge import maintenant
from ..models import (
    AuditEntry,
    Candidature,
    Decision,
    Demande,
    EvaluationDemande,
    ExplicationDemande,
    PointOrdreDuJour,
    TypeDecision,
    VersionRegles,
)
from ..referentiels import listes_sne, motifs_sensibles, situations_prioritaires, situations_sensibles
from . import decisions as svc_decisions
from .dossiers import charger_demande, dossier_depuis_demande
from .position import ErreurPosition, position
from .propositions import politique

FORMAT = 1
TITRE = "Explication de l'algorithme (R311-3-1-2)"
PREFIXE_EMPREINTE = "sha256:"
FINANCEMENTS = ("PLAI", "PLUS", "PLS")
LIBELLES_ROLE = {
    "demandeur": "demandeur", "cotitulaire": "cotitulaire", "personne_a_charge": "personne à charge",
    "enfant_garde_alternee": "enfant en garde alternée", "enfant_droit_visite": "enfant en droit de visite",
    "enfant_a_naitre": "enfant à naître",
}
# Where each fact read by the rules comes from (first matching prefix), for point 2°.
NATURES_FAITS = (
    ("situations_verifiees.", "vérifié (service instructeur ou travailleur social)"),
    ("menage.residence_reguliere_verifiee", "vérifié (service instructeur)"),
    ("menage.residence_reguliere", "déclaré dans la demande, ou vérifié par le service instructeur (la vérification prime)"),
    ("situations.", "déclaré dans la demande"),
    ("dalo.", "décision de la commission de médiation DALO ou désignation par le préfet"),
    ("labels.", "label du PDALHPD ou du SIAO enregistré dans la demande"),
    ("accompagnement.", "déclaré dans la demande"),
    ("logement_actuel.sur_occupe", "calculé par Caléol (surface et occupants déclarés, surface minimale réglementaire)"),
    ("logement_actuel.taux_effort", "calculé par Caléol (loyer et ressources déclarés)"),
    ("logement.", "le logement proposé (caractéristiques enregistrées par le bailleur)"),
    ("adequation.", "calculé par Caléol pour un logement proposé"),
    ("logement_actuel.", "déclaré dans la demande"),
    ("demande.anciennete_mois", "calculé par Caléol (date de dépôt et date de l'évaluation)"),
    ("demande.validite_expiree", "calculé par Caléol (date de renouvellement et délai de validité)"),
    ("demande.nb_refus", "calculé par Caléol (offres refusées enregistrées)"),
    ("demande.numero_unique_present", "système national d'enregistrement (SNE)"),
    ("demande.", "déclaré dans la demande"),
    ("demandeur.age", "calculé par Caléol (date de naissance déclarée)"),
    ("demandeur.majeur", "calculé par Caléol (date de naissance déclarée)"),
    ("demandeur.", "déclaré dans la demande"),
    ("ressources.revenu_retenu", "calculé par Caléol (avis d'imposition ou ressources déclarées)"),
    ("ressources.mensuelles", "calculé par Caléol (ressources mensuelles déclarées)"),
    ("ressources.epci", "référentiel des communes et EPCI (INSEE)"),
    ("ressources.quartile", "calculé par Caléol (seuils des quartiles fixés par arrêté)"),
    ("ressources.", "calculé par Caléol (avis d'imposition et ressources déclarés)"),
    ("plafonds.", "plafonds de ressources fixés par arrêté, pour la catégorie du ménage"),
    ("menage.", "calculé par Caléol (composition du ménage déclarée)"),
    ("politique.", "règlement de la commission d'attribution"),
    ("evaluation.", "Caléol"),
    ("", "déclaré dans la demande"),
)
FAITS_TECHNIQUES = frozenset({"date_evaluation", "evaluation.contexte"})
ORIGINES = {
    "demande.enregistrer": "saisie ou mise à jour dans Caléol",
    "demande.importer_sne": "import du fichier du système national d'enregistrement (SNE)",
    "demande.creer_api": "transmise par l'interface de programmation (API) de Caléol",
    "demande.modifier_api": "mise à jour par l'interface de programmation (API) de Caléol",
}


class ErreurExplication(ValueError):
    """The document cannot be produced (a French message naming the demande or the version)."""


# --------------------------------------------------------------------------- stored input


def _encoder(valeur: Any) -> Any:
    """JSON with the types kept: the dossier decodes to the very dict that was evaluated."""
    if isinstance(valeur, dict):
        return {k: _encoder(v) for k, v in valeur.items()}
    if isinstance(valeur, list | tuple):
        return [_encoder(v) for v in valeur]
    if isinstance(valeur, Decimal):
        return {"$decimal": str(valeur)}
    if isinstance(valeur, dt.date) and not isinstance(valeur, dt.datetime):
        return {"$date": valeur.isoformat()}
    return valeur


def _decoder(valeur: Any) -> Any:
    if isinstance(valeur, dict):
        if set(valeur) == {"$decimal"}:
            return Decimal(valeur["$decimal"])
        if set(valeur) == {"$date"}:
            return dt.date.fromisoformat(valeur["$date"])
        return {k: _decoder(v) for k, v in valeur.items()}
    if isinstance(valeur, list):
        return [_decoder(v) for v in valeur]
    return valeur


def _json(valeur: Any) -> Any:
    """Plain JSON (dates ISO, decimals as text) for what the stored input keeps of the database."""
    if isinstance(valeur, dict):
        return {str(k): _json(v) for k, v in valeur.items()}
    if isinstance(valeur, list | tuple):
        return [_json(v) for v in valeur]
    if isinstance(valeur, Decimal):
        return str(valeur)
    if isinstance(valeur, dt.datetime):
        return valeur.isoformat()
    if isinstance(valeur, dt.date):
        return valeur.isoformat()
    return valeur


def empreinte_contenu(contenu: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the content (sorted keys, no spaces): printed in the document."""
    texte = json.dumps(contenu, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(texte.encode("utf-8")).hexdigest()


def _origine(session: Session, demande: Demande) -> dict[str, Any]:
    """How the demande came into Caléol, from the audit log (last entry on it, else the SNE import that named it)."""
    entree = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.objet_type == "demande", AuditEntry.objet_id == str(demande.id), AuditEntry.action.in_(list(ORIGINES)))
        .order_by(AuditEntry.horodatage.desc(), AuditEntry.id.desc())
        .limit(1)
    ).first()
    if entree is not None:
        return {"action": entree.action, "date": entree.horodatage.date().isoformat(), "texte": ORIGINES[entree.action]}
    sne = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "sne.importer",
               cast(AuditEntry.details, String).like(f'%"{demande.numero_unique}"%'))
        .order_by(AuditEntry.horodatage.desc(), AuditEntry.id.desc())
        .limit(1)
    ).first()
    if sne is not None:
        return {"action": sne.action, "date": sne.horodatage.date().isoformat(), "texte": ORIGINES["demande.importer_sne"]}
    demo = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "demo.charger").order_by(AuditEntry.id).limit(1)
    ).first()
    if demo is not None:
        return {"action": demo.action, "date": demo.horodatage.date().isoformat(),
                "texte": "données de démonstration chargées dans Caléol (demande fictive)"}
    return {"action": None, "date": None, "texte": "origine de l'enregistrement non retrouvée dans le journal d'audit"}


def _decision(session: Session, decision: Decision) -> dict[str, Any]:
    """What the commission decided on this candidature, and the proposal it had before it."""
    c: Candidature = decision.candidature
    seance = c.seance
    ref = svc_decisions.referentiel()
    code = TypeDecision(decision.type).value
    info = ref.types[code]
    motifs = []
    for m in decision.motifs or []:
        motif = ref.motifs.get(m)
        motifs.append({"code": m, "libelle": motif.libelle if motif else m,
                       "fondement": motif.fondement.titre if motif else "motif hors vocabulaire"})
    logement = c.logement
    residence = logement.residence
    point = session.scalars(
        select(PointOrdreDuJour).where(PointOrdreDuJour.seance_id == c.seance_id, PointOrdreDuJour.logement_id == c.logement_id)
    ).first()
    proposition = None
    if point is not None:
        candidats = (point.proposition or {}).get("candidats") or []
        moi = next((x for x in candidats if x.get("demande_id") == c.demande_id), None)
        if moi is not None:
            pourquoi = moi.get("pourquoi_devant") or {}
            proposition = {
                "date": (point.proposition or {}).get("date"),
                "version_regles": point.version_regles,
                "nombre_candidats": len(candidats),
                "rang": moi.get("rang"),
                "score": moi.get("score"),
                "taux_effort": moi.get("taux_effort"),
                "reste_a_vivre_par_uc_jour": moi.get("reste_a_vivre_par_uc_jour"),
                "apl": moi.get("apl"),
                "source_apl": moi.get("source_apl"),
                "cout_mensuel": moi.get("cout_mensuel"),
                "cout_net_mensuel": moi.get("cout_net_mensuel"),
                "valeurs_classement": moi.get("valeurs_classement"),
                # Only the criterion: the values compared are those of another applicant.
                "critere_devant": pourquoi.get("critere"),
                "alertes": list(moi.get("alertes") or []),
            }
    return {
        "id": decision.id,
        "type": code,
        "libelle": info.libelle,
        "reference": info.reference.titre,
        "attribue": info.attribue,
        "classement": info.classement,
        "rang": decision.rang,
        "rang_propose": c.rang_propose,
        "ecart": svc_decisions.ecart_a_l_ordre_propose(c, code, decision.rang),
        "motifs": motifs,
        "justification": decision.justification,
        "version_regles": decision.version_regles,
        "decide_le": decision.decide_le.date().isoformat() if decision.decide_le else None,
        "seance": {"id": seance.id, "date": seance.date_seance.isoformat(), "commission": seance.commission.nom,
                   "bailleur": seance.commission.bailleur.nom},
        "logement": {"reference": logement.reference, "typologie": str(logement.typologie),
                     "financement": str(logement.financement), "residence": residence.nom,
                     "code_insee": residence.code_insee},
        "proposition": proposition,
    }


def _position(session: Session, demande: Demande, date: dt.date) -> dict[str, Any] | None:
    try:
        p = position(session, demande.numero_unique, date)
    except (ErreurPosition, ErreurRegles, ParametreIntrouvable):
        return None
    return {"territoire": p["territoire"], "positions": [
        {"typologie": x["typologie"], "rang": x["rang"], "total": x["total"], "texte": x["texte"]} for x in p["positions"]]}


def _stocke(ev: EvaluationDemande) -> dict[str, Any]:
    """What the stored evaluation says, to check the replay against."""
    return {
        "recevable": ev.recevable, "eligible_plai": ev.eligible_plai, "eligible_plus": ev.eligible_plus,
        "eligible_pls": ev.eligible_pls, "categorie": ev.categorie, "nb_personnes": ev.nb_personnes,
        "score": str(ev.score), "grille": ev.grille, "dalo": ev.dalo, "prioritaire": ev.prioritaire,
        "regles_appliquees": sorted(ev.regles_appliquees or []),
    }


@dataclass(frozen=True)
class Base:
    """What a document explains: an evaluation (date, rulebook version, fingerprint of its input).

    `nature`: « enregistree », the demande's stored evaluation (EvaluationDemande); « decision », a
    demande that has no stored evaluation any more (no longer active) explained for a decision of the
    commission: evaluated for the document at the séance's date with the rulebook in force."""

    date: dt.date
    version: str
    empreinte: str
    nature: str
    stocke: dict[str, Any] | None = None
    calculee_le: dt.datetime | None = None


def _base(demande: Demande, ev: EvaluationDemande | None, decision: Decision | None) -> Base:
    if ev is not None:
        return Base(ev.date_evaluation, ev.version_regles, ev.empreinte_entree, "enregistree", _stocke(ev), ev.calculee_le)
    if decision is None:
        raise ErreurExplication(
            f"Demande {demande.numero_unique} : aucune évaluation enregistrée (demande inactive ou jamais évaluée) ; "
            "lancez « caleol evaluations recalculer », ou indiquez la décision de la commission à expliquer."
        )
    date = decision.candidature.seance.date_seance
    empreinte = empreinte_entree(dossier_depuis_demande(demande), None, date, None, "demande").removeprefix(PREFIXE_EMPREINTE)
    return Base(date, version_regles(), empreinte, "decision")


def construire_entree(session: Session, demande: Demande, base: Base, decision: Decision | None) -> dict[str, Any]:
    """The stored input of a first communication: the dossier as evaluated (checked against the stored
    fingerprint) and what the database says around it today."""
    dossier = dossier_depuis_demande(demande)
    calcule = empreinte_entree(dossier, None, base.date, None, "demande").removeprefix(PREFIXE_EMPREINTE)
    if calcule != base.empreinte:
        raise ErreurExplication(
            f"Demande {demande.numero_unique} : elle a été modifiée depuis son évaluation enregistrée du "
            f"{base.date:%d/%m/%Y} ; l'explication doit porter sur les données évaluées. "
            "Recalculez l'évaluation (caleol evaluations recalculer) puis générez le document."
        )
    return {
        "format": FORMAT,
        "numero_unique": demande.numero_unique,
        "base": base.nature,
        "dossier": _encoder(dossier),
        "date_evaluation": base.date.isoformat(),
        "version_regles": base.version,
        "empreinte_entree": base.empreinte,
        "calculee_le": base.calculee_le.isoformat() if base.calculee_le else None,
        "stocke": base.stocke,
        "origine": _origine(session, demande),
        "position": _position(session, demande, base.date) if base.nature == "enregistree" else None,
        "decision": _json(_decision(session, decision)) if decision is not None else None,
    }


# --------------------------------------------------------------------------- the content


def _masque(**champs: Any) -> dict[str, Any]:
    return champs


def _texte_euros(x: Any, decimales: int = 2) -> str:
    return "non renseigné" if x is None else euros(x, decimales)


def _pourcent(x: Any) -> str:
    return "non calculé" if x is None else nombre(Decimal(str(x)) * 100, 1) + "\u202f%"


def _periode(debut: dt.date | None, fin: dt.date | None) -> str:
    if debut is None:
        return "—"
    return f"du {debut:%d/%m/%Y} au {fin:%d/%m/%Y}" if fin else f"depuis le {debut:%d/%m/%Y}"


def _parametre(p, chemin: str) -> dict[str, Any] | None:
    try:
        v = p.parametre(chemin)
    except ParametreIntrouvable:
        return None
    return {
        "chemin": chemin,
        "description": v.description,
        "valeur": texte_valeur(float(v.valeur) if isinstance(v.valeur, Decimal) else v.valeur),
        "reference": v.reference.titre if v.reference else None,
        "lien": v.reference.lien if v.reference else None,
        "validite": _periode(v.debut, v.fin),
        "a_verifier": bool(v.a_verifier),
    }


def _nature(chemin: str) -> str:
    for prefixe, nature in NATURES_FAITS:
        if chemin.startswith(prefixe):
            return nature
    return NATURES_FAITS[-1][1]  # pragma: no cover - the empty prefix matches every path


def _code_situation(chemin: str) -> str | None:
    for prefixe in ("situations_verifiees.", "situations."):
        if chemin.startswith(prefixe):
            return chemin[len(prefixe):]
    return None


def _donnees_demande(dossier: dict[str, Any], date: dt.date, origine: dict[str, Any]) -> list[dict[str, Any]]:
    """Point 2°, the file: each datum the processing read, with its value and its source."""
    codes = listes_sne()
    situations = situations_prioritaires()
    sensibles = situations_sensibles()
    motifs_prot = motifs_sensibles()
    territoire = charger_territoire()
    source_demande = f"demande de logement social ({origine['texte']})"
    lignes: list[dict[str, Any]] = []

    def ligne(libelle: str, valeur: str, source: str = source_demande, masque: dict[str, Any] | None = None) -> None:
        lignes.append({"libelle": libelle, "valeur": valeur, "source": source, "masque": masque})

    ligne("Numéro unique d'enregistrement", dossier["numero_unique"], "système national d'enregistrement (SNE)")
    ligne("Date de dépôt initial", date_fr(dossier["date_depot"]), "système national d'enregistrement (SNE)")
    ligne("Dernier renouvellement", date_fr(dossier.get("date_renouvellement")), "système national d'enregistrement (SNE)")
    ligne("Statut de la demande", str(dossier.get("statut") or "—"))
    for i, p in enumerate(dossier["personnes"], start=1):
        role = LIBELLES_ROLE.get(p["role"], p["role"])
        naissance = p.get("date_naissance") or p.get("date_naissance_prevue")
        texte = f"{role}, né(e) le {date_fr(naissance)}" if p.get("date_naissance") else f"{role}, naissance prévue le {date_fr(naissance)}"
        if p.get("lien_cotitulaire"):
            texte += f" ({p['lien_cotitulaire']})"
        ligne(f"Personne {i} du ménage", texte)
        handicap = (p.get("handicap") or {}).get("cmi_invalidite")
        if handicap:
            ligne(f"Personne {i} : carte mobilité inclusion mention invalidité", "oui",
                  masque=_masque(libelle=f"Personne {i} : information protégée", valeur=MASQUE_DETAIL))
        rp = p.get("residence_reguliere") or {}
        if p["role"] in ("demandeur", "cotitulaire"):
            verif = "vérifiée" if rp.get("verifiee") else ("déclarée" if rp.get("declaree") is not None else "non renseignée")
            valeur = texte_valeur(rp.get("verifiee") if rp.get("verifiee") is not None else rp.get("declaree"))
            ligne(f"Personne {i} : séjour régulier en France", f"{valeur} ({verif})",
                  "pièce vérifiée par le service instructeur" if rp.get("verifiee") is not None else source_demande)
        for rf in p.get("revenus_fiscaux") or []:
            montant = "porté par l'avis d'un autre membre du ménage" if rf.get("montant") is None else euros(rf["montant"], 0)
            ligne(f"Personne {i} : revenu fiscal de référence {rf['annee']}", montant,
                  f"avis d'imposition {rf['avis']}" if rf.get("avis") else "avis d'imposition")
        if p.get("ressources_12_mois") is not None:
            ligne(f"Personne {i} : ressources des douze derniers mois", euros(p["ressources_12_mois"], 0))
        for r in p.get("ressources") or []:
            liste = codes.get("ListeRessourceRecue" if r["sens"] == "recue" else "ListeRessourceVersee", {})
            sens = "reçue" if r["sens"] == "recue" else "versée"
            ligne(f"Personne {i} : ressource mensuelle {sens} « {liste.get(r['code'], r['code'])} »", euros(r["montant_mensuel"]))
        proc = p.get("procedures") or {}
        en_cours = [n for n, k in (("divorce", "divorce"), ("dissolution de PACS", "dissolution_pacs"),
                                   ("ordonnance de protection", "ordonnance_protection")) if proc.get(k)]
        if en_cours:
            ligne(f"Personne {i} : procédure en cours", ", ".join(en_cours),
                  masque=_masque(libelle=f"Personne {i} : information protégée", valeur=MASQUE_DETAIL))
    communes = [f"{c} ({territoire.nom_epci(territoire.epci(c)) or 'hors EPCI connu'})" for c in dossier.get("communes_souhaitees") or []]
    ligne("Communes souhaitées (code INSEE, EPCI)", ", ".join(communes) or "aucune")
    ligne("Typologies souhaitées", ", ".join(dossier.get("typologies_souhaitees") or []) or "aucune")
    motifs = dossier.get("motifs") or []
    texte_motifs = ", ".join(codes["ListeMotifDemande"].get(m, m) for m in motifs) or "aucun"
    ligne("Motifs de la demande", texte_motifs,
          masque=_masque(valeur=", ".join(MASQUE_MOTIF if m in motifs_prot else codes["ListeMotifDemande"].get(m, m) for m in motifs))
          if any(m in motifs_prot for m in motifs) else None)
    la = dossier.get("logement_actuel") or {}
    if la.get("modele"):
        ligne("Logement actuel", codes["ListeModeleLogement"].get(la["modele"], la["modele"]))
    if la.get("loyer_mensuel") is not None:
        ligne("Loyer actuel", euros(la["loyer_mensuel"]))
    if la.get("surface") is not None or la.get("nb_occupants") is not None:
        ligne("Surface et occupants du logement actuel",
              f"{texte_valeur(float(la['surface'])) if la.get('surface') is not None else 'non renseignée'} m², "
              f"{texte_valeur(la.get('nb_occupants'))} occupant(s)")
    for s in dossier.get("situations") or []:
        libelle = situations.get(s["code"], {}).get("libelle", s["code"])
        if s.get("verifiee"):
            source = f"vérifiée le {date_fr(s.get('date_verification'))} par {s.get('verifiee_par') or 'le service instructeur'}"
        else:
            source = f"déclarée ({source_demande}), non vérifiée"
        ligne("Situation de priorité", libelle, source,
              masque=_masque(valeur=MASQUE_SITUATION, source=MASQUE_DETAIL) if s["code"] in sensibles else None)
    dalo = dossier.get("dalo") or {}
    if dalo.get("date_decision") or dalo.get("statut") not in (None, "NON"):
        texte = f"statut {dalo.get('statut') or '—'}, décision favorable du {date_fr(dalo.get('date_decision'))}"
        if dalo.get("date_designation"):
            texte += f", désignation par le préfet le {date_fr(dalo['date_designation'])}"
        ligne("Droit au logement opposable (DALO)", texte, "commission de médiation DALO et préfet (enregistré dans la demande)")
    labels = dossier.get("labels") or {}
    ligne("Labels PDALHPD / SIAO", f"PDALHPD : {texte_valeur(labels.get('pdalhpd'))} ; SIAO : {texte_valeur(labels.get('siao'))}",
          "plan départemental (PDALHPD) et SIAO, enregistré dans la demande")
    refus = dossier.get("refus") or []
    if refus:
        legitimes = sum(1 for r in refus if r.get("motif_legitime"))
        ligne("Offres refusées", f"{len(refus)} refus, dont {legitimes} pour un motif reconnu légitime",
              "bailleurs (refus enregistrés)")
    if dossier.get("aide_logement_declaree") is not None:
        ligne("Aide au logement déclarée", euros(dossier["aide_logement_declaree"]) + " par mois")
    ligne("Date de l'évaluation", date_fr(date), "Caléol (date de référence de l'évaluation enregistrée)")
    return lignes


def _faits_lus(trace: list[dict[str, Any]], version: str) -> list[dict[str, Any]]:
    """Point 2°, the facts: every fact a rule or criterion read, with its value and where it comes from."""
    r = reglement()
    sensibles = situations_sensibles()
    motifs_prot = motifs_sensibles()
    codes = listes_sne()
    valeurs: dict[str, Any] = {}
    for ligne in trace:
        for chemin, valeur in ligne["valeurs"].items():
            valeurs.setdefault(chemin, valeur)
    lignes = []
    absentes: dict[str, int] = {"situations.": 0, "situations_verifiees.": 0}
    for chemin in sorted(valeurs):
        if chemin in FAITS_TECHNIQUES:
            continue
        valeur = valeurs[chemin]
        masque = None
        code = _code_situation(chemin)
        if code is not None and not valeur:
            # A situation neither declared nor verified: counted in one line rather than one line each.
            absentes["situations_verifiees." if chemin.startswith("situations_verifiees.") else "situations."] += 1
            continue
        libelle = r.catalogue.libelle(chemin)
        if code is not None:
            libelle = ("situation vérifiée : " if chemin.startswith("situations_verifiees.") else "situation déclarée : ") + \
                situations_prioritaires().get(code, {}).get("libelle", code)
            if code in sensibles:
                masque = _masque(libelle="situation protégée (accès restreint)", valeur=MASQUE_DETAIL)
        if chemin == "demande.motifs" and isinstance(valeur, list) and any(m in motifs_prot for m in valeur):
            masque = _masque(valeur=texte_valeur([MASQUE_MOTIF if m in motifs_prot else m for m in valeur]))
        if valeur is None and chemin.startswith(("logement.", "adequation.")):
            texte = "sans objet (évaluation sans logement proposé)"
        elif chemin == "demande.motifs" and isinstance(valeur, list):
            texte = texte_valeur([codes["ListeMotifDemande"].get(m, m) for m in valeur])
            if masque:
                masque["valeur"] = texte_valeur([MASQUE_MOTIF if m in motifs_prot else codes["ListeMotifDemande"].get(m, m)
                                                 for m in valeur])
        elif chemin == "logement_actuel.modele" and valeur is not None:
            texte = codes["ListeModeleLogement"].get(valeur, valeur)
        else:
            texte = texte_valeur(valeur)
        lignes.append({"chemin": chemin, "libelle": libelle, "valeur": texte, "nature": _nature(chemin), "masque": masque})
    for prefixe, libelle in (("situations.", "autres situations de priorité déclarées"),
                             ("situations_verifiees.", "autres situations de priorité vérifiées")):
        if absentes[prefixe]:
            lignes.append({"chemin": prefixe + "*", "libelle": libelle,
                           "valeur": f"aucune ({absentes[prefixe]} autre(s) situation(s) lue(s) par les règles, toutes à « non »)",
                           "nature": _nature(prefixe), "masque": None})
    return lignes


def _plafonds(resultat: dict[str, Any], p, categorie: int | None, supplementaires: int) -> list[dict[str, Any]]:
    """Point 3°: the ceilings of the household's category and zone, each with its text and validity."""
    zone = resultat["zone"]
    revenu = resultat["ressources"]["revenu_retenu"]
    lignes = []
    for fin in FINANCEMENTS:
        plafond = resultat["plafonds"][fin]
        if categorie is None or zone is None:
            lignes.append({"financement": fin, "plafond": "non déterminé", "parametres": [], "conclusion": "non déterminé"})
            continue
        parametres = [x for x in (_parametre(p, f"plafonds.{fin.lower()}.categorie_{categorie}.{zone}"),) if x]
        if supplementaires:
            supp = _parametre(p, f"plafonds.{fin.lower()}.personne_supplementaire.{zone}")
            if supp:
                supp["description"] = f"{supp['description']} (× {supplementaires} personne(s) au-delà de la catégorie 6)"
                parametres.append(supp)
        eligible = plafond["eligible"]
        if eligible is None:
            conclusion = "non comparé (revenu retenu inconnu)"
        else:
            conclusion = (f"revenu retenu {_texte_euros(revenu, 0)} {'≤' if eligible else '>'} plafond "
                          f"{_texte_euros(plafond['plafond'], 0)} : {'sous le plafond' if eligible else 'au-dessus du plafond'}")
        lignes.append({"financement": fin, "plafond": _texte_euros(plafond["plafond"], 0), "parametres": parametres,
                       "conclusion": conclusion})
    return lignes


def _cotation(resultat: dict[str, Any], appliquees: set[str], date: dt.date, version: str) -> dict[str, Any] | None:
    """Point 3°: the grid of the territory, each criterion with its points, met or not, counted or not."""
    c = resultat.get("cotation") or {}
    if not c.get("grille"):
        return None
    # The grid the engine scored with (the same object as in its compiled rulebook).
    grille = moteur_a_la_date(date).grille(c["epci"])[0]
    comptes = {d["critere"] for d in c["detail"]}
    criteres = []
    for critere in grille.criteres:
        s = sensibilite(critere.id, version)
        rempli = critere.id in appliquees
        criteres.append({
            "id": critere.id,
            "titre": critere.titre,
            "rubrique": grille.rubriques.get(critere.rubrique, critere.rubrique),
            "points": texte_valeur(float(critere.points)),
            "rempli": rempli,
            "compte": critere.id in comptes,
            "etat": ("rempli, compté" if critere.id in comptes else "rempli, non compté (un critère mieux noté de la même rubrique compte)")
            if rempli else "non rempli",
            "masque": _masque(titre=MASQUE_CRITERE, id=None) if s.titre_sensible else None,
        })
    lignes_calcul = []
    for d in c["detail"]:
        if d["rubrique"] in (RUBRIQUE_ANCIENNETE, RUBRIQUE_REFUS):
            libelle = "Ancienneté de la demande" if d["rubrique"] == RUBRIQUE_ANCIENNETE else "Refus d'offres adaptées sans motif légitime"
            lignes_calcul.append({"libelle": libelle, "points": texte_valeur(d["points"]), "masque": None})
        else:
            critere = next(x for x in criteres if x["id"] == d["critere"])
            lignes_calcul.append({"libelle": critere["titre"], "points": texte_valeur(d["points"]),
                                  "masque": _masque(libelle=MASQUE_CRITERE) if critere["masque"] else None})
    return {
        "grille": grille.id,
        "titre": grille.titre,
        "statut": grille.statut,
        "reference": grille.reference.titre,
        "lien": grille.reference.lien,
        "validite": _periode(grille.debut, grille.fin),
        "avertissement": grille.avertissement,
        "anciennete": (f"{texte_valeur(float(grille.points_par_mois))} point(s) par mois entier d'ancienneté"
                       + (f", {texte_valeur(float(grille.plafond_anciennete))} points au plus" if grille.plafond_anciennete is not None else ""))
        if grille.points_par_mois else None,
        "refus": (f"{texte_valeur(float(grille.points_par_refus))} point(s) par offre refusée"
                  + (" sans motif légitime" if grille.refus_compter == "non_legitimes" else ""))
        if grille.points_par_refus else None,
        "score_minimal": grille.score_minimal,
        "criteres": criteres,
        "calcul": lignes_calcul,
        "score": texte_valeur(c["score"]),
    }


def _classement(entree: dict[str, Any], stocke: dict[str, Any]) -> list[dict[str, Any]]:
    """Point 3°: the published ranking criteria, in order, with the applicant's own value for each."""
    pol = politique()
    dossier = entree["dossier"]
    decision = entree.get("decision") or {}
    proposees = ((decision.get("proposition") or {}).get("valeurs_classement")) or {}
    valeurs = {
        "dalo_designe": proposees.get("dalo_designe", stocke["dalo_designe"]),
        "dalo": proposees.get("dalo", stocke["dalo"]),
        "prioritaire": proposees.get("prioritaire", stocke["prioritaire"]),
        "score": Decimal(str(proposees.get("score", stocke["score"]))),
        "date_depot": _decoder(dossier["date_depot"]),
        "numero_unique": dossier["numero_unique"],
    }
    return [{"rang": i, "libelle": c.libelle, "ordre": "décroissant" if c.sens == "decroissant" else "croissant",
             "valeur": c.texte(valeurs[c.champ]), "reference": c.reference["titre"]}
            for i, c in enumerate(pol.criteres, start=1)]


def _valeur_lue(libelle: str, chemin: str, valeur: Any) -> dict[str, Any]:
    """A value a rule read, in plain French; the demande's motifs with their protected ones masked for the web view."""
    if chemin == "demande.motifs" and isinstance(valeur, list):
        codes = listes_sne()["ListeMotifDemande"]
        prot = motifs_sensibles()
        masque = _masque(valeur=texte_valeur([MASQUE_MOTIF if m in prot else codes.get(m, m) for m in valeur])) \
            if any(m in prot for m in valeur) else None
        return {"libelle": explication_en_clair(libelle), "valeur": texte_valeur([codes.get(m, m) for m in valeur]), "masque": masque}
    return {"libelle": explication_en_clair(libelle), "valeur": texte_valeur(valeur), "masque": None}


def _groupes(trace: list[dict[str, Any]], version: str) -> list[dict[str, Any]]:
    """Point 4°: every rule and criterion examined, by domain as on the fiche (webapp.demandes.evaluation):
    applied or not, why, the values it read; with the neutral wording of those that touch a protected situation."""
    bruts = {ligne["regle"]: ligne for ligne in trace}
    groupes = []
    for g in groupes_trace(trace, True, version):
        regles = []
        for ligne in g["lignes"]:
            s = sensibilite(ligne["regle"], version)
            masque = None
            if s.lit_sensible:
                masque = _masque(explication=MASQUE_DETAIL, valeurs=[])
                if s.titre_sensible:
                    masque.update(titre=MASQUE_TITRE, regle=None)
            valeurs = bruts[ligne["regle"]]["valeurs"]
            regles.append({
                "regle": ligne["regle"],
                "titre": ligne["titre"],
                "reference": ligne["reference"].get("titre"),
                "a_verifier": bool(ligne["reference"].get("a_verifier")),
                "appliquee": ligne["appliquee"],
                "explication": ligne["explication"],
                "valeurs": [_valeur_lue(v["libelle"], v["chemin"], valeurs[v["chemin"]]) for v in ligne["valeurs"]
                            if v["chemin"] not in FAITS_TECHNIQUES],
                "masque": masque,
            })
        groupes.append({"cle": g["cle"], "titre": g["titre"], "regles": regles, "appliquees": g["appliquees"]})
    return groupes


def _contribution(entree: dict[str, Any], resultat: dict[str, Any], nom_epci: str | None) -> dict[str, Any]:
    """Point 1°: what the processing does and does not do, and for a decision how the commission used it."""
    date = dt.date.fromisoformat(entree["date_evaluation"])
    paragraphes = [
        f"Le service Caléol a évalué votre demande au {date:%d/%m/%Y} avec la version {entree['version_regles']} "
        "de ses règles. Il a vérifié les conditions d'accès au logement social (recevabilité de la demande, "
        "plafonds de ressources), recherché les situations qui rendent la demande prioritaire (article L441-1 du "
        "code de la construction et de l'habitation, droit au logement opposable, Logement d'abord) et calculé "
        + (f"la cotation de votre demande selon la grille de {nom_epci or 'votre territoire'}." if resultat["cotation"].get("grille")
           else "la cotation de votre demande (aucune grille de cotation n'est en vigueur sur votre territoire : score nul)."),
        "Quand un logement se libère, Caléol retient les demandes qui peuvent y prétendre (recevables, sous le "
        "plafond de ressources du logement, typologie et commune souhaitées, surface adaptée) et les présente à "
        "la commission dans l'ordre publié décrit au point 3. C'est une aide à la décision : Caléol ne décide pas. "
        "La commission d'attribution des logements et d'examen de l'occupation des logements (CALEOL) examine "
        "les candidats et décide souverainement de chaque attribution (articles L441-2 et R441-3 du même code).",
    ]
    if resultat["recevable"] is False:
        paragraphes.append(
            "Caléol a relevé que la demande ne remplit pas en l'état une condition d'accès (voir le point 4) ; "
            "seule la commission peut rejeter une demande pour irrecevabilité."
        )
    elif resultat["recevable"] is None:
        paragraphes.append("Caléol a relevé que le dossier est incomplet (voir le point 4) : il ne le présente pas "
                           "à la commission tant que les pièces manquent.")
    decision = entree.get("decision")
    elements: list[dict[str, Any]] = []
    if decision is None:
        paragraphes.append(
            "Aucune décision de commission n'est rattachée à ce document : il explique l'évaluation de votre "
            "demande, qui sert à la présélection et à l'ordre de présentation des candidats."
        )
        return {"paragraphes": paragraphes, "elements": elements, "decision": None}
    prop = decision.get("proposition")
    logement = decision["logement"]
    seance = decision["seance"]
    elements.append({"libelle": "Logement", "valeur": f"{logement['reference']} — {logement['typologie']}, "
                                                        f"{logement['financement']}, résidence {logement['residence']}"})
    elements.append({"libelle": "Séance de la commission", "valeur": f"{date_fr(seance['date'])} — {seance['commission']} ({seance['bailleur']})"})
    if prop:
        elements.append({"libelle": "Proposition de Caléol", "valeur":
                         f"rang {prop['rang']} sur {prop['nombre_candidats']} candidat(s) présenté(s), calculée le "
                         f"{date_fr(prop['date'])} avec la version {prop['version_regles']} des règles"})
        if prop.get("critere_devant"):
            critere = next((c for c in politique().criteres if c.id == prop["critere_devant"]), None)
            if critere is not None:
                elements.append({"libelle": "Critère qui vous a départagé du candidat suivant", "valeur": critere.libelle})
    else:
        elements.append({"libelle": "Proposition de Caléol", "valeur": f"rang proposé {decision['rang_propose']} "
                         "(aucune proposition calculée n'est enregistrée à l'ordre du jour pour ce logement)"})
    texte_decision = decision["libelle"] + (f", au rang {decision['rang']}" if decision.get("rang") else "")
    elements.append({"libelle": "Décision de la commission", "valeur": f"{texte_decision} ({decision['reference']})"})
    for m in decision["motifs"]:
        elements.append({"libelle": "Motif", "valeur": f"{m['libelle']} — fondement : {m['fondement']}"})
    if decision["ecart"]:
        elements.append({"libelle": "Écart à l'ordre proposé", "valeur":
                         "la commission s'est écartée de l'ordre proposé par Caléol ; justification enregistrée : « "
                         + (decision.get("justification") or "—") + " »"})
    elif decision["attribue"]:
        elements.append({"libelle": "Écart à l'ordre proposé", "valeur": "aucun : la décision suit l'ordre proposé par Caléol"})
    else:
        elements.append({"libelle": "Rôle de Caléol dans cette décision", "valeur":
                         "la commission a décidé de ne pas vous attribuer ce logement ; l'ordre proposé ne lie pas la "
                         "commission, qui motive sa décision par les motifs ci-dessus"})
    if entree.get("base") == "decision":
        paragraphes.append(
            "Votre demande n'a plus d'évaluation enregistrée (elle n'est plus active). Pour ce document, Caléol a "
            f"évalué les données de votre demande telles qu'enregistrées lors de sa première génération, à la date de "
            f"la séance ({date_fr(decision['seance']['date'])}), avec la version {entree['version_regles']} des règles ; "
            "elles ont pu changer entre la séance et cette génération."
        )
    elif decision["seance"]["date"] != entree["date_evaluation"]:
        paragraphes.append(
            f"La commission a siégé le {date_fr(decision['seance']['date'])} ; les points 2 à 4 expliquent l'évaluation de "
            f"votre demande enregistrée au {date.strftime('%d/%m/%Y')}, que Caléol recalcule chaque jour (âges, ancienneté) "
            "et à chaque mise à jour de la demande. Les valeurs propres au logement (rang, taux d'effort, reste à vivre) "
            "sont celles de la proposition présentée à la commission."
        )
    if decision.get("version_regles") and decision["version_regles"] != entree["version_regles"]:
        paragraphes.append(
            f"La décision a été enregistrée avec la version {decision['version_regles']} des règles ; l'évaluation "
            f"expliquée ci-dessous est celle enregistrée pour votre demande (version {entree['version_regles']})."
        )
    return {"paragraphes": paragraphes, "elements": elements, "decision": {"id": decision["id"], "type": decision["type"]}}


def _calculs(entree: dict[str, Any], resultat: dict[str, Any], derivation, p) -> list[dict[str, Any]]:
    """Point 4°: the numbers Caléol computed, each with how."""
    m = resultat["menage"]
    res = resultat["ressources"]
    lignes = []

    def ligne(libelle: str, valeur: str, detail: str | None = None, masque: dict[str, Any] | None = None) -> None:
        lignes.append({"libelle": libelle, "valeur": valeur, "detail": detail, "masque": masque})

    ligne("Personnes du ménage", texte_valeur(m["nb_personnes"]), f"dont {texte_valeur(m['nb_personnes_a_charge'])} à charge")
    fondement = FONDEMENTS_CATEGORIE.get(m["fondement_categorie"], m["fondement_categorie"])
    ligne("Catégorie de ménage (arrêté du 29 juillet 1987)", texte_valeur(m["categorie"]),
          f"définition retenue : {fondement}" + (f" ; {m['personnes_supplementaires']} personne(s) au-delà de la catégorie 6"
                                                  if m["personnes_supplementaires"] else ""),
          _masque(detail=MASQUE_DETAIL) if m["fondement_categorie"] == "handicap" else None)
    details_uc = [f"personne {pd.rang} ({LIBELLES_ROLE.get(pd.role, pd.role)}) : {texte_valeur(float(pd.unites_consommation))}"
                  for pd in derivation.menage.personnes if pd.unites_consommation]
    ligne("Unités de consommation", texte_valeur(m["unites_consommation"]), "; ".join(details_uc) or None)
    source = SOURCES_REVENU.get(res["source_revenu"], res["source_revenu"])
    ligne("Revenu retenu pour les plafonds", _texte_euros(res["revenu_retenu"], 0),
          f"{source}" + (f" ({res['annee_revenu']})" if res.get("annee_revenu") else "") if res["revenu_retenu"] is not None
          else "revenu fiscal manquant : dossier incomplet")
    ligne("Ressources mensuelles", _texte_euros(res["ressources_mensuelles"]), "ressources reçues moins ressources versées déclarées")
    ligne("Ressources annuelles par unité de consommation", _texte_euros(res["revenu_annuel_par_uc"]),
          "ressources mensuelles × 12 ÷ unités de consommation")
    seuils = seuils_quartile(res["epci"], p)
    ligne("Quartile de ressources", texte_valeur(res["quartile"]) if res["quartile"] else "non déterminé",
          ("seuils de l'EPCI : " + " ; ".join(f"Q{i} {euros(s, 0)}" for i, s in enumerate(seuils, start=1))) if seuils else
          "pas de seuil publié pour l'EPCI")
    zone = ZONES.get(resultat["zone"], resultat["zone"]) if resultat["zone"] else "non déterminée"
    for fin in FINANCEMENTS:
        pl = resultat["plafonds"][fin]
        ligne(f"Plafond {fin}", _texte_euros(pl["plafond"], 0),
              f"zone : {zone} ; " + ("sous le plafond" if pl["eligible"] else ("au-dessus du plafond" if pl["eligible"] is False else "non comparé")))
    decision = entree.get("decision") or {}
    prop = decision.get("proposition")
    if prop:
        aide = f"aide au logement retenue {_texte_euros(prop.get('apl'))} ({prop.get('source_apl') or 'aucune'})"
        ligne("Taux d'effort pour le logement proposé", _pourcent(prop.get("taux_effort")),
              f"(loyer + charges − aide au logement) ÷ ressources mensuelles ; coût mensuel {_texte_euros(prop.get('cout_mensuel'))}, "
              f"{aide}, coût net {_texte_euros(prop.get('cout_net_mensuel'))}")
        ligne("Reste à vivre pour le logement proposé", _texte_euros(prop.get("reste_a_vivre_par_uc_jour"))
              + " par unité de consommation et par jour", "(ressources mensuelles − coût net) ÷ unités de consommation ÷ jours du mois")
    else:
        ligne("Taux d'effort et reste à vivre", "non calculés",
              "ils dépendent du loyer et des charges d'un logement précis : Caléol les calcule quand un logement est "
              "proposé à la commission (aucune proposition n'est rattachée à ce document)")
    cot = resultat.get("cotation") or {}
    ligne("Score de cotation", texte_valeur(cot.get("score")) + " point(s)" if cot.get("grille") else "aucun (pas de grille en vigueur)",
          "somme des points des critères comptés (détail au point 3)" if cot.get("grille") else None)
    pos = entree.get("position")
    if pos and pos.get("positions"):
        for x in pos["positions"]:
            ligne(f"Position parmi les demandes semblables ({x['typologie']})", f"rang {texte_valeur(x['rang'])} sur {texte_valeur(x['total'])}"
                  if x.get("rang") is not None else "non déterminée", x["texte"])
    if prop:
        ligne("Rang proposé pour le logement", f"{prop['rang']} sur {prop['nombre_candidats']}",
              "ordre lexicographique des critères de classement publiés (point 3)")
    return lignes


def construire_contenu(entree: dict[str, Any]) -> dict[str, Any]:
    """The document's content, from the stored input alone (the engine replays the evaluation with its trace).

    The rulebook version in force must be the entree's (the caller checks); raises ErreurExplication when
    the replay does not give the stored evaluation back.
    """
    dossier = _decoder(entree["dossier"])
    date = dt.date.fromisoformat(entree["date_evaluation"])
    resultat, appliquees, derivation = evaluer_detaille(dossier, None, date, trace=True)
    numero = entree["numero_unique"]
    if resultat["empreinte_entree"].removeprefix(PREFIXE_EMPREINTE) != entree["empreinte_entree"]:
        raise ErreurExplication(f"Demande {numero} : l'entrée enregistrée ne redonne pas l'empreinte de l'évaluation.")
    stocke = entree.get("stocke")
    rejoue = {
        "recevable": resultat["recevable"] is True, "categorie": resultat["menage"]["categorie"],
        "score": str(Decimal(str((resultat.get("cotation") or {}).get("score") or 0)).quantize(Decimal("0.01"))),
        "regles_appliquees": sorted(appliquees),
    }
    ecarts = [k for k, v in rejoue.items() if stocke is not None and stocke.get(k) != v]
    if ecarts:
        raise ErreurExplication(f"Demande {numero} : le rejeu de l'évaluation diffère de l'évaluation enregistrée "
                                f"({', '.join(ecarts)}) ; recalculez l'évaluation.")
    # The values the published ranking compares, as the replay gives them (equal to the stored ones).
    stocke = {"score": rejoue["score"], "dalo": bool(resultat["dalo"]), "dalo_designe": bool(resultat["designation_prefet"]),
              "prioritaire": any(x["code"] not in ("DALO", "DALO_DESIGNE_PREFET") for x in resultat["priorites"])}
    version = entree["version_regles"]
    # The dated parameters of the rules/ directory the engine evaluated with.
    p = parametres_a_la_date(date, getattr(moteur_a_la_date(date), "racine", None))
    territoire = charger_territoire()
    res = resultat["ressources"]
    nom_epci = territoire.nom_epci(res["epci"]) if res["epci"] else None
    sensibles = situations_sensibles()
    priorites = [{"libelle": x["libelle"], "reference": (x.get("reference") or {}).get("titre"),
                  "masque": _masque(libelle=MASQUE_SITUATION) if x["code"] in sensibles else None}
                 for x in resultat["priorites"]]
    uc = [x for x in (_parametre(p, c) for c in ("unites_consommation.premier_adulte",
                                                  "unites_consommation.autre_personne_age_seuil_et_plus",
                                                  "unites_consommation.personne_sous_age_seuil",
                                                  "unites_consommation.age_seuil")) if x]
    a_verifier = [x for x in (_parametre(p, c) for c in resultat["parametres_a_verifier"]) if x]
    decision = entree.get("decision")
    return {
        "format": FORMAT,
        "titre": TITRE,
        "numero_unique": numero,
        "evaluation": {
            "date": entree["date_evaluation"],
            "version_regles": version,
            "empreinte_entree": entree["empreinte_entree"],
            "territoire": nom_epci,
        },
        "decision_id": decision["id"] if decision else None,
        "contribution": _contribution(entree, resultat, nom_epci),
        "donnees": {
            "origine": entree["origine"]["texte"] + (f" (le {date_fr(entree['origine']['date'])})" if entree["origine"].get("date") else ""),
            "demande": _donnees_demande(dossier, date, entree["origine"]),
            "faits": _faits_lus(resultat["trace"], version),
        },
        "parametres": {
            "categorie": texte_valeur(resultat["menage"]["categorie"]),
            "zone": ZONES.get(resultat["zone"], resultat["zone"]) if resultat["zone"] else "non déterminée",
            "plafonds": _plafonds(resultat, p, resultat["menage"]["categorie"], resultat["menage"]["personnes_supplementaires"]),
            "unites_consommation": uc,
            "cotation": _cotation(resultat, appliquees, date, version),
            "classement": _classement(entree, stocke),
            "priorites": priorites,
            "a_verifier": a_verifier,
        },
        "operations": {
            "calculs": _calculs(entree, resultat, derivation, p),
            "recevable": {True: "recevable", False: "non recevable en l'état", None: "incomplète (pièces manquantes)"}[resultat["recevable"]],
            "groupes": _groupes(resultat["trace"], version),
        },
    }


# --------------------------------------------------------------------------- services


@dataclass
class Explication:
    contenu: dict[str, Any]
    empreinte: str
    version_en_vigueur: str
    # The first communicated document this one reproduces (None: computed now, not yet communicated).
    premiere: ExplicationDemande | None
    # False when the rulebook in force is another version: the stored content is reproduced as it was.
    recalculee: bool
    demande_id: int
    decision_id: int | None
    entree: dict[str, Any]

    @property
    def version_regles(self) -> str:
        return self.contenu["evaluation"]["version_regles"]

    @property
    def autre_version(self) -> bool:
        return self.version_en_vigueur != self.version_regles


def _demande(session: Session, numero_unique: str) -> Demande:
    demande = charger_demande(session, numero_unique)
    if demande is None:
        raise ErreurExplication(f"Demande {numero_unique} introuvable.")
    return demande


def _decision_de(session: Session, demande: Demande, decision_id: int | None) -> Decision | None:
    if decision_id is None:
        return None
    decision = session.get(Decision, decision_id)
    if decision is None or decision.candidature.demande_id != demande.id:
        raise ErreurExplication(f"Décision {decision_id} : aucune décision de ce numéro ne concerne la demande {demande.numero_unique}.")
    return decision


def premiere_communication(session: Session, demande_id: int, decision_id: int | None, base: Base) -> ExplicationDemande | None:
    requete = select(ExplicationDemande).where(
        ExplicationDemande.demande_id == demande_id,
        ExplicationDemande.version_regles == base.version,
        ExplicationDemande.date_evaluation == base.date,
        ExplicationDemande.empreinte_entree == base.empreinte,
        ExplicationDemande.decision_id.is_(None) if decision_id is None else ExplicationDemande.decision_id == decision_id,
    ).order_by(ExplicationDemande.id).limit(1)
    return session.scalars(requete).first()


def _avec_version(session: Session, version: str, calcul):
    """`calcul()` with the rulebook of a recorded version whose files this instance kept (webapp.regles.
    activation: extracted archive), in this thread only (the other threads keep the active rulebook);
    None without them."""
    from engine.version import racine_temporaire

    from ..regles import activation

    v = session.scalars(select(VersionRegles).where(VersionRegles.version == version)).one_or_none()
    if v is None or v.archive_empreinte is None:
        return None
    try:
        racine = activation.extraire(v)
    except activation.ErreurActivation:
        return None
    with racine_temporaire(racine):
        return calcul()


def expliquer(session: Session, numero_unique: str, decision_id: int | None = None) -> Explication:
    """The document for the stored evaluation of the demande (and a decision on it); writes nothing."""
    demande = _demande(session, numero_unique)
    decision = _decision_de(session, demande, decision_id)
    base = _base(demande, session.get(EvaluationDemande, demande.id), decision)
    en_vigueur = version_regles()
    premiere = premiere_communication(session, demande.id, decision_id, base)
    if base.version != en_vigueur:
        if premiere is None:
            # Never communicated: recomputed with the rules of that version when this instance kept them.
            entree = construire_entree(session, demande, base, decision)
            contenu = _avec_version(session, base.version, lambda: construire_contenu(entree))
            if contenu is not None:
                return Explication(contenu=contenu, empreinte=empreinte_contenu(contenu), version_en_vigueur=en_vigueur,
                                   premiere=None, recalculee=True, demande_id=demande.id, decision_id=decision_id,
                                   entree=entree)
            raise ErreurExplication(
                f"Demande {numero_unique} : l'évaluation enregistrée (au {base.date:%d/%m/%Y}) a été calculée avec "
                f"la version {base.version} des règles, dont les fichiers ne sont pas conservés sur cette instance (version en vigueur : "
                f"{en_vigueur}) et n'a jamais été communiquée : ce document ne peut pas la reproduire. Recalculez "
                "l'évaluation avec la version en vigueur (caleol evaluations recalculer) puis générez le document."
            )
        return Explication(contenu=premiere.contenu, empreinte=premiere.empreinte, version_en_vigueur=en_vigueur,
                           premiere=premiere, recalculee=False, demande_id=demande.id, decision_id=decision_id,
                           entree=premiere.entree)
    entree = premiere.entree if premiere is not None else construire_entree(session, demande, base, decision)
    contenu = construire_contenu(entree)
    empreinte = empreinte_contenu(contenu)
    if premiere is not None and empreinte != premiere.empreinte:
        raise ErreurExplication(
            f"Demande {numero_unique} : le rejeu de l'explication communiquée le {premiere.genere_le:%d/%m/%Y} ne redonne pas "
            f"le même document (empreinte {premiere.empreinte[:12]}… contre {empreinte[:12]}…) ; le document enregistré "
            "reste celui communiqué."
        )
    return Explication(contenu=contenu, empreinte=empreinte, version_en_vigueur=en_vigueur, premiere=premiere,
                       recalculee=True, demande_id=demande.id, decision_id=decision_id, entree=entree)


def reproduire(session: Session, explication_id: int) -> Explication:
    """A document already communicated, again: replayed from its stored input when its rulebook version is
    the one in force (the digest must be the same), else its stored content as it was communicated."""
    ligne = session.get(ExplicationDemande, explication_id)
    if ligne is None:
        raise ErreurExplication(f"Explication n° {explication_id} introuvable.")
    en_vigueur = version_regles()
    if ligne.version_regles != en_vigueur:
        return Explication(contenu=ligne.contenu, empreinte=ligne.empreinte, version_en_vigueur=en_vigueur, premiere=ligne,
                           recalculee=False, demande_id=ligne.demande_id, decision_id=ligne.decision_id, entree=ligne.entree)
    contenu = construire_contenu(ligne.entree)
    empreinte = empreinte_contenu(contenu)
    if empreinte != ligne.empreinte:
        raise ErreurExplication(
            f"Explication n° {explication_id} : le rejeu ne redonne pas le document communiqué (empreinte "
            f"{ligne.empreinte[:12]}… contre {empreinte[:12]}…)."
        )
    return Explication(contenu=contenu, empreinte=empreinte, version_en_vigueur=en_vigueur, premiere=ligne, recalculee=True,
                       demande_id=ligne.demande_id, decision_id=ligne.decision_id, entree=ligne.entree)


def communications(session: Session, demande_id: int) -> list[ExplicationDemande]:
    """The documents already communicated for a demande, the most recent first."""
    return list(session.scalars(
        select(ExplicationDemande).where(ExplicationDemande.demande_id == demande_id)
        .order_by(ExplicationDemande.genere_le.desc(), ExplicationDemande.id.desc())
    ))


def communiquer(session: Session, numero_unique: str, decision_id: int | None = None, *, acteur: str) -> tuple[Explication, ExplicationDemande]:
    """Generate the document for communication to the applicant: one ExplicationDemande row and one audit
    entry (who, when, which demande and decision, version, digest; no fact of the file). Flushes only."""
    x = expliquer(session, numero_unique, decision_id)
    ligne = ExplicationDemande(
        demande_id=x.demande_id, decision_id=decision_id,
        date_evaluation=dt.date.fromisoformat(x.contenu["evaluation"]["date"]),
        version_regles=x.version_regles, empreinte_entree=x.contenu["evaluation"]["empreinte_entree"],
        entree=x.entree, contenu=x.contenu, empreinte=x.empreinte, genere_le=maintenant(), genere_par=acteur,
    )
    session.add(ligne)
    session.flush()
    journaliser(
        session, acteur=acteur, action="explication.communiquer", objet_type="demande", objet_id=x.demande_id,
        details={
            "explication_id": ligne.id,
            "decision_id": decision_id,
            "date_evaluation": x.contenu["evaluation"]["date"],
            "version_regles": x.version_regles,
            "version_en_vigueur": x.version_en_vigueur,
            "empreinte": x.empreinte,
            "reproduit": None if x.premiere is None else x.premiere.id,
        },
    )
    return x, ligne


# --------------------------------------------------------------------------- rendering


def masquer(valeur: Any) -> Any:
    """The content as the roles that may not see sensitive facts see it: each item with a `masque`
    takes the neutral wording it carries."""
    if isinstance(valeur, dict):
        masque = valeur.get("masque")
        base = {k: masquer(v) for k, v in valeur.items() if k != "masque"}
        if masque:
            base.update(masque)
        return base
    if isinstance(valeur, list):
        return [masquer(v) for v in valeur]
    return valeur


def horodatage_fr(valeur: dt.datetime) -> str:
    from .documents import horodatage_fr as h

    return h(valeur)


def contexte(x: Explication, *, masquer_sensible: bool = False) -> dict[str, Any]:
    contenu = masquer(x.contenu) if masquer_sensible else x.contenu
    return {
        "c": contenu,
        "empreinte": x.empreinte,
        "version_en_vigueur": x.version_en_vigueur,
        "autre_version": x.autre_version,
        "recalculee": x.recalculee,
        "premiere_le": horodatage_fr(x.premiere.genere_le) if x.premiere is not None else None,
        "masque": masquer_sensible,
    }


def explication_html(x: Explication, *, masquer_sensible: bool = False) -> str:
    """The self-contained document (inline style, no asset): the same bytes for the same stored input."""
    from .documents import environnement

    return environnement().get_template("documents/explication.html").render(**contexte(x, masquer_sensible=masquer_sensible))


def en_pdf(html: str) -> bytes:
    from .documents import en_pdf as pdf

    return pdf(html)
