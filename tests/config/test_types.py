"""Field types shared by the config models: a path starting with ``~`` is in the user's home."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.mosquitto import make_tls_files

from ambient.config import load_config
from ambient.config.sensors import RecordingSensorConfig


def test_a_path_with_a_tilde_is_in_the_users_home_not_a_folder_named_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`store: {path: ~/ambient/state.db}` made a folder named `~` where ambient ran; a
    recording `~/…` was looked for beside the config."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    (home / "session.csv").write_text("t,metric,value\n0,hr,60\n")
    ca_pem = make_tls_files(tmp_path).ca_file.read_bytes()
    for certificate in ("ca.pem", "ha-ca.pem"):  # loaded, as any file named is checked
        (home / certificate).write_bytes(ca_pem)
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    config_file = config_dir / "ambient.yaml"
    config_file.write_text(
        "people: [{id: alex}]\n"
        "sensors: [{type: recording, path: ~/session.csv, person: alex}]\n"
        "mqtt: {host: localhost, tls: {ca_file: ~/ca.pem}}\n"
        "homeassistant: {token: t, ca_file: ~/ha-ca.pem}\n"
        "store: {path: ~/ambient/state.db}\n"
    )
    config = load_config(config_file)
    recording = config.sensors[0]
    assert isinstance(recording, RecordingSensorConfig)
    assert recording.path == home / "session.csv"
    assert config.store.path == home / "ambient" / "state.db"
    assert config.mqtt is not None and config.mqtt.tls is not None
    assert config.mqtt.tls.ca_file == home / "ca.pem"
    assert config.homeassistant is not None and config.homeassistant.ca_file == home / "ha-ca.pem"


def test_every_file_and_folder_the_config_names_takes_a_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's key file, the weekly report's folder and the recordings' folder too."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    config_file = tmp_path / "ambient.yaml"
    config_file.write_text(
        "people: [{id: alex}]\n"
        "store: {path: ~/state.db, encryption: {key_file: ~/store.key}}\n"
        "insights: {report: {folder: ~/www/ambient}}\n"
        "retention: {recordings_dir: ~/recordings}\n"
    )
    config = load_config(config_file)
    assert config.store.encryption is not None
    assert config.store.encryption.key_file == home / "store.key"
    assert config.insights.report is not None
    assert config.insights.report.folder == home / "www" / "ambient"
    assert config.retention.recordings_dir == home / "recordings"
