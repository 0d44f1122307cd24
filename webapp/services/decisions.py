"""Decisions of the CALEOL (R441-3): votes, conflicts of interest, renvois, decisions, closing, signature.

What the law says lives in rules/decisions/ (types with their R441-3 letter, the controlled vocabulary
of motifs with their legal ground, the limitative list of missing documents, the means of appeal, the
notice of the algorithmic treatment); this module applies it. Each public function is one unit of
work inside the caller's transaction: it checks everything first, writes, flushes, and leaves one
audit entry; on bad input it raises `ErreurDecision` (French messages keyed by form field) having
written nothing. Nothing sensitive goes to the audit: motif codes and ids, never the free texts.

Votes. A vote is a member's position on attributing the logement to the candidate. The decision
follows the majority of the votes cast (abstentions are not cast); on a tie the maire of the commune
has the casting vote. A member who declared a conflict of interest on a candidate takes no part in
that vote. In a physical séance the président transcribes the votes with the decision; in a remote
séance (dématérialisée) each member votes (and ranks) within the séance's window and the président
records the result once the window has closed.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from engine.version import chemin_regles
from engine.yaml_strict import ErreurRegles, charger_yaml

from ..audit import journaliser
from ..horloge import maintenant
from ..models import (
    Attribution,
    Candidature,
    ChoixVote,
    Commune,
    Decision,
    EvaluationDemande,
    MembreSeance,
    ModeSeance,
    RenvoiCalPhysique,
    Role,
    Seance,
    SignatureProcesVerbal,
    StatutSeance,
    TypeDecision,
    Vote,
)

CONFLIT = "conflit"
LONGUEUR_MAX_TEXTE = 5000


# --------------------------------------------------------------------------- the rulebook part


@dataclass(frozen=True)
class Reference:
    titre: str
    lien: str | None = None


@dataclass(frozen=True)
class TypeInfo:
    code: str
    libelle: str
    reference: Reference
    attribue: bool
    classement: bool
    condition_suspensive: bool
    motif_obligatoire: bool
    voies_de_recours: bool
    lettre: str
    a_verifier: bool = False
    note: str | None = None


@dataclass(frozen=True)
class Motif:
    code: str
    libelle: str
    fondement: Reference
    types: tuple[str, ...]
    a_verifier: bool = False
    note: str | None = None


@dataclass(frozen=True)
class Piece:
    code: str
    libelle: str
    equivalents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recours:
    code: str
    libelle: str
    texte: str
    reference: Reference


@dataclass(frozen=True)
class ReferentielDecisions:
    types: dict[str, TypeInfo]
    rang_max: int
    motifs: dict[str, Motif]
    motifs_exclus: tuple[dict[str, Any], ...]
    pieces: dict[str, Piece]
    reference_pieces: Reference
    delai_recours: int
    unite_delai_recours: str
    reference_delai_recours: Reference
    recours: tuple[Recours, ...]
    notification: dict[str, Any]

    def motifs_pour(self, type_: str) -> list[Motif]:
        return [m for m in self.motifs.values() if type_ in m.types]

    def piece(self, valeur: str | None) -> Piece | None:
        """A missing document by code, or by its wording (decisions written before the codes)."""
        if not valeur:
            return None
        if valeur in self.pieces:
            return self.pieces[valeur]
        for p in self.pieces.values():
            if valeur == p.libelle or valeur in p.equivalents:
                return p
        return None


def _champ(fichier: Path, brut: Any, cle: str, type_: type, *, regle: str | None = None, defaut: Any = ...) -> Any:
    if not isinstance(brut, dict) or cle not in brut:
        if defaut is not ...:
            return defaut
        raise ErreurRegles(fichier.name, "champ obligatoire absent", regle=regle, champ=cle)
    valeur = brut[cle]
    if not isinstance(valeur, type_) or (type_ is int and isinstance(valeur, bool)):
        raise ErreurRegles(fichier.name, f"type attendu : {type_.__name__}", regle=regle, champ=cle)
    return valeur


def _reference(fichier: Path, brut: Any, regle: str, cle: str = "reference") -> Reference:
    ref = _champ(fichier, brut, cle, dict, regle=regle)
    return Reference(
        titre=_champ(fichier, ref, "titre", str, regle=regle),
        lien=_champ(fichier, ref, "lien", str, regle=regle, defaut=None),
    )


def charger_referentiel(dossier: Path | None = None) -> ReferentielDecisions:
    """Read and check rules/decisions/*.yaml; an invalid file raises ErreurRegles naming file and field."""
    dossier = dossier or chemin_regles("decisions")
    f_types, f_motifs = dossier / "types.yaml", dossier / "motifs.yaml"
    f_pieces, f_recours, f_notif = dossier / "pieces_justificatives.yaml", dossier / "voies_de_recours.yaml", dossier / "notification.yaml"

    brut = charger_yaml(f_types)
    types: dict[str, TypeInfo] = {}
    for code, t in _champ(f_types, brut, "types", dict).items():
        if code not in {m.value for m in TypeDecision}:
            raise ErreurRegles(f_types.name, "type de décision inconnu de l'application", regle=code)
        a_verifier = _champ(f_types, t, "a_verifier", bool, regle=code, defaut=False)
        note = _champ(f_types, t, "note", str, regle=code, defaut=None)
        if a_verifier and not note:
            raise ErreurRegles(f_types.name, "« a_verifier » exige une note", regle=code, champ="note")
        types[code] = TypeInfo(
            code=code,
            libelle=_champ(f_types, t, "libelle", str, regle=code),
            reference=_reference(f_types, t, code),
            attribue=_champ(f_types, t, "attribue", bool, regle=code),
            classement=_champ(f_types, t, "classement", bool, regle=code),
            condition_suspensive=_champ(f_types, t, "condition_suspensive", bool, regle=code),
            motif_obligatoire=_champ(f_types, t, "motif_obligatoire", bool, regle=code),
            voies_de_recours=_champ(f_types, t, "voies_de_recours", bool, regle=code),
            lettre=_champ(f_types, t, "lettre", str, regle=code),
            a_verifier=a_verifier,
            note=note,
        )
    manquants = {m.value for m in TypeDecision} - set(types)
    if manquants:
        raise ErreurRegles(f_types.name, f"types de décision absents : {', '.join(sorted(manquants))}", champ="types")
    classement = _champ(f_types, brut, "classement", dict)
    rang_max = _champ(f_types, classement, "rang_max", int, regle="classement")
    _reference(f_types, classement, "classement")

    brut = charger_yaml(f_motifs)
    motifs: dict[str, Motif] = {}
    for code, m in _champ(f_motifs, brut, "motifs", dict).items():
        types_m = tuple(_champ(f_motifs, m, "types", list, regle=code))
        for t in types_m:
            if t not in types:
                raise ErreurRegles(f_motifs.name, f"type de décision inconnu : {t}", regle=code, champ="types")
        a_verifier = _champ(f_motifs, m, "a_verifier", bool, regle=code, defaut=False)
        note = _champ(f_motifs, m, "note", str, regle=code, defaut=None)
        if a_verifier and not note:
            raise ErreurRegles(f_motifs.name, "« a_verifier » exige une note", regle=code, champ="note")
        motifs[code] = Motif(
            code=code,
            libelle=_champ(f_motifs, m, "libelle", str, regle=code),
            fondement=_reference(f_motifs, m, code, "fondement"),
            types=types_m,
            a_verifier=a_verifier,
            note=note,
        )
    for t in types.values():
        if t.motif_obligatoire and not any(t.code in m.types for m in motifs.values()):
            raise ErreurRegles(f_motifs.name, f"aucun motif pour le type {t.code}, qui en exige un", champ="types")
    exclus = tuple(_champ(f_motifs, brut, "motifs_exclus", list, defaut=[]))

    brut = charger_yaml(f_pieces)
    pieces = {
        code: Piece(
            code=code,
            libelle=_champ(f_pieces, p, "libelle", str, regle=code),
            equivalents=tuple(_champ(f_pieces, p, "equivalents", list, regle=code, defaut=[])),
        )
        for code, p in _champ(f_pieces, brut, "pieces", dict).items()
    }
    ref_pieces = _reference(f_pieces, brut, "pieces")

    brut = charger_yaml(f_recours)
    delai = _champ(f_recours, brut, "delai_recours", dict)
    recours = tuple(
        Recours(
            code=_champ(f_recours, r, "code", str, regle="recours"),
            libelle=_champ(f_recours, r, "libelle", str, regle="recours"),
            texte=_champ(f_recours, r, "texte", str, regle="recours"),
            reference=_reference(f_recours, r, "recours"),
        )
        for r in _champ(f_recours, brut, "recours", list)
    )

    notification = charger_yaml(f_notif)
    for cle in ("motivation", "traitement_algorithmique", "offre"):
        _champ(f_notif, notification, cle, dict)
    for cle in ("titre", "texte", "communication", "version"):
        _champ(f_notif, notification["traitement_algorithmique"], cle, str, regle="traitement_algorithmique")
    _reference(f_notif, notification["traitement_algorithmique"], "traitement_algorithmique")

    return ReferentielDecisions(
        types=types,
        rang_max=rang_max,
        motifs=motifs,
        motifs_exclus=exclus,
        pieces=pieces,
        reference_pieces=ref_pieces,
        delai_recours=_champ(f_recours, delai, "valeur", int, regle="delai_recours"),
        unite_delai_recours=_champ(f_recours, delai, "unite", str, regle="delai_recours"),
        reference_delai_recours=_reference(f_recours, delai, "delai_recours"),
        recours=recours,
        notification=notification,
    )


def referentiel() -> ReferentielDecisions:
    """Of rules/decisions in the rulebook version this process evaluates with (cached per directory)."""
    return _referentiel(chemin_regles("decisions"))


@functools.lru_cache(maxsize=4)
def _referentiel(dossier: Path) -> ReferentielDecisions:
    return charger_referentiel(dossier)


# --------------------------------------------------------------------------- errors and actors


class ErreurDecision(ValueError):
    """Bad input or a refused operation; `erreurs` maps form fields to French messages."""

    def __init__(self, erreurs: dict[str, list[str]] | str, champ: str = "__all__") -> None:
        if isinstance(erreurs, str):
            erreurs = {champ: [erreurs]}
        self.erreurs = erreurs
        super().__init__(" ; ".join(m for ms in erreurs.values() for m in ms))


class ConflitDecision(ErreurDecision):
    """The séance changed under the writer: stale séance version, a decision recorded meanwhile, or a
    unique constraint of the database. The API answers 409, the form 409 with a flash message."""


MESSAGE_CONCURRENCE = (
    "La séance a été modifiée en même temps par quelqu'un d'autre : rien n'a été enregistré, "
    "rechargez la séance et recommencez."
)


def message_version(lue: int, actuelle: int) -> str:
    return (
        f"Version de la séance : la séance a été modifiée depuis que vous l'avez ouverte (version {lue} lue, "
        f"version {actuelle} enregistrée) ; rien n'a été enregistré, rechargez la séance et recommencez."
    )


def _verifier_version(seance: Seance, version_seance: int | str | None) -> None:
    """Optimistic lock carried by the form or the API body: the séance version the writer read."""
    if version_seance in (None, ""):
        return
    try:
        lue = int(version_seance)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ErreurDecision({"version_seance": ["Version de la séance : nombre entier attendu."]}) from None
    if lue != seance.version:
        raise ConflitDecision({"version_seance": [message_version(lue, seance.version)]})


# Test-only hook (tests/concurrence): with CALEOL_TEST_PAUSE_DECISION=<seconds>, the transaction of a
# decision stays open that long after all its writes (decision, votes, séance version, audit entry)
# are flushed, so that a test can kill the server in the middle of it. Never set outside the tests.
VARIABLE_PAUSE_DE_TEST = "CALEOL_TEST_PAUSE_DECISION"


def _pause_de_test(session: Session) -> None:
    secondes = os.environ.get(VARIABLE_PAUSE_DE_TEST)
    if secondes:
        session.flush()
        time.sleep(float(secondes))


class Acteur(Protocol):
    id: int
    identifiant: str
    role: Role


def _exiger_role(acteur: Acteur, *roles: Role, action: str) -> None:
    if acteur.role not in roles:
        raise ErreurDecision(f"Votre rôle ne permet pas de {action}.")


# --------------------------------------------------------------------------- quorum and votes


def est_maire(membre: MembreSeance) -> bool:
    """The maire of the commune (or the representative), who has the casting vote on a tie."""
    return membre.qualite.strip().lower().startswith("maire")


def votants_presents(seance: Seance) -> list[MembreSeance]:
    return sorted((m for m in seance.membres if m.voix_deliberative and m.present), key=lambda m: m.id)


@dataclass(frozen=True)
class EtatQuorum:
    presents: int
    quorum: int

    @property
    def atteint(self) -> bool:
        return self.presents >= self.quorum

    @property
    def message(self) -> str:
        return (
            f"{self.presents} membre(s) à voix délibérative présent(s) pour un quorum de {self.quorum} : "
            + ("quorum atteint." if self.atteint else "quorum non atteint.")
        )


def etat_quorum(seance: Seance) -> EtatQuorum:
    return EtatQuorum(presents=len(votants_presents(seance)), quorum=seance.quorum)


FAVORABLE, DEFAVORABLE, PARTAGE, AUCUN = "favorable", "defavorable", "partage", "aucun"
LIBELLES_ISSUE = {
    FAVORABLE: "favorable à l'attribution",
    DEFAVORABLE: "défavorable à l'attribution",
    PARTAGE: "partage des voix sans voix prépondérante exprimée",
    AUCUN: "aucun suffrage exprimé",
}


@dataclass(frozen=True)
class ResultatVote:
    pour: int
    contre: int
    abstentions: int
    conflits: int
    issue: str
    voix_preponderante: bool = False
    rang_moyen: float | None = None

    @property
    def exprimes(self) -> int:
        return self.pour + self.contre

    @property
    def libelle(self) -> str:
        texte = f"{self.pour} pour, {self.contre} contre, {self.abstentions} abstention(s)"
        if self.conflits:
            texte += f", {self.conflits} conflit(s) d'intérêts déclaré(s)"
        texte += f" : {LIBELLES_ISSUE[self.issue]}"
        if self.voix_preponderante:
            texte += " (voix prépondérante du maire)"
        return texte


def depouiller(votes: list[tuple[MembreSeance, str]]) -> ResultatVote:
    """Count (member, choice-or-'conflit') pairs: majority of votes cast, the maire's vote breaks a tie."""
    compte = Counter(choix for _m, choix in votes)
    pour, contre = compte[ChoixVote.POUR.value], compte[ChoixVote.CONTRE.value]
    abst, conflits = compte[ChoixVote.ABSTENTION.value], compte[CONFLIT]
    preponderante = False
    if pour + contre == 0:
        issue = AUCUN
    elif pour > contre:
        issue = FAVORABLE
    elif contre > pour:
        issue = DEFAVORABLE
    else:
        maire = [c for m, c in votes if est_maire(m) and c in (ChoixVote.POUR.value, ChoixVote.CONTRE.value)]
        if maire:
            issue, preponderante = (FAVORABLE if maire[0] == ChoixVote.POUR.value else DEFAVORABLE), True
        else:
            issue = PARTAGE
    return ResultatVote(pour, contre, abst, conflits, issue, preponderante)


def votes_de(session: Session, candidature_id: int) -> list[Vote]:
    return list(
        session.scalars(select(Vote).where(Vote.candidature_id == candidature_id).order_by(Vote.membre_id))
    )


def choix_de(v: Vote) -> str:
    return CONFLIT if v.conflit_interets else ChoixVote(v.choix).value


def resultat_vote(session: Session, candidature: Candidature) -> ResultatVote:
    votes = votes_de(session, candidature.id)
    r = depouiller([(v.membre, choix_de(v)) for v in votes])
    rangs = [v.rang for v in votes if v.rang is not None]
    if rangs:
        r = ResultatVote(r.pour, r.contre, r.abstentions, r.conflits, r.issue, r.voix_preponderante,
                         round(sum(rangs) / len(rangs), 2))
    return r


def renvois_de(session: Session, candidature_id: int) -> list[RenvoiCalPhysique]:
    return list(
        session.scalars(
            select(RenvoiCalPhysique).where(RenvoiCalPhysique.candidature_id == candidature_id).order_by(RenvoiCalPhysique.id)
        )
    )


def fenetre_ouverte(seance: Seance, instant: dt.datetime | None = None) -> bool:
    instant = instant or maintenant()
    return (
        seance.vote_ouverture is not None
        and seance.vote_cloture is not None
        and _aware(seance.vote_ouverture) <= instant < _aware(seance.vote_cloture)
    )


def _aware(instant: dt.datetime) -> dt.datetime:
    """SQLite gives back naive datetimes: they were written in UTC."""
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.UTC)


def membre_de(seance: Seance, utilisateur_id: int) -> MembreSeance | None:
    for m in seance.membres:
        if m.utilisateur_id == utilisateur_id:
            return m
    return None


# --------------------------------------------------------------------------- loading with checks


def _candidature(session: Session, candidature_id: int) -> Candidature:
    c = session.get(Candidature, candidature_id)
    if c is None:
        raise ErreurDecision("Candidature introuvable.")
    return c


def _seance_modifiable(seance: Seance) -> None:
    if seance.statut == StatutSeance.CLOSE:
        raise ErreurDecision("La séance est close : ses décisions sont figées.")


def _verrouiller(seance: Seance) -> None:
    """Bump the séance's version: two concurrent writes on one séance cannot both succeed."""
    flag_modified(seance, "statut")


def _prendre_la_seance(session: Session, seance: Seance) -> None:
    """Lock the séance row for this transaction and re-read it (PostgreSQL: SELECT … FOR UPDATE).

    Writers on one séance (votes, renvois, decisions, closing) then queue in one order: none can hold a
    row another one waits for while waiting for the séance (no deadlock), and each sees what the
    previous one committed. The optimistic lock (`version_seance` of the form) is checked after."""
    session.refresh(seance, with_for_update=True)


# --------------------------------------------------------------------------- member actions


def voter(
    session: Session,
    *,
    candidature_id: int,
    acteur: Acteur,
    choix: str | None,
    conflit_interets: bool = False,
    rang: int | str | None = None,
) -> Vote:
    """A member votes on a candidate (or declares a conflict of interest, which excludes voting)."""
    c = _candidature(session, candidature_id)
    seance = c.seance
    _prendre_la_seance(session, seance)
    _seance_modifiable(seance)
    membre = membre_de(seance, acteur.id)
    if membre is None:
        raise ErreurDecision("Vous n'êtes pas membre de cette séance.")
    erreurs: dict[str, list[str]] = {}
    if not (membre.voix_deliberative and membre.present):
        raise ErreurDecision("Seuls les membres à voix délibérative présents votent.")
    if seance.mode == ModeSeance.DEMATERIALISEE and not fenetre_ouverte(seance):
        raise ErreurDecision("La fenêtre de vote de cette séance dématérialisée n'est pas ouverte.")
    if c.decision is not None:
        raise ErreurDecision("La décision sur ce dossier est déjà enregistrée : le vote est clos.")
    valeurs = {v.value for v in ChoixVote}
    if conflit_interets:
        if choix:
            erreurs.setdefault("choix", []).append(
                "Un membre qui déclare un conflit d'intérêts ne vote pas : ne choisissez aucun vote."
            )
        choix = None
    elif choix not in valeurs:
        erreurs.setdefault("choix", []).append("Vote : choisissez pour, contre ou abstention.")
    rang_entier: int | None = None
    if rang not in (None, ""):
        try:
            rang_entier = int(rang)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            rang_entier = 0
        nb = len([x for x in seance.candidatures if x.logement_id == c.logement_id])
        if not 1 <= rang_entier <= nb:
            erreurs.setdefault("rang", []).append(f"Rang : indiquez un nombre entier de 1 à {nb}.")
        if conflit_interets:
            erreurs.setdefault("rang", []).append("Un membre en conflit d'intérêts ne classe pas ce candidat.")
    if erreurs:
        raise ErreurDecision(erreurs)
    vote = session.scalars(select(Vote).where(Vote.candidature_id == c.id, Vote.membre_id == membre.id)).one_or_none()
    avant = None if vote is None else {"choix": choix_de(vote), "rang": vote.rang}
    if vote is None:
        vote = Vote(candidature_id=c.id, membre_id=membre.id)
        session.add(vote)
    vote.choix = None if conflit_interets else ChoixVote(choix)
    vote.conflit_interets = conflit_interets
    vote.rang = rang_entier
    vote.horodatage = maintenant()
    vote.saisi_par_id = acteur.id
    _verrouiller(seance)
    session.flush()
    journaliser(
        session, acteur=acteur.identifiant, action="decision.conflit_interets" if conflit_interets else "decision.vote",
        objet_type="vote", objet_id=vote.id, avant=avant,
        apres={"candidature_id": c.id, "membre_id": membre.id, "choix": choix_de(vote), "rang": vote.rang},
    )
    return vote


def demander_renvoi(session: Session, *, candidature_id: int, acteur: Acteur, motif: str | None = None) -> RenvoiCalPhysique:
    """A member asks for the case to be examined by a physical commission (remote séances)."""
    c = _candidature(session, candidature_id)
    seance = c.seance
    _prendre_la_seance(session, seance)
    _seance_modifiable(seance)
    membre = membre_de(seance, acteur.id)
    if membre is None:
        raise ErreurDecision("Vous n'êtes pas membre de cette séance.")
    if seance.mode != ModeSeance.DEMATERIALISEE:
        raise ErreurDecision("Le renvoi en commission physique ne concerne que les séances dématérialisées.")
    if c.decision is not None:
        raise ErreurDecision("La décision sur ce dossier est déjà enregistrée : il ne peut plus être renvoyé.")
    motif = (motif or "").strip() or None
    if motif and len(motif) > LONGUEUR_MAX_TEXTE:
        raise ErreurDecision({"motif_renvoi": [f"Motif du renvoi : {LONGUEUR_MAX_TEXTE} caractères au plus."]})
    existant = session.scalars(
        select(RenvoiCalPhysique).where(RenvoiCalPhysique.candidature_id == c.id, RenvoiCalPhysique.membre_id == membre.id)
    ).one_or_none()
    if existant is not None:
        raise ErreurDecision("Vous avez déjà demandé le renvoi de ce dossier en commission physique.")
    renvoi = RenvoiCalPhysique(candidature_id=c.id, membre_id=membre.id, motif=motif, horodatage=maintenant())
    session.add(renvoi)
    _verrouiller(seance)
    session.flush()
    journaliser(
        session, acteur=acteur.identifiant, action="decision.renvoi_cal_physique", objet_type="candidature",
        objet_id=c.id, apres={"membre_id": membre.id, "motif": "fourni" if motif else None},
    )
    return renvoi


def definir_fenetre(
    session: Session, *, seance_id: int, acteur: Acteur, ouverture: dt.datetime | None, cloture: dt.datetime | None
) -> Seance:
    """Set the voting window of a remote séance (président or chargé d'attribution)."""
    _exiger_role(acteur, Role.PRESIDENT, Role.CHARGE_ATTRIBUTION, action="fixer la fenêtre de vote")
    seance = session.get(Seance, seance_id)
    if seance is None:
        raise ErreurDecision("Séance introuvable.")
    _seance_modifiable(seance)
    erreurs: dict[str, list[str]] = {}
    if seance.mode != ModeSeance.DEMATERIALISEE:
        raise ErreurDecision("Seule une séance dématérialisée a une fenêtre de vote.")
    if ouverture is None:
        erreurs["vote_ouverture"] = ["Ouverture du vote : indiquez une date et une heure (AAAA-MM-JJ HH:MM)."]
    if cloture is None:
        erreurs["vote_cloture"] = ["Clôture du vote : indiquez une date et une heure (AAAA-MM-JJ HH:MM)."]
    if ouverture and cloture and cloture <= ouverture:
        erreurs["vote_cloture"] = ["Clôture du vote : elle doit suivre l'ouverture."]
    if erreurs:
        raise ErreurDecision(erreurs)
    avant = {"ouverture": _iso(seance.vote_ouverture), "cloture": _iso(seance.vote_cloture)}
    seance.vote_ouverture, seance.vote_cloture = ouverture, cloture
    session.flush()
    journaliser(
        session, acteur=acteur.identifiant, action="seance.fenetre_vote", objet_type="seance", objet_id=seance.id,
        avant=avant, apres={"ouverture": _iso(ouverture), "cloture": _iso(cloture)},
    )
    return seance


def _iso(instant: dt.datetime | None) -> str | None:
    return None if instant is None else _aware(instant).isoformat()


# --------------------------------------------------------------------------- decisions


@dataclass
class DonneesDecision:
    """The decision form, as text (what a browser sends) or typed values."""

    type: str | None = None
    rang: int | str | None = None
    motifs: list[str] = field(default_factory=list)
    piece_manquante: str | None = None
    date_limite_condition: dt.date | str | None = None
    justification: str | None = None


def ecart_a_l_ordre_propose(candidature: Candidature, type_: str, rang: int | None) -> bool:
    """Deciding against the proposed order: attributing to a candidate not proposed first, or ranking
    a candidate at another rank than the proposed one."""
    info = referentiel().types.get(type_)
    if info is None or not info.attribue:
        return False
    if info.classement:
        return rang is not None and rang != candidature.rang_propose
    return candidature.rang_propose != 1


def _valider(candidature: Candidature, d: DonneesDecision) -> tuple[dict[str, list[str]], dict[str, Any]]:
    ref = referentiel()
    erreurs: dict[str, list[str]] = {}

    def err(champ: str, message: str) -> None:
        erreurs.setdefault(champ, []).append(message)

    info = ref.types.get(d.type or "")
    if info is None:
        err("type", "Type de décision : choisissez l'une des décisions de l'article R441-3.")
    rang: int | None = None
    if d.rang not in (None, ""):
        try:
            rang = int(d.rang)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            err("rang", f"Rang : indiquez un nombre entier de 1 à {ref.rang_max}.")
    if info and info.classement:
        if rang is None and "rang" not in erreurs:
            err("rang", f"Rang : obligatoire pour une attribution par classement (1 à {ref.rang_max}).")
        elif rang is not None and not 1 <= rang <= ref.rang_max:
            err("rang", f"Rang : indiquez un nombre entier de 1 à {ref.rang_max}.")
    elif info and rang is not None:
        err("rang", "Rang : seule une attribution par classement a un rang.")
    motifs = list(dict.fromkeys(m for m in d.motifs if m))
    for code in motifs:
        motif = ref.motifs.get(code)
        if motif is None:
            err("motifs", f"Motifs : le motif « {code} » n'existe pas dans le vocabulaire.")
        elif info and info.code not in motif.types:
            err("motifs", f"Motifs : « {motif.libelle} » ne peut pas motiver une décision « {info.libelle} ».")
    if info and info.motif_obligatoire and not motifs:
        err("motifs", f"Motifs : une décision « {info.libelle} » doit être motivée (au moins un motif).")
    piece = ref.piece(d.piece_manquante) if d.piece_manquante else None
    limite: dt.date | None = None
    if isinstance(d.date_limite_condition, dt.date):
        limite = d.date_limite_condition
    elif d.date_limite_condition:
        try:
            limite = dt.date.fromisoformat(str(d.date_limite_condition).strip())
        except ValueError:
            err("date_limite_condition", "Date limite : indiquez une date au format AAAA-MM-JJ.")
    if info and info.condition_suspensive:
        if d.piece_manquante and piece is None:
            err("piece_manquante", "Pièce manquante : choisissez une pièce de la liste limitative (R441-2-4-1).")
        elif not d.piece_manquante:
            err("piece_manquante", "Pièce manquante : obligatoire pour une attribution sous condition suspensive.")
        if limite is None and "date_limite_condition" not in erreurs:
            err("date_limite_condition", "Date limite : obligatoire pour une attribution sous condition suspensive.")
        elif limite is not None and limite <= candidature.seance.date_seance:
            err("date_limite_condition", "Date limite : elle doit suivre la date de la séance.")
    elif info:
        if d.piece_manquante:
            err("piece_manquante", "Pièce manquante : seulement pour une attribution sous condition suspensive.")
        if d.date_limite_condition:
            err("date_limite_condition", "Date limite : seulement pour une attribution sous condition suspensive.")
    justification = (d.justification or "").strip() or None
    if justification and len(justification) > LONGUEUR_MAX_TEXTE:
        err("justification", f"Justification : {LONGUEUR_MAX_TEXTE} caractères au plus.")
    if info and ecart_a_l_ordre_propose(candidature, info.code, rang) and not justification:
        if info.classement:
            quoi = f"ce candidat, proposé au rang {candidature.rang_propose}, est classé au rang {rang}"
        else:
            quoi = f"le logement est attribué au candidat proposé au rang {candidature.rang_propose}"
        err("justification", f"Justification : obligatoire, car la décision s'écarte de l'ordre proposé ({quoi}).")
    propres = {
        "type": info.code if info else None,
        "rang": rang,
        "motifs": motifs,
        "piece_manquante": piece.code if piece and info and info.condition_suspensive else None,
        "date_limite_condition": limite if info and info.condition_suspensive else None,
        "justification": justification,
    }
    return erreurs, propres


def _coherence_logement(session: Session, candidature: Candidature, type_: str, rang: int | None) -> list[str]:
    """One effective attribution per logement and séance, one candidate per rank, no mix of a direct
    attribution and a ranking (also enforced by the database)."""
    ref = referentiel()
    info = ref.types[type_]
    if not info.attribue:
        return []
    autres = session.scalars(
        select(Decision).where(
            Decision.seance_id == candidature.seance_id,
            Decision.logement_id == candidature.logement_id,
            Decision.candidature_id != candidature.id,
        )
    ).all()
    messages = []
    for autre in autres:
        a_info = ref.types[TypeDecision(autre.type).value]
        if not a_info.attribue:
            continue
        num = autre.candidature.demande.numero_unique
        if info.classement and a_info.classement and autre.rang == rang:
            messages.append(f"Rang : le rang {rang} est déjà donné au candidat {num} pour ce logement.")
        elif info.classement != a_info.classement:
            messages.append(
                f"Type de décision : le logement a déjà une décision « {a_info.libelle} » (candidat {num}) ; "
                "une attribution simple et un classement ne se combinent pas."
            )
        elif not info.classement:
            messages.append(f"Type de décision : le logement est déjà attribué au candidat {num} dans cette séance.")
    return messages


def _decision_dict(d: Decision | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "type": TypeDecision(d.type).value,
        "rang": d.rang,
        "motifs": list(d.motifs or []),
        "piece_manquante": d.piece_manquante,
        "date_limite_condition": d.date_limite_condition.isoformat() if d.date_limite_condition else None,
        # Free text may describe the household: referenced, never copied.
        "justification": "fournie" if d.justification else None,
    }


MESSAGES_CONTRAINTES = {
    "uq_decision_attribution_effective": "Type de décision : ce logement a déjà une attribution effective dans cette séance (une seule par logement).",
    "uq_decision_rang_classement": "Rang : ce rang est déjà donné à un autre candidat pour ce logement.",
}


def champ_contrainte(exc: IntegrityError) -> str:
    """The form field a violated constraint is about."""
    return "rang" if message_contrainte(exc) == MESSAGES_CONTRAINTES["uq_decision_rang_classement"] else "type"


def message_contrainte(exc: IntegrityError) -> str:
    texte = str(exc.orig)
    for nom, message in MESSAGES_CONTRAINTES.items():
        if nom in texte:
            return message
    if "decision.seance_id, decision.logement_id" in texte:  # SQLite names columns, not the index
        return MESSAGES_CONTRAINTES["uq_decision_rang_classement" if "decision.rang" in texte else "uq_decision_attribution_effective"]
    return "L'enregistrement contredit une décision déjà enregistrée : rechargez la page."


def enregistrer_decision(
    session: Session,
    *,
    candidature_id: int,
    acteur: Acteur,
    donnees: DonneesDecision,
    votes: dict[int, str] | None = None,
    version_seance: int | str | None = None,
) -> Decision:
    """The président records the decision on one candidate.

    `version_seance` is the séance version the form or API client read (optimistic lock): another
    version raises `ConflitDecision`, as does a decision recorded meanwhile that contradicts this
    one (checked here, then by the unique indexes of the database).

    Physical séance: `votes` maps each voting member present to pour/contre/abstention/conflit (a vote a
    member cast personally is kept as cast). Remote séance: the votes are those the members cast in
    the window, which must be over. The decision must follow the outcome of the vote.
    """
    _exiger_role(acteur, Role.PRESIDENT, action="enregistrer une décision (présidence de la commission)")
    c = _candidature(session, candidature_id)
    seance = c.seance
    _prendre_la_seance(session, seance)
    _verifier_version(seance, version_seance)
    _seance_modifiable(seance)
    quorum = etat_quorum(seance)
    if not quorum.atteint:
        raise ErreurDecision(f"Quorum : {quorum.message}", champ="quorum")
    if seance.mode == ModeSeance.DEMATERIALISEE and renvois_de(session, c.id):
        raise ErreurDecision("Ce dossier a été renvoyé en commission physique à la demande d'un membre : aucune décision ne peut être prise dans cette séance.")
    erreurs, propres = _valider(c, donnees)
    if not erreurs:
        conflits: dict[str, list[str]] = {}
        for message in _coherence_logement(session, c, propres["type"], propres["rang"]):
            conflits.setdefault("rang" if message.startswith("Rang") else "type", []).append(message)
        if conflits:
            raise ConflitDecision(conflits)

    existants = {v.membre_id: v for v in votes_de(session, c.id)}
    votants = votants_presents(seance)
    nouveaux: dict[int, str] = {}
    if seance.mode == ModeSeance.DEMATERIALISEE:
        if votes:
            erreurs.setdefault("votes", []).append("Votes : en séance dématérialisée, chaque membre vote lui-même dans la fenêtre de vote.")
        if seance.vote_cloture is None:
            erreurs.setdefault("votes", []).append("Votes : la fenêtre de vote de la séance n'a pas été fixée.")
        elif maintenant() < _aware(seance.vote_cloture):
            erreurs.setdefault("votes", []).append(
                f"Votes : la fenêtre de vote est ouverte jusqu'au {_aware(seance.vote_cloture):%d/%m/%Y à %H:%M} (UTC) ; "
                "le résultat s'enregistre après sa clôture."
            )
        compte = [(v.membre, choix_de(v)) for v in existants.values()]
    else:
        votes = dict(votes or {})
        ids_votants = {m.id for m in votants}
        for membre_id in votes:
            if membre_id not in ids_votants:
                erreurs.setdefault("votes", []).append(
                    "Votes : seuls les membres à voix délibérative présents votent."
                )
                break
        compte = []
        for m in votants:
            existant = existants.get(m.id)
            choix = votes.get(m.id) or None
            # A vote the member cast personally stays as cast (the président may change his own).
            personnel = (
                existant is not None and m.utilisateur_id is not None and m.utilisateur_id != acteur.id
                and existant.saisi_par_id == m.utilisateur_id
            )
            if personnel and choix is not None and choix != choix_de(existant):
                erreurs.setdefault(f"vote-{m.id}", []).append(
                    f"Vote de {m.nom} : exprimé par le membre lui-même, il ne peut pas être modifié par la présidence."
                )
                continue
            if choix is None and existant is not None:
                choix = choix_de(existant)
            if choix is None:
                erreurs.setdefault(f"vote-{m.id}", []).append(f"Vote de {m.nom} : indiquez pour, contre, abstention ou conflit d'intérêts.")
                continue
            if choix not in {v.value for v in ChoixVote} | {CONFLIT}:
                erreurs.setdefault(f"vote-{m.id}", []).append(f"Vote de {m.nom} : choix inconnu.")
                continue
            if existant is not None and existant.conflit_interets and choix != CONFLIT:
                erreurs.setdefault(f"vote-{m.id}", []).append(
                    f"Vote de {m.nom} : ce membre a déclaré un conflit d'intérêts sur ce candidat et ne prend pas part au vote."
                )
                continue
            compte.append((m, choix))
            if existant is None or choix_de(existant) != choix:
                nouveaux[m.id] = choix
    resultat = depouiller(compte)
    if not erreurs and propres["type"]:
        info = referentiel().types[propres["type"]]
        if resultat.issue in (AUCUN, PARTAGE):
            erreurs.setdefault("votes", []).append(
                f"Votes : {LIBELLES_ISSUE[resultat.issue]} ({resultat.pour} pour, {resultat.contre} contre) : la commission n'a pas décidé."
            )
        elif info.attribue and resultat.issue != FAVORABLE:
            erreurs.setdefault("votes", []).append(
                f"Votes : la majorité est défavorable à l'attribution ({resultat.pour} pour, {resultat.contre} contre) ; "
                "la décision ne peut pas être une attribution."
            )
        elif not info.attribue and resultat.issue != DEFAVORABLE:
            erreurs.setdefault("votes", []).append(
                f"Votes : la majorité est favorable à l'attribution ({resultat.pour} pour, {resultat.contre} contre) ; "
                f"la décision ne peut pas être « {info.libelle} »."
            )
    if erreurs:
        raise ErreurDecision(erreurs)

    instant = maintenant()
    for m_id, choix in nouveaux.items():
        vote = existants.get(m_id) or Vote(candidature_id=c.id, membre_id=m_id)
        vote.choix = None if choix == CONFLIT else ChoixVote(choix)
        vote.conflit_interets = choix == CONFLIT
        vote.horodatage = instant
        vote.saisi_par_id = acteur.id
        session.add(vote)

    decision = c.decision
    avant = _decision_dict(decision)
    if decision is None:
        decision = Decision(candidature_id=c.id, seance_id=c.seance_id, logement_id=c.logement_id)
        c.decision = decision
        session.add(decision)
    decision.type = TypeDecision(propres["type"])
    decision.rang = propres["rang"]
    decision.motifs = propres["motifs"]
    decision.piece_manquante = propres["piece_manquante"]
    decision.date_limite_condition = propres["date_limite_condition"]
    decision.justification = propres["justification"]
    decision.decide_par_id = acteur.id
    decision.decide_le = instant
    from engine.version import version_regles

    decision.version_regles = version_regles()
    _verrouiller(seance)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise ConflitDecision({champ_contrainte(exc): [message_contrainte(exc)]}) from None
    journaliser(
        session, acteur=acteur.identifiant, action="decision.enregistrer", objet_type="decision", objet_id=decision.id,
        avant=avant, apres=_decision_dict(decision),
        details={
            "candidature_id": c.id, "seance_id": c.seance_id, "logement_id": c.logement_id,
            "ecart_ordre_propose": ecart_a_l_ordre_propose(c, propres["type"], propres["rang"]),
            "votes": {"pour": resultat.pour, "contre": resultat.contre, "abstentions": resultat.abstentions,
                      "conflits": resultat.conflits, "issue": resultat.issue,
                      "voix_preponderante": resultat.voix_preponderante},
            "votes_saisis": {str(k): v for k, v in sorted(nouveaux.items())},
        },
    )
    _pause_de_test(session)
    return decision


# --------------------------------------------------------------------------- closing and signature


def est_effective(decision: Decision) -> bool:
    """An attribution that takes effect: direct, under condition, or the first of a ranking."""
    t = TypeDecision(decision.type)
    return t in (TypeDecision.ATTRIBUTION, TypeDecision.ATTRIBUTION_SOUS_CONDITION) or (
        t == TypeDecision.ATTRIBUTION_RANG and decision.rang == 1
    )


def _indicateurs(session: Session, c: Candidature) -> dict[str, Any]:
    """Facts at decision time for the quota counters, from the persisted evaluation when there is one."""
    residence = c.logement.residence
    commune = session.get(Commune, residence.code_insee)
    ev = session.get(EvaluationDemande, c.demande_id)
    faits: dict[str, Any] = {
        "en_qpv": residence.qpv_code is not None,
        "epci": commune.epci_siren if commune is not None else None,
        "anru": bool(c.demande.relogement_anru),
    }
    if ev is not None:
        faits.update(
            quartile=ev.quartile, prioritaire=ev.prioritaire, dalo=ev.dalo, logement_d_abord=ev.logement_d_abord,
            priorites=list(ev.priorites or []), version_regles_evaluation=ev.version_regles,
        )
    return faits


def cloturer_seance(session: Session, *, seance_id: int, acteur: Acteur, version: str | None = None) -> Seance:
    """Close the séance: record the rulebook version, freeze its decisions, create the attributions."""
    _exiger_role(acteur, Role.PRESIDENT, action="clore la séance (présidence de la commission)")
    seance = session.get(Seance, seance_id)
    if seance is None:
        raise ErreurDecision("Séance introuvable.")
    _prendre_la_seance(session, seance)
    _seance_modifiable(seance)
    quorum = etat_quorum(seance)
    if not quorum.atteint:
        raise ErreurDecision(f"Quorum : {quorum.message}", champ="quorum")
    if seance.mode == ModeSeance.DEMATERIALISEE and seance.vote_cloture is not None and maintenant() < _aware(seance.vote_cloture):
        raise ErreurDecision("La fenêtre de vote est encore ouverte : la séance se clôt après elle.")
    renvoyees = {
        r.candidature_id for r in session.scalars(
            select(RenvoiCalPhysique).join(Candidature).where(Candidature.seance_id == seance.id)
        )
    }
    en_suspens = [c for c in seance.candidatures if c.decision is None and c.id not in renvoyees]
    if not seance.candidatures:
        raise ErreurDecision("La séance n'a examiné aucune candidature : rien à clore.")
    if en_suspens:
        liste = ", ".join(f"{c.logement.reference} / {c.demande.numero_unique}" for c in en_suspens[:10])
        raise ErreurDecision(
            f"{len(en_suspens)} candidature(s) sans décision ni renvoi en commission physique ({liste}) : "
            "la séance ne peut pas être close."
        )
    if version is None:
        from engine.version import version_regles

        version = version_regles()
    statut_avant = StatutSeance(seance.statut).value
    seance.version_regles = version
    seance.statut = StatutSeance.CLOSE
    creees = []
    for c in seance.candidatures:
        d = c.decision
        if d is None:
            continue
        d.version_regles = version
        if est_effective(d) and session.scalars(select(Attribution.id).where(Attribution.decision_id == d.id)).first() is None:
            a = Attribution(
                decision=d, logement_id=c.logement_id, demande_id=c.demande_id, reservataire_id=c.reservataire_id,
                date_decision=seance.date_seance, indicateurs=_indicateurs(session, c),
            )
            session.add(a)
            creees.append(a)
    session.flush()
    from .offres import emettre_apres_cloture

    offres = emettre_apres_cloture(session, creees)
    types = Counter(TypeDecision(c.decision.type).value for c in seance.candidatures if c.decision is not None)
    journaliser(
        session, acteur=acteur.identifiant, action="seance.cloturer", objet_type="seance", objet_id=seance.id,
        avant={"statut": statut_avant},
        apres={"statut": StatutSeance.CLOSE.value, "version_regles": version},
        details={"decisions": dict(sorted(types.items())), "renvois": len(renvoyees),
                 "attributions": [a.id for a in creees], "offres": [o.id for o in offres]},
    )
    return seance


def signer_proces_verbal(session: Session, *, seance_id: int, acteur: Acteur, html: str) -> SignatureProcesVerbal:
    """The président signs the minutes of a closed séance; the digest of the signed HTML is kept."""
    _exiger_role(acteur, Role.PRESIDENT, action="signer le procès-verbal (présidence de la commission)")
    seance = session.get(Seance, seance_id)
    if seance is None:
        raise ErreurDecision("Séance introuvable.")
    if seance.statut != StatutSeance.CLOSE:
        raise ErreurDecision("Le procès-verbal se signe après la clôture de la séance.")
    if session.scalars(select(SignatureProcesVerbal).where(SignatureProcesVerbal.seance_id == seance.id)).first():
        raise ErreurDecision("Le procès-verbal de cette séance est déjà signé.")
    signature = SignatureProcesVerbal(
        seance_id=seance.id, signe_par_id=acteur.id, signe_le=maintenant(),
        empreinte=hashlib.sha256(html.encode("utf-8")).hexdigest(),
    )
    session.add(signature)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ErreurDecision("Le procès-verbal de cette séance est déjà signé.") from None
    journaliser(
        session, acteur=acteur.identifiant, action="seance.signer_pv", objet_type="seance", objet_id=seance.id,
        apres={"empreinte": signature.empreinte},
    )
    return signature


def signature_de(session: Session, seance_id: int) -> SignatureProcesVerbal | None:
    return session.scalars(select(SignatureProcesVerbal).where(SignatureProcesVerbal.seance_id == seance_id)).first()
