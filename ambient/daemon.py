"""Wires sensors → signals → rules → actuators for one config, and runs them until told to stop.

The same wiring runs live (``ambient run``), faster than real time (``--speed``), and on a
virtual clock (``ambient simulate``). Nothing imports this module but the CLI.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ambient import __version__
from ambient.actuators.dispatch import ActionDispatcher
from ambient.clock import Clock, RealClock
from ambient.config import AmbientConfig, ConfigError, load_config
from ambient.config.durations import duration_text
from ambient.config.sensors import configured_beats_by_person
from ambient.connections import Connections
from ambient.counters import Counters
from ambient.hub import Hub
from ambient.memory import release_freed_heap
from ambient.messages import ExternalEvent, SignalUpdate, TraceRecord
from ambient.pipeline import DirectSink, ReadingQueue
from ambient.ports import ReadingSink, Sensor, Service
from ambient.reading_stream import ReadingFeed
from ambient.readings import Reading
from ambient.recordings import RecordingError, RecordingWriter
from ambient.sdnotify import SystemdNotifier, run_watchdog
from ambient.sensors.factory import beats_by_source, build_sensor, stale_after_by_source
from ambient.store import Store, encrypt_at_start

if TYPE_CHECKING:
    from ambient.signals.engine import SignalEngine
    from ambient.status import StatusServer

_LOGGER = logging.getLogger(__name__)

QUEUE_SIZE = 10_000
SENSOR_RESTART_S = 5.0
SHUTDOWN_BUDGET_S = 1.5

Outcome = Literal["stop", "reload", "done"]


@dataclass
class DaemonOptions:
    """How to run a config: live or virtual, performing actions or only reporting them."""

    report_only: bool = False
    #: Replace the configured sensors (``simulate --recording``), or ``None`` to build them.
    sensors: list[Sensor] | None = None
    #: Skip the configured store (a simulation must never touch real state).
    store_in_memory: bool = False
    #: Write every reading here (``ambient record``); then signals and rules do not run.
    record_to: RecordingWriter | None = None
    #: Extra listeners for traces (the simulate timeline, the live timeline on a TTY).
    trace_listeners: list[Callable[[TraceRecord], None]] = field(default_factory=list)
    #: Extra listeners for signal updates (evaluate's unknown shares, the plots).
    signal_listeners: list[Callable[[SignalUpdate], None]] = field(default_factory=list)
    #: HA entity states given up front (``simulate --state``), so HA conditions run offline.
    entity_states: dict[str, str] = field(default_factory=dict)
    #: Stop when every sensor has finished (recordings that do not loop).
    exit_when_sensors_done: bool = True
    #: Start the systemd notifier and the status socket (the real daemon only).
    services: bool = True
    #: The seed of `choose_calming`'s draws on a virtual clock (live draws are fresh).
    choice_seed: int = 0


class Daemon:
    def __init__(
        self,
        config: AmbientConfig,
        clock: Clock,
        options: DaemonOptions | None = None,
        config_path: Path | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.options = options or DaemonOptions()
        self.config_path = config_path
        self.counters = Counters()
        clock.on_callback_failure = lambda name: self.counters.increment("clock", name)
        self.started_monotonic = time.monotonic()
        self._wake = asyncio.Event()
        self._request: Outcome | None = None
        self._status: Callable[[], dict[str, Any]] | None = None
        self._notifier: SystemdNotifier | None = None
        #: A config read and built on SIGHUP, waiting for the running one to stop.
        self._next_config: AmbientConfig | None = None
        #: The config a reload replaced, until the new one is wired.
        self._previous_config: AmbientConfig | None = None
        #: The signal engine a reload replaced: the new one goes on with its people's state.
        self._previous_signals: SignalEngine | None = None
        #: Clock time when the sensors of the running config started (the timeline's zero).
        self.started_at = clock.now()
        #: Every processed reading, for `ambient record` clients of the status socket.
        self.readings = ReadingFeed()
        #: The signal that asked the daemon to stop (SIGTERM, SIGINT), named in its last line.
        self._stopped_by: signal.Signals | None = None
        #: What SIGCONT tells (the running config's insights): the process was paused.
        self._on_resume: Callable[[], None] | None = None

    # -- control -----------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._request = "stop"
        self._wake.set()

    def request_reload(self) -> None:
        """Read the config file and build its whole wiring while the running one carries on;
        only a config that builds replaces it. Anything else is one log line, nothing stops."""
        if self._request is not None:
            return
        new_config = self._read_new_config()
        if new_config is None:
            return
        self._next_config = new_config
        self._request = "reload"
        if self._notifier is not None:
            self._notifier.reloading()
        self._wake.set()

    def stop_on_signal(self, signum: signal.Signals) -> None:
        """Stop, and say at the end which signal asked (the journal tells a systemd stop or
        a reboot from a crash)."""
        self._stopped_by = self._stopped_by or signum
        self.request_stop()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stop_on_signal, signal.SIGTERM)
        loop.add_signal_handler(signal.SIGINT, self.stop_on_signal, signal.SIGINT)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        # Not the loop's handler: that one runs after the timers that came due during the
        # pause (they would count the held values over it); this one runs first.
        signal.signal(signal.SIGCONT, self._resumed)

    def _resumed(self, signum: int, frame: object) -> None:
        """SIGCONT: the process goes on after a stop (``kill -STOP``, Ctrl-Z) that neither
        clock shows."""
        on_resume = self._on_resume
        if on_resume is not None:
            on_resume()

    async def run(self) -> int:
        """Run until stopped; on SIGHUP reload the config, keeping the running one if invalid."""
        if self.options.services:
            self._notifier = SystemdNotifier()
        while True:
            outcome = await self._run_config(self.config)
            if outcome != "reload":
                if self._notifier is not None:
                    self._notifier.stopping()
                ran_s = time.monotonic() - self.started_monotonic
                if self._stopped_by is not None:
                    _LOGGER.info(
                        "Stopped on %s after %s", self._stopped_by.name, duration_text(ran_s)
                    )
                elif outcome == "done" and self.options.services and self.options.record_to is None:
                    # `run` only: simulate and record say in their own output how they ended.
                    _LOGGER.info("Stopped: its recordings ended after %s", duration_text(ran_s))
                return 0
            self._request = None
            self._wake.clear()
            if self._next_config is not None:
                self._previous_config = self.config
                self.config, self._next_config = self._next_config, None
                _LOGGER.info("Config reloaded from %s", self.config_path)

    def _read_new_config(self) -> AmbientConfig | None:
        """The config file's new content, if it loads and its wiring builds; else None, logged."""
        if self.config_path is None:
            _LOGGER.warning("Reload requested, but there is no config file to read")
            return None
        try:
            new_config = load_config(self.config_path)
            self._trial_wiring(new_config)
        except ConfigError as exc:
            self.counters.increment("config", "reload_rejected")
            count = len(exc.issues)
            _LOGGER.error(
                "New config rejected, keeping the running one (%d problem%s):\n%s",
                count,
                "" if count == 1 else "s",
                exc,
            )
            return None
        except Exception as exc:  # whatever it is, the running config stays
            self.counters.increment("config", "reload_rejected")
            _LOGGER.error(
                "New config rejected, keeping the running one: it cannot be started: %s: %s",
                type(exc).__name__,
                exc,
            )
            return None
        return new_config

    def _trial_wiring(self, config: AmbientConfig) -> None:
        """Build every part for ``config`` as ``_wire`` does, on a clock that never runs and an
        in-memory store, then drop it: a part that cannot be built fails here, not after the
        running config has stopped. Nothing runs, nothing outside the process is touched."""
        from dataclasses import replace

        from ambient.clock import VirtualClock

        options = replace(
            self.options,
            store_in_memory=True,
            services=False,
            trace_listeners=[],
            signal_listeners=[],
        )
        Daemon(config, VirtualClock(self.clock.now()), options)._wire(config)

    # -- one config --------------------------------------------------------------------------

    async def _run_config(self, config: AmbientConfig) -> Outcome:
        # The status socket first: a second daemon on the same store stops here, before it
        # opens the store, whose state it would write back over the first one's on its way out.
        claimed_for = config
        status_server = await self._claim_status_socket(config)
        try:
            wired = await self._wire_or_go_back(config)
            if wired is None:  # stopped while the start waited for the plain store
                return "stop"
            config, wiring = wired
            if config is not claimed_for:  # back on the previous config: its store's socket
                if status_server is not None:
                    await status_server.stop(reloading=True)
                status_server = await self._claim_status_socket(config)
            self._status = lambda: self._status_document(config, wiring)
            if wiring.insights is not None:
                self._on_resume = wiring.insights.resumed_after_pause
            if self.options.record_to is None:  # a recorder arms no schedule: no rule decides
                await wiring.rules.start()
            try:
                outcome = await self._serve(config, wiring)
                if outcome == "reload":
                    self._previous_signals = wiring.signals
                return outcome
            finally:
                if not wiring.rules_stopped:
                    await asyncio.wait_for(wiring.rules.stop(), SHUTDOWN_BUDGET_S)
                wiring.signals.close()  # flushes the baselines
                if wiring.insights is not None:
                    self._on_resume = None
                    wiring.insights.close()  # saves the open day
                if wiring.calming is not None:
                    wiring.calming.close()  # its timers would fire on the closed store
                wiring.store.close()
        finally:
            if status_server is not None:  # a reload: a recorder beside it connects again
                await status_server.stop(reloading=self._request == "reload")

    async def _wire_or_go_back(self, config: AmbientConfig) -> tuple[AmbientConfig, _Wiring] | None:
        """``config`` wired; a reloaded config that fails only now (its store cannot be opened:
        the trial used one in memory) is logged and the previous config wired again. None:
        asked to stop while waiting to encrypt the plain store (nothing opened, nothing wired)."""
        previous, self._previous_config = self._previous_config, None
        carried, self._previous_signals = self._previous_signals, None
        try:
            # A plain file to encrypt waits on the clock (a real one: the other process's).
            if not self.options.store_in_memory and not await encrypt_at_start(
                config.store,
                self.clock.for_outside_links(),
                stopping=lambda: self._request == "stop",
            ):
                return None
            return config, self._wire(config, carried)
        except Exception as exc:
            if previous is None:
                raise
            self.counters.increment("config", "reload_rejected")
            _LOGGER.error(
                "New config could not be started, going back to the previous one: %s: %s",
                type(exc).__name__,
                exc,
            )
            self.config = previous
            return previous, self._wire(previous, carried)

    def _wire(self, config: AmbientConfig, carried: SignalEngine | None = None) -> _Wiring:
        """Build every part for one config and connect them; nothing runs yet. ``carried``:
        the signal engine a reload replaced, whose people's state the new one goes on with."""
        from ambient.actuators.ha_breathing import ScriptPreview
        from ambient.insights.wiring import add_insights
        from ambient.interventions.wiring import add_interventions
        from ambient.rules.engine import RuleEngine
        from ambient.signal_readers import rules_first, signals_read
        from ambient.signals.engine import SignalEngine

        opts = self.options
        hub = Hub()
        for listener in opts.trace_listeners:
            hub.on_trace(listener)
        store = Store.from_config(config.store, in_memory=opts.store_in_memory, migrate=True)
        # A recorder runs beside the daemon: a broker client of its own, never announcing.
        role = "record" if opts.record_to is not None else None
        # A recorder only reads: it performs no action and announces nothing (no discovery,
        # no rule listening to HA or MQTT), so it never doubles or clobbers a daemon's.
        acting = not opts.report_only and opts.record_to is None
        connections = Connections(config, self.clock, self.counters, role, store)
        zone = connections.zone
        # A live daemon's status and HA entities show every signal, as do update listeners.
        read = signals_read(
            config,
            every_signal=not opts.report_only or opts.services or bool(opts.signal_listeners),
        )
        # Then the rules hear theirs before the others are worked out (an action leaves sooner).
        first = rules_first(config, read, virtual=self.clock.virtual)
        signals = SignalEngine(
            config.signals,
            config.people,
            self.clock,
            store,
            on_update=hub.publish_signals if first is None else hub.publish_later_signals,
            counters=self.counters,
            zone=zone,
            read=read,
            first=first,
            on_first_update=None if first is None else hub.publish_first_signals,
            stale_after_by_source=stale_after_by_source(config.sensors),
            beats_by_source=beats_by_source(config.sensors),
            configured_beats=configured_beats_by_person(config.sensors, config.person_ids()),
        )
        # What a running breathing session does later is its rule's trace: kept by the rules.
        actuators = (
            _build_actuators(connections, store, lambda record: rules.emit_trace(record))
            if acting
            else []
        )
        if acting and config.homeassistant is not None:
            hub.status_providers["home_assistant"] = _held_in_home_assistant(actuators)
        dispatcher = ActionDispatcher(
            self.clock,
            actuators,
            report_only=not acting,
            # HA and the broker answer in real time: under `--speed` a per-attempt timeout on
            # the scaled clock would give them milliseconds. TTLs stay on the daemon's clock.
            timeout_clock=self.clock.for_outside_links(),
            preview=ScriptPreview(config.display_names(), zone) if opts.report_only else None,
        )
        insights, view = add_insights(
            config, self.clock, store, signals, hub, connections if acting else None
        )
        calming = add_interventions(
            config,
            self.clock,
            store,
            signals.norm,
            hub,
            connections if acting else None,
            choice_seed=opts.choice_seed,
        )
        rules = RuleEngine(
            config,
            self.clock,
            store,
            view,
            dispatcher,
            hub.publish_trace,
            calming=calming,
            counters=self.counters,
        )
        hub.on_signals(rules.on_signals, first=first is not None)
        if insights is not None:
            hub.on_signals(insights.on_signals)
        hub.on_event(rules.on_event)
        for signal_listener in opts.signal_listeners:
            hub.on_signals(signal_listener)
        for entity_id, entity_state in opts.entity_states.items():
            event = ExternalEvent(self.clock.now(), "ha_state", entity_id, {"state": entity_state})
            hub.publish_event(event)

        sensors = (
            opts.sensors
            if opts.sensors is not None
            else [build_sensor(s, i, connections) for i, s in enumerate(config.sensors)]
        )
        sensor_status = _SensorStatus(sensors, self.clock)
        record_to = opts.record_to
        feed = self.readings if opts.services else None

        last_reading_at = sensor_status.last_reading_at

        def process(reading: Reading) -> None:
            last_reading_at[reading.source] = reading.time  # (no call: at every reading)
            if feed:
                feed.publish(reading)
            if record_to is not None:
                record_to.write(reading)
            else:
                signals.feed(reading)

        queue = ReadingQueue(QUEUE_SIZE, self.counters, process)
        sink: ReadingSink = DirectSink(process) if self.clock.virtual else queue
        services: list[Service] = []
        flush_at_stop: list[Callable[[], Awaitable[None]]] = []
        if config.role == "satellite" and record_to is None:
            # A satellite only forwards its readings to the central instance over MQTT.
            from ambient.actuators.mqtt_satellite import SatelliteForwarder

            forwarder = SatelliteForwarder(connections.mqtt(), self.clock, self.counters)
            sink = forwarder
            services = [*connections.services(), forwarder]
        elif record_to is not None:
            services = connections.services()  # the sensors' connections, nothing more
        elif not opts.report_only:
            services = self._live_services(
                config, connections, hub, rules, dispatcher, flush_at_stop
            )
            if store.path is not None:
                from ambient.privacy.retention import Retention

                services.append(Retention.for_config(config, store, self.clock))
        if opts.services and not self.clock.virtual:  # is the system clock synchronised?
            from ambient.clock_sync import ClockSyncWatch

            clock_sync = ClockSyncWatch(self.clock)
            services.append(clock_sync)
            hub.status_providers["clock"] = clock_sync.status
        if not opts.report_only and config.homeassistant is not None:
            hub.status_providers["home_assistant_connection"] = _home_assistant_link(connections)
        hub.status_providers.update(
            sensors=sensor_status.entries, rules=rules.status, paused=lambda: rules.paused
        )
        if carried is not None:  # last: wiring that fails before leaves the state where it was
            kept = signals.take_over(carried)
            _LOGGER.info("Signal state carried over the reload: %s", ", ".join(kept) or "none")
        return _Wiring(
            store,
            signals,
            rules,
            sensors,
            sensor_status,
            services,
            _arbitrated(config, sink, self.counters, replaying=opts.sensors is not None),
            queue,
            insights=insights,
            calming=calming,
            status_providers=hub.status_providers,
            flush_at_stop=flush_at_stop,
        )

    async def _serve(self, config: AmbientConfig, wiring: _Wiring) -> Outcome:
        """Run the services, the consumer and the sensors until stopped or done; then stop
        the sensors, process what they left in the queue, end the rules while connections are
        still up (a restore in flight completes), and only then the services."""
        async with asyncio.TaskGroup() as group:
            background = [group.create_task(s.run()) for s in wiring.services]
            if not self.clock.virtual:
                background.append(group.create_task(wiring.queue.consume()))
            self.started_at = self.clock.now()
            sensor_tasks = [
                group.create_task(self._run_sensor(s, wiring.sink)) for s in wiring.sensors
            ]
            background += await self._start_process_services(config, group)
            _LOGGER.info(
                "Running: %s, %s%s",
                counted(len(wiring.sensors), "sensor"),
                "recording (no rule runs)"
                if self.options.record_to is not None
                else counted(len(config.rules), "rule"),
                " (actions reported, not performed)" if self.options.report_only else "",
            )
            outcome = await self._wait(sensor_tasks)
            for task in sensor_tasks:
                task.cancel()
            await asyncio.gather(*sensor_tasks, return_exceptions=True)
            wiring.queue.drain()
            wiring.rules_stopped = True
            await asyncio.wait_for(wiring.rules.stop(), SHUTDOWN_BUDGET_S)
            for flush in wiring.flush_at_stop:  # what a publisher holds back, while connected
                try:
                    await asyncio.wait_for(flush(), SHUTDOWN_BUDGET_S)
                except TimeoutError:
                    _LOGGER.warning("%s: not flushed at shutdown", flush.__qualname__)
            for task in background:
                task.cancel()
        return outcome

    def _live_services(
        self,
        config: AmbientConfig,
        connections: Connections,
        hub: Hub,
        rules: Any,
        dispatcher: ActionDispatcher,
        flush_at_stop: list[Callable[[], Awaitable[None]]],
    ) -> list[Service]:
        """Outside connections in use, HA state watching, MQTT triggers and discovery, and the
        commands that HA's pause switch and breathing button send. A service that holds back
        what it sends adds its flush to ``flush_at_stop``."""
        from ambient.actuators.commands import CommandHandler
        from ambient.sensors.events import watch_ha_entities, watch_mqtt_topics

        hub.on_event(CommandHandler(config, self.clock, dispatcher).on_event)
        if config.mqtt is not None and (topics := rules.mqtt_topics_used()):
            watch_mqtt_topics(connections.mqtt(), topics, self.clock, hub.publish_event)
        if config.homeassistant is not None and (entities := rules.entities_used()):
            client = connections.homeassistant()
            watch_ha_entities(client, entities, self.clock, hub.publish_event)
            client.watch_missing(rules.entity_missing)
        services: list[Service] = []
        if config.mqtt is not None and config.mqtt.discovery and config.role == "standalone":
            from ambient.actuators.mqtt_discovery import DiscoveryPublisher

            publisher = DiscoveryPublisher(config, connections.mqtt(), hub, self.clock)
            services.append(publisher)
            flush_at_stop.append(publisher.flush)
        return [*connections.services(), *services]

    async def _claim_status_socket(self, config: AmbientConfig) -> StatusServer | None:
        """The status socket beside the store, for the real daemon only; it answers
        "starting" until the config is wired. A live one is another daemon: StatusSocketBusy."""
        if not self.options.services or config.store.path is None:
            return None
        from ambient.private_files import make_private_dir
        from ambient.status import StatusServer, socket_path_for, user_link_path

        try:  # the socket lives beside the store, in the folder the store would make
            make_private_dir(config.store.path.parent)
        except OSError:
            return None  # the store, opened next, says in one line what is wrong there
        server = StatusServer(
            socket_path_for(config.store.path),
            self.status,
            link=user_link_path(),
            readings=self.readings,
        )
        await server.start()
        return server

    async def _start_process_services(
        self, config: AmbientConfig, group: asyncio.TaskGroup
    ) -> list[asyncio.Task[None]]:
        """systemd notification, for the real daemon only."""
        if not self.options.services:
            return []
        tasks: list[asyncio.Task[None]] = []
        notifier = self._notifier
        if notifier is not None:
            notifier.ready(
                f"{counted(len(config.sensors), 'sensor')} started, "
                f"{counted(len(config.rules), 'rule')} armed"
            )
            if notifier.watchdog_interval_s():
                # Real time on purpose, whatever the daemon's clock: systemd measures
                # wall-clock liveness of this loop.
                tasks.append(group.create_task(run_watchdog(notifier, RealClock())))
        release_freed_heap()
        return tasks

    async def _wait(self, sensor_tasks: list[asyncio.Task[None]]) -> Outcome:
        wake = asyncio.ensure_future(self._wake.wait())
        try:
            while True:
                pending = [t for t in sensor_tasks if not t.done()]
                if self._request is not None:
                    return self._request
                # With no sensors at all (rules on HA entities, times, MQTT triggers) there
                # is nothing to finish: run until stopped.
                if self.options.exit_when_sensors_done and sensor_tasks and not pending:
                    return "done"
                await asyncio.wait([wake, *pending], return_when=asyncio.FIRST_COMPLETED)
        finally:
            wake.cancel()

    async def _run_sensor(self, sensor: Sensor, sink: ReadingSink) -> None:
        """Sensors own their reconnects; one that crashes anyway is logged and restarted."""
        while True:
            try:
                await sensor.run(sink)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.counters.increment(f"sensor:{sensor.name}", "crashed")
                if isinstance(exc, RecordingError):  # the file is the user's to fix: one line
                    _LOGGER.error(
                        "Sensor %s failed: %s; restarting in %.0f s",
                        sensor.name,
                        exc,
                        SENSOR_RESTART_S,
                    )
                else:
                    _LOGGER.exception(
                        "Sensor %s failed; restarting in %.0f s", sensor.name, SENSOR_RESTART_S
                    )
                await self.clock.sleep(SENSOR_RESTART_S)

    # -- status ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return self._status() if self._status else {"version": __version__, "starting": True}

    def _status_document(self, config: AmbientConfig, wiring: _Wiring) -> dict[str, Any]:
        signals, rules, providers = wiring.signals, wiring.rules, wiring.status_providers
        people: dict[str, dict[str, Any]] = {}
        for person in signals.people():
            people[person] = {
                name: {"value": value.value, "reason": value.reason}
                for name, value in sorted(signals.snapshot(person).items())
            }
        return {
            "version": __version__,
            "instance": config.instance,
            "pid": os.getpid(),  # what `kill -HUP` reloads, for a daemon started by hand
            "timezone": getattr(wiring.signals.zone, "key", None),  # the status page's times
            "uptime_s": round(time.monotonic() - self.started_monotonic, 1),
            "sensors": wiring.sensor_status.entries(),
            "people": people,
            "rules": rules.status(),
            "paused": rules.paused,
            "queues": {"readings": wiring.queue.qsize()},
            "counters": self.counters.snapshot(),
            "store": {
                "path": None if wiring.store.path is None else str(wiring.store.path),
                "encrypted": wiring.store.encrypted,
            },
            # Parts a config may leave out: null when it does.
            **{
                part: provider() if (provider := providers.get(part)) is not None else None
                for part in _OPTIONAL_STATUS_PARTS
            },
        }


#: Status parts of features a config may leave out (check-ins, HA actions, the clock watch).
_OPTIONAL_STATUS_PARTS = ("check_ins", "home_assistant", "home_assistant_connection", "clock")


@dataclass
class _Wiring:
    """The parts built for one config, as `_serve` runs them."""

    store: Store
    signals: Any  # ambient.signals.engine.SignalEngine (imported lazily)
    rules: Any  # ambient.rules.engine.RuleEngine (imported lazily)
    sensors: list[Sensor]
    sensor_status: _SensorStatus
    services: list[Service]
    sink: ReadingSink
    queue: ReadingQueue
    rules_stopped: bool = False
    insights: Any = None  # ambient.insights.service.Insights (imported lazily)
    calming: Any = None  # ambient.interventions.chooser.CalmingChooser (imported lazily)
    #: What parts add to the status document (check-in counts, insights, calming odds).
    status_providers: dict[str, Callable[[], Any]] = field(default_factory=dict)
    #: What services hold back and send at a stop, while their connection is still up.
    flush_at_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


class _SensorStatus:
    """Every sensor's own diagnostics, plus what all of them share (name, type, person, and
    the age of the last reading the pipeline saw from it)."""

    def __init__(self, sensors: list[Sensor], clock: Clock) -> None:
        self.sensors = sensors
        self.clock = clock
        #: By source: the time of the last reading the pipeline saw from it (the pipeline
        #: writes it at every reading).
        self.last_reading_at: dict[str, float] = {}

    def entries(self) -> list[dict[str, Any]]:
        now = self.clock.now()
        entries = []
        for sensor in self.sensors:
            sensor_config = getattr(sensor, "config", None)
            last = self.last_reading_at.get(sensor.name)
            entry: dict[str, Any] = {
                "name": sensor.name,
                "type": getattr(sensor_config, "type", None),
                "person": getattr(sensor_config, "person", None),
                "last_reading_age_s": None if last is None else round(now - last, 3),
            }
            entry.update(sensor.diagnostics())
            entries.append(entry)
        return entries


def counted(number: int, noun: str) -> str:
    """``1 rule``, ``2 rules``: the start-up lines read as sentences."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _held_in_home_assistant(actuators: list[Any]) -> Callable[[], Any]:
    """What the HA actuator holds for open episodes (lights, players, who took them over), for
    ``ambient status``: what ambient will put back, and what a person has made their own."""
    from ambient.actuators.homeassistant import HomeAssistantActuator

    actuator = next(a for a in actuators if isinstance(a, HomeAssistantActuator))
    return actuator.diagnostics


def _home_assistant_link(connections: Connections) -> Callable[[], Any]:
    """The Home Assistant client's state and last error, for ``ambient status``: a token HA
    rejected stops every action to HA until a reload, which a counter alone did not say. The
    error names HA's address and its answer, never the token."""

    def link() -> dict[str, Any] | None:
        from ambient.connections.homeassistant import HomeAssistantClient

        services = connections.services()
        client = next((c for c in services if isinstance(c, HomeAssistantClient)), None)
        if client is None:
            return None
        shown: dict[str, Any] = {"state": client.status, "last_error": client.last_error}
        if client.endpoint is not None and client.endpoint.via_supervisor:
            shown["retrying"] = True  # the add-on's Supervisor token: tried again if rejected
        return shown

    return link


def _build_actuators(
    connections: Connections, store: Store, trace: Callable[[TraceRecord], None]
) -> list[Any]:
    from ambient.actuators.factory import build_actuators

    return list(build_actuators(connections, store, trace))


def _arbitrated(
    config: AmbientConfig, sink: ReadingSink, counters: Counters, *, replaying: bool
) -> ReadingSink:
    """When several sensors may give one person's heart readings, only one source's count at
    a time (a strap, then a watch's beats, then heart rate alone; then `priority`). A replay
    runs the config's recordings only."""
    from ambient.sensors.heart_sources import arbitrated

    sensors = [s for s in config.sensors if not replaying or s.type == "recording"]
    return arbitrated(
        sensors,
        sink,
        stale_after_by_source=stale_after_by_source(config.sensors),
        counters=counters,
    )
