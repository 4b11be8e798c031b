"""An HA action that had nothing to do: not a failure, but nothing was performed.

The music was already playing, every light had been taken over, the same message was sent a
moment ago: the timeline says why, and the result is ``performed=False``, so a
``choose_calming`` option that did nothing is not credited with the calm that followed.
"""

from __future__ import annotations


class NothingDone(Exception):
    """Raised with the reason; :class:`HomeAssistantActuator` turns it into an ok result that
    was not performed."""


class Unanswered(Exception):
    """A retry of a message HA did not answer in time: not sent again, since HA may well have
    carried the first out (a push to a phone that hung). A failed result, with the reason."""
