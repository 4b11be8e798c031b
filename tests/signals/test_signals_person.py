"""One person's signal state as readings reach it: a reading that comes late (an MQTT backlog
after a reconnect, a satellite catching up, a payload's own old timestamp) is not the latest;
a lost skin contact blanks the readings of the device that lost it, not another's."""

from __future__ import annotations

import math

import pytest
from signals.signals_helpers import Replay, inject_artifacts, load_nn, timed

from ambient.config.people import PersonConfig
from ambient.config.signals import ActivityConfig, SignalsConfig, StressConfig
from ambient.messages import SignalValue
from ambient.readings import Reading


def late(replay: Replay, now: float, time: float, metric: str, value: float) -> None:
    """``value`` stamped ``time``, reaching the engine at ``now`` (later)."""
    replay.clock.advance_to(now)
    replay.engine.feed(Reading(time, "alex", metric, value, "test"))


def assert_each_beat_once_in_order(replay: Replay) -> None:
    """Every window of alex's holds each beat once, in time order."""
    for window in replay.engine._people["alex"].windows:
        times = [terms[0] for terms in window._beats]
        assert times and times == sorted(set(times))


def test_a_late_heart_rate_does_not_replace_the_current_one() -> None:
    replay = Replay()
    for second in range(111):
        replay.feed(float(second), "hr", 70.0)
    late(replay, 111.5, 51.5, "hr", 90.0)  # a minute old: a backlog's
    get = replay.engine.get
    assert get("alex", "hr").value == 70.0
    replay.clock.advance_to(124.0)  # still within 15 s of the last current reading (t=110)
    assert get("alex", "hr").value == 70.0
    replay.clock.advance_to(126.0)
    assert get("alex", "hr").reason == "stale"
    assert replay.engine.counters.scope("signals:alex") == {"hr_late": 1}


def test_late_contact_and_metric_readings_do_not_replace_newer_ones() -> None:
    replay = Replay()
    replay.feed(10.0, "contact", 1.0)
    replay.feed(10.0, "room_co2", 800.0)
    late(replay, 11.0, 5.0, "contact", 0.0)
    late(replay, 11.0, 5.0, "room_co2", 1200.0)
    assert replay.engine.get("alex", "contact").value is True
    assert replay.engine.get("alex", "room_co2").value == 800.0
    assert replay.engine.counters.scope("signals:alex") == {"contact_late": 1, "room_co2_late": 1}


def test_a_reading_as_old_as_the_last_one_is_taken() -> None:
    replay = Replay()
    replay.feed(10.0, "hr", 70.0)
    replay.feed(10.0, "hr", 72.0)
    assert replay.engine.get("alex", "hr").value == 72.0
    assert replay.engine.counters.scope("signals:alex") == {}


def test_late_beats_are_not_counted_again_and_leave_the_beats_current() -> None:
    replay = Replay()
    beats = timed([800.0] * 150)  # 0.8 .. 120 s
    replay.beats(beats)
    for time, rr_ms in beats[50:60]:  # a minute-old RR list, sent again
        late(replay, 120.5, time, "rr", rr_ms)
    assert_each_beat_once_in_order(replay)
    get = replay.engine.get
    replay.clock.advance_to(134.0)  # within 15 s of the last current beat
    assert get("alex", "rr_available").value is True
    assert get("alex", "hr").value == pytest.approx(75.0)
    assert replay.engine.counters.scope("signals:alex") == {"rr_late": 10}


def test_a_list_of_beats_delivered_again_counts_none_of_them_twice() -> None:
    """A QoS 1 message handled but not acknowledged before the link dropped comes again after
    the reconnect: its last beat ends exactly when the last beat taken did."""
    replay = Replay()
    beats = timed([800.0] * 150)
    replay.beats(beats)
    for time, rr_ms in beats[-3:]:
        late(replay, 121.0, time, "rr", rr_ms)
    replay.clock.advance_to(130.0)  # the held beats settled
    assert_each_beat_once_in_order(replay)
    assert replay.engine.counters.scope("signals:alex") == {"rr_late": 3}


def test_a_beat_a_little_before_the_last_one_is_counted() -> None:
    """Beat times are spaced back from each notification's arrival, which jitters: a beat
    ending less than half its interval before the last one is a new beat, not a late one."""
    replay = Replay()
    replay.beats(timed([800.0] * 30))  # to 24 s
    late(replay, 24.0, 23.7, "rr", 800.0)
    assert replay.engine.counters.scope("signals:alex") == {}


# -- one person, two devices: whose readings a lost skin contact blanks --------------------


def feed_from(replay: Replay, t: float, metric: str, value: float, source: str) -> None:
    replay.clock.advance_to(t)
    replay.engine.feed(Reading(t, "alex", metric, value, source))


def strap_beats_then_contact_lost(replay: Replay, lost_at: float) -> None:
    """A chest strap (source ``strap``) sends a beat every 0.8 s and its HR, then reports
    its skin contact lost at ``lost_at`` (and sends nothing more, as a strap without contact)."""
    for time, rr_ms in timed([800.0] * int(lost_at / 0.8)):
        feed_from(replay, time, "rr", rr_ms, "strap")
        feed_from(replay, time, "hr", 75.0, "strap")
    feed_from(replay, lost_at, "contact", 0.0, "strap")


def test_a_strap_losing_contact_does_not_blank_the_heart_rate_a_watch_still_sends() -> None:
    """The watch (MQTT or HA, not arbitrated) keeps sending HR every few seconds: the strap's
    lost contact concerns the strap's readings, and the watch's heart rate carries on."""
    replay = Replay()
    strap_beats_then_contact_lost(replay, 90.0)
    feed_from(replay, 91.0, "hr", 82.0, "watch")
    get = replay.engine.get
    assert get("alex", "contact").value is False  # what the strap said, still shown
    assert get("alex", "hr").value == 82.0
    assert get("alex", "stress_score").value is not None
    # the strap's beats are the strap's: no HRV from them without its contact
    assert get("alex", "rmssd").reason == "no skin contact"
    feed_from(replay, 96.0, "hr", 84.0, "watch")
    assert get("alex", "hr").value == 84.0


def test_the_watch_shows_as_soon_as_it_takes_over_from_a_strap_that_lost_contact() -> None:
    """Two Bluetooth devices: the watch's readings count once the strap's are 10 s old
    (the arbiter); its heart rate shows then, not when the strap's contact report is stale."""
    replay = Replay()
    strap_beats_then_contact_lost(replay, 90.0)
    assert replay.engine.get("alex", "hr").reason == "no skin contact"
    feed_from(replay, 100.5, "hr", 80.0, "watch")
    assert replay.engine.get("alex", "hr").value == 80.0


def published(replay: Replay) -> list[tuple[float, str, dict[str, object]]]:
    """Every update the engine published: its time, person and signals' values."""
    return [(u.time, u.person, dict(u.values)) for u in replay.updates]


def watch_takes_over(first_stamp: float) -> Replay:
    """A strap's heart rate every second at .7 s until 59.7 s, then a watch's (taken by the
    arbiter from then) every second on whole seconds, its first stamped ``first_stamp``."""
    replay = Replay()
    for second in range(60):
        feed_from(replay, second + 0.7, "hr", 70.0, "strap")
    replay.clock.advance_to(60.0)
    replay.engine.feed(Reading(first_stamp, "alex", "hr", 80.0, "watch"))
    return replay


def test_a_new_device_s_first_heart_rate_stamped_before_the_other_s_last_is_taken() -> None:
    """Two devices' clocks (one stamping whole seconds) do not order their readings: the
    watch's first, stamped 59 s, is not late in its own stream though the strap's last was
    at 59.7 s. It shows, and weighs in the score for no time already weighed (the strap's up
    to 59.7 s): the score goes on exactly as had it been stamped 59.7 s. A later reading of
    the strap, older than its own last, is still late, as is another device's reading that is
    stale at the last one's time."""
    replay = watch_takes_over(59.0)
    get = replay.engine.get
    assert get("alex", "hr").value == 80.0
    assert replay.engine.counters.scope("signals:alex") == {}
    same_time = watch_takes_over(59.7)
    for second in range(60, 180):  # 90 bpm, then 70: the score's smoothing after it too
        for each in (replay, same_time):
            feed_from(each, float(second), "hr", 90.0 if second < 120 else 70.0, "watch")
    scores = replay.history("stress_score")
    assert len({value for _, value, _ in scores}) > 2  # the score moved: a test of it
    assert scores == same_time.history("stress_score")
    assert published(replay) == published(same_time)
    feed_from(replay, 180.0, "hr", 70.0, "watch")
    replay.engine.feed(Reading(59.2, "alex", "hr", 60.0, "strap"))  # a backlog's
    # another device's first, stale (15 s) already at the last one's time
    replay.engine.feed(Reading(164.5, "alex", "hr", 60.0, "phone"))
    assert get("alex", "hr").value == 70.0
    assert replay.engine.counters.scope("signals:alex") == {"hr_late": 2}


def test_the_watch_heart_rate_taken_before_the_strap_lost_contact_counts_until_stale() -> None:
    """A strap sending beats alone (its HR not read): the latest HR is the watch's, from
    before the loss, and counts while fresh; then the heart rate is unknown for the contact."""
    replay = Replay()
    for time, rr_ms in timed([800.0] * 110):  # to 88 s
        feed_from(replay, time, "rr", rr_ms, "strap")
    feed_from(replay, 89.0, "hr", 82.0, "watch")
    feed_from(replay, 90.0, "contact", 0.0, "strap")
    assert replay.engine.get("alex", "hr").value == 82.0
    replay.clock.advance_to(104.0)
    assert replay.engine.get("alex", "hr").value == 82.0
    replay.clock.advance_to(104.5)  # the watch's reading is 15.5 s old, the contact 14.5 s
    assert replay.engine.get("alex", "hr").reason == "no skin contact"


def test_contact_from_a_source_of_contact_alone_concerns_every_heart_reading() -> None:
    """A watch over MQTT or HA gives its wear sensor and its heart rate as two sensors (one
    metric each): its contact, lost, still blanks the heart rate it keeps sending."""
    replay = Replay()
    feed_from(replay, 10.0, "contact", 1.0, "watch_worn")
    for second in range(11, 40):
        feed_from(replay, float(second), "hr", 70.0, "watch_hr")
    feed_from(replay, 40.0, "contact", 0.0, "watch_worn")
    feed_from(replay, 41.0, "hr", 70.0, "watch_hr")
    assert replay.engine.get("alex", "hr").reason == "no skin contact"


def test_a_worn_strap_reports_contact_once_and_it_holds_while_the_strap_sends_beats() -> None:
    """A strap says its contact at the start of a session and when it changes, not with every
    beat: the contact it said holds while its readings keep coming, not 15 s after saying it."""
    replay = Replay()
    feed_from(replay, 0.5, "contact", 1.0, "strap")
    for time, rr_ms in timed([800.0] * 150):  # to 120 s
        feed_from(replay, time, "rr", rr_ms, "strap")
        feed_from(replay, time, "hr", 75.0, "strap")
    assert replay.engine.get("alex", "contact").value is True
    replay.clock.advance_to(135.5)  # the strap silent for 15.5 s: nothing is current
    assert replay.engine.get("alex", "contact").reason == "stale"


def test_a_contact_said_by_one_device_does_not_hold_on_another_devices_readings() -> None:
    replay = Replay()
    feed_from(replay, 0.5, "contact", 1.0, "strap")
    for second in range(1, 60):
        feed_from(replay, float(second), "hr", 80.0, "watch")
    assert replay.engine.get("alex", "contact").reason == "stale"


def test_beats_blanked_by_a_lost_contact_are_not_available() -> None:
    """A strap without skin contact: its last beats are not used, so rr_available says false
    (not true until they are 15 s old), whether or not a watch's heart rate carries on."""
    replay = Replay()
    strap_beats_then_contact_lost(replay, 90.0)
    assert replay.engine.get("alex", "rr_available").value is False
    feed_from(replay, 91.0, "hr", 82.0, "watch")
    assert replay.engine.get("alex", "rr_available").value is False
    feed_from(replay, 92.0, "rr", 800.0, "watch")  # the watch's own beats are used
    replay.clock.advance_to(94.0)  # (beats update the signals every 2 s)
    assert replay.engine.get("alex", "rr_available").value is True


def test_a_strap_just_put_on_has_too_few_beats_not_stale_ones() -> None:
    """The first seconds of a session (and of every person's after a reload): the beats are
    fresh but still being cleaned; `hr` and what follows it read "stale" beside a sensor whose
    last reading was a second ago."""
    replay = Replay()
    for beat in range(1, 6):
        replay.feed(0.8 * beat, "rr", 800.0)
    get = replay.engine.get
    assert get("alex", "rr_available").value is True
    for name in ("hr", "hr_delta_rest", "activity_state", "stress_score"):
        assert get("alex", name).reason == "too few beats", name
    replay.clock.advance_to(30.0)  # and once they stop, they are stale
    assert get("alex", "hr").reason == "stale"


# -- a stressed rest is taken as the new rest after 60 minutes of the clock -------------------


def heart_rate_every(
    replay: Replay, start_s: float, end_s: float, step_s: float, bpm: float
) -> None:
    """One heart rate of ``bpm`` every ``step_s`` from ``start_s`` until ``end_s``."""
    t = start_s
    while t < end_s:
        replay.feed(t, "hr", bpm)
        t += step_s


def test_stressed_stretches_hours_apart_do_not_add_up_to_the_hour_taken_as_rest() -> None:
    """Two 40-minute stressed stretches three hours apart are two episodes, not an hour and
    twenty minutes of a wrong rest: neither is learnt as rest."""
    replay = Replay()
    heart_rate_every(replay, 0, 600, 1, 60.0)  # ten quiet minutes: the rest
    heart_rate_every(replay, 600, 3000, 1, 80.0)  # forty stressed minutes
    heart_rate_every(replay, 3000 + 3 * 3600, 5400 + 3 * 3600, 1, 80.0)  # three hours later
    assert replay.engine.get("alex", "hr_delta_rest").value == pytest.approx(20.0, abs=0.5)


def test_a_watch_reporting_every_15_minutes_has_its_stressed_rest_learnt_after_an_hour() -> None:
    """The hour is of the clock: with one heart rate every 15 minutes, the fifth stressed
    reading (an hour after the first) is learnt as rest, not the sixty-first (15 hours)."""
    replay = Replay(SignalsConfig.model_validate({"stale_after": "20min"}))
    heart_rate_every(replay, 0, 6 * 900, 900, 60.0)  # six readings at rest: provisional
    heart_rate_every(replay, 6 * 900, 12 * 900, 900, 80.0)  # 75 minutes of stressed rest
    delta = replay.engine.get("alex", "hr_delta_rest").value
    assert isinstance(delta, float) and delta < 19.0  # the readings from the hour on count


@pytest.mark.parametrize(("stale_after", "learnt"), [(None, False), ("6min", True)])
def test_a_watch_s_raised_rest_is_learnt_only_with_a_stale_after_over_its_interval(
    stale_after: str | None, learnt: bool
) -> None:
    """Without it the heart rate is unknown between samples five minutes apart, as with the
    watch off: each stressed sample is a stretch of its own and never an hour long (the
    sensor warns to give it a stale_after)."""
    replay = Replay(
        SignalsConfig.model_validate({} if stale_after is None else {"stale_after": stale_after})
    )
    heart_rate_every(replay, 0, 6 * 300, 300, 60.0)  # six samples at rest: provisional
    heart_rate_every(replay, 6 * 300, 6 * 300 + 3 * 3600, 300, 80.0)  # three hours up
    delta = replay.engine.get("alex", "hr_delta_rest").value
    assert isinstance(delta, float) and (delta < 19.0) is learnt


def test_a_walk_between_two_stressed_sittings_makes_them_two_episodes() -> None:
    """Forty stressed minutes, a walk, forty more: not an hour and twenty minutes of a wrong
    rest, so neither sitting is learnt as rest."""
    replay = Replay()
    heart_rate_every(replay, 0, 600, 1, 60.0)  # ten quiet minutes: the rest
    heart_rate_every(replay, 600, 3000, 1, 80.0)  # forty stressed minutes
    for minute in range(5):  # a five-minute walk, 120 steps a minute
        replay.feed(3000.0 + 60 * minute, "steps", 120.0 * minute)
        heart_rate_every(replay, 3000 + 60 * minute, 3060 + 60 * minute, 1, 95.0)
    assert replay.engine.get("alex", "activity_state").value == "active"
    heart_rate_every(replay, 3300, 3300 + 3600, 1, 80.0)  # an hour sitting again
    assert replay.engine.get("alex", "activity_state").value == "rest"
    # The second sitting's last minutes are past its own hour; its first 40 are not learnt.
    assert replay.engine.get("alex", "hr_delta_rest").value == pytest.approx(20.0, abs=1.0)


def test_a_batch_s_samples_weigh_in_the_stress_score_for_their_own_times() -> None:
    """A watch's upload of two samples 5 minutes apart (64 then 112 bpm, its sensor's
    stale_after 6min) reaching the engine together, a few seconds after the second: the
    112 weighs for the 5 minutes since the 64, as when each sample comes at its own time,
    not for the no time between their arrivals (which left the score near rest)."""
    config = SignalsConfig.model_validate({"stale_after": "6min"})
    live = Replay(config)
    live.feed(0.0, "hr", 64.0)
    live.feed(300.0, "hr", 112.0)
    live_score = live.engine.get("alex", "stress_score").value
    assert isinstance(live_score, float) and live_score > 90.0
    batch = Replay(config)
    late(batch, 305.0, 0.0, "hr", 64.0)
    late(batch, 305.0, 300.0, "hr", 112.0)
    assert batch.engine.get("alex", "stress_score").value == live_score


@pytest.mark.parametrize("moving", [False, True])
def test_a_held_heart_rate_is_no_new_evidence_for_the_stress_score(moving: bool) -> None:
    """A watch's first sample after a start, 100 bpm (z 3.75), held for its stale_after of
    6min: it weighs for a second and reads near rest, whether or not the watch's movement
    comes every second meanwhile. Each movement reading's update weighed the held heart rate
    again for the second since the last, so with movement the one sample read above 90 a
    minute later and fired a one-minute rule on it."""
    replay = Replay(SignalsConfig.model_validate({"stale_after": "6min"}))
    replay.feed(0.0, "hr", 100.0)
    first = replay.engine.get("alex", "stress_score").value
    assert isinstance(first, float) and first < 20.0
    for t in range(1, 121):
        if moving:
            replay.feed(float(t), "movement", 0.01)
        else:
            replay.clock.advance_to(float(t))
    assert replay.engine.get("alex", "stress_score").value == first


def test_a_watch_s_next_sample_stands_for_its_interval_though_movement_came_between() -> None:
    """64 bpm, then 112 five minutes later (stale_after 6min), the watch's movement every
    second between: the 112 weighs for the 5 minutes since the 64, as without movement. The
    movement readings' updates had moved the average's time on, so the 112 weighed for one
    second and the score stayed near rest for a minute."""
    replay = Replay(SignalsConfig.model_validate({"stale_after": "6min"}))
    replay.feed(0.0, "hr", 64.0)
    for t in range(1, 300):
        replay.feed(float(t), "movement", 0.01)
    replay.feed(300.0, "hr", 112.0)
    score = replay.engine.get("alex", "stress_score").value
    assert isinstance(score, float) and score > 90.0


#: The numbers of the signals config an update reads (copied once into plain attributes: a
#: config model's are dear to read at every update), none its default and no two alike: each
#: test below tells one from the published signals, so none may be another's or a default.
NUMBERS = SignalsConfig(
    stale_after=12.0,
    rr_gap=4.0,
    min_pairs=17,
    min_cleanliness=0.55,
    min_quality=0.35,
    stress=StressConfig(hrv_weight=0.3, midpoint=1.2, scale=0.7),
    activity=ActivityConfig(hr_reserve=0.45, sensor_valid_for=100.0, hold_off=600.0),
)
#: With a rest of 60 bpm known, the HR reserve starts at 76 bpm (the prior's 2 SD up) to 160.
RESTING_60 = [PersonConfig(id="alex", resting_hr=60.0, max_hr=160.0)]


def numbers(**stress: float) -> SignalsConfig:
    """NUMBERS with other numbers of the stress score."""
    return NUMBERS.model_copy(update={"stress": NUMBERS.stress.model_copy(update=stress)})


def real_beats_under(config: SignalsConfig, rr_ms: list[float] | None = None) -> Replay:
    """``rr_ms``, by default the first 300 real NN intervals (4.4 minutes), replayed under
    ``config``."""
    replay = Replay(config)
    replay.beats(timed(rr_ms if rr_ms is not None else load_nn("5min")[:300]))
    return replay


def test_a_heart_rate_goes_stale_after_the_configs_stale_after() -> None:
    replay = Replay(NUMBERS)
    replay.feed(0.0, "hr", 70.0)
    replay.clock.advance_to(12.0)
    assert replay.engine.get("alex", "hr").value == 70.0
    replay.clock.advance_to(12.5)
    assert replay.engine.get("alex", "hr").reason == "stale"


def test_beats_held_for_look_ahead_are_let_out_after_the_configs_rr_gap() -> None:
    """The last beats wait for the next to be cleaned, until the stream has paused rr_gap."""
    replay = real_beats_under(NUMBERS, load_nn("5min")[:100])
    last = replay.clock.now()
    pairs = []
    for pause in (0.5, 3.9, 4.1):
        replay.clock.advance_to(last + pause)
        pairs.append(replay.engine.get("alex", "hrv_pairs").value)
    assert pairs[0] == pairs[1] != pairs[2]


def test_hrv_is_told_from_the_configs_min_pairs_and_min_quality() -> None:
    replay = real_beats_under(NUMBERS)
    latest: dict[str, SignalValue] = {}
    told: list[tuple[int, float, str | None]] = []
    for update in replay.updates:  # each update holds the signals that changed
        latest.update(update.values)
        pairs, quality = latest["hrv_pairs"].value, latest["quality"].value
        assert isinstance(pairs, int) and isinstance(quality, float)
        told.append((pairs, quality, latest["ln_rmssd"].reason))
    for pairs, quality, reason in told:
        if pairs < 17:
            assert reason == "too few beat pairs", (pairs, quality)
        elif quality < 0.35:
            assert reason == "poor signal quality", (pairs, quality)
        else:
            assert reason is None, (pairs, quality)
    # the data try each number: pairs a default's 20 would call too few, quality 0.55 poor
    assert any(17 <= pairs < 20 for pairs, _, _ in told)
    assert any(0.35 <= quality < 0.55 for _, quality, _ in told)


def test_hrv_of_beats_corrected_too_often_is_poor_by_the_configs_min_cleanliness() -> None:
    """Some beats wrong (missed, extra, ectopic) and corrected: their HRV is poor where
    min_cleanliness asks 90 % of a window's beats as measured, more often than at 55 %."""
    beats = inject_artifacts(load_nn("5min")[:300], 0.15, seed=1)

    def poor(config: SignalsConfig) -> int:
        replay = real_beats_under(config, beats)
        told = [u.values["ln_rmssd"].reason for u in replay.updates if "ln_rmssd" in u.values]
        return told.count("poor signal quality")

    assert poor(NUMBERS.model_copy(update={"min_cleanliness": 0.9})) > poor(NUMBERS)


def combined_z(score: object, config: SignalsConfig) -> float:
    """The combined z a stress score was worked out from, by the config's formula."""
    assert isinstance(score, float) and 0.0 < score < 100.0
    return config.stress.midpoint + config.stress.scale * math.log(score / (100.0 - score))


def test_the_stress_score_is_the_configs_logistic_of_the_evidence() -> None:
    """85 bpm for 200 s, heart rate alone: the same evidence under the config's midpoint and
    scale as under the defaults, read back from each score by its own config's formula."""
    finals = []
    for config in (NUMBERS, SignalsConfig()):
        replay = Replay(config)
        for second in range(200):
            replay.feed(float(second), "hr", 85.0)
        finals.append(combined_z(replay.engine.get("alex", "stress_score").value, config))
    assert finals[0] == pytest.approx(finals[1], abs=0.01)  # (scores are told to 0.1)


def test_the_stress_score_weighs_hrv_by_the_configs_hrv_weight() -> None:
    """HRV's z alone (weight 1), heart rate's alone (0), and the config's 0.3 between them."""
    evidence = {}
    for weight in (0.0, 1.0, 0.3):
        config = numbers(hrv_weight=weight)
        replay = real_beats_under(config)
        evidence[weight] = combined_z(replay.engine.get("alex", "stress_score").value, config)
    hrv, hr = evidence[1.0], evidence[0.0]
    assert hrv != pytest.approx(hr, abs=0.5)  # the weight makes a difference
    expected = (0.3 * hrv + 0.7 * hr) / math.sqrt(0.3**2 + 0.7**2)
    assert evidence[0.3] == pytest.approx(expected, abs=0.02)


def activity_states(replay: Replay, heart_rates: list[float], at: list[int]) -> list[object]:
    """The activity state at each of ``at`` seconds, a heart rate fed every second."""
    states: dict[int, object] = {}
    for second, hr in enumerate(heart_rates):
        replay.feed(float(second), "hr", hr)
        states[second] = replay.engine.get("alex", "activity_state").value
    return [states[second] for second in at]


def test_activity_is_told_by_the_configs_hr_reserve_and_hold_off() -> None:
    """112 bpm (43 % of the reserve) a minute, 118 (50 %) a minute, then 70: active only from
    45 %, and recovering for 600 s after the heart rate's 30 s average fell under it."""
    heart_rates = [112.0] * 60 + [118.0] * 60 + [70.0] * 700
    states = activity_states(Replay(NUMBERS, RESTING_60), heart_rates, [55, 70, 130, 700, 750])
    assert states == ["rest", "active", "recovering", "recovering", "rest"]


def test_an_activity_sensor_decides_for_the_configs_sensor_valid_for() -> None:
    """A sensor said still at 0 s: for 100 s it knows better than a heart rate of 118."""
    replay = Replay(NUMBERS, RESTING_60)
    replay.feed(0.0, "activity", 0.0)
    assert activity_states(replay, [118.0] * 110, [99, 101]) == ["rest", "active"]
