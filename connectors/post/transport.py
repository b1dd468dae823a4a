"""Transports to the print shop: they put named files into its drop directory and know nothing of letters.

``upload(files)`` writes the files in the order given, each under a temporary name renamed into place when
complete, so the shop never picks up half a file, and the last file (the manifest, the "done" file) appears
only after the others. The same names uploaded again replace the earlier files. Anything that goes wrong
raises ``PrintShopUnavailable``, a ``TransientError``: the bus retries and then dead-letters the request
(replayable once the shop or the settings are fixed). No asyncssh or OS exception leaves this module.

* ``SftpTransport``: asyncssh, key login, the shop's host key checked against a known-hosts file; one
  connection per letter (letters go out one order at a time), the whole upload bounded by ``timeout_s``.
* ``DirectoryTransport``: a local directory (the one-box demo).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Final, Protocol

import asyncssh

from connectors.common import PARTIAL_PREFIX, DropDirectory
from gateway.errors import TransientError

#: Files of one upload at most (a letter is a PDF and its manifest).
FILES_PER_UPLOAD_MAX: Final = 8
#: Bound on one whole upload; the settings cap ``print_sftp_timeout_s`` at the same value.
TIMEOUT_S_MAX: Final = 300.0


class PrintShopUnavailable(TransientError):
    """The print shop's server (or directory) cannot take the letter now."""


class PrintTransport(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def upload(self, files: Sequence[tuple[str, bytes]]) -> str:
        """Write ``files`` (name, content) in order; where they went."""
        ...


def _check(files: Sequence[tuple[str, bytes]]) -> None:
    assert 1 <= len(files) <= FILES_PER_UPLOAD_MAX, len(files)
    for name, _ in files:
        assert name and "/" not in name and not name.startswith("."), name


class SftpTransport:
    """SFTP to ``user@host:port`` into ``remote_dir`` with the private key at ``key_path``."""

    def __init__(
        self, *, host: str, port: int, user: str, key_path: Path, known_hosts: Path, remote_dir: str,
        timeout_s: float,
    ) -> None:
        assert 0 < timeout_s <= TIMEOUT_S_MAX, timeout_s
        self._host, self._port, self._user = host, port, user
        self._key_path, self._known_hosts = key_path, known_hosts
        self._remote_dir = PurePosixPath(remote_dir)
        self._timeout_s = timeout_s

    @property
    def where(self) -> str:
        return f"sftp://{self._user}@{self._host}:{self._port}/{self._remote_dir}"

    async def start(self) -> None:
        """Nothing to open: a connection lives for one upload."""

    async def stop(self) -> None:
        """Nothing to close (idempotent)."""

    async def upload(self, files: Sequence[tuple[str, bytes]]) -> str:
        _check(files)
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._upload(files)
        except TimeoutError as exc:
            raise PrintShopUnavailable(f"{self.where}: no upload within {self._timeout_s} s") from exc
        except (asyncssh.Error, OSError) as exc:  # refused, host key, login, SFTP status, lost connection
            raise PrintShopUnavailable(f"{self.where}: {type(exc).__name__}: {exc}") from exc
        return self.where

    async def _upload(self, files: Sequence[tuple[str, bytes]]) -> None:
        async with asyncssh.connect(
            self._host, port=self._port, username=self._user, client_keys=[str(self._key_path)],
            known_hosts=str(self._known_hosts), connect_timeout=self._timeout_s,
        ) as connection, connection.start_sftp_client() as sftp:
            for name, content in files:
                final = str(self._remote_dir / name)
                partial = str(self._remote_dir / f"{PARTIAL_PREFIX}{name}")
                async with sftp.open(partial, "wb") as remote:
                    await remote.write(content)
                # posix-rename@openssh.com replaces an existing file; plain SFTP rename would refuse it.
                await sftp.posix_rename(partial, final)


class DirectoryTransport:
    """Writes the files into ``directory`` (created at start)."""

    def __init__(self, directory: Path) -> None:
        self._drop = DropDirectory(directory, PrintShopUnavailable, "print directory")

    async def start(self) -> None:
        await self._drop.start()

    async def stop(self) -> None:
        """Nothing to close (idempotent)."""

    async def upload(self, files: Sequence[tuple[str, bytes]]) -> str:
        _check(files)
        for name, content in files:
            await self._drop.write(name, content)
        return str(self._drop.directory)
