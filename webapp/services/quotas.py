"""Quotas, live (L441-1 CCH, DOMAIN.md §4 and §10): the year's attribution objectives of an EPCI, and
how each of them would move if a candidate got a dwelling.

What counts: attributions followed by a signed lease, in the calendar year of the signature (the SNE
strikes the demande off « pour attribution » on that date), up to the date asked. The facts of each
attribution (quartile, priority, DALO, Logement d'abord, ANRU rehousing) are those recorded at
decision time in `Attribution.indicateurs`; failing that, the demande's persisted evaluation. Whether
the dwelling is in a QPV comes from its résidence. Targets are read in rules/ (quotas.yaml, and the
local Logement d'abord objective in rules/flux/parametres/objectifs.yaml); none is written here.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

# The quartile of a household for an EPCI is the engine's (same thresholds, same bound rule).
from engine.derivations import _quartile, euros, seuils_quartile
from engine.parametres import Parametres, parametres_a_la_date
from engine.version import version_regles

from ..models import (
    Attribution,
    Commune,
    ConventionReservation,
    Demande,
    Epci,
    EvaluationDemande,
    Logement,
    OrientationFlux,
    Reservataire,
    Residence,
    TypeReservataire,
)
from .flux import BAILLEUR, cle_reservataire, couvertures, couvre, designe_par_bailleur, objectif_logement_d_abord, orientation_en_cours

TYPES_ETAT = (TypeReservataire.ETAT_PRIORITAIRES.value, TypeReservataire.ETAT_FONCTIONNAIRES.value)
MINIMUM, MAXIMUM = "minimum", "maximum"


class ErreurQuotas(ValueError):
    """Refused request (unknown EPCI, logement or demande); `erreurs` maps the field to its messages."""

    def __init__(self, message: str, champ: str = "_general") -> None:
        self.erreurs = {champ: [message]}
        super().__init__(message)


@dataclass(frozen=True)
class FaitsAttribution:
    """What one attribution (real or hypothetical) brings to the indicators."""

    en_qpv: bool
    quartile: int | None
    anru: bool
    prioritaire: bool
    dalo: bool
    logement_d_abord: bool
    cle: str  # "bailleur" or "r<id>"
    type_reservataire: str
    hors_flux: bool
    renseigne: bool = True


@dataclass(frozen=True)
class Contexte:
    epci: str
    nom_epci: str
    annee: int
    date: dt.date
    parametres: Parametres
    soumis_quartiles: bool
    reservataires: dict[str, tuple[str, str]]  # key → (name, type), other than the État
    objectif_lda: int | None


def _date_parametres(annee: int, date: dt.date) -> dt.date:
    """The parameters of the year: those in force at `date`, or on 31 December for a past year."""
    if date.year == annee:
        return date
    return dt.date(annee, 12, 31) if date.year > annee else dt.date(annee, 1, 1)


def _booleen(valeur: Any) -> bool:
    return bool(valeur) if valeur is not None else False


def faits_depuis_indicateurs(indicateurs: dict[str, Any]) -> dict[str, Any]:
    """Facts recorded at decision time. Logement d'abord = sortant d'hébergement or sans-abri."""
    lda = indicateurs.get("logement_d_abord")
    if lda is None:
        lda = _booleen(indicateurs.get("sortant_hebergement")) or _booleen(indicateurs.get("sans_abri"))
    quartile = indicateurs.get("quartile")
    return {
        "quartile": int(quartile) if quartile is not None else None,
        "anru": _booleen(indicateurs.get("anru")) or _booleen(indicateurs.get("orcod")),
        "prioritaire": _booleen(indicateurs.get("prioritaire")),
        "dalo": _booleen(indicateurs.get("dalo")),
        "logement_d_abord": bool(lda),
    }


def _contexte(session: Session, epci: str, annee: int, date: dt.date) -> Contexte:
    ligne = session.get(Epci, epci)
    if ligne is None:
        raise ErreurQuotas(f"EPCI {epci} inconnu du référentiel territorial (SIREN à 9 chiffres attendu).", "epci")
    p = parametres_a_la_date(_date_parametres(annee, date)).suivi()
    soumis = seuils_quartile(epci, p) is not None
    reservataires: dict[str, tuple[str, str]] = {}
    # Every réservataire other than the État with a convention covering the EPCI or an attribution there.
    departements = set(session.scalars(select(Commune.departement).where(Commune.epci_siren == epci)))
    for c, r in session.execute(
        select(ConventionReservation, Reservataire).join(Reservataire, Reservataire.id == ConventionReservation.reservataire_id)
        .where(ConventionReservation.annee == annee)
    ):
        if any(couvre(c.territoire, d, epci) for d in departements):
            type_ = TypeReservataire(r.type).value
            if type_ not in TYPES_ETAT:
                cle = cle_reservataire(r.id, r.type)
                reservataires[cle] = (r.nom if cle != BAILLEUR else "Bailleur (hors contingent)", type_)
    reservataires.setdefault(BAILLEUR, ("Bailleur (hors contingent)", BAILLEUR))
    return Contexte(epci, ligne.nom, annee, date, p, soumis, reservataires, objectif_logement_d_abord(epci, _date_parametres(annee, date)))


def attributions_signees(session: Session, epci: str, annee: int, date: dt.date) -> list[FaitsAttribution]:
    """Attributions on the EPCI whose lease was signed in `annee` on or before `date`, with their facts."""
    debut = dt.date(annee, 1, 1)
    fin = min(dt.date(annee, 12, 31), date)
    if fin < debut:
        return []
    lignes = session.execute(
        select(Attribution.id, Attribution.logement_id, Attribution.demande_id, Attribution.date_decision,
               Attribution.reservataire_id, Reservataire.type, Attribution.indicateurs, Residence.qpv_code)
        .join(Logement, Logement.id == Attribution.logement_id)
        .join(Residence, Residence.id == Logement.residence_id)
        .join(Commune, Commune.code_insee == Residence.code_insee)
        .outerjoin(Reservataire, Reservataire.id == Attribution.reservataire_id)
        .where(Commune.epci_siren == epci, Attribution.date_signature_bail.between(debut, fin))
        .order_by(Attribution.id)
    ).all()
    if not lignes:
        return []
    logements = sorted({x.logement_id for x in lignes})
    orientations = []
    for i in range(0, len(logements), 900):
        orientations.extend(session.execute(
            select(OrientationFlux.id, OrientationFlux.logement_id, OrientationFlux.date_orientation, OrientationFlux.motif_exclusion)
            .where(OrientationFlux.logement_id.in_(logements[i:i + 900]))
        ).all())
    exclues = {o.id for o in orientations if o.motif_exclusion is not None}
    couverture = couvertures([(o.id, o.logement_id, o.date_orientation) for o in orientations],
                             [(x.id, x.logement_id, x.date_decision) for x in lignes])
    sans_indicateurs = [x.demande_id for x in lignes if not x.indicateurs]
    evaluations: dict[int, EvaluationDemande] = {}
    anru: dict[int, bool] = {}
    for i in range(0, len(sans_indicateurs), 900):
        morceau = sans_indicateurs[i:i + 900]
        evaluations.update((e.demande_id, e) for e in session.scalars(
            select(EvaluationDemande).where(EvaluationDemande.demande_id.in_(morceau))))
        anru.update(session.execute(select(Demande.id, Demande.relogement_anru).where(Demande.id.in_(morceau))).all())
    resultat = []
    for x in lignes:
        cle = cle_reservataire(x.reservataire_id, x.type)
        commun = {
            "en_qpv": x.qpv_code is not None,
            "cle": cle,
            "type_reservataire": BAILLEUR if cle == BAILLEUR else TypeReservataire(x.type).value,
            "hors_flux": couverture.get(x.id) in exclues,
        }
        if x.indicateurs:
            resultat.append(FaitsAttribution(**commun, **faits_depuis_indicateurs(x.indicateurs)))
        elif x.demande_id in evaluations:
            e = evaluations[x.demande_id]
            quartile = e.quartile if e.epci == epci else None
            resultat.append(FaitsAttribution(
                **commun, quartile=quartile, anru=bool(anru.get(x.demande_id)), prioritaire=e.prioritaire,
                dalo=e.dalo, logement_d_abord=e.logement_d_abord, renseigne=quartile is not None,
            ))
        else:
            resultat.append(FaitsAttribution(
                **commun, quartile=None, anru=bool(anru.get(x.demande_id)), prioritaire=False, dalo=False,
                logement_d_abord=False, renseigne=False,
            ))
    return resultat


# --- indicators ------------------------------------------------------------------------------------

def _taux(numerateur: int, denominateur: int) -> float | None:
    return round(numerateur / denominateur, 4) if denominateur else None


def _mesure(numerateur: int, denominateur: int) -> dict[str, Any]:
    return {"numerateur": numerateur, "denominateur": denominateur, "taux": _taux(numerateur, denominateur)}


def _statut(mesure: dict[str, Any], cible: float, sens: str) -> str:
    if not mesure["denominateur"]:
        return "sans_attribution"
    if sens == MINIMUM:
        return "atteint" if mesure["taux"] >= cible else "en_dessous"
    return "respecte" if mesure["taux"] <= cible else "depasse"


def _pourcent(x: Decimal | float) -> str:
    texte = f"{float(x) * 100:.1f}".rstrip("0").rstrip(".")
    return texte.replace(".", ",") + " %"


def _definitions(ctx: Contexte) -> list[dict[str, Any]]:
    """Each indicator: code, label, scope, target, direction and the two predicates it counts."""
    p = ctx.parametres
    ou = f"sur l'EPCI {ctx.nom_epci} ({ctx.epci})"
    annee = ctx.annee
    defs: list[dict[str, Any]] = []
    if ctx.soumis_quartiles:
        cible = p.valeur("quotas.premier_quartile_hors_qpv")
        defs.append({
            "code": "premier_quartile_hors_qpv",
            "libelle": f"Attributions hors QPV aux demandeurs du 1er quartile ou relogés ANRU/ORCOD (au moins {_pourcent(cible)})",
            "perimetre": f"Attributions suivies d'un bail signé en {annee}, hors QPV, {ou}",
            "cible": cible, "sens": MINIMUM, "parametre": "quotas.premier_quartile_hors_qpv",
            "dans": lambda f: not f.en_qpv,
            "compte": lambda f: f.quartile == 1 or f.anru,
        })
        cible = p.valeur("quotas.hors_premier_quartile_en_qpv")
        defs.append({
            "code": "hors_premier_quartile_en_qpv",
            "libelle": f"Attributions en QPV aux demandeurs des quartiles 2 à 4 (au moins {_pourcent(cible)})",
            "perimetre": f"Attributions suivies d'un bail signé en {annee}, en QPV, {ou}",
            "cible": cible, "sens": MINIMUM, "parametre": "quotas.hors_premier_quartile_en_qpv",
            "dans": lambda f: f.en_qpv,
            "compte": lambda f: f.quartile is not None and f.quartile >= 2,
        })
    cible = p.valeur("quotas.publics_prioritaires_par_reservataire")
    for cle, (nom, _type) in sorted(ctx.reservataires.items(), key=lambda kv: (kv[0] == BAILLEUR, kv[1][0])):
        defs.append({
            "code": f"publics_prioritaires.{cle}",
            "libelle": f"{nom} : attributions aux ménages DALO et prioritaires (au moins {_pourcent(cible)})",
            "perimetre": f"Attributions {'du stock non réservé du bailleur' if cle == BAILLEUR else 'du réservataire'} "
                         f"suivies d'un bail signé en {annee}, {ou}",
            "cible": cible, "sens": MINIMUM, "parametre": "quotas.publics_prioritaires_par_reservataire",
            "dans": (lambda c: lambda f: f.cle == c)(cle),
            "compte": lambda f: f.dalo or f.prioritaire,
        })
    cible = p.valeur("quotas.contingent_etat.part_max")
    defs.append({
        "code": "contingent_etat",
        "libelle": f"Contingent de l'État, agents compris (au plus {_pourcent(cible)} du flux)",
        "perimetre": f"Attributions du flux (hors logements soustraits) suivies d'un bail signé en {annee}, {ou}",
        "cible": cible, "sens": MAXIMUM, "parametre": "quotas.contingent_etat.part_max",
        "dans": lambda f: not f.hors_flux,
        "compte": lambda f: f.type_reservataire in TYPES_ETAT,
    })
    cible = p.valeur("quotas.contingent_etat.agents_part_max")
    defs.append({
        "code": "contingent_etat_agents",
        "libelle": f"dont agents civils et militaires de l'État (au plus {_pourcent(cible)} du flux)",
        "perimetre": f"Attributions du flux (hors logements soustraits) suivies d'un bail signé en {annee}, {ou}",
        "cible": cible, "sens": MAXIMUM, "parametre": "quotas.contingent_etat.agents_part_max",
        "dans": lambda f: not f.hors_flux,
        "compte": lambda f: f.type_reservataire == TypeReservataire.ETAT_FONCTIONNAIRES.value,
    })
    return defs


def _calculer(ctx: Contexte, faits: list[FaitsAttribution]) -> list[dict[str, Any]]:
    indicateurs = []
    for d in _definitions(ctx):
        dans = [f for f in faits if d["dans"](f)]
        mesure = _mesure(sum(1 for f in dans if d["compte"](f)), len(dans))
        cible = float(d["cible"])
        indicateurs.append({
            "code": d["code"], "libelle": d["libelle"], "perimetre": d["perimetre"],
            **mesure, "cible": cible, "sens": d["sens"], "statut": _statut(mesure, cible, d["sens"]),
            "parametre": d["parametre"], "non_renseignes": sum(1 for f in dans if not f.renseigne),
        })
    lda = sum(1 for f in faits if f.logement_d_abord)
    objectif = ctx.objectif_lda
    if objectif:
        statut = "atteint" if lda >= objectif else ("non_atteint" if ctx.date >= dt.date(ctx.annee, 12, 31) else "en_cours")
    else:
        statut = "sans_objectif"
    indicateurs.append({
        "code": "logement_d_abord",
        "libelle": "Attributions Logement d'abord (sortants d'hébergement et sans-abri) rapportées à l'objectif annuel"
                   + (f" de {objectif}" if objectif else " (aucun objectif dans rules/)"),
        "perimetre": f"Attributions suivies d'un bail signé en {ctx.annee}, sur l'EPCI {ctx.nom_epci} ({ctx.epci})",
        "numerateur": lda, "denominateur": objectif or 0, "taux": _taux(lda, objectif or 0),
        "cible": 1.0 if objectif else None, "sens": MINIMUM, "statut": statut,
        "parametre": f"politique.logement_d_abord.objectif_annuel.{ctx.epci}",
        "objectif": objectif, "attributions": len(faits), "non_renseignes": sum(1 for f in faits if not f.renseigne),
    })
    return indicateurs


def quotas(session: Session, epci: str, annee: int, date: dt.date) -> dict[str, Any]:
    """Every indicator of the EPCI for the year, counted on the signed leases up to `date` (JSON-able)."""
    ctx = _contexte(session, epci, annee, date)
    faits = attributions_signees(session, epci, annee, date)
    indicateurs = _calculer(ctx, faits)
    return {
        "epci": epci,
        "nom_epci": ctx.nom_epci,
        "annee": annee,
        "date": date.isoformat(),
        "soumis_quartiles": ctx.soumis_quartiles,
        "note": None if ctx.soumis_quartiles else (
            f"L'EPCI {epci} n'a pas de seuil de quartile pour {annee} dans rules/ : il n'est pas soumis aux objectifs "
            "de mixité (1er quartile hors QPV, quartiles 2 à 4 en QPV)."
        ),
        "attributions": len(faits),
        "indicateurs": indicateurs,
        "parametres_a_verifier": list(ctx.parametres.a_verifier_utilises),
        "version_regles": version_regles(),
    }


# --- impact preview --------------------------------------------------------------------------------

def faits_candidat(session: Session, demande_id: int, epci: str, date: dt.date) -> dict[str, Any]:
    """The candidate's quartile (for the dwelling's EPCI), priority, DALO, LDA and ANRU facts, with their source."""
    demande = session.get(Demande, demande_id)
    if demande is None:
        raise ErreurQuotas(f"Demande {demande_id} introuvable.", "demande_id")
    p = parametres_a_la_date(date)
    evaluation = session.get(EvaluationDemande, demande_id)
    if evaluation is not None:
        quartile = evaluation.quartile if evaluation.epci == epci else None
        if evaluation.epci != epci and evaluation.ressources_mensuelles is not None and evaluation.unites_consommation:
            annuel = euros(evaluation.ressources_mensuelles * 12 / evaluation.unites_consommation)
            quartile = _quartile(annuel, epci, p)
        return {
            "quartile": quartile, "prioritaire": evaluation.prioritaire, "dalo": evaluation.dalo,
            "logement_d_abord": evaluation.logement_d_abord, "anru": demande.relogement_anru,
            "source": "evaluation_persistee", "date_evaluation": evaluation.date_evaluation.isoformat(),
        }
    from engine.evaluation import evaluer

    from .dossiers import dossier_depuis_demande

    resultat = evaluer(dossier_depuis_demande(demande), None, date, moteur="python", trace=False)
    res = resultat["ressources"]
    quartile = res["quartiles"].get(epci, res["quartile"] if res["epci"] == epci else None)
    if quartile is None and res.get("revenu_annuel_par_uc") is not None:
        quartile = _quartile(euros(Decimal(str(res["revenu_annuel_par_uc"]))), epci, p)
    return {
        "quartile": quartile, "prioritaire": bool(resultat["priorites"]), "dalo": bool(resultat["dalo"]),
        "logement_d_abord": bool(resultat["logement_d_abord"]["eligible"]), "anru": demande.relogement_anru,
        "source": "evaluation_a_la_volee", "date_evaluation": date.isoformat(),
    }


def _contexte_logement(session: Session, logement_id: int) -> tuple[Logement, str, bool]:
    logement = session.get(Logement, logement_id)
    if logement is None:
        raise ErreurQuotas(f"Logement {logement_id} introuvable.", "logement_id")
    commune = session.get(Commune, logement.residence.code_insee)
    if commune is None or not commune.epci_siren:
        raise ErreurQuotas(f"Le logement {logement_id} n'est rattaché à aucun EPCI.", "logement_id")
    return logement, commune.epci_siren, logement.residence.qpv_code is not None


def impacts(session: Session, logement_id: int, demande_ids: Iterable[int], date: dt.date) -> dict[int, list[dict[str, Any]]]:
    """`impact` for several candidates of one dwelling, the year's attributions read once."""
    logement, epci, en_qpv = _contexte_logement(session, logement_id)
    annee = date.year
    ctx = _contexte(session, epci, annee, date)
    existants = attributions_signees(session, epci, annee, date)
    avant = _calculer(ctx, existants)
    orientation = orientation_en_cours(session, logement_id)
    if designe_par_bailleur(orientation) or orientation is None or orientation.reservataire is None:
        cle, type_ = BAILLEUR, BAILLEUR
    else:
        cle = cle_reservataire(orientation.reservataire_id, orientation.reservataire.type)
        type_ = BAILLEUR if cle == BAILLEUR else TypeReservataire(orientation.reservataire.type).value
    if cle != BAILLEUR and cle not in ctx.reservataires and type_ not in TYPES_ETAT:
        ctx.reservataires[cle] = (orientation.reservataire.nom, type_)  # type: ignore[union-attr]
        avant = _calculer(ctx, existants)
    hors_flux = orientation is not None and orientation.motif_exclusion is not None
    resultats: dict[int, list[dict[str, Any]]] = {}
    for demande_id in demande_ids:
        faits = faits_candidat(session, demande_id, epci, date)
        hypothese = FaitsAttribution(
            en_qpv=en_qpv, quartile=faits["quartile"], anru=bool(faits["anru"]), prioritaire=bool(faits["prioritaire"]),
            dalo=bool(faits["dalo"]), logement_d_abord=bool(faits["logement_d_abord"]), cle=cle, type_reservataire=type_,
            hors_flux=hors_flux, renseigne=faits["quartile"] is not None,
        )
        apres = _calculer(ctx, [*existants, hypothese])
        lignes = []
        for a, b in zip(avant, apres, strict=True):
            variation = {"numerateur": b["numerateur"] - a["numerateur"], "denominateur": b["denominateur"] - a["denominateur"]}
            lignes.append({
                "code": a["code"], "libelle": a["libelle"], "perimetre": a["perimetre"],
                "avant": {k: a[k] for k in ("numerateur", "denominateur", "taux")},
                "apres": {k: b[k] for k in ("numerateur", "denominateur", "taux")},
                "variation": variation,
                "concerne": variation != {"numerateur": 0, "denominateur": 0},
                "cible": a["cible"], "sens": a["sens"],
                "statut_avant": a["statut"], "statut_apres": b["statut"],
                "faits_candidat": {k: faits[k] for k in ("quartile", "prioritaire", "dalo", "logement_d_abord", "anru", "source")},
            })
        resultats[demande_id] = lignes
    return resultats


def impact(session: Session, logement_id: int, demande_id: int, date: dt.date) -> list[dict[str, Any]]:
    """How every indicator of the dwelling's EPCI would move if this candidate got it (lease signed).

    For each indicator: code, libelle, perimetre, avant and apres {numerateur, denominateur, taux},
    variation, concerne, cible, sens (minimum/maximum), statut_avant, statut_apres, and the candidate's
    facts used (quartile for the dwelling's EPCI, priority, DALO, LDA, ANRU, and their source). The
    réservataire is the one the dwelling is currently oriented to (the bailleur's own share otherwise).
    """
    return impacts(session, logement_id, [demande_id], date)[demande_id]


__all__ = [
    "ErreurQuotas", "FaitsAttribution", "attributions_signees", "faits_candidat", "faits_depuis_indicateurs", "impact",
    "impacts", "quotas",
]
