"""``proud ote parse`` / ``proud ote render``: JSON out, validated XML out, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from connectors.ote.codec import decode
from gateway.cli.main import app
from tests.connectors.ote.expected import GOLDEN, GOLDEN_DIRECTORY


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, ["ote", *args])


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_parse_then_render_round_trips(name: str, tmp_path: Path) -> None:
    parsed = invoke("parse", str(GOLDEN_DIRECTORY / name))
    assert parsed.exit_code == 0, parsed.output
    document = json.loads(parsed.stdout)
    json_path = tmp_path / "message.json"
    json_path.write_text(parsed.stdout)
    rendered = invoke("render", document["type"], str(json_path))
    assert rendered.exit_code == 0, rendered.output
    assert decode(rendered.stdout_bytes) == GOLDEN[name]


def test_parse_prints_decimals_exactly() -> None:
    parsed = invoke("parse", str(GOLDEN_DIRECTORY / "metered-gas.xml"))
    day = json.loads(parsed.stdout)["meters"][0]["days"][0]
    assert day == {
        "gas_day": "2025-01-01T06:00:00+01:00", "volume_m3": "276",
        "calorific_value_kwh_per_m3": "10.6649", "energy_kwh": "2943.48",
    }


def test_parse_invalid_message_exits_1_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes((GOLDEN_DIRECTORY / "masterdata-gas.xml").read_bytes().replace(b'"M"', b'"Q"'))
    result = invoke("parse", str(path))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "contract-negotiation-type: 'Q' is invalid" in result.stderr


def test_parse_hostile_message_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "xxe.xml"
    path.write_bytes(b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><RESPONSE>&x;</RESPONSE>')
    result = invoke("parse", str(path))
    assert result.exit_code == 1 and "DOCTYPE" in result.stderr


def test_parse_missing_file_or_argument_exits_2(tmp_path: Path) -> None:
    assert invoke("parse", str(tmp_path / "absent.xml")).exit_code == 2
    assert invoke("parse").exit_code == 2


def test_render_unknown_type_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text("{}")
    result = invoke("render", "invoice", str(path))
    assert result.exit_code == 2 and "unknown message type 'invoice'" in result.stderr


def test_render_json_that_breaks_the_struct_exits_1_naming_the_path(tmp_path: Path) -> None:
    parsed = json.loads(invoke("parse", str(GOLDEN_DIRECTORY / "switch-request-gas.xml")).stdout)
    parsed["envelope"]["sender"]["ean"] = "85918245562"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(parsed))
    result = invoke("render", "switch-request", str(path))
    assert result.exit_code == 1
    assert "$.envelope.sender.ean" in result.stderr and result.stderr.count("\n") == 1


def test_render_message_that_breaks_a_rule_exits_1(tmp_path: Path) -> None:
    parsed = json.loads(invoke("parse", str(GOLDEN_DIRECTORY / "switch-request-gas.xml")).stdout)
    parsed["opm"] = "27ZG600Z0123456Y"  # wrong check character: only the codec can tell
    path = tmp_path / "m.json"
    path.write_text(json.dumps(parsed))
    result = invoke("render", "switch-request", str(path))
    assert result.exit_code == 1 and "SwitchRequest/@opm" in result.stderr


def test_render_wrong_type_for_document_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(invoke("parse", str(GOLDEN_DIRECTORY / "masterdata-gas.xml")).stdout)
    result = invoke("render", "metered-gas", str(path))
    assert result.exit_code == 1 and "$.type" in result.stderr
