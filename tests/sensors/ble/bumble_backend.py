"""A bleak backend on Google's bumble: real bleak code against emulated straps, no kernel Bluetooth.

bumble's ``LocalLink`` carries link-layer traffic between in-process controllers, so an emulated
"adapter" (a bumble central) and emulated straps (bumble peripherals with a Heart Rate GATT
server) talk real ATT/GATT to each other. :class:`EmulatedAir` hands bleak a backend through
``backend=``, so ``BleakScanner``, ``establish_connection``, ``start_notify`` and the
``disconnected_callback`` all run unchanged above it.

Like BlueZ, an adapter gives each client (a process: bleak talks to BlueZ over one D-Bus
connection) one discovery session: a scanner started while another of the same air scans on that
adapter fails with ``org.bluez.Error.InProgress``, as BlueZ answers a second ``StartDiscovery``
from the same sender. An adapter makes one connection attempt at a time. ``fail_next_scans`` /
``fail_next_connects`` make the adapter answer the way BlueZ does when busy
(``org.bluez.Error.InProgress``) or powered off (``org.bluez.Error.NotReady``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from bleak.backends.bluezdbus.defs import BLUEZ_ERROR_IN_PROGRESS, BLUEZ_ERROR_NOT_READY
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import (
    AdvertisementData,
    AdvertisementDataCallback,
    BaseBleakScanner,
)
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDBusError, BleakError
from bleak.uuids import normalize_uuid_str
from bumble import gatt
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from ambient.sensors.ble import BleBackend

_T = TypeVar("_T")

DEFAULT_ADAPTER = "hci0"
#: Advertising interval of the emulated straps, ms (real straps: ~100-1000 ms).
ADVERTISING_INTERVAL_MS = 20.0

_PROPERTY_NAMES = {
    gatt.Characteristic.Properties.BROADCAST: "broadcast",
    gatt.Characteristic.Properties.READ: "read",
    gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE: "write-without-response",
    gatt.Characteristic.Properties.WRITE: "write",
    gatt.Characteristic.Properties.NOTIFY: "notify",
    gatt.Characteristic.Properties.INDICATE: "indicate",
    gatt.Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES: "authenticated-signed-writes",
    gatt.Characteristic.Properties.EXTENDED_PROPERTIES: "extended-properties",
}


def _bleak_uuid(uuid: UUID) -> str:
    return normalize_uuid_str(uuid.to_hex_str().lower())


class _Adapter:
    """One emulated Bluetooth adapter: a bumble central on the shared link."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.scanners: set[BumbleScanner] = set()
        self.connect_lock = asyncio.Lock()

    def on_advertisement(self, advertisement: Advertisement) -> None:
        for scanner in list(self.scanners):
            scanner.on_advertisement(advertisement)


class EmulatedAir:
    """The radio world of one test: adapters and straps on one bumble ``LocalLink``."""

    def __init__(self) -> None:
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self.adapters: dict[str, _Adapter] = {}
        self._powering_on: dict[str, asyncio.Future[_Adapter]] = {}
        self._scan_failures: list[Exception] = []
        self._connect_failures: list[BleakError] = []
        self._disconnect_hangs = 0
        self._subscribe_hangs = 0
        self._held_starts: list[HeldStart] = []
        self._scans_changed = asyncio.Event()
        self.connect_attempts = 0
        self.backend = self._make_backend()

    def _make_backend(self) -> type[BleBackend]:
        air = self

        class Scanner(BumbleScanner):
            pass

        class Client(BumbleClient):
            pass

        Scanner.air = air
        Client.air = air

        class Backend(BleBackend):
            scanner = Scanner
            client = Client

            @classmethod
            async def connected_device(cls, address: str, adapter: str | None) -> BLEDevice | None:
                return air.connected_device(address, adapter)

        return Backend

    async def adapter(self, name: str) -> _Adapter:
        """The adapter ``name``, powered on at its first use (once, however many ask at once)."""
        if name not in self._powering_on:
            self._powering_on[name] = asyncio.ensure_future(self._power_on(name))
        return await asyncio.shield(self._powering_on[name])

    async def _power_on(self, name: str) -> _Adapter:
        address = f"C0:00:00:00:00:{len(self._powering_on):02X}"
        controller = Controller(name, link=self.link, public_address=address)
        device = Device(
            name=name,
            address=Address(address),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        await device.power_on()
        adapter = _Adapter(device)
        device.on("advertisement", adapter.on_advertisement)
        self.adapters[name] = adapter
        return adapter

    def connected_device(self, address: str, adapter: str | None) -> BLEDevice | None:
        """What BlueZ reports for a device it is connected to (the bumble link, as details)."""
        emulated = self.adapters.get(adapter or DEFAULT_ADAPTER)
        if emulated is None:
            return None
        connection = emulated.device.find_connection_by_bd_addr(Address(address.upper()))
        if connection is None:
            return None
        return BLEDevice(address.upper(), None, {"bumble_address": connection.peer_address})

    def hold_next_scan_start(self) -> HeldStart:
        """The next scan starts, but its answer is held until released (a sensor cancelled
        meanwhile, by a reload, never hears that its scan runs)."""
        held = HeldStart()
        self._held_starts.append(held)
        return held

    async def wait_scanning(self, adapter: str = DEFAULT_ADAPTER, timeout_s: float = 3.0) -> None:
        """Return once a scan runs on ``adapter``: a sensor's search has started, and that
        sensor listens to the shared scan before any other can (a test that needs one search
        under way before the next sensor starts waits here, not for a guessed while)."""
        async with asyncio.timeout(timeout_s):
            while not ((running := self.adapters.get(adapter)) and running.scanners):
                await self._scans_changed.wait()

    def note_scans_changed(self) -> None:
        self._scans_changed.set()
        self._scans_changed = asyncio.Event()

    def take_held_start(self) -> HeldStart | None:
        return self._held_starts.pop(0) if self._held_starts else None

    def lose_scans(self) -> None:
        """bluetoothd restarts: the discovery sessions end, and their scanners hear nothing
        more (nobody tells them) until they are started again."""
        for adapter in self.adapters.values():
            adapter.scanners.clear()

    def fail_next_scans(self, count: int, error: str | Exception) -> None:
        """The next ``count`` scans fail with BlueZ's ``error`` (a D-Bus error name), or with
        the error bleak raises itself (no adapter, powered off...)."""
        self._scan_failures.extend(
            bluez_error(error) if isinstance(error, str) else error for _ in range(count)
        )

    def fail_next_connects(self, count: int, dbus_error: str) -> None:
        self._connect_failures.extend(bluez_error(dbus_error) for _ in range(count))

    def hang_next_disconnects(self, count: int) -> None:
        """BlueZ leaves the next ``count`` Disconnect calls unanswered (the link goes down only
        when the caller gives up on the call)."""
        self._disconnect_hangs += count

    def hang_next_subscribes(self, count: int) -> None:
        """BlueZ leaves the next ``count`` notification subscriptions (StartNotify) unanswered,
        the link up."""
        self._subscribe_hangs += count

    def take_subscribe_hang(self) -> bool:
        if self._subscribe_hangs:
            self._subscribe_hangs -= 1
            return True
        return False

    def take_disconnect_hang(self) -> bool:
        if self._disconnect_hangs:
            self._disconnect_hangs -= 1
            return True
        return False

    def take_scan_failure(self) -> Exception | None:
        return self._scan_failures.pop(0) if self._scan_failures else None

    def take_connect_failure(self) -> BleakError | None:
        return self._connect_failures.pop(0) if self._connect_failures else None


class HeldStart:
    """A scan start whose answer is held: ``reached`` once BlueZ has started the search,
    answered when ``released`` is set."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.released = asyncio.Event()


#: What bluetoothd answers with each error (its src/error.c): bleak turns the D-Bus error name and
#: this text into a ``BleakDBusError``, ``str()`` of which is "[name] text".
BLUEZ_ERROR_TEXT = {
    BLUEZ_ERROR_IN_PROGRESS: "Operation already in progress",
    BLUEZ_ERROR_NOT_READY: "Resource Not Ready",
}


def bluez_error(dbus_error: str) -> BleakDBusError:
    """The error bleak raises for a BlueZ refusal, as it raises it (name and body)."""
    return BleakDBusError(dbus_error, [BLUEZ_ERROR_TEXT[dbus_error]])


def _adapter_name(kwargs: dict[str, Any]) -> str:
    bluez = kwargs.get("bluez") or {}
    name = bluez.get("adapter")
    return name if isinstance(name, str) else DEFAULT_ADAPTER


class BumbleScanner(BaseBleakScanner):
    """``BleakScanner`` backend: reports the adapter's advertisement reports."""

    air: ClassVar[EmulatedAir]

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._adapter_name = _adapter_name(kwargs)
        self._adapter: _Adapter | None = None

    async def start(self) -> None:
        if (failure := self.air.take_scan_failure()) is not None:
            raise failure
        self.seen_devices = {}
        adapter = await self.air.adapter(self._adapter_name)
        if adapter.scanners:  # BlueZ: "Every client can only start one discovery"
            raise bluez_error(BLUEZ_ERROR_IN_PROGRESS)
        self._adapter = adapter
        if not adapter.device.scanning:
            await adapter.device.start_scanning(filter_duplicates=False)
        adapter.scanners.add(self)
        self.air.note_scans_changed()
        if (held := self.air.take_held_start()) is not None:
            held.reached.set()
            await held.released.wait()

    async def stop(self) -> None:
        adapter, self._adapter = self._adapter, None
        if adapter is None:
            return
        adapter.scanners.discard(self)
        if not adapter.scanners and adapter.device.scanning:
            await adapter.device.stop_scanning()

    def on_advertisement(self, advertisement: Advertisement) -> None:
        data = advertisement.data
        name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(
            AdvertisingData.SHORTENED_LOCAL_NAME
        )
        local_name = name if isinstance(name, str) else None
        uuids: list[str] = []
        for kind in (
            AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        ):
            uuids.extend(_bleak_uuid(uuid) for uuid in data.get(kind) or [])
        if not self.is_allowed_uuid(uuids):
            return
        address = str(advertisement.address).split("/")[0]
        adv = AdvertisementData(
            local_name=local_name,
            manufacturer_data={},
            service_data={},
            service_uuids=uuids,
            tx_power=None,
            rssi=advertisement.rssi,
            platform_data=(advertisement,),
        )
        # as BlueZ reports it in the device's properties
        address_type = "random" if advertisement.address.is_random else "public"
        details = {"bumble_address": advertisement.address, "props": {"AddressType": address_type}}
        device = self.create_or_update_device(address, address, local_name, details, adv)
        self.call_detection_callbacks(device, adv)


class BumbleClient(BaseBleakClient):
    """``BleakClient`` backend: a bumble GATT client on the adapter's connection."""

    air: ClassVar[EmulatedAir]

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._adapter_name = _adapter_name(kwargs)
        details = (
            address_or_ble_device.details if isinstance(address_or_ble_device, BLEDevice) else {}
        )
        target = details.get("bumble_address") if isinstance(details, dict) else None
        self._target: Address = target if isinstance(target, Address) else Address(self.address)
        self._connection: Connection | None = None
        self._disconnecting = False
        self._lost: asyncio.Event = asyncio.Event()

    @property
    def name(self) -> str:
        return self.address

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        self.air.connect_attempts += 1
        if (failure := self.air.take_connect_failure()) is not None:
            raise failure
        adapter = await self.air.adapter(self._adapter_name)
        timeout = float(kwargs.get("timeout", self._timeout))
        async with adapter.connect_lock:
            # like BlueZ, a Connect to a device the adapter is connected to already succeeds
            connection = adapter.device.find_connection_by_bd_addr(self._target)
            try:
                if connection is None:
                    connection = await adapter.device.connect(self._target, timeout=timeout)
            except Exception as exc:
                raise BleakError(f"connection to {self.address} failed: {exc}") from exc
        self._connection = connection
        self._disconnecting = False
        self._lost = asyncio.Event()
        connection.on("disconnection", self._on_disconnection)
        try:
            self.services = await self._discover(Peer(connection))
        except Exception:
            await self.disconnect()
            raise

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        for service_proxy in await peer.discover_services():
            service = BleakGATTService(
                service_proxy, service_proxy.handle, _bleak_uuid(service_proxy.uuid)
            )
            collection.add_service(service)
            for char_proxy in await service_proxy.discover_characteristics():
                properties = [
                    label for flag, label in _PROPERTY_NAMES.items() if char_proxy.properties & flag
                ]
                characteristic = BleakGATTCharacteristic(
                    char_proxy,
                    char_proxy.handle,
                    _bleak_uuid(char_proxy.uuid),
                    properties,  # type: ignore[arg-type]
                    lambda: self.mtu_size - 3,
                    service,
                )
                collection.add_characteristic(characteristic)
                for descriptor_proxy in await char_proxy.discover_descriptors():
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor_proxy,
                            descriptor_proxy.handle,
                            _bleak_uuid(descriptor_proxy.type),
                            characteristic,
                        )
                    )
        return collection

    def _on_disconnection(self, _reason: int) -> None:
        self._connection = None
        self._lost.set()
        if not self._disconnecting and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._disconnecting = True
        try:
            if self.air.take_disconnect_hang():
                try:
                    await asyncio.get_running_loop().create_future()  # no answer, ever
                finally:
                    await connection.disconnect()
            await connection.disconnect()
        except Exception as exc:  # already gone
            if self._connection is not None:
                raise BleakError(f"disconnect from {self.address} failed: {exc}") from exc
        finally:
            self._connection = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("the emulated straps do not pair")

    async def unpair(self) -> None:
        raise NotImplementedError("the emulated straps do not pair")

    def _require(self) -> Connection:
        if self._connection is None:
            raise BleakError("Not connected")
        return self._connection

    async def _unless_lost(self, operation: Callable[[], Awaitable[_T]]) -> _T:
        """Run a GATT operation, failing it (as BlueZ does) if the link goes meanwhile;
        bumble itself would leave the request pending forever."""
        self._require()
        op_task = asyncio.ensure_future(operation())
        lost_task = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({op_task, lost_task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost_task.cancel()
        if not op_task.done():
            op_task.cancel()
            raise BleakError(f"{self.address}: disconnected during a GATT operation")
        return op_task.result()

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        return bytearray(await self._unless_lost(proxy.read_value))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        proxy: DescriptorProxy = descriptor.obj
        return bytearray(await self._unless_lost(proxy.read_value))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        await self._unless_lost(lambda: proxy.write_value(bytes(data), with_response=response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        proxy: DescriptorProxy = descriptor.obj
        await self._unless_lost(lambda: proxy.write_value(bytes(data), with_response=True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        self._require()
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        if self.air.take_subscribe_hang():
            await asyncio.get_running_loop().create_future()  # no answer, ever

        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        await self._unless_lost(lambda: proxy.subscribe(deliver, prefer_notify=True))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        await self._unless_lost(proxy.unsubscribe)
