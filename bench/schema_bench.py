"""The measuring schema of the W1–W3 benchmarks: how each script lets it go at the end."""
from __future__ import annotations

from sqlalchemy import Engine, text


def liberer_schema(engine: Engine, admin: Engine, schema: str, conserver: bool) -> None:
    """Close the connections, then keep the schema (--garder, --schema) or drop it."""
    engine.dispose()
    if conserver:
        print(f"schéma conservé : {schema}")
    else:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        print(f"schéma {schema} supprimé")
    admin.dispose()
