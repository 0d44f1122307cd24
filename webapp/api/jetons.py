"""API tokens: issue, list, revoke, and the authentication of an API request.

A token is `caleol_` followed by 43 random URL-safe characters (256 bits from `secrets`). Only its
SHA-256 is stored: a plain hash is enough for a secret of that entropy (no dictionary to try), and it
lets the request find its token with one indexed lookup. A token carries its user: the user's role
and organisation decide what the API allows, exactly as in the web app; a deactivated user's tokens
stop working (within seconds, see below), and a revoked token never works again.

Issuing and revoking are writes: each leaves one audit entry (token id, prefix and user id, never
the token). `creer_jeton` and `revoquer_jeton` take the caller's session and never commit.

A token found valid is remembered by the process for a short time (`API_JETON_CACHE` seconds,
CALEOL_API_JETON_CACHE, 2 by default, 0: never), so that a client sending requests back to back
does not cost a database round trip each (a dossier evaluated through the API then never touches
the database). What this lets through: a token revoked, or a user deactivated or given another
role, in another process is refused by each process at most that many seconds later; a revocation
in the same process (`revoquer_jeton`) is seen at once. Only the SHA-256 of a token is kept, as in
the database, with the user as the request sees it (webapp.auth.Connecte, no database object); an
unknown or refused token is never remembered.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import secrets
import time
import weakref
from collections.abc import Callable
from typing import Any

from flask import current_app, g, request
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..audit import journaliser
from ..horloge import maintenant
from ..models import JetonApi, Role, Utilisateur
from .erreurs import refuser

PREFIXE_JETON = "caleol_"
DUREE_RECONNAISSANCE = 2.0  # seconds a valid token is remembered by a process (API_JETON_CACHE)
RECONNUS_MAX = 1000
LONGUEUR_PREFIXE = 12  # "caleol_" + 5 characters: enough to recognise a token in a list


class ErreurJeton(ValueError):
    pass


def empreinte(jeton: str) -> str:
    return hashlib.sha256(jeton.encode("utf-8")).hexdigest()


def creer_jeton(session: Session, identifiant: str, *, libelle: str, acteur: str) -> tuple[JetonApi, str]:
    """Issue a token to an active user; returns the row and the token (shown once, never stored)."""
    u = session.scalars(select(Utilisateur).where(Utilisateur.identifiant == identifiant)).one_or_none()
    if u is None:
        raise ErreurJeton(f"utilisateur inconnu : {identifiant}.")
    if not u.actif:
        raise ErreurJeton(f"le compte {identifiant} est désactivé : aucun jeton ne peut lui être délivré.")
    libelle = libelle.strip()
    if not libelle or len(libelle) > 200:
        raise ErreurJeton("le libellé du jeton doit compter de 1 à 200 caractères.")
    jeton = PREFIXE_JETON + secrets.token_urlsafe(32)
    ligne = JetonApi(utilisateur_id=u.id, empreinte=empreinte(jeton), prefixe=jeton[:LONGUEUR_PREFIXE],
                     libelle=libelle, cree_le=maintenant())
    session.add(ligne)
    session.flush()
    journaliser(session, acteur=acteur, action="api.jeton.creer", objet_type="jeton_api", objet_id=ligne.id,
                apres={"utilisateur_id": u.id, "prefixe": ligne.prefixe, "role": str(u.role)})
    return ligne, jeton


def revoquer_jeton(session: Session, jeton_id: int, *, acteur: str) -> JetonApi:
    ligne = session.get(JetonApi, jeton_id)
    if ligne is None:
        raise ErreurJeton(f"jeton inconnu : {jeton_id}.")
    if ligne.revoque_le is not None:
        raise ErreurJeton(f"le jeton {jeton_id} est déjà révoqué.")
    ligne.revoque_le = maintenant()
    session.flush()
    oublier_jetons_reconnus()
    journaliser(session, acteur=acteur, action="api.jeton.revoquer", objet_type="jeton_api", objet_id=ligne.id,
                apres={"utilisateur_id": ligne.utilisateur_id, "prefixe": ligne.prefixe})
    return ligne


def jetons(session: Session, identifiant: str | None = None) -> list[JetonApi]:
    stmt = select(JetonApi).join(Utilisateur).options(joinedload(JetonApi.utilisateur)).order_by(JetonApi.id)
    if identifiant:
        stmt = stmt.where(Utilisateur.identifiant == identifiant)
    return list(session.scalars(stmt))


def utilisateur_du_jeton(session: Session, jeton: str) -> Utilisateur | None:
    return _utilisateur_de_l_empreinte(session, empreinte(jeton))


def _utilisateur_de_l_empreinte(session: Session, cle: str) -> Utilisateur | None:
    ligne = session.scalars(
        select(JetonApi).where(JetonApi.empreinte == cle)
        .options(joinedload(JetonApi.utilisateur).joinedload(Utilisateur.organisation))
    ).one_or_none()
    if ligne is None or ligne.revoque_le is not None or not ligne.utilisateur.actif:
        return None
    return ligne.utilisateur


# --------------------------------------------------------------------------- tokens remembered

class _JetonsReconnus:
    """One application's tokens: `entrees`, SHA-256 of a token → (monotonic time until which it is
    trusted, the user it carries). Per application, so that a process serving two (the tests) never
    lends one's token to the other."""

    __slots__ = ("entrees", "__weakref__")

    def __init__(self) -> None:
        self.entrees: dict[str, tuple[float, Any]] = {}


_caches: weakref.WeakSet = weakref.WeakSet()
_horloge = time.monotonic


def _reconnus() -> dict[str, tuple[float, Any]]:
    cache = current_app.extensions.get("caleol.api.jetons_reconnus")
    if cache is None:
        cache = current_app.extensions.setdefault("caleol.api.jetons_reconnus", _JetonsReconnus())
        _caches.add(cache)
    return cache.entrees


def oublier_jetons_reconnus() -> None:
    """Forget every remembered token of this process, in every application (a revocation; tests)."""
    for cache in list(_caches):
        cache.entrees.clear()


def _duree_reconnaissance() -> float:
    try:
        return max(0.0, float(current_app.config.get("API_JETON_CACHE", DUREE_RECONNAISSANCE)))
    except (TypeError, ValueError):
        return DUREE_RECONNAISSANCE


def _reconnu(cle: str):
    cache = _reconnus()
    entree = cache.get(cle)
    if entree is None:
        return None
    if _horloge() >= entree[0]:
        cache.pop(cle, None)
        return None
    return copy.copy(entree[1])  # each request its own object: nothing it sets reaches the next one


def _retenir(cle: str, connecte) -> None:
    duree = _duree_reconnaissance()
    if duree <= 0:
        return
    cache = _reconnus()
    if len(cache) >= RECONNUS_MAX:
        cache.clear()
    cache[cle] = (_horloge() + duree, copy.copy(connecte))


# --------------------------------------------------------------------------- requests


def utilisateur_courant():
    """The user of the request's bearer token (a `Connecte`, like flask_login's), or 401."""
    if "api_utilisateur" in g:
        return g.api_utilisateur
    from .. import get_session
    from ..auth import Connecte

    entete = request.headers.get("Authorization", "")
    schema, _, jeton = entete.partition(" ")
    if not entete:
        refuser(401)
    if schema.lower() != "bearer" or not jeton.strip():
        refuser(401, "En-tête Authorization invalide : « Authorization: Bearer <jeton> » attendu.")
    cle = empreinte(jeton.strip())
    connecte = _reconnu(cle)
    if connecte is None:
        u = _utilisateur_de_l_empreinte(get_session(), cle)
        if u is None:
            refuser(401, "Jeton d'accès inconnu ou révoqué, ou compte désactivé.")
        connecte = Connecte(u)
        _retenir(cle, connecte)
    g.api_utilisateur = connecte
    # flask_login's current_user is this user for the request (no session cookie is ever written):
    # the shared helpers (pseudonymisation, perimeters) read it as they do for the web pages.
    g._login_user = connecte
    return connecte


def acces(blp, *roles: Role, description: str | None = None) -> Callable:
    """Require a valid token (401) and, when given, one of `roles` (403); documented in the spec."""
    libelles = [str(r) for r in roles] if roles else [str(r) for r in Role]

    def decorateur(vue: Callable) -> Callable:
        @functools.wraps(vue)
        def enveloppe(*args: Any, **kwargs: Any):
            u = utilisateur_courant()
            if roles and u.role not in roles:
                refuser(403, description or f"Votre rôle ({u.libelle_role}) ne permet pas cette opération.")
            return vue(*args, **kwargs)

        enveloppe = blp.alt_response(401, response="UNAUTHORIZED")(enveloppe)
        enveloppe = blp.alt_response(403, response="FORBIDDEN")(enveloppe)
        return blp.doc(**{"x-roles": libelles})(enveloppe)

    return decorateur
