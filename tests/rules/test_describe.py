"""A signal trigger's firing reason says its `for` as written: below a second, or with a part
of a second, it was rounded to whole seconds ("for 0s" for `for: 0.5s`)."""

from __future__ import annotations

import pytest

from ambient.config.triggers import SignalTriggerConfig
from ambient.rules.describe import signal_fired


def _fired(held: object) -> str:
    trigger = SignalTriggerConfig.model_validate(
        {"trigger": "signal", "signal": "hr", "above": 100, "for": held}
    )
    return signal_fired(trigger, 120.0, now_inside=True)


@pytest.mark.parametrize(
    ("held", "said"),
    [("0.5s", "0.5s"), ({"milliseconds": 250}, "0.25s"), ("1.5s", "1.5s"), ("2min", "2min")],
)
def test_a_for_is_said_as_written(held: object, said: str) -> None:
    assert _fired(held) == f"hr 120 above 100 for {said}"
