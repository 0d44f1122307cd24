"""Seeded draws: every random choice of the demo goes through one random.Random, never the global one."""
from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_right
from itertools import accumulate
from typing import Generic, TypeVar

T = TypeVar("T")


class Choix(Generic[T]):
    """A weighted choice prepared once (cumulative weights), drawn many times."""

    __slots__ = ("valeurs", "cumuls", "total")

    def __init__(self, poids: dict[T, float] | list[tuple[T, float]]) -> None:
        paires = list(poids.items()) if isinstance(poids, dict) else list(poids)
        self.valeurs = [v for v, _ in paires]
        self.cumuls = list(accumulate(float(p) for _, p in paires))
        self.total = self.cumuls[-1]

    def tirer(self, r: random.Random) -> T:
        return self.valeurs[bisect_right(self.cumuls, r.random() * self.total)]


def graine(seed: int, flux: str) -> random.Random:
    """An independent, reproducible stream per part of the generation (str seeds hash with SHA-512)."""
    return random.Random(f"caleol-demo:{seed}:{flux}")


def entre(r: random.Random, bornes: list[float] | tuple[float, float]) -> float:
    return bornes[0] + (bornes[1] - bornes[0]) * r.random()


def entier_entre(r: random.Random, bornes: list[int] | tuple[int, int]) -> int:
    return r.randint(int(bornes[0]), int(bornes[1]))


def jours(date: dt.date, n: float) -> dt.date:
    return date + dt.timedelta(days=int(n))


def age_le(naissance: dt.date, date: dt.date) -> int:
    return date.year - naissance.year - ((date.month, date.day) < (naissance.month, naissance.day))


def naissance_pour_age(r: random.Random, age: int, date: dt.date) -> dt.date:
    """A birth date giving exactly `age` completed years at `date`."""
    return date - dt.timedelta(days=int(age * 365.25) + r.randint(1, 360))


def euros(x: float) -> float:
    return round(x, 2)
