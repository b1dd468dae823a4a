"""Individual billing (issue #6): ``bill_contract`` bills one contract for one period, ``rebill_contract``
cancels an issued bill by a credit note and bills the period again. The API and the CLI call them; the billing
worker bills through ``batch.bill_many``, which shares steps 1, 3, 4 and 5 (``repeated``, ``pre_checked``,
``priced``) and issues without documents.

``bill_contract`` in the caller's transaction:

1. **Idempotency.** With ``issue`` on, the contract's row is locked (two workers billing one contract run one
   after the other) and an issued settlement for the same ``period_to`` is returned as it is
   (``Billed(repeated=True)``); the partial unique index on ``bl_invoice`` backs this up.
2. **Inputs** (``bill_inputs``): terms (a terms change inside the period is refused), OPM, prices, supply,
   consumption.
3. **Pre-checks**: ``pre_check_facts`` → the decision (``decide`` by default) → ``Outsorted("pre")``.
   A missing reading or price outsorts whatever the decision (nothing to bill without them).
4. **Pricing**: advances paid in the period (``deposits.paid_advances``: taxed where a tax document for the
   received payment was issued) and the price calculator.
5. **Post-checks**: ``post_check_facts`` → the decision → ``Outsorted("post")``.
6. **Issue** (``issue`` on): number from the worker's series, PDF and ISDOC filed in the DMS, the invoice
   stored and its balance posted as a receivable; then the account's advance schedule follows the settled
   consumption (``regenerate_after_settlement``; a schedule that cannot be priced is left as it is, logged).
   With ``issue`` off nothing is stored: ``Billed`` carries the priced draft (``number`` None).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Final

import msgspec
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.advances.schedules import Options, regenerate_after_settlement
from gateway.billing.bill_checks import (
    IMPLAUSIBLE_CONSUMPTION,
    PRICE_MISSING,
    READING_MISSING,
    CheckDecision,
    History,
    decide,
    findings_of,
    post_check_facts,
    pre_check_facts,
    total_consumption,
)
from gateway.billing.bill_documents import SAMPLE_SUPPLIER, file_documents, invoice_document
from gateway.billing.bill_inputs import BillInputs, quote_request, read_inputs
from gateway.billing.billed_readings import billed_readings
from gateway.billing.credit_note import credit_note_for
from gateway.billing.deposits import paid_advances
from gateway.billing.invoices.numbering import next_document_number
from gateway.billing.ledger import (
    get_invoice,
    issued_settlement,
    previous_settlement,
    reverse,
    store_invoice,
)
from gateway.billing.quote import quote
from gateway.errors import Conflict, InvalidField
from gateway.ids import uuid7
from gateway.masterdata import tables as md
from gateway.masterdata.accounts import get_account
from gateway.masterdata.customers import get_customer
from gateway.masterdata.filestore import FileStore
from gateway.masterdata.service_base import local_date
from gateway.process.calendar import WorkingCalendar
from schemas.billing.bill import Billed, BillOutcome, Invoice, Outsorted, Rebilled
from schemas.billing.billed_readings import BilledReadings
from schemas.billing.invoice import Deposit, Supplier
from schemas.billing.orders import Finding
from schemas.billing.settlement import Settlement

__all__ = [
    "BillOutcome", "Billed", "Outsorted", "Rebilled", "bill_contract", "decide", "post_check_facts",
    "pre_check_facts", "pre_checked", "priced", "rebill_contract", "repeated",
]

#: The number series of bills made one at a time (API, CLI): the mass-billing workers have 1 and up.
INDIVIDUAL_BILLING_WORKER: Final = 0
#: Days from issue to due date of a bill (and of a credit note's refund).
PAYMENT_TERM_DAYS: Final = 14
#: The price lists, relative to the working directory like ``proud billing quote``'s default; the daemon
#: passes ``<rules_dir>/prices``.
PRICES_ROOT_DEFAULT: Final = Path("rules") / "prices"
#: Due days of the advance schedule regenerated after a settlement (holidays filled in lazily, then cached).
_CALENDAR: Final = WorkingCalendar()

log = structlog.get_logger(__name__)

#: Printed on a credit note when the caller gives no reason.
REBILL_REASON_DEFAULT: Final = "Oprava vyúčtování: opravený odečet"


async def bill_contract(
    conn: AsyncConnection, *, contract: str, period_from: dt.date, period_to: dt.date, now: dt.datetime,
    worker: int, files: FileStore, released: frozenset[str] = frozenset(), issue: bool = True,
    prices: Path = PRICES_ROOT_DEFAULT, supplier: Supplier = SAMPLE_SUPPLIER,
    decision: CheckDecision = decide, regenerate_advances: bool = True,
) -> BillOutcome:
    """Bill ``contract`` for ``period_from`` … ``period_to`` (inclusive) in ``conn``'s transaction.

    ``released``: check codes a clerk released for this order. ``InvalidField`` for a request that cannot
    be billed as asked (period order, a terms change inside the period), ``NotFound`` for an unknown
    contract; everything else is a value. ``regenerate_advances`` off leaves the advance schedule alone
    (a mass run regenerates in batches afterwards)."""
    assert conn.in_transaction(), "a bill is made in the caller's transaction"
    if issue:
        await _lock_contract(conn, contract)
        existing = await issued_settlement(conn, contract, period_to)
        if existing is not None:
            return repeated(existing, period_from)
    inputs = await read_inputs(conn, contract, period_from, period_to, prices)
    today = local_date(now)
    stopped = pre_checked(inputs, today=today, released=released, decision=decision)
    if stopped is not None:
        return stopped
    deposits = await paid_advances(conn, inputs.account, period_from, period_to)
    previous = await previous_settlement(conn, inputs.account, period_from)
    draft = priced(inputs, deposits, previous, today=today, released=released, decision=decision,
                   prices=prices)
    if isinstance(draft, Outsorted):
        return draft
    if not issue:
        return Billed(invoice=draft)
    invoice = await _issue(conn, draft, inputs, deposits, now, worker, files, supplier)
    if regenerate_advances:
        await _regenerate_advances(conn, inputs, draft.settlement, prices, now)
    return Billed(invoice=invoice)


async def rebill_contract(
    conn: AsyncConnection, *, invoice: str, now: dt.datetime, worker: int, files: FileStore,
    reason: str = REBILL_REASON_DEFAULT, released: frozenset[str] = frozenset(),
    prices: Path = PRICES_ROOT_DEFAULT, supplier: Supplier = SAMPLE_SUPPLIER,
    decision: CheckDecision = decide,
) -> Rebilled:
    """Cancel the issued settlement ``invoice`` by a credit note and bill its period again with the readings
    and master data as they are now, in ``conn``'s transaction.

    The new bill is priced and checked first: when it is outsorted, nothing is cancelled (``credit_note``
    None) and the outcome says why; a bill is never cancelled without its replacement."""
    assert conn.in_transaction(), "a re-billing is made in the caller's transaction"
    original = await get_invoice(conn, invoice, for_update=True)
    if original.kind != "settlement":
        raise InvalidField("invoice", invoice, "is a credit note; only a settlement is billed again")
    if original.status != "issued":
        raise Conflict(f"invoice {invoice} was already cancelled by {original.cancelled_by}")

    async def again(issue: bool) -> BillOutcome:
        return await bill_contract(
            conn, contract=original.contract, period_from=original.period_from, period_to=original.period_to,
            now=now, worker=worker, files=files, released=released, issue=issue, prices=prices,
            supplier=supplier, decision=decision,
        )

    trial = await again(issue=False)
    if isinstance(trial, Outsorted):
        return Rebilled(original=invoice, credit_note=None, outcome=trial)
    credit = await credit_note_for(conn, original, now=now, worker=worker, files=files, reason=reason,
                                   supplier=supplier, due_days=PAYMENT_TERM_DAYS)
    await reverse(conn, original, credit, now)
    return Rebilled(original=invoice, credit_note=credit, outcome=await again(issue=True))


async def _regenerate_advances(
    conn: AsyncConnection, inputs: BillInputs, settlement: Settlement, prices: Path, now: dt.datetime
) -> None:
    options = Options(prices_root=prices, reason="settlement")
    try:
        await regenerate_after_settlement(conn, inputs.contract.id, settlement, options, now=now,
                                          calendar=_CALENDAR)
    except InvalidField as exc:  # refused before anything is written: the bill stands without it
        log.warning("advances not regenerated after a settlement", contract=inputs.contract.number,
                    error=exc.message)


async def _lock_contract(conn: AsyncConnection, contract: str) -> None:
    """Hold the contract's row until the transaction ends: one bill of a contract at a time."""
    await conn.execute(sa.select(md.contract.c.id).where(md.contract.c.number == contract).with_for_update())


def pre_checked(
    inputs: BillInputs, *, today: dt.date, released: frozenset[str], decision: CheckDecision
) -> Outsorted | None:
    """Step 3, shared by ``bill_contract`` and ``batch.bill_many``: the pre-checks' verdict, None to go on."""
    pre = pre_check_facts(
        inputs.consumption, today=today, supplied=inputs.supplied, supply_text=inputs.supply_text,
        price_problems=inputs.price_problems, history=inputs.history,
    )
    found = _with_blocking(decision("pre", pre, released), pre, inputs)
    return Outsorted(stage="pre", findings=found) if found else None


def priced(
    inputs: BillInputs, deposits: Sequence[Deposit], previous: History | None, *, today: dt.date,
    released: frozenset[str], decision: CheckDecision, prices: Path,
) -> Outsorted | Invoice:
    """Steps 4 and 5, shared by ``bill_contract`` and ``batch.bill_many``: the settlement with the advances
    ``deposits`` deducted, post-checked against the account's ``previous`` settlement; the draft invoice (no
    number, no deposits yet) or why it is outsorted."""
    paid = sum((deposit.amount for deposit in deposits), Decimal("0.00"))
    request = quote_request(inputs, paid)
    settlement = quote(request, prices, price_list=inputs.price_list)
    used = total_consumption(inputs.consumption)
    post = post_check_facts(settlement, consumption=used, unit=inputs.consumption.registers[0].unit,
                            days=(inputs.period_to - inputs.period_from).days + 1, previous=previous)
    found = decision("post", post, released)
    if found:
        return Outsorted(stage="post", findings=found)
    return _draft(inputs, settlement, today, billed_readings(inputs, request))


def repeated(existing: Invoice, period_from: dt.date) -> Billed:
    """The answer to a bill of a period already billed by ``existing`` (``Conflict`` for another start)."""
    if existing.period_from != period_from:
        raise Conflict(
            f"contract {existing.contract} is billed for {existing.period_from} … {existing.period_to} by "
            f"invoice {existing.number}; cancel it (rebill) to bill from {period_from}"
        )
    return Billed(invoice=existing, repeated=True)


def _with_blocking(found: tuple[Finding, ...], facts: dict[str, object], inputs: BillInputs) -> tuple[
    Finding, ...
]:
    """``found`` with the findings no decision may drop: without a reading or a price, or with a negative
    consumption, there is nothing the calculator can bill."""
    pairs = (("reading_missing", READING_MISSING), ("price_missing", PRICE_MISSING))
    blocking = [code for flag, code in pairs if facts.get(flag)]
    if not facts.get("reading_missing") and any(r.consumption < 0 for r in inputs.consumption.registers):
        blocking.append(IMPLAUSIBLE_CONSUMPTION)
    codes = {finding.code for finding in found}
    return found + findings_of([code for code in blocking if code not in codes], facts)


def _draft(
    inputs: BillInputs, settlement: Settlement, issue_date: dt.date, readings: BilledReadings,
) -> Invoice:
    return Invoice(
        number=None, kind="settlement", status="issued", contract=inputs.contract.number,
        account=inputs.account, opm=inputs.opm.code, period_from=inputs.period_from,
        period_to=inputs.period_to, issue_date=issue_date,
        due_date=issue_date + dt.timedelta(days=PAYMENT_TERM_DAYS), total_base=settlement.total_base,
        total_vat=settlement.total_vat, total=settlement.total, advances_paid=settlement.advances_paid,
        balance=settlement.balance, settlement=settlement, readings=readings,
    )


async def _issue(
    conn: AsyncConnection, draft: Invoice, inputs: BillInputs, deposits: list[Deposit], now: dt.datetime,
    worker: int, files: FileStore, supplier: Supplier,
) -> Invoice:
    """Number, documents, invoice row and receivable, in that order: the number's row lock is held from the
    draw to the commit, so it is drawn last but for what needs it."""
    number = await next_document_number(conn, "settlement", draft.issue_date.year, worker)
    invoice = msgspec.structs.replace(draft, number=number, uuid=uuid7(), deposits=tuple(deposits))
    account = await get_account(conn, inputs.account)
    document = invoice_document(
        invoice, supplier=supplier, customer=await get_customer(conn, inputs.customer),
        billing_address=account.billing_address, opm=inputs.opm, deposits=deposits,
    )
    ids = await file_documents(conn, files, now, document, contract=inputs.contract.number,
                               customer=inputs.customer)
    invoice = msgspec.structs.replace(invoice, documents=ids)
    await store_invoice(conn, invoice, now)
    return invoice
