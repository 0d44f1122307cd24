"""Applying the retention policy (rules/conservation/politique.yaml): what is past its term, the purge.

`planifier(session, date)` reads only: for each category treated at term, the rows whose event
(``table.colonne``) is on or before ``date − durée`` (the duration in force at ``date``), and, row by
row, what the category's profile would change. `purger(session, date, acteur)` applies that plan in
the caller's transaction and leaves ONE audit entry (counts per category and table, internal ids of
the objects treated; never a personal value). The CLI (`caleol purge`) commits once.

Treatments:
- ``anonymisation``: the profile's columns are rewritten (effacer → NULL, annee → 1 January of the
  year, vider_liste → []) on the object and on the rows attached to it by foreign keys; its
  ``anonymise_le`` is set, so an anonymised object is never treated twice;
- ``suppression`` with a profile: the profile's rows or columns are deleted or cleared (sensitive
  facts); without a profile: the object's rows are deleted;
- ``archivage``: nothing is written; the objects past their term are listed for the archivist.
"""
from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    LargeBinary,
    String,
    Table,
    and_,
    bindparam,
    delete,
    not_,
    null,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from engine.conservation import Categorie, Politique, politique
from engine.version import version_regles
from engine.yaml_strict import ErreurRegles

from ..audit import journaliser
from ..models import Base
from ..referentiels import motifs_sensibles, situations_sensibles

ACTION_PURGE = "purge_conservation"
COLONNE_ANONYMISATION = "anonymise_le"
MORCEAU = 900  # SQLite's limit on bound parameters, with a margin
# Tables whose ids are not worth listing in the audit entry (the journal itself).
SANS_IDS = frozenset({"audit_entry"})


# --------------------------------------------------------------------------- policy ↔ model


def _table(nom: str, fichier: str, regle: str | None, champ: str) -> Table:
    table = Base.metadata.tables.get(nom)
    if table is None:
        raise ErreurRegles(fichier, f"table inconnue du modèle : {nom}", regle=regle, champ=champ)
    return table


def chemin_vers(source: Table, racine: Table) -> list[tuple[Any, Any]]:
    """Foreign-key hops from `source` to `racine` ([(column of the row, referred primary key)…]).

    Only single-column primary keys are followed; the shortest path wins. [] when source is racine.
    """
    if source is racine:
        return []
    file: deque[tuple[Table, list[tuple[Any, Any]]]] = deque([(source, [])])
    vues = {source.name}
    while file:
        table, chemin = file.popleft()
        for fk in sorted(table.foreign_keys, key=lambda f: (f.parent.name, f.column.table.name)):
            cible = fk.column
            if not cible.primary_key or len(cible.table.primary_key.columns) != 1:
                continue
            suite = [*chemin, (fk.parent, cible)]
            if cible.table is racine:
                return suite
            if cible.table.name not in vues and len(suite) < 4:
                vues.add(cible.table.name)
                file.append((cible.table, suite))
    raise LookupError(f"aucune clé étrangère ne relie {source.name} à {racine.name}")


def _en_cascade(colonne: Any, cible: Any) -> bool:
    return any(fk.column is cible and (fk.ondelete or "").upper() == "CASCADE" for fk in colonne.foreign_keys)


def verifier_contre_modele(pol: Politique | None = None) -> Politique:
    """The policy names only tables and columns of the model, with treatments that fit their types."""
    pol = pol or politique()
    f = pol.fichier.name
    for nom in pol.sans_donnees_personnelles:
        _table(nom, f, None, f"sans_donnees_personnelles.{nom}")
    for col in pol.colonnes_conservees:
        t, c = col.split(".")
        if c not in _table(t, f, None, f"colonnes_conservees.{col}").c:
            raise ErreurRegles(f, f"colonne inconnue du modèle : {col}", champ=f"colonnes_conservees.{col}")
    for profil in pol.profils.values():
        for nom, spec in profil.tables.items():
            table = _table(nom, f, profil.id, f"tables.{nom}")
            if spec.get("lignes") == "supprimer_sensibles" and "code" not in table.c:
                raise ErreurRegles(f, "supprimer_sensibles exige une colonne code", regle=profil.id, champ=f"tables.{nom}")
            for col, methode in spec.get("colonnes", {}).items():
                champ = f"tables.{nom}.colonnes.{col}"
                if col not in table.c:
                    raise ErreurRegles(f, f"colonne inconnue du modèle : {nom}.{col}", regle=profil.id, champ=champ)
                colonne = table.c[col]
                if methode == "effacer" and not colonne.nullable:
                    raise ErreurRegles(f, "effacer une colonne obligatoire", regle=profil.id, champ=champ)
                if methode == "annee" and not isinstance(colonne.type, Date):
                    raise ErreurRegles(f, "« annee » ne vaut que pour une date", regle=profil.id, champ=champ)
                if methode == "vider" and not isinstance(colonne.type, LargeBinary | String):
                    raise ErreurRegles(f, "« vider » ne vaut que pour un texte ou un contenu binaire", regle=profil.id, champ=champ)
                if methode in ("vider_liste", "codes_sensibles", "proposition_sans_sensible") \
                        and not isinstance(colonne.type, JSON):
                    raise ErreurRegles(f, f"« {methode} » ne vaut que pour une colonne JSON", regle=profil.id, champ=champ)
    for cat in pol.categories:
        for nom in cat.tables:
            _table(nom, f, cat.id, "tables")
        if not cat.evenement:
            continue
        racine = _table(cat.table_evenement, f, cat.id, "evenement")
        if cat.colonne_evenement not in racine.c or not isinstance(racine.c[cat.colonne_evenement].type, Date | DateTime):
            raise ErreurRegles(f, f"l'événement {cat.evenement} n'est pas une colonne de date", regle=cat.id, champ="evenement")
        for cle, filtre in (("selection", cat.selection), ("exclusion", cat.exclusion)):
            for col, valeurs in filtre.items():
                if col not in racine.c:
                    raise ErreurRegles(f, f"colonne inconnue : {racine.name}.{col}", regle=cat.id, champ=f"{cle}.{col}")
                try:
                    _valeurs_filtre(racine.c[col], valeurs)
                except ValueError:
                    raise ErreurRegles(f, f"valeur inconnue pour {racine.name}.{col} : {', '.join(valeurs)}",
                                       regle=cat.id, champ=f"{cle}.{col}") from None
        if cat.traitement == "anonymisation" and COLONNE_ANONYMISATION not in racine.c:
            raise ErreurRegles(f, f"l'anonymisation exige une colonne {COLONNE_ANONYMISATION} dans {racine.name}",
                               regle=cat.id, champ="traitement")
        if cat.traitement == "suppression" and cat.profil is None:
            # Rows are deleted from the root: every other table must go with it by ON DELETE CASCADE.
            for nom in cat.tables:
                try:
                    chemin = chemin_vers(Base.metadata.tables[nom], racine)
                except LookupError as exc:
                    raise ErreurRegles(f, str(exc), regle=cat.id, champ="tables") from None
                if any(not _en_cascade(colonne, cible) for colonne, cible in chemin):
                    raise ErreurRegles(f, f"{nom} n'est pas supprimée en cascade avec {racine.name}", regle=cat.id, champ="tables")
        if cat.profil is not None:
            for nom in cat.profil.tables:
                if nom not in cat.tables:
                    raise ErreurRegles(f, f"le profil traite {nom}, absente des tables de la catégorie", regle=cat.id, champ="tables")
                try:
                    chemin_vers(Base.metadata.tables[nom], racine)
                except LookupError as exc:
                    raise ErreurRegles(f, str(exc), regle=cat.id, champ="profil") from None
    return pol


# --------------------------------------------------------------------------- value treatments


def codes_sensibles() -> frozenset[str]:
    return situations_sensibles() | motifs_sensibles()


def _sans_codes_sensibles(valeur: Any, sensibles: frozenset[str]) -> Any:
    if isinstance(valeur, list):
        return [
            _sans_codes_sensibles(x, sensibles) for x in valeur
            if not (isinstance(x, str) and x in sensibles)
            and not (isinstance(x, dict) and x.get("code") in sensibles)
        ]
    if isinstance(valeur, dict):
        return {k: _sans_codes_sensibles(v, sensibles) for k, v in valeur.items()}
    return valeur


def nouvelle_valeur(methode: str, valeur: Any, sensibles: frozenset[str]) -> Any:
    if methode == "effacer":
        return None
    if methode == "vider":
        return b"" if isinstance(valeur, bytes | memoryview) else ""
    if methode == "annee":
        return None if valeur is None else dt.date(valeur.year, 1, 1)
    if methode == "vider_liste":
        return []
    if methode == "codes_sensibles":
        return _sans_codes_sensibles(valeur, sensibles)
    if methode == "proposition_sans_sensible":
        # The masking the pages apply for the roles that may not see sensitive facts, made permanent.
        from ..demandes.evaluation import masquer_proposition

        return masquer_proposition(valeur, False) if isinstance(valeur, dict) else valeur
    raise ValueError(methode)


# --------------------------------------------------------------------------- plan


@dataclass
class Changements:
    """What one category changes in one table: rows to delete, and per-row new values."""

    table: Table
    suppressions: list[tuple] = field(default_factory=list)
    # pk tuple -> {colonne: nouvelle valeur}
    modifications: dict[tuple, dict[str, Any]] = field(default_factory=dict)

    @property
    def nombre(self) -> int:
        return len(self.suppressions) + len(self.modifications)


@dataclass
class Operation:
    categorie: Categorie
    limite: dt.date
    duree_mois: int
    racine: Table
    ids: list[Any]
    changements: list[Changements] = field(default_factory=list)

    def lignes(self) -> dict[str, int]:
        res: dict[str, int] = {}
        for c in self.changements:
            if c.nombre:
                res[c.table.name] = res.get(c.table.name, 0) + c.nombre
        return res

    def resume(self) -> dict[str, Any]:
        res: dict[str, Any] = {
            "libelle": self.categorie.libelle,
            "traitement": self.categorie.traitement,
            "duree_mois": self.duree_mois,
            "evenement": self.categorie.evenement,
            "limite": self.limite.isoformat(),
            "a_verifier": self.categorie.a_verifier,
            "nombre": len(self.ids),
            "lignes": self.lignes(),
        }
        if self.racine.name not in SANS_IDS and len(self.racine.primary_key.columns) == 1 \
                and all(isinstance(i, int) for i in self.ids):
            res["ids"] = sorted(self.ids)
        return res


@dataclass
class Plan:
    date: dt.date
    operations: list[Operation]
    politique: Politique

    def resume(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "version_regles": version_regles(),
            "categories": {op.categorie.id: op.resume() for op in self.operations},
        }

    @property
    def vide(self) -> bool:
        return not any(op.ids for op in self.operations)


def _morceaux(valeurs: list[Any]) -> list[list[Any]]:
    return [valeurs[i:i + MORCEAU] for i in range(0, len(valeurs), MORCEAU)]


def _pk(table: Table) -> list[Any]:
    return list(table.primary_key.columns)


def _cle_pk(table: Table, ligne: Any) -> tuple:
    return tuple(getattr(ligne, c.name) for c in _pk(table))


def _condition_evenement(colonne: Any, limite: dt.date) -> Any:
    if isinstance(colonne.type, DateTime):
        return colonne < dt.datetime.combine(limite + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)
    return colonne <= limite


def _valeurs_filtre(colonne: Any, valeurs: tuple[str, ...]) -> list[Any]:
    """Filter values as the column binds them (an enumeration by its value: « radiee »)."""
    classe = getattr(colonne.type, "enum_class", None)
    return [classe(v) for v in valeurs] if classe is not None else list(valeurs)


def _racines(session: Session, cat: Categorie, racine: Table, limite: dt.date) -> list[Any]:
    evenement = racine.c[cat.colonne_evenement]
    conditions = [evenement.isnot(None), _condition_evenement(evenement, limite)]
    for col, valeurs in cat.selection.items():
        conditions.append(racine.c[col].in_(_valeurs_filtre(racine.c[col], valeurs)))
    for col, valeurs in cat.exclusion.items():
        conditions.append(or_(racine.c[col].is_(None), not_(racine.c[col].in_(_valeurs_filtre(racine.c[col], valeurs)))))
    if cat.traitement == "anonymisation":
        conditions.append(racine.c[COLONNE_ANONYMISATION].is_(None))
    pk = _pk(racine)
    cols = pk if len(pk) > 1 else pk[:1]
    lignes = session.execute(select(*cols).where(and_(*conditions)).order_by(*cols)).all()
    return [tuple(x) if len(pk) > 1 else x[0] for x in lignes]


def _lignes_rattachees(session: Session, table: Table, racine: Table, ids: list[Any], colonnes: list[str]) -> list[Any]:
    """Rows of `table` attached to the given root ids, with their primary key and `colonnes`."""
    chemin = chemin_vers(table, racine)
    cols = list({c.name: c for c in [*_pk(table), *(table.c[n] for n in colonnes)]}.values())
    if not chemin:
        filtre = _pk(racine)[0]
        base = select(*cols)
    else:
        base = select(*cols).select_from(table)
        for colonne, cible in chemin[:-1]:
            base = base.join(cible.table, colonne == cible)
        filtre = chemin[-1][0]
    res = []
    for morceau in _morceaux(ids):
        res.extend(session.execute(base.where(filtre.in_(morceau))).all())
    return res


def _changements_profil(session: Session, cat: Categorie, racine: Table, ids: list[Any],
                        sensibles: frozenset[str]) -> list[Changements]:
    res = []
    for nom, spec in cat.profil.tables.items():
        table = Base.metadata.tables[nom]
        ch = Changements(table)
        lignes_spec = spec.get("lignes")
        if lignes_spec:
            extra = ["code"] if lignes_spec == "supprimer_sensibles" else []
            for ligne in _lignes_rattachees(session, table, racine, ids, extra):
                if lignes_spec == "supprimer" or ligne.code in sensibles:
                    ch.suppressions.append(_cle_pk(table, ligne))
        else:
            methodes = spec["colonnes"]
            for ligne in _lignes_rattachees(session, table, racine, ids, list(methodes)):
                nouvelles = {}
                for col, methode in methodes.items():
                    ancienne = getattr(ligne, col)
                    nouvelle = nouvelle_valeur(methode, ancienne, sensibles)
                    if nouvelle != ancienne:
                        nouvelles[col] = nouvelle
                if nouvelles:
                    ch.modifications[_cle_pk(table, ligne)] = nouvelles
        res.append(ch)
    return res


def planifier(session: Session, date: dt.date, pol: Politique | None = None) -> Plan:
    """What is past its term at `date` and what the purge would do (reads only)."""
    pol = verifier_contre_modele(pol)
    sensibles = codes_sensibles()
    operations = []
    for cat in pol.categories:
        if not cat.a_terme:
            continue
        racine = Base.metadata.tables[cat.table_evenement]
        limite = cat.limite(date)
        ids = _racines(session, cat, racine, limite)
        op = Operation(cat, limite, cat.duree_mois(date), racine, ids)
        if ids and cat.traitement != "archivage":
            if cat.profil is not None:
                op.changements = _changements_profil(session, cat, racine, ids, sensibles)
                if cat.traitement == "suppression":
                    # Only the objects that still hold something to delete are counted.
                    touches = _racines_touchees(session, op)
                    op.ids = [i for i in ids if i in touches]
            else:
                ch = Changements(racine)
                ch.suppressions = [(i,) if not isinstance(i, tuple) else i for i in ids]
                op.changements = [ch]
        operations.append(op)
    return Plan(date, operations, pol)


def _racines_touchees(session: Session, op: Operation) -> set[Any]:
    """Root ids that at least one planned change concerns (for a partial suppression)."""
    touches: set[Any] = set()
    for ch in op.changements:
        cles = ch.suppressions + list(ch.modifications)
        if not cles:
            continue
        chemin = chemin_vers(ch.table, op.racine)
        if not chemin:
            touches.update(k[0] for k in cles)
            continue
        pk = _pk(ch.table)
        base = select(chemin[-1][0]).select_from(ch.table)
        for colonne, cible in chemin[:-1]:
            base = base.join(cible.table, colonne == cible)
        for morceau in _morceaux(cles):
            condition = pk[0].in_([k[0] for k in morceau]) if len(pk) == 1 else tuple_(*pk).in_(morceau)
            touches.update(session.scalars(base.where(condition)).all())
    return touches


# --------------------------------------------------------------------------- purge


def _appliquer(session: Session, ch: Changements) -> None:
    table = ch.table
    pk = _pk(table)
    for morceau in _morceaux(ch.suppressions):
        condition = pk[0].in_([k[0] for k in morceau]) if len(pk) == 1 else tuple_(*pk).in_(morceau)
        session.execute(delete(table).where(condition))
    # Columns set to NULL: one UPDATE per column (an explicit SQL NULL, also for JSON columns).
    par_colonne: dict[str, list[tuple]] = {}
    autres: dict[str, list[tuple]] = {}
    for cle, nouvelles in ch.modifications.items():
        for col, valeur in nouvelles.items():
            (par_colonne if valeur is None else autres).setdefault(col, []).append(cle)
    for col, cles in par_colonne.items():
        for morceau in _morceaux(cles):
            condition = pk[0].in_([k[0] for k in morceau]) if len(pk) == 1 else tuple_(*pk).in_(morceau)
            session.execute(update(table).where(condition).values({col: null()}).execution_options(synchronize_session=False))
    for col in autres:
        stmt = update(table).where(and_(*[c == bindparam(f"cle_{c.name}", type_=c.type) for c in pk])).values(
            {col: bindparam("nouvelle", type_=table.c[col].type)})
        lignes = [
            {**{f"cle_{c.name}": v for c, v in zip(pk, cle)}, "nouvelle": ch.modifications[cle][col]}
            for cle in autres[col]
        ]
        for morceau in _morceaux(lignes):
            session.connection().execute(stmt, morceau)


def purger(session: Session, date: dt.date, *, acteur: str, pol: Politique | None = None) -> Plan:
    """Apply the plan at `date` in the caller's transaction; ONE audit entry, without personal data."""
    plan = planifier(session, date, pol)
    for op in plan.operations:
        if not op.ids or op.categorie.traitement == "archivage":
            continue
        for ch in op.changements:
            _appliquer(session, ch)
        if op.categorie.traitement == "anonymisation":
            colonne = op.racine.c[COLONNE_ANONYMISATION]
            pk = _pk(op.racine)[0]
            for morceau in _morceaux(op.ids):
                session.execute(update(op.racine).where(pk.in_(morceau)).values({colonne.name: date})
                                .execution_options(synchronize_session=False))
    session.expire_all()
    journaliser(
        session,
        acteur=acteur,
        action=ACTION_PURGE,
        objet_type="conservation",
        objet_id=date.isoformat(),
        details=plan.resume(),
    )
    session.flush()
    return plan
