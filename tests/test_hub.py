"""The hub: one listener that raises stops neither the others nor the publisher."""

from __future__ import annotations

import logging

import pytest

from ambient.hub import Hub
from ambient.messages import SignalUpdate, SignalValue


def test_a_failing_signal_listener_is_logged_and_the_next_one_still_hears(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = Hub()
    heard: list[SignalUpdate] = []

    def broken(update: SignalUpdate) -> None:
        raise RuntimeError("boom")

    hub.on_signals(broken)
    hub.on_signals(heard.append)
    update = SignalUpdate(1.0, "alex", {"hr": SignalValue(64.0, 1.0)})

    with caplog.at_level(logging.ERROR, logger="ambient.hub"):
        hub.publish_signals(update)

    assert heard == [update]
    assert "failed" in caplog.text and "boom" in caplog.text
