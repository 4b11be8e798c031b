"""Telling a second client with our client id from an ordinary lost connection.

A broker holds one session per client id: a client connecting with ours ends our session, and
ours, reconnecting at once, ends theirs. Two daemons given the same ``instance`` (a copied
config) do that to each other several times a second, and neither works. An MQTT 5 broker may
say so (DISCONNECT reason 0x8E, "session taken over"); Mosquitto 2.0 just closes the
connection, so sessions cut short several times in a row, with no reason, count as taken over
too (a broker that gives another reason, "not authorized", says what it is).
"""

from __future__ import annotations

#: The MQTT 5 DISCONNECT reason of a broker giving our session to another client with our id.
SESSION_TAKEN_OVER = 0x8E
#: A session that ends sooner than this after connecting was cut short.
SHORT_SESSION_S = 10.0
#: Sessions cut short in a row that mean another client uses our client id.
CUT_SHORT_IN_A_ROW = 3
#: The wait before taking the session back: at most this the first time (at least half of it),
#: doubling at each takeover ...
TAKEOVER_WAIT_FIRST_S = 10.0
#: ... up to this (one daemon then keeps the session for minutes at a time).
TAKEOVER_WAIT_MAX_S = 600.0


class TakeoverWatch:
    """Counts sessions cut short in a row; a session that lasted starts it afresh."""

    def __init__(self) -> None:
        self._cut_short = 0
        #: Sessions taken over since the last one that lasted.
        self.takeovers = 0

    def session_ended(self, lasted_s: float, broker_reason: int | None) -> bool:
        """Whether this session was (most likely) taken over by another client.
        ``broker_reason``: the DISCONNECT reason code, None when there was none."""
        if broker_reason == SESSION_TAKEN_OVER:
            self.takeovers += 1
            return True
        if broker_reason is not None or lasted_s >= SHORT_SESSION_S:
            self._cut_short = 0
            if lasted_s >= SHORT_SESSION_S:
                self.takeovers = 0
            return False
        self._cut_short += 1
        if self._cut_short >= CUT_SHORT_IN_A_ROW:
            self.takeovers += 1
            return True
        return False
