"""A heart sensor without its own `stale_after` whose heart rate comes minutes apart says so."""

from __future__ import annotations

import logging

import pytest

from ambient.sensors.cadence import SampledHeartRate

LOGGER = logging.getLogger("ambient.sensors.test_cadence")


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_three_gaps_of_minutes_in_a_row_say_the_stale_after_to_give_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sampled = SampledHeartRate("alex_watch", 15.0, LOGGER)
    for time in (0.0, 290.0, 600.0, 900.0, 1200.0, 1500.0):
        sampled.seen("alex", time)
    [line] = lines(caplog)
    assert line.startswith("Sensor alex_watch: its heart rate came up to 5min10s apart 3 times")
    assert "stale_after (15s)" in line and "`stale_after: 7min`" in line


def test_a_stream_and_one_that_drops_out_now_and_then_say_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sampled = SampledHeartRate("strap", 15.0, LOGGER)
    times = [float(t) for t in range(600)]  # every second
    times += [900.0, 901.0, 1300.0, 1301.0, 1700.0, 1701.0]  # drop-outs, each followed by a beat
    times += [5400.0, 9000.0, 12600.0]  # off for hours at a time: not an interval
    for time in times:
        sampled.seen("alex", time)
    sampled.seen("sam", 100.0)  # another person's reading breaks no one's run
    assert lines(caplog) == []
    assert not sampled.said


def test_each_person_has_their_own_run(caplog: pytest.LogCaptureFixture) -> None:
    sampled = SampledHeartRate("phones", 15.0, LOGGER)
    for time in (0.0, 300.0, 600.0):
        sampled.seen("alex", time)
        sampled.seen("sam", time + 1.0)
    assert lines(caplog) == []
    sampled.seen("sam", 901.0)
    assert len(lines(caplog)) == 1


def test_uploads_that_repeat_their_last_sample_still_make_a_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A phone app uploading the day so far (Health Auto Export's 'Today') sends each sample
    again with the next: one at the time of the last seen is the same sample, not a stream
    whose readings come at once, and breaks no run."""
    sampled = SampledHeartRate("alex_watch", 15.0, LOGGER)
    for upload in ((0.0, 300.0), (0.0, 300.0, 600.0), (300.0, 600.0, 900.0)):
        for time in upload:
            sampled.seen("alex", time)
    [line] = lines(caplog)
    assert "came up to 5min apart 3 times" in line
