"""``ambient check``: the config, valid or not, and what it sets up."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ambient.commands.common import configure_logging, load_or_report

if TYPE_CHECKING:
    from ambient.config import AmbientConfig


def check(args: argparse.Namespace) -> int:
    """The config's problems (exit 1), else what it sets up. What ``run`` needs of this
    machine is checked too, each recording sensor's file read to its end (a block at a time):
    a fault deep in it fails here, not in ``run`` when it gets there."""
    configure_logging(args)  # a recording's skipped rows, logged as `run` will log them
    config = load_or_report(args, whole_recordings=True)
    return 1 if config is None else _describe(args, config)


def _describe(args: argparse.Namespace, config: AmbientConfig) -> int:
    """The description on stdout; with ``--quiet`` (the unit's check before each start, whose
    output is the journal's) only its warnings and notes: what is wrong, not what is fine."""
    from ambient.privacy.store_status import describe_store

    store_line, store_usable = describe_store(config.store)
    if store_usable:
        if not args.quiet:
            print(f"{args.config}: OK")
    else:
        _report_store_problem(args.config, config, store_line)
    if not args.quiet:
        _summarise(config, store_line)
    from ambient.config import config_warnings
    from ambient.logs import goes_to_journal

    # The unit's check is where they reach the journal: at its warning priority, so that
    # `journalctl -p warning` shows them (the rest of the description stays info).
    priority = "<4>" if goes_to_journal(sys.stdout) else ""
    for warning in config_warnings(args.config, config):
        print(f"{priority}Warning: {warning}")
    for note in _idle_notes(config):
        print(f"Note: {note}")
    return 0 if store_usable else 1


def _summarise(config: AmbientConfig, store_line: str) -> None:
    """What the config sets up: people, sensors, rules, connections, the store."""
    print(f"People ({len(config.people)}):")
    for person in config.people:
        print(f"  {person.id}  {person.display_name}")
    print(f"Sensors ({len(config.sensors)}):")
    from ambient.sensors.factory import sensor_name

    for index, sensor in enumerate(config.sensors):
        who = f" for {sensor.person}" if sensor.person else ""
        level = getattr(sensor, "person_topic_level", None)
        if level is not None:
            who = f" for the person topic level {level} names"
        elif sensor.type == "satellite":
            who = " for the people its batches name"
        print(f"  {sensor_name(sensor, index)}  ({sensor.type}){who}")
    print(f"Rules ({len(config.rules)}):")
    for rule in config.rules:
        alias = f"  {rule.alias}" if rule.alias else ""
        print(f"  {rule.id}{alias}")
    connections = [name for name in ("homeassistant", "mqtt") if getattr(config, name) is not None]
    print(f"Connections: {', '.join(connections) or 'none (actions are logged)'}")
    print(f"Store: {store_line}")


def _report_store_problem(file: Path, config: AmbientConfig, problem: str) -> None:
    """A store ``run`` cannot open is a problem as a config error is: on stderr, at its place
    in the file (the description still follows on stdout, its store line saying it again)."""
    from ambient.config.loader import issue_at
    from ambient.config.yaml_source import load_yaml

    key_path = ("store", "encryption") if config.store.encryption else ("store", "path")
    issue = issue_at(load_yaml(file), key_path, problem)
    print(f"{file}: 1 problem:\n  {issue}", file=sys.stderr)


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
