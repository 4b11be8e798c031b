"""A relative ``store.path`` is in the config file's folder, as a recording's path is, so every
command given the config finds the daemon's store from any folder (a service runs in ``/``).
A store an earlier version made in the folder ambient ran in is still used while the config's
folder has none: nothing learnt is left behind by an upgrade."""

from __future__ import annotations

from pathlib import Path

from fixtures.ambient_process import run_ambient

from ambient.store import Store

CONFIG = "people:\n  - id: alex\nstore:\n  path: state/ambient.db\n"


def first_rule(folder: Path) -> Path:
    folder.mkdir(parents=True)
    config = folder / "first-rule.yaml"
    config.write_text(CONFIG)
    return config


def test_check_run_from_another_folder_reads_the_store_beside_the_config(tmp_path: Path) -> None:
    config = first_rule(tmp_path / "settings")
    store = tmp_path / "settings" / "state" / "ambient.db"
    store.parent.mkdir()
    Store(store).close()

    result = run_ambient("check", str(config), cwd=tmp_path)

    assert (result.returncode, result.stderr) == (0, "")
    assert f"Store: {store}, not encrypted" in result.stdout
    traced = run_ambient("trace", "--config", str(config), cwd=tmp_path)
    assert traced.stderr.endswith(" traces yet\n")  # it read the store: no rule has fired
    assert "no store" not in traced.stderr


def test_a_store_an_earlier_version_made_in_the_working_folder_is_still_used(
    tmp_path: Path,
) -> None:
    """Run from its home with the config in a folder under it, an earlier version kept the
    store in the home: the config's folder has none, so that one goes on being used."""
    config = first_rule(tmp_path / "settings")
    earlier = tmp_path / "state" / "ambient.db"
    earlier.parent.mkdir()
    Store(earlier).close()

    result = run_ambient("check", str(config), cwd=tmp_path)

    assert (result.returncode, result.stderr) == (0, "")
    assert f"Store: {earlier}, not encrypted" in result.stdout
    assert not (tmp_path / "settings" / "state").exists()
