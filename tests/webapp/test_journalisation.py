"""No personal data in logs: request lines are masked."""
from __future__ import annotations

import logging

from webapp.journalisation import FiltreDonneesPersonnelles, masquer


def test_le_numero_unique_et_la_recherche_sont_masques():
    ligne = '127.0.0.1 - - "GET /demandes/05911180000506D HTTP/1.1" 200 -'
    assert "05911180000506D" not in masquer(ligne)
    assert "Lefebvre" not in masquer('"GET /demandes?q=Lefebvre&statut=active HTTP/1.1" 200')
    assert masquer('"GET /logements/12 HTTP/1.1"') == '"GET /logements/12 HTTP/1.1"'


def test_le_filtre_masque_les_arguments_des_enregistrements():
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - "%s" %s', ("127.0.0.1", "GET /demandes/0591125000123A HTTP/1.1", "200"), None)
    FiltreDonneesPersonnelles().filter(record)
    assert "0591125000123A" not in record.getMessage()
