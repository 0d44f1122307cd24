"""Logs without personal data: request lines lose their query string and identifying path segments."""
from __future__ import annotations

import logging
import re

# /demandes/<numéro unique> and the like: the segment after these prefixes identifies a person.
_SEGMENTS_IDENTIFIANTS = re.compile(r"(/demandes/)[^/\s?\"]+")
_REQUETE = re.compile(r"\?[^\s\"]*")


def masquer(texte: str) -> str:
    texte = _REQUETE.sub("?…", texte)
    return _SEGMENTS_IDENTIFIANTS.sub(r"\1…", texte)


class FiltreDonneesPersonnelles(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(masquer(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = masquer(record.msg)
        return True


def installer() -> None:
    filtre = FiltreDonneesPersonnelles()
    for nom in ("werkzeug", "gunicorn.access", "webapp"):
        logger = logging.getLogger(nom)
        if not any(isinstance(f, FiltreDonneesPersonnelles) for f in logger.filters):
            logger.addFilter(filtre)
