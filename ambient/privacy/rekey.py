"""``ambient store rekey``: encrypt the store with a new key, for a key that leaked or is
rotated. The key source the config names is left to the user to update: the command cannot
know every place the old key is kept (a systemd credential, an add-on option, a backup)."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from ambient.config.root import AmbientConfig
from ambient.store import StoreError, existing_store_path, file_problem
from ambient.store_crypto import file_is_plain, read_key, read_key_file, rekey


def run_rekey(config: AmbientConfig, new_key_file: Path, stdout: TextIO) -> int:
    """0 rekeyed; a ``StoreError`` (main's one line, exit 1) when it cannot be."""
    encryption = config.store.encryption
    if encryption is None:
        raise StoreError(
            "rekey changes the key of an encrypted store, and this config has no "
            "store.encryption: set one (docs/privacy.md) and start ambient to encrypt it first"
        )
    path = existing_store_path(config.store, "there is nothing to rekey")
    from ambient.daemon_stop import refusal

    refused = refusal(path, "go on with the old key", "rekey")
    if refused is not None:
        raise StoreError(refused)
    if file_is_plain(path):
        raise StoreError(
            f"store {path} is not encrypted yet: start ambient with the key to encrypt it"
        )
    new = read_key_file(new_key_file)
    old = read_key(encryption)
    try:
        rekey(path, old, new)
    except Exception as exc:  # SQLCipher's errors, which are not sqlite3's
        if (problem := file_problem(exc, path)) is None:
            raise  # a bug: its traceback is what a report needs
        # SQLCipher rewrites every page in one transaction: one that failed changed nothing.
        raise StoreError(
            f"store {path} {problem}: nothing changed, the old key still opens it"
        ) from None
    how = (
        "your secrets.yaml, or the add-on's Store encryption key option"
        if encryption.key is not None
        else f"e.g. install -m 600 {new_key_file} {old.source}"
    )
    stdout.write(
        f"{path} is now encrypted with the key in {new_key_file}; the key in {old.source} no "
        f"longer opens it: put the new key there before ambient starts again ({how})\n"
    )
    return 0
