"""The billing worker: each ``billing.bill_requested`` on ``billing.work`` becomes a bill or a reason why not.

    bill_requested ─→ bill_many(decide = the tables of rules/decisions)
        pre-check findings the table waits for only ─→ billing.waiting_for_reading
        other findings (pre or post)                ─→ billing.outsorted (stage, findings)
        an error only a person can fix              ─→ billing.outsorted (BILLING_ERROR)
        billed (invoice and receivable stored)      ─→ billing.billed

A consumer of group ``proud.billing-worker``. ``billing.work`` is keyed by OPM, so one OPM's bills are made
in order, and its partitions spread a mass run over the worker processes; each partition draws invoice
numbers from its own series (``series_worker``), so no two consumers wait for one number row. The
answers go to ``billing.orders`` keyed by the order, where the ``billing_order`` machine takes them. Bill,
ledger postings and answers are one transaction with the inbox row: a redelivered request bills nothing
twice. A batch of messages (``many``, the runner's ``handler_many``) is billed by ``bill_many`` per series
in one go, with the same answers as one message at a time.

The worker renders no documents: the invoice's PDF and ISDOC are rendered after the bill's transaction (from
the stored row, which keeps the deposits), and ``billing.invoiced`` comes from that renderer. Nothing here
sends the invoice to the customer either.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import structlog

from gateway.billing.batch import BATCH_BILLS_MAX, BatchOutcome, BillRequest, Unbillable, bill_many
from gateway.billing.bill import INDIVIDUAL_BILLING_WORKER
from gateway.billing.checks import Checks, TableDecision
from gateway.billing.invoices.numbering import WORKER_MAX
from gateway.billing.order_intake import FinalBillIntake
from gateway.billing.topics import BILLING_ORDERS, BILLING_WORK
from gateway.bus.handler import HandlerContext, Subscription
from gateway.config import Settings
from gateway.errors import Conflict, HandlerRejected, InvalidField, NotFound
from schemas.billing import bill
from schemas.billing.orders import (
    Billed,
    BillRequested,
    Finding,
    Invoiced,
    Outsorted,
    WaitingForReading,
)
from schemas.envelope import Payload

log = structlog.get_logger(__name__)

BILLING_WORKER_GROUP: Final = "proud.billing-worker"
#: The finding of a bill that failed for a reason retrying will not fix (a contract without terms, …).
BILLING_ERROR: Final = "BILLING_ERROR"
#: The price lists' directory under the rules directory, as for ``POST /api/billing/quote``.
PRICES_SUBDIRECTORY: Final = "prices"


def series_worker(partition: int) -> int:
    """The invoice series of a ``billing.work`` partition: 1..``WORKER_MAX``, so that no two consumers
    draw from one series row, and none from the individual bills' (``INDIVIDUAL_BILLING_WORKER``)."""
    return 1 + partition % WORKER_MAX


assert INDIVIDUAL_BILLING_WORKER == 0, "series_worker leaves worker 0 to the individual bills"


def replies(request: BillRequested, outcome: bill.BillOutcome, decision: TableDecision) -> list[Payload]:
    """The messages that answer ``request`` on ``billing.orders``."""
    order = request.order
    if isinstance(outcome, bill.Outsorted):
        if outcome.stage == "pre" and decision.only_waiting(outcome.findings):
            text = "; ".join(finding.text for finding in outcome.findings)
            return [WaitingForReading(order=order, opm=request.opm, text=text)]
        return [Outsorted(order=order, stage=outcome.stage, findings=outcome.findings)]
    invoice = outcome.invoice
    if invoice.number is None:
        raise HandlerRejected(f"bill_contract billed order {order} without issuing an invoice number")
    billed = Billed(order=order, invoice=invoice.number, total=invoice.total, balance=invoice.balance)
    if not invoice.documents:
        return [billed]  # the order stays billed until its documents are filed
    documents = tuple(str(document) for document in invoice.documents)
    return [billed, Invoiced(order=order, invoice=invoice.number, documents=documents)]


@dataclass(frozen=True, slots=True)
class BillingWorker:
    """The handler of ``billing.work``: one message (``__call__``) or a batch of them (``many``), both
    through ``bill_many``."""

    checks: Checks
    #: The price lists: ``<rules_dir>/prices``.
    prices: Path

    def subscription(self) -> Subscription:
        return Subscription(BILLING_WORKER_GROUP, (BILLING_WORK.name,), self, self.many)

    async def __call__(self, ctx: HandlerContext) -> None:
        request = _bill_requested(ctx)
        decision = TableDecision(self.checks)
        try:
            # A savepoint: a block of numbers refused (a series run out) leaves nothing behind when the answer
            # is committed.
            async with ctx.conn.begin_nested():
                [outcome] = await bill_many(
                    ctx.conn, [_bill_request(request, decision)], now=ctx.now,
                    worker=series_worker(ctx.record.partition), prices=self.prices,
                )
        except (InvalidField, NotFound, Conflict) as exc:
            outcome = Unbillable(exc)
        _answer(ctx, request, outcome, decision)

    async def many(self, contexts: Sequence[HandlerContext]) -> None:
        """The batch's requests billed by ``bill_many`` per invoice series (partition), at most
        ``BATCH_BILLS_MAX`` at a time. An error of a whole batch (a series run out) fails it: the runner
        then applies the messages one by one (a batch of one), and ``__call__`` answers each."""
        if len(contexts) == 1:
            await self(contexts[0])
            return
        assert all(ctx.conn is contexts[0].conn for ctx in contexts), "a batch is one transaction"
        requests = [_bill_requested(ctx) for ctx in contexts]
        decisions = [TableDecision(self.checks) for _ctx in contexts]
        by_series: dict[int, list[int]] = defaultdict(list)
        for index, ctx in enumerate(contexts):
            by_series[series_worker(ctx.record.partition)].append(index)
        for worker, indexes in by_series.items():
            for start in range(0, len(indexes), BATCH_BILLS_MAX):
                chunk = indexes[start:start + BATCH_BILLS_MAX]
                outcomes = await bill_many(
                    contexts[chunk[0]].conn, [_bill_request(requests[i], decisions[i]) for i in chunk],
                    now=contexts[chunk[0]].now, worker=worker, prices=self.prices,
                )
                for index, outcome in zip(chunk, outcomes, strict=True):
                    _answer(contexts[index], requests[index], outcome, decisions[index])


def _bill_requested(ctx: HandlerContext) -> BillRequested:
    request = ctx.envelope.payload
    if not isinstance(request, BillRequested):
        expected = BillRequested.message_type
        raise HandlerRejected(f"the billing worker got {ctx.envelope.type}, expected {expected}")
    return request


def _bill_request(request: BillRequested, decision: TableDecision) -> BillRequest:
    return BillRequest(
        contract=request.contract, period_from=request.period_from, period_to=request.period_to,
        released=frozenset(request.released), decision=decision,
    )


def _answer(
    ctx: HandlerContext, request: BillRequested, outcome: BatchOutcome, decision: TableDecision
) -> None:
    if isinstance(outcome, Unbillable):
        # A person must fix master data or prices; the order shows them why instead of a dead letter.
        finding = Finding(code=BILLING_ERROR, text=outcome.message)
        answered: bill.BillOutcome = bill.Outsorted(stage="pre", findings=(finding,))
    else:
        answered = outcome
    for reply in replies(request, answered, decision):
        ctx.emit_payload(BILLING_ORDERS.name, reply, key=request.order)
    log.info("billing.order.answered", order=request.order, outcome=type(answered).__name__)


def billing_subscriptions(settings: Settings) -> list[Subscription]:
    """The billing worker and the final-bill intake (``switch.final_bill_ordered`` → an order); the
    documents' consumers are ``documents.document_subscriptions``."""
    rules = Path(settings.rules_dir)
    worker = BillingWorker(Checks(rules), rules / PRICES_SUBDIRECTORY)
    return [worker.subscription(), FinalBillIntake().subscription()]
