"""``ambient status --config FILE`` notes on stderr what the running daemon runs that the file
does not say (the file edited since the daemon read it). Asked with the very file the daemon
runs, it says nothing: the document compared is the daemon's own, built from that file as the
daemon builds it (its wiring, nothing started: no strap is scanned for, no broker reached)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ambient.clock import VirtualClock
from ambient.commands.live import config_differs_note
from ambient.config import AmbientConfig, load_config
from ambient.daemon import Daemon, DaemonOptions

CONFIG = """\
people:
  - id: alex
sensors:
  # As `ambient scan` prints a strap's line: a name and an address, no id.
  - type: ble
    address: "A0:9E:1A:8C:4A:2B"
    name: "Polar H10 8C4A2B1D"
    person: alex
  - type: recording
    path: session.csv
    person: alex
rules:
  - id: calm_alex
    person: alex
    triggers: [{trigger: signal, signal: stress_score, above: 70}]
    actions: [{action: log, message: stressed}]
store:
  path: null
"""


def configured(tmp_path: Path) -> tuple[AmbientConfig, Path]:
    (tmp_path / "session.csv").write_text("t,metric,value\n0,hr,61\n")
    path = tmp_path / "ambient.yaml"
    path.write_text(CONFIG)
    return load_config(path), path


def daemon_of(config: AmbientConfig) -> Daemon:
    options = DaemonOptions(store_in_memory=True, services=False)
    return Daemon(config, VirtualClock(1_800_000_000.0), options)


def running_document(config: AmbientConfig) -> dict[str, Any]:
    """The status document of a daemon running ``config`` (wired as it wires it)."""
    daemon = daemon_of(config)
    wiring = daemon._wire(config)
    try:
        return daemon._status_document(config, wiring)
    finally:
        wiring.store.close()


def test_the_file_the_daemon_runs_is_no_other_version_with_a_strap_named_as_scan_prints_it(
    tmp_path: Path,
) -> None:
    """A strap without an id is named by the daemon after its device (`Polar H10 8C4A2B1D`):
    the note took the file's name for it to be `ble0`, and said on every status that the
    daemon ran another version of the file (`sensors only in the file: ble0; only in the
    daemon: Polar H10 8C4A2B1D`), though it was the same."""
    config, path = configured(tmp_path)
    document = running_document(config)
    assert [sensor["name"] for sensor in document["sensors"]] == [
        "Polar H10 8C4A2B1D",
        "recording1",
    ]
    assert config_differs_note(config, path, document) == []


def test_a_daemon_still_starting_is_no_other_version_of_the_file(tmp_path: Path) -> None:
    """A daemon answers `starting` (no rules, no sensors yet) until its config is wired: the
    note said every rule and sensor of the file was missing from it, and to reload it."""
    config, path = configured(tmp_path)
    document = daemon_of(config).status()
    assert document.get("starting") is True
    assert config_differs_note(config, path, document) == []


def test_a_rule_renamed_in_the_file_is_named_on_both_sides(tmp_path: Path) -> None:
    config, path = configured(tmp_path)
    document = running_document(config)
    path.write_text(CONFIG.replace("id: calm_alex", "id: calm_evening"))
    edited = load_config(path)
    assert config_differs_note(edited, path, document) == [
        f"note: the daemon runs another version of {path} (rules only in the file: "
        "calm_evening; only in the daemon: calm_alex): reload it to apply the file "
        f"(`systemctl reload ambient`; for a daemon started by hand, `kill -HUP {os.getpid()}`)"
    ]


def test_a_daemon_of_an_earlier_version_that_gives_no_pid_is_told_to_be_reloaded_all_the_same(
    tmp_path: Path,
) -> None:
    config, path = configured(tmp_path)
    document = running_document(config)
    del document["pid"]
    path.write_text(CONFIG.replace("id: calm_alex", "id: calm_evening"))
    [note] = config_differs_note(load_config(path), path, document)
    assert note.endswith("for a daemon started by hand, kill -HUP its pid)")
