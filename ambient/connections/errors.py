"""The errors of ambient's links to the outside — the MQTT broker and Home Assistant — as one
tree, like aiomqtt's ``MqttError``. Whoever uses a link (a sensor, an actuator, the discovery
publisher) catches what it can act on:

- :class:`LinkError` — anything that went wrong talking to the outside;
- :class:`NotConnected` — the link is down (not up yet, dropped, or dropped mid-call); it
  reconnects by itself, so the same request may succeed later (the dispatcher retries it
  within the action's time-to-live);
- :class:`Rejected` — the other side answered with an error; the same request will fail again.
"""

from __future__ import annotations


class LinkError(Exception):
    """Talking to the broker or to Home Assistant failed."""


class NotConnected(LinkError):
    """The link is down now; it reconnects by itself, so retrying later may succeed."""


class LostInCall(NotConnected):
    """The link dropped after a request was sent, before its answer: the other side may have
    carried it out, so a request that must not happen twice (a message) is not sent again."""


class Rejected(LinkError):
    """The other side answered with an error (``code``: its own, e.g. HA's ``not_found``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
