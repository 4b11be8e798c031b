"""The SSL contexts ``run`` connects with, built from the config's TLS settings in one place.

The broker's and Home Assistant's connections use them at every connect, and ``check`` builds
them too: a file that would fail every connect is found by the same code, before ``run``.
Importing this loads ``ssl`` (and libcrypto): ``check`` does so only for a config with TLS.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from ambient.config.homeassistant import HomeAssistantConfig
from ambient.config.mqtt import MqttTlsConfig


class TlsFileError(OSError):
    """A TLS file of the config that cannot be loaded, said in one line; ``setting`` is its
    key (``ca_file``, or ``certfile`` for a certificate and key that fail together). An
    ``OSError``, as the ssl and file errors it stands for are, so the connections handle it
    as they handled those: the broker retried, Home Assistant stopping ``run``."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


def broker_context(tls: MqttTlsConfig) -> ssl.SSLContext:
    """The context for the MQTT broker: its CA (the system's when none is given), the
    client's certificate and key when given, no hostname check when ``insecure``."""
    context = _trusting(tls.ca_file)
    if tls.certfile is not None and tls.keyfile is not None:
        _load_client_pair(context, tls.certfile, tls.keyfile)
    if tls.insecure:
        context.check_hostname = False
    return context


def homeassistant_context(config: HomeAssistantConfig) -> ssl.SSLContext | bool:
    """What aiohttp is given for Home Assistant: ``False`` (``verify_ssl: false``, no file
    read), ``True`` (the system's CAs) or a context trusting ``ca_file``."""
    if not config.verify_ssl:
        return False
    if config.ca_file is None:
        return True
    return _trusting(config.ca_file)


def _trusting(ca_file: Path | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)
    except ssl.SSLError as exc:
        why = exc.reason or exc.strerror or exc
        raise TlsFileError("ca_file", f"{ca_file} holds no PEM certificate ({why})") from exc
    except (OSError, ValueError) as exc:
        raise TlsFileError("ca_file", f"{ca_file} cannot be read ({exc})") from exc


def _load_client_pair(context: ssl.SSLContext, certfile: Path, keyfile: Path) -> None:
    """Refuses a key under a passphrase: no config key gives one, and the daemon has no
    terminal to ask on (the callback stops OpenSSL from asking on one, blocking the loop)."""
    try:
        context.load_cert_chain(str(certfile), str(keyfile), password=_no_passphrase)
    except (ssl.SSLError, ValueError, OSError) as exc:
        why = exc.reason if isinstance(exc, ssl.SSLError) and exc.reason else str(exc)
        raise TlsFileError(
            "certfile",
            f"{certfile} and the keyfile {keyfile} are no certificate and its key ({why})",
        ) from exc


def _no_passphrase() -> bytes:
    raise ValueError("a key under a passphrase")
