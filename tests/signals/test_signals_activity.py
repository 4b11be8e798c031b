"""Activity: a movement sensor decides when there is one; the HR reserve is only the fallback."""

from __future__ import annotations

from ambient.config.signals import ActivityConfig
from ambient.signals.activity import ActivityTracker


def test_walking_movement_is_active_and_seated_gestures_are_not() -> None:
    tracker = ActivityTracker(ActivityConfig(), max_hr=185.0)
    for second in range(120):  # seated: still, with a brief gesture every 20 s
        tracker.movement(float(second), 0.3 if second % 20 == 0 else 0.01)
    assert tracker.state(120.0, 80.0, 70.0) == "rest"
    for second in range(120, 240):  # walking: about 0.25 g all the time
        tracker.movement(float(second), 0.25)
    assert tracker.state(240.0, 105.0, 70.0) == "active"


def test_with_a_movement_source_a_high_seated_hr_is_not_exercise() -> None:
    tracker = ActivityTracker(ActivityConfig(), max_hr=185.0)
    for second in range(60):
        tracker.movement(float(second), 0.01)
    # 130 bpm is past 40 % of the HR reserve, but the body is still: stress, not exercise.
    assert tracker.state(60.0, 130.0, 70.0) == "rest"


def test_without_a_movement_source_the_hr_reserve_decides() -> None:
    tracker = ActivityTracker(ActivityConfig(), max_hr=185.0)
    assert tracker.state(0.0, 130.0, 70.0) == "active"
    assert tracker.state(60.0, 75.0, 70.0) == "recovering"


def test_a_stale_movement_source_hands_back_to_the_hr_reserve() -> None:
    tracker = ActivityTracker(ActivityConfig(sensor_valid_for=120.0), max_hr=185.0)
    tracker.movement(0.0, 0.01)
    assert tracker.state(60.0, 130.0, 70.0) == "rest"
    assert tracker.state(200.0, 130.0, 70.0) == "active"


def test_the_hr_reserve_reads_sustained_hr_not_a_spike() -> None:
    tracker = ActivityTracker(ActivityConfig(), max_hr=185.0)
    for second in range(120):
        tracker.state(float(second), 70.0, 70.0)
    assert tracker.state(120.0, 150.0, 70.0) == "rest"  # one wrist-sensor spike
    for second in range(121, 300):
        state = tracker.state(float(second), 150.0, 70.0)
    assert state == "active"  # three minutes at 150 bpm
