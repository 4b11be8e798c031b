"""Check-ins on the virtual clock: asked after a measured episode, at most `per_day` a day,
never in quiet hours or while paused, closed after the timeout; answers reach the episode and
the learner; open questions outlive a restart; the daily mood nudges the day's options.

The ways of asking here are a list the test reads (a stand-in for the notification and the
MQTT question, which tests/interventions/test_checkins_homeassistant.py and
test_checkins_mqtt.py run against the real Home Assistant and Mosquitto)."""

from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ambient.clock import VirtualClock
from ambient.config.check_ins import CheckInsConfig
from ambient.config.rules import QuietHoursConfig
from ambient.connections.errors import NotConnected
from ambient.interventions.checkin_book import ANSWERED, TIMED_OUT, CheckInBook
from ambient.interventions.checkins import CheckIns, Question, action_id, parse_action
from ambient.interventions.episodes import EpisodeBook
from ambient.interventions.learner import CHECKIN_WEIGHT, PRIORS
from ambient.interventions.mood import MOOD_WEIGHT, Moods
from ambient.interventions.recorder import EpisodeRecorder
from ambient.privacy.data_classes import data_classes
from ambient.privacy.export import collect
from ambient.privacy.forget import forget_store
from ambient.store import Store

T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC
MEASURED_AFTER_S = 1200.0
UTC = ZoneInfo("UTC")


class Household:
    """The episode book, recorder and check-ins on one clock and store."""

    def __init__(
        self,
        store: Store,
        clock: VirtualClock,
        global_quiet: QuietHoursConfig | None = None,
        paused: bool = False,
        **settings: object,
    ) -> None:
        self.clock = clock
        self.episodes = EpisodeBook(store)
        self.recorder = EpisodeRecorder(clock, self.episodes)
        self.book = CheckInBook(store)
        self.checkins = CheckIns(
            CheckInsConfig.model_validate(settings),
            global_quiet,
            clock,
            UTC,
            self.episodes,
            self.recorder,
            self.book,
            names={"alex": "Alex"},
            paused=lambda: paused,
        )
        self.recorder.measured_listeners.append(self.checkins.on_measured)
        self.asked: list[Question] = []
        self.withdrawn: list[Question] = []
        self.checkins.askers["alex"] = [self._ask]
        self.checkins.withdrawers["alex"] = [self._withdraw]

    async def _ask(self, question: Question) -> None:
        self.asked.append(question)

    async def _withdraw(self, question: Question) -> None:
        self.withdrawn.append(question)

    async def episode(self, at: float, option: str = "box") -> int:
        """An episode started ``at``, measured 20 minutes on (the clock is run there)."""
        await self.clock.run_until(at)
        episode = self.recorder.start("alex", "calm", option, PRIORS["breathing"], {})
        await self.clock.run_until(at + MEASURED_AFTER_S)
        return episode

    def check_in_of(self, episode: int) -> str | None:
        return next(e.check_in for e in self.episodes.episodes() if e.id == episode)


async def test_a_measured_episode_is_asked_about_and_the_answer_reaches_it() -> None:
    h = Household(Store(None), VirtualClock(T0))
    episode = await h.episode(T0 + 60)
    (question,) = h.asked
    assert (question.episode_id, question.person, question.option) == (episode, "alex", "box")
    assert question.text == "How do you feel after the box?"
    before = h.episodes.beliefs("alex", "calm")["box"]

    assert h.checkins.answer(None, "CALMER", episode, "notification")
    assert h.check_in_of(episode) == "calmer"
    after = h.episodes.beliefs("alex", "calm")["box"]
    assert after.weight == pytest.approx(before.weight + CHECKIN_WEIGHT)
    assert after.mean > before.mean
    (row,) = h.book.rows("alex", "episode")
    assert (row.status, row.answer, row.source) == (ANSWERED, "calmer", "notification")
    assert not h.checkins.answer("alex", "worse", None, "mqtt")  # answered already
    assert h.checkins.status()["answered"] == 1


async def test_at_most_per_day_questions_a_day() -> None:
    h = Household(Store(None), VirtualClock(T0), per_day=2)
    for hour in (1, 3, 5):
        await h.episode(T0 + hour * 3600)
    assert len(h.asked) == 2
    assert h.checkins.status()["not_asked_cap"] == 1
    await h.episode(T0 + 86_400)  # the next day
    assert len(h.asked) == 3


@pytest.mark.parametrize(
    ("global_quiet", "own_quiet", "paused"),
    [
        (QuietHoursConfig(start="08:00", end="09:00"), None, False),
        (None, {"start": "07:30", "end": "08:30"}, False),
        (None, None, True),
    ],
    ids=["global quiet hours", "the check-ins' quiet hours", "paused"],
)
async def test_never_asked_in_quiet_hours_or_while_paused(
    global_quiet: QuietHoursConfig | None, own_quiet: dict[str, str] | None, paused: bool
) -> None:
    settings = {"quiet_hours": own_quiet} if own_quiet else {}
    h = Household(Store(None), VirtualClock(T0), global_quiet, paused, **settings)
    await h.episode(T0)  # measured at 08:20
    assert h.asked == []
    assert h.checkins.status()["not_asked_quiet"] == 1


async def test_an_unanswered_question_closes_after_the_timeout_and_is_withdrawn() -> None:
    h = Household(Store(None), VirtualClock(T0), timeout="30min")
    episode = await h.episode(T0)
    await h.clock.run_until(T0 + MEASURED_AFTER_S + 1799)
    assert h.withdrawn == []
    await h.clock.run_until(T0 + MEASURED_AFTER_S + 1800)
    assert [q.episode_id for q in h.withdrawn] == [episode]
    (row,) = h.book.rows("alex", "episode")
    assert (row.status, row.answer) == (TIMED_OUT, None)
    assert not h.checkins.answer(None, "calmer", episode, "notification")
    assert h.check_in_of(episode) is None
    counts = {
        "asked": 1,
        "answered": 0,
        "timed_out": 1,
        "late": 1,
        "not_asked_cap": 0,
        "not_asked_quiet": 0,
        "not_recorded": 0,
    }
    assert h.checkins.status() == {**counts, "people": {"alex": counts}}


async def test_a_timeout_the_store_cannot_keep_is_one_line_and_the_question_still_withdrawn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A full or read-only card when a question times out: the timer's callback raised, and the
    only line was "Timer callback … failed: StoreError: …", naming no one and no episode. Now
    it is one line saying whose question closing was not recorded, counted as `not_recorded`;
    the question is taken down all the same. query_only stands in for the card."""
    store = Store(tmp_path / "ambient.db")
    h = Household(store, VirtualClock(T0), timeout="30min")
    episode = await h.episode(T0)
    store.query("PRAGMA query_only = ON")  # the card refuses every write from now on

    await h.clock.run_until(T0 + MEASURED_AFTER_S + 1800)

    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert lines == [
        f"Closing alex's unanswered check-in about episode {episode} (timeout) not recorded: "
        f"store {tmp_path / 'ambient.db'} cannot be used (attempt to write a readonly database)"
    ]
    assert h.clock.failed_callbacks == 0
    assert [q.episode_id for q in h.withdrawn] == [episode]
    assert h.checkins.counts["not_recorded"] == 1
    assert h.checkins.counts["timed_out"] == 0


async def test_a_card_refusing_every_mood_is_one_line_until_an_answer_is_recorded_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """On a full card each mood and check-in answer was an error line of its own, for as
    long as it stayed full. The first is said, the next at DEBUG (each still counted), and
    one line once an answer goes in again. query_only stands in for the card."""
    store = Store(tmp_path / "ambient.db")
    h = Household(store, VirtualClock(T0))
    moods = Moods(h.clock, UTC, h.episodes, h.book, h.checkins.not_recorded)
    episode = await h.episode(T0)
    store.query("PRAGMA query_only = ON")  # the card refuses every write from now on
    with caplog.at_level(logging.DEBUG, logger="ambient.interventions.checkins"):
        for _mood in range(3):
            assert not moods.give("alex", "good", "homeassistant")
    levels = [r.levelno for r in caplog.records if r.name == "ambient.interventions.checkins"]
    assert levels == [logging.ERROR, logging.DEBUG, logging.DEBUG]
    assert h.checkins.counts["not_recorded"] == 3
    store.query("PRAGMA query_only = OFF")  # room again
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ambient.interventions.checkins"):
        assert h.checkins.answer(None, "calmer", episode, "notification")
    assert (logging.INFO, "Check-in answers and moods are recorded again") in [
        (r.levelno, r.getMessage()) for r in caplog.records
    ]


async def test_an_answer_the_store_could_not_keep_is_written_when_the_next_question_comes(
    tmp_path: Path,
) -> None:
    """Its question stayed open in the store, so the next question closed it "superseded" and
    counted it timed out, though the person had answered. Now the answer is written then
    (the card takes writes again), and counted once, as not recorded when given."""
    store = Store(tmp_path / "ambient.db")
    h = Household(store, VirtualClock(T0))
    older = await h.episode(T0)
    store.query("PRAGMA query_only = ON")  # the card refuses every write for a while
    assert h.checkins.answer(None, "calmer", older, "notification")
    store.query("PRAGMA query_only = OFF")

    newer = await h.episode(T0 + 1500)  # asked while the older question is still open

    assert [(q.episode_id, q.closed) for q in h.withdrawn] == [(older, "answered")]
    rows = {row.episode_id: (row.status, row.answer, row.source) for row in h.book.rows()}
    assert rows == {older: (ANSWERED, "calmer", "notification"), newer: ("asked", None, None)}
    assert h.check_in_of(older) == "calmer"
    counts = h.checkins.counts
    assert (counts["answered"], counts["timed_out"], counts["not_recorded"]) == (0, 0, 1)


async def test_an_answer_the_store_could_not_keep_is_written_at_its_questions_timeout(
    tmp_path: Path,
) -> None:
    """Refused when given, it waited in memory for the next question, a reload or a stop: for
    a day or more the question read open in the store (`ambient insights`), the learner had
    not heard it, and a power cut meanwhile lost it, the next run timing the question out as
    unanswered. It is now written at the question's timeout, once the card takes writes."""
    store = Store(tmp_path / "ambient.db")
    h = Household(store, VirtualClock(T0), timeout="30min")
    episode = await h.episode(T0)
    store.query("PRAGMA query_only = ON")  # the card refuses every write for a while
    assert h.checkins.answer(None, "worse", episode, "notification")
    store.query("PRAGMA query_only = OFF")  # space freed

    await h.clock.run_until(T0 + MEASURED_AFTER_S + 1800)

    (row,) = h.book.rows("alex", "episode")
    assert (row.status, row.answer, row.source) == (ANSWERED, "worse", "notification")
    assert h.check_in_of(episode) == "worse"
    counts = h.checkins.counts
    assert (counts["answered"], counts["timed_out"], counts["not_recorded"]) == (0, 0, 1)
    assert [(q.episode_id, q.closed) for q in h.withdrawn] == [(episode, "answered")]


async def test_an_answer_written_late_teaches_once_whatever_tries_it_again(
    tmp_path: Path,
) -> None:
    """Refused when given and written at the question's timeout: the same tap heard again
    (HA's event and the blueprint's MQTT), a stop and a next question find it written, and
    none writes it or nudges the belief a second time."""
    store = Store(tmp_path / "ambient.db")
    h = Household(store, VirtualClock(T0), timeout="30min")
    episode = await h.episode(T0)
    before = h.episodes.beliefs("alex", "calm")["box"]
    store.query("PRAGMA query_only = ON")
    assert h.checkins.answer(None, "calmer", episode, "notification")
    store.query("PRAGMA query_only = OFF")
    await h.clock.run_until(T0 + MEASURED_AFTER_S + 1800)

    assert not h.checkins.answer(None, "calmer", episode, "mqtt")
    await h.episode(T0 + 3 * 3600)
    h.checkins.close()

    after = h.episodes.beliefs("alex", "calm")["box"]
    assert after.weight == pytest.approx(before.weight + CHECKIN_WEIGHT)
    rows = [(r.episode_id, r.status, r.answer, r.source) for r in h.book.rows("alex")]
    assert rows[0] == (episode, ANSWERED, "calmer", "notification")
    assert h.checkins.counts["late"] == 0


async def test_an_answer_the_store_still_refuses_at_the_timeout_is_tried_a_timeout_later(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "ambient.db")
    h = Household(store, VirtualClock(T0), timeout="30min")
    episode = await h.episode(T0)
    store.query("PRAGMA query_only = ON")
    assert h.checkins.answer(None, "calmer", episode, "notification")
    await h.clock.run_until(T0 + MEASURED_AFTER_S + 1800)  # refused again at the timeout
    store.query("PRAGMA query_only = OFF")

    await h.clock.run_until(T0 + MEASURED_AFTER_S + 3600)

    (row,) = h.book.rows("alex", "episode")
    assert (row.status, row.answer) == (ANSWERED, "calmer")
    assert h.checkins.counts["timed_out"] == 0


async def test_an_answer_the_store_could_not_keep_is_written_at_a_reload(
    tmp_path: Path,
) -> None:
    """The next run read the question as open and timed it out as unanswered."""
    store = Store(tmp_path / "ambient.db")
    h = Household(store, VirtualClock(T0))
    await h.episode(T0)
    store.query("PRAGMA query_only = ON")
    assert h.checkins.answer("alex", "same", None, "mqtt")
    store.query("PRAGMA query_only = OFF")

    h.checkins.close()  # a reload
    again = Household(store, VirtualClock(T0 + 7200))
    again.checkins.resume()

    (row,) = again.book.rows("alex")
    assert (row.status, row.answer) == (ANSWERED, "same")
    assert again.checkins.counts["timed_out"] == 0


async def test_a_question_closed_at_its_timeout_but_not_recorded_takes_no_answer_after(
    tmp_path: Path,
) -> None:
    """Its closing could not be written, so the store still holds it open; an answer after the
    timeout (a notification tapped late, the card writable again) was taken as the episode's
    answer, where a question whose closing was kept counts it late."""
    store = Store(tmp_path / "ambient.db")
    h = Household(store, VirtualClock(T0), timeout="30min")
    episode = await h.episode(T0)
    store.query("PRAGMA query_only = ON")  # the card refuses every write
    await h.clock.run_until(T0 + MEASURED_AFTER_S + 1800)
    store.query("PRAGMA query_only = OFF")  # space freed

    assert not h.checkins.answer(None, "calmer", episode, "notification")
    assert h.check_in_of(episode) is None
    assert (h.checkins.counts["answered"], h.checkins.counts["late"]) == (0, 1)


async def test_a_timeout_the_store_could_not_keep_is_written_when_the_next_question_comes(
    tmp_path: Path,
) -> None:
    """Its closing was refused, so the store held the question open (`ambient insights`: 1
    open) until the next start, though later questions were asked and closed meanwhile."""
    store = Store(tmp_path / "ambient.db")
    h = Household(store, VirtualClock(T0), timeout="30min")
    older = await h.episode(T0)
    store.query("PRAGMA query_only = ON")  # the card refuses every write at the timeout
    await h.clock.run_until(T0 + MEASURED_AFTER_S + 1800)
    store.query("PRAGMA query_only = OFF")  # space freed

    newer = await h.episode(T0 + 3 * 3600)

    rows = {row.episode_id: (row.status, row.source) for row in h.book.rows()}
    assert rows == {older: (TIMED_OUT, "timeout"), newer: ("asked", None)}
    assert h.checkins.counts["timed_out"] == 0  # counted as not recorded when it happened


async def test_the_counts_are_kept_per_person_beside_the_households_total() -> None:
    """`ambient status` summed every person's check-ins: whether Sam is ever asked (or always
    in quiet hours) could not be told from Alex's answers."""
    h = Household(Store(None), VirtualClock(T0), per_day=1)
    h.checkins.askers["sam"] = [h._ask]
    alex = await h.episode(T0)
    await h.episode(T0 + 3600)  # over Alex's daily cap
    await h.clock.run_until(T0 + 7200)
    sam = h.recorder.start("sam", "calm", "box", PRIORS["breathing"], {})
    await h.clock.run_until(T0 + 7200 + MEASURED_AFTER_S)
    assert h.checkins.answer(None, "calmer", sam, "notification")
    assert not h.checkins.answer(None, "calmer", alex, "notification")  # closed: late

    status = h.checkins.status()

    zero = dict.fromkeys(
        ("answered", "timed_out", "late", "not_asked_cap", "not_asked_quiet", "not_recorded"), 0
    )
    assert status["people"] == {
        "alex": {**zero, "asked": 1, "timed_out": 1, "late": 1, "not_asked_cap": 1},
        "sam": {**zero, "asked": 1, "answered": 1},
    }
    assert {k: v for k, v in status.items() if k != "people"} == {
        **zero,
        "asked": 2,
        "answered": 1,
        "timed_out": 1,
        "late": 1,
        "not_asked_cap": 1,
    }


async def test_open_questions_outlive_a_restart(tmp_path: Path) -> None:
    async def back_at_47_minutes(folder: Path) -> tuple[Household, int]:
        """A question asked at T0 + 20 min, the daemon stopped, and back at T0 + 47 min."""
        store = Store(folder / "state.db")
        episode = await Household(store, VirtualClock(T0)).episode(T0)
        store.close()
        again = Household(Store(folder / "state.db"), VirtualClock(T0 + 2820))
        again.checkins.resume()
        return again, episode

    # Still open: it can be answered until T0 + 50 min, 30 minutes after it was asked ...
    (tmp_path / "answered").mkdir()
    (tmp_path / "unanswered").mkdir()
    answered, episode = await back_at_47_minutes(tmp_path / "answered")
    await answered.clock.run_until(T0 + 2999)
    assert answered.checkins.answer("alex", "same", None, "mqtt")
    assert answered.check_in_of(episode) == "same"

    # ... and then it closes, on the timer the restart set again.
    unanswered, episode = await back_at_47_minutes(tmp_path / "unanswered")
    await unanswered.clock.run_until(T0 + 2999)
    assert [row.status for row in unanswered.book.rows("alex")] == ["asked"]
    await unanswered.clock.run_until(T0 + 3000)
    assert [row.status for row in unanswered.book.rows("alex")] == [TIMED_OUT]
    assert [q.episode_id for q in unanswered.withdrawn] == [episode]


async def test_an_open_question_resumed_on_a_clock_still_behind_closes_at_its_timeout(
    tmp_path: Path,
) -> None:
    """Back at T0 + 30 min on a Raspberry Pi whose clock boots an hour behind until NTP steps
    it a minute later: the timeout was set 80 minutes of elapsed time away, so the question
    stayed open (and answerable) for an hour past its timeout."""
    store = Store(tmp_path / "state.db")
    episode = await Household(store, VirtualClock(T0)).episode(T0)
    store.close()
    booted = VirtualClock(T0 + 1800 - 3600, wall_check_s=60.0)
    again = Household(Store(tmp_path / "state.db"), booted)
    again.checkins.resume()
    await booted.run_until(booted.now() + 60)
    booted.step(3600.0)  # NTP

    await booted.run_until(T0 + MEASURED_AFTER_S + 1800 + 60)
    assert [row.status for row in again.book.rows("alex")] == [TIMED_OUT]
    assert [q.episode_id for q in again.withdrawn] == [episode]


@pytest.mark.parametrize("resumed", [False, True])
async def test_a_clock_stepped_forward_never_times_a_question_out_early(
    tmp_path: Path, resumed: bool
) -> None:
    """NTP steps the clock an hour on five minutes after the question was asked (a Pi that
    booted behind), in the run that asked it or in one resumed after a restart on a clock
    still behind: the question stays open for its 30 minutes, however the clock shows them."""
    path = tmp_path / "state.db"
    asked = VirtualClock(T0 - 3600 if resumed else T0, wall_check_s=60.0)
    h = Household(Store(path), asked, timeout="30min")
    episode = await h.episode(asked.now())
    behind = asked.now()
    if resumed:  # restarted two minutes on, its clock still an hour behind
        h = Household(Store(path), VirtualClock(behind + 120, wall_check_s=60.0), timeout="30min")
        h.checkins.resume()
    clock = h.clock
    await clock.run_until(behind + 300)
    clock.step(3600.0)  # NTP

    await clock.run_until(behind + 3600 + 1800 - 60)
    assert [row.status for row in h.book.rows("alex")] == ["asked"]
    await clock.run_until(behind + 3600 + 1800 + 60)
    assert [row.status for row in h.book.rows("alex")] == [TIMED_OUT]
    assert [q.episode_id for q in h.withdrawn] == [episode]


async def test_an_answered_question_is_withdrawn_from_every_device() -> None:
    """Answered on MQTT (an HA button, the blueprint) the question left on the phone went on
    asking; answered by a tap on one device of a notify group (phone and tablet), it went on
    asking on the others. The device tapped has dismissed it already (a clear is silent)."""
    h = Household(Store(None), VirtualClock(T0))
    by_mqtt = await h.episode(T0)
    assert h.checkins.answer("alex", "same", by_mqtt, "mqtt")
    by_phone = await h.episode(T0 + 3600)
    assert h.checkins.answer(None, "calmer", by_phone, "notification")
    await h.clock.run_until(T0 + 3600 + MEASURED_AFTER_S + 1)
    assert [q.episode_id for q in h.withdrawn] == [by_mqtt, by_phone]


async def test_a_newer_question_closes_the_older_one_and_takes_it_off_the_phone() -> None:
    """Two questions open at once: a tap on the older one's buttons, whose text may be the
    same, said how the person felt after the older episode though they answered for now."""
    h = Household(Store(None), VirtualClock(T0))
    older = await h.episode(T0)  # asked at T0 + 20 min
    newer = await h.episode(T0 + 1500)  # asked at T0 + 45 min, the older still open
    assert [q.episode_id for q in h.asked] == [older, newer]
    assert [(q.episode_id, q.closed) for q in h.withdrawn] == [(older, "superseded")]
    statuses = {row.episode_id: (row.status, row.source) for row in h.book.rows("alex")}
    assert statuses == {older: (TIMED_OUT, "superseded"), newer: ("asked", None)}
    assert not h.checkins.answer(None, "calmer", older, "notification")
    assert h.checkins.answer(None, "same", newer, "notification")
    assert (h.check_in_of(older), h.check_in_of(newer)) == (None, "same")


async def test_a_question_ha_takes_only_in_quiet_hours_is_not_sent() -> None:
    """Asked at 08:20, HA back at 08:31, quiet hours from 08:30: the retry would buzz the
    phone in the quiet hours the question was asked before."""
    h = Household(Store(None), VirtualClock(T0), quiet_hours={"start": "08:30", "end": "12:00"})
    sent: list[float] = []

    async def ask_when_connected(question: Question) -> None:
        if h.clock.now() < T0 + 31 * 60:
            raise NotConnected("Home Assistant is not connected (disconnected)")
        sent.append(h.clock.now())

    h.checkins.askers["alex"] = [ask_when_connected]
    await h.episode(T0)
    await h.clock.run_until(T0 + 3600)
    assert sent == []
    assert h.checkins.status()["asked"] == 1  # asked, closed unanswered at its timeout
    assert [row.status for row in h.book.rows("alex")] == [TIMED_OUT]


async def test_an_answer_heard_both_ways_counts_once_and_is_not_late() -> None:
    """With an administrator's token and the blueprint both, each tap arrives twice (HA's event
    and MQTT): the second copy was counted as a late answer, one per check-in answered."""
    h = Household(Store(None), VirtualClock(T0))
    episode = await h.episode(T0)
    assert h.checkins.answer(None, "calmer", episode, "notification")
    assert not h.checkins.answer(None, "calmer", episode, "mqtt")
    assert h.check_in_of(episode) == "calmer"
    assert (h.checkins.status()["answered"], h.checkins.status()["late"]) == (1, 0)
    await h.clock.run_until(T0 + MEASURED_AFTER_S + 3600)
    assert not h.checkins.answer(None, "calmer", episode, "mqtt")  # a tap after it closed
    assert h.checkins.status()["late"] == 0  # answered in time: still not late


async def test_a_withdrawal_waits_for_home_assistant_to_connect(tmp_path: Path) -> None:
    """At start the questions a previous run left open past their timeout are closed before HA
    is connected: their withdrawal is tried again until it is (else they stay on the phone)."""
    store = Store(tmp_path / "state.db")
    first = Household(store, VirtualClock(T0))
    episode = await first.episode(T0)
    store.close()

    store = Store(tmp_path / "state.db")
    again = Household(store, VirtualClock(T0 + 4 * 3600))
    refused: list[int] = []

    async def withdraw_once_connected(question: Question) -> None:
        if len(refused) < 3:  # HA connects about a minute and a half after the start
            refused.append(question.episode_id)
            raise NotConnected("Home Assistant is not connected (connecting)")
        again.withdrawn.append(question)

    again.checkins.withdrawers["alex"] = [withdraw_once_connected]
    again.checkins.resume()
    await again.clock.run_until(T0 + 4 * 3600 + 600)
    assert refused == [episode] * 3
    assert [q.episode_id for q in again.withdrawn] == [episode]


async def test_a_withdrawal_waits_for_home_assistant_also_while_the_store_refuses_writes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An answer on a full card while HA restarts: keeping the withdrawal as waiting raised
    in its task ("Task exception was never retrieved", a traceback) and nothing tried again,
    so the answered question stayed on the phone. It is now tried again until HA is back."""
    store = Store(tmp_path / "state.db")
    h = Household(store, VirtualClock(T0))
    episode = await h.episode(T0)
    refused: list[int] = []

    async def withdraw_once_connected(question: Question) -> None:
        if len(refused) < 3:
            refused.append(question.episode_id)
            raise NotConnected("Home Assistant is not connected (connecting)")
        h.withdrawn.append(question)

    h.checkins.withdrawers["alex"] = [withdraw_once_connected]
    store.query("PRAGMA query_only = ON")  # the card refuses every write
    assert h.checkins.answer(None, "calmer", episode, "mqtt")
    await h.clock.run_until(T0 + MEASURED_AFTER_S + 300)

    assert refused == [episode] * 3
    assert [(q.episode_id, q.closed) for q in h.withdrawn] == [(episode, "answered")]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith("Check-in answer of alex about episode")


async def test_sends_waiting_for_home_assistant_outlive_a_reload_and_a_restart(
    tmp_path: Path,
) -> None:
    """HA not connected: a question, and the withdrawal of the one it supersedes, wait to be
    sent again. A config reload (SIGHUP) or a restart cancelled those tries and dropped both:
    the new question was never asked, the closed one stayed on the phone."""

    async def not_connected(_question: Question) -> None:
        raise NotConnected("Home Assistant is not connected (connecting)")

    def household(store: Store, clock: VirtualClock, connected: bool) -> Household:
        h = Household(store, clock)
        if not connected:
            h.checkins.askers["alex"] = [not_connected]
            h.checkins.withdrawers["alex"] = [not_connected]
        return h

    store = Store(tmp_path / "state.db")
    clock = VirtualClock(T0)
    first = household(store, clock, connected=False)
    older = await first.episode(T0)  # asked at T0 + 20 min: waits
    newer = await first.episode(T0 + 1200)  # asked at T0 + 40 min: waits, the older's clear too
    await clock.run_until(T0 + 2460)
    first.checkins.close()  # SIGHUP: this config's tries end

    reloaded = household(store, clock, connected=False)
    reloaded.checkins.resume()
    await clock.run_until(T0 + 2520)
    reloaded.checkins.close()  # stopped, still not connected
    store.close()

    store = Store(tmp_path / "state.db")
    restarted = household(store, VirtualClock(T0 + 2600), connected=True)
    restarted.checkins.resume()
    await restarted.clock.run_until(T0 + 2601)
    assert [q.episode_id for q in restarted.asked] == [newer]  # not the closed older one
    assert restarted.asked[0].text == "How do you feel after the box?"
    assert [q.episode_id for q in restarted.withdrawn] == [older]
    restarted.checkins.close()

    again = household(store, VirtualClock(T0 + 2700), connected=True)
    again.checkins.resume()  # sent once: nothing waits any more
    await again.clock.run_until(T0 + 2701)
    assert (again.asked, again.withdrawn) == ([], [])


async def test_a_send_left_waiting_by_an_earlier_version_is_still_sent(tmp_path: Path) -> None:
    """Earlier versions kept with each waiting send the time it first failed (never read);
    such an entry is sent at start like any other, and is then gone."""
    store = Store(tmp_path / "state.db")
    first = Household(store, VirtualClock(T0))
    episode = await first.episode(T0)  # asked
    first.checkins.close()
    check_in = first.book.open_questions()[0].id
    store.put("check_in.unsent", f"{check_in}:ask:0", T0 + MEASURED_AFTER_S)

    again = Household(store, VirtualClock(T0 + 1300))
    again.checkins.resume()
    await again.clock.run_until(T0 + 1301)
    assert [q.episode_id for q in again.asked] == [episode]
    assert again.book.waiting() == []


async def test_a_mood_is_kept_and_nudges_the_options_measured_that_day() -> None:
    store = Store(None)
    h = Household(store, VirtualClock(T0))
    await h.episode(T0, option="box")
    await h.episode(T0 + 3600, option="music")
    before = h.episodes.beliefs("alex", "calm")
    moods = Moods(h.clock, UTC, h.episodes, h.book)

    assert moods.give("alex", " Good ", "homeassistant")
    after = h.episodes.beliefs("alex", "calm")
    for option in ("box", "music"):
        assert after[option].weight == pytest.approx(before[option].weight + MOOD_WEIGHT)
        assert after[option].mean > before[option].mean
    assert not moods.give("alex", "meh", "mqtt")  # kept, teaches nothing
    assert h.episodes.beliefs("alex", "calm") == after
    moods_kept = [(row.answer, row.source) for row in h.book.rows("alex", "mood")]
    assert moods_kept == [("good", "homeassistant"), ("meh", "mqtt")]


async def test_the_days_mood_is_its_latest_one_however_often_it_is_given() -> None:
    # An HA automation republishing the mood, or a mis-tap corrected, must not count twice.
    store = Store(None)
    h = Household(store, VirtualClock(T0))
    await h.episode(T0, option="box")
    before = h.episodes.beliefs("alex", "calm")["box"]
    moods = Moods(h.clock, UTC, h.episodes, h.book)

    for _ in range(3):
        assert moods.give("alex", "good", "mqtt")
    once = before.observe(0.5, MOOD_WEIGHT)
    after = h.episodes.beliefs("alex", "calm")["box"]
    assert (after.weight, after.mean) == pytest.approx((once.weight, once.mean))

    assert moods.give("alex", "bad", "homeassistant")
    corrected = before.observe(-0.5, MOOD_WEIGHT)
    after = h.episodes.beliefs("alex", "calm")["box"]
    assert (after.weight, after.kappa, after.mean) == pytest.approx(
        (corrected.weight, corrected.kappa, corrected.mean)
    )
    assert [row.answer for row in h.book.rows("alex", "mood")] == ["good"] * 3 + ["bad"]


def test_the_companion_app_action_names_the_episode_and_the_answer() -> None:
    assert action_id(12, "calmer") == "AMBIENT_CHECKIN_12_CALMER"
    assert parse_action("AMBIENT_CHECKIN_12_CALMER") == (12, "calmer")
    assert parse_action("AMBIENT_CHECKIN_12_ECSTATIC") is None
    assert parse_action("AMBIENT_CHECKIN_x_SAME") is None
    assert parse_action("ALARM") is None


def test_an_instance_other_than_the_default_names_itself_in_the_action() -> None:
    assert action_id(12, "calmer", "upstairs") == "AMBIENT_CHECKIN_upstairs_12_CALMER"
    assert action_id(12, "calmer", "ambient") == "AMBIENT_CHECKIN_12_CALMER"  # as before
    assert parse_action("AMBIENT_CHECKIN_upstairs_12_CALMER", "upstairs") == (12, "calmer")
    assert parse_action("AMBIENT_CHECKIN_flat_2_12_SAME", "flat_2") == (12, "same")
    assert parse_action("AMBIENT_CHECKIN_12_CALMER", "upstairs") is None  # the default's
    assert parse_action("AMBIENT_CHECKIN_upstairs_12_CALMER") is None  # upstairs'
    assert parse_action("AMBIENT_CHECKIN_2_12_CALMER", "upstairs") is None


async def test_two_instances_on_one_home_assistant_each_hear_only_their_own_buttons() -> None:
    """Both hear every button event, and each store numbers its episodes from 1: a tap on the
    second instance's question answered the first's episode 1 as well."""
    downstairs = Household(Store(None), VirtualClock(T0))
    upstairs = Household(Store(None), VirtualClock(T0))
    upstairs.checkins.instance = "upstairs"  # its config's `instance:`
    assert await downstairs.episode(T0) == await upstairs.episode(T0) == 1
    for tapped in (upstairs, downstairs):
        event = {"action": action_id(1, "calmer", tapped.checkins.instance)}
        downstairs.checkins.on_notification_action(event)
        upstairs.checkins.on_notification_action(event)
        assert tapped.check_in_of(1) == "calmer"
        if tapped is upstairs:
            assert downstairs.check_in_of(1) is None
    assert [h.checkins.status()["late"] for h in (downstairs, upstairs)] == [0, 0]


@pytest.mark.parametrize("episode", ["²", "9" * 5000, "1" * 19, ""])
def test_an_action_naming_no_possible_episode_is_no_one_elses_crash(episode: str) -> None:
    """Any app can fire the event: digits int() refuses ('²' is a digit to str.isdigit, and
    5,000 of them exceed int's limit) raised ValueError in the event handler."""
    assert parse_action(f"AMBIENT_CHECKIN_{episode}_CALMER") is None


def test_check_ins_are_exported_and_forgotten_with_the_person() -> None:
    store = Store(None)
    book = CheckInBook(store)
    book.mood("alex", "good", T0, "mqtt")
    asked = book.asked("alex", 7, T0)
    book.close(asked, ANSWERED, "calmer", T0 + 60, "notification")
    book.mood("sam", "bad", T0, "mqtt")
    (check_ins,) = [c for c in data_classes() if c.name == "check_ins"]
    assert check_ins.retention == "check_ins"

    exported = collect(store, "alex")["check_ins"][1]
    assert [(row["kind"], row["answer"]) for _t, row in exported] == [
        ("mood", "good"),
        ("episode", "calmer"),
    ]
    assert forget_store(store, "alex")["check_ins"] == 2
    assert [row.person for row in book.rows()] == ["sam"]


def test_a_message_naming_anything_but_option_and_name_is_a_config_problem() -> None:
    with pytest.raises(ValueError, match="option"):
        CheckInsConfig.model_validate({"message": "How was {mood}?"})


async def test_answers_and_moods_are_logged_only_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    """How someone feels is health data: at INFO the log says that an answer came, not what."""
    h = Household(Store(None), VirtualClock(T0))
    episode = await h.episode(T0 + 60)
    caplog.set_level(logging.INFO, logger="ambient.interventions")
    assert h.checkins.answer(None, "WORSE", episode, "notification")
    assert Moods(h.clock, UTC, h.episodes, h.book).give("alex", "bad", "mqtt")
    shown = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert any("answered the check-in" in message for message in shown)
    assert not [m for m in shown if "worse" in m.lower() or "bad" in m.lower()]
