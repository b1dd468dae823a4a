"""Transports for ARES: they move bytes and know nothing of the JSON.

A transport answers ``get(path) -> (status, body)`` for any HTTP status; only failing to get an answer at all
(refused connection, reset, timeout) is an error, translated here into ``AresUnavailable`` so that no aiohttp
exception leaves this module.
"""

from __future__ import annotations

from typing import Final, Protocol

import aiohttp

from connectors.ares.codec import AresMalformed
from gateway.errors import TransientError

#: Largest ARES answer we read; one subject is a few KiB, so anything near this is not ARES.
BODY_BYTES_MAX: Final = 1_048_576
#: Sent with every request so that the ARES operators can tell who calls (their fair-use guidance).
USER_AGENT: Final = "proud-ares-connector/1"


class AresUnavailable(TransientError):
    """ARES did not answer usefully (down, 5xx, 429, timeout); the same lookup may succeed later."""


class AresTransport(Protocol):
    """What the client needs from a transport; swap it for a fake or another channel in tests."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def get(self, path: str) -> tuple[int, bytes]:
        """GET ``path`` (absolute, starting with "/") below the base URL; the status and the whole body."""
        ...


class HttpsTransport:
    """aiohttp over HTTPS (plain HTTP for the local simulator), one pooled session per transport."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout_s: float,
        read_timeout_s: float,
        body_bytes_max: int = BODY_BYTES_MAX,
    ) -> None:
        assert base_url.startswith(("https://", "http://")), base_url
        assert connect_timeout_s > 0 and read_timeout_s > 0
        assert 0 < body_bytes_max <= BODY_BYTES_MAX
        self._base_url = base_url.rstrip("/")
        # sock_read bounds each wait for bytes; total bounds a server that trickles them forever.
        self._timeout = aiohttp.ClientTimeout(
            total=connect_timeout_s + read_timeout_s, sock_connect=connect_timeout_s, sock_read=read_timeout_s
        )
        self._body_bytes_max = body_bytes_max
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        assert self._session is None, "HttpsTransport started twice"
        self._session = aiohttp.ClientSession(
            timeout=self._timeout, headers={"Accept": "application/json", "User-Agent": USER_AGENT}
        )

    async def stop(self) -> None:
        """Idempotent: a transport that never started or already stopped stops quietly."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def get(self, path: str) -> tuple[int, bytes]:
        assert self._session is not None, "HttpsTransport.get before start"
        assert path.startswith("/"), path
        url = self._base_url + path
        try:
            async with self._session.get(url, allow_redirects=False) as response:
                body = await self._read_body(response)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            # TimeoutError covers aiohttp's connect and read timeouts (they subclass it) and the total one.
            kind = "timed out" if isinstance(exc, TimeoutError) else "failed"
            raise AresUnavailable(f"ARES GET {url} {kind}: {type(exc).__name__}: {exc}") from exc
        if len(body) > self._body_bytes_max:
            raise AresMalformed(f"ARES GET {url}: body over {self._body_bytes_max} bytes")
        assert 100 <= status <= 599
        return status, body

    async def _read_body(self, response: aiohttp.ClientResponse) -> bytes:
        """The body, stopping one byte past the limit: an oversized answer is seen without reading it all."""
        chunks: list[bytes] = []
        size = 0
        # StreamReader.read(n) returns whatever is buffered, up to n bytes; b"" means the end of the body.
        while size <= self._body_bytes_max:
            chunk = await response.content.read(self._body_bytes_max + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
