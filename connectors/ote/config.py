"""The OTE connector's settings, checked once at start-up: a missing file stops start-up naming key and value.

Two features, each off until configured: outbound sending (``ote_url``) and the callback service
(``ote_callback_port``). A path is checked only when its feature is on, so that an installation without OTE
needs none of the certificates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from connectors.ote.transport import TIMEOUT_S_MAX
from gateway.config import OTE_TIMEOUT_S_MAX, Settings
from gateway.errors import ConfigError
from gateway.masterdata.base import InvalidIdentifier
from gateway.masterdata.energy import validate_ean_participant

# gateway.config cannot import the connector (the connector imports gateway.bus, which imports the config).
assert OTE_TIMEOUT_S_MAX == TIMEOUT_S_MAX


@dataclass(frozen=True, slots=True)
class OutboundConfig:
    url: str
    client_cert_path: str
    client_key_path: str
    ca_bundle_path: str
    timeout_s: float


@dataclass(frozen=True, slots=True)
class CallbackConfig:
    host: str
    port: int
    cert_path: str
    key_path: str
    #: Verifies the certificates CS OTE presents when it calls us.
    client_ca_path: str
    #: None: signatures are not verified (``ote_verify_signatures`` off).
    trust_store_path: str | None
    participant_ean: str
    operator_ean: str


@dataclass(frozen=True, slots=True)
class OteConfig:
    outbound: OutboundConfig | None
    callback: CallbackConfig | None


def _file(settings: Settings, name: str, feature: str) -> str:
    value = getattr(settings, name)
    if value is None:
        raise ConfigError(name, value, f"is required with {feature} on")
    assert isinstance(value, str)
    if not Path(value).is_file():
        raise ConfigError(name, value, "is not an existing file")
    return value


def _ean(settings: Settings, name: str) -> str:
    value = getattr(settings, name)
    if value is None:
        raise ConfigError(name, value, "is required with ote_callback_port on")
    try:
        return validate_ean_participant(value)
    except InvalidIdentifier as exc:
        raise ConfigError(name, value, exc.message) from exc


def _outbound(settings: Settings) -> OutboundConfig | None:
    if settings.ote_url is None:
        return None
    feature = "ote_url"
    return OutboundConfig(
        url=settings.ote_url,
        client_cert_path=_file(settings, "ote_client_cert", feature),
        client_key_path=_file(settings, "ote_client_key", feature),
        ca_bundle_path=_file(settings, "ote_ca_bundle", feature),
        timeout_s=settings.ote_timeout_s,
    )


def _callback(settings: Settings) -> CallbackConfig | None:
    if settings.ote_callback_port is None:
        return None
    feature = "ote_callback_port"
    trust_store = None
    if settings.ote_verify_signatures:
        trust_store = _file(settings, "ote_trust_store", "ote_verify_signatures")
    return CallbackConfig(
        host=settings.ote_callback_host,
        port=settings.ote_callback_port,
        cert_path=_file(settings, "ote_callback_cert", feature),
        key_path=_file(settings, "ote_callback_key", feature),
        client_ca_path=_file(settings, "ote_ca_bundle", feature),
        trust_store_path=trust_store,
        participant_ean=_ean(settings, "ote_participant_ean"),
        operator_ean=_ean(settings, "ote_operator_ean"),
    )


def ote_config(settings: Settings) -> OteConfig:
    """The checked configuration; raises ``ConfigError`` naming the first bad key and its value."""
    return OteConfig(outbound=_outbound(settings), callback=_callback(settings))
