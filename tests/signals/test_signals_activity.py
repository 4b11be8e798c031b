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


# -- a step count: a cadence now, or an average over a long interval --------------------------


def hr_for(tracker: ActivityTracker, start: int, end: int, bpm: float) -> str | None:
    """The state after a heart rate of ``bpm`` every second from ``start`` until ``end``."""
    state = None
    for second in range(start, end):
        state = tracker.state(float(second), bpm, 70.0)
    return state


def test_a_step_count_every_few_seconds_says_still_and_the_hr_reserve_is_not_asked() -> None:
    tracker = ActivityTracker(ActivityConfig(), max_hr=185.0)
    for second in range(0, 120, 10):  # no step for two minutes, told every 10 s
        tracker.steps(float(second), 5000.0)
    assert hr_for(tracker, 0, 120, 150.0) == "rest"  # seated at 150 bpm: stress, not exercise


def test_a_step_count_every_15_minutes_leaves_the_hr_reserve_deciding_between_them() -> None:
    """100 steps in 15 minutes is an average: it cannot say the person is still now, so a
    run that has just started (HR at 150) is exercise, not stressed rest."""
    tracker = ActivityTracker(ActivityConfig(), max_hr=185.0)
    tracker.steps(0.0, 5000.0)
    tracker.steps(900.0, 5100.0)
    assert hr_for(tracker, 900, 1000, 150.0) == "active"


def test_a_walking_average_over_15_minutes_is_active_at_its_reading() -> None:
    tracker = ActivityTracker(ActivityConfig(), max_hr=185.0)
    tracker.steps(0.0, 5000.0)
    tracker.steps(900.0, 6500.0)  # 1500 steps in 15 minutes: 100 a minute
    assert tracker.state(900.0, 80.0, 70.0) == "active"
    assert tracker.state(1200.0, 80.0, 70.0) == "recovering"


def test_the_first_step_count_and_one_after_a_reset_say_nothing_of_now() -> None:
    """Neither has a cadence: the HR reserve still decides (a daily count starts again at
    midnight)."""
    tracker = ActivityTracker(ActivityConfig(), max_hr=185.0)
    tracker.steps(0.0, 5000.0)
    assert hr_for(tracker, 0, 100, 150.0) == "active"
    tracker = ActivityTracker(ActivityConfig(), max_hr=185.0)
    tracker.steps(0.0, 5000.0)
    tracker.steps(30.0, 20.0)
    assert hr_for(tracker, 30, 130, 150.0) == "active"


def test_steps_per_reading_every_15_minutes_are_an_average_too() -> None:
    tracker = ActivityTracker(ActivityConfig(steps_mode="interval"), max_hr=185.0)
    tracker.steps(0.0, 0.0)
    tracker.steps(900.0, 100.0)
    assert hr_for(tracker, 900, 1000, 150.0) == "active"
    tracker.steps(1800.0, 1500.0)
    assert tracker.state(1800.0, 80.0, 70.0) == "active"
