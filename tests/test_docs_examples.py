"""Every YAML example in README.md, docs/*.md and the add-on's DOCS.md is valid, because users
copy them.

A block with config sections (``rules:``, ``sensors:``, ``mqtt:`` ...) is loaded by the loader
``ambient check`` uses; what such an excerpt leaves to the rest of the reader's file (the people
it names, an ``homeassistant:`` or ``mqtt:`` section its actions or sensors need) is added
after it, so that every line of the block keeps its place and a problem is reported at the
page's line. A list of rules, and an ``actions:`` list, are loaded inside a config the same way.
A block of names and strings whose names the page's configs read with ``!secret`` is the
page's ``secrets.yaml``. Files an example names on the reader's machine (a CA, a key file, the
store's folder) are made, empty, under a temporary directory standing in for that machine.
Blocks that are not ambient's YAML at all are listed below with what they are.

The rest a reader copies or follows is held too: every ``ambient`` command of the shell blocks
is one the command line takes, every link between the pages leads to a file and a heading that
are there, the field tables of the JSON outputs list the fields printed, the README's
exit-code table has every code a command's ``--help`` gives, and its config table every
section and kind of sensor.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent, indent
from typing import Any

import pytest
import yaml
from fixtures.mosquitto import make_tls_files

from ambient.config import ConfigError, load_config
from ambient.config.root import AmbientConfig

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "deploy" / "homeassistant-addon" / "DOCS.md",
]

# Blocks that are not ambient's own YAML, by page and the block's first line, with what they are.
NOT_AMBIENT_YAML = {
    ("docs/insights.md", "type: statistics-graph"): "a Home Assistant dashboard card",
    ("docs/mqtt.md", '# esphome node "bedroom-hr"'): "an ESPHome device's config",
    ("docs/mqtt.md", "condition:"): "a Home Assistant automation's condition",
    ("docs/privacy.md", "action: recorder.purge_entities"): "an action run in HA's developer tools",
}

# What an excerpt leaves to the rest of the reader's file: the people the docs' examples name
# and the two connections. A section the block sets itself is never replaced.
CONTEXT: dict[str, Any] = {
    "people": [{"id": "alex", "name": "Alex"}, {"id": "sam", "name": "Sam"}],
    "homeassistant": {"url": "http://homeassistant.local:8123", "token": "a-token"},
    "mqtt": {"host": "localhost"},
}

# A rule around an `actions:` example; it reads the two signals the examples' messages name.
RULE_HEAD = """\
rules:
  - id: docs_example
    triggers: [{trigger: signal, signal: stress_score, above: 70}]
    conditions: [{condition: signal, signal: hr, above: 90}]
"""

# Folders of the reader's machine that the examples name files in.
MACHINE_FOLDERS = ("/etc/ambient/", "/etc/ssl/", "/var/lib/ambient/")
SECRET = re.compile(r"!secret\s+(\w+)")
FENCE = re.compile(
    r"^(?P<indent>[ ]*)```yaml[ ]*\n(?P<body>.*?)^(?P=indent)```[ ]*$", re.MULTILINE | re.DOTALL
)


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository
    line: int  # the page's line of the block's first line
    text: str  # without the indentation of a block inside a list item

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0]

    def data(self) -> Any:
        """The block as plain YAML, a secret read as its name."""
        return yaml.safe_load(SECRET.sub(r"\1", self.text))


def yaml_blocks() -> list[Block]:
    blocks = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            blocks.append(
                Block(
                    page=str(page.relative_to(ROOT)),
                    line=text.count("\n", 0, match.start("body")) + 1,
                    text=dedent(match["body"]),
                )
            )
    return blocks


BLOCKS = yaml_blocks()


def kind_of(block: Block) -> str:
    """What the block is an example of: config, rules, actions, secrets or foreign."""
    if (block.page, block.first_line) in NOT_AMBIENT_YAML:
        return "foreign"
    data = block.data()
    if isinstance(data, list):
        return "rules"
    if isinstance(data, dict) and set(data) == {"actions"}:
        return "actions"
    if isinstance(data, dict) and set(data) <= set(AmbientConfig.model_fields):
        return "config"
    if isinstance(data, dict) and all(isinstance(value, str) for value in data.values()):
        return "secrets"
    raise AssertionError(f"{block.page}:{block.line}: a YAML example of no kind this test knows")


def problems_loading(block: Block, machine: Path) -> list[str]:
    """Every problem the loader finds in the block, each at the page's line."""
    text = block.text
    for folder in MACHINE_FOLDERS:
        text = text.replace(folder, f"{machine}{folder}")
    for named in re.findall(rf"{re.escape(str(machine))}/[\w./-]+", text):
        path = Path(named)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix in (".crt", ".pem"):  # a CA file is loaded as a certificate
            path.write_bytes(make_tls_files(path.parent).ca_file.read_bytes())
        elif path.suffix != ".db":  # the store is made by ambient; its folder must be there
            path.touch()
    kind = kind_of(block)
    if kind == "rules":
        head = "rules:\n"
    elif kind == "actions":
        head, text = RULE_HEAD, indent(text, "    ")
    else:
        head = ""
    sections = set(yaml.safe_load(SECRET.sub(r"\1", head + text)) or {})
    rest = {name: value for name, value in CONTEXT.items() if name not in sections}
    config = machine / "ambient.yaml"
    config.write_text(head + text + "\n" + (yaml.safe_dump(rest) if rest else ""), encoding="utf-8")
    secrets = machine / "secrets.yaml"
    secrets.write_text(
        yaml.safe_dump({name: "stand-in" for name in SECRET.findall(text)}), encoding="utf-8"
    )
    head_lines = head.count("\n")
    try:
        load_config(config, secrets)
    except ConfigError as error:
        return [
            f"{block.page}:{block.line + issue.line - 1 - head_lines if issue.line else '?'}: "
            f"{issue.path}: {issue.message}"
            for issue in error.issues
        ]
    return []


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{b.page}:{b.line}" for b in BLOCKS])
def test_every_yaml_example_in_the_docs_loads_as_what_it_shows(
    block: Block, tmp_path: Path
) -> None:
    kind = kind_of(block)
    if kind == "foreign":
        pytest.skip(f"not ambient's YAML: {NOT_AMBIENT_YAML[block.page, block.first_line]}")
    if kind == "secrets":
        used = {
            name
            for other in BLOCKS
            if other.page == block.page
            for name in SECRET.findall(other.text)
        }
        assert set(block.data()) <= used, "a secrets.yaml example names secrets no config reads"
        return
    problems = problems_loading(block, tmp_path)
    assert not problems, "\n".join(problems)


def stress_score_thresholds(data: Any) -> list[float]:
    """Every number a trigger, condition or wait compares ``stress_score`` with."""
    if isinstance(data, list):
        return [value for item in data for value in stress_score_thresholds(item)]
    if not isinstance(data, dict):
        return []
    found = [value for item in data.values() for value in stress_score_thresholds(item)]
    if data.get("signal") == "stress_score":
        for key in ("above", "below"):
            value = data.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                found.append(float(value))
    return found


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{b.page}:{b.line}" for b in BLOCKS])
def test_every_stress_score_threshold_in_the_docs_is_on_the_scores_0_to_100_scale(
    block: Block,
) -> None:
    """A rule on a 0-1 scale (``above: 0.7``) loads, and fires at almost any score."""
    if kind_of(block) in ("foreign", "secrets"):
        return
    thresholds = stress_score_thresholds(block.data())
    assert all(1 < value < 100 for value in thresholds), thresholds


def test_the_list_of_foreign_blocks_names_blocks_that_are_there() -> None:
    present = {(block.page, block.first_line) for block in BLOCKS}
    assert set(NOT_AMBIENT_YAML) <= present


def test_a_mistake_in_an_example_is_reported_at_its_line_on_the_page(tmp_path: Path) -> None:
    """The test can fail: a misspelt key in a rule example is found, at the page's line."""
    block = Block(
        "docs/example.md",
        40,
        "- id: typo\n  triggers: [{trigger: time, at: '07:00'}]\n  cooldwn: 5min\n  actions: []\n",
    )
    problems = problems_loading(block, tmp_path)
    assert len(problems) == 1
    assert problems[0].startswith("docs/example.md:42: rules[0].cooldwn: unknown key")


def test_the_fields_of_a_trace_the_first_rule_page_lists_are_those_trace_json_prints() -> None:
    from ambient.messages import ActionResult, TraceRecord

    page = (ROOT / "docs" / "first-rule.md").read_text()
    section = page.split("## What `ambient trace --json` says\n", 1)[1].split("\n#", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    documented = {name.strip(" `[]") for row in rows for name in row.split(",")}
    record = TraceRecord(1.0, "r", "fired", "why", actions=(ActionResult("log", True),))
    assert documented == set(record.as_dict())
    actions_row = next(line for line in section.splitlines() if line.startswith("| `actions[]`"))
    for field in record.as_dict()["actions"][0]:
        assert f"`{field}`" in actions_row


# An `ambient` command line in a shell block: `$ ` and `sudo ` before it, a `# ...` comment,
# `&& ...` and a redirection after it are the shell's; `\` continues it on the next line. A
# synopsis (`[--json]`, `...`) and output lines (`ambient 0.1.0 · instance ...`) are not run.
COMMAND = re.compile(r"^\s*(?:\$ )?(?:sudo )?(ambient (?:-|[a-z]+(?!\S))[^#>]*?)\s*(?:[#>].*)?$")


def shell_blocks(page: Path) -> list[tuple[int, list[str]]]:
    """The page's fenced blocks that are not YAML or JSON: (line of the first, lines)."""
    blocks: list[tuple[int, list[str]]] = []
    inside: str | None = None  # the language of the block we are in
    for number, line in enumerate(page.read_text().splitlines(), start=1):
        if line.strip().startswith("```"):
            if inside is None:
                inside = line.strip()[3:].strip()
                if inside not in ("yaml", "json"):
                    blocks.append((number + 1, []))
            else:
                inside = None
        elif inside is not None and inside not in ("yaml", "json"):
            blocks[-1][1].append(line)
    return blocks


def shell_commands() -> list[tuple[str, str]]:
    """Every ``ambient`` command line of the pages' shell blocks: (page:line, command)."""
    commands = []
    for page in PAGES:
        for first, lines in shell_blocks(page):
            joined = "\n".join(lines).replace("\\\n", " ").splitlines()
            for offset, line in enumerate(joined):
                for part in line.split("&&"):
                    match = COMMAND.match(part)
                    if match and not any(mark in part for mark in ("[", "...", "…")):
                        where = f"{page.relative_to(ROOT)}:{first + offset}"
                        commands.append((where, match.group(1)))
    return commands


@pytest.mark.parametrize(("where", "command"), shell_commands())
def test_every_ambient_command_in_the_docs_shell_blocks_is_one_the_command_line_takes(
    where: str, command: str
) -> None:
    """Options renamed or removed since a page was written fail here, not in a reader's
    terminal. (The blocks' outputs are the pages' own; the commands run are tested where
    their behaviour is.)"""
    import shlex

    from ambient.cli import _parse, build_parser

    try:
        _parse(build_parser(), shlex.split(command)[1:])
    except SystemExit as exc:  # --help and --version exit 0 once they have printed
        assert exc.code == 0, f"{where}: `{command}` is refused: exit {exc.code}"


LINK = re.compile(r"\]\((?P<file>[^)\s#]*)(?:#(?P<anchor>[^)\s]+))?\)")


def heading_anchors(page: Path) -> set[str]:
    """The anchors GitHub makes of a page's headings: lower case, spaces to `-`, every other
    character but letters, digits, `_` and `-` dropped."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    headings = re.findall(r"^#+\s+(.+?)\s*$", text, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def page_links() -> list[tuple[str, str, str | None]]:
    """Every link of the pages to a file of the repository: (page:line, file, anchor)."""
    links = []
    for page in PAGES:
        for number, line in enumerate(page.read_text().splitlines(), start=1):
            for link in LINK.finditer(line):
                if "://" not in line[link.start() : link.end()]:
                    where = f"{page.relative_to(ROOT)}:{number}"
                    target = str((page.parent / link["file"]).resolve()) if link["file"] else ""
                    links.append((where, target or str(page), link["anchor"]))
    return links


@pytest.mark.parametrize(("where", "target", "anchor"), page_links())
def test_every_link_between_the_pages_leads_to_a_file_and_heading_that_are_there(
    where: str, target: str, anchor: str | None
) -> None:
    path = Path(target)
    assert path.exists(), f"{where}: no {path.relative_to(ROOT)}"
    if anchor is not None and path.suffix == ".md":
        assert anchor in heading_anchors(path), f"{where}: no heading #{anchor} in {path.name}"


def json_blocks() -> list[tuple[str, str]]:
    """Every ```json block of the pages: (page:line, text)."""
    blocks = []
    for page in PAGES:
        lines = page.read_text().splitlines()
        starts = [n for n, line in enumerate(lines) if line.strip() == "```json"]
        for start in starts:
            end = next(n for n in range(start + 1, len(lines)) if lines[n].strip() == "```")
            blocks.append(
                (f"{page.relative_to(ROOT)}:{start + 2}", "\n".join(lines[start + 1 : end]))
            )
    return blocks


@pytest.mark.parametrize(("where", "text"), json_blocks())
def test_every_json_example_in_the_docs_is_json(where: str, text: str) -> None:
    """One document, or JSON Lines (one object per line, as the commands print them)."""
    try:
        json.loads(text)
    except json.JSONDecodeError:
        for line in text.splitlines():
            json.loads(line)


def shown_in(shown: Any, printed: Any, where: str = "") -> None:
    """Every value of the docs' example ``shown`` is ``printed``'s; a ``"..."`` key stands for
    what the example leaves out, as does a dict the example shows fewer keys of."""
    if isinstance(shown, dict):
        assert isinstance(printed, dict), where
        for key, value in shown.items():
            if key != "...":
                assert key in printed, f"{where}.{key} is not printed"
                shown_in(value, printed[key], f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(printed, list) and len(shown) == len(printed), where
        for index, (one, other) in enumerate(zip(shown, printed, strict=True)):
            shown_in(one, other, f"{where}[{index}]")
    else:
        assert shown == printed, (
            f"{where}: the page shows {shown!r}, the command prints {printed!r}"
        )


def test_the_evaluate_json_example_is_what_the_command_above_it_prints(tmp_path: Path) -> None:
    """docs/recordings.md shows `evaluate --json` of the demo with the labels its shell block
    writes: the example's values are the command's (the labels' file name aside)."""
    from ambient.evaluate.command import run_evaluate

    page = (ROOT / "docs" / "recordings.md").read_text()
    labels_line = re.search(r"^echo '(?P<line>.*)' > labels\.jsonl$", page, re.MULTILINE)
    assert labels_line is not None
    labels = tmp_path / "labels.jsonl"
    labels.write_text(labels_line["line"] + "\n")
    example = next(text for where, text in json_blocks() if '"rules": [' in text)
    out = io.StringIO()
    config = load_config(ROOT / "config" / "demo.yaml")
    recording = Path("ambient/data/demo.csv")  # as the page's command names it, from ROOT
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        assert run_evaluate(config, recording, labels, None, {}, out, json_output=True) == 0
    printed = json.loads(out.getvalue())
    shown = json.loads(example)
    shown["recordings"][0]["labels"] = printed["recordings"][0]["labels"]
    shown_in(shown, printed)


def readme_table(heading_cell: str) -> list[list[str]]:
    """The rows of the README's table whose header row starts with ``heading_cell``, as
    cells."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith(f"| {heading_cell} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_the_readme_exit_code_table_has_every_code_a_command_s_help_gives() -> None:
    """`ambient COMMAND --help` gives its exit codes, and the README's table says what each
    means: a code a command gives (3: `--plot` without matplotlib) is in the table."""
    import argparse

    from ambient.cli import build_parser

    parser = build_parser()
    commands = next(
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    given: dict[str, str] = {}
    for name, command in commands.choices.items():
        # A help laid out otherwise would give no code to compare: the test would pass on
        # nothing. Every command says at least its 0 and its usage error.
        epilog = command.epilog or ""
        assert "exit codes:" in epilog, f"`ambient {name} --help` gives no exit codes"
        codes = re.findall(r"(?:^|, |\n)\s*(\d+) ", epilog.split("exit codes:", 1)[1])
        assert {"0", "2"} <= set(codes), f"`ambient {name} --help`: exit codes not found: {codes}"
        for code in codes:
            given.setdefault(code, name)
    documented = {row[0] for row in readme_table("exit")}
    missing = {code: name for code, name in given.items() if code not in documented}
    assert not missing, f"exit codes the README's table leaves out (code: a command): {missing}"


def test_the_readme_config_table_names_every_section_and_every_kind_of_sensor() -> None:
    from typing import get_args

    from ambient.config.sensors import SensorConfig

    rows = readme_table("section")
    sections = {name for row in rows for name in re.findall(r"`(\w+)`", row[0])}
    assert sections == set(AmbientConfig.model_fields)
    sensors_row = next(row for row in rows if row[0] == "`sensors`")
    kinds = set(re.findall(r"`(\w+)`", sensors_row[1].split("picks the kind:", 1)[1]))
    union = get_args(get_args(SensorConfig)[0])
    assert kinds == {get_args(model.model_fields["type"].annotation)[0] for model in union}
