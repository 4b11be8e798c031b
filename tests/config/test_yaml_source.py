"""Reading a config file never fails with anything but a ConfigError that names the place:
characters YAML forbids, encodings other than UTF-8, aliases that contain themselves or expand
without end, nesting deep enough to exhaust Python's recursion limit, values PyYAML cannot
construct, and a broken secrets file."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ambient.config import ConfigError, config_warnings, load_config
from ambient.config.yaml_source import MAX_NESTING, MAX_VALUES


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(issue) for issue in caught.value.issues]


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "ambient.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("instance: home\nrole: \x01\n", ":2:7:", "U+0001 (a control character)"),
        ("instance: ho\x00me\n", ":1:13:", "U+0000 (a NUL byte)"),
        ("instance: home\x7f\n", ":1:15:", "U+007F"),
    ],
)
def test_a_character_yaml_forbids_is_named_with_its_place(
    tmp_path: Path, text: str, where: str, words: str
) -> None:
    path = write(tmp_path, text)
    [problem] = problems(path)
    assert f"{path}{where}" in problem
    assert words in problem


def test_a_file_that_is_not_utf8_names_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    path = write(tmp_path, "instance: home\npeople:\n  - id: j\xfcrgen\n".encode("latin-1"))
    [problem] = problems(path)
    assert problem.startswith(f"{path}:3:10: not UTF-8 text: byte 0xFC")


@pytest.mark.parametrize(
    "text",
    [
        "people: &p [*p]\n",
        "people: &p\n  - id: alex\n    friends: *p\n",
        "signals: &s {stale_after: *s}\n",
    ],
)
def test_an_alias_inside_the_value_it_names_is_refused(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    [problem] = problems(path)
    assert "recursive alias" in problem
    assert "*p" in problem or "*s" in problem


@pytest.mark.parametrize("style", ["flow", "block"])
def test_nesting_thousands_deep_is_refused_at_its_place(tmp_path: Path, style: str) -> None:
    depth = 3000
    if style == "flow":
        text = "rules: " + "[" * depth + "]" * depth + "\n"
    else:
        text = "rules:\n" + "".join(" " * (2 * i) + "- \n" for i in range(1, depth))
    path = write(tmp_path, text)
    [problem] = problems(path)
    assert f"nested deeper than {MAX_NESTING} levels" in problem
    assert problem.startswith(f"{path}:")


def test_aliases_that_expand_exponentially_are_refused(tmp_path: Path) -> None:
    """Nine levels of ten aliases each: a billion values if built."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    path = write(tmp_path, "\n".join(lines) + "\n")
    [problem] = problems(path)
    assert f"more than {MAX_VALUES} values" in problem


def test_aliases_nesting_deeper_than_the_text_are_refused(tmp_path: Path) -> None:
    """Each alias adds the depth of the value it names: 100 levels from lines of depth 2."""
    lines = ["l0: &l0 [x]"] + [f"l{n}: &l{n} [*l{n - 1}]" for n in range(1, 100)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    [problem] = problems(path)
    assert f"nested deeper than {MAX_NESTING} levels" in problem


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("instance: home\nrole: !!binary abc\n", 2, "base64"),
        ("instance: home\nrole: 2026-02-30\n", 2, "day is out of range"),
        ("instance: home\nrole: !!python/name:os.system\n", 2, "could not determine"),
        ("? [a, b]\n: c\n", 1, "a key must be plain text"),
        ("people: !secret {a: b}\n", 1, "`!secret` takes a name"),
    ],
)
def test_a_value_pyyaml_cannot_construct_is_a_problem_at_its_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = write(tmp_path, text)
    found = problems(path)
    assert any(p.startswith(f"{path}:{line}:") and words in p for p in found), found


@pytest.mark.parametrize(
    ("secrets", "words"),
    [
        (b"token: \x01\n", "is not valid YAML"),
        (b"token: &t [*t]\n", "recursive alias"),
        (b"token: \xff\n", "is not UTF-8 text"),
    ],
)
def test_a_broken_secrets_file_is_a_problem_where_a_secret_is_used(
    tmp_path: Path, secrets: bytes, words: str
) -> None:
    (tmp_path / "secrets.yaml").write_bytes(secrets)
    path = write(tmp_path, "homeassistant:\n  url: http://ha.local:8123\n  token: !secret token\n")
    [problem] = problems(path)
    assert problem.startswith(f"{path}:3:")
    assert words in problem


# Characters YAML gives meaning to, a few letters and digits, and some it forbids.
_YAML_ALPHABET = st.sampled_from(
    [*"[]{}:,-&*!|>'\"#%@?`~<=. \n\t\\", *"aehrsx019", "\x00", "\x01", "\x85", "\ufeff"]
)
# Keys and values a config holds, so generated mappings reach validation and cross-checks.
_KEYS = st.sampled_from(
    [
        "instance",
        "timezone",
        "people",
        "sensors",
        "rules",
        "signals",
        "mqtt",
        "store",
        "id",
        "type",
        "path",
        "person",
        "topic",
        "metric",
        "trigger",
        "triggers",
        "signal",
        "above",
        "for",
        "actions",
        "action",
        "message",
        "conditions",
        "condition",
        "choose",
        "sequence",
        "if",
        "then",
        "else",
        "wait_for",
        "delay",
        "escalate",
        "on_recovery",
    ]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.sampled_from(["recording", "mqtt", "signal", "log", "hr", "{hrr}", "a/#/b", "Mars/Olympus"]),
    st.text(max_size=12),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=4),
    max_leaves=30,
)


@pytest.fixture(scope="module")
def fuzz_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "ambient.yaml"


def loads_or_config_error(path: Path) -> None:
    """`check`'s whole path: load, then the warnings."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        assert exc.issues
        assert all(issue.file == str(path) or "secrets" in issue.file for issue in exc.issues)
    else:
        config_warnings(path, config)


@settings(max_examples=300, deadline=None)
@given(text=st.text(_YAML_ALPHABET, max_size=200))
def test_any_text_is_a_config_or_a_config_error(fuzz_file: Path, text: str) -> None:
    fuzz_file.write_text(text, encoding="utf-8")
    loads_or_config_error(fuzz_file)


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=100))
def test_any_bytes_are_a_config_or_a_config_error(fuzz_file: Path, content: bytes) -> None:
    fuzz_file.write_bytes(content)
    loads_or_config_error(fuzz_file)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.dictionaries(_KEYS, _VALUES, max_size=6))
def test_any_config_shaped_mapping_is_a_config_or_a_config_error(
    fuzz_file: Path, data: dict[str, object]
) -> None:
    fuzz_file.write_text(yaml.safe_dump(data), encoding="utf-8")
    loads_or_config_error(fuzz_file)


ROOT = Path(__file__).resolve().parents[2]
#: A rich valid config (the example, its secrets given inline), mutated below leaf by leaf.
_EXAMPLE: Any = yaml.safe_load(
    (ROOT / "config" / "ambient.example.yaml")
    .read_text(encoding="utf-8")
    .replace("!secret homeassistant_token", "abc")
    .replace("!secret mqtt_password", "abc")
)


def _leaf_paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(data, dict):
        return [p for key, value in data.items() for p in _leaf_paths(value, (*path, key))]
    if isinstance(data, list):
        return [p for index, value in enumerate(data) for p in _leaf_paths(value, (*path, index))]
    return [path]


_EXAMPLE_LEAVES = _leaf_paths(_EXAMPLE)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mutations=st.lists(st.tuples(st.sampled_from(_EXAMPLE_LEAVES), _VALUES), min_size=1, max_size=3)
)
def test_the_example_with_any_values_changed_is_a_config_or_a_config_error(
    fuzz_file: Path, mutations: list[tuple[tuple[Any, ...], Any]]
) -> None:
    data = copy.deepcopy(_EXAMPLE)
    for path, value in mutations:
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = value
    fuzz_file.write_text(yaml.safe_dump(data), encoding="utf-8")
    loads_or_config_error(fuzz_file)


def test_a_secret_given_twice_with_different_values_is_refused_at_its_place(
    tmp_path: Path,
) -> None:
    """PyYAML keeps the last of a repeated key without a word: a password changed at the end of
    secrets.yaml while the old one stayed above, or two secrets pasted under one name, ran with
    whichever came last. Refused as a repeated config key is, at the repeat's place; the values
    are never shown."""
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("token: old-Secret-1\nother: x\ntoken: new-Secret-2\n")
    path = write(tmp_path, "homeassistant:\n  url: http://ha.local:8123\n  token: !secret token\n")
    found = problems(path)
    assert found == [
        f"{secrets}:3:1: secret `token` is given twice with different values (first at line 1): "
        "keep one"
    ]
    assert "Secret-" not in "".join(found)


def test_a_secret_given_twice_with_the_same_value_is_read(tmp_path: Path) -> None:
    """A block pasted twice changes nothing: not refused."""
    (tmp_path / "secrets.yaml").write_text("token: abc\ntoken: abc\n")
    path = write(tmp_path, "homeassistant:\n  url: http://ha.local:8123\n  token: !secret token\n")
    config = load_config(path)
    assert config.homeassistant is not None
    assert config.homeassistant.token is not None
    assert config.homeassistant.token.get_secret_value() == "abc"


def test_a_secret_given_twice_as_a_number_and_a_flag_is_refused(tmp_path: Path) -> None:
    """`1` and `true` are equal in Python, yet the secret read was `True`, not the `1` the
    first line gave. A value of another type is another value."""
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("pin: 1\npin: true\nport: 1883\nport: 1883.0\n")
    path = write(tmp_path, "homeassistant:\n  url: http://ha.local:8123\n  token: !secret pin\n")
    assert problems(path) == [
        f"{secrets}:2:1: secret `pin` is given twice with different values (first at line 1): "
        "keep one",
        f"{secrets}:4:1: secret `port` is given twice with different values (first at line 3): "
        "keep one",
    ]


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("[abc, def]", "a list"),
        ("\n  - abc\n  - def", "a list"),
        ("{user: abc, pass: def}", "a mapping"),
        ("!!set {abc, def}", "a set"),
        ("!!binary YWJjZGVm", "binary data"),
    ],
)
def test_a_secret_that_is_not_one_value_is_refused_where_it_is_used(
    tmp_path: Path, value: str, kind: str
) -> None:
    """A list or mapping in secrets.yaml was used as its Python text: the token was
    `['abc', 'def']` and HA refused every login with nothing said why. The secret's value
    is never shown."""
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(f"token: {value}\n")
    path = write(tmp_path, "homeassistant:\n  url: http://ha.local:8123\n  token: !secret token\n")
    assert problems(path) == [
        f"{path}:3:10: homeassistant.token: secret `token` in {secrets} is {kind}: a secret "
        "is one value, text or a number"
    ]


def test_a_key_written_after_a_merge_overrides_the_merged_one(tmp_path: Path) -> None:
    """YAML's merge (``<<: *anchor``) gives the keys a mapping does not write itself: one it
    writes after the merge was refused as a duplicate key, so a shared block could only be
    overridden by writing the key above the merge."""
    from ambient.config.yaml_source import load_yaml

    path = write(
        tmp_path,
        "base: &broker\n  host: broker.lan\n  port: 1883\n"
        "mqtt:\n  <<: *broker\n  host: other.lan\n"
        "again:\n  host: first.lan\n  <<: *broker\n",
    )
    assert load_yaml(path).data["mqtt"] == {"host": "other.lan", "port": 1883}
    assert load_yaml(path).data["again"] == {"host": "first.lan", "port": 1883}


def test_a_key_written_twice_beside_a_merge_names_its_first_line(tmp_path: Path) -> None:
    path = write(tmp_path, "base: &b\n  host: a\nmqtt:\n  host: x\n  <<: *b\n  host: y\n")
    assert problems(path) == [f"{path}:6:3: mqtt.host: duplicate key `host` (first at line 4)"]
