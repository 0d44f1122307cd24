"""Rows of the demo, table by table, as tuples in a fixed column order, with ids local to the load.

Ids and foreign keys are positions in the generated lists (1, 2, 3…): the content hash is computed on
these rows, so it does not depend on the database or its backend. The writer adds each table's offset.
The dossier → rows conversion mirrors webapp.services.dossiers.appliquer_dossier column for column.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

COLONNES: dict[str, tuple[str, ...]] = {
    "organisation": ("id", "nom", "type", "siren", "epci_siren"),
    "utilisateur": ("id", "identifiant", "nom_affiche", "mot_de_passe_hash", "role", "organisation_id", "actif"),
    "reservataire": ("id", "nom", "type", "organisation_id"),
    "convention_reservation": ("id", "reservataire_id", "bailleur_id", "territoire", "annee", "part_flux", "date_signature"),
    "residence": ("id", "bailleur_id", "nom", "adresse", "code_insee", "qpv_code", "annee_construction", "latitude", "longitude"),
    "logement": (
        "id", "residence_id", "reference", "typologie", "nb_pieces", "surface_habitable", "etage", "ascenseur",
        "accessible_pmr", "financement", "plai_adapte", "loyer_principal", "loyer_annexes", "charges_recuperables",
        "contribution_travaux", "statut", "date_liberation", "mode_reservation", "reservataire_stock_id",
    ),
    "demande": (
        "id", "numero_unique", "date_depot", "date_renouvellement", "date_mise_a_jour", "statut", "motif_radiation",
        "date_radiation", "adresse", "code_postal", "commune_adresse", "telephone", "courriel", "typologies_souhaitees",
        "communes_souhaitees", "motifs", "mutation_interne", "relogement_anru", "besoin_pmr", "logement_actuel_modele",
        "logement_actuel_typologie", "logement_actuel_loyer", "logement_actuel_surface", "logement_actuel_nb_pieces",
        "logement_actuel_nb_occupants", "logement_actuel_commune", "logement_actuel_proprietaire", "dalo_date_decision",
        "dalo_statut", "dalo_date_designation", "label_pdalhpd", "label_siao", "accompagnement_avdl",
        "accompagnement_fsl", "aide_logement_declaree",
    ),
    "personne": (
        "id", "demande_id", "ordre", "role", "lien_cotitulaire", "nom", "prenom", "nom_naissance", "sexe",
        "date_naissance", "date_naissance_prevue", "lien_parente", "situation_familiale", "nationalite",
        "residence_reguliere_declaree", "residence_reguliere_verifiee", "mineur_emancipe", "handicap_cmi_invalidite",
        "handicap_details", "situation_professionnelle", "profession", "ressources_12_mois", "procedure_divorce",
        "dissolution_pacs", "ordonnance_protection",
    ),
    "ressource": ("id", "personne_id", "sens", "code", "montant_mensuel"),
    "revenu_fiscal": ("id", "personne_id", "annee", "montant", "avis"),
    "situation_prioritaire": ("id", "demande_id", "code", "verifiee", "date_verification", "verifiee_par"),
    "refus_offre": ("id", "demande_id", "date_refus", "logement_reference", "motif", "motif_legitime", "details"),
    # The wishes of each demande, one row per value, for the indexed SQL pre-selection.
    "souhait_typologie": ("demande_id", "typologie"),
    "souhait_commune": ("demande_id", "code_insee"),
    "commission": ("id", "bailleur_id", "nom", "territoire"),
    "seance": ("id", "commission_id", "date_seance", "mode", "statut", "quorum", "version_regles", "version"),
    "membre_seance": ("id", "seance_id", "utilisateur_id", "nom", "qualite", "voix_deliberative", "present"),
    "candidature": ("id", "seance_id", "logement_id", "demande_id", "rang_propose", "reservataire_id"),
    "decision": (
        "id", "candidature_id", "seance_id", "logement_id", "type", "rang", "motifs", "piece_manquante", "date_limite_condition", "justification",
        "version_regles", "decide_par_id", "decide_le",
    ),
    "attribution": (
        "id", "decision_id", "logement_id", "demande_id", "reservataire_id", "date_decision", "date_signature_bail",
        "indicateurs",
    ),
    "offre": (
        "id", "decision_id", "seance_id", "logement_id", "demande_id", "rang", "statut", "date_emission",
        "date_limite_reponse", "piece_attendue", "date_limite_piece", "date_piece_recue", "date_reponse", "motif_refus",
        "commentaire", "date_fin", "seance_reinscription_id", "cree_le",
    ),
}

# Foreign keys to tables written by the demo: (table, column) → referenced table.
REFERENCES: dict[tuple[str, str], str] = {
    ("utilisateur", "organisation_id"): "organisation",
    ("reservataire", "organisation_id"): "organisation",
    ("convention_reservation", "reservataire_id"): "reservataire",
    ("convention_reservation", "bailleur_id"): "organisation",
    ("residence", "bailleur_id"): "organisation",
    ("logement", "residence_id"): "residence",
    ("logement", "reservataire_stock_id"): "reservataire",
    ("personne", "demande_id"): "demande",
    ("ressource", "personne_id"): "personne",
    ("revenu_fiscal", "personne_id"): "personne",
    ("situation_prioritaire", "demande_id"): "demande",
    ("refus_offre", "demande_id"): "demande",
    ("souhait_typologie", "demande_id"): "demande",
    ("souhait_commune", "demande_id"): "demande",
    ("commission", "bailleur_id"): "organisation",
    ("seance", "commission_id"): "commission",
    ("membre_seance", "seance_id"): "seance",
    ("membre_seance", "utilisateur_id"): "utilisateur",
    ("candidature", "seance_id"): "seance",
    ("candidature", "logement_id"): "logement",
    ("candidature", "demande_id"): "demande",
    ("candidature", "reservataire_id"): "reservataire",
    ("decision", "candidature_id"): "candidature",
    ("decision", "seance_id"): "seance",
    ("decision", "logement_id"): "logement",
    ("decision", "decide_par_id"): "utilisateur",
    ("attribution", "decision_id"): "decision",
    ("attribution", "logement_id"): "logement",
    ("attribution", "demande_id"): "demande",
    ("attribution", "reservataire_id"): "reservataire",
    ("offre", "decision_id"): "decision",
    ("offre", "seance_id"): "seance",
    ("offre", "logement_id"): "logement",
    ("offre", "demande_id"): "demande",
    ("offre", "seance_reinscription_id"): "seance",
}

# Parents before children (foreign keys are checked statement by statement).
ORDRE = (
    "organisation", "utilisateur", "reservataire", "convention_reservation", "residence", "logement",
    "demande", "personne", "ressource", "revenu_fiscal", "situation_prioritaire", "refus_offre",
    "souhait_typologie", "souhait_commune", "commission", "seance", "membre_seance", "candidature", "decision", "attribution",
    "offre",
)
TABLES_DOSSIER = (
    "demande", "personne", "ressource", "revenu_fiscal", "situation_prioritaire", "refus_offre",
    "souhait_typologie", "souhait_commune",
)
# Tables keyed by their columns (no id of their own).
SANS_ID = frozenset({"souhait_typologie", "souhait_commune"})


def _date(valeur: str | None) -> dt.date | None:
    return None if valeur is None else dt.date.fromisoformat(valeur)


class Compteurs:
    """The next local id of each table.

    `premiere_demande`: the number of demandes before these (the demande ids are the dossier indices + 1);
    `base`: where the other ids of the dossier tables start (0 for the first block of dossiers, see
    generateur.PAS_IDS_BLOC for the others).
    """

    def __init__(self, premiere_demande: int = 0, base: int = 0) -> None:
        self.derniers = {t: 0 for t in COLONNES if t not in SANS_ID}
        for t in TABLES_DOSSIER:
            if t not in SANS_ID:
                self.derniers[t] = base
        self.derniers["demande"] = premiere_demande

    def suivant(self, table: str) -> int:
        self.derniers[table] += 1
        return self.derniers[table]


def lignes_dossier(d: dict[str, Any], compteurs: Compteurs, lots: dict[str, list[tuple]]) -> int:
    """Append the rows of one dossier (JSON form) to `lots`; return the demande's local id."""
    la = d["logement_actuel"]
    dalo = d["dalo"]
    contact = d["contact"]
    id_demande = compteurs.suivant("demande")
    lots["demande"].append((
        id_demande, d["numero_unique"], _date(d["date_depot"]), _date(d["date_renouvellement"]),
        _date(d["date_mise_a_jour"]), d["statut"], d["motif_radiation"], _date(d["date_radiation"]),
        contact["adresse"], contact["code_postal"], contact["commune_insee"], contact["telephone"], contact["courriel"],
        d["typologies_souhaitees"], d["communes_souhaitees"], d["motifs"], d["mutation_interne"], d["relogement_anru"],
        d["besoin_pmr"], la["modele"], la["typologie"], la["loyer_mensuel"], la["surface"], la["nb_pieces"],
        la["nb_occupants"], la["commune_insee"], la["proprietaire"], _date(dalo["date_decision"]), dalo["statut"],
        _date(dalo["date_designation"]), d["labels"]["pdalhpd"], d["labels"]["siao"], d["accompagnement"]["avdl"],
        d["accompagnement"]["fsl"], d["aide_logement_declaree"],
    ))
    personnes = lots["personne"]
    for ordre, p in enumerate(d["personnes"]):
        id_personne = compteurs.suivant("personne")
        rr = p["residence_reguliere"]
        procedures = p["procedures"]
        personnes.append((
            id_personne, id_demande, ordre, p["role"], p["lien_cotitulaire"], p["nom"], p["prenom"], p["nom_naissance"],
            p["sexe"], _date(p["date_naissance"]), _date(p["date_naissance_prevue"]), p["lien_parente"],
            p["situation_familiale"], p["nationalite"], rr["declaree"], rr["verifiee"], p["mineur_emancipe"],
            p["handicap"]["cmi_invalidite"], p["handicap"]["details"], p["situation_professionnelle"], p["profession"],
            p["ressources_12_mois"], procedures["divorce"], procedures["dissolution_pacs"], procedures["ordonnance_protection"],
        ))
        for r in p["ressources"]:
            lots["ressource"].append((compteurs.suivant("ressource"), id_personne, r["sens"], r["code"], r["montant_mensuel"]))
        for r in p["revenus_fiscaux"]:
            lots["revenu_fiscal"].append((compteurs.suivant("revenu_fiscal"), id_personne, r["annee"], r["montant"], r["avis"]))
    for s in d["situations"]:
        lots["situation_prioritaire"].append((
            compteurs.suivant("situation_prioritaire"), id_demande, s["code"], s["verifiee"],
            _date(s["date_verification"]), s["verifiee_par"],
        ))
    for r in d["refus"]:
        lots["refus_offre"].append((
            compteurs.suivant("refus_offre"), id_demande, _date(r["date"]), r["logement_reference"], r["motif"],
            r["motif_legitime"], None,
        ))
    for typologie in d["typologies_souhaitees"]:
        lots["souhait_typologie"].append((id_demande, typologie))
    for code in d["communes_souhaitees"]:
        lots["souhait_commune"].append((id_demande, code))
    return id_demande
