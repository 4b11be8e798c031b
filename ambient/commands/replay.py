"""The subcommands that replay recordings: ``simulate`` the rules, ``evaluate`` them on labelled
recordings, ``analyze`` the signals."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ambient.commands.common import (
    configure_logging,
    load_or_report,
    reporting_failures,
    with_config,
)

if TYPE_CHECKING:
    from ambient.config import AmbientConfig


@with_config
def simulate(args: argparse.Namespace, config: AmbientConfig) -> int:
    configure_logging(args, config)
    if args.plot is not None:
        from ambient.plot import check_writable_file

        check_writable_file(args.plot)  # before the replay, not after it
    from ambient.simulate import SimulationError, run_simulate

    return reporting_failures(
        "simulate",
        lambda: run_simulate(
            config, args.recording, args.json, sys.stdout, dict(args.state), args.plot
        ),
        (SimulationError,),
    )


@with_config
def evaluate(args: argparse.Namespace, config: AmbientConfig) -> int:
    args.log_level = args.log_level or "WARNING"  # not a line per replayed recording
    configure_logging(args, config)
    if args.plot is not None:
        from ambient.plot import check_writable_folder

        check_writable_folder(args.plot)  # before the replays, not after them
    from ambient.evaluate.command import run_evaluate
    from ambient.evaluate.run import EvaluationError
    from ambient.labels import LabelsError

    return reporting_failures(
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


def analyze(args: argparse.Namespace) -> int:
    """The recording's windows: with the signal settings and people of a config when one is
    named (--config or $AMBIENT_CONFIG), else the defaults."""
    from ambient.signals.analyze import AnalyzeSettings, run_analyze

    settings = None
    config = None
    if args.config_given:
        config = load_or_report(args, environment=False)
        if config is None:
            return 1
        settings = AnalyzeSettings.of(config)
    configure_logging(args, config)
    # A recording that cannot be read (RecordingError) is main's one line and exit 1.
    return run_analyze(args.recording, args.window, args.json, sys.stdout, settings)
