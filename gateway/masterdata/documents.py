"""Documents (DMS): metadata, versions and links in the database; the bytes in a ``FileStore`` by sha256.

The bytes are stored before the rows: a content-addressed file without a row is harmless (and reused when
the same bytes come again), while a row without its file would be a broken document.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import InvalidField, NotFound
from gateway.ids import uuid7
from gateway.masterdata import audit
from gateway.masterdata import tables as t
from gateway.masterdata.activities import require_subject
from gateway.masterdata.filestore import FileStore
from gateway.masterdata.service_base import row_by
from schemas.masterdata.activities import EntityKind, EntityRef
from schemas.masterdata.documents import Document, DocumentKind, DocumentVersion

#: Media types the DMS accepts, with the leading bytes each must start with (None: not checked).
MEDIA_TYPES: Final[dict[str, bytes | None]] = {
    "application/pdf": b"%PDF-",
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff",
    "image/tiff": None,
    "application/xml": None,
    "text/plain": None,
}
#: Links one document may have (a contract letter links contract, customer, account and OPM).
LINKS_MAX: Final = 20
#: Documents one listing returns at most.
DOCUMENTS_LIST_MAX: Final = 500


def check_content(media_type: str, content: bytes) -> None:
    if media_type not in MEDIA_TYPES:
        raise InvalidField("media_type", media_type, "expected one of " + ", ".join(sorted(MEDIA_TYPES)))
    magic = MEDIA_TYPES[media_type]
    if magic is not None and not content.startswith(magic):
        raise InvalidField("content", f"{len(content)} bytes", f"is not a {media_type} file")


async def create_document(
    conn: AsyncConnection, store: FileStore, actor: str, now: dt.datetime, *, kind: DocumentKind, title: str,
    filename: str, media_type: str, content: bytes, links: Sequence[EntityRef],
) -> Document:
    """A new document with its first version, linked to ``links`` (each must exist)."""
    check_content(media_type, content)
    if len(links) > LINKS_MAX:
        raise InvalidField("links", len(links), f"at most {LINKS_MAX} links")
    for index, ref in enumerate(links):
        await require_subject(conn, f"links[{index}]", ref)
    stored = await store.put(content)
    document_id = uuid7()
    await conn.execute(sa.insert(t.document).values(id=document_id, kind=kind, title=title, created_at=now))
    await conn.execute(sa.insert(t.document_version).values(
        document_id=document_id, version=1, sha256=stored.sha256, size_bytes=stored.size_bytes,
        media_type=media_type, filename=filename, created_at=now, created_by=actor,
    ))
    unique_links = {(ref.entity, ref.key) for ref in links}
    if unique_links:
        await conn.execute(sa.insert(t.document_link), [
            {"document_id": document_id, "entity": entity, "entity_key": key} for entity, key in unique_links
        ])
    created = await get_document(conn, document_id)
    await audit.record(conn, actor, now, [audit.Change(
        "document", document_id, str(document_id), "created", 1, None, created,
    )])
    return created


async def add_version(
    conn: AsyncConnection, store: FileStore, actor: str, now: dt.datetime, document_id: uuid.UUID, *,
    filename: str, media_type: str, content: bytes,
) -> Document:
    """A new version of a document; earlier versions stay readable."""
    await row_by(conn, t.document, t.document.c.id, document_id, "document", for_update=True)
    check_content(media_type, content)
    before = await get_document(conn, document_id)
    stored = await store.put(content)
    version = before.versions[-1].version + 1
    await conn.execute(sa.insert(t.document_version).values(
        document_id=document_id, version=version, sha256=stored.sha256, size_bytes=stored.size_bytes,
        media_type=media_type, filename=filename, created_at=now, created_by=actor,
    ))
    after = await get_document(conn, document_id)
    await audit.record(conn, actor, now, [audit.Change(
        "document", document_id, str(document_id), "version_added", version, before, after,
    )])
    return after


def _version(row: Any) -> DocumentVersion:
    return DocumentVersion(
        version=row.version, sha256=row.sha256, size_bytes=row.size_bytes, media_type=row.media_type,
        filename=row.filename, created_at=row.created_at, created_by=row.created_by,
    )


async def get_document(conn: AsyncConnection, document_id: uuid.UUID) -> Document:
    row = await row_by(conn, t.document, t.document.c.id, document_id, "document")
    return (await _documents(conn, [row]))[0]


async def _documents(conn: AsyncConnection, rows: Sequence[Any]) -> list[Document]:
    ids = [row.id for row in rows]
    if not ids:
        return []
    versions: dict[uuid.UUID, list[DocumentVersion]] = {i: [] for i in ids}
    for row in await conn.execute(
        sa.select(t.document_version).where(t.document_version.c.document_id.in_(ids))
        .order_by(t.document_version.c.document_id, t.document_version.c.version)
    ):
        versions[row.document_id].append(_version(row))
    links: dict[uuid.UUID, list[EntityRef]] = {i: [] for i in ids}
    for row in await conn.execute(
        sa.select(t.document_link).where(t.document_link.c.document_id.in_(ids))
        .order_by(t.document_link.c.entity, t.document_link.c.entity_key)
    ):
        links[row.document_id].append(EntityRef(entity=row.entity, key=row.entity_key))
    return [
        Document(id=row.id, kind=row.kind, title=row.title, links=links[row.id], versions=versions[row.id],
                 created_at=row.created_at)
        for row in rows
    ]


async def documents_about(
    conn: AsyncConnection, refs: Sequence[tuple[EntityKind, str]], *, kind: DocumentKind | None = None,
    limit: int = DOCUMENTS_LIST_MAX,
) -> list[Document]:
    """Documents linked to any of ``refs`` (optionally of one kind), newest first."""
    assert 1 <= limit <= DOCUMENTS_LIST_MAX
    if not refs:
        return []
    link = t.document_link.c
    about = sa.or_(*(sa.and_(link.entity == entity, link.entity_key == key) for entity, key in refs))
    linked = sa.select(t.document_link.c.document_id).where(about)
    query = sa.select(t.document).where(t.document.c.id.in_(linked))
    if kind is not None:
        query = query.where(t.document.c.kind == kind)
    rows = (await conn.execute(query.order_by(t.document.c.created_at.desc()).limit(limit))).all()
    return await _documents(conn, rows)


async def read_content(
    conn: AsyncConnection, store: FileStore, document_id: uuid.UUID, version: int | None = None
) -> tuple[DocumentVersion, bytes]:
    """A version's metadata and bytes (the newest version when ``version`` is None)."""
    document = await get_document(conn, document_id)
    chosen = document.versions[-1] if version is None else next(
        (v for v in document.versions if v.version == version), None
    )
    if chosen is None:
        raise NotFound(f"document {document_id} has no version {version}")
    return chosen, await store.get(chosen.sha256)
