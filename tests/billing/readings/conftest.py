"""Fixtures of the consumption tests: each test that takes ``engine`` runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from tests.db_fixtures import db_url, engine

__all__ = ["db_url", "engine"]
