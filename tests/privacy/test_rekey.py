"""``ambient store rekey``: the store is encrypted with a new key, everything in it kept; the
old key no longer opens it. Through the real CLI."""

from __future__ import annotations

from pathlib import Path

from fixtures.ambient_process import run_ambient
from fixtures.small_disk import fill, small_disk

from ambient.store import Store
from ambient.store_crypto import StoreKey, key_opens

OLD_KEY = "a" * 64
NEW_KEY = "correct horse battery staple"


def encrypted_setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(config, store, new key file): a store encrypted with the key file the config names."""
    old_file, new_file = tmp_path / "store.key", tmp_path / "store.key.new"
    for path, key in ((old_file, OLD_KEY), (new_file, NEW_KEY)):
        path.write_text(key + "\n")
        path.chmod(0o600)
    db = tmp_path / "state" / "ambient.db"
    store = Store(db, StoreKey(OLD_KEY, "test"))
    store.put("signals.baseline", "alex", {"note": "kept"})
    store.close()
    config = tmp_path / "ambient.yaml"
    config.write_text(f"store:\n  path: {db}\n  encryption:\n    key_file: {old_file}\n")
    return config, db, new_file


def rekey(config: Path, new_file: Path) -> tuple[int, str, str]:
    done = run_ambient("store", "rekey", str(config), "--new-key-file", str(new_file))
    return done.returncode, done.stdout, done.stderr


def test_rekey_encrypts_the_store_with_the_new_key_and_keeps_everything(tmp_path: Path) -> None:
    config, db, new_file = encrypted_setup(tmp_path)

    code, out, err = rekey(config, new_file)

    assert code == 0, err
    assert not key_opens(db, StoreKey(OLD_KEY, "old"))
    assert key_opens(db, StoreKey(NEW_KEY, "new"))
    store = Store(db, StoreKey(NEW_KEY, "new"))
    assert store.get("signals.baseline", "alex") == {"note": "kept"}
    store.close()
    assert f"{db} is now encrypted with the key in {new_file}" in out
    assert f"the key in {tmp_path / 'store.key'} no longer opens it" in out
    assert NEW_KEY not in out + err and OLD_KEY not in out + err


def test_a_new_key_file_others_can_read_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    config, db, new_file = encrypted_setup(tmp_path)
    new_file.chmod(0o644)

    code, _, err = rekey(config, new_file)

    assert code == 1
    assert err == (
        f"ambient store: store key file {new_file} is readable by group or others (mode "
        f"0644); chmod 600 {new_file}\n"
    )
    assert key_opens(db, StoreKey(OLD_KEY, "old"))


def test_a_store_without_encryption_is_refused_in_one_line(tmp_path: Path) -> None:
    _, db, new_file = encrypted_setup(tmp_path)
    plain = tmp_path / "plain.yaml"
    plain.write_text(f"store:\n  path: {db}\n")

    code, _, err = rekey(plain, new_file)

    assert code == 1
    assert err == (
        "ambient store: rekey changes the key of an encrypted store, and this config has no "
        "store.encryption: set one (docs/privacy.md) and start ambient to encrypt it first\n"
    )


def test_a_rekey_on_a_full_card_is_one_line_and_the_old_key_still_opens_it(
    tmp_path: Path,
) -> None:
    """The rewrite needs room for its journal: on a full card `rekey` ended in a traceback
    (SQLite's "database or disk is full"), not saying that nothing had changed; and with no
    room for its shared-memory file, it and every command (`run` too) called the key wrong."""
    config, db, new_file = encrypted_setup(tmp_path)
    with small_disk(tmp_path / "card") as card:
        on_card = card / "ambient.db"
        on_card.write_bytes(db.read_bytes())
        on_card.chmod(0o600)
        config.write_text(config.read_text().replace(str(db), str(on_card)))
        fill(card)

        code, out, err = rekey(config, new_file)

        assert (code, out) == (1, "")
        assert err.splitlines() == [
            f"ambient store: store {on_card} cannot be used (database or disk is full): "
            "nothing changed, the old key still opens it"
        ]
        traced = run_ambient("trace", "--config", str(config))
        assert key_opens(on_card, StoreKey(OLD_KEY, "test"))
    assert traced.stderr.splitlines() == [
        f"ambient trace: store {on_card} cannot be used (database or disk is full)"
    ]
