"""The demo bailleur, its partners (organisations, users, réservataires, flux conventions) and its stock."""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..models import Financement, ModeReservation, Role, StatutLogement, TypeOrganisation, TypeReservataire
from .referentiel import QpvDemo, Referentiel
from .tirage import Choix, entier_entre, entre, euros

ETAT_PRIORITAIRES = TypeReservataire.ETAT_PRIORITAIRES.value
ETAT_FONCTIONNAIRES = TypeReservataire.ETAT_FONCTIONNAIRES.value
ACTION_LOGEMENT = TypeReservataire.ACTION_LOGEMENT.value
COLLECTIVITE = TypeReservataire.COLLECTIVITE.value
BAILLEUR = TypeReservataire.BAILLEUR.value


@dataclass(slots=True)
class LogementDemo:
    id: int
    residence_id: int
    reference: str
    typologie: str
    epci: str
    en_qpv: bool
    statut: str = StatutLogement.OCCUPE.value
    date_liberation: dt.date | None = None
    ligne: list[Any] | None = None


@dataclass
class Partenaires:
    organisations: list[tuple]
    utilisateurs: list[tuple]
    reservataires: list[tuple]
    conventions: list[tuple]
    id_bailleur: int
    # local user id by identifiant, réservataire id by kind (collectivités by EPCI SIREN).
    id_utilisateur: dict[str, int]
    nom_utilisateur: dict[str, str]
    id_reservataire: dict[str, int]
    parts_flux: dict[str, float]


def partenaires(ref: Referentiel, r: random.Random, annee: int, hacher) -> Partenaires:
    """Organisations of each kind, one user per role, réservataires and their flux conventions."""
    p = ref.parametres
    organisations: list[tuple] = []
    ids: dict[str, int] = {}

    def organisation(cle: str, nom: str, type_: TypeOrganisation, siren: str | None = None, epci: str | None = None) -> None:
        ids[cle] = len(organisations) + 1
        organisations.append((ids[cle], nom, type_.value, siren, epci))

    organisation("bailleur", p["bailleur"]["nom"], TypeOrganisation.BAILLEUR, p["bailleur"]["siren"])
    organisation("etat", p["organisations"]["etat"], TypeOrganisation.ETAT)
    organisation("action_logement", p["organisations"]["action_logement"], TypeOrganisation.RESERVATAIRE)
    noms_epci = ref.noms_epci
    for siren in p["territoires"]:
        organisation(f"epci:{siren}", noms_epci[siren], TypeOrganisation.EPCI, siren, siren)

    utilisateurs: list[tuple] = []
    id_utilisateur: dict[str, int] = {}
    for u in p["utilisateurs"]:
        role = Role(u["role"]).value
        id_utilisateur[u["identifiant"]] = len(utilisateurs) + 1
        utilisateurs.append((len(utilisateurs) + 1, u["identifiant"], u["nom_affiche"], hacher(p["mot_de_passe_demo"]),
                             role, ids[u["organisation"]], True))

    reservataires: list[tuple] = []
    id_reservataire: dict[str, int] = {}
    conf = p["reservataires"]

    def reservataire(cle: str, nom: str, type_: str, organisation_id: int) -> None:
        id_reservataire[cle] = len(reservataires) + 1
        reservataires.append((id_reservataire[cle], nom, TypeReservataire(type_).value, organisation_id))

    reservataire(ETAT_PRIORITAIRES, conf[ETAT_PRIORITAIRES]["nom"], ETAT_PRIORITAIRES, ids["etat"])
    reservataire(ETAT_FONCTIONNAIRES, conf[ETAT_FONCTIONNAIRES]["nom"], ETAT_FONCTIONNAIRES, ids["etat"])
    reservataire(ACTION_LOGEMENT, conf[ACTION_LOGEMENT]["nom"], ACTION_LOGEMENT, ids["action_logement"])
    for siren in p["territoires"]:
        reservataire(f"{COLLECTIVITE}:{siren}", f"{noms_epci[siren]} (réservataire)", COLLECTIVITE, ids[f"epci:{siren}"])
    reservataire(BAILLEUR, conf[BAILLEUR]["nom"], BAILLEUR, ids["bailleur"])

    # Shares of the annual flux (demonstration values); the bailleur keeps the remainder.
    parts = {k: float(conf[k]["part_flux"]) for k in (ETAT_PRIORITAIRES, ETAT_FONCTIONNAIRES, ACTION_LOGEMENT, COLLECTIVITE)}
    parts[BAILLEUR] = round(1 - sum(parts.values()), 4)
    if parts[BAILLEUR] < 0:
        raise ValueError("parametres_demo.yaml : la somme des parts de flux des réservataires dépasse 100 %.")
    departements = sorted({ref.communes_par_epci[s][0].departement for s in p["territoires"]})
    conventions: list[tuple] = []
    for an in (annee - 1, annee):
        for cle in (ETAT_PRIORITAIRES, ETAT_FONCTIONNAIRES, ACTION_LOGEMENT, BAILLEUR):
            for dep in departements:
                signature = dt.date(an - 1, 12, r.randint(1, 20))
                conventions.append((len(conventions) + 1, id_reservataire[cle], ids["bailleur"], dep, an,
                                    Decimal(str(parts[cle])).quantize(Decimal("0.0001")), signature))
        for siren in p["territoires"]:
            signature = dt.date(an - 1, 12, r.randint(1, 20))
            conventions.append((len(conventions) + 1, id_reservataire[f"{COLLECTIVITE}:{siren}"], ids["bailleur"], siren, an,
                                Decimal(str(parts[COLLECTIVITE])).quantize(Decimal("0.0001")), signature))
    noms = {u["identifiant"]: u["nom_affiche"] for u in p["utilisateurs"]}
    return Partenaires(
        organisations, utilisateurs, reservataires, conventions, ids["bailleur"], id_utilisateur, noms, id_reservataire, parts
    )


# --- stock -----------------------------------------------------------------------------------------

def _dans_anneau(x: float, y: float, anneau: tuple[tuple[float, float], ...]) -> bool:
    dedans = False
    j = len(anneau) - 1
    for i in range(len(anneau)):
        xi, yi = anneau[i]
        xj, yj = anneau[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            dedans = not dedans
        j = i
    return dedans


def _point_dans(r: random.Random, qpv: QpvDemo) -> tuple[float, float] | None:
    if not qpv.anneaux:
        return None
    anneau = qpv.anneaux[r.randrange(len(qpv.anneaux))]
    xs = [x for x, _ in anneau]
    ys = [y for _, y in anneau]
    for _ in range(200):
        x, y = entre(r, (min(xs), max(xs))), entre(r, (min(ys), max(ys)))
        if _dans_anneau(x, y, anneau):
            return round(y, 6), round(x, 6)
    return None


def _point_hors(r: random.Random, qpvs: list[QpvDemo]) -> tuple[float, float] | None:
    """A point near the commune's QPVs but outside all of them (the only coordinates we hold)."""
    anneaux = [a for q in qpvs for a in q.anneaux]
    if not anneaux:
        return None
    xs = [x for a in anneaux for x, _ in a]
    ys = [y for a in anneaux for _, y in a]
    marge = 0.012
    for _ in range(200):
        x = entre(r, (min(xs) - marge, max(xs) + marge))
        y = entre(r, (min(ys) - marge, max(ys) + marge))
        if not any(_dans_anneau(x, y, a) for a in anneaux):
            return round(y, 6), round(x, 6)
    return None


def patrimoine(ref: Referentiel, r: random.Random, nb_logements: int, id_bailleur: int) -> tuple[list[tuple], list[LogementDemo]]:
    """Résidences in real communes (in and out of QPV) and their logements, all occupied at first."""
    p = ref.parametres
    noms = ref.noms
    poids = {e: t["poids_logements"] for e, t in p["territoires"].items()}
    total_poids = sum(poids.values())
    cibles = {e: int(nb_logements * w / total_poids) for e, w in poids.items()}
    reste = nb_logements - sum(cibles.values())
    for e in sorted(poids, key=lambda e: -poids[e])[:reste]:
        cibles[e] += 1
    typologies = Choix(p["typologies"])
    typologies_individuel = Choix(p["typologies_individuel"])
    financements = Choix(p["financements"])
    # Individual houses are never in QPV here: raise the collective buildings' chance to keep the share.
    moyennes = {k: sum(v) / 2 for k, v in p["logements_par_residence"].items()}
    pi = p["part_residences_individuelles"]
    part_collectif = (1 - pi) * moyennes["collectif"] / ((1 - pi) * moyennes["collectif"] + pi * moyennes["individuel"])
    chance_qpv = min(1.0, p["part_logements_en_qpv"] / part_collectif)
    anciens = p["financement_ancien"]
    accessibilite = p["accessibilite"]
    qpv_par_commune: dict[str, list[QpvDemo]] = {}
    for qpvs in ref.qpv_par_epci.values():
        for q in qpvs:
            for c in q.communes:
                qpv_par_commune.setdefault(c, []).append(q)
    prefixe = p["bailleur"]["prefixe_reference"]
    residences: list[tuple] = []
    logements: list[LogementDemo] = []
    for epci in sorted(cibles):
        communes = ref.communes_par_epci[epci]
        choix_commune = Choix([(c, c.population) for c in communes])
        qpvs = ref.qpv_par_epci[epci]
        restant = cibles[epci]
        while restant > 0:
            individuel = r.random() < p["part_residences_individuelles"]
            taille = min(restant, entier_entre(r, p["logements_par_residence"]["individuel" if individuel else "collectif"]))
            en_qpv = bool(qpvs) and not individuel and r.random() < chance_qpv
            qpv = qpvs[r.randrange(len(qpvs))] if en_qpv else None
            if qpv is not None:
                commune = ref.communes[qpv.communes[r.randrange(len(qpv.communes))]]
                point = _point_dans(r, qpv)
                annee = entier_entre(r, p["annees_construction"]["qpv"])
            else:
                commune = choix_commune.tirer(r)
                point = _point_hors(r, qpv_par_commune.get(commune.code_insee, []))
                annee = entier_entre(r, p["annees_construction"]["individuel" if individuel else "hors_qpv"])
            id_residence = len(residences) + 1
            nom = noms["residences"][r.randrange(len(noms["residences"]))]
            adresse = f"{r.randint(1, 120)} {noms['voies'][r.randrange(len(noms['voies']))]}"
            residences.append((id_residence, id_bailleur, f"Résidence {nom}", adresse, commune.code_insee,
                               qpv.code if qpv else None, annee, point[0] if point else None, point[1] if point else None))
            etages = 0 if individuel else entier_entre(r, p["etages_collectif"])
            recent = p["ascenseur_recent"]
            ascenseur = not individuel and (etages >= p["ascenseur_a_partir_de_etages"] or (annee >= recent["annee"] and etages >= recent["etages"]))
            for k in range(taille):
                typologie = (typologies_individuel if individuel else typologies).tirer(r)
                etage = 0 if individuel else r.randint(0, etages)
                if individuel:
                    reference = f"{prefixe}-{id_residence:04d}-M{k + 1:02d}"
                else:
                    reference = f"{prefixe}-{id_residence:04d}-{'ABCD'[k % 4]}{etage}{k // 4 + 1:02d}"
                financement = Financement.PLUS.value if annee < anciens["avant"] and r.random() < anciens["part_plus"] else financements.tirer(r)
                plai_adapte = financement == Financement.PLAI.value and typologie in ("T1", "T2", "T3") and r.random() < p["part_plai_adapte"]
                bornes = p["surfaces_m2"][typologie]
                surface = round(entre(r, bornes), 1)
                accessible = (etage == 0 or ascenseur) and (annee >= accessibilite["annee"] or r.random() < accessibilite["part_anciens"])
                loyer = euros(surface * entre(r, p["loyer_m2"][financement]))
                annexes = euros(entre(r, p["annexes"]["montant"])) if r.random() < p["annexes"]["part"] else 0.0
                charges = euros(surface * entre(r, p["charges_m2"]))
                travaux = euros(entre(r, p["contribution_travaux"]["montant"])) if r.random() < p["contribution_travaux"]["part"] else 0.0
                logement = LogementDemo(len(logements) + 1, id_residence, reference, typologie, epci, qpv is not None)
                logement.ligne = [
                    logement.id, id_residence, reference, typologie, int(typologie[1]), surface, etage, ascenseur, accessible,
                    financement, plai_adapte, loyer, annexes, charges, travaux, None, None, ModeReservation.FLUX.value, None,
                ]
                logements.append(logement)
            restant -= taille
    return residences, logements


def lignes_logements(logements: list[LogementDemo]) -> list[tuple]:
    lignes = []
    for lg in logements:
        ligne = list(lg.ligne or [])
        ligne[15] = lg.statut
        ligne[16] = lg.date_liberation
        lignes.append(tuple(ligne))
    return lignes
