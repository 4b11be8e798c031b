"""Asking, rarely, whether a calming episode helped: "calmer / same / worse".

When an episode has been measured, the person is asked (through the ways the config gives:
an actionable notification on the HA companion app, and/or a question on MQTT) unless they
were asked ``per_day`` times today already, it is quiet hours (the config's and the
check-ins' own), ambient is paused, or the episode is too old to remember. An answer, from
the notification's buttons or MQTT, goes to the episode and nudges the learner
(``EpisodeRecorder.check_in``); a question not answered within ``timeout``, or before the
person is asked about a later episode, is closed and counted. An answered or closed question
is withdrawn from the phone (from every device of a notify group, too). Open questions
survive a restart (the store), and are closed at start when overdue. While HA is not
connected (at start, or restarting) a question or withdrawal is tried again every ``RETRY_S``
for up to ``PATIENCE_S``; what still waits when the config reloads or the daemon stops is kept
in the store and sent by :meth:`CheckIns.resume`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from ambient.clock import Clock, TimerHandle
from ambient.config.check_ins import CheckInsConfig
from ambient.config.rules import QuietHoursConfig
from ambient.config.types import parse_time_of_day
from ambient.connections.retry import until_connected
from ambient.interventions.checkin_book import (
    ANSWERED,
    ASKED,
    TIMED_OUT,
    CheckInBook,
    CheckInRow,
)
from ambient.interventions.episodes import EpisodeBook, EpisodeRow
from ambient.interventions.learner import CHECKIN_RESPONSE_SD
from ambient.interventions.recorder import EpisodeRecorder
from ambient.interventions.response import AFTER_S
from ambient.rules.timeofday import in_window
from ambient.store import StoreError
from ambient.warn_once import WarnOnce

_LOGGER = logging.getLogger(__name__)

ANSWERS = tuple(CHECKIN_RESPONSE_SD)  # calmer, same, worse
#: An episode is measured this long after it started (the end of its after-span).
MEASURED_AFTER_S = AFTER_S[1]
#: The companion app's action ids: ``AMBIENT_CHECKIN_<episode>_<ANSWER>``, and for an instance
#: other than the default one ``AMBIENT_CHECKIN_<instance>_<episode>_<ANSWER>``: every ambient on
#: one HA hears every button, and episode numbers are per store.
ACTION_PREFIX = "AMBIENT_CHECKIN_"
#: The instance whose ids name none (those of the phones and blueprints of before).
DEFAULT_INSTANCE = "ambient"
#: HA not connected: a question (while still open) or a withdrawal is sent again this often,
#: for at most this long; else a question closed at start stays on the phone for good.
RETRY_S = 30.0
PATIENCE_S = 900.0


@dataclass(frozen=True, slots=True)
class Question:
    """What is asked, of whom, about which episode."""

    episode_id: int
    person: str
    option: str
    rule: str
    text: str
    #: Why a withdrawn question closed: "answered", "timeout" or "superseded"; None when asked.
    closed: str | None = None


#: Sends a question one way (a notification, an MQTT message); ``closed`` sends its withdrawal.
Asker = Callable[[Question], Awaitable[None]]


def action_id(episode_id: int, answer: str, instance: str = DEFAULT_INSTANCE) -> str:
    return f"{ACTION_PREFIX}{instance_part(instance)}{episode_id}_{answer.upper()}"


def instance_part(instance: str) -> str:
    """What names ``instance`` in an action id or a tag: nothing for the default one."""
    return "" if instance == DEFAULT_INSTANCE else f"{instance}_"


def parse_action(action: str, instance: str = DEFAULT_INSTANCE) -> tuple[int, str] | None:
    """``AMBIENT_CHECKIN_12_CALMER`` -> (12, "calmer") for the default instance,
    ``AMBIENT_CHECKIN_upstairs_12_CALMER`` for ``upstairs``; None for anyone else's action
    (another instance's, another app's)."""
    if not action.startswith(ACTION_PREFIX):
        return None
    head, _, answer = action[len(ACTION_PREFIX) :].rpartition("_")
    named, _, text = head.rpartition("_")
    episode = episode_number(text)
    if named != instance_part(instance)[:-1] or episode is None or answer.lower() not in ANSWERS:
        return None
    return episode, answer.lower()


def episode_number(text: str) -> int | None:
    """An episode id written in an answer; None for anything else, such as digits Python's
    ``int`` refuses (``²``, thousands of them) or no row id can be (over 18)."""
    if not (0 < len(text) <= 18 and text.isascii() and text.isdigit()):
        return None
    return int(text)


class CheckIns:
    """The questions after episodes: when to ask, the answers, the timeouts."""

    def __init__(
        self,
        config: CheckInsConfig,
        global_quiet: QuietHoursConfig | None,
        clock: Clock,
        zone: tzinfo,
        episodes: EpisodeBook,
        recorder: EpisodeRecorder,
        book: CheckInBook,
        names: Mapping[str, str] | None = None,
        paused: Callable[[], bool] | None = None,
        instance: str = DEFAULT_INSTANCE,
    ) -> None:
        self._config = config
        #: Named in the notification's action ids and tag (unless the default instance).
        self.instance = instance
        self._clock = clock
        self._zone = zone
        self._episodes = episodes
        self._recorder = recorder
        self._book = book
        self._names = dict(names or {})
        self._paused = paused or (lambda: False)
        self._quiet = [
            (parse_time_of_day(q.start), parse_time_of_day(q.end))
            for q in (global_quiet, config.quiet_hours)
            if q is not None
        ]
        #: Ways of asking, per person (a person with none is never asked).
        self.askers: dict[str, list[Asker]] = {}
        #: Ways of withdrawing a question when it times out (clearing the notification).
        self.withdrawers: dict[str, list[Asker]] = {}
        #: A full card refuses every answer and mood: said at the first, not at each.
        self._refusals = WarnOnce(_LOGGER, logging.ERROR)
        #: Called after each answer (the HA entity shows it).
        self.answered_listeners: list[Callable[[str], None]] = []
        self.counts: dict[str, int] = dict.fromkeys(
            (
                "asked",
                "answered",
                "timed_out",
                "late",
                "not_asked_cap",
                "not_asked_quiet",
                "not_recorded",
            ),
            0,
        )
        #: The same counts per person (a late answer naming no one counts in the total only).
        self.counts_by_person: dict[str, dict[str, int]] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self._timers: dict[int, TimerHandle] = {}
        #: Answers the store refused when given (check-in id: answer, time, source): their
        #: questions stay open in it, to be written as answered at its next write for them.
        self._unrecorded: dict[int, tuple[str, float, str]] = {}
        #: Questions closed unanswered whose closing the store refused (check-in id: time, why):
        #: open in it still, but no longer to this run (no answer taken, never asked again);
        #: written when the next question comes, or by the next run.
        self._closed_unrecorded: dict[int, tuple[float, str]] = {}

    # -- asking -------------------------------------------------------------------------

    def on_measured(self, episode_id: int) -> None:
        """An episode was measured: ask about it, if this is a good moment."""
        episode = self._episode(episode_id)
        if episode is None or not self.askers.get(episode.person):
            return
        now = self._clock.now()
        if now - episode.start > MEASURED_AFTER_S + self._config.timeout:
            return  # measured late (after a restart): too long ago to ask how it felt
        why_not = self._why_not_now(episode.person)
        if why_not is not None:
            self._count(why_not, episode.person)
            _LOGGER.debug("Not asking %s about episode %s: %s", episode.person, episode_id, why_not)
            return
        for older in self._book.open_questions():
            if older.person == episode.person:
                self._close_unanswered(older.id, "superseded")
        check_in = self._book.asked(episode.person, episode_id, now)
        self._count("asked", episode.person)
        self._arm(check_in, now + self._config.timeout)
        _LOGGER.info("Asking %s how episode %s felt", episode.person, episode_id)
        for way, ask in enumerate(self.askers[episode.person]):
            self._ask(check_in, self._question(episode), way, ask)

    def _question(self, episode: EpisodeRow, closed: str | None = None) -> Question:
        text = self._config.message.format(
            option=episode.option.replace("_", " "),
            name=self._names.get(episode.person, episode.person),
        )
        return Question(episode.id, episode.person, episode.option, episode.rule, text, closed)

    def _ask(
        self, check_in: int, question: Question, way: int, ask: Asker, stored: bool = False
    ) -> None:
        wanted = functools.partial(self._still_to_ask, check_in)
        self._send(ask, question, "ask", wanted, (check_in, "ask", way), stored)

    def _why_not_now(self, person: str) -> str | None:
        local = self._clock.local(self._zone)
        if self._paused() or any(
            in_window(local.time().replace(tzinfo=None), start, end) for start, end in self._quiet
        ):
            return "not_asked_quiet"
        day_start = local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        if len(self._book.rows(person, "episode", since=day_start)) >= self._config.per_day:
            return "not_asked_cap"
        return None

    def resume(self) -> None:
        """Close the questions a previous run left open past their timeout; re-arm the rest."""
        now = self._clock.now()
        for row in self._book.open_questions():
            due = row.time + self._config.timeout
            if due <= now:
                self._time_out(row.id)
            else:
                # A clock showing a time before the question is behind the one that asked (a Pi
                # boots at its last saved time): due when it shows the time, once NTP steps it.
                # Else a delay, as when asked: a clock that asked while still behind would show
                # the time early once stepped.
                self._arm(row.id, due, wall=now < row.time)
        self._send_waiting()

    def _send_waiting(self) -> None:
        """Send what the previous config or run could not (HA or the broker not connected
        when it reloaded or stopped): a question still open, a withdrawal."""
        for check_in, send, way in self._book.waiting():
            row = self._book.question(check_in)
            episode = self._episode(row.episode_id or 0) if row is not None else None
            ways = self.askers if send == "ask" else self.withdrawers
            if row is None or episode is None or way >= len(ways.get(row.person, ())):
                self._book.sent(check_in, send, way)  # forgotten, or that way is gone
            elif send == "ask":
                if row.status == ASKED:
                    self._ask(check_in, self._question(episode), way, ways[row.person][way], True)
                else:
                    self._book.sent(check_in, send, way)
            else:
                why = "answered" if row.status == ANSWERED else row.source or "timeout"
                question = self._question(episode, why)
                self._withdraw_one(check_in, question, way, ways[row.person][way], True)

    def _arm(self, check_in: int, due: float, wall: bool = False) -> None:
        """Time ``check_in`` out at ``due``: a delay from now, or (``wall``) when the clock
        shows ``due``, for a time worked out by an earlier run."""
        arm = self._clock.call_at_wall if wall else self._clock.call_at
        self._timers[check_in] = arm(due, functools.partial(self._time_out, check_in))

    def close(self) -> None:
        """Stop timing questions out (the daemon stops or reloads its config): the open ones
        stay in the store, for the next run to close."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._unrecorded:  # answers the store refused: else the next run times them out
            try:
                for row in self._book.open_questions():
                    if row.id in self._unrecorded:
                        self._record_late(row)
            except StoreError:  # (reading refused too: a damaged file, said where it is read)
                pass
        for task in self._sending:  # those waiting for this config's HA connection
            task.cancel()

    def _time_out(self, check_in: int) -> None:
        self._close_unanswered(check_in, "timeout")

    def _close_unanswered(self, check_in: int, why: str) -> None:
        """Close an open question unanswered: timed out, or ``superseded`` by a question about
        a later episode (an answer then would be about now, not the older episode)."""
        timer = self._timers.pop(check_in, None)
        if timer is not None:
            timer.cancel()
        if check_in in self._closed_unrecorded:  # closed: its closing is written if it can be
            time, closed_why = self._closed_unrecorded[check_in]
            try:
                self._book.close(check_in, TIMED_OUT, None, time, closed_why)
            except StoreError:
                return
            del self._closed_unrecorded[check_in]
            return
        row = self._open(lambda r: r.id == check_in)
        if row is None:
            return
        if check_in in self._unrecorded:  # answered: taken down already
            if not self._record_late(row) and why == "timeout":  # refused still: again later
                self._arm(check_in, self._clock.now() + self._config.timeout)
            return
        try:
            self._book.close(check_in, TIMED_OUT, None, self._clock.now(), why)
        except StoreError as exc:  # a full or read-only card: still taken off the phone
            closing = f"Closing {row.person}'s unanswered check-in about episode {row.episode_id}"
            self.not_recorded(row.person, f"{closing} ({why})", exc)
            self._closed_unrecorded[check_in] = (self._clock.now(), why)
            self._withdraw(row, why)
            return
        self._recorded()
        self._count("timed_out", row.person)
        _LOGGER.info(
            "No answer from %s about episode %s: closed (%s)", row.person, row.episode_id, why
        )
        self._withdraw(row, why)

    def _withdraw(self, row: CheckInRow, why: str) -> None:
        """Take a question closed for ``why`` off the person's phone."""
        episode = self._episode(row.episode_id or 0)
        if episode is None:
            return
        question = self._question(episode, why)
        for way, withdraw in enumerate(self.withdrawers.get(row.person, ())):
            self._withdraw_one(row.id, question, way, withdraw)

    def _withdraw_one(
        self, check_in: int, question: Question, way: int, withdraw: Asker, stored: bool = False
    ) -> None:
        waiting = (check_in, "withdraw", way)
        self._send(withdraw, question, "withdraw the question of", lambda: True, waiting, stored)

    # -- answers ------------------------------------------------------------------------

    def answer(self, person: str | None, answer: str, episode_id: int | None, source: str) -> bool:
        """An answer: to ``episode_id``'s open question, or (no id) the person's latest one.
        False when it matches no open question (late, unknown, or not an answer). One the
        store cannot keep (a full or read-only card) is an error line and ``not_recorded``."""
        answer = answer.strip().lower()
        if answer not in ANSWERS:
            return False
        row = self._open(
            lambda r: (
                (episode_id is None or r.episode_id == episode_id)
                and (person is None or r.person == person)
            )
        )
        if row is None or row.episode_id is None:
            answered = self._episode(episode_id) if episode_id is not None else None
            if answered is not None and answered.check_in is not None:
                # The same tap heard a second way (HA's event and the blueprint's MQTT).
                _LOGGER.debug("Episode %s was answered already (%s)", episode_id, source)
                return False
            self._count("late", person or (answered.person if answered is not None else None))
            return False
        if row.id in self._unrecorded:  # the same tap heard a second way
            _LOGGER.debug("Episode %s was answered already (%s)", row.episode_id, source)
            self._record_late(row)
            return False
        try:
            self._book.close(row.id, ANSWERED, answer, self._clock.now(), source)
            self._recorder.check_in(row.episode_id, answer)
        except StoreError as exc:
            # A full or read-only card: the answer cannot be kept, but it was given. Its
            # question is taken down, and written as answered when the store next has to
            # close it (a newer question, a reload); it is never timed out as unanswered.
            answer_of = f"Check-in answer of {row.person} about episode {row.episode_id}"
            self.not_recorded(row.person, answer_of, exc)
            # Its timer stays: at the question's timeout the answer is written, not timed out.
            self._unrecorded[row.id] = (answer, self._clock.now(), source)
            self._withdraw(row, "answered")
            return True
        self._recorded()
        self._count("answered", row.person)
        _LOGGER.info("%s answered the check-in about episode %s", row.person, row.episode_id)
        _LOGGER.debug("%s's answer about episode %s: %s", row.person, row.episode_id, answer)
        # Off every device: the one tapped has dismissed it, a notify group's others have not.
        self._withdraw(row, "answered")
        for listener in list(self.answered_listeners):
            listener(row.person)
        return True

    def _record_late(self, row: CheckInRow) -> bool:
        """Write the answer to ``row`` the store refused when it was given (counted then, as
        ``not_recorded``, and not again); refused again (False), it waits for the next try:
        the question's timeout, the next question, a second hearing of the tap, a stop."""
        answer, time, source = self._unrecorded[row.id]
        try:
            self._book.close(row.id, ANSWERED, answer, time, source)
            if row.episode_id is not None:
                self._recorder.check_in(row.episode_id, answer)
        except StoreError as exc:
            _LOGGER.debug(
                "Check-in answer about episode %s still not recorded: %s", row.episode_id, exc
            )
            return False
        del self._unrecorded[row.id]
        self._recorded()
        _LOGGER.info(
            "%s's check-in answer about episode %s, not recorded when given, is now",
            row.person,
            row.episode_id,
        )
        for listener in list(self.answered_listeners):
            listener(row.person)
        return True

    def on_notification_action(self, data: Mapping[str, Any]) -> None:
        """A ``mobile_app_notification_action`` event's data (from any app, any action)."""
        action = data.get("action")
        parsed = parse_action(action, self.instance) if isinstance(action, str) else None
        if parsed is not None:
            self.answer(None, parsed[1], parsed[0], "notification")

    # -- helpers ------------------------------------------------------------------------

    def _open(self, matches: Callable[[CheckInRow], bool]) -> CheckInRow | None:
        found = [
            row
            for row in self._book.open_questions()
            if row.id not in self._closed_unrecorded and matches(row)
        ]
        return found[-1] if found else None

    def _episode(self, episode_id: int) -> EpisodeRow | None:
        return self._episodes.episode(episode_id)

    def _still_to_ask(self, check_in: int) -> bool:
        """A question HA was not connected for is sent late only while it is open and it is
        not quiet hours (or paused) by then."""
        row = self._open(lambda r: r.id == check_in and r.id not in self._unrecorded)
        return row is not None and self._why_not_now(row.person) != "not_asked_quiet"

    def _send(
        self,
        ask: Asker,
        question: Question,
        verb: str,
        wanted: Callable[[], bool],
        waiting: tuple[int, str, int],
        stored: bool = False,
    ) -> None:
        """Send ``question`` (or its withdrawal) one way; while that way is not connected, try
        again every RETRY_S, up to PATIENCE_S, as long as it is still ``wanted``. Meanwhile
        the store says it waits (``waiting``: check-in, send, way), so that a reload or a
        restart, which cancels the tries, sends it instead (:meth:`resume`; ``stored``: sent so,
        it waits in the store already)."""

        async def send() -> None:
            marked = stored

            def mark() -> None:
                nonlocal marked
                if not marked:
                    try:
                        self._book.unsent(*waiting)
                    except StoreError as exc:  # a full card: this run still tries, a restart not
                        _LOGGER.debug("Not kept as waiting (%s): %s", waiting, exc)
                        return
                    marked = True

            # Cancelled while it waits (closed): what waits stays in the store.
            failure = await until_connected(
                functools.partial(ask, question),
                self._clock,
                RETRY_S,
                self._clock.monotonic() + PATIENCE_S,
                on_waiting=mark,
                wanted=wanted,
            )
            if failure is not None:  # a failed question is a lost question, never a crash
                _LOGGER.warning(
                    "Could not %s %s about episode %s: %s: %s",
                    verb,
                    question.person,
                    question.episode_id,
                    type(failure).__name__,
                    failure,
                )
            if marked:
                try:
                    self._book.sent(*waiting)
                except StoreError as exc:  # kept as waiting: the next run sends it, or drops it
                    _LOGGER.debug("Still kept as waiting (%s): %s", waiting, exc)

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a tool reading the store): nobody to ask
            _LOGGER.debug("Not sent about episode %s: no event loop", question.episode_id)
            return
        task = loop.create_task(send())
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    def not_recorded(self, person: str, what: str, exc: StoreError) -> None:
        """``what`` (an answer, a mood, a question's closing) happened, but the store could not
        keep it (a full or read-only card): one error line naming it (at the first refusal;
        DEBUG while the card refuses), and ``not_recorded``."""
        self._count("not_recorded", person)
        self._refusals.failed("%s not recorded: %s", what, exc)

    def _recorded(self) -> None:
        """An answer or a closing went in: one line if they were being refused."""
        self._refusals.worked("Check-in answers and moods are recorded again")

    def _count(self, kind: str, person: str | None) -> None:
        self.counts[kind] += 1
        if person is not None:
            mine = self.counts_by_person.setdefault(person, dict.fromkeys(self.counts, 0))
            mine[kind] += 1

    def status(self) -> dict[str, Any]:
        """The household's counts since the start, and under ``people`` each person's (everyone
        who can be asked, at zero until something happens)."""
        people = sorted({*self.askers, *self.counts_by_person})
        zero = dict.fromkeys(self.counts, 0)
        by_person = {p: dict(self.counts_by_person.get(p, zero)) for p in people}
        return {**self.counts, "people": by_person}
