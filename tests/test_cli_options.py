"""The CLI keeps Linux habits: global options before or after the subcommand, the config as a
positional argument or ``$AMBIENT_CONFIG``, every subcommand with a description, an example
and its exit codes, and one clear line (never a traceback) for an expected failure."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest
from fixtures.ambient_process import clean_env, run_ambient

from ambient.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "config" / "demo.yaml"
DEMO_RECORDING = ROOT / "ambient" / "data" / "demo.csv"


def subparsers() -> dict[str, argparse.ArgumentParser]:
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def subcommands() -> list[str]:
    return sorted(subparsers())


@pytest.mark.parametrize(
    "args",
    [
        ("--config", str(DEMO), "check"),
        ("check", "--config", str(DEMO)),
        ("-c", str(DEMO), "check"),
        ("check", str(DEMO)),
    ],
    ids=["before", "after", "short-before", "positional"],
)
def test_the_config_can_be_given_before_after_or_as_a_positional(args: tuple[str, ...]) -> None:
    result = run_ambient(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{DEMO}: OK")


def test_the_config_can_come_from_the_environment() -> None:
    result = run_ambient("check", env=clean_env(AMBIENT_CONFIG=str(DEMO)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{DEMO}: OK")


def test_a_named_config_wins_over_the_environment(tmp_path: Path) -> None:
    result = run_ambient(
        "check", str(DEMO), env=clean_env(AMBIENT_CONFIG=str(tmp_path / "none.yaml"))
    )
    assert result.returncode == 0, result.stderr


def test_two_different_configs_are_a_usage_error(tmp_path: Path) -> None:
    result = run_ambient("check", str(DEMO), "--config", str(tmp_path / "other.yaml"))
    assert result.returncode == 2
    assert "two configs given" in result.stderr


def test_log_options_work_before_the_subcommand() -> None:
    result = run_ambient(
        "--log-level", "ERROR", "analyze", "--recording", str(DEMO_RECORDING), "--json"
    )
    assert result.returncode == 0, result.stderr


def test_the_main_help_lists_every_subcommand_with_a_summary() -> None:
    result = run_ambient("--help")
    assert result.returncode == 0
    for name in subcommands():
        line = next(line for line in result.stdout.splitlines() if line.strip().startswith(name))
        assert len(line.split()) > 2, f"{name} has no summary"
    assert "AMBIENT_CONFIG" in result.stdout
    assert "exit codes:" in result.stdout


@pytest.mark.parametrize("name", subcommands())
def test_every_subcommand_has_a_description_an_example_and_exit_codes(name: str) -> None:
    result = run_ambient(name, "--help")
    assert result.returncode == 0
    text = result.stdout
    description = text.split("\n\n")[1]
    assert not description.startswith(("positional", "options")), f"{name}: no description"
    example = text.split("example:\n", 1)[1].split("\n\n")[0]
    assert f"ambient {name}" in example, f"{name}: no example"
    assert "exit codes: 0 " in text


@pytest.mark.parametrize("name", subcommands())
def test_every_subcommands_help_fits_a_terminal_100_columns_wide(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argparse wraps the options' help to the terminal, not a description or an epilog kept as
    written: those are wrapped by hand."""
    monkeypatch.setenv("COLUMNS", "100")
    for line in subparsers()[name].format_help().splitlines():
        assert len(line) <= 100, f"ambient {name} --help: {line!r}"


@pytest.mark.parametrize(
    ("name", "option"),
    [
        ("simulate", "--json"),
        ("simulate", "--recording"),
        ("analyze", "--json"),
        ("analyze", "--recording"),
        ("trace", "--json"),
        ("status", "--json"),
    ],
)
def test_options_have_help(name: str, option: str) -> None:
    action = next(a for a in subparsers()[name]._actions if option in a.option_strings)
    assert action.help, f"{name} {option} has no help"
    assert option in run_ambient(name, "--help").stdout


def test_window_of_zero_is_a_usage_error_not_a_traceback() -> None:
    result = run_ambient("analyze", "--recording", str(DEMO_RECORDING), "--window", "0")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "argument --window: must be longer than 0 s" in result.stderr


def test_trace_of_an_unknown_rule_names_the_rules(tmp_path: Path) -> None:
    result = run_ambient("trace", "nosuchrule", "--config", str(DEMO))
    assert result.returncode == 1
    assert result.stderr.strip() == "ambient trace: no rule nosuchrule (rules: calm_alex)"


def test_trace_without_a_store_file_says_so(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"store:\n  path: {tmp_path / 'state' / 'ambient.db'}\n")
    result = run_ambient("trace", "--config", str(config))
    assert result.returncode == 1
    assert "no store at" in result.stderr and "has the daemon run?" in result.stderr


def test_an_empty_config_is_valid_but_said_to_do_nothing(tmp_path: Path) -> None:
    config = tmp_path / "empty.yaml"
    config.write_text("")
    result = run_ambient("check", str(config))
    assert result.returncode == 0
    assert "this config does nothing: it has no sensors and no rules" in result.stdout


def test_one_problem_is_singular(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("peple: []\n")
    result = run_ambient("check", str(config))
    assert result.returncode == 1
    assert result.stderr.startswith(f"{config}: 1 problem:\n")


def test_simulate_reports_implausible_and_unknown_person_rows_with_file_and_line(
    tmp_path: Path,
) -> None:
    recording = tmp_path / "r.csv"
    rows = "".join(f"{t},rr,800,alex\n" for t in range(1, 30))
    recording.write_text(
        f"t,metric,value,person\n{rows}30,hr,-5,alex\n31,hr,1000,alex\n32,hr,60,bob\n"
    )
    result = run_ambient("simulate", str(DEMO), "--recording", str(recording))
    assert result.returncode == 0, result.stderr
    assert f"{recording}:31: hr outside 20..250 bpm" in result.stderr
    assert f"{recording}:32: hr outside 20..250 bpm" in result.stderr
    assert f"{recording}:33: person `bob` is not in the config (people: alex)" in result.stderr


def test_a_binary_recording_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    recording = tmp_path / "photo.csv"
    recording.write_bytes(bytes(range(256)) * 4)
    result = run_ambient("analyze", "--recording", str(recording))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"ambient analyze: {recording}:2: not a text recording (byte 128 is not UTF-8)"
    ]


def test_config_mistakes_are_said_in_words_not_regular_expressions(tmp_path: Path) -> None:
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people:\n  - id: alex smith\n"
        "rules:\n  - id: r1\n    triggers:\n      - trigger: time\n        at: '25:00'\n"
        "    actions: [{action: log}]\n"
        "  - id: r2\n    triggers:\n      - trigger: signal\n        signal: hr\n"
        "        above: hundred\n    actions: [{action: log}]\n"
    )
    result = run_ambient("check", str(config))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{config}: 3 problems:",
        f"  {config}:2:5: people[0].id: expected an id: lower-case letters, digits and `_` "
        "(no spaces), such as `alex_smith`",
        f"  {config}:7:9: rules[0].triggers[0].at: expected a time of day from 00:00 to 23:59, "
        "written HH:MM or HH:MM:SS",
        f"  {config}:13:9: rules[1].triggers[0].above: expected a number or a Home Assistant id "
        "such as `input_number.stress_threshold`",
    ]


@pytest.mark.parametrize(
    ("command", "what"),
    [("simulate", "the picture"), ("evaluate", "the pictures")],
)
def test_plot_dash_is_a_usage_error_not_a_file_named_dash(
    tmp_path: Path, command: str, what: str
) -> None:
    """`--out -` is stdout for export, record and report; `--plot -` drew a PNG into a file
    called `-` (or made a folder of that name). A picture on stdout, beside the command's own
    output, makes no sense: it is refused as the usage error it is."""
    done = run_ambient(command, "--config", str(DEMO), "--plot", "-", cwd=tmp_path)

    assert done.returncode == 2
    assert f"--plot: - is not stdout here: give a file name for {what}" in done.stderr
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize(
    ("args", "command", "suggestion"),
    [
        (("check", "--confg", str(DEMO)), "check", "--config"),
        (("simulate", str(DEMO), "--jsn"), "simulate", "--json"),
        (("analyze", "-r", str(DEMO_RECORDING), "--windw=5min"), "analyze", "--window"),
        (("--log-fromat=json", "check", str(DEMO)), "check", "--log-format"),
    ],
    ids=["check", "simulate", "with-value", "before-the-command"],
)
def test_an_unknown_option_is_named_with_the_option_it_is_closest_to_and_the_commands_usage(
    args: tuple[str, ...], command: str, suggestion: str
) -> None:
    result = run_ambient(*args)
    assert result.returncode == 2
    assert result.stderr.startswith(f"usage: ambient {command} ")
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"ambient {command}: error: unrecognized arguments: ")
    assert last.endswith(f"(did you mean {suggestion}?)")


def test_an_unknown_argument_like_no_option_is_named_without_a_guess() -> None:
    result = run_ambient("trace", "calm_alex", "extra", "--config", str(DEMO))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "ambient trace: error: unrecognized arguments: extra"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--bogus",), "--bogus"),
        (("--log-levl=DEBUG",), "--log-levl=DEBUG (did you mean --log-level?)"),
    ],
    ids=["unknown", "mistyped"],
)
def test_an_unknown_option_without_a_command_is_named_before_the_missing_command(
    args: tuple[str, ...], named: str
) -> None:
    """``ambient --bogus`` said only that COMMAND is required, as if --bogus were fine."""
    result = run_ambient(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: ambient ")
    assert result.stderr.splitlines()[-1] == (
        f"ambient: error: unrecognized arguments: {named}; and no COMMAND given"
    )
    alone = run_ambient()
    assert alone.returncode == 2
    assert alone.stderr.splitlines()[-1].startswith(
        "ambient: error: the following arguments are required: COMMAND, one of check, run, "
    )


def test_ambient_alone_names_the_commands_it_could_run() -> None:
    """A newcomer's first ``ambient``: the usage line says only ``COMMAND ...``."""
    result = run_ambient()
    assert result.returncode == 2
    last = result.stderr.splitlines()[-1]
    for name in subcommands():
        assert f" {name}," in last or f" {name} (" in last, name
    assert last.endswith("(`ambient --help` says what each does)")


def test_a_mistyped_command_is_named_with_the_command_it_is_closest_to() -> None:
    result = run_ambient("stauts")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].endswith("; did you mean status?")


@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_trace_with_no_traces_yet_says_so_on_stderr_and_prints_nothing(
    tmp_path: Path, json_output: bool
) -> None:
    """stdout holds traces only: ``ambient trace --json | jq`` never reads a sentence."""
    from ambient.store import Store

    store = tmp_path / "ambient.db"
    Store(store).close()
    config = tmp_path / "c.yaml"
    config.write_text(f"store:\n  path: {store}\n")
    result = run_ambient("trace", "--config", str(config), *(["--json"] if json_output else []))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "ambient trace: no traces yet\n"


@pytest.mark.parametrize("name", subcommands())
def test_every_subcommands_exit_codes_say_what_a_usage_error_and_ctrl_c_give(name: str) -> None:
    """The codes are the same across commands: a usage error is 2, Ctrl-C 130 (or, where it
    is how the command is meant to end, said as the end it is); lines fit a terminal."""
    epilog = subparsers()[name].epilog or ""
    codes = epilog.split("exit codes:", 1)[1]
    assert re.search(r"\b2 [^,(]*usage error", codes)
    assert "130 interrupted" in codes or "Ctrl-C" in codes
    assert max(len(line) for line in epilog.splitlines()) <= 100


@pytest.mark.parametrize("name", [n for n in subcommands() if n in ("export", "record", "report")])
def test_every_out_option_is_spelt_alike(name: str) -> None:
    """``--out FILE`` or ``-o FILE``, ``-`` for stdout, wherever a command writes a file."""
    action = next(a for a in subparsers()[name]._actions if "--out" in a.option_strings)
    assert action.option_strings == ["--out", "-o"]
    assert action.metavar == "FILE"
    assert "-: stdout" in (action.help or "")


def test_the_positional_of_trace_is_shown_as_the_readme_writes_it() -> None:
    usage = run_ambient("trace", "--help").stdout.split("\n\n")[0]
    assert "[RULE]" in usage


@pytest.mark.parametrize("command", ["check", "trace", "simulate"])
def test_no_config_given_and_none_at_the_default_path_is_one_line_saying_how_to_name_one(
    command: str,
) -> None:
    from ambient.config.loader import DEFAULT_CONFIG_PATH

    if DEFAULT_CONFIG_PATH.exists():
        pytest.skip(f"this machine has {DEFAULT_CONFIG_PATH}")
    result = run_ambient(command)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"ambient {command}: no config given, and there is none at {DEFAULT_CONFIG_PATH}: "
        "name one with --config FILE or $AMBIENT_CONFIG"
    ]


def test_a_commands_own_option_given_before_it_is_said_to_go_after_it() -> None:
    result = run_ambient("--json", "simulate", str(DEMO))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "ambient simulate: error: unrecognized arguments: --json (an option of simulate: "
        "give it after the command)"
    )


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
def test_log_format_json_makes_every_log_line_one_json_object(before: bool) -> None:
    options = ("--log-format", "json")
    args = (*options, "simulate", str(DEMO)) if before else ("simulate", str(DEMO), *options)
    result = run_ambient(*args)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines, "no log line to look at"
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)


def test_trace_shows_times_in_the_configs_time_zone_as_the_timeline_does(tmp_path: Path) -> None:
    """A Pi on UTC with ``timezone: Pacific/Kiritimati`` (UTC+14, no DST): the timeline and
    ``ambient status`` say 02:00 the next day for a rule that fired at noon UTC, and so must
    the trace."""
    from datetime import UTC, datetime

    from ambient.rules.tracing import TRACE_NAMESPACE
    from ambient.store import Store

    store = Store(tmp_path / "ambient.db")
    noon_utc = datetime(2026, 12, 4, 12, 0, tzinfo=UTC).timestamp()
    record = {"t": noon_utc, "rule": "calm", "event": "fired", "reason": "why", "actions": []}
    store.append(TRACE_NAMESPACE, "calm", record, keep=10)
    store.close()
    config = tmp_path / "c.yaml"
    config.write_text(f"timezone: Pacific/Kiritimati\nstore:\n  path: {tmp_path / 'ambient.db'}\n")
    result = run_ambient("trace", "--config", str(config), env=clean_env(TZ="UTC"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("2026-12-05 02:00:00  calm  fired  why")


@pytest.mark.parametrize("name", subcommands())
def test_the_readme_cli_reference_has_a_row_for_every_subcommand(name: str) -> None:
    readme = (ROOT / "README.md").read_text()
    reference = readme.split("## CLI reference", 1)[1].split("\n## ", 1)[0]
    assert f"| `ambient {name}" in reference


def test_one_config_named_twice_by_different_paths_is_one_config() -> None:
    result = run_ambient("check", "config/demo.yaml", "--config", str(DEMO), cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_a_config_from_the_environment_that_is_not_there_is_one_line_naming_the_variable(
    tmp_path: Path,
) -> None:
    """A stale ``export AMBIENT_CONFIG=...`` in a shell profile: say where the name came from."""
    missing = tmp_path / "gone.yaml"
    result = run_ambient("trace", env=clean_env(AMBIENT_CONFIG=str(missing)))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"ambient trace: $AMBIENT_CONFIG names {missing}, and there is no such file"
    ]


@pytest.mark.parametrize(
    ("args", "row"),
    [
        (("simulate", str(DEMO), "--json"), "| `ambient simulate"),
        (("analyze", "--recording", str(DEMO_RECORDING), "--json"), "| `ambient analyze"),
    ],
    ids=["simulate", "analyze"],
)
def test_the_readme_names_every_field_a_json_line_has(args: tuple[str, ...], row: str) -> None:
    readme = (ROOT / "README.md").read_text()
    line = next(line for line in readme.splitlines() if line.startswith(row))
    result = run_ambient(*args)
    assert result.returncode == 0, result.stderr
    for field in json.loads(result.stdout.splitlines()[0]):
        assert f"`{field}`" in line, f"README's {row.strip('| `')} row does not name {field}"


def test_a_choice_in_the_wrong_case_is_named_in_the_right_one() -> None:
    result = run_ambient("check", str(DEMO), "--log-level", "debug")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].endswith("; did you mean DEBUG?")


@pytest.mark.parametrize("name", subcommands())
def test_every_subcommands_example_is_a_command_line_it_takes(name: str) -> None:
    """The example of ``--help``, as a reader pastes it (after any ``... &&``, without its
    ``# comment``, a ``\\`` joining its lines)."""
    import shlex

    from ambient.cli import _parse

    epilog = subparsers()[name].epilog or ""
    example = epilog.split("example:\n", 1)[1].split("\n\n")[0].replace("\\\n", " ")
    command = example.split("&&")[-1].split("#")[0]
    try:
        _parse(build_parser(), shlex.split(command)[1:])
    except SystemExit as exc:
        pytest.fail(f"`{command.strip()}` is refused: exit {exc.code}")


def test_no_store_at_a_relative_path_names_the_folder_it_was_looked_for_in(tmp_path: Path) -> None:
    """store.path is relative to the config's folder: asked from another folder, the line
    says where it looked (beside the config), or 'has the daemon run?' misleads."""
    config = tmp_path / "c.yaml"
    config.write_text("store:\n  path: state/ambient.db\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_ambient("trace", "--config", str(config), cwd=elsewhere)
    assert result.returncode == 1
    assert result.stderr == (
        f"ambient trace: no store at {tmp_path / 'state' / 'ambient.db'} yet: has the daemon run?\n"
    )
