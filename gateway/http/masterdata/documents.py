"""``/api/documents``: the DMS. A document's bytes travel as the raw request body (its media type in
``Content-Type``) and come back the same way; its metadata, versions and links as JSON."""

from __future__ import annotations

import base64
import datetime as dt
import urllib.parse
from typing import Annotated, Final, get_args

import msgspec
from aiohttp import hdrs, web
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.http.keys import DAEMON
from gateway.http.masterdata.common import (
    choice_param,
    convert_param,
    int_param,
    read,
    uuid_param,
    uuid_path,
    write,
)
from gateway.http.openapi import ApiRoutes, QueryParam
from gateway.http.views import BadParameter
from gateway.masterdata.documents import (
    DOCUMENTS_LIST_MAX,
    LINKS_MAX,
    MEDIA_TYPES,
    add_version,
    create_document,
    documents_about,
    get_document,
    read_content,
)
from gateway.masterdata.filestore import DOCUMENT_BYTES_MAX
from schemas.masterdata.activities import EntityKind, EntityRef
from schemas.masterdata.common import TEXT_CHARS_MAX, Text
from schemas.masterdata.documents import Document, DocumentKind

api = ApiRoutes(tag="documents", description="Documents (DMS): files with versions, linked to master data.")

#: Documents one listing returns when the caller names no limit.
DOCUMENTS_LIMIT_DEFAULT: Final = 100
#: Highest version number asked for: far beyond any document's history, and a bound on the parsed value.
DOCUMENT_VERSION_MAX: Final = 1_000_000
#: Bytes read from the request at a time while the body is checked against ``DOCUMENT_BYTES_MAX``.
READ_CHUNK_BYTES: Final = 256 * 1024
ENTITY_KINDS: Final[tuple[str, ...]] = get_args(EntityKind)
DOCUMENT_KINDS: Final[tuple[str, ...]] = get_args(DocumentKind)
MEDIA: Final = tuple(MEDIA_TYPES)
DOCUMENT_ID = uuid_path("id", "the document's id")
# A file name ends up in a Content-Disposition header and in someone's downloads folder: no paths, no
# control characters, no quotes.
_FILENAME_REFUSED: Final = frozenset('/\\"') | {chr(code) for code in range(32)} | {chr(127)}
_FILENAME_EXPECTED: Final = (
    f"a file name of 1 to {TEXT_CHARS_MAX} characters without / \\ \" or control characters"
)

FILENAME = QueryParam("filename", str, "the file's name, as the download will offer it", required=True)
ENTITY = QueryParam("entity", EntityKind, "the kind of object", required=True)
KEY = QueryParam("key", str, "its natural key: customer number, VS, contract number, OPM code", required=True)


@api.post(
    "/api/documents", summary="Store a document: the body is the file, Content-Type its media type",
    response=Document, status=201, request_media=MEDIA, errors=[413],
    query=[
        QueryParam("kind", DocumentKind, "what the document is", required=True),
        QueryParam("title", Text, "what the back office sees in lists", required=True),
        FILENAME,
        QueryParam(
            "link", list[str], f"entity:key, repeated, at most {LINKS_MAX}: customer:1000001, contract:…",
        ),
    ],
)
async def create(request: web.Request) -> Document:
    """Each ``link`` must name an existing object (422 otherwise); the bytes must be of the media type
    declared (a PDF starts with %PDF-). The file is kept under its sha256, shown in the version."""
    query = request.query
    kind = msgspec.convert(choice_param("kind", query.get("kind"), DOCUMENT_KINDS), DocumentKind)
    title = convert_param("title", query.get("title", ""), Text, f"1 to {TEXT_CHARS_MAX} characters")
    filename = _filename(query.get("filename"))
    links = [_link(raw) for raw in query.getall("link", [])]
    if len(links) > LINKS_MAX:
        raise BadParameter("link", f"{len(links)} links", f"at most {LINKS_MAX} links")
    content, media_type = await _read_file(request)
    store = request.app[DAEMON].files

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Document:
        return await create_document(
            conn, store, who, now, kind=kind, title=title, filename=filename, media_type=media_type,
            content=content, links=links,
        )

    return await write(request, "storing a document", operation)


@api.post(
    "/api/documents/{id}/versions", summary="Store a new version of a document (earlier ones stay)",
    response=Document, status=201, request_media=MEDIA, path_params=[DOCUMENT_ID], query=[FILENAME],
    errors=[413],
)
async def version_add(request: web.Request) -> Document:
    document_id = uuid_param(request, "id")
    filename = _filename(request.query.get("filename"))
    content, media_type = await _read_file(request)
    store = request.app[DAEMON].files

    async def operation(conn: AsyncConnection, who: str, now: dt.datetime) -> Document:
        return await add_version(
            conn, store, who, now, document_id, filename=filename, media_type=media_type, content=content,
        )

    return await write(request, "storing a document version", operation)


@api.get(
    "/api/documents", summary="Documents linked to one object, newest first",
    response=list[Document],
    query=[
        ENTITY, KEY,
        QueryParam("kind", DocumentKind, "only documents of this kind"),
        QueryParam(
            "limit", Annotated[int, msgspec.Meta(ge=1, le=DOCUMENTS_LIST_MAX)], "at most this many",
            default=DOCUMENTS_LIMIT_DEFAULT,
        ),
    ],
)
async def about(request: web.Request) -> list[Document]:
    query = request.query
    entity = msgspec.convert(choice_param("entity", query.get("entity"), ENTITY_KINDS), EntityKind)
    key = query.get("key")
    if not key:
        raise BadParameter("key", key, "the object's natural key")
    kind_raw = query.get("kind")
    kind = None if kind_raw is None else msgspec.convert(
        choice_param("kind", kind_raw, DOCUMENT_KINDS), DocumentKind
    )
    limit = int_param(request, "limit", DOCUMENTS_LIMIT_DEFAULT, 1, DOCUMENTS_LIST_MAX)

    async def operation(conn: AsyncConnection) -> list[Document]:
        return await documents_about(conn, [(entity, key)], kind=kind, limit=limit)

    return await read(request, "listing documents", operation)


@api.get(
    "/api/documents/{id}", summary="A document's metadata: kind, title, links, every version",
    response=Document, path_params=[DOCUMENT_ID], errors=[400],
)
async def show(request: web.Request) -> Document:
    document_id = uuid_param(request, "id")

    async def operation(conn: AsyncConnection) -> Document:
        return await get_document(conn, document_id)

    return await read(request, "reading a document", operation)


@api.get(
    "/api/documents/{id}/content", summary="A version's bytes (the newest by default), as a download",
    path_params=[DOCUMENT_ID], response_media=MEDIA,
    query=[QueryParam(
        "version", Annotated[int, msgspec.Meta(ge=1, le=DOCUMENT_VERSION_MAX)], "the version; default newest",
    )],
)
async def content(request: web.Request) -> web.Response:
    """Served with the version's media type, its file name in Content-Disposition, and its sha256 as the
    ETag and in Repr-Digest; the store verifies the hash before the bytes leave."""
    document_id = uuid_param(request, "id")
    version = None
    if "version" in request.query:
        version = int_param(request, "version", 1, 1, DOCUMENT_VERSION_MAX)
    store = request.app[DAEMON].files

    async def operation(conn: AsyncConnection) -> tuple[str, str, str, bytes]:
        chosen, data = await read_content(conn, store, document_id, version)
        return chosen.media_type, chosen.filename, chosen.sha256, data

    media_type, filename, sha256, data = await read(request, "reading a document's content", operation)
    digest = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
    headers = {
        hdrs.CONTENT_DISPOSITION: content_disposition(filename),
        hdrs.ETAG: f'"{sha256}"',
        "Repr-Digest": f"sha-256=:{digest}:",
        # Stored files are what someone uploaded: a browser must not guess HTML or script into them.
        "X-Content-Type-Options": "nosniff",
    }
    return web.Response(body=data, content_type=media_type, headers=headers)


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` for old clients and the exact one in ``filename*``."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(filename, safe='')}"


def _filename(raw: str | None) -> str:
    if raw is None or not 1 <= len(raw) <= TEXT_CHARS_MAX or any(c in _FILENAME_REFUSED for c in raw):
        raise BadParameter("filename", raw, _FILENAME_EXPECTED)
    if raw.strip(". ") == "":  # ".", "..": names that mean a directory
        raise BadParameter("filename", raw, _FILENAME_EXPECTED)
    return raw


def _link(raw: str) -> EntityRef:
    entity, separator, key = raw.partition(":")
    if not separator or entity not in ENTITY_KINDS or not key:
        raise BadParameter("link", raw, "entity:key with entity one of " + ", ".join(ENTITY_KINDS))
    return EntityRef(entity=msgspec.convert(entity, EntityKind), key=key)


async def _read_file(request: web.Request) -> tuple[bytes, str]:
    """The body and its media type; 413 past ``DOCUMENT_BYTES_MAX``, counted as it arrives (a client may
    send no Content-Length, or a false one)."""
    declared = request.content_length
    if declared is not None and declared > DOCUMENT_BYTES_MAX:
        raise web.HTTPRequestEntityTooLarge(max_size=DOCUMENT_BYTES_MAX, actual_size=declared)
    chunks: list[bytes] = []
    size_bytes = 0
    async for chunk in request.content.iter_chunked(READ_CHUNK_BYTES):
        size_bytes += len(chunk)
        if size_bytes > DOCUMENT_BYTES_MAX:
            raise web.HTTPRequestEntityTooLarge(max_size=DOCUMENT_BYTES_MAX, actual_size=size_bytes)
        chunks.append(chunk)
    if size_bytes == 0:
        raise BadParameter("body", "", "the file's bytes")
    return b"".join(chunks), request.content_type
