"""``proud ote simulator`` as a process: it makes a PKI in an empty directory, prints the daemon's settings
on stdout (and nothing else), serves the control API, and stops cleanly on SIGINT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.http.support import free_port

#: The settings are printed once the servers listen; generous for a cold interpreter on a busy machine.
STARTUP_S_MAX = 60.0
EXPORTS = 11


def test_simulator_command_prints_settings_and_serves_until_interrupted(tmp_path: Path) -> None:
    cds_port, control_port = free_port(), free_port()
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({
        "participants": [{"ean": "8591824556207", "name": "us"}, {"ean": "8591824071502", "name": "ČEZ"}],
        "opms": [{"opm": "859182400123456789", "commodity": "electricity", "dso_ean": "8591824071502",
                  "supplier_ean": "8591824556207"}],
    }))
    command = [
        sys.executable, "-m", "gateway.cli.main", "ote", "simulator", "--cert-dir", str(tmp_path / "pki"),
        "--port", str(cds_port), "--control-port", str(control_port), "--seed", str(seed),
        "--participant", "8591824556207=https://127.0.0.1:9/ote/callback", "--callback-port", "9",
    ]
    environment = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with subprocess.Popen(command, env=environment, **pipes) as process:  # type: ignore[call-overload]
        try:
            lines = _settings(process)
            settings = [line.removeprefix("export ") for line in lines if line.startswith("export ")]
            exports = dict(setting.split("=", 1) for setting in settings)
            assert exports["PROUD_OTE_URL"] == f"https://127.0.0.1:{cds_port}/CDSService"
            assert exports["PROUD_OTE_CALLBACK_PORT"] == "9"
            for key in ("PROUD_OTE_TRUST_STORE", "PROUD_OTE_CLIENT_KEY", "PROUD_OTE_CALLBACK_CERT"):
                assert Path(exports[key]).is_file(), key
            assert all(line.startswith(("export ", "#")) for line in lines), lines
            url = f"http://127.0.0.1:{control_port}/participants"
            with urllib.request.urlopen(url, timeout=10) as answer:
                participants = json.load(answer)
            ours = next(p for p in participants if p["ean"] == "8591824556207")
            assert ours["callback_url"] == "https://127.0.0.1:9/ote/callback", "--participant wins"
        finally:
            process.send_signal(signal.SIGINT)
            _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err.decode()


def _settings(process: subprocess.Popen[bytes]) -> list[str]:
    """Lines of stdout up to the last ``export``."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + STARTUP_S_MAX
    while len([line for line in lines if line.startswith("export ")]) < EXPORTS:
        assert time.monotonic() < deadline and process.poll() is None, "the simulator did not start"
        lines.append(process.stdout.readline().decode().rstrip("\n"))
    return lines
