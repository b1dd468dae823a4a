"""The supplier's identity and the delivery partners as settings: checked at start, naming the setting and
the value; the identifiers in their canonical form; the letters' one-line address from the same fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.billing.bill_documents import SAMPLE_SUPPLIER, supplier_of
from gateway.config import load_settings
from gateway.errors import ConfigError


@pytest.mark.parametrize(("variable", "value", "reason"), [
    ("SUPPLIER_ICO", "25097564", "fails the check digit (expected 3, got 4)"),
    ("SUPPLIER_DIC", "CZ25097564", "fails the check digit (expected 3, got 4)"),
    ("SUPPLIER_DIC", "25097563", "does not start with CZ"),
    ("SUPPLIER_DIC", "CZ27082440", "must be CZ + the IČO 25097563"),
    ("SUPPLIER_IBAN", "CZ6508000000192000145398", "fails the check digits (expected 92, got 65)"),
    ("SUPPLIER_IBAN", "CZ65080000001920001453", "has 22 characters, expected 24 for CZ"),
    ("SUPPLIER_BIC", "GIBACZ", "is not a valid BIC"),
    ("SUPPLIER_POSTAL_CODE", "1200", "has 4 digits, expected 5"),
])
def test_a_bad_supplier_identifier_stops_start_up_naming_it(variable: str, value: str, reason: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({f"PROUD_{variable}": value})
    assert refused.value.key == variable.lower() and refused.value.value == value
    assert reason in refused.value.reason, refused.value.reason


def test_the_identifiers_are_kept_in_their_canonical_form_and_printed_on_invoices() -> None:
    settings = load_settings({
        "PROUD_SUPPLIER_NAME": "Moravská energie a.s.", "PROUD_SUPPLIER_ICO": "27082440",
        "PROUD_SUPPLIER_DIC": "cz 27082440", "PROUD_SUPPLIER_IBAN": "CZ65 0800 0000 1920 0014 5399",
        "PROUD_SUPPLIER_STREET": "Údolní", "PROUD_SUPPLIER_HOUSE_NUMBER": "567/33",
        "PROUD_SUPPLIER_POSTAL_CODE": "602 00", "PROUD_SUPPLIER_CITY": "Brno",
    })
    assert (settings.supplier_dic, settings.supplier_iban, settings.supplier_postal_code) == (
        "CZ27082440", "CZ6508000000192000145399", "60200"
    )
    assert settings.supplier_address == "Údolní 567/33, 602 00 Brno"  # the letters' line
    supplier = supplier_of(settings)
    assert (supplier.name, supplier.ico, supplier.address.street, supplier.bank_account.bic) == (
        "Moravská energie a.s.", "27082440", "Údolní", "GIBACZPX"
    )


def test_the_defaults_are_the_sample_supplier() -> None:
    settings = load_settings({})
    assert supplier_of(settings) == SAMPLE_SUPPLIER and "(SAMPLE)" in SAMPLE_SUPPLIER.name
    assert settings.supplier_address == "Vinohradská 1, 120 00 Praha 2"
    assert (settings.smtp_url, settings.print_sftp_host) == (None, None)  # the demo's directories
    assert settings.effective_mail_dir == Path("var") / "mail"


def test_the_replaced_address_setting_says_what_replaces_it() -> None:
    with pytest.raises(ConfigError, match="replaced by supplier_street, supplier_house_number"):
        load_settings({"PROUD_SUPPLIER_ADDRESS": "Vinohradská 1, 120 00 Praha 2"})


def test_the_print_shop_needs_a_user_a_key_and_its_host_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as no_user:
        load_settings({"PROUD_PRINT_SFTP_HOST": "print.example.cz"})
    assert no_user.value.key == "print_sftp_user"
    key = tmp_path / "key"
    key.write_text("not read here")
    with pytest.raises(ConfigError) as no_file:
        load_settings({
            "PROUD_PRINT_SFTP_HOST": "print.example.cz", "PROUD_PRINT_SFTP_USER": "proud",
            "PROUD_PRINT_SFTP_KEY": str(key), "PROUD_PRINT_SFTP_KNOWN_HOSTS": str(tmp_path / "missing"),
        })
    assert (no_file.value.key, no_file.value.reason) == ("print_sftp_known_hosts", "is not a readable file")


def test_smtp_settings_are_checked() -> None:
    with pytest.raises(ConfigError) as bad_url:
        load_settings({"PROUD_SMTP_URL": "http://mail.example.cz"})
    assert bad_url.value.key == "PROUD_SMTP_URL"
    with pytest.raises(ConfigError) as bad_from:
        load_settings({"PROUD_SMTP_FROM": "faktury"})
    assert bad_from.value.key == "PROUD_SMTP_FROM"
    settings = load_settings({
        "PROUD_SMTP_URL": "smtps://proud:tajne@mail.example.cz", "PROUD_SMTP_TIMEOUT_S": "5",
    })
    assert settings.smtp_timeout_s == 5.0
