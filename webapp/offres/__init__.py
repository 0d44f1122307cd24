"""Offers and leases: the page « Offres et baux » of the bailleur, the answer, document and lease forms.

Who does what: the chargé d'attribution and the président of the bailleur record the household's
answer, the document received and the lease signature; members and readers of the bailleur read.
Offers belong to the bailleur of the logement: anybody else gets 403 (organisation) or 404 (offer).
Opening the list as an officer first lapses what is overdue (as the daily `caleol offres echeances`).
Names are not shown (numéro unique only). Every form carries the CSRF token.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from .. import get_session
from ..auth import role_requis
from ..horloge import aujourd_hui
from ..models import Offre, Role, StatutOffre, TypeOrganisation
from ..services import offres as svc

bp = Blueprint("offres", __name__, url_prefix="/offres")

LECTURE = (Role.CHARGE_ATTRIBUTION, Role.MEMBRE_COMMISSION, Role.PRESIDENT, Role.LECTEUR)
ECRITURE = svc.ROLES_ECRITURE
ORDRE_STATUTS = (StatutOffre.ATTENTE_PIECE, StatutOffre.EN_COURS, StatutOffre.ACCEPTEE, StatutOffre.BAIL_SIGNE,
                 StatutOffre.REFUSEE, StatutOffre.EXPIREE, StatutOffre.CADUQUE)
TITRES = {
    StatutOffre.ATTENTE_PIECE: "Attributions sous condition : pièce attendue",
    StatutOffre.EN_COURS: "Offres en attente de réponse",
    StatutOffre.ACCEPTEE: "Offres acceptées : bail à signer",
    StatutOffre.BAIL_SIGNE: "Baux signés",
    StatutOffre.REFUSEE: "Offres refusées",
    StatutOffre.EXPIREE: "Offres échues sans réponse",
    StatutOffre.CADUQUE: "Offres caduques",
}


def _bailleur_id() -> int:
    if current_user.organisation_type != TypeOrganisation.BAILLEUR:
        abort(403)
    return current_user.organisation_id


def _peut_ecrire() -> bool:
    return current_user.role in ECRITURE


def _voit_donnees_sensibles() -> bool:
    from ..pseudonymisation import vue_pseudonymisee

    return bool(current_user.voit_donnees_sensibles) and not vue_pseudonymisee()


def _peut_lettre() -> bool:
    """The offer letter is nominative: officers of the bailleur outside the pseudonymised view."""
    from ..pseudonymisation import vue_pseudonymisee

    return _peut_ecrire() and current_user.voit_donnees_sensibles and not vue_pseudonymisee()


def _offre(offre_id: int) -> Offre:
    bailleur_id = _bailleur_id()
    offre = get_session().get(Offre, offre_id)
    if offre is None or offre.logement.residence.bailleur_id != bailleur_id:
        abort(404)
    return offre


@bp.get("")
@role_requis(*LECTURE)
def liste():
    bailleur_id = _bailleur_id()
    session = get_session()
    if _peut_ecrire():
        try:
            evenements = svc.echeances(session, acteur=current_user.identifiant, bailleur_id=bailleur_id)
            session.commit()
        except IntegrityError:  # lapsed at the same moment by another officer: nothing left to do here
            session.rollback()
            evenements = []
        if evenements:
            flash(f"{len(evenements)} offre(s) échue(s) ou condition(s) non levée(s) à temps : passée(s) au rang suivant "
                  "ou logement remis à l'ordre du jour.", "info")
    statut = request.args.get("statut") or None
    if statut is not None and statut not in {s.value for s in StatutOffre}:
        statut = None
    offres = svc.lister(session, bailleur_id=bailleur_id, statut=statut)
    groupes = [(s, TITRES[s], [o for o in offres if o.statut == s]) for s in ORDRE_STATUTS if statut in (None, s.value)]
    return render_template("offres/liste.html", groupes=groupes, statut=statut, statuts=ORDRE_STATUTS,
                           libelles=svc.LIBELLES_STATUTS, en_retard=svc.en_retard, aujourd_hui=aujourd_hui())


def _vue(offre: Offre, *, erreurs: dict | None = None, saisie: dict | None = None) -> dict:
    from .. import models
    from ..services import decisions as svc_decisions

    session = get_session()
    attribution = session.query(models.Attribution).filter_by(decision_id=offre.decision_id).one_or_none()
    ref_decisions = svc_decisions.referentiel()
    piece = ref_decisions.piece(offre.piece_attendue) if offre.piece_attendue else None
    ref = svc.referentiel()
    return {
        "offre": offre,
        "attribution": attribution,
        "type_decision": ref_decisions.types[offre.decision.type.value],
        "piece": piece,
        "motifs": ref.motifs,
        "motifs_reponse": ref.motifs_de_reponse(),
        "referentiel": ref,
        "libelles": svc.LIBELLES_STATUTS,
        "en_retard": svc.en_retard(offre),
        "peut_ecrire": _peut_ecrire(),
        "erreurs": erreurs or {},
        "saisie": saisie or {},
        "aujourd_hui": aujourd_hui(),
        "delai": svc.delai_reponse(offre.date_emission or aujourd_hui()),
        "peut_lettre": _peut_lettre() and offre.date_emission is not None,
        # The free comment may describe the household (health, family): for the roles that see sensitive facts.
        "voit_commentaire": _voit_donnees_sensibles(),
    }


@bp.get("/<int:offre_id>")
@role_requis(*LECTURE)
def fiche(offre_id: int):
    return render_template("offres/fiche.html", **_vue(_offre(offre_id)))


def _ecrire(offre_id: int, fonction, champs: tuple[str, ...], message: str):
    offre = _offre(offre_id)
    session = get_session()
    saisie = {c: request.form.get(c, "") for c in champs}
    try:
        fonction(session, offre_id=offre.id, acteur=current_user, donnees=saisie)
        session.commit()
    except svc.ErreurOffre as exc:
        session.rollback()
        session.expire_all()
        return render_template("offres/fiche.html", **_vue(_offre(offre_id), erreurs=exc.erreurs, saisie=saisie)), 422
    except IntegrityError:
        session.rollback()
        session.expire_all()
        erreurs = {"__all__": ["L'offre a été modifiée en même temps par quelqu'un d'autre : rien n'a été enregistré, "
                               "rechargez la page."]}
        return render_template("offres/fiche.html", **_vue(_offre(offre_id), erreurs=erreurs, saisie=saisie)), 409
    flash(message, "info")
    return redirect(url_for("offres.fiche", offre_id=offre.id))


@bp.post("/<int:offre_id>/reponse")
@role_requis(*ECRITURE)
def repondre(offre_id: int):
    acceptee = request.form.get("reponse") == "acceptee"
    return _ecrire(offre_id, svc.repondre, ("reponse", "motif", "commentaire", "date_reponse"),
                   "Acceptation enregistrée : le bail reste à signer." if acceptee
                   else "Réponse enregistrée.")


@bp.post("/<int:offre_id>/piece")
@role_requis(*ECRITURE)
def piece(offre_id: int):
    return _ecrire(offre_id, svc.piece_recue, ("date_reception",),
                   "Pièce reçue : l'attribution est définitive et l'offre court.")


@bp.post("/<int:offre_id>/bail")
@role_requis(*ECRITURE)
def bail(offre_id: int):
    return _ecrire(offre_id, svc.signer_bail, ("date_signature_bail",),
                   "Bail signé : l'attribution est close et comptée, la demande est radiée (RADATT).")


# --------------------------------------------------------------------------- the offer letter


def _lettre(offre_id: int) -> tuple[Offre, str]:
    offre = _offre(offre_id)
    if not _peut_lettre():
        abort(403)
    if offre.date_emission is None:
        abort(404)
    return offre, svc.lettre_html(get_session(), offre)


def _fichier(contenu: bytes | str, type_mime: str, nom: str) -> Response:
    reponse = Response(contenu, mimetype=type_mime)
    reponse.headers["Content-Disposition"] = f'inline; filename="{nom}"'
    reponse.headers["Cache-Control"] = "no-store"
    return reponse


@bp.get("/<int:offre_id>/lettre.html")
@role_requis(*ECRITURE)
def lettre_html(offre_id: int):
    offre, html = _lettre(offre_id)
    return _fichier(html, "text/html", f"offre-{offre.demande.numero_unique}.html")


@bp.get("/<int:offre_id>/lettre.pdf")
@role_requis(*ECRITURE)
def lettre_pdf(offre_id: int):
    from ..services import documents

    offre, html = _lettre(offre_id)
    return _fichier(documents.en_pdf(html), "application/pdf", f"offre-{offre.demande.numero_unique}.pdf")
