"""Episodes measured on the virtual clock, stored, and learnt from — across a restart too."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ambient.clock import VirtualClock
from ambient.interventions.episodes import BELIEFS_NAMESPACE, EpisodeBook
from ambient.interventions.learner import PRIORS
from ambient.interventions.recorder import EpisodeRecorder
from ambient.messages import SignalUpdate, SignalValue
from ambient.privacy.data_classes import data_classes
from ambient.privacy.export import collect
from ambient.privacy.forget import forget_store
from ambient.store import Store

T0 = 1_800_000_000.0


def feed(
    recorder: EpisodeRecorder, clock: VirtualClock, until: float, ln: float, hr: float
) -> None:
    """One update a minute, on the clock, up to ``until``."""
    while clock.now() + 60 <= until:
        clock.advance_to(clock.now() + 60.0)
        values = {
            "ln_rmssd": SignalValue(ln, clock.now()),
            "hr": SignalValue(hr, clock.now()),
            "activity_state": SignalValue("rest", clock.now()),
        }
        recorder.on_signals(SignalUpdate(clock.now(), "alex", values))


def test_an_episode_is_measured_twenty_minutes_on_and_moves_the_belief(tmp_path: Path) -> None:
    clock = VirtualClock(T0)
    book = EpisodeBook(Store(tmp_path / "state.db"))
    recorder = EpisodeRecorder(clock, book, norms=lambda _person: (0.4, 4.0))
    feed(recorder, clock, T0 + 600, ln=3.0, hr=80.0)
    episode = recorder.start("alex", "calm", "box", PRIORS["breathing"], {"hour": 21})
    feed(recorder, clock, T0 + 600 + 240, ln=3.1, hr=78.0)
    feed(recorder, clock, T0 + 600 + 1260, ln=3.2, hr=76.0)

    (row,) = book.episodes("alex")
    assert row.id == episode and row.usable is True and row.option == "box"
    assert row.ln_rmssd_change_sd == pytest.approx(0.5)
    assert row.hr_change_sd == pytest.approx(-1.0)
    belief = book.beliefs("alex", "calm")["box"]
    assert belief.episodes == 1 and belief.mean > PRIORS["breathing"].mean


def test_a_check_in_answer_is_stored_and_nudges_the_belief(tmp_path: Path) -> None:
    clock = VirtualClock(T0)
    book = EpisodeBook(Store(tmp_path / "state.db"))
    recorder = EpisodeRecorder(clock, book)
    episode = recorder.start("alex", "calm", "lights", PRIORS["calm_lights"], {})
    assert recorder.check_in(episode, "calmer")
    assert not recorder.check_in(episode, "ecstatic")
    (row,) = book.episodes("alex")
    assert row.check_in == "calmer"
    assert book.beliefs("alex", "calm")["lights"].mean > PRIORS["calm_lights"].mean


def test_an_episode_started_ten_minutes_after_another_of_the_person_is_not_usable(
    tmp_path: Path,
) -> None:
    # Its before-span is the first episode's after-span: the first option's effect would be
    # read as this one's starting point.
    clock = VirtualClock(T0)
    book = EpisodeBook(Store(tmp_path / "state.db"))
    recorder = EpisodeRecorder(clock, book, norms=lambda _person: (0.4, 4.0))
    feed(recorder, clock, T0 + 600, ln=3.0, hr=80.0)
    recorder.start("alex", "calm", "box", PRIORS["breathing"], {})
    feed(recorder, clock, T0 + 1200, ln=3.2, hr=76.0)
    recorder.start("alex", "calm_again", "lights", PRIORS["calm_lights"], {})
    feed(recorder, clock, T0 + 1200 + 1260, ln=3.4, hr=74.0)

    assert [(row.rule, row.usable, row.reason) for row in book.episodes("alex")] == [
        ("calm", False, "another episode overlaps"),
        ("calm_again", False, "another episode overlaps"),
    ]
    assert book.beliefs("alex", "calm_again")["lights"].episodes == 0


def test_an_episode_left_waiting_by_a_stopped_daemon_is_kept_as_not_usable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    clock = VirtualClock(T0)
    first = EpisodeRecorder(clock, EpisodeBook(Store(path)))
    first.start("alex", "calm", "box", PRIORS["breathing"], {})

    later = VirtualClock(T0 + 7200)
    book = EpisodeBook(Store(path))
    EpisodeRecorder(later, book).resume()
    later.advance_to(later.now() + 1.0)
    (row,) = book.episodes("alex")
    assert (row.usable, row.reason) == (False, "missing data")
    assert book.beliefs("alex", "calm")["box"].episodes == 0


@pytest.mark.parametrize(("back_after_s", "usable"), [(480.0, True), (900.0, False)])
def test_an_episode_outlives_a_restart_when_half_its_after_span_is_still_seen(
    tmp_path: Path, back_after_s: float, usable: bool
) -> None:
    # A restart or a config reload (SIGHUP) mid-episode: the before-span was recorded with the
    # episode, so only the after-span must be seen, at least half of it.
    path = tmp_path / "state.db"
    clock = VirtualClock(T0)
    first = EpisodeRecorder(clock, EpisodeBook(Store(path)), norms=lambda _person: (0.4, 4.0))
    feed(first, clock, T0 + 600, ln=3.0, hr=80.0)
    first.start("alex", "calm", "box", PRIORS["breathing"], {"hour": 8})

    later = VirtualClock(T0 + 600 + back_after_s)
    book = EpisodeBook(Store(path))
    again = EpisodeRecorder(later, book, norms=lambda _person: (0.4, 4.0))
    again.resume()
    feed(again, later, T0 + 600 + 1260, ln=3.2, hr=76.0)

    (row,) = book.episodes("alex")
    assert row.usable is usable
    if usable:
        assert row.ln_rmssd_change_sd == pytest.approx(0.5)
        assert row.hr_change_sd == pytest.approx(-1.0)
        assert row.context["hour"] == 8
    else:
        assert row.reason == "missing data"


def test_episodes_and_beliefs_are_part_of_export_and_forget() -> None:
    names = {data_class.name for data_class in data_classes()}
    assert {"episodes", "learner"} <= names


def test_beliefs_stored_by_the_previous_version_load_learn_on_and_are_exported_and_forgotten(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "state.db")
    old = {"option": "box", "mean": 0.5, "sd": 0.2, "episodes": 12, "weight": 12.0}
    store.put(BELIEFS_NAMESPACE, "alex/calm", {"box": old})
    clock = VirtualClock(T0)
    book = EpisodeBook(store)
    recorder = EpisodeRecorder(clock, book, norms=lambda _person: (0.4, 4.0))
    assert book.beliefs("alex", "calm")["box"].mean == 0.5

    feed(recorder, clock, T0 + 600, ln=3.0, hr=80.0)
    recorder.start("alex", "calm", "box", PRIORS["breathing"], {})
    feed(recorder, clock, T0 + 600 + 1260, ln=3.4, hr=76.0)  # +1 SD
    learnt = book.beliefs("alex", "calm")["box"]
    assert learnt.episodes == 13 and 0.5 < learnt.mean < 1.0

    (rows,) = [rows for name, (_, rows) in collect(store, "alex").items() if name == "learner"]
    (_, stored), *_ = rows
    assert stored["value"]["box"]["episodes"] == 13
    assert forget_store(store, "alex")["learner"] == 1
    assert book.beliefs("alex", "calm") == {}


def test_an_episode_whose_watch_comes_off_is_unknown_not_a_failure(tmp_path: Path) -> None:
    """The heart signals turn unknown four minutes in (the watch taken off) while others go
    on: the after-span has no heart data, so the episode is kept as missing data and the
    learner hears nothing (not a response of zero, not the last value seen)."""
    clock = VirtualClock(T0)
    book = EpisodeBook(Store(tmp_path / "state.db"))
    recorder = EpisodeRecorder(clock, book, norms=lambda _person: (0.4, 4.0))
    feed(recorder, clock, T0 + 600, ln=3.0, hr=80.0)
    recorder.start("alex", "calm", "box", PRIORS["breathing"], {})
    feed(recorder, clock, T0 + 600 + 240, ln=3.1, hr=78.0)
    stale = SignalValue.unknown(clock.now(), "stale")
    recorder.on_signals(SignalUpdate(clock.now(), "alex", {"ln_rmssd": stale, "hr": stale}))
    while clock.now() < T0 + 600 + 1260:
        clock.advance_to(clock.now() + 60.0)
        rest = {"activity_state": SignalValue("rest", clock.now())}
        recorder.on_signals(SignalUpdate(clock.now(), "alex", rest))

    (row,) = book.episodes("alex")
    assert (row.usable, row.reason) == (False, "missing data")
    belief = book.beliefs("alex", "calm")["box"]
    assert (belief.episodes, belief.weight, belief.mean) == (0, 0.0, PRIORS["breathing"].mean)


@pytest.mark.parametrize("step_s", [3600.0, -600.0])
def test_a_clock_step_inside_an_episode_leaves_it_unknown_not_mismeasured(
    tmp_path: Path, step_s: float
) -> None:
    """A Raspberry Pi's clock stepped by NTP three minutes into the episode: the signals after
    the step are stamped an hour on (or ten minutes back), outside the spans the episode's
    start names. It is measured twenty minutes on all the same (its timer runs on elapsed
    time) and kept as missing data, never as a response read from the wrong minutes."""
    clock = VirtualClock(T0, wall_check_s=60.0)
    book = EpisodeBook(Store(tmp_path / "state.db"))
    recorder = EpisodeRecorder(clock, book, norms=lambda _person: (0.4, 4.0))
    feed(recorder, clock, T0 + 600, ln=3.0, hr=80.0)
    recorder.start("alex", "calm", "box", PRIORS["breathing"], {})
    feed(recorder, clock, T0 + 600 + 180, ln=3.4, hr=70.0)  # the session's paced breathing
    clock.step(step_s)
    feed(recorder, clock, clock.now() + 1080, ln=3.2, hr=76.0)

    (row,) = book.episodes("alex")
    assert (row.usable, row.reason) == (False, "missing data")
    assert row.measured_at == pytest.approx(T0 + 600 + 1200 + step_s, abs=60.0)
    assert book.beliefs("alex", "calm")["box"].episodes == 0


def test_an_episode_resumed_on_a_clock_still_behind_is_measured_once_ntp_steps_it(
    tmp_path: Path,
) -> None:
    """A Raspberry Pi restarted eight minutes into an episode boots with its clock an hour
    behind (its last saved time) until NTP steps it a minute later. The episode's measuring was
    set an hour and twelve minutes of elapsed time away, so it came an hour late, when the
    signals of its after-span were gone: missing data, though ambient was back in time."""
    path = tmp_path / "state.db"
    clock = VirtualClock(T0)
    first = EpisodeRecorder(clock, EpisodeBook(Store(path)), norms=lambda _person: (0.4, 4.0))
    feed(first, clock, T0 + 600, ln=3.0, hr=80.0)
    first.start("alex", "calm", "box", PRIORS["breathing"], {})

    booted = VirtualClock(T0 + 600 + 480 - 3600, wall_check_s=60.0)
    book = EpisodeBook(Store(path))
    again = EpisodeRecorder(booted, book, norms=lambda _person: (0.4, 4.0))
    again.resume()
    booted.advance_to(booted.now() + 60.0)
    booted.step(3600.0)  # NTP
    feed(again, booted, T0 + 600 + 1260, ln=3.2, hr=76.0)

    (row,) = book.episodes("alex")
    assert (row.usable, row.reason) == (True, "measured")
    assert row.ln_rmssd_change_sd == pytest.approx(0.5)


@pytest.mark.parametrize("ntp_after_s", [None, 2400.0])
def test_an_episode_resumed_on_a_clock_that_stays_behind_is_not_read_from_other_minutes(
    tmp_path: Path, ntp_after_s: float | None
) -> None:
    """A Raspberry Pi with no network, its power cut eight minutes into an episode, boots at
    once with its clock at its last saved time, from before the episode (saved hourly), half an
    hour behind; it stays there (or NTP steps it only when the clock is deep in the episode's
    after-span). The signals it stamps with the episode's minutes are from half an hour after
    them: the episode was measured from those, as usable, and the learner taught a response it
    never had. It is kept as missing data."""
    path = tmp_path / "state.db"
    clock = VirtualClock(T0)
    first = EpisodeRecorder(clock, EpisodeBook(Store(path)), norms=lambda _person: (0.4, 4.0))
    feed(first, clock, T0 + 600, ln=3.0, hr=80.0)
    start = T0 + 600
    first.start("alex", "calm", "box", PRIORS["breathing"], {})

    booted = VirtualClock(start + 480 - 1800, wall_check_s=60.0)
    book = EpisodeBook(Store(path))
    again = EpisodeRecorder(booted, book, norms=lambda _person: (0.4, 4.0))
    again.resume()
    if ntp_after_s is not None:
        feed(again, booted, booted.now() + ntp_after_s, ln=3.2, hr=76.0)
        booted.step(1800.0)  # NTP, late
    feed(again, booted, start + 1260, ln=3.2, hr=76.0)
    booted.advance_to(booted.now() + 60.0)  # a stepped clock is read again each minute

    (row,) = book.episodes("alex")
    assert (row.usable, row.reason) == (False, "missing data")
    assert book.beliefs("alex", "calm")["box"].episodes == 0


def ten_stressed_minutes_recorded(
    path: Path,
) -> tuple[Store, VirtualClock, EpisodeBook, EpisodeRecorder]:
    """A recorder keeping its episodes in a new store at ``path``, fed alex's ten stressed
    minutes from T0: the span before a calming episode started then."""
    store = Store(path)
    clock = VirtualClock(T0)
    book = EpisodeBook(store)
    recorder = EpisodeRecorder(clock, book, norms=lambda _person: (0.4, 4.0))
    feed(recorder, clock, T0 + 600, ln=3.0, hr=80.0)
    return store, clock, book, recorder


def test_a_measurement_the_store_refuses_is_one_line_naming_the_episode(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A full or read-only card twenty minutes on: the only line was "Timer callback
    EpisodeRecorder._measure failed: StoreError: …", naming no one and no episode."""
    path = tmp_path / "state.db"
    store, clock, _, recorder = ten_stressed_minutes_recorded(path)
    episode = recorder.start("alex", "calm", "box", PRIORS["breathing"], {})
    store.query("PRAGMA query_only = ON")  # the card refuses every write from now on
    feed(recorder, clock, T0 + 600 + 1260, ln=3.2, hr=76.0)

    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        f"Calming episode {episode} of alex (calm, option box) not measured: store {path} "
        "cannot be used (attempt to write a readonly database)"
    ]
    assert clock.failed_callbacks == 0


def test_a_card_refusing_every_episode_is_one_line_until_one_is_measured_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Each episode the store refused was an error of its own: a full card for a week was a
    line at each calming. The first is said (naming it), the next at DEBUG, and one line once
    an episode is measured again."""
    path = tmp_path / "state.db"
    store, clock, book, recorder = ten_stressed_minutes_recorded(path)
    first = recorder.start("alex", "calm", "box", PRIORS["breathing"], {})
    feed(recorder, clock, T0 + 1200, ln=3.2, hr=76.0)
    second = recorder.start("alex", "calm", "box", PRIORS["breathing"], {})
    store.query("PRAGMA query_only = ON")  # the card refuses every write from now on
    with caplog.at_level(logging.DEBUG, logger="ambient.interventions.recorder"):
        feed(recorder, clock, T0 + 1200 + 1260, ln=3.2, hr=76.0)
    said = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in said] == [logging.ERROR, logging.DEBUG]
    assert said[0][1].startswith(f"Calming episode {first} of alex")
    assert said[1][1].startswith(f"Calming episode {second} of alex")

    store.query("PRAGMA query_only = OFF")  # room again
    caplog.clear()
    third = recorder.start("alex", "calm", "box", PRIORS["breathing"], {})
    with caplog.at_level(logging.INFO, logger="ambient.interventions.recorder"):
        feed(recorder, clock, T0 + 1200 + 1260 + 1260, ln=3.2, hr=76.0)
    assert [(r.levelno, r.getMessage()) for r in caplog.records][:1] == [
        (logging.INFO, "Calming episodes are measured and learned from again")
    ]
    measured = book.episode(third)
    assert measured is not None and measured.usable is not None
    assert clock.failed_callbacks == 0


def test_two_people_calmed_at_once_are_each_measured_and_learn_apart(tmp_path: Path) -> None:
    """Alex and Sam stressed together, each rule firing within the same minute: another
    person's episode is no overlap, each response is their own, each belief moves alone."""
    clock = VirtualClock(T0)
    book = EpisodeBook(Store(tmp_path / "state.db"))
    recorder = EpisodeRecorder(clock, book, norms=lambda _person: (0.4, 4.0))

    def both(until: float, alex: tuple[float, float], sam: tuple[float, float]) -> None:
        while clock.now() + 60 <= until:
            clock.advance_to(clock.now() + 60.0)
            for person, (ln, hr) in (("alex", alex), ("sam", sam)):
                values = {
                    "ln_rmssd": SignalValue(ln, clock.now()),
                    "hr": SignalValue(hr, clock.now()),
                    "activity_state": SignalValue("rest", clock.now()),
                }
                recorder.on_signals(SignalUpdate(clock.now(), person, values))

    both(T0 + 600, alex=(3.0, 80.0), sam=(3.5, 70.0))
    recorder.start("alex", "calm_alex", "box", PRIORS["breathing"], {})
    recorder.start("sam", "calm_sam", "music", PRIORS["play_calming"], {})
    both(T0 + 600 + 1260, alex=(3.2, 76.0), sam=(3.3, 74.0))

    rows = {row.person: row for row in book.episodes()}
    assert rows["alex"].usable and rows["alex"].ln_rmssd_change_sd == pytest.approx(0.5)
    assert rows["sam"].usable and rows["sam"].ln_rmssd_change_sd == pytest.approx(-0.5)
    assert book.beliefs("alex", "calm_alex")["box"].mean > PRIORS["breathing"].mean
    assert book.beliefs("sam", "calm_sam")["music"].mean < PRIORS["play_calming"].mean
    assert set(book.all_beliefs()) == {("alex", "calm_alex"), ("sam", "calm_sam")}
