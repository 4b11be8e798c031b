"""Dependencies point one way: readings flow sensors → signals → rules → actuators, and no stage
imports a later one; the core beside them (clock, config, readings, messages, ports, store)
imports none of the stages; only the commands that run the daemon import ``daemon.py``.

Imports inside functions (the lazy ones that keep start-up fast) count as much as those at the
top of a module.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ambient"

STAGES = ("sensors", "signals", "rules", "actuators")
CORE = (
    "clock",
    "config",
    "counters",
    "messages",
    "ports",
    "private_files",
    "readings",
    "recordings",
    "store",
    "store_crypto",
)
#: The entry points that build and run a :class:`ambient.daemon.Daemon`.
RUN_THE_DAEMON = {"ambient.commands.live", "ambient.simulate"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    """``ambient.rules.engine`` → ``rules``; ``ambient.clock`` → ``clock``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


@functools.cache
def imports() -> list[tuple[str, str]]:
    """(importing module, imported ambient module) for every import anywhere in a module."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = module_name(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported = [node.module]
            elif isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            else:
                continue
            for name in imported:
                if name == "ambient" or name.startswith("ambient."):
                    found.append((importer, name))
    return found


def test_the_walk_sees_lazy_imports_too() -> None:
    # the daemon imports the rule engine inside a method: a walk that missed it proves nothing
    assert ("ambient.daemon", "ambient.rules.engine") in set(imports())


def test_no_stage_imports_a_later_stage() -> None:
    backwards = [
        f"{importer} imports {imported}"
        for importer, imported in imports()
        if part_of(importer) in STAGES
        and part_of(imported) in STAGES
        and STAGES.index(part_of(imported)) > STAGES.index(part_of(importer))
    ]
    assert backwards == []


def test_the_core_imports_no_stage() -> None:
    reaching_out = [
        f"{importer} imports {imported}"
        for importer, imported in imports()
        if part_of(importer) in CORE and part_of(imported) not in CORE
    ]
    assert reaching_out == []


def test_only_the_commands_that_run_it_import_the_daemon() -> None:
    importers = {
        importer
        for importer, imported in imports()
        if imported == "ambient.daemon" and importer != "ambient.daemon"
    }
    assert importers <= RUN_THE_DAEMON
