"""YAML reading that remembers where every key came from, with HA's ``!secret`` and ``!env``.

PyYAML composes a node tree that carries line and column marks; we build plain data from it and
keep a map from key path to position, so validation errors can name ``file:line:column``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr

from ambient.config.errors import ConfigError, ConfigIssue, format_path

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Position:
    file: str
    line: int
    column: int


@dataclass
class YamlDocument:
    """Plain data plus where each path was written."""

    file: str
    data: Any
    positions: dict[KeyPath, Position] = field(default_factory=dict)
    secret_paths: set[KeyPath] = field(default_factory=set)

    def position_of(self, path: KeyPath) -> Position | None:
        """The position of ``path``, or of its nearest written ancestor."""
        for end in range(len(path), -1, -1):
            position = self.positions.get(path[:end])
            if position is not None:
                return position
        return None


class _Builder:
    def __init__(self, file: Path, secrets_file: Path) -> None:
        self.file = file
        self.secrets_file = secrets_file
        self._secrets: dict[str, Any] | None = None
        self.issues: list[ConfigIssue] = []
        self.positions: dict[KeyPath, Position] = {}
        self.secret_paths: set[KeyPath] = set()
        self._scalars = yaml.SafeLoader("")

    def _pos(self, mark: yaml.Mark) -> Position:
        return Position(str(self.file), mark.line + 1, mark.column + 1)

    def _issue(self, node: yaml.Node, path: KeyPath, message: str) -> None:
        pos = self._pos(node.start_mark)
        self.issues.append(ConfigIssue(pos.file, pos.line, pos.column, format_path(path), message))

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                self.positions[(*path, index)] = self._pos(child.start_mark)
                items.append(self.build(child, (*path, index)))
            return items
        assert isinstance(node, yaml.ScalarNode)
        if node.tag == "!secret":
            self.secret_paths.add(path)
            return self._secret(node, path)
        if node.tag == "!env":
            return self._env(node, path)
        if node.tag.startswith("!"):
            self._issue(node, path, f"unknown tag `{node.tag}`; allowed: !secret, !env")
            return None
        return self._scalars.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged = self.build(value_node, path)
                for item in merged if isinstance(merged, list) else [merged]:
                    if isinstance(item, dict):
                        for key, value in item.items():
                            result.setdefault(key, value)
                continue
            key = self._scalars.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            child_path = (*path, key)
            if key in result:
                self._issue(key_node, child_path, f"duplicate key `{key}`")
            self.positions[child_path] = self._pos(key_node.start_mark)
            result[key] = self.build(value_node, child_path)
        return result

    def _secret(self, node: yaml.ScalarNode, path: KeyPath) -> SecretStr | None:
        name = str(node.value).strip()
        secrets = self._load_secrets(node, path)
        if secrets is None:
            return None
        if name not in secrets:
            known = ", ".join(sorted(secrets)) or "none"
            self._issue(
                node, path, f"secret `{name}` is not in {self.secrets_file} (it defines: {known})"
            )
            return None
        return SecretStr(str(secrets[name]))

    def _load_secrets(self, node: yaml.Node, path: KeyPath) -> dict[str, Any] | None:
        if self._secrets is None:
            try:
                loaded = yaml.safe_load(self.secrets_file.read_text(encoding="utf-8"))
            except FileNotFoundError:
                self._issue(node, path, f"!secret needs {self.secrets_file}, which does not exist")
                return None
            except yaml.YAMLError as exc:
                self._issue(node, path, f"{self.secrets_file} is not valid YAML: {exc}")
                return None
            self._secrets = loaded if isinstance(loaded, dict) else {}
        return self._secrets

    def _env(self, node: yaml.ScalarNode, path: KeyPath) -> str | None:
        name, _, default = str(node.value).strip().partition(" ")
        value = os.environ.get(name)
        if value is not None:
            return value
        if default:
            return default.strip()
        self._issue(
            node, path, f"environment variable `{name}` is not set and `!env` gives no default"
        )
        return None


def load_yaml(file: Path, secrets_file: Path | None = None) -> YamlDocument:
    """Read ``file``; raise :class:`ConfigError` for unreadable or malformed YAML."""
    secrets_file = secrets_file or file.with_name("secrets.yaml")
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [ConfigIssue(str(file), None, None, "", f"cannot read: {exc.strerror}")]
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [ConfigIssue(str(file), None, None, "", f"not UTF-8 text ({exc.reason})")]
        ) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        raise ConfigError(
            [ConfigIssue(str(file), line, column, "", f"YAML syntax: {problem}{context}")]
        ) from None
    builder = _Builder(file, secrets_file)
    data = {} if node is None else builder.build(node, ())
    if builder.issues:
        raise ConfigError(builder.issues)
    return YamlDocument(str(file), data, builder.positions, builder.secret_paths)
