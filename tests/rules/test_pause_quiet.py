"""Pause (from HA or MQTT commands) and quiet hours hold actions back, and say so in traces."""

from __future__ import annotations

from rules.rule_doubles import Harness, log, make_config, stress_rule


async def test_pause_command_suppresses_firing_and_resume_restores() -> None:
    h = await Harness(make_config([stress_rule(cooldown=0)])).start()
    await h.event(0, "command", "pause", paused=True, source="switch.ambient_pause")
    assert h.engine.paused
    await h.push(10, stress_score=80)
    await h.run_until(200)
    assert h.events() == [(130, "suppressed", "paused (by switch.ambient_pause)")]
    await h.event(300, "command", "resume")
    assert not h.engine.paused
    await h.push(310, stress_score=50)
    await h.push(320, stress_score=80)
    await h.run_until(440)
    assert h.kinds() == ["suppressed", "fired"]
    assert h.performer.messages() == ["calm"]


async def test_pause_mid_sequence_suppresses_the_remaining_actions() -> None:
    rule = stress_rule(actions=[log("dim"), {"delay": "5min"}, log("music")])
    h = await Harness(make_config([rule])).start()
    await h.push(0, stress_score=80)
    await h.run_until(130)
    h.engine.set_paused(True, "test")
    await h.run_until(600)
    assert h.performer.messages() == ["dim"]


async def test_pause_survives_a_restart_and_config_sets_the_initial_state() -> None:
    h = await Harness(make_config([stress_rule()], pause=True)).start()
    assert h.engine.paused
    h.engine.set_paused(False, "ha")
    again = await Harness(h.config, store=h.store).start()
    assert not again.engine.paused


async def test_quiet_hours_crossing_midnight_suppress_firing() -> None:
    # T0 is 16:13:20 Europe/Berlin; quiet hours 22:00-07:00.
    config = make_config([stress_rule(cooldown=0)], quiet_hours={"start": "22:00", "end": "07:00"})
    h = await Harness(config).start()
    night = 6 * 3600 + 2 * 60  # 22:15:20
    await h.push(night, stress_score=80)
    await h.run_until(night + 120)
    assert h.events()[-1][1:] == ("suppressed", "quiet hours 22:00–07:00")
    morning = night + 9 * 3600  # 07:15:20
    await h.push(morning, stress_score=50)
    await h.push(morning + 10, stress_score=80)
    await h.run_until(morning + 130)
    assert h.kinds() == ["suppressed", "fired"]


async def test_quiet_hours_starting_during_a_run_suppress_later_actions() -> None:
    config = make_config(
        [stress_rule(actions=[log("dim"), {"delay": "1h"}, log("music")])],
        quiet_hours={"start": "17:00", "end": "06:00"},
    )
    h = await Harness(config).start()
    await h.push(0, stress_score=80)
    await h.run_until(4000)
    assert h.performer.messages() == ["dim"]


async def test_quiet_hours_let_through_an_action_that_ignores_them_and_hold_the_rest() -> None:
    # A message to a trusted person is what should go through at night; the lights stay.
    actions = [log("dim"), log("tell sam", quiet_hours="ignore")]
    config = make_config(
        [stress_rule(cooldown=0, actions=actions)], quiet_hours={"start": "22:00", "end": "07:00"}
    )
    h = await Harness(config).start()
    night = 6 * 3600 + 2 * 60  # 22:15:20
    await h.push(night, stress_score=80)
    await h.run_until(night + 120)
    assert h.performer.messages() == ["tell sam"]
    fired = h.traces[-1]
    assert fired.event == "fired"
    held, sent = fired.actions
    assert (held.performed, held.detail) == (False, "suppressed: quiet hours 22:00–07:00")
    assert sent.performed


async def test_an_action_ignoring_quiet_hours_inside_an_if_step_goes_through_them() -> None:
    # The hold looks into `if`, `choose` and `choose_calming` steps for such an action.
    stressed = [{"condition": "signal", "signal": "stress_score", "above": 70}]
    actions = [log("dim"), {"if": stressed, "then": [log("tell sam", quiet_hours="ignore")]}]
    config = make_config(
        [stress_rule(cooldown=0, actions=actions)], quiet_hours={"start": "22:00", "end": "07:00"}
    )
    h = await Harness(config).start()
    night = 6 * 3600 + 2 * 60  # 22:15:20
    await h.push(night, stress_score=80)
    await h.run_until(night + 120)
    assert h.performer.messages() == ["tell sam"]
    assert h.kinds() == ["fired"]


async def test_an_escalation_level_with_an_action_ignoring_quiet_hours_runs_in_them() -> None:
    rule = stress_rule(
        cooldown=0,
        actions=[log("dim")],
        escalate=[{"after": "10min", "actions": [log("call sam", quiet_hours="ignore")]}],
    )
    config = make_config([rule], quiet_hours={"start": "22:00", "end": "07:00"})
    h = await Harness(config).start()
    night = 6 * 3600 + 2 * 60
    await h.push(night, stress_score=80)
    await h.run_until(night + 120 + 600 + 5)
    assert h.performer.messages() == ["call sam"]
    assert h.kinds() == ["fired", "escalated"]


async def test_pause_holds_an_action_that_ignores_quiet_hours() -> None:
    config = make_config([stress_rule(actions=[log("tell sam", quiet_hours="ignore")])], pause=True)
    h = await Harness(config).start()
    await h.push(10, stress_score=80)
    await h.run_until(200)
    assert h.performer.messages() == []
    assert h.events()[-1][1:] == ("suppressed", "paused (by config)")


async def test_a_firing_held_back_by_quiet_hours_stays_latched_with_no_episode_after_them() -> None:
    """As HA's numeric_state fires once per entry into the range, a firing held back latches:
    stress that began in quiet hours and goes on past their end fires nothing late, and as no
    episode was opened, no escalation level and no `on_recovery` run either; the next clear and
    entry fires as usual."""
    rule = stress_rule(
        cooldown=0, escalate=[{"after": "10min", "actions": [log("still stressed")]}]
    )
    config = make_config([rule], quiet_hours={"start": "22:00", "end": "07:00"})
    h = await Harness(config).start()
    early = 14 * 3600 + 30 * 60  # 06:43:20, 17 min before quiet hours end
    await h.push(early, stress_score=80)
    await h.run_until(early + 120)
    assert h.events() == [(early + 120, "suppressed", "quiet hours 22:00–07:00")]
    await h.push(early + 3600, stress_score=85)  # long after they ended, still stressed
    await h.run_until(early + 2 * 3600)
    await h.push(early + 2 * 3600, stress_score=50)  # cleared: no recovery, nothing fired
    assert h.kinds() == ["suppressed"] and h.performer.messages() == []
    await h.push(early + 2 * 3600 + 10, stress_score=80)
    await h.run_until(early + 2 * 3600 + 130)
    assert h.kinds() == ["suppressed", "fired"] and h.performer.messages() == ["calm"]
