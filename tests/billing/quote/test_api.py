"""``POST /api/billing/quote`` on a real daemon (PostgreSQL); ``proud billing quote`` and ``prices check``."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli.main import app as cli
from gateway.http.api_keys import Role
from tests.billing.quote.support import PRICES, REPO_ROOT, electricity, gas
from tests.http.masterdata_support import MdApp, running

EXPECTED_TOTAL = "18944.00"  # test_golden: the example request


@pytest.fixture
async def api(pg_url: str, unique: str, tmp_path: Path) -> AsyncIterator[MdApp]:
    environ = {"PROUD_DATABASE_URL": pg_url, "PROUD_RULES_DIR": str(REPO_ROOT / "rules")}
    async with running(environ, unique, tmp_path) as started:
        yield started


@pytest.mark.postgres
async def test_a_reader_gets_the_settlement_with_decimal_strings(api: MdApp) -> None:
    answer = await api.call("POST", "/api/billing/quote", 200, role=Role.READER, json=electricity())
    assert (answer["total"], answer["balance"], answer["total_vat"]) == (EXPECTED_TOTAL, "9944.00", "3287.79")
    assert answer["lines"][0] == {
        "code": "COMMODITY", "text": "Silová elektřina",
        "period_from": "2026-01-01", "period_to": "2026-06-30",
        "quantity": "1.041", "unit": "MWh", "unit_price": "2690.00", "amount": "2800.29", "vat_rate": "21",
    }
    gas_answer = await api.call("POST", "/api/billing/quote", 200, role=Role.READER, json=gas())
    assert gas_answer["total"] == "36251.00"


@pytest.mark.postgres
async def test_refusals_name_the_field(api: MdApp) -> None:
    refused = await api.call("POST", "/api/billing/quote", 422, role=Role.READER,
                             json=electricity(consumption={"vt_mwh": "-1"}))
    assert (refused["field"], refused["value"]) == ("consumption.vt_mwh", "-1") and refused["error"]
    refused = await api.call("POST", "/api/billing/quote", 422, role=Role.READER,
                             json=electricity(advances_paid=9000.5))
    assert (refused["field"], refused["value"]) == ("advances_paid", 9000.5)
    # Over HTTP a price list is an id only: a path is refused, whatever it points at.
    refused = await api.call("POST", "/api/billing/quote", 422, role=Role.READER,
                             json=electricity(price_list=str(PRICES / "sample-2026")))
    assert refused["field"] == "price_list"
    refused = await api.call("POST", "/api/billing/quote", 400, role=Role.READER, data=b"{not json",
                             headers={"Content-Type": "application/json"})
    assert refused["parameter"] == "body"
    await api.call("POST", "/api/billing/quote", 401, role=None, json=electricity())


@pytest.mark.postgres
async def test_technical_changes_over_http(api: MdApp) -> None:
    # test_changes: the breaker raised on 16 April, priced per part.
    request = electricity(product="E-FIX", consumption={"mwh": "12.000"},
                          opm={"dso": "PRE", "rate": "D02d", "breaker_phases": 3, "breaker_amps": 25},
                          opm_changes=[{"valid_from": "2026-04-16", "breaker_amps": 40}])
    answer = await api.call("POST", "/api/billing/quote", 200, role=Role.READER, json=request)
    assert [(line["period_to"], line["amount"]) for line in answer["lines"] if line["code"] == "BREAKER"] == [
        ("2026-04-15", "752.50"), ("2026-12-31", "2924.00"),
    ]
    assert answer["total"] == "78627.69"
    refused = await api.call("POST", "/api/billing/quote", 422, role=Role.READER,
                             json=electricity(opm_changes=[{"valid_from": "2026-07-01", "rate": "D25d"}]))
    assert (refused["field"], refused["value"]) == ("opm_changes[0].rate", "D25d")


@pytest.mark.postgres
async def test_the_route_is_in_the_openapi_document_for_readers(api: MdApp) -> None:
    document = await api.get("/api/openapi.json")
    operation = document["paths"]["/api/billing/quote"]["post"]
    assert operation["x-proud-role"] == "reader"
    assert {"200", "400", "401", "403", "413", "422"} <= set(operation["responses"])


def test_cli_prints_the_settlement(tmp_path: Path) -> None:
    request = tmp_path / "quote.json"
    request.write_text(json.dumps(electricity()), encoding="utf-8")
    result = CliRunner().invoke(cli, ["billing", "quote", str(request), "--prices", str(PRICES)])
    assert result.exit_code == 0, result.output
    settlement = json.loads(result.stdout)
    assert (settlement["total"], settlement["lines"][-1]["code"]) == (EXPECTED_TOTAL, "ROUNDING")


def test_cli_accepts_a_price_list_path_and_names_the_field_it_refuses(tmp_path: Path) -> None:
    request = tmp_path / "quote.json"
    request.write_text(json.dumps(electricity(price_list=str(PRICES / "sample-2026"))), encoding="utf-8")
    result = CliRunner().invoke(cli, ["billing", "quote", str(request), "--prices", str(PRICES)])
    assert result.exit_code == 0, result.output
    request.write_text(json.dumps(electricity(period_to="2025-06-30")), encoding="utf-8")
    result = CliRunner().invoke(cli, ["billing", "quote", str(request), "--prices", str(PRICES)])
    assert result.exit_code == 1
    assert "error: period_to: is before period_from 2026-01-01 (value '2025-06-30')" in result.stderr


def test_prices_check_passes_the_sample_and_lists_every_problem(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["billing", "prices", "check", "--prices", str(PRICES)])
    assert (result.exit_code, result.stdout.strip()) == (0, "1 price list(s): 0 problem(s)")
    broken = tmp_path / "prices" / "sample-2026"
    shutil.copytree(PRICES / "sample-2026", broken)
    products = broken / "products.toml"
    products.write_text(products.read_text(encoding="utf-8").replace("mwh = 2690.00", "mwh = -2690.00", 1))
    dso = broken / "dso-CEZ.toml"
    dso.write_text(dso.read_text(encoding="utf-8").replace('registers = "single"', 'registers = "triple"', 1))
    result = CliRunner().invoke(cli, ["billing", "prices", "check", "--prices", str(tmp_path / "prices")])
    assert result.exit_code == 1
    negative = "products.toml: product[0].version[0].mwh: must be a price from 0 to 1000000"
    negative += " (value '-2690.00')"
    assert negative in result.stdout
    assert "dso-CEZ.toml: rate[0].registers: invalid enum value 'triple' (value 'triple')" in result.stdout
    assert result.stdout.splitlines()[-1] == "1 price list(s): 2 problem(s)"
