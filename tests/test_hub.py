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


def test_a_split_update_reaches_first_listeners_first_and_the_others_in_full() -> None:
    """The rules (``first``) hear the first half of a split update and every other update;
    the other listeners hear the full update, and each kind hears them in its own order."""
    hub = Hub()
    heard: list[tuple[str, SignalUpdate]] = []
    hub.on_signals(lambda u: heard.append(("entities", u)))
    hub.on_signals(lambda u: heard.append(("rules", u)), first=True)
    hub.on_signals(lambda u: heard.append(("insights", u)))
    first_half = SignalUpdate(1.0, "alex", {"hr": SignalValue(64.0, 1.0)})
    full = SignalUpdate(1.0, "alex", {**first_half.values, "rmssd": SignalValue(40.0, 1.0)})
    insight = SignalUpdate(1.0, "alex", {"hrv_trend": SignalValue(0.5, 1.0)})

    hub.publish_first_signals(first_half)
    hub.publish_later_signals(full)
    hub.publish_signals(insight)

    assert heard == [
        ("rules", first_half),
        ("entities", full),
        ("insights", full),
        ("entities", insight),
        ("rules", insight),
        ("insights", insight),
    ]
