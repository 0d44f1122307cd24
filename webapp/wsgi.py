"""WSGI entry point of the production server: `gunicorn -c gunicorn.conf.py webapp.wsgi:app`.

The configuration comes from the environment (CALEOL_DATABASE_URL, CALEOL_SECRET_KEY…), as for
`caleol serve`. With gunicorn's preload (gunicorn.conf.py) this module is imported once, in the
master; the rulebook is compiled afterwards in each worker (webapp.sante.preparer_moteur).
"""
from __future__ import annotations

from . import create_app

app = create_app()
