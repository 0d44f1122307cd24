"""Deterministic, realistic demonstration data (`caleol demo load`): see UTILISATEURS.md."""
from .generateur import Empreinte, JeuDemo, empreinte
from .service import ErreurDemo, ResultatDemo, charger_demo

__all__ = ["Empreinte", "ErreurDemo", "JeuDemo", "ResultatDemo", "charger_demo", "empreinte"]
