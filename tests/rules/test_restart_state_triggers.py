"""A state trigger's `for` window that falls due while ambient is not running waits for the
state it needs — the HA entity's state once Home Assistant is connected again, a text signal's
first value — and then decides as an uninterrupted run would have: fire if the state held,
drop (or start over) if it changed. A real on-disk Store; kill -9 means nothing is stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rules.rule_doubles import Harness, log, make_config

from ambient.rules.resume import HA_START_GRACE_S
from ambient.store import Store

HA = {"homeassistant": {"token": "t"}}


def _home_rule(**trigger: Any) -> dict[str, Any]:
    """person.alex comes home and stays 5 min."""
    return {
        "id": "home",
        "triggers": [
            {"trigger": "state", "entity_id": "person.alex", "to": "home", "for": "5min"} | trigger
        ],
        "actions": [log("welcome")],
    }


def _rest_rule() -> dict[str, Any]:
    return {
        "id": "rest",
        "triggers": [{"trigger": "state", "signal": "activity_state", "to": "rest", "for": "2min"}],
        "actions": [log("rested")],
    }


async def _killed_and_restarted(
    h: Harness, path: Path, killed_at: float, back_at: float
) -> Harness:
    """kill -9 at ``killed_at`` (only what was written survives), a new engine at ``back_at``
    that has heard nothing from HA or the sensors yet, as after a real restart."""
    await h.run_until(killed_at)
    h.store.close()
    again = Harness(h.config, store=Store(path), start=h.t0 + back_at)
    again.t0 = h.t0
    return await again.start()


async def _home_pending_until_310(path: Path, **trigger: Any) -> Harness:
    h = await Harness(make_config([_home_rule(**trigger)], **HA), store=Store(path)).start()
    await h.event(0, "ha_state", "person.alex", state="not_home")
    await h.event(10, "ha_state", "person.alex", state="home", last_changed=h.t0 + 10)
    return h


async def _on_disk(path: Path, rule: dict[str, Any]) -> Harness:
    """An engine running ``rule`` with its store on disk at ``path``."""
    return await Harness(make_config([rule]), store=Store(path)).start()


async def _home_due_while_down(tmp_path: Path, **trigger: Any) -> Harness:
    """Alex home since 10, the window due at 310; ambient killed at 309.5 and back at 311."""
    path = tmp_path / "ambient.db"
    h = await _home_pending_until_310(path, **trigger)
    return await _killed_and_restarted(h, path, killed_at=309.5, back_at=311)


async def _home_restarted_before_due(tmp_path: Path, **trigger: Any) -> Harness:
    """Alex home since 10, the window due at 310; ambient killed at 200 and back at 250."""
    path = tmp_path / "ambient.db"
    h = await _home_pending_until_310(path, **trigger)
    return await _killed_and_restarted(h, path, killed_at=200, back_at=250)


# -- HA entity state triggers ---------------------------------------------------------------


async def test_entity_for_due_during_a_restart_fires_when_ha_reports_the_state_held(
    tmp_path: Path,
) -> None:
    h = await _home_due_while_down(tmp_path, **{"from": "not_home"})
    await h.run_until(312)
    assert h.kinds() == []  # due, but HA has not said the state yet: it waits
    # HA connected: the first state of the entity (no old state), unchanged since t0 + 10.
    await h.event(313, "ha_state", "person.alex", state="home", last_changed=h.t0 + 10)
    assert h.events() == [
        (
            313,
            "fired",
            "person.alex changed from unknown to home for 5min "
            "(due 3.0 s earlier, while ambient was not running)",
        )
    ]
    assert h.performer.messages() == ["welcome"]
    await h.run_until(2000)
    assert h.kinds() == ["fired"]


async def test_entity_for_due_during_a_restart_is_dropped_when_the_state_changed(
    tmp_path: Path,
) -> None:
    h = await _home_due_while_down(tmp_path)
    await h.event(313, "ha_state", "person.alex", state="not_home", last_changed=h.t0 + 300)
    await h.run_until(2000)
    assert h.kinds() == [] and h.performer.performed == []
    assert h.engine.status()[0]["state"] == "armed"


async def test_entity_that_left_and_came_back_while_ambient_was_down_starts_the_window_over(
    tmp_path: Path,
) -> None:
    h = await _home_due_while_down(tmp_path)
    # home again, but only since t0 + 200 (it was away in between): due at 500, as uninterrupted.
    await h.event(313, "ha_state", "person.alex", state="home", last_changed=h.t0 + 200)
    await h.run_until(499)
    assert h.kinds() == []
    await h.run_until(500)
    assert h.events() == [(500, "fired", "person.alex changed from unknown to home for 5min")]


async def test_entity_that_came_back_to_a_trigger_with_from_is_dropped(tmp_path: Path) -> None:
    """Which state it came back from is not known: an uninterrupted run may not have fired."""
    h = await _home_due_while_down(tmp_path, **{"from": "not_home"})
    await h.event(313, "ha_state", "person.alex", state="home", last_changed=h.t0 + 200)
    await h.run_until(2000)
    assert h.kinds() == []


async def test_entity_for_waits_for_home_assistant_longer_than_the_signals_do(
    tmp_path: Path,
) -> None:
    """After a power cut Home Assistant starts minutes after ambient: the window waits for
    its state past the signals' grace period (stale_after, 15 s), up to HA_START_GRACE_S."""
    h = await _home_due_while_down(tmp_path, **{"from": "not_home"})
    await h.run_until(311 + 120)
    assert h.kinds() == []
    # HA is back two minutes after ambient; the state held since t0 + 10.
    await h.event(431, "ha_state", "person.alex", state="home", last_changed=h.t0 + 10)
    assert h.events() == [
        (
            431,
            "fired",
            "person.alex changed from unknown to home for 5min "
            "(due 121.0 s earlier, while ambient was not running)",
        )
    ]


async def test_entity_for_with_no_state_from_ha_within_ha_start_grace_is_unknown(
    tmp_path: Path,
) -> None:
    h = await _home_due_while_down(tmp_path, **{"from": "not_home"})
    end = 311 + HA_START_GRACE_S
    await h.run_until(end - 0.1)
    assert h.kinds() == []
    await h.run_until(end)
    assert h.events() == [
        (
            end,
            "suppressed",
            "person.alex unknown (no state from Home Assistant in the 10min after the start: "
            "it was not back, or has no such entity) when `for` ended",
        )
    ]
    await h.event(end + 4, "ha_state", "person.alex", state="home", last_changed=h.t0 + 10)
    await h.run_until(end + 2000)
    assert h.kinds() == ["suppressed"]  # the window is over: a new one needs a new `from`


async def test_entity_restored_by_a_home_assistant_that_started_after_ambient_keeps_its_window(
    tmp_path: Path,
) -> None:
    """A power cut took HA down too: it restores the state with a new last_changed, after
    ambient's start, which says nothing of whether it left while both were down."""
    h = await _home_restarted_before_due(tmp_path, **{"from": "not_home"})
    await h.event(280, "ha_state", "person.alex", state="home", last_changed=h.t0 + 275)
    await h.run_until(309.9)
    assert h.kinds() == []
    await h.run_until(310)
    assert h.events() == [(310, "fired", "person.alex changed from unknown to home for 5min")]


async def test_a_start_read_on_a_clock_not_yet_set_is_the_start_as_the_clock_reads_it_now(
    tmp_path: Path,
) -> None:
    """A Pi without a real-time clock starts on the time it last saved (here 100 s behind)
    until NTP steps it. Alex left and came back while ambient was down, 10 s before it started:
    HA's last_changed is before the start, so the window starts over from it. Read on the
    unset clock, the start came after the return, as if Home Assistant had restarted after
    ambient, and the window kept its deadline (fired at 310)."""
    path = tmp_path / "ambient.db"
    h = await _home_pending_until_310(path)
    await h.run_until(200)  # kill -9
    h.store.close()
    again = Harness(h.config, store=Store(path), start=h.t0 + 150)  # really t0 + 250
    again.t0 = h.t0 - 100
    await again.start()
    await again.run_until(255)
    again.step_clock(100)  # NTP: the clock reads the real time from now on
    await again.event(260, "ha_state", "person.alex", state="home", last_changed=h.t0 + 240)
    await again.run_until(539.9)
    assert again.kinds() == []
    await again.run_until(540)
    assert again.events() == [(540, "fired", "person.alex changed from unknown to home for 5min")]


async def test_an_entity_unavailable_while_home_assistant_starts_is_waited_out(
    tmp_path: Path,
) -> None:
    """A restarted Home Assistant says `unavailable` for an entity until its integration is
    set up: a state of Home Assistant's start, not of the person, as an unknown signal after
    ambient's start is. The window waits on for a state; it used to be dropped, untraced."""
    h = await _home_restarted_before_due(tmp_path, **{"from": "not_home"})
    await h.event(280, "ha_state", "person.alex", state="unavailable", last_changed=h.t0 + 275)
    await h.event(300, "ha_state", "person.alex", state="home", last_changed=h.t0 + 299)
    await h.run_until(309.9)
    assert h.kinds() == []
    await h.run_until(310)
    assert h.events() == [(310, "fired", "person.alex changed from unknown to home for 5min")]


async def test_an_entity_still_unavailable_when_the_wait_ends_is_said_so(
    tmp_path: Path,
) -> None:
    h = await _home_due_while_down(tmp_path)
    await h.event(312, "ha_state", "person.alex", state="unavailable", last_changed=h.t0 + 312)
    end = 311 + HA_START_GRACE_S
    await h.run_until(end - 0.1)
    assert h.kinds() == []
    await h.run_until(end)
    assert h.events() == [
        (
            end,
            "suppressed",
            "person.alex unavailable in Home Assistant for the 10min after the start "
            "when `for` ended",
        )
    ]
    assert h.engine.status()[0]["state"] == "armed"


# -- text signal state triggers -------------------------------------------------------------


async def test_text_for_due_during_a_restart_fires_on_the_first_value_when_it_held(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    h = await _on_disk(path, _rest_rule())
    await h.push(0, activity_state="active")
    await h.push(10, activity_state="rest")
    h = await _killed_and_restarted(h, path, killed_at=129.5, back_at=131)
    await h.push(132, activity_state=None)  # the signal warming up after the restart
    assert h.kinds() == []
    await h.push(134, activity_state="rest")
    assert h.events() == [
        (
            134,
            "fired",
            "activity_state changed from unknown to rest for 2min "
            "(due 4.0 s earlier, while ambient was not running)",
        )
    ]
    assert h.performer.messages() == ["rested"]


async def test_text_for_due_during_a_restart_is_dropped_when_the_first_value_changed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    h = await _on_disk(path, _rest_rule())
    await h.push(10, activity_state="rest")
    h = await _killed_and_restarted(h, path, killed_at=129.5, back_at=131)
    await h.push(134, activity_state="active")
    await h.run_until(2000)
    assert h.kinds() == []
    await h.push(2000, activity_state="rest")  # a new window, from a new change
    await h.run_until(2120)
    assert h.events() == [(2120, "fired", "activity_state changed from unknown to rest for 2min")]


async def test_text_for_with_no_value_within_stale_after_of_the_restart_is_unknown(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    h = await _on_disk(path, _rest_rule())
    await h.push(10, activity_state="rest")
    h = await _killed_and_restarted(h, path, killed_at=129.5, back_at=131)
    await h.run_until(146)
    assert h.events() == [
        (146, "suppressed", "quality: activity_state unknown (no data) when `for` ended")
    ]


# -- state conditions with `for` ------------------------------------------------------------


async def test_a_state_condition_for_counts_from_ha_last_changed_after_a_start() -> None:
    """The state has held since long before the start: the condition need not wait `for`
    again from when ambient first heard it."""
    rule = {
        "id": "button",
        "triggers": [{"trigger": "mqtt", "topic": "home/button"}],
        "conditions": [
            {"condition": "state", "entity_id": "person.alex", "state": "home", "for": "10min"}
        ],
        "actions": [log("pressed")],
    }
    h = await Harness(make_config([rule], mqtt={"host": "localhost"}, **HA)).start()
    await h.event(1, "ha_state", "person.alex", state="home", last_changed=h.t0 - 3600)
    await h.event(2, "mqtt", "home/button", payload="x")
    assert h.kinds() == ["fired"]


# -- text signal state triggers: the first value after a restart -----------------------------


def _trend_rule() -> dict[str, Any]:
    return {
        "id": "hrv_low_nudge",
        "triggers": [{"trigger": "state", "signal": "hrv_trend", "to": "low"}],
        "actions": [log("lighter day?")],
    }


async def test_a_text_signal_that_is_as_before_a_restart_is_not_a_change(tmp_path: Path) -> None:
    """`hrv_trend` was `low` before the restart and is published `low` again after it: the
    nudge went out once, not again at every restart or reload."""
    path = tmp_path / "ambient.db"
    h = await _on_disk(path, _trend_rule())
    await h.push(0, hrv_trend="normal")
    await h.push(10, hrv_trend="low")
    assert h.performer.messages() == ["lighter day?"]
    h = await _killed_and_restarted(h, path, killed_at=60, back_at=100)
    await h.push(101, hrv_trend=None)  # not computed yet after the start
    await h.push(102, hrv_trend="low")
    assert h.kinds() == []
    await h.push(200, hrv_trend="normal")
    await h.push(300, hrv_trend="low")  # a change again: it fires
    assert h.events() == [(300, "fired", "hrv_trend changed from normal to low")]


async def test_a_text_signal_that_changed_across_a_restart_fires(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    h = await _on_disk(path, _trend_rule())
    await h.push(0, hrv_trend="normal")
    h = await _killed_and_restarted(h, path, killed_at=60, back_at=100)
    await h.push(102, hrv_trend="low")
    assert h.events() == [(102, "fired", "hrv_trend changed from normal to low")]


async def test_a_text_signal_unknown_past_the_grace_period_is_a_gap_as_at_any_time(
    tmp_path: Path,
) -> None:
    """Unknown for longer than `signals.stale_after` after the start is unknown for real, as
    a strap taken off: `low` after it fires, as it would without the restart."""
    path = tmp_path / "ambient.db"
    h = await _on_disk(path, _trend_rule())
    await h.push(10, hrv_trend="low")
    h = await _killed_and_restarted(h, path, killed_at=60, back_at=100)
    await h.push(101, hrv_trend=None)
    await h.push(200, hrv_trend="low")
    assert h.events() == [(200, "fired", "hrv_trend changed from unknown to low")]


async def test_entity_for_on_an_entity_ha_does_not_have_ends_when_ha_says_so(
    tmp_path: Path,
) -> None:
    """A typo in `entity_id`: Home Assistant, up and answering, sends its states without it, so
    the window ends then with the precise line instead of waiting out the 10 min."""
    h = await _home_due_while_down(tmp_path, **{"from": "not_home"})
    await h.run_until(340)
    assert h.kinds() == []
    h.engine.entity_missing("person.alex")
    assert h.events() == [
        (
            340,
            "suppressed",
            "person.alex unknown (no such entity in Home Assistant) when `for` ended",
        )
    ]
