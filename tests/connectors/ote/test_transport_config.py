"""``ote_config``: features are off until configured; a missing file stops start-up naming key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.ote.config import ote_config
from gateway.config import load_settings
from gateway.errors import ConfigError
from tests.connectors.ote.pki import Pki


def test_nothing_configured_means_both_features_off() -> None:
    config = ote_config(load_settings({}))
    assert config.outbound is None and config.callback is None


def _environ(pki: Pki) -> dict[str, str]:
    return {
        "PROUD_OTE_URL": "https://cds.example.invalid/CDSService",
        "PROUD_OTE_CLIENT_CERT": str(pki.client.cert_path),
        "PROUD_OTE_CLIENT_KEY": str(pki.client.key_path),
        "PROUD_OTE_CA_BUNDLE": str(pki.ca.cert_path),
        "PROUD_OTE_CALLBACK_PORT": "8443",
        "PROUD_OTE_CALLBACK_CERT": str(pki.server.cert_path),
        "PROUD_OTE_CALLBACK_KEY": str(pki.server.key_path),
        "PROUD_OTE_TRUST_STORE": str(pki.signing_ca.cert_path),
        "PROUD_OTE_PARTICIPANT_EAN": "8591824556207",
        "PROUD_OTE_OPERATOR_EAN": "8591824000007",
        "PROUD_OTE_TIMEOUT_S": "12.5",
    }


def test_full_configuration_is_accepted(pki: Pki) -> None:
    config = ote_config(load_settings(_environ(pki)))
    assert config.outbound is not None and config.outbound.timeout_s == 12.5
    assert config.callback is not None and config.callback.trust_store_path == str(pki.signing_ca.cert_path)


@pytest.mark.parametrize(
    "key", ["ote_client_cert", "ote_client_key", "ote_ca_bundle", "ote_callback_cert", "ote_trust_store"]
)
def test_missing_file_names_the_key_and_the_value(pki: Pki, tmp_path: Path, key: str) -> None:
    missing = str(tmp_path / "nowhere.pem")
    environ = _environ(pki) | {f"PROUD_{key.upper()}": missing}
    with pytest.raises(ConfigError) as caught:
        ote_config(load_settings(environ))
    assert (caught.value.key, caught.value.value) == (key, missing)


def test_trust_store_is_not_needed_without_signature_checks(pki: Pki) -> None:
    environ = _environ(pki) | {"PROUD_OTE_VERIFY_SIGNATURES": "false"}
    del environ["PROUD_OTE_TRUST_STORE"]
    callback = ote_config(load_settings(environ)).callback
    assert callback is not None and callback.trust_store_path is None


def test_bad_participant_ean_check_digit_is_refused(pki: Pki) -> None:
    environ = _environ(pki) | {"PROUD_OTE_PARTICIPANT_EAN": "8591824556208"}
    with pytest.raises(ConfigError, match="ote_participant_ean"):
        ote_config(load_settings(environ))


def test_plain_http_endpoint_is_refused() -> None:
    with pytest.raises(ConfigError, match="PROUD_OTE_URL"):
        load_settings({"PROUD_OTE_URL": "http://cds.example.invalid/"})
