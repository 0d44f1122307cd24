"""What the applicant is owed (CCH L441-2-8; décret n° 2019-1378; DOMAIN.md §6.1).

    position(session, numero_unique, date) -> dict

For one demande: its cotation score (grid, detail), whether it is prioritaire or DALO, and for each
typology it wished, in the territory of its first wished commune (that commune's EPCI):
- its position among similar demandes — active, recevable demandes that wished the same typology
  and a commune of the same EPCI — ordered by the published criteria (rules/propositions/
  classement.yaml), with the score each has in that EPCI: « rang 153 sur 1 204 »;
- the average waiting time of the attributions of that kind (same typology, a dwelling of that
  EPCI) whose lease was signed in the period before the date (dated parameter
  information_demandeur.periode_delai_moyen_mois): months from the filing date to the lease.

Read-only: the stored evaluations are used; when the demande's own is missing or stale, it is
evaluated for this consultation (and said so).
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session

from engine.derivations import ajouter_mois, mois_entiers
from engine.geo import charger_territoire
from engine.parametres import parametres_a_la_date
from engine.version import version_regles

from ..models import (
    Attribution,
    Commune,
    Demande,
    EvaluationDemande,
    Logement,
    Residence,
    SouhaitCommune,
    SouhaitTypologie,
    StatutDemande,
)
from .dossiers import charger_demande, dossier_depuis_demande, en_json
from .evaluations import CODES_DALO, evaluer_sans_logement
from .propositions import politique


class ErreurPosition(ValueError):
    """The position cannot be given (French message naming the numéro unique)."""


def _nombre(x: Decimal | float | int) -> str:
    return f"{x:,}".replace(",", "\u202f") if isinstance(x, int) else str(x).replace(".", ",")


def _valeurs_demande(session: Session, demande: Demande, date: dt.date) -> tuple[dict[str, Any], bool]:
    """The demande's own evaluation values (stored, else computed now) and whether they were recomputed."""
    ev = session.get(EvaluationDemande, demande.id)
    if ev is not None and ev.version_regles == version_regles() and ev.date_evaluation == date:
        return {
            "score": ev.score, "grille": ev.grille, "detail": list(ev.detail_cotation or []),
            "dalo": ev.dalo, "dalo_designe": ev.dalo_designe, "prioritaire": ev.prioritaire,
            "priorites": list(ev.priorites or []), "recevable": ev.recevable, "epci": ev.epci,
        }, False
    r, _, _ = evaluer_sans_logement(dossier_depuis_demande(demande), date)
    cotation = r.get("cotation") or {}
    return {
        "score": Decimal(str(cotation.get("score") or 0)), "grille": cotation.get("grille"),
        "detail": list(cotation.get("detail") or []), "dalo": bool(r["dalo"]),
        "dalo_designe": bool(r["designation_prefet"]),
        "prioritaire": any(p["code"] not in CODES_DALO for p in r["priorites"]),
        "priorites": [{"code": p["code"], "libelle": p["libelle"]} for p in r["priorites"]],
        "recevable": r["recevable"] is True, "epci": r["ressources"]["epci"],
    }, True


def _rang(session: Session, demande: Demande, valeurs: dict[str, Any], typologie: str, epci: str) -> tuple[int, int]:
    """(rank, total) of the demande among the similar recevable active demandes, by the published order."""
    score_epci = (
        select(SouhaitCommune.demande_id, func.max(SouhaitCommune.score).label("score"))
        .where(SouhaitCommune.epci == epci)
        .group_by(SouhaitCommune.demande_id)
        .subquery("sc")
    )
    score = func.coalesce(score_epci.c.score, 0)
    semblables = (
        select(func.count())
        .select_from(EvaluationDemande)
        .join(Demande, Demande.id == EvaluationDemande.demande_id)
        .join(score_epci, score_epci.c.demande_id == EvaluationDemande.demande_id)
        .where(
            Demande.statut == StatutDemande.ACTIVE,
            EvaluationDemande.recevable.is_(true()),
            EvaluationDemande.demande_id != demande.id,
            exists().where(SouhaitTypologie.demande_id == EvaluationDemande.demande_id, SouhaitTypologie.typologie == typologie),
        )
    )
    colonnes = {
        "dalo_designe": EvaluationDemande.dalo_designe, "dalo": EvaluationDemande.dalo,
        "prioritaire": EvaluationDemande.prioritaire, "score": score,
        "date_depot": Demande.date_depot, "numero_unique": Demande.numero_unique,
    }
    propres = {**{k: valeurs[k] for k in ("dalo_designe", "dalo", "prioritaire", "score")},
               "date_depot": demande.date_depot, "numero_unique": demande.numero_unique}
    # « Ranks before » on a lexicographic order: better on a criterion, equal on every earlier one.
    avant = []
    egal: list[Any] = []
    for c in politique().criteres:
        col, v = colonnes[c.champ], propres[c.champ]
        if isinstance(v, bool):
            # true > false; SQL booleans compare with IS, not with < or >.
            vaut = col.is_(true()) if v else col.is_(false())
            cherche = not v if c.sens == "decroissant" else v
            meilleur = (col.is_(true()) if c.sens == "decroissant" else col.is_(false())) if cherche else false()
        else:
            vaut = col == v
            meilleur = col > v if c.sens == "decroissant" else col < v
        avant.append(and_(*egal, meilleur))
        egal.append(vaut)
    devant = session.scalar(semblables.where(or_(*avant))) or 0
    total = (session.scalar(semblables) or 0) + 1
    return devant + 1, total


def _delai_moyen(session: Session, typologie: str, epci: str, date: dt.date, mois: int) -> dict[str, Any]:
    debut = ajouter_mois(date, -mois)
    lignes = session.execute(
        select(Demande.date_depot, Attribution.date_signature_bail)
        .join(Demande, Demande.id == Attribution.demande_id)
        .join(Logement, Logement.id == Attribution.logement_id)
        .join(Residence, Residence.id == Logement.residence_id)
        .join(Commune, Commune.code_insee == Residence.code_insee)
        .where(
            Attribution.date_signature_bail.is_not(None),
            Attribution.date_signature_bail > debut,
            Attribution.date_signature_bail <= date,
            Logement.typologie == typologie,
            Commune.epci_siren == epci,
        )
    ).all()
    if not lignes:
        return {"mois": None, "attributions": 0, "periode": {"debut": debut.isoformat(), "fin": date.isoformat()}}
    total = sum(mois_entiers(depot, bail) for depot, bail in lignes)
    moyenne = (Decimal(total) / len(lignes)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return {"mois": en_json(moyenne), "attributions": len(lignes), "periode": {"debut": debut.isoformat(), "fin": date.isoformat()}}


def position(session: Session, numero_unique: str, date: dt.date) -> dict[str, Any]:
    demande = charger_demande(session, numero_unique)
    if demande is None:
        raise ErreurPosition(f"Demande {numero_unique} introuvable.")
    valeurs, recalculee = _valeurs_demande(session, demande, date)
    territoire = charger_territoire()
    communes = list(demande.communes_souhaitees or [])
    epci = territoire.epci(communes[0]) if communes else valeurs["epci"]
    mois = parametres_a_la_date(date).valeur("information_demandeur.periode_delai_moyen_mois")
    positions = []
    for typologie in dict.fromkeys(demande.typologies_souhaitees or []):
        if epci is None:
            positions.append({"typologie": typologie, "epci": None, "rang": None, "total": None,
                              "delai_moyen": None, "texte": f"{typologie} : territoire inconnu (aucune commune souhaitée rattachée à un EPCI)."})
            continue
        rang, total = _rang(session, demande, valeurs, typologie, epci)
        delai = _delai_moyen(session, typologie, epci, date, mois)
        texte = f"{typologie} : rang {_nombre(rang)} sur {_nombre(total)} demandes semblables"
        if not valeurs["recevable"]:
            texte += " (la demande n'est pas recevable en l'état : elle n'est pas comptée devant les autres)"
        if delai["mois"] is None:
            texte += f" ; aucune attribution de ce type avec bail signé sur les {mois} derniers mois."
        else:
            texte += (f" ; délai moyen d'attente des {_nombre(delai['attributions'])} attribution(s) de ce type "
                      f"sur les {mois} derniers mois : {_nombre(delai['mois'])} mois.")
        positions.append({"typologie": typologie, "epci": epci, "rang": rang, "total": total, "delai_moyen": delai, "texte": texte})
    return {
        "numero_unique": demande.numero_unique,
        "date": date.isoformat(),
        "version_regles": version_regles(),
        "statut": str(demande.statut),
        "territoire": {"epci": epci, "nom": territoire.nom_epci(epci)},
        "cotation": {"score": en_json(valeurs["score"]), "grille": valeurs["grille"], "detail": valeurs["detail"]},
        "dalo": valeurs["dalo"],
        "prioritaire": valeurs["prioritaire"] or valeurs["dalo"],
        "priorites": [{"code": p["code"], "libelle": p["libelle"]} for p in valeurs["priorites"]],
        "recevable": valeurs["recevable"],
        "evaluation_recalculee": recalculee,
        "positions": positions,
        "criteres": [{"rang": i, "libelle": c.libelle} for i, c in enumerate(politique().criteres, start=1)],
    }


def texte_position(p: dict[str, Any]) -> str:
    """The French text given to the applicant."""
    lignes = [f"Demande {p['numero_unique']} — situation au {dt.date.fromisoformat(p['date']).strftime('%d/%m/%Y')}"]
    if p["territoire"]["epci"]:
        lignes.append(f"Territoire : {p['territoire']['nom'] or p['territoire']['epci']}")
    c = p["cotation"]
    if c["grille"]:
        lignes.append(f"Score de cotation : {_nombre(Decimal(str(c['score'])))} points (grille {c['grille']})")
        for d in c["detail"]:
            lignes.append(f"  - {d['critere']} ({d['rubrique']}) : {_nombre(Decimal(str(d['points'])))} points")
    else:
        lignes.append("Score de cotation : aucune grille de cotation en vigueur sur ce territoire")
    if p["dalo"]:
        lignes.append("Demande reconnue prioritaire au titre du droit au logement opposable (DALO).")
    if p["priorites"]:
        lignes.append("Priorités : " + " ; ".join(x["libelle"] for x in p["priorites"]))
    elif not p["dalo"]:
        lignes.append("La demande ne relève pas d'un public prioritaire.")
    if p["statut"] != "active":
        lignes.append(f"La demande n'est pas active (statut : {p['statut']}).")
    for x in p["positions"]:
        lignes.append(x["texte"])
    lignes.append("Ordre de classement : " + " ; puis ".join(c["libelle"] for c in p["criteres"]) + ".")
    if p["evaluation_recalculee"]:
        lignes.append("(Évaluation de la demande recalculée pour cette consultation.)")
    return "\n".join(lignes)
