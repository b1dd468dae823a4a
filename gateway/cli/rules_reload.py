"""``proud rules reload``: ask the running daemon to load its rule files again, without a restart.

The daemon does the work (``POST /api/ops/rules/reload``): it checks the files, and only if they have no
errors registers the new machine versions and uses them for every message from then on. This command
prints what it answered: the versions in use, or the problems as ``file:line: message`` (exit code 1).
A reload needs an API key with the role ``admin`` (``--api-key`` or ``PROUD_API_KEY``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, Final

import aiohttp
import typer
from aiohttp import hdrs

from gateway.cli import EXIT_FAILED, ConfigOption, JsonOption, cli_settings, fail, guarded

RELOAD_PATH: Final = "/api/ops/rules/reload"
#: A reload reads and compiles every rule file and registers versions; a minute means the daemon is stuck.
RELOAD_TIMEOUT_S: Final = 60.0
#: Addresses a daemon listens on that a client cannot connect to as such.
_ANY_ADDRESS: Final = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url", metavar="URL",
        help="Base URL of the running daemon, e.g. http://127.0.0.1:8080 (default: http_host and http_port).",
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key", metavar="SECRET", envvar="PROUD_API_KEY", show_envvar=True,
        help="An API key with the role admin (`proud keys create NAME --role admin`).",
    ),
]


def reload_command(
    ctx: typer.Context, url: UrlOption = None, api_key: ApiKeyOption = None, json_output: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Reload the running daemon's rule files; print the versions in use, or the problems (exit code 1)."""
    with guarded():
        if url is None:
            settings = cli_settings(ctx, config)
            host = _ANY_ADDRESS.get(settings.http_host, settings.http_host)
            url = f"http://{host}:{settings.http_port}"
    target = url.rstrip("/") + RELOAD_PATH
    try:
        status, body = asyncio.run(_post(target, api_key))
    except (aiohttp.ClientError, TimeoutError) as exc:
        fail(f"cannot reload through {target}: {exc.__class__.__name__}: {exc or 'no answer'}")
    if json_output:
        typer.echo(json.dumps(body, indent=2))
    elif status in (200, 422):
        _print(body)
    if status != 200:
        if not json_output and status != 422:
            typer.echo(f"error: {body.get('error', body)} (HTTP {status})", err=True)
        raise typer.Exit(EXIT_FAILED)


async def _post(target: str, api_key: str | None) -> tuple[int, dict[str, Any]]:
    timeout = aiohttp.ClientTimeout(total=RELOAD_TIMEOUT_S)
    headers = {hdrs.AUTHORIZATION: f"Bearer {api_key}"} if api_key else {}
    async with (
        aiohttp.ClientSession(timeout=timeout) as http, http.post(target, headers=headers) as response,
    ):
        try:
            body = await response.json(content_type=None)
        except ValueError:
            body = {"error": (await response.text())[:200]}
        return response.status, body if isinstance(body, dict) else {"error": body}


def _print(body: dict[str, Any]) -> None:
    for problem in body.get("problems", []):
        typer.echo(problem)
    for warning in body.get("warnings", []):
        typer.echo(f"warning: {warning}")
    if "error" in body:
        typer.echo(f"error: {body['error']}", err=True)
        return
    for entry in body.get("machines", []):
        previous = entry.get("previous_version")
        if not entry.get("changed"):
            change = "unchanged"
        else:
            change = f"new version (was {previous})" if previous else "new machine"
        typer.echo(f"{entry['machine']}: version {entry['version']}, {change}")
    for name in body.get("removed", []):
        typer.echo(f"{name}: removed (its instances stay in the database)")
    typer.echo(f"rules {body.get('status', 'reloaded')} from {body.get('rules_dir')}")
