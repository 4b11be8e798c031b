"""YAML reading that remembers where every key came from, with HA's ``!secret`` and ``!env``.

PyYAML composes a node tree that carries line and column marks; we build plain data from it and
keep a map from key path to position, so validation errors can name ``file:line:column``.

Whatever the file holds, reading it raises :class:`ConfigError` and nothing else: characters
YAML forbids, nesting or aliases that would exhaust the recursion limit or memory, and values
PyYAML cannot construct are problems with a place, like any other.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import SecretStr

from ambient.config.errors import ConfigError, ConfigIssue, format_path

KeyPath = tuple[str | int, ...]

#: Deeper than any real config (a rule's nested steps are a dozen levels); much deeper input
#: would exhaust Python's recursion limit while it is composed or built.
MAX_NESTING = 64
#: Values a file may expand to, aliases included: aliases of aliases grow exponentially.
MAX_VALUES = 100_000


class _Mark(Protocol):
    """Where PyYAML found something (its pure-Python and libyaml marks both have these)."""

    line: int
    column: int


class _Rejected(Exception):
    """A problem found while composing or building, with the place it was found."""

    def __init__(self, mark: _Mark | None, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


class _ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing nesting deeper than :data:`MAX_NESTING` and an alias
    inside the value it names (PyYAML would build a value that contains itself)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._open_anchors: set[str] = set()

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                raise _Rejected(
                    event.start_mark,
                    f"alias `*{event.anchor}` is inside the value it names (a recursive alias)",
                )
            return super().compose_node(parent, index)
        if self._depth >= MAX_NESTING:
            raise _Rejected(event.start_mark, f"nested deeper than {MAX_NESTING} levels")
        anchor = getattr(event, "anchor", None)
        self._depth += 1
        if anchor is not None:
            self._open_anchors.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open_anchors.discard(anchor)


class Base60Int(int):
    """An unquoted ``10:00`` that YAML 1.1 read as the base-60 number 600, with the text as
    written: a duration tells it from a number of seconds (see :mod:`.durations`)."""

    written: str


class Base60Float(float):
    """The same for an unquoted ``10:00.5`` (600.5)."""

    written: str


def base60_number(value: int | float, written: str) -> Base60Int | Base60Float:
    number = Base60Int(value) if isinstance(value, int) else Base60Float(value)
    number.written = written
    return number


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
    #: Unquoted values YAML read as base-60 numbers (``21:00`` is 1260), as written.
    base60_texts: dict[KeyPath, str] = field(default_factory=dict)
    #: Where the ``!secret`` values (``secret_paths``) were read from.
    secrets_file: Path | None = None
    #: Unquoted values YAML read as true or false (``on``, ``No``), as written.
    boolean_texts: dict[KeyPath, str] = field(default_factory=dict)
    #: Unquoted keys YAML read as true or false, as written; their path holds the text
    #: ``True`` or ``False`` that became their key.
    boolean_keys: dict[KeyPath, str] = field(default_factory=dict)

    def position_of(self, path: KeyPath) -> Position | None:
        """The position of ``path``, or of its nearest written ancestor."""
        for end in range(len(path), -1, -1):
            position = self.positions.get(path[:end])
            if position is not None:
                return position
        return None


@dataclass(frozen=True, slots=True)
class SecretGivenTwice:
    """A name a secrets file gives again with another value (its place; the first's line)."""

    line: int
    column: int
    name: str
    first_line: int

    def __str__(self) -> str:
        return (
            f"secret `{self.name}` is given twice with different values "
            f"(first at line {self.first_line}): keep one"
        )


def secrets_given_twice(root: yaml.Node | None) -> list[SecretGivenTwice]:
    """The names a secrets file's top mapping gives again with another value: PyYAML keeps the
    last without a word, so the secret used would be whichever came last. The same value again
    (a block pasted twice) changes nothing and is not one. Never holds a value. Only the
    values of a name given more than once are built (reading the file builds them all)."""
    if not isinstance(root, yaml.MappingNode):
        return []
    names = Counter(str(key.value) for key, _ in root.value if isinstance(key, yaml.ScalarNode))
    if all(count == 1 for count in names.values()):
        return []
    values = yaml.SafeLoader("")
    first: dict[str, tuple[int, Any]] = {}
    found: list[SecretGivenTwice] = []
    try:
        for key_node, value_node in root.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            name = str(key_node.value)
            if names[name] == 1:
                continue
            try:
                value = values.construct_object(value_node, deep=True)
            except (yaml.YAMLError, ValueError, TypeError, OverflowError):
                value = object()  # unreadable: reading the file says so; unlike any other
            if name not in first:
                first[name] = (key_node.start_mark.line + 1, value)
            elif not _same_value(first[name][1], value):
                mark = key_node.start_mark
                found.append(SecretGivenTwice(mark.line + 1, mark.column + 1, name, first[name][0]))
    finally:
        values.dispose()
    return found


def _same_value(first: Any, again: Any) -> bool:
    """Whether a secret given again is the same: of one type and equal. ``1`` and ``true``
    (or ``1.0``) are equal in Python, but the secret read would be ``True``, not ``1``."""
    return type(first) is type(again) and bool(first == again)


#: What a secrets file may hold under a name that is not one value, as said of it.
_NOT_ONE_VALUE: dict[type, str] = {
    list: "a list",
    dict: "a mapping",
    set: "a set",
    bytes: "binary data",
}


class _Builder:
    def __init__(self, file: Path, secrets_file: Path, *, resolve_tags: bool = True) -> None:
        self.file = file
        self.secrets_file = secrets_file
        #: False: ``!secret`` and ``!env`` are left unread (None), for :func:`repeated_keys`.
        self.resolve_tags = resolve_tags
        self._secrets: dict[str, Any] | None = None
        #: The secrets file names a secret twice (said once, not at every ``!secret``).
        self._secrets_refused = False
        self.issues: list[ConfigIssue] = []
        #: The issues that are a key written twice in one mapping (also in ``issues``).
        self.repeated: list[ConfigIssue] = []
        self.positions: dict[KeyPath, Position] = {}
        self.secret_paths: set[KeyPath] = set()
        self.base60_texts: dict[KeyPath, str] = {}
        self.boolean_texts: dict[KeyPath, str] = {}
        self.boolean_keys: dict[KeyPath, str] = {}
        self._scalars = yaml.SafeLoader("")
        self._values = 0

    def _pos(self, mark: yaml.Mark) -> Position:
        return Position(str(self.file), mark.line + 1, mark.column + 1)

    def _issue(self, node: yaml.Node, path: KeyPath, message: str) -> None:
        pos = self._pos(node.start_mark)
        self.issues.append(ConfigIssue(pos.file, pos.line, pos.column, format_path(path), message))

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self._values += 1
        if self._values > MAX_VALUES:
            raise _Rejected(node.start_mark, f"expands to more than {MAX_VALUES} values (aliases?)")
        if len(path) > MAX_NESTING:  # aliases inside aliases nest deeper than the text
            raise _Rejected(node.start_mark, f"nested deeper than {MAX_NESTING} levels")
        if not isinstance(node, yaml.ScalarNode) and node.tag.startswith("!"):
            self._issue(node, path, f"`{node.tag}` takes a name, not a list or mapping")
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                self.positions[(*path, index)] = self._pos(child.start_mark)
                items.append(self.build(child, (*path, index)))
            return items
        assert isinstance(node, yaml.ScalarNode)
        if node.tag in ("!secret", "!env") and not self.resolve_tags:
            return None
        if node.tag == "!secret":
            self.secret_paths.add(path)
            return self._secret(node, path)
        if node.tag == "!env":
            return self._env(node, path)
        if node.tag.startswith("!"):
            self._issue(node, path, f"unknown tag `{node.tag}`; allowed: !secret, !env")
            return None
        value = self._scalar(node, path)
        if isinstance(value, bool):
            self.boolean_texts[path] = str(node.value)
        return value

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        """A plain value; one PyYAML cannot construct (``!!binary`` that is not base64, a
        date such as 2026-02-30, an unknown ``!!`` tag) is a problem at its place."""
        try:
            value = self._scalars.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            self._issue(node, path, exc.problem or "cannot read this value")
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            self._issue(node, path, f"cannot read this value: {exc}")
        else:
            if isinstance(value, int | float) and ":" in str(node.value):
                self.base60_texts[path] = str(node.value)
                return base60_number(value, str(node.value))
            return value
        return None

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        #: The keys this mapping writes itself, at their lines: a merged (``<<:``) key yields
        #: to one of them, before or after it, as YAML says; only these can be written twice.
        written: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged = self.build(value_node, path)
                for item in merged if isinstance(merged, list) else [merged]:
                    if isinstance(item, dict):
                        for key, value in item.items():
                            result.setdefault(key, value)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._issue(key_node, path, "a key must be plain text, not a list or mapping")
                continue
            key = self._scalar(key_node, path)
            read_as_boolean = isinstance(key, bool)
            if not isinstance(key, str):
                key = str(key)
            child_path = (*path, key)
            if read_as_boolean:
                self.boolean_keys[child_path] = str(key_node.value)
            if key in written:
                first = written[key]
                self._issue(key_node, child_path, f"duplicate key `{key}` (first at line {first})")
                self.repeated.append(self.issues[-1])
            else:
                written[key] = key_node.start_mark.line + 1
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
        value = secrets[name]
        kind = _NOT_ONE_VALUE.get(type(value))
        if kind is not None:  # its Python text (`['a', 'b']`) would be the secret
            self._issue(
                node,
                path,
                f"secret `{name}` in {self.secrets_file} is {kind}: a secret is one value, "
                "text or a number",
            )
            return None
        # `name:` alone stays the text None, as before: a store encrypted with it opens with it.
        return SecretStr(str(value))

    def _load_secrets(self, node: yaml.Node, path: KeyPath) -> dict[str, Any] | None:
        if self._secrets_refused:
            return None
        if self._secrets is None:
            try:
                text = self.secrets_file.read_text(encoding="utf-8")
            except FileNotFoundError:
                self._issue(node, path, f"!secret needs {self.secrets_file}, which does not exist")
                return None
            except OSError as exc:
                self._issue(node, path, f"cannot read {self.secrets_file}: {exc.strerror}")
                return None
            except UnicodeDecodeError:
                self._issue(node, path, f"{self.secrets_file} is not UTF-8 text")
                return None
            try:
                loader = _ConfigLoader(text)
                try:
                    root = loader.get_single_node()
                    twice = secrets_given_twice(root)
                    loaded = None if root is None else loader.construct_document(root)
                finally:
                    loader.dispose()
            except _Rejected as exc:
                self._issue(node, path, f"{self.secrets_file}: {exc.message}")
                return None
            except (yaml.YAMLError, ValueError, OverflowError) as exc:
                # Not the details: they could quote a secret.
                self._issue(
                    node, path, f"{self.secrets_file} is not valid YAML ({type(exc).__name__})"
                )
                return None
            if twice:
                file = str(self.secrets_file)
                for repeat in twice:
                    issue = ConfigIssue(file, repeat.line, repeat.column, "", str(repeat))
                    self.issues.append(issue)
                self._secrets_refused = True
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


def repeated_keys(file: Path, root: yaml.Node) -> list[ConfigIssue]:
    """Each key ``root`` (composed from ``file``) writes twice in one mapping, at its place and
    in the words :func:`load_yaml` uses; ``!secret`` and ``!env`` are not read. For a reader
    that builds the data itself (the add-on keeps those tags as written), where PyYAML would
    keep the last of a repeated key without a word."""
    builder = _Builder(file, file.with_name("secrets.yaml"), resolve_tags=False)
    # Aliases or nesting past the limits stop the walk: reading the file itself names that.
    with contextlib.suppress(_Rejected):
        builder.build(root, ())
    return builder.repeated


def load_yaml(file: Path, secrets_file: Path | None = None) -> YamlDocument:
    """Read ``file``; raise :class:`ConfigError` for unreadable or malformed YAML."""
    secrets_file = secrets_file or file.with_name("secrets.yaml")
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(
            [ConfigIssue(str(file), None, None, "", f"cannot read: {exc.strerror}")]
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        at_line, at_column = _line_and_column(raw, exc.start, b"\n")
        message = f"not UTF-8 text: byte 0x{raw[exc.start]:02X} ({exc.reason}); save it as UTF-8"
        raise ConfigError([ConfigIssue(str(file), at_line, at_column, "", message)]) from None
    try:
        loader = _ConfigLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
        builder = _Builder(file, secrets_file)
        data = {} if node is None else builder.build(node, ())
    except _Rejected as exc:
        line, column = (exc.mark.line + 1, exc.mark.column + 1) if exc.mark else (None, None)
        raise ConfigError([ConfigIssue(str(file), line, column, "", exc.message)]) from None
    except yaml.reader.ReaderError as exc:
        at_line, at_column = _line_and_column(text, exc.position, "\n")
        issue = ConfigIssue(str(file), at_line, at_column, "", _bad_character(exc))
        raise ConfigError([issue]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        raise ConfigError(
            [ConfigIssue(str(file), line, column, "", f"YAML syntax: {problem}{context}")]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(str(file), None, None, "", f"YAML: {exc}")]) from None
    if builder.issues:
        raise ConfigError(builder.issues)
    return YamlDocument(
        str(file),
        data,
        builder.positions,
        builder.secret_paths,
        builder.base60_texts,
        secrets_file,
        builder.boolean_texts,
        builder.boolean_keys,
    )


def _line_and_column(text: str | bytes, offset: int, newline: Any) -> tuple[int, int]:
    """1-based line and column of ``offset`` (characters of a str, bytes of bytes)."""
    line_start = text.rfind(newline, 0, offset) + 1
    return text.count(newline, 0, offset) + 1, offset - line_start + 1


def _bad_character(error: yaml.reader.ReaderError) -> str:
    code = error.character if isinstance(error.character, int) else ord(error.character)
    what = "a NUL byte" if code == 0 else "a control character"
    return f"character U+{code:04X} ({what}) is not allowed in YAML; delete it"
