"""`ambient check` by someone other than the daemon's user (an admin checking the service's
config as themselves): the store being the daemon's is no mistake, while the unit's check, run
as the daemon's user, refuses a store it could not use."""

from __future__ import annotations

import os
from pathlib import Path

from test_cli_check import check_as_nobody, service_state

__all__ = ["service_state"]

#: The daemon's user in this test: neither root nor ``nobody``, who checks.
DAEMON_USER = 65533


def test_a_store_of_another_user_is_left_to_run_by_hand_and_refused_in_the_service(
    service_state: Path,
) -> None:
    """The store's folder shared on purpose (0755) and its 0600 file are the daemon's user's:
    checked by another user by hand, that is left to `run` (the advice to chown it to the one
    checking would stop the service); in the service, whose user could not use it, refused."""
    os.chown(service_state, DAEMON_USER, DAEMON_USER)
    service_state.chmod(0o755)
    store = service_state / "ambient.db"
    store.write_bytes(b"")
    store.chmod(0o600)
    os.chown(store, DAEMON_USER, DAEMON_USER)
    config = service_state.parent / "ambient.yaml"
    config.write_text(f"people:\n  - id: alex\nstore:\n  path: {store}\n")
    config.chmod(0o644)

    by_hand = check_as_nobody(config)

    assert by_hand.returncode == 0, by_hand.stderr
    assert "chown" not in by_hand.stderr and "cannot make files" not in by_hand.stderr
    credentials = service_state.parent / "credentials"
    credentials.mkdir(mode=0o755)
    in_service = check_as_nobody(config, CREDENTIALS_DIRECTORY=str(credentials))
    assert in_service.returncode == 1
    assert (
        f"store.path: `run` as nobody cannot make files in {service_state} (uid 65533's)"
    ) in in_service.stderr
