"""Throw-away PKI for the transport tests: CAs, TLS server and client certificates, an XML-DSig signer.

Everything is generated at test time with ``cryptography`` and written as PEM files; nothing is checked in.
EC P-256 keys keep generation fast; the extensions are the ones a WebPKI-style verifier insists on.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALID_DAYS = 2


@dataclass(frozen=True, slots=True)
class Issued:
    cert_path: Path
    key_path: Path
    cert_pem: bytes
    key_pem: bytes
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "proud tests"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _write(directory: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Issued:
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert_pem)
    key_path.write_bytes(key_pem)
    return Issued(cert_path, key_path, cert_pem, key_pem, cert, key)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    return (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer).public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=_VALID_DAYS))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def make_ca(directory: Path, stem: str) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"{stem} CA")
    cert = (
        _builder(name, name, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return _write(directory, stem, cert, key)


def issue(directory: Path, stem: str, ca: Issued, *, usage: ExtendedKeyUsageOID | None) -> Issued:
    """An end-entity certificate for 127.0.0.1/localhost; ``usage`` is serverAuth or clientAuth."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _builder(_name(stem), ca.cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .add_extension(
            x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            ]),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return _write(directory, stem, builder.sign(ca.key, hashes.SHA256()), key)


@dataclass(frozen=True, slots=True)
class Pki:
    ca: Issued
    server: Issued
    client: Issued
    #: Signed by a different CA: must be refused.
    stranger: Issued
    #: XML-DSig: OTE's signing certificate, under its own CA (the trust store).
    signing_ca: Issued
    signer: Issued
    #: A signer under the TLS CA, not in the trust store.
    rogue_signer: Issued


def make_pki(directory: Path) -> Pki:
    ca = make_ca(directory, "tls")
    other = make_ca(directory, "other")
    signing_ca = make_ca(directory, "signing")
    return Pki(
        ca=ca,
        server=issue(directory, "server", ca, usage=ExtendedKeyUsageOID.SERVER_AUTH),
        client=issue(directory, "client", ca, usage=ExtendedKeyUsageOID.CLIENT_AUTH),
        stranger=issue(directory, "stranger", other, usage=ExtendedKeyUsageOID.CLIENT_AUTH),
        signing_ca=signing_ca,
        signer=issue(directory, "signer", signing_ca, usage=ExtendedKeyUsageOID.CLIENT_AUTH),
        rogue_signer=issue(directory, "rogue", ca, usage=ExtendedKeyUsageOID.CLIENT_AUTH),
    )
