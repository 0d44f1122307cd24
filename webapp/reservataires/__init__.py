"""Espace réservataire: the share of the flux, the logements oriented to the réservataire, the
designation of candidates before the deadline, and the annual bilan (R441-5-1) filtered to it.

Who: the users of an organisation that holds réservataires (a réservataire such as Action Logement,
an EPCI or the État for their contingents); a bailleur's users get 403 (their own share is managed in
the séances). An orientation of another réservataire is 404. Only a chargé(e) d'attribution
designates; the other roles read. The designation form carries the CSRF token (CSRFProtect checks
every POST); a refused designation writes nothing and names the field in French.
"""
from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from engine.parametres import parametres_a_la_date

from .. import get_session
from ..horloge import aujourd_hui
from ..models import (
    Commune,
    Demande,
    Designation,
    Logement,
    OrientationFlux,
    Reservataire,
    Residence,
    Role,
    StatutDemande,
    StatutOrientation,
    TypeOrganisation,
    TypeReservataire,
)
from ..services import bilan as svc_bilan
from ..services.flux import ErreurFlux, designer
from ..tableau import donnees

bp = Blueprint("reservataires", __name__, url_prefix="/reservataire")

ROLES_DESIGNATION = (Role.CHARGE_ATTRIBUTION,)
STATUTS_DESIGNABLES = (StatutOrientation.EN_ATTENTE, StatutOrientation.DESIGNEE)
NUMERO_UNIQUE = re.compile(r"^[0-9A-Z]{10,30}$")
# The number of candidates a réservataire designates for one dwelling: those the commission must
# examine (R441-3 al. 1), read from rules/parametres/propositions.yaml.
PARAMETRE_NOMBRE = "propositions.nombre_minimal_candidats"


@bp.context_processor
def _contexte():
    return {"libelles_orientations": donnees.LIBELLES_ORIENTATIONS}


@bp.app_context_processor
def _menu():
    def detient_reservations() -> bool:
        if not current_user.is_authenticated or current_user.organisation_type == TypeOrganisation.BAILLEUR:
            return False
        return bool(get_session().scalar(
            select(func.count(Reservataire.id)).where(
                Reservataire.organisation_id == current_user.organisation_id, Reservataire.type != TypeReservataire.BAILLEUR)
        ))

    return {"detient_reservations": detient_reservations}


def _reservataires() -> list[Reservataire]:
    if current_user.organisation_type == TypeOrganisation.BAILLEUR:
        abort(403)
    return donnees.reservataires_de(get_session(), current_user)


def _orientations(reservataire_ids: list[int], statuts, annee: int | None = None) -> list:
    """Orientations with their logement, résidence, commune and number of designations (one query)."""
    if not reservataire_ids:
        return []
    nb = (
        select(func.count(Designation.id)).where(Designation.orientation_id == OrientationFlux.id)
        .correlate(OrientationFlux).scalar_subquery()
    )
    stmt = (
        select(OrientationFlux, Logement, Residence, Commune, Reservataire, nb.label("nb_designations"))
        .join(Logement, Logement.id == OrientationFlux.logement_id)
        .join(Residence, Residence.id == Logement.residence_id)
        .join(Commune, Commune.code_insee == Residence.code_insee)
        .join(Reservataire, Reservataire.id == OrientationFlux.reservataire_id)
        .where(OrientationFlux.reservataire_id.in_(reservataire_ids), OrientationFlux.statut.in_(statuts))
        .order_by(OrientationFlux.date_limite_designation.is_(None), OrientationFlux.date_limite_designation,
                  OrientationFlux.id)
    )
    if annee is not None:
        stmt = stmt.where(OrientationFlux.annee == annee)
    return list(get_session().execute(stmt).all())


@bp.get("")
@login_required
def index():
    session = get_session()
    date = aujourd_hui()
    reservataires = _reservataires()
    ids = [r.id for r in reservataires]
    return render_template(
        "reservataires/index.html",
        date=date,
        annee=date.year,
        reservataires=reservataires,
        flux=donnees.flux_du_perimetre(session, current_user, date.year, date, ids, siens_seulement=True),
        en_cours=_orientations(ids, STATUTS_DESIGNABLES),
        passees=_orientations(ids, (StatutOrientation.RESTITUEE, StatutOrientation.CLOSE), date.year),
        annees_bilan=[date.year - 1, date.year],
    )


# --------------------------------------------------------------------------- one orientation


def _orientation(orientation_id: int, reservataire_ids: list[int]) -> OrientationFlux:
    orientation = get_session().scalars(
        select(OrientationFlux).where(OrientationFlux.id == orientation_id)
        .options(selectinload(OrientationFlux.designations).selectinload(Designation.demande))
    ).one_or_none()
    if orientation is None or orientation.reservataire_id not in reservataire_ids:
        abort(404)
    return orientation


def _places(orientation: OrientationFlux, date: dt.date) -> int:
    nombre = int(parametres_a_la_date(date).valeur(PARAMETRE_NOMBRE))
    return max(0, nombre - len(orientation.designations))


def _ouverte(orientation: OrientationFlux, date: dt.date) -> bool:
    return StatutOrientation(orientation.statut) in STATUTS_DESIGNABLES and (
        orientation.date_limite_designation is None or date <= orientation.date_limite_designation
    )


def _vue(orientation: OrientationFlux, *, erreurs=None, saisie=None, code=200):
    date = aujourd_hui()
    logement = orientation.logement
    commune = get_session().get(Commune, logement.residence.code_insee)
    ouverte = _ouverte(orientation, date)
    places = _places(orientation, date)
    premier_rang = len(orientation.designations) + 1
    return render_template(
        "reservataires/orientation.html",
        orientation=orientation,
        logement=logement,
        commune=commune,
        date=date,
        ouverte=ouverte,
        places=places,
        rangs=list(range(premier_rang, premier_rang + places)),
        peut_designer=current_user.role in ROLES_DESIGNATION and ouverte and places > 0,
        role_designation=current_user.role in ROLES_DESIGNATION,
        erreurs=erreurs or {},
        saisie=saisie or {},
    ), code


@bp.get("/orientations/<int:orientation_id>")
@login_required
def orientation(orientation_id: int):
    ids = [r.id for r in _reservataires()]
    return _vue(_orientation(orientation_id, ids))


def lire_designations(form, rangs: list[int]) -> tuple[list[tuple[str, str]], dict[str, list[str]], dict[str, str]]:
    """The numéros uniques typed in rank order: ([(field, numéro)], errors by field, what was typed)."""
    saisie = {f"rang_{r}": (form.get(f"rang_{r}") or "").strip()[:60] for r in rangs}
    erreurs: dict[str, list[str]] = {}
    choisis: list[tuple[str, str]] = []
    vide_avant: int | None = None
    vus: dict[str, int] = {}
    for r in rangs:
        champ = f"rang_{r}"
        numero = saisie[champ].upper()
        if not numero:
            vide_avant = vide_avant or r
            continue
        if vide_avant is not None:
            erreurs[f"rang_{vide_avant}"] = [
                f"Rang {vide_avant} : saisissez un numéro unique avant de remplir le rang {r} (les candidats sont classés)."
            ]
            vide_avant = None
        if not NUMERO_UNIQUE.match(numero):
            erreurs[champ] = [f"Rang {r} : numéro unique invalide (10 à 30 chiffres ou lettres majuscules)."]
            continue
        if numero in vus:
            erreurs[champ] = [f"Rang {r} : la demande {numero} est déjà saisie au rang {vus[numero]}."]
            continue
        vus[numero] = r
        choisis.append((champ, numero))
    if not choisis and not erreurs:
        erreurs[f"rang_{rangs[0]}"] = [f"Rang {rangs[0]} : saisissez au moins le numéro unique d'une demande à désigner."]
    return choisis, erreurs, saisie


@bp.post("/orientations/<int:orientation_id>")
@login_required
def designer_candidats(orientation_id: int):
    ids = [r.id for r in _reservataires()]
    if current_user.role not in ROLES_DESIGNATION:
        abort(403)
    session = get_session()
    orientation = _orientation(orientation_id, ids)
    date = aujourd_hui()
    if not _ouverte(orientation, date):
        if orientation.date_limite_designation is not None and date > orientation.date_limite_designation:
            message = (f"Le délai de désignation a expiré le {orientation.date_limite_designation:%d/%m/%Y} : "
                       "le logement revient au bailleur pour ce tour. Rien n'a été enregistré.")
        else:
            message = "Ce logement n'attend plus de désignation. Rien n'a été enregistré."
        return _vue(orientation, erreurs={"_general": [message]}, code=422)
    places = _places(orientation, date)
    if places <= 0:
        return _vue(orientation, erreurs={"_general": ["Tous les candidats ont déjà été désignés pour ce logement."]}, code=422)
    premier = len(orientation.designations) + 1
    rangs = list(range(premier, premier + places))
    choisis, erreurs, saisie = lire_designations(request.form, rangs)
    demandes = {}
    if choisis and not erreurs:
        demandes = {d.numero_unique: d for d in session.scalars(
            select(Demande).where(Demande.numero_unique.in_([n for _, n in choisis])))}
        for champ, numero in choisis:
            rang = champ.removeprefix("rang_")
            d = demandes.get(numero)
            if d is None:
                erreurs[champ] = [f"Rang {rang} : aucune demande n° {numero}."]
            elif d.statut != StatutDemande.ACTIVE:
                erreurs[champ] = [f"Rang {rang} : la demande {numero} n'est pas active (statut « {StatutDemande(d.statut).value} »)."]
    if erreurs:
        session.rollback()
        return _vue(orientation, erreurs=erreurs, saisie=saisie, code=422)
    ordre = [demandes[n].id for _, n in choisis]
    try:
        nouvelles = designer(session, orientation.id, ordre, date, acteur=current_user.identifiant)
        for d in nouvelles:
            d.designe_par_id = current_user.id
        session.flush()
        session.commit()
    except ErreurFlux as exc:
        session.rollback()
        orientation = _orientation(orientation_id, ids)
        erreurs = {}
        for cle, messages in exc.erreurs.items():
            if cle.startswith("demande_ids.") and cle.split(".")[1].isdigit() and int(cle.split(".")[1]) < len(choisis):
                erreurs[choisis[int(cle.split(".")[1])][0]] = messages
            else:
                erreurs.setdefault("_general", []).extend(messages)
        return _vue(orientation, erreurs=erreurs, saisie=saisie, code=422)
    flash(f"{len(nouvelles)} candidat(s) désigné(s) pour le logement {orientation.logement.reference}.", "info")
    return redirect(url_for("reservataires.orientation", orientation_id=orientation.id))


# --------------------------------------------------------------------------- bilan


def bilan_du_reservataire(bilan: dict, reservataires: list[Reservataire]) -> dict:
    """The bilan of every bailleur, keeping only the lines and groups of these réservataires."""
    cles = {f"r{r.id}" for r in reservataires}
    noms = {r.nom for r in reservataires}
    champs = ("proposes", "attribues", "baux_signes")
    lignes = [x for x in bilan["lignes"] if x["reservataire_cle"] in cles]
    bailleurs = []
    for b in bilan["bailleurs"]:
        groupes = [g for g in b["reservataires"] if g["nom"] in noms and g["type"] != TypeReservataire.BAILLEUR.value]
        if groupes:
            bailleurs.append({**b, "reservataires": groupes, "totaux": {c: sum(g[c] for g in groupes) for c in champs}})
    return {**bilan, "bailleurs": bailleurs, "lignes": lignes, "totaux": {c: sum(x[c] for x in lignes) for c in champs}}


def _bilan(annee: int) -> dict:
    reservataires = _reservataires()
    if not (2000 <= annee <= aujourd_hui().year):
        abort(404)
    return bilan_du_reservataire(svc_bilan.bilan_annuel(get_session(), annee), reservataires)


@bp.get("/bilan/<int:annee>.html")
@login_required
def bilan_html(annee: int):
    return Response(svc_bilan.en_html(_bilan(annee)), mimetype="text/html")


@bp.get("/bilan/<int:annee>.csv")
@login_required
def bilan_csv(annee: int):
    return Response(
        svc_bilan.en_csv(_bilan(annee)), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="bilan-reservataire-{annee}.csv"'},
    )
