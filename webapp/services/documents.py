"""Documents of a séance: the minutes (procès-verbal) and the notification letters, as HTML and PDF.

Both are rendered from what was recorded (decisions, votes, renvois, signature) and from
rules/decisions/ (wording of types and motifs with their legal ground, means of appeal, notice of the
algorithmic treatment), with Jinja templates under templates/documents/. PDF by WeasyPrint from the
same HTML. Rendering needs no Flask request: the CLI and tests call these functions directly.

The minutes name the candidates by their numéro unique; their names appear only in the nominative
version (`nominatif=True`), which the views give only to roles that handle personal data.
"""
from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import filtres
from ..horloge import aujourd_hui
from ..models import (
    Candidature,
    Commune,
    Personne,
    RolePersonne,
    Seance,
    StatutSeance,
    TypeDecision,
)
from . import decisions as svc

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
LIBELLES_MODE = {"physique": "Séance physique", "dematerialisee": "Séance dématérialisée (numérique)"}
LIBELLES_CHOIX = {"pour": "pour", "contre": "contre", "abstention": "abstention", svc.CONFLIT: "conflit d'intérêts déclaré"}


def horodatage_fr(valeur: dt.datetime | None) -> str:
    if valeur is None:
        return "—"
    if valeur.tzinfo is None:
        valeur = valeur.replace(tzinfo=dt.UTC)
    return valeur.astimezone(dt.UTC).strftime("%d/%m/%Y à %H:%M (UTC)")


def date_longue(valeur: dt.date | None) -> str:
    mois = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
            "novembre", "décembre")
    if valeur is None:
        return "—"
    jour = "1er" if valeur.day == 1 else str(valeur.day)
    return f"{jour} {mois[valeur.month - 1]} {valeur.year}"


@functools.cache
def environnement() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    for nom in ("nombre", "euros", "date_fr", "oui_non"):
        env.filters[nom] = getattr(filtres, nom)
    env.filters["horodatage_fr"] = horodatage_fr
    env.filters["date_longue"] = date_longue
    return env


def _titulaire(session: Session, demande_id: int) -> Personne | None:
    return session.scalars(
        select(Personne)
        .where(Personne.demande_id == demande_id, Personne.role == RolePersonne.DEMANDEUR)
        .order_by(Personne.ordre, Personne.id)
    ).first()


def nom_candidat(session: Session, demande_id: int) -> str:
    p = _titulaire(session, demande_id)
    if p is None:
        return "—"
    return " ".join(x for x in ((p.prenom or "").strip(), (p.nom or "").strip().upper()) if x) or "—"


def _decision_vue(c: Candidature) -> dict[str, Any] | None:
    ref = svc.referentiel()
    d = c.decision
    if d is None:
        return None
    code = TypeDecision(d.type).value
    info = ref.types[code]
    piece = ref.piece(d.piece_manquante)
    return {
        "code": code,
        "libelle": info.libelle,
        "reference": info.reference,
        "rang": d.rang,
        "motifs": [ref.motifs[m] if m in ref.motifs else svc.Motif(m, m, svc.Reference("motif hors vocabulaire"), ())
                   for m in (d.motifs or [])],
        "piece": piece.libelle if piece else d.piece_manquante,
        "date_limite": d.date_limite_condition,
        "justification": d.justification,
        "ecart": svc.ecart_a_l_ordre_propose(c, code, d.rang),
        "decide_le": d.decide_le,
        "version_regles": d.version_regles,
        "effective": svc.est_effective(d),
        "info": info,
    }


def _logement_vue(session: Session, logement) -> dict[str, Any]:
    residence = logement.residence
    commune = session.get(Commune, residence.code_insee)
    return {
        "id": logement.id,
        "reference": logement.reference,
        "typologie": logement.typologie.value if hasattr(logement.typologie, "value") else logement.typologie,
        "financement": logement.financement.value if hasattr(logement.financement, "value") else logement.financement,
        "surface": logement.surface_habitable,
        "loyer": logement.loyer_principal,
        "charges": logement.charges_recuperables,
        "etage": logement.etage,
        "residence": residence.nom,
        "adresse": residence.adresse,
        "commune": commune.nom if commune is not None else residence.code_insee,
        "code_insee": residence.code_insee,
    }


def contexte_pv(session: Session, seance: Seance, *, nominatif: bool = False, avec_signature: bool = True) -> dict[str, Any]:
    """`avec_signature=False` renders the minutes as they are signed (their digest is kept with the signature)."""
    quorum = svc.etat_quorum(seance)
    logements: dict[int, dict[str, Any]] = {}
    for c in sorted(seance.candidatures, key=lambda x: (x.logement.reference, x.logement_id, x.rang_propose, x.id)):
        bloc = logements.setdefault(c.logement_id, {"logement": _logement_vue(session, c.logement), "candidats": []})
        votes = svc.votes_de(session, c.id)
        bloc["candidats"].append({
            "id": c.id,
            "numero_unique": c.demande.numero_unique,
            "nom": nom_candidat(session, c.demande_id) if nominatif else None,
            "rang_propose": c.rang_propose,
            "reservataire": c.reservataire.nom if c.reservataire else None,
            "decision": _decision_vue(c),
            "resultat": svc.resultat_vote(session, c) if votes else None,
            "conflits": [v.membre for v in votes if v.conflit_interets],
            "renvois": svc.renvois_de(session, c.id),
        })
    signature = svc.signature_de(session, seance.id) if avec_signature else None
    president = next((m for m in seance.membres if m.qualite.strip().lower().startswith("présid")), None)
    return {
        "seance": seance,
        "commission": seance.commission,
        "bailleur": seance.commission.bailleur.nom,
        "mode": LIBELLES_MODE.get(getattr(seance.mode, "value", seance.mode), str(seance.mode)),
        "close": seance.statut == StatutSeance.CLOSE,
        "quorum": quorum,
        "membres": sorted(seance.membres, key=lambda m: m.id),
        "logements": list(logements.values()),
        "nominatif": nominatif,
        "signature": signature,
        "signataire": signature.signe_par.nom_affiche if signature else (president.nom if president else None),
        "version_regles": seance.version_regles,
        "notice": svc.referentiel().notification["traitement_algorithmique"],
    }


def pv_html(session: Session, seance: Seance, *, nominatif: bool = False, avec_signature: bool = True) -> str:
    contexte = contexte_pv(session, seance, nominatif=nominatif, avec_signature=avec_signature)
    return environnement().get_template("documents/pv.html").render(**contexte)


def _texte(modele: str, **valeurs: Any) -> str:
    return " ".join(modele.split()).format(**valeurs)


def contexte_lettre(session: Session, candidature: Candidature) -> dict[str, Any]:
    ref = svc.referentiel()
    decision = _decision_vue(candidature)
    if decision is None:
        raise LookupError("Pas de décision pour cette candidature.")
    seance = candidature.seance
    demande = candidature.demande
    bailleur = seance.commission.bailleur.nom
    version = seance.version_regles or candidature.decision.version_regles or "—"
    notice = ref.notification["traitement_algorithmique"]
    delai_offre = None
    if decision["info"].attribue:
        from engine.parametres import parametres_a_la_date

        delai_offre = parametres_a_la_date(seance.date_seance).valeur(ref.notification["offre"]["parametre"])
    recours = []
    if decision["info"].voies_de_recours:
        recours = [
            {"libelle": r.libelle, "texte": _texte(r.texte, bailleur=bailleur, delai=ref.delai_recours,
                                                    unite=ref.unite_delai_recours), "reference": r.reference}
            for r in ref.recours
        ]
    return {
        "bailleur": bailleur,
        "commission": seance.commission,
        "seance": seance,
        "date_lettre": aujourd_hui(),
        "numero_unique": demande.numero_unique,
        "destinataire": nom_candidat(session, demande.id),
        "adresse": [x for x in (demande.adresse, " ".join(y for y in (demande.code_postal, demande.commune_adresse) if y)) if x],
        "logement": _logement_vue(session, candidature.logement),
        "decision": decision,
        "lettre": decision["info"].lettre,
        "motivation": _texte(ref.notification["motivation"]["texte"]),
        "offre": _texte(ref.notification["offre"]["texte"], delai=delai_offre) if delai_offre else None,
        "recours": recours,
        "reference_delai": ref.reference_delai_recours,
        "notice": {
            "titre": notice["titre"],
            "texte": _texte(notice["texte"], bailleur=bailleur),
            "communication": _texte(notice["communication"]),
            "version": _texte(notice["version"], version_regles=version),
            "reference": notice["reference"],
        },
    }


def lettre_html(session: Session, candidature: Candidature) -> str:
    return environnement().get_template("documents/lettre.html").render(**contexte_lettre(session, candidature))


def en_pdf(html: str) -> bytes:
    """PDF from the same HTML (WeasyPrint: needs the system's Pango, see the Makefile)."""
    from weasyprint import HTML

    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
