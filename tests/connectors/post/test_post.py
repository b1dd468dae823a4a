"""The post connector: a letter's PDF and manifest uploaded to the real SFTP server (the sshd on
127.0.0.1:2222) and to a directory; a server we cannot trust or reach is a retryable error."""

from __future__ import annotations

import hashlib
from pathlib import Path

import asyncssh
import msgspec
import pytest

from connectors.post import (
    DirectoryTransport,
    Letter,
    Manifest,
    PostalAddress,
    PostConnector,
    PrintShopUnavailable,
    letter_files,
    post_connector,
)
from gateway.errors import is_retryable
from schemas.masterdata.common import Address
from tests.connectors.post.sftp_server import Shop, known_hosts_file, shop
from tests.http.support import free_port

__all__ = ["shop"]

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8
RECIPIENT = PostalAddress.of("Jana Nová", Address(street="Údolní", house_number="567/33", city="Brno",
                                                  postal_code="60200"))
SENDER = PostalAddress.of("proud energie s.r.o. (SAMPLE)", Address(street="Vinohradská", house_number="1",
                                                                   city="Praha 2", postal_code="12000"))
LETTER = Letter(name="FV202607000001", pdf=PDF, recipient=RECIPIENT, sender=SENDER)


def _manifest(content: bytes) -> Manifest:
    return msgspec.json.decode(content, type=Manifest)


def test_a_letter_is_its_pdf_then_the_manifest_with_the_postal_address() -> None:
    (pdf_name, pdf), (manifest_name, manifest) = letter_files(LETTER)

    assert (pdf_name, pdf, manifest_name) == ("FV202607000001.pdf", PDF, "FV202607000001.json")
    read = _manifest(manifest)
    assert (read.format, read.letter, read.document) == ("proud-letter/1", "FV202607000001", pdf_name)
    assert (read.sha256, read.bytes) == (hashlib.sha256(PDF).hexdigest(), len(PDF))
    assert read.recipient.lines() == ["Jana Nová", "Údolní 567/33", "602 00 Brno"]
    assert read.sender == SENDER


async def test_sftp_puts_the_pdf_and_the_manifest_into_the_shops_directory(shop: Shop) -> None:
    connector = PostConnector(shop.transport())

    where = await connector.send_letter(LETTER)
    again = await connector.send_letter(LETTER)  # a redelivered letter replaces itself

    assert where == again == f"sftp://proudsftp@127.0.0.1:2222/{shop.remote_dir}"
    files = await shop.files()
    assert sorted(files) == ["FV202607000001.json", "FV202607000001.pdf"]  # no partial files left
    assert files["FV202607000001.pdf"] == PDF
    assert _manifest(files["FV202607000001.json"]).recipient == RECIPIENT
    await connector.stop()


async def test_an_unknown_host_key_and_a_server_down_are_retryable(shop: Shop, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    other_key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    stranger = known_hosts_file(tmp_path / "other", other_key)  # a host key that is not the server's
    with pytest.raises(PrintShopUnavailable, match=r"proudsftp@127\.0\.0\.1:2222") as untrusted:
        await shop.transport(known_hosts=stranger).upload(letter_files(LETTER))
    with pytest.raises(PrintShopUnavailable) as down:
        await shop.transport(port=free_port(), timeout_s=3.0).upload(letter_files(LETTER))
    assert is_retryable(untrusted.value) and is_retryable(down.value)
    assert await shop.files() == {}  # nothing reached the shop


async def test_the_directory_transport_writes_the_letter(tmp_path: Path) -> None:
    connector = post_connector(
        sftp_host=None, sftp_port=22, sftp_user=None, sftp_key=None, sftp_known_hosts=None, sftp_dir="in",
        timeout_s=5, print_dir=tmp_path / "print",
    )
    assert isinstance(connector.transport, DirectoryTransport)

    assert await connector.send_letter(LETTER) == str(tmp_path / "print")

    assert sorted(path.name for path in (tmp_path / "print").iterdir()) == [
        "FV202607000001.json", "FV202607000001.pdf"
    ]
    assert (tmp_path / "print" / "FV202607000001.pdf").read_bytes() == PDF
