"""Fixtures of the end-to-end scenarios: one simulator PKI for the session, and the running stack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connectors.ote.pki import ensure_simulator_pki
from tests.scenarios.market import Stack, running_stack


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Made once with the default validity: a short-lived one would be made anew at every simulator start,
    # and a restarted simulator would no longer match the certificates the daemon loaded.
    directory = tmp_path_factory.mktemp("scenario-pki")
    ensure_simulator_pki(directory)
    return directory


@pytest.fixture
async def stack(
    pki_dir: Path, pg_url: str, kafka_bootstrap: str, tmp_path: Path, unique: str
) -> AsyncIterator[Stack]:
    async with running_stack(
        pki_dir, pg_url=pg_url, kafka_bootstrap=kafka_bootstrap, tmp_path=tmp_path, group_suffix=unique
    ) as s:
        yield s


@pytest.fixture
async def stack_without_ote(
    pki_dir: Path, pg_url: str, kafka_bootstrap: str, tmp_path: Path, unique: str
) -> AsyncIterator[Stack]:
    """The stack with nothing listening at CS OTE's address until ``Stack.restart_simulator``."""
    async with running_stack(
        pki_dir, pg_url=pg_url, kafka_bootstrap=kafka_bootstrap, tmp_path=tmp_path, group_suffix=unique,
        simulator_up=False,
    ) as s:
        yield s
