"""How the daemon wires the interventions: on a virtual clock the choices follow a seed."""

from __future__ import annotations

from typing import Any

from ambient.clock import VirtualClock
from ambient.config import AmbientConfig
from ambient.config.actions import ChooseCalming
from ambient.hub import Hub
from ambient.interventions.wiring import add_interventions
from ambient.store import Store

STEP: dict[str, Any] = {
    "options": [
        {"id": option, "actions": [{"action": "log", "message": option}]}
        for option in ("breathe", "lights", "music")
    ],
    "per_day": 24,
}
CONFIG: dict[str, Any] = {
    "people": [{"id": "alex"}],
    "store": {"path": None},
    "rules": [
        {
            "id": "calm",
            "person": "alex",
            "triggers": [{"trigger": "signal", "signal": "stress_score", "above": 70}],
            "actions": [{"choose_calming": STEP}],
        }
    ],
}


def choices(seed: int) -> list[str | None]:
    """Twenty choices of a fresh simulated daemon whose draws follow ``seed``."""
    chooser = add_interventions(
        AmbientConfig.model_validate(CONFIG),
        VirtualClock(1_800_000_000.0),
        Store(None),
        lambda _person: None,
        Hub(),
        choice_seed=seed,
    )
    assert chooser is not None
    step = ChooseCalming.model_validate(STEP)
    return [chooser.decide(step, "calm", "alex").option for _ in range(20)]


def test_a_simulation_chooses_the_same_every_run_and_another_seed_differently() -> None:
    assert choices(0) == choices(0)
    assert choices(0) != choices(1)  # simulated households do not share one stream of draws
