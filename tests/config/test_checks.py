"""What the config checks assume of the world outside the config, held to it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ambient import status
from ambient.config.checks import STATUS_SOCKET_NAME, UNIX_SOCKET_PATH_MAX


def test_the_status_socket_checked_is_the_one_the_daemon_makes() -> None:
    assert STATUS_SOCKET_NAME == status.SOCKET_NAME
    assert status.socket_path_for(Path("/s/ambient.db")) == Path("/s") / STATUS_SOCKET_NAME


def test_the_longest_socket_path_checked_is_the_longest_the_kernel_binds(
    tmp_path: Path,
) -> None:
    def path_of(length: int) -> str:
        return str(tmp_path / ("s" * (length - len(str(tmp_path)) - 1)))

    with socket.socket(socket.AF_UNIX) as fits:
        fits.bind(path_of(UNIX_SOCKET_PATH_MAX))
    with socket.socket(socket.AF_UNIX) as too_long, pytest.raises(OSError, match="too long"):
        too_long.bind(path_of(UNIX_SOCKET_PATH_MAX + 1))


def test_the_add_on_token_checked_is_the_one_the_connection_reads() -> None:
    from ambient.config.homeassistant import (
        SUPERVISOR_TOKEN_ENV,
        HomeAssistantConfig,
        resolve_endpoint,
    )

    config = HomeAssistantConfig()
    assert resolve_endpoint(config, {}) is None
    assert resolve_endpoint(config, {SUPERVISOR_TOKEN_ENV: "from-the-supervisor"}) is not None
