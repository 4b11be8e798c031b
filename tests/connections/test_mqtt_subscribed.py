"""Filters taken out of the config are unsubscribed from the broker's session at the next
connect, as the filters each client id subscribed are remembered in the store."""

from __future__ import annotations

from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import Collector, device_client, mqtt_config, running

from ambient.clock import RealClock
from ambient.connections.mqtt import MqttConnection
from ambient.connections.mqtt_subscribed import NAMESPACE, SubscribedFilters
from ambient.counters import Counters
from ambient.store import Store


def connection_of_home(
    broker: MosquittoBroker, store: Store, counters: Counters | None = None
) -> MqttConnection:
    """The connection of instance ``home`` (client id ``ambient-home``: one session on the
    broker, whichever run) remembering its filters in ``store``."""
    return MqttConnection(
        mqtt_config(broker),
        "home",
        RealClock(),
        counters or Counters(),
        subscribed=SubscribedFilters(store),
    )


async def test_a_filter_taken_out_of_the_config_is_unsubscribed_at_the_next_start(
    mosquitto: MosquittoBroker,
) -> None:
    """A sensor's topic changed from `home/#` to `home/+/hr` left `home/#` in the broker's
    session for good: the broker sent (and, while ambient was away, queued) every message it
    matched, counted `old_subscription`. The next start now unsubscribes it: nothing comes for
    it any more, live or queued."""
    store = Store(None)
    first = connection_of_home(mosquitto, store)
    first.subscribe("home/#", Collector())
    async with running(first):
        await first.wait_subscribed("home/#")
    async with device_client(mosquitto) as device:  # while ambient is away
        await device.publish("home/x/other", b"queued", qos=1)

    counters = Counters()
    after = connection_of_home(mosquitto, store, counters)
    heart_rates = Collector()
    after.subscribe("home/+/hr", heart_rates)
    async with running(after), device_client(mosquitto) as device:
        await device.publish("home/x/other", b"live", qos=1)
        await device.publish("home/x/hr", b"61", qos=1)  # delivered after the one before
        assert (await heart_rates.next()).payload == b"61"
    assert counters.get("mqtt", "old_subscription") == 0
    assert store.get(NAMESPACE, "ambient-home") == ["ambient/home/backlog_end", "home/+/hr"]

    async with device_client(mosquitto) as device:  # away again
        await device.publish("home/x/other", b"queued again", qos=1)
    again = connection_of_home(mosquitto, store)
    other = Collector()
    again.subscribe("home/x/other", other)  # gets what the session queued first, if anything
    async with running(again), device_client(mosquitto) as device:
        await again.wait_subscribed("home/x/other")
        await device.publish("home/x/other", b"live again", qos=1)
        assert (await other.next()).payload == b"live again"
