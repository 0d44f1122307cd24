"""Offers after the CALEOL's decision: answers, suspensive conditions, lapses, lease and radiation.

What the law says lives in rules/: the answer delay (`delais.acceptation_offre_jours`, R441-10, in
rules/parametres/delais.yaml), the controlled vocabulary of refusal motifs with whether each is
presumed legitimate (rules/decisions/motifs_refus_offre.yaml, read with the EPCI grid's `refus`),
the limitative list of missing documents (rules/decisions/pieces_justificatives.yaml).

The life of an offer (webapp.models.Offre):

* At the séance's closure each effective attribution (direct, under suspensive condition, rank 1 of
  a classement) gets an offer: running at once with its answer deadline, or, under a suspensive
  condition, waiting for the missing document until the date the commission set.
* The document arrives in time: the attribution becomes final and the offer runs. It does not: the
  attribution lapses (offer `caduque`).
* The household accepts, or refuses with a coded motif: the refusal is recorded as a RefusOffre
  (its legitimacy from the vocabulary) and the demande re-evaluated at once, so that the refusal
  penalty of its EPCI's grid applies. No answer within the deadline counts as a refusal under the
  vocabulary's expiration motif (`caleol offres echeances`, run daily, and the offers page).
* A refusal, a lapse or a failed condition passes the offer to the next rank of the classement
  (the Attribution row follows it: one attribution per logement and séance); when the ranks are
  exhausted, or the attribution was direct, the Attribution row is removed and the logement goes
  back on the agenda of the commission's next séance when one is planned (else it waits, vacant,
  for the next preparation).
* The lease signature closes the attribution (Attribution.date_signature_bail: from then on it
  counts in the quotas and the flux), the logement is occupied, and the demande is radiée
  (statut RADIEE, motif_radiation RADATT, date_radiation = lease date); its other open offers lapse.

Each public write is one unit of work inside the caller's transaction, checks everything first and
leaves one audit entry (one for a whole lapse run). Bad input raises ErreurOffre (French messages
keyed by field) having written nothing. Free comments are never copied into the audit.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.parametres import parametres_a_la_date
from engine.version import chemin_regles
from engine.yaml_strict import ErreurRegles, charger_yaml

from ..audit import journaliser
from ..horloge import aujourd_hui, maintenant
from ..models import (
    STATUTS_OUVERTS,
    Attribution,
    Decision,
    Demande,
    Logement,
    NatureSeance,
    Offre,
    RefusOffre,
    Residence,
    Role,
    Seance,
    StatutDemande,
    StatutLogement,
    StatutOffre,
    StatutSeance,
    TypeDecision,
)
from ..schemas.champs import ErreurValidation, charger
from ..schemas.offre import ACCEPTEE, LIBELLES, BailSchema, PieceSchema, ReponseSchema
from . import decisions as svc_decisions

PARAMETRE_DELAI = "delais.acceptation_offre_jours"
# SNE ListeMotifsRadiation: « Radiation suite à attribution d'un logement ».
MOTIF_RADIATION_ATTRIBUTION = "RADATT"
ACTEUR_SYSTEME = "systeme:offres"
ROLES_ECRITURE = (Role.CHARGE_ATTRIBUTION, Role.PRESIDENT)

LIBELLES_STATUTS = {
    StatutOffre.ATTENTE_PIECE: "en attente de la pièce justificative",
    StatutOffre.EN_COURS: "en attente de réponse",
    StatutOffre.ACCEPTEE: "acceptée, bail à signer",
    StatutOffre.BAIL_SIGNE: "bail signé",
    StatutOffre.REFUSEE: "refusée",
    StatutOffre.EXPIREE: "échue sans réponse",
    StatutOffre.CADUQUE: "caduque",
}


# --------------------------------------------------------------------------- the vocabulary


@dataclass(frozen=True)
class MotifRefus:
    code: str
    libelle: str
    legitime: bool
    expiration: bool = False


@dataclass(frozen=True)
class ReferentielOffres:
    motifs: dict[str, MotifRefus]
    motif_expiration: str
    reference: str
    a_verifier: bool
    note: str | None
    lettre: dict[str, str]

    def motifs_de_reponse(self) -> dict[str, str]:
        """The motifs an officer may choose for a refusal (the expiration motif is the system's)."""
        return {m.code: m.libelle for m in self.motifs.values() if not m.expiration}


def charger_referentiel(dossier: Path | None = None) -> ReferentielOffres:
    """Read and check rules/decisions/motifs_refus_offre.yaml; a defect raises ErreurRegles naming the field."""
    dossier = dossier or chemin_regles("decisions")
    fichier = dossier / "motifs_refus_offre.yaml"
    brut = charger_yaml(fichier)

    def champ(objet: Any, cle: str, type_: type, regle: str | None = None, defaut: Any = ...) -> Any:
        if not isinstance(objet, dict) or cle not in objet:
            if defaut is not ...:
                return defaut
            raise ErreurRegles(fichier.name, "champ obligatoire absent", regle=regle, champ=cle)
        valeur = objet[cle]
        if not isinstance(valeur, type_):
            raise ErreurRegles(fichier.name, f"type attendu : {type_.__name__}", regle=regle, champ=cle)
        return valeur

    reference = champ(champ(brut, "reference", dict), "titre", str, "reference")
    a_verifier = champ(brut, "a_verifier", bool, defaut=False)
    note = champ(brut, "note", str, defaut=None)
    if a_verifier and not note:
        raise ErreurRegles(fichier.name, "« a_verifier » exige une note", champ="note")
    motifs = {
        code: MotifRefus(
            code=code,
            libelle=champ(m, "libelle", str, code),
            legitime=champ(m, "legitime", bool, code),
            expiration=champ(m, "expiration", bool, code, defaut=False),
        )
        for code, m in champ(brut, "motifs", dict).items()
    }
    expiration = champ(brut, "motif_expiration", str)
    if expiration not in motifs or not motifs[expiration].expiration:
        raise ErreurRegles(fichier.name, "motif absent du vocabulaire ou sans « expiration: true »", champ="motif_expiration")
    if any(len(code) > 40 for code in motifs):
        raise ErreurRegles(fichier.name, "un code de motif a au plus 40 caractères", champ="motifs")
    lettre = champ(brut, "lettre", dict)
    textes = {cle: champ(lettre, cle, str, "lettre") for cle in ("reponse", "sans_reponse")}
    return ReferentielOffres(motifs=motifs, motif_expiration=expiration, reference=reference, a_verifier=a_verifier,
                             note=note, lettre=textes)


def referentiel() -> ReferentielOffres:
    """Of rules/decisions in the rulebook version this process evaluates with (cached per directory)."""
    return _referentiel(chemin_regles("decisions"))


@functools.lru_cache(maxsize=4)
def _referentiel(dossier: Path) -> ReferentielOffres:
    return charger_referentiel(dossier)


def delai_reponse(date: dt.date) -> int:
    """Days the household has to answer an offer issued at `date` (dated parameter, R441-10)."""
    return int(parametres_a_la_date(date).valeur(PARAMETRE_DELAI))


# --------------------------------------------------------------------------- errors and access


class ErreurOffre(ValueError):
    """Bad input or a refused operation; `erreurs` maps fields to French messages. Nothing was written."""

    def __init__(self, erreurs: dict[str, list[str]] | str, champ: str = "__all__") -> None:
        if isinstance(erreurs, str):
            erreurs = {champ: [erreurs]}
        self.erreurs = erreurs
        super().__init__(" ; ".join(m for ms in erreurs.values() for m in ms))


def _valider(schema, donnees: Mapping[str, Any]) -> dict[str, Any]:
    """Load form or command values (empty fields are absent) with French messages naming the field."""
    propres = {k: (v.strip() if isinstance(v, str) else v) for k, v in donnees.items()}
    propres = {k: v for k, v in propres.items() if v not in (None, "")}
    try:
        return charger(schema, propres)
    except ErreurValidation as exc:
        raise ErreurOffre({
            champ: [f"{LIBELLES.get(champ, champ)} : {m}" for m in messages] for champ, messages in exc.erreurs.items()
        }) from None


def _offre(session: Session, offre_id: Any, acteur: Any) -> Offre:
    """The offer, if the actor may act on it: a chargé d'attribution or président of its bailleur."""
    if getattr(acteur, "role", None) not in ROLES_ECRITURE:
        raise ErreurOffre("Votre rôle ne permet pas d'enregistrer la suite d'une offre (chargé d'attribution ou présidence).")
    try:
        # Locked (PostgreSQL) and read afresh: two officers answering at once are served one after the other.
        offre = session.get(Offre, int(offre_id), with_for_update=True, populate_existing=True)
    except (TypeError, ValueError, OverflowError):
        offre = None
    if offre is None or offre.logement.residence.bailleur_id != getattr(acteur, "organisation_id", None):
        raise ErreurOffre("Offre introuvable.", champ="offre")
    return offre


def _date(valeur: dt.date | None, champ: str, *, au_plus_tot: dt.date | None, quoi: str) -> dt.date:
    aujourd = aujourd_hui()
    date = valeur or aujourd
    if date > aujourd:
        raise ErreurOffre(f"{LIBELLES[champ]} : elle ne peut pas être postérieure à aujourd'hui ({aujourd:%d/%m/%Y}).", champ)
    if au_plus_tot is not None and date < au_plus_tot:
        raise ErreurOffre(f"{LIBELLES[champ]} : elle ne peut pas précéder {quoi} ({au_plus_tot:%d/%m/%Y}).", champ)
    return date


def offre_dict(o: Offre) -> dict[str, Any]:
    """The offer for the audit and `--json` (no free text, no name)."""
    return {
        "id": o.id,
        "statut": StatutOffre(o.statut).value,
        "seance_id": o.seance_id,
        "logement_id": o.logement_id,
        "logement": o.logement.reference if o.logement is not None else None,
        "demande_id": o.demande_id,
        "numero_unique": o.demande.numero_unique if o.demande is not None else None,
        "decision_id": o.decision_id,
        "rang": o.rang,
        "date_emission": _iso(o.date_emission),
        "date_limite_reponse": _iso(o.date_limite_reponse),
        "piece_attendue": o.piece_attendue,
        "date_limite_piece": _iso(o.date_limite_piece),
        "date_piece_recue": _iso(o.date_piece_recue),
        "date_reponse": _iso(o.date_reponse),
        "motif_refus": o.motif_refus,
        "commentaire": "fourni" if o.commentaire else None,
        "date_fin": _iso(o.date_fin),
        "seance_reinscription_id": o.seance_reinscription_id,
    }


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


# --------------------------------------------------------------------------- issuing


def _attribution(session: Session, decision_id: int) -> Attribution | None:
    return session.scalars(select(Attribution).where(Attribution.decision_id == decision_id)).first()


def _nouvelle_offre(session: Session, decision: Decision, date: dt.date) -> Offre:
    c = decision.candidature
    offre = Offre(
        decision=decision, seance_id=decision.seance_id, logement_id=decision.logement_id, demande_id=c.demande_id,
        rang=decision.rang, cree_le=maintenant(),
    )
    if TypeDecision(decision.type) == TypeDecision.ATTRIBUTION_SOUS_CONDITION:
        offre.statut = StatutOffre.ATTENTE_PIECE
        offre.piece_attendue = decision.piece_manquante
        offre.date_limite_piece = decision.date_limite_condition
    else:
        offre.statut = StatutOffre.EN_COURS
        offre.date_emission = date
        offre.date_limite_reponse = date + dt.timedelta(days=delai_reponse(date))
    session.add(offre)
    return offre


def emettre_apres_cloture(session: Session, attributions: list[Attribution], date: dt.date | None = None) -> list[Offre]:
    """The offers of the attributions a séance's closure created (part of the closure's unit of work
    and of its audit entry: webapp.services.decisions.cloturer_seance). A household radiated since the
    decision (housed elsewhere) gets no running offer: its offer is caduque and passes on at once."""
    date = date or aujourd_hui()
    offres = []
    for a in attributions:
        if a.decision is None or session.scalars(select(Offre.id).where(Offre.decision_id == a.decision.id)).first():
            continue
        offre = _nouvelle_offre(session, a.decision, date)
        offres.append(offre)
        session.flush()
        if offre.demande.statut == StatutDemande.RADIEE:
            offre.statut = StatutOffre.CADUQUE
            offre.date_fin = date
            suite = _passer_au_suivant(session, offre, date, ACTEUR_SYSTEME)
            if suite.get("nouvelle_offre_id"):
                offres.append(session.get(Offre, suite["nouvelle_offre_id"]))
    session.flush()
    return offres


# --------------------------------------------------------------------------- passing on


def _prochaine_seance(session: Session, offre: Offre, date: dt.date) -> Seance | None:
    commission_id = offre.seance.commission_id
    return session.scalars(
        select(Seance)
        .where(Seance.commission_id == commission_id, Seance.statut != StatutSeance.CLOSE, Seance.date_seance >= date,
               Seance.id != offre.seance_id, Seance.nature == NatureSeance.ATTRIBUTION)
        .order_by(Seance.date_seance, Seance.id)
    ).first()


def _passer_au_suivant(session: Session, offre: Offre, date: dt.date, acteur: str) -> dict[str, Any]:
    """After the offer ended without a lease: the next rank of the classement, else the agenda."""
    decision = offre.decision
    attribution = _attribution(session, decision.id)
    if TypeDecision(decision.type) == TypeDecision.ATTRIBUTION_RANG and offre.rang is not None:
        suivantes = session.scalars(
            select(Decision)
            .where(Decision.seance_id == decision.seance_id, Decision.logement_id == decision.logement_id,
                   Decision.type == TypeDecision.ATTRIBUTION_RANG, Decision.rang > offre.rang)
            .order_by(Decision.rang)
        ).all()
        ecartes = []
        for d in suivantes:
            demande = d.candidature.demande
            deja = session.scalars(select(Offre.id).where(Offre.decision_id == d.id)).first()
            if demande.statut != StatutDemande.ACTIVE or deja is not None:
                ecartes.append({"rang": d.rang, "demande_id": demande.id,
                                "raison": "offre deja faite" if deja else f"demande {StatutDemande(demande.statut).value}"})
                continue
            nouvelle = _nouvelle_offre(session, d, date)
            if attribution is not None:
                # The effective attribution of the logement in this séance follows the offer.
                attribution.decision = d
                attribution.demande_id = demande.id
                attribution.reservataire_id = d.candidature.reservataire_id
                attribution.indicateurs = svc_decisions._indicateurs(session, d.candidature)
            session.flush()
            return {"suite": "rang_suivant", "nouvelle_offre_id": nouvelle.id, "rang": d.rang, "demande_id": demande.id,
                    "attribution_id": attribution.id if attribution else None, "rangs_ecartes": ecartes}
    # Ranks exhausted (or a direct attribution): no effective attribution left; back on the agenda.
    suite: dict[str, Any] = {"suite": "ordre_du_jour", "attribution_supprimee": attribution.id if attribution else None}
    if attribution is not None:
        session.delete(attribution)
    logement = offre.logement
    logement.statut = StatutLogement.VACANT
    session.flush()
    seance = _prochaine_seance(session, offre, date)
    suite["seance_id"] = None
    if seance is not None:
        from . import preparation

        if any(lg.id == logement.id for lg in preparation.logements_inscriptibles(session, seance)):
            preparation.inscrire_logements(session, seance, [logement.id], acteur=acteur)
            offre.seance_reinscription_id = seance.id
            suite["seance_id"] = seance.id
    session.flush()
    return suite


def _enregistrer_refus(session: Session, offre: Offre, motif: str, date: dt.date) -> RefusOffre:
    info = referentiel().motifs[motif]
    refus = RefusOffre(
        date_refus=date, logement_reference=offre.logement.reference, motif=motif, motif_legitime=info.legitime,
        details={"offre_id": offre.id, "seance_id": offre.seance_id, "rang": offre.rang},
    )
    offre.demande.refus.append(refus)
    session.flush()
    return refus


def _reevaluer(session: Session, demande_id: int, date: dt.date, acteur: str) -> None:
    """The demande's persisted evaluation, at once (refusal penalty; an inactive demande loses it)."""
    from .evaluations import recalculer_evaluations

    recalculer_evaluations(session, date, [demande_id], acteur=acteur, processus=1, audit=False)


# --------------------------------------------------------------------------- answers


def repondre(session: Session, *, offre_id: Any, acteur: Any, donnees: Mapping[str, Any]) -> Offre:
    """Record the household's answer: `reponse` acceptee|refusee, `motif` (refusal), `commentaire`,
    `date_reponse` (default today)."""
    offre = _offre(session, offre_id, acteur)
    ref = referentiel()
    valeurs = _valider(ReponseSchema(motifs=ref.motifs_de_reponse()), donnees)
    if offre.statut != StatutOffre.EN_COURS:
        raise ErreurOffre(f"Cette offre n'attend pas de réponse : elle est {LIBELLES_STATUTS[StatutOffre(offre.statut)]}.", "reponse")
    date = _date(valeurs.get("date_reponse"), "date_reponse", au_plus_tot=offre.date_emission, quoi="l'émission de l'offre")
    if offre.date_limite_reponse is not None and date > offre.date_limite_reponse:
        raise ErreurOffre(
            f"{LIBELLES['date_reponse']} : postérieure à la date limite ({offre.date_limite_reponse:%d/%m/%Y}) : "
            "l'offre est échue sans réponse.", "date_reponse")
    avant = offre_dict(offre)
    offre.date_reponse = date
    offre.commentaire = valeurs.get("commentaire")
    details: dict[str, Any] = {}
    if valeurs["reponse"] == ACCEPTEE:
        offre.statut = StatutOffre.ACCEPTEE
    else:
        offre.statut = StatutOffre.REFUSEE
        offre.motif_refus = valeurs["motif"]
        offre.date_fin = date
        refus = _enregistrer_refus(session, offre, valeurs["motif"], date)
        details["refus_offre_id"] = refus.id
        details["motif_legitime"] = refus.motif_legitime
        _reevaluer(session, offre.demande_id, aujourd_hui(), acteur.identifiant)
        details.update(_passer_au_suivant(session, offre, aujourd_hui(), acteur.identifiant))
    session.flush()
    journaliser(session, acteur=acteur.identifiant, action="offre.repondre", objet_type="offre", objet_id=offre.id,
                avant=avant, apres=offre_dict(offre), details=details)
    return offre


def piece_recue(session: Session, *, offre_id: Any, acteur: Any, donnees: Mapping[str, Any]) -> Offre:
    """The missing document arrived (`date_reception`, default today): the attribution is final, the offer runs."""
    offre = _offre(session, offre_id, acteur)
    valeurs = _valider(PieceSchema(), donnees)
    if offre.statut != StatutOffre.ATTENTE_PIECE:
        raise ErreurOffre(f"Cette offre n'attend pas de pièce : elle est {LIBELLES_STATUTS[StatutOffre(offre.statut)]}.", "date_reception")
    date = _date(valeurs.get("date_reception"), "date_reception", au_plus_tot=offre.seance.date_seance, quoi="la séance")
    if offre.date_limite_piece is not None and date > offre.date_limite_piece:
        raise ErreurOffre(
            f"{LIBELLES['date_reception']} : postérieure à la date limite fixée par la commission "
            f"({offre.date_limite_piece:%d/%m/%Y}) : l'attribution est caduque.", "date_reception")
    avant = offre_dict(offre)
    offre.date_piece_recue = date
    offre.statut = StatutOffre.EN_COURS
    offre.date_emission = date
    offre.date_limite_reponse = date + dt.timedelta(days=delai_reponse(date))
    session.flush()
    journaliser(session, acteur=acteur.identifiant, action="offre.piece_recue", objet_type="offre", objet_id=offre.id,
                avant=avant, apres=offre_dict(offre), details={"delai_jours": delai_reponse(date)})
    return offre


def signer_bail(session: Session, *, offre_id: Any, acteur: Any, donnees: Mapping[str, Any]) -> Offre:
    """The lease is signed (`date_signature_bail`): the attribution closes and counts, the logement is
    occupied, the demande is radiée RADATT at the lease date, its other open offers lapse."""
    offre = _offre(session, offre_id, acteur)
    valeurs = _valider(BailSchema(), donnees)
    if offre.statut != StatutOffre.ACCEPTEE:
        raise ErreurOffre(
            f"Le bail se signe après l'acceptation de l'offre ; celle-ci est {LIBELLES_STATUTS[StatutOffre(offre.statut)]}.",
            "date_signature_bail")
    date = _date(valeurs["date_signature_bail"], "date_signature_bail", au_plus_tot=offre.date_reponse, quoi="l'acceptation")
    attribution = _attribution(session, offre.decision_id)
    if attribution is None:
        raise ErreurOffre("Aucune attribution effective ne correspond à cette offre.", "date_signature_bail")
    demande = offre.demande
    avant = {"offre": offre_dict(offre), "attribution": {"id": attribution.id, "date_signature_bail": None},
             "demande": _radiation(demande)}
    attribution.date_signature_bail = date
    offre.statut = StatutOffre.BAIL_SIGNE
    offre.date_fin = date
    offre.logement.statut = StatutLogement.OCCUPE
    demande.statut = StatutDemande.RADIEE
    demande.motif_radiation = MOTIF_RADIATION_ATTRIBUTION
    demande.date_radiation = date
    session.flush()
    _reevaluer(session, demande.id, aujourd_hui(), acteur.identifiant)
    # The household is housed: its other open offers lapse and pass on.
    autres = session.scalars(
        select(Offre).where(Offre.demande_id == demande.id, Offre.id != offre.id, Offre.statut.in_(STATUTS_OUVERTS))
        .order_by(Offre.id)
    ).all()
    suites = []
    for autre in autres:
        autre.statut = StatutOffre.CADUQUE
        autre.date_fin = date
        suites.append({"offre_id": autre.id, **_passer_au_suivant(session, autre, aujourd_hui(), acteur.identifiant)})
    session.flush()
    journaliser(
        session, acteur=acteur.identifiant, action="offre.signer_bail", objet_type="offre", objet_id=offre.id,
        avant=avant,
        apres={"offre": offre_dict(offre), "attribution": {"id": attribution.id, "date_signature_bail": date.isoformat()},
               "demande": _radiation(demande)},
        details={"logement_id": offre.logement_id, "offres_caduques": suites},
    )
    return offre


def _radiation(d: Demande) -> dict[str, Any]:
    return {"id": d.id, "statut": StatutDemande(d.statut).value, "motif_radiation": d.motif_radiation,
            "date_radiation": _iso(d.date_radiation)}


# --------------------------------------------------------------------------- lapses


def echeances(session: Session, *, date: dt.date | None = None, acteur: str = ACTEUR_SYSTEME,
              bailleur_id: int | None = None) -> list[dict[str, Any]]:
    """Lapse what is overdue at `date` (default today): offers without an answer after their deadline
    (recorded as a refusal under the expiration motif, then passed on) and suspensive conditions whose
    document did not arrive in time (attribution caduque, passed on). One audit entry for the run."""
    date = date or aujourd_hui()
    ref = referentiel()
    requete = select(Offre).where(
        ((Offre.statut == StatutOffre.EN_COURS) & (Offre.date_limite_reponse < date))
        | ((Offre.statut == StatutOffre.ATTENTE_PIECE) & (Offre.date_limite_piece < date))
    ).order_by(Offre.id).with_for_update(of=Offre)
    if bailleur_id is not None:
        requete = requete.join(Logement, Logement.id == Offre.logement_id).join(Residence).where(
            Residence.bailleur_id == bailleur_id)
    evenements: list[dict[str, Any]] = []
    # An offer passed on at this date may itself be overdue only later: one pass is enough.
    for offre in session.scalars(requete).all():
        if offre.statut == StatutOffre.EN_COURS:
            offre.statut = StatutOffre.EXPIREE
            offre.date_fin = offre.date_limite_reponse + dt.timedelta(days=1)
            offre.motif_refus = ref.motif_expiration
            refus = _enregistrer_refus(session, offre, ref.motif_expiration, offre.date_fin)
            _reevaluer(session, offre.demande_id, date, acteur)
            evenement = {"offre_id": offre.id, "evenement": "expiree", "refus_offre_id": refus.id}
        else:
            offre.statut = StatutOffre.CADUQUE
            offre.date_fin = offre.date_limite_piece + dt.timedelta(days=1)
            evenement = {"offre_id": offre.id, "evenement": "condition_non_levee"}
        evenement.update(_passer_au_suivant(session, offre, date, acteur))
        evenements.append(evenement)
    session.flush()
    if evenements:
        journaliser(session, acteur=acteur, action="offres.echeances", objet_type="offre",
                    details={"date": date.isoformat(), "nombre": len(evenements), "evenements": evenements})
    return evenements


# --------------------------------------------------------------------------- reading


def lister(session: Session, *, bailleur_id: int | None = None, statut: str | None = None) -> list[Offre]:
    requete = select(Offre).join(Logement, Logement.id == Offre.logement_id).join(Residence)
    if bailleur_id is not None:
        requete = requete.where(Residence.bailleur_id == bailleur_id)
    if statut:
        requete = requete.where(Offre.statut == StatutOffre(statut))
    return list(session.scalars(requete.order_by(Offre.date_limite_reponse.is_(None), Offre.date_limite_reponse,
                                                 Offre.id)))


def en_retard(offre: Offre, date: dt.date | None = None) -> bool:
    date = date or aujourd_hui()
    if offre.statut == StatutOffre.EN_COURS:
        return offre.date_limite_reponse is not None and offre.date_limite_reponse < date
    if offre.statut == StatutOffre.ATTENTE_PIECE:
        return offre.date_limite_piece is not None and offre.date_limite_piece < date
    return False


def offres_de_seance(session: Session, seance_id: int) -> list[Offre]:
    return list(session.scalars(select(Offre).where(Offre.seance_id == seance_id).order_by(Offre.logement_id, Offre.id)))


# --------------------------------------------------------------------------- the offer letter


def contexte_lettre(session: Session, offre: Offre) -> dict[str, Any]:
    """The offer letter: the logement, the deadline, how to answer (rules/decisions/motifs_refus_offre.yaml,
    `lettre`; the delay from rules/parametres/delais.yaml). Only for an offer that runs or ran."""
    from . import documents

    if offre.date_emission is None:
        raise LookupError("L'offre n'est pas encore émise (pièce justificative attendue).")
    ref, ref_decisions = referentiel(), svc_decisions.referentiel()
    seance = offre.seance
    bailleur = seance.commission.bailleur.nom
    numero = offre.demande.numero_unique
    parametre = parametres_a_la_date(offre.date_emission).parametre(PARAMETRE_DELAI)
    delai = int(parametre.valeur)
    limite = documents.date_longue(offre.date_limite_reponse)
    demande = offre.demande
    return {
        "bailleur": bailleur,
        "commission": seance.commission,
        "seance": seance,
        "date_lettre": offre.date_emission,
        "numero_unique": numero,
        "destinataire": documents.nom_candidat(session, demande.id),
        "adresse": [x for x in (demande.adresse, " ".join(y for y in (demande.code_postal, demande.commune_adresse) if y)) if x],
        "logement": documents._logement_vue(session, offre.logement),
        "rang": offre.rang,
        "decision": ref_decisions.types[TypeDecision(offre.decision.type).value],
        "date_limite": offre.date_limite_reponse,
        "delai": documents._texte(ref_decisions.notification["offre"]["texte"], delai=delai),
        "parametre_delai": parametre,
        "reponse": documents._texte(ref.lettre["reponse"], bailleur=bailleur, numero_unique=numero, date_limite=limite),
        "sans_reponse": documents._texte(ref.lettre["sans_reponse"]),
        "motifs": list(ref.motifs_de_reponse().values()),
    }


def lettre_html(session: Session, offre: Offre) -> str:
    from . import documents

    return documents.environnement().get_template("documents/offre.html").render(**contexte_lettre(session, offre))
