"""The reference date. Tests and replays set CALEOL_TODAY (YYYY-MM-DD); nothing reads the clock directly."""
from __future__ import annotations

import datetime as dt
import os


def aujourd_hui() -> dt.date:
    valeur = os.environ.get("CALEOL_TODAY")
    if valeur:
        return dt.date.fromisoformat(valeur)
    return dt.date.today()


def maintenant() -> dt.datetime:
    """Timestamp for audit entries: the real UTC clock, or noon of CALEOL_TODAY when it is set."""
    valeur = os.environ.get("CALEOL_TODAY")
    if valeur:
        return dt.datetime.combine(dt.date.fromisoformat(valeur), dt.time(12, 0), tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC)
