"""The signal engine as rules see it: values, unknowns with reasons, staleness on the clock,
exercise gating, the false-alarm check on a real resting hour, and the demo's episode."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import fields
from pathlib import Path

import pytest
from signals.signals_helpers import (
    DEMO,
    Replay,
    inject_artifacts,
    load_nn,
    longest_run_at_or_above,
    timed,
)

from ambient.config.people import PersonConfig
from ambient.config.signals import SIGNAL_NAMES, SignalsConfig
from ambient.messages import SignalUpdate, SignalValue
from ambient.recordings import read_recording
from ambient.signals.engine import BASELINE_NAMESPACE, UNREADABLE_BASELINE_NAMESPACE
from ambient.signals.person import PersonSignals
from ambient.signals.windows import BeatTerms
from ambient.store import Store, StoreError


def steady(start: float, seconds: float, rr_ms: float = 800.0) -> list[tuple[float, float]]:
    """Beats alternating ±20 ms around ``rr_ms`` (RMSSD 40 ms)."""
    count = int(seconds * 1000 / rr_ms)
    return timed([rr_ms + (20 if i % 2 else -20) for i in range(count)], start)


def test_every_signal_name_is_reported_after_a_minute_of_beats() -> None:
    replay = Replay()
    replay.beats(steady(0, 90))
    snapshot = replay.engine.snapshot("alex")
    assert set(snapshot) == SIGNAL_NAMES
    assert snapshot["hr"].value == pytest.approx(75.0, abs=0.5)
    assert snapshot["rmssd"].value == pytest.approx(40.0, abs=0.5)
    assert snapshot["rr_available"].value is True
    assert snapshot["activity_state"].value == "rest"
    assert snapshot["baseline_ready"].value is False
    assert snapshot["contact"].value is None and snapshot["contact"].reason == "no data"
    assert isinstance(snapshot["stress_score"].value, float)


def test_updates_carry_only_the_signals_that_changed() -> None:
    replay = Replay(SignalsConfig(update_interval=0))  # every reading recomputes
    replay.beats(steady(0, 90))
    replay.updates.clear()
    replay.feed(replay.clock.now(), "contact", 1.0)
    assert [set(u.values) for u in replay.updates] == [{"contact"}]


def test_an_updates_values_are_whole_signal_values() -> None:
    """The engine makes an update's values without the dataclass constructor: each has every
    field of a SignalValue, and equals one built the ordinary way."""
    replay = Replay()
    replay.beats(timed([800.0, 850.0] * 60))
    values = [v for u in replay.updates for v in u.values.values()]
    assert values and all(type(v) is SignalValue for v in values)
    assert [f.name for f in fields(SignalValue)] == ["value", "time", "reason"]
    assert all(v == SignalValue(v.value, v.time, v.reason) for v in values)
    assert any(v.value is None for v in values) and any(v.reason is None for v in values)


def test_an_update_is_a_whole_signal_update() -> None:
    """The engine makes its updates without the dataclass constructor too: each has every
    field of a SignalUpdate, and equals one built the ordinary way."""
    replay = Replay()
    replay.beats(timed([800.0, 850.0] * 60))
    assert replay.updates and all(type(u) is SignalUpdate for u in replay.updates)
    assert [f.name for f in fields(SignalUpdate)] == ["time", "person", "values"]
    assert all(u == SignalUpdate(u.time, u.person, u.values) for u in replay.updates)
    assert {u.person for u in replay.updates} == {"alex"}
    # each field in its own slot: the values are the update's, stamped with its time
    assert all(v.time == u.time for u in replay.updates for v in u.values.values())


def test_a_beat_fed_alone_gives_the_windows_the_terms_feed_gives() -> None:
    """`feed_beat` makes a beat's window terms itself (written out, per beat): the same terms
    as `feed` of the beat, which makes them with `beat_terms`: clean, corrected (3 %
    artifacts), after a gap, and the first beat of a run."""
    config = SignalsConfig()
    person = PersonConfig(id="alex")
    alone, fed = (PersonSignals("alex", config, person) for _ in range(2))
    added: dict[str, list[BeatTerms]] = {"alone": [], "fed": []}
    for name, state in (("alone", alone), ("fed", fed)):
        for window in state.windows:
            window.add_terms = added[name].append  # type: ignore[method-assign, assignment]
        state.hr_window.add_terms = added[name].append  # type: ignore[method-assign, assignment]
    series = timed(inject_artifacts(load_nn("60min")[:900], 0.03, seed=7))
    series += timed(load_nn("60min")[900:1000], start=series[-1][0] + 30)  # after a pause
    for t, rr_ms in series:
        alone.feed_beat(t, rr_ms)
        fed.feed(t, "rr", rr_ms)
    assert sum(alone.cleaner.corrections.values()) > 0
    assert len(added["alone"]) > len(series) and added["alone"] == added["fed"]
    assert {type(terms) for terms in added["alone"]} == {tuple}
    flags = [(corrected, diffs) for _, _, _, _, corrected, diffs, _, _ in added["alone"]]
    assert {corrected for corrected, _ in flags} == {0, 1}
    assert {diffs for _, diffs in flags} == {0, 1}


def test_signals_go_unknown_on_the_clock_when_beats_stop() -> None:
    replay = Replay()
    replay.beats(steady(0, 90))
    last = replay.clock.now()
    replay.updates.clear()
    replay.clock.advance_to(last + 60)  # no readings: only the timer can tell
    stale = {n: v for u in replay.updates for n, v in u.values.items()}
    for name in ("hr", "rmssd", "ln_rmssd", "sdnn", "pnn50", "stress_score", "quality"):
        assert stale[name].value is None, name
        assert stale[name].reason == "stale", name
    hr_unknown_at = next(t for t, v, _ in replay.history("hr") if v is None)
    assert hr_unknown_at == pytest.approx(last + 15, abs=0.01)
    assert replay.engine.get("alex", "hr").value is None


def test_beats_update_a_person_once_per_slot_and_a_pause_only_when_something_is_due(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beats every 0.8 s with updates at most every 2 s: one update per slot, the last beat's
    at its slot; then none at the next slot (nothing came), but when the held beats settle
    (rr_gap, 5 s) and when the beats go stale (15 s)."""
    updated_at: list[float] = []
    update = PersonSignals.update

    def spy(self: PersonSignals, now: float) -> object:
        updated_at.append(now)
        return update(self, now)

    monkeypatch.setattr(PersonSignals, "update", spy)
    replay = Replay()
    replay.beats(timed([800.0] * 20))
    last = replay.clock.now()  # 16 s
    replay.clock.advance_to(last + 60)
    slots = [0.8 + 2 * k for k in range(9)]  # the first beat's, then every 2 s to 16.8
    assert updated_at == pytest.approx([*slots, last + 5, last + 15], abs=1e-3)


def test_an_hr_only_source_gives_hr_a_score_from_hr_and_reports_hrv_unknown() -> None:
    replay = Replay()
    for second in range(120):
        replay.feed(float(second), "hr", 72.0)
    get = replay.engine.get
    assert get("alex", "hr").value == 72.0
    assert get("alex", "rr_available").value is False
    assert get("alex", "hr_delta_rest").value == pytest.approx(2.0)  # prior resting HR 70
    for name in ("rmssd", "ln_rmssd_z"):
        assert get("alex", name).value is None
        assert get("alex", name).reason == "no RR intervals (HR-only source)"
    assert isinstance(get("alex", "stress_score").value, float)
    assert get("alex", "stress_basis").value == "hr"
    assert get("alex", "baseline_state").value == "prior"
    assert get("alex", "stress_confidence").value == pytest.approx(0.12)  # HR alone, prior


def test_a_score_from_hr_rises_with_hr_above_the_persons_own_rest() -> None:
    replay = Replay()
    for second in range(600):  # ten quiet minutes at 60 bpm: a provisional baseline
        replay.feed(float(second), "hr", 60.0)
    get = replay.engine.get
    assert get("alex", "baseline_state").value == "provisional"
    calm = get("alex", "stress_score").value
    for second in range(600, 720):
        replay.feed(float(second), "hr", 75.0)  # 15 bpm above this person's rest
    stressed = get("alex", "stress_score").value
    assert isinstance(calm, float) and isinstance(stressed, float)
    assert calm < 30 < 70 < stressed
    assert get("alex", "stress_confidence").value == pytest.approx(0.35)  # HR alone, provisional


def test_lost_skin_contact_makes_heart_signals_unknown() -> None:
    replay = Replay()
    replay.beats(steady(0, 90))
    replay.feed(90.5, "contact", 0.0)
    assert replay.engine.get("alex", "contact").value is False
    assert replay.engine.get("alex", "hr").reason == "no skin contact"
    assert replay.engine.get("alex", "rmssd").reason == "no skin contact"
    for name in ("stress_score", "stress_basis", "stress_confidence"):
        assert replay.engine.get("alex", name).value is None, name
        assert replay.engine.get("alex", name).reason == "no skin contact", name


def test_a_high_seated_hr_before_the_rest_is_known_is_not_taken_for_exercise() -> None:
    """112 bpm is past 40 % of the reserve above the population's 70 bpm; with no movement
    sensor and no personal rest yet, the reserve starts from a high rest (86 bpm) instead."""
    replay = Replay(people=[PersonConfig(id="alex", age=38)])
    for second in range(240):
        replay.feed(float(second), "hr", 112.0)
    assert replay.engine.get("alex", "baseline_state").value == "prior"
    assert replay.engine.get("alex", "activity_state").value == "rest"
    assert isinstance(replay.engine.get("alex", "stress_score").value, float)


def test_minutes_the_score_calls_stressed_do_not_move_the_baseline() -> None:
    replay = Replay()
    for second in range(600):
        replay.feed(float(second), "hr", 60.0)
    for second in range(600, 1200):  # ten stressed minutes, 20 bpm above rest
        replay.feed(float(second), "hr", 80.0)
    # Had the stressed minutes been learned as rest, the delta would be about 10 bpm.
    assert replay.engine.get("alex", "hr_delta_rest").value == pytest.approx(20.0, abs=0.5)


def test_windows_without_enough_consecutive_pairs_give_no_hrv() -> None:
    replay = Replay()
    beats = steady(0, 90)
    replay.beats(beats[:40] + [(t, rr) for t, rr in beats[40:] if int(t) % 3 == 0])
    assert replay.engine.get("alex", "rmssd").value is None
    assert replay.engine.get("alex", "rmssd").reason == "too few beat pairs"
    assert replay.engine.get("alex", "stress_basis").value == "hr"


def test_a_sparse_wrist_stream_with_enough_pairs_gives_hrv_despite_low_coverage() -> None:
    """Runs of five beats with three left out after each, as a wrist PPG sensor reports: 60 %
    of the window has no intervals, yet its pairs are real successive differences."""
    replay = Replay()
    beats = steady(0, 240)
    replay.beats([beat for i, beat in enumerate(beats) if i % 8 < 5])
    get = replay.engine.get
    coverage, pairs = get("alex", "coverage").value, get("alex", "hrv_pairs").value
    assert isinstance(coverage, float) and coverage < 0.7
    assert isinstance(pairs, int) and pairs >= 20
    assert get("alex", "rmssd").value == pytest.approx(40.0, abs=0.5)  # no difference across a gap
    assert get("alex", "stress_basis").value == "hrv+hr"


def test_unknown_people_get_state_and_user_metrics_pass_through() -> None:
    replay = Replay(people=[])
    replay.feed(0.0, "room_co2", 812.0, person="sam")
    assert replay.engine.people() == ["sam"]
    assert replay.engine.get("sam", "room_co2").value == 812.0
    replay.clock.advance_to(601.0)
    assert replay.engine.get("sam", "room_co2").value is None
    assert replay.engine.get("sam", "room_co2").reason == "stale"
    assert replay.engine.get("nobody", "hr").value is None


def test_bad_readings_are_counted_and_ignored() -> None:
    replay = Replay()
    replay.feed(1.0, "hr", float("nan"))
    replay.feed(2.0, "rr", 5000.0)
    counts = replay.engine.counters.scope("signals:alex")
    assert counts == {"hr_out_of_range": 1, "rr_out_of_range": 1}
    assert replay.engine.get("alex", "hr").value is None


def test_the_real_resting_hour_never_holds_a_stress_score_of_70_for_2_minutes() -> None:
    replay = Replay()
    beats = timed(load_nn("60min"))
    replay.beats(beats)
    longest, _ = longest_run_at_or_above(replay.history("stress_score"), 70.0, beats[-1][0])
    assert longest < 120
    # A number all the time once the first window is full, never unknown.
    after_first_minute = [v for t, v, _ in replay.history("stress_score") if t > 90]
    assert after_first_minute and all(isinstance(v, float) for v in after_first_minute)


def test_the_demo_episode_is_detected_within_3_minutes_of_its_start() -> None:
    readings = read_recording(DEMO)
    replay = Replay()
    for reading in readings:
        replay.feed(reading.time, reading.metric, reading.value, reading.person)
    history = replay.history("stress_score")
    before = [(t, v, r) for t, v, r in history if t < 1800]
    assert longest_run_at_or_above(before, 70.0, 1800)[0] < 120
    during = [(t, v, r) for t, v, r in history if 1800 <= t < 2400]
    longest, first = longest_run_at_or_above(during, 70.0, 2400)
    assert first is not None and first - 1800 + 120 <= 180  # `for 2min` fires by 3 min
    assert longest >= 120


def bout(replay: Replay, start: float, seconds: float, active_sensor: bool) -> float:
    """Exercise: HR ~140 with low HRV, and an `activity` signal when ``active_sensor``."""
    t = start
    for t, rr in steady(start, seconds, rr_ms=430.0):
        if active_sensor and int(t) % 10 == 0:
            replay.feed(t, "activity", 1.0)
        replay.feed(t, "rr", rr)
    return t


@pytest.mark.parametrize("active_sensor", [True, False])
def test_exercise_and_its_recovery_never_give_a_stress_number(active_sensor: bool) -> None:
    replay = Replay(people=[PersonConfig(id="alex", age=40)])
    replay.beats(steady(0, 300))
    end = bout(replay, 300.0, 600.0, active_sensor)
    # recovery: HR coming down (95 bpm), HRV still low; a steps sensor says 0 steps
    t = end
    for t, rr in timed([630.0 + (4 if i % 2 else -4) for i in range(int(600 / 0.63))], end):
        if active_sensor and int(t) % 30 == 0:
            replay.feed(t, "activity", 0.0)
        replay.feed(t, "rr", rr)
    during = [(t0, v, r) for t0, v, r in replay.history("stress_score") if 300 < t0 <= t]
    assert during, "the score must have been reported"
    if active_sensor:
        assert all(v is None and r == "exercise" for _, v, r in during[1:])
    else:
        # From HR alone, the first seconds of the climb look like rest: the fallback reads HR
        # averaged over 30 s (a wrist sensor's one-second spike is no workout), so even this
        # instant jump to 140 bpm is called active within 60 s, long before a `for 2min` rule
        # could fire.
        assert all(v is None and r == "exercise" for t0, v, r in during if t0 > 360)
        assert longest_run_at_or_above(during, 70.0, t)[0] < 60
    states = {v for t0, v, _ in replay.history("activity_state") if 300 < t0 <= t}
    assert states <= {"active", "recovering"} and "active" in states


def test_after_the_hold_off_the_score_comes_back() -> None:
    replay = Replay(config=SignalsConfig.model_validate({"activity": {"hold_off": "2min"}}))
    replay.beats(steady(0, 120))
    end = bout(replay, 120.0, 120.0, True)
    replay.beats(steady(end, 300))
    assert replay.engine.get("alex", "activity_state").value == "rest"
    assert isinstance(replay.engine.get("alex", "stress_score").value, float)


def test_steps_make_a_person_active() -> None:
    replay = Replay()
    replay.beats(steady(0, 90))
    replay.feed(91.0, "steps", 1000.0)
    replay.feed(121.0, "steps", 1060.0)  # 120 steps/min
    assert replay.engine.get("alex", "activity_state").value == "active"
    assert replay.engine.get("alex", "stress_score").reason == "exercise"


def fill_the_disk(store: Store) -> None:
    """Every byte of room taken: SQLite then fails writes as it does on a full disk."""
    pages = store.query("PRAGMA page_count")[0][0]
    store.query(f"PRAGMA max_page_count = {pages}")
    with contextlib.suppress(StoreError):
        for n in range(1000):
            store.put("filler", str(n), "y" * 100)


def test_a_baseline_save_that_fails_on_a_full_disk_is_tried_again_at_the_next_one(
    tmp_path: Path,
) -> None:
    """A full SD card for one save must not end the saves: a power cut days later would
    lose every day learnt since."""
    store = Store(tmp_path / "ambient.db")
    replay = Replay(store=store)
    every_s = SignalsConfig().baseline.persist_every
    fill_the_disk(store)
    replay.beats(steady(0.0, every_s + 60))  # the first save fails
    assert store.get(BASELINE_NAMESPACE, "alex") is None
    store.query("PRAGMA max_page_count = 1000000")  # room again
    replay.beats(steady(every_s + 60, every_s))  # the next save is due
    assert store.get(BASELINE_NAMESPACE, "alex") is not None


def test_saves_failing_for_hours_are_said_once_and_their_recovery_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A disk full for a night failed every save: one warning every 10 minutes per person,
    144 lines a day. The first failure is said, and the first save after it; each failure
    still counts in the diagnostics."""
    caplog.set_level(logging.INFO, logger="ambient.signals.engine")
    store = Store(tmp_path / "ambient.db")
    replay = Replay(store=store)
    every_s = SignalsConfig().baseline.persist_every
    fill_the_disk(store)
    replay.beats(steady(0.0, 6 * every_s + 60))  # six saves fail
    store.query("PRAGMA max_page_count = 1000000")  # room again
    replay.beats(steady(6 * every_s + 60, 3 * every_s))  # three saves succeed

    said = [r for r in caplog.records if r.name == "ambient.signals.engine"]
    assert [(r.levelname, "alex" in r.getMessage()) for r in said] == [
        ("WARNING", True),
        ("INFO", True),
    ]
    assert "not saved" in said[0].getMessage() and "saved again" in said[1].getMessage()
    assert replay.engine.counters.get("signals:alex", "baseline_save_failed") == 6


def reloaded(replay: Replay, config: SignalsConfig | None = None) -> Replay:
    """The engine a reload builds on the same clock and store (``config``: the new signals
    section), taking over from ``replay``'s, closed first as the daemon does."""
    replay.engine.close()
    again = Replay(config, store=replay.store, clock=replay.clock)
    again.engine.take_over(replay.engine)
    return again


def test_a_reload_keeps_each_persons_windows_when_the_signals_section_is_unchanged() -> None:
    """A reload rebuilt every person's signal state: HRV unknown for a minute, the smoothing
    and an exercise hold-off lost. With the signals section as it was, the state goes on."""
    replay = Replay()
    replay.beats(steady(0, 120))
    before = replay.engine.snapshot("alex")

    again = reloaded(replay)

    assert again.engine.get("alex", "rmssd") == before["rmssd"]  # known from the first moment
    again.beats(steady(120.4, 2))
    (first, *_) = again.updates
    assert set(first.values) == SIGNAL_NAMES  # the new wiring's listeners hear every signal
    assert first.values["rmssd"].value == pytest.approx(40.0, abs=0.5)


def test_a_reload_that_changes_the_signals_section_starts_the_windows_afresh() -> None:
    replay = Replay()
    replay.beats(steady(0, 120))

    again = reloaded(replay, SignalsConfig(update_interval=1))

    assert again.engine.get("alex", "rmssd").reason == "no data"


def test_close_on_a_full_disk_cancels_the_timers_and_tries_every_persons_baseline(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A full disk at shutdown or reload: close() must not stop at the first person whose
    save fails (the later people unsaved, the timers left set to fire on a closed store); it
    cancels the timers, tries every person and says once per person what was not saved."""
    store = Store(tmp_path / "ambient.db")
    replay = Replay(people=[PersonConfig(id="alex"), PersonConfig(id="sam")], store=store)
    for t, rr in steady(0.0, 120):
        replay.feed(t, "rr", rr, "alex")
        replay.feed(t, "rr", rr, "sam")
    fill_the_disk(store)
    replay.engine.close()  # does not raise
    unsaved = [r.getMessage() for r in caplog.records if "not saved" in r.getMessage()]
    assert len(unsaved) == 2 and "alex" in unsaved[0] and "sam" in unsaved[1]
    store.query("PRAGMA max_page_count = 1000000")  # room again: a timer left set would save
    failed = replay.clock.failed_callbacks
    replay.clock.advance_to(10 * SignalsConfig().baseline.persist_every)
    assert store.get(BASELINE_NAMESPACE, "alex") is None
    assert store.get(BASELINE_NAMESPACE, "sam") is None
    assert replay.clock.failed_callbacks == failed


def test_an_unreadable_saved_baseline_is_kept_aside_not_overwritten_by_the_fresh_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A baseline ambient cannot read (one a newer version saved, before a downgrade) starts
    afresh, but the fresh one's first save must not lose it for good: it is kept under
    ``signals.baseline.unreadable/<person>``, said in one warning naming the person."""
    store = Store(tmp_path / "ambient.db")
    newer = {"version": 99, "days": {"20000": [60, 3600.0, 216000.0, 50, 190.0, 722.0]}}
    store.put(BASELINE_NAMESPACE, "alex", newer)
    replay = Replay(store=store)
    replay.beats(steady(0.0, 180))
    replay.engine.close()
    assert store.get(BASELINE_NAMESPACE, "alex") != newer  # the fresh one, saved
    assert store.get(UNREADABLE_BASELINE_NAMESPACE, "alex") == newer
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "alex" in warnings[0] and "3600" not in warnings[0]
