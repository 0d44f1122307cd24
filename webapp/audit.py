"""Writing audit entries. Services call `journaliser` inside the caller's transaction."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .horloge import maintenant
from .models import AuditEntry


def journaliser(
    session: Session,
    *,
    acteur: str,
    action: str,
    objet_type: str,
    objet_id: str | int | None = None,
    avant: dict[str, Any] | None = None,
    apres: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    entree = AuditEntry(
        horodatage=maintenant(),
        acteur=acteur,
        action=action,
        objet_type=objet_type,
        objet_id=None if objet_id is None else str(objet_id),
        avant=avant,
        apres=apres,
        details=details,
    )
    session.add(entree)
    return entree
