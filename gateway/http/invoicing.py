"""Individual billing over HTTP (issue #6): bill a contract, re-bill an invoice after a correction, read an
invoice, read a contract account's ledger. Code in ``gateway.billing.bill``; shapes in
``schemas/billing/bill.py``.

``POST /api/billing/bill`` answers **201** with the issued invoice, or **200** with the outsort findings: an
outsorted bill is an expected outcome (the checks did their job), not an error. A bill made again for the
same contract and period end answers the invoice issued then (200, ``repeated``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Final

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.bill import INDIVIDUAL_BILLING_WORKER, bill_contract, rebill_contract
from gateway.billing.bill_documents import supplier_of
from gateway.billing.ledger import account_ledger, get_invoice
from gateway.http.bodies import json_response
from gateway.http.keys import DAEMON
from gateway.http.masterdata.common import read, read_json, write
from gateway.http.openapi import ApiRoutes, PathParam
from schemas.billing.bill import Billed, BillIn, BillOutcome, Invoice, Ledger, Rebilled, RebillIn

#: The price lists under the rules directory (``rules_dir`` setting), as for the price calculator.
PRICES_SUBDIRECTORY: Final = "prices"

api = ApiRoutes(
    tag="invoicing",
    description="Individual billing: bill a contract, re-bill an invoice; invoices and account ledgers.",
)

NUMBER = PathParam("number", str, "the invoice's number, e.g. FV202600000001")
VS = PathParam("vs", str, "the contract account's variable symbol")


def _prices(request: web.Request) -> Path:
    return Path(request.app[DAEMON].settings.rules_dir) / PRICES_SUBDIRECTORY


def _status(outcome: BillOutcome) -> int:
    """201 for an invoice issued by this request; 200 for one issued before, or for an outsorted bill."""
    return 201 if isinstance(outcome, Billed) and not outcome.repeated else 200


@api.post(
    "/api/billing/bill", summary="Bill a contract for a period: the issued invoice (201) or findings (200)",
    request=BillIn, response=BillOutcome, status=201, errors=[409, 413],
)
async def bill(request: web.Request) -> web.Response:
    """Runs the pre-checks, prices the consumption, runs the post-checks and issues the invoice with its
    PDF and ISDOC filed and its balance posted to the account, in one transaction. ``type`` in the answer
    is ``billed`` or ``outsorted``."""
    body = await read_json(request, BillIn)
    daemon = request.app[DAEMON]

    async def operation(conn: AsyncConnection, _who: str, now: dt.datetime) -> BillOutcome:
        return await bill_contract(
            conn, contract=body.contract, period_from=body.period_from, period_to=body.period_to, now=now,
            worker=INDIVIDUAL_BILLING_WORKER, files=daemon.files, prices=_prices(request),
            supplier=supplier_of(daemon.settings),
        )

    outcome = await write(request, "billing a contract", operation)
    return json_response(outcome, _status(outcome))


@api.post(
    "/api/billing/invoices/{number}/rebill",
    summary="Cancel an invoice by a credit note and bill its period again (after a reading correction)",
    request=RebillIn, response=Rebilled, status=201, path_params=[NUMBER], errors=[409, 413],
)
async def rebill(request: web.Request) -> web.Response:
    """201 with the credit note and the new bill; 200 with ``credit_note`` null when the new bill is
    outsorted (nothing is cancelled then). 409 for an invoice already cancelled."""
    number = request.match_info["number"]
    # The body only carries an optional reason: none at all is the default one.
    body = await read_json(request, RebillIn) if request.can_read_body else RebillIn()
    daemon = request.app[DAEMON]

    async def operation(conn: AsyncConnection, _who: str, now: dt.datetime) -> Rebilled:
        return await rebill_contract(
            conn, invoice=number, now=now, worker=INDIVIDUAL_BILLING_WORKER, files=daemon.files,
            reason=body.reason, prices=_prices(request), supplier=supplier_of(daemon.settings),
        )

    rebilled = await write(request, "re-billing an invoice", operation)
    return json_response(rebilled, 201 if rebilled.credit_note is not None else 200)


@api.get(
    "/api/billing/invoices/{number}", summary="An invoice: totals, balance, settlement, documents, status",
    response=Invoice, path_params=[NUMBER],
)
async def show_invoice(request: web.Request) -> Invoice:
    number = request.match_info["number"]

    async def operation(conn: AsyncConnection) -> Invoice:
        return await get_invoice(conn, number)

    return await read(request, "reading an invoice", operation)


@api.get(
    "/api/accounts/{vs}/ledger", summary="A contract account's receivables and open amounts",
    response=Ledger, path_params=[VS],
)
async def ledger(request: web.Request) -> Ledger:
    """Every receivable of the account, newest first: invoices, credit notes, advance requests; ``charged``
    sums the amounts, ``open_total`` what is open (an account without receivables answers an empty list)."""
    vs = request.match_info["vs"]

    async def operation(conn: AsyncConnection) -> Ledger:
        return await account_ledger(conn, vs)

    return await read(request, "reading an account's ledger", operation)
