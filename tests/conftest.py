"""Shared fixtures: each area's fixtures live in tests/fixtures/ and are imported here."""

from fixtures.homeassistant import ha, homeassistant  # noqa: F401
from fixtures.mosquitto import (
    mosquitto,
    mosquitto_password,
    mosquitto_persistent,
    mosquitto_tls,
)

__all__ = ["mosquitto", "mosquitto_password", "mosquitto_persistent", "mosquitto_tls"]
