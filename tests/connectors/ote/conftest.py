"""Fixtures of the OTE transport tests: one throw-away PKI per session, signed messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from signxml.signer import XMLSigner

from tests.connectors.ote.pki import Issued, Pki, make_pki

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def sign(message: bytes, signer: Issued) -> bytes:
    """``message`` with an enveloped XML-DSig signature carrying ``signer``'s certificate."""
    root = etree.fromstring(message)
    signer_xml = XMLSigner(signature_algorithm="ecdsa-sha256")
    signed = signer_xml.sign(root, key=signer.key_pem, cert=[signer.cert_pem])
    data: bytes = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
    return data
