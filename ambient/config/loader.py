"""Load and validate a config file, turning every problem into a precise :class:`ConfigIssue`."""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, BeforeValidator, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from ambient.config.advice import config_advice
from ambient.config.checks import cross_checks, report_folder_advice
from ambient.config.durations import duration_text, parse_duration
from ambient.config.errors import ConfigError, ConfigIssue, empty_text_message, format_path
from ambient.config.root import AmbientConfig
from ambient.config.rules import HA_SINGULAR
from ambient.config.secret_exposure import given_secrets, secret_exposure
from ambient.config.store import key_exposure, store_path_for
from ambient.config.types import PATTERN_MEANINGS, quote_the_id
from ambient.config.yaml_source import KeyPath, YamlDocument, load_yaml

DEFAULT_CONFIG_PATH = Path("/etc/ambient/ambient.yaml")


def load_config(
    path: Path,
    secrets_file: Path | None = None,
    *,
    environment: bool = True,
    whole_recordings: bool = False,
) -> AmbientConfig:
    """Read, validate and cross-check ``path``; raise :class:`ConfigError` with every issue.
    ``environment``: check what ``run`` needs of this machine too, with ``whole_recordings``
    each recording read to its end (see :func:`cross_checks`)."""
    document = load_yaml(path, secrets_file)
    data = document.data
    if not isinstance(data, dict):
        raise ConfigError(
            [ConfigIssue(document.file, 1, 1, "", "the config must be a mapping of sections")]
        )
    data = _resolve_relative_paths(data, path.parent)
    try:
        config = AmbientConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_issues(document, exc.errors(include_input=False))) from None
    findings = cross_checks(config, environment=environment, whole_recordings=whole_recordings)
    if findings:
        raise ConfigError([issue_at(document, key_path, message) for key_path, message in findings])
    return config


def config_warnings(
    path: Path, config: AmbientConfig, secrets_file: Path | None = None
) -> list[ConfigIssue]:
    """What the valid ``config`` read from ``path`` probably does not mean, each at its place."""
    findings = config_advice(config) + report_folder_advice(config)
    encryption = config.store.encryption
    key_given = encryption is not None and encryption.key is not None
    if not findings and not key_given and not given_secrets(config):
        return []
    document = load_yaml(path, secrets_file)
    findings += key_exposure(config.store, document)
    findings += secret_exposure(config, document)
    return [issue_at(document, key_path, message) for key_path, message in findings]


def _as_written(document: YamlDocument, key_path: KeyPath) -> KeyPath:
    """``key_path`` with a rule's ``triggers`` (…) as the file spells it, ``trigger``."""
    written: list[str | int] = []
    for part in key_path:
        other = HA_SINGULAR.get(part, part) if isinstance(part, str) else part
        positions = document.positions
        if (*written, part) not in positions and (*written, other) in positions:
            part = other
        written.append(part)
    return tuple(written)


def issue_at(document: YamlDocument, key_path: KeyPath, message: str) -> ConfigIssue:
    """``message`` at ``key_path``'s line and column in ``document``."""
    key_path = _as_written(document, key_path)
    position = document.position_of(key_path)
    return ConfigIssue(
        document.file,
        position.line if position else None,
        position.column if position else None,
        format_path(key_path),
        message,
    )


def _resolve_relative_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Recording paths and the store's are relative to the config file, so configs can travel
    with their data (``~/…`` is in the user's home, as a shell reads it)."""
    store = data.get("store")
    if isinstance(store, dict) and isinstance(store.get("path"), str):
        store["path"] = str(store_path_for(store["path"], base))
    sensors = data.get("sensors")
    if isinstance(sensors, list):
        for sensor in sensors:
            if isinstance(sensor, dict) and sensor.get("type") == "recording":
                raw = sensor.get("path")
                if isinstance(raw, str):
                    path = Path(raw).expanduser()
                    sensor["path"] = str(path if path.is_absolute() else base / path)
    return data


def _issues(document: YamlDocument, errors: list[ErrorDetails]) -> list[ConfigIssue]:
    """One issue per problem: the errors pydantic gives for each member of a plain union
    (``above: hundred`` is neither a number nor an entity id) become one issue."""
    keys_read_as_booleans = _boolean_key_issues(document, errors)
    errors = [
        error
        for error in errors
        if not _about_a_boolean_key(document, error, keys_read_as_booleans)
    ]
    alternatives: dict[tuple[str | int, ...], list[ErrorDetails]] = {}
    singles: list[ErrorDetails] = []
    for error in errors:
        loc = tuple(error["loc"])
        if _names_a_union_member(document.data, loc, error["type"]):
            alternatives.setdefault(loc[:-1], []).append(error)
        else:
            singles.append(error)
    issues = [*keys_read_as_booleans.values()]
    issues += [_issue_from_error(document, error) for error in singles]
    for loc, group in alternatives.items():
        if len(group) == 1:
            issues.append(_issue_from_error(document, group[0]))
            continue
        expected = dict.fromkeys(_expectation(error) for error in group)
        merged = ErrorDetails(
            type="union_mismatch",
            loc=loc,
            msg=f"expected {' or '.join(expected)}",
            input=None,
        )
        issues.append(_issue_from_error(document, merged))
    return issues


def _boolean_key_issues(
    document: YamlDocument, errors: list[ErrorDetails]
) -> dict[KeyPath, ConfigIssue]:
    """One issue for each key YAML read as true or false (an unquoted ``on:`` under
    ``check_ins.people``) that was refused: it reached the checks as the text ``True``, which
    no id is, so it is said at the key, in the word written."""
    found: dict[KeyPath, ConfigIssue] = {}
    for error in errors:
        key_path = _data_path(document.data, tuple(error["loc"]))
        word = document.boolean_keys.get(key_path)
        if word is None or key_path in found:
            continue
        position = document.position_of(key_path)
        read = "true" if key_path[-1] == "True" else "false"
        found[key_path] = ConfigIssue(
            document.file,
            position.line if position else None,
            position.column if position else None,
            format_path((*key_path[:-1], word)),
            f'YAML reads the unquoted key {word} as {read}, which is no id: quote it (`"{word}":`)',
        )
    return found


def _about_a_boolean_key(
    document: YamlDocument, error: ErrorDetails, keys: dict[KeyPath, ConfigIssue]
) -> bool:
    """Whether an error is one of those keys' own, or is another member of a union that holds
    one (a report's notify: "a valid string" is not what a mapping of services was meant as)."""
    loc = tuple(error["loc"])
    data_path = _data_path(document.data, loc)
    if data_path in keys:
        return True
    if not _names_a_union_member(document.data, loc, error["type"]):
        return False
    return any(key[: len(data_path)] == data_path for key in keys)


def _names_a_union_member(data: Any, loc: tuple[str | int, ...], kind: str) -> bool:
    """pydantic ends the location of a union member's error with the member's name
    (``float``, ``constrained-str``): a part that is no key in the data."""
    if kind in ("missing", "extra_forbidden") or len(loc) < 2 or not isinstance(loc[-1], str):
        return False
    return _data_path(data, loc) == _data_path(data, loc[:-1])


def _expectation(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind in ("float_parsing", "float_type"):
        return "a number"
    if kind in ("int_parsing", "int_type"):
        return "a whole number"
    if kind == "string_pattern_mismatch":
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        return PATTERN_MEANINGS.get(pattern, "text in another form")
    return error["msg"][0].lower() + error["msg"][1:]


def _issue_from_error(document: YamlDocument, error: ErrorDetails) -> ConfigIssue:
    loc = tuple(error["loc"])
    data_path = _data_path(document.data, loc)
    kind = error["type"]
    if kind == "missing":
        position = document.position_of(data_path)
        message = f"required key `{loc[-1]}` is missing"
        data_path = (*data_path, str(loc[-1]))
    else:
        position = document.position_of(data_path)
        value = _value_at(document.data, data_path)
        base60_text = document.base60_texts.get(data_path)
        if base60_text is not None and kind in ("string_type", "string_pattern_mismatch"):
            message = (
                f"YAML reads an unquoted {base60_text} as the number {value} (base 60): "
                f'write it in quotes, "{base60_text}"'
            )
        else:  # an unquoted 30:00 was written as a duration too, whatever YAML made of it
            message = _message(error, loc, value if base60_text is None else base60_text)
        word = document.boolean_texts.get(data_path)
        if word is not None and message == quote_the_id() and data_path:
            field = data_path[-1]  # an item is quoted alone, a field's value after its key
            message = quote_the_id(f'"{word}"' if isinstance(field, int) else f'{field}: "{word}"')
    return ConfigIssue(
        document.file,
        position.line if position else None,
        position.column if position else None,
        format_path(data_path),
        message,
    )


def _data_path(data: Any, loc: tuple[str | int, ...]) -> KeyPath:
    """Follow pydantic's ``loc`` through the data and the model types together: a part that
    names a union member (a tag such as ``signal`` or ``service_call``) is skipped, so a trigger
    kind is never mistaken for the key of the same name."""
    path: list[str | int] = []
    current: Any = data
    annotation: Any = AmbientConfig
    for part in loc:
        members = _union_members(annotation)
        if members is not None:
            annotation = members.get(str(part), annotation)
            if str(part) in members:
                continue
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            annotation = _field_named(annotation, str(part))
        else:
            annotation = _unwrap(annotation, part)
        if _has_child(current, part):
            path.append(part)
            current = current[part]
    return tuple(path)


def _union_members(annotation: Any) -> dict[str, Any] | None:
    """Tag → member model for a union of several models; None for anything else."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return None
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if len(args) == 1:
        return _union_members(args[0])
    members = {tag: model for tag, model in _tagged_members(annotation)}
    return members or None


def _has_child(container: Any, part: str | int) -> bool:
    if isinstance(container, dict):
        return isinstance(part, str) and part in container
    if isinstance(container, list):
        return isinstance(part, int) and 0 <= part < len(container)
    return False


def _value_at(data: Any, path: KeyPath) -> Any:
    """What the file has at ``path`` (the errors leave their input out: it may be a secret)."""
    for part in path:
        if not _has_child(data, part):
            return None
        data = data[part]
    return data


def _whose_signals(key: str, loc: tuple[str | int, ...], written: Any) -> str:
    """For `person:` in a rule's signal trigger or `wait_for` (a household naming whose
    heart): these read the rule's person, which is set on the rule. (A state or time trigger
    reads no one's signals; its union tag is in ``loc``.)"""
    parts = [part for part in loc if isinstance(part, str)]
    if key != "person" or not parts or parts[0] != "rules":
        return ""
    in_trigger = bool({"triggers", "trigger"} & set(parts[1:]))
    if not ("wait_for" in parts[1:] or (in_trigger and "signal" in parts[1:])):
        return ""
    who = written if isinstance(written, str) and written else "<id>"
    return (
        f"; it reads the rule's person: give the rule `person: {who}` (a `signal` "
        "condition may name another person's)"
    )


def _message(error: ErrorDetails, loc: tuple[str | int, ...], written: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(loc[:-1])
        hint = ""
        if allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
            lead = f"; did you mean `{close[0]}`? Allowed keys: " if close else "; allowed keys: "
            hint = lead + ", ".join(allowed)
        return f"unknown key `{key}`{_whose_signals(key, loc, written)}{hint}"
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag", ""))
        expected = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        expected = [t for t in expected if t]
        close = difflib.get_close_matches(tag, expected, n=1, cutoff=0.5)
        lead = f"; did you mean `{close[0]}`? Allowed: " if close else "; allowed: "
        what = _discriminator_name(ctx)
        expected = [_TAG_DESCRIPTIONS.get(t, t) for t in expected]
        return f"unknown {what} `{tag}`{lead}{', '.join(expected)}"
    if kind == "too_short" and loc and isinstance(written, list):
        return _too_short_text(str(loc[-1]), len(written), int(ctx.get("min_length", 1)))
    if kind == "string_too_short" and loc and written == "":
        return empty_text_message(str(loc[-1]), _may_be_left_out(loc))
    if kind == "union_tag_not_found":
        what = _discriminator_name(ctx)
        return f"missing {what}: every entry here needs one"
    if kind == "string_pattern_mismatch":
        return f"expected {_expectation(error)}"
    if kind in _BOUNDS and (_written_as_a_duration(written) or _is_duration_field(loc)):
        bound, words = _BOUNDS[kind]
        got = f"{written} s" if isinstance(written, int | float) else written
        return f"should be {words} {duration_text(float(ctx[bound]))} (got {got})"
    message = error["msg"]
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    return message


def _too_short_text(name: str, written: int, least: int) -> str:
    """A list with too few entries, said as what to write (not pydantic's "List should have
    at least 1 item after validation")."""
    if written == 0:
        more = "one entry" if least == 1 else f"{least} entries"
        return f"`{name}` is an empty list: write at least {more} under it"
    return f"`{name}` has {written}: write at least {least} entries under it"


_TAG_DESCRIPTIONS = {"service_call": "any HA domain.service"}

#: pydantic's bound errors: the bound's key in the error's context, and how to say it.
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def _written_as_a_duration(value: object) -> bool:
    """``30min`` or ``00:30:00``, not a plain number: the bound is said as a duration too
    (pydantic's would be seconds: "greater than or equal to 3600")."""
    return isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value) is None


def _is_duration_field(loc: tuple[str | int, ...]) -> bool:
    """Whether ``loc`` names a :data:`Duration` field: a plain number there is seconds, and
    its bound is said as a duration too, as for ``30min``."""
    if not loc or not isinstance(loc[-1], str):
        return False
    model = _model_at(AmbientConfig, loc[:-1])
    if model is None:
        return False
    field = _field_info(model, loc[-1])
    # The field's own Annotated metadata (a bare `Duration`) is folded back in.
    return field is not None and _parses_durations(field.rebuild_annotation())


def _may_be_left_out(loc: tuple[str | int, ...]) -> bool:
    """Whether the field ``loc`` names has a default (it need not be written at all)."""
    model = _model_at(AmbientConfig, loc[:-1])
    field = None if model is None else _field_info(model, str(loc[-1]))
    return field is not None and not field.is_required()


def _parses_durations(annotation: Any) -> bool:
    """A :data:`Duration`, also inside ``| None`` or ``Annotated`` (a retention ``Limit``)."""
    if typing.get_origin(annotation) is typing.Annotated:
        _, *extras = typing.get_args(annotation)
        if any(_is_duration_parser(extra) for extra in extras):
            return True
        return _parses_durations(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_parses_durations(arg) for arg in typing.get_args(annotation))
    return False


def _is_duration_parser(item: object) -> bool:
    return isinstance(item, BeforeValidator) and item.func is parse_duration


def _discriminator_name(ctx: dict[str, Any]) -> str:
    name = str(ctx.get("discriminator", "kind")).strip("'")
    # A callable discriminator is named after its function, e.g. `_trigger_tag()`.
    return name.removesuffix("()").strip("_").removesuffix("_tag")


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    """Field names (by alias) of the model at ``loc``, following field types and union tags."""
    model = _model_at(AmbientConfig, loc)
    if model is None:
        return []
    return sorted(field.alias or name for name, field in model.model_fields.items())


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    current: Any = model
    pending = list(loc)
    while pending:
        part = pending.pop(0)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = _field_named(current, str(part))
            if field is None:
                return None
            current = field
            continue
        section = _optional_model(current)
        if section is not None:  # `tls: MqttTlsConfig | None`: `part` is a key of the section
            current = section
            pending.insert(0, part)
            continue
        current = _unwrap(current, part)
        if current is None:
            return None
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
    current = _unwrap(current, None) if not isinstance(current, type) else current
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _optional_model(annotation: Any) -> type[BaseModel] | None:
    """The section of an optional section (``Model | None``); None for any other type."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return None
    present = [a for a in typing.get_args(annotation) if a is not type(None)]
    model = present[0] if len(present) == 1 else None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _field_named(model: type[BaseModel], name: str) -> Any:
    field = _field_info(model, name)
    return None if field is None else field.annotation


def _field_info(model: type[BaseModel], name: str) -> FieldInfo | None:
    """``model``'s field written ``name`` (its name, its alias, or another spelling it takes,
    such as HA's ``trigger`` for a rule's ``triggers``)."""
    for field_name, field in model.model_fields.items():
        choices = getattr(field.validation_alias, "choices", ())
        if name in (field_name, field.alias) or name in choices:
            return field
    return None


def _unwrap(annotation: Any, part: str | int | None) -> Any:
    """Step into list / Optional / Annotated / union types; ``part`` picks a union member."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0], part)
    if origin in (list, tuple, set, frozenset):
        return typing.get_args(annotation)[0] if isinstance(part, int) else None
    if origin is dict:
        return typing.get_args(annotation)[1]
    if origin in (typing.Union, types.UnionType):
        non_null = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(non_null) == 1:
            return _unwrap(non_null[0], part)
        members = [_unwrap(arg, None) or arg for arg in typing.get_args(annotation)]
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        for tag, tagged in _tagged_members(annotation):
            if tag == part:
                return tagged
        if len(models) == 1:
            return models[0]
        for member in models:
            if member.__name__ == part:
                return member
        return None
    return annotation


def _tagged_members(annotation: Any) -> list[tuple[str, type[BaseModel]]]:
    """(tag, model) pairs of a discriminated union, from ``Tag`` or the ``Literal`` field."""
    from pydantic import Tag

    pairs: list[tuple[str, type[BaseModel]]] = []
    for arg in typing.get_args(annotation):
        model: Any = arg
        tag: str | None = None
        if typing.get_origin(arg) is typing.Annotated:
            model, *extras = typing.get_args(arg)
            for extra in extras:
                if isinstance(extra, Tag):
                    tag = extra.tag
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        if tag is not None:
            pairs.append((tag, model))
            continue
        for field in model.model_fields.values():
            if typing.get_origin(field.annotation) is typing.Literal:
                pairs.extend((str(value), model) for value in typing.get_args(field.annotation))
    return pairs
