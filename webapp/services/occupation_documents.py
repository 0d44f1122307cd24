"""The minutes of a review séance (examen de l'occupation, L442-5-2), as HTML (and PDF by WeasyPrint).

Rendered from what was recorded (agenda, engine's situations, the commission's findings, follow-up)
with templates/documents/pv_examen_occupation.html, without a Flask request. Tenants are designated by
the lease reference; their names appear only in the nominative version. Handicap details never appear.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..models import Seance
from . import decisions as svc_decisions
from . import occupation as svc
from .documents import LIBELLES_MODE, environnement

LIBELLES_ACCESSIBILITE = {
    "sans_exigence": "sans exigence particulière",
    "accessible": "logement accessible (personne à mobilité réduite)",
    "adapte": "logement adapté au handicap de l'occupant",
}
LIBELLES_ROLES = {
    "titulaire": "titulaire du bail",
    "cotitulaire": "cotitulaire",
    "personne_a_charge": "personne à charge",
    "enfant_garde_alternee": "enfant en garde alternée",
}
LIBELLES_ISSUE = {
    "maintien": "maintien dans le logement",
    "mutation_proposee": "mutation proposée",
    "mutation_acceptee": "mutation acceptée par le locataire",
    "mutation_refusee": "mutation refusée par le locataire",
    "accession_sociale": "projet d'accession sociale à la propriété",
    "sans_reponse": "locataire sans réponse",
}


def contexte_pv_examen(session: Session, seance: Seance, *, nominatif: bool = False) -> dict[str, Any]:
    dossiers = []
    for e in svc.ordre_du_jour(session, seance):
        titulaire = next((o for o in e.bail.occupants if o.rang == 1), None)
        nom = " ".join(x for x in ((titulaire.prenom or "", titulaire.nom or "") if titulaire else ()) if x)
        dossiers.append({"examen": e, "bail": e.bail, "constat": e.constat,
                         "titulaire": (nom or "—") if nominatif else None})
    return {
        "seance": seance,
        "commission": seance.commission,
        "bailleur": seance.commission.bailleur.nom,
        "mode": LIBELLES_MODE.get(seance.mode.value, seance.mode.value),
        "membres": sorted(seance.membres, key=lambda m: m.id),
        "quorum": svc_decisions.etat_quorum(seance),
        "dossiers": dossiers,
        "situations": svc.situations_connues(),
        "libelles_accessibilite": LIBELLES_ACCESSIBILITE,
        "libelles_issue": LIBELLES_ISSUE,
        "nominatif": nominatif,
    }


def pv_examen_html(session: Session, seance: Seance, *, nominatif: bool = False) -> str:
    contexte = contexte_pv_examen(session, seance, nominatif=nominatif)
    return environnement().get_template("documents/pv_examen_occupation.html").render(**contexte)
