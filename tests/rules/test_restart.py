"""State survives restarts: a real on-disk Store and a new engine instance continue `for`
windows, cooldowns, running sequences and escalations as if there had been no restart."""

from __future__ import annotations

import hashlib
from pathlib import Path

from rules.rule_doubles import T0, Harness, log, make_config, stress_rule

from ambient.config.rules import RuleConfig
from ambient.rules.rule import build_rule
from ambient.rules.tracing import TRACE_NAMESPACE
from ambient.store import Store


async def test_for_window_straddling_a_restart_continues_the_count(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    h = await Harness(make_config([stress_rule()]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.run_until(60)
    h = await h.restarted(path)
    assert h.engine.status()[0]["state"] == "in_for"
    await h.push(90, stress_score=81)
    await h.run_until(119)
    assert h.kinds() == []
    await h.run_until(120)
    assert h.events() == [(120, "fired", "stress_score 81 above 70 for 2min")]


async def test_cooldown_straddling_a_restart_still_suppresses_then_clears(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    rule = stress_rule()
    rule["triggers"][0]["for"] = 0
    h = await Harness(make_config([rule]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.push(60, stress_score=10)
    h = await h.restarted(path)
    await h.push(600, stress_score=80)
    assert h.events() == [(600, "suppressed", "cooldown until 16:43:20")]
    await h.push(700, stress_score=10)
    h = await h.restarted(path)
    await h.run_until(1900)  # past the cooldown end, while stopped and started again
    h = await h.restarted(path)
    await h.push(1900, stress_score=80)
    assert h.events() == [(1900, "fired", "stress_score 80 above 70")]


async def test_active_episode_recovers_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    h = await Harness(make_config([stress_rule()]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.run_until(130)
    h = await h.restarted(path)
    await h.push(140, stress_score=90)  # still active: no new firing
    await h.push(150, stress_score=40)
    assert h.kinds() == ["recovered"]
    assert h.performer.messages() == ["recovered"]
    assert len(h.performer.ended) == 1


async def test_running_sequence_resumes_after_its_delay(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    rule = stress_rule(actions=[log("dim"), {"delay": "10min"}, log("music")])
    h = await Harness(make_config([rule]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.run_until(300)
    assert h.performer.messages() == ["dim"]
    h = await h.restarted(path)
    assert h.engine.status()[0]["state"] == "running"
    await h.run_until(719)
    assert h.performer.messages() == []
    await h.run_until(720)
    assert h.performer.messages() == ["music"]
    assert h.engine.status()[0]["state"] == "cooling_down"


async def test_escalation_straddling_a_restart_fires_on_time(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    rule = stress_rule(escalate=[{"after": "10min", "actions": [log("level 1")]}])
    h = await Harness(make_config([rule]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.run_until(300)
    h = await h.restarted(path)
    await h.push(400, stress_score=85)
    await h.run_until(720)
    assert h.events() == [
        (720, "escalated", "stress_score still above 70 after 10min (now 85; level 1)")
    ]
    assert h.performer.messages() == ["level 1"]


async def test_changed_rule_starts_fresh(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    h = await Harness(make_config([stress_rule()]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.engine.stop()
    h.store.close()
    edited = Harness(make_config([stress_rule(cooldown="5min")]), store=Store(path), start=T0 + 60)
    await edited.start()
    assert edited.engine.status()[0]["state"] == "armed"


def test_an_upgrade_that_only_adds_a_setting_keeps_the_rules_saved_state() -> None:
    """Each upgrade that gave rules a new setting (with its default) changed every rule's
    fingerprint, so an unchanged rule lost its cooldown, open episode and last firing at the
    first start. What the user wrote is what tells a changed rule now, defaults aside."""

    class LaterRuleConfig(RuleConfig):  # the same rule read by a version with one more setting
        later_setting: bool = False

    written = stress_rule()
    assert (
        build_rule(LaterRuleConfig.model_validate(written)).fingerprint
        == build_rule(RuleConfig.model_validate(written)).fingerprint
    )
    edited = stress_rule(cooldown="5min")
    assert (
        build_rule(RuleConfig.model_validate(edited)).fingerprint
        != build_rule(RuleConfig.model_validate(written)).fingerprint
    )


async def test_a_new_alias_or_description_keeps_the_rules_open_episode(tmp_path: Path) -> None:
    """Renaming a rule (its `alias`, its `description`) and reloading ended its open episode,
    putting the lights back while Alex was still stressed, and fired it again: they name the
    rule, they do not change what it does."""
    path = tmp_path / "ambient.db"
    h = await Harness(make_config([stress_rule(alias="Calm")]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.run_until(130)
    await h.engine.stop()
    h.store.close()
    renamed = stress_rule(alias="Calm the living room", description="when Alex is stressed")
    again = Harness(make_config([renamed]), store=Store(path), start=T0 + 140)
    await again.start()
    status = again.engine.status()[0]
    assert status["active_since"] == T0 + 120 and status["cooldown_until"] == T0 + 1920
    assert again.performer.ended == []


def test_a_rule_saved_before_names_were_left_out_of_its_fingerprint_keeps_its_state() -> None:
    """The fingerprint the store holds from before (the alias in it) is still this rule's."""
    written = stress_rule(alias="Calm")
    rule = build_rule(RuleConfig.model_validate(written))
    before = hashlib.sha256(
        RuleConfig.model_validate(written).model_dump_json(exclude_defaults=True).encode()
    ).hexdigest()[:16]
    assert rule.fingerprint != before and before in rule.earlier_fingerprints


async def _killed_and_restarted(
    h: Harness, path: Path, killed_at: float, back_at: float
) -> Harness:
    """kill -9 at ``killed_at`` (nothing is stopped: only what was written survives), a new
    engine at ``back_at`` that has seen no reading yet, as after a real restart."""
    await h.run_until(killed_at)
    h.store.close()
    again = Harness(h.config, store=Store(path), start=h.t0 + back_at)
    again.t0 = h.t0
    return await again.start()


async def test_for_deadline_due_during_a_restart_waits_for_the_first_reading(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    h = await Harness(make_config([stress_rule()]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    h = await _killed_and_restarted(h, path, killed_at=119.5, back_at=120.5)
    await h.run_until(121)
    assert h.kinds() == []  # due, but nothing is known yet: it waits
    await h.push(121, stress_score=None)  # the signal warming up after the restart
    await h.push(123, stress_score=81)
    assert h.events() == [
        (
            123,
            "fired",
            "stress_score 81 above 70 for 2min (due 3.0 s earlier, while ambient was not running)",
        )
    ]
    assert h.performer.messages() == ["calm"]


async def test_for_deadline_due_during_a_restart_resets_when_the_first_reading_has_cleared(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    h = await Harness(make_config([stress_rule()]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    h = await _killed_and_restarted(h, path, killed_at=119.5, back_at=125)
    await h.push(126, stress_score=50)
    await h.run_until(600)
    assert h.kinds() == [] and h.performer.performed == []
    assert h.engine.status()[0]["state"] == "armed"


async def test_for_deadline_with_no_reading_within_stale_after_of_the_restart_is_unknown(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    h = await Harness(make_config([stress_rule()]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    h = await _killed_and_restarted(h, path, killed_at=119.5, back_at=120.5)
    await h.run_until(135.4)
    assert h.kinds() == []
    await h.run_until(136)  # 15 s (signals.stale_after) after the start
    assert h.events() == [
        (135.5, "suppressed", "quality: stress_score unknown (no data) when `for` ended")
    ]


async def test_escalation_due_during_a_restart_is_sent_on_the_first_reading(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    rule = stress_rule(escalate=[{"after": "10min", "actions": [log("level 1")]}])
    h = await Harness(make_config([rule]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.push(700, stress_score=82)
    h = await _killed_and_restarted(h, path, killed_at=719.5, back_at=724.5)
    await h.push(726, stress_score=84)
    assert h.events() == [
        (
            726,
            "escalated",
            "stress_score still above 70 after 10min (now 84; level 1) "
            "(due 6.0 s earlier, while ambient was not running)",
        )
    ]
    assert h.performer.messages() == ["level 1"]
    await h.push(800, stress_score=40)
    assert h.kinds() == ["escalated", "recovered"]


async def test_a_resumed_run_traces_the_actions_it_performs_after_the_restart(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    rule = stress_rule(actions=[log("dim"), {"delay": "10min"}, log("again")])
    h = await Harness(make_config([rule]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.run_until(300)
    h = await h.restarted(path)
    await h.run_until(719)
    assert h.kinds() == []  # it says so once it acts (or waits anew), as a firing's trace does
    await h.run_until(720)
    assert h.events() == [(720, "resumed", "resumed after a restart at step 2 of 3")]
    assert [a.detail for a in h.traces[0].actions] == ["again"]
    assert (h.traces[0].person, h.traces[0].trigger) == ("alex", "stressed")
    await h.engine.stop()
    stored = h.store.recent(TRACE_NAMESPACE, "calm", limit=10)  # what `ambient trace` shows
    assert [(t["event"], t["reason"]) for t in stored][-1] == (
        "resumed",
        "resumed after a restart at step 2 of 3",
    )


async def test_a_resumed_run_s_trace_carries_its_firing_s_signal_values(tmp_path: Path) -> None:
    """After a restart the current values may not be known yet when the trace is emitted."""
    path = tmp_path / "ambient.db"
    rule = stress_rule(actions=[log("dim"), {"delay": "10min"}, log("again")])
    h = await Harness(make_config([rule]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.push(300, stress_score=75)
    h = await h.restarted(path)
    await h.run_until(720)
    assert h.kinds() == ["resumed"]
    assert h.traces[0].signals["stress_score"] == 80


async def test_a_resumed_escalation_says_which_level_resumed(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    level = {"after": "10min", "actions": [{"delay": "1min"}, log("level 1 again")]}
    h = await Harness(make_config([stress_rule(escalate=[level])]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.push(730, stress_score=82)  # escalated at 720 (fired at 120), now in its delay
    h = await h.restarted(path)
    await h.run_until(780)
    assert h.events() == [(780, "resumed", "escalation 1 resumed after a restart at step 1 of 2")]
    assert h.performer.messages() == ["level 1 again"]


async def test_a_resumed_run_s_later_stretches_are_traced_as_continued(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    steps = [log("dim"), {"delay": "10min"}, log("again"), {"delay": "1min"}, log("last")]
    h = await Harness(make_config([stress_rule(actions=steps)]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.run_until(300)
    h = await h.restarted(path)
    await h.run_until(780)
    assert h.events() == [
        (720, "resumed", "resumed after a restart at step 2 of 5"),
        (780, "continued", "after delay 1min (step 4 of 5)"),
    ]
    assert [[a.detail for a in t.actions] for t in h.traces] == [["again"], ["last"]]


async def test_a_queued_run_started_at_a_restart_is_traced_with_its_actions(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    rule = stress_rule(
        mode="queued", cooldown=0, actions=[log("start"), {"delay": "10min"}, log("end")]
    )
    h = await Harness(make_config([rule]), store=Store(path)).start()
    await h.push(0, stress_score=80)
    await h.push(130, stress_score=30)  # fired at 120; recovered
    await h.push(140, stress_score=80)
    await h.push(260, stress_score=80)  # fired again at 260: queued behind the first run
    await h.run_until(300)
    h = await h.restarted(path)
    await h.run_until(720)  # the first run ends; the queued one starts
    assert h.events()[-1] == (720, "continued", "queued run started, 7min40s after its firing")
    assert [a.detail for a in h.traces[-1].actions] == ["start"]
