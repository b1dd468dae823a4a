"""Mass billing (issue #6): ``bill_many`` bills a batch of (contract, period) requests in the caller's
transaction with the outcomes ``bill_contract(issue=True, regenerate_advances=False)`` called for each in
turn would give, at a fraction of the queries:

1. **Lock** the batch's contract rows, in number order (two workers over shared contracts wait for each
   other and never deadlock), as ``bill_contract`` locks its one contract.
2. **Read** everything for the batch in a constant number of queries (``batch_inputs``, ``batch_ledger``);
   the price list is resolved once.
3. **Per request, in order**, the steps ``bill_contract`` shares with it (``bill.repeated``,
   ``bill.pre_checked``, ``bill.priced``); a request sees the invoices issued before it in the batch. A
   request that cannot be billed as asked (``InvalidField``, ``NotFound``, ``Conflict``) is an
   ``Unbillable`` value: it never fails the batch.
4. **Issue**: the billed requests' numbers as one block of the worker's series (no gap), then the invoices and
   their receivables in one statement per table (a COPY on PostgreSQL).

No documents are rendered here (``documents`` empty): the invoice keeps its ``deposits``, and its PDF and
ISDOC are rendered after the transaction from the stored row. The advance schedules are not regenerated
(a mass run regenerates them in batches afterwards).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.billing.batch_inputs import BatchReads, accounts_of, inputs_for, read_batch
from gateway.billing.batch_ledger import LedgerReads, lock_contracts, read_ledger, store_invoices
from gateway.billing.bill import PRICES_ROOT_DEFAULT, pre_checked, priced, repeated
from gateway.billing.bill_checks import CheckDecision, decide
from gateway.billing.invoices.numbering import next_document_numbers
from gateway.billing.quote import resolve_list
from gateway.billing.readings.service import reading_window
from gateway.errors import Conflict, InvalidField, NotFound
from gateway.ids import uuid7
from gateway.masterdata.service_base import local_date
from schemas.billing.bill import Billed, Invoice, Outsorted

#: Requests one ``bill_many`` takes at most: its reads are IN lists of this many keys (well inside the
#: databases' bound parameters) and its transaction holds this many contract locks.
BATCH_BILLS_MAX: Final = 500

BillError = InvalidField | NotFound | Conflict


@dataclass(frozen=True, slots=True)
class BillRequest:
    """Bill ``contract`` for ``period_from`` … ``period_to`` (inclusive); ``released``: check codes a clerk
    released for the order. ``decision``: this request's own (a ``TableDecision`` remembers its bill),
    else the batch's."""

    contract: str
    period_from: dt.date
    period_to: dt.date
    released: frozenset[str] = frozenset()
    decision: CheckDecision | None = None


@dataclass(frozen=True, slots=True)
class Unbillable:
    """A request that cannot be billed as asked: the error ``bill_contract`` would have raised."""

    error: BillError

    @property
    def message(self) -> str:
        return self.error.message


BatchOutcome = Billed | Outsorted | Unbillable


async def bill_many(
    conn: AsyncConnection, requests: Sequence[BillRequest], *, now: dt.datetime, worker: int,
    prices: Path = PRICES_ROOT_DEFAULT, decision: CheckDecision = decide,
) -> list[BatchOutcome]:
    """The outcome of each request, in order, in ``conn``'s transaction (invoices and receivables stored);
    the invoices drawn from ``worker``'s series."""
    assert conn.in_transaction(), "a batch of bills is made in the caller's transaction"
    if len(requests) > BATCH_BILLS_MAX:
        raise InvalidField("requests", len(requests), f"a batch bills at most {BATCH_BILLS_MAX}")
    if not requests:
        return []
    contracts = {request.contract for request in requests}
    await lock_contracts(conn, contracts)
    windows = [reading_window(request.period_from, request.period_to) for request in requests]
    window = (min(since for since, _until in windows), max(until for _since, until in windows))
    reads = await read_batch(conn, contracts, window, resolve_list(prices, None, paths_allowed=False))
    ledger = await read_ledger(conn, contracts, accounts_of(reads))
    outcomes: list[BatchOutcome] = []
    for request in requests:
        try:
            outcomes.append(_bill_one(request, reads, ledger, now, prices, request.decision or decision))
        except (InvalidField, NotFound, Conflict) as exc:
            outcomes.append(Unbillable(exc))
    return await _issue(conn, outcomes, now, worker)


def _bill_one(
    request: BillRequest, reads: BatchReads, ledger: LedgerReads, now: dt.datetime, prices: Path,
    decision: CheckDecision,
) -> Billed | Outsorted:
    """``bill_contract``'s steps for one request on the batch's reads; a billed draft joins the ledger at
    once (numbered later), so that a later request of the batch sees it."""
    existing = ledger.issued_settlement(request.contract, request.period_to)
    if existing is not None:
        return repeated(existing, request.period_from)
    inputs = inputs_for(reads, request.contract, request.period_from, request.period_to)
    today = local_date(now)
    stopped = pre_checked(inputs, today=today, released=request.released, decision=decision)
    if stopped is not None:
        return stopped
    account = inputs.account
    deposits = ledger.paid_advances(account, request.period_from, request.period_to)
    previous = ledger.previous_settlement(account, request.period_from)
    draft = priced(inputs, deposits, previous, today=today, released=request.released, decision=decision,
                   prices=prices)
    if isinstance(draft, Outsorted):
        return draft
    draft = msgspec.structs.replace(draft, deposits=tuple(deposits))
    ledger.add(draft, now)
    return Billed(invoice=draft)


async def _issue(
    conn: AsyncConnection, outcomes: list[BatchOutcome], now: dt.datetime, worker: int,
) -> list[BatchOutcome]:
    """Number the batch's new invoices as one block, in request order, and store them with their
    receivables; the outcomes with the issued invoices."""
    fresh = [index for index, outcome in enumerate(outcomes)
             if isinstance(outcome, Billed) and not outcome.repeated]
    if not fresh:
        return outcomes
    drafts = [_billed(outcomes[index]) for index in fresh]
    years = {draft.issue_date.year for draft in drafts}
    assert len(years) == 1, "one batch has one issue day"
    numbers = await next_document_numbers(conn, "settlement", years.pop(), worker, len(fresh))
    # By the draft's identity: a repeat in the batch of a request billed earlier in it holds that draft.
    issued = {
        id(draft): msgspec.structs.replace(draft, number=number, uuid=uuid7())
        for draft, number in zip(drafts, numbers, strict=True)
    }
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, Billed) and outcome.invoice.number is None:
            outcomes[index] = Billed(invoice=issued[id(outcome.invoice)], repeated=outcome.repeated)
    await store_invoices(conn, list(issued.values()), now)
    return outcomes


def _billed(outcome: BatchOutcome) -> Invoice:
    assert isinstance(outcome, Billed) and outcome.invoice.number is None
    return outcome.invoice
