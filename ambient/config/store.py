"""Where state that survives a restart lives, and the key that encrypts it."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from ambient.config.base import ConfigModel
from ambient.config.file_mode import loose_mode
from ambient.config.types import Identifier, UserPath
from ambient.config.yaml_source import KeyPath, YamlDocument


class StoreEncryptionConfig(ConfigModel):
    """One source of the SQLCipher key: ``key_file``, ``credential`` or ``key``; a
    ``credential`` may name a ``key_file`` too, read when the systemd credential is not there
    (root running ``ambient export`` outside the service). A key of 64 hex digits is used as
    the raw 256-bit key (fast to open); anything else is a passphrase (SQLCipher derives the
    key)."""

    key_file: UserPath | None = Field(
        default=None, title="File holding the key; must not be readable by group or others"
    )
    credential: Identifier | None = Field(
        default=None,
        title="systemd credential name (LoadCredential= in the unit), read from "
        "$CREDENTIALS_DIRECTORY",
    )
    key: SecretStr | None = Field(default=None, title="The key itself (use !secret)")

    @model_validator(mode="after")
    def _one_source(self) -> StoreEncryptionConfig:
        given = [
            name for name in ("key_file", "credential", "key") if getattr(self, name) is not None
        ]
        if not given or (len(given) > 1 and set(given) != {"credential", "key_file"}):
            raise ValueError(
                "give one of `key_file`, `credential` (optionally with a `key_file` for use "
                "outside systemd) or `key`" + (f" (got {', '.join(given)})" if given else "")
            )
        return self


#: Where the store is when the config does not say: the service's and the Docker image's
#: state folder.
DEFAULT_STORE = Path("/var/lib/ambient/ambient.db")


class StoreConfig(ConfigModel):
    path: UserPath | None = Field(
        default=DEFAULT_STORE,
        title="SQLite file (mode 0600), relative to the config file; null keeps state in "
        "memory only",
    )
    traces_per_rule: int = Field(
        default=100,
        ge=1,
        le=10_000,
        title="Trace records kept per rule: a firing whose run waits writes one per stretch",
    )
    encryption: StoreEncryptionConfig | None = Field(
        default=None,
        title="Encrypt the file with SQLCipher (needs the `crypto` extra); a plain file is "
        "migrated at the first start with a key",
    )


def store_path_for(written: str, config_dir: Path) -> Path:
    """A relative ``store.path`` is in the config file's folder, as a recording's path is: a
    command given the config finds the daemon's store from any folder, and a service (which
    runs in ``/``) keeps it beside its config. Earlier versions read it in the folder ambient
    ran in: a store made there is still used while the config's folder has none, so an
    upgrade leaves nothing learnt behind (``ambient check`` shows which file it is)."""
    path = Path(written).expanduser()
    if path.is_absolute():
        return path
    beside = config_dir.absolute() / path
    earlier = path.absolute()
    try:
        if earlier != beside and earlier.exists() and not beside.exists():
            return earlier
    except OSError:  # a folder this user may not enter: no store of theirs, nor a reason to fail
        pass
    return beside


#: Where the key itself is written in the config.
KEY_PATH: KeyPath = ("store", "encryption", "key")


def key_exposure(config: StoreConfig, document: YamlDocument) -> list[tuple[KeyPath, str]]:
    """A ``key`` read from a file group or others can read: the store refuses such a
    ``key_file``, and the same key in a loose ``secrets.yaml`` or config is no safer."""
    if config.encryption is None or config.encryption.key is None:
        return []
    secrets_file = document.secrets_file if KEY_PATH in document.secret_paths else None
    source = secrets_file or Path(document.file)
    mode = loose_mode(source)
    if mode is None:
        return []
    if secrets_file is not None:
        return [
            (
                KEY_PATH,
                f"the store key is read from {source}, which group or others can read (mode "
                f"{mode:04o}), as they could not a key_file: chmod 600 {source}",
            )
        ]
    return [
        (
            KEY_PATH,
            f"the store key is written in {source}, which group or others can read (mode "
            f"{mode:04o}): use !secret from a secrets.yaml of mode 0600, or key_file",
        )
    ]
