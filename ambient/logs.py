"""Logging set-up (timestamped text, or JSON for shippers), the live timeline of ``ambient run``,
and throttling of repeated errors.

Health data stays at DEBUG: callers log values only with ``logger.debug``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Literal, TextIO

if TYPE_CHECKING:
    from ambient.config.logging import TimelineValues
    from ambient.messages import TraceRecord

_RESERVED = set(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


#: The lowest level of each syslog priority, highest first (crit, err, warning, info; else debug).
_PRIORITIES = (
    (logging.CRITICAL, 2),
    (logging.ERROR, 3),
    (logging.WARNING, 4),
    (logging.INFO, 6),
)


def journal_priority(record: logging.LogRecord) -> str:
    """The ``<N>`` a journal line of ``record`` starts with (sd-daemon(3)): journald takes it
    off and keeps it as the entry's priority."""
    return f"<{next((n for level, n in _PRIORITIES if record.levelno >= level), 7)}>"


class JournalFormatter(logging.Formatter):
    """Lines for the journal, which stamps the time itself: each starts with its syslog
    priority (``<3>``, sd-daemon(3)), which journald takes off and keeps as the entry's. Without
    it every line is info: ``journalctl -p warning`` showed none of ambient's problems, and
    each further line of a message (a rejected config's problems) came without its level."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        priority = journal_priority(record)
        return "\n".join(f"{priority}{line}" for line in super().format(record).split("\n"))


class JournalJsonFormatter(JsonFormatter):
    """JSON lines for the journal, each with its priority: without one, the service's stderr
    (:class:`ErrorPriorityLines`) takes a line as an error's. journald takes the priority off,
    so a shipper reading the journal gets the JSON alone."""

    def format(self, record: logging.LogRecord) -> str:
        return journal_priority(record) + super().format(record)


class ErrorPriorityLines:
    """stderr where it is the journal: a line that starts with no priority of its own (a
    command's one-line failure, check's problems, a traceback) is an error's, ``<3>``; the log's
    lines keep theirs (:class:`JournalFormatter`). Otherwise journald takes each as info, and
    `journalctl -p err` did not show why the service would not start."""

    _HAS_PRIORITY = re.compile(r"<[0-7]>")

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._at_line_start = True

    def write(self, text: str) -> int:
        pieces = []
        for line in text.splitlines(keepends=True):
            if self._at_line_start and not self._HAS_PRIORITY.match(line):
                pieces.append("<3>")
            pieces.append(line)
            self._at_line_start = line.endswith("\n")
        self._out.write("".join(pieces))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._out, name)  # flush, fileno, isatty, encoding: the stream's own


def mark_errors_in_the_journal() -> None:
    """Make ``sys.stderr`` an :class:`ErrorPriorityLines` when it is the journal."""
    if stderr_goes_to_journal() and not isinstance(sys.stderr, ErrorPriorityLines):
        sys.stderr = ErrorPriorityLines(sys.stderr)


def setup_logging(
    level: str = "INFO", fmt: Literal["text", "json"] = "text", timeline: bool = False
) -> None:
    """Configure the root logger once. Text lines carry a timestamp, except when stderr goes to
    the journal, which stamps every line itself. With ``timeline`` (``ambient run``), the
    ``log`` action's lines are left to the timeline, so each action is printed once."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(
            JournalJsonFormatter() if stderr_goes_to_journal() else JsonFormatter()
        )
    elif stderr_goes_to_journal():
        handler.setFormatter(JournalFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"
            )
        )
    if timeline and fmt == "text":
        handler.addFilter(_not_action_lines)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def stderr_goes_to_journal() -> bool:
    """Whether stderr is the journal (see :func:`goes_to_journal`)."""
    return goes_to_journal(sys.stderr)


def goes_to_journal(out: TextIO) -> bool:
    """systemd sets ``JOURNAL_STREAM=device:inode`` for a service whose output goes to the
    journal; it counts only when ``out`` is still that stream (not redirected by a script)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    device, _, inode = stream.partition(":")
    try:
        stat = os.fstat(out.fileno())
        return (stat.st_dev, stat.st_ino) == (int(device), int(inode))
    except (ValueError, OSError):  # no JOURNAL_STREAM, or a stream with no file (StringIO)
        return False


def _not_action_lines(record: logging.LogRecord) -> bool:
    return not (record.name == ACTIONS_LOGGER and record.levelno == logging.INFO)


#: The logger the ``log`` action writes to (ambient.actuators.log).
ACTIONS_LOGGER = "ambient.actions"


_NUMBER = r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?"
#: A signal's value where a reason puts it: before the bounds, or as ``(now 80; ...)``.
_VALUE_BEFORE_BOUNDS = re.compile(rf"(?<=\w) {_NUMBER}(?= (?:above|below|between|at or) )")
_NOW_VALUE = re.compile(rf"\(now (?:{_NUMBER}|unknown)(?:[,;] |(?=\)))")


def reason_without_values(reason: str, signal_names: Iterable[str]) -> str:
    """A trace's reason with the signals' values left out, names, thresholds and times kept:
    ``stress_score 74.2 above 70 for 2min`` -> ``stress_score above 70 for 2min``, and
    ``activity_state changed from rest to active`` -> ``activity_state changed``."""
    names = "|".join(re.escape(name) for name in sorted(signal_names, key=len, reverse=True))
    if names:
        reason = re.sub(rf"\b({names}) {_NUMBER}(?![\w.])", r"\1", reason)
        # a state trigger on a signal: ``activity_state changed from rest to active for 1min``
        reason = re.sub(
            rf"\b({names}) changed from .+? to .+?(?= for | \(|$)", r"\1 changed", reason
        )
    reason = _VALUE_BEFORE_BOUNDS.sub("", reason)
    return _NOW_VALUE.sub("(", reason).replace(" ()", "").replace("()", "")


#: Sets what ``logging.timeline_values: auto`` means where stdout is no journal: ``hide`` (the
#: Docker image sets it: `docker logs` keeps the timeline) or ``show``.
TIMELINE_VALUES_ENV = "AMBIENT_TIMELINE_VALUES"


def timeline_shows_values(setting: TimelineValues, out: TextIO) -> bool:
    """Whether the timeline on ``out`` shows the signals' values (``logging.timeline_values``):
    ``show`` or ``hide`` as set; ``auto`` hides them in the journal, and elsewhere does what
    :data:`TIMELINE_VALUES_ENV` says (a value it does not know hides them), else shows them."""
    if setting != "auto":
        return setting == "show"
    if goes_to_journal(out):
        return False
    return os.environ.get(TIMELINE_VALUES_ENV, "") in ("", "auto", "show")


def rule_and_person(record: TraceRecord) -> str:
    """The timeline's rule column: the rule, and whose the entry is (``calm (sam)``: a rule
    without ``person:`` acts for each person); a rule acting for no one names no one."""
    return record.rule if record.person is None else f"{record.rule} ({record.person})"


class Timeline:
    """``ambient run``'s live timeline on stdout, one entry per rule trace at clock time:

    ``21:04:13  calm_alex (alex)         fired       stress_score 98.8 above 70 for 2min``
    followed by ``-> action`` lines. The date is shown when it changes.

    Where stdout is the journal (a systemd service), or a log kept by someone else (the
    add-on's, a container's: see :func:`timeline_shows_values`), the reasons leave the signals'
    values out (``stress_score above 70 for 2min``): heart data stays out of logs above DEBUG.
    A ``log`` action's words are shown as written (its placeholders are the rule author's
    choice).
    """

    def __init__(
        self, out: TextIO, timezone: tzinfo | None = None, values: bool | None = None
    ) -> None:
        """``values``: show the signals' values in reasons; by default as
        ``timeline_values: auto`` does."""
        self.out = out
        self.timezone = timezone
        self.values = timeline_shows_values("auto", out) if values is None else values
        #: In the journal each line is an entry of its own: a trace's actions go on its line,
        #: or `journalctl | grep calm_alex` would find the decision without what it did.
        self.one_line = goes_to_journal(out)
        self._day: str | None = None
        self._reader_gone = False

    def __call__(self, record: TraceRecord) -> None:
        if self._reader_gone:
            return
        when = datetime.fromtimestamp(record.time, self.timezone)
        day = when.strftime("%Y-%m-%d")
        lines = []
        if day != self._day:
            self._day = day
            lines.append(f"-- {day} --")
        reason = record.reason
        if not self.values:
            reason = reason_without_values(reason, record.signals)
        rule = rule_and_person(record)
        entry = f"{when:%H:%M:%S}  {rule:<24} {record.event:<11} {reason}".rstrip()
        if self.one_line:
            lines.append(entry + "".join(f"  -> {action.detail}" for action in record.actions))
        else:
            lines.append(entry)
            lines.extend(f"{'':8}  -> {action.detail}" for action in record.actions)
        try:
            self.out.write("\n".join(lines) + "\n")
            self.out.flush()
        except OSError as exc:
            self._stop_writing(exc)

    def _stop_writing(self, exc: OSError) -> None:
        """`ambient run | head`: the reader left; `ambient run > file` on a full disk: stdout
        cannot take it. The daemon is not the timeline, so it goes on without it (its decisions
        are still traced in the store)."""
        self._reader_gone = True
        if isinstance(exc, BrokenPipeError):
            logging.getLogger(__name__).info(
                "The timeline's reader went away; it is no longer shown"
            )
        else:
            logging.getLogger(__name__).warning(
                "The timeline cannot be written to stdout (%s); it is no longer shown, and the "
                "daemon goes on",
                exc.strerror or exc,
            )
        if self.out is sys.stdout:  # what is still buffered must not fail again at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


class Throttle:
    """Lets a message through at most once per ``interval_s`` per key (e.g. per topic); while
    the problem goes on (messages keep coming), ever less often: the wait doubles after each
    line that held some back, up to ``max_interval_s``, so a broker away for a night is a dozen
    lines, not one a minute. A key quiet for ``interval_s`` starts again at once, unless
    ``restart_when_quiet`` is off (the BLE sensor: a strap off for the night is `not seen
    advertising` at each search, minutes apart); ``reset`` starts every key over.

    Reads the monotonic clock by default, on purpose: it limits log volume in real time, and
    is not behaviour that a simulation replays. ``monotonic`` is the seconds it reads instead
    (the BLE sensor's clock, whose backoff runs on it).
    """

    def __init__(
        self,
        interval_s: float = 60.0,
        max_interval_s: float = 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        restart_when_quiet: bool = True,
    ) -> None:
        self.interval_s = interval_s
        self.max_interval_s = max(max_interval_s, interval_s)
        self._monotonic = monotonic
        self._restart_when_quiet = restart_when_quiet
        self._last: dict[str, float] = {}
        self._seen: dict[str, float] = {}
        self._wait: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        # Keys starting over: waiting interval_s at the most, then no longer after their line.
        self._starting_over: set[str] = set()

    def allow(self, key: str) -> bool:
        now = self._monotonic()
        seen = self._seen.get(key)
        self._seen[key] = now
        if seen is None or (self._restart_when_quiet and now - seen >= self.interval_s):
            self._starting_over.add(key)
        went_on = key not in self._starting_over
        wait = self._wait.get(key, self.interval_s) if went_on else self.interval_s
        last = self._last.get(key)
        if last is not None and now - last < wait:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        # Held some back and went on all along: the next line waits longer.
        self._wait[key] = min(wait * 2, self.max_interval_s) if went_on else self.interval_s
        self._starting_over.discard(key)
        self._last[key] = now
        return True

    def reset(self) -> None:
        """The problems are over: a new one is said ``interval_s`` after its key's last line
        at the most, then ever less often again."""
        self._starting_over.update(self._last)

    def suppressed_since_last(self, key: str) -> int:
        """How many messages for ``key`` were held back since the last one let through."""
        return self._suppressed.pop(key, 0)

    def log(self, logger: logging.Logger, level: int, key: str, msg: str, *args: object) -> bool:
        """Log ``msg`` unless held back; whether it was logged."""
        if not self.allow(key):
            return False
        held = self.suppressed_since_last(key)
        suffix = f" ({held} similar suppressed)" if held else ""
        logger.log(level, msg + suffix, *args)
        return True
