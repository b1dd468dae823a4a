"""What the simulated CS OTE knows: market participants, OPMs with their supplier and meter, switches.

Seeded from a JSON file (``SimulatorSeed``) or the control API (the same ``*Spec`` structs), and changed only
by the market rules (``connectors.ote.simulator.market``). Plain in-memory state: a restart starts afresh.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Final

import msgspec

from gateway.errors import Conflict, InvalidField, NotFound
from gateway.masterdata.base import InvalidIdentifier
from gateway.masterdata.energy import validate_ean_opm, validate_ean_participant, validate_eic
from gateway.switching.config import OTE_EAN
from schemas.ote.common import Commodity, NegotiationType, OpmId, ParticipantEan
from schemas.ote.metered import MeterId, Register

#: Bounds of the registry: a simulator is for tests and demos, not a copy of the whole market.
PARTICIPANTS_MAX: Final = 1_000
OPMS_MAX: Final = 100_000
#: Switches remembered, finished ones included (the oldest finished are forgotten first).
SWITCHES_MAX: Final = 100_000
#: [I] Typical household: about 3 MWh of electricity and 1,200 m³ of gas a year.
DAILY_KWH_DEFAULT: Final = Decimal("8.2")
DAILY_M3_DEFAULT: Final = Decimal("3.3")
NAME_CHARS_MAX: Final = 200

HttpsUrl = Annotated[str, msgspec.Meta(pattern=r"^https://\S+$", max_length=2_000)]
#: Meter states and daily amounts; msgspec bounds no Decimal, so ``add_opm`` checks ``QUANTITY_MAX``.
QUANTITY_MAX: Final = Decimal(100_000_000)


class Spec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every JSON input: unknown fields are refused, so that a typo never passes silently."""


class ParticipantSpec(Spec, frozen=True, kw_only=True):
    ean: ParticipantEan
    name: Annotated[str, msgspec.Meta(max_length=NAME_CHARS_MAX)] = ""
    #: Where the simulator delivers this participant's messages; None: kept in the outbox, not sent (a
    #: foreign supplier played by the simulator itself).
    callback_url: HttpsUrl | None = None


class OpmSpec(Spec, frozen=True, kw_only=True):
    opm: OpmId
    commodity: Commodity
    dso_ean: ParticipantEan
    supplier_ean: ParticipantEan | None = None
    balance_responsible_ean: ParticipantEan | None = None
    meter_id: MeterId | None = None
    #: Electricity registers; gas has one volume register and ignores this.
    registers: tuple[Register, ...] = (Register.VT, Register.NT)
    #: Meter states at ``read_until`` (kWh per register, or m³ for gas under ``M3``); zero when left out.
    states: dict[str, Decimal] = {}
    #: The last day metered data has been sent for; None: yesterday.
    read_until: dt.date | None = None
    #: Average daily consumption: kWh (electricity) or m³ (gas); None: a household's.
    daily: Decimal | None = None


class SimulatorSeed(Spec, frozen=True, kw_only=True):
    operator_ean: ParticipantEan = OTE_EAN
    #: The supplier of last resort (dodavatel poslední instance); must be one of ``participants``.
    last_resort_ean: ParticipantEan | None = None
    participants: tuple[ParticipantSpec, ...] = ()
    opms: tuple[OpmSpec, ...] = ()


#: The register key of a gas meter's state (m³).
GAS_STATE: Final = "M3"


class SwitchStatus(enum.StrEnum):
    pending = "pending"  # notified, waiting for the objection deadline
    accepted = "accepted"  # answered accepted, waiting for its date
    done = "done"
    rejected = "rejected"
    cancelled = "cancelled"


ACTIVE: Final = frozenset({SwitchStatus.pending, SwitchStatus.accepted})


@dataclass(slots=True)
class Participant:
    ean: str
    name: str
    callback_url: str | None


@dataclass(slots=True)
class Opm:
    code: str
    commodity: Commodity
    dso_ean: str
    supplier_ean: str | None
    balance_responsible_ean: str | None
    meter_id: str
    registers: tuple[str, ...]
    states: dict[str, Decimal]
    read_until: dt.date
    daily: Decimal


@dataclass(slots=True)
class Switch:
    request_id: str
    opm: str
    commodity: Commodity
    new_supplier_ean: str
    balance_responsible_ean: str
    previous_supplier_ean: str | None
    date_from: dt.date
    received_at: dt.datetime
    #: The objection deadline: the requester is answered then.
    answer_at: dt.datetime
    contract_negotiation_type: NegotiationType | None = None
    status: SwitchStatus = SwitchStatus.pending
    rejection_reason: str | None = None
    objected_by: str | None = None
    #: Numbered by ``Registry.add_switch``.
    id: int = 0


@dataclass(slots=True)
class Registry:
    operator_ean: str = OTE_EAN
    last_resort_ean: str | None = None
    participants: dict[str, Participant] = field(default_factory=dict)
    opms: dict[str, Opm] = field(default_factory=dict)
    switches: dict[int, Switch] = field(default_factory=dict)
    _next_switch_id: int = 1
    #: OPM → the id of its switch in progress.
    _active: dict[str, int] = field(default_factory=dict)

    def add_participant(self, spec: ParticipantSpec) -> Participant:
        """Adds or replaces (same EAN) a participant."""
        ean = _identifier("ean", spec.ean, validate_ean_participant)
        if ean not in self.participants and len(self.participants) >= PARTICIPANTS_MAX:
            raise Conflict(f"the simulator holds {PARTICIPANTS_MAX} participants at most")
        participant = Participant(ean, spec.name, spec.callback_url)
        self.participants[ean] = participant
        return participant

    def participant(self, ean: str) -> Participant:
        found = self.participants.get(ean)
        if found is None:
            raise NotFound(f"participant {ean} is not registered")
        return found

    def set_last_resort(self, ean: str | None) -> None:
        if ean is not None:
            self.participant(ean)
        self.last_resort_ean = ean

    def add_opm(self, spec: OpmSpec, *, today: dt.date) -> Opm:
        """Adds or replaces (same code) an OPM; its DSO and supplier must be registered participants."""
        validate = validate_ean_opm if spec.commodity is Commodity.electricity else validate_eic
        code = _identifier("opm", spec.opm, validate)
        if code not in self.opms and len(self.opms) >= OPMS_MAX:
            raise Conflict(f"the simulator holds {OPMS_MAX} OPMs at most")
        for name in ("dso_ean", "supplier_ean", "balance_responsible_ean"):
            ean = getattr(spec, name)
            if ean is not None and ean not in self.participants:
                raise InvalidField(name, ean, "is not a registered participant")
        gas = spec.commodity is Commodity.gas
        registers = (GAS_STATE,) if gas else tuple(str(register) for register in spec.registers)
        if not registers or len(set(registers)) != len(registers):
            raise InvalidField("registers", spec.registers, "needs one or more distinct registers")
        quantities = [*spec.states.values(), *([] if spec.daily is None else [spec.daily])]
        if any(not 0 <= quantity <= QUANTITY_MAX for quantity in quantities):
            raise InvalidField("states", spec.states, f"states and daily need 0..{QUANTITY_MAX}")
        unknown = set(spec.states) - set(registers)
        if unknown:
            raise InvalidField("states", sorted(unknown), f"are not registers of the OPM ({registers})")
        opm = Opm(
            code=code, commodity=spec.commodity, dso_ean=spec.dso_ean, supplier_ean=spec.supplier_ean,
            balance_responsible_ean=spec.balance_responsible_ean or spec.supplier_ean,
            meter_id=spec.meter_id or f"SIM{code[-8:]}",
            registers=registers, states={r: spec.states.get(r, Decimal("0.000")) for r in registers},
            read_until=spec.read_until or today - dt.timedelta(days=1),
            daily=spec.daily if spec.daily is not None else (DAILY_M3_DEFAULT if gas else DAILY_KWH_DEFAULT),
        )
        self.opms[code] = opm
        return opm

    def opm(self, code: str) -> Opm:
        found = self.opms.get(code)
        if found is None:
            raise NotFound(f"OPM {code} is not registered")
        return found

    def seed(self, seed: SimulatorSeed, *, today: dt.date) -> None:
        self.operator_ean = seed.operator_ean
        for participant in seed.participants:
            self.add_participant(participant)
        self.set_last_resort(seed.last_resort_ean)
        for opm in seed.opms:
            self.add_opm(opm, today=today)

    def add_switch(self, switch: Switch) -> Switch:
        """Registers a new switch in progress, numbering it; the OPM must have none in progress."""
        assert switch.status in ACTIVE and switch.opm not in self._active, switch
        if len(self.switches) >= SWITCHES_MAX:
            self._forget_finished()
        switch.id = self._next_switch_id
        self._next_switch_id += 1
        self.switches[switch.id] = switch
        self._active[switch.opm] = switch.id
        return switch

    def close(self, switch: Switch, status: SwitchStatus, rejection_reason: str | None = None) -> None:
        """Ends a switch in progress: done, rejected or cancelled."""
        assert switch.status in ACTIVE and status not in ACTIVE, (switch.status, status)
        assert self._active.get(switch.opm) == switch.id
        switch.status, switch.rejection_reason = status, rejection_reason
        del self._active[switch.opm]

    def _forget_finished(self) -> None:
        finished = [key for key, switch in self.switches.items() if switch.status not in ACTIVE]
        if not finished:
            raise Conflict(f"the simulator tracks {SWITCHES_MAX} switches in progress at most")
        # Insertion order is age: the older half of the finished ones goes.
        for key in finished[: max(1, len(finished) // 2)]:
            del self.switches[key]

    def active_switch(self, opm: str) -> Switch | None:
        """The switch of ``opm`` in progress; at most one, as the market rules allow no second."""
        switch_id = self._active.get(opm)
        return None if switch_id is None else self.switches[switch_id]

    def supplied_by(self, supplier_ean: str) -> list[Opm]:
        return [opm for opm in self.opms.values() if opm.supplier_ean == supplier_ean]


def _identifier(name: str, value: str, validate: object) -> str:
    assert callable(validate)
    try:
        checked: str = validate(value)
    except InvalidIdentifier as exc:
        raise InvalidField(name, value, exc.message) from exc
    return checked


__all__ = [
    "GAS_STATE",
    "OpmSpec",
    "ParticipantSpec",
    "Registry",
    "SimulatorSeed",
    "Switch",
    "SwitchStatus",
]
