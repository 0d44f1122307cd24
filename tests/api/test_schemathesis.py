"""Schemathesis contre openapi.json, dans le processus (WSGI), avec un jeton : aucune réponse 5xx.

Chaque opération reçoit des requêtes conformes au schéma (mode positif) et des requêtes qui le
violent (mode négatif), d'abord avec des paramètres de chemin tirés librement, puis avec ceux des
objets réels du monde de test (séance, logement, demande) pour atteindre les services. Le jeton est
celui d'un compte qui a le droit d'appeler l'opération (président pour les décisions, EPCI pour les
quotas, chargé d'attribution sinon). Hypothesis est dérandomisé : le même code donne les mêmes
requêtes. Le nombre d'exemples par opération et par mode est borné (EXEMPLES) ; les chiffres et la
durée s'impriment (pytest -s).
"""
from __future__ import annotations

import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

EXEMPLES = 25
COMPTES = {"/api/v1/seances/{seance_id}/decisions": "president", "/api/v1/quotas": "epci.mel"}


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return [resultat.ok() for resultat in schema.get_all_operations()]


def _parametres_reels(monde) -> dict[str, object]:
    return {"seance_id": monde.seance.seance_id, "logement_id": monde.logement_douai,
            "numero_unique": monde.demandes_douai[0]}


def test_aucune_requete_generee_ne_provoque_d_erreur_serveur(app, monde, backend):
    statuts: Counter[tuple[str, int]] = Counter()
    debut = time.perf_counter()
    operations = _operations(app)
    reels = _parametres_reels(monde)
    for operation in operations:
        entete = monde.entete(COMPTES.get(operation.path, "charge"))
        chemins = [None]
        if operation.path_parameters:
            chemins.append({p.name: reels[p.name] for p in operation.path_parameters})
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for chemin in chemins:
                strategie = operation.as_strategy(generation_mode=mode, path_parameters=chemin)

                @settings(max_examples=EXEMPLES, derandomize=True, database=None, deadline=None,
                          suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
                @given(case=strategie)
                def appeler(case):
                    reponse = case.call_and_validate(headers=entete, checks=[not_a_server_error])
                    statuts[(f"{operation.method.upper()} {operation.path}", reponse.status_code)] += 1

                appeler()
    duree = time.perf_counter() - debut
    total = sum(statuts.values())
    print(f"\nschemathesis : {len(operations)} opérations, {total} requêtes en {duree:.1f} s")
    for (nom, code), n in sorted(statuts.items()):
        print(f"  {nom} → {code} : {n}")
    assert len(operations) == 15
    assert not [k for k in statuts if k[1] >= 500]
