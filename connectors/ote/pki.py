"""Throw-away PKI for the OTE simulator, the demo and the tests: CAs, TLS certificates, an XML-DSig signer.

Everything is generated with ``cryptography`` and written as PEM files; nothing is ever checked in, and none
of it is fit for talking to the real CS OTE (whose certificates come from a public CA, ote-market.md §2).
EC P-256 keys keep generation fast; the extensions are the ones a WebPKI-style verifier insists on.

Validity is measured against the real wall clock, not an injected ``Clock``: TLS and signxml check
certificates against the system time, whatever time a test pretends it is.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.errors import ConfigError

#: Tests live for minutes; two days leave room for a slow run across midnight.
TEST_VALID_DAYS: Final = 2
#: A demo PKI is reused between runs of ``proud ote simulator`` for this long, then made anew.
DEMO_VALID_DAYS: Final = 90
#: A demo PKI expiring sooner than this is replaced, so that a run never dies mid-demo.
RENEW_BEFORE: Final = dt.timedelta(days=1)
#: Certificates are back-dated a little: a peer whose clock lags must not see them as not yet valid.
BACKDATE: Final = dt.timedelta(minutes=5)
TEST_ORGANISATION: Final = "proud tests"
DEMO_ORGANISATION: Final = "proud OTE simulator"
#: Private keys are readable by their owner only.
KEY_FILE_MODE: Final = 0o600


@dataclass(frozen=True, slots=True)
class Issued:
    cert_path: Path
    key_path: Path
    cert_pem: bytes
    key_pem: bytes
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _write(directory: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Issued:
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert_pem)
    # Created with the narrow mode, not chmod-ed afterwards: the key is never readable by others.
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, KEY_FILE_MODE)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key_pem)
    return Issued(cert_path, key_path, cert_pem, key_pem, cert, key)


def load_issued(directory: Path, stem: str) -> Issued:
    """A certificate and key written earlier by this module; raises OSError or ValueError if unreadable."""
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_pem, key_pem = cert_path.read_bytes(), key_path.read_bytes()
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_path}: not an EC private key")
    return Issued(cert_path, key_path, cert_pem, key_pem, x509.load_pem_x509_certificate(cert_pem), key)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, valid_days: int
) -> x509.CertificateBuilder:
    assert 0 < valid_days <= DEMO_VALID_DAYS, valid_days
    now = dt.datetime.now(dt.UTC) - BACKDATE
    return (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer).public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=valid_days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def make_ca(
    directory: Path, stem: str, *, organisation: str = TEST_ORGANISATION, valid_days: int = TEST_VALID_DAYS
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"{stem} CA", organisation)
    cert = (
        _builder(name, name, key.public_key(), valid_days)
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


def issue(
    directory: Path,
    stem: str,
    ca: Issued,
    *,
    usage: x509.ObjectIdentifier | None,
    organisation: str = TEST_ORGANISATION,
    valid_days: int = TEST_VALID_DAYS,
) -> Issued:
    """An end-entity certificate for 127.0.0.1/localhost; ``usage`` is serverAuth or clientAuth."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        _builder(_name(stem, organisation), ca.cert.subject, key.public_key(), valid_days)
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
    """The transport tests' PKI: one TLS CA for both sides, plus certificates that must be refused."""

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


@dataclass(frozen=True, slots=True)
class SimulatorPki:
    """Both sides of a simulated OTE link; field names are the file stems in the directory.

    One TLS CA signs every TLS certificate of both sides (proud's ``ote_ca_bundle`` verifies the simulator's
    server and client certificates, and the simulator verifies proud's with the same file); the simulator's
    XML-DSig signer has a CA of its own, which is proud's ``ote_trust_store``.
    """

    tls_ca: Issued
    #: The simulator's CDS endpoint (proud's outbound transport connects to it).
    ote_server: Issued
    #: The simulator calling proud's callback service.
    ote_client: Issued
    signing_ca: Issued
    #: Signs every message the simulator sends.
    ote_signer: Issued
    #: proud's outbound client certificate (``ote_client_cert``/``ote_client_key``).
    proud_client: Issued
    #: proud's callback server certificate (``ote_callback_cert``/``ote_callback_key``).
    proud_callback: Issued


def _stems() -> tuple[str, ...]:
    return tuple(field.name for field in fields(SimulatorPki))


def make_simulator_pki(
    directory: Path, *, organisation: str = DEMO_ORGANISATION, valid_days: int = DEMO_VALID_DAYS
) -> SimulatorPki:
    directory.mkdir(parents=True, exist_ok=True)
    tls_ca = make_ca(directory, "tls_ca", organisation=organisation, valid_days=valid_days)
    signing_ca = make_ca(directory, "signing_ca", organisation=organisation, valid_days=valid_days)

    def leaf(stem: str, ca: Issued, usage: x509.ObjectIdentifier) -> Issued:
        return issue(directory, stem, ca, usage=usage, organisation=organisation, valid_days=valid_days)

    server, client = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
    return SimulatorPki(
        tls_ca=tls_ca,
        ote_server=leaf("ote_server", tls_ca, server),
        ote_client=leaf("ote_client", tls_ca, client),
        signing_ca=signing_ca,
        ote_signer=leaf("ote_signer", signing_ca, client),
        proud_client=leaf("proud_client", tls_ca, client),
        proud_callback=leaf("proud_callback", tls_ca, server),
    )


def load_simulator_pki(directory: Path) -> SimulatorPki:
    return SimulatorPki(*(load_issued(directory, stem) for stem in _stems()))


def ensure_simulator_pki(directory: Path, *, valid_days: int = DEMO_VALID_DAYS) -> tuple[SimulatorPki, bool]:
    """The PKI in ``directory``, made there first when the directory has none; and whether it was made.

    A directory holding only part of it, or files that do not load, is refused rather than overwritten: it
    may hold someone's real keys. An expiring PKI of ours is made anew.
    """
    paths = [directory / f"{stem}.{ext}" for stem in _stems() for ext in ("crt", "key")]
    present = [path for path in paths if path.exists()]
    if not present:
        return make_simulator_pki(directory, valid_days=valid_days), True
    if len(present) != len(paths):
        missing = sorted(str(path.name) for path in paths if not path.exists())
        raise ConfigError("cert_dir", str(directory), f"holds part of a simulator PKI; missing {missing}")
    try:
        pki = load_simulator_pki(directory)
    except (OSError, ValueError) as exc:
        raise ConfigError("cert_dir", str(directory), f"holds unreadable PKI files: {exc}") from exc
    expires = min(issued.cert.not_valid_after_utc for issued in (getattr(pki, s) for s in _stems()))
    if expires - RENEW_BEFORE <= dt.datetime.now(dt.UTC):
        return make_simulator_pki(directory, valid_days=valid_days), True
    return pki, False
