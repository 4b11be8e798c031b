"""The SSL contexts built from the config's TLS settings, as ``run`` connects with them and
``check`` tries them: each file that cannot be loaded is one line naming its setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from fixtures.mosquitto import make_tls_files

from ambient.config.homeassistant import HomeAssistantConfig
from ambient.config.mqtt import MqttTlsConfig
from ambient.config.tls import TlsFileError, broker_context, homeassistant_context


def test_the_broker_s_context_trusts_its_ca_and_presents_the_client_s_pair(
    tmp_path: Path,
) -> None:
    files = make_tls_files(tmp_path)
    tls = MqttTlsConfig(ca_file=files.ca_file, certfile=files.certfile, keyfile=files.keyfile)
    context = broker_context(tls)
    assert [cert["subject"] for cert in context.get_ca_certs()] == [
        ((("commonName", "ambient test CA"),),)
    ]
    assert context.check_hostname
    assert not broker_context(tls.model_copy(update={"insecure": True})).check_hostname


def test_a_key_under_a_passphrase_is_refused_without_asking_for_it(tmp_path: Path) -> None:
    """No config key gives a passphrase and the daemon has no terminal: OpenSSL must not ask."""
    files = make_tls_files(tmp_path)
    key = serialization.load_pem_private_key(files.keyfile.read_bytes(), password=None)
    locked = tmp_path / "locked.key"
    locked.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"a passphrase"),
        )
    )
    with pytest.raises(TlsFileError) as raised:
        broker_context(MqttTlsConfig(certfile=files.certfile, keyfile=locked))
    assert raised.value.setting == "certfile"
    assert str(raised.value).startswith(
        f"{files.certfile} and the keyfile {locked} are no certificate and its key"
    )


@pytest.mark.parametrize("connection", ["broker", "homeassistant"])
def test_a_ca_file_with_no_certificate_names_the_ca_file(tmp_path: Path, connection: str) -> None:
    not_a_cert = tmp_path / "ca.pem"
    not_a_cert.write_text("a token pasted by mistake\n")
    with pytest.raises(TlsFileError) as raised:
        if connection == "broker":
            broker_context(MqttTlsConfig(ca_file=not_a_cert))
        else:
            homeassistant_context(HomeAssistantConfig(ca_file=not_a_cert))
    assert raised.value.setting == "ca_file"
    assert str(raised.value).startswith(f"{not_a_cert} holds no PEM certificate (")


def test_a_tls_file_error_is_handled_as_the_os_errors_it_stands_for(tmp_path: Path) -> None:
    """The broker's connect loop retries an OSError; Home Assistant's stops on it."""
    missing = tmp_path / "missing.pem"
    with pytest.raises(OSError, match="cannot be read"):
        broker_context(MqttTlsConfig(ca_file=missing))


def test_home_assistant_reads_no_file_when_certificates_are_not_verified(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "missing.pem"
    assert homeassistant_context(HomeAssistantConfig(ca_file=missing, verify_ssl=False)) is False
    assert homeassistant_context(HomeAssistantConfig()) is True
