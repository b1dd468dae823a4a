"""``proud ote simulator``: run the simulated CS OTE until SIGINT or SIGTERM.

It makes a throw-away PKI in ``--cert-dir`` when the directory has none, prints the ``PROUD_OTE_*``
settings a daemon needs to talk to it (as ``export`` lines on stdout, so that ``eval`` can take them) and
serves the CDS endpoint (mTLS) and the control API (plain HTTP on loopback). Participants and OPMs come from
``--seed FILE`` (JSON, ``connectors.ote.simulator.SimulatorSeed``) or else the demo seed, plus any
``--participant EAN=URL``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shlex
import signal
from pathlib import Path
from typing import Annotated, Final

import msgspec
import typer

from connectors.ote.simulator import (
    AUTO_INTERVAL_S_DEFAULT,
    ParticipantSpec,
    SimulatorSeed,
    callback_url,
    demo_seed,
    start_simulator,
)
from connectors.ote.simulator.core import AUTO_INTERVAL_S_MAX, AUTO_INTERVAL_S_MIN
from gateway.cli import EXIT_USAGE, fail, guarded
from gateway.clock import Clock, ManualClock, SystemClock
from gateway.config import load_settings
from gateway.errors import ConfigError
from gateway.logs import configure
from gateway.process.calendar import PRAGUE
from gateway.switching.config import DEMO_SUPPLIER_EAN
from gateway.switching.deadlines import SwitchProfile

#: Default ports: the CDS endpoint, the control API, and the daemon's callback the demo seed points at.
CDS_PORT_DEFAULT: Final = 8460
CONTROL_PORT_DEFAULT: Final = 8461
CALLBACK_PORT_DEFAULT: Final = 8462
CERT_DIR_DEFAULT: Final = Path("var/ote-simulator")
#: Largest seed file read.
SEED_BYTES_MAX: Final = 16 * 1024 * 1024


def _seed(
    path: Path | None, participants: list[str], our_callback: str, our_ean: str, today: dt.date
) -> SimulatorSeed:
    if path is None:
        # Read up to the end of last month: the first "send readings" of a demo has this month's days.
        month_end = today.replace(day=1) - dt.timedelta(days=1)
        seed = demo_seed(our_callback, our_ean=our_ean, read_until=month_end)
    else:
        with path.open("rb") as handle:
            data = handle.read(SEED_BYTES_MAX + 1)
        if len(data) > SEED_BYTES_MAX:
            raise ConfigError("seed", str(path), f"is over {SEED_BYTES_MAX} bytes")
        try:
            seed = msgspec.json.decode(data, type=SimulatorSeed)
        except msgspec.DecodeError as exc:
            raise ConfigError("seed", str(path), str(exc)) from exc
    extra = []
    for given in participants:
        ean, separator, url = given.partition("=")
        if not separator or not url.startswith("https://"):
            raise ConfigError("participant", given, "must be EAN=https://host:port/path")
        extra.append(ParticipantSpec(ean=ean, callback_url=url))
    known = {spec.ean for spec in extra}
    kept = tuple(spec for spec in seed.participants if spec.ean not in known)
    return msgspec.structs.replace(seed, participants=kept + tuple(extra))


def simulator_command(
    host: Annotated[str, typer.Option(help="Address of the CDS endpoint (mTLS).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the CDS endpoint.")] = CDS_PORT_DEFAULT,
    control_port: Annotated[int, typer.Option(help="Port of the control API (loopback, HTTP).")] = (
        CONTROL_PORT_DEFAULT
    ),
    cert_dir: Annotated[
        Path, typer.Option(file_okay=False, help="PKI directory; a throw-away PKI is made in it when empty.")
    ] = CERT_DIR_DEFAULT,
    seed: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Participants and OPMs (JSON).")
    ] = None,
    participant: Annotated[
        list[str] | None, typer.Option(metavar="EAN=URL", help="A participant's callback URL (repeatable).")
    ] = None,
    last_resort: Annotated[str | None, typer.Option(help="EAN of the supplier of last resort.")] = None,
    callback_port: Annotated[
        int, typer.Option(help="Port of proud's callback: the demo seed's URL and the printed settings.")
    ] = CALLBACK_PORT_DEFAULT,
    participant_ean: Annotated[str, typer.Option(help="proud's participant EAN.")] = DEMO_SUPPLIER_EAN,
    profile: Annotated[SwitchProfile, typer.Option(help="Switch deadlines.")] = SwitchProfile.standard,
    interval: Annotated[float, typer.Option(help="Seconds between two runs of due steps.")] = (
        AUTO_INTERVAL_S_DEFAULT
    ),
    trust_store: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Verify participants' signatures against these CAs."),
    ] = None,
    prompt_answers: Annotated[
        bool, typer.Option(help="Answer switch requests at once, not at the objection deadline.")
    ] = False,
    manual_clock: Annotated[
        bool, typer.Option(help="Start a clock that only the control API's POST /clock moves.")
    ] = False,
) -> None:
    """Run a simulated CS OTE (CDS over mTLS, signed callbacks, control API) until interrupted."""
    if not AUTO_INTERVAL_S_MIN <= interval <= AUTO_INTERVAL_S_MAX:
        fail(f"--interval must be {AUTO_INTERVAL_S_MIN}..{AUTO_INTERVAL_S_MAX} s", EXIT_USAGE)
    with guarded():
        # Logs go to stderr (gateway.logs), so that stdout holds only the settings, ready for ``eval``.
        settings = load_settings()
        configure(settings.log_level, settings.log_format)
        our_callback = callback_url("127.0.0.1", callback_port)
        clock: Clock = ManualClock(dt.datetime.now(dt.UTC)) if manual_clock else SystemClock()
        today = clock.now().astimezone(PRAGUE).date()
        seeded = _seed(seed, participant or [], our_callback, participant_ean, today)
        if last_resort is not None:
            seeded = msgspec.structs.replace(seeded, last_resort_ean=last_resort)
        asyncio.run(_serve(
            cert_dir, seeded, clock, host=host, port=port, control_port=control_port, profile=profile,
            interval=interval, callback_port=callback_port, participant_ean=participant_ean,
            trust_store=None if trust_store is None else str(trust_store), prompt_answers=prompt_answers,
        ))


async def _serve(
    cert_dir: Path, seed: SimulatorSeed, clock: Clock, *, host: str, port: int, control_port: int,
    profile: SwitchProfile, interval: float, callback_port: int, participant_ean: str,
    trust_store: str | None, prompt_answers: bool,
) -> None:
    handle = await start_simulator(
        cert_dir, clock=clock, seed=seed, host=host, port=port, control_port=control_port, profile=profile,
        auto_interval_s=interval, trust_store_path=trust_store, prompt_answers=prompt_answers,
    )
    try:
        environment = handle.daemon_environment(callback_port=callback_port, participant_ean=participant_ean)
        typer.echo("# proud ote simulator: settings for the daemon (eval them, or put them in its env)")
        for key, value in environment.items():
            typer.echo(f"export {key}={shlex.quote(value)}")
        typer.echo(f"# CDS endpoint {handle.cds_url}; control API {handle.control_url}", err=True)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        await stopping.wait()
    finally:
        await handle.stop()
