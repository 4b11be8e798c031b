"""When to publish a state: throttled so HA's recorder is not flooded, quick when it matters.

A state goes out at once when it changes meaningfully (beyond its deadband, or any change of a
text/on-off state, or to/from unknown), but never more than once per ``min_gap_s`` per topic;
smaller changes wait for the next tick (``publish_interval``); every state is re-sent at least
every ``refresh_s`` so ``expire_after`` in HA only fires when ambient really stopped. Pure
bookkeeping: the publisher asks and tells, this never does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class _Desired:
    payload: str
    value: float | None
    deadband: float


@dataclass(slots=True)
class _Sent:
    payload: str
    value: float | None
    at: float


class StateBook:
    def __init__(self, refresh_s: float, min_gap_s: float = 1.0) -> None:
        self.refresh_s = refresh_s
        self.min_gap_s = min_gap_s
        self._desired: dict[str, _Desired] = {}
        self._sent: dict[str, _Sent] = {}
        #: Per topic, the number of each payload set since it was last sent: the one a send
        #: picked may be replaced while it awaits the broker's acknowledgement (a reading
        #: came meanwhile), and its number is what later changes are measured from.
        self._numbers: dict[str, dict[str, float | None]] = {}

    def set(
        self, topic: str, payload: str, value: float | None = None, deadband: float = 0.0
    ) -> bool:
        """Record the state ``topic`` should show; True when it deserves an immediate publish."""
        self._desired[topic] = _Desired(payload, value, deadband)
        self._numbers.setdefault(topic, {})[payload] = value
        sent = self._sent.get(topic)
        if sent is None:
            return True
        if payload == sent.payload:
            return False
        if value is None or sent.value is None:
            return True
        return abs(value - sent.value) > deadband

    def urgent(self, now: float) -> list[tuple[str, str]]:
        """Meaningful changes whose topic has not been published within ``min_gap_s``."""
        due = []
        for topic, desired in self._desired.items():
            sent = self._sent.get(topic)
            if sent is None:
                due.append((topic, desired.payload))
            elif desired.payload == sent.payload:
                continue
            elif desired.value is None or sent.value is None:
                due.append((topic, desired.payload))  # text, on/off, to/from unknown: rare
            elif (
                now - sent.at >= self.min_gap_s
                and abs(desired.value - sent.value) > desired.deadband
            ):
                due.append((topic, desired.payload))
        return due

    def due(self, now: float) -> list[tuple[str, str]]:
        """At a tick: every change, and every state not re-sent within ``refresh_s``."""
        return [
            (topic, desired.payload)
            for topic, desired in self._desired.items()
            if (sent := self._sent.get(topic)) is None
            or desired.payload != sent.payload
            or now - sent.at >= self.refresh_s
        ]

    def stale(self, now: float) -> list[tuple[str, str]]:
        """Every state not re-sent within ``refresh_s`` (as it is now, small change or not)."""
        return [
            (topic, desired.payload)
            for topic, desired in self._desired.items()
            if (sent := self._sent.get(topic)) is None or now - sent.at >= self.refresh_s
        ]

    def changed(self) -> list[tuple[str, str]]:
        """Every state not yet published as it is now (at shutdown: nothing may wait)."""
        return [
            (topic, desired.payload)
            for topic, desired in self._desired.items()
            if (sent := self._sent.get(topic)) is None or desired.payload != sent.payload
        ]

    def everything(self) -> list[tuple[str, str]]:
        """All states, for a reconnect or HA's birth message."""
        return [(topic, desired.payload) for topic, desired in self._desired.items()]

    def sent(self, topic: str, payload: str, now: float) -> None:
        """``payload`` reached the broker at ``now`` (it may no longer be the one desired)."""
        value = self._numbers.get(topic, {}).get(payload)
        self._sent[topic] = _Sent(payload, value, now)
        desired = self._desired.get(topic)
        if desired is not None:
            self._numbers[topic] = {desired.payload: desired.value}

    def forget_sent(self) -> None:
        """After a reconnect nothing is known to be on the broker."""
        self._sent.clear()
