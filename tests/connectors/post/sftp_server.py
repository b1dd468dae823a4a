"""The real sshd of ``scripts/services/sftp.sh`` (127.0.0.1:2222, user ``proudsftp``, key login): a drop
directory of its own per test under the user's ``in/``, removed afterwards, and a known-hosts file that pins
the server's host key."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import asyncssh
import pytest

from connectors.post import SftpTransport

REPO: Final = Path(__file__).resolve().parents[3]
SFTP_DIR: Final = REPO / "var" / "sftp"
HOST: Final = "127.0.0.1"
PORT: Final = 2222
USER: Final = "proudsftp"
CLIENT_KEY: Final = SFTP_DIR / "client_key"
HOST_KEY: Final = SFTP_DIR / "ssh_host_ed25519_key.pub"
#: Files one test's drop directory holds at most when it is cleaned up.
FILES_MAX: Final = 50


@dataclass(frozen=True)
class Shop:
    """A drop directory on the real SFTP server and how to reach it."""

    remote_dir: str
    known_hosts: Path

    def transport(self, **changes: object) -> SftpTransport:
        values: dict[str, object] = {
            "host": HOST, "port": PORT, "user": USER, "key_path": CLIENT_KEY, "known_hosts": self.known_hosts,
            "remote_dir": self.remote_dir, "timeout_s": 10.0,
        }
        values.update(changes)
        return SftpTransport(**values)  # type: ignore[arg-type]

    async def files(self) -> dict[str, bytes]:
        """What the shop finds in its directory."""
        async with _connect(self.known_hosts) as connection, connection.start_sftp_client() as sftp:
            names = [name for name in await sftp.listdir(self.remote_dir) if name not in (".", "..")]
            assert len(names) <= FILES_MAX
            found = {}
            for name in names:
                async with sftp.open(f"{self.remote_dir}/{name}", "rb") as remote:
                    found[name] = await remote.read()
            return found


def known_hosts_file(directory: Path, public_key: str) -> Path:
    path = directory / "known_hosts"
    key_type, key = public_key.split()[:2]
    path.write_text(f"[{HOST}]:{PORT} {key_type} {key}\n")
    return path


def _connect(known_hosts: Path) -> Any:  # asyncssh's awaitable context manager of a connection
    if not CLIENT_KEY.is_file():
        pytest.fail(f"no SFTP client key at {CLIENT_KEY}; start the server with `make services`")
    return asyncssh.connect(HOST, port=PORT, username=USER, client_keys=[str(CLIENT_KEY)],
                            known_hosts=str(known_hosts), connect_timeout=10)


@pytest.fixture
async def shop(tmp_path: Path) -> AsyncIterator[Shop]:
    known_hosts = known_hosts_file(tmp_path, HOST_KEY.read_text())
    remote_dir = f"in/proud-test-{uuid.uuid4().hex[:12]}"
    async with _connect(known_hosts) as connection, connection.start_sftp_client() as sftp:
        await sftp.mkdir(remote_dir)
    try:
        yield Shop(remote_dir, known_hosts)
    finally:
        async with _connect(known_hosts) as connection, connection.start_sftp_client() as sftp:
            for name in await sftp.listdir(remote_dir):
                if name not in (".", ".."):
                    await sftp.remove(f"{remote_dir}/{name}")
            await sftp.rmdir(remote_dir)
