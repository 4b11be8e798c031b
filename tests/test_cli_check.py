"""`ambient check`: the shipped configs are valid; a broken one lists every problem, exit 1."""

from __future__ import annotations

import contextlib
import gzip
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.ambient_process import clean_env, run_ambient
from fixtures.mosquitto import make_tls_files

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["ambient.example.yaml", "demo.yaml"])
def test_shipped_configs_are_accepted(name: str) -> None:
    result = run_ambient("check", "--config", str(ROOT / "config" / name))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    assert "alex" in result.stdout


def test_example_shows_people_sensors_and_rules() -> None:
    result = run_ambient("check", "--config", str(ROOT / "config" / "ambient.example.yaml"))
    assert "Rules (3):" in result.stdout
    assert "alex_h10  (ble) for alex" in result.stdout
    assert "Connections: homeassistant, mqtt" in result.stdout
    assert "paste-your" not in result.stdout + result.stderr  # secrets never printed


def test_broken_config_exits_1_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("peple: []\nlogging:\n  level: LOUD\n")
    result = run_ambient("check", "--config", str(path))
    assert result.returncode == 1
    assert "2 problems:" in result.stderr
    assert f"{path}:1:1: peple: unknown key `peple`; did you mean `people`?" in result.stderr
    assert f"{path}:3:3: logging.level:" in result.stderr


def test_version() -> None:
    from ambient import __version__

    result = run_ambient("--version")
    assert result.stdout.strip() == f"ambient {__version__}"


def check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "ambient.yaml"
    path.write_text(text, encoding="utf-8")
    return run_ambient("check", "--config", str(path))


def test_a_misspelt_time_zone_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    result = check(tmp_path, "instance: home\ntimezone: Europe/Berln\n")
    assert result.returncode == 1
    assert ":2:1: timezone: unknown time zone `Europe/Berln`; did you mean `Europe/Berlin`?" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("where", "topic", "words"),
    [
        ("sensor", "test/#/heart", "`#` must be a whole level and the last one"),
        ("sensor", "test/h+/x", "`+` must be a whole level"),
        ("trigger", "home/#/x", "`#` must be a whole level and the last one"),
        ("base_topic", "ambient/+", "`+` and `#` are wildcards"),
        ("publish", "lights/#", "`+` and `#` are wildcards"),
    ],
)
def test_an_mqtt_topic_a_broker_would_refuse_is_a_config_problem(
    tmp_path: Path, where: str, topic: str, words: str
) -> None:
    text = {
        "sensor": f"mqtt: {{}}\nsensors:\n  - {{type: mqtt, topic: '{topic}', metric: hr}}\n",
        "trigger": "mqtt: {}\nrules:\n  - id: r\n    triggers:\n"
        f"      - {{trigger: mqtt, topic: '{topic}'}}\n    actions: [{{action: log}}]\n",
        "base_topic": f"mqtt: {{base_topic: '{topic}'}}\n",
        "publish": "mqtt: {}\nrules:\n  - id: r\n    triggers:\n"
        "      - {trigger: mqtt, topic: a/b}\n"
        f"    actions: [{{action: mqtt.publish, topic: '{topic}'}}]\n",
    }[where]
    result = check(tmp_path, text)
    assert result.returncode == 1, result.stdout
    assert words in result.stderr
    assert "Traceback" not in result.stderr


RULE_WITH_ACTION = """\
people:
  - id: alex
mqtt: {{}}
homeassistant:
  url: http://ha.local:8123
  token: abc
rules:
  - id: calm
    triggers:
      - trigger: signal
        signal: hr
        above: 100
    actions:
      - {action}
"""


@pytest.mark.parametrize(
    ("action", "key"),
    [
        ('{action: log, message: "hr is {hrr}"}', "message"),
        ('{action: logbook, message: "{hrr}"}', "message"),
        ('{action: notify, service: notify.phone, message: "ok", title: "{hrr}"}', "title"),
        ('{action: light.turn_on, data: {effect: "{hrr}"}}', "data.effect"),
        ('{action: mqtt.publish, topic: "a/{person}", payload: \'{"hr": {hrr}}\'}', "payload"),
    ],
)
def test_an_unknown_placeholder_is_refused_with_the_ones_there_are(
    tmp_path: Path, action: str, key: str
) -> None:
    result = check(tmp_path, RULE_WITH_ACTION.format(action=action))
    assert result.returncode == 1, result.stdout
    assert ".yaml:14:" in result.stderr
    assert f"rules[0].actions[0].{key}: unknown placeholder `{{hrr}}`" in result.stderr
    assert "(did you mean `{hr}`?)" in result.stderr
    assert "placeholders here are: {rule}, {person}, {event}" in result.stderr


def test_placeholders_an_action_fills_in_are_accepted(tmp_path: Path) -> None:
    action = (
        '{action: log, message: "{person} at {hr} ({rule} {event}), {{literal}}"}\n'
        "      - {action: mqtt.publish, topic: 'home/{person}/{rule}',"
        ' payload: \'{"hr": {hr}, "at": {time}, "all": {signals}, "ep": "{episode}"}\'}'
    )
    result = check(tmp_path, RULE_WITH_ACTION.format(action=action))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ("hr {hr:.0f}", "no number formats"),
        ("a } alone", "Single '}'"),
        ("{}", "needs a name"),
    ],
)
def test_a_message_that_cannot_be_formatted_is_refused(
    tmp_path: Path, message: str, words: str
) -> None:
    action = f'{{action: log, message: "{message}"}}'
    result = check(tmp_path, RULE_WITH_ACTION.format(action=action))
    assert result.returncode == 1, result.stdout
    assert words in result.stderr


def test_a_recording_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    result = check(
        tmp_path,
        "people: [{id: alex}]\nsensors:\n  - {type: recording, path: gone.csv, person: alex}\n",
    )
    assert result.returncode == 1
    assert f"sensors[0].path: recording {tmp_path / 'gone.csv'} does not exist" in result.stderr


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "is not a text recording (byte 0 is not UTF-8)"),
        (b"# only a comment\n", "is empty: a CSV recording starts with the header"),
        (b"time,bpm\n0,61\n", "does not start with the header `t,metric,value[,person]`"),
    ],
    ids=["binary", "empty", "no-header"],
)
def test_a_file_that_cannot_play_as_a_recording_is_refused(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    """`run` would fail to start the sensor every 5 s with a traceback."""
    (tmp_path / "session.csv").write_bytes(content)
    result = check(
        tmp_path,
        "people: [{id: alex}]\nsensors:\n  - {type: recording, path: session.csv, person: alex}\n",
    )
    assert result.returncode == 1
    assert f"sensors[0].path: recording {tmp_path / 'session.csv'} {problem}" in result.stderr


@pytest.mark.parametrize(
    ("name", "packed", "hint"),
    [
        (
            "day.csv.gz",
            gzip.compress(b"t,metric,value\n0,hr,61\n"),
            "gzip-compressed: unpack it (gunzip {path}) and set sensors[1].path to the "
            "unpacked file",
        ),
        (  # gunzip refuses a name without .gz ("unknown suffix -- ignored")
            "day.csv",
            gzip.compress(b"t,metric,value\n0,hr,61\n"),
            "gzip-compressed: unpack it (zcat {path} > {folder}/day.unpacked.csv) and set "
            "sensors[1].path to the unpacked file",
        ),
        (
            "day.xlsx",
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xf1",
            "a zip archive (a spreadsheet's .xlsx?): save it as CSV and set sensors[1].path to it",
        ),
    ],
    ids=["gzip", "gzip_named_csv", "zip"],
)
def test_a_packed_recording_in_the_config_says_to_unpack_it_naming_the_key(
    tmp_path: Path, name: str, packed: bytes, hint: str
) -> None:
    """`-r day.csv.gz` said to unpack it; the same file in a recording sensor was "not a text
    recording" alone."""
    (tmp_path / "session.csv").write_bytes(b"t,metric,value\n0,hr,61\n")
    (tmp_path / name).write_bytes(packed)
    result = check(
        tmp_path,
        "people: [{id: alex}]\nsensors:\n"
        "  - {type: recording, path: session.csv, person: alex}\n"
        f"  - {{type: recording, path: {name}, person: alex}}\n",
    )
    assert result.returncode == 1
    path = tmp_path / name
    problems = [line for line in result.stderr.splitlines() if "sensors[" in line]
    assert len(problems) == 1, result.stderr
    assert problems[0].endswith(": " + hint.format(path=path, folder=tmp_path)), problems[0]
    assert f"sensors[1].path: recording {path} is not a text recording" in problems[0]


def test_a_recording_with_quoted_header_and_bad_rows_is_accepted(tmp_path: Path) -> None:
    """Bad rows are skipped (and said) when it plays: only what stops it playing is refused.
    A byte order mark (a spreadsheet's "CSV UTF-8") is read past, as when it plays."""
    (tmp_path / "session.csv").write_bytes(b'\xef\xbb\xbf"t","metric","value"\n0,hr,-5\n1,hr,61\n')
    result = check(
        tmp_path,
        "people: [{id: alex}]\nsensors:\n  - {type: recording, path: session.csv, person: alex}\n",
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "content",
    [b"t,metric,value\n", b"t,metric,value\n0,hr,abc\n1,hr,-5\n", b""],
    ids=["header-only", "every-row-skipped", "empty-json-lines"],
)
def test_a_recording_with_no_reading_to_play_is_refused(tmp_path: Path, content: bytes) -> None:
    """`run` said only "has no readings" and ended at once (exit 0), having played nothing."""
    name = "session.jsonl" if not content else "session.csv"
    (tmp_path / name).write_bytes(content)
    result = check(tmp_path, RECORDING_CONFIG.replace("session.csv", name))
    assert result.returncode == 1
    assert f"sensors[0].path: recording {tmp_path / name} has no readings" in result.stderr


RECORDING_CONFIG = (
    "people: [{id: alex}]\nsensors:\n  - {type: recording, path: session.csv, person: alex}\n"
)
#: Rows enough to fill well past the first 64 KiB, the most `check` used to read.
ROWS_BEFORE_THE_FAULT = 5000


def rows(times_s: list[float]) -> bytes:
    return b"".join(f"{time_s:.3f},rr,800,alex\n".encode() for time_s in times_s)


def good_rows(count: int, start_s: float = 1_793_577_600.0) -> bytes:
    """``count`` beats, 0.8 s apart, in time order, from ``start_s`` (unix seconds)."""
    return rows([start_s + 0.8 * n for n in range(count)])


def test_a_byte_that_is_not_utf8_deep_in_a_recording_is_refused_as_run_would(
    tmp_path: Path,
) -> None:
    """The whole file is read, as `run` reads it: the line is `run`'s own (file:line, byte)."""
    head = b"t,metric,value,person\n" + good_rows(ROWS_BEFORE_THE_FAULT)
    assert len(head) > 65_536
    bad = b"1793590000.000,rr,8\xff0,alex\n"
    (tmp_path / "session.csv").write_bytes(head + bad + good_rows(10, 1_793_590_001.0))
    result = check(tmp_path, RECORDING_CONFIG)
    assert result.returncode == 1
    line, byte = ROWS_BEFORE_THE_FAULT + 2, len(head) + bad.index(b"\xff")
    recording = tmp_path / "session.csv"
    assert result.stderr.splitlines() == [
        f"{tmp_path / 'ambient.yaml'}: 1 problem:",
        f"  {tmp_path / 'ambient.yaml'}:3:23: sensors[0].path: "
        f"{recording}:{line}: not a text recording (byte {byte} is not UTF-8)",
    ]
    assert result.stdout == ""


def test_a_recording_that_changes_its_kind_of_time_deep_in_is_refused(tmp_path: Path) -> None:
    head = b"t,metric,value,person\n" + good_rows(ROWS_BEFORE_THE_FAULT)
    (tmp_path / "session.csv").write_bytes(head + rows([5.0]))
    result = check(tmp_path, RECORDING_CONFIG)
    assert result.returncode == 1
    line = ROWS_BEFORE_THE_FAULT + 2
    assert (
        f"sensors[0].path: {tmp_path / 'session.csv'}: mixes relative and absolute times "
        f"(line 2 is absolute, line {line} relative)"
    ) in result.stderr


def test_a_recording_out_of_time_order_is_read_to_its_end_too(tmp_path: Path) -> None:
    """`run` reads such a file whole and sorts it: a fault after the disorder is found."""
    early_first = good_rows(10, 1_793_590_000.0) + good_rows(ROWS_BEFORE_THE_FAULT)
    (tmp_path / "session.csv").write_bytes(b"t,metric,value,person\n" + early_first + rows([5.0]))
    result = check(tmp_path, RECORDING_CONFIG)
    assert result.returncode == 1
    assert "mixes relative and absolute times (line 2 is absolute" in result.stderr


@pytest.mark.parametrize("in_time_order", [True, False], ids=["in-order", "out-of-order"])
def test_a_long_recording_with_a_bad_row_deep_in_is_accepted_and_the_row_logged(
    tmp_path: Path, in_time_order: bool
) -> None:
    """Bad rows are skipped when it plays, wherever they are: not a problem; `check` logs
    them as `run` will. A file out of time order (read whole, as `run` reads it) alike."""
    first = good_rows(1) if in_time_order else good_rows(1, 1_793_590_000.0)
    body = first + good_rows(ROWS_BEFORE_THE_FAULT, 1_793_577_601.0)
    (tmp_path / "session.csv").write_bytes(
        b"t,metric,value,person\n" + body + b"1793590001.0,rr,-5,alex\n"
    )
    result = check(tmp_path, RECORDING_CONFIG)
    assert result.returncode == 0, result.stderr
    [logged] = result.stderr.splitlines()
    line = ROWS_BEFORE_THE_FAULT + 3
    assert (
        f" WARNING ambient.recordings: Skipped a recording row: {tmp_path / 'session.csv'}:"
        f"{line}: rr outside "
    ) in logged
    assert "recording0  (recording) for alex" in result.stdout


METRIC_CONFIG = """\
people: [{{id: alex}}]
mqtt: {{}}
sensors:
  - {{type: mqtt, topic: watch/alex, metric: {metric}, person: alex}}
rules:
  - id: r
    triggers: [{{trigger: signal, signal: {signal}, above: 100}}]
    actions: [{{action: log}}]
"""


def test_a_metric_no_rule_reads_is_a_warning_with_a_suggestion(tmp_path: Path) -> None:
    """`heartrate` becomes a signal of its own: the `hr` rule would never see these readings."""
    result = check(tmp_path, METRIC_CONFIG.format(metric="heartrate", signal="hr"))
    assert result.returncode == 0, result.stderr
    assert (
        ":4:37: sensors[0].metric: no rule reads metric `heartrate` and ambient computes no "
        "signals from it (built-in metrics: activity, contact, hr, rr, steps); did you mean `hr`?"
    ) in result.stdout
    assert result.stdout.count("Warning:") == 1


def test_quiet_says_nothing_of_a_valid_config() -> None:
    """The service's check before each start put its dozen lines into the journal each time:
    with ``--quiet`` a valid config is the exit code alone."""
    result = run_ambient("check", "--quiet", "--config", str(ROOT / "config" / "demo.yaml"))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_quiet_still_says_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_text(METRIC_CONFIG.format(metric="heartrate", signal="hr"), encoding="utf-8")
    warned = run_ambient("check", "--quiet", "--config", str(path))
    assert warned.returncode == 0, warned.stderr
    [line] = warned.stdout.splitlines()
    assert line.startswith("Warning: ") and "no rule reads metric `heartrate`" in line
    path.write_text("peple: []\n", encoding="utf-8")
    broken = run_ambient("check", "--quiet", "--config", str(path))
    assert broken.returncode == 1 and broken.stdout == ""
    assert "peple" in broken.stderr


@pytest.mark.parametrize(("metric", "signal"), [("hr", "hr"), ("spo2", "spo2")])
def test_a_metric_a_rule_reads_gives_no_warning(tmp_path: Path, metric: str, signal: str) -> None:
    result = check(tmp_path, METRIC_CONFIG.format(metric=metric, signal=signal))
    assert result.returncode == 0, result.stderr
    assert "Warning:" not in result.stdout


SCORE_RULE = """\
people: [{{id: alex}}]
rules:
  - id: r
    triggers: [{{trigger: signal, signal: stress_score, above: {above}}}]
    conditions:
      - condition: not
        conditions: [{{condition: signal, signal: stress_score, below: {below}}}]
    actions: [{{action: log}}]
"""


def test_a_stress_score_compared_with_a_fraction_is_a_warning(tmp_path: Path) -> None:
    """The score runs 0–100: `above: 0.7` loads, then fires at almost any score."""
    result = check(tmp_path, SCORE_RULE.format(above=0.7, below=0.5))
    assert result.returncode == 0, result.stderr
    assert (
        ":4:56: rules[0].triggers[0].above: `stress_score` runs 0–100, so `above: 0.7` is met "
        "at almost any score; did you mean 70?"
    ) in result.stdout
    assert "rules[0].conditions[0].conditions[0].below: `stress_score` runs 0–100, so " in (
        result.stdout
    )
    assert result.stdout.count("Warning:") == 2


def test_a_stress_score_threshold_it_can_never_cross_is_a_warning(tmp_path: Path) -> None:
    result = check(tmp_path, SCORE_RULE.format(above=100, below=40))
    never = "rules[0].triggers[0].above: `stress_score` runs 0–100, so `above: 100` is never met"
    assert never in result.stdout
    assert result.stdout.count("Warning:") == 1


def test_a_stress_score_fraction_in_a_step_is_a_warning_too(tmp_path: Path) -> None:
    """An `if` step's condition and a `wait_for` test the score as a condition does."""
    result = check(
        tmp_path,
        "people: [{id: alex}]\nrules:\n  - id: r\n"
        "    triggers: [{trigger: signal, signal: stress_score, above: 70}]\n    actions:\n"
        "      - if: [{condition: signal, signal: stress_score, above: 0.8}]\n"
        "        then: [{action: log}]\n"
        "      - wait_for: {signal: stress_score, below: 0.5}\n",
    )
    assert result.returncode == 0, result.stderr
    assert "rules[0].actions[0].if[0].above: `stress_score` runs 0–100" in result.stdout
    assert "rules[0].actions[1].wait_for.below: `stress_score` runs 0–100" in result.stdout
    assert result.stdout.count("Warning:") == 2


def test_stress_score_thresholds_on_its_scale_give_no_warning(tmp_path: Path) -> None:
    result = check(tmp_path, SCORE_RULE.format(above=70, below=40))
    assert result.returncode == 0, result.stderr
    assert "Warning:" not in result.stdout


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"instance: ho\x01me\n", ":1:13: character U+0001 (a control character)"),
        (b"instance: ho\x00me\n", ":1:13: character U+0000 (a NUL byte)"),
        (b"people: &p\n  - id: alex\n    friends: *p\n", ":3:14: alias `*p` is inside"),
        (b"rules: " + b"[" * 3000 + b"]" * 3000 + b"\n", ":1:71: nested deeper than 64 levels"),
        (b"instance: home\npeople:\n  - id: j\xfcrgen\n", ":3:10: not UTF-8 text: byte 0xFC"),
    ],
    ids=["control_character", "nul_byte", "recursive_alias", "nesting_3000_deep", "latin_1"],
)
def test_a_file_yaml_cannot_hold_is_one_problem_with_its_place(
    tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "ambient.yaml"
    path.write_bytes(content)
    result = run_ambient("check", "--config", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}: 1 problem:\n  {path}{words}")
    assert "Traceback" not in result.stderr


def test_a_tls_file_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    """Read at every connect: a missing CA would fail every attempt, for ever."""
    ca_file = tmp_path / "ca.pem"
    result = check(tmp_path, f"mqtt:\n  tls:\n    ca_file: {ca_file}\n")
    assert result.returncode == 1
    assert f":3:5: mqtt.tls.ca_file: {ca_file} does not exist" in result.stderr
    ca_file.write_bytes(make_tls_files(tmp_path).ca_file.read_bytes())
    assert check(tmp_path, f"mqtt:\n  tls:\n    ca_file: {ca_file}\n").returncode == 0


def test_a_tls_file_that_holds_no_certificate_is_refused(tmp_path: Path) -> None:
    """`run` would retry the broker for ever on an SSLError: a file that is there but no PEM
    certificate (a key, a DER file, a truncated copy) fails `check` instead."""
    not_a_cert = tmp_path / "ca.pem"
    not_a_cert.write_text("-----BEGIN CERTIFICATE-----\n")
    result = check(tmp_path, f"mqtt:\n  tls:\n    ca_file: {not_a_cert}\n")
    assert result.returncode == 1
    assert f":3:5: mqtt.tls.ca_file: {not_a_cert} holds no PEM certificate" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_client_certificate_and_a_key_that_do_not_belong_together_are_refused(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ours, theirs = make_tls_files(tmp_path / "a"), make_tls_files(tmp_path / "b")
    text = f"mqtt:\n  tls:\n    certfile: {ours.certfile}\n    keyfile: {{key}}\n"
    assert check(tmp_path, text.format(key=ours.keyfile)).returncode == 0
    result = check(tmp_path, text.format(key=theirs.keyfile))
    assert result.returncode == 1
    assert (
        f":3:5: mqtt.tls.certfile: {ours.certfile} and the keyfile {theirs.keyfile} are no "
        "certificate and its key"
    ) in result.stderr


def test_a_home_assistant_ca_file_is_checked_as_the_broker_s_is(tmp_path: Path) -> None:
    """`run` read it at its first connect and stopped with a bare `[Errno 2]`."""
    ca_file = tmp_path / "ha-ca.pem"
    text = f"homeassistant:\n  token: t\n  ca_file: {ca_file}\n"
    result = check(tmp_path, text)
    assert result.returncode == 1
    assert f":3:3: homeassistant.ca_file: {ca_file} does not exist" in result.stderr
    ca_file.write_text("a token pasted by mistake\n")
    assert f"{ca_file} holds no PEM certificate" in check(tmp_path, text).stderr
    ca_file.write_bytes(make_tls_files(tmp_path).ca_file.read_bytes())
    assert check(tmp_path, text).returncode == 0
    ca_file.unlink()  # not read at all when certificates are not verified
    assert check(tmp_path, text + "  verify_ssl: false\n").returncode == 0


def folder_whose_socket_path_has(tmp_path: Path, length: int) -> Path:
    """A folder whose ``ambient.sock`` path is ``length`` bytes long."""
    padding = length - len(str(tmp_path / "ambient.sock")) - 1
    assert padding > 0, "the test's folder is already too deep"
    return tmp_path / ("s" * padding)


def test_a_store_folder_too_deep_for_the_status_socket_is_refused(tmp_path: Path) -> None:
    """`run` answers `ambient status` on a socket beside the store; a Unix socket's path is
    at most 107 bytes, and a longer one stopped `run` at its start ("AF_UNIX path too long")."""
    fits = folder_whose_socket_path_has(tmp_path, 107)
    assert check(tmp_path, f"store:\n  path: {fits / 'ambient.db'}\n").returncode == 0
    too_deep = folder_whose_socket_path_has(tmp_path, 108)
    result = check(tmp_path, f"store:\n  path: {too_deep / 'ambient.db'}\n")
    assert result.returncode == 1
    assert (
        f":2:3: store.path: the status socket beside it, {too_deep / 'ambient.sock'}, would be "
        "a path longer than a Unix socket's 107 bytes: keep the store in a shorter folder"
    ) in result.stderr


@contextlib.contextmanager
def mounted_at(folder: Path, *how: str) -> Iterator[Path]:
    """A real mount at ``folder`` (``mount *how folder``), unmounted however the test ends;
    the test is skipped, saying why, where it cannot be mounted."""
    mounted = subprocess.run(["mount", *how, str(folder)], capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip("mounting a file system needs root (and a machine that allows it)")
    try:
        yield folder
    finally:
        # Lazily: a file a failing check left open does not keep it mounted.
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A file system mounted read-only, as a Pi's root under the overlay file system."""
    folder = tmp_path / "ro"
    folder.mkdir()
    with mounted_at(folder, "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs"):
        yield folder


def test_a_store_on_a_read_only_file_system_is_refused(read_only_folder: Path) -> None:
    """`run` would stop at once ("Read-only file system")."""
    store = read_only_folder / "state" / "ambient.db"
    result = check(read_only_folder.parent, f"store:\n  path: {store}\n")
    assert result.returncode == 1
    assert f":2:3: store.path: {read_only_folder} is on a read-only file system" in result.stderr


def test_a_relative_store_beside_a_config_mounted_read_only_says_what_to_write(
    tmp_path: Path,
) -> None:
    """In Docker the config folder is mounted read-only and a relative store.path is beside
    the config: `run` would stop at once, and check says where the store can go instead."""
    settings = tmp_path / "settings"
    settings.mkdir()
    config = settings / "ambient.yaml"
    config.write_text("store:\n  path: ambient.db\n")
    with mounted_at(settings, "--bind", "-o", "ro", str(settings)):
        result = run_ambient("check", "--config", str(config))
    assert result.returncode == 1
    assert (
        f":2:3: store.path: {settings} is on a read-only file system, where `run` cannot "
        "write the store: give an absolute path in a folder it can write, such as "
        "/var/lib/ambient/ambient.db (in Docker, the state volume)"
    ) in result.stderr


NOBODY = 65534  # the service's user, in these tests: anyone but root


def as_nobody() -> list[str]:
    """The words that run a command as ``nobody`` (by setpriv: a uid set in the child itself
    is refused the interpreter on some machines)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def skip_unless_this_python_runs_as_nobody() -> None:
    """An interpreter installed in root's home (pyenv's, say) cannot start as another user:
    its library is out of that user's reach, so every check would fail before it began."""
    probe = subprocess.run(
        [*as_nobody(), sys.executable, "-c", ""],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd="/",
    )
    if probe.returncode != 0:
        said = probe.stderr.strip().splitlines()[-1:] or [f"exit {probe.returncode}"]
        pytest.skip(f"this Python cannot start as nobody: {said[0]}")


def check_as_nobody(config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`ambient check` as ``nobody``, as the unit's check runs as ``ambient``."""
    return subprocess.run(
        [*as_nobody(), sys.executable, "-m", "ambient", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**clean_env(), **env},
        cwd="/",
    )


@pytest.fixture
def service_state() -> Iterator[Path]:
    """A state folder of the service's user (nobody here), in a folder it can reach (the
    tests' own folders are root's alone)."""
    if os.geteuid() != 0:
        pytest.skip("making files of another user needs root")
    skip_unless_this_python_runs_as_nobody()
    base = Path(tempfile.mkdtemp(prefix="ambient-service-"))
    try:
        base.chmod(0o755)
        state = base / "state"
        state.mkdir(mode=0o700)
        os.chown(state, NOBODY, NOBODY)
        yield state
    finally:
        shutil.rmtree(base)


def test_a_store_left_by_a_daemon_run_with_sudo_is_refused_for_the_service_user(
    service_state: Path,
) -> None:
    """`sudo ambient run` by hand makes the store root's (0600); the unit's check, run as the
    service's user, passed it, and `run` then stopped on `Operation not permitted`, five
    times over. Check now says whose the file is and how to give it back."""
    store = service_state / "ambient.db"
    store.write_bytes(b"")
    store.chmod(0o600)  # root's, as the daemon run by hand left it
    config = service_state.parent / "ambient.yaml"
    config.write_text(f"people:\n  - id: alex\nstore:\n  path: {store}\n")
    config.chmod(0o644)

    result = check_as_nobody(config)

    assert result.returncode == 1
    assert (
        f":4:3: store.path: {store} is root's, so `run` as nobody cannot use it (a daemon "
        f"or command run with sudo makes the store's files root's): sudo chown -R nobody: "
        f"{service_state}"
    ) in result.stderr


def test_a_store_folder_the_service_user_cannot_write_is_refused(service_state: Path) -> None:
    store = service_state / "ambient.db"
    config = service_state.parent / "ambient.yaml"
    config.write_text(f"people:\n  - id: alex\nstore:\n  path: {store}\n")
    config.chmod(0o644)
    made = check_as_nobody(config)
    assert made.returncode == 0, made.stderr

    # The folder root's, as /etc/ambient is, where a relative store.path puts the store.
    os.chown(service_state, 0, 0)
    service_state.chmod(0o755)
    result = check_as_nobody(config)

    assert result.returncode == 1
    assert (
        f":4:3: store.path: `run` as nobody cannot make files in {service_state} (root's): "
        "give a folder it can write, such as /var/lib/ambient, or make this one its own"
    ) in result.stderr


def test_a_store_on_a_read_only_file_system_is_one_problem_for_the_service_user(
    service_state: Path,
) -> None:
    """The service's user, a store outside its state folder (read-only for the unit): the
    read-only file system was said, then again as a folder `run` cannot make files in, whose
    owner was the user itself, with "make this one its own" as the fix."""
    folder = service_state.parent / "ro"
    folder.mkdir()
    with mounted_at(folder, "-t", "tmpfs", "-o", "ro,size=64k,mode=0755", "tmpfs"):
        config = service_state.parent / "ambient.yaml"
        config.write_text(f"people:\n  - id: alex\nstore:\n  path: {folder / 'ambient.db'}\n")
        config.chmod(0o644)
        result = check_as_nobody(config)

    assert result.returncode == 1
    assert f"{config}: 1 problem:" in result.stderr, result.stderr
    assert f":4:3: store.path: {folder} is on a read-only file system" in result.stderr


def key_file_in_a_service_config(service_state: Path, mode: int) -> tuple[Path, Path, Path]:
    """A store key file of ``mode``, a config anyone may read that names it for a store in
    ``service_state``, and a folder standing in for systemd's credentials directory."""
    key = service_state.parent / "store.key"
    key.write_text("a" * 64 + "\n")
    key.chmod(mode)
    config = service_state.parent / "ambient.yaml"
    config.write_text(
        f"people:\n  - id: alex\nstore:\n  path: {service_state / 'ambient.db'}\n"
        f"  encryption:\n    key_file: {key}\n"
    )
    config.chmod(0o644)
    credentials = service_state.parent / "credentials"
    credentials.mkdir(mode=0o755)
    return key, config, credentials


def test_a_key_file_the_service_cannot_read_is_refused_in_the_service(
    service_state: Path,
) -> None:
    """install.sh makes /etc/ambient/store.key root's alone; a config naming only that
    `key_file` passed the unit's check (a key file this user may not read is left to `run`,
    as `check` is often someone else's), and `run` then stopped at every start. In the service
    (its credentials directory set; a folder stands in for systemd's) check says what to write."""
    pytest.importorskip("sqlcipher3", reason="the optional `crypto` extra is not installed")
    key, config, credentials = key_file_in_a_service_config(service_state, 0o600)  # root's

    by_hand = check_as_nobody(config)
    in_service = check_as_nobody(config, CREDENTIALS_DIRECTORY=str(credentials))

    assert by_hand.returncode == 0, by_hand.stderr
    assert in_service.returncode == 1
    assert (
        f"store key file {key}: the service cannot read it (root's, mode 0600): the unit hands "
        "over only /etc/ambient/store.key, as `credential: store_key`: put the key there and "
        "write that beside it, or let the service's user read this file (docs/privacy.md)"
    ) in in_service.stderr + in_service.stdout


def test_a_key_file_of_another_user_is_said_to_be_theirs(service_state: Path) -> None:
    """The refusal said "root's alone" of any key file: it says whose the file is, and its
    mode, as the file has them."""
    pytest.importorskip("sqlcipher3", reason="the optional `crypto` extra is not installed")
    key, config, credentials = key_file_in_a_service_config(service_state, 0o400)
    os.chown(key, 1, 1)  # daemon, as Debian names uid 1
    owner = pwd.getpwuid(1).pw_name
    in_service = check_as_nobody(config, CREDENTIALS_DIRECTORY=str(credentials))
    assert in_service.returncode == 1
    assert (
        f"store key file {key}: the service cannot read it ({owner}'s, mode 0400): "
    ) in in_service.stderr + in_service.stdout


REPORT_DELIVERY = "people: [{{id: alex}}]\ninsights:\n  report:\n    folder: {folder}\n"


def test_a_weekly_report_into_a_folder_that_cannot_be_made_is_refused(tmp_path: Path) -> None:
    """The first delivery, days after the start, is where it would have failed."""
    (tmp_path / "www").write_text("")
    result = check(tmp_path, REPORT_DELIVERY.format(folder=tmp_path / "www" / "ambient"))
    assert result.returncode == 1
    assert (
        f":4:5: insights.report.folder: {tmp_path / 'www'} is a file, so "
        f"{tmp_path / 'www' / 'ambient'} cannot be made"
    ) in result.stderr
    fine = check(tmp_path, REPORT_DELIVERY.format(folder=tmp_path / "reports" / "ambient"))
    assert fine.returncode == 0, fine.stderr


def test_a_weekly_report_into_a_read_only_folder_is_warned_of(read_only_folder: Path) -> None:
    """The service may write only its state folder (ProtectSystem=strict: the rest is
    mounted read-only for it, as the unit's check sees it too): a report folder elsewhere
    passed check without a word and failed every week, the first time days after the start.
    A warning, not a refusal: the rest runs, and an upgrade must not stop a daemon over it."""
    folder = read_only_folder / "reports"
    result = check(read_only_folder.parent, REPORT_DELIVERY.format(folder=folder))
    assert result.returncode == 0, result.stderr
    assert (
        f"Warning: {read_only_folder.parent / 'ambient.yaml'}:4:5: insights.report.folder: "
        f"{read_only_folder} is on a read-only file system, "
        "where the weekly report cannot be written: give a folder `run` can write (the "
        "service's is /var/lib/ambient; another needs ReadWritePaths= in a drop-in, "
        "sudo systemctl edit ambient)"
    ) in result.stdout


def test_a_weekly_report_into_a_home_folder_the_service_cannot_reach_is_warned_of(
    service_state: Path,
) -> None:
    """The unit hides home folders (ProtectHome=yes: /home is there, but may not be looked
    into), the usual place for a report folder: the unit's check could not look, left it to
    `run`, and the report failed every week. In the service (its credentials directory set; a
    folder stands in for systemd's) check warns; by hand it still leaves such a folder to `run`,
    as `check` is often someone else's."""
    pytest.importorskip("matplotlib", reason="the optional `report` extra is not installed")
    home = service_state.parent / "home"
    home.mkdir(mode=0o000)  # as the unit's /home: root's, no one may look in
    folder = home / "pi" / "reports"
    config = service_state.parent / "ambient.yaml"
    config.write_text(
        REPORT_DELIVERY.format(folder=folder) + f"store:\n  path: {service_state / 'ambient.db'}\n"
    )
    config.chmod(0o644)
    credentials = service_state.parent / "credentials"
    credentials.mkdir(mode=0o755)

    by_hand = check_as_nobody(config)
    in_service = check_as_nobody(config, CREDENTIALS_DIRECTORY=str(credentials))

    assert by_hand.returncode == 0, by_hand.stderr
    assert "Warning" not in by_hand.stdout
    assert in_service.returncode == 0, in_service.stderr
    assert (
        f"Warning: {config}:4:5: insights.report.folder: the service cannot look into {home}, "
        "so the weekly report cannot be written there: give a folder `run` can write (the "
        "service's is /var/lib/ambient)"
    ) in in_service.stdout


def test_a_weekly_report_without_matplotlib_is_refused(tmp_path: Path) -> None:
    # A stand-in for an installation without the `report` extra: matplotlib made unimportable.
    config = tmp_path / "ambient.yaml"
    config.write_text(REPORT_DELIVERY.format(folder=tmp_path / "reports"))
    hide = "import sys; sys.modules['matplotlib'] = None; from ambient.cli import main; "
    result = subprocess.run(
        [sys.executable, "-c", hide + "sys.exit(main(sys.argv[1:]))", "check", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert (
        ":3:3: insights.report: the weekly report is drawn with matplotlib, which is not "
        "installed: pip install 'ambient[report]'"
    ) in result.stderr


def test_a_person_topic_level_past_the_topic_is_refused(tmp_path: Path) -> None:
    sensor = "{type: mqtt, topic: 'watch/+/hr', metric: hr, person_topic_level: %d}"
    result = check(tmp_path, "mqtt: {}\nsensors:\n  - " + sensor % 3 + "\n")
    assert result.returncode == 1
    assert "`person_topic_level: 3` is past the last level of `watch/+/hr`" in result.stderr
    assert "0 to 2 here" in result.stderr
    assert check(tmp_path, "mqtt: {}\nsensors:\n  - " + sensor % 1 + "\n").returncode == 0


@pytest.mark.parametrize("kind", ["directory", "under_a_file"])
def test_a_store_path_that_cannot_be_a_file_is_refused(tmp_path: Path, kind: str) -> None:
    taken = tmp_path / "taken"
    if kind == "directory":
        taken.mkdir()
        path = taken
    else:
        taken.write_text("")
        path = taken / "ambient.db"
    result = check(tmp_path, f"store:\n  path: {path}\n")
    assert result.returncode == 1
    words = "is a directory; name the file" if kind == "directory" else "is a file, so"
    assert f":2:3: store.path: {tmp_path / 'taken'} {words}" in result.stderr


@pytest.mark.parametrize(
    "sensor",
    ["{type: satellite}", "{type: mqtt, topic: phones/+/hr, metric: hr, person_topic_level: 1}"],
)
def test_a_sensor_whose_publisher_names_people_warns_when_none_are_listed(
    tmp_path: Path, sensor: str
) -> None:
    """It takes only listed people: with `people:` empty it would drop every reading."""
    result = check(tmp_path, f"mqtt: {{}}\nsensors:\n  - {sensor}\n")
    assert result.returncode == 0, result.stderr
    assert ":3:6: sensors[0].type: this sensor takes only the people listed" in result.stdout
    listed = check(tmp_path, f"people: [{{id: alex}}]\nmqtt: {{}}\nsensors:\n  - {sensor}\n")
    assert "Warning:" not in listed.stdout
    opted_in = sensor.replace("}", ", unlisted_people: 2}")
    assert "Warning:" not in check(tmp_path, f"mqtt: {{}}\nsensors:\n  - {opted_in}\n").stdout


def test_home_assistant_without_a_token_outside_the_add_on_is_refused(tmp_path: Path) -> None:
    """`run` started, logged once that HA stays unavailable, and ran for ever without it;
    inside the add-on the Supervisor's token is used, and an empty token is never one."""
    text = "homeassistant:\n  url: http://ha.local:8123\n"
    result = check(tmp_path, text)
    assert result.returncode == 1
    assert ":1:1: homeassistant: no `token`" in result.stderr
    path = tmp_path / "ambient.yaml"
    in_add_on = run_ambient(
        "check", "--config", str(path), env=clean_env(SUPERVISOR_TOKEN="from-the-supervisor")
    )
    assert in_add_on.returncode == 0, in_add_on.stderr
    empty = check(tmp_path, text + "  token: ''\n")
    assert empty.returncode == 1
    assert ":3:3: homeassistant.token: the token is empty" in empty.stderr


def test_a_store_run_cannot_open_is_a_problem_at_its_line_not_ok(tmp_path: Path) -> None:
    """`check` printed `ambient.yaml: OK` above the store's line and then exited 1: the
    problem is now on stderr with its place, as every other one is, and no OK is said."""
    key_file = tmp_path / "missing.key"
    text = (
        "people: [{id: alex}]\n"
        f"store:\n  path: {tmp_path / 'ambient.db'}\n  encryption:\n    key_file: {key_file}\n"
    )
    result = check(tmp_path, text)
    assert result.returncode == 1
    assert "OK" not in result.stdout
    assert result.stderr.startswith(f"{tmp_path / 'ambient.yaml'}: 1 problem:\n")
    assert (
        f"ambient.yaml:4:3: store.encryption: {tmp_path / 'ambient.db'}: store key file "
        f"{key_file} does not exist"
    ) in result.stderr
