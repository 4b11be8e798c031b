"""A `wait_for` step whose timeout falls due while ambient is not running waits for its signal's
first value after the start (at most `signals.stale_after`) and decides on it, as the
uninterrupted run would have, instead of timing out on a signal that is unknown only because of
the restart. The run's next steps then read that value too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rules.rule_doubles import Harness, log, make_config, stress_rule

from ambient.store import Store

HA = {"homeassistant": {"token": "t"}}


def _wait_then_choose(**wait: Any) -> list[dict[str, Any]]:
    """Calm, wait up to 10 min for the score to drop below 50, then say which way it went."""
    return [
        log("calm"),
        {
            "wait_for": {"signal": "stress_score", "below": 50},
            "timeout": "10min",
            "continue_on_timeout": True,
            **wait,
        },
        {
            "choose": [
                {
                    "conditions": [{"condition": "signal", "signal": "stress_score", "below": 50}],
                    "sequence": [log("calmed down")],
                }
            ],
            "default": [log("still stressed")],
        },
    ]


async def _fired_then_killed(
    tmp_path: Path,
    killed_at: float,
    back_at: float,
    actions: list[dict[str, Any]] | None = None,
    **wait: Any,
) -> Harness:
    """The rule fires at 120 s and its run waits (timeout at 720 s; or ``actions``); kill -9 at
    ``killed_at`` (only what was written survives) and a new engine at ``back_at`` that has no
    reading yet."""
    path = tmp_path / "ambient.db"
    steps = actions if actions is not None else _wait_then_choose(**wait)
    config = make_config([stress_rule(actions=steps, on_recovery=[])], **HA)
    h = await Harness(config, store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.run_until(killed_at)
    assert h.performer.messages() == ["calm"]
    h.store.close()
    again = Harness(config, store=Store(path), start=h.t0 + back_at)
    again.t0 = h.t0
    return await again.start()


async def test_a_first_value_that_meets_the_wait_counts_as_met(tmp_path: Path) -> None:
    h = await _fired_then_killed(tmp_path, killed_at=719.5, back_at=721)
    await h.run_until(723)
    assert h.performer.messages() == []  # due, but the score is not known yet: it waits
    await h.push(723, stress_score=None)  # warming up after the restart
    assert h.performer.messages() == []
    await h.push(725, stress_score=42)
    assert h.performer.messages() == ["calmed down"]
    assert h.engine.status()[0]["state"] != "running"


async def test_a_first_value_that_does_not_meet_the_wait_times_it_out(tmp_path: Path) -> None:
    h = await _fired_then_killed(tmp_path, killed_at=719.5, back_at=721)
    await h.run_until(723)
    assert h.performer.messages() == []
    await h.push(724, stress_score=77)
    assert h.performer.messages() == ["still stressed"]


async def test_without_continue_on_timeout_a_stressed_first_value_ends_the_run(
    tmp_path: Path,
) -> None:
    h = await _fired_then_killed(tmp_path, killed_at=719.5, back_at=721, continue_on_timeout=False)
    await h.run_until(723)
    assert h.engine.status()[0]["state"] == "running"  # still waiting for the first value
    await h.push(724, stress_score=77)
    await h.run_until(800)
    assert h.performer.messages() == []
    assert h.engine.status()[0]["state"] == "cooling_down"


async def test_a_timeout_that_falls_due_in_the_grace_period_waits_too(tmp_path: Path) -> None:
    h = await _fired_then_killed(tmp_path, killed_at=715, back_at=716)
    await h.run_until(725)  # due at 720, 4 s after the start, nothing known yet
    assert h.performer.messages() == []
    await h.push(726, stress_score=45)
    assert h.performer.messages() == ["calmed down"]


async def test_no_value_within_stale_after_of_the_start_times_the_wait_out(
    tmp_path: Path,
) -> None:
    h = await _fired_then_killed(tmp_path, killed_at=719.5, back_at=721)
    await h.run_until(735.9)
    assert h.performer.messages() == []
    await h.run_until(736)  # 15 s (signals.stale_after) after the start: unknown, as ever
    assert h.performer.messages() == ["still stressed"]


async def test_a_wait_that_is_not_due_yet_waits_out_its_own_timeout(tmp_path: Path) -> None:
    h = await _fired_then_killed(tmp_path, killed_at=300, back_at=301)
    await h.push(302, stress_score=78)
    await h.run_until(719)
    assert h.performer.messages() == []
    await h.run_until(720)
    assert h.performer.messages() == ["still stressed"]


async def test_an_entity_threshold_is_waited_for_as_well(tmp_path: Path) -> None:
    h = await _fired_then_killed(
        tmp_path,
        killed_at=719.5,
        back_at=721,
        wait_for={"signal": "stress_score", "below": "input_number.calm_level"},
    )
    await h.push(723, stress_score=42)
    assert h.performer.messages() == []  # below what? Home Assistant has not said yet
    await h.event(724, "ha_state", "input_number.calm_level", state="50.0")
    assert h.performer.messages() == ["calmed down"]


async def test_an_entity_threshold_waits_for_home_assistant_up_to_10_min(tmp_path: Path) -> None:
    """Home Assistant, down in the same power cut, starts minutes after ambient: the wait for
    its threshold lasts as long as a `for` hold's on an entity, not the signals' 15 s."""
    below = {"signal": "stress_score", "below": "input_number.calm_level"}
    h = await _fired_then_killed(tmp_path, killed_at=719.5, back_at=721, wait_for=below)
    await h.push(723, stress_score=42)
    await h.run_until(1020)
    assert h.performer.messages() == []
    await h.event(1021, "ha_state", "input_number.calm_level", state="50.0")
    assert h.performer.messages() == ["calmed down"]


async def test_an_entity_threshold_not_sent_in_10_min_times_the_wait_out(tmp_path: Path) -> None:
    below = {"signal": "stress_score", "below": "input_number.calm_level"}
    h = await _fired_then_killed(
        tmp_path, killed_at=719.5, back_at=721, wait_for=below, continue_on_timeout=False
    )
    await h.push(723, stress_score=42)
    await h.run_until(1320.9)
    assert h.kinds() == ["recovered"]
    await h.run_until(1321)  # 10 min after the start: no threshold, timed out
    assert h.kinds() == ["recovered", "resumed", "ended"]
    assert h.performer.messages() == []


async def test_a_condition_after_a_delay_that_fell_due_waits_for_its_signal(
    tmp_path: Path,
) -> None:
    delay_then_if = [
        log("calm"),
        {"delay": "10min"},
        {
            "if": [{"condition": "signal", "signal": "stress_score", "below": 50}],
            "then": [log("calmed down")],
            "else": [log("still stressed")],
        },
    ]
    h = await _fired_then_killed(tmp_path, killed_at=719.5, back_at=721, actions=delay_then_if)
    await h.run_until(723)
    assert h.performer.messages() == []
    await h.push(724, stress_score=44)
    assert h.performer.messages() == ["calmed down"]


async def test_a_stop_while_it_waits_for_the_first_value_keeps_the_run_for_the_next_start(
    tmp_path: Path,
) -> None:
    h = await _fired_then_killed(tmp_path, killed_at=719.5, back_at=721)
    await h.run_until(723)
    await h.engine.stop()  # a clean stop (SIGTERM) before any reading arrived
    h.store.close()
    again = await Harness(h.config, store=Store(tmp_path / "ambient.db"), start=h.t0 + 730).start()
    again.t0 = h.t0
    await again.push(732, stress_score=41)
    assert again.performer.messages() == ["calmed down"]
