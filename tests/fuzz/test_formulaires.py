"""Every web form that writes, fuzzed with invalid inputs: 422, the form again with a French error on the
field, nothing written.

The POST routes are read from the application's url_map (outside /api/): a route added later is fuzzed
without changing this file, as long as its path parameters are in `_parametres_reels` (the test says
which one is missing). For each route the test finds, as a logged-in user (with CSRF checks ON), the
page whose form posts to it: the route itself when it also answers GET, otherwise a parent path; the
form's fields are read from that HTML (inputs with their type, required, min, max, maxlength, pattern;
selects, radio buttons and check boxes with their allowed values). Hypothesis then submits the form
with its CSRF token and its current values, ONE OR TWO fields replaced by a value the form itself
declares invalid: a value outside the options, letters in a number, a number outside min/max, a text
that is not a date, a text longer than maxlength, a blank required field. The answer must be 422 with
an error attached to a field of the form (aria-invalid), never a 5xx; the database (every table,
audit journal included) is unchanged after each route's inputs.

A form with no field that can be invalid (a button: close the séance, sign, log out, deactivate a
account…) has no invalid input to send: it is listed, not fuzzed; so is a form the test world does not
show (a button of another state: a closed séance, a remote séance, a deactivated account). The login form is not a write of a
logged-in user (its refusals are tested in tests/webapp/test_auth.py).
"""
from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.webapp.decisions_exemple import MOT_DE_PASSE
from webapp import create_app
from webapp import db as dbmod
from webapp.models import (
    OrientationFlux,
    Reservataire,
    StatutOrientation,
    TypeReservataire,
    Utilisateur,
)

from . import outils

NON_FUZZES = {"auth.connexion": "connexion d'un visiteur anonyme (tests/webapp/test_auth.py)"}
COMPTES = ("president", "charge", "admin", "membre1", "reservataire.al", "charge.douai")
DATE = dt.date(2026, 6, 15)


# --------------------------------------------------------------------------- reading the forms

@dataclass
class Champ:
    nom: str
    genre: str  # text, number, date, datetime-local, select, checkbox, radio, textarea…
    valeur: str = ""
    requis: bool = False
    minimum: str | None = None
    maximum: str | None = None
    longueur_max: int | None = None
    motif: str | None = None
    options: list[str] = field(default_factory=list)
    multiple: bool = False


@dataclass
class Formulaire:
    action: str
    champs: dict[str, Champ] = field(default_factory=dict)
    caches: dict[str, str] = field(default_factory=dict)


class _Lecteur(HTMLParser):
    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.url, self.formulaires, self.courant, self.select = url, [], None, None

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self.courant = Formulaire(action=(a.get("action") or self.url).split("?")[0].split("#")[0])
                self.formulaires.append(self.courant)
            return
        if self.courant is None or "name" not in a and tag != "option":
            return
        f = self.courant
        if tag == "input":
            genre = a.get("type", "text").lower()
            if genre == "hidden":
                f.caches[a["name"]] = a.get("value", "")
            elif genre in ("checkbox", "radio"):
                c = f.champs.setdefault(a["name"], Champ(a["name"], genre, multiple=genre == "checkbox"))
                c.options.append(a.get("value", "on"))
                if "checked" in a:
                    c.valeur = a.get("value", "on")
            elif genre not in ("submit", "button", "reset", "image", "file"):
                f.champs[a["name"]] = Champ(a["name"], genre, a.get("value", ""), "required" in a, a.get("min"), a.get("max"),
                                            int(a["maxlength"]) if a.get("maxlength", "").isdigit() else None,
                                            a.get("pattern") or None)
        elif tag == "textarea":
            f.champs[a["name"]] = Champ(a["name"], "textarea", "", "required" in a,
                                        longueur_max=int(a["maxlength"]) if a.get("maxlength", "").isdigit() else None)
        elif tag == "select":
            self.select = f.champs[a["name"]] = Champ(a["name"], "select", "", "required" in a, multiple="multiple" in a)
        elif tag == "option" and self.select is not None:
            self.select.options.append(a.get("value", ""))
            if "selected" in a:
                self.select.valeur = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.courant = None
        elif tag == "select":
            self.select = None


def formulaires(html: str, url: str) -> list[Formulaire]:
    lecteur = _Lecteur(url)
    lecteur.feed(html)
    return lecteur.formulaires


# --------------------------------------------------------------------------- invalid values

_TEXTE = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20)
_DATE = re.compile(r"\s*\d{4}-\d{2}-\d{2}\s*")
_INSTANT = re.compile(r"\s*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*")


def _nombre(texte: str) -> bool:
    try:
        float(texte)
        return True
    except ValueError:
        return False


def invalides(c: Champ) -> st.SearchStrategy[str] | None:
    """Values the form itself declares invalid for this field, or None if it declares none."""
    if c.genre in ("select", "radio", "checkbox"):
        if c.genre == "checkbox" and c.options in (["on"], ["1"], ["oui"]):
            return None  # a lone box: any value reads as « ticked » or « not ticked »
        return _TEXTE.filter(lambda t, o=set(c.options): t not in o and t.strip() not in o)
    if c.genre == "number":
        choix = [_TEXTE.filter(lambda t: t.strip() != "" and not _nombre(t))]
        if c.minimum not in (None, "") and _nombre(c.minimum):
            choix.append(st.integers(max_value=int(float(c.minimum)) - 1, min_value=int(float(c.minimum)) - 10**6).map(str))
        if c.maximum not in (None, "") and _nombre(c.maximum):
            choix.append(st.integers(min_value=int(float(c.maximum)) + 1, max_value=int(float(c.maximum)) + 10**6).map(str))
        return st.one_of(choix)
    if c.genre == "date":
        return _TEXTE.filter(lambda t: t.strip() != "" and not _DATE.fullmatch(t))
    if c.genre == "datetime-local":
        return _TEXTE.filter(lambda t: t.strip() != "" and not _INSTANT.fullmatch(t) and not _DATE.fullmatch(t))
    choix = []
    if c.longueur_max:
        choix.append(st.text(alphabet="abcdefghij", min_size=c.longueur_max + 1, max_size=c.longueur_max + 40))
    if c.motif:
        choix.append(_TEXTE.filter(lambda t, m=re.compile(c.motif): t.strip() != "" and not m.fullmatch(t)))
    if c.requis:
        choix.append(st.sampled_from(["", "   "]))
    return st.one_of(choix) if choix else None


# --------------------------------------------------------------------------- the world and the clients

def _orientation(sessions, monde) -> int:
    """An orientation of the Douai logement to a réservataire of « reservataire.al », open for designation."""
    with dbmod.transaction(sessions) as s:
        u = s.scalars(select(Utilisateur).where(Utilisateur.identifiant == "reservataire.al")).one()
        douai = s.scalars(select(Utilisateur).where(Utilisateur.identifiant == "charge.douai")).one()
        r = Reservataire(nom="Action Logement Services (fuzzing)", type=TypeReservataire.ACTION_LOGEMENT,
                         organisation_id=u.organisation_id)
        s.add(r)
        s.flush()
        o = OrientationFlux(logement_id=monde.logement_douai, bailleur_id=douai.organisation_id, reservataire_id=r.id,
                            annee=DATE.year, date_orientation=DATE, date_limite_designation=DATE + dt.timedelta(days=30),
                            statut=StatutOrientation.EN_ATTENTE)
        s.add(o)
        s.flush()
        return o.id


def _client(engine, identifiant: str):
    app = create_app({"ENGINE": engine, "SECRET_KEY": "test", "TESTING": True, "WTF_CSRF_ENABLED": True,
                      "LIMITE_CONNEXION": "1000 per minute", "ENREGISTRER_VERSION_REGLES": False})
    c = app.test_client()
    page = c.get("/connexion").get_data(as_text=True)
    jeton = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    r = c.post("/connexion", data={"identifiant": identifiant, "mot_de_passe": MOT_DE_PASSE, "csrf_token": jeton})
    assert r.status_code == 302, identifiant
    return app, c


def _pages_hotes(url: str) -> list[str]:
    pages = [url]  # the route itself (its GET may be another view on the same path), then its parents
    morceaux = url.rstrip("/").split("/")
    for i in range(len(morceaux) - 1, 0, -1):
        pages.append("/".join(morceaux[:i]) or "/")
    return [*dict.fromkeys([*pages, "/"])]


def _champ_signale(html: str, noms: set[str]) -> bool:
    """An error is attached to a field of the form: aria-invalid on it (or on its fieldset) with its message."""
    for balise in re.findall(r"<(?:input|select|textarea|fieldset)\b[^>]*aria-invalid=\"true\"[^>]*>", html):
        nom = re.search(r'\bname="([^"]+)"', balise) or re.search(r'\bid="(?:champ-)?([^"]+)"', balise)
        if nom and (nom.group(1) in noms or any(n.startswith(nom.group(1)) for n in noms)):
            return True
    # …or its message carries the field's name in its id (erreur-<champ>, err-<champ>), for a group of boxes.
    return any(n in noms or any(x.startswith(n) for x in noms)
               for n in re.findall(r'\bid="(?:erreur|err)-([^"]+)"', html))


def test_chaque_formulaire_d_ecriture_refuse_les_saisies_invalides_sans_rien_ecrire(monde, engine, sessions):
    reels = {"seance_id": monde.seance.seance_id, "candidature_id": next(iter(monde.seance.candidatures.values())),
             "utilisateur_id": monde.seance.utilisateurs["membre2"], "logement_id": monde.logement_douai,
             "orientation_id": _orientation(sessions, monde), "numero_unique": monde.demandes_douai[0]}
    debut_lecture = time.perf_counter()
    clients = {i: _client(engine, i) for i in COMPTES}
    app = clients[COMPTES[0]][0]
    routes = sorted((r for r in app.url_map.iter_rules()
                     if "POST" in r.methods and not r.rule.startswith("/api/") and r.endpoint != "static"),
                    key=lambda r: r.rule)
    statuts: Counter[tuple[str, int]] = Counter()
    boutons, fuzzes = [], []
    cibles: list[tuple[str, str, Formulaire, list[Champ]]] = []
    lues: dict[tuple[str, str], list[Formulaire]] = {}
    absents: list[str] = []
    for regle in routes:
        if regle.endpoint in NON_FUZZES:
            continue
        manquants = [a for a in regle.arguments if a not in reels]
        if manquants:  # an object the test world does not build yet: listed, to be added to `reels`
            absents.append(f"{regle.rule} (sans {', '.join(manquants)})")
            continue
        url = regle.build({a: reels[a] for a in regle.arguments}, append_unknown=False)[1]
        trouve = None
        for compte in COMPTES:
            for page in _pages_hotes(url):
                if (compte, page) not in lues:
                    r = clients[compte][1].get(page)
                    lues[(compte, page)] = formulaires(r.get_data(as_text=True), page) if r.status_code == 200 else []
                formes = [f for f in lues[(compte, page)] if f.action == url]
                if formes:
                    trouve = (compte, page, formes[0])
                    break
            if trouve:
                break
        if trouve is None:
            # A button shown only in another state (closed séance, deactivated account, remote séance…).
            absents.append(regle.rule)
            continue
        compte, page, forme = trouve
        invalidables = [c for c in forme.champs.values() if invalides(c) is not None]
        if not invalidables:
            boutons.append(regle.rule)
            continue
        cibles.append((compte, page, forme, invalidables))
        fuzzes.append(regle.rule)

    print(f"\nformulaires : lecture des pages en {time.perf_counter() - debut_lecture:.1f} s")
    quota = outils.quota(outils.PART_FORMULAIRES)
    par_route = -(-quota // max(1, len(cibles)))
    debut = time.perf_counter()
    for compte, page, forme, invalidables in cibles:
        client = clients[compte][1]
        avant, audit_avant = outils.empreinte_base(engine), outils.nombre_audit(engine)
        noms = set(forme.champs)
        jeton = forme.caches.get("csrf_token")
        assert jeton, f"{forme.action} : formulaire sans jeton CSRF"

        @st.composite
        def saisie(draw):
            choisis = draw(st.lists(st.sampled_from(invalidables), min_size=1, max_size=2, unique_by=lambda c: c.nom))
            donnees: dict[str, object] = dict(forme.caches)
            for c in forme.champs.values():
                if c.valeur:
                    donnees[c.nom] = c.valeur
            for c in choisis:
                donnees[c.nom] = draw(invalides(c))
            return donnees, [c.nom for c in choisis]

        @outils.reglages(par_route)
        @given(cas=saisie())
        def soumettre(cas):
            donnees, champs = cas
            r = client.post(forme.action, data=donnees)
            statuts[(forme.action, r.status_code)] += 1
            html = r.get_data(as_text=True)
            assert r.status_code == 422, (forme.action, champs, donnees, r.status_code, html[:500])
            assert _champ_signale(html, noms), (forme.action, champs, re.findall(r'class="[^"]*erreur[^"]*"[^>]*>[^<]*<', html)[:5])
            assert "Traceback" not in html

        soumettre()
        assert outils.empreinte_base(engine) == avant, f"{forme.action} : une saisie invalide a écrit dans la base"
        assert outils.nombre_audit(engine) == audit_avant, f"{forme.action} : une saisie invalide a été journalisée"

    duree = time.perf_counter() - debut
    total = sum(statuts.values())
    print(f"\nformulaires : {len(fuzzes)} routes fuzzées, {total} saisies invalides en {duree:.1f} s ({total / duree:.0f}/s)")
    for (action, code), n in sorted(statuts.items()):
        print(f"  POST {action} → {code} : {n}")
    print(f"  boutons sans champ à invalider (non fuzzés) : {', '.join(boutons)}")
    print(f"  formulaires absents des pages du monde de test (non fuzzés) : {', '.join(absents)}")
    assert {"/decisions/seances/<int:seance_id>/candidatures/<int:candidature_id>/decision",
            "/decisions/seances/<int:seance_id>/candidatures/<int:candidature_id>/vote", "/preparation/seances/nouvelle",
            "/preparation/seances/<int:seance_id>/ordre-du-jour", "/admin/utilisateurs/nouveau",
            "/admin/utilisateurs/<int:utilisateur_id>", "/reservataire/orientations/<int:orientation_id>"} <= set(fuzzes), fuzzes
    assert total >= quota * 0.9, (total, quota)
    assert not [k for k in statuts if k[1] >= 500]


def test_un_chiffre_hors_ascii_est_refuse_sans_erreur_serveur(monde, engine):
    """Found by the long run (bench/fuzz_long.py): « ² ».isdigit() is true but int("²") raises → 500."""
    _app, admin = _client(engine, "admin")
    url = f"/admin/utilisateurs/{monde.seance.utilisateurs['membre2']}"
    jeton = formulaires(admin.get(url).get_data(as_text=True), url)[-1].caches["csrf_token"]
    r = admin.post(url, data={"csrf_token": jeton, "nom_affiche": "Membre2", "role": "membre_commission",
                              "organisation_id": "²"})
    assert r.status_code == 422 and 'aria-invalid="true"' in r.get_data(as_text=True)
    _app, charge = _client(engine, "charge")
    url = "/preparation/seances/nouvelle"
    jeton = formulaires(charge.get(url).get_data(as_text=True), url)[-1].caches["csrf_token"]
    r = charge.post(url, data={"csrf_token": jeton, "commission": "١", "date_seance": "2026-07-01", "mode": "physique",
                               "quorum": "²", "nb_lignes": "³"})
    assert r.status_code == 422
    assert 'id="err-quorum"' in r.get_data(as_text=True) or 'id="erreur-quorum"' in r.get_data(as_text=True)
