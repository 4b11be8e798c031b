"""The connections' secrets (the HA token, the broker's password) read from a ``secrets.yaml``
other users can read: ``ambient check`` says so, as it does of the store key
(``store.key_exposure``)."""

from __future__ import annotations

import stat

from ambient.config.root import AmbientConfig
from ambient.config.yaml_source import KeyPath, YamlDocument

Finding = tuple[KeyPath, str]


def given_secrets(config: AmbientConfig) -> list[KeyPath]:
    """Where ``config`` holds a connection's secret."""
    paths: list[KeyPath] = []
    if config.homeassistant is not None and config.homeassistant.token is not None:
        paths.append(("homeassistant", "token"))
    if config.mqtt is not None and config.mqtt.password is not None:
        paths.append(("mqtt", "password"))
    return paths


def secret_exposure(config: AmbientConfig, document: YamlDocument) -> list[Finding]:
    """Each secret of ``config`` read (``!secret``) from a file group or others can read."""
    source = document.secrets_file
    paths = [path for path in given_secrets(config) if path in document.secret_paths]
    if source is None or not paths:
        return []
    try:
        mode = stat.S_IMODE(source.stat().st_mode)
    except OSError:
        return []
    if not mode & 0o077:
        return []
    why = f"read from {source}, which group or others can read (mode {mode:04o})"
    return [(path, f"{why}: chmod 600 {source}") for path in paths]
