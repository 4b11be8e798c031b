"""The ``ambient`` command line: the parser, and main handing each subcommand to its handler in
:mod:`ambient.commands` (handlers import only what they need, so ``check`` and ``status`` start
fast and a config without BLE never loads bleak)."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from ambient import __version__
from ambient.commands import check, live, output, replay, stored


def _duration_arg(text: str) -> float:
    from ambient.config.durations import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_duration(text: str) -> float:
    value = _duration_arg(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be longer than 0 s, got `{text}`")
    return value


def _analysis_window(text: str) -> float:
    value = _positive_duration(text)
    from ambient.signals.analyze import window_problem  # analyze loads it anyway

    problem = window_problem(text, value)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: `{text}`") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be more than 0 and finite, got `{text}`")
    return value


#: The fastest ``run --speed``: at 100,000 times, the clock reaches the year 9999 (where
#: Python's dates end) after a month; much faster, within minutes or at once.
MAX_SPEED = 100_000


def _speed(text: str) -> float:
    value = _positive_float(text)
    if value > MAX_SPEED:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SPEED}, got `{text}`")
    return value


def _picture_file(text: str) -> Path:
    """A file ``--plot`` can draw: a .png, .svg or .pdf name (none: PNG)."""
    from ambient.plot import picture_format

    path = _not_stdout(text, "the picture")
    try:
        picture_format(path)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return path


def _not_stdout(text: str, what: str) -> Path:
    """A path that is no ``-``: that is stdout for export, record and report, and nothing
    else makes a picture a stream."""
    if text == "-":
        raise argparse.ArgumentTypeError(f"- is not stdout here: give a file name for {what}")
    return Path(text)


def _plot_dir(text: str) -> Path:
    return _not_stdout(text, "the pictures")


def _state_arg(text: str) -> tuple[str, str]:
    """``ENTITY=VALUE``: an HA entity's state for rules that run offline."""
    entity, sep, value = text.partition("=")
    if not sep or "." not in entity.strip() or not value.strip():
        raise argparse.ArgumentTypeError(
            f"expected ENTITY=VALUE, e.g. person.alex=home, got `{text}`"
        )
    return entity.strip(), value.strip()


#: Exit codes of the commands that can draw (``--plot``).
PLOT_EXIT_CODES = (
    "exit codes: 0 done, 1 failed (one line on stderr says why), 2 usage error,\n"
    "3 --plot given but matplotlib is not installed (pip install 'ambient[plot]'), "
    "130 interrupted"
)
#: ``evaluate``'s: those of a command that draws, and 4 for recordings of a folder skipped.
EVALUATE_EXIT_CODES = PLOT_EXIT_CODES.replace(
    " 130 interrupted",
    "\n4 done, but recordings of the folder could not be read (each is named), 130 interrupted",
)


def expected_failure(exc: BaseException) -> str | None:
    """The one line to print for a failure a user can act on (a file that cannot be opened,
    a second daemon, a bad recording), or None for anything else: a bug keeps its traceback.
    An exception group (from a task group) counts when every exception in it does."""
    from ambient.config import ConfigError
    from ambient.reading_stream import NotYours
    from ambient.recordings import RecordingError
    from ambient.status import StatusSocketBusy
    from ambient.store_crypto import StoreError

    if isinstance(exc, BaseExceptionGroup):
        messages = [expected_failure(inner) for inner in exc.exceptions]
        if any(message is None for message in messages):
            return None
        return "; ".join(dict.fromkeys(m for m in messages if m))
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    expected = (StatusSocketBusy, RecordingError, ConfigError, OSError, StoreError, NotYours)
    # The store turns a failure its file causes (damage, a full disk) into a StoreError naming
    # the file; any other SQLite error is a bug.
    return str(exc) if isinstance(exc, expected) else None


#: What every subcommand's exit status means (argparse itself exits 2 on a usage error).
EXIT_CODES = (
    "exit codes: 0 done, 1 failed (one line on stderr says why), 2 usage error, 130 interrupted"
)
CONFIG_ENV = "AMBIENT_CONFIG"


def _add_common_options(parser: argparse.ArgumentParser, default: object) -> None:
    """The options every subcommand takes, before or after the subcommand's name. The
    subcommands' copies default to SUPPRESS so they only override what was given."""
    parser.add_argument(
        "--config",
        "-c",
        type=Path,
        default=default,
        metavar="FILE",
        help=f"config file (default: ${CONFIG_ENV}, else /etc/ambient/ambient.yaml)",
    )
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        default=default,
        help="log level (default: the config's logging.level, else INFO)",
    )
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=default,
        help="log format (default: the config's logging.format, else text)",
    )


def _subcommand(
    commands: argparse._SubParsersAction[_Parser],
    common: _Parser,
    name: str,
    summary: str,
    example: str,
    exit_codes: str = EXIT_CODES,
) -> argparse.ArgumentParser:
    """A subcommand with its one-line summary, an example and its exit codes in ``--help``."""
    return commands.add_parser(
        name,
        parents=[common],
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog=f"example:\n  {example}\n\n{exit_codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


class _Parser(argparse.ArgumentParser):
    """A parser that names, for a mistyped choice (a command, ``debug`` for ``DEBUG``), the
    choice it is closest to, whatever the case."""

    def _check_value(self, action: argparse.Action, value: object) -> None:
        try:
            super()._check_value(action, value)
        except argparse.ArgumentError as exc:
            choices = {str(choice).lower(): str(choice) for choice in action.choices or ()}
            close = _closest(str(value).lower(), choices)
            if close is None:
                raise
            message = f"{exc.message}; did you mean {choices[close]}?"
            raise argparse.ArgumentError(action, message) from None


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; ones no option of the command takes are a usage error of that command
    (its usage, not the whole program's), naming the option each is closest to. Without a
    command, the unknown ones are named before the missing command (COMMAND is not
    ``required`` in argparse, which would say only that)."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        command = parser if args.command is None else _subparsers(parser)[args.command]
        options = [name for action in command._actions for name in action.option_strings]
        command_name = args.command or parser.prog
        named = " ".join(_unrecognized(arg, options, command_name) for arg in unknown)
        missing = "; and no COMMAND given" if args.command is None else ""
        command.error(f"unrecognized arguments: {named}{missing}")
    if args.command is None:
        names = ", ".join(_subparsers(parser))
        parser.error(
            f"the following arguments are required: COMMAND, one of {names} "
            "(`ambient --help` says what each does)"
        )
    if args.command == "baseline" and args.beats is not None and args.action != "reset":
        _subparsers(parser)["baseline"].error("--beats goes with reset (show lists each kind)")
    return args


def _unrecognized(arg: str, options: list[str], command: str) -> str:
    """``arg`` with what it was likely meant to be: an option of ``command`` given before the
    command's name, or the option it is closest to."""
    option = arg.split("=", 1)[0]
    close = _closest(option, options) if arg.startswith("-") else None
    if close is None:
        return arg
    if option in options:
        return f"{arg} (an option of {command}: give it after the command)"
    return f"{arg} (did you mean {close}?)"


def _closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``word`` is closest to, if any is close (difflib loads only for a usage
    error, not at every command's start)."""
    import difflib

    close = difflib.get_close_matches(word, list(candidates), n=1)
    return close[0] if close else None


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise ValueError("a parser without subcommands")


def _config_positional(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "config_file", nargs="?", type=Path, metavar="CONFIG", help="config file (as --config)"
    )


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    _add_common_options(common, argparse.SUPPRESS)

    parser = _Parser(
        prog="ambient",
        description="A calm, private, stress-aware home.",
        epilog=(
            "The options above work before or after COMMAND. `ambient COMMAND --help` shows\n"
            f"a command's options, an example and its exit codes.\n\n{EXIT_CODES}"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ambient {__version__}")
    _add_common_options(parser, None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")  # _parse requires it

    check = _subcommand(
        commands,
        common,
        "check",
        "validate the config and show what it sets up",
        "ambient check /etc/ambient/ambient.yaml",
        "exit codes: 0 valid, 1 invalid (every problem is listed with file:line:column), "
        "2 usage error,\n130 interrupted",
    )
    _config_positional(check)
    check.add_argument(
        "--quiet",
        action="store_true",
        help="print only what is wrong: nothing when the config is valid and ambient can use "
        "it (warnings, notes and problems as without it; the service's check before each start)",
    )
    run = _subcommand(
        commands,
        common,
        "run",
        "run the daemon until stopped (SIGHUP reloads the config)",
        "ambient run --config config/demo.yaml --speed 600",
        "exit codes: 0 stopped (Ctrl-C, SIGTERM, or the end of its recordings), 1 could not "
        "start\n(the reason is printed), 2 usage error",
    )
    _config_positional(run)
    run.add_argument(
        "--speed",
        type=_speed,
        default=None,
        metavar="N",
        help="run the clock N times faster (for replaying recordings)",
    )
    simulate = _subcommand(
        commands,
        common,
        "simulate",
        "replay a recording through the rules on a virtual clock (nothing is performed)",
        "ambient simulate config/demo.yaml --json",
        PLOT_EXIT_CODES,
    )
    _config_positional(simulate)
    simulate.add_argument(
        "--recording",
        "-r",
        type=Path,
        metavar="FILE",
        help="recording to replay, CSV or .jsonl (default: the config's recording sensors)",
    )
    simulate.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line: t, rule, event, reason, actions, person",
    )
    _add_state_option(simulate)
    simulate.add_argument(
        "--plot",
        type=_picture_file,
        metavar="FILE",
        help="also draw the timeline (heart rate, HRV, stress score, firings) as a PNG to FILE "
        "(FILE.svg or FILE.pdf: those), mode 0600",
    )
    evaluate = _subcommand(
        commands,
        common,
        "evaluate",
        "score the rules on labelled recordings: episodes found, latency, false alarms",
        "ambient evaluate config/ambient.example.yaml --recordings bench/data/stress-predict \\\n"
        "    --state person.alex=home",
        EVALUATE_EXIT_CODES,
    )
    _config_positional(evaluate)
    evaluate.add_argument(
        "--recordings",
        "-r",
        type=Path,
        required=True,
        metavar="PATH",
        help="a recording, or a folder of them (CSV, .jsonl)",
    )
    evaluate.add_argument(
        "--labels",
        type=Path,
        metavar="FILE",
        help="labels.jsonl, one line per recording (default: labels.jsonl beside the "
        "recordings, else label rows in each recording; see docs/recordings.md)",
    )
    evaluate.add_argument(
        "--rule", metavar="ID", help="only this rule (default: every rule with a signal trigger)"
    )
    evaluate.add_argument("--json", action="store_true", help="one JSON document")
    _add_state_option(evaluate)
    evaluate.add_argument(
        "--plot",
        type=_plot_dir,
        metavar="DIR",
        help="also draw a timeline per recording: DIR/NAME.png",
    )
    analyze = _subcommand(
        commands,
        common,
        "analyze",
        "print the signals of a recording, window by window",
        "ambient analyze --recording ambient/data/demo.csv --window 5min",
    )
    analyze.add_argument(
        "--recording",
        "-r",
        type=Path,
        required=True,
        metavar="FILE",
        help="recording to analyse, CSV or .jsonl (see docs/recordings.md)",
    )
    analyze.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line: t, hr, rmssd, ln_rmssd, sdnn, pnn50, quality, corrected",
    )
    analyze.add_argument(
        "--window",
        type=_analysis_window,
        default=60.0,
        metavar="DURATION",
        help="window length, 10s or more, e.g. 60s or 5min (default 60s)",
    )
    trace = _subcommand(
        commands,
        common,
        "trace",
        "show the recent traces of the rules (why each fired, or did not)",
        "ambient trace calm_alex --config /etc/ambient/ambient.yaml",
        "exit codes: 0 traces shown, 1 none to show or no such rule (one line on stderr says "
        "which),\n2 usage error, 130 interrupted",
    )
    trace.add_argument("rule", nargs="?", metavar="RULE", help="only this rule (its id)")
    trace.add_argument("--json", action="store_true", help="one JSON object per trace")
    report = _subcommand(
        commands,
        common,
        "report",
        "write a person's weekly report: one HTML page that works offline and on a phone",
        "ambient report --person alex --week 2026-W49 --out alex.html",
        "exit codes: 0 written (its path printed), 1 failed or nothing to show (a week not begun,\n"
        "no day kept by its end; one line on stderr says why), 2 usage error,\n"
        "3 matplotlib is not installed (pip install 'ambient[report]'), 130 interrupted",
    )
    report.add_argument("--person", required=True, help="whose week (a person's id)")
    report.add_argument("--week", help="ISO week such as 2026-W49 (default: the last full week)")
    report.add_argument(
        "--out",
        "-o",
        type=Path,
        metavar="FILE",
        help="file to write, mode 0600 (default: ambient-PERSON-WEEK.html; -: stdout)",
    )
    scan = _subcommand(
        commands,
        common,
        "scan",
        "find heart-rate wearables nearby and print them as config lines",
        "ambient scan --timeout 20",
        "exit codes: 0 devices listed, 1 none seen or Bluetooth unavailable (one line on\n"
        "stderr says why), 2 usage error, 130 interrupted",
    )
    scan.add_argument("--adapter", help="BlueZ adapter, e.g. hci0 (default: the system's)")
    scan.add_argument(
        "--timeout", type=_positive_float, default=10.0, metavar="S", help="seconds (10)"
    )
    status = _subcommand(
        commands,
        common,
        "status",
        "ask the running daemon: sensors, signals, rule phases, queues, counters",
        "ambient status        # finds the daemon you started, else the system one",
        "exit codes: 0 the daemon answered, 1 no daemon answered (the reason is printed), "
        "2 usage error,\n130 interrupted",
    )
    _config_positional(status)
    status.add_argument("--json", action="store_true", help="the daemon's status document as JSON")
    record = _subcommand(
        commands,
        common,
        "record",
        "write what the live sensors read to a recording (from the running daemon if one runs)",
        "ambient record my.yaml --out session.csv --duration 30min",
        "exit codes: 0 done (Ctrl-C, --duration or the daemon's stop ends it), 1 failed (one line\n"
        "on stderr says why), 2 usage error",
    )
    _config_positional(record)
    record.add_argument(
        "--out",
        "-o",
        type=Path,
        required=True,
        metavar="FILE",
        help="file.csv or file.jsonl (-: stdout, as CSV)",
    )
    record.add_argument(
        "--duration",
        type=_positive_duration,
        metavar="DURATION",
        help="stop after this long (default: at Ctrl-C)",
    )
    export = _subcommand(
        commands,
        common,
        "export",
        "write out everything the store holds about one person (JSON or CSV, optionally "
        "age-encrypted)",
        "ambient export --person alex --out alex.json.age --age-recipient age1...",
        "exit codes: 0 written, 1 failed or no such person (one the store holds nothing about\n"
        "and the config does not list; one line on stderr says why), 2 usage error,\n"
        "130 interrupted",
    )
    export.add_argument("--person", required=True, help="the person's id")
    export.add_argument(
        "--format",
        choices=["json", "csv"],
        default="json",
        help="json: one document (default); csv: one line per stored row",
    )
    export.add_argument(
        "--out", "-o", type=Path, metavar="FILE", help="file, mode 0600 (default or -: stdout)"
    )
    export.add_argument(
        "--age-recipient",
        action="append",
        default=[],
        metavar="RECIPIENT",
        help="encrypt to this age (age1...) or SSH public key; repeatable",
    )
    forget = _subcommand(
        commands,
        common,
        "forget",
        "erase one person: store rows, retained MQTT topics (HA drops the device), recordings",
        "systemctl stop ambient && ambient forget --person alex --yes",
        "exit codes: 0 forgotten, 1 refused or a part not erased (said which), 2 usage error,\n"
        "130 interrupted",
    )
    forget.add_argument("--person", required=True, help="the person's id")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    baseline = _subcommand(
        commands,
        common,
        "baseline",
        "show a person's resting baseline (prior, provisional or personal), or reset it",
        "ambient baseline show --person alex --config /etc/ambient/ambient.yaml",
        "exit codes: 0 shown or reset (also before anything is learnt, or with no store yet),\n"
        "1 refused (one line says why: an unknown person, the daemon running, a saved baseline\n"
        "that cannot be read), 2 usage error, 130 interrupted",
    )
    baseline.add_argument(
        "action", choices=["show", "reset"], help="show: what has been learned; reset: forget it"
    )
    baseline.add_argument("--person", required=True, help="the person's id")
    baseline.add_argument("--json", action="store_true", help="show: one JSON document")
    baseline.add_argument(
        "--beats",
        choices=["chest", "pulse"],
        help="reset: only the ln RMSSD of this kind of beats (a chest strap's, a watch's)",
    )
    insights = _subcommand(
        commands,
        common,
        "insights",
        # (the newline: the description is printed as written; the list of commands wraps it)
        "show what ambient learnt of each calming option per person: episodes, mean response\n"
        "and how likely each option is now",
        "ambient insights --person alex --config /etc/ambient/ambient.yaml",
        "exit codes: 0 shown (also when nothing is learnt yet), 1 no store or unknown person\n"
        "(one line says why), 2 usage error, 130 interrupted",
    )
    insights.add_argument("--person", help="only this person (default: everyone)")
    insights.add_argument(
        "--json", action="store_true", help="one JSON object per line, per option and rule"
    )
    store = _subcommand(
        commands,
        common,
        "store",
        "change the key of the encrypted store (the daemon stopped)",
        "systemctl stop ambient && ambient store rekey --new-key-file /etc/ambient/store.key.new",
        "exit codes: 0 rekeyed, 1 refused (one line says why: no encryption, daemon running,\n"
        "a key that does not open it), 2 usage error, 130 interrupted",
    )
    store.add_argument("action", choices=["rekey"], help="rekey: encrypt it with a new key")
    store.add_argument(
        "--new-key-file",
        type=Path,
        required=True,
        metavar="FILE",
        help="file holding the new key, mode 0600 (64 hex digits, or a passphrase)",
    )
    _config_positional(store)
    return parser


def _add_state_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state",
        type=_state_arg,
        action="append",
        default=[],
        metavar="ENTITY=VALUE",
        help="an HA entity's state for the rules (repeatable), e.g. person.alex=home",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` names: its exit code. Ctrl-C exits 130 quietly. Started by
    ``ambient/__main__.py``, which gives SIGINT its default action while the modules load
    (Ctrl-C ends the process quietly), ``KeyboardInterrupt`` is turned on only inside the
    ``try`` and off again as ``main`` returns: a Ctrl-C as the process exits kills it quietly."""
    quiet_outside = False
    if os.environ.get("JOURNAL_STREAM"):  # a service's: its failures at the error priority
        from ambient.logs import mark_errors_in_the_journal

        mark_errors_in_the_journal()
    try:
        quiet_outside = signal.getsignal(signal.SIGINT) == signal.SIG_DFL
        if quiet_outside:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        parser = build_parser()
        try:
            args = _parse(parser, argv)
        except SystemExit:  # --help, --version (argparse drops what stdout cannot take)
            if not output.stdout_flushed():
                return 1
            raise
        _resolve_config(args, parser)
        return _run(args)
    except KeyboardInterrupt:
        return 130
    finally:
        if quiet_outside:
            signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run(args: argparse.Namespace) -> int:
    handler = _COMMANDS[args.command]
    try:
        code = handler(args)
        output.flush_stdout()  # output stdout cannot take is said here, not lost at exit
        return code
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as other Unix tools do.
        output.discard_stdout()
        return 1
    except Exception as exc:
        message = expected_failure(exc)
        if message is None:
            raise  # a bug: its traceback is what a report needs
        if isinstance(exc, OSError) and exc.filename == output.STDOUT_NAME:
            output.discard_stdout()
        print(f"ambient {args.command}: {message}", file=sys.stderr)
        return 1


def _resolve_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """``args.config``: the positional config, else ``--config`` (before or after the
    subcommand), else ``$AMBIENT_CONFIG``, else the default path. ``args.config_given`` says
    whether the user named one, ``args.config_from_env`` whether by the variable."""
    from ambient.config.loader import DEFAULT_CONFIG_PATH

    positional = getattr(args, "config_file", None)
    option = args.config
    if positional is not None and option is not None and positional.resolve() != option.resolve():
        parser.error(f"two configs given: {positional} and --config {option}")
    named = positional or option
    from_env = os.environ.get(CONFIG_ENV) or None
    args.config_given = named is not None or from_env is not None
    args.config_from_env = named is None and from_env is not None
    args.config = named or (Path(from_env) if from_env else DEFAULT_CONFIG_PATH)


_COMMANDS = {
    "check": check.check,
    "run": live.run,
    "simulate": replay.simulate,
    "evaluate": replay.evaluate,
    "analyze": replay.analyze,
    "trace": stored.trace,
    "report": stored.report,
    "scan": live.scan,
    "status": live.status,
    "record": live.record,
    "export": stored.export,
    "forget": stored.forget,
    "baseline": stored.baseline,
    "insights": stored.insights,
    "store": stored.store,
}
