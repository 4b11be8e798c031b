"""When a notify last sent each message about each person, for its ``min_interval``: kept in the
store, so a restart or a config reload (which builds the actuator anew) does not send the same
message again early. The times name the person: export writes them, forget erases them."""

from __future__ import annotations

import json
import logging

from ambient.privacy.data_classes import DataClass, register
from ambient.store import Store

_LOGGER = logging.getLogger(__name__)

#: Store namespace of the send times (key: person, service, title and message, as JSON).
NAMESPACE = "ha.notified"
#: A send time older than this is dropped when the times are read back: an interval that long
#: counts from the restart (and a changed message's old time does not stay for good).
KEEP_S = 30 * 24 * 3600.0

register(
    DataClass(
        name="ha_notify",
        table="kv",
        where=f"namespace = '{NAMESPACE}'",
        person="json_extract(value, '$.person')",
        time="json_extract(value, '$.sent_at')",
        retention=None,
        description="when a notify last sent each message about the person (its min_interval)",
        json_columns=("value",),
    )
)


class NotifyHistory:
    """The last send time of each (service, message, title, person); ``Store`` ``None``: memory
    only. Times are the clock's unix seconds."""

    def __init__(self, store: Store | None, now: float | None = None) -> None:
        self.store = store
        self._sent_at: dict[str, float] = {}
        if store is None:
            return
        for key, value in store.items(NAMESPACE).items():
            sent_at = value.get("sent_at") if isinstance(value, dict) else None
            if isinstance(sent_at, bool) or not isinstance(sent_at, int | float):
                _LOGGER.warning("Store record %s/%s is not a send time: dropped", NAMESPACE, key)
                store.delete(NAMESPACE, key)
            elif now is not None and now - sent_at > KEEP_S:
                store.delete(NAMESPACE, key)
            else:
                self._sent_at[key] = float(sent_at)

    def last_sent(self, service: str, message: str, title: str, person: str) -> float | None:
        return self._sent_at.get(_key(service, message, title, person))

    def since_last(
        self, service: str, message: str, title: str, person: str, now: float, interval_s: float
    ) -> float | None:
        """Seconds since this message was last sent, if that is within ``interval_s`` (held
        back); None to send it. A time ahead of ``now`` (the wall clock was stepped back, as a
        Raspberry Pi's is at boot before NTP) holds nothing back."""
        last = self.last_sent(service, message, title, person)
        if last is None or not 0 <= now - last < interval_s:
            return None
        return now - last

    def sent(self, service: str, message: str, title: str, person: str, at: float) -> None:
        key = _key(service, message, title, person)
        self._sent_at[key] = at
        if self.store is not None:
            self.store.put(NAMESPACE, key, {"person": person, "sent_at": at})


def _key(service: str, message: str, title: str, person: str) -> str:
    return json.dumps([person, service, title, message], separators=(",", ":"))
