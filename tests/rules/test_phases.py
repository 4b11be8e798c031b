"""What ``ambient status`` says about a rule: the phase it is really in, with the time or value
that ends it — never ``armed`` while a fired rule waits for recovery."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

from rules.rule_doubles import Harness, make_config, stress_rule

from ambient.status_page import rule_phase_text


def row(h: Harness) -> dict[str, Any]:
    rows = h.engine.status()
    assert len(rows) == 1  # one rule, and only alex ever has signals here
    return rows[0]


async def test_armed_then_in_for_with_its_deadline() -> None:
    h = await Harness(make_config([stress_rule()])).start()
    assert row(h)["state"] == "armed"
    await h.push(0, stress_score=80)
    status = row(h)
    assert status["state"] == "in_for"
    assert status["for_until"] == h.t0 + 120
    assert status["in_range"] == "stress_score above 70"


async def test_a_fired_rule_waits_for_recovery_below_the_hysteresis() -> None:
    h = await Harness(make_config([stress_rule(cooldown=0)])).start()
    await h.push(0, stress_score=80)
    await h.push(130, stress_score=85)
    status = row(h)
    assert status["state"] == "active"
    assert status["active_since"] == h.t0 + 120
    assert status["recovery"] == "stress_score at or below 60"
    await h.push(200, stress_score=65)  # below 70 but not past the hysteresis
    assert row(h)["state"] == "active"
    await h.push(210, stress_score=55)
    assert row(h)["state"] == "armed"
    assert row(h)["active_since"] is None


async def test_cooling_down_names_its_end_and_the_recovery_it_waits_for() -> None:
    h = await Harness(make_config([stress_rule()])).start()
    await h.push(0, stress_score=80)
    await h.run_until(130)
    status = row(h)
    assert status["state"] == "cooling_down"
    assert status["cooldown_until"] == h.t0 + 120 + 1800
    assert status["recovery"] == "stress_score at or below 60"


async def test_pause_and_quiet_hours_are_shown_as_held_back() -> None:
    h = await Harness(make_config([stress_rule()])).start()
    assert row(h)["held_back"] is None
    h.engine.set_paused(True, "test")
    assert row(h)["held_back"] == "paused (by test)"
    quiet = make_config([stress_rule()], quiet_hours={"start": "00:00", "end": "23:59"})
    q = await Harness(quiet).start()
    assert row(q)["held_back"] == "quiet hours 00:00–23:59"


async def test_quiet_hours_say_which_actions_of_a_rule_still_go_through() -> None:
    tell_sam = {"action": "log", "message": "tell sam", "quiet_hours": "ignore"}
    rule = stress_rule(escalate=[{"after": "10min", "actions": [tell_sam]}])
    quiet = make_config([rule], quiet_hours={"start": "00:00", "end": "23:59"})
    q = await Harness(quiet).start()
    assert row(q)["held_back"] == (
        "quiet hours 00:00–23:59, but not its actions with quiet_hours: ignore"
    )


async def test_a_rule_for_one_person_names_them_before_anything_happened() -> None:
    """In a household ``calm (alex)`` and ``calm_sam`` side by side read as if the second were
    for everyone: a rule with ``person:`` names them from the start."""
    h = await Harness(make_config([stress_rule(), stress_rule(id="calm_all", person=None)])).start()
    people = {status["id"]: status["person"] for status in h.engine.status()}
    assert people == {"calm": "alex", "calm_all": None}


async def test_a_firing_held_back_latches_and_says_so_not_active() -> None:
    """A pause held the firing back: the trigger latched as a fired one does, but nothing ran
    and no episode is open (no escalation, no on_recovery). Status said `active since …`, as
    for a rule whose actions ran."""
    h = await Harness(make_config([stress_rule(cooldown=0)])).start()
    h.engine.set_paused(True, "test")
    await h.push(0, stress_score=80)
    await h.push(130, stress_score=85)
    assert h.kinds() == ["suppressed"]
    status = row(h)
    assert (status["state"], status["active_held_back"]) == ("held_back", True)
    assert status["active_since"] == h.t0  # when it entered its range: it never fired
    assert status["recovery"] == "stress_score at or below 60"
    assert re.fullmatch(
        r"held back since [-\d :]+, waiting for stress_score at or below 60, "
        r"actions held back: paused \(by test\)",
        rule_phase_text(status, UTC),
    )
    await h.push(200, stress_score=55)
    assert row(h)["state"] == "armed"


async def test_a_firing_that_ran_is_active_not_held_back() -> None:
    h = await Harness(make_config([stress_rule(cooldown=0)])).start()
    await h.push(0, stress_score=80)
    await h.push(130, stress_score=85)
    status = row(h)
    assert (status["state"], status["active_held_back"]) == ("active", False)
    assert re.fullmatch(
        r"active since [-\d :]+, waiting for stress_score at or below 60",
        rule_phase_text(status, UTC),
    )


async def test_a_firing_still_waiting_for_its_conditions_inputs_is_not_said_held_back() -> None:
    """Just after a start a firing waits for the states its conditions read (HA's come once it
    is connected): nothing held it back, it has not decided yet. Status said `held back`."""
    rule = stress_rule(cooldown=0)
    rule["triggers"][0]["for"] = 0
    rule["conditions"] = [{"condition": "state", "entity_id": "person.alex", "state": "home"}]
    h = await Harness(make_config([rule], homeassistant={"token": "t"})).start()
    await h.push(1, stress_score=80)
    assert h.kinds() == []
    assert (row(h)["state"], row(h)["active_held_back"]) == ("active", False)
    await h.event(2, "ha_state", "person.alex", state="home")
    assert h.kinds() == ["fired"]
    assert (row(h)["state"], row(h)["active_held_back"]) == ("active", False)
