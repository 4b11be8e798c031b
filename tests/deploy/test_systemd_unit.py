"""deploy/systemd/ambient.service: a notify service with a watchdog, sandboxed by systemd.

``systemd-analyze security --offline=true`` scores the shipped file itself (systemd 250+).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.ambient_process import run_ambient

from ambient.privacy.store_status import UNIT_KEY_FILE

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "deploy" / "systemd" / "ambient.service"
MAX_EXPOSURE = 2.0


def analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    version = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True)
    major = int(version.stdout.split()[1])
    if major < 250:
        pytest.skip(f"systemd {major} has no --offline (needs 250+)")
    return tool


def directives(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_overall_exposure_is_at_most_2() -> None:
    result = subprocess.run(
        [analyze(), "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Overall exposure level for ambient\.service: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout


def test_analyze_verify_finds_no_errors(tmp_path: Path) -> None:
    """The unit parses cleanly; the executable path is pointed at one that exists here."""
    tool = analyze()
    unit = tmp_path / "ambient.service"
    unit.write_text(UNIT.read_text().replace("/opt/ambient/bin/ambient", sys.executable))
    result = subprocess.run(
        [tool, "verify", "--man=no", str(unit)], capture_output=True, text=True, check=False
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "bluetooth.service" not in line  # not installed on this machine
    ]
    assert problems == []


def test_notify_watchdog_and_restart() -> None:
    unit = directives(UNIT.read_text())

    assert unit["Type"] == ["notify"]
    assert unit["NotifyAccess"] == ["main"]
    assert unit["WatchdogSec"] == ["30s"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert unit["ExecStart"] == ["/opt/ambient/bin/ambient run --config /etc/ambient/ambient.yaml"]


def test_the_check_before_each_start_says_only_what_is_wrong() -> None:
    """Its output goes to the journal at every start: the unit's own command line, run on a
    valid config, prints nothing."""
    (pre,) = directives(UNIT.read_text())["ExecStartPre"]
    program, *args = pre.split()
    assert program == "/opt/ambient/bin/ambient" and args[:2] == ["check", "--quiet"]
    config = str(REPO / "config" / "demo.yaml")
    result = run_ambient(*(config if arg == "/etc/ambient/ambient.yaml" else arg for arg in args))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_key_file_check_advises_on_is_the_one_the_unit_hands_over() -> None:
    assert f"store_key:{UNIT_KEY_FILE}" in directives(UNIT.read_text())["LoadCredential"]


def test_starts_after_the_clock_is_set() -> None:
    """A Pi has no RTC: started before NTP, wall-time deadlines and MQTT timestamps are wrong."""
    unit = directives(UNIT.read_text())

    assert "time-sync.target" in " ".join(unit["After"]).split()
    assert "time-sync.target" in " ".join(unit["Wants"]).split()


def test_does_not_pull_in_the_wait_for_ntp_itself() -> None:
    """systemd-time-wait-sync makes time-sync.target wait for NTP; offline it waits forever, so
    enabling it is the owner's choice (docs/raspberry-pi.md), not something the unit does."""
    unit = directives(UNIT.read_text())
    pulled = " ".join(unit.get("Wants", []) + unit.get("Requires", []) + unit.get("Requisite", []))
    assert "systemd-time-wait-sync.service" not in pulled.split()


def test_sandbox_settings_the_issue_asks_for() -> None:
    unit = directives(UNIT.read_text())

    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ReadWritePaths": "/var/lib/ambient",
        "CapabilityBoundingSet": "",
        "UMask": "0077",
        "User": "ambient",
        "SupplementaryGroups": "bluetooth",
    }.items():
        assert unit[key] == [value], key
    assert unit["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"]
    assert "@system-service" in unit["SystemCallFilter"]


def test_a_crash_leaves_no_core_dump() -> None:
    """A core dump holds the daemon's memory: the HA token, the broker's password, the store's
    key and the last beats, kept on disk by systemd-coredump where the store's encryption
    does not reach."""
    assert directives(UNIT.read_text())["LimitCORE"] == ["0"]


def test_the_daemon_may_read_the_clocks_ntp_state_but_not_set_the_clock() -> None:
    """A Pi has no real-time clock: the daemon says when NTP has not set it yet, reading the
    kernel's state with adjtimex (modes 0: read only, allowed without CAP_SYS_TIME; setting
    the clock with it or clock_adjtime needs that capability, which the unit never has).
    ProtectClock=yes refuses adjtimex whatever its modes (EPERM), as does an allow list
    without it, so under the service the warning and the status' clock line never came.
    The filter lines apply in order: a `~` line after the allow list takes out again what it
    allowed, and `~@privileged` holds @clock, adjtimex with it; so systemd's own reading of
    the file says what is allowed, not the lines as written."""
    unit = directives(UNIT.read_text())
    filters = unit["SystemCallFilter"]
    allowed = [line.split() for line in filters if line[0] != "~"]
    # glibc's adjtimex() makes the clock_adjtime call (clock_adjtime64 on 32-bit arm), as the
    # daemon's read does on a Pi: each is allowed after the last `~` line.
    last_denial = max(i for i, line in enumerate(filters) if line[0] == "~")
    allowed_last = {call for line in filters[last_denial + 1 :] for call in line.split()}
    assert {"adjtimex", "clock_adjtime", "clock_adjtime64"} <= allowed_last
    # Setting the clock stays refused: no capability for it, no call that sets it allowed.
    assert unit.get("ProtectClock", ["no"]) == ["no"]
    assert unit["CapabilityBoundingSet"] == [""]
    assert not any(
        call in words
        for words in allowed
        for call in ("@clock", "clock_settime", "clock_settime64", "settimeofday", "stime")
    )

    result = subprocess.run(
        [analyze(), "security", "--offline=true", "--no-pager", str(UNIT)],
        capture_output=True,
        text=True,
        check=False,
    )
    verdicts = {
        words[1]: line
        for line in result.stdout.splitlines()
        if len(words := line.split()) > 1 and words[0] in ("✓", "✗")
    }
    assert "adjtimex is allowed" in verdicts["SystemCallFilter=~@clock"], result.stdout
    assert verdicts["CapabilityBoundingSet=~CAP_SYS_TIME"].startswith("✓"), result.stdout
