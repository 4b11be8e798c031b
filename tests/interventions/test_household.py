"""The learning loop end to end through the daemon on a virtual clock: a simulated week in
which every stress episode is detected, an option chosen and performed, and the episode
measured from the signals — the household of bench/bench_household.py, shortened."""

from __future__ import annotations

import logging

from fixtures.household import TRUE_EFFECT_SD, MeasuredEpisodes, run_household


async def test_a_week_of_episodes_is_chosen_performed_and_measured() -> None:
    measured = MeasuredEpisodes()
    recorder_log = logging.getLogger("ambient.interventions.recorder")
    level = recorder_log.level
    recorder_log.addHandler(measured)
    recorder_log.setLevel(logging.INFO)
    try:
        (picks,), _ = await run_household(weeks=1, seed=3)
    finally:
        recorder_log.removeHandler(measured)
        recorder_log.setLevel(level)
    assert len(picks) == 14  # two a day, each detected and within the daily cap
    assert set(picks) <= set(TRUE_EFFECT_SD)
    assert len(set(picks)) >= 2  # the floor keeps trying the others
    assert measured.reasons == {"measured": 14}
