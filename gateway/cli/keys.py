"""``proud keys``: create, list and revoke the API keys that ``/api/**`` asks for.

Works on the database directly, so it needs no running daemon (and a daemon that runs notices a revoked key
within ``AUTH_CACHE_TTL_S``). ``create`` prints the secret once, alone on stdout so that a script can take
it (``KEY=$(proud keys create ci --role reader)``); only its hash is stored, so it cannot be shown again.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from gateway.cli import ConfigOption, JsonOption, cli_settings, console, guarded, with_engine
from gateway.clock import SystemClock
from gateway.http.api_keys import ApiKey, Role, create_key, list_keys, revoke_key
from gateway.http.auth import AUTH_CACHE_TTL_S

keys_app = typer.Typer(help="API keys for /api: create, list, revoke.", no_args_is_help=True)

KeyName = Annotated[
    str, typer.Argument(metavar="NAME", help="Who uses the key, e.g. billing-portal or jana.novakova.")
]


@keys_app.command("create")
def create_command(
    ctx: typer.Context,
    name: KeyName,
    role: Annotated[Role, typer.Option(help="reader: GET only; operator: also changes; admin: everything.")],
    json_output: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Create a key and print its secret, once: it is not stored, only its hash."""
    with guarded():
        settings = cli_settings(ctx, config)
        now = SystemClock().now()
        key, secret = asyncio.run(with_engine(settings, lambda engine: create_key(engine, name, role, now)))
    if json_output:
        typer.echo(json.dumps({**key.view(), "secret": secret}, indent=2))
        return
    typer.echo(
        f"created API key {key.name!r} with the role {key.role.value!r}; its secret follows, shown only now "
        "(send it as `Authorization: Bearer <secret>`):",
        err=True,
    )
    typer.echo(secret)


@keys_app.command("list")
def list_command(ctx: typer.Context, json_output: JsonOption = False, config: ConfigOption = None) -> None:
    """Every key, active and revoked, by name; never a secret."""
    with guarded():
        settings = cli_settings(ctx, config)
        keys = asyncio.run(with_engine(settings, list_keys))
    if json_output:
        typer.echo(json.dumps([key.view() for key in keys], indent=2))
        return
    _print_list(keys)


def _print_list(keys: list[ApiKey]) -> None:
    table = Table(title=f"API keys ({len(keys)})", box=box.SIMPLE_HEAD)
    table.add_column("Name", no_wrap=True)
    table.add_column("Role")
    table.add_column("Created")
    table.add_column("Last used")
    table.add_column("Revoked")
    for key in keys:
        view = key.view()
        table.add_row(
            key.name, key.role.value, _minute(view["created_at"]), _minute(view["last_used_at"]),
            _minute(view["revoked_at"]),
        )
    console().print(table)


def _minute(iso: str | None) -> str:
    return "-" if iso is None else iso[:16].replace("T", " ")


@keys_app.command("revoke")
def revoke_command(ctx: typer.Context, name: KeyName, config: ConfigOption = None) -> None:
    """Revoke a key for good; its name stays taken, so the audit trail keeps meaning one key."""
    with guarded():
        settings = cli_settings(ctx, config)
        now = SystemClock().now()
        key = asyncio.run(with_engine(settings, lambda engine: revoke_key(engine, name, now)))
    typer.echo(
        f"revoked API key {key.name!r} (role {key.role.value}); a running daemon refuses it within "
        f"{AUTH_CACHE_TTL_S:g} s"
    )
