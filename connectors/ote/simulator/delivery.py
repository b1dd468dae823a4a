"""The simulated CS OTE calling participants' callback services: SOAP 1.1 over HTTPS with its client
certificate (mTLS), one message per POST, the answer read as a RESPONSE.

    POST soap:Envelope(signed message) ─┬─ 200 + positive RESPONSE ───────────→ delivered
                                        ├─ 200 + negative RESPONSE ───────────→ refused (not retried)
                                        ├─ SOAP Fault or other 4xx ───────────→ refused (not retried)
                                        └─ 5xx, 429, timeout, refused, TLS ───→ retry (with backoff)

Unlike our own outbound transport (``connectors.ote.transport``), a 5xx with a SOAP Fault is retried here:
our callback answers a database outage with 503 + Fault precisely so that CS OTE sends the message again.
"""

from __future__ import annotations

import enum
import ssl
from dataclasses import dataclass
from typing import Final

import aiohttp
import structlog

from connectors.ote import codec, soap
from connectors.ote.codec.common import OteMalformed
from connectors.ote.inbound import REASON_ACCEPTED
from connectors.ote.transport import BODY_BYTES_MAX, BODY_EXCERPT_BYTES_MAX
from gateway.errors import MessageError
from schemas.ote import Response

log = structlog.get_logger(__name__)

#: TCP and TLS handshake with a participant's callback, and each wait for bytes of its answer.
CONNECT_TIMEOUT_S: Final = 5.0
READ_TIMEOUT_S: Final = 30.0
#: Connections kept open to all callbacks together.
CONNECTIONS_MAX: Final = 32
USER_AGENT: Final = "proud-ote-simulator/1"


class Outcome(enum.Enum):
    delivered = "delivered"
    refused = "refused"
    retry = "retry"


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    #: Why, when not delivered: for the outbox entry and the log.
    error: str | None = None


class CallbackClient:
    """One pooled aiohttp session for every participant's callback; ``ssl_context`` from
    ``connectors.ote.transport.client_ssl_context`` (the simulator's client certificate)."""

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        assert ssl_context.verify_mode == ssl.CERT_REQUIRED
        self._ssl_context = ssl_context
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        assert self._session is None, "CallbackClient started twice"
        timeout = aiohttp.ClientTimeout(
            total=CONNECT_TIMEOUT_S + READ_TIMEOUT_S, sock_connect=CONNECT_TIMEOUT_S, sock_read=READ_TIMEOUT_S
        )
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self._ssl_context, limit=CONNECTIONS_MAX), timeout=timeout,
            headers={
                "User-Agent": USER_AGENT, "Content-Type": soap.CONTENT_TYPE, "SOAPAction": soap.SOAP_ACTION,
            },
        )

    async def stop(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def post(self, url: str, message: bytes) -> Result:
        assert self._session is not None, "CallbackClient.post before start"
        try:
            async with self._session.post(url, data=soap.wrap(message), allow_redirects=False) as answer:
                body = await answer.content.read(BODY_BYTES_MAX + 1)
                status = answer.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            # ssl.SSLError is an OSError; TimeoutError covers connect, read and total timeouts.
            return Result(Outcome.retry, f"POST {url}: {type(exc).__name__}: {exc}")
        return _judge(url, status, body)


def _judge(url: str, status: int, body: bytes) -> Result:
    excerpt = repr(body[:BODY_EXCERPT_BYTES_MAX])
    if status == 429 or status >= 500:
        return Result(Outcome.retry, f"POST {url}: HTTP {status}: {excerpt}")
    if not 200 <= status < 300:
        return Result(Outcome.refused, f"POST {url}: HTTP {status}: {excerpt}")
    try:
        message = soap.unwrap(body) if len(body) <= BODY_BYTES_MAX else None
        if message is None:
            return Result(Outcome.refused, f"POST {url}: HTTP {status} without a RESPONSE: {excerpt}")
        response = codec.decode_as(message, Response)
    except soap.SoapFault as exc:
        return Result(Outcome.refused, f"POST {url}: SOAP Fault {exc.text}")
    except (OteMalformed, MessageError) as exc:
        return Result(Outcome.refused, f"POST {url}: unreadable RESPONSE: {exc}")
    refusals = [reason for reason in response.reasons if reason.type != REASON_ACCEPTED.type]
    if refusals:
        text = "; ".join(f"{reason.code}: {reason.text or ''}" for reason in refusals)
        return Result(Outcome.refused, f"negative RESPONSE: {text}")
    return Result(Outcome.delivered)
