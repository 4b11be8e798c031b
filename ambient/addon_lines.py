"""The add-on's config mistakes, said at the user's own line.

``ambient check`` reads the config the add-on generates (``/data/ambient.yaml``: the user's
sections re-written with the Supervisor's added), so its ``file:line:column`` named a file the
user never sees, at lines that are not theirs. Each such line is moved to the same node in the
user's file: the key path the message names, and whether it pointed at the key, its value or
the mapping holding it. A node the add-on added (``store.path``) keeps the generated place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml

#: ``<file>:<line>:<column>: <key path>: <message>``, as ``ambient check`` prints an issue.
_ISSUE = re.compile(
    r"^(?P<indent>\s*)(?P<file>[^\s:]+):(?P<line>\d+):(?P<column>\d+): (?P<rest>.*)$"
)
_COUNT = re.compile(r"\d+ problems?:$")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")

#: A node's place: 1-based line and column, as the config loader counts.
Place = tuple[int, int]


def relocate_lines(
    lines: Iterable[str], generated: Path, user: Path, user_shown: str
) -> Iterator[str]:
    """``lines`` with every issue in ``generated`` that also exists in ``user`` moved there."""
    generated_root = _compose(generated)
    user_root = _compose(user)
    for line in lines:
        yield _relocate(line, str(generated), generated_root, user_root, user_shown)


def _relocate(
    line: str,
    generated: str,
    generated_root: yaml.Node | None,
    user_root: yaml.Node | None,
    user_shown: str,
) -> str:
    if line.startswith(f"{generated}: ") and _COUNT.match(line, len(generated) + 2):
        return user_shown + line[len(generated) :]  # the heading: "<file>: 2 problems:"
    match = _ISSUE.match(line)
    if match is None or match["file"] != generated or generated_root is None or user_root is None:
        return line
    path_text = match["rest"].partition(": ")[0]
    path = _parse_path(path_text)
    if path is None:
        return line
    place = (int(match["line"]), int(match["column"]))
    role = _role(generated_root, path, place)
    user_place = None if role is None else _place(user_root, path, role)
    if user_place is None:
        return line
    ending = "\n" if line.endswith("\n") else ""
    return f"{match['indent']}{user_shown}:{user_place[0]}:{user_place[1]}: {match['rest']}{ending}"


def _compose(path: Path) -> yaml.Node | None:
    try:
        return yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def _parse_path(text: str) -> list[str | int] | None:
    parts: list[str | int] = []
    position = 0
    for match in _PATH_PART.finditer(text):
        if match.start() not in (position, position + 1):  # only a '.' between parts
            return None
        parts.append(match[1] if match[1] is not None else int(match[2]))
        position = match.end()
    return parts if parts and position == len(text) else None


def _nodes(root: yaml.Node, path: list[str | int]) -> dict[str, yaml.Node] | None:
    """The nodes a message on ``path`` may point at: its key, its value, or (a key missing)
    the mapping that should hold it."""
    node, key_node, parent = root, None, root
    for index, part in enumerate(path):
        parent, key_node = node, None
        last = index == len(path) - 1
        if isinstance(part, int) and isinstance(node, yaml.SequenceNode):
            if part >= len(node.value):
                return {"parent": parent} if last else None
            node = node.value[part]
        elif isinstance(part, str) and isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if getattr(k, "value", None) == part]
            if not found:
                return {"parent": parent} if last else None
            key_node, node = found[-1]  # a repeated key (prepare refuses it): PyYAML's last
        else:
            return None
    nodes = {"value": node, "parent": parent}
    if key_node is not None:
        nodes["key"] = key_node
    return nodes


def _mark(node: yaml.Node) -> Place:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _role(root: yaml.Node, path: list[str | int], place: Place) -> str | None:
    nodes = _nodes(root, path)
    if nodes is None:
        return None
    for role in ("key", "value", "parent"):
        if role in nodes and _mark(nodes[role]) == place:
            return role
    return None


def _place(root: yaml.Node, path: list[str | int], role: str) -> Place | None:
    nodes = _nodes(root, path)
    if nodes is None or role not in nodes:
        return None
    return _mark(nodes[role])
