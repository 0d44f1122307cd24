"""A year of CALEOL history: séances every two weeks, candidatures, R441-3 decisions and attributions.

The history is planned before the households are drawn: each attributed dwelling gets a réservataire
(to meet the flux shares of the conventions) and a public (DALO, sortant d'hébergement, sans-abri,
other prioritaire, ordinaire) chosen so that the shares of the year's attributions follow the DREAL
bilan; the households are then drawn to fit (see menages.Consigne).
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from ..models import ModeSeance, StatutOffre, StatutSeance, TypeDecision
from .menages import Consigne
from .patrimoine import ACTION_LOGEMENT, BAILLEUR, COLLECTIVITE, ETAT_FONCTIONNAIRES, ETAT_PRIORITAIRES, LogementDemo, Partenaires
from .referentiel import Referentiel
from .tirage import Choix, entier_entre, jours

CLASSES = ("dalo", "sortant_hebergement", "sans_abri", "prioritaire", "ordinaire")
TYPES_RESERVATAIRES = (ETAT_PRIORITAIRES, ETAT_FONCTIONNAIRES, ACTION_LOGEMENT, COLLECTIVITE, BAILLEUR)


@dataclass
class SeanceDemo:
    id: int
    commission: str
    date: dt.date
    future: bool = False
    examens: list[Examen] = field(default_factory=list)


@dataclass
class Examen:
    """One dwelling examined at a séance, with its ranked candidates (dossier indices)."""

    logement: LogementDemo
    type_reservataire: str
    classe: str
    issue: str
    candidats: list[int] = field(default_factory=list)
    attributaire: int = 0  # position in `candidats` of the household that signs
    date_signature: dt.date | None = None
    refus: dict[str, Any] | None = None  # the refusal of rank 1 (issue classement_refus_rang_1)


def _jour_semaine(d: dt.date, jour: int, avant: bool = True) -> dt.date:
    ecart = (d.weekday() - jour) % 7
    return d - dt.timedelta(days=ecart) if avant else d + dt.timedelta(days=(jour - d.weekday()) % 7)


def calendrier(ref: Referentiel, date: dt.date) -> list[SeanceDemo]:
    """Past séances of each commission over the 12 months before the date, and one séance to come."""
    p = ref.parametres
    seances: list[SeanceDemo] = []
    debut = date - dt.timedelta(days=365)
    for cle, c in p["commissions"].items():
        d = _jour_semaine(jours(date, -c["decalage_jours"]), c["jour_semaine"])
        while d > debut:
            seances.append(SeanceDemo(0, cle, d))
            d = jours(d, -p["periodicite_seances_jours"])
    seances.sort(key=lambda s: (s.date, s.commission))
    premiere = next(iter(p["commissions"]))
    future = _jour_semaine(jours(date, p["seance_future_delai_jours"]), p["commissions"][premiere]["jour_semaine"], avant=False)
    seances.append(SeanceDemo(0, premiere, future, future=True))
    for i, s in enumerate(seances):
        s.id = i + 1
    return seances


class Planificateur:
    """Chooses, dwelling after dwelling, the réservataire and the public that keep the year on target."""

    def __init__(self, ref: Referentiel, parts_flux: dict[str, float]) -> None:
        parts = ref.parts_attributions
        prioritaires_autres = max(parts["prioritaires"] - parts["dalo"] - parts["sortants_hebergement"] - parts["sans_abri"], 0.0)
        self.cibles_classes = {
            "dalo": parts["dalo"],
            "sortant_hebergement": parts["sortants_hebergement"],
            "sans_abri": parts["sans_abri"],
            "prioritaire": prioritaires_autres,
        }
        self.cibles_classes["ordinaire"] = 1 - sum(self.cibles_classes.values())
        self.cible_q1 = parts["q1"]
        self.parts_flux = parts_flux
        self.n = 0
        self.classes = dict.fromkeys(CLASSES, 0)
        self.reservataires = dict.fromkeys(TYPES_RESERVATAIRES, 0)
        self.q1 = 0
        p = ref.parametres
        self.quartiles_prioritaires = Choix({int(k): v for k, v in p["quartiles_prioritaires"].items()})
        self.quartiles_autres = Choix({int(k): v for k, v in p["quartiles_non_q1"].items()})

    def _deficit(self, cibles: dict[str, float], comptes: dict[str, int], cle: str) -> float:
        return cibles[cle] * (self.n + 1) - comptes[cle]

    def suivant(self, r: random.Random) -> tuple[str, str, int]:
        type_res = max(TYPES_RESERVATAIRES, key=lambda t: self._deficit(self.parts_flux, self.reservataires, t))
        if type_res == ETAT_PRIORITAIRES:
            candidates = ("dalo", "sortant_hebergement", "sans_abri", "prioritaire")
        elif type_res == ETAT_FONCTIONNAIRES:
            candidates = ("ordinaire",)
        else:
            candidates = ("sortant_hebergement", "sans_abri", "prioritaire", "ordinaire")
        classe = max(candidates, key=lambda c: self._deficit(self.cibles_classes, self.classes, c))
        if self._deficit(self.cibles_classes, self.classes, classe) <= 0 and classe != "ordinaire":
            # No priority household needed this turn: the dwelling goes back to the bailleur's usual course.
            classe = "ordinaire"
        if classe == "ordinaire":
            quartile = 1 if self.q1 < self.cible_q1 * (self.n + 1) else self.quartiles_autres.tirer(r)
        else:
            quartile = self.quartiles_prioritaires.tirer(r)
        self.n += 1
        self.classes[classe] += 1
        self.reservataires[type_res] += 1
        self.q1 += quartile == 1
        return type_res, classe, quartile


def planifier(
    ref: Referentiel, r: random.Random, date: dt.date, nb_dossiers: int, logements: list[LogementDemo], partenaires: Partenaires
) -> tuple[list[SeanceDemo], dict[int, Consigne]]:
    """The séances, what was examined at each, and the households (dossier index → consigne) they need."""
    p = ref.parametres
    seances = calendrier(ref, date)
    passees = [s for s in seances if not s.future]
    territoires = p["territoires"]
    par_commission: dict[str, list[LogementDemo]] = {}
    for lg in logements:
        par_commission.setdefault(territoires[lg.epci]["commission"], []).append(lg)
    nb_candidats = p["candidats_par_logement"]
    # At most a third of the dossiers are needed by the history (small demo databases).
    voulu = round(len(logements) * p["taux_rotation_annuel"])
    nb_attributions = max(0, min(voulu, nb_dossiers // (2 * nb_candidats)))
    total = sum(len(v) for v in par_commission.values()) or 1
    planificateur = Planificateur(ref, partenaires.parts_flux)
    issues = Choix(p["issues_examen"])
    # Attributions per séance: the commission's share of the year, spread evenly over its séances.
    quotas: dict[int, int] = {}
    for cle in p["commissions"]:
        siennes = [s for s in passees if s.commission == cle]
        if not siennes:
            continue
        n = round(nb_attributions * len(par_commission.get(cle, [])) / total)
        for i, s in enumerate(siennes):
            quotas[s.id] = n // len(siennes) + (1 if i < n % len(siennes) else 0)
    disponibles = {cle: sorted(v, key=lambda lg: lg.id) for cle, v in par_commission.items()}
    for liste in disponibles.values():
        r.shuffle(liste)
    consignes_a_placer: list[Consigne] = []
    for s in passees:
        for _ in range(quotas.get(s.id, 0)):
            if not disponibles.get(s.commission):
                break
            lg = disponibles[s.commission].pop()
            type_res, classe, quartile = planificateur.suivant(r)
            designe = classe == "dalo"
            issue = "designation_dalo" if designe else issues.tirer(r)
            delai = entier_entre(r, p["delai_signature_bail_jours"])
            if issue == "sous_condition":
                delai += p["delai_condition_jours"]
            signature = jours(s.date, delai)
            examen = Examen(lg, type_res, classe, issue, date_signature=signature if signature <= date else None)
            limite = jours(s.date, -30)
            attribue = Consigne(
                epci=lg.epci, typologie=lg.typologie, date_limite_depot=limite, annee_seuils=s.date.year, classe=classe,
                quartile=quartile, date_decision=s.date, date_signature=examen.date_signature, designe_dalo=designe,
                fonctionnaire=type_res == ETAT_FONCTIONNAIRES,
            )
            autres: list[Consigne] = []
            if not designe:
                for _ in range(nb_candidats - 1):
                    autres.append(Consigne(epci=lg.epci, typologie=lg.typologie, date_limite_depot=limite, annee_seuils=s.date.year))
            if issue == "classement_refus_rang_1":
                autres[0].refus = {
                    "date": jours(s.date, entier_entre(r, p["delai_refus_jours"])).isoformat(),
                    "logement_reference": lg.reference,
                    "motif": p["motifs_refus"][r.randrange(len(p["motifs_refus"]))],
                    "motif_legitime": r.random() < 0.5,
                }
                ordre = [autres[0], attribue, *autres[1:]]
                examen.attributaire = 1
                examen.refus = autres[0].refus
            else:
                if issue == "irrecevabilite":
                    autres[-1].au_dessus_plafond = True
                ordre = [attribue, *autres]
            examen.candidats = list(range(len(consignes_a_placer), len(consignes_a_placer) + len(ordre)))
            consignes_a_placer.extend(ordre)
            s.examens.append(examen)
    # Spread the needed households among the dossier indices (not all at the start of the file).
    positions = sorted(r.sample(range(nb_dossiers), len(consignes_a_placer)))
    r.shuffle(positions)
    consignes = {positions[i]: c for i, c in enumerate(consignes_a_placer)}
    for s in passees:
        for examen in s.examens:
            examen.candidats = [positions[i] for i in examen.candidats]
    return seances, consignes


def marquer_vacants(ref: Referentiel, r: random.Random, date: dt.date, logements: list[LogementDemo], seances: list[SeanceDemo]) -> None:
    """About a tenth of the stock is vacant (freed recently or soon), never a dwelling just attributed."""
    p = ref.parametres
    attribues = {e.logement.id for s in seances for e in s.examens}
    libres = [lg for lg in logements if lg.id not in attribues]
    for lg in r.sample(libres, min(len(libres), round(len(logements) * p["part_logements_vacants"]))):
        lg.statut = "vacant"
        lg.date_liberation = jours(date, entier_entre(r, p["liberation_vacants_jours"]))


def lignes_historique(
    ref: Referentiel,
    r: random.Random,
    seances: list[SeanceDemo],
    partenaires: Partenaires,
    indicateurs: dict[int, dict[str, Any]],
    date_reference: dt.date,
) -> dict[str, list[tuple]]:
    """Commissions, séances, members, candidatures, decisions, attributions and offers (local ids)."""
    p = ref.parametres
    noms = ref.noms
    lignes: dict[str, list[tuple]] = {
        t: [] for t in ("commission", "seance", "membre_seance", "candidature", "decision", "attribution", "offre")}
    id_commission: dict[str, int] = {}
    for cle, c in p["commissions"].items():
        id_commission[cle] = len(lignes["commission"]) + 1
        lignes["commission"].append((id_commission[cle], partenaires.id_bailleur, c["nom"], c["territoire"]))
    uid = partenaires.id_utilisateur
    nom = partenaires.nom_utilisateur
    president = uid.get("presidence")
    motifs_na = list(p["motifs_non_attribution"])
    motifs_rej = list(p["motifs_irrecevabilite"])

    def nom_fictif() -> str:
        sexe = "prenoms_femmes" if r.random() < 0.5 else "prenoms_hommes"
        return f"{noms[sexe][r.randrange(len(noms[sexe]))]} {noms['noms'][r.randrange(len(noms['noms']))]}"

    for s in seances:
        mode = ModeSeance.DEMATERIALISEE.value if r.random() < p["part_seances_dematerialisees"] else ModeSeance.PHYSIQUE.value
        statut = StatutSeance.PLANIFIEE.value if s.future else StatutSeance.CLOSE.value
        lignes["seance"].append((s.id, id_commission[s.commission], s.date, mode, statut, 3, None, 1))
        metropole = p["commissions"][s.commission]["territoire"]
        membres = [
            (president, nom.get("presidence") or nom_fictif(), "Président(e) de la commission", True),
            (uid.get("membre.commission"), nom.get("membre.commission") or nom_fictif(), "Représentant(e) du bailleur", True),
            (None, nom_fictif(), "Représentant(e) du bailleur", True),
            (None, nom_fictif(), "Représentant(e) du bailleur", True),
            (None, nom_fictif(), "Représentant(e) du bailleur", True),
            (None, nom_fictif(), "Représentant(e) des locataires", True),
            (uid.get("etat.ddets"), nom.get("etat.ddets") or nom_fictif(), "Représentant(e) du préfet", True),
            (uid.get("epci.mel") if metropole else None, (nom.get("epci.mel") if metropole else None) or nom_fictif(),
             "Représentant(e) du président de l'EPCI", True),
            (None, nom_fictif(), "Maire de la commune ou son représentant", True),
            (None, nom_fictif(), "Association d'insertion (voix consultative)", False),
        ]
        for k, (utilisateur, nom_membre, qualite, voix) in enumerate(membres):
            present = True if s.future or k == 0 else r.random() < p["part_membres_presents"]
            lignes["membre_seance"].append((len(lignes["membre_seance"]) + 1, s.id, utilisateur, nom_membre, qualite, voix, present))
        decide_le = dt.datetime.combine(s.date, dt.time(9, 30), tzinfo=dt.UTC)
        for e in s.examens:
            decisions_examen: list[tuple[int, int | None, str | None, dt.date | None]] = []
            if e.type_reservataire == COLLECTIVITE:
                id_res = partenaires.id_reservataire[f"{COLLECTIVITE}:{e.logement.epci}"]
            else:
                id_res = partenaires.id_reservataire[e.type_reservataire]
            for rang, index in enumerate(e.candidats):
                id_cand = len(lignes["candidature"]) + 1
                lignes["candidature"].append((id_cand, s.id, e.logement.id, index + 1, rang + 1, id_res))
                attributaire = rang == e.attributaire
                type_, rang_dec, motifs, piece, limite = TypeDecision.NON_ATTRIBUTION.value, None, [], None, None
                if e.issue in ("classement", "classement_refus_rang_1"):
                    type_, rang_dec = TypeDecision.ATTRIBUTION_RANG.value, rang + 1
                elif attributaire and e.issue == "sous_condition":
                    type_ = TypeDecision.ATTRIBUTION_SOUS_CONDITION.value
                    piece = p["pieces_manquantes"][r.randrange(len(p["pieces_manquantes"]))]
                    limite = jours(s.date, p["delai_condition_jours"])
                elif attributaire:
                    type_ = TypeDecision.ATTRIBUTION.value
                elif e.issue == "irrecevabilite" and rang == len(e.candidats) - 1:
                    type_, motifs = TypeDecision.REJET_IRRECEVABILITE.value, [motifs_rej[0]]
                else:
                    motifs = [motifs_na[0] if r.random() < 0.7 else motifs_na[r.randrange(len(motifs_na))]]
                id_dec = len(lignes["decision"]) + 1
                lignes["decision"].append((id_dec, id_cand, s.id, e.logement.id, type_, rang_dec, motifs, piece, limite, None, None, president, decide_le))
                decisions_examen.append((id_dec, rang_dec, piece, limite))
                if attributaire:
                    faits = dict(indicateurs[index])
                    faits.update(en_qpv=e.logement.en_qpv, epci=e.logement.epci)
                    lignes["attribution"].append((len(lignes["attribution"]) + 1, id_dec, e.logement.id, index + 1, id_res,
                                                  s.date, e.date_signature, faits))
            lignes["offre"].extend(_offres(p, s, e, decisions_examen, date_reference, decide_le, len(lignes["offre"])))
    return lignes


def _offres(p: dict[str, Any], s: SeanceDemo, e: Examen, decisions: list[tuple], date: dt.date, cree_le: dt.datetime,
            dernier_id: int) -> list[tuple]:
    """The offers of one examined dwelling (webapp/services/offres.py), in the state they are in at `date`:
    a refused first rank when the issue says so, then the attributaire's offer, answered and signed as the
    history says. Derived from the history only (no random draw: the rest of the demo is unchanged)."""
    from ..services.offres import delai_reponse

    lignes = []

    def offre(position: int, statut: StatutOffre, emission: dt.date | None, *, piece: tuple = (None, None, None),
              reponse: dt.date | None = None, motif: str | None = None, fin: dt.date | None = None) -> None:
        id_dec, rang, _piece, _limite = decisions[position]
        limite = emission + dt.timedelta(days=delai_reponse(emission)) if emission else None
        lignes.append((dernier_id + len(lignes) + 1, id_dec, s.id, e.logement.id, e.candidats[position] + 1, rang,
                       statut.value, emission, limite, piece[0], piece[1], piece[2], reponse, motif, None, fin, None, cree_le))

    emission = s.date
    if e.refus is not None:
        refus = dt.date.fromisoformat(e.refus["date"])
        offre(0, StatutOffre.REFUSEE, s.date, reponse=refus, motif=p["codes_motifs_refus"][e.refus["motif"]], fin=refus)
        emission = refus
    position = e.attributaire
    _id, _rang, piece, limite_piece = decisions[position]
    pieces: tuple = (None, None, None)
    if piece is not None:
        if e.date_signature is None and date <= limite_piece:
            offre(position, StatutOffre.ATTENTE_PIECE, None, piece=(piece, limite_piece, None))
            return lignes
        emission = limite_piece
        pieces = (piece, limite_piece, limite_piece)
    echeance = emission + dt.timedelta(days=delai_reponse(emission))
    if e.date_signature is not None:
        offre(position, StatutOffre.BAIL_SIGNE, emission, piece=pieces, reponse=min(echeance, e.date_signature),
              fin=e.date_signature)
    elif date <= echeance:
        offre(position, StatutOffre.EN_COURS, emission, piece=pieces)
    else:
        offre(position, StatutOffre.ACCEPTEE, emission, piece=pieces, reponse=echeance)
    return lignes
