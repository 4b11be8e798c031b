"""How the loader words a value out of its bounds: a duration's bound is a duration, however
the value was written; a count's bound stays a number."""

from __future__ import annotations

from pathlib import Path

import pytest

from ambient.config import ConfigError, config_warnings, load_config


def problem(tmp_path: Path, text: str) -> str:
    path = tmp_path / "ambient.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (issue,) = caught.value.issues
    return f"{issue.path}: {issue.message}"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("retention:\n  traces: 30\n", "retention.traces: should be at least 1h (got 30 s)"),
        ("retention:\n  interval: 10\n", "retention.interval: should be at least 1min (got 10 s)"),
        (
            "rules:\n  - id: calm\n    triggers: [{trigger: signal, signal: hr, above: 90}]\n"
            "    actions:\n      - {action: calm_lights, target: light.desk, transition: 600}\n",
            "rules[0].actions[0].transition: should be at most 5min (got 600 s)",
        ),
    ],
)
def test_a_duration_written_as_seconds_has_its_bound_said_as_a_duration(
    tmp_path: Path, text: str, said: str
) -> None:
    """`traces: 30` said "Input should be greater than or equal to 3600": the bound was worded
    as a duration only for a value written with a unit."""
    assert problem(tmp_path, text) == said


def test_a_count_keeps_its_bound_as_a_number(tmp_path: Path) -> None:
    assert problem(tmp_path, "insights:\n  keep_days: 10\n") == (
        "insights.keep_days: Input should be greater than or equal to 70"
    )


KEYED = "store:\n  path: {db}\n  encryption:\n    key: {key}\n"


def key_warnings(tmp_path: Path, key: str, config_mode: int, secrets_mode: int) -> list[str]:
    path = tmp_path / "ambient.yaml"
    path.write_text(KEYED.format(db=tmp_path / "ambient.db", key=key), encoding="utf-8")
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("store_key: correct horse battery staple\n", encoding="utf-8")
    path.chmod(config_mode)
    secrets.chmod(secrets_mode)
    return [str(issue) for issue in config_warnings(path, load_config(path, environment=False))]


def test_a_store_key_others_can_read_in_the_secrets_file_is_a_warning(tmp_path: Path) -> None:
    """check refuses a key_file readable by group or others, yet took the same key from a
    world-readable secrets.yaml without a word."""
    (warning,) = key_warnings(tmp_path, "!secret store_key", 0o640, 0o644)
    secrets = tmp_path / "secrets.yaml"
    assert ":4:5: store.encryption.key: " in warning
    assert (
        f"the store key is read from {secrets}, which group or others can read (mode 0644), "
        f"as they could not a key_file: chmod 600 {secrets}"
    ) in warning


def test_a_store_key_written_in_a_config_others_can_read_is_a_warning(tmp_path: Path) -> None:
    (warning,) = key_warnings(tmp_path, "plainly-here", 0o644, 0o600)
    assert f"the store key is written in {tmp_path / 'ambient.yaml'}, which group or others" in (
        warning
    )
    assert "use !secret from a secrets.yaml of mode 0600, or key_file" in warning


def test_a_store_key_only_its_owner_can_read_gives_no_warning(tmp_path: Path) -> None:
    assert key_warnings(tmp_path, "!secret store_key", 0o640, 0o600) == []
    assert key_warnings(tmp_path, "plainly-here", 0o600, 0o644) == []


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "mqtt: {host: localhost, tls: {ca_fil: ca.pem}}\n",
            "mqtt.tls.ca_fil: unknown key `ca_fil`; did you mean `ca_file`? Allowed keys: "
            "ca_file, certfile, insecure, keyfile",
        ),
        (
            "rules:\n  - id: calm\n    triggers: [{trigger: signal, signal: hr, above: 90}]\n"
            "    actions:\n      - action: breathing\n        lights: [light.bed]\n"
            "        script: {assistant: {entity_id: ai_task.openai, tsk_name: calm}}\n",
            "rules[0].actions[0].script.assistant.tsk_name: unknown key `tsk_name`; did you mean "
            "`task_name`? Allowed keys: entity_id, task_name, timeout",
        ),
    ],
)
def test_an_unknown_key_in_a_section_inside_a_section_lists_that_sections_keys(
    tmp_path: Path, text: str, said: str
) -> None:
    """`mqtt: tls: ca_fil` listed the keys of `mqtt:` (host, port …), not of `tls:`: the
    location's step into an optional section was taken for the section's own key."""
    assert problem(tmp_path, "people: [{id: alex}]\n" + text) == said
