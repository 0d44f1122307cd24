"""Decisions of a séance: decision and vote forms per candidature, closing, signature, minutes and letters.

Who does what: the président records decisions (with the votes of a physical séance), closes the
séance and signs the minutes; members of the séance vote, declare a conflict of interest, ask for a
renvoi to a physical commission; the chargé d'attribution prepares (voting window) and reads; the
lecteur reads. Séances are seen by the users of the commission's bailleur and by the séance's own
members; anybody else gets 404. Every form carries the CSRF token (CSRFProtect checks every POST).
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from .. import get_session
from ..auth import role_requis
from ..models import (
    Candidature,
    Commission,
    ModeSeance,
    NatureSeance,
    RenvoiCalPhysique,
    Role,
    Seance,
    StatutSeance,
    TypeOrganisation,
)
from ..services import decisions as svc
from ..services import documents

bp = Blueprint("decisions", __name__, url_prefix="/decisions")
bp.add_app_template_filter(documents.horodatage_fr, "horodatage_fr")

LECTURE = (Role.CHARGE_ATTRIBUTION, Role.MEMBRE_COMMISSION, Role.PRESIDENT, Role.LECTEUR)
VOTANTS = (Role.MEMBRE_COMMISSION, Role.PRESIDENT)
MESSAGE_CONCURRENCE = svc.MESSAGE_CONCURRENCE


# --------------------------------------------------------------------------- access


def _du_bailleur(seance: Seance) -> bool:
    return (
        current_user.organisation_type == TypeOrganisation.BAILLEUR
        and seance.commission.bailleur_id == current_user.organisation_id
    )


def _seance(seance_id: int) -> Seance:
    seance = get_session().get(Seance, seance_id)
    # A review séance (examen de l'occupation) has its own pages (webapp/occupation).
    if (seance is None or seance.nature != NatureSeance.ATTRIBUTION
            or not (_du_bailleur(seance) or svc.membre_de(seance, current_user.id) is not None)):
        abort(404)
    return seance


def _candidature(seance: Seance, candidature_id: int) -> Candidature:
    c = get_session().get(Candidature, candidature_id)
    if c is None or c.seance_id != seance.id:
        abort(404)
    return c


def _peut_decider(seance: Seance) -> bool:
    return current_user.role == Role.PRESIDENT and _du_bailleur(seance)


def _peut_voir_noms(seance: Seance) -> bool:
    from ..pseudonymisation import vue_pseudonymisee

    return current_user.voit_donnees_sensibles and _du_bailleur(seance) and not vue_pseudonymisee()


def _commit_ou_erreurs(action):
    """Run a service call and commit; on a refusal roll back and return the French errors.

    A conflict with a concurrent write (stale séance version, decision recorded meanwhile, unique
    constraint of the database) is also flashed, and `_code_refus()` gives 409 instead of 422."""
    session = get_session()
    try:
        resultat = action(session)
        session.commit()
        return resultat, None
    except svc.ConflitDecision as exc:
        session.rollback()
        return None, _conflit(exc.erreurs)
    except svc.ErreurDecision as exc:
        session.rollback()
        return None, exc.erreurs
    except StaleDataError:
        session.rollback()
        return None, _conflit({"__all__": [MESSAGE_CONCURRENCE]})
    except IntegrityError as exc:
        session.rollback()
        return None, _conflit({"__all__": [svc.message_contrainte(exc)]})


def _conflit(erreurs: dict[str, list[str]]) -> dict[str, list[str]]:
    g.conflit_concurrent = True
    for messages in erreurs.values():
        for m in messages:
            flash(m, "erreur")
    return erreurs


def _code_refus() -> int:
    return 409 if g.get("conflit_concurrent") else 422


# --------------------------------------------------------------------------- pages


@bp.get("/seances")
@role_requis(*LECTURE)
def seances():
    session = get_session()
    # Review séances (examen de l'occupation) have their own pages: webapp/occupation.
    stmt = (select(Seance).join(Commission).where(Seance.nature == NatureSeance.ATTRIBUTION)
            .order_by(Seance.date_seance.desc(), Seance.id.desc()).limit(200))
    if current_user.organisation_type == TypeOrganisation.BAILLEUR:
        stmt = stmt.where(Commission.bailleur_id == current_user.organisation_id)
    else:
        from ..models import MembreSeance

        stmt = stmt.where(Seance.id.in_(select(MembreSeance.seance_id).where(MembreSeance.utilisateur_id == current_user.id)))
    return render_template("decisions/seances.html", seances=session.scalars(stmt).all())


def _vue_seance(seance: Seance) -> dict:
    session = get_session()
    # The candidatures with their logement, demande and decision, and every renvoi, in four queries
    # (not four per candidature: a séance of 20 logements × 5 candidates made ~300; bench/w3_charge.py).
    candidatures = session.scalars(
        select(Candidature).where(Candidature.seance_id == seance.id)
        .options(selectinload(Candidature.logement), selectinload(Candidature.demande), selectinload(Candidature.decision))
    ).all()
    renvois: dict[int, list] = {}
    if candidatures:
        for r in session.scalars(select(RenvoiCalPhysique).where(
                RenvoiCalPhysique.candidature_id.in_([c.id for c in candidatures])).order_by(RenvoiCalPhysique.id)):
            renvois.setdefault(r.candidature_id, []).append(r)
    logements: dict[int, dict] = {}
    for c in sorted(candidatures, key=lambda x: (x.logement.reference, x.rang_propose, x.id)):
        bloc = logements.setdefault(c.logement_id, {"logement": c.logement, "candidatures": []})
        bloc["candidatures"].append({"c": c, "renvois": renvois.get(c.id, [])})
    return {
        "seance": seance,
        "logements": list(logements.values()),
        "quorum": svc.etat_quorum(seance),
        "signature": svc.signature_de(session, seance.id),
        "peut_decider": _peut_decider(seance),
        "peut_fenetre": current_user.role in (Role.PRESIDENT, Role.CHARGE_ATTRIBUTION) and _du_bailleur(seance),
        "peut_voir_noms": _peut_voir_noms(seance),
        "dematerialisee": seance.mode == ModeSeance.DEMATERIALISEE,
        "close": seance.statut == StatutSeance.CLOSE,
        "fenetre_ouverte": svc.fenetre_ouverte(seance),
        "ref": svc.referentiel(),
    }


@bp.get("/seances/<int:seance_id>")
@role_requis(*LECTURE)
def seance(seance_id: int):
    return render_template("decisions/seance.html", **_vue_seance(_seance(seance_id)), erreurs={})


@bp.get("/seances/<int:seance_id>/logements/<int:logement_id>")
@role_requis(*LECTURE)
def logement(seance_id: int, logement_id: int):
    s = _seance(seance_id)
    vue = _vue_seance(s)
    bloc = next((b for b in vue["logements"] if b["logement"].id == logement_id), None)
    if bloc is None:
        abort(404)
    session = get_session()
    for item in bloc["candidatures"]:
        item["resultat"] = svc.resultat_vote(session, item["c"]) if svc.votes_de(session, item["c"].id) else None
        item["nom"] = documents.nom_candidat(session, item["c"].demande_id) if vue["peut_voir_noms"] else None
    return render_template("decisions/logement.html", bloc=bloc, **vue)


def _vue_candidature(seance: Seance, c: Candidature, *, erreurs: dict | None = None, saisie: dict | None = None) -> dict:
    session = get_session()
    vue = _vue_seance(seance)
    membre = svc.membre_de(seance, current_user.id)
    votes = {v.membre_id: v for v in svc.votes_de(session, c.id)}
    d = c.decision
    if saisie is None:
        piece = vue["ref"].piece(d.piece_manquante) if d else None
        saisie = {
            "type": d.type.value if d else "",
            "rang": str(d.rang) if d and d.rang else "",
            "motifs": list(d.motifs or []) if d else [],
            "piece_manquante": piece.code if piece else "",
            "date_limite_condition": d.date_limite_condition.isoformat() if d and d.date_limite_condition else "",
            "justification": (d.justification or "") if d else "",
            "votes": {m_id: svc.choix_de(v) for m_id, v in votes.items()},
            "unanimite": "",
        }
    vue.update(
        c=c,
        nom=documents.nom_candidat(session, c.demande_id) if vue["peut_voir_noms"] else None,
        decision=documents._decision_vue(c),
        votants=svc.votants_presents(seance),
        votes=votes,
        resultat=svc.resultat_vote(session, c) if votes else None,
        renvois=svc.renvois_de(session, c.id),
        membre=membre,
        peut_voter=(
            current_user.role in VOTANTS and membre is not None and membre.voix_deliberative and membre.present
            and not vue["close"] and d is None
        ),
        mon_vote=votes.get(membre.id) if membre else None,
        erreurs=erreurs or {},
        saisie=saisie,
        peut_lettre=_peut_voir_noms(seance) and d is not None,
    )
    return vue


@bp.get("/seances/<int:seance_id>/candidatures/<int:candidature_id>")
@role_requis(*LECTURE)
def candidature(seance_id: int, candidature_id: int):
    s = _seance(seance_id)
    return render_template("decisions/candidature.html", **_vue_candidature(s, _candidature(s, candidature_id)))


# --------------------------------------------------------------------------- writes


@bp.post("/seances/<int:seance_id>/candidatures/<int:candidature_id>/decision")
@role_requis(Role.PRESIDENT)
def decider(seance_id: int, candidature_id: int):
    s = _seance(seance_id)
    c = _candidature(s, candidature_id)
    if not _du_bailleur(s):
        abort(403)
    f = request.form
    donnees = svc.DonneesDecision(
        type=f.get("type") or None,
        rang=f.get("rang") or None,
        motifs=f.getlist("motifs"),
        piece_manquante=f.get("piece_manquante") or None,
        date_limite_condition=f.get("date_limite_condition") or None,
        justification=f.get("justification") or None,
    )
    votes: dict[int, str] = {}
    unanimite = f.get("unanimite") or ""
    if s.mode != ModeSeance.DEMATERIALISEE:
        for m in svc.votants_presents(s):
            choix = f.get(f"vote-{m.id}") or unanimite
            if choix:
                votes[m.id] = choix
    saisie = {
        "type": donnees.type or "", "rang": f.get("rang", ""), "motifs": donnees.motifs,
        "piece_manquante": f.get("piece_manquante", ""), "date_limite_condition": f.get("date_limite_condition", ""),
        "justification": f.get("justification", ""), "votes": {k: v for k, v in votes.items() if f.get(f"vote-{k}")},
        "unanimite": unanimite,
    }
    _res, erreurs = _commit_ou_erreurs(
        lambda session: svc.enregistrer_decision(
            session, candidature_id=c.id, acteur=current_user, donnees=donnees, votes=votes or None,
            version_seance=f.get("version_seance") or None,
        )
    )
    if erreurs:
        get_session().expire_all()
        return (render_template("decisions/candidature.html", **_vue_candidature(s, c, erreurs=erreurs, saisie=saisie)),
                _code_refus())
    flash("Décision enregistrée.", "info")
    return redirect(url_for("decisions.candidature", seance_id=s.id, candidature_id=c.id))


@bp.post("/seances/<int:seance_id>/candidatures/<int:candidature_id>/vote")
@role_requis(*VOTANTS)
def voter(seance_id: int, candidature_id: int):
    s = _seance(seance_id)
    c = _candidature(s, candidature_id)
    f = request.form
    conflit = f.get("conflit_interets") == "oui"
    _res, erreurs = _commit_ou_erreurs(
        lambda session: svc.voter(
            session, candidature_id=c.id, acteur=current_user, choix=f.get("choix") or None,
            conflit_interets=conflit, rang=f.get("rang_membre") or None,
        )
    )
    if erreurs:
        get_session().expire_all()
        erreurs = {("rang_membre" if k == "rang" else k): v for k, v in erreurs.items()}
        return render_template("decisions/candidature.html", **_vue_candidature(s, c, erreurs=erreurs)), _code_refus()
    flash("Conflit d'intérêts enregistré : vous ne prenez pas part au vote sur ce dossier." if conflit else "Vote enregistré.", "info")
    return redirect(url_for("decisions.candidature", seance_id=s.id, candidature_id=c.id))


@bp.post("/seances/<int:seance_id>/candidatures/<int:candidature_id>/renvoi")
@role_requis(*VOTANTS)
def renvoyer(seance_id: int, candidature_id: int):
    s = _seance(seance_id)
    c = _candidature(s, candidature_id)
    _res, erreurs = _commit_ou_erreurs(
        lambda session: svc.demander_renvoi(
            session, candidature_id=c.id, acteur=current_user, motif=request.form.get("motif_renvoi")
        )
    )
    if erreurs:
        get_session().expire_all()
        return render_template("decisions/candidature.html", **_vue_candidature(s, c, erreurs=erreurs)), _code_refus()
    flash("Renvoi en commission physique demandé.", "info")
    return redirect(url_for("decisions.candidature", seance_id=s.id, candidature_id=c.id))


def _instant(texte: str | None) -> dt.datetime | None:
    """A datetime-local field (AAAA-MM-JJTHH:MM), read as UTC."""
    if not texte:
        return None
    try:
        return dt.datetime.fromisoformat(texte.strip().replace(" ", "T")).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


@bp.post("/seances/<int:seance_id>/fenetre")
@role_requis(Role.PRESIDENT, Role.CHARGE_ATTRIBUTION)
def fenetre(seance_id: int):
    s = _seance(seance_id)
    if not _du_bailleur(s):
        abort(403)
    _res, erreurs = _commit_ou_erreurs(
        lambda session: svc.definir_fenetre(
            session, seance_id=s.id, acteur=current_user,
            ouverture=_instant(request.form.get("vote_ouverture")), cloture=_instant(request.form.get("vote_cloture")),
        )
    )
    if erreurs:
        get_session().expire_all()
        return render_template("decisions/seance.html", **_vue_seance(s), erreurs=erreurs), _code_refus()
    flash("Fenêtre de vote enregistrée.", "info")
    return redirect(url_for("decisions.seance", seance_id=s.id))


@bp.post("/seances/<int:seance_id>/cloture")
@role_requis(Role.PRESIDENT)
def cloturer(seance_id: int):
    s = _seance(seance_id)
    if not _du_bailleur(s):
        abort(403)
    _res, erreurs = _commit_ou_erreurs(lambda session: svc.cloturer_seance(session, seance_id=s.id, acteur=current_user))
    if erreurs:
        get_session().expire_all()
        return render_template("decisions/seance.html", **_vue_seance(s), erreurs=erreurs), _code_refus()
    flash("Séance close : les décisions sont figées et la version des règles est enregistrée.", "info")
    return redirect(url_for("decisions.seance", seance_id=s.id))


@bp.post("/seances/<int:seance_id>/signature")
@role_requis(Role.PRESIDENT)
def signer(seance_id: int):
    s = _seance(seance_id)
    if not _du_bailleur(s):
        abort(403)

    def action(session):
        return svc.signer_proces_verbal(
            session, seance_id=s.id, acteur=current_user, html=documents.pv_html(session, s, avec_signature=False)
        )

    _res, erreurs = _commit_ou_erreurs(action)
    if erreurs:
        get_session().expire_all()
        return render_template("decisions/seance.html", **_vue_seance(s), erreurs=erreurs), _code_refus()
    flash("Procès-verbal signé.", "info")
    return redirect(url_for("decisions.seance", seance_id=s.id))


# --------------------------------------------------------------------------- documents


def _nominatif(seance: Seance) -> bool:
    if request.args.get("nominatif") != "1":
        return False
    if not _peut_voir_noms(seance):
        abort(403)
    return True


def _fichier(contenu: bytes | str, type_mime: str, nom: str) -> Response:
    reponse = Response(contenu, mimetype=type_mime)
    reponse.headers["Content-Disposition"] = f'inline; filename="{nom}"'
    reponse.headers["Cache-Control"] = "no-store"
    return reponse


@bp.get("/seances/<int:seance_id>/pv.html")
@role_requis(*LECTURE)
def pv_html(seance_id: int):
    s = _seance(seance_id)
    html = documents.pv_html(get_session(), s, nominatif=_nominatif(s))
    return _fichier(html, "text/html", f"pv-seance-{s.id}.html")


@bp.get("/seances/<int:seance_id>/pv.pdf")
@role_requis(*LECTURE)
def pv_pdf(seance_id: int):
    s = _seance(seance_id)
    pdf = documents.en_pdf(documents.pv_html(get_session(), s, nominatif=_nominatif(s)))
    return _fichier(pdf, "application/pdf", f"pv-seance-{s.id}.pdf")


def _lettre(seance_id: int, candidature_id: int) -> tuple[Candidature, str]:
    s = _seance(seance_id)
    if not _peut_voir_noms(s):
        abort(403)
    c = _candidature(s, candidature_id)
    if c.decision is None:
        abort(404)
    return c, documents.lettre_html(get_session(), c)


@bp.get("/seances/<int:seance_id>/candidatures/<int:candidature_id>/lettre.html")
@role_requis(Role.PRESIDENT, Role.CHARGE_ATTRIBUTION)
def lettre_html(seance_id: int, candidature_id: int):
    c, html = _lettre(seance_id, candidature_id)
    return _fichier(html, "text/html", f"lettre-{c.demande.numero_unique}.html")


@bp.get("/seances/<int:seance_id>/candidatures/<int:candidature_id>/lettre.pdf")
@role_requis(Role.PRESIDENT, Role.CHARGE_ATTRIBUTION)
def lettre_pdf(seance_id: int, candidature_id: int):
    c, html = _lettre(seance_id, candidature_id)
    return _fichier(documents.en_pdf(html), "application/pdf", f"lettre-{c.demande.numero_unique}.pdf")
