"""One typed settings object, built once at start-up.

Precedence, lowest first: the defaults below, then ``PROUD_<NAME>`` environment variables, then the TOML file
given with ``--config`` (flat keys, the same names in lower case). A value that does not fit stops start-up
with a ``ConfigError`` naming the key and the value.

With neither ``database_url`` nor ``kafka_bootstrap`` set, proud runs on the embedded default: a SQLite file
under ``data_dir`` and the SQL-log bus in the same database.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import msgspec

from gateway import limits
from gateway.errors import ConfigError

ENV_PREFIX = "PROUD_"
#: Read by commands that call the running daemon (the API key of ``proud rules reload``): not settings.
CLIENT_ENV_KEYS: Final = frozenset({"PROUD_API_KEY"})

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]

#: Due timers the scheduler fires in one transaction (one outbox row each), like an outbox batch.
TIMER_BATCH_MAX: Final = limits.OUTBOX_BATCH_MAX
#: Shortest poll of the rule files for changes: each poll stats every rule file, so not a busy loop.
RULES_RELOAD_POLL_S_MIN: Final = 0.1
#: ARES (business register of MF ČR), keyless. Equal to ``connectors.ares.ARES_BASE_URL`` and the two limits
#: below to the connector's (asserted in ``gateway.masterdata.ares``); not imported from there because the
#: connector imports ``gateway.bus``, which imports this module.
ARES_BASE_URL: Final = "https://ares.gov.cz"
#: ``ares_base_url`` value that turns company look-ups off (an environment variable cannot say None).
ARES_OFF: Final = "off"
ARES_TIMEOUT_S_MAX: Final = 60.0
ARES_CACHE_ENTRIES_MAX: Final = 100_000
#: A company's name, DIČ and seat change rarely; a week bounds how stale a filled-in form can be.
ARES_CACHE_TTL_S_MAX: Final = 7 * 86_400.0
#: Equal to ``connectors.ote.transport.TIMEOUT_S_MAX`` (asserted in ``connectors.ote.config``).
OTE_TIMEOUT_S_MAX: Final = 300.0
#: Bounds of one SMTP step and one SFTP operation: a partner slower than this is down, not slow.
SMTP_TIMEOUT_S_MAX: Final = 300.0
SFTP_TIMEOUT_S_MAX: Final = 300.0
#: Settings that were replaced, and what replaces them: named at start rather than "unknown setting".
REPLACED_SETTINGS: Final = {
    "supplier_address": "supplier_street, supplier_house_number, supplier_postal_code and supplier_city",
}


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every setting proud reads. Field docstrings are in ``docs/configuration.md`` and README."""

    database_url: str | None = None
    kafka_bootstrap: str | None = None
    data_dir: str = "var"
    http_host: str = "127.0.0.1"
    http_port: Port = 8080
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["console", "json"] = "console"
    demo_data: bool = False
    #: Require an API key on ``/api/**`` (``proud keys create``). Off: every request acts as an admin, for
    #: local experiments only (a warning says so at start).
    api_auth: bool = True

    kafka_client_id: str = "proud"
    kafka_request_timeout_s: PositiveSeconds = 30.0
    topic_partitions: Annotated[int, msgspec.Meta(ge=1, le=limits.TOPIC_PARTITIONS_MAX)] = 6
    topic_replication_factor: Annotated[int, msgspec.Meta(ge=1, le=5)] = 1

    message_bytes_max: Annotated[int, msgspec.Meta(ge=1024, le=limits.MESSAGE_BYTES_MAX)] = (
        limits.MESSAGE_BYTES_MAX
    )
    consumer_batch_max: Annotated[int, msgspec.Meta(ge=1, le=limits.CONSUMER_BATCH_MAX)] = 500
    consumer_poll_timeout_s: PositiveSeconds = 0.5
    outbox_batch_max: Annotated[int, msgspec.Meta(ge=1, le=limits.OUTBOX_BATCH_MAX)] = 1000
    outbox_poll_interval_s: PositiveSeconds = 0.05
    outbox_sent_retention_s: PositiveSeconds = 3600.0

    retry_attempts_max: Annotated[int, msgspec.Meta(ge=1, le=limits.RETRY_ATTEMPTS_MAX)] = 5
    retry_delay_s_initial: Annotated[float, msgspec.Meta(gt=0, le=limits.RETRY_DELAY_S_MAX)] = 0.2
    retry_delay_s_max: Annotated[float, msgspec.Meta(gt=0, le=limits.RETRY_DELAY_S_MAX)] = 10.0

    #: Inbox entries older than this are forgotten; must exceed every topic's retention (checked at start).
    inbox_retention_s: Annotated[float, msgspec.Meta(gt=0)] = 60 * 86_400.0

    sql_bus_poll_interval_s: PositiveSeconds = 0.05
    sql_bus_session_timeout_s: PositiveSeconds = 10.0

    #: Rule files (``machines/*.yaml``, ``decisions/*.json``); relative paths are taken from the working
    #: directory. A directory that does not exist means no machines (a fresh install); one that exists must
    #: pass ``proud rules check`` or start-up stops.
    rules_dir: str = "rules"
    #: Poll the rule files every ``rules_reload_poll_s`` and reload them when they change.
    rules_reload_on_change: bool = False
    rules_reload_poll_s: Annotated[float, msgspec.Meta(ge=RULES_RELOAD_POLL_S_MIN, le=3600)] = 2.0
    timer_batch_max: Annotated[int, msgspec.Meta(ge=1, le=TIMER_BATCH_MAX)] = 500
    #: Timers are due to the minute at best, so a second between scans loses nothing that matters.
    timer_poll_interval_s: PositiveSeconds = 1.0

    #: ARES origin for company look-ups (``from_ares``); ``off`` (or None) turns them off.
    ares_base_url: Annotated[str, msgspec.Meta(pattern=r"^(https?://\S+|off)$")] | None = ARES_BASE_URL
    #: Connect and read timeout of one ARES request, each; a look-up sits on an API caller's path.
    ares_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=ARES_TIMEOUT_S_MAX)] = 5.0
    #: How long an ARES answer is reused; 0 asks ARES every time.
    ares_cache_ttl_s: Annotated[float, msgspec.Meta(ge=0, le=ARES_CACHE_TTL_S_MAX)] = 86_400.0
    ares_cache_entries_max: Annotated[int, msgspec.Meta(ge=1, le=ARES_CACHE_ENTRIES_MAX)] = 10_000

    #: CS OTE (CDS) SOAP endpoint for outbound messages (``https://…``); None turns outbound sending off.
    #: With it on, ``ote_client_cert``, ``ote_client_key`` and ``ote_ca_bundle`` must name existing PEM files.
    ote_url: Annotated[str, msgspec.Meta(pattern=r"^https://\S+$")] | None = None
    #: Our participant certificate and key (PEM), presented to CS OTE on every outbound connection.
    ote_client_cert: str | None = None
    ote_client_key: str | None = None
    #: CA certificates (PEM) that sign CS OTE's server and client certificates: verifies both directions.
    ote_ca_bundle: str | None = None
    #: Callback service CS OTE calls (server–server mode, ote-market.md §2); None turns it off. With it on,
    #: ``ote_callback_cert``, ``ote_callback_key`` and ``ote_ca_bundle`` must name existing PEM files.
    ote_callback_host: str = "127.0.0.1"
    ote_callback_port: Port | None = None
    ote_callback_cert: str | None = None
    ote_callback_key: str | None = None
    #: Verify the XML-DSig signature of each inbound message against ``ote_trust_store`` (a PEM bundle of the
    #: CAs that issue CS OTE's signing certificates). Off only for a test environment that does not sign.
    ote_verify_signatures: bool = True
    ote_trust_store: str | None = None
    #: Our participant EAN (13 digits) and CS OTE's: the parties of the RESPONSE we answer a message with
    #: that we could not read. Required with the callback on.
    ote_participant_ean: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{13}$")] | None = None
    ote_operator_ean: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{13}$")] | None = None
    #: Connect timeout and read timeout of one outbound request, each.
    ote_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=OTE_TIMEOUT_S_MAX)] = 30.0

    #: Our balance-responsible party (subjekt zúčtování) named in switch requests; None: we are our own.
    ote_balance_responsible_ean: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{13}$")] | None = None
    #: Switch deadlines: ``standard`` (10th working day before, 10:00) or ``24h`` (EU 2019/944 art. 12).
    switch_profile: Literal["standard", "24h"] = "standard"
    #: Where each market process gets its electricity data: CS OTE, or EDC (which takes over electricity
    #: data from 2026). Gas is always CS OTE. Only ``ote`` is implemented; ``edc`` stops start-up, saying so.
    market_source_switching: Literal["ote", "edc"] = "ote"
    market_source_readings: Literal["ote", "edc"] = "ote"
    market_source_registration: Literal["ote", "edc"] = "ote"
    #: Our EAN as distribution system operator (13 digits): set it when this install also acts as a DSO
    #: (OPM registration, message 111, and periodic metered-data reporting); None: supplier only.
    distributor_ean: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{13}$")] | None = None

    #: Document files (DMS: contracts, welcome letters), stored by sha256; default ``<data_dir>/documents``.
    documents_dir: str | None = None
    #: The supplier (we, the issuer): signs the letters and issues the invoices. The defaults are SAMPLE
    #: values (a made-up company on a bank's sample account) that a real install must replace. IČO, DIČ,
    #: PSČ, IBAN and BIC are checked at start (``check_supplier``): a bad value stops start-up, named.
    supplier_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = (
        "proud energie s.r.o. (SAMPLE)"
    )
    #: The seat: street (None for a village that addresses by house number only), číslo popisné
    #: (optionally "/orientační"), city, PSČ. Letters print it as one line (``supplier_address``).
    supplier_street: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = "Vinohradská"
    supplier_house_number: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,6}(/[0-9]{1,5}[a-zA-Z]?)?$")] = "1"
    supplier_city: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = "Praha 2"
    supplier_postal_code: str = "12000"
    supplier_ico: str = "25097563"
    supplier_dic: str = "CZ25097563"
    #: The collection account printed on invoices and in their QR Platba and ISDOC payment details.
    supplier_iban: str = "CZ6508000000192000145399"
    supplier_bic: str = "GIBACZPX"
    supplier_bank_name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = "Česká spořitelna, a.s."
    #: The commercial-register entry (spisová značka) for the invoice footer; None prints none.
    supplier_register_entry: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None

    #: Invoice e-mail (``connectors.einvoice``): ``smtp://[user:password@]host[:port]`` (STARTTLS when the
    #: server offers it), ``smtps://…`` (TLS from the first byte). None: no SMTP server; the messages are
    #: written as ``.eml`` files to ``mail_dir`` instead (the one-box demo).
    smtp_url: Annotated[str, msgspec.Meta(pattern=r"^smtps?://\S+$")] | None = None
    #: The sender of invoice e-mail (From, and the envelope sender); the SAMPLE domain delivers nowhere.
    smtp_from: Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] = "faktury@proud.example"
    #: Bound on each SMTP step (connect, each command, the data).
    smtp_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=SMTP_TIMEOUT_S_MAX)] = 30.0
    #: Where ``.eml`` files go without ``smtp_url``; default ``<data_dir>/mail``.
    mail_dir: str | None = None
    #: The print shop's SFTP server for paper invoices (``connectors.post``); None: letters are written to
    #: ``print_dir`` instead (the one-box demo). With it set, user, key and known-hosts file are required.
    print_sftp_host: str | None = None
    print_sftp_port: Port = 22
    print_sftp_user: str | None = None
    #: Our private key (OpenSSH format, no passphrase) and the known_hosts file that pins the shop's host key.
    print_sftp_key: str | None = None
    print_sftp_known_hosts: str | None = None
    #: The shop's drop directory, relative to the login directory or absolute.
    print_sftp_dir: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = "in"
    print_sftp_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=SFTP_TIMEOUT_S_MAX)] = 30.0
    #: Where letters go without ``print_sftp_host``; default ``<data_dir>/print``.
    print_dir: str | None = None
    #: TOML file with the welcome letter's wording (``gateway/masterdata/templates/welcome_letter.toml`` is
    #: the model); None uses that packaged one. Checked at start: a bad file stops start-up.
    welcome_letter_template: str | None = None

    @property
    def supplier_address(self) -> str:
        """The seat on one line, as letters print it: ``Vinohradská 1, 120 00 Praha 2``."""
        street = f"{self.supplier_street} " if self.supplier_street else ""
        code = self.supplier_postal_code
        return f"{street}{self.supplier_house_number}, {code[:3]} {code[3:]} {self.supplier_city}"

    @property
    def effective_mail_dir(self) -> Path:
        return Path(self.mail_dir) if self.mail_dir else Path(self.data_dir) / "mail"

    @property
    def effective_print_dir(self) -> Path:
        return Path(self.print_dir) if self.print_dir else Path(self.data_dir) / "print"

    @property
    def bus_backend(self) -> Literal["kafka", "sql"]:
        return "kafka" if self.kafka_bootstrap else "sql"

    @property
    def effective_documents_dir(self) -> Path:
        return Path(self.documents_dir) if self.documents_dir else Path(self.data_dir) / "documents"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        path = (Path(self.data_dir) / "proud.db").resolve()
        return f"sqlite+aiosqlite:///{path}"


def _convert(key: str, name: str, raw: object) -> Any:
    """Convert one raw value (a string from the environment, or a TOML value) to the field's type."""
    assert name in Settings.__struct_fields__
    try:
        # Type-check a one-field struct, so constraints (ge/le/Literal) are enforced per field.
        probe = msgspec.convert({name: raw}, Settings, strict=False)
    except msgspec.ValidationError as exc:
        reason = str(exc).split(" - at ", 1)[0]
        raise ConfigError(key, raw, reason) from exc
    return getattr(probe, name)


def load_settings(
    environ: Mapping[str, str] | None = None, config_file: str | Path | None = None
) -> Settings:
    """Build the settings from defaults, the environment, then the optional TOML file."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name in Settings.__struct_fields__:
        key = ENV_PREFIX + name.upper()
        if key in environ and environ[key] != "":
            values[name] = _convert(key, name, environ[key])
    # A misspelt variable would otherwise be ignored silently. PROUD_TEST_* belong to the test suite.
    unknown = [
        key for key in environ
        if key.startswith(ENV_PREFIX) and not key.startswith(ENV_PREFIX + "TEST_")
        and key not in CLIENT_ENV_KEYS and key[len(ENV_PREFIX):].lower() not in Settings.__struct_fields__
    ]
    if unknown:
        replaced = REPLACED_SETTINGS.get(unknown[0][len(ENV_PREFIX):].lower())
        reason = f"replaced by {replaced}" if replaced else "unknown setting"
        raise ConfigError(unknown[0], environ[unknown[0]], reason)
    if config_file is not None:
        values.update(_load_toml(Path(config_file)))
    settings = check_supplier(Settings(**values))
    check_delivery(settings)
    if settings.retry_delay_s_initial > settings.retry_delay_s_max:
        raise ConfigError(
            "retry_delay_s_initial", settings.retry_delay_s_initial,
            f"must not exceed retry_delay_s_max ({settings.retry_delay_s_max})",
        )
    return settings


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("--config", str(path), f"cannot read file: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("--config", str(path), f"not valid TOML: {exc}") from exc
    values: dict[str, Any] = {}
    for name, raw in document.items():
        if name not in Settings.__struct_fields__:
            replaced = REPLACED_SETTINGS.get(name)
            reason = f"replaced by {replaced}" if replaced else "unknown setting"
            raise ConfigError(f"{path}:{name}", raw, reason)
        values[name] = _convert(f"{path}:{name}", name, raw)
    return values


#: The supplier settings that are identifiers, and the ``gateway.masterdata.identifiers`` kind of each.
SUPPLIER_IDENTIFIERS: Final = (
    ("supplier_ico", "ico"), ("supplier_dic", "dic"), ("supplier_postal_code", "postal_code"),
    ("supplier_iban", "iban"),
)


def check_supplier(settings: Settings) -> Settings:
    """The settings with the supplier's identifiers in their canonical form (``CZ 25097563`` →
    ``CZ25097563``), or ``ConfigError`` naming the first that is not valid: IČO and DIČ by their check
    digits (python-stdnum), PSČ, IBAN by schwifty (a Czech one also as a Czech account), BIC by schwifty."""
    # Imported here: the validators' package imports the bus, which imports this module.
    from schwifty import BIC
    from schwifty import exceptions as schwifty_exceptions

    from gateway.masterdata.base import InvalidIdentifier
    from gateway.masterdata.identifiers import validate

    checked: dict[str, str] = {}
    for name, kind in SUPPLIER_IDENTIFIERS:
        value = getattr(settings, name)
        try:
            checked[name] = validate(kind, value)
        except InvalidIdentifier as exc:
            raise ConfigError(name, value, exc.reason) from exc
    try:
        checked["supplier_bic"] = str(BIC(settings.supplier_bic))
    except schwifty_exceptions.SchwiftyException as exc:
        raise ConfigError("supplier_bic", settings.supplier_bic, f"is not a valid BIC ({exc})") from exc
    if checked["supplier_dic"][2:] != checked["supplier_ico"] and len(checked["supplier_dic"]) == 10:
        reason = f"is a company's DIČ, so it must be CZ + the IČO {checked['supplier_ico']}"
        raise ConfigError("supplier_dic", settings.supplier_dic, reason)
    return msgspec.structs.replace(settings, **checked)


def check_delivery(settings: Settings) -> None:
    """The print shop's SFTP needs a user, a key and a known-hosts file (the host key is always checked)."""
    if settings.print_sftp_host is None:
        return
    for name in ("print_sftp_user", "print_sftp_key", "print_sftp_known_hosts"):
        if getattr(settings, name) is None:
            raise ConfigError(name, None, "is required with print_sftp_host")
    for name in ("print_sftp_key", "print_sftp_known_hosts"):
        path = Path(getattr(settings, name))
        if not path.is_file():
            raise ConfigError(name, str(path), "is not a readable file")
