"""Every write operation of the API fuzzed with invalid inputs: 422 naming the field, nothing written.

The write operations (POST, PUT, PATCH, DELETE) are read from the served OpenAPI document: an operation
added later is fuzzed without changing this file (its path parameters must be one of PARAMETRES_REELS,
otherwise the test says which one is missing). Two generators, both hypothesis, derandomized:

- schemathesis in negative mode on the body and the query (the token, the If-Match header and the path
  parameters are fixed and real, so that the request reaches the validation of the body): a body that
  violates the operation's schema is answered 422 with the envelope `{code, status, message, errors}`;
  raw bytes that are not a JSON document are answered 400 « JSON invalide » (a syntax error names no
  field), or 422 when read as an SNE file;
- a mutation of ONE field of a valid document (tests/fuzz/outils.py): the documented dossier for the
  operations that take a dossier (body schema Dossier, or the merge patch of a demande), the example
  SNE file for those that take XML; the 422 names that field.

No response is a 5xx; the database (row count and digest of every table, audit journal included) is
the same after each operation's inputs as before. The counts and the duration are printed (pytest -s).
"""
from __future__ import annotations

import json
import time
from collections import Counter

import schemathesis
from hypothesis import given
from hypothesis.errors import Unsatisfiable
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

from . import outils

ECRITURES = {"POST", "PUT", "PATCH", "DELETE"}
COMPTES = {"/api/v1/seances/{seance_id}/decisions": "president"}
TYPES_XML = {"application/xml", "text/xml"}


def _parametres_reels(monde) -> dict[str, object]:
    return {"seance_id": monde.seance.seance_id, "logement_id": monde.logement_douai,
            "numero_unique": monde.demandes_douai[0]}


def _operations_d_ecriture(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    return [o for o in operations if o.method.upper() in ECRITURES]


def _types(operation) -> list[str]:
    corps = operation.definition.raw.get("requestBody") or {}
    return list((corps.get("content") or {}).keys())


def _prend_un_dossier(operation) -> bool:
    corps = json.dumps(operation.definition.raw.get("requestBody") or {})
    return "#/components/schemas/Dossier\"" in corps or operation.method.upper() == "PATCH" and "{numero_unique}" in operation.path


def _erreurs(reponse) -> dict:
    corps = reponse.json() if callable(reponse.json) else reponse.json
    assert set(corps) == {"code", "status", "message", "errors"}, corps
    return corps["errors"]


def test_chaque_operation_d_ecriture_refuse_les_entrees_invalides_sans_rien_ecrire(app, monde, engine):
    operations = _operations_d_ecriture(app)
    reels = _parametres_reels(monde)
    statuts: Counter[tuple[str, str, int]] = Counter()
    # A fifth of the inputs from schemathesis (its generation costs ~80 ms a case), the rest from mutations.
    quota = outils.quota(outils.PART_API)
    nb_medias = sum(len(_types(o)) for o in operations)
    nb_mutations = sum((1 if _prend_un_dossier(o) else 0) + (1 if TYPES_XML & set(_types(o)) else 0) for o in operations)
    par_media = -(-quota // (5 * nb_medias))
    par_mutation = -(-(quota - par_media * nb_medias) // nb_mutations)
    debut = time.perf_counter()
    client = app.test_client()

    for operation in operations:
        nom = f"{operation.method.upper()} {operation.path}"
        manquants = [p.name for p in operation.path_parameters if p.name not in reels]
        assert not manquants, f"{nom} : ajoutez une valeur réelle pour {manquants} dans _parametres_reels"
        chemin = {p.name: reels[p.name] for p in operation.path_parameters}
        entete = monde.entete(COMPTES.get(operation.path, "charge"))
        if operation.method.upper() == "PATCH":
            entete["If-Match"] = "*"
        url = operation.path.format(**chemin)
        avant, audit_avant = outils.empreinte_base(engine), outils.nombre_audit(engine)

        for media in _types(operation):
            strategie = operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=chemin, headers=entete,
                                              media_type=media)

            @outils.reglages(par_media)
            @given(case=strategie)
            def schemathesis_negatif(case):
                if not (case.meta.is_negative_at(ParameterLocation.BODY) or case.meta.is_negative_at(ParameterLocation.QUERY)):
                    return  # nothing invalid was generated (not counted)
                reponse = case.call(headers=entete)
                code = reponse.status_code
                statuts[(nom, "schemathesis " + media, code)] += 1
                assert code < 500, (nom, case.body, reponse.text[:300])
                if isinstance(case.body, (bytes, bytearray)):
                    # Raw bytes: not a JSON document (400 « JSON invalide ») or an unreadable SNE file (422).
                    assert code in (400, 422), (nom, code, reponse.text[:300])
                else:
                    assert code == 422, (nom, media, repr(case.body)[:300], case.query, code, reponse.text[:300])
                    assert _erreurs(reponse), (nom, reponse.text[:300])

            try:
                schemathesis_negatif()
            except Unsatisfiable:
                # No invalid value for this media type with the header fixed (an XML body is any text):
                # the mutated SNE files below are its invalid inputs.
                assert media in TYPES_XML, (nom, media)

        if _prend_un_dossier(operation):
            base = outils.dossier_exemple()
            if operation.method.upper() == "PATCH":
                base.pop("numero_unique")

            @outils.reglages(par_mutation)
            @given(cas=outils.dossier_invalide(base))
            def dossier_mute(cas):
                dossier, champ = cas
                media = "application/merge-patch+json" if operation.method.upper() == "PATCH" else "application/json"
                reponse = client.open(url, method=operation.method.upper(), data=json.dumps(dossier),
                                      content_type=media, headers=entete)
                statuts[(nom, "dossier muté", reponse.status_code)] += 1
                assert reponse.status_code == 422, (nom, champ, reponse.status_code, reponse.get_data(as_text=True)[:300])
                erreurs = _erreurs(reponse)
                assert outils.nomme_le_champ(erreurs, champ), (nom, champ, erreurs)

            dossier_mute()

        if TYPES_XML & set(_types(operation)):
            @outils.reglages(par_mutation)
            @given(cas=outils.xml_sne_invalide())
            def sne_mute(cas):
                contenu, element = cas
                reponse = client.open(url, method=operation.method.upper(), data=contenu,
                                      content_type="application/xml", headers=entete)
                statuts[(nom, "fichier SNE muté", reponse.status_code)] += 1
                assert reponse.status_code == 422, (nom, element, reponse.status_code, reponse.get_data(as_text=True)[:300])
                erreurs = _erreurs(reponse)
                assert outils.nomme_l_element(erreurs, element), (nom, element, erreurs)

            sne_mute()

        assert outils.empreinte_base(engine) == avant, f"{nom} : une entrée invalide a écrit dans la base"
        assert outils.nombre_audit(engine) == audit_avant, f"{nom} : une entrée invalide a été journalisée"

    duree = time.perf_counter() - debut
    total = sum(statuts.values())
    print(f"\nAPI : {len(operations)} opérations d'écriture, {total} entrées invalides en {duree:.1f} s "
          f"({total / duree:.0f}/s)")
    for (nom, generateur, code), n in sorted(statuts.items()):
        print(f"  {nom} [{generateur}] → {code} : {n}")
    assert {f"{o.method.upper()} {o.path}" for o in operations} >= {
        "POST /api/v1/evaluations", "POST /api/v1/demandes", "PATCH /api/v1/demandes/{numero_unique}",
        "POST /api/v1/demandes/import-sne", "POST /api/v1/seances", "POST /api/v1/seances/{seance_id}/decisions"}
    assert total >= quota * 0.9, (total, quota)
    assert not [k for k in statuts if k[2] >= 500]
