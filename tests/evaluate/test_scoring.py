"""How a rule's firings are scored against labels: found within an episode or 60 s after it,
latency from its start, false alarms only in calm time (the baseline, and rest from 5 minutes
after an episode), and how long each signal was unknown, by reason."""

from __future__ import annotations

import pytest

from ambient.evaluate.scoring import calm_spans, score, total, unknown_seconds
from ambient.labels import Labels

#: Baseline 0-600 s, episodes 600-900 s and 1500-1800 s, the recording ends at 3000 s.
LABELS = Labels(episodes=((600.0, 900.0), (1500.0, 1800.0)), baseline=(0.0, 600.0))
END_S = 3000.0


def test_calm_is_the_baseline_and_rest_from_five_minutes_after_each_episode() -> None:
    assert calm_spans(LABELS, END_S) == [(0.0, 600.0), (1200.0, 1500.0), (2100.0, 3000.0)]


def test_calm_after_an_episode_ends_where_the_next_begins_and_overlaps_merge() -> None:
    close = Labels(episodes=((100.0, 200.0), (400.0, 500.0)), baseline=(0.0, 100.0))
    assert calm_spans(close, 1000.0) == [(0.0, 100.0), (800.0, 1000.0)]
    assert calm_spans(Labels(episodes=(), baseline=(0.0, 50.0)), 40.0) == [(0.0, 40.0)]


def test_an_episode_is_found_by_its_first_firing_from_start_to_60_s_after_its_end() -> None:
    result = score(LABELS, [650.0, 700.0, 1859.0], END_S)
    assert [e.found for e in result.episodes] == [True, True]
    assert [e.latency_s for e in result.episodes] == [50.0, 359.0]
    assert result.median_latency_s == pytest.approx(204.5)
    assert result.found_share == 1.0


def test_a_firing_61_s_after_the_end_finds_nothing_and_is_no_false_alarm_either() -> None:
    result = score(LABELS, [961.0, 1100.0], END_S)
    assert result.found == 0
    assert result.latencies_s == []
    assert result.median_latency_s is None
    assert result.false_alarms == 0  # 900-1200 s is neither episode nor calm
    assert result.firings == 2


def test_false_alarms_are_firings_in_calm_time_per_calm_hour() -> None:
    result = score(LABELS, [100.0, 1300.0, 2500.0, 599.9], END_S)
    assert result.false_alarms == 4
    assert result.calm_s == 600 + 300 + 900
    assert result.false_alarms_per_calm_hour == pytest.approx(4 / 0.5)


def test_no_calm_time_gives_no_false_alarm_rate_rather_than_zero() -> None:
    result = score(Labels(episodes=((0.0, 100.0),)), [50.0], 200.0)
    assert result.calm_s == 0
    assert result.false_alarms_per_calm_hour is None


def test_totals_pool_episodes_and_calm_time() -> None:
    first = score(LABELS, [650.0, 100.0], END_S)
    second = score(LABELS, [], END_S)
    pooled = total([first, second])
    assert (pooled.found, len(pooled.episodes)) == (1, 4)
    assert pooled.false_alarms == 1
    assert pooled.false_alarms_per_calm_hour == pytest.approx(1 / (2 * 1800 / 3600))


def test_unknown_time_is_counted_by_reason_up_to_the_end() -> None:
    changes = [
        (10.0, None, "too few beats"),
        (40.0, 55.0, None),
        (60.0, None, "exercise"),
        (90.0, 20.0, None),
        (95.0, None, "exercise"),
    ]
    assert unknown_seconds(changes, 100.0) == {
        "no data": 10.0,  # before the first value
        "too few beats": 30.0,
        "exercise": 35.0,
    }
    assert unknown_seconds([], 100.0) == {"no data": 100.0}


def test_calm_never_covers_an_episode_or_its_five_minutes_after() -> None:
    # A baseline written over an episode, and an episode inside a longer one: a firing inside
    # either episode is found, never also a false alarm.
    overlapping = Labels(episodes=((100.0, 1000.0), (200.0, 300.0)), baseline=(0.0, 400.0))
    assert calm_spans(overlapping, 2000.0) == [(0.0, 100.0), (1300.0, 2000.0)]
    result = score(overlapping, [350.0, 700.0], 2000.0)
    assert result.found == 2
    assert result.false_alarms == 0


def test_calm_time_starts_no_earlier_than_the_recording() -> None:
    """A baseline written from before the first reading has no calm hours there."""
    early = Labels(episodes=(), baseline=(-600.0, 300.0))
    assert calm_spans(early, 1000.0) == [(0.0, 300.0)]
    assert score(early, [], 1000.0).calm_s == 300.0
