"""Telling a second client with our client id from an ordinary lost connection.

A broker holds one session per client id: a client connecting with ours ends our session, and
ours, reconnecting at once, ends theirs. Two daemons given the same ``instance`` (a copied
config) do that to each other several times a second, and neither works. An MQTT 5 broker may
say so (DISCONNECT reason 0x8E, "session taken over"); Mosquitto 2.0 just closes the
connection, so sessions cut short several times in a row count as taken over too.
"""

from __future__ import annotations

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

    def session_ended(self, lasted_s: float, broker_said_taken_over: bool) -> bool:
        """Whether this session was (most likely) taken over by another client."""
        if lasted_s >= SHORT_SESSION_S and not broker_said_taken_over:
            self._cut_short = 0
            self.takeovers = 0
            return False
        self._cut_short += 1
        if broker_said_taken_over or self._cut_short >= CUT_SHORT_IN_A_ROW:
            self.takeovers += 1
            return True
        return False
