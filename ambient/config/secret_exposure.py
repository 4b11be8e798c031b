"""The connections' secrets (the HA token, the broker's password) read from a ``secrets.yaml``
other users can read: ``ambient check`` says so, as it does of the store key
(``store.key_exposure``)."""

from __future__ import annotations

from pydantic import SecretStr

from ambient.config.file_mode import loose_mode
from ambient.config.root import AmbientConfig
from ambient.config.yaml_source import KeyPath, YamlDocument

Finding = tuple[KeyPath, str]


#: The values of the shipped secrets files (config/secrets.yaml, which git keeps 0644, and
#: deploy/config/secrets.example.yaml) until the user puts theirs in: nothing to keep from
#: others, so a newcomer's first ``ambient check`` of the example config warns of nothing.
PLACEHOLDERS = frozenset({"paste-your-long-lived-access-token-here", "change-me"})


def given_secrets(config: AmbientConfig) -> list[KeyPath]:
    """Where ``config`` holds a connection's secret (a shipped placeholder is none)."""
    token = config.homeassistant.token if config.homeassistant is not None else None
    password = config.mqtt.password if config.mqtt is not None else None
    given: dict[KeyPath, SecretStr | None] = {
        ("homeassistant", "token"): token,
        ("mqtt", "password"): password,
    }
    return [
        path
        for path, secret in given.items()
        if secret is not None and secret.get_secret_value() not in PLACEHOLDERS
    ]


def secret_exposure(config: AmbientConfig, document: YamlDocument) -> list[Finding]:
    """Each secret of ``config`` read (``!secret``) from a file group or others can read."""
    source = document.secrets_file
    paths = [path for path in given_secrets(config) if path in document.secret_paths]
    if source is None or not paths:
        return []
    mode = loose_mode(source)
    if mode is None:
        return []
    why = f"read from {source}, which group or others can read (mode {mode:04o})"
    return [(path, f"{why}: chmod 600 {source}") for path in paths]
