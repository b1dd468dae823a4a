"""The switching processes' configuration: our market identity and the deadline profile.

Actions run inside rule steps and must not do I/O or read the environment, so the daemon installs one
``SwitchingConfig`` at start (``install``) and the actions read it with ``current()``. Rule scenario tests
run with ``DEFAULT`` (placeholder EANs with valid check digits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gateway.config import Settings
from gateway.errors import ConfigError
from gateway.switching.deadlines import SwitchProfile

#: [C] OTE's participant EAN (ote-market.md §1.1).
OTE_EAN: Final = "8591824000007"
#: A constructed supplier EAN with a valid GS1 check digit, for tests and the demo.
DEMO_SUPPLIER_EAN: Final = "8591824556207"
#: Market processes whose data source is a setting (``market_source_<process>``).
MARKET_PROCESSES: Final = ("switching", "readings", "registration")


@dataclass(frozen=True, slots=True)
class SwitchingConfig:
    participant_ean: str
    operator_ean: str
    balance_responsible_ean: str
    profile: SwitchProfile
    #: Our DSO EAN when this install also acts as a distributor.
    distributor_ean: str | None = None


DEFAULT: Final = SwitchingConfig(
    participant_ean=DEMO_SUPPLIER_EAN, operator_ean=OTE_EAN, balance_responsible_ean=DEMO_SUPPLIER_EAN,
    profile=SwitchProfile.standard,
)

_current: SwitchingConfig = DEFAULT


def switching_config(settings: Settings) -> SwitchingConfig:
    """From the settings; raises ``ConfigError`` for a market process set to a source not implemented."""
    for process in MARKET_PROCESSES:
        key = f"market_source_{process}"
        if getattr(settings, key) != "ote":
            raise ConfigError(key, getattr(settings, key), "only 'ote' is implemented; EDC is not yet")
    participant = settings.ote_participant_ean or DEMO_SUPPLIER_EAN
    return SwitchingConfig(
        participant_ean=participant,
        operator_ean=settings.ote_operator_ean or OTE_EAN,
        balance_responsible_ean=settings.ote_balance_responsible_ean or participant,
        profile=SwitchProfile(settings.switch_profile),
        distributor_ean=settings.distributor_ean,
    )


def install(config: SwitchingConfig) -> None:
    global _current
    _current = config


def current() -> SwitchingConfig:
    return _current
