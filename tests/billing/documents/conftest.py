"""Fixtures of the document tests: each test that takes ``engine`` runs on SQLite and on PostgreSQL; the
real SMTP server (aiosmtpd) and the real SFTP server's drop directory where a test asks for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.masterdata.filestore import LocalFileStore
from tests.connectors.einvoice.smtp_server import smtp_server
from tests.connectors.post.sftp_server import shop
from tests.db_fixtures import db_url, engine

__all__ = ["db_url", "engine", "files", "shop", "smtp_server"]


@pytest.fixture
def files(tmp_path: Path) -> LocalFileStore:
    return LocalFileStore(tmp_path / "documents")
