"""One scan per adapter for all the BLE sensors of a process.

BlueZ gives each D-Bus client one discovery session per adapter, and bleak talks to BlueZ over
one D-Bus connection per process. So a second scanner started while one runs is refused
(``org.bluez.Error.InProgress``). And one scanner's stop would end the session for all. The
sensors of one ambient (two people's straps, a strap and a watch) therefore do not scan each
for themselves: they listen to their adapter's shared scan, which runs while anyone listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable
from typing import Final

from bleak import BleakScanner
from bleak.args.bluez import BlueZScannerArgs
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakError

from ambient.asyncutil import result_or_clock_timeout
from ambient.clock import Clock
from ambient.config.sensors import USUAL_DEFAULT_ADAPTER

#: How long a scan's start, cancelled, is waited for so that it can be stopped.
ANSWER_S: Final = 10.0

#: Called with each advertisement seen.
AdvertisementListener = Callable[[BLEDevice, AdvertisementData], None]


class SharedScan:
    """The scan of one adapter: started by its first listener, stopped after its last."""

    def __init__(self, adapter: str | None, backend: type[BaseBleakScanner] | None) -> None:
        self.adapter = adapter
        #: Each listener, and the sensor it is (its name, for a line about this scan).
        self.listening: dict[AdvertisementListener, str] = {}
        self._bluez: BlueZScannerArgs = {"adapter": adapter} if adapter else {}
        self._backend = backend
        self._scanner: BleakScanner | None = None
        self._lock = asyncio.Lock()  # a start or stop at a time

    @property
    def running(self) -> bool:
        return self._scanner is not None

    async def listen(self, listener: AdvertisementListener, clock: Clock, who: str = "") -> None:
        """Give ``listener`` (of sensor ``who``) every advertisement until
        :meth:`stop_listening`, starting the scan if none runs; raises what starting it raises
        (and then does not listen)."""
        async with self._lock:
            if self._scanner is None:
                await self._start(clock)
            self.listening[listener] = who

    async def stop_listening(self, listener: AdvertisementListener, *, found: bool) -> None:
        """No more advertisements for ``listener``; the scan stops when nobody listens. A
        listener that leaves without having ``found`` its device starts the scan again for the
        others: a scan can go deaf unseen (bluetoothd restarted), and while the others' searches
        overlap it would never stop and start again on its own."""
        async with self._lock:
            self.listening.pop(listener, None)
            if self._scanner is None:
                return
            if not self.listening:
                await self._stop()
            elif not found:
                await self._stop()
                with contextlib.suppress(BleakError, OSError, EOFError):
                    await self._start(None)  # if it cannot, the next listener says why

    async def _start(self, clock: Clock | None) -> None:
        scanner = BleakScanner(self._seen, bluez=self._bluez, backend=self._backend)
        starting = asyncio.ensure_future(scanner.start())
        try:
            await asyncio.shield(starting)
        except asyncio.CancelledError:
            # stopped (a reload) while BlueZ may be starting the search: end it once started
            # (waiting for BlueZ's answer a while), or BlueZ keeps this program's one search
            # and refuses every later one
            if clock is not None:
                with contextlib.suppress(Exception):
                    await result_or_clock_timeout(clock, asyncio.shield(starting), ANSWER_S)
                    await result_or_clock_timeout(clock, scanner.stop(), ANSWER_S)
            raise
        self._scanner = scanner

    async def _stop(self) -> None:
        scanner, self._scanner = self._scanner, None
        if scanner is not None:
            with contextlib.suppress(BleakError, OSError, TimeoutError, EOFError):
                await scanner.stop()

    def _seen(self, device: BLEDevice, adv: AdvertisementData) -> None:
        for listener in list(self.listening):
            listener(device, adv)


#: Per event loop (a process runs one; tests one each), the shared scan of each adapter.
_SCANS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str | None, type[BaseBleakScanner] | None], SharedScan]
] = weakref.WeakKeyDictionary()


def same_adapter_named_otherwise(
    adapter: str | None, backend: type[BaseBleakScanner] | None
) -> SharedScan | None:
    """A running scan that is of ``adapter`` too, for all one can tell, under another name:
    `hci0` where the other is not named (the default adapter); another name beside the
    default is a second adapter (a dongle). BlueZ refuses a program's second search of one
    adapter (``InProgress``) for as long as the first one runs."""
    for (other, other_backend), scan in _SCANS.get(asyncio.get_running_loop(), {}).items():
        named_once = (other is None) != (adapter is None)
        usual_default = (adapter or other) == USUAL_DEFAULT_ADAPTER
        if other_backend is backend and named_once and usual_default and scan.running:
            return scan
    return None


def shared_scan(adapter: str | None, backend: type[BaseBleakScanner] | None) -> SharedScan:
    """The running loop's scan of ``adapter`` (``None``: the default one) through ``backend``."""
    scans = _SCANS.setdefault(asyncio.get_running_loop(), {})
    key = (adapter, backend)
    if key not in scans:
        scans[key] = SharedScan(adapter, backend)
    return scans[key]
