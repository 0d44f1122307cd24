"""Candidates for a vacant dwelling: who, in which order, and why (R441-3; DOMAIN.md §2, §5, §8, §9).

    proposer(session, logement_id, date, *, seance_id=None, estimateur=None) -> dict (JSON-able)

1. The pool follows the dwelling's orientation in the flux (webapp.services.flux.orientation_en_cours):
   oriented to a réservataire → the candidates it designated (for the État's priority contingent,
   also the labelled priority households: DALO, PDALHPD or SIAO label, verified priority situation);
   the bailleur's own share, a dwelling returned to the bailleur (restituée), a dwelling outside
   the flux or no orientation → every active demande.
2. Pre-selection in SQL, on the persisted evaluations (webapp.services.evaluations) and the
   indexed wishes: recevable and eligible for the dwelling's financing, its typology wished, its
   commune wished (rules/propositions/classement.yaml › selection.perimetre_communes), no
   sur-occupation (surface ≥ the minimum for the household), no sous-occupation (per policy),
   accessibility need met, not already a candidate for another dwelling of the same séance. The
   rows come out already in the published order (rules/propositions/classement.yaml), by the
   score of the dwelling's EPCI.
3. The shortlist is evaluated WITH the dwelling (taux d'effort, reste à vivre, adequacy), the
   housing aid estimated once for the whole shortlist (EstimateurApl: OpenFisca, else the declared
   amount, else none); those the dwelling's evaluation disqualifies are replaced by the next ones.
4. The candidates are ranked with the published criteria; each says why it ranks above the next
   one (the first criterion that differs, with both values). Fewer candidates than R441-3 requires:
   the exception that applies is stated. The best-scored demandes of the territory that are not
   proposed come with the reason (and rule) that set them aside.

The result is deterministic: same database, date and rulebook → same JSON. Nothing here decides:
the commission is sovereign; this is the agenda it examines.
"""
from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session, joinedload

from engine.derivations import AideLogement, surface_minimale
from engine.evaluation import evaluer
from engine.geo import charger_territoire, zone_plafonds
from engine.parametres import parametres_a_la_date
from engine.version import chemin_regles, version_regles
from engine.yaml_strict import ErreurRegles, charger_yaml

from ..models import (
    Candidature,
    Demande,
    EvaluationDemande,
    Logement,
    OrientationFlux,
    SouhaitCommune,
    SouhaitTypologie,
    StatutDemande,
    StatutLogement,
    StatutOrientation,
    TypeReservataire,
)
from .dossiers import en_json
from .evaluations import _charger_dossiers

CHAMPS = ("dalo_designe", "dalo", "prioritaire", "score", "date_depot", "numero_unique")
SENS = ("croissant", "decroissant")
PERIMETRES = ("commune", "epci")
TRAITEMENTS_SOUS_OCCUPATION = ("exclure", "signaler")
ORDRE_EXCEPTIONS = ("DESIGNATION_DALO_PREFET", "LOGEMENT_PLAI_ADAPTE", "CANDIDATS_INSUFFISANTS")
MOTIFS = (
    "NON_EVALUEE", "DOSSIER_INCOMPLET", "NON_RECEVABLE", "PLAFOND_FINANCEMENT", "NON_DESIGNE",
    "TYPOLOGIE_NON_SOUHAITEE", "COMMUNE_NON_SOUHAITEE", "SUR_OCCUPATION", "SOUS_OCCUPATION",
    "ACCESSIBILITE", "DEJA_PROPOSE_SEANCE", "CLASSE_APRES",
)
CODES_DALO = frozenset({"DALO", "DALO_DESIGNE_PREFET"})
# Households above this size are never limited by the surface once the legal cap is reached.
TAILLE_MENAGE_MAX = 99


class ErreurProposition(ValueError):
    """The proposal cannot be made (the French message names the logement or the field)."""


# --------------------------------------------------------------------------- the published policy


@dataclass(frozen=True)
class Critere:
    id: str
    champ: str
    sens: str
    libelle: str
    reference: dict[str, str]
    valeurs: dict[str, str] | None = None
    unite: str | None = None

    def texte(self, valeur: Any) -> str:
        """The value as shown to the commission and the public."""
        if isinstance(valeur, bool) and self.valeurs:
            return self.valeurs["true" if valeur else "false"]
        if isinstance(valeur, dt.date):
            return valeur.strftime("%d/%m/%Y")
        if isinstance(valeur, Decimal | float | int) and not isinstance(valeur, bool):
            nombre = en_json(Decimal(str(valeur)).normalize() if isinstance(valeur, Decimal) else valeur)
            texte = str(nombre).replace(".", ",")
            return f"{texte} {self.unite}" if self.unite else texte
        return str(valeur)


@dataclass(frozen=True)
class Politique:
    titre: str
    criteres: tuple[Critere, ...]
    exceptions: dict[str, dict[str, Any]]
    perimetre_communes: str
    sous_occupation: str
    liste_restreinte: int
    exclus_affiches: int
    motifs: dict[str, dict[str, Any]]


def _exiger(condition: bool, fichier: Path, message: str, *, champ: str, regle: str | None = None) -> None:
    if not condition:
        nom = fichier.as_posix()
        if fichier.is_relative_to(chemin_regles().parent):
            nom = fichier.relative_to(chemin_regles().parent).as_posix()
        raise ErreurRegles(nom, message, regle=regle, champ=champ)


def _reference(brut: Any, fichier: Path, champ: str, regle: str | None) -> dict[str, str]:
    _exiger(isinstance(brut, dict) and set(brut) == {"titre", "lien"} and str(brut.get("lien", "")).startswith("https://"),
            fichier, "référence attendue : `titre` et `lien` (https://)", champ=champ, regle=regle)
    return {"titre": str(brut["titre"]), "lien": str(brut["lien"])}


def fichier_classement() -> Path:
    """rules/propositions/classement.yaml of the rulebook version this process evaluates with."""
    return chemin_regles("propositions", "classement.yaml")


def charger_politique(fichier: Path | None = None) -> Politique:
    """Read and check rules/propositions/classement.yaml (of the active version, or the file `fichier`);
    a defect names the file, the entry and the field."""
    fichier = fichier or fichier_classement()
    brut = charger_yaml(fichier)
    _exiger(isinstance(brut, dict), fichier, "document YAML attendu (mapping)", champ="racine")
    criteres = []
    vus: set[str] = set()
    for i, c in enumerate(brut.get("criteres") or ()):
        cid = c.get("id") if isinstance(c, dict) else None
        _exiger(isinstance(cid, str) and cid not in vus, fichier, "identifiant absent ou en double", champ=f"criteres[{i}].id")
        vus.add(cid)
        _exiger(c.get("champ") in CHAMPS, fichier, f"champ inconnu (attendu : {', '.join(CHAMPS)})", champ="champ", regle=cid)
        _exiger(c.get("sens") in SENS, fichier, "sens attendu : croissant ou decroissant", champ="sens", regle=cid)
        _exiger(isinstance(c.get("libelle"), str) and c["libelle"], fichier, "libellé obligatoire", champ="libelle", regle=cid)
        valeurs = c.get("valeurs")
        if valeurs is not None:
            _exiger(isinstance(valeurs, dict) and set(valeurs) == {"true", "false"}, fichier,
                    "valeurs attendues : \"true\" et \"false\"", champ="valeurs", regle=cid)
        criteres.append(Critere(cid, c["champ"], c["sens"], c["libelle"], _reference(c.get("reference"), fichier, "reference", cid),
                                valeurs, c.get("unite")))
    _exiger(bool(criteres), fichier, "au moins un critère", champ="criteres")
    # The order must be total: the last criterion is unique per demande.
    _exiger(criteres[-1].champ == "numero_unique", fichier, "le dernier critère doit être le numéro unique (ordre total)",
            champ="criteres")
    exceptions = {}
    for i, e in enumerate(brut.get("exceptions") or ()):
        code = e.get("code") if isinstance(e, dict) else None
        _exiger(code in ORDRE_EXCEPTIONS, fichier, f"code d'exception inconnu (attendu : {', '.join(ORDRE_EXCEPTIONS)})",
                champ=f"exceptions[{i}].code")
        _exiger(isinstance(e.get("libelle"), str), fichier, "libellé obligatoire", champ="libelle", regle=code)
        exceptions[code] = {"code": code, "libelle": e["libelle"], "condition": e.get("condition"),
                            "reference": _reference(e.get("reference"), fichier, "reference", code)}
    _exiger(set(exceptions) == set(ORDRE_EXCEPTIONS), fichier, "les trois exceptions de R441-3 sont attendues", champ="exceptions")
    sel = brut.get("selection") or {}
    _exiger(sel.get("perimetre_communes") in PERIMETRES, fichier, "attendu : commune ou epci", champ="selection.perimetre_communes")
    _exiger(sel.get("sous_occupation") in TRAITEMENTS_SOUS_OCCUPATION, fichier, "attendu : exclure ou signaler",
            champ="selection.sous_occupation")
    for cle in ("liste_restreinte", "exclus_affiches"):
        _exiger(isinstance(sel.get(cle), int) and sel[cle] >= 1, fichier, "entier positif attendu", champ=f"selection.{cle}")
    motifs = {}
    for code, m in (brut.get("motifs_exclusion") or {}).items():
        _exiger(code in MOTIFS, fichier, "motif inconnu", champ="motifs_exclusion", regle=code)
        _exiger(isinstance(m, dict) and isinstance(m.get("libelle"), str), fichier, "libellé obligatoire", champ="libelle", regle=code)
        motifs[code] = {"libelle": m["libelle"], "regle": m.get("regle"),
                        "reference": _reference(m["reference"], fichier, "reference", code) if "reference" in m else None}
    _exiger(set(motifs) == set(MOTIFS), fichier, f"motifs attendus : {', '.join(MOTIFS)}", champ="motifs_exclusion")
    return Politique(
        titre=str(brut.get("titre") or ""),
        criteres=tuple(criteres),
        exceptions=exceptions,
        perimetre_communes=sel["perimetre_communes"],
        sous_occupation=sel["sous_occupation"],
        liste_restreinte=sel["liste_restreinte"],
        exclus_affiches=sel["exclus_affiches"],
        motifs=motifs,
    )


def politique() -> Politique:
    """The published ranking of the active version (cached per file: an activation changes the file)."""
    return _politique(fichier_classement())


@lru_cache(maxsize=4)
def _politique(fichier: Path) -> Politique:
    return charger_politique(fichier)


def criteres_publies() -> dict[str, Any]:
    """The ranking as published to the commission, the applicants and the public notice (French labels)."""
    p = politique()
    return {
        "titre": p.titre,
        "criteres": [
            {"rang": i, "id": c.id, "libelle": c.libelle, "ordre": "décroissant" if c.sens == "decroissant" else "croissant",
             "reference": c.reference}
            for i, c in enumerate(p.criteres, start=1)
        ],
        "exceptions": [p.exceptions[code] for code in ORDRE_EXCEPTIONS],
        "selection": {
            "perimetre_communes": p.perimetre_communes,
            "sous_occupation": p.sous_occupation,
        },
        "version_regles": version_regles(),
    }


# --------------------------------------------------------------------------- the pool


def orientation_du_logement(session: Session, logement_id: int) -> OrientationFlux | None:
    """The current vacancy's orientation (webapp.services.flux once it is there)."""
    try:
        from .flux import orientation_en_cours
    except ImportError:
        return session.scalars(
            select(OrientationFlux)
            .where(OrientationFlux.logement_id == logement_id, OrientationFlux.statut != StatutOrientation.CLOSE)
            .order_by(OrientationFlux.date_orientation.desc(), OrientationFlux.id.desc())
            .limit(1)
        ).first()
    return orientation_en_cours(session, logement_id)


@dataclass(frozen=True)
class Vivier:
    code: str  # toutes_demandes | designations | designations_et_prioritaires
    explication: str
    designes: dict[int, int]  # demande_id → rang of the designation
    prioritaires_labellises: bool

    @property
    def restreint(self) -> bool:
        return self.code != "toutes_demandes"


def vivier(orientation: OrientationFlux | None) -> Vivier:
    tous = "toutes_demandes"
    if orientation is None:
        return Vivier(tous, "Aucune orientation en cours : le logement relève du bailleur, toutes les demandes actives.", {}, False)
    statut = StatutOrientation(orientation.statut)
    if statut == StatutOrientation.RESTITUEE:
        quand = f" le {orientation.date_restitution.strftime('%d/%m/%Y')}" if orientation.date_restitution else ""
        return Vivier(tous, f"Logement restitué au bailleur{quand} faute de désignation dans le délai : toutes les demandes actives.", {}, False)
    if statut == StatutOrientation.HORS_FLUX:
        motif = f" ({orientation.motif_exclusion})" if orientation.motif_exclusion else ""
        return Vivier(tous, f"Logement hors du flux{motif} : toutes les demandes actives, au choix du bailleur.", {}, False)
    reservataire = orientation.reservataire
    if reservataire is None or TypeReservataire(reservataire.type) == TypeReservataire.BAILLEUR:
        return Vivier(tous, "Logement orienté vers la part propre du bailleur : toutes les demandes actives.", {}, False)
    designes = {d.demande_id: d.rang for d in orientation.designations}
    attente = ""
    if statut == StatutOrientation.EN_ATTENTE and orientation.date_limite_designation:
        attente = f" ; désignations attendues jusqu'au {orientation.date_limite_designation.strftime('%d/%m/%Y')}"
    if TypeReservataire(reservataire.type) == TypeReservataire.ETAT_PRIORITAIRES:
        return Vivier(
            "designations_et_prioritaires",
            f"Logement orienté vers le contingent préfectoral ({reservataire.nom}) : candidats désignés ({len(designes)}) "
            f"et ménages prioritaires labellisés (DALO, PDALHPD, SIAO, situation prioritaire vérifiée){attente}.",
            designes,
            True,
        )
    return Vivier(
        "designations",
        f"Logement orienté vers le réservataire {reservataire.nom} : ses candidats désignés ({len(designes)}){attente}.",
        designes,
        False,
    )


# --------------------------------------------------------------------------- pre-selection


@dataclass(frozen=True)
class Cible:
    """The dwelling as the pre-selection and the engine see it."""

    logement: Logement
    dict_moteur: dict[str, Any]
    commune: str
    epci: str | None
    zone: str
    nb_max_surface: int | None  # None: no household is too large for the surface
    nb_min_pieces: int  # fewer persons than this sous-occupy the dwelling


def _cible(logement: Logement, date: dt.date) -> Cible:
    residence = logement.residence
    p = parametres_a_la_date(date)
    surface = Decimal(logement.surface_habitable)
    # Largest household whose minimum surface the dwelling meets (L822-10; D542-14 CSS).
    nb_max: int | None = 0
    precedente = None
    for n in range(1, TAILLE_MENAGE_MAX + 1):
        minimum = surface_minimale(n, p)
        if minimum > surface:
            break
        nb_max = n
        if minimum == precedente and n > 2:
            nb_max = None  # the minimum no longer grows: any larger household fits as well
            break
        precedente = minimum
    en_sus = p.valeur("adequation.sous_occupation.pieces_en_sus_des_personnes")
    dict_moteur = {
        "commune_insee": residence.code_insee,
        "qpv": residence.qpv_code,
        "financement": str(logement.financement),
        "plai_adapte": bool(logement.plai_adapte),
        "typologie": str(logement.typologie),
        "nb_pieces": logement.nb_pieces,
        "surface_habitable": surface,
        "etage": logement.etage,
        "ascenseur": bool(logement.ascenseur),
        "accessible_pmr": bool(logement.accessible_pmr),
        "loyer_principal": logement.loyer_principal,
        "loyer_annexes": logement.loyer_annexes,
        "charges_recuperables": logement.charges_recuperables,
        "contribution_travaux": logement.contribution_travaux,
    }
    return Cible(
        logement=logement,
        dict_moteur=dict_moteur,
        commune=residence.code_insee,
        epci=charger_territoire().epci(residence.code_insee),
        zone=zone_plafonds(residence.code_insee, p),
        nb_max_surface=nb_max,
        nb_min_pieces=logement.nb_pieces - en_sus,
    )


ELIGIBLE = {"PLAI": EvaluationDemande.eligible_plai, "PLUS": EvaluationDemande.eligible_plus, "PLS": EvaluationDemande.eligible_pls}


def _souhaits(cible: Cible, pol: Politique):
    """The wished communes that match the dwelling, with the ranking key in its territory.

    Commune perimeter: the rows of the dwelling's commune, read in the order of the index
    ix_souhait_commune_classement. EPCI perimeter: one row per demande (its best row in the EPCI).
    """
    if pol.perimetre_communes == "commune" or cible.epci is None:
        return SouhaitCommune
    meilleur = (
        select(SouhaitCommune.demande_id, func.max(SouhaitCommune.score).label("score"),
               func.max(SouhaitCommune.code_insee).label("code_insee"))
        .where(or_(SouhaitCommune.code_insee == cible.commune, SouhaitCommune.epci == cible.epci))
        .group_by(SouhaitCommune.demande_id)
        .subquery("sc")
    )
    return meilleur


def requete_preselection(
    cible: Cible, pol: Politique, viv: Vivier, seance_id: int | None, exclus_ids: Sequence[int] = ()
) -> Select:
    """Every condition the stored evaluation and wishes can answer, in SQL, in the published order."""
    logement = cible.logement
    sc = _souhaits(cible, pol)
    par_commune = sc is SouhaitCommune
    sc_demande = SouhaitCommune.demande_id if par_commune else sc.c.demande_id
    score = SouhaitCommune.score if par_commune else func.coalesce(sc.c.score, 0)
    financement = str(logement.financement)
    eligible = ELIGIBLE.get(financement)
    if eligible is None:
        raise ErreurProposition(f"Logement {logement.id} : financement {financement} sans plafonds chargés dans le référentiel.")
    conditions = [
        Demande.statut == StatutDemande.ACTIVE,
        EvaluationDemande.recevable.is_(true()),
        # The stored flags hold for the zone of the first wished commune; elsewhere the dwelling's
        # evaluation decides (never a false exclusion).
        or_(eligible.is_(true()), EvaluationDemande.zone.is_(None), EvaluationDemande.zone != cible.zone),
        exists().where(SouhaitTypologie.demande_id == EvaluationDemande.demande_id,
                       SouhaitTypologie.typologie == str(logement.typologie)),
    ]
    if cible.nb_max_surface is not None:
        conditions.append(EvaluationDemande.nb_personnes_surface <= cible.nb_max_surface)
    if pol.sous_occupation == "exclure":
        conditions.append(EvaluationDemande.nb_personnes_surface >= cible.nb_min_pieces)
    if not logement.accessible_pmr:
        conditions.append(Demande.besoin_pmr.is_(false()))
    if seance_id is not None:
        conditions.append(~exists().where(
            Candidature.seance_id == seance_id,
            Candidature.demande_id == EvaluationDemande.demande_id,
            Candidature.logement_id != logement.id,
        ))
    if viv.restreint:
        dans_vivier = [EvaluationDemande.demande_id.in_(sorted(viv.designes))] if viv.designes else []
        if viv.prioritaires_labellises:
            dans_vivier.append(EvaluationDemande.prioritaire_labellise.is_(true()))
        conditions.append(or_(*dans_vivier) if dans_vivier else false())
    if exclus_ids:
        conditions.append(EvaluationDemande.demande_id.not_in(list(exclus_ids)))
    if par_commune:
        # The ranking key copied on the wished commune: the index gives the rows in this order.
        conditions.append(SouhaitCommune.code_insee == cible.commune)
        colonnes = {
            "dalo_designe": SouhaitCommune.dalo_designe, "dalo": SouhaitCommune.dalo,
            "prioritaire": SouhaitCommune.prioritaire, "score": SouhaitCommune.score,
            "date_depot": SouhaitCommune.date_depot, "numero_unique": SouhaitCommune.numero_unique,
        }
    else:
        colonnes = {
            "dalo_designe": EvaluationDemande.dalo_designe, "dalo": EvaluationDemande.dalo,
            "prioritaire": EvaluationDemande.prioritaire, "score": score,
            "date_depot": Demande.date_depot, "numero_unique": Demande.numero_unique,
        }
    ordre = [colonnes[c.champ].desc() if c.sens == "decroissant" else colonnes[c.champ].asc() for c in pol.criteres]
    depart = SouhaitCommune if par_commune else sc
    return (
        select(EvaluationDemande.demande_id, Demande.numero_unique, score.label("score_territoire"),
               EvaluationDemande.version_regles, EvaluationDemande.date_evaluation)
        .select_from(depart)
        .join(EvaluationDemande, EvaluationDemande.demande_id == sc_demande)
        .join(Demande, Demande.id == EvaluationDemande.demande_id)
        .where(and_(*conditions))
        .order_by(*ordre)
    )


# --------------------------------------------------------------------------- ranking


def _valeurs(candidat: Mapping[str, Any]) -> dict[str, Any]:
    return {c: candidat[c] for c in CHAMPS}


def comparer(pol: Politique) -> Callable[[Mapping[str, Any], Mapping[str, Any]], int]:
    """Lexicographic comparison on the published criteria (negative: `a` ranks first)."""

    def cmp(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
        for c in pol.criteres:
            x, y = a[c.champ], b[c.champ]
            if x != y:
                avant = x > y if c.sens == "decroissant" else x < y
                return -1 if avant else 1
        return 0

    return cmp


def pourquoi_devant(pol: Politique, a: Mapping[str, Any], b: Mapping[str, Any], rang_b: int | str) -> dict[str, Any] | None:
    """The first criterion on which `a` beats `b`, in French, with both values."""
    for c in pol.criteres:
        x, y = a[c.champ], b[c.champ]
        if x != y:
            return {
                "critere": c.id,
                "texte": f"Devant le {rang_b} : {c.libelle} — {c.texte(x)} contre {c.texte(y)}.",
                "valeur": en_json(x),
                "valeur_suivant": en_json(y),
            }
    return None


# --------------------------------------------------------------------------- proposer


def _impacts_quotas(session: Session, logement_id: int, demande_ids: list[int], date: dt.date) -> dict[int, Any]:
    """How each indicator would move per candidate (webapp.services.quotas); None for each when absent."""
    try:
        from . import quotas
    except ImportError:
        return dict.fromkeys(demande_ids)
    if not demande_ids:
        return {}
    if hasattr(quotas, "impacts"):  # one reading of the year's attributions for every candidate
        return quotas.impacts(session, logement_id, demande_ids, date)
    return {i: quotas.impact(session, logement_id, i, date) for i in demande_ids}


def _aides(estimateur: Any, session: Session, lot: list[tuple[int, dict[str, Any]]], cible: Cible, date: dt.date) -> list[AideLogement | None]:
    """Housing aid of each shortlisted household in this dwelling: OpenFisca in one batch, else declared, else none."""
    if estimateur is None:
        return [None] * len(lot)  # the engine falls back to the declared amount, else none
    aides: list[AideLogement | None] = []
    for apl in estimateur.estimer(session, [(dossier, cible.dict_moteur) for _, dossier in lot], date):
        aides.append(None if apl.montant is None else AideLogement(Decimal(apl.montant), apl.source))
    return aides


def _candidat(demande_id: int, dossier: Mapping[str, Any], r: Mapping[str, Any], designes: Mapping[int, int]) -> dict[str, Any]:
    a = r["adequation"]
    cotation = r.get("cotation") or {}
    score = Decimal(str(cotation.get("score") or 0))
    return {
        "demande_id": demande_id,
        "numero_unique": dossier["numero_unique"],
        "dalo_designe": bool(r["designation_prefet"]),
        "dalo": bool(r["dalo"]),
        "prioritaire": any(p["code"] not in CODES_DALO for p in r["priorites"]),
        "score": score,
        "date_depot": dossier["date_depot"],
        "_r": r,
        "_designation": designes.get(demande_id),
        "_a": a,
    }


def _sortie_candidat(c: Mapping[str, Any], rang: int) -> dict[str, Any]:
    r, a = c["_r"], c["_a"]
    cotation = r.get("cotation") or {}
    return {
        "rang": rang,
        "numero_unique": c["numero_unique"],
        "demande_id": c["demande_id"],
        "score": en_json(c["score"]),
        "cotation": {"grille": cotation.get("grille"), "detail": cotation.get("detail") or [],
                     "avertissement": cotation.get("avertissement")},
        "taux_effort": a["taux_effort"],
        "reste_a_vivre_par_uc_jour": a["reste_a_vivre_par_uc_jour"],
        "apl": a["apl"],
        "source_apl": a["source_apl"],
        "cout_mensuel": a.get("cout_mensuel"),
        "cout_net_mensuel": a.get("cout_net_mensuel"),
        "priorites": [{"code": p["code"], "libelle": p["libelle"]} for p in r["priorites"]],
        "dalo": c["dalo"],
        "dalo_designe_prefet": c["dalo_designe"],
        "logement_d_abord": r["logement_d_abord"],
        "quartile": r["ressources"]["quartile"],
        "nb_personnes": r["menage"]["nb_personnes"],
        "date_depot": c["date_depot"].isoformat(),
        "designation_reservataire": c["_designation"],
        "alertes": list(a.get("alertes") or []),
        "sous_occupation": a["sous_occupation"],
        "valeurs_classement": {k: en_json(v) for k, v in _valeurs(c).items()},
    }


def _motif_avec_logement(r: Mapping[str, Any], pol: Politique) -> tuple[str, str] | None:
    """Why the dwelling's own evaluation sets a pre-selected demande aside (None: it stays)."""
    a = r["adequation"]
    if a["plafond_respecte"] is False:
        return "PLAFOND_FINANCEMENT", (f"revenu retenu {r['ressources']['revenu_retenu']} € pour un plafond "
                                       f"{a['financement']} de {a['plafond']} € (zone du logement)")
    if r["recevable"] is False:
        return "NON_RECEVABLE", "motifs : " + ", ".join(r["motifs_irrecevabilite"])
    if r["recevable"] is None:
        return "DOSSIER_INCOMPLET", "pièces manquantes : " + ", ".join(r["pieces_manquantes"])
    if a["sur_occupation"]:
        return "SUR_OCCUPATION", f"surface minimale {a['surface_minimale']} m²"
    if a["sous_occupation"] and pol.sous_occupation == "exclure":
        return "SOUS_OCCUPATION", "pièces au-delà du nombre de personnes + 1"
    return None


def proposer(
    session: Session,
    logement_id: int,
    date: dt.date,
    *,
    seance_id: int | None = None,
    estimateur: Any = None,
    moteur: str = "durable",
    mesures: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The candidates for a dwelling at `date` (the séance's date); see the module doc. `mesures`, when
    given, receives the timings (kept out of the result so that the result stays deterministic)."""
    t0 = time.perf_counter()
    pol = politique()
    p = parametres_a_la_date(date).suivi()
    minimum = p.valeur("propositions.nombre_minimal_candidats")
    logement = session.scalars(
        select(Logement).where(Logement.id == logement_id).options(joinedload(Logement.residence))
    ).one_or_none()
    if logement is None:
        raise ErreurProposition(f"Logement {logement_id} introuvable.")
    cible = _cible(logement, date)
    orientation = orientation_du_logement(session, logement_id)
    viv = vivier(orientation)
    avertissements: list[str] = []
    if (orientation is not None and viv.restreint and StatutOrientation(orientation.statut) == StatutOrientation.EN_ATTENTE
            and orientation.date_limite_designation is not None and orientation.date_limite_designation >= date):
        avertissements.append(
            f"Désignations du réservataire attendues jusqu'au {orientation.date_limite_designation.strftime('%d/%m/%Y')} : "
            "la liste est à reprendre à réception des désignations ou après restitution du logement au bailleur.")
    if StatutLogement(logement.statut) != StatutLogement.VACANT:
        avertissements.append("Le logement n'est pas déclaré vacant au patrimoine.")
    version = version_regles()

    # Pre-selection (SQL) then evaluation of the shortlist with the dwelling, round after round.
    cmp = comparer(pol)
    retenus: list[dict[str, Any]] = []
    ecartes: dict[int, tuple[str, str]] = {}
    vus: list[int] = []
    duree_sql = duree_eval = 0.0
    suivants: list[dict[str, Any]] = []
    perimees = 0
    requete = requete_preselection(cible, pol, viv, seance_id)
    decalage = 0
    while True:
        t = time.perf_counter()
        lignes = session.execute(requete.offset(decalage).limit(pol.liste_restreinte)).all()
        duree_sql += time.perf_counter() - t
        if not lignes:
            break
        decalage += len(lignes)
        t = time.perf_counter()
        perimees += sum(1 for x in lignes if x.version_regles != version or x.date_evaluation != date)
        lot = _charger_dossiers(session, [x.demande_id for x in lignes])
        aides = _aides(estimateur, session, lot, cible, date)
        for (demande_id, dossier), aide in zip(lot, aides, strict=True):
            vus.append(demande_id)
            r = evaluer(dossier, cible.dict_moteur, date, aide, moteur=moteur, trace=False)
            motif = _motif_avec_logement(r, pol)
            if motif is not None:
                ecartes[demande_id] = motif
                continue
            retenus.append(_candidat(demande_id, dossier, r, viv.designes))
        duree_eval += time.perf_counter() - t
        if len(retenus) > minimum or len(lignes) < pol.liste_restreinte:
            break
    retenus.sort(key=functools.cmp_to_key(cmp))
    proposes, suivants = retenus[:minimum], retenus[minimum:]

    candidats = [_sortie_candidat(c, rang) for rang, c in enumerate(proposes, start=1)]
    tq = time.perf_counter()
    impacts = _impacts_quotas(session, logement_id, [c["demande_id"] for c in proposes], date)
    duree_quotas = time.perf_counter() - tq
    for i, c in enumerate(candidats):
        if i + 1 < len(proposes):
            c["pourquoi_devant"] = pourquoi_devant(pol, proposes[i], proposes[i + 1], f"rang {i + 2}")
        elif suivants:
            c["pourquoi_devant"] = pourquoi_devant(
                pol, proposes[i], suivants[0], f"premier demandeur non proposé ({suivants[0]['numero_unique']})")
        else:
            c["pourquoi_devant"] = None
        c["impact_quotas"] = impacts[c["demande_id"]]
    if candidats and candidats[0]["impact_quotas"] is None:
        avertissements.append("Aperçu de l'effet sur les objectifs d'attribution indisponible (module des quotas absent).")
    if perimees:
        avertissements.append(
            f"{perimees} évaluation(s) présélectionnée(s) calculée(s) à une autre date ou avec une autre version du "
            "référentiel : lancer « caleol evaluations recalculer »."
        )

    exception = None
    if len(candidats) < minimum:
        if any(c["dalo_designe"] for c in proposes):
            code = "DESIGNATION_DALO_PREFET"
        elif logement.plai_adapte:
            code = "LOGEMENT_PLAI_ADAPTE"
        else:
            code = "CANDIDATS_INSUFFISANTS"
        exception = dict(pol.exceptions[code])
        exception["nombre_candidats"] = len(candidats)

    t = time.perf_counter()
    exclus = _exclus(session, cible, pol, viv, seance_id, [c["demande_id"] for c in proposes],
                     {c["demande_id"]: i for i, c in enumerate(suivants, start=len(proposes) + 1)}, ecartes)
    duree_sql += time.perf_counter() - t
    if mesures is not None:
        mesures.update(preselection_ms=duree_sql * 1000, evaluation_ms=duree_eval * 1000,
                       quotas_ms=duree_quotas * 1000,
                       total_ms=(time.perf_counter() - t0) * 1000, evaluees=len(vus))

    residence = logement.residence
    return {
        "logement": {
            "id": logement.id,
            "reference": logement.reference,
            "residence": residence.nom,
            "commune_insee": cible.commune,
            "epci": cible.epci,
            "qpv": residence.qpv_code,
            "typologie": str(logement.typologie),
            "nb_pieces": logement.nb_pieces,
            "surface_habitable": en_json(logement.surface_habitable),
            "financement": str(logement.financement),
            "plai_adapte": bool(logement.plai_adapte),
            "accessible_pmr": bool(logement.accessible_pmr),
            "statut": str(logement.statut),
        },
        "date": date.isoformat(),
        "version_regles": version,
        "seance_id": seance_id,
        "orientation": None if orientation is None else {
            "id": orientation.id,
            "statut": str(orientation.statut),
            "reservataire": None if orientation.reservataire is None else {
                "id": orientation.reservataire.id, "nom": orientation.reservataire.nom, "type": str(orientation.reservataire.type)},
            "date_limite_designation": en_json(orientation.date_limite_designation),
        },
        "vivier": {"code": viv.code, "explication": viv.explication},
        "classement": [c.id for c in pol.criteres],
        "nombre_minimal": minimum,
        "candidats": candidats,
        "exception": exception,
        "exclus": exclus,
        "parametres_a_verifier": list(p.a_verifier_utilises),
        "avertissements": avertissements,
    }


# --------------------------------------------------------------------------- excluded demandes


def _exclus(
    session: Session,
    cible: Cible,
    pol: Politique,
    viv: Vivier,
    seance_id: int | None,
    proposes: Sequence[int],
    suivants: Mapping[int, int],
    ecartes: Mapping[int, tuple[str, str]],
) -> list[dict[str, Any]]:
    """The best-scored demandes of the dwelling's territory not proposed, and every designated one not
    proposed, each with the first reason that sets it aside (the order of rules/propositions/classement.yaml)."""
    # The demandes that wished a commune of the dwelling's territory (its EPCI, else its commune),
    # best score there first: one index walk (ix_souhait_commune_epci_score), a demande wishing
    # several communes of the EPCI appears once.
    territoire = SouhaitCommune.epci == cible.epci if cible.epci else SouhaitCommune.code_insee == cible.commune
    meilleurs: list[int] = []
    scores: dict[int, Any] = {}
    decalage, pas = 0, pol.exclus_affiches * 4
    while len(meilleurs) < pol.exclus_affiches:
        lot = session.execute(
            select(SouhaitCommune.demande_id, SouhaitCommune.score)
            .join(Demande, Demande.id == SouhaitCommune.demande_id)
            .where(territoire, Demande.statut == StatutDemande.ACTIVE,
                   SouhaitCommune.demande_id.not_in(list(proposes) or [-1]))
            .order_by(SouhaitCommune.score.desc(), SouhaitCommune.date_depot.asc(), SouhaitCommune.numero_unique.asc())
            .offset(decalage).limit(pas)
        ).all()
        for i, score in lot:
            if i not in meilleurs and len(meilleurs) < pol.exclus_affiches:
                meilleurs.append(i)
                scores[i] = score
        if len(lot) < pas:
            break
        decalage += pas
    base = (
        select(EvaluationDemande, Demande.numero_unique, Demande.date_depot, Demande.besoin_pmr)
        .join(Demande, Demande.id == EvaluationDemande.demande_id)
        .where(Demande.statut == StatutDemande.ACTIVE)
    )
    par_id = {x[0].demande_id: x for x in session.execute(base.where(EvaluationDemande.demande_id.in_(meilleurs))).all()} if meilleurs else {}
    lignes = [par_id[i] for i in meilleurs if i in par_id]
    designes_hors = [i for i in sorted(viv.designes) if i not in proposes and i not in {x[0].demande_id for x in lignes}]
    if designes_hors:
        lignes += list(session.execute(
            base.where(EvaluationDemande.demande_id.in_(designes_hors)).order_by(Demande.numero_unique)).all())
    if not lignes:
        return []
    ids = [x[0].demande_id for x in lignes]
    typologies: dict[int, list[str]] = {}
    for i, t in session.execute(select(SouhaitTypologie.demande_id, SouhaitTypologie.typologie)
                                .where(SouhaitTypologie.demande_id.in_(ids)).order_by(SouhaitTypologie.typologie)):
        typologies.setdefault(i, []).append(t)
    communes: dict[int, list[tuple[str, str | None]]] = {}
    for i, c, e in session.execute(select(SouhaitCommune.demande_id, SouhaitCommune.code_insee, SouhaitCommune.epci)
                                   .where(SouhaitCommune.demande_id.in_(ids)).order_by(SouhaitCommune.code_insee)):
        communes.setdefault(i, []).append((c, e))
    en_seance: set[int] = set()
    if seance_id is not None:
        en_seance = set(session.scalars(select(Candidature.demande_id).where(
            Candidature.seance_id == seance_id, Candidature.demande_id.in_(ids), Candidature.logement_id != cible.logement.id)))
    sortie = []
    for ev, numero, depot, besoin_pmr in lignes:
        code, detail = _motif_exclusion(ev, besoin_pmr, cible, pol, viv, typologies.get(ev.demande_id, []),
                                        communes.get(ev.demande_id, []), ev.demande_id in en_seance,
                                        suivants.get(ev.demande_id), ecartes.get(ev.demande_id))
        motif = pol.motifs[code]
        regles = [motif["regle"]] if motif["regle"] else []
        if code in ("NON_RECEVABLE", "DOSSIER_INCOMPLET"):
            regles = [r for r in ev.regles_appliquees if r.startswith("recevabilite.")]
        sortie.append({
            "numero_unique": numero,
            "demande_id": ev.demande_id,
            "score": en_json(scores.get(ev.demande_id, ev.score)),
            "date_depot": depot.isoformat(),
            "designe_par_reservataire": ev.demande_id in viv.designes,
            "motif": code,
            "libelle": motif["libelle"],
            "regles": regles,
            "reference": motif["reference"],
            "detail": detail,
        })
    return sortie


def _motif_exclusion(
    ev: EvaluationDemande,
    besoin_pmr: bool,
    cible: Cible,
    pol: Politique,
    viv: Vivier,
    typologies: list[str],
    communes: list[tuple[str, str | None]],
    en_seance: bool,
    rang_suivant: int | None,
    ecarte: tuple[str, str] | None,
) -> tuple[str, str]:
    """The same conditions as the pre-selection, in the published order, on the stored values."""
    logement = cible.logement
    financement = str(logement.financement)
    if not ev.complet:
        return "DOSSIER_INCOMPLET", "pièces manquantes : " + ", ".join(ev.motifs_irrecevabilite or [])
    if not ev.recevable:
        return "NON_RECEVABLE", "motifs : " + ", ".join(ev.motifs_irrecevabilite or [])
    eligible = {"PLAI": ev.eligible_plai, "PLUS": ev.eligible_plus, "PLS": ev.eligible_pls}.get(financement)
    if ev.zone == cible.zone and eligible is False:
        return "PLAFOND_FINANCEMENT", f"revenu retenu {en_json(ev.revenu_retenu)} € au-dessus du plafond {financement}"
    if viv.restreint and ev.demande_id not in viv.designes and not (viv.prioritaires_labellises and ev.prioritaire_labellise):
        return "NON_DESIGNE", viv.explication
    if str(logement.typologie) not in typologies:
        return "TYPOLOGIE_NON_SOUHAITEE", f"typologies souhaitées : {', '.join(typologies) or 'aucune'} ; logement : {logement.typologie}"
    codes = [c for c, _ in communes]
    dans_perimetre = cible.commune in codes or (
        pol.perimetre_communes == "epci" and cible.epci is not None and any(e == cible.epci for _, e in communes))
    if not dans_perimetre:
        return "COMMUNE_NON_SOUHAITEE", f"communes souhaitées : {', '.join(codes) or 'aucune'} ; logement : {cible.commune}"
    if cible.nb_max_surface is not None and ev.nb_personnes_surface > cible.nb_max_surface:
        return "SUR_OCCUPATION", (f"{ev.nb_personnes_surface} personne(s) pour {en_json(logement.surface_habitable)} m² "
                                  f"(au plus {cible.nb_max_surface} personne(s))")
    if pol.sous_occupation == "exclure" and ev.nb_personnes_surface < cible.nb_min_pieces:
        return "SOUS_OCCUPATION", f"{ev.nb_personnes_surface} personne(s) pour {logement.nb_pieces} pièce(s)"
    if besoin_pmr and not logement.accessible_pmr:
        return "ACCESSIBILITE", "besoin d'un logement accessible ; logement non accessible"
    if en_seance:
        return "DEJA_PROPOSE_SEANCE", "candidat pour un autre logement de la séance"
    if ecarte is not None:
        return ecarte
    if rang_suivant is not None:
        return "CLASSE_APRES", f"classé {rang_suivant}e après évaluation avec le logement"
    return "CLASSE_APRES", "remplit les conditions, classé après les candidats proposés"
