"""`choose_calming` in a rule: the learner picks an option, the option's actions run, the
episode is opened and measured 20 minutes on; held-back actions open no episode."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rules.rule_doubles import T0, Harness, log, make_config, stress_rule

from ambient.interventions.chooser import CalmingChooser
from ambient.interventions.episodes import EpisodeBook
from ambient.interventions.recorder import EpisodeRecorder
from ambient.messages import SignalUpdate, SignalValue
from ambient.rules.engine import RuleEngine
from ambient.store import Store

CHOOSE = {
    "choose_calming": {
        "options": [
            {"id": "breathe", "actions": [log("breathe along")]},
            {"id": "music", "actions": [log("music on")]},
        ],
        "per_day": 2,
    }
}


class CalmingHarness(Harness):
    """The rule harness with the real chooser, episode book and recorder on its clock."""

    def __init__(self, rule: dict[str, Any], store: Store | None = None, start: float = T0) -> None:
        super().__init__(make_config([rule]), store, start)
        self.rule = rule
        self.book = EpisodeBook(self.store)
        self.recorder = EpisodeRecorder(self.clock, self.book, lambda _p: (0.5, 5.0))
        chooser = CalmingChooser(
            self.clock, self.book, self.recorder, ZoneInfo("Europe/Berlin"), random.Random(1)
        )
        self.engine = RuleEngine(
            self.config,
            self.clock,
            self.store,
            self.signals,
            self.performer,
            self.traces.append,
            calming=chooser,
        )

    async def body(self, at: float, ln_rmssd: float, hr: float, stress: float) -> None:
        await self.push(at, stress_score=stress)
        now = self.clock.now()
        self.recorder.on_signals(
            SignalUpdate(
                now,
                "alex",
                {
                    "ln_rmssd": SignalValue(ln_rmssd, now),
                    "hr": SignalValue(hr, now),
                    "activity_state": SignalValue("rest", now),
                },
            )
        )


async def test_the_chosen_option_runs_and_its_episode_is_measured() -> None:
    h = CalmingHarness(stress_rule(actions=[CHOOSE], cooldown="1min"))
    await h.start()
    for minute in range(0, 6):
        await h.body(minute * 60, ln_rmssd=3.0, hr=85, stress=40)
    for minute in range(6, 30):
        await h.body(minute * 60, ln_rmssd=3.3, hr=75, stress=80 if minute < 9 else 20)
    await h.run_until(40 * 60)

    (fired,) = [t for t in h.traces if t.event == "fired"]
    decision, performed = fired.actions
    assert performed.performed
    assert decision.action == "choose_calming" and not decision.performed
    chosen = decision.detail.split(":", 1)[0]
    assert chosen in {"breathe", "music"}
    assert h.performer.messages()[0] == {"breathe": "breathe along", "music": "music on"}[chosen]

    (episode,) = h.book.episodes("alex")
    assert (episode.option, episode.usable) == (chosen, True)
    assert episode.ln_rmssd_change_sd is not None and episode.ln_rmssd_change_sd > 0
    assert h.book.beliefs("alex", "calm")[chosen].episodes == 1


async def test_actions_held_back_by_pause_open_no_episode() -> None:
    rule = stress_rule(actions=[log("noticed"), {"delay": "1min"}, CHOOSE])
    h = CalmingHarness(rule)
    await h.start()
    await h.push(0, stress_score=80)
    await h.run_until(150)
    assert h.performer.messages() == ["noticed"]
    h.engine.set_paused(True, "test")
    await h.run_until(400)
    assert h.performer.messages() == ["noticed"]
    assert h.book.episodes("alex") == []


#: An option that goes on after its first action: a restart or a cancel can cut it there.
LONG_OPTION = {
    "choose_calming": {
        "options": [
            {"id": "breathe", "actions": [log("breathe along"), {"delay": "5min"}, log("again")]}
        ],
        "per_day": 1,
    }
}


async def _restart(h: CalmingHarness, path: Path) -> CalmingHarness:
    """Stop the engine, close the store; a new engine, chooser and recorder on the same file."""
    await h.engine.stop()
    h.store.close()
    again = CalmingHarness(h.rule, Store(path), start=h.clock.now())
    again.signals.values = h.signals.values
    again.t0 = h.t0
    await again.start()
    return again


async def test_an_option_cut_by_a_restart_keeps_its_episode_and_counts_towards_the_cap(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    rule = stress_rule(actions=[LONG_OPTION], cooldown="1min")
    h = CalmingHarness(rule, Store(path))
    await h.start()
    await h.push(0, stress_score=80)
    await h.run_until(150)  # fired at 120: "breathe along" performed, the delay running
    assert h.performer.messages() == ["breathe along"]
    h = await _restart(h, path)
    (episode,) = h.book.episodes("alex")
    assert (episode.rule, episode.option, episode.start) == ("calm", "breathe", h.t0 + 120)
    await h.run_until(600)
    assert h.performer.messages() == ["again"]  # the resumed run goes on, opening no other
    (resumed,) = h.traces  # and says so: the restart does not hide what it did
    assert (resumed.event, resumed.reason) == ("resumed", "resumed after a restart at step 1 of 1")
    assert [a.detail for a in resumed.actions] == ["again"]
    assert len(h.book.episodes("alex")) == 1
    await h.push(700, stress_score=20)
    await h.push(800, stress_score=80)
    await h.run_until(1000)
    (fired,) = [t for t in h.traces if t.event == "fired"]
    assert "daily cap reached (1 today)" in fired.actions[0].detail


async def test_a_run_cancelled_inside_its_option_keeps_its_episode(tmp_path: Path) -> None:
    rule = stress_rule(actions=[LONG_OPTION])
    h = CalmingHarness(rule, Store(tmp_path / "ambient.db"))
    await h.start()
    await h.push(0, stress_score=80)
    await h.run_until(150)
    await h.engine.stop()  # cancels the run in its delay
    (episode,) = h.book.episodes("alex")
    assert episode.start == h.t0 + 120


async def test_an_option_resumed_before_its_first_action_opens_its_episode_then(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    waits_first = {
        "choose_calming": {
            "options": [{"id": "breathe", "actions": [{"delay": "1min"}, log("breathe along")]}]
        }
    }
    rule = stress_rule(actions=[waits_first])
    h = CalmingHarness(rule, Store(path))
    await h.start()
    await h.push(0, stress_score=80)
    await h.run_until(150)
    assert h.performer.messages() == [] and h.book.episodes("alex") == []
    h = await _restart(h, path)
    await h.run_until(300)
    assert h.performer.messages() == ["breathe along"]
    (episode,) = h.book.episodes("alex")
    assert (episode.option, episode.start) == ("breathe", h.t0 + 180)
