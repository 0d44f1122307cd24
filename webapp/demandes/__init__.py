"""Demandes: search in the shared file and the fiche of one demande."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import false, or_, select

from .. import get_session
from ..horloge import aujourd_hui
from ..models import Demande, Personne, RolePersonne, StatutDemande
from ..pagination import paginer
from ..pseudonymisation import vue_pseudonymisee
from ..referentiels import listes_sne, motifs_sensibles, situations_prioritaires, situations_sensibles
from ..services.dossiers import charger_demande
from .evaluation import vue_evaluation

bp = Blueprint("demandes", __name__, url_prefix="/demandes")


@bp.get("")
@login_required
def liste():
    q = (request.args.get("q") or "").strip()
    statut = request.args.get("statut") or StatutDemande.ACTIVE.value
    stmt = select(Demande).order_by(Demande.date_depot, Demande.numero_unique)
    if statut in {s.value for s in StatutDemande}:
        stmt = stmt.where(Demande.statut == statut)
    if q:
        motif = f"%{q.lower()}%"
        titulaires = select(Personne.demande_id).where(
            Personne.role.in_([RolePersonne.DEMANDEUR, RolePersonne.COTITULAIRE]),
            or_(Personne.nom.ilike(motif), Personne.prenom.ilike(motif)),
        )
        # In the pseudonymised view a name must not lead to its demande: numéro unique only.
        par_nom = Demande.id.in_(titulaires) if not vue_pseudonymisee() else false()
        stmt = stmt.where(or_(Demande.numero_unique == q.upper(), par_nom))
    page = paginer(get_session(), stmt)
    return render_template("demandes/liste.html", page=page, q=q, statut=statut, statuts=list(StatutDemande))


@bp.get("/<numero_unique>")
@login_required
def fiche(numero_unique: str):
    session = get_session()
    demande = charger_demande(session, numero_unique)
    if demande is None:
        abort(404)
    sensibles = situations_sensibles()
    montrer_sensible = current_user.voit_donnees_sensibles
    situations = [
        {
            "code": s.code,
            "libelle": situations_prioritaires()[s.code]["libelle"] if (montrer_sensible or s.code not in sensibles) else "Situation protégée (accès restreint)",
            "verifiee": s.verifiee,
        }
        for s in demande.situations
    ]
    return render_template(
        "demandes/fiche.html",
        demande=demande,
        situations=situations,
        montrer_sensible=montrer_sensible,
        motifs_sensibles=motifs_sensibles(),
        codes=listes_sne(),
        date_reference=aujourd_hui(),
        evaluation=vue_evaluation(session, demande, aujourd_hui(), montrer_sensible),
    )


from . import explication as _explication  # noqa: E402,F401  (routes de l'explication R311-3-1-2)
