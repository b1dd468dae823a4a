"""End-to-end check of the four dev/test services with the clients the gateway uses.

    .venv/bin/python scripts/services/smoke.py        (after `make services`)

PostgreSQL via asyncpg, Kafka via aiokafka (create topic, produce, consume, delete),
SFTP via asyncssh (key login, upload, list, remove), FTP via aioftp (same).
Prints one line per service and exits non-zero if any check fails.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG_DSN = "postgresql://proud:proud@127.0.0.1:5432/proud_test"
KAFKA = "127.0.0.1:9092"
SFTP_KEY = ROOT / "var" / "sftp" / "client_key"
TAG = uuid.uuid4().hex[:8]
PAYLOAD = f"proud smoke {TAG}\n".encode()


async def check_postgres() -> str:
    import asyncpg

    conn = await asyncpg.connect(PG_DSN, timeout=10)
    try:
        async with conn.transaction():
            await conn.execute("CREATE TEMP TABLE smoke (v text) ON COMMIT DROP")
            await conn.execute("INSERT INTO smoke VALUES ($1)", TAG)
            assert await conn.fetchval("SELECT v FROM smoke") == TAG
        version = await conn.fetchval("SHOW server_version")
        max_conn = await conn.fetchval("SHOW max_connections")
        fsync = await conn.fetchval("SHOW fsync")
    finally:
        await conn.close()
    return f"PostgreSQL {version}, max_connections={max_conn}, fsync={fsync}"


async def check_kafka() -> str:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    topic = f"smoke-{TAG}"
    admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
        producer = AIOKafkaProducer(bootstrap_servers=KAFKA, enable_idempotence=True)
        await producer.start()
        try:
            meta = await producer.send_and_wait(topic, PAYLOAD, key=TAG.encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=KAFKA,
            group_id=topic,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            msg = await asyncio.wait_for(consumer.getone(), 30)
            await consumer.commit()
        finally:
            await consumer.stop()
        assert msg.value == PAYLOAD and msg.key == TAG.encode(), msg
        await admin.delete_topics([topic])
    finally:
        await admin.close()
    return f"topic {topic}: produced p{meta.partition}@{meta.offset}, consumed, deleted"


async def check_sftp() -> str:
    import asyncssh

    async with (
        asyncssh.connect(
            "127.0.0.1",
            2222,
            username="proudsftp",
            client_keys=[str(SFTP_KEY)],
            known_hosts=None,
        ) as conn,
        conn.start_sftp_client() as sftp,
    ):
        path = f"in/smoke-{TAG}.txt"
        async with sftp.open(path, "wb") as f:
            await f.write(PAYLOAD)
        assert f"smoke-{TAG}.txt" in await sftp.listdir("in")
        async with sftp.open(path, "rb") as f:
            data: object = await f.read()  # bytes in "rb" mode; asyncssh types it as AnyStr
        assert data == PAYLOAD
        await sftp.remove(path)
    return f"key login as proudsftp, wrote/read/removed {path}"


async def check_ftp() -> str:
    import aioftp

    async with aioftp.Client.context("127.0.0.1", 2121, "proud", "proud") as client:
        path = f"in/smoke-{TAG}.txt"
        async with client.upload_stream(path) as stream:
            await stream.write(PAYLOAD)
        names = [p.name for p, _ in await client.list("in")]
        assert f"smoke-{TAG}.txt" in names, names
        async with client.download_stream(path) as stream:
            assert await stream.read() == PAYLOAD
        await client.remove_file(path)
    return f"login as proud, wrote/read/removed {path}"


async def main() -> int:
    checks: list[tuple[str, Callable[[], Awaitable[str]]]] = [
        ("postgres", check_postgres),
        ("kafka", check_kafka),
        ("sftp", check_sftp),
        ("ftp", check_ftp),
    ]
    failed = 0
    for name, check in checks:
        t0 = time.monotonic()
        try:
            detail = await asyncio.wait_for(check(), 60)
        except Exception as exc:  # report every service, not just the first failure
            failed += 1
            print(f"{name:9} FAIL {type(exc).__name__}: {exc}")
        else:
            print(f"{name:9} ok   {detail} ({time.monotonic() - t0:.2f}s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
