"""XML-DSig verification of inbound OTE messages against our trust store (signxml), no other I/O.

[I] CS OTE signs messages with an enveloped signature carrying its certificate (D1.4.3 "Example of signed
document"); the certificate must chain to a CA in the trust store (a PEM bundle). Only what the signature
covers is returned and decoded afterwards ("see what is signed"): content outside the signed reference, such
as a wrapping attack's second copy, never reaches the codec.
"""

from __future__ import annotations

from typing import Final

from lxml import etree
from signxml.exceptions import SignXMLException
from signxml.verifier import SignatureConfiguration, XMLVerifier

from gateway.errors import MessageError

#: One enveloped reference to the whole message; anything else is not how OTE signs.
_EXPECTED: Final = SignatureConfiguration(require_x509=True, expect_references=1)


class OteSignatureInvalid(MessageError):
    """The message has no valid XML-DSig signature by a certificate our trust store vouches for."""


def verify(message: bytes, *, trust_store_path: str) -> bytes:
    """The signed part of ``message`` (signature removed), or ``OteSignatureInvalid`` saying why."""
    try:
        result = XMLVerifier().verify(message, ca_pem_file=trust_store_path, expect_config=_EXPECTED)
    except (SignXMLException, etree.LxmlError, ValueError) as exc:
        # InvalidInput is a ValueError; cryptography's certificate errors arrive as InvalidCertificate.
        raise OteSignatureInvalid(f"XML signature: {type(exc).__name__}: {exc}") from exc
    assert not isinstance(result, list), "expect_references=1 returns one result"
    signed: bytes = etree.tostring(result.signed_xml, xml_declaration=True, encoding="UTF-8")
    return signed
