"""Who we are as a DSO, and what every message of the role shares: the OTE envelope and the ``ote.send``.

``DistributorIdentity`` is built once from the settings (``distributor_identity``): our DSO EAN (the sender of
every message) and CS OTE's (the receiver). Messages are stamped with the injected clock's time, in Prague
local time without an offset, as OTE's own samples are (ote-market.md §3).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import msgspec

from connectors.ote.inbound import OTE_TIME_ZONE
from gateway.config import Settings
from gateway.errors import ConfigError
from gateway.ids import uuid7
from gateway.masterdata.identifiers import InvalidIdentifier, validate_ean_participant
from gateway.switching.config import OTE_EAN
from schemas.ote import AnyOteMessage, Envelope, Party
from schemas.ote.events import OteSend

#: ``OteSend.process`` of the two duties, for the sender's logs and the back office.
PROCESS_REGISTRATION: Final = "distributor-registration"
PROCESS_REPORT: Final = "distributor-report"


@dataclass(frozen=True, slots=True)
class DistributorIdentity:
    #: Our EAN as DSO: the sender of our messages and the ``dso`` of the OPMs we distribute.
    distributor_ean: str
    #: CS OTE's participant EAN: the receiver.
    operator_ean: str

    def __post_init__(self) -> None:
        assert len(self.distributor_ean) == 13 and self.distributor_ean.isdigit(), self.distributor_ean
        assert len(self.operator_ean) == 13 and self.operator_ean.isdigit(), self.operator_ean

    def is_ours(self, dso: str | None) -> bool:
        """Whether an OPM's recorded DSO is us: master data keeps a DSO's EAN canonical (13 digits, no
        spaces); a DSO recorded by name is never taken for us."""
        return dso is not None and "".join(dso.split()) == self.distributor_ean

    def envelope(self, message_code: str, now: dt.datetime) -> Envelope:
        """A fresh envelope from us to CS OTE, dated ``now`` (from the clock) in Prague local time."""
        assert now.tzinfo is not None, "now comes from the clock, timezone-aware"
        local = now.astimezone(OTE_TIME_ZONE).replace(tzinfo=None, microsecond=0)
        return Envelope(
            id=uuid7().hex, message_code=message_code, date_time=local,
            sender=Party(ean=self.distributor_ean), receiver=Party(ean=self.operator_ean),
        )


def distributor_identity(settings: Settings) -> DistributorIdentity | None:
    """From the settings; None when ``distributor_ean`` is unset (supplier only). Raises ``ConfigError`` for
    an EAN that fails its check digit."""
    if settings.distributor_ean is None:
        return None
    return DistributorIdentity(
        distributor_ean=_participant("distributor_ean", settings.distributor_ean),
        operator_ean=_participant("ote_operator_ean", settings.ote_operator_ean or OTE_EAN),
    )


def require_source(settings: Settings, key: str) -> None:
    """The market process ``key`` (``market_source_registration``, ``market_source_readings``) talks to CS
    OTE; EDC is not implemented, and a DSO's messages must not go to CS OTE when the setting says EDC."""
    value = getattr(settings, key)
    if value != "ote":
        raise ConfigError(key, value, "the distributor role speaks only to CS OTE ('ote'); EDC is not yet")


def _participant(key: str, value: str) -> str:
    try:
        return validate_ean_participant(value)
    except InvalidIdentifier as exc:
        raise ConfigError(key, value, exc.reason) from exc


def ote_send(message: AnyOteMessage, process: str) -> OteSend:
    """The ``ote.send`` payload of ``message``: the struct as JSON data with its ``type`` tag."""
    data = msgspec.to_builtins(message)
    assert isinstance(data, dict) and data.get("type") == message.__struct_config__.tag, data
    return OteSend(message=data, process=process)
