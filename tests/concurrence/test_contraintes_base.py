"""The database itself refuses two effective attributions of one logement in one séance and two
candidates at one rank, whatever the code does: the partial unique indexes exist after all migrations
(SQLite and PostgreSQL) and plain SQL inserts, which bypass the services and the ORM, are refused."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from tests.webapp.decisions_exemple import construire
from webapp.models import Decision

INDEX = {
    "uq_decision_attribution_effective": ("seance_id", "logement_id"),
    "uq_decision_rang_classement": ("seance_id", "logement_id", "rang"),
}
N1, N2, N3, N4 = "0591126000001A", "0591126000002B", "0591126000003C", "0591126000004D"
INSERTION = text(
    "INSERT INTO decision (candidature_id, seance_id, logement_id, type, rang, motifs, decide_le) "
    "VALUES (:candidature, :seance, :logement, :type, :rang, '[]', '2026-06-10 10:00:00+00:00')"
)


def _definitions(engine, backend) -> dict[str, str]:
    with engine.connect() as c:
        if backend == "postgresql":
            lignes = c.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                                    "AND tablename = 'decision'"))
        else:
            lignes = c.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'decision'"))
        return {nom: " ".join((definition or "").split()) for nom, definition in lignes}


def test_les_index_uniques_partiels_existent_apres_les_migrations(engine, backend):
    definitions = _definitions(engine, backend)
    for nom, colonnes in INDEX.items():
        d = definitions[nom]
        assert d.upper().startswith("CREATE UNIQUE INDEX"), d
        assert "(" + ", ".join(colonnes) + ")" in d, d
        assert "WHERE" in d.upper(), d
    effective = definitions["uq_decision_attribution_effective"]
    for valeur in ("'ATTRIBUTION'", "'ATTRIBUTION_SOUS_CONDITION'", "'ATTRIBUTION_RANG'"):
        assert valeur in effective, effective
    assert "rang = 1" in effective, effective
    assert "'ATTRIBUTION_RANG'" in definitions["uq_decision_rang_classement"]


def _inserer(engine, monde, numero: str, type_: str, rang: int | None, logement: str = "L-1") -> None:
    with engine.begin() as c:
        c.execute(INSERTION, {"candidature": monde.candidatures[numero], "seance": monde.seance_id,
                              "logement": monde.logements[logement], "type": type_, "rang": rang})


def _nombre(sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Decision))


@pytest.mark.parametrize(
    ("premiere", "seconde"),
    [
        (("ATTRIBUTION", None), ("ATTRIBUTION_SOUS_CONDITION", None)),
        (("ATTRIBUTION", None), ("ATTRIBUTION_RANG", 1)),
        (("ATTRIBUTION_RANG", 1), ("ATTRIBUTION", None)),
        (("ATTRIBUTION_RANG", 2), ("ATTRIBUTION_RANG", 2)),
    ],
)
def test_la_base_refuse_un_doublon_insere_en_sql(engine, sessions, premiere, seconde):
    monde = construire(sessions)
    _inserer(engine, monde, N1, *premiere)
    with pytest.raises(IntegrityError):
        _inserer(engine, monde, N2, *seconde)
    assert _nombre(sessions) == 1


def test_la_base_accepte_ce_que_les_index_permettent(engine, sessions):
    monde = construire(sessions)
    _inserer(engine, monde, N1, "ATTRIBUTION_RANG", 1)
    _inserer(engine, monde, N2, "ATTRIBUTION_RANG", 2)
    _inserer(engine, monde, N3, "NON_ATTRIBUTION", None)
    _inserer(engine, monde, N4, "ATTRIBUTION", None, logement="L-2")  # another logement of the séance
    assert _nombre(sessions) == 4
    # A second decision on one candidature, or a decision not carrying its candidature's logement.
    with pytest.raises(IntegrityError):
        _inserer(engine, monde, N1, "NON_ATTRIBUTION", None)
    with pytest.raises(IntegrityError):  # 0591126000005E is a candidate for L-2, not L-1
        _inserer(engine, monde, "0591126000005E", "NON_ATTRIBUTION", None, logement="L-1")
    assert _nombre(sessions) == 4
