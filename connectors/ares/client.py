"""ARES client: IČO check, bounded TTL cache, retries with the shared ``RetryPolicy``, answers as values.

    lookup(ico) ─┬─ invalid IČO ───────────────────────────→ raise AresInvalidIco (no request)
                 ├─ cached and fresh ──────────────────────→ Found | NotRegistered
                 └─ GET …/ekonomicke-subjekty/{ico:08d}
                      ├─ 200 ──────────────────────────────→ Found(subject)        (or AresMalformed)
                      ├─ 404 NENALEZENO ───────────────────→ NotRegistered(ico)
                      ├─ 5xx, 429, timeout, refused ───────→ retry, then AresUnavailable (TransientError)
                      └─ anything else ────────────────────→ AresMalformed / AresRejected (not retried)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections import OrderedDict
from types import TracebackType
from typing import Final, Self

import msgspec
import structlog

from connectors.ares.codec import (
    ICO_DIGITS,
    KOD_NOT_FOUND,
    AresError,
    AresMalformed,
    AresSubject,
    decode_error,
    decode_subject,
    pad_ico,
)
from connectors.ares.transport import AresTransport, AresUnavailable, HttpsTransport
from gateway.bus.retry import RetryPolicy
from gateway.clock import Clock
from gateway.errors import ProudError

log = structlog.get_logger(__name__)

#: The production service (MF ČR); keyless.
ARES_BASE_URL: Final = "https://ares.gov.cz"
#: Path of one subject below the base URL; ``{ico}`` is the zero-padded IČO.
SUBJECT_PATH: Final = "/ekonomicke-subjekty-v-be/rest/ekonomicke-subjekty/{ico}"
#: Upper bound for ``cache_entries_max``: the cache lives in memory of every gateway process.
CACHE_ENTRIES_MAX: Final = 100_000
#: Upper bound for ``timeout_s``: a lookup sits on a consumer's path, so it must give up in reasonable time.
TIMEOUT_S_MAX: Final = 60.0

#: Weights of IČO digits 1..7 in the mod-11 check (the 8th digit is the check digit).
_ICO_WEIGHTS: Final = (8, 7, 6, 5, 4, 3, 2)
_ICO_MODULUS: Final = 11
#: Bytes of an unreadable error body repeated in an error message.
_BODY_EXCERPT_BYTES_MAX: Final = 200


class Found(msgspec.Struct, frozen=True):
    subject: AresSubject


class NotRegistered(msgspec.Struct, frozen=True):
    """ARES knows no subject with this IČO: an expected answer (typo, foreign company), not a failure."""

    ico: str


AresLookup = Found | NotRegistered


class AresInvalidIco(ProudError):
    """The IČO is not 1 to 8 digits or its check digit is wrong; ARES was not asked."""


class AresRejected(ProudError):
    """ARES refused the request itself (4xx other than not-found) although our local check passed it."""


def _ico_checked(value: str) -> str:
    """Zero-padded IČO, or ``AresInvalidIco``. Minimal on purpose: full identifier checks live elsewhere."""
    text = value.strip()
    if not (text.isascii() and text.isdigit() and 1 <= len(text) <= ICO_DIGITS):
        raise AresInvalidIco(f"IČO {value!r}: expected 1 to {ICO_DIGITS} digits")
    ico = pad_ico(text)
    weighted = sum(int(digit) * weight for digit, weight in zip(ico[:7], _ICO_WEIGHTS, strict=True))
    # (11 - r) mod 10: a remainder of 0 gives check digit 1 and a remainder of 1 gives 0.
    check = (_ICO_MODULUS - weighted % _ICO_MODULUS) % 10
    if int(ico[7]) != check:
        raise AresInvalidIco(f"IČO {ico}: check digit is {ico[7]}, expected {check}")
    return ico


def _error_detail(error: AresError | None, body: bytes) -> str:
    if error is not None:
        return f"kod={error.kod} subKod={error.sub_kod} popis={error.popis!r}"
    # Not an ARES body: a bounded excerpt is enough to recognise a proxy page or an empty answer.
    return repr(body[:_BODY_EXCERPT_BYTES_MAX])


class AresClient:
    """Looks companies up in ARES by IČO.

    Arguments:
        base_url: origin of ARES (``ARES_BASE_URL``) or of the simulator (``http://127.0.0.1:PORT``).
        timeout_s: connect timeout and read timeout of one request, each.
        retry: attempts and backoff for failures that may pass (5xx, 429, timeout, refused connection).
        cache_ttl_s: how long an answer (found or not registered) is reused; 0 turns the cache off.
        cache_entries_max: most IČOs kept; the least recently used one goes first.
        clock: decides cache expiry, so tests move time by hand.
        transport: replaces the aiohttp transport (a fake, another channel); ``base_url`` then goes unused.
        rng: jitter source of the retry delays, for reproducible tests.
    """

    def __init__(
        self,
        base_url: str = ARES_BASE_URL,
        *,
        timeout_s: float,
        retry: RetryPolicy,
        cache_ttl_s: float,
        cache_entries_max: int,
        clock: Clock,
        transport: AresTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        assert 0 < timeout_s <= TIMEOUT_S_MAX, timeout_s
        assert cache_ttl_s >= 0, cache_ttl_s
        assert 0 < cache_entries_max <= CACHE_ENTRIES_MAX, cache_entries_max
        self._transport: AresTransport = transport or HttpsTransport(
            base_url, connect_timeout_s=timeout_s, read_timeout_s=timeout_s
        )
        self._retry = retry
        self._cache_ttl = dt.timedelta(seconds=cache_ttl_s)
        self._cache_entries_max = cache_entries_max
        self._clock = clock
        self._rng = rng
        # IČO → (expires at, answer); insertion order doubles as recency order (move_to_end on a hit).
        self._cache: OrderedDict[str, tuple[dt.datetime, AresLookup]] = OrderedDict()
        self._started = False

    async def start(self) -> None:
        assert not self._started, "AresClient started twice"
        await self._transport.start()
        self._started = True

    async def stop(self) -> None:
        """Idempotent; the cache is dropped with the connection."""
        if self._started:
            self._started = False
            self._cache.clear()
            await self._transport.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def cache_size(self) -> int:
        return len(self._cache)

    async def lookup(self, ico: str) -> AresLookup:
        """``Found`` or ``NotRegistered``.

        Raises AresInvalidIco (no request made), AresUnavailable, AresMalformed, AresRejected.
        """
        padded = _ico_checked(ico)
        assert self._started, "AresClient.lookup before start"
        cached = self._cache_get(padded)
        if cached is not None:
            return cached
        answer = await self._fetch_with_retry(padded)
        self._cache_put(padded, answer)
        assert answer.ico == padded if isinstance(answer, NotRegistered) else answer.subject.ico == padded
        return answer

    async def _fetch_with_retry(self, ico: str) -> AresLookup:
        attempts_max = self._retry.attempts_max
        for attempt in range(1, attempts_max + 1):
            try:
                return await self._fetch(ico)
            except AresUnavailable as exc:
                if attempt == attempts_max:
                    message = f"ARES lookup {ico}: gave up after {attempt} attempts: {exc}"
                    raise AresUnavailable(message) from exc
                delay_s = self._retry.delay_s(attempt, self._rng)
                log.warning("ares.retry", ico=ico, attempt=attempt, delay_s=round(delay_s, 3), error=str(exc))
                await asyncio.sleep(delay_s)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _fetch(self, ico: str) -> AresLookup:
        status, body = await self._transport.get(SUBJECT_PATH.format(ico=ico))
        if status == 200:
            subject = decode_subject(body)
            if subject.ico != ico:
                raise AresMalformed(f"ARES lookup {ico}: answer is about IČO {subject.ico}")
            return Found(subject)
        error = decode_error(body)
        detail = _error_detail(error, body)
        if status == 404:
            if error is not None and error.kod == KOD_NOT_FOUND:
                return NotRegistered(ico)
            # A 404 without the ARES body comes from a wrong base URL or a proxy, not from the register.
            raise AresMalformed(f"ARES lookup {ico}: HTTP 404, not an ARES error body (wrong URL?) {detail}")
        if status == 429 or status >= 500:
            raise AresUnavailable(f"ARES lookup {ico}: HTTP {status}: {detail}")
        if 400 <= status < 500:
            raise AresRejected(f"ARES lookup {ico}: HTTP {status}: {detail}")
        raise AresMalformed(f"ARES lookup {ico}: unexpected HTTP {status}: {detail}")

    def _cache_get(self, ico: str) -> AresLookup | None:
        entry = self._cache.get(ico)
        if entry is None:
            return None
        expires_at, answer = entry
        if self._clock.now() >= expires_at:
            del self._cache[ico]
            return None
        self._cache.move_to_end(ico)
        return answer

    def _cache_put(self, ico: str, answer: AresLookup) -> None:
        if not self._cache_ttl:
            return
        self._cache[ico] = (self._clock.now() + self._cache_ttl, answer)
        self._cache.move_to_end(ico)
        while len(self._cache) > self._cache_entries_max:
            self._cache.popitem(last=False)
        assert len(self._cache) <= self._cache_entries_max
