"""Page « Exports SNE » (blueprint `exports_sne`): past exports to the national register, a form to
generate one now or for a day, and the download of each file.

Who: the chargé(e) d'attribution, président(e), administrateur and lecteur of a bailleur list their
bailleur's exports; the first three generate (the form carries the CSRF token, checked by
CSRFProtect on every POST; a bad input names the field in French and writes nothing). The file holds
the household's priority codes (some sensitive: violences, santé): only the roles that may see
sensitive facts (chargé(e) d'attribution and président(e) of the bailleur) download it. Another
bailleur's export is 404.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import get_session
from ..auth import role_requis
from ..horloge import aujourd_hui
from ..models import ExportSne, Role, TypeOrganisation
from ..schemas import ErreurValidation
from ..schemas.export_sne import charger_demande_export
from ..services.export_sne import ROLES_EXPORT, ErreurExport, exporter, exports

bp = Blueprint("exports_sne", __name__, url_prefix="/exports-sne")

ROLES_LECTURE = (Role.CHARGE_ATTRIBUTION, Role.PRESIDENT, Role.ADMINISTRATEUR, Role.LECTEUR)
CHAMPS = ("etendue", "jour", "forcer")


def _bailleur_id() -> int:
    """The user's bailleur: the page exists only for a bailleur's users."""
    if current_user.organisation_type != TypeOrganisation.BAILLEUR:
        abort(403)
    return current_user.organisation_id


def peut_generer(utilisateur) -> bool:
    return utilisateur.role in ROLES_EXPORT and utilisateur.organisation_type == TypeOrganisation.BAILLEUR


def _page(erreurs: dict[str, list[str]] | None = None, saisie: dict[str, str] | None = None, code: int = 200):
    session = get_session()
    bailleur_id = _bailleur_id()
    sans_bailleur = session.scalar(select(func.count()).select_from(ExportSne).where(ExportSne.bailleur_id.is_(None)))
    return render_template(
        "exports_sne/index.html",
        exports=exports(session, bailleur_id),
        sans_bailleur=sans_bailleur,
        peut_generer=peut_generer(current_user),
        peut_telecharger=current_user.voit_donnees_sensibles,
        erreurs=erreurs or {},
        saisie=saisie or {"etendue": "tout", "jour": "", "forcer": ""},
        aujourd_hui=aujourd_hui(),
    ), code


@bp.get("")
@role_requis(*ROLES_LECTURE)
def index():
    return _page()


@bp.post("")
@role_requis(*ROLES_EXPORT)
def generer():
    bailleur_id = _bailleur_id()
    saisie = {c: (request.form.get(c) or "").strip() for c in CHAMPS}
    if saisie["forcer"] not in ("", "oui"):
        return _page({"forcer": ["Renvoi forcé : cochez la case ou laissez-la vide."]}, saisie, 422)
    donnees: dict[str, object] = {"forcer": saisie["forcer"] == "oui"}
    if saisie["etendue"]:
        donnees["etendue"] = saisie["etendue"]
    if saisie["jour"]:
        donnees["jour"] = saisie["jour"]
    try:
        demande = charger_demande_export(donnees)
    except ErreurValidation as exc:
        return _page(exc.erreurs, saisie, 422)
    session = get_session()
    try:
        resultat = exporter(session, acteur=current_user, jour=demande["jour"], forcer=demande["forcer"],
                            bailleur_id=bailleur_id)
        session.commit()
    except ErreurExport as exc:
        session.rollback()
        return _page(exc.erreurs, saisie, 422)
    except IntegrityError:
        session.rollback()
        return _page({"_general": ["Un autre export a envoyé les mêmes décisions ou radiations au même moment : "
                                   "rien n'a été enregistré, recommencez."]}, saisie, 409)
    if resultat.vide:
        flash("Rien de nouveau à exporter : aucun fichier n'a été généré.", "info")
        return redirect(url_for("exports_sne.index"))
    decisions = f"{resultat.nb_decisions} décision{'s' if resultat.nb_decisions > 1 else ''}"
    radiations = f"{resultat.nb_radiations} radiation{'s' if resultat.nb_radiations > 1 else ''}"
    flash(f"Export n° {resultat.export_id} généré ({resultat.fichier}) : {decisions} et {radiations}.", "succes")
    for e in resultat.ecartes:
        flash(f"Non exportée : {e['objet_type']} n° {e['objet_id']} ({e['code']}) — {e['raison']}.", "erreur")
    return redirect(url_for("exports_sne.index", _anchor=f"export-{resultat.export_id}"))


@bp.get("/<int:export_id>/fichier")
@role_requis(*ROLES_LECTURE)
def fichier(export_id: int):
    bailleur_id = _bailleur_id()
    if not current_user.voit_donnees_sensibles:
        abort(403)
    export = get_session().get(ExportSne, export_id)
    if export is None or export.bailleur_id != bailleur_id:
        abort(404)
    return Response(
        export.contenu, mimetype="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{export.fichier}"'},
    )
