"""LocalFileStore: content addressing, atomic idempotent writes, and refusal of bad keys and damaged files.

Every test works in its own ``tmp_path``; the store's root is a folder below it that does not exist yet, so
creating the root on demand is exercised everywhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from gateway.errors import NotFound, ProudError, is_retryable
from gateway.masterdata.filestore import (
    DOCUMENT_BYTES_MAX,
    CorruptDocument,
    DocumentTooLarge,
    FileStore,
    InvalidDocumentHash,
    LocalFileStore,
    StoredFile,
)

CONTENT = "Vítejte u Moravské energie, Jiří Dvořák".encode()
CONTENT_SHA256 = hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> LocalFileStore:
    return LocalFileStore(tmp_path / "documents")


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_local_store_satisfies_the_protocol(store: LocalFileStore) -> None:
    protocol_view: FileStore = store
    assert protocol_view is store


async def test_round_trip_returns_the_same_bytes(store: LocalFileStore) -> None:
    stored = await store.put(CONTENT)

    assert stored == StoredFile(sha256=CONTENT_SHA256, size_bytes=len(CONTENT))
    assert await store.get(stored.sha256) == CONTENT
    assert await store.exists(stored.sha256)


async def test_file_lives_under_two_fan_out_levels(store: LocalFileStore) -> None:
    stored = await store.put(CONTENT)

    expected = store.root / CONTENT_SHA256[0:2] / CONTENT_SHA256[2:4] / CONTENT_SHA256
    assert store.path_for(stored.sha256) == expected
    assert stored_files(store.root) == [expected]
    assert expected.read_bytes() == CONTENT


async def test_empty_document_is_stored_too(store: LocalFileStore) -> None:
    stored = await store.put(b"")

    assert stored.sha256 == hashlib.sha256(b"").hexdigest()
    assert stored.size_bytes == 0
    assert await store.get(stored.sha256) == b""


async def test_same_content_twice_is_stored_once_under_the_same_hash(store: LocalFileStore) -> None:
    first = await store.put(CONTENT)
    path = store.path_for(first.sha256)
    modified_ns = path.stat().st_mtime_ns

    second = await store.put(bytes(CONTENT))

    assert second == first
    assert stored_files(store.root) == [path]
    # The intact file was left alone, not rewritten.
    assert path.stat().st_mtime_ns == modified_ns


async def test_different_content_gets_different_hashes(store: LocalFileStore) -> None:
    first = await store.put(CONTENT)
    second = await store.put(CONTENT + b"!")

    assert first.sha256 != second.sha256
    assert len(stored_files(store.root)) == 2
    assert await store.get(second.sha256) == CONTENT + b"!"


async def test_concurrent_puts_of_the_same_content_are_fine(store: LocalFileStore) -> None:
    content = os.urandom(256 * 1024)

    results = await asyncio.gather(*(store.put(content) for _ in range(16)))

    assert len(set(results)) == 1
    assert await store.get(results[0].sha256) == content
    # Every writer's temporary file was renamed away: exactly one file remains.
    assert stored_files(store.root) == [store.path_for(results[0].sha256)]


async def test_content_at_the_limit_is_accepted(store: LocalFileStore) -> None:
    content = bytes(DOCUMENT_BYTES_MAX)

    stored = await store.put(content)

    assert stored.size_bytes == DOCUMENT_BYTES_MAX
    assert await store.get(stored.sha256) == content


async def test_content_over_the_limit_is_refused_naming_the_size(store: LocalFileStore) -> None:
    size_bytes = DOCUMENT_BYTES_MAX + 1

    with pytest.raises(DocumentTooLarge, match=str(size_bytes)) as caught:
        await store.put(bytes(size_bytes))

    assert caught.value.size_bytes == size_bytes
    assert not is_retryable(caught.value)
    assert not store.root.exists()


@pytest.mark.parametrize(
    "bad_hash",
    [
        "../etc/passwd",
        "/etc/passwd",
        "../../" + "a" * 58,
        CONTENT_SHA256.upper(),
        CONTENT_SHA256[:-1],
        CONTENT_SHA256 + "0",
        CONTENT_SHA256 + "\n",
        "g" * 64,
        "",
    ],
)
async def test_malformed_hash_is_refused_naming_the_value(store: LocalFileStore, bad_hash: str) -> None:
    for call in (store.get, store.exists):
        with pytest.raises(InvalidDocumentHash) as caught:
            await call(bad_hash)
        assert repr(bad_hash) in caught.value.message
        assert isinstance(caught.value, ProudError)
        assert not is_retryable(caught.value)


async def test_non_string_hash_is_refused(store: LocalFileStore) -> None:
    with pytest.raises(InvalidDocumentHash):
        await store.get(None)  # type: ignore[arg-type]


async def test_long_bad_hash_is_shortened_in_the_message(store: LocalFileStore) -> None:
    with pytest.raises(InvalidDocumentHash) as caught:
        await store.get("x" * 10_000)

    assert len(caught.value.message) < 300


async def test_missing_document_raises_not_found_naming_the_hash(store: LocalFileStore) -> None:
    with pytest.raises(NotFound, match=CONTENT_SHA256):
        await store.get(CONTENT_SHA256)

    assert not await store.exists(CONTENT_SHA256)


async def test_corrupted_file_is_detected(store: LocalFileStore) -> None:
    stored = await store.put(CONTENT)
    path = store.path_for(stored.sha256)
    damaged = bytearray(CONTENT)
    damaged[0] ^= 0x01
    path.write_bytes(bytes(damaged))

    with pytest.raises(CorruptDocument, match=stored.sha256) as caught:
        await store.get(stored.sha256)

    assert caught.value.path == path
    assert hashlib.sha256(damaged).hexdigest() in caught.value.message
    assert not is_retryable(caught.value)


async def test_truncated_file_is_detected(store: LocalFileStore) -> None:
    stored = await store.put(CONTENT)
    store.path_for(stored.sha256).write_bytes(b"")

    with pytest.raises(CorruptDocument):
        await store.get(stored.sha256)


async def test_oversized_file_is_reported_corrupt_without_reading_it(store: LocalFileStore) -> None:
    stored = await store.put(CONTENT)
    with store.path_for(stored.sha256).open("r+b") as file:
        file.truncate(DOCUMENT_BYTES_MAX + 1)  # sparse: no 25 MiB written

    with pytest.raises(CorruptDocument, match="DOCUMENT_BYTES_MAX"):
        await store.get(stored.sha256)


async def test_putting_the_content_again_repairs_a_corrupted_file(store: LocalFileStore) -> None:
    stored = await store.put(CONTENT)
    store.path_for(stored.sha256).write_bytes(b"damaged")

    assert await store.put(CONTENT) == stored

    assert await store.get(stored.sha256) == CONTENT


async def test_no_temporary_file_is_left_after_a_failed_write(
    store: LocalFileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_replace(source: object, target: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", failing_replace)

    with pytest.raises(ProudError, match="Permission denied") as caught:
        await store.put(CONTENT)

    assert not is_retryable(caught.value)
    assert stored_files(store.root) == []


async def test_full_disk_is_retryable(store: LocalFileStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(file_descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)

    with pytest.raises(ProudError, match="No space left") as caught:
        await store.put(CONTENT)

    assert is_retryable(caught.value)
    assert stored_files(store.root) == []
