"""The ``ambient`` command line. Each subcommand imports only what it needs, so ``check`` and
``status`` start fast and a config without BLE never loads bleak."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ambient import __version__
from ambient.config.durations import parse_duration

if TYPE_CHECKING:
    from ambient.config import AmbientConfig

_LOGGER = logging.getLogger("ambient")


def _duration_arg(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    from ambient.config.loader import DEFAULT_CONFIG_PATH

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        "-c",
        type=Path,
        default=DEFAULT_CONFIG_PATH,
        help=f"config file (default {DEFAULT_CONFIG_PATH})",
    )
    common.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    common.add_argument("--log-format", choices=["text", "json"])

    parser = argparse.ArgumentParser(
        prog="ambient", description="A calm, private, stress-aware home."
    )
    parser.add_argument("--version", action="version", version=f"ambient {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser(
        "check", parents=[common], help="validate the config and show what it sets up"
    )
    run = commands.add_parser("run", parents=[common], help="run the daemon")
    run.add_argument(
        "--speed",
        type=_positive_float,
        default=None,
        help="run the clock N times faster (for replaying recordings)",
    )
    simulate = commands.add_parser(
        "simulate", parents=[common], help="replay a recording through the rules (no side effects)"
    )
    simulate.add_argument("--recording", "-r", type=Path, help="recording to replay")
    simulate.add_argument("--json", action="store_true", help="one JSON object per line")
    analyze = commands.add_parser(
        "analyze", parents=[common], help="print the signals per window of a recording"
    )
    analyze.add_argument("--recording", "-r", type=Path, required=True)
    analyze.add_argument("--json", action="store_true", help="one JSON object per line")
    analyze.add_argument("--window", type=_duration_arg, default=60.0, help="window (60s)")
    trace = commands.add_parser("trace", parents=[common], help="show recent rule traces")
    trace.add_argument("rule", nargs="?", help="only this rule")
    trace.add_argument("--json", action="store_true")
    scan = commands.add_parser("scan", parents=[common], help="find heart-rate wearables nearby")
    scan.add_argument("--adapter", help="BlueZ adapter, e.g. hci0")
    scan.add_argument("--timeout", type=_positive_float, default=10.0, help="seconds (10)")
    status = commands.add_parser("status", parents=[common], help="ask the running daemon")
    status.add_argument("--json", action="store_true")
    record = commands.add_parser(
        "record", parents=[common], help="write what the live sensors read to a recording"
    )
    record.add_argument("--out", "-o", type=Path, required=True, help="file.csv or file.jsonl")
    record.add_argument("--duration", type=_duration_arg, help="stop after this long")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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


def _setup_logging(args: argparse.Namespace, config: AmbientConfig | None = None) -> None:
    from ambient.logs import setup_logging

    level = args.log_level or (config.logging.level if config else "INFO")
    fmt = args.log_format or (config.logging.format if config else "text")
    setup_logging(level, fmt)


def _load(args: argparse.Namespace) -> AmbientConfig | None:
    """The config, or None after printing every problem to stderr."""
    from ambient.config import ConfigError, load_config

    try:
        return load_config(args.config)
    except ConfigError as exc:
        print(f"{args.config}: {len(exc.issues)} problem(s):", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return None


def _cmd_check(args: argparse.Namespace) -> int:
    config = _load(args)
    if config is None:
        return 1
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
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    config = _load(args)
    if config is None:
        return 1
    _setup_logging(args, config)
    import asyncio

    from ambient.clock import Clock, RealClock, ScaledClock
    from ambient.daemon import Daemon, DaemonOptions
    from ambient.simulate import format_trace

    clock: Clock = ScaledClock(args.speed) if args.speed else RealClock()

    def print_trace(record: object) -> None:
        from ambient.messages import TraceRecord

        assert isinstance(record, TraceRecord)
        # Times from when the sensors started: with a recording, its own t.
        print(format_trace(record, daemon.started_at, as_json=False), flush=True)

    options = DaemonOptions(trace_listeners=[print_trace])
    daemon = Daemon(config, clock, options, config_path=args.config)

    async def serve() -> int:
        daemon.install_signal_handlers()
        return await daemon.run()

    return asyncio.run(serve())


def _cmd_simulate(args: argparse.Namespace) -> int:
    config = _load(args)
    if config is None:
        return 1
    _setup_logging(args, config)
    from ambient.recordings import RecordingError
    from ambient.simulate import SimulationError, run_simulate

    try:
        return run_simulate(config, args.recording, args.json, sys.stdout)
    except (SimulationError, RecordingError) as exc:
        print(f"ambient simulate: {exc}", file=sys.stderr)
        return 1


def _cmd_analyze(args: argparse.Namespace) -> int:
    _setup_logging(args)
    from ambient.recordings import RecordingError
    from ambient.signals.analyze import run_analyze

    try:
        return run_analyze(args.recording, args.window, args.json, sys.stdout)
    except RecordingError as exc:
        print(f"ambient analyze: {exc}", file=sys.stderr)
        return 1


def _cmd_trace(args: argparse.Namespace) -> int:
    config = _load(args)
    if config is None:
        return 1
    from ambient.rules.trace_cli import run_trace

    return run_trace(config.store.path, args.rule, args.json, sys.stdout)


def _cmd_scan(args: argparse.Namespace) -> int:
    _setup_logging(args)
    import asyncio

    from ambient.sensors.scan import scan

    return asyncio.run(scan(args.adapter, args.timeout, sys.stdout))


def _cmd_status(args: argparse.Namespace) -> int:
    config = _load(args)
    if config is None:
        return 1
    from ambient.status import run_status

    if config.store.path is None:
        print("ambient status: the config keeps no state directory (store.path: null)")
        return 1
    return run_status(config.store.path.parent / "ambient.sock", args.json, sys.stdout)


def _cmd_record(args: argparse.Namespace) -> int:
    config = _load(args)
    if config is None:
        return 1
    _setup_logging(args, config)
    import asyncio

    from ambient.clock import RealClock
    from ambient.daemon import Daemon, DaemonOptions
    from ambient.recordings import RecordingWriter

    writer = RecordingWriter(args.out)
    clock = RealClock()
    daemon = Daemon(
        config,
        clock,
        DaemonOptions(record_to=writer, services=False, store_in_memory=True),
        config_path=args.config,
    )

    async def serve() -> int:
        daemon.install_signal_handlers()
        if args.duration:
            clock.call_later(args.duration, daemon.request_stop)
        return await daemon.run()

    try:
        return asyncio.run(serve())
    finally:
        writer.close()
        print(f"wrote {args.out}", file=sys.stderr)


_COMMANDS = {
    "check": _cmd_check,
    "run": _cmd_run,
    "simulate": _cmd_simulate,
    "analyze": _cmd_analyze,
    "trace": _cmd_trace,
    "scan": _cmd_scan,
    "status": _cmd_status,
    "record": _cmd_record,
}
