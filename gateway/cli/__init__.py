"""The ``proud`` command line. ``main`` holds the app; this module the pieces every command shares.

Exit codes: 0 done, 1 the operation failed (not found, conflict, bus or database down), 2 bad usage or
configuration. Errors print one ``error: ...`` line to stderr, never a traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Final, NoReturn, TypeVar

import sqlalchemy as sa
import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config import Settings, load_settings
from gateway.errors import ConfigError, ProudError
from gateway.http.views import BadParameter
from gateway.logs import configure
from gateway.store.db import create_engine
from gateway.store.migrate import ensure_current

T = TypeVar("T")

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", metavar="FILE", dir_okay=False,
        help="TOML settings file; its keys override PROUD_* environment variables.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Turn proud's errors into one line on stderr and the exit code the module docstring promises."""
    try:
        yield
    except (ConfigError, BadParameter) as exc:
        fail(exc.message, EXIT_USAGE)
    except ProudError as exc:
        fail(exc.message, EXIT_FAILED)
    except sa.exc.SQLAlchemyError as exc:
        # The driver's own message without SQLAlchemy's statement dump and link.
        fail(f"database: {exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc}", EXIT_FAILED)
    except OSError as exc:
        fail(f"{exc.__class__.__name__}: {exc}", EXIT_FAILED)


def cli_settings(ctx: typer.Context, config: Path | None) -> Settings:
    """Settings from the environment and ``--config`` (the command's own, else the one before the command).

    Also sends logs to stderr, so that nothing but the command's output reaches stdout.
    """
    root_config = ctx.find_root().obj
    path = config or (root_config if isinstance(root_config, Path) else None)
    settings = load_settings(config_file=path)
    configure(settings.log_level, settings.log_format)
    return settings


async def with_engine(settings: Settings, use: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run ``use`` on an engine for a database at the head revision (else: "run `proud migrate`")."""
    url = settings.effective_database_url
    await ensure_current(url)
    engine = create_engine(url)
    try:
        return await use(engine)
    finally:
        await engine.dispose()


def console() -> Console:
    # Markup off: topic names, keys and error texts are data, and "[...]" in them must print as it is.
    return Console(markup=False, highlight=False)
