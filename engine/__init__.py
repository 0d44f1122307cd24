"""Caléol's rules engine: pure Python over plain data (no Flask, no SQLAlchemy).

Only `engine.durable_adapter` imports durable_rules.
"""

__version__ = "0.1.0"
