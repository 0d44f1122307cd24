"""Dossier JSON ⇄ models. The dossier JSON (validated by DossierSchema) is the exchange format."""
from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..audit import journaliser
from ..models import (
    Demande,
    Personne,
    RefusOffre,
    Ressource,
    RevenuFiscal,
    SituationPrioritaire,
)
from ..referentiels import situations_sensibles


def en_json(valeur: Any) -> Any:
    """Plain JSON values: dates as ISO strings, euros as numbers."""
    if isinstance(valeur, dict):
        return {k: en_json(v) for k, v in valeur.items()}
    if isinstance(valeur, list | tuple):
        return [en_json(v) for v in valeur]
    if isinstance(valeur, dt.date):
        return valeur.isoformat()
    if isinstance(valeur, Decimal):
        return int(valeur) if valeur == valeur.to_integral_value() else float(valeur)
    if isinstance(valeur, enum.Enum):
        return valeur.value
    return valeur


def empreinte(dossier: dict[str, Any]) -> str:
    texte = json.dumps(en_json(dossier), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(texte.encode("utf-8")).hexdigest()


def resume_audit(dossier: dict[str, Any]) -> dict[str, Any]:
    """What the audit keeps of a dossier: no names, sensitive situations only counted."""
    sensibles = situations_sensibles()
    codes = [s["code"] for s in dossier.get("situations", [])]
    return {
        "numero_unique": dossier["numero_unique"],
        "statut": en_json(dossier.get("statut")),
        "empreinte": empreinte(dossier),
        "nb_personnes": len(dossier.get("personnes", [])),
        "situations": sorted(c for c in codes if c not in sensibles),
        "nb_situations_sensibles": sum(1 for c in codes if c in sensibles),
    }


def _personne(p: dict[str, Any], ordre: int) -> Personne:
    personne = Personne(
        ordre=ordre,
        role=p["role"],
        lien_cotitulaire=p.get("lien_cotitulaire"),
        nom=p.get("nom"),
        prenom=p.get("prenom"),
        nom_naissance=p.get("nom_naissance"),
        sexe=p.get("sexe"),
        date_naissance=p.get("date_naissance"),
        date_naissance_prevue=p.get("date_naissance_prevue"),
        lien_parente=p.get("lien_parente"),
        situation_familiale=p.get("situation_familiale"),
        nationalite=p.get("nationalite"),
        residence_reguliere_declaree=(p.get("residence_reguliere") or {}).get("declaree"),
        residence_reguliere_verifiee=(p.get("residence_reguliere") or {}).get("verifiee"),
        mineur_emancipe=p.get("mineur_emancipe", False),
        handicap_cmi_invalidite=(p.get("handicap") or {}).get("cmi_invalidite", False),
        handicap_details=(p.get("handicap") or {}).get("details"),
        situation_professionnelle=p.get("situation_professionnelle"),
        profession=p.get("profession"),
        ressources_12_mois=p.get("ressources_12_mois"),
        procedure_divorce=(p.get("procedures") or {}).get("divorce", False),
        dissolution_pacs=(p.get("procedures") or {}).get("dissolution_pacs", False),
        ordonnance_protection=(p.get("procedures") or {}).get("ordonnance_protection", False),
    )
    personne.revenus_fiscaux = [
        RevenuFiscal(annee=r["annee"], montant=r.get("montant"), avis=r.get("avis")) for r in p.get("revenus_fiscaux", [])
    ]
    personne.ressources = [
        Ressource(sens=r["sens"], code=r["code"], montant_mensuel=r["montant_mensuel"]) for r in p.get("ressources", [])
    ]
    return personne


def appliquer_dossier(demande: Demande, d: dict[str, Any]) -> Demande:
    """Write a validated dossier onto a Demande (new or existing); children are replaced."""
    la = d.get("logement_actuel") or {}
    dalo = d.get("dalo") or {}
    labels = d.get("labels") or {}
    acc = d.get("accompagnement") or {}
    demande.numero_unique = d["numero_unique"]
    demande.date_depot = d["date_depot"]
    demande.date_renouvellement = d.get("date_renouvellement")
    demande.date_mise_a_jour = d.get("date_mise_a_jour")
    demande.statut = d.get("statut", "active")
    demande.motif_radiation = d.get("motif_radiation")
    demande.date_radiation = d.get("date_radiation")
    contact = d.get("contact") or {}
    demande.adresse = contact.get("adresse")
    demande.code_postal = contact.get("code_postal")
    demande.commune_adresse = contact.get("commune_insee")
    demande.telephone = contact.get("telephone")
    demande.courriel = contact.get("courriel")
    demande.typologies_souhaitees = list(d.get("typologies_souhaitees", []))
    demande.communes_souhaitees = list(d.get("communes_souhaitees", []))
    demande.motifs = list(d.get("motifs", []))
    demande.mutation_interne = d.get("mutation_interne", False)
    demande.relogement_anru = d.get("relogement_anru", False)
    demande.besoin_pmr = d.get("besoin_pmr", False)
    demande.logement_actuel_modele = la.get("modele")
    demande.logement_actuel_typologie = la.get("typologie")
    demande.logement_actuel_loyer = la.get("loyer_mensuel")
    demande.logement_actuel_surface = la.get("surface")
    demande.logement_actuel_nb_pieces = la.get("nb_pieces")
    demande.logement_actuel_nb_occupants = la.get("nb_occupants")
    demande.logement_actuel_commune = la.get("commune_insee")
    demande.logement_actuel_proprietaire = la.get("proprietaire")
    demande.dalo_date_decision = dalo.get("date_decision")
    demande.dalo_statut = dalo.get("statut")
    demande.dalo_date_designation = dalo.get("date_designation")
    demande.label_pdalhpd = labels.get("pdalhpd", False)
    demande.label_siao = labels.get("siao", False)
    demande.accompagnement_avdl = acc.get("avdl", False)
    demande.accompagnement_fsl = acc.get("fsl", False)
    demande.aide_logement_declaree = d.get("aide_logement_declaree")
    demande.personnes = [_personne(p, i) for i, p in enumerate(d["personnes"])]
    demande.situations = [
        SituationPrioritaire(
            code=s["code"],
            verifiee=s.get("verifiee", False),
            date_verification=s.get("date_verification"),
            verifiee_par=s.get("verifiee_par"),
        )
        for s in d.get("situations", [])
    ]
    demande.refus = [
        RefusOffre(
            date_refus=r["date"],
            logement_reference=r.get("logement_reference"),
            motif=r["motif"],
            motif_legitime=r.get("motif_legitime", False),
        )
        for r in d.get("refus", [])
    ]
    return demande


# Everything dossier_depuis_demande reads, loaded in a few queries rather than one per person.
OPTIONS_DOSSIER = (
    selectinload(Demande.personnes).selectinload(Personne.ressources),
    selectinload(Demande.personnes).selectinload(Personne.revenus_fiscaux),
    selectinload(Demande.situations),
    selectinload(Demande.refus),
)


def charger_demande(session: Session, numero_unique: str) -> Demande | None:
    return session.scalars(
        select(Demande).where(Demande.numero_unique == numero_unique).options(*OPTIONS_DOSSIER)
    ).one_or_none()


def enregistrer_dossier(
    session: Session, dossier: dict[str, Any], *, acteur: str, action: str = "demande.enregistrer", audit: bool = True
) -> tuple[Demande, bool]:
    """Create or update (by numéro unique) the demande of a validated dossier. Returns (demande, created)."""
    demande = charger_demande(session, dossier["numero_unique"])
    cree = demande is None
    avant = None if cree else resume_audit(dossier_depuis_demande(demande))
    if cree:
        demande = Demande()
        session.add(demande)
    appliquer_dossier(demande, dossier)
    session.flush()
    if audit:
        journaliser(
            session,
            acteur=acteur,
            action=action,
            objet_type="demande",
            objet_id=demande.id,
            avant=avant,
            apres=resume_audit(dossier),
        )
    return demande, cree


def _valeur(membre: Any) -> Any:
    """The string of a StrEnum member (SQLAlchemy may hand back either)."""
    return None if membre is None else str(membre)


def champs_personne(p: Any, *, revenus_fiscaux: list[dict[str, Any]], ressources: list[dict[str, Any]]) -> dict[str, Any]:
    """A person of the dossier from the columns of `personne` (an ORM object or a row of a column query)."""
    return {
        "role": _valeur(p.role),
        "lien_cotitulaire": _valeur(p.lien_cotitulaire),
        "nom": p.nom,
        "prenom": p.prenom,
        "nom_naissance": p.nom_naissance,
        "sexe": p.sexe,
        "date_naissance": p.date_naissance,
        "date_naissance_prevue": p.date_naissance_prevue,
        "lien_parente": p.lien_parente,
        "situation_familiale": p.situation_familiale,
        "nationalite": p.nationalite,
        "residence_reguliere": {
            "declaree": p.residence_reguliere_declaree,
            "verifiee": p.residence_reguliere_verifiee,
        },
        "mineur_emancipe": p.mineur_emancipe,
        "handicap": {"cmi_invalidite": p.handicap_cmi_invalidite, "details": p.handicap_details},
        "situation_professionnelle": p.situation_professionnelle,
        "profession": p.profession,
        "revenus_fiscaux": revenus_fiscaux,
        "ressources_12_mois": p.ressources_12_mois,
        "ressources": ressources,
        "procedures": {
            "divorce": p.procedure_divorce,
            "dissolution_pacs": p.dissolution_pacs,
            "ordonnance_protection": p.ordonnance_protection,
        },
    }


def revenu_fiscal(r: Any) -> dict[str, Any]:
    return {"annee": r.annee, "montant": r.montant, "avis": r.avis}


def ressource(r: Any) -> dict[str, Any]:
    return {"sens": _valeur(r.sens), "code": r.code, "montant_mensuel": r.montant_mensuel}


def situation(s: Any) -> dict[str, Any]:
    return {"code": s.code, "verifiee": s.verifiee, "date_verification": s.date_verification, "verifiee_par": s.verifiee_par}


def refus_offre(r: Any) -> dict[str, Any]:
    return {"date": r.date_refus, "logement_reference": r.logement_reference, "motif": r.motif,
            "motif_legitime": r.motif_legitime}


def champs_demande(
    demande: Any, *, situations: list[dict[str, Any]], refus: list[dict[str, Any]], personnes: list[dict[str, Any]]
) -> dict[str, Any]:
    """The dossier from the columns of `demande` (an ORM object or a row of a column query) and its parts."""
    return {
        "numero_unique": demande.numero_unique,
        "date_depot": demande.date_depot,
        "date_renouvellement": demande.date_renouvellement,
        "date_mise_a_jour": demande.date_mise_a_jour,
        "statut": _valeur(demande.statut),
        "motif_radiation": demande.motif_radiation,
        "date_radiation": demande.date_radiation,
        "contact": {
            "adresse": demande.adresse,
            "code_postal": demande.code_postal,
            "commune_insee": demande.commune_adresse,
            "telephone": demande.telephone,
            "courriel": demande.courriel,
        },
        "typologies_souhaitees": list(demande.typologies_souhaitees or []),
        "communes_souhaitees": list(demande.communes_souhaitees or []),
        "motifs": list(demande.motifs or []),
        "mutation_interne": demande.mutation_interne,
        "relogement_anru": demande.relogement_anru,
        "besoin_pmr": demande.besoin_pmr,
        "logement_actuel": {
            "modele": demande.logement_actuel_modele,
            "typologie": demande.logement_actuel_typologie,
            "loyer_mensuel": demande.logement_actuel_loyer,
            "surface": demande.logement_actuel_surface,
            "nb_pieces": demande.logement_actuel_nb_pieces,
            "nb_occupants": demande.logement_actuel_nb_occupants,
            "commune_insee": demande.logement_actuel_commune,
            "proprietaire": demande.logement_actuel_proprietaire,
        },
        "dalo": {
            "date_decision": demande.dalo_date_decision,
            "statut": demande.dalo_statut,
            "date_designation": demande.dalo_date_designation,
        },
        "labels": {"pdalhpd": demande.label_pdalhpd, "siao": demande.label_siao},
        "accompagnement": {"avdl": demande.accompagnement_avdl, "fsl": demande.accompagnement_fsl},
        "aide_logement_declaree": demande.aide_logement_declaree,
        "situations": situations,
        "refus": refus,
        "personnes": personnes,
    }


def dossier_depuis_demande(demande: Demande) -> dict[str, Any]:
    """The dossier (loaded form: dates and Decimals) of a stored demande."""
    personnes = [
        champs_personne(
            p,
            revenus_fiscaux=[revenu_fiscal(r) for r in p.revenus_fiscaux],
            ressources=[ressource(r) for r in p.ressources],
        )
        for p in demande.personnes
    ]
    return champs_demande(
        demande,
        situations=[situation(s) for s in demande.situations],
        refus=[refus_offre(r) for r in demande.refus],
        personnes=personnes,
    )
