"""Fixtures of the batch billing tests: each test that takes ``engine`` runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.masterdata.filestore import LocalFileStore
from tests.db_fixtures import db_url, engine

__all__ = ["db_url", "engine", "files"]


@pytest.fixture
def files(tmp_path: Path) -> LocalFileStore:
    return LocalFileStore(tmp_path / "documents")
