"""``proud keys`` on a real SQLite file, and its keys against ``proud run`` on the same file: the demo key
it logs works, a created key is accepted at once, a revoked one refused within seconds; ``proud rules
reload`` sends its key.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import structlog

from gateway.http.api_keys import looks_like_secret
from gateway.http.auth import AUTH_CACHE_TTL_S
from tests.cli.test_cli import REPO_ROOT, RUN_WAIT_S_MAX, clean_environ, invoke
from tests.http.support import bearer, free_port, wait_for


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    # Commands point structlog at the runner's stderr, which is closed after each invocation.
    yield
    structlog.reset_defaults()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    migrated = clean_environ(data_dir=str(tmp_path / "data"))
    result = invoke(["migrate"], migrated)
    assert result.exit_code == 0, result.output
    return migrated


def create(env: dict[str, str | None], name: str, role: str) -> str:
    result = invoke(["keys", "create", name, "--role", role], env)
    assert result.exit_code == 0, result.output
    assert "shown only now" in result.stderr
    secret = result.stdout.strip()
    assert looks_like_secret(secret), result.stdout  # the secret alone on stdout, for scripts
    return secret


def test_create_list_revoke(env: dict[str, str | None]) -> None:
    secret = create(env, "billing-portal", "operator")
    create(env, "jana.novakova", "admin")

    listed = invoke(["keys", "list"], env)
    assert listed.exit_code == 0, listed.output
    assert "billing-portal" in listed.stdout and "operator" in listed.stdout and secret not in listed.stdout
    as_json = invoke(["keys", "list", "--json"], env)
    keys = {key["name"]: key for key in json.loads(as_json.stdout)}
    assert set(keys) == {"billing-portal", "jana.novakova"}
    assert (keys["billing-portal"]["role"], keys["billing-portal"]["active"]) == ("operator", True)
    assert "secret" not in as_json.stdout and "hash" not in as_json.stdout and secret not in as_json.stdout

    revoked = invoke(["keys", "revoke", "billing-portal"], env)
    assert revoked.exit_code == 0, revoked.output
    assert f"within {AUTH_CACHE_TTL_S:g} s" in revoked.stdout
    keys = {key["name"]: key for key in json.loads(invoke(["keys", "list", "--json"], env).stdout)}
    assert keys["billing-portal"]["active"] is False and keys["billing-portal"]["revoked_at"] is not None
    assert keys["jana.novakova"]["active"] is True


def test_refusals_and_exit_codes(env: dict[str, str | None]) -> None:
    create(env, "portal", "reader")
    again = invoke(["keys", "create", "portal", "--role", "admin"], env)
    assert again.exit_code == 1 and "'portal' is taken by an active key" in again.stderr
    assert invoke(["keys", "revoke", "portal"], env).exit_code == 0
    twice = invoke(["keys", "revoke", "portal"], env)
    assert twice.exit_code == 1 and "revoked already" in twice.stderr
    reused = invoke(["keys", "create", "portal", "--role", "reader"], env)
    assert reused.exit_code == 1 and "revoked key (names are never reused)" in reused.stderr
    unknown = invoke(["keys", "revoke", "nobody"], env)
    assert unknown.exit_code == 1 and "no API key named 'nobody'" in unknown.stderr
    bad_name = invoke(["keys", "create", "two words", "--role", "reader"], env)
    assert bad_name.exit_code == 2 and "'two words'" in bad_name.stderr
    bad_role = invoke(["keys", "create", "x", "--role", "root"], env)
    assert bad_role.exit_code == 2
    no_role = invoke(["keys", "create", "x"], env)
    assert no_role.exit_code == 2 and "--role" in no_role.output
    # PROUD_API_KEY belongs to commands that call the daemon; it is not an unknown setting.
    assert invoke(["keys", "list"], {**env, "PROUD_API_KEY": "proud_x"}).exit_code == 0


async def test_keys_from_the_command_line_against_proud_run(
    env: dict[str, str | None], tmp_path: Path
) -> None:
    """``proud run`` as a real process (so that its logging and the commands' do not mix) with demo data."""
    port = free_port()
    daemon_env = {
        "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT), "PROUD_HTTP_PORT": str(port),
        "PROUD_DATA_DIR": str(env["PROUD_DATA_DIR"]), "PROUD_RULES_DIR": str(REPO_ROOT / "rules"),
        "PROUD_DEMO_DATA": "true",
    }
    log_path = tmp_path / "proud-run.log"
    with log_path.open("wb") as log_file:
        daemon = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway.cli.main", "run", env=daemon_env, cwd=tmp_path,
            stdout=log_file, stderr=log_file,
        )
    try:
        await _exercise(env, f"http://127.0.0.1:{port}", log_path)
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(daemon.wait(), RUN_WAIT_S_MAX)
        except TimeoutError:
            daemon.kill()
            await daemon.wait()


async def _exercise(env: dict[str, str | None], url: str, log_path: Path) -> None:
    def run(*args: str, **extra: str) -> tuple[int, str, str]:
        result = invoke(list(args), {**env, **extra})
        return result.exit_code, result.stdout, result.stderr

    async with aiohttp.ClientSession() as http:
        async def status(secret: str) -> int | None:
            try:
                async with http.get(url + "/api/ops/topics", headers=bearer(secret)) as response:
                    return response.status
            except aiohttp.ClientConnectionError:
                return None

        # The demo admin key, whose secret the daemon logged once, works as soon as the daemon answers.
        demo = DEMO_SECRET.search(await wait_for(lambda: _log_with_secret(log_path), "the demo key logged"))
        assert demo is not None
        assert await wait_for(lambda: status(demo["secret"]), "proud run answering", RUN_WAIT_S_MAX) == 200

        # In threads: each command runs its own event loop.
        code, secret, _ = await asyncio.to_thread(run, "keys", "create", "ops-admin", "--role", "admin")
        assert code == 0
        secret = secret.strip()
        assert await status(secret) == 200
        code, _, err = await asyncio.to_thread(run, "rules", "reload", "--url", url)
        assert code == 1 and "missing API key" in err and "HTTP 401" in err
        code, out, _ = await asyncio.to_thread(run, "rules", "reload", "--url", url, PROUD_API_KEY=secret)
        assert code == 0 and "rules unchanged" in out, out

        assert (await asyncio.to_thread(run, "keys", "revoke", "ops-admin"))[0] == 0
        # Every lookup the daemon starts from now on reads the revocation, and none cached before is
        # trusted past AUTH_CACHE_TTL_S: the first request after that is refused however long it takes
        # (a loaded machine stretches requests, not the bound).
        await asyncio.sleep(AUTH_CACHE_TTL_S)
        assert await status(secret) == 401


DEMO_SECRET = re.compile(r"secret=(?P<secret>proud_[A-Za-z0-9_-]{43})")


async def _log_with_secret(path: Path) -> str | None:
    text = await asyncio.to_thread(path.read_text, encoding="utf-8", errors="replace")
    return text if DEMO_SECRET.search(text) else None
