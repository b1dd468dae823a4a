"""``make run``'s demo mode: generated master data, welcome letters, and ARES answered by the simulator."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import sqlalchemy as sa

from gateway.config import load_settings
from gateway.daemon import Daemon
from gateway.demo import DEMO_CUSTOMERS
from gateway.http.api_keys import Role
from gateway.masterdata import tables as t
from gateway.store.migrate import upgrade_sync
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

        async def letters() -> int | None:
            async with daemon.engine.connect() as conn:
                contracts = await conn.scalar(sa.select(sa.func.count()).select_from(t.contract))
                is_letter = t.document.c.kind == "welcome_letter"
                filed = await conn.scalar(sa.select(sa.func.count()).select_from(t.document).where(is_letter))
            return filed if contracts and filed == contracts else None

        assert await wait_for(letters, "a welcome letter for every demo contract") > 0
    finally:
        await daemon.stop()
