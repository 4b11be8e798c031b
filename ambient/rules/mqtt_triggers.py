"""MQTT triggers: a message on a topic (optionally with a given payload, or a given text at a
path of a JSON payload) fires the rule for every person it applies to.

After a restart the broker first delivers what it queued for ambient's session while ambient was
not running (the message is marked ``backlog``). Acting on it as if it happened now is wrong: a
button pressed at 23:00 must not switch the lights at 03:00. So a backlog message fires only if
it says when it was sent (the trigger's ``timestamp`` path) and that is at most ``max_age`` ago;
otherwise it is skipped, counted (scope ``rules``) and traced as suppressed with the reason. A
retained message, which the broker sends again on every (re)subscribe, is treated the same way.

A trigger reads the payload only to compare it (``payload``) or to learn when a message of
unknown age was sent (``timestamp``), and then refuses it as the MQTT sensors do: over 16 KiB
(``oversized``) or not UTF-8 (``bad_encoding``). The rule does not fire; the message is counted
once (``mqtt_oversized``, ``mqtt_bad_encoding``) and traced as suppressed for each rule that
needed it, with the reason and never the payload. A trigger that compares nothing fires on any
message on its topic, binary or large: a doorbell may send a raw byte, and a payload that is
never read can neither be misread nor cost more than the connection already spent on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import tzinfo
from typing import Any

from ambient.clock import Clock
from ambient.config.durations import duration_text, written_duration_text
from ambient.config.triggers import MqttTriggerConfig
from ambient.counters import Counters
from ambient.messages import ExternalEvent
from ambient.payload_fields import PayloadError, decode, load_json, lookup, to_timestamp
from ambient.rules import describe
from ambient.rules.firing import Firing
from ambient.rules.rule import Rule
from ambient.topics import topic_matches

#: Counters scope for what the rules did with queued messages.
COUNTER_SCOPE = "rules"
#: A sender's clock may run this far ahead of ours before its timestamp counts as wrong.
FUTURE_TOLERANCE_S = 5.0

Fire = Callable[[Rule, Firing, float], None]
Trace = Callable[..., None]


class _Payload:
    """A message's payload, decoded only when a trigger compares it and parsed only when one
    reads a JSON field (each at most once).

    Refused as the MQTT sensors refuse it (:func:`~ambient.payload_fields.decode`): over
    16 KiB (``oversized``) or not UTF-8 (``bad_encoding``). A replacement character in place
    of a byte would make a comparison of garbled text, and a large payload costs memory to
    decode and time to parse."""

    def __init__(self, raw: object) -> None:
        self._raw = raw
        self._text: str | None = None
        #: Why the payload is not read; None until a trigger needed it, or if it was readable.
        self.refused: PayloadError | None = None
        self._document: Any = None
        self._error: PayloadError | None = None
        self._parsed = False

    def refusal(self) -> PayloadError | None:
        """Why the payload may not be read, or None; decodes it the first time."""
        if self._text is None and self.refused is None:
            try:
                self._text = _decoded(self._raw)
            except PayloadError as exc:
                self.refused = exc
        return self.refused

    def text(self) -> str:
        """The payload as text; raises the :class:`PayloadError` that refuses it."""
        refused = self.refusal()
        if refused is not None:
            raise refused
        assert self._text is not None
        return self._text

    def field(self, path: str) -> Any:
        """The value at ``path`` of the JSON payload; raises :class:`PayloadError`."""
        if not self._parsed:
            self._parsed = True
            try:
                self._document = load_json(self.text())
            except PayloadError as exc:
                self._error = exc
        if self._error is not None:
            raise self._error
        return lookup(self._document, path)

    def field_text(self, path: str) -> str | None:
        try:
            value = self.field(path)
        except PayloadError:
            return None
        return value if isinstance(value, str) else json.dumps(value)


def _decoded(raw: object) -> str:
    """``raw`` (bytes from the broker, or text from elsewhere) as text, within the sensors'
    limits: text is measured in UTF-8 bytes, and a lone surrogate in it is not UTF-8."""
    if raw is None:
        return ""
    if not isinstance(raw, bytes):  # a lone surrogate passes here and fails to decode
        raw = str(raw).encode("utf-8", errors="surrogatepass")
    return decode(raw)


def _reads_payload(trigger: MqttTriggerConfig, source: str | None) -> bool:
    """Whether ``trigger`` looks into a message's payload: to compare it with ``payload``, or,
    for a message of unknown age (``source``), for the time it was sent."""
    return trigger.payload is not None or (source is not None and trigger.timestamp is not None)


class MqttTriggers:
    """Every rule's MQTT triggers, and what a message queued while ambient was away may do."""

    def __init__(
        self,
        clock: Clock,
        rules: Sequence[Rule],
        fire_for_scope: Fire,
        trace: Trace,
        counters: Counters | None,
        zone: tzinfo,
    ) -> None:
        self.clock = clock
        #: A zoneless time in a payload is local time in the rules' zone (the config's).
        self._zone = zone
        self._fire_for_scope = fire_for_scope
        self._trace = trace
        self._counters = counters if counters is not None else Counters()
        self._triggers = [
            (rule, index, trigger)
            for rule in rules
            for index, trigger in enumerate(rule.config.triggers)
            if isinstance(trigger, MqttTriggerConfig)
        ]

    def topics_used(self) -> set[str]:
        return {trigger.topic for _, _, trigger in self._triggers}

    def on_message(self, event: ExternalEvent) -> None:
        payload = _Payload(event.data.get("payload"))
        # Retained: kept by the broker and sent on every (re)subscribe, however old it is.
        source = "retained" if event.data.get("retained") else None
        if source is None and event.data.get("backlog"):
            source = "backlog"
        for rule, index, trigger in self._triggers:
            if not topic_matches(trigger.topic, event.key):
                continue
            label = describe.trigger_label(trigger, index)
            refused = payload.refusal() if _reads_payload(trigger, source) else None
            if refused is not None:
                why = f"mqtt message on {event.key} not read: {refused.reason} ({refused.detail})"
                self._trace(rule, "suppressed", f"{why}; skipped", rule.config.person, label)
                continue
            compared = None
            if trigger.payload is not None:
                compared = payload.text()
                if trigger.value is not None:
                    compared = payload.field_text(trigger.value)
                if compared is None or compared.strip() != trigger.payload:
                    continue
            reason = describe.mqtt_message(trigger, event.key, compared)
            if source is not None:
                skipped, note = self._age(trigger, payload)
                counter = f"mqtt_{source}_{skipped or 'fired'}"
                self._counters.increment(COUNTER_SCOPE, counter)
                if skipped is not None:
                    why = f"{reason} {_WHERE_FROM[source]}: {note}; skipped"
                    self._trace(rule, "suppressed", why, rule.config.person, label)
                    continue
                reason += f" ({_WHERE_FROM[source]}, {note})"
            self._fire_for_scope(rule, Firing(index, trigger.id, label, reason), event.time)
        if payload.refused is not None:  # once per message, however many triggers read it
            self._counters.increment(COUNTER_SCOPE, f"mqtt_{payload.refused.reason}")

    def _age(self, trigger: MqttTriggerConfig, payload: _Payload) -> tuple[str | None, str]:
        """For a message of unknown age: (why it is skipped — ``without_time``, ``bad_time``,
        ``too_old`` — or None if it fires; the words for the trace)."""
        if trigger.timestamp is None:
            return "without_time", "it has no time (the trigger sets no `timestamp`)"
        where = f"`{trigger.timestamp}`"
        try:
            sent = to_timestamp(payload.field(trigger.timestamp), where, self._zone)
        except PayloadError as exc:
            return "without_time", f"no time in it ({exc.detail})"
        # Senders stamp messages in real time, also when ambient's clock runs faster.
        age_s = self.clock.for_outside_links().now() - sent
        if age_s < -FUTURE_TOLERANCE_S:
            return "bad_time", f"{where} is {duration_text(-age_s)} in the future"
        age = duration_text(max(age_s, 0.0))
        if age_s > trigger.max_age:
            return "too_old", f"sent {age} ago, max_age {written_duration_text(trigger.max_age)}"
        return None, f"sent {age} ago"


_WHERE_FROM = {
    "backlog": "queued while ambient was not running",
    "retained": "retained on the broker",
}
