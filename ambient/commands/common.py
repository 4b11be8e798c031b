"""What the subcommand handlers share: logging set-up, the config or its problems, the store
key, one-line failures."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import tzinfo

    from ambient.config import AmbientConfig
    from ambient.store_crypto import StoreKey


def configure_logging(
    args: argparse.Namespace, config: AmbientConfig | None = None, timeline: bool = False
) -> None:
    from ambient.logs import setup_logging

    level = args.log_level or (config.logging.level if config else "INFO")
    fmt = args.log_format or (config.logging.format if config else "text")
    setup_logging(level, fmt, timeline)


def load_or_report(
    args: argparse.Namespace, *, environment: bool = True, whole_recordings: bool = False
) -> AmbientConfig | None:
    """The config, or None after printing every problem to stderr; ``environment``: with what
    ``run`` needs of this machine checked too (``whole_recordings``: each recording read to
    its end)."""
    from ambient.config import ConfigError, load_config

    if not args.config.exists() and (not args.config_given or args.config_from_env):
        # A newcomer's first command, or a stale variable in a shell profile: say where the
        # name came from, not only that the file is not there.
        print(f"ambient {args.command}: {_unnamed_config_missing(args)}", file=sys.stderr)
        return None
    try:
        return load_config(args.config, environment=environment, whole_recordings=whole_recordings)
    except ConfigError as exc:
        count = len(exc.issues)
        print(f"{args.config}: {count} problem{'' if count == 1 else 's'}:", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return None


def _unnamed_config_missing(args: argparse.Namespace) -> str:
    if args.config_from_env:
        return f"$AMBIENT_CONFIG names {args.config}, and there is no such file"
    return (
        f"no config given, and there is none at {args.config}: "
        "name one with --config FILE or $AMBIENT_CONFIG"
    )


def with_config(
    command: Callable[[argparse.Namespace, AmbientConfig], int],
) -> Callable[[argparse.Namespace], int]:
    """A subcommand that needs the config: exit 1 once its problems are printed when it does
    not load."""

    @functools.wraps(command)
    def with_config(args: argparse.Namespace) -> int:
        config = load_or_report(args)
        return 1 if config is None else command(args, config)

    return with_config


def with_stored_data_config(
    command: Callable[[argparse.Namespace, AmbientConfig], int],
) -> Callable[[argparse.Namespace], int]:
    """As :func:`with_config`, for a subcommand that only reads or erases what the store keeps:
    what ``run`` needs of this machine (a recording, a TLS file, matplotlib for the weekly
    report) is not asked of it, so ``forget`` and ``export`` work whatever became of those."""

    @functools.wraps(command)
    def with_config(args: argparse.Namespace) -> int:
        config = load_or_report(args, environment=False)
        return 1 if config is None else command(args, config)

    return with_config


def config_zone(config: AmbientConfig) -> tzinfo | None:
    """The config's time zone (checked when the config was loaded), else None: the system's."""
    if config.timezone is None:
        return None
    from zoneinfo import ZoneInfo

    return ZoneInfo(config.timezone)


def store_key(config: AmbientConfig) -> StoreKey | None:
    """The key of an encrypted store, None for a plain one."""
    from ambient.store_crypto import read_key

    return read_key(config.store.encryption) if config.store.encryption else None


def reporting_failures(
    command: str, run: Callable[[], int], failures: tuple[type[Exception], ...]
) -> int:
    """``run()``'s exit code; one of ``failures`` is one line and exit 1, a ``--plot`` without
    matplotlib one line and exit 3 (see ambient.cli.PLOT_EXIT_CODES)."""
    from ambient.plot import PlotUnavailable

    try:
        return run()
    except failures as exc:
        print(f"ambient {command}: {exc}", file=sys.stderr)
        return 1
    except PlotUnavailable as exc:
        print(f"ambient {command}: {exc}", file=sys.stderr)
        return 3
