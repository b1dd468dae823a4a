"""Outbound transport to CS OTE: SOAP 1.1 over HTTPS with client certificates (mTLS), bytes in, bytes out.

    send(xml) ─ POST soap:Envelope(xml) ─┬─ 200 + message ─────────────→ the reply message (bytes)
                                         ├─ 200, empty body ───────────→ b""
                                         ├─ soap:Fault (any status) ───→ raise OteRejected (not retried)
                                         ├─ 5xx, 429, timeout, refused ─→ raise OteUnavailable (retryable)
                                         └─ anything else ─────────────→ raise OteRejected

No aiohttp or ssl exception leaves this module. The TLS contexts for both directions are built here too,
from PEM files, so that the callback server (``connectors.ote.callback``) trusts exactly what we do.
"""

from __future__ import annotations

import ssl
from typing import Final, Protocol

import aiohttp

from connectors.ote import soap
from connectors.ote.codec.common import XML_BYTES_MAX, OteMalformed
from gateway.errors import ProudError, TransientError

#: Largest SOAP answer we read: the largest message plus its envelope.
BODY_BYTES_MAX: Final = XML_BYTES_MAX + soap.ENVELOPE_OVERHEAD_BYTES_MAX
#: Upper bound of ``timeout_s``: a send sits on a process step's path and must give up in reasonable time.
TIMEOUT_S_MAX: Final = 300.0
#: Bytes of an unreadable answer repeated in an error message.
BODY_EXCERPT_BYTES_MAX: Final = 200
USER_AGENT: Final = "proud-ote-connector/1"


class OteUnavailable(TransientError):
    """CS OTE did not answer usefully (down, 5xx, timeout, TLS or connection failure); retry later."""


class OteRejected(ProudError):
    """CS OTE refused the message (a SOAP Fault, or a 4xx); sending it again will not help."""


def client_ssl_context(*, cert_path: str, key_path: str, ca_bundle_path: str) -> ssl.SSLContext:
    """Verifies the server against ``ca_bundle_path`` only (not the system store) and presents our cert."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_bundle_path)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    return context


def server_ssl_context(*, cert_path: str, key_path: str, client_ca_path: str) -> ssl.SSLContext:
    """Presents our server cert and refuses every client without a cert signed by ``client_ca_path``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=client_ca_path)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(cert_path, key_path)
    return context


class OteTransportProtocol(Protocol):
    """What ``OteConnector`` needs from an outbound transport; swap it for a fake in tests."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, xml: bytes) -> bytes:
        """Deliver one message; the reply message (b"" if none)."""
        ...


class OteTransport:
    """aiohttp over HTTPS with a client certificate, one pooled session per transport.

    Arguments:
        url: the CDS service endpoint (``https://…``).
        ssl_context: from ``client_ssl_context``.
        connect_timeout_s: TCP and TLS handshake; read_timeout_s: each wait for bytes of the answer.
    """

    def __init__(
        self, url: str, *, ssl_context: ssl.SSLContext, connect_timeout_s: float, read_timeout_s: float
    ) -> None:
        assert url.startswith("https://"), url
        assert 0 < connect_timeout_s <= TIMEOUT_S_MAX and 0 < read_timeout_s <= TIMEOUT_S_MAX
        self._url = url
        self._ssl_context = ssl_context
        # sock_read bounds each wait for bytes; total bounds a server that trickles them forever.
        self._timeout = aiohttp.ClientTimeout(
            total=connect_timeout_s + read_timeout_s, sock_connect=connect_timeout_s, sock_read=read_timeout_s
        )
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        assert self._session is None, "OteTransport started twice"
        connector = aiohttp.TCPConnector(ssl=self._ssl_context)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout,
            headers={"User-Agent": USER_AGENT, "Content-Type": soap.CONTENT_TYPE},
        )

    async def stop(self) -> None:
        """Idempotent: a transport that never started or already stopped stops quietly."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def send(self, xml: bytes) -> bytes:
        assert self._session is not None, "OteTransport.send before start"
        envelope = soap.wrap(xml)
        assert len(envelope) <= BODY_BYTES_MAX
        try:
            async with self._session.post(
                self._url, data=envelope, headers={"SOAPAction": soap.SOAP_ACTION}, allow_redirects=False
            ) as response:
                body = await response.content.read(BODY_BYTES_MAX + 1)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            # TimeoutError covers aiohttp's connect, read and total timeouts; ssl.SSLError is an OSError.
            kind = "timed out" if isinstance(exc, TimeoutError) else "failed"
            raise OteUnavailable(f"OTE POST {self._url} {kind}: {type(exc).__name__}: {exc}") from exc
        return self._answer(status, body)

    def _answer(self, status: int, body: bytes) -> bytes:
        excerpt = repr(body[:BODY_EXCERPT_BYTES_MAX])
        if len(body) > BODY_BYTES_MAX:
            raise OteRejected(f"OTE POST {self._url}: answer over {BODY_BYTES_MAX} bytes")
        try:
            message = soap.unwrap(body) if body.strip() else None
        except soap.SoapFault as exc:
            # A fault from a 5xx is still the server's verdict on this message (SOAP 1.1 sends faults
            # with 500): it is final, not a hiccup.
            raise OteRejected(f"OTE POST {self._url}: HTTP {status} SOAP Fault {exc.text}") from exc
        except OteMalformed as exc:
            if status == 429 or status >= 500:
                raise OteUnavailable(f"OTE POST {self._url}: HTTP {status}: {excerpt}") from exc
            raise OteRejected(f"OTE POST {self._url}: HTTP {status}, not a SOAP answer: {excerpt}") from exc
        if status == 429 or status >= 500:
            raise OteUnavailable(f"OTE POST {self._url}: HTTP {status}: {excerpt}")
        if not 200 <= status < 300:
            raise OteRejected(f"OTE POST {self._url}: HTTP {status}: {excerpt}")
        return message or b""
