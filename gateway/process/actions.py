"""The action registry: the Python commands a rule file may call by name in its steps.

An action receives the running instance's context and the literal parameters written in the YAML step::

    @ACTIONS.register("send_reminder")
    async def send_reminder(ctx: ActionContext, params: Mapping[str, Any]) -> None: ...

It may change ``ctx.data`` and ``ctx.emit`` messages; the runtime stores both in the transaction of the
message being processed, so an action must not do its own I/O. ``proud rules check`` refuses rule files
that name an action missing here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

from gateway.errors import HandlerRejected, NotFound
from gateway.process.topics import PROCESS_EVENTS
from schemas.envelope import Envelope, Payload
from schemas.process import ReminderRequested

#: Highest escalation level a reminder may have; the dunning letters stop at the third.
REMINDER_LEVEL_MAX = 3

ACTION_NAME = re.compile(r"[a-z][a-z0-9_]*")


class ActionContext(Protocol):
    """What an action sees of the instance that runs it."""

    data: dict[str, Any]  # the instance data; changes are stored with the new state
    now: dt.datetime  # the runtime clock's time for this message (aware)
    key: str  # the instance key
    message: Envelope  # the message being processed

    def emit(self, topic: str, body: Payload, *, key: str | None = None) -> None:
        """Send a message through the outbox; ``key`` defaults to the instance key."""
        ...


Action = Callable[[ActionContext, Mapping[str, Any]], Awaitable[None]]
A = TypeVar("A", bound=Action)


class ActionRegistry:
    """Actions by name. Modules register theirs at import time with the ``register`` decorator."""

    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}

    def register(self, name: str) -> Callable[[A], A]:
        assert ACTION_NAME.fullmatch(name), f"bad action name {name!r}"
        # Reserved words of the step syntax: a step ``set:`` or ``decide:`` never reaches the registry.
        assert name not in ("set", "decide"), f"{name!r} is a step keyword, not an action name"

        def add(action: A) -> A:
            known = self._actions.get(name)
            assert known is None or known is action, f"action {name!r} registered twice"
            self._actions[name] = action
            return action

        return add

    def names(self) -> frozenset[str]:
        return frozenset(self._actions)

    def get(self, name: str) -> Action:
        action = self._actions.get(name)
        if action is None:
            raise NotFound(f"no action {name!r} in the registry (known: {', '.join(sorted(self._actions))})")
        return action

    def __contains__(self, name: object) -> bool:
        return name in self._actions


#: The process-wide registry of built-in actions.
ACTIONS = ActionRegistry()


def _amount(value: object) -> Decimal | None:
    """An amount from instance data as an exact Decimal (data may hold it as a Decimal, int or string)."""
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            amount = Decimal(value)
        except InvalidOperation:
            amount = Decimal("NaN")
        if amount.is_finite():
            return amount
    raise HandlerRejected(f"send_reminder: data.amount_due is {value!r}, expected a decimal amount")


@ACTIONS.register("send_reminder")
async def send_reminder(ctx: ActionContext, params: Mapping[str, Any]) -> None:
    """Ask for a payment reminder of ``level`` (1..3) for the instance key; counts ``data.reminders_sent``."""
    level = params.get("level")
    if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= REMINDER_LEVEL_MAX:
        raise HandlerRejected(f"send_reminder: `level` must be 1..{REMINDER_LEVEL_MAX}, got {level!r}")
    body = ReminderRequested(level=level, amount_due=_amount(ctx.data.get("amount_due")))
    ctx.emit(PROCESS_EVENTS.name, body)
    sent = ctx.data.get("reminders_sent", 0)
    ctx.data["reminders_sent"] = (sent if isinstance(sent, int) else 0) + 1


# Domain actions register themselves on import. Imported here, last (``ACTIONS`` exists by now), so that
# every user of the registry (the daemon, ``proud rules check|test``, the scenario tests) sees them.
import gateway.billing.actions  # noqa: E402
import gateway.switching.actions  # noqa: E402, F401
