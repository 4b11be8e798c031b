"""``ambient export``: what is exported is what the store held about the person, and nothing
about anyone else; JSON, CSV and age-encrypted, through the real CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pyrage
import pytest
from fixtures.ambient_process import run_ambient

from ambient.privacy.data_classes import data_classes, nested_states
from ambient.store import Store, StoreKey

RAW_KEY = "5a" * 32


def fill(store: Store) -> None:
    for i, person in enumerate(["alex", "sam", "alex", None]):
        store.append(
            "traces",
            f"rule_{i % 2}",
            {"t": 1000.0 + i, "rule": f"rule_{i % 2}", "event": "fired", "person": person},
            keep=20,
        )
    store.put("signals.baseline", "alex", {"ln_rmssd": [3.9, 0.2], "days": 12})
    store.put("signals.baseline", "sam", {"ln_rmssd": [3.1, 0.3], "days": 2})
    store.put(
        "rules",
        "calm",
        {"fingerprint": "f", "persons": {"alex": {"cooldown_until": 5.0}, "sam": {}}},
    )


def held_about(path: Path, person: str) -> dict[str, list[dict[str, Any]]]:
    """Straight from the (plain) file with sqlite3, not through the export code."""
    with sqlite3.connect(path) as db:
        traces = [
            {"id": i, "namespace": ns, "key": k, "value": json.loads(v)}
            for i, ns, k, v in db.execute("SELECT id, namespace, key, value FROM log ORDER BY id")
            if ns == "traces" and json.loads(v)["person"] == person
        ]
        baselines = [
            {"namespace": ns, "key": k, "value": json.loads(v)}
            for ns, k, v in db.execute("SELECT namespace, key, value FROM kv ORDER BY rowid")
            if ns == "signals.baseline" and k == person
        ]
        rule_state = [
            {"rule": k, "state": json.loads(v)["persons"][person]}
            for ns, k, v in db.execute("SELECT namespace, key, value FROM kv ORDER BY rowid")
            if ns == "rules" and person in json.loads(v)["persons"]
        ]
    return {"traces": traces, "baselines": baselines, "rule_state": rule_state}


def setup(tmp_path: Path, encrypted: bool = False) -> tuple[Path, Path]:
    db = tmp_path / "state" / "ambient.db"
    store = Store(db, StoreKey(RAW_KEY, "test") if encrypted else None)
    fill(store)
    store.close()
    config = tmp_path / "ambient.yaml"
    section: dict[str, Any] = {"path": str(db)}
    if encrypted:
        section["encryption"] = {"key": RAW_KEY}
    config.write_text(json.dumps({"people": [{"id": "alex"}], "store": section}))
    return config, db


def test_json_export_round_trips_what_the_store_held(tmp_path: Path) -> None:
    config, db = setup(tmp_path)
    out = tmp_path / "alex.json"
    result = run_ambient("export", "--config", str(config), "--person", "alex", "--out", str(out))
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())

    assert document["format"] == "ambient-export"
    assert document["version"] == 1
    assert document["person"] == "alex"
    exported = {name: section["rows"] for name, section in document["data"].items()}
    held = held_about(db, "alex")
    # Every other registered class (episodes, learner, ...) is present and empty here.
    assert exported == {name: [] for name in exported} | held
    assert len(exported["traces"]) == 2
    assert exported["rule_state"] == [{"rule": "calm", "state": {"cooldown_until": 5.0}}]
    assert "sam" not in out.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_csv_export_holds_the_same_rows(tmp_path: Path) -> None:
    config, db = setup(tmp_path)
    result = run_ambient("export", "--config", str(config), "--person", "alex", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    held = held_about(db, "alex")
    assert [row["data_class"] for row in rows] == ["traces", "traces", "baselines", "rule_state"]
    assert [json.loads(row["row"]) for row in rows] == (
        held["traces"] + held["baselines"] + held["rule_state"]
    )
    assert [row["time"] for row in rows] == ["1000.0", "1002.0", "", ""]


def test_an_age_encrypted_export_of_an_encrypted_store_decrypts_to_the_same_document(
    tmp_path: Path,
) -> None:
    config, _ = setup(tmp_path, encrypted=True)
    identity = pyrage.x25519.Identity.generate()
    plain_out, age_out = tmp_path / "alex.json", tmp_path / "alex.json.age"
    common = ("export", "--config", str(config), "--person", "alex")
    assert run_ambient(*common, "--out", str(plain_out)).returncode == 0
    result = run_ambient(
        *common, "--out", str(age_out), "--age-recipient", str(identity.to_public())
    )
    assert result.returncode == 0, result.stderr

    sealed = age_out.read_bytes()
    assert sealed.startswith(b"age-encryption.org/v1")
    assert b"ln_rmssd" not in sealed
    opened = json.loads(pyrage.decrypt(sealed, [identity]))
    expected = json.loads(plain_out.read_text())
    assert {k: v for k, v in opened.items() if k != "exported_at"} == {
        k: v for k, v in expected.items() if k != "exported_at"
    }
    assert len(opened["data"]["traces"]["rows"]) == 2


def test_out_dash_is_stdout_not_a_stray_file_named_dash(tmp_path: Path) -> None:
    """`--out -` wrote a copy of the person's heart data to a file called `-` wherever the
    command ran, and said `wrote - (... mode 0600)`."""
    config, _ = setup(tmp_path)
    result = run_ambient(
        "export", "--config", str(config), "--person", "alex", "--out", "-", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["person"] == "alex"
    assert not (tmp_path / "-").exists()
    assert result.stderr == ""


def test_a_device_written_through_is_not_said_to_be_0600(tmp_path: Path) -> None:
    config, _ = setup(tmp_path)
    result = run_ambient(
        "export", "--config", str(config), "--person", "alex", "--out", "/dev/null"
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"wrote /dev/null \(\d+ bytes\)\n", result.stderr), result.stderr


def test_a_bad_recipient_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    config, _ = setup(tmp_path)
    out = tmp_path / "x.age"
    result = run_ambient(
        "export", "--config", str(config), "--person", "alex", "--out", str(out),
        "--age-recipient", "age1notakey",
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "ambient export: --age-recipient age1notakey...: not an age (age1...) or SSH public key"
    ]
    assert not out.exists()


def test_no_store_yet_and_an_out_that_cannot_be_written_are_one_line_naming_the_file(
    tmp_path: Path,
) -> None:
    """As every store command says them (the export said the config kept no store, and a
    full device was Python's bare '[Errno 28] No space left on device', naming nothing)."""
    config, db = setup(tmp_path)
    full = run_ambient("export", "--config", str(config), "--person", "alex", "--out", "/dev/full")
    assert full.returncode == 1
    assert full.stderr.strip().splitlines() == [
        "ambient export: cannot write /dev/full: No space left on device"
    ]
    db.rename(db.with_name("moved.db"))
    missing = run_ambient("export", "--config", str(config), "--person", "alex")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        f"ambient export: no store at {db} yet: has the daemon run?"
    ]


def test_a_person_with_no_data_exports_empty_sections(tmp_path: Path) -> None:
    config, _ = setup(tmp_path)
    config.write_text(
        config.read_text().replace('[{"id": "alex"}]', '[{"id": "alex"}, {"id": "kim"}]')
    )
    result = run_ambient("export", "--config", str(config), "--person", "kim")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    sections = {name: s["rows"] for name, s in document["data"].items()}
    # Every kind of data ambient keeps is a section, also one whose feature never ran here
    # (no calming episodes yet): an absent section would leave the reader guessing.
    every = {c.name for c in data_classes()} | {s.name for s in nested_states()}
    assert {"episodes", "check_ins", "learner"} <= every
    assert set(sections) == every
    assert all(rows == [] for rows in sections.values())
    assert result.stderr == ""  # one of the people: an empty export is their answer


def test_a_person_neither_the_config_nor_the_store_knows_is_refused_as_by_report(
    tmp_path: Path,
) -> None:
    """A typo, most likely: it was written as an empty export with a note, exit 0, where
    report, insights and baseline refuse such a person (exit 1). Nothing is written."""
    config, _ = setup(tmp_path)
    out = tmp_path / "nobody.json"
    result = run_ambient("export", "--config", str(config), "--person", "nobody", "--out", str(out))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "ambient export: no person `nobody` in the config or the store (people: alex)\n"
    )
    assert not out.exists()


def test_someone_taken_out_of_the_config_is_exported_without_a_note(tmp_path: Path) -> None:
    config, _ = setup(tmp_path)
    result = run_ambient("export", "--config", str(config), "--person", "sam")
    assert result.returncode == 0
    assert json.loads(result.stdout)["data"]["baselines"]["rows"] != []
    assert result.stderr == ""


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make a link owned by another user")
def test_a_link_another_user_planted_at_out_is_not_followed(tmp_path: Path) -> None:
    """`sudo ambient export --out /tmp/alex.json`: another user's link planted there beforehand
    was resolved by ambient itself (which the kernel's protected_symlinks does not see), so
    root replaced the file it pointed at (any file: /etc/shadow) with the export."""
    config, _ = setup(tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # as /tmp
    victim = tmp_path / "victim.conf"
    victim.write_text("keep me\n")
    planted = shared / "alex.json"
    planted.symlink_to(victim)
    os.lchown(planted, 65534, 65534)  # nobody's link
    result = run_ambient(
        "export", "--config", str(config), "--person", "alex", "--out", str(planted)
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"ambient export: cannot write {planted}: a link made by another user (uid 65534), "
        "not followed: remove it, or write elsewhere"
    ]
    assert victim.read_text() == "keep me\n"
    assert planted.is_symlink()
