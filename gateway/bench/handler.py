"""The synthetic ``bench.event`` handler: adds each event to a per-key counter row (``bench_state``).

It is the "state row" of the end-to-end benchmark and the effect the crash tests count. With
``log_effects`` it also appends one ``effect_log`` row per applied message, which has no unique key, so a
message applied twice would show up as two rows instead of being hidden by a constraint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gateway.bus.handler import HandlerContext, Subscription
from gateway.errors import HandlerRejected
from gateway.store.tables import bench_state, effect_log
from schemas.bench import BenchEvent

# Keys are unique within one statement (they are summed per batch first), as ON CONFLICT DO UPDATE requires.
_PG_UPSERT = (
    "INSERT INTO bench_state (key, events, total, last_message_id, updated_at) "
    "SELECT k, e, t, m, $5 FROM unnest($1::varchar[], $2::bigint[], $3::bigint[], $4::uuid[]) "
    "AS u(k, e, t, m) "
    "ON CONFLICT (key) DO UPDATE SET events = bench_state.events + excluded.events, "
    "total = bench_state.total + excluded.total, last_message_id = excluded.last_message_id, "
    "updated_at = excluded.updated_at"
)


@dataclass(frozen=True, slots=True)
class BenchHandler:
    log_effects: bool = False

    async def __call__(self, ctx: HandlerContext) -> None:
        await self.many([ctx])

    async def many(self, contexts: Sequence[HandlerContext]) -> None:
        if not contexts:
            return
        conn = contexts[0].conn
        totals: dict[str, tuple[int, int, HandlerContext]] = {}
        effects = []
        for ctx in contexts:
            body = ctx.envelope.payload
            if not isinstance(body, BenchEvent):
                raise HandlerRejected(f"bench handler got {ctx.envelope.type}, expected bench.event")
            events, total, _ = totals.get(ctx.envelope.key, (0, 0, ctx))
            totals[ctx.envelope.key] = (events + 1, total + body.amount, ctx)
            if self.log_effects:
                effects.append({
                    "group_id": ctx.group_id, "message_id": ctx.envelope.id, "key": ctx.envelope.key,
                    "seq": body.seq, "applied_at": ctx.now,
                })
        if effects:
            await conn.execute(effect_log.insert(), effects)
        if conn.dialect.name == "postgresql":
            # Arrays instead of an executemany: one parameter set per batch, nothing processed per row.
            columns = (
                list(totals), [events for events, _, _ in totals.values()],
                [total for _, total, _ in totals.values()],
                [last.envelope.id for _, _, last in totals.values()], contexts[-1].now,
            )
            await conn.exec_driver_sql(_PG_UPSERT, columns)
            return
        rows = [
            {"key": key, "events": events, "total": total, "last_message_id": last.envelope.id,
             "updated_at": last.now}
            for key, (events, total, last) in totals.items()
        ]
        # Keys are unique within ``rows``, so one executemany upsert is valid (and compiled once).
        statement = sqlite_insert(bench_state)
        statement = statement.on_conflict_do_update(
            index_elements=[bench_state.c.key],
            set_={
                "events": bench_state.c.events + statement.excluded.events,
                "total": bench_state.c.total + statement.excluded.total,
                "last_message_id": statement.excluded.last_message_id,
                "updated_at": statement.excluded.updated_at,
            },
        )
        await conn.execute(statement, rows)

    def subscription(self, group_id: str, topics: Sequence[str]) -> Subscription:
        return Subscription(group_id, tuple(topics), self.__call__, self.many)
