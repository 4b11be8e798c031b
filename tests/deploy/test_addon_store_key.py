"""The add-on's `store_encryption_key` option encrypts the store: the key reaches the config
through the private secrets file, never the config text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ambient.addon import STORE_KEY_SECRET, AddonError, prepare
from ambient.config import load_config

KEY = "9e" * 32


def prepared(tmp_path: Path, options: dict[str, object], user: str = "people: []\n") -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "ambient.yaml").write_text(user)
    (tmp_path / "options.json").write_text(json.dumps(options))
    return prepare(
        tmp_path / "options.json", tmp_path / "config", tmp_path / "data", "http://unused", None
    )


def test_the_option_becomes_the_stores_key_through_the_secrets_file(tmp_path: Path) -> None:
    out = prepared(tmp_path, {"store_encryption_key": KEY})
    config = load_config(out)
    assert config.store.encryption is not None
    assert config.store.encryption.key is not None
    assert config.store.encryption.key.get_secret_value() == KEY
    assert KEY not in out.read_text()
    secrets = yaml.safe_load((tmp_path / "data" / "secrets.yaml").read_text())
    assert secrets[STORE_KEY_SECRET] == KEY


def test_without_the_option_the_store_is_not_encrypted(tmp_path: Path) -> None:
    config = load_config(prepared(tmp_path, {}))
    assert config.store.encryption is None


def test_encryption_the_user_wrote_wins(tmp_path: Path) -> None:
    user = "store:\n  encryption:\n    key_file: /config/store.key\n"
    config = load_config(prepared(tmp_path, {"store_encryption_key": KEY}, user))
    assert config.store.encryption is not None
    assert config.store.encryption.key_file == Path("/config/store.key")
    assert config.store.encryption.key is None


def test_the_key_s_secret_name_is_refused_in_the_users_secrets_and_documented(
    tmp_path: Path,
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "ambient.yaml").write_text("people: []\n")
    (tmp_path / "config" / "secrets.yaml").write_text(f"{STORE_KEY_SECRET}: mine\n")
    (tmp_path / "options.json").write_text(json.dumps({"store_encryption_key": KEY}))

    with pytest.raises(AddonError, match=f"reserved by the add-on: {STORE_KEY_SECRET}"):
        prepare(tmp_path / "options.json", tmp_path / "config", tmp_path / "data", "http://x", None)
    docs = (Path(__file__).resolve().parents[2] / "deploy/homeassistant-addon/DOCS.md").read_text()
    assert f"`{STORE_KEY_SECRET}`" in docs.replace("\n", " ")
