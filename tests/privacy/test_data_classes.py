"""The registry names every per-person kind of data the store holds, so retention, export and
forget cover them; these checks catch a namespace renamed on one side only."""

from __future__ import annotations

from pathlib import Path

from ambient.actuators.ha_episode import NAMESPACE, Episode, EpisodeRecords, LightSnapshot, slug
from ambient.clock import VirtualClock
from ambient.config.retention import DAY_S, RetentionConfig
from ambient.config.root import AmbientConfig
from ambient.insights.delivery import TOKENS
from ambient.insights.storage import INDEX, MINUTES, OPEN, SUMMARIES
from ambient.privacy.data_classes import data_classes
from ambient.privacy.export import person_rows
from ambient.privacy.forget import forget_store
from ambient.privacy.retention import Retention
from ambient.rules.rule_store import STATE_NAMESPACE
from ambient.rules.tracing import TRACE_NAMESPACE
from ambient.signals.engine import BASELINE_NAMESPACE
from ambient.store import Store

NOW = 1_780_000_000.0  # 2026-05-28


def by_name() -> dict[str, str]:
    return {c.name: c.where for c in data_classes()}


def test_the_core_namespaces_are_registered() -> None:
    where = by_name()
    assert where["traces"] == f"namespace = '{TRACE_NAMESPACE}'"
    assert where["baselines"] == f"namespace = '{BASELINE_NAMESPACE}'"
    assert where["daily_summaries"] == f"namespace = '{SUMMARIES}'"
    assert where["day_minutes"] == f"namespace = '{MINUTES}'"
    assert where["day_index"] == f"namespace = '{INDEX}'"
    assert where["open_day"] == f"namespace = '{OPEN}'"
    assert where["report_link"] == f"namespace = '{TOKENS}'"
    assert STATE_NAMESPACE == "rules"  # erased by the rule_state eraser


async def test_daily_summaries_age_by_their_day_and_belong_to_their_person(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "ambient.db")
    for key in ("alex/2024-05-27", "alex/2026-05-20", "sam/2024-01-01", "alexa/2026-05-01"):
        store.put(SUMMARIES, key, {"day": key})
    store.put(MINUTES, "alex/2026-05-20", [1, 2])
    store.put(INDEX, "alex", ["2026-05-20"])

    [summaries] = [c for c in data_classes() if c.name == "daily_summaries"]
    assert [row["key"] for _, row in person_rows(store, summaries, "alex")] == [
        "alex/2024-05-27",
        "alex/2026-05-20",
    ]
    config = RetentionConfig(daily_summaries=730 * DAY_S)
    report = await Retention(config, store, VirtualClock(NOW)).purge()
    assert report.rows["daily_summaries"] == 2  # alex's and sam's from over two years ago
    assert sorted(store.items(SUMMARIES)) == ["alex/2026-05-20", "alexa/2026-05-01"]

    removed = forget_store(store, "alex")
    assert (removed["daily_summaries"], removed["day_minutes"], removed["day_index"]) == (1, 1, 1)
    assert sorted(store.items(SUMMARIES)) == ["alexa/2026-05-01"]  # a prefix is not a person
    store.close()


async def test_minute_bins_age_out_by_retention_even_with_insights_off(tmp_path: Path) -> None:
    """Only the insights service expired the minute bins: with `insights.enabled: false` the
    per-minute heart history gathered before stayed forever, and `retention:` had no say over
    it. Retention now ages them by their day, as it does the daily summaries."""
    store = Store(tmp_path / "ambient.db")
    old, recent = "sam/2026-03-01", "sam/2026-05-20"  # 88 and 8 days before NOW
    for day in (old, recent):
        store.put(MINUTES, day, {"day": day})
        store.put(MINUTES, f"{day}/13", [70.0, 3.9])

    report = await Retention(RetentionConfig(), store, VirtualClock(NOW)).purge()

    assert report.rows["day_minutes"] == 2  # the day and its hour of the default 70 days ago
    assert sorted(store.items(MINUTES)) == [recent, f"{recent}/13"]
    short = Retention(RetentionConfig(day_minutes=7 * DAY_S), store, VirtualClock(NOW))
    assert (await short.purge()).rows["day_minutes"] == 2
    kept = await Retention(RetentionConfig(day_minutes=None), store, VirtualClock(NOW)).purge()
    assert "day_minutes" not in kept.rows
    store.close()


def test_forget_leaves_no_insights_state_of_the_person(tmp_path: Path) -> None:
    store = Store(tmp_path / "ambient.db")
    for namespace in (OPEN, TOKENS):
        store.put(namespace, "alex", "x")
        store.put(namespace, "sam", "x")
    forget_store(store, "alex")
    assert [sorted(store.items(namespace)) for namespace in (OPEN, TOKENS)] == [["sam"], ["sam"]]
    store.close()


async def test_minute_bins_follow_insights_keep_minutes_days_when_retention_does_not_say(
    tmp_path: Path,
) -> None:
    """`retention.day_minutes` defaulted to 70 days: whoever had raised
    `insights.keep_minutes_days` to 100 lost the bins of days 70 to 100 at the next purge.
    Unset, it now follows insights' own setting; set, it is the user's word."""
    store = Store(tmp_path / "ambient.db")
    old = "sam/2026-03-01"  # 88 days before NOW
    store.put(MINUTES, old, {"day": old})
    config = AmbientConfig.model_validate({"insights": {"keep_minutes_days": 100}})

    report = await Retention.for_config(config, store, VirtualClock(NOW)).purge()

    assert report.rows["day_minutes"] == 0
    assert list(store.items(MINUTES)) == [old]
    shorter = AmbientConfig.model_validate(
        {"insights": {"keep_minutes_days": 100}, "retention": {"day_minutes": "30d"}}
    )
    assert (await Retention.for_config(shorter, store, VirtualClock(NOW)).purge()).rows[
        "day_minutes"
    ] == 1
    store.close()


def test_ha_undo_records_are_exported_and_forgotten_with_their_person(tmp_path: Path) -> None:
    """The HA actuator's undo records (`ha.episodes`, keyed `rule:person:time`, holding scenes
    named after the person) were neither exported nor forgotten: forget left them, with the
    person's id, in the store for ever. Another person's record still restores after a
    restart."""
    store = Store(tmp_path / "ambient.db")
    records = EpisodeRecords(store)
    for episode_id in ("calm:alex:1780000000.000", "calm:sam:1780000001.500", "dim:-:17.0"):
        episode = Episode(episode_id)
        episode.lights["light.desk"] = LightSnapshot(
            "light.desk", f"scene.ambient_{slug(episode_id)}_light_desk"
        )
        records.save(episode)

    [undo] = [c for c in data_classes() if c.name == "ha_undo"]
    assert [row["key"] for _, row in person_rows(store, undo, "alex")] == [
        "calm:alex:1780000000.000"
    ]
    assert forget_store(store, "alex")["ha_undo"] == 1

    assert person_rows(store, undo, "alex") == []
    episodes, unreadable = EpisodeRecords(store).load()
    kept = sorted(e.id for e in episodes if "forgotten" not in e.id)
    assert kept == ["calm:sam:1780000001.500", "dim:-:17.0"]
    assert unreadable == []
    store.close()


def test_an_open_episode_of_a_forgotten_person_is_left_to_the_next_start_to_undo(
    tmp_path: Path,
) -> None:
    """Forgetting someone whose calm was still on deleted its undo record, so the lights stayed
    calm for good. Forget now keeps what the record must undo under a key without the person or
    the time, marked ended: the next start puts the lights back and then deletes it (the real
    HA side of it: tests/actuators/homeassistant/test_ha_restart.py)."""
    store = Store(tmp_path / "ambient.db")
    records = EpisodeRecords(store)
    for episode_id in ("calm:alex:1780000000.000", "calm:alex:1780000900.000"):
        episode = Episode(episode_id)
        episode.lights["light.desk"] = LightSnapshot(
            "light.desk", f"scene.ambient_{slug(episode_id)}_light_desk", transition_s=20.0
        )
        records.save(episode)
    notes: list[str] = []

    assert forget_store(store, "alex", notes)["ha_undo"] == 2

    [undo] = [c for c in data_classes() if c.name == "ha_undo"]
    assert person_rows(store, undo, "alex") == []
    keys = sorted(store.items(NAMESPACE))
    assert len(keys) == 2 and not any("alex" in k or "1780000" in k for k in keys)
    episodes, unreadable = EpisodeRecords(store).load()
    assert unreadable == []
    assert all(e.ended for e in episodes)  # owed: undone as soon as HA is connected
    assert sorted(e.lights["light.desk"].scene_entity_id for e in episodes) == [
        "scene.ambient_calm_alex_1780000000_000_light_desk",
        "scene.ambient_calm_alex_1780000900_000_light_desk",
    ]
    assert [e.lights["light.desk"].transition_s for e in episodes] == [20.0, 20.0]
    assert notes == [
        "Home Assistant: 2 calming episode(s) of alex's still to undo, kept (ended, under a "
        "key without their name) for the next start to put back the lights and volumes they "
        "changed; their snapshot scenes' ids name alex until then: start ambient once"
    ]
    store.close()
