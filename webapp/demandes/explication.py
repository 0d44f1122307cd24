"""The explanation of the algorithm on request (CRPA R311-3-1-2) from the fiche demande.

    GET  /demandes/<numero>/explication[?decision=ID]          the document, as the role may see it
    POST /demandes/<numero>/explication/communiquer            generate it for the applicant (HTML or PDF)

Every logged-in role of the fiche reads the page; the items that read or reveal a protected situation
(violences, santé, handicap) show their neutral wording to the roles that may not see sensitive facts,
as on the fiche. Only those that may see them (chargé d'attribution, président of a bailleur) generate
the document for communication: it is addressed to the applicant and holds their whole file; the
generation is recorded with its digest and leaves one audit entry (webapp.services.explication).
"""
from __future__ import annotations

from flask import Response, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import get_session
from ..models import Candidature, Decision
from ..services import explication as svc
from ..services.dossiers import charger_demande
from . import bp

FORMATS = {"html": "text/html", "pdf": "application/pdf"}


def _decision_id() -> int | None:
    brut = (request.values.get("decision") or "").strip()
    if not brut:
        return None
    if not (brut.isascii() and brut.isdigit()) or len(brut) > 18:
        abort(404)
    return int(brut)


def _decisions(demande_id: int) -> list[Decision]:
    return list(get_session().scalars(
        select(Decision).join(Candidature, Candidature.id == Decision.candidature_id)
        .where(Candidature.demande_id == demande_id).order_by(Decision.decide_le, Decision.id)
    ))


@bp.get("/<numero_unique>/explication")
@login_required
def explication(numero_unique: str):
    return _page(numero_unique)


def _page(numero_unique: str, *, erreur_saisie: str | None = None, champ_en_erreur: str | None = None):
    """The explanation page; with `erreur_saisie`, the refused form again (422, the error on its field)."""
    session = get_session()
    demande = charger_demande(session, numero_unique)
    if demande is None:
        abort(404)
    decision_id = _decision_id()
    erreur = x = None
    try:
        x = svc.expliquer(session, numero_unique, decision_id)
    except svc.ErreurExplication as exc:
        erreur = str(exc)
    statut = 200 if x is not None else 409
    if erreur_saisie:
        erreur, statut = erreur_saisie, 422
    contexte = svc.contexte(x, masquer_sensible=not current_user.voit_donnees_sensibles) if x is not None else {}
    return render_template(
        "demandes/explication.html", demande=demande, decisions=_decisions(demande.id), decision_id=decision_id,
        erreur=erreur, peut_communiquer=current_user.voit_donnees_sensibles and x is not None,
        communications=svc.communications(session, demande.id) if current_user.voit_donnees_sensibles else [],
        champ_en_erreur=champ_en_erreur, **contexte,
    ), statut


@bp.post("/<numero_unique>/explication/communiquer")
@login_required
def communiquer(numero_unique: str):
    if not current_user.voit_donnees_sensibles:
        abort(403)
    format_ = request.form.get("format") or "pdf"
    if format_ not in FORMATS:
        return _page(numero_unique, erreur_saisie="Format du document : choisissez PDF ou HTML. Rien n'a été enregistré.",
                     champ_en_erreur="format")
    session = get_session()
    try:
        x, ligne = svc.communiquer(session, numero_unique, _decision_id(), acteur=current_user.identifiant)
        html = svc.explication_html(x)
        contenu = svc.en_pdf(html) if format_ == "pdf" else html
        session.commit()
    except svc.ErreurExplication as exc:
        session.rollback()
        return render_template("demandes/explication.html", demande=charger_demande(session, numero_unique),
                               decisions=[], decision_id=None, erreur=str(exc), peut_communiquer=False, communications=[]), 409
    except Exception:
        session.rollback()
        raise
    reponse = Response(contenu, mimetype=FORMATS[format_])
    reponse.headers["Content-Disposition"] = f'attachment; filename="explication-{numero_unique}-{ligne.id}.{format_}"'
    reponse.headers["Cache-Control"] = "no-store"
    return reponse
