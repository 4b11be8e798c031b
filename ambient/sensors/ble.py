"""A standard Heart Rate Service strap or watch over bleak, with a connection that never gives up.

One :class:`BleSensor` supervises one device: it scans until the device advertises (so it always
connects from a fresh ``BLEDevice``; BlueZ forgets stale addresses), connects through
bleak-retry-connector with a new client per session, subscribes to Heart Rate Measurement, and
watches the notifications. When the link drops, or stays up but goes silent for ``watchdog``
seconds, it disconnects (always, so adapter slots do not leak) and tries again after an
exponential backoff with jitter that resets only once notifications flow again. Every wait reads
the injected clock. Nothing here raises out of ``run`` except cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import random
import weakref
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from bleak import BleakClient
from bleak.args.bluez import BlueZClientArgs
from bleak.backends.bluezdbus.defs import BLUEZ_ERROR_IN_PROGRESS, BLUEZ_ERROR_NOT_READY
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakDBusError, BleakError
from bleak_retry_connector import establish_connection, get_device, get_device_by_adapter

from ambient.asyncutil import ClockTimeout, reraise_lost_cancel, result_or_clock_timeout
from ambient.clock import Clock, TimerHandle
from ambient.config.sensors import BleSensorConfig, ble_name
from ambient.counters import Counters
from ambient.logs import Throttle
from ambient.ports import ReadingSink
from ambient.sensors.ble_backoff import Backoff
from ambient.sensors.ble_beats import MeasurementReadings
from ambient.sensors.ble_shared_scan import same_adapter_named_otherwise, shared_scan
from ambient.sensors.heart_rate import (
    BATTERY_LEVEL_UUID,
    BODY_SENSOR_LOCATION_UUID,
    HEART_RATE_MEASUREMENT_UUID,
    HEART_RATE_SERVICE_UUID,
    MalformedPacket,
    parse_battery_level,
    parse_body_sensor_location,
    parse_measurement,
)

_LOGGER = logging.getLogger(__name__)

#: How long ``disconnect()`` may take before we give up on it (the session is over anyway).
DISCONNECT_TIMEOUT_S: Final = 10.0
#: Connection attempts inside one call to ``establish_connection`` (it retries BlueZ
#: ``InProgress`` / ``NotReady`` and friends with its own short backoff).
CONNECT_ATTEMPTS: Final = 3
#: Heart-rate devices under other names that a "not found" line names, at most.
_OTHERS_SAID: Final = 3


class BleBackend:
    """The bleak backend classes to use; ``None`` means the platform's own (BlueZ on a Pi).

    Tests subclass this to drive real bleak code against an emulated strap.
    """

    scanner: ClassVar[type[BaseBleakScanner] | None] = None
    client: ClassVar[type[BaseBleakClient] | None] = None

    @classmethod
    async def connected_device(cls, address: str, adapter: str | None) -> BLEDevice | None:
        """The device at ``address`` when the adapter is connected to it already: a run that
        ended without disconnecting (killed, crashed) or a Disconnect that failed leaves BlueZ
        connected, and a connected strap does not advertise, so no scan would find it."""
        if adapter:
            device = await get_device_by_adapter(address, adapter)
        else:
            device = await get_device(address)
        details = None if device is None else device.details
        props = details.get("props") if isinstance(details, dict) else None
        return device if isinstance(props, dict) and props.get("Connected") else None


class _SessionEnded(Exception):
    """The link is gone (or silent); ``reason`` is the counter key, ``detail`` what the line
    adds to the reason's description."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class _ScanFailed(Exception):
    """Scanning could not start (bluetoothd or D-Bus away, no such adapter): nothing was
    tried to connect to yet, and the user's fix is on the Pi, not the strap."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


#: Per event loop (a process runs one), the sensor reading each device (by upper-case
#: address): one device read by two sensors would give each beat to both their people.
_READERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, str]] = (
    weakref.WeakKeyDictionary()
)


class BleSensor:
    """Readings ``hr``, ``rr`` (one per beat) and ``contact`` from one BLE heart-rate device."""

    def __init__(
        self,
        config: BleSensorConfig,
        clock: Clock,
        counters: Counters,
        *,
        backend: type[BleBackend] | None = None,
        name: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.name = name or ble_name(config)
        self.scope = f"ble:{self.name}"
        self._clock = clock
        self._counters = counters
        self._backend = backend or BleBackend
        # bleak >= 3 picks the adapter per scanner and client this way
        self._client_bluez: BlueZClientArgs = {"adapter": config.adapter} if config.adapter else {}
        self._backoff = Backoff(config.backoff_initial, config.backoff_max, rng)
        # On the sensor's clock, as its backoff: never restarted by quiet (searches are minutes
        # apart), only when notifications flow again.
        self._warnings = Throttle(monotonic=clock.now, restart_when_quiet=False)
        self._readings = MeasurementReadings(config.person or "default", self.name, self._count)
        self._sink: ReadingSink | None = None
        self._connected = False
        self._address: str | None = None
        self._rssi: int | None = None
        self._battery_pct: int | None = None
        self._body_location: str | None = None
        self._last_notification_at: float | None = None
        self._session_started_at = 0.0
        self._notifications = 0
        self._sessions = 0
        self._flowing = False
        #: The last session ended without a notification.
        self._silent_session = False
        #: This session's `connected to` line was said at DEBUG only.
        self._connected_said_quietly = False
        #: That the configured address is a private one was said.
        self._private_said = False
        self._session_end: asyncio.Future[str] | None = None
        self._watchdog: TimerHandle | None = None

    # -- public -----------------------------------------------------------------------------

    async def run(self, sink: ReadingSink) -> None:
        """Stream readings into ``sink`` until cancelled, reconnecting forever."""
        self._sink = sink
        while True:
            try:
                await self._session()
            except _SessionEnded as ended:
                self._count(ended.reason)
                said = _describe(ended.reason) + ended.detail
                self._log_problem(ended.reason, "%s: %s", self.name, said)
            except _ScanFailed as failed:
                reason = _failure_reason(failed.error)
                reason = "scan_failed" if reason == "connect_failed" else reason
                self._count(reason)
                self._log_problem(reason, "%s: %s", self.name, self._cannot_scan(failed.error))
            except (BleakError, TimeoutError, OSError, EOFError) as exc:
                reason = _failure_reason(exc)
                self._count(reason)
                self._log_problem(reason, "%s: %s", self.name, _cannot_connect(reason, exc))
            except Exception as exc:  # a backend bug must not stop the daemon
                self._count("unexpected_error")
                self._log_problem(
                    "unexpected_error", "%s: unexpected %s: %s", self.name, type(exc).__name__, exc
                )
            reraise_lost_cancel()
            delay_s = self._backoff.next_delay_s()
            _LOGGER.debug("%s: next attempt in %.2f s", self.name, delay_s)
            await self._clock.sleep(delay_s)

    def diagnostics(self) -> Mapping[str, Any]:
        last = self._last_notification_at
        return {
            "connected": self._connected,
            "address": self._address,
            "last_notification_age_s": None if last is None else self._clock.now() - last,
            "reconnects": max(0, self._sessions - 1),
            "rssi": self._rssi,
            "battery_pct": self._battery_pct,
            "body_sensor_location": self._body_location,
            "notifications": self._notifications,
            "counters": dict(self._counters.scope(self.scope)),
        }

    # -- one session: find, connect, stream, clean up ---------------------------------------

    async def _session(self) -> None:
        device = await self._find_device()
        readers = _READERS.setdefault(asyncio.get_running_loop(), {})
        address = device.address.upper()
        reader = readers.setdefault(address, self.name)
        if reader != self.name:
            raise _SessionEnded(
                "read_by_another",
                f": {device.address} is read by {reader} already (one device listed twice in the "
                "config? each of its beats would count for both)",
            )
        try:
            await self._connected_session(device)
        finally:
            del readers[address]

    async def _connected_session(self, device: BLEDevice) -> None:
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[str] = loop.create_future()
        self._session_end = ended
        self._flowing = False

        def on_disconnected(_client: BleakClient) -> None:
            self._end_session("link_lost")

        info: asyncio.Task[None] | None = None
        client: BleakClient = await establish_connection(
            BleakClient,
            device,
            self.name,
            disconnected_callback=on_disconnected,
            max_attempts=CONNECT_ATTEMPTS,
            bluez=self._client_bluez,
            backend=self._backend.client,
        )
        try:
            self._connected = True
            self._sessions += 1
            self._session_started_at = self._clock.now()
            self._readings.new_session()
            # a strap that keeps taking the link but says nothing is reconnected every
            # `watchdog`: said once (the silence's warning says the rest)
            self._connected_said_quietly = self._silent_session
            level = logging.DEBUG if self._silent_session else logging.INFO
            _LOGGER.log(level, "%s: connected to %s", self.name, device.address)
            subscribing = client.start_notify(HEART_RATE_MEASUREMENT_UUID, self._on_measurement)
            try:  # an answer that never comes must not hold a session shown connected
                await result_or_clock_timeout(self._clock, subscribing, self.config.watchdog)
            except ClockTimeout:
                raise _SessionEnded("subscribe_timeout") from None
            self._arm_watchdog()
            # battery and location are extras: a link lost mid-read must not hold the session
            info = asyncio.create_task(self._read_device_info(client))
            reason = await ended
            raise _SessionEnded(reason)
        finally:
            self._connected = False
            self._silent_session = not self._flowing
            self._session_end = None
            if self._watchdog is not None:
                self._watchdog.cancel()
                self._watchdog = None
            if info is not None:
                info.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await info
            await self._disconnect(client)

    async def _find_device(self) -> BLEDevice:
        """Listen to the adapter's scan (shared by this process's sensors) until the configured
        device advertises; return that fresh ``BLEDevice``. One the adapter is connected to
        already advertises no more: that one is taken as it is."""
        if (held := await self._held_by_adapter()) is not None:
            return held
        loop = asyncio.get_running_loop()
        found: asyncio.Future[tuple[BLEDevice, AdvertisementData]] = loop.create_future()

        others: list[str] = []  # heart-rate devices seen under other names, for the line

        def on_advertisement(device: BLEDevice, adv: AdvertisementData) -> None:
            if found.done():
                return
            if self._matches(device, adv):
                found.set_result((device, adv))
            elif HEART_RATE_SERVICE_UUID in adv.service_uuids:
                seen = _seen_as(device, adv)
                if seen not in others and len(others) < _OTHERS_SAID:
                    others.append(seen)

        def on_timeout() -> None:
            if not found.done():
                found.set_exception(_SessionEnded("not_found", self._others_said(others)))

        scan = shared_scan(self.config.adapter, self._backend.scanner)
        try:
            await scan.listen(on_advertisement, self._clock, self.name)
        except (BleakError, OSError, EOFError) as exc:
            raise _ScanFailed(exc) from exc
        timer = self._clock.call_later(self.config.scan_timeout, on_timeout)
        try:
            device, adv = await found
        finally:
            timer.cancel()
            found_it = found.done() and not found.cancelled() and found.exception() is None
            await scan.stop_listening(on_advertisement, found=found_it)
        self._address = device.address
        self._rssi = adv.rssi
        self._say_if_private(device, adv)
        return device

    def _say_if_private(self, device: BLEDevice, adv: AdvertisementData) -> None:
        """An `address:` the device changes every few minutes finds it until it has: said
        once a run, with the `name:` to give instead."""
        name = adv.local_name or device.name
        if self._private_said or not self.config.address or not changes_address(device):
            return
        self._private_said = True
        instead = (
            f"give `name: {json.dumps(name)}` instead, as `ambient scan` prints it"
            if name
            else "it advertises no name to find it by instead"
        )
        _LOGGER.warning(
            "%s: %s is a private address, which the device changes every few minutes (it is "
            "not found once it has): %s",
            self.name,
            device.address,
            instead,
        )

    def _cannot_scan(self, error: BaseException) -> str:
        """Why the search could not start, and the fix: one adapter named two ways in the
        config is two searches of it, the second refused as long as the first runs."""
        adapter = self.config.adapter
        other = same_adapter_named_otherwise(adapter, self._backend.scanner)
        if other is None or _bluez_error(error) != BLUEZ_ERROR_IN_PROGRESS:
            return cannot_scan(adapter, error)
        named = adapter or other.adapter
        who = ", ".join(sorted(set(other.listening.values()))) or "another sensor"
        as_named = "as the default adapter" if other.adapter is None else f"as `adapter: {named}`"
        return (
            f"cannot scan on {adapter or 'the default adapter'}: {who} searches it {as_named} "
            "already, and BlueZ gives a program one search per adapter; name the adapter the "
            f"same way in every entry (`adapter: {named}` in each, or in none)"
        )

    async def _held_by_adapter(self) -> BLEDevice | None:
        """The device, if the adapter holds a link to it (left by an earlier run, or by a
        Disconnect that failed); ``None`` also when that cannot be asked (the scan then says
        why). With `name:`, its address is known once it has been found in this run."""
        address = self.config.address or self._address
        if not address:
            return None
        try:
            held = await self._backend.connected_device(address, self.config.adapter)
        except (BleakError, OSError, EOFError, TimeoutError) as exc:
            _LOGGER.debug("%s: cannot ask for a link the adapter holds: %s", self.name, exc)
            return None
        readers = _READERS.get(asyncio.get_running_loop(), {})
        if held is not None and readers.get(held.address.upper(), self.name) == self.name:
            _LOGGER.info(
                "%s: the adapter is connected to %s already (left so by an earlier run or a "
                "failed disconnect); taking the link over",
                self.name,
                held.address,
            )
            self._address = held.address
        return held

    def _others_said(self, others: list[str]) -> str:
        """The other heart-rate devices seen: with `name:`, a name that is not the advertised
        one exactly is the usual reason none matches; with `address:`, a strap replaced by a
        new one (of the same model, even), which has an address of its own."""
        if not others:
            return ""
        seen = ", ".join(others)
        if self.config.address:
            fix = "`address:` must be this device's own, as `ambient scan` prints it"
        else:
            fix = "`name:` must be the advertised name exactly, as `ambient scan` prints it"
        return f" (heart-rate devices seen: {seen}; {fix})"

    def _matches(self, device: BLEDevice, adv: AdvertisementData) -> bool:
        if self.config.address:
            return device.address.upper() == self.config.address.upper()
        return self.config.name is not None and self.config.name in (device.name, adv.local_name)

    async def _read_device_info(self, client: BleakClient) -> None:
        """Battery (read, then notify when offered) and body sensor location; optional."""
        services = client.services
        battery = services.get_characteristic(BATTERY_LEVEL_UUID)
        if battery is not None:
            try:
                self._on_battery(battery, await client.read_gatt_char(battery))
                if "notify" in battery.properties:
                    await client.start_notify(battery, self._on_battery)
            except BleakError as exc:
                self._count("battery_read_failed")
                _LOGGER.debug("%s: battery level unavailable: %s", self.name, exc)
        location = services.get_characteristic(BODY_SENSOR_LOCATION_UUID)
        if location is not None:
            try:
                self._body_location = parse_body_sensor_location(
                    await client.read_gatt_char(location)
                )
            except (BleakError, MalformedPacket) as exc:
                self._count("location_read_failed")
                _LOGGER.debug("%s: body sensor location unavailable: %s", self.name, exc)

    async def _disconnect(self, client: BleakClient) -> None:
        try:
            await result_or_clock_timeout(self._clock, client.disconnect(), DISCONNECT_TIMEOUT_S)
        except (BleakError, OSError, TimeoutError, EOFError, ClockTimeout) as exc:
            self._count("disconnect_failed")
            _LOGGER.debug("%s: disconnect failed: %s", self.name, exc)

    # -- notifications and the watchdog -----------------------------------------------------

    def _on_measurement(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        now = self._clock.now()
        self._last_notification_at = now
        self._notifications += 1
        if not self._flowing:
            self._flowing = True
            self._backoff.reset()
            self._warnings.reset()
            if self._connected_said_quietly:  # back after sessions that brought nothing
                _LOGGER.info("%s: notifications from %s flow again", self.name, self._address)
        try:
            measurement = parse_measurement(data)
        except MalformedPacket as exc:
            reason = f"packet_{exc.reason}"
            self._count(reason)
            self._log_problem(reason, "%s: bad heart rate packet: %s", self.name, exc)
            _LOGGER.debug("%s: bad packet bytes %s", self.name, bytes(data).hex(" "))
            return
        if _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug("%s: %s", self.name, measurement)
        sink = self._sink
        if sink is None:
            return
        for reading in self._readings.readings(measurement, now):
            try:
                sink.put_nowait(reading)
            except Exception:  # a full queue must not break the BLE callback
                self._count("sink_full")

    def _on_battery(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        try:
            self._battery_pct = parse_battery_level(data)
        except MalformedPacket as exc:
            self._count(f"battery_{exc.reason}")

    def _arm_watchdog(self) -> None:
        last = max(self._last_notification_at or 0.0, self._session_started_at)
        self._watchdog = self._clock.call_at(last + self.config.watchdog, self._check_watchdog)

    def _check_watchdog(self) -> None:
        if self._session_end is None:
            return
        last = max(self._last_notification_at or 0.0, self._session_started_at)
        if self._clock.now() - last >= self.config.watchdog:
            self._watchdog = None
            self._end_session("silent")
        else:
            self._arm_watchdog()

    def _end_session(self, reason: str) -> None:
        if self._session_end is not None and not self._session_end.done():
            self._session_end.set_result(reason)

    # -- bookkeeping ------------------------------------------------------------------------

    def _count(self, reason: str) -> None:
        self._counters.increment(self.scope, reason)

    def _log_problem(self, reason: str, msg: str, *args: object) -> None:
        """A warning, said ever more rarely while the problem goes on (see Throttle); the ones
        held back go to DEBUG."""
        if not self._warnings.log(_LOGGER, logging.WARNING, reason, msg, *args):
            _LOGGER.debug(msg, *args)


def _seen_as(device: BLEDevice, adv: AdvertisementData) -> str:
    """A device seen, for a line: its advertised name (quoted: names have spaces) and its
    address, ``'Polar H10 8C4A2B1D' A0:9E:1A:8C:4A:2B``; one it changes is said private."""
    name = adv.local_name or device.name
    if not name:
        return device.address
    private = " (private: find it by `name:`)" if changes_address(device) else ""
    return f"{name!r} {device.address}{private}"


def changes_address(device: BLEDevice) -> bool:
    """Whether the device advertises from a private address, one it changes every few minutes
    (BlueZ: a `random` address whose two top bits are 01, resolvable, or 00); a static random
    address (top bits 11, many straps') and a public one stay."""
    details = device.details
    props = details.get("props") if isinstance(details, dict) else None
    if not isinstance(props, dict) or props.get("AddressType") != "random":
        return False
    try:
        return int(device.address[:2], 16) >> 6 != 0b11
    except ValueError:  # not a MAC address (macOS gives UUIDs)
        return False


def _bluez_error(exc: BaseException | None) -> str | None:
    """The BlueZ D-Bus error name behind ``exc``: bleak raises a ``BleakDBusError``, which
    bleak-retry-connector wraps (as the cause) in errors of its own."""
    while exc is not None:
        if isinstance(exc, BleakDBusError):
            return exc.dbus_error
        exc = exc.__cause__
    return None


def _failure_reason(exc: BaseException) -> str:
    bluez_error = _bluez_error(exc)
    if bluez_error == BLUEZ_ERROR_IN_PROGRESS:
        return "bluez_in_progress"
    if bluez_error == BLUEZ_ERROR_NOT_READY:
        return "bluez_not_ready"
    if isinstance(exc, TimeoutError):
        return "connect_timeout"
    return "connect_failed"


def _cannot_connect(reason: str, error: BaseException) -> str:
    """A connection that failed (``reason`` from :func:`_failure_reason`), in words."""
    said = str(error) or type(error).__name__
    if reason == "bluez_not_ready":
        return f"cannot connect: the adapter is not ready ({said}); {_POWER_ON}"
    if reason == "bluez_in_progress":
        return f"cannot connect: the adapter is busy ({said}); it passes"
    if reason == "connect_timeout":
        return f"cannot connect: no answer in time ({said})"
    return f"cannot connect ({said})"


def cannot_scan(adapter: str | None, error: BaseException) -> str:
    """Why scanning on ``adapter`` could not start, and the fix for that reason (a BLE sensor
    and ``ambient scan`` say it alike)."""
    why, fix = _scan_problem(error)
    # bleak's reasons are sentences ("No Bluetooth adapters found."): the fix follows a ";"
    return f"cannot scan on {adapter or 'the default adapter'}: {why.rstrip('.')}; {fix}"


_POWER_ON: Final = (
    "is the adapter powered on? (`bluetoothctl power on`; `rfkill list` shows it not blocked, "
    "else `sudo rfkill unblock bluetooth`)"
)
_NO_ADAPTER: Final = (
    "`bluetoothctl list` shows the adapters there are (a dongle plugged in? `adapter:` must "
    "name one of them)"
)
_NO_BLUETOOTHD: Final = "is bluetoothd running? (`sudo systemctl start bluetooth`)"
_NOT_ALLOWED: Final = "is this user in the `bluetooth` group? (`sudo usermod -aG bluetooth USER`)"
_BUSY: Final = "the adapter is busy starting or stopping a scan; try again in a moment"
_NO_DBUS: Final = (
    "is the system D-Bus running (in a container: is the host's "
    "/run/dbus/system_bus_socket mounted)?"
)
_EITHER: Final = "is bluetoothd running, and is this user in the `bluetooth` group?"

#: The fix for each BlueZ / D-Bus error name that says why scanning could not start.
_FIX_FOR_DBUS_ERROR: Final = {
    BLUEZ_ERROR_NOT_READY: _POWER_ON,
    BLUEZ_ERROR_IN_PROGRESS: _BUSY,
    "org.freedesktop.DBus.Error.ServiceUnknown": _NO_BLUETOOTHD,
    "org.freedesktop.DBus.Error.NameHasNoOwner": _NO_BLUETOOTHD,
    "org.freedesktop.DBus.Error.AccessDenied": _NOT_ALLOWED,
}
#: The fix for each reason (by name: bleak adds reasons) bleak gives for Bluetooth not being
#: available (its ``BleakBluetoothNotAvailableError``).
_FIX_FOR_UNAVAILABLE: Final = {
    "POWERED_OFF": _POWER_ON,
    "NO_BLUETOOTH": _NO_ADAPTER,
    "NO_BLE_CENTRAL_ROLE": _NO_ADAPTER,
    "DENIED_BY_SYSTEM": _NOT_ALLOWED,
    "DENIED_BY_USER": _NOT_ALLOWED,
    "DENIED_BY_UNKNOWN": _NOT_ALLOWED,
}


def _scan_problem(error: BaseException) -> tuple[str, str]:
    """What went wrong, in bleak's or the system's words, and what to check for it: an
    ``OSError`` is the system D-Bus (which bleak reaches BlueZ through) not answering."""
    if isinstance(error, OSError):
        said = error.strerror or str(error) or type(error).__name__
        return f"D-Bus not reachable ({said})", _NO_DBUS
    if isinstance(error, EOFError):  # dbus-fast: the bus hung up while connecting
        return "D-Bus closed the connection", _EITHER
    reason = getattr(error, "reason", None)  # bleak >= 2: BleakBluetoothNotAvailableError
    if isinstance(error, BleakError) and isinstance(reason, enum.Enum) and error.args:
        # its str() is the repr of (message, reason)
        return str(error.args[0]), _FIX_FOR_UNAVAILABLE.get(reason.name, _EITHER)
    why = str(error) or type(error).__name__
    if isinstance(error, BleakDBusError):
        return why, _FIX_FOR_DBUS_ERROR.get(error.dbus_error, _EITHER)
    if isinstance(error, BleakError) and why.startswith("adapter ") and "not found" in why:
        return why, _NO_ADAPTER
    return why, _EITHER


def _describe(reason: str) -> str:
    return {
        "link_lost": "link lost; reconnecting",
        "silent": "no notification within the watchdog time; reconnecting",
        "not_found": "device not seen advertising; still looking",
        "read_by_another": "not connecting",
        "subscribe_timeout": (
            "no answer to the heart rate subscription within the watchdog time; reconnecting"
        ),
    }.get(reason, reason)
