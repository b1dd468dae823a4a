"""``make run``'s demo mode: generated master data, welcome letters, and ARES answered by the simulator."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import sqlalchemy as sa

from gateway.config import load_settings
from gateway.daemon import Daemon
from gateway.demo import DEMO_CUSTOMERS, DEMO_SALE_CUSTOMER
from gateway.http.api_keys import Role
from gateway.masterdata import tables as t
from gateway.masterdata.welcome import WELCOME_LETTERS_GROUP
from gateway.store.migrate import upgrade_sync
from gateway.store.tables import inbox, outbox
from gateway.subscriptions import builtin_subscriptions
from tests.http.support import bearer, free_port, new_key, wait_for


async def test_demo_daemon_has_customers_letters_and_a_local_ares(tmp_path: Path, unique: str) -> None:
    port = free_port()
    settings = load_settings(environ={
        "PROUD_DATA_DIR": str(tmp_path), "PROUD_DEMO_DATA": "true", "PROUD_HTTP_PORT": str(port),
    })
    upgrade_sync(settings.effective_database_url)
    daemon = Daemon(settings, subscriptions=builtin_subscriptions(settings))
    await daemon.start()
    try:
        headers = bearer(await new_key(daemon.engine, Role.OPERATOR, unique))
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.get(f"{base}/api/customers", params={"q": "ov", "limit": "200"}) as response:
                page = await response.json()
            assert response.status == 200 and 0 < page["total"] <= DEMO_CUSTOMERS, page
            body = {"kind": "company", "segment": "business", "ico": "28741137", "from_ares": True}
            async with http.post(f"{base}/api/customers", json=body) as response:
                created = await response.json()
            assert response.status == 201, created
        assert created["company_name"] == "Vltavská energie s.r.o." and created["dic"] is not None
        assert [a["address"]["city"] for a in created["addresses"] if a["kind"] == "registered"] == ["Praha"]

        async def letters() -> list[tuple[str, str]] | None:
            async with daemon.engine.connect() as conn:
                rows = (await conn.execute(
                    sa.select(t.document_link.c.entity, t.document_link.c.entity_key).join(t.document)
                    .where(t.document.c.kind == "welcome_letter", t.document_link.c.entity == "customer")
                )).all()
            return [tuple(row) for row in rows] or None

        async def caught_up() -> bool | None:
            async with daemon.engine.connect() as conn:
                count = sa.select(sa.func.count())
                events = await conn.scalar(
                    count.select_from(outbox).where(outbox.c.topic == "masterdata.contracts")
                )
                applied = await conn.scalar(
                    count.select_from(inbox).where(inbox.c.group_id == WELCOME_LETTERS_GROUP)
                )
            return True if events and applied == events else None

        await wait_for(caught_up, "the welcome-letter consumer applying every contract event")
        # The generated book is old (imported contracts get no letter); today's demo sale gets one.
        assert await letters() == [("customer", DEMO_SALE_CUSTOMER)]
        async with daemon.engine.connect() as conn:
            contracts = await conn.scalar(sa.select(sa.func.count()).select_from(t.contract))
        assert contracts is not None and contracts > DEMO_CUSTOMERS
    finally:
        await daemon.stop()
