"""The ``ambient`` command line. Each subcommand imports only what it needs, so ``check`` and
``status`` start fast and a config without BLE never loads bleak."""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from ambient import __version__
from ambient.config.durations import parse_duration

if TYPE_CHECKING:
    from ambient.config import AmbientConfig
    from ambient.store_crypto import StoreKey

_LOGGER = logging.getLogger("ambient")


def _duration_arg(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_duration(text: str) -> float:
    value = _duration_arg(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be longer than 0 s, got `{text}`")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: `{text}`") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got `{text}`")
    return value


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
    "3 --plot given but matplotlib is not installed (pip install 'ambient[plot]')"
)


def expected_failure(exc: BaseException) -> str | None:
    """The one line to print for a failure a user can act on (a file that cannot be opened,
    a second daemon, a bad recording), or None for anything else: a bug keeps its traceback.
    An exception group (from a task group) counts when every exception in it does."""
    import sqlite3

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
    if isinstance(exc, expected):
        return str(exc)
    if isinstance(exc, sqlite3.OperationalError):
        return f"the state file cannot be used ({exc})"
    return None


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
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
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


def _config_positional(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "config_file", nargs="?", type=Path, metavar="CONFIG", help="config file (as --config)"
    )


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _add_common_options(common, argparse.SUPPRESS)

    parser = argparse.ArgumentParser(
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
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = _subcommand(
        commands,
        common,
        "check",
        "validate the config and show what it sets up",
        "ambient check /etc/ambient/ambient.yaml",
        "exit codes: 0 valid, 1 invalid (every problem is listed with file:line:column), "
        "2 usage error",
    )
    _config_positional(check)
    run = _subcommand(
        commands,
        common,
        "run",
        "run the daemon until stopped (SIGHUP reloads the config)",
        "ambient run --config config/demo.yaml --speed 600",
        "exit codes: 0 stopped, 1 could not start (the reason is printed), 2 usage error",
    )
    _config_positional(run)
    run.add_argument(
        "--speed",
        type=_positive_float,
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
        help="one JSON object per line: t, rule, event, reason, actions",
    )
    _add_state_option(simulate)
    simulate.add_argument(
        "--plot",
        type=Path,
        metavar="FILE",
        help="also draw the timeline (heart rate, HRV, stress score, firings) as a PNG to FILE",
    )
    evaluate = _subcommand(
        commands,
        common,
        "evaluate",
        "score the rules on labelled recordings: episodes found, latency, false alarms",
        "ambient evaluate config/ambient.example.yaml --recordings bench/data/stress-predict "
        "--state person.alex=home",
        PLOT_EXIT_CODES,
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
        "--plot", type=Path, metavar="DIR", help="also draw a timeline per recording: DIR/NAME.png"
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
        type=_positive_duration,
        default=60.0,
        metavar="DURATION",
        help="window length, e.g. 60s or 5min (default 60s)",
    )
    trace = _subcommand(
        commands,
        common,
        "trace",
        "show the recent traces of the rules (why each fired, or did not)",
        "ambient trace calm_alex --config /etc/ambient/ambient.yaml",
        "exit codes: 0 traces shown, 1 none to show or no such rule, 2 usage error",
    )
    trace.add_argument("rule", nargs="?", help="only this rule (its id)")
    trace.add_argument("--json", action="store_true", help="one JSON object per trace")
    report = _subcommand(
        commands,
        common,
        "report",
        "write a person's weekly report: one HTML page that works offline and on a phone",
        "ambient report --person alex --week 2026-W49 --out alex.html",
        "exit codes: 0 written (its path printed), 1 failed (one line on stderr says why), "
        "2 usage error",
    )
    report.add_argument("--person", required=True, help="whose week (a person's id)")
    report.add_argument("--week", help="ISO week such as 2026-W49 (default: the last full week)")
    report.add_argument("--out", type=Path, help="file to write (default: ambient-P-WEEK.html)")
    scan = _subcommand(
        commands,
        common,
        "scan",
        "find heart-rate wearables nearby and print them as config lines",
        "ambient scan --timeout 20",
        "exit codes: 0 scanned, 1 failed, 2 Bluetooth unavailable or usage error",
    )
    scan.add_argument("--adapter", help="BlueZ adapter, e.g. hci0 (default: the system's)")
    scan.add_argument(
        "--timeout", type=_positive_float, default=10.0, metavar="S", help="seconds (10)"
    )
    status = _subcommand(
        commands,
        common,
        "status",
        "ask the running daemon: sensors, signals, rule phases, queues, errors",
        "ambient status        # finds the daemon you started, else the system one",
        "exit codes: 0 the daemon answered, 1 no daemon answered (the reason is printed)",
    )
    _config_positional(status)
    status.add_argument("--json", action="store_true", help="the daemon's status document as JSON")
    record = _subcommand(
        commands,
        common,
        "record",
        "write what the live sensors read to a recording (from the running daemon if one runs)",
        "ambient record my.yaml --out session.csv --duration 30min",
    )
    _config_positional(record)
    record.add_argument(
        "--out", "-o", type=Path, required=True, metavar="FILE", help="file.csv or file.jsonl"
    )
    record.add_argument(
        "--duration", type=_positive_duration, metavar="DURATION", help="stop after this long"
    )
    export = _subcommand(
        commands,
        common,
        "export",
        "write out everything the store holds about one person (JSON or CSV, optionally "
        "age-encrypted)",
        "ambient export --person alex --out alex.json.age --age-recipient age1...",
    )
    export.add_argument("--person", required=True, help="the person's id")
    export.add_argument("--format", choices=["json", "csv"], default="json", help="(json)")
    export.add_argument(
        "--out", "-o", type=Path, metavar="FILE", help="file to write, mode 0600 (default stdout)"
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
        "exit codes: 0 forgotten, 1 refused or a part not erased (said which), 2 usage error",
    )
    forget.add_argument("--person", required=True, help="the person's id")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    baseline = _subcommand(
        commands,
        common,
        "baseline",
        "show a person's resting baseline (prior, provisional or personal), or reset it",
        "ambient baseline show --person alex --config /etc/ambient/ambient.yaml",
        "exit codes: 0 shown or reset, 1 refused (one line says why: unknown person, no "
        "store, daemon running), 2 usage error",
    )
    baseline.add_argument(
        "action", choices=["show", "reset"], help="show: what has been learned; reset: forget it"
    )
    baseline.add_argument("--person", required=True, help="the person's id")
    baseline.add_argument("--json", action="store_true", help="show: one JSON document")
    insights = _subcommand(
        commands,
        common,
        "insights",
        "show what ambient learnt of each calming option per person: episodes, mean response "
        "and how likely each option is now",
        "ambient insights --person alex --config /etc/ambient/ambient.yaml",
        "exit codes: 0 shown (also when nothing is learnt yet), 1 no store or unknown person "
        "(one line says why), 2 usage error",
    )
    insights.add_argument("--person", help="only this person (default: everyone)")
    insights.add_argument("--json", action="store_true", help="one JSON object per option")
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
    parser = build_parser()
    args = parser.parse_args(argv)
    _resolve_config(args, parser)
    handler = _COMMANDS[args.command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as other Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:
        message = expected_failure(exc)
        if message is None:
            raise  # a bug: its traceback is what a report needs
        print(f"ambient {args.command}: {message}", file=sys.stderr)
        return 1


def _resolve_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """``args.config``: the positional config, else ``--config`` (before or after the
    subcommand), else ``$AMBIENT_CONFIG``, else the default path. ``args.config_given`` says
    whether the user named one."""
    from ambient.config.loader import DEFAULT_CONFIG_PATH

    positional = getattr(args, "config_file", None)
    option = args.config
    if positional is not None and option is not None and positional != option:
        parser.error(f"two configs given: {positional} and --config {option}")
    named = positional or option
    from_env = os.environ.get(CONFIG_ENV) or None
    args.config_given = named is not None or from_env is not None
    args.config = named or (Path(from_env) if from_env else DEFAULT_CONFIG_PATH)


def _setup_logging(
    args: argparse.Namespace, config: AmbientConfig | None = None, timeline: bool = False
) -> None:
    from ambient.logs import setup_logging

    level = args.log_level or (config.logging.level if config else "INFO")
    fmt = args.log_format or (config.logging.format if config else "text")
    setup_logging(level, fmt, timeline)


def _load(args: argparse.Namespace) -> AmbientConfig | None:
    """The config, or None after printing every problem to stderr."""
    from ambient.config import ConfigError, load_config

    try:
        return load_config(args.config)
    except ConfigError as exc:
        count = len(exc.issues)
        print(f"{args.config}: {count} problem{'' if count == 1 else 's'}:", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return None


def _with_config(
    command: Callable[[argparse.Namespace, AmbientConfig], int],
) -> Callable[[argparse.Namespace], int]:
    """A subcommand that needs the config: exit 1 once its problems are printed when it does
    not load."""

    @functools.wraps(command)
    def with_config(args: argparse.Namespace) -> int:
        config = _load(args)
        return 1 if config is None else command(args, config)

    return with_config


def _store_key(config: AmbientConfig) -> StoreKey | None:
    """The key of an encrypted store, None for a plain one."""
    from ambient.store_crypto import read_key

    return read_key(config.store.encryption) if config.store.encryption else None


def _reporting_failures(
    command: str, run: Callable[[], int], failures: tuple[type[Exception], ...]
) -> int:
    """``run()``'s exit code; one of ``failures`` is one line and exit 1, a ``--plot`` without
    matplotlib one line and exit 3 (see PLOT_EXIT_CODES)."""
    from ambient.plot import PlotUnavailable

    try:
        return run()
    except failures as exc:
        print(f"ambient {command}: {exc}", file=sys.stderr)
        return 1
    except PlotUnavailable as exc:
        print(f"ambient {command}: {exc}", file=sys.stderr)
        return 3


@_with_config
def _cmd_check(args: argparse.Namespace, config: AmbientConfig) -> int:
    print(f"{args.config}: OK")
    print(f"People ({len(config.people)}):")
    for person in config.people:
        print(f"  {person.id}  {person.display_name}")
    print(f"Sensors ({len(config.sensors)}):")
    from ambient.sensors.factory import sensor_name

    for index, sensor in enumerate(config.sensors):
        who = f" for {sensor.person}" if sensor.person else ""
        print(f"  {sensor_name(sensor, index)}  ({sensor.type}){who}")
    print(f"Rules ({len(config.rules)}):")
    for rule in config.rules:
        alias = f"  {rule.alias}" if rule.alias else ""
        print(f"  {rule.id}{alias}")
    connections = [name for name in ("homeassistant", "mqtt") if getattr(config, name) is not None]
    print(f"Connections: {', '.join(connections) or 'none (actions are logged)'}")
    from ambient.privacy.store_status import describe_store

    store_line, store_usable = describe_store(config.store)
    print(f"Store: {store_line}")
    from ambient.config import config_warnings

    for warning in config_warnings(args.config, config):
        print(f"Warning: {warning}")
    for note in _idle_notes(config):
        print(f"Note: {note}")
    return 0 if store_usable else 1


def _idle_notes(config: AmbientConfig) -> list[str]:
    """What a valid config leaves out that makes ambient do nothing at all."""
    if not config.sensors and not config.rules:
        return [
            "this config does nothing: it has no sensors and no rules "
            "(docs/first-rule.md shows a first one)"
        ]
    if not config.sensors:
        return ["no sensors: nothing is read, so only time, cron, state and mqtt rules can fire"]
    if not config.rules:
        return ["no rules: readings become signals, but nothing ever acts on them"]
    return []


@_with_config
def _cmd_run(args: argparse.Namespace, config: AmbientConfig) -> int:
    _setup_logging(args, config, timeline=True)
    import asyncio

    from ambient.clock import Clock, RealClock, ScaledClock
    from ambient.daemon import Daemon, DaemonOptions
    from ambient.logs import Timeline

    clock: Clock = ScaledClock(args.speed) if args.speed else RealClock()
    timeline = Timeline(sys.stdout, _timezone(config))
    options = DaemonOptions(trace_listeners=[timeline])
    daemon = Daemon(config, clock, options, config_path=args.config)

    async def serve() -> int:
        daemon.install_signal_handlers()
        return await daemon.run()

    return asyncio.run(serve())


def _timezone(config: AmbientConfig) -> tzinfo | None:
    """The config's time zone (checked when the config was loaded), else the system's."""
    if config.timezone is None:
        return None
    from zoneinfo import ZoneInfo

    return ZoneInfo(config.timezone)


@_with_config
def _cmd_simulate(args: argparse.Namespace, config: AmbientConfig) -> int:
    _setup_logging(args, config)
    from ambient.simulate import SimulationError, run_simulate

    return _reporting_failures(
        "simulate",
        lambda: run_simulate(
            config, args.recording, args.json, sys.stdout, dict(args.state), args.plot
        ),
        (SimulationError,),
    )


@_with_config
def _cmd_evaluate(args: argparse.Namespace, config: AmbientConfig) -> int:
    args.log_level = args.log_level or "WARNING"  # not a line per replayed recording
    _setup_logging(args, config)
    from ambient.evaluate.command import run_evaluate
    from ambient.evaluate.run import EvaluationError
    from ambient.labels import LabelsError

    return _reporting_failures(
        "evaluate",
        lambda: run_evaluate(
            config,
            args.recordings,
            args.labels,
            args.rule,
            dict(args.state),
            sys.stdout,
            json_output=args.json,
            plot_dir=args.plot,
        ),
        (EvaluationError, LabelsError),
    )


def _cmd_analyze(args: argparse.Namespace) -> int:
    _setup_logging(args)
    from ambient.signals.analyze import run_analyze

    # A recording that cannot be read (RecordingError) is main's one line and exit 1.
    return run_analyze(args.recording, args.window, args.json, sys.stdout)


@_with_config
def _cmd_trace(args: argparse.Namespace, config: AmbientConfig) -> int:
    rule_ids = [rule.id for rule in config.rules]
    if args.rule is not None and args.rule not in rule_ids:
        known = ", ".join(rule_ids) or "none"
        print(f"ambient trace: no rule {args.rule} (rules: {known})", file=sys.stderr)
        return 1
    path = config.store.path
    if path is None:
        print(
            "ambient trace: this config keeps no store (store.path: null), "
            "so traces live only while ambient runs",
            file=sys.stderr,
        )
        return 1
    if not path.exists():
        print(f"ambient trace: no store at {path} yet: has the daemon run?", file=sys.stderr)
        return 1
    from ambient.rules.trace_cli import run_trace

    return run_trace(path, args.rule, args.json, sys.stdout, _store_key(config))


@_with_config
def _cmd_report(args: argparse.Namespace, config: AmbientConfig) -> int:
    import time

    from ambient.insights.report_cli import run_report

    return run_report(
        config, args.person, args.week, args.out, time.time(), sys.stderr, _store_key(config)
    )


def _cmd_scan(args: argparse.Namespace) -> int:
    _setup_logging(args)
    import asyncio

    from ambient.sensors.scan import scan

    return asyncio.run(scan(args.adapter, args.timeout, sys.stdout))


def _cmd_status(args: argparse.Namespace) -> int:
    from ambient.status import find_socket, run_status, socket_path_for

    if args.config_given:
        config = _load(args)
        if config is None:
            return 1
        if config.store.path is None:
            print(
                f"ambient status: {args.config} keeps no store (store.path: null), "
                "so its daemon has no status socket",
                file=sys.stderr,
            )
            return 1
        return run_status(socket_path_for(config.store.path), args.json, sys.stdout)
    return run_status(find_socket(), args.json, sys.stdout)


@_with_config
def _cmd_record(args: argparse.Namespace, config: AmbientConfig) -> int:
    _setup_logging(args, config)
    import asyncio

    from ambient.clock import RealClock
    from ambient.daemon import Daemon, DaemonOptions
    from ambient.recordings import RecordingWriter

    writer = RecordingWriter(args.out)
    clock = RealClock()

    async def from_daemon() -> bool:
        """What the running daemon of this config reads, when one does: the sensors stay
        the daemon's (a strap takes one connection; a broker session is per client)."""
        from ambient.reading_stream import record_from_daemon
        from ambient.status import socket_path_for

        if config.store.path is None:
            return False
        socket = socket_path_for(config.store.path)
        return await record_from_daemon(socket, writer.write, args.duration, clock)

    async def serve() -> int:
        if await from_daemon():
            return 0
        daemon = Daemon(
            config,
            clock,
            DaemonOptions(record_to=writer, services=False, store_in_memory=True),
            config_path=args.config,
        )
        daemon.install_signal_handlers()
        if args.duration:
            clock.call_later(args.duration, daemon.request_stop)
        return await daemon.run()

    try:
        return asyncio.run(serve())
    finally:
        writer.close()
        print(f"wrote {args.out}", file=sys.stderr)
        from ambient.privacy.retention import unmanaged_recording_note

        note = unmanaged_recording_note(args.out, config.retention, config.store.path)
        if note is not None:
            print(f"note: {note}", file=sys.stderr)


@_with_config
def _cmd_export(args: argparse.Namespace, config: AmbientConfig) -> int:
    from ambient.privacy.commands import run_export

    return run_export(
        config, args.person, args.format, args.out, args.age_recipient, sys.stdout, sys.stderr
    )


@_with_config
def _cmd_forget(args: argparse.Namespace, config: AmbientConfig) -> int:
    from ambient.privacy.commands import run_forget

    return run_forget(config, args.person, args.yes, sys.stdin, sys.stdout, sys.stderr)


@_with_config
def _cmd_baseline(args: argparse.Namespace, config: AmbientConfig) -> int:
    from ambient.signals.baseline_cli import run_baseline

    return run_baseline(config, args.action, args.person, args.json, sys.stdout, sys.stderr)


@_with_config
def _cmd_insights(args: argparse.Namespace, config: AmbientConfig) -> int:
    from ambient.interventions.insights_cli import run_insights

    return run_insights(config, args.person, args.json, sys.stdout, sys.stderr)


_COMMANDS = {
    "check": _cmd_check,
    "run": _cmd_run,
    "simulate": _cmd_simulate,
    "evaluate": _cmd_evaluate,
    "analyze": _cmd_analyze,
    "trace": _cmd_trace,
    "report": _cmd_report,
    "scan": _cmd_scan,
    "status": _cmd_status,
    "record": _cmd_record,
    "export": _cmd_export,
    "forget": _cmd_forget,
    "baseline": _cmd_baseline,
    "insights": _cmd_insights,
}
