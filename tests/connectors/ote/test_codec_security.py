"""Hostile XML: external entities (XXE), external DTDs, entity expansion, parameter entities, XInclude,
other encodings and oversize input are all refused as ``OteMalformed``/``OteTooLarge``, without reading a
local file, touching the network or expanding anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.ote.codec import XML_BYTES_MAX, OteMalformed, OteTooLarge, decode
from connectors.ote.codec import common as codec_common
from tests.connectors.ote.expected import golden_bytes

ROOT = b'<RESPONSE xmlns="http://www.ote-cr.cz/schema/response" id="1" message-code="812"'
SECRET = "ote-codec-secret-content"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def refused(data: bytes) -> str:
    with pytest.raises(OteMalformed) as caught:
        decode(data)
    message = str(caught.value)
    assert SECRET not in message
    assert "\n" not in message
    return message


def test_external_entity_is_refused(secret_file: Path) -> None:
    data = (
        b'<?xml version="1.0"?><!DOCTYPE RESPONSE [<!ENTITY x SYSTEM "file://'
        + str(secret_file).encode() + b'">]>' + ROOT + b">&x;</RESPONSE>"
    )
    assert "DOCTYPE" in refused(data)


def test_external_parameter_entity_is_refused_before_libxml2_reads_the_file(
    secret_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # libxml2 loads external parameter entities even with entity resolution off; the byte guard must
    # stop the document before the parser exists.
    def no_parser() -> None:
        raise AssertionError("the parser must not be reached")

    monkeypatch.setattr(codec_common, "_safe_parser", no_parser)
    data = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "file://' + str(secret_file).encode()
        + b'"> %p;]>' + ROOT + b"/>"
    )
    assert "DOCTYPE" in refused(data)


def test_external_dtd_is_refused() -> None:
    data = b'<?xml version="1.0"?><!DOCTYPE RESPONSE SYSTEM "http://127.0.0.1:9/evil.dtd">' + ROOT + b"/>"
    assert "DOCTYPE" in refused(data)


def test_billion_laughs_is_refused_without_expansion() -> None:
    entities = [b'<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        refs = f"&lol{level - 1};".encode() * 10
        entities.append(f"<!ENTITY lol{level} ".encode() + b'"' + refs + b'">')
    subset = b"<!DOCTYPE RESPONSE [" + b"".join(entities) + b"]>"
    data = b'<?xml version="1.0"?>' + subset + ROOT + b">&lol9;</RESPONSE>"
    assert "DOCTYPE" in refused(data)


def test_undeclared_entity_is_not_well_formed() -> None:
    assert "not well-formed" in refused(ROOT + b">&x;</RESPONSE>")


def test_xinclude_is_not_processed(secret_file: Path) -> None:
    data = (
        b'<RESPONSE xmlns="http://www.ote-cr.cz/schema/response" xmlns:xi="http://www.w3.org/2001/XInclude">'
        b'<xi:include href="' + str(secret_file).encode() + b'" parse="text"/></RESPONSE>'
    )
    assert "/RESPONSE/@id: is missing" in refused(data)


def test_utf16_is_refused_so_that_the_doctype_scan_cannot_be_bypassed() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x "y">]><RESPONSE/>'.encode("utf-16")
    assert "ASCII-compatible" in refused(data)


def test_oversize_input_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parser() -> None:
        raise AssertionError("the parser must not be reached")

    monkeypatch.setattr(codec_common, "_safe_parser", no_parser)
    data = golden_bytes("masterdata-gas.xml")
    padded = data + b" " * (XML_BYTES_MAX + 1 - len(data))
    assert len(padded) == XML_BYTES_MAX + 1
    with pytest.raises(OteTooLarge, match="XML_BYTES_MAX"):
        decode(padded)


def test_input_at_the_limit_is_parsed() -> None:
    data = golden_bytes("masterdata-gas.xml")
    # Padding as many short comments inside the root: one 16 MiB run of text or whitespace would hit
    # libxml2's own node-size limit (huge_tree=False) instead of ours.
    comment = b"<!--" + b"x" * 73 + b"-->\n"
    closing = b"</CDSGASMASTERDATA>"
    head, tail = data.split(closing)
    comments, rest = divmod(XML_BYTES_MAX - len(data), len(comment))
    padded = head + comment * comments + b" " * rest + closing + tail
    assert len(padded) == XML_BYTES_MAX
    assert decode(padded).envelope.id == "GMD25060300077"


def test_deep_nesting_is_refused_by_the_parser() -> None:
    # huge_tree=False keeps libxml2's depth limit; a hostile depth fails as malformed, not as a crash.
    depth = 100_000
    data = ROOT + b">" + b"<a>" * depth + b"</a>" * depth + b"</RESPONSE>"
    assert "not well-formed" in refused(data)
