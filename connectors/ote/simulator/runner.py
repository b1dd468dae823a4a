"""Starting the simulator: ``start_simulator`` for tests, the demo and ``proud ote simulator``.

    handle = await start_simulator(pki_dir, seed=demo_seed(callback_url("127.0.0.1", 8462)))
    env = handle.daemon_environment(callback_port=8462)   # PROUD_OTE_* for the daemon
    …
    await handle.stop()

``pki_dir`` gets a throw-away PKI (``connectors.ote.pki.ensure_simulator_pki``) unless it has one; both
sides' certificates are in it, so the daemon started with ``daemon_environment`` and the simulator trust
each other, and the daemon verifies the simulator's signatures.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from aiohttp import web

from connectors.ote.callback import CALLBACK_PATH
from connectors.ote.pki import SimulatorPki, ensure_simulator_pki
from connectors.ote.simulator.control import create_control_app
from connectors.ote.simulator.core import OteSimulator
from connectors.ote.simulator.delivery import CallbackClient
from connectors.ote.simulator.messages import Signer
from connectors.ote.simulator.registry import OpmSpec, ParticipantSpec, SimulatorSeed
from connectors.ote.simulator.service import CDS_PATHS, CdsService
from connectors.ote.transport import client_ssl_context, server_ssl_context
from gateway.clock import Clock, SystemClock
from gateway.masterdata.energy import ean_check_digit, eic_check_char
from gateway.process.calendar import WorkingCalendar
from gateway.switching.config import DEMO_SUPPLIER_EAN, OTE_EAN
from gateway.switching.deadlines import SwitchProfile
from schemas.ote import Commodity

#: Auto mode's interval between two ``process_due`` runs (it also runs at once when something is posted).
AUTO_INTERVAL_S_DEFAULT: Final = 1.0
SHUTDOWN_TIMEOUT_S: Final = 5.0


def _ean(body: str) -> str:
    return body + ean_check_digit(body)


def _eic(body: str) -> str:
    return body + eic_check_char(body)


#: [C] DSOs (ote-market.md §1.1).
CEZ_DISTRIBUCE: Final = "8591824071502"
PRE_DISTRIBUCE: Final = "8591824003008"
EGD_DISTRIBUCE: Final = "8591824048108"
#: Constructed participants with valid check digits: a competing supplier and the supplier of last resort.
DEMO_COMPETITOR_EAN: Final = _ean("859182499001")
DEMO_LAST_RESORT_EAN: Final = _ean("859182499002")
#: [I] A gas DSO of the demo (constructed).
DEMO_GAS_DSO_EAN: Final = _ean("859182499003")


def callback_url(host: str, port: int) -> str:
    return f"https://{host}:{port}{CALLBACK_PATH}"


def demo_seed(
    our_callback_url: str | None, *, our_ean: str = DEMO_SUPPLIER_EAN, read_until: dt.date | None = None
) -> SimulatorSeed:
    """Participants and a few OPMs to play with: OPMs of the competitor (ours to win), OPMs of ours (the
    competitor's to win), one without a supplier (a move-in) and a gas OPM of each side. ``read_until``: the
    last day metered data was sent for (None: yesterday, so the first periodic readings come tomorrow)."""
    participants = (
        ParticipantSpec(ean=our_ean, name="proud (us)", callback_url=our_callback_url),
        ParticipantSpec(ean=DEMO_COMPETITOR_EAN, name="Konkurent Energie a.s."),
        ParticipantSpec(ean=DEMO_LAST_RESORT_EAN, name="Dodavatel poslední instance a.s."),
        ParticipantSpec(ean=CEZ_DISTRIBUCE, name="ČEZ Distribuce"),
        ParticipantSpec(ean=PRE_DISTRIBUCE, name="PREdistribuce"),
        ParticipantSpec(ean=EGD_DISTRIBUCE, name="EG.D"),
        ParticipantSpec(ean=DEMO_GAS_DSO_EAN, name="Plynová distribuce (demo)"),
    )

    def electricity(body: str, dso: str, supplier: str | None) -> OpmSpec:
        return OpmSpec(
            opm=_ean(body), commodity=Commodity.electricity, dso_ean=dso, supplier_ean=supplier,
            read_until=read_until,
        )

    def gas(body: str, supplier: str | None) -> OpmSpec:
        return OpmSpec(
            opm=_eic(body), commodity=Commodity.gas, dso_ean=DEMO_GAS_DSO_EAN, supplier_ean=supplier,
            read_until=read_until,
        )

    opms = (
        # The demo's sale of the day (gateway.demo.DEMO_SALE_EAN_BODY) is supplied by the competitor today.
        electricity("85918240099999999", PRE_DISTRIBUCE, DEMO_COMPETITOR_EAN),
        electricity("85918240090000001", CEZ_DISTRIBUCE, DEMO_COMPETITOR_EAN),
        electricity("85918240090000002", EGD_DISTRIBUCE, DEMO_COMPETITOR_EAN),
        electricity("85918240090000003", CEZ_DISTRIBUCE, our_ean),
        electricity("85918240090000004", PRE_DISTRIBUCE, our_ean),
        electricity("85918240090000005", CEZ_DISTRIBUCE, None),
        gas("27ZG900Z0000001", DEMO_COMPETITOR_EAN),
        gas("27ZG900Z0000002", our_ean),
    )
    return SimulatorSeed(
        operator_ean=OTE_EAN, last_resort_ean=DEMO_LAST_RESORT_EAN, participants=participants, opms=opms
    )


@dataclass(slots=True)
class SimulatorHandle:
    """A running simulator: its URLs, its PKI, and ``stop``."""

    simulator: OteSimulator
    pki: SimulatorPki
    #: The CDS endpoint for proud's ``ote_url`` (``https://…/CDSService``).
    cds_url: str
    #: The control API (``http://127.0.0.1:…``).
    control_url: str
    _service: CdsService
    _control: web.AppRunner
    _client: CallbackClient
    _auto: asyncio.Task[None] | None = field(default=None)

    def daemon_environment(
        self,
        *,
        callback_port: int,
        callback_host: str = "127.0.0.1",
        participant_ean: str = DEMO_SUPPLIER_EAN,
    ) -> dict[str, str]:
        """The ``PROUD_OTE_*`` settings of a daemon talking to this simulator, its callback on the port."""
        pki = self.pki
        return {
            "PROUD_OTE_URL": self.cds_url,
            "PROUD_OTE_CLIENT_CERT": str(pki.proud_client.cert_path),
            "PROUD_OTE_CLIENT_KEY": str(pki.proud_client.key_path),
            "PROUD_OTE_CA_BUNDLE": str(pki.tls_ca.cert_path),
            "PROUD_OTE_CALLBACK_HOST": callback_host,
            "PROUD_OTE_CALLBACK_PORT": str(callback_port),
            "PROUD_OTE_CALLBACK_CERT": str(pki.proud_callback.cert_path),
            "PROUD_OTE_CALLBACK_KEY": str(pki.proud_callback.key_path),
            "PROUD_OTE_TRUST_STORE": str(pki.signing_ca.cert_path),
            "PROUD_OTE_PARTICIPANT_EAN": participant_ean,
            "PROUD_OTE_OPERATOR_EAN": self.simulator.registry.operator_ean,
        }

    async def stop(self) -> None:
        """Idempotent: the auto loop first, then the servers, then the client."""
        auto, self._auto = self._auto, None
        if auto is not None:
            auto.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await auto
        await self._service.stop()
        await self._control.cleanup()
        await self._client.stop()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


async def start_simulator(
    pki_dir: Path,
    *,
    clock: Clock | None = None,
    seed: SimulatorSeed | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    control_host: str = "127.0.0.1",
    control_port: int = 0,
    profile: SwitchProfile = SwitchProfile.standard,
    calendar: WorkingCalendar | None = None,
    auto_interval_s: float | None = AUTO_INTERVAL_S_DEFAULT,
    trust_store_path: str | None = None,
    prompt_answers: bool = False,
) -> SimulatorHandle:
    """A running simulator (CDS over mTLS, control API over HTTP; port 0: any free port).

    ``auto_interval_s`` None: manual mode, nothing happens until ``process_due`` (tests).
    ``trust_store_path``: verify the signatures of what participants send (None: not verified).
    ``prompt_answers``: answer switch requests at once, not at the objection deadline (demo on real time).
    """
    pki, _made = ensure_simulator_pki(pki_dir)
    simulator = OteSimulator(
        clock=clock or SystemClock(), signer=Signer(pki.ote_signer), calendar=calendar, profile=profile,
        seed=seed, prompt_answers=prompt_answers,
    )
    client = CallbackClient(client_ssl_context(
        cert_path=str(pki.ote_client.cert_path), key_path=str(pki.ote_client.key_path),
        ca_bundle_path=str(pki.tls_ca.cert_path),
    ))
    await client.start()
    simulator.attach(client)
    service = CdsService(
        simulator, host=host, port=port, trust_store_path=trust_store_path,
        ssl_context=server_ssl_context(
            cert_path=str(pki.ote_server.cert_path), key_path=str(pki.ote_server.key_path),
            client_ca_path=str(pki.tls_ca.cert_path),
        ),
    )
    control = web.AppRunner(
        create_control_app(simulator), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S
    )
    try:
        await service.start()
        await control.setup()
        await web.TCPSite(control, control_host, control_port).start()
    except BaseException:
        await service.stop()
        await control.cleanup()
        await client.stop()
        raise
    control_address = control.addresses[0]
    handle = SimulatorHandle(
        simulator=simulator, pki=pki, cds_url=f"https://{host}:{service.port}{CDS_PATHS[0]}",
        control_url=f"http://{control_host}:{control_address[1]}", _service=service, _control=control,
        _client=client,
    )
    if auto_interval_s is not None:
        handle._auto = asyncio.create_task(simulator.run_auto(auto_interval_s), name="ote-simulator-auto")
    return handle
