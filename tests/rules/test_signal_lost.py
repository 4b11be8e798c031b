"""An episode whose signal stays unknown (the watch off the wrist, charging) for 30 minutes ends
as "signal lost": what it changed is put back instead of a shared light staying dimmed for
hours on no evidence, without on_recovery (nothing says the person recovered)."""

from __future__ import annotations

from pathlib import Path

from rules.rule_doubles import Harness, log, make_config, stress_rule

from ambient.rules.signal_lost import SIGNAL_LOST_AFTER_S
from ambient.store import Store

LOST = (
    "signal lost: stress_score unknown (stale) for 30 min; episode ended without on_recovery, "
    "what it changed put back"
)


async def fired_then_watch_off(h: Harness) -> Harness:
    """Alex's stress rule fires at 120 s; the watch goes quiet at 300 s (the score stale)."""
    await h.start()
    await h.push(0, stress_score=80)
    await h.run_until(120)
    await h.push(300, stress_score=None)
    return h


async def test_an_episode_whose_signal_stays_unknown_ends_as_signal_lost() -> None:
    h = await fired_then_watch_off(Harness(make_config([stress_rule()])))

    await h.run_until(300 + SIGNAL_LOST_AFTER_S - 1)
    assert h.performer.ended == []  # a gap is not a recovery
    await h.run_until(300 + SIGNAL_LOST_AFTER_S)

    assert h.events() == [
        (120, "fired", "stress_score 80 above 70 for 2min"),
        (2100, "ended", LOST),
    ]
    assert h.performer.messages() == ["calm"]  # no "recovered"
    fired = h.performer.performed[0].context.episode
    assert [(c.episode, c.recovery) for c in h.performer.ended] == [
        (fired, True)  # undone at once, as after a recovery
    ]
    assert h.engine.status()[0]["state"] == "armed"  # waiting for the score to enter again
    # The record says the episode ended, for listeners that keep episodes (insights).
    assert [t.ends_episode for t in h.traces] == [False, True]


async def test_the_watch_back_still_stressed_fires_anew() -> None:
    h = await fired_then_watch_off(Harness(make_config([stress_rule()])))
    await h.run_until(2100)

    await h.push(2400, stress_score=85)
    await h.run_until(2400 + 120)

    assert [e[:2] for e in h.events()] == [(120, "fired"), (2100, "ended"), (2520, "fired")]


async def test_a_signal_back_within_the_time_keeps_the_episode() -> None:
    h = await fired_then_watch_off(Harness(make_config([stress_rule()])))
    await h.push(300 + SIGNAL_LOST_AFTER_S - 60, stress_score=82)
    await h.push(300 + SIGNAL_LOST_AFTER_S + 60, stress_score=None)  # off again: counted afresh
    await h.run_until(300 + 2 * SIGNAL_LOST_AFTER_S)

    assert h.kinds() == ["fired"]
    assert h.performer.ended == []
    await h.run_until(300 + 2 * SIGNAL_LOST_AFTER_S + 60)
    assert h.kinds() == ["fired", "ended"]


async def test_an_episode_carried_over_a_restart_with_no_signal_since_ends_as_lost(
    tmp_path: Path,
) -> None:
    """ambient restarts while the watch charges: nothing of the score arrives after the start,
    so the episode is lost 30 minutes after it."""
    path = tmp_path / "ambient.db"
    h = Harness(make_config([stress_rule()]), store=Store(path))
    await h.start()
    await h.push(0, stress_score=80)
    await h.run_until(130)
    h = await h.restarted(path)
    h.signals.values.clear()  # the watch sends nothing any more

    await h.run_until(130 + SIGNAL_LOST_AFTER_S)

    assert [e[1] for e in h.events()] == ["ended"]
    assert "unknown (no data since the start) for 30 min" in h.events()[0][2]
    assert len(h.performer.ended) == 1


async def test_an_escalation_still_to_come_is_called_off_with_the_episode() -> None:
    """The second level was due 45 minutes in: an episode over as signal lost escalates no
    further (nothing is known of the person to escalate on)."""
    rule = stress_rule(escalate=[{"after": "45min", "actions": [log("level 1")]}])
    h = await fired_then_watch_off(Harness(make_config([rule])))

    await h.run_until(120 + 45 * 60 + 60)

    assert h.kinds() == ["fired", "ended"]
    assert h.performer.messages() == ["calm"]
