"""What the connectors share: a connector's start/stop over its swappable transport, and the local drop
directory that stands in for a partner's inbox in the one-box demo (mail, the print shop)."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Final, Generic, Protocol, TypeVar

from gateway.errors import TransientError

#: Files being written carry this prefix until they are complete (a reader skips them; the print shop is
#: told to ignore files that start with it).
PARTIAL_PREFIX: Final = ".part-"


class Transport(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


T = TypeVar("T", bound=Transport)


class TransportConnector(Generic[T]):
    """A connector whose start/stop are its transport's, both idempotent. Its calls start the transport
    on first use: a consumer may be built before the daemon starts its connectors."""

    def __init__(self, transport: T) -> None:
        self._transport = transport
        self._started = False

    @property
    def transport(self) -> T:
        return self._transport

    async def start(self) -> None:
        if not self._started:
            await self._transport.start()
            self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self._transport.stop()


class DropDirectory:
    """A local directory whose files appear whole (written beside, then renamed): created at start;
    ``unavailable`` is the connector's retryable error, ``what`` names the directory in its messages."""

    def __init__(self, directory: Path, unavailable: type[TransientError], what: str) -> None:
        self.directory = directory
        self._unavailable = unavailable
        self._what = what

    async def start(self) -> None:
        try:
            await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)
        except OSError as exc:
            raise self._unavailable(f"cannot create the {self._what} {self.directory}: {exc}") from exc

    async def write(self, name: str, content: bytes) -> Path:
        path = self.directory / name
        try:
            await asyncio.to_thread(write_atomically, path, content)
        except OSError as exc:
            raise self._unavailable(f"cannot write {path}: {exc}") from exc
        return path


def write_atomically(path: Path, content: bytes) -> None:
    """A reader never sees half a file: write a temporary file beside it, then rename it over."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=PARTIAL_PREFIX)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
