"""Gestion en flux (décret 2020-145, R441-5 CCH): orientation of each vacated dwelling, designations,
returns to the bailleur and counters per réservataire.

The algorithm, the counting parameter and the exclusions are described in rules/flux/README.md; the
exclusions are rules in rules/flux/exclusions.yaml and the parameters live in rules/flux/parametres/.
Services take a Session, flush and never commit; the CLI commits once or rolls back.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import exists, select, union
from sqlalchemy.orm import Session

from engine.conditions import Catalogue, compiler, decrire, valider_condition
from engine.parametres import Parametres, charger_referentiel, parametres_a_la_date
from engine.version import chemin_regles, version_regles
from engine.yaml_strict import ErreurRegles, charger_yaml

from ..audit import journaliser
from ..models import (
    Attribution,
    Commune,
    ConventionReservation,
    Demande,
    Designation,
    Logement,
    ModeReservation,
    Organisation,
    OrientationFlux,
    Reservataire,
    Residence,
    StatutDemande,
    StatutLogement,
    StatutOrientation,
    TypeReservataire,
)

LEGIFRANCE = "https://www.legifrance.gouv.fr/"

# Key of the bailleur's own share in the algorithm (its own réservataire row, if any, or none).
BAILLEUR = TypeReservataire.BAILLEUR.value
DECOMPTES = ("orientation", "proposition", "bail_signe")
DESIGNATIONS = ("bailleur", "reservataire_stock")

# An orientation is current until the dwelling is attributed (statut CLOSE).
STATUTS_EN_COURS = (
    StatutOrientation.EN_ATTENTE,
    StatutOrientation.DESIGNEE,
    StatutOrientation.RESTITUEE,
    StatutOrientation.HORS_FLUX,
)


class ErreurFlux(ValueError):
    """A refused flux operation. `erreurs` maps the field to its French messages; nothing was written."""

    def __init__(self, message: str, champ: str = "_general") -> None:
        self.erreurs = {champ: [message]}
        super().__init__(message)


def dossier_flux() -> Path:
    """rules/flux of the rulebook version this process evaluates with (engine.version.chemin_regles)."""
    return chemin_regles("flux")


def fichier_exclusions() -> Path:
    return chemin_regles("flux", "exclusions.yaml")


# --- the exclusion rules (rules/flux/exclusions.yaml) ---------------------------------------------

@dataclass(frozen=True)
class RegleExclusion:
    id: str
    titre: str
    reference: dict[str, str]
    sources: tuple[str, ...]
    non_confirme: bool
    note: str | None
    debut: dt.date
    fin: dt.date | None
    condition: dict[str, Any]
    motif: str
    designation: str
    predicat: Callable[[Mapping[str, Any]], bool] = field(repr=False, compare=False)

    def en_vigueur(self, date: dt.date) -> bool:
        return self.debut <= date and (self.fin is None or date <= self.fin)

    def decrire(self, regles: ReglesFlux) -> dict[str, Any]:
        return {
            "regle": self.id,
            "titre": self.titre,
            "motif": self.motif,
            "libelle": regles.motifs[self.motif],
            "condition": decrire(self.condition, regles.catalogue),
            "reference": dict(self.reference),
            "non_confirme": self.non_confirme,
            "note": self.note,
        }


@dataclass(frozen=True)
class ReglesFlux:
    regles: tuple[RegleExclusion, ...]
    motifs: dict[str, str]
    catalogue: Catalogue
    destinations: tuple[str, ...]

    def exclusion(self, faits: Mapping[str, Any], date: dt.date) -> RegleExclusion | None:
        """The first rule in force (file order) whose condition holds, or None (the dwelling is in the flux)."""
        for regle in self.regles:
            if regle.en_vigueur(date) and regle.predicat(faits):
                return regle
        return None


def _date_regle(fichier: str, rid: str, champ: str, valeur: Any, *, nulle: bool = False) -> dt.date | None:
    if valeur is None and nulle:
        return None
    if isinstance(valeur, dt.datetime) or not isinstance(valeur, dt.date):
        raise ErreurRegles(fichier, f"date AAAA-MM-JJ attendue, trouvé {valeur!r}", regle=rid, champ=champ)
    return valeur


def _texte_regle(fichier: str, rid: str | None, champ: str, valeur: Any) -> str:
    if not isinstance(valeur, str) or not valeur.strip():
        raise ErreurRegles(fichier, "texte non vide attendu", regle=rid, champ=champ)
    return valeur


def charger_regles_flux(chemin: str | Path | None = None) -> ReglesFlux:
    """Load and check rules/flux/exclusions.yaml of the active version, or the file `chemin` (cached per
    file); `ErreurRegles` names file, rule and field."""
    return _charger_regles(Path(chemin).resolve() if chemin else fichier_exclusions())


@lru_cache(maxsize=4)
def _charger_regles(chemin: Path) -> ReglesFlux:
    try:
        fichier = str(chemin.relative_to(chemin_regles().parent))
    except ValueError:
        fichier = str(chemin)
    if not chemin.is_file():
        raise ErreurRegles(fichier, "fichier des exclusions du flux introuvable")
    contenu = charger_yaml(chemin)
    if not isinstance(contenu, dict):
        raise ErreurRegles(fichier, "dictionnaire attendu (domaine, description, faits, regles, motifs)")
    inconnues = set(contenu) - {"domaine", "description", "faits", "regles", "motifs"}
    if inconnues:
        raise ErreurRegles(fichier, "clé inconnue", champ=sorted(inconnues)[0])
    for cle in ("domaine", "faits", "regles", "motifs"):
        if cle not in contenu:
            raise ErreurRegles(fichier, "champ obligatoire absent", champ=cle)
    if contenu["domaine"] != "flux":
        raise ErreurRegles(fichier, "le domaine de ce fichier est « flux »", champ="domaine")
    faits = contenu["faits"]
    if not isinstance(faits, dict) or not faits:
        raise ErreurRegles(fichier, "dictionnaire non vide des faits attendu", champ="faits")
    for chemin_fait, d in faits.items():
        if not isinstance(d, dict) or d.get("type") not in ("bool", "int", "str") or "libelle" not in d:
            raise ErreurRegles(fichier, "un fait porte `type` (bool, int, str) et `libelle`", champ=f"faits.{chemin_fait}")
    catalogue = Catalogue(faits, {})
    motifs = contenu["motifs"]
    if not isinstance(motifs, dict) or not motifs:
        raise ErreurRegles(fichier, "dictionnaire non vide des motifs attendu", champ="motifs")
    for code, libelle in motifs.items():
        _texte_regle(fichier, None, f"motifs.{code}", libelle)
    brutes = contenu["regles"]
    if not isinstance(brutes, list) or not brutes:
        raise ErreurRegles(fichier, "liste non vide de règles attendue", champ="regles")
    regles: list[RegleExclusion] = []
    vus: set[str] = set()
    cles_permises = {"id", "titre", "reference", "sources", "non_confirme", "note", "validite", "condition", "effet"}
    for i, brut in enumerate(brutes):
        if not isinstance(brut, dict):
            raise ErreurRegles(fichier, "une règle est un dictionnaire", champ=f"regles[{i}]")
        rid = brut.get("id")
        if not isinstance(rid, str) or not rid.startswith("flux.") or rid in vus:
            raise ErreurRegles(fichier, "identifiant « flux.<sujet>_<predicat> » unique attendu", champ=f"regles[{i}].id")
        vus.add(rid)
        inconnues = set(brut) - cles_permises
        if inconnues:
            raise ErreurRegles(fichier, "clé inconnue", regle=rid, champ=sorted(inconnues)[0])
        for cle in ("titre", "reference", "validite", "condition", "effet"):
            if cle not in brut:
                raise ErreurRegles(fichier, "champ obligatoire absent", regle=rid, champ=cle)
        reference = brut["reference"]
        if not isinstance(reference, dict) or set(reference) != {"titre", "lien"}:
            raise ErreurRegles(fichier, "référence attendue : exactement `titre` et `lien`", regle=rid, champ="reference")
        _texte_regle(fichier, rid, "reference.titre", reference["titre"])
        if not str(reference["lien"]).startswith(LEGIFRANCE):
            raise ErreurRegles(fichier, f"le lien de la référence doit pointer vers Légifrance ({LEGIFRANCE})", regle=rid, champ="reference.lien")
        sources = brut.get("sources", [])
        if not isinstance(sources, list) or not all(isinstance(s, str) and s for s in sources):
            raise ErreurRegles(fichier, "liste d'adresses attendue", regle=rid, champ="sources")
        non_confirme = brut.get("non_confirme", False)
        if not isinstance(non_confirme, bool):
            raise ErreurRegles(fichier, "booléen attendu", regle=rid, champ="non_confirme")
        note = _texte_regle(fichier, rid, "note", brut["note"]) if "note" in brut else None
        if non_confirme and (note is None or "[UNCONFIRMED]" not in note):
            raise ErreurRegles(fichier, "une règle non confirmée le dit dans `note` ([UNCONFIRMED] et pourquoi)", regle=rid, champ="note")
        validite = brut["validite"]
        if not isinstance(validite, dict) or "debut" not in validite or not set(validite) <= {"debut", "fin"}:
            raise ErreurRegles(fichier, "validité attendue : {debut, fin}", regle=rid, champ="validite")
        debut = _date_regle(fichier, rid, "validite.debut", validite["debut"])
        fin = _date_regle(fichier, rid, "validite.fin", validite.get("fin"), nulle=True)
        valider_condition(brut["condition"], catalogue, fichier=fichier, regle=rid)
        effet = brut["effet"]
        if not isinstance(effet, dict) or set(effet) != {"motif", "designation"}:
            raise ErreurRegles(fichier, "effet attendu : exactement `motif` et `designation`", regle=rid, champ="effet")
        if effet["motif"] not in motifs:
            raise ErreurRegles(fichier, f"motif {effet['motif']!r} absent de `motifs`", regle=rid, champ="effet.motif")
        if effet["designation"] not in DESIGNATIONS:
            raise ErreurRegles(fichier, f"désignation attendue : {', '.join(DESIGNATIONS)}", regle=rid, champ="effet.designation")
        regles.append(RegleExclusion(
            id=rid, titre=_texte_regle(fichier, rid, "titre", brut["titre"]), reference=dict(reference),
            sources=tuple(sources), non_confirme=non_confirme, note=note, debut=debut, fin=fin,  # type: ignore[arg-type]
            condition=brut["condition"], motif=effet["motif"], designation=effet["designation"],
            predicat=compiler(brut["condition"]),
        ))
    definition_destination = catalogue.definition("vacance.destination") or {}
    destinations = tuple(definition_destination.get("valeurs", ()))
    return ReglesFlux(tuple(regles), dict(motifs), catalogue, destinations)


# --- parameters -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParametresFlux:
    decompte: str
    restitution_imputee: bool
    ordre_departage: tuple[str, ...]
    delai_designation_jours: int
    a_verifier: tuple[str, ...]


def parametres_flux(date: dt.date) -> ParametresFlux:
    """The flux parameters in force at `date` (rules/flux/parametres and the designation delay)."""
    p = charger_referentiel(dossier_flux()).a_la_date(date).suivi()
    generaux = parametres_a_la_date(date).suivi()
    decompte = p.valeur("flux.decompte")
    if decompte not in DECOMPTES:
        raise ErreurRegles("rules/flux/parametres/flux.yaml", f"valeur attendue : {', '.join(DECOMPTES)}", regle="flux.decompte")
    ordre = tuple(p.valeur("flux.ordre_departage"))
    types = {t.value for t in TypeReservataire}
    if set(ordre) != types:
        raise ErreurRegles(
            "rules/flux/parametres/flux.yaml", f"l'ordre doit citer chaque type de réservataire une fois : {', '.join(sorted(types))}",
            regle="flux.ordre_departage",
        )
    delai = generaux.valeur("delais.designation_reservataire_jours")
    return ParametresFlux(
        decompte=decompte,
        restitution_imputee=bool(p.valeur("flux.restitution_imputee")),
        ordre_departage=ordre,
        delai_designation_jours=int(delai),
        a_verifier=tuple(sorted(set(p.a_verifier_utilises) | set(generaux.a_verifier_utilises))),
    )


def objectif_logement_d_abord(epci: str, date: dt.date) -> int | None:
    """Yearly Logement d'abord objective of the territory (rules/flux/parametres/objectifs.yaml), or None."""
    p: Parametres = charger_referentiel(dossier_flux()).a_la_date(date)
    return p.valeur_ou_none(f"politique.logement_d_abord.objectif_annuel.{epci}")


# --- territory ----------------------------------------------------------------------------------------

def est_epci(territoire: str) -> bool:
    return len(territoire) == 9 and territoire.isdigit()


def couvre(territoire: str, departement: str, epci: str | None) -> bool:
    """Does a convention's territory (département code or EPCI SIREN) cover the dwelling?"""
    return territoire == epci if est_epci(territoire) else territoire == departement


def _territoire_en_clair(territoire: str) -> str:
    return f"l'EPCI {territoire}" if est_epci(territoire) else f"le département {territoire}"


def _fraction(x: Decimal) -> float:
    return float(round(x, 4))


# --- the state of the year's flux for one bailleur ---------------------------------------------------

@dataclass(frozen=True)
class Unite:
    """One dwelling of the annual flux: an orientation, or an attribution recorded without one."""

    cle: str  # "bailleur" or "r<id>"
    departement: str
    epci: str | None
    compte: bool  # counted toward the share per the parameter (else only engaged, in progress)
    orientation_id: int | None = None
    attribution_id: int | None = None


def cle_reservataire(reservataire_id: int | None, type_: TypeReservataire | str | None) -> str:
    if reservataire_id is None or type_ == TypeReservataire.BAILLEUR:
        return BAILLEUR
    return f"r{reservataire_id}"


class EtatFlux:
    """The units of the flux of one bailleur for one year, with engaged counts per (key, territory)."""

    def __init__(self, session: Session, bailleur_id: int, annee: int, parametres: ParametresFlux) -> None:
        self.session = session
        self.bailleur_id = bailleur_id
        self.annee = annee
        self.parametres = parametres
        self.engages: dict[tuple[str, str], int] = defaultdict(int)
        self.totaux: dict[str, int] = defaultdict(int)
        self.unites: list[Unite] = []
        self.conventions = list(session.scalars(
            select(ConventionReservation)
            .join(Reservataire, Reservataire.id == ConventionReservation.reservataire_id)
            .where(ConventionReservation.bailleur_id == bailleur_id, ConventionReservation.annee == annee)
            .order_by(ConventionReservation.id)
        ))
        self.reservataire_bailleur = session.scalars(
            select(Reservataire).where(Reservataire.type == TypeReservataire.BAILLEUR, Reservataire.organisation_id == bailleur_id)
            .order_by(Reservataire.id).limit(1)
        ).first()
        for unite in unites_de_l_annee(session, bailleur_id, annee, parametres):
            self.ajouter(unite)

    def ajouter(self, unite: Unite) -> None:
        self.unites.append(unite)
        for territoire in (unite.departement, unite.epci):
            if territoire:
                self.engages[(unite.cle, territoire)] += 1
                self.totaux[territoire] += 1

    def applicables(self, departement: str, epci: str | None) -> list[ConventionReservation]:
        """The conventions covering the dwelling, one per réservataire (the EPCI-scale one first)."""
        par_reservataire: dict[int, ConventionReservation] = {}
        for c in sorted(self.conventions, key=lambda c: (not est_epci(c.territoire), c.id)):
            if couvre(c.territoire, departement, epci):
                par_reservataire.setdefault(c.reservataire_id, c)
        return sorted(par_reservataire.values(), key=lambda c: c.id)


def _territoires_logements(session: Session, logement_ids: Iterable[int]) -> dict[int, tuple[str, str | None, str]]:
    ids = sorted(set(logement_ids))
    resultat: dict[int, tuple[str, str | None, str]] = {}
    for i in range(0, len(ids), 900):
        for lid, dep, epci, insee in session.execute(
            select(Logement.id, Commune.departement, Commune.epci_siren, Commune.code_insee)
            .join(Residence, Residence.id == Logement.residence_id)
            .join(Commune, Commune.code_insee == Residence.code_insee)
            .where(Logement.id.in_(ids[i:i + 900]))
        ):
            resultat[lid] = (dep, epci, insee)
    return resultat


def couvertures(
    orientations: list[tuple[int, int, dt.date]], attributions: list[tuple[int, int, dt.date]]
) -> dict[int, int]:
    """attribution id → the orientation that covers it: the latest of its dwelling on or before its decision.

    `orientations` and `attributions` are (id, logement_id, date) tuples.
    """
    par_logement: dict[int, list[tuple[dt.date, int]]] = defaultdict(list)
    for oid, lid, d in orientations:
        par_logement[lid].append((d, oid))
    for liste in par_logement.values():
        liste.sort()
    resultat = {}
    for aid, lid, d in attributions:
        candidates = [oid for od, oid in par_logement.get(lid, ()) if od <= d]
        if candidates:
            resultat[aid] = candidates[-1]
    return resultat


def unites_de_l_annee(session: Session, bailleur_id: int, annee: int, parametres: ParametresFlux) -> list[Unite]:
    """Every unit of the year's flux of the bailleur, with its key and whether it is counted yet.

    Orientations of the year outside the flux (an exclusion rule applied) are not units. An attribution
    of the year on a dwelling of the bailleur with no orientation on or before its decision (history
    taken over, direct entry) is a unit charged to the réservataire it carries.
    """
    debut, fin = dt.date(annee, 1, 1), dt.date(annee, 12, 31)
    o = OrientationFlux
    des_logements = union(
        select(o.logement_id).where(o.bailleur_id == bailleur_id, o.annee == annee),
        select(Attribution.logement_id)
        .join(Logement, Logement.id == Attribution.logement_id)
        .join(Residence, Residence.id == Logement.residence_id)
        .where(Residence.bailleur_id == bailleur_id, Attribution.date_decision.between(debut, fin)),
    ).subquery()
    orientations = session.execute(
        select(o.id, o.logement_id, o.date_orientation, o.annee, o.reservataire_id, Reservataire.type, o.statut,
               o.motif_exclusion, o.date_restitution,
               exists().where(Designation.orientation_id == o.id).label("designee"))
        .outerjoin(Reservataire, Reservataire.id == o.reservataire_id)
        .where(o.logement_id.in_(select(des_logements.c.logement_id)))
        .order_by(o.date_orientation, o.id)
    ).all()
    attributions = session.execute(
        select(Attribution.id, Attribution.logement_id, Attribution.date_decision, Attribution.date_signature_bail,
               Attribution.reservataire_id, Reservataire.type)
        .outerjoin(Reservataire, Reservataire.id == Attribution.reservataire_id)
        .where(Attribution.logement_id.in_(select(des_logements.c.logement_id)))
        .order_by(Attribution.date_decision, Attribution.id)
    ).all()
    couverture = couvertures(
        [(r.id, r.logement_id, r.date_orientation) for r in orientations],
        [(a.id, a.logement_id, a.date_decision) for a in attributions],
    )
    premiere_attribution: dict[int, Any] = {}
    for a in attributions:
        oid = couverture.get(a.id)
        if oid is not None:
            premiere_attribution.setdefault(oid, a)
    territoires = _territoires_logements(session, [r.logement_id for r in orientations] + [a.logement_id for a in attributions])
    unites: list[Unite] = []
    for r in orientations:
        if r.annee != annee or r.motif_exclusion is not None:
            continue
        cle = cle_reservataire(r.reservataire_id, r.type)
        restituee = r.statut == StatutOrientation.RESTITUEE or r.date_restitution is not None
        if restituee and not parametres.restitution_imputee:
            cle = BAILLEUR
        attribution = premiere_attribution.get(r.id)
        if parametres.decompte == "orientation":
            compte = True
        elif parametres.decompte == "proposition":
            compte = cle == BAILLEUR or bool(r.designee) or restituee or r.statut == StatutOrientation.CLOSE
        else:
            compte = attribution is not None and attribution.date_signature_bail is not None
        dep, epci, _insee = territoires[r.logement_id]
        unites.append(Unite(cle, dep, epci, compte, orientation_id=r.id))
    for a in attributions:
        if a.id in couverture or not (debut <= a.date_decision <= fin):
            continue
        compte = parametres.decompte != "bail_signe" or a.date_signature_bail is not None
        dep, epci, _insee = territoires[a.logement_id]
        unites.append(Unite(cle_reservataire(a.reservataire_id, a.type), dep, epci, compte, attribution_id=a.id))
    return unites


# --- orientation --------------------------------------------------------------------------------------

def _logement(session: Session, logement_id: int) -> Logement:
    logement = session.get(Logement, logement_id)
    if logement is None:
        raise ErreurFlux(f"Logement {logement_id} introuvable.", "logement_id")
    return logement


def faits_exclusion(logement: Logement, destination: str | None) -> dict[str, Any]:
    faits: dict[str, Any] = {
        "logement.mode_reservation": ModeReservation(logement.mode_reservation).value,
        "logement.reservataire_stock": logement.reservataire_stock_id is not None,
    }
    if destination:
        faits["vacance.destination"] = destination
    return faits


def _nom_reservataire(session: Session, reservataire_id: int | None, bailleur_id: int) -> str:
    if reservataire_id is not None:
        r = session.get(Reservataire, reservataire_id)
        if r is not None:
            return r.nom
    org = session.get(Organisation, bailleur_id)
    return f"{org.nom if org else 'Bailleur'} (part propre)"


def _choisir(
    session: Session, etat: EtatFlux, logement: Logement, departement: str, epci: str | None, commune: str, date: dt.date
) -> tuple[int | None, dict[str, Any]]:
    """The réservataire furthest behind its share for this dwelling, and the explanation."""
    p = etat.parametres
    applicables = etat.applicables(departement, epci)
    autres = [c for c in applicables if cle_reservataire(c.reservataire_id, c.reservataire.type) != BAILLEUR]
    convention_bailleur = next((c for c in applicables if c not in autres), None)
    somme = sum((c.part_flux for c in autres), Decimal(0))
    if somme > 1:
        raise ErreurFlux(
            f"Les conventions de réservation applicables au logement {logement.id} pour {etat.annee} dépassent "
            f"100 % du flux (somme des parts : {_fraction(somme * 100)} %).",
            "conventions",
        )
    ordre = {t: i for i, t in enumerate(p.ordre_departage)}
    lignes: list[dict[str, Any]] = []

    def ligne(cle: str, reservataire_id: int | None, type_: str, territoire: str, part: Decimal, convention_id: int | None,
              part_conventionnelle: Decimal | None = None) -> None:
        total = etat.totaux.get(territoire, 0)
        comptes = etat.engages.get((cle, territoire), 0)
        attendu = part * (total + 1)
        entree = {
            "reservataire_id": reservataire_id,
            "reservataire": _nom_reservataire(session, reservataire_id, etat.bailleur_id),
            "type": type_,
            "convention_id": convention_id,
            "territoire": territoire,
            "part": _fraction(part),
            "flux_territoire": total,
            "comptes": comptes,
            "attendu": _fraction(attendu),
            "ecart": _fraction(attendu - comptes),
            "rang_departage": ordre[type_],
            "_ecart": attendu - comptes,
        }
        if part_conventionnelle is not None and part_conventionnelle != part:
            entree["part_conventionnelle"] = _fraction(part_conventionnelle)
        lignes.append(entree)

    for c in autres:
        ligne(f"r{c.reservataire_id}", c.reservataire_id, TypeReservataire(c.reservataire.type).value, c.territoire,
              c.part_flux, c.id)
    part_bailleur = Decimal(1) - somme
    if convention_bailleur is not None:
        territoire_bailleur = convention_bailleur.territoire
    elif any(est_epci(c.territoire) for c in applicables) and epci:
        territoire_bailleur = epci
    else:
        territoire_bailleur = departement
    if part_bailleur > 0 or convention_bailleur is not None or not lignes:
        ligne(
            BAILLEUR, etat.reservataire_bailleur.id if etat.reservataire_bailleur else None, BAILLEUR, territoire_bailleur,
            part_bailleur, convention_bailleur.id if convention_bailleur else None,
            convention_bailleur.part_flux if convention_bailleur else None,
        )
    choisie = max(lignes, key=lambda x: (x["_ecart"], -x["rang_departage"], -(x["reservataire_id"] or 0)))
    egalites = [x for x in lignes if x["_ecart"] == choisie["_ecart"] and x is not choisie]
    for x in lignes:
        del x["_ecart"]
    ecart_txt = f"{choisie['ecart']:.4f}".rstrip("0").rstrip(".").replace(".", ",")
    motif = (
        f"{choisie['reservataire']} a le plus grand écart entre sa part attendue et les logements déjà comptés "
        f"sur {_territoire_en_clair(choisie['territoire'])} ({ecart_txt} logement)."
    )
    if egalites:
        motif += " Égalité départagée par l'ordre stable des types de réservataires (flux.ordre_departage)."
    explication = {
        "algorithme": "ecart_maximal",
        "description": "attendu = part × (logements du territoire déjà comptés + 1) ; écart = attendu − comptés ; "
                       "le plus grand écart l'emporte (rules/flux/README.md)",
        "date": date.isoformat(),
        "annee": etat.annee,
        "decompte": p.decompte,
        "restitution_imputee": p.restitution_imputee,
        "logement": {"departement": departement, "epci": epci, "commune": commune},
        "lignes": lignes,
        "retenu": {"reservataire_id": choisie["reservataire_id"], "reservataire": choisie["reservataire"],
                   "type": choisie["type"], "ecart": choisie["ecart"]},
        "motif": motif,
        "parametres_a_verifier": list(p.a_verifier),
        "version_regles": version_regles(),
    }
    if part_bailleur < 1 and convention_bailleur is not None and convention_bailleur.part_flux != part_bailleur:
        explication["avertissement"] = (
            f"La part conventionnelle du bailleur ({_fraction(convention_bailleur.part_flux * 100)} %) diffère du "
            f"reste du flux ({_fraction(part_bailleur * 100)} %) : le reste est retenu."
        )
    if not applicables:
        explication["motif"] = f"Aucune convention de réservation du bailleur ne couvre ce logement en {etat.annee} : part propre du bailleur."
    return choisie["reservataire_id"], explication


def _orienter(
    session: Session, logement: Logement, date: dt.date, destination: str | None, etats: dict[tuple[int, int], EtatFlux],
    regles: ReglesFlux, parametres: ParametresFlux,
) -> OrientationFlux:
    en_cours = orientation_en_cours(session, logement.id)
    if en_cours is not None:
        raise ErreurFlux(
            f"Le logement {logement.id} a déjà une orientation en cours (n° {en_cours.id}, statut "
            f"{StatutOrientation(en_cours.statut).value}).",
            "logement_id",
        )
    if logement.statut != StatutLogement.VACANT:
        raise ErreurFlux(f"Le logement {logement.id} n'est pas vacant : seul un logement libéré est orienté.", "logement_id")
    residence = logement.residence
    bailleur_id = residence.bailleur_id
    commune = session.get(Commune, residence.code_insee)
    departement, epci = commune.departement, commune.epci_siren
    exclusion = regles.exclusion(faits_exclusion(logement, destination), date)
    orientation = OrientationFlux(
        logement_id=logement.id, bailleur_id=bailleur_id, annee=date.year, date_orientation=date,
    )
    if exclusion is not None:
        explication: dict[str, Any] = {
            "algorithme": "exclusion",
            "date": date.isoformat(),
            "annee": date.year,
            "logement": {"departement": departement, "epci": epci, "commune": commune.code_insee},
            "exclusion": exclusion.decrire(regles),
            "motif": f"Logement hors flux : {regles.motifs[exclusion.motif].lower()} (règle {exclusion.id}).",
            "version_regles": version_regles(),
        }
        orientation.motif_exclusion = exclusion.motif
        if exclusion.designation == "reservataire_stock":
            orientation.reservataire_id = logement.reservataire_stock_id
            orientation.statut = StatutOrientation.EN_ATTENTE
            orientation.date_limite_designation = date + dt.timedelta(days=parametres.delai_designation_jours)
        else:
            orientation.statut = StatutOrientation.HORS_FLUX
        orientation.explication = explication
    else:
        cle_etat = (bailleur_id, date.year)
        etat = etats.get(cle_etat)
        if etat is None:
            etat = etats[cle_etat] = EtatFlux(session, bailleur_id, date.year, parametres)
        reservataire_id, explication = _choisir(session, etat, logement, departement, epci, commune.code_insee, date)
        orientation.reservataire_id = reservataire_id
        orientation.statut = StatutOrientation.EN_ATTENTE
        par_bailleur = explication["retenu"]["type"] == BAILLEUR
        if not par_bailleur:
            orientation.date_limite_designation = date + dt.timedelta(days=parametres.delai_designation_jours)
        explication["designation"] = "bailleur" if par_bailleur else "reservataire"
        orientation.explication = explication
        cle = BAILLEUR if par_bailleur else f"r{reservataire_id}"
        etat.ajouter(Unite(cle, departement, epci, parametres.decompte == "orientation" or par_bailleur and parametres.decompte == "proposition"))
    session.add(orientation)
    session.flush()
    return orientation


def orienter(
    session: Session, logement_id: int, date: dt.date, acteur: str, *, destination: str | None = None
) -> OrientationFlux:
    """Orient one vacated dwelling: excluded from the flux by a rule, or to the réservataire furthest behind.

    `destination` is what the bailleur declared for the dwelling (mutation_interne, relogement_anru, …).
    """
    regles = charger_regles_flux()
    if destination is not None and destination not in regles.destinations:
        raise ErreurFlux(
            f"Destination inconnue « {destination} » (attendu : {', '.join(regles.destinations)}).", "destination"
        )
    logement = _logement(session, logement_id)
    orientation = _orienter(session, logement, date, destination, {}, regles, parametres_flux(date))
    journaliser(
        session, acteur=acteur, action="flux.orienter", objet_type="orientation_flux", objet_id=orientation.id,
        apres=_resume(orientation),
    )
    return orientation


def orienter_vacants(session: Session, date: dt.date, acteur: str) -> list[OrientationFlux]:
    """Orient every vacant dwelling without a current orientation, oldest vacancy first (one audit entry)."""
    regles = charger_regles_flux()
    parametres = parametres_flux(date)
    o = OrientationFlux
    sans_orientation = ~exists().where(o.logement_id == Logement.id, o.statut.in_(STATUTS_EN_COURS))
    logements = session.scalars(
        select(Logement).where(Logement.statut == StatutLogement.VACANT, sans_orientation)
        .order_by(Logement.date_liberation.is_(None), Logement.date_liberation, Logement.id)
    ).all()
    etats: dict[tuple[int, int], EtatFlux] = {}
    orientations = [_orienter(session, lg, date, None, etats, regles, parametres) for lg in logements]
    if orientations:
        par_statut: dict[str, int] = defaultdict(int)
        for x in orientations:
            par_statut[StatutOrientation(x.statut).value] += 1
        journaliser(
            session, acteur=acteur, action="flux.orienter_vacants", objet_type="orientation_flux",
            details={"date": date.isoformat(), "nombre": len(orientations), "par_statut": dict(sorted(par_statut.items())),
                     "orientations": [x.id for x in orientations]},
        )
    return orientations


def _resume(orientation: OrientationFlux) -> dict[str, Any]:
    return {
        "logement_id": orientation.logement_id,
        "reservataire_id": orientation.reservataire_id,
        "statut": StatutOrientation(orientation.statut).value,
        "annee": orientation.annee,
        "date_orientation": orientation.date_orientation.isoformat(),
        "date_limite_designation": orientation.date_limite_designation.isoformat() if orientation.date_limite_designation else None,
        "motif_exclusion": orientation.motif_exclusion,
    }


def orientation_en_cours(session: Session, logement_id: int) -> OrientationFlux | None:
    """The orientation of the dwelling's current vacancy (the latest one not closed), or None."""
    return session.scalars(
        select(OrientationFlux)
        .where(OrientationFlux.logement_id == logement_id, OrientationFlux.statut.in_(STATUTS_EN_COURS))
        .order_by(OrientationFlux.date_orientation.desc(), OrientationFlux.id.desc())
        .limit(1)
    ).first()


def designe_par_bailleur(orientation: OrientationFlux | None) -> bool:
    """True when the bailleur itself chooses the candidates among all active demandes.

    No orientation, the bailleur's own share, a dwelling returned for lack of designation in time, or a
    dwelling excluded from the flux for the bailleur's own use (mutation, rehousing).
    """
    if orientation is None:
        return True
    statut = StatutOrientation(orientation.statut)
    if statut in (StatutOrientation.RESTITUEE, StatutOrientation.HORS_FLUX):
        return True
    return orientation.reservataire_id is None or (
        orientation.reservataire is not None and orientation.reservataire.type == TypeReservataire.BAILLEUR
    )


# --- designations and returns --------------------------------------------------------------------------

def designer(
    session: Session, orientation_id: int, demande_ids: list[int], date: dt.date, acteur: str
) -> list[Designation]:
    """Record the candidates designated by the réservataire, in rank order, within the deadline."""
    orientation = session.get(OrientationFlux, orientation_id)
    if orientation is None:
        raise ErreurFlux(f"Orientation {orientation_id} introuvable.", "orientation_id")
    statut = StatutOrientation(orientation.statut)
    if statut not in (StatutOrientation.EN_ATTENTE, StatutOrientation.DESIGNEE):
        raise ErreurFlux(
            f"L'orientation {orientation_id} n'attend pas de désignation (statut « {statut.value} »).", "orientation_id"
        )
    if designe_par_bailleur(orientation):
        raise ErreurFlux(
            f"L'orientation {orientation_id} relève de la part propre du bailleur : aucun réservataire ne désigne.",
            "orientation_id",
        )
    if date < orientation.date_orientation:
        raise ErreurFlux(
            f"Date de désignation {date.isoformat()} antérieure à l'orientation ({orientation.date_orientation.isoformat()}).",
            "date",
        )
    if orientation.date_limite_designation is not None and date > orientation.date_limite_designation:
        raise ErreurFlux(
            f"Délai de désignation expiré le {orientation.date_limite_designation.isoformat()} pour l'orientation {orientation_id}.",
            "date",
        )
    if not demande_ids:
        raise ErreurFlux("Au moins une demande doit être désignée.", "demande_ids")
    if len(set(demande_ids)) != len(demande_ids):
        raise ErreurFlux("Une demande est désignée deux fois.", "demande_ids")
    deja = {d.demande_id for d in orientation.designations}
    for i, demande_id in enumerate(demande_ids):
        demande = session.get(Demande, demande_id)
        if demande is None:
            raise ErreurFlux(f"Demande {demande_id} introuvable.", f"demande_ids.{i}")
        if demande.statut != StatutDemande.ACTIVE:
            raise ErreurFlux(
                f"La demande {demande.numero_unique} n'est pas active (statut « {StatutDemande(demande.statut).value} »).",
                f"demande_ids.{i}",
            )
        if demande_id in deja:
            raise ErreurFlux(f"La demande {demande.numero_unique} est déjà désignée sur cette orientation.", f"demande_ids.{i}")
    rang = max((d.rang for d in orientation.designations), default=0)
    horodatage = dt.datetime.combine(date, dt.time(12, 0), tzinfo=dt.UTC)
    nouvelles = []
    for demande_id in demande_ids:
        rang += 1
        designation = Designation(demande_id=demande_id, rang=rang, date_designation=date, horodatage=horodatage)
        orientation.designations.append(designation)
        nouvelles.append(designation)
    orientation.statut = StatutOrientation.DESIGNEE
    session.flush()
    journaliser(
        session, acteur=acteur, action="flux.designer", objet_type="orientation_flux", objet_id=orientation.id,
        avant={"statut": statut.value},
        details={"date": date.isoformat(), "demandes": [d.demande_id for d in nouvelles], "rangs": [d.rang for d in nouvelles]},
    )
    return nouvelles


def restituer_echues(session: Session, date: dt.date, acteur: str) -> list[OrientationFlux]:
    """Return to the bailleur every orientation still waiting after its designation deadline (one audit entry)."""
    echues = session.scalars(
        select(OrientationFlux)
        .where(OrientationFlux.statut == StatutOrientation.EN_ATTENTE,
               OrientationFlux.date_limite_designation.is_not(None),
               OrientationFlux.date_limite_designation < date)
        .order_by(OrientationFlux.date_limite_designation, OrientationFlux.id)
    ).all()
    parametres = parametres_flux(date)
    evenements = []
    for orientation in echues:
        orientation.statut = StatutOrientation.RESTITUEE
        orientation.date_restitution = date
        explication = dict(orientation.explication or {})
        explication["restitution"] = {
            "date": date.isoformat(),
            "date_limite_designation": orientation.date_limite_designation.isoformat(),
            "imputee_au_reservataire": parametres.restitution_imputee and orientation.motif_exclusion is None,
            "motif": "Aucune désignation du réservataire dans le délai : le logement revient au bailleur pour ce tour.",
        }
        orientation.explication = explication
        evenements.append({
            "orientation_id": orientation.id,
            "logement_id": orientation.logement_id,
            "reservataire_id": orientation.reservataire_id,
            "date_limite_designation": orientation.date_limite_designation.isoformat(),
        })
    session.flush()
    if evenements:
        journaliser(
            session, acteur=acteur, action="flux.restituer_echues", objet_type="orientation_flux",
            details={"date": date.isoformat(), "nombre": len(evenements), "restitutions": evenements,
                     "restitution_imputee": parametres.restitution_imputee},
        )
    return list(echues)


def cloturer_attribuees(session: Session, date: dt.date, acteur: str) -> list[OrientationFlux]:
    """Close the current orientations whose dwelling has been attributed since (one audit entry)."""
    o = OrientationFlux
    attribuee = exists().where(
        Attribution.logement_id == o.logement_id, Attribution.date_decision >= o.date_orientation,
        Attribution.date_decision <= date,
    )
    a_clore = session.scalars(
        select(o).where(o.statut.in_(STATUTS_EN_COURS), attribuee).order_by(o.id)
    ).all()
    for orientation in a_clore:
        orientation.statut = StatutOrientation.CLOSE
    session.flush()
    if a_clore:
        journaliser(
            session, acteur=acteur, action="flux.cloturer_attribuees", objet_type="orientation_flux",
            details={"date": date.isoformat(), "nombre": len(a_clore), "orientations": [x.id for x in a_clore]},
        )
    return list(a_clore)


# --- counters ---------------------------------------------------------------------------------------------

def compteurs(session: Session, bailleur_id: int, annee: int, date: dt.date | None = None) -> list[dict[str, Any]]:
    """Per convention of the bailleur for the year (and its own share): share, due, oriented, designated,
    attributed, returned, counted and the gap (counted − due), in a stable order."""
    parametres = parametres_flux(date or dt.date(annee, 12, 31))
    etat = EtatFlux(session, bailleur_id, annee, parametres)
    comptes: dict[tuple[str, str], int] = defaultdict(int)
    totaux_comptes: dict[str, int] = defaultdict(int)
    for u in etat.unites:
        if u.compte:
            for t in (u.departement, u.epci):
                if t:
                    comptes[(u.cle, t)] += 1
                    totaux_comptes[t] += 1

    # Orientations and attributions of the year per (key, territory).
    o = OrientationFlux
    orientations = session.execute(
        select(o.id, o.logement_id, o.reservataire_id, Reservataire.type, o.statut, o.date_restitution,
               exists().where(Designation.orientation_id == o.id).label("designee"))
        .outerjoin(Reservataire, Reservataire.id == o.reservataire_id)
        .where(o.bailleur_id == bailleur_id, o.annee == annee, o.motif_exclusion.is_(None))
    ).all()
    debut, fin = dt.date(annee, 1, 1), dt.date(annee, 12, 31)
    attributions = session.execute(
        select(Attribution.id, Attribution.logement_id, Attribution.reservataire_id, Reservataire.type,
               Attribution.date_signature_bail)
        .join(Logement, Logement.id == Attribution.logement_id)
        .join(Residence, Residence.id == Logement.residence_id)
        .outerjoin(Reservataire, Reservataire.id == Attribution.reservataire_id)
        .where(Residence.bailleur_id == bailleur_id, Attribution.date_decision.between(debut, fin))
    ).all()
    territoires = _territoires_logements(session, [r.logement_id for r in orientations] + [a.logement_id for a in attributions])
    stats: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def noter(cle: str, logement_id: int, champ: str) -> None:
        dep, epci, _ = territoires[logement_id]
        for t in (dep, epci):
            if t:
                stats[(cle, t)][champ] += 1

    for r in orientations:
        cle = cle_reservataire(r.reservataire_id, r.type)
        noter(cle, r.logement_id, "orientes")
        if r.designee:
            noter(cle, r.logement_id, "designes")
        if r.statut == StatutOrientation.RESTITUEE or r.date_restitution is not None:
            noter(cle, r.logement_id, "restitues")
        if r.statut == StatutOrientation.EN_ATTENTE:
            noter(cle, r.logement_id, "en_attente")
    for a in attributions:
        cle = cle_reservataire(a.reservataire_id, a.type)
        noter(cle, a.logement_id, "attribues")
        if a.date_signature_bail is not None:
            noter(cle, a.logement_id, "baux_signes")

    lignes: list[dict[str, Any]] = []
    ordre = {t: i for i, t in enumerate(parametres.ordre_departage)}

    def ligne(cle: str, reservataire_id: int | None, type_: str, territoire: str, part: Decimal | None, du: Decimal) -> None:
        s = stats.get((cle, territoire), {})
        compte = comptes.get((cle, territoire), 0)
        lignes.append({
            "reservataire_id": reservataire_id,
            "reservataire": _nom_reservataire(session, reservataire_id, bailleur_id),
            "type": type_,
            "territoire": territoire,
            "part": None if part is None else _fraction(part),
            "flux_territoire": totaux_comptes.get(territoire, 0),
            "du": _fraction(du),
            "orientes": s.get("orientes", 0),
            "en_attente": s.get("en_attente", 0),
            "designes": s.get("designes", 0),
            "restitues": s.get("restitues", 0),
            "attribues": s.get("attribues", 0),
            "baux_signes": s.get("baux_signes", 0),
            "comptes": compte,
            "ecart": _fraction(Decimal(compte) - du),
        })

    dus_par_departement: dict[str, Decimal] = defaultdict(Decimal)
    convention_bailleur = False
    for c in etat.conventions:
        cle = cle_reservataire(c.reservataire_id, c.reservataire.type)
        du = c.part_flux * totaux_comptes.get(c.territoire, 0)
        ligne(cle, c.reservataire_id, TypeReservataire(c.reservataire.type).value, c.territoire, c.part_flux, du)
        convention_bailleur |= cle == BAILLEUR
        if cle != BAILLEUR:
            departement = c.territoire if not est_epci(c.territoire) else _departement_epci(session, c.territoire)
            if departement:
                dus_par_departement[departement] += du
    if not convention_bailleur:
        # The bailleur's own share: what remains of each département's flux once the others' dues are met.
        departements = sorted({u.departement for u in etat.unites} | set(dus_par_departement))
        rb = etat.reservataire_bailleur
        for dep in departements:
            du = Decimal(totaux_comptes.get(dep, 0)) - dus_par_departement.get(dep, Decimal(0))
            ligne(BAILLEUR, rb.id if rb else None, BAILLEUR, dep, None, du)
    lignes.sort(key=lambda x: (len(x["territoire"]), x["territoire"], ordre.get(x["type"], 99), x["reservataire_id"] or 0))
    return lignes


def _departement_epci(session: Session, epci: str) -> str | None:
    """The département of an EPCI when it lies in one only (else None: its dues are not split)."""
    deps = sorted(set(session.scalars(select(Commune.departement).where(Commune.epci_siren == epci))))
    return deps[0] if len(deps) == 1 else None


# Re-exported for the quotas and the bilan.
__all__ = [
    "BAILLEUR", "ErreurFlux", "EtatFlux", "ParametresFlux", "ReglesFlux", "Unite", "charger_regles_flux", "cle_reservataire",
    "cloturer_attribuees", "compteurs", "couvertures", "couvre", "designe_par_bailleur", "designer", "est_epci",
    "objectif_logement_d_abord", "orientation_en_cours", "orienter", "orienter_vacants", "parametres_flux",
    "restituer_echues", "unites_de_l_annee",
]
