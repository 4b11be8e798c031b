"""An emulated heart-rate strap (a bumble peripheral with the Heart Rate Service) for the tests.

The test drives it: it notifies what the test tells it to, when the test tells it to, and
remembers every notification it sent while a central was subscribed, so a test can check that
nothing sent over a live link was lost or duplicated on the way through bleak and the sensor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence

from bumble import gatt
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from bumble.hci import Address
from bumble.host import Host
from bumble.transport.common import AsyncPipeSink
from sensors.ble.bumble_backend import ADVERTISING_INTERVAL_MS, EmulatedAir

#: Polar H10 style flags: RR present, contact detection not supported.
POLAR_H10_FLAGS = 0x10


def polar_h10_packet(hr: int, rr_raw: Sequence[int], flags: int = POLAR_H10_FLAGS) -> bytes:
    body = bytes([flags, hr])
    return body + b"".join(rr.to_bytes(2, "little") for rr in rr_raw)


def to_raw(rr_ms: float) -> int:
    """Milliseconds to the strap's 1/1024 s units, as a strap rounds them."""
    return round(rr_ms * 1024 / 1000)


def polar_h10_stream(nn_ms: Iterable[int]) -> Iterator[tuple[bytes, tuple[int, ...]]]:
    """Pack NN intervals the way a Polar H10 sends them: one notification per second holding
    the beats that ended in that second (0-3 RR values), HR from the latest interval.
    Yields the packet and its raw RR values."""
    elapsed_ms = 0.0
    next_tick_ms = 1000.0
    pending: list[int] = []
    hr = 60
    for nn in nn_ms:
        elapsed_ms += nn
        while elapsed_ms >= next_tick_ms:
            yield polar_h10_packet(hr, pending), tuple(pending)
            pending = []
            next_tick_ms += 1000.0
        pending.append(to_raw(nn))
        hr = max(1, min(255, round(60000 / nn)))
    yield polar_h10_packet(hr, pending), tuple(pending)


class EmulatedStrap:
    """A Heart Rate Service peripheral, advertising again whenever the link drops."""

    def __init__(
        self,
        air: EmulatedAir,
        *,
        name: str,
        address: str,
        battery_pct: int | None = 87,
        body_location: int | None = 1,
        advertise_heart_rate: bool = True,
    ) -> None:
        self.air = air
        self.name = name
        self.address = address
        self.advertise_heart_rate = advertise_heart_rate
        controller = Controller(name, link=air.link, public_address=address)
        self.device = Device(
            name=name, address=Address(address), host=Host(controller, AsyncPipeSink(controller))
        )
        self.hrm = gatt.Characteristic(
            gatt.GATT_HEART_RATE_MEASUREMENT_CHARACTERISTIC,
            gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.Permissions(0),
            b"",
        )
        hr_chars = [self.hrm]
        if body_location is not None:
            hr_chars.append(
                gatt.Characteristic(
                    gatt.GATT_BODY_SENSOR_LOCATION_CHARACTERISTIC,
                    gatt.Characteristic.Properties.READ,
                    gatt.Characteristic.READABLE,
                    bytes([body_location]),
                )
            )
        services = [gatt.Service(gatt.GATT_HEART_RATE_SERVICE, hr_chars)]
        self.battery: gatt.Characteristic[bytes] | None = None
        if battery_pct is not None:
            self.battery = gatt.Characteristic(
                gatt.GATT_BATTERY_LEVEL_CHARACTERISTIC,
                gatt.Characteristic.Properties.READ | gatt.Characteristic.Properties.NOTIFY,
                gatt.Characteristic.READABLE,
                bytes([battery_pct]),
            )
            services.append(gatt.Service(gatt.GATT_BATTERY_SERVICE, [self.battery]))
        self.device.add_services(services)
        self.subscribers: set[Connection] = set()
        self.battery_subscribers: set[Connection] = set()
        self.subscriptions = 0
        self.connections = 0
        self.sent: list[bytes] = []
        self._changed = asyncio.Event()
        self.device.on("connection", self._on_connection)
        self.device.on("characteristic_subscription", self._on_subscription)

    async def start(self) -> None:
        await self.device.power_on()
        fields: list[tuple[int, bytes]] = [
            (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode())
        ]
        if self.advertise_heart_rate:
            fields.append(
                (
                    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                    gatt.GATT_HEART_RATE_SERVICE.to_bytes(),
                )
            )
        advertising_data = bytes(AdvertisingData(fields))
        await self.device.start_advertising(
            advertising_data=advertising_data,
            advertising_interval_min=ADVERTISING_INTERVAL_MS,
            advertising_interval_max=ADVERTISING_INTERVAL_MS,
            auto_restart=True,
        )

    def _on_connection(self, connection: Connection) -> None:
        self.connections += 1
        connection.on("disconnection", lambda _reason: self._on_disconnection(connection))
        self._signal()

    def _on_disconnection(self, connection: Connection) -> None:
        self.subscribers.discard(connection)
        self.battery_subscribers.discard(connection)
        self._signal()

    def _on_subscription(
        self,
        connection: Connection,
        characteristic: gatt.Characteristic[bytes],
        notify_enabled: bool,
        indicate_enabled: bool,
    ) -> None:
        if characteristic is self.battery and notify_enabled:
            self.battery_subscribers.add(connection)
            self._signal()
        if characteristic is not self.hrm:
            return
        if notify_enabled:
            self.subscribers.add(connection)
            self.subscriptions += 1
        else:
            self.subscribers.discard(connection)
        self._signal()

    def _signal(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, condition: object, timeout_s: float = 5.0) -> None:
        """Wait (bounded) until ``condition()`` holds; re-checked on every link event."""
        assert callable(condition)
        async with asyncio.timeout(timeout_s):
            while not condition():
                await self._changed.wait()

    async def wait_subscribed(self, count: int = 1, timeout_s: float = 5.0) -> None:
        """Until the ``count``-th subscription (since start) is live."""
        await self.wait_until(
            lambda: self.subscriptions >= count and bool(self.subscribers), timeout_s
        )

    async def notify(self, packet: bytes) -> bool:
        """Send one measurement to the subscribed central; ``False`` when nobody listens."""
        if not self.subscribers:
            return False
        self.sent.append(packet)
        for connection in list(self.subscribers):
            await self.device.notify_subscriber(connection, self.hrm, packet)
        return True

    async def set_battery(self, pct: int) -> None:
        assert self.battery is not None
        self.battery.value = bytes([pct])
        await self.device.notify_subscribers(self.battery, bytes([pct]))

    async def drop_link(self) -> None:
        """The strap ends the connection (out of range, battery swap...)."""
        for connection in list(self.device.connections.values()):
            await connection.disconnect()
