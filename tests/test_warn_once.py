"""A write that keeps failing is one line at its level, DEBUG at every further try, and one INFO
line when a write goes in again; then the next failure is said again."""

from __future__ import annotations

import logging

import pytest

from ambient.warn_once import WarnOnce

LOGGER = logging.getLogger("tests.warn_once")


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == LOGGER.name]


def test_failures_are_said_once_until_a_write_works_then_said_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, LOGGER.name)
    refusals = WarnOnce(LOGGER)
    said = [refusals.failed("Not saved: %s", f"disk full ({n})") for n in range(3)]
    assert said == [True, False, False] and refusals.failing
    assert refusals.worked("Saved again") and not refusals.failing
    assert refusals.failed("Not saved: %s", "read-only")
    assert lines(caplog) == [
        (logging.WARNING, "Not saved: disk full (0)"),
        (logging.DEBUG, "Not saved: disk full (1)"),
        (logging.DEBUG, "Not saved: disk full (2)"),
        (logging.INFO, "Saved again"),
        (logging.WARNING, "Not saved: read-only"),
    ]


def test_a_write_that_works_without_a_failure_before_says_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, LOGGER.name)
    refusals = WarnOnce(LOGGER)
    assert not refusals.worked("Saved again")
    assert lines(caplog) == []


def test_the_first_failure_is_said_at_the_level_chosen(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, LOGGER.name)
    refusals = WarnOnce(LOGGER, logging.ERROR)
    refusals.failed("Rule state not written")
    refusals.failed("Rule state not written")
    assert [level for level, _ in lines(caplog)] == [logging.ERROR, logging.DEBUG]
