"""Derived facts of a dossier, in plain Python (engine/FAITS.md is the contract).

Input: the dossier dict as loaded by the dossier schema (dates as `datetime.date`, amounts as
`Decimal`), optionally the logement dict, one reference date and the parameters in force at that
date. Output: a frozen `Derivation` with typed sub-results, `.faits` (JSON types only, unknown values
absent) and the « à vérifier » parameters used. Numbers are computed here; classifications
(recevable, prioritaire, sur-occupé for the offered dwelling…) are rules of rules/regles/.
Every legal number is read from the parameters: none is written here.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from .geo import Territoire, charger_territoire, zone_plafonds
from .parametres import FINANCEMENTS, Parametres, parametres_a_la_date
from .version import racine_active
from .yaml_strict import charger_yaml

CENTIME = Decimal("0.01")
DIX_MILLIEME = Decimal("0.0001")
ZERO = Decimal(0)

DEMANDEUR = "demandeur"
COTITULAIRE = "cotitulaire"
TITULAIRES = (DEMANDEUR, COTITULAIRE)
ROLES_ENFANT = ("enfant_garde_alternee", "enfant_droit_visite", "enfant_a_naitre")
LIEN_ENFANT = "E"  # SNE ListeLienParente
DALO_ACTIF = "ACTIF"  # SNE ListeStatutDalo: a favourable decision still running (ACTREL = rehoused, CADUC = lapsed)
SENS_RECU = "recue"
SENS_VERSE = "versee"

SOURCE_N2 = "N-2"
SOURCE_N1 = "N-1"
SOURCE_12_MOIS = "12_mois"


def euros(montant: Decimal) -> Decimal:
    return montant.quantize(CENTIME, rounding=ROUND_HALF_UP)


def fraction(valeur: Decimal) -> Decimal:
    return valeur.quantize(DIX_MILLIEME, rounding=ROUND_HALF_UP)


def respecte_plafond(revenu: Decimal | int | float, plafond: Decimal | int | float) -> bool:
    """Resources within a ceiling: equal to the ceiling is within (arrêté : « ne dépassent pas »)."""
    return Decimal(str(revenu)) <= Decimal(str(plafond))


def age_revolu(naissance: dt.date, date: dt.date) -> int:
    """Age in completed years at `date` (someone born on 29 February has their birthday on 1 March)."""
    return date.year - naissance.year - ((date.month, date.day) < (naissance.month, naissance.day))


def mois_entiers(debut: dt.date, fin: dt.date) -> int:
    """Whole months from `debut` to `fin` (0 when `fin` is before `debut`)."""
    mois = (fin.year - debut.year) * 12 + fin.month - debut.month - (fin.day < debut.day)
    return max(mois, 0)


def ajouter_mois(date: dt.date, mois: int) -> dt.date:
    annee, rang = divmod(date.month - 1 + mois, 12)
    annee += date.year
    mois_suivant = dt.date(annee + (rang == 11), (rang + 1) % 12 + 1, 1)
    dernier_jour = (mois_suivant - dt.timedelta(days=1)).day
    return dt.date(annee, rang + 1, min(date.day, dernier_jour))


def codes_situations() -> tuple[str, ...]:
    """Codes of rules/referentiels/situations_prioritaires.yaml (one boolean fact each) of the rulebook
    this thread evaluates with (engine.version.racine_active)."""
    return _codes_situations_de(racine_active())


@lru_cache(maxsize=8)
def _codes_situations_de(racine: Path) -> tuple[str, ...]:
    contenu = charger_yaml(racine / "referentiels" / "situations_prioritaires.yaml")
    return tuple(contenu["situations"])


# --- results ----------------------------------------------------------------------------------------

_T = TypeVar("_T")
_nouveau = object.__new__


def _figer(cls: type[_T], **champs: Any) -> _T:
    """`cls(**champs)` for one of the frozen dataclasses below, given every one of its fields.

    The `__init__` generated for a frozen dataclass sets each field with `object.__setattr__` (about
    0.2 µs a field; a derivation has about 70): here the instance's `__dict__` is filled at once, which
    is what those calls do. Same object (equality, repr, hash, immutability); these classes have no
    `__post_init__`, and tests/engine/test_derivations.py checks that every field is given.
    """
    objet = _nouveau(cls)
    objet.__dict__.update(champs)
    return objet

@dataclass(frozen=True)
class AideLogement:
    """Monthly housing aid (APL/AL) the household can claim for the dwelling, and where it comes from."""

    montant_mensuel: Decimal
    source: str  # "declaree" (dossier), "aucune", or the estimator's name


@dataclass(frozen=True)
class PersonneDerivee:
    rang: int  # position in dossier["personnes"], from 1
    role: str
    libelle: str  # "du demandeur", "du cotitulaire (personne 2)"…: no name, safe for logs
    age: int | None
    personne: bool
    a_charge: bool
    unites_consommation: Decimal  # 0 when not counted
    surface: bool
    handicap: bool


@dataclass(frozen=True)
class Menage:
    personnes: tuple[PersonneDerivee, ...]
    nb_personnes: int
    nb_personnes_a_charge: int
    nb_personnes_surface: int
    nb_mineurs: int
    couple: bool
    jeune_menage: bool
    handicap: bool
    parent_isole: bool
    categorie: int
    personnes_supplementaires: int
    fondement_categorie: str  # nombre_personnes | personne_seule_avec_charge | handicap | jeune_menage
    unites_consommation: Decimal


@dataclass(frozen=True)
class Localisation:
    commune: str | None
    source: str | None  # logement | commune_souhaitee | adresse | logement_actuel
    zone: str | None
    epci: str | None


@dataclass(frozen=True)
class Ressources:
    complet: bool
    revenu_retenu: Decimal | None
    source: str | None  # N-2 | N-1 | 12_mois
    annee: int | None  # None for 12 months
    annee_n2: int
    revenu_n2: Decimal | None
    annee_n1: int
    revenu_n1: Decimal | None
    revenu_12_mois: Decimal | None
    demandeur_seul: bool
    pieces_manquantes: tuple[str, ...]
    mensuelles: Decimal
    annuel_par_uc: Decimal | None  # None only if no one counts in the consumption units
    epci: str | None
    quartile: int | None
    quartiles: Mapping[str, int | None]  # SIREN → quartile, for each wished EPCI


@dataclass(frozen=True)
class Plafonds:
    zone: str | None
    par_financement: Mapping[str, Decimal]  # PLAI, PLUS, PLS (empty without a zone)
    applicable: Decimal | None
    financement_applicable: str | None


@dataclass(frozen=True)
class Adequation:
    financement: str
    cout_mensuel: Decimal
    aide_logement: Decimal
    source_aide_logement: str
    cout_net_mensuel: Decimal
    taux_effort: Decimal | None  # None when the monthly resources are not positive
    reste_a_vivre_uc_jour: Decimal | None
    surface_par_personne: Decimal | None
    surface_minimale: Decimal
    pieces_max_sans_sous_occupation: int
    en_qpv: bool
    epci: str | None


@dataclass(frozen=True)
class Derivation:
    date: dt.date
    menage: Menage
    localisation: Localisation
    ressources: Ressources
    plafonds: Plafonds
    adequation: Adequation | None
    faits: dict[str, Any] = field(hash=False, compare=False)
    parametres_a_verifier: tuple[str, ...] = ()
    pieces_manquantes: tuple[str, ...] = ()
    avertissements: tuple[str, ...] = ()

    # Short names read by the evaluation (engine/FAITS.md, « hors des faits »).
    @property
    def annee_revenu(self) -> int | None:
        return self.ressources.annee

    @property
    def epci(self) -> str | None:
        return self.ressources.epci

    @property
    def quartiles(self) -> Mapping[str, int | None]:
        return self.ressources.quartiles

    @property
    def apl(self) -> Decimal | None:
        return self.adequation.aide_logement if self.adequation else None

    @property
    def source_apl(self) -> str | None:
        return self.adequation.source_aide_logement if self.adequation else None


# --- the derivation --------------------------------------------------------------------------------

def deriver(
    dossier: Mapping[str, Any],
    logement: Mapping[str, Any] | None,
    date: dt.date,
    parametres: Parametres | None = None,
    *,
    aide_logement: AideLogement | None = None,
    territoire: Territoire | None = None,
) -> Derivation:
    """Derive every fact of engine/FAITS.md for `dossier` (and `logement`) at `date`."""
    if parametres is None:
        parametres = parametres_a_la_date(date)
    elif parametres.date != date:
        raise ValueError(f"Paramètres au {parametres.date.isoformat()} pour une évaluation au {date.isoformat()}.")
    p = parametres.suivi()  # own record of the « à vérifier » parameters read
    territoire = territoire or charger_territoire()
    avertissements: list[str] = []

    menage = _menage(dossier, date, p)
    localisation = _localisation(dossier, logement, territoire, p, avertissements)
    if localisation.commune is None:
        avertissements.append("Aucune commune (logement, commune souhaitée ou adresse) : zone des plafonds et quartile inconnus.")
    ressources = _ressources(dossier, menage, date, p, localisation, territoire, avertissements)
    plafonds = _plafonds(menage, localisation.zone, logement, p)
    adequation = (
        _adequation(dossier, logement, menage, ressources, p, territoire, aide_logement, avertissements)
        if logement is not None
        else None
    )
    pieces = ressources.pieces_manquantes
    faits = _faits(dossier, logement, date, p, menage, localisation, ressources, plafonds, adequation)
    return _figer(Derivation,
        date=date,
        menage=menage,
        localisation=localisation,
        ressources=ressources,
        plafonds=plafonds,
        adequation=adequation,
        faits=faits,
        parametres_a_verifier=p.a_verifier_utilises,
        pieces_manquantes=pieces,
        avertissements=tuple(avertissements),
    )


def _libelle(rang: int, role: str, roles: Sequence[str]) -> str:
    if role == DEMANDEUR:
        return "du demandeur"
    if role == COTITULAIRE and roles.count(COTITULAIRE) == 1:
        return "du cotitulaire"
    return f"de la personne {rang} ({role.replace('_', ' ')})"


def _menage(dossier: Mapping[str, Any], date: dt.date, p: Parametres) -> Menage:
    brutes = list(dossier["personnes"])
    roles = [b["role"] for b in brutes]
    majorite = p.valeur("menage.age_majorite")
    # The applicant first: they are the "first adult" of the consumption-unit scale.
    ordre = sorted(range(len(brutes)), key=lambda i: brutes[i]["role"] != DEMANDEUR)
    premier_uc_attribue = False
    seuil_uc: int | None = None
    personnes: list[PersonneDerivee] = []
    for i in ordre:
        brute = brutes[i]
        role = brute["role"]
        naissance = brute.get("date_naissance")
        age = age_revolu(naissance, date) if naissance else None
        compte, a_charge, surface, compte_uc = p.memorise(("qui_compte", role), lambda q, role=role: _qui_compte(role, q))
        uc = ZERO
        if compte_uc:
            if not premier_uc_attribue:
                uc = p.valeur("unites_consommation.premier_adulte")
                premier_uc_attribue = True
            else:
                if seuil_uc is None:
                    seuil_uc = p.valeur("unites_consommation.age_seuil")
                # An unborn child (no age) weighs as a young child.
                if age is not None and age >= seuil_uc:
                    uc = p.valeur("unites_consommation.autre_personne_age_seuil_et_plus")
                else:
                    uc = p.valeur("unites_consommation.personne_sous_age_seuil")
        handicap = bool(compte and (brute.get("handicap") or {}).get("cmi_invalidite"))
        personnes.append(_figer(PersonneDerivee,
            rang=i + 1, role=role, libelle=_libelle(i + 1, role, roles), age=age, personne=bool(compte),
            a_charge=bool(a_charge), unites_consommation=uc, surface=bool(surface), handicap=handicap,
        ))
    personnes.sort(key=lambda x: x.rang)
    comptees = [x for x in personnes if x.personne]
    nb = len(comptees)
    # The counts over the persons counted, in one pass.
    nb_charge = nb_surface = nb_mineurs = nb_titulaires = 0
    handicap = False
    for x in comptees:
        nb_charge += x.a_charge
        nb_surface += x.surface
        if x.age is not None and x.age < majorite:
            nb_mineurs += 1
        if x.handicap:
            handicap = True
        if x.role in TITULAIRES:
            nb_titulaires += 1
    non_charge = nb - nb_charge
    liens_couple = p.valeur("menage.jeune_menage.liens_couple")
    conjoint = next(
        (brutes[x.rang - 1] for x in comptees if x.role == COTITULAIRE and brutes[x.rang - 1].get("lien_cotitulaire") in liens_couple),
        None,
    )
    couple = conjoint is not None
    demandeur = next(x for x in personnes if x.role == DEMANDEUR)
    jeune_menage = False
    if couple and nb_charge == 0:
        age_conjoint = age_revolu(conjoint["date_naissance"], date)  # type: ignore[index]
        jeune_menage = (demandeur.age or 0) + age_conjoint <= p.valeur("menage.jeune_menage.somme_ages_max")
    parent_isole = nb_titulaires == 1 and any(
        x.role in ROLES_ENFANT or (x.role not in TITULAIRES and brutes[x.rang - 1].get("lien_parente") == LIEN_ENFANT)
        for x in comptees
    )
    # The highest category whose definition the household meets (arrêté du 29 juillet 1987, art. 2).
    equivalent, fondement = nb, "nombre_personnes"
    if non_charge == 1 and nb_charge >= 1:
        candidat = nb + p.valeur("menage.categorie.majoration_personne_seule_avec_charge")
        if candidat > equivalent:
            equivalent, fondement = candidat, "personne_seule_avec_charge"
    if handicap:
        candidat = nb + p.valeur("menage.categorie.majoration_handicap")
        if candidat > equivalent:
            equivalent, fondement = candidat, "handicap"
    if jeune_menage:
        candidat = p.valeur("menage.categorie.jeune_menage")
        if candidat > equivalent:
            equivalent, fondement = candidat, "jeune_menage"
    nb_categories = p.valeur("menage.categorie.nombre_categories")
    return _figer(Menage,
        personnes=tuple(personnes),
        nb_personnes=nb,
        nb_personnes_a_charge=nb_charge,
        nb_personnes_surface=nb_surface,
        nb_mineurs=nb_mineurs,
        couple=couple,
        jeune_menage=jeune_menage,
        handicap=handicap,
        parent_isole=parent_isole,
        categorie=min(equivalent, nb_categories),
        personnes_supplementaires=max(equivalent - nb_categories, 0),
        fondement_categorie=fondement,
        unites_consommation=fraction(sum((x.unites_consommation for x in personnes), ZERO)),
    )


def _qui_compte(role: str, p: Parametres) -> tuple[Any, Any, Any, bool]:
    """Whether a person of `role` counts as a person, as a dependant, for the surface, in the UC."""
    base = f"menage.qui_compte.{role}"
    compte = p.valeur(f"{base}.personne")
    a_charge = compte and p.valeur(f"{base}.a_charge")
    surface = compte and p.valeur(f"{base}.surface")
    return compte, a_charge, surface, bool(compte and p.valeur(f"{base}.unites_consommation"))


def _localisation(
    dossier: Mapping[str, Any],
    logement: Mapping[str, Any] | None,
    territoire: Territoire,
    p: Parametres,
    avertissements: list[str],
) -> Localisation:
    """The commune that fixes the zone and the EPCI: the dwelling's, else the first wished, else the current address."""
    candidats = [
        ((logement or {}).get("commune_insee"), "logement"),
        ((dossier.get("communes_souhaitees") or [None])[0], "commune_souhaitee"),
        ((dossier.get("contact") or {}).get("commune_insee"), "adresse"),
        ((dossier.get("logement_actuel") or {}).get("commune_insee"), "logement_actuel"),
    ]
    for commune, source in candidats:
        if commune:
            if territoire.commune(commune) is None:
                avertissements.append(f"Commune {commune} inconnue du référentiel géographique : EPCI inconnu.")
            zone = p.memorise(("zone", commune, territoire), lambda q, c=commune: zone_plafonds(c, q, territoire))
            return _figer(Localisation, commune=commune, source=source, zone=zone, epci=territoire.epci(commune))
    return _figer(Localisation, commune=None, source=None, zone=None, epci=None)


def _revenus_annee(
    personnes: Sequence[tuple[PersonneDerivee, Mapping[str, Any]]], annee: int, demandeur_seul: bool, avertissements: list[str]
) -> tuple[Decimal | None, list[str]]:
    """Sum of the RFR of each tax notice of the household for `annee`, or None with the missing pieces.

    Persons sharing a notice (`avis`) count it once; a person on another's notice with no amount of
    their own adds nothing; a person without a notice reference counts alone.
    """
    par_avis: dict[str, Decimal] = {}
    seuls: list[Decimal] = []
    rattaches: list[tuple[str, str]] = []
    sans_reference: list[str] = []
    manquants: list[str] = []
    for personne, brute in personnes:
        requis = personne.role in TITULAIRES
        ligne = next((r for r in brute.get("revenus_fiscaux") or () if r["annee"] == annee), None)
        if ligne is None:
            if requis:
                manquants.append(personne.libelle)
            continue
        montant, avis = ligne["montant"], ligne.get("avis")
        if montant is None:
            if demandeur_seul:
                # Only the applicant's own resources count: a joint notice does not give them.
                manquants.append(personne.libelle)
            elif avis:
                rattaches.append((avis, personne.libelle))
            elif requis:
                sans_reference.append(personne.libelle)
            continue
        if avis:
            deja = par_avis.get(avis)
            if deja is not None and deja != montant:
                avertissements.append(f"Avis d'imposition {annee} partagé avec deux montants différents : le plus élevé est retenu.")
            par_avis[avis] = montant if deja is None else max(deja, montant)
        else:
            seuls.append(montant)
    manquants.extend(libelle for avis, libelle in rattaches if avis not in par_avis)
    if sans_reference and not (par_avis or seuls):
        manquants.extend(sans_reference)
    if manquants:
        return None, manquants
    return euros(sum(par_avis.values(), ZERO) + sum(seuls, ZERO)), []


def _ressources(
    dossier: Mapping[str, Any],
    menage: Menage,
    date: dt.date,
    p: Parametres,
    localisation: Localisation,
    territoire: Territoire,
    avertissements: list[str],
) -> Ressources:
    brutes = dossier["personnes"]
    comptees = [(x, brutes[x.rang - 1]) for x in menage.personnes if x.personne]
    demandeur = next(b for x, b in comptees if x.role == DEMANDEUR)
    procedures = demandeur.get("procedures") or {}
    demandeur_seul = bool(
        procedures.get("divorce") or procedures.get("dissolution_pacs") or procedures.get("ordonnance_protection")
    )
    concernees = [(x, b) for x, b in comptees if x.role == DEMANDEUR] if demandeur_seul else comptees

    annee_n2 = date.year - p.valeur("ressources.annee_reference.decalage")
    annee_n1 = date.year - p.valeur("ressources.annee_recente.decalage")
    revenu_n2, manquants_n2 = _revenus_annee(concernees, annee_n2, demandeur_seul, avertissements)
    revenu_n1, _ = _revenus_annee(concernees, annee_n1, demandeur_seul, avertissements)
    douze = [b.get("ressources_12_mois") for x, b in concernees]
    titulaires_12 = [b.get("ressources_12_mois") for x, b in concernees if x.role in TITULAIRES]
    revenu_12 = (
        euros(sum((d for d in douze if d is not None), ZERO))
        if titulaires_12 and all(d is not None for d in titulaires_12)
        else None
    )
    pieces = tuple(
        f"avis d'imposition : revenu fiscal de référence {annee_n2} {libelle}" for libelle in manquants_n2
    )
    retenu = source = annee = None
    if revenu_n2 is not None:
        retenu, source, annee = revenu_n2, SOURCE_N2, annee_n2
        ratio = p.valeur("ressources.baisse.ratio_max")
        # N-1 or the last 12 months replace N-2 when lower by at least 10 % (the lowest is retained).
        for valeur, sa_source, son_annee in ((revenu_n1, SOURCE_N1, annee_n1), (revenu_12, SOURCE_12_MOIS, None)):
            if valeur is not None and valeur <= revenu_n2 * ratio and valeur < retenu:
                retenu, source, annee = valeur, sa_source, son_annee

    # Monthly resources declared: received resources of every person counted, minus those paid
    # whose code the parameter lists (alimony paid).
    deduits = p.valeur("ressources.codes_verses_deduits")
    mensuelles = ZERO
    for _x, brute in comptees:
        for r in brute.get("ressources") or ():
            if r["sens"] == SENS_RECU:
                mensuelles += r["montant_mensuel"]
            elif r["sens"] == SENS_VERSE and r["code"] in deduits:
                mensuelles -= r["montant_mensuel"]
    mensuelles = euros(mensuelles)
    uc = menage.unites_consommation
    annuel_par_uc = euros(mensuelles * 12 / uc) if uc > 0 else None

    epci = localisation.epci
    quartile = _quartile(annuel_par_uc, epci, p)
    quartiles: dict[str, int | None] = {}
    for commune in dossier.get("communes_souhaitees") or ():
        siren = territoire.epci(commune)
        if siren and siren not in quartiles:
            quartiles[siren] = _quartile(annuel_par_uc, siren, p)
    return _figer(Ressources,
        complet=revenu_n2 is not None,
        revenu_retenu=retenu,
        source=source,
        annee=annee,
        annee_n2=annee_n2,
        revenu_n2=revenu_n2,
        annee_n1=annee_n1,
        revenu_n1=revenu_n1,
        revenu_12_mois=revenu_12,
        demandeur_seul=demandeur_seul,
        pieces_manquantes=pieces,
        mensuelles=mensuelles,
        annuel_par_uc=annuel_par_uc,
        epci=epci,
        quartile=quartile,
        quartiles=quartiles,
    )


def seuils_quartile(siren: str | None, p: Parametres) -> tuple[Decimal, Decimal, Decimal] | None:
    """Q1–Q3 thresholds of the EPCI at the parameters' date, or None where it has none."""
    if not siren:
        return None
    base = f"quartiles.seuils.{siren}"
    if not p.existe(f"{base}.q1"):
        if siren not in p.valeur("quartiles.epci_au_seuil_regional_ile_de_france"):
            return None
        base = "quartiles.seuils_regionaux.ile_de_france"
        if not p.existe(f"{base}.q1"):
            return None
    return p.valeur(f"{base}.q1"), p.valeur(f"{base}.q2"), p.valeur(f"{base}.q3")


def _quartile(annuel_par_uc: Decimal | None, siren: str | None, p: Parametres) -> int | None:
    seuils = p.memorise(("seuils_quartile", siren), lambda q: seuils_quartile(siren, q))
    if seuils is None or annuel_par_uc is None:
        return None
    inclus = p.valeur("quartiles.seuil_inclus")
    for rang, seuil in enumerate(seuils, start=1):
        if annuel_par_uc < seuil or (inclus and annuel_par_uc == seuil):
            return rang
    return len(seuils) + 1


def _plafonds(menage: Menage, zone: str | None, logement: Mapping[str, Any] | None, p: Parametres) -> Plafonds:
    if zone is None:
        return _figer(Plafonds, zone=None, par_financement={}, applicable=None, financement_applicable=None)
    cle = ("plafonds", menage.categorie, menage.personnes_supplementaires, zone)
    valeurs = dict(p.memorise(cle, lambda q: _plafonds_par_financement(menage.categorie, menage.personnes_supplementaires, zone, q)))
    if logement is not None and logement.get("financement") in valeurs:
        financement = logement["financement"]
    else:
        # No dwelling: the ceiling of the highest financing.
        financement = max(valeurs, key=lambda f: valeurs[f])
    return _figer(Plafonds, zone=zone, par_financement=valeurs, applicable=valeurs[financement], financement_applicable=financement)


def _plafonds_par_financement(categorie: int, supplementaires: int, zone: str, p: Parametres) -> dict[str, Decimal]:
    valeurs: dict[str, Decimal] = {}
    for financement in FINANCEMENTS:
        base = f"plafonds.{financement.lower()}"
        plafond = p.valeur(f"{base}.categorie_{categorie}.{zone}")
        if supplementaires:
            plafond += supplementaires * p.valeur(f"{base}.personne_supplementaire.{zone}")
        valeurs[financement] = euros(plafond)
    return valeurs


def _surface_minimale(nb_personnes: int, p: Parametres) -> Decimal:
    return p.memorise(("surface_minimale", nb_personnes), lambda q: surface_minimale(nb_personnes, q))


def surface_minimale(nb_personnes: int, p: Parametres) -> Decimal:
    """Minimum living surface for `nb_personnes` (D542-14 CSS, referred to by L822-10 CCH)."""
    if nb_personnes <= 1:
        return p.valeur("adequation.sur_occupation.surface_une_personne")
    deux = p.valeur("adequation.sur_occupation.surface_deux_personnes")
    if nb_personnes == 2:
        return deux
    surface = deux + (nb_personnes - 2) * p.valeur("adequation.sur_occupation.surface_par_personne_supplementaire")
    return min(surface, p.valeur("adequation.sur_occupation.surface_plafond"))


def bande_typologie(nb_personnes: int, p: Parametres) -> tuple[int, int] | None:
    """Rooms band of the local policy for the household size (the largest size described applies beyond)."""
    for taille in range(nb_personnes, 0, -1):
        base = f"politique.typologie.personnes_{taille}"
        if p.existe(f"{base}.pieces_min"):
            return p.valeur(f"{base}.pieces_min"), p.valeur(f"{base}.pieces_max")
    return None


def _adequation(
    dossier: Mapping[str, Any],
    logement: Mapping[str, Any],
    menage: Menage,
    ressources: Ressources,
    p: Parametres,
    territoire: Territoire,
    aide: AideLogement | None,
    avertissements: list[str],
) -> Adequation:
    if aide is None:
        declaree = dossier.get("aide_logement_declaree")
        aide = AideLogement(declaree, "declaree") if declaree is not None else AideLogement(ZERO, "aucune")
    # Arrêté du 10 mars 2011: loyer principal + annexes + charges récupérables + contribution for
    # energy works, minus the housing aid, over the monthly resources.
    cout = euros(
        logement["loyer_principal"]
        + (logement.get("loyer_annexes") or ZERO)
        + (logement.get("charges_recuperables") or ZERO)
        + (logement.get("contribution_travaux") or ZERO)
    )
    aide_montant = euros(aide.montant_mensuel)
    cout_net = euros(max(cout - aide_montant, ZERO))
    taux_effort = None
    if ressources.mensuelles > 0:
        taux_effort = fraction(cout_net / ressources.mensuelles)
    else:
        avertissements.append("Ressources mensuelles nulles ou négatives : taux d'effort non calculable.")
    jours = p.valeur("politique.jours_par_mois")
    uc = menage.unites_consommation
    reste = euros((ressources.mensuelles - cout_net) / uc / jours) if uc > 0 else None
    surface = logement.get("surface_habitable")
    nb_surface = menage.nb_personnes_surface
    return _figer(Adequation,
        financement=logement["financement"],
        cout_mensuel=cout,
        aide_logement=aide_montant,
        source_aide_logement=aide.source,
        cout_net_mensuel=cout_net,
        taux_effort=taux_effort,
        reste_a_vivre_uc_jour=reste,
        surface_par_personne=euros(Decimal(surface) / nb_surface) if surface is not None and nb_surface else None,
        surface_minimale=_surface_minimale(nb_surface, p),
        pieces_max_sans_sous_occupation=nb_surface + p.valeur("adequation.sous_occupation.pieces_en_sus_des_personnes"),
        en_qpv=logement.get("qpv") is not None,
        epci=territoire.epci(logement.get("commune_insee")),
    )


# --- facts ---------------------------------------------------------------------------------------------

def _f(valeur: Decimal | None) -> float | None:
    return None if valeur is None else float(valeur)


def _sans_none(groupe: dict[str, Any]) -> dict[str, Any]:
    """Unknown values (None) stay absent from the facts."""
    return {cle: valeur for cle, valeur in groupe.items() if valeur is not None}


def _situations_a_faux() -> dict[str, bool]:
    return _situations_a_faux_de(racine_active())


@lru_cache(maxsize=8)
def _situations_a_faux_de(racine: Path) -> dict[str, bool]:
    return dict.fromkeys(_codes_situations_de(racine), False)


def _faits(
    dossier: Mapping[str, Any],
    logement: Mapping[str, Any] | None,
    date: dt.date,
    p: Parametres,
    menage: Menage,
    localisation: Localisation,
    ressources: Ressources,
    plafonds: Plafonds,
    adequation: Adequation | None,
) -> dict[str, Any]:
    personnes = dossier["personnes"]
    demandeur = next(x for x in menage.personnes if x.role == DEMANDEUR)
    brute_demandeur = personnes[demandeur.rang - 1]

    depot = dossier.get("date_depot")
    anciennete = expiree = None
    if depot is not None:
        anciennete = mois_entiers(depot, date)
        echeance = ajouter_mois(dossier.get("date_renouvellement") or depot, p.valeur("delais.validite_demande_mois"))
        expiree = date > echeance
    refus = dossier.get("refus") or ()
    motifs = list(dossier.get("motifs") or ())
    demande = _sans_none({
        "numero_unique_present": bool(dossier.get("numero_unique")),
        "anciennete_mois": anciennete,
        "validite_expiree": expiree,
        "statut": dossier.get("statut"),
        "mutation_interne": bool(dossier.get("mutation_interne")),
        "relogement_anru": bool(dossier.get("relogement_anru")),
        "besoin_pmr": bool(dossier.get("besoin_pmr")),
        "motifs": motifs or None,  # an empty list is absent (FAITS.md)
        "nb_refus": len(refus),
        "nb_refus_non_legitimes": sum(1 for r in refus if not r.get("motif_legitime")),
    })
    demandeur_faits = _sans_none({
        "age": demandeur.age,
        "majeur": None if demandeur.age is None else demandeur.age >= p.valeur("menage.age_majorite"),
        "mineur_emancipe": bool(brute_demandeur.get("mineur_emancipe")),
    })
    menage_faits = {
        "residence_reguliere": _residence_reguliere(personnes),
        "residence_reguliere_verifiee": all(
            (b.get("residence_reguliere") or {}).get("verifiee") is True for b in personnes if b["role"] in TITULAIRES
        ),
        "nb_personnes": menage.nb_personnes,
        "nb_personnes_a_charge": menage.nb_personnes_a_charge,
        "categorie": menage.categorie,
        "personnes_supplementaires": menage.personnes_supplementaires,
        "unites_consommation": float(menage.unites_consommation),
        "jeune_menage": menage.jeune_menage,
        "handicap": menage.handicap,
        "parent_isole": menage.parent_isole,
        "couple": menage.couple,
        "nb_mineurs": menage.nb_mineurs,
        "nb_personnes_surface": menage.nb_personnes_surface,
        "fondement_categorie": menage.fondement_categorie,
    }
    ressources_faits = _sans_none({
        "complet": ressources.complet,
        "revenu_retenu": _f(ressources.revenu_retenu),
        "source": ressources.source,
        "annee": ressources.annee,
        "demandeur_seul": ressources.demandeur_seul,
        "mensuelles": float(ressources.mensuelles),
        "annuel_par_uc": _f(ressources.annuel_par_uc),
        "epci": ressources.epci,
        "quartile": ressources.quartile,
    })
    plafonds_faits = _sans_none({
        "zone": plafonds.zone,
        **{financement: float(valeur) for financement, valeur in plafonds.par_financement.items()},
        "applicable": _f(plafonds.applicable),
        "financement_applicable": plafonds.financement_applicable,
    })

    # Priority situations: declared and verified, one boolean per code of the referential.
    situations = _situations_a_faux().copy()
    verifiees = situations.copy()
    for s in dossier.get("situations") or ():
        if s["code"] in situations:
            situations[s["code"]] = True
            verifiees[s["code"]] = bool(s.get("verifiee"))

    actuel = dossier.get("logement_actuel") or {}
    sur_occupe = taux_actuel = None
    if actuel.get("surface") is not None:
        occupants = actuel.get("nb_occupants") or menage.nb_personnes_surface
        sur_occupe = Decimal(actuel["surface"]) < _surface_minimale(occupants, p)
    loyer_actuel = actuel.get("loyer_mensuel")
    if loyer_actuel is not None and ressources.mensuelles > 0:
        # Burden of the current housing (cotation): rent net of the declared housing aid.
        net = max(loyer_actuel - (dossier.get("aide_logement_declaree") or ZERO), ZERO)
        taux_actuel = float(fraction(net / ressources.mensuelles))

    dalo = dossier.get("dalo") or {}
    designation = dalo.get("date_designation")
    labels = dossier.get("labels") or {}
    accompagnement = dossier.get("accompagnement") or {}
    politique = dict(p.memorise(("politique", menage.nb_personnes_surface), lambda q: _politique(menage.nb_personnes_surface, q)))

    faits: dict[str, Any] = {
        "date_evaluation": date.isoformat(),
        "demande": demande,
        "demandeur": demandeur_faits,
        "menage": menage_faits,
        "ressources": ressources_faits,
        "plafonds": plafonds_faits,
        "situations": situations,
        "situations_verifiees": verifiees,
        "logement_actuel": _sans_none({"modele": actuel.get("modele"), "sur_occupe": sur_occupe, "taux_effort": taux_actuel}),
        "dalo": {
            "decision_favorable": dalo.get("statut") == DALO_ACTIF,
            "designe_prefet": designation is not None and designation <= date,
        },
        "labels": {"pdalhpd": bool(labels.get("pdalhpd")), "siao": bool(labels.get("siao"))},
        "accompagnement": {"avdl": bool(accompagnement.get("avdl")), "fsl": bool(accompagnement.get("fsl"))},
        "politique": politique,
    }
    if logement is not None and adequation is not None:
        surface = logement.get("surface_habitable")
        faits["logement"] = _sans_none({
            "financement": logement.get("financement"),
            "plai_adapte": bool(logement.get("plai_adapte")),
            "typologie": logement.get("typologie"),
            "nb_pieces": logement.get("nb_pieces"),
            "surface_habitable": None if surface is None else float(euros(Decimal(surface))),
            "etage": logement.get("etage"),
            "ascenseur": bool(logement.get("ascenseur")),
            "accessible_pmr": bool(logement.get("accessible_pmr")),
            "en_qpv": adequation.en_qpv,
            "epci": adequation.epci,
        })
        faits["adequation"] = _sans_none({
            "surface_minimale": float(adequation.surface_minimale),
            "pieces_max_sans_sous_occupation": adequation.pieces_max_sans_sous_occupation,
            "taux_effort": _f(adequation.taux_effort),
            "reste_a_vivre_uc_jour": _f(adequation.reste_a_vivre_uc_jour),
            "surface_par_personne": _f(adequation.surface_par_personne),
            "cout_mensuel": float(adequation.cout_mensuel),
            "aide_logement": float(adequation.aide_logement),
            "source_aide_logement": adequation.source_aide_logement,
            "cout_net_mensuel": float(adequation.cout_net_mensuel),
        })
    # Groups left empty (nothing known) are dropped.
    return {cle: valeur for cle, valeur in faits.items() if valeur != {}}


def _politique(nb_personnes_surface: int, p: Parametres) -> dict[str, Any]:
    """The local policy facts: alert thresholds, and the rooms band for the household size."""
    politique: dict[str, Any] = {
        "taux_effort_alerte": float(p.valeur("politique.taux_effort_alerte")),
        "reste_a_vivre_min_uc_jour": float(p.valeur("politique.reste_a_vivre_min_uc_jour")),
    }
    bande = bande_typologie(nb_personnes_surface, p)
    if bande is not None:
        politique["typologie_pieces_min"], politique["typologie_pieces_max"] = bande
    return politique


def _residence_reguliere(personnes: Sequence[Mapping[str, Any]]) -> str:
    """`oui` when every titulaire's answer is yes, `non` when one is no, else `non_renseignee`.

    A verified answer prevails over the declared one; nationality is never used.
    """
    reponses = []
    for brute in personnes:
        if brute["role"] in TITULAIRES:
            residence = brute.get("residence_reguliere") or {}
            verifiee = residence.get("verifiee")
            reponses.append(verifiee if verifiee is not None else residence.get("declaree"))
    if any(r is False for r in reponses):
        return "non"
    if reponses and all(r is True for r in reponses):
        return "oui"
    return "non_renseignee"
