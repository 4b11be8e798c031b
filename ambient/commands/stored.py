"""The subcommands that read or change what the store keeps: ``trace``, ``report``, ``export``,
``forget``, ``baseline``, ``insights``, ``store``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ambient.commands.common import config_zone, store_key, with_stored_data_config

if TYPE_CHECKING:
    from ambient.config import AmbientConfig


@with_stored_data_config
def trace(args: argparse.Namespace, config: AmbientConfig) -> int:
    rule_ids = [rule.id for rule in config.rules]
    if args.rule is not None and args.rule not in rule_ids:
        known = ", ".join(rule_ids) or "none"
        print(f"ambient trace: no rule {args.rule} (rules: {known})", file=sys.stderr)
        return 1
    from ambient.rules.trace_cli import run_trace
    from ambient.store import existing_store_path

    # No store is a StoreError: main's one line and exit 1.
    path = existing_store_path(config.store, "traces live only while ambient runs")
    return run_trace(
        path, args.rule, args.json, sys.stdout, sys.stderr, store_key(config), config_zone(config)
    )


@with_stored_data_config
def report(args: argparse.Namespace, config: AmbientConfig) -> int:
    import time

    from ambient.insights.report_cli import run_report

    return run_report(
        config, args.person, args.week, args.out, time.time(), sys.stderr, store_key(config)
    )


@with_stored_data_config
def export(args: argparse.Namespace, config: AmbientConfig) -> int:
    from ambient.privacy.commands import run_export

    return run_export(
        config, args.person, args.format, args.out, args.age_recipient, sys.stdout, sys.stderr
    )


@with_stored_data_config
def forget(args: argparse.Namespace, config: AmbientConfig) -> int:
    from ambient.privacy.commands import run_forget

    return run_forget(config, args.person, args.yes, sys.stdin, sys.stdout, sys.stderr)


@with_stored_data_config
def baseline(args: argparse.Namespace, config: AmbientConfig) -> int:
    from ambient.signals.baseline_cli import run_baseline

    return run_baseline(
        config, args.action, args.person, args.json, sys.stdout, sys.stderr, beats=args.beats
    )


@with_stored_data_config
def insights(args: argparse.Namespace, config: AmbientConfig) -> int:
    import time

    from ambient.interventions.insights_cli import run_insights

    return run_insights(config, args.person, args.json, sys.stdout, sys.stderr, time.time())


@with_stored_data_config
def store(args: argparse.Namespace, config: AmbientConfig) -> int:
    from ambient.privacy.rekey import run_rekey

    return run_rekey(config, args.new_key_file, sys.stdout)
