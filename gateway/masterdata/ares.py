"""ARES for master data: the client built from the settings, and a company's fields as a customer needs them.

``company_from_ares(lookup, ico, today)`` asks ARES once and returns what it fills in (name, DIČ, legal
form, seat); "not registered" and a dissolved company are refusals naming the IČO; ARES failing is
``AresLookupFailed``, retryable when ARES was only unavailable, and says that the customer can be entered by
hand instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import msgspec

from connectors.ares import (
    ARES_BASE_URL,
    AresClient,
    AresInvalidIco,
    AresLookup,
    AresMalformed,
    AresRejected,
    AresSubject,
    AresUnavailable,
    Found,
)
from connectors.ares.client import CACHE_ENTRIES_MAX, TIMEOUT_S_MAX
from gateway import config
from gateway.bus.retry import RetryPolicy
from gateway.clock import Clock
from gateway.config import Settings
from gateway.errors import InvalidField, ProudError
from schemas.masterdata.common import Address

# The settings repeat the connector's constants (see gateway.config); they must not drift apart.
assert config.ARES_BASE_URL == ARES_BASE_URL
assert config.ARES_TIMEOUT_S_MAX == TIMEOUT_S_MAX
assert config.ARES_CACHE_ENTRIES_MAX == CACHE_ENTRIES_MAX

#: Someone waits for the answer at the API: one quick retry rides out a blip, more would only delay the
#: advice to enter the company by hand.
ARES_RETRY: Final = RetryPolicy(attempts_max=2, delay_s_initial=0.5, delay_s_max=1.0)
#: Country of the addresses we can fill in; a foreign seat is left for the user to enter.
_CZ: Final = "CZ"

#: ``AresClient.lookup``, or a fake with its signature.
AresLookupFn = Callable[[str], Awaitable[AresLookup]]


class AresLookupFailed(ProudError):
    """ARES could not answer a company look-up; retryable when it was only unavailable (down, slow, 5xx)."""

    def __init__(self, ico: str, problem: str, *, retryable: bool) -> None:
        super().__init__(
            f"ARES look-up of IČO {ico} failed: {problem}. The customer can be entered by hand without "
            "from_ares (company_name, dic, legal_form and the registered address given in the request)"
        )
        self.ico = ico
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class AresCompany:
    """What ARES fills in for a customer; ``registered`` is None when the seat cannot be used as is."""

    company_name: str
    dic: str | None
    legal_form: str | None  # the ARES code ("112" = s.r.o.)
    registered: Address | None


def ares_client(settings: Settings, clock: Clock) -> AresClient | None:
    """The ARES client the settings describe (not started), or None when ``ares_base_url`` is off."""
    if settings.ares_base_url is None or settings.ares_base_url == config.ARES_OFF:
        return None
    return AresClient(
        settings.ares_base_url,
        timeout_s=settings.ares_timeout_s,
        retry=ARES_RETRY,
        cache_ttl_s=settings.ares_cache_ttl_s,
        cache_entries_max=settings.ares_cache_entries_max,
        clock=clock,
    )


async def company_from_ares(lookup: AresLookupFn | None, ico: str, today: dt.date) -> AresCompany:
    """The company registered under ``ico`` (already validated), as a customer's fields."""
    if lookup is None:
        raise AresLookupFailed(ico, "ARES look-ups are turned off (setting ares_base_url)", retryable=False)
    try:
        answer = await lookup(ico)
    except AresInvalidIco as exc:
        # Our IČO check and the connector's are the same rule; kept as a refusal rather than a crash.
        raise InvalidField("ico", ico, f"is refused by the ARES client ({exc.message})") from exc
    except AresUnavailable as exc:
        raise AresLookupFailed(ico, f"ARES is unavailable ({exc.message})", retryable=True) from exc
    except (AresMalformed, AresRejected) as exc:
        raise AresLookupFailed(ico, f"ARES answered unexpectedly ({exc.message})", retryable=False) from exc
    if not isinstance(answer, Found):
        raise InvalidField("ico", ico, "not registered in ARES")
    subject = answer.subject
    if subject.dissolved_on is not None and subject.dissolved_on <= today:
        # A dissolved company cannot sign a supply contract; an old customer is imported, not looked up.
        raise InvalidField("ico", ico, f"belongs to a company dissolved on {subject.dissolved_on} (ARES)")
    return AresCompany(
        company_name=subject.name, dic=subject.dic, legal_form=subject.legal_form,
        registered=registered_address(subject),
    )


def registered_address(subject: AresSubject) -> Address | None:
    """The seat as an ``Address``, from ARES's two postal lines ("Vinohradská 1511/230", "100 00 Praha").

    None when ARES sent only its one-line text form, a foreign seat, or parts that do not fit our address
    (a house number of another shape): the user then gives the registered address.
    """
    lines = subject.address_lines
    if subject.country_code != _CZ or subject.postal_code is None or len(lines) != 2:
        return None
    place, _, number = lines[0].rpartition(" ")
    psc_city = lines[1].split(" ", 2)  # "100", "00", "Praha"
    if not place or len(psc_city) != 3 or psc_city[0] + psc_city[1] != subject.postal_code:
        return None
    fields = {
        "street": place, "house_number": number, "city": psc_city[2],
        "postal_code": subject.postal_code, "country": _CZ,
    }
    try:
        # Decoding enforces the patterns and lengths of Address, as for an address typed in.
        return msgspec.convert(fields, Address)
    except msgspec.ValidationError:
        return None
