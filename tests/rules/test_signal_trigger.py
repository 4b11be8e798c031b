"""Signal triggers: edge-triggered like HA's numeric_state, with `for`, hysteresis that keeps
`above` exact, cooldown without late firing, and unknown values that never satisfy."""

from __future__ import annotations

import pytest
from rules.rule_doubles import Harness, make_config, stress_rule


async def test_fires_once_after_for_and_only_again_after_clearing_past_hysteresis() -> None:
    h = await Harness(make_config([stress_rule(cooldown=0)])).start()
    await h.push(0, stress_score=74.2)
    await h.run_until(119)
    assert h.kinds() == []
    await h.run_until(120)
    assert h.events() == [(120, "fired", "stress_score 74.2 above 70 for 2min")]
    assert h.performer.messages() == ["calm"]
    # Dips into the hysteresis band (60..70] do not clear, so re-entering does not re-fire.
    await h.push(200, stress_score=65)
    await h.push(210, stress_score=80)
    await h.run_until(600)
    assert h.kinds() == ["fired"]
    # At or below 60 clears: recovery runs, and the next entry fires again after `for`.
    await h.push(700, stress_score=60)
    assert h.events()[-1] == (
        700,
        "recovered",
        "stress_score 60 at or below 60 (70 - hysteresis 10)",
    )
    assert h.performer.messages() == ["calm", "recovered"]
    await h.push(800, stress_score=71)
    await h.run_until(920)
    assert h.kinds() == ["fired", "recovered", "fired"]


async def test_above_is_exact_value_equal_to_threshold_does_not_enter() -> None:
    h = await Harness(make_config([stress_rule(cooldown=0)])).start()
    await h.push(0, stress_score=70.0)
    await h.run_until(600)
    assert h.kinds() == []


async def test_leaving_past_hysteresis_during_for_cancels_the_window() -> None:
    h = await Harness(make_config([stress_rule()])).start()
    await h.push(0, stress_score=75)
    await h.push(60, stress_score=59)
    await h.push(90, stress_score=75)
    await h.run_until(209)
    assert h.kinds() == []
    await h.run_until(210)
    assert h.events() == [(210, "fired", "stress_score 75 above 70 for 2min")]


async def test_dip_inside_band_keeps_the_for_window_counting() -> None:
    h = await Harness(make_config([stress_rule()])).start()
    await h.push(0, stress_score=75)
    await h.push(60, stress_score=66)
    await h.run_until(120)
    assert h.events() == [
        (120, "fired", "stress_score above 70 for 2min (now 66, within hysteresis 10)")
    ]


async def test_cooldown_suppresses_and_does_not_fire_late() -> None:
    h = await Harness(make_config([stress_rule()])).start()
    await h.push(0, stress_score=80)
    await h.run_until(120)
    await h.push(300, stress_score=50)
    await h.push(400, stress_score=80)
    await h.run_until(520)
    # T0 is 16:13:20 in Europe/Berlin; the cooldown ends 30 min after the firing at T0 + 120 s.
    assert h.events()[-1][1:] == ("suppressed", "cooldown until 16:45:20")
    # Still above when the cooldown ends: no late firing.
    await h.run_until(3 * 3600)
    assert h.kinds() == ["fired", "recovered", "suppressed"]
    # A clear-and-re-enter after the cooldown fires again.
    await h.push(3 * 3600 + 10, stress_score=50)
    await h.push(3 * 3600 + 20, stress_score=90)
    await h.run_until(3 * 3600 + 140)
    assert h.kinds() == ["fired", "recovered", "suppressed", "fired"]


async def test_unknown_value_resets_the_for_window_and_is_traced_as_quality() -> None:
    h = await Harness(make_config([stress_rule()])).start()
    await h.push(0, stress_score=80)
    await h.push(60, stress_score=None)
    await h.run_until(300)
    assert h.events() == [
        (60, "suppressed", "quality: stress_score unknown (stale); for window reset")
    ]
    # Coming back above counts as a fresh entry.
    await h.push(400, stress_score=80)
    await h.run_until(520)
    assert h.kinds() == ["suppressed", "fired"]


@pytest.mark.parametrize("not_a_number", [float("nan"), float("inf"), -float("inf")])
async def test_a_nan_or_infinite_value_is_unknown_and_resets_the_for_window(
    not_a_number: float,
) -> None:
    h = await Harness(make_config([stress_rule()])).start()
    await h.push(0, stress_score=80.0)
    await h.push(60, stress_score=not_a_number)
    await h.run_until(300)
    assert h.kinds() == ["suppressed"]  # no firing at 120: the window was reset
    await h.push(400, stress_score=80.0)
    await h.run_until(520)
    assert h.kinds() == ["suppressed", "fired"]


async def test_value_stale_in_the_view_when_for_ends_does_not_fire() -> None:
    h = await Harness(make_config([stress_rule()])).start()
    await h.push(0, stress_score=80)
    # The signal view went stale without an update reaching the engine.
    del h.signals.values["alex"]["stress_score"]
    await h.run_until(200)
    assert h.events() == [
        (120, "suppressed", "quality: stress_score unknown (no data) when `for` ended")
    ]


async def test_unknown_while_active_is_not_a_recovery() -> None:
    trigger = {"trigger": "signal", "signal": "stress_score", "above": 70, "hysteresis": 10}
    h = await Harness(make_config([stress_rule(triggers=[trigger])])).start()
    await h.push(0, stress_score=80)
    await h.push(10, stress_score=None)
    await h.push(20, stress_score=85)
    assert h.kinds() == ["fired"]
    assert h.performer.ended == []


async def test_below_and_range_triggers() -> None:
    rule = stress_rule(
        cooldown=0,
        triggers=[
            {"trigger": "signal", "signal": "ln_rmssd_z", "below": -1.5, "hysteresis": 0.5},
        ],
    )
    h = await Harness(make_config([rule])).start()
    await h.push(0, ln_rmssd_z=-1.6)
    await h.push(10, ln_rmssd_z=-1.2)
    await h.push(20, ln_rmssd_z=-0.9)
    assert h.events() == [
        (0, "fired", "ln_rmssd_z -1.6 below -1.5"),
        (20, "recovered", "ln_rmssd_z -0.9 at or above -1 (-1.5 + hysteresis 0.5)"),
    ]
    ranged = stress_rule(
        cooldown=0,
        triggers=[{"trigger": "signal", "signal": "hr", "above": 100, "below": 140}],
    )
    h = await Harness(make_config([ranged])).start()
    await h.push(0, hr=150)
    await h.push(10, hr=120)
    await h.push(20, hr=145)
    assert [e[1:] for e in h.events()] == [
        ("fired", "hr 120 between 100 and 140"),
        ("recovered", "hr 145 at or above 140"),
    ]


async def test_rule_without_person_keeps_state_per_person() -> None:
    rule = stress_rule(cooldown=0)
    del rule["person"]
    h = await Harness(make_config([rule])).start()
    await h.push(0, "alex", stress_score=80)
    await h.push(30, "sam", stress_score=80)
    await h.run_until(200)
    assert [(t.person, e) for t, e in zip(h.traces, h.events(), strict=True)] == [
        ("alex", (120, "fired", "stress_score 80 above 70 for 2min")),
        ("sam", (150, "fired", "stress_score 80 above 70 for 2min")),
    ]
    assert {p.context.person for p in h.performer.performed} == {"alex", "sam"}


async def test_rule_with_person_ignores_others() -> None:
    h = await Harness(make_config([stress_rule()])).start()
    await h.push(0, "sam", stress_score=99)
    await h.run_until(600)
    assert h.kinds() == []


async def test_action_context_carries_rule_person_episode_trigger_and_signals() -> None:
    h = await Harness(make_config([stress_rule()])).start()
    await h.push(0, stress_score=80)
    await h.run_until(120)
    await h.push(200, stress_score=10)
    fired, recovered = h.performer.performed
    assert fired.context.rule == "calm" and fired.context.person == "alex"
    assert fired.context.trigger == "stressed"
    assert fired.context.signals == {"stress_score": 80}
    assert fired.context.recovery is False
    assert recovered.context.recovery is True
    assert recovered.context.episode == fired.context.episode
    assert h.performer.ended[0].episode == fired.context.episode


async def test_worked_example_of_docs_rules_md() -> None:
    """The timeline drawn in docs/rules.md, half a minute per sample."""
    h = await Harness(make_config([stress_rule(**{"on_recovery": []})])).start()
    scores = [50, 74, 74, 65, 75, 75, 78, 78, 76, 74, 72, 58, 55, 52, 52, 55, 76, 76, 78, 78]
    scores += [77, 79, 78, 77, 78]
    for half_minutes, score in enumerate(scores):
        await h.push(half_minutes * 30, stress_score=float(score))
    await h.run_until(40 * 60)
    assert h.events() == [
        (150, "fired", "stress_score 75 above 70 for 2min"),
        (330, "recovered", "stress_score 58 at or below 60 (70 - hysteresis 10)"),
        (600, "suppressed", "cooldown until 16:45:50"),
    ]
