"""Someone removed from ``people:``: at the next start (a restart or a reload) the rules keep
nothing of theirs. An open episode is ended with a trace saying why, and the actuators are told
it is no rule's any more, so the lights it holds are put back; a `for` window, a cooldown or a
run of theirs is dropped. The people still listed keep their state as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rules.rule_doubles import Harness, log, make_config

from ambient.config.root import AmbientConfig
from ambient.store import Store

ANYONE: dict[str, Any] = {
    "id": "tense",
    "triggers": [{"trigger": "signal", "signal": "stress_score", "above": 70, "for": "2min"}],
    "cooldown": "30min",
    "actions": [log("{person} dim"), {"delay": "10min"}, log("{person} again")],
    "on_recovery": [log("{person} calm")],
    "escalate": [{"after": "20min", "actions": [log("{person} louder")]}],
}


async def started_without_sam(path: Path, before: Harness, config: AmbientConfig) -> Harness:
    """Stop ``before`` and start anew on the same store with ``config`` (sam removed)."""
    await before.engine.stop()
    before.store.close()
    again = Harness(config, store=Store(path), start=before.clock.now())
    again.t0 = before.t0
    listed = config.person_ids()
    again.signals.values = {p: v for p, v in before.signals.values.items() if p in listed}
    return await again.start()


async def test_an_open_episode_of_someone_removed_is_ended_and_its_lights_put_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    h = await Harness(make_config([ANYONE]), store=Store(path)).start()
    await h.push(0, person="sam", stress_score=80)
    await h.push(0, person="alex", stress_score=80)
    await h.run_until(150)  # both fired at 120 and wait in their delay
    sam_episode = next(t for t in h.traces if t.person == "sam")
    assert sam_episode.event == "fired"

    alone = make_config([ANYONE], people=[{"id": "alex"}])
    h = await started_without_sam(path, h, alone)

    assert [(t.event, t.person, t.reason) for t in h.traces] == [
        (
            "ended",
            "sam",
            "sam is not in the config's people: episode ended, what it changed put back",
        )
    ]
    assert [row["person"] for row in h.engine.status()] == ["alex"]
    (live,) = h.performer.live
    assert live and all(":alex:" in episode for episode in live)  # sam's is no rule's: undone
    await h.push(160, person="alex", stress_score=85)  # alex's strap is heard again
    await h.run_until(3000)  # sam's delay, escalation and cooldown would all have fallen due
    done = [(p.context.person, p.action.message) for p in h.performer.performed]
    # sam's run is not resumed, nor escalated; alex's go on
    assert done == [("alex", "{person} again"), ("alex", "{person} louder")]
    assert {t.person for t in h.traces} == {"alex", "sam"}
    assert [(t.event, t.ends_episode) for t in h.traces if t.person == "sam"] == [("ended", True)]

    h = await h.restarted(path)  # nothing of sam's was kept to come back
    assert [row["person"] for row in h.engine.status()] == ["alex"]


async def test_a_pending_for_and_a_cooldown_of_someone_removed_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "ambient.db"
    quick = {**ANYONE, "actions": [log("{person} dim")], "escalate": []}
    h = await Harness(make_config([quick]), store=Store(path)).start()
    await h.push(0, person="sam", stress_score=80)
    await h.push(130, person="sam", stress_score=10)  # fired, recovered: cooling down
    await h.push(200, person="sam", stress_score=80)  # in its `for` again
    assert [(row["person"], row["state"]) for row in h.engine.status()] == [("sam", "in_for")]

    alone = make_config([quick], people=[{"id": "alex"}])
    h = await started_without_sam(path, h, alone)
    await h.run_until(400)  # the `for` would have ended at 320

    assert h.traces == []  # nothing of sam's was open in the home: dropped without a trace
    assert [(row["person"], row["state"]) for row in h.engine.status()] == [(None, "armed")]


async def test_state_of_people_not_listed_is_kept_when_sensors_accept_unlisted_ones(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    h = await Harness(make_config([ANYONE]), store=Store(path)).start()
    await h.push(0, person="kim", stress_score=80)
    await h.run_until(150)
    open_to_others = make_config(
        [ANYONE],
        people=[{"id": "alex"}],
        sensors=[
            {
                "type": "mqtt",
                "id": "watches",
                "topic": "watch/+/hr",
                "metric": "hr",
                "person_topic_level": 1,
                "unlisted_people": 2,
            }
        ],
    )
    h = await started_without_sam(path, h, open_to_others)

    assert [t.event for t in h.traces] == []
    assert [row["person"] for row in h.engine.status()] == ["kim"]
