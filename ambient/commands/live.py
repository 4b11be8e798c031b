"""The subcommands of the live home: ``run`` the daemon, ``record`` what the sensors read, ask
the running daemon its ``status``, ``scan`` for wearables."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ambient.commands.common import config_zone, configure_logging, load_or_report, with_config

if TYPE_CHECKING:
    from ambient.config import AmbientConfig


@with_config
def run(args: argparse.Namespace, config: AmbientConfig) -> int:
    configure_logging(args, config, timeline=True)
    import asyncio

    from ambient.clock import Clock, RealClock, ScaledClock
    from ambient.daemon import Daemon, DaemonOptions
    from ambient.logs import Timeline, timeline_shows_values

    clock: Clock = RealClock()
    if args.speed:
        # The running config's: a reload (SIGHUP) may change rr_gap or a stale_after.
        clock = ScaledClock(args.speed, pauses_s=pauses_following(lambda: daemon.config))
    values = timeline_shows_values(config.logging.timeline_values, sys.stdout)
    timeline = Timeline(sys.stdout, config_zone(config), values)
    options = DaemonOptions(trace_listeners=[timeline])
    daemon = Daemon(config, clock, options, config_path=args.config)

    async def serve() -> int:
        daemon.install_signal_handlers()
        return await daemon.run()

    return asyncio.run(serve())


def pauses_the_signals_see_s(config: AmbientConfig) -> list[float]:
    """The gaps between readings the signals tell from none, which a replay at ``--speed``
    that falls behind must not open where the recording has none (``ScaledClock``'s
    ``pauses_s``): beats further apart than ``rr_gap`` restart their cleaning, a reading older
    than its ``stale_after`` (a recording sensor's own: a watch's samples minutes apart, else
    the signals') is stale."""
    from ambient.config.sensors import RecordingSensorConfig

    signals = config.signals
    spans = {
        sensor.stale_after or signals.stale_after
        for sensor in config.sensors
        if isinstance(sensor, RecordingSensorConfig)
    }
    return sorted({signals.rr_gap, signals.stale_after, *spans})


def pauses_following(running: Callable[[], AmbientConfig]) -> Callable[[], list[float]]:
    """:func:`pauses_the_signals_see_s` of the ``running`` config, whichever it is now (a
    reload replaces it), worked out again only when it was replaced: the clock asks at
    each late reading."""
    known: list[tuple[AmbientConfig, list[float]]] = []

    def pauses() -> list[float]:
        config = running()
        if not known or known[0][0] is not config:
            known[:] = [(config, pauses_the_signals_see_s(config))]
        return known[0][1]

    return pauses


def scan(args: argparse.Namespace) -> int:
    configure_logging(args)
    import asyncio

    from ambient.sensors.scan import scan

    people = people_for_scan(args)
    return asyncio.run(scan(args.adapter, args.timeout, sys.stdout, people=people))


def people_for_scan(args: argparse.Namespace) -> list[str] | None:
    """The ids under ``people:`` of the config ``run`` would read (``--config``, else
    ``$AMBIENT_CONFIG``, else the default path), for whose heart the entries are; None when
    there is none, or it cannot be read (said in one line on stderr when it was named: the
    scan goes on, its entries then say whose to put)."""
    from ambient.config import ConfigError, load_config

    try:
        if not args.config_given and not args.config.exists():  # may raise: a folder 0700
            return None
        return load_config(args.config, environment=False).person_ids()
    except (ConfigError, OSError) as exc:
        problem = exc.issues[0] if isinstance(exc, ConfigError) and exc.issues else exc
        print(
            f"ambient scan: not reading the people of {args.config} ({problem}): each entry's "
            "`person:` is left for you to fill in",
            file=sys.stderr,
        )
        return None


def status(args: argparse.Namespace) -> int:
    from ambient.status import run_status, socket_path_for

    if args.config_given:
        config = load_or_report(args)
        if config is None:
            return 1
        if config.store.path is None:
            print(
                f"ambient status: {args.config} keeps no store (store.path: null), "
                "so its daemon has no status socket",
                file=sys.stderr,
            )
            return 1
        started_by = f"(`ambient run {shlex.quote(str(args.config))}` starts it)"

        def differs(document: dict[str, Any]) -> list[str]:
            return config_differs_note(config, args.config, document)

        socket = socket_path_for(config.store.path)
        return run_status(socket, args.json, sys.stdout, started_by, differs)
    return run_status(None, args.json, sys.stdout)


def config_differs_note(
    config: AmbientConfig, path: Path, document: Mapping[str, Any]
) -> list[str]:
    """A note when the running daemon's rules or sensors are not the file's: it runs the
    config as it read it at its start or last reload, and the file was edited since."""
    from ambient.sensors.factory import sensor_name

    if document.get("starting"):  # not wired yet: no rules or sensors to compare
        return []
    kinds = {
        "rules": (
            [rule.id for rule in config.rules],
            [rule.get("id") for rule in document.get("rules") or []],
        ),
        "sensors": (
            [sensor_name(sensor, i) for i, sensor in enumerate(config.sensors)],
            [sensor.get("name") for sensor in document.get("sensors") or []],
        ),
    }
    facts = []
    for kind, (in_file, in_daemon) in kinds.items():
        only_file = [name for name in dict.fromkeys(in_file) if name not in in_daemon]
        only_daemon = [str(name) for name in dict.fromkeys(in_daemon) if name not in in_file]
        where = [f"only in the file: {', '.join(only_file)}"] if only_file else []
        if only_daemon:
            where.append(f"only in the daemon: {', '.join(only_daemon)}")
        if where:
            facts.append(f"{kind} {'; '.join(where)}")
    if not facts:
        return []
    pid = document.get("pid")
    by_hand = f"`kill -HUP {pid}`" if isinstance(pid, int) else "kill -HUP its pid"
    return [
        f"note: the daemon runs another version of {path} ({'; '.join(facts)}): reload it "
        f"to apply the file (`systemctl reload ambient`; for a daemon started by hand, {by_hand})"
    ]


@with_config
def record(args: argparse.Namespace, config: AmbientConfig) -> int:
    if not config.sensors:  # else it would wait, until stopped, for readings none can send
        print(f"ambient record: {args.config} has no sensors to record", file=sys.stderr)
        return 1
    configure_logging(args, config)
    import asyncio

    from ambient.clock import RealClock
    from ambient.commands.record_output import RecordOutput, written_note
    from ambient.daemon import Daemon, DaemonOptions

    writer = RecordOutput(args.out)
    clock = RealClock()

    async def from_daemon() -> bool:
        """What the running daemon of this config reads, when one does: the sensors stay
        the daemon's (a strap takes one connection; a broker session is per client)."""
        from ambient.reading_stream import record_from_daemon
        from ambient.status import socket_path_for

        if config.store.path is None:
            return False
        socket = socket_path_for(config.store.path)
        return await record_from_daemon(socket, writer.write_or_raise, args.duration, clock)

    async def serve() -> int:
        if await from_daemon():
            return 0
        daemon = Daemon(
            config,
            clock,
            DaemonOptions(record_to=writer, services=False, store_in_memory=True),
            config_path=args.config,
        )
        writer.stop = daemon.request_stop
        daemon.install_signal_handlers()
        if args.duration:
            clock.call_later(args.duration, daemon.request_stop)
        return await daemon.run()

    try:
        code = asyncio.run(serve())
    finally:
        writer.close()
        if writer.failure is None:
            for line in written_note(args.out, config.retention, config.store.path):
                print(line, file=sys.stderr)
    if writer.failure is not None:
        raise writer.failure  # main's one line (quiet for a closed pipe), exit 1
    return code
