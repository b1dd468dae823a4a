"""Documents over HTTP: the file as the raw body, back byte for byte with its media type, file name and
sha256; versions; links to master data; refusals that store nothing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict

from gateway.http.api_keys import Role
from gateway.http.masterdata import documents as document_routes
from gateway.http.masterdata.documents import content_disposition
from tests.http.masterdata_support import MdApp, customer_with_contract
from tests.http.support import bearer

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
PDF_V2 = b"%PDF-1.7\nsigned by both parties\n%%EOF\n"


async def upload(app: MdApp, query: str, content: Any, media_type: str, status: int = 201) -> Any:
    return await app.call("POST", f"/api/documents?{query}", status, data=content,
                          headers={"Content-Type": media_type})


async def download(app: MdApp, path: str) -> tuple[bytes, CIMultiDict[str]]:
    async with app.http.get(app.url + path, headers=bearer(app.keys[Role.READER])) as response:
        assert response.status == 200, await response.text()
        return await response.read(), CIMultiDict(response.headers)


async def test_upload_and_download_round_trip_with_versions(app: MdApp) -> None:
    number, _, contract_number = await customer_with_contract(app)
    query = (f"kind=contract&title=Smlouva o dodávce&filename=smlouva {contract_number}.pdf"
             f"&link=contract:{contract_number}&link=customer:{number}")
    created = await upload(app, query, PDF, "application/pdf")
    [first] = created["versions"]
    assert first["sha256"] == hashlib.sha256(PDF).hexdigest() and first["size_bytes"] == len(PDF)
    assert (first["media_type"], first["version"]) == ("application/pdf", 1)
    assert first["created_by"].startswith("key:test-operator-")
    assert {(link["entity"], link["key"]) for link in created["links"]} == {
        ("contract", contract_number), ("customer", number),
    }

    content, headers = await download(app, f"/api/documents/{created['id']}/content")
    assert content == PDF and hashlib.sha256(content).hexdigest() == first["sha256"]
    assert headers["Content-Type"] == "application/pdf"
    assert headers["ETag"] == f'"{first["sha256"]}"'
    assert headers["Repr-Digest"] == f"sha-256=:{base64.b64encode(hashlib.sha256(PDF).digest()).decode()}:"
    assert headers["Content-Disposition"] == content_disposition(f"smlouva {contract_number}.pdf")
    assert headers["X-Content-Type-Options"] == "nosniff"

    second = await app.call("POST", f"/api/documents/{created['id']}/versions?filename=podepsana.pdf", 201,
                            data=PDF_V2, headers={"Content-Type": "application/pdf"})
    assert [v["version"] for v in second["versions"]] == [1, 2]
    newest, _ = await download(app, f"/api/documents/{created['id']}/content")
    oldest, _ = await download(app, f"/api/documents/{created['id']}/content?version=1")
    assert (newest, oldest) == (PDF_V2, PDF)
    await app.get(f"/api/documents/{created['id']}/content?version=3", 404)
    assert (await app.get(f"/api/documents/{created['id']}"))["versions"] == second["versions"]
    listed = await app.get(f"/api/documents?entity=customer&key={number}")
    assert [d["id"] for d in listed] == [created["id"]]
    assert await app.get(f"/api/documents?entity=customer&key={number}&kind=welcome_letter") == []


def stored_files(app: MdApp) -> list[Path]:
    return [path for path in app.daemon.settings.effective_documents_dir.rglob("*") if path.is_file()]


def test_content_disposition_keeps_quotes_and_non_ascii_out_of_the_plain_name() -> None:
    header = content_disposition('smlouva "Dvořák".pdf')
    assert header == (
        "attachment; filename=\"smlouva _Dvo__k_.pdf\"; "
        "filename*=UTF-8''smlouva%20%22Dvo%C5%99%C3%A1k%22.pdf"
    )


async def test_refused_uploads_store_nothing(app: MdApp) -> None:
    number, _, _ = await customer_with_contract(app)
    before = await app.counts()
    not_pdf = await upload(app, f"kind=other&title=x&filename=x.pdf&link=customer:{number}", b"hello",
                           "application/pdf", 422)
    assert not_pdf["field"] == "content"
    unknown_type = await upload(
        app, "kind=other&title=x&filename=x.exe", b"MZ", "application/x-msdownload", 422
    )
    assert (unknown_type["field"], unknown_type["value"]) == ("media_type", "application/x-msdownload")
    no_such = await upload(
        app, "kind=other&title=x&filename=x.txt&link=contract:404", b"x", "text/plain", 422
    )
    assert (no_such["field"], no_such["value"]) == ("links[0].key", "404")
    for query, parameter in [
        ("kind=memo&title=x&filename=x.txt", "kind"),
        ("kind=other&filename=x.txt", "title"),
        ("kind=other&title=x&filename=../etc/passwd", "filename"),
        ("kind=other&title=x", "filename"),
        ("kind=other&title=x&filename=x.txt&link=invoice:1", "link"),
        ("kind=other&title=x&filename=x.txt&link=customer", "link"),
    ]:
        refused = await upload(app, query, b"x", "text/plain", 400)
        assert refused["parameter"] == parameter, (query, refused)
    empty = await upload(app, "kind=other&title=x&filename=x.txt", b"", "text/plain", 400)
    assert empty["parameter"] == "body"
    assert await app.counts() == before
    assert not await asyncio.to_thread(stored_files, app)


async def test_a_document_over_the_limit_is_413(app: MdApp, monkeypatch: pytest.MonkeyPatch) -> None:
    # The real limit is 25 MiB; a small one shows the same path without sending megabytes.
    monkeypatch.setattr(document_routes, "DOCUMENT_BYTES_MAX", 1000)
    before = await app.counts()
    await upload(app, "kind=other&title=x&filename=x.txt", b"x" * 1001, "text/plain", 413)

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(5):
            yield b"x" * 300

    await upload(app, "kind=other&title=x&filename=x.txt", chunked(), "text/plain", 413)
    assert await app.counts() == before
