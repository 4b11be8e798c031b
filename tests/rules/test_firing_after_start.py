"""A firing in the first moments after a start whose conditions read what has not arrived yet
(Home Assistant's states come once it is connected; a signal's first value with its first
readings) waits for it, within the grace period (`signals.stale_after` for a signal, 10 min for
an HA entity, as a `for` hold on one waits), instead of reading
it as unknown only because ambient has just started: "Alex is home" was suppressed as false
a second before HA said so, and the trigger, latched, stayed silent for the whole episode."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from rules.rule_doubles import Harness, log, make_config

from ambient.store import Store

HA = {"homeassistant": {"token": "t"}}


def _rule(**extra: Any) -> dict[str, Any]:
    return {
        "id": "fast",
        "person": "alex",
        "triggers": [{"trigger": "signal", "signal": "hr", "above": 100}],
        "conditions": [{"condition": "state", "entity_id": "person.alex", "state": "home"}],
        "actions": [log("fast")],
        **extra,
    }


async def test_a_firing_before_ha_sent_the_state_waits_for_it() -> None:
    h = await Harness(make_config([_rule()], **HA)).start()
    await h.push(1, hr=120.0)
    assert h.kinds() == []
    await h.event(2, "ha_state", "person.alex", state="home")
    assert h.events() == [(2, "fired", "hr 120 above 100")]
    assert h.performer.messages() == ["fast"]


async def test_a_state_that_holds_not_is_decided_as_usual_once_it_came() -> None:
    h = await Harness(make_config([_rule()], **HA)).start()
    await h.push(1, hr=120.0)
    await h.event(2, "ha_state", "person.alex", state="not_home")
    assert h.events() == [(2, "suppressed", "condition state person.alex is home false")]


async def test_a_firing_waits_for_home_assistant_as_long_as_a_for_hold_does() -> None:
    """After a power cut Home Assistant starts minutes after ambient: a condition on one of
    its entities waits for it up to 10 min, not only the signals' 15 s."""
    h = await Harness(make_config([_rule()], **HA)).start()
    await h.push(1, hr=120.0)
    await h.run_until(300)
    assert h.kinds() == []
    await h.event(300, "ha_state", "person.alex", state="home")
    assert h.events() == [(300, "fired", "hr 120 above 100")]


async def test_no_state_within_10_min_of_the_start_is_unknown_as_at_any_time() -> None:
    h = await Harness(make_config([_rule()], **HA)).start()
    await h.push(1, hr=120.0)
    await h.run_until(599)
    assert h.kinds() == []
    await h.run_until(600)  # the wait for Home Assistant after a start is over
    assert h.events() == [(600, "suppressed", "condition state person.alex is home false")]


async def test_a_trigger_that_cleared_while_waiting_does_not_fire() -> None:
    h = await Harness(make_config([_rule()], **HA)).start()
    await h.push(1, hr=120.0)
    await h.push(3, hr=80.0)
    await h.event(4, "ha_state", "person.alex", state="home")
    await h.run_until(30)
    assert h.kinds() == [] and h.performer.performed == []


async def test_after_the_grace_period_a_firing_decides_at_once() -> None:
    h = await Harness(make_config([_rule()], **HA)).start()
    await h.run_until(600)
    await h.push(600, hr=120.0)
    assert h.events() == [(600, "suppressed", "condition state person.alex is home false")]


async def test_a_text_signal_a_condition_reads_is_known_once_it_has_a_word() -> None:
    """`activity_state` is `rest` from the first update: known, so the firing decides at once,
    not at the end of the grace period (a word is no number, yet a value)."""
    rule = _rule(conditions=[{"condition": "signal", "signal": "activity_state", "state": "rest"}])
    h = await Harness(make_config([rule], **HA)).start()
    await h.push(1, hr=120.0, activity_state="rest")
    assert h.events() == [(1, "fired", "hr 120 above 100")]


async def test_a_firing_waiting_for_a_text_signal_decides_on_its_first_word() -> None:
    rule = _rule(conditions=[{"condition": "signal", "signal": "activity_state", "state": "rest"}])
    h = await Harness(make_config([rule], **HA)).start()
    await h.push(1, hr=120.0)
    assert h.kinds() == []
    await h.push(3, activity_state="rest")
    assert h.events() == [(3, "fired", "hr 120 above 100")]


async def test_the_grace_period_is_elapsed_time_a_step_back_of_the_clock_does_not_prolong() -> None:
    """The clock stepped back an hour just after the start: the firing still decides
    10 min after the start, not an hour later."""
    h = await Harness(make_config([_rule()], **HA)).start()
    await h.push(1, hr=120.0)
    h.clock.step(-3600)
    await h.run_until(600 - 3600)
    assert h.events() == [(600 - 3600, "suppressed", "condition state person.alex is home false")]


async def test_a_step_forward_at_boot_does_not_end_the_grace_period() -> None:
    """A Raspberry Pi starts at its last shutdown's time and NTP steps it a day forward a
    moment later: HA's states have still not arrived, and the firing waits for them."""
    day = 86400
    h = await Harness(make_config([_rule()], **HA)).start()
    await h.run_until(0.5)
    h.clock.step(day)
    await h.push(day + 1, hr=120.0)
    await h.event(day + 2, "ha_state", "person.alex", state="home")
    assert h.events() == [(day + 2, "fired", "hr 120 above 100")]


async def test_a_firing_still_waiting_at_a_reload_is_decided_after_it(tmp_path: Path) -> None:
    """Reloaded again 3 s after a start, before HA had sent its states: the waiting firing was
    dropped with its trigger left as fired, so the rule stayed silent, untraced, for the whole
    episode. It is decided after the reload, once its signal and HA's states are there."""
    path = tmp_path / "ambient.db"
    h = await Harness(make_config([_rule()], **HA), store=Store(path)).start()
    await h.push(1, hr=120.0)
    await h.run_until(3)
    h = await h.restarted(path)
    await h.event(4, "ha_state", "person.alex", state="home")
    await h.push(5, hr=121.0)
    assert h.kinds() == ["fired"] and h.performer.messages() == ["fast"]


async def test_a_trigger_that_cleared_and_fired_again_while_waiting_fires_once() -> None:
    """Alex's heart rate crossed, came down and crossed again before HA sent its states: two
    firings waited for them, and both fired once they came, the first though its crossing had
    cleared. The newer one decides; the first has nothing left to fire."""
    h = await Harness(make_config([_rule()], **HA)).start()
    await h.push(1, hr=120.0)
    await h.push(2, hr=80.0)
    await h.push(3, hr=121.0)
    await h.event(4, "ha_state", "person.alex", state="home")
    assert h.events() == [(4, "fired", "hr 121 above 100")]
    assert h.performer.messages() == ["fast"]


async def test_a_waiting_firing_its_condition_held_back_stays_held_back_after_a_restart(
    tmp_path: Path,
) -> None:
    """Decided (here: suppressed, Alex not home), the trigger is written as fired, latched as
    any suppressed firing is, no longer as due: a restart does not decide it a second time."""
    path = tmp_path / "ambient.db"
    h = await Harness(make_config([_rule()], **HA), store=Store(path)).start()
    await h.push(1, hr=120.0)
    await h.event(2, "ha_state", "person.alex", state="not_home")
    h = await h.restarted(path)
    await h.event(3, "ha_state", "person.alex", state="home")
    await h.push(4, hr=121.0)
    await h.run_until(30)
    assert h.kinds() == [] and h.performer.performed == []


async def test_a_condition_on_an_entity_ha_does_not_have_decides_when_ha_says_so() -> None:
    h = await Harness(make_config([_rule()], **HA)).start()
    await h.push(1, hr=120.0)
    await h.run_until(40)
    assert h.kinds() == []
    h.engine.entity_missing("person.alex")
    await h.run_until(40.1)
    assert h.kinds() == ["suppressed"]


async def test_a_firing_waiting_for_home_assistant_says_which_entity_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Up to 10 min with nothing happening: the log says what waits, and for which entity."""
    caplog.set_level(logging.INFO, logger="ambient.rules")
    h = await Harness(make_config([_rule()], **HA)).start()
    await h.push(1, hr=120.0)
    assert (
        "Rule fast: a condition of the run of alex fired just after the start: waiting up to "
        "599.0 s for the state of person.alex from Home Assistant"
    ) in caplog.messages
