"""The fast path beside Home Assistant's own automation, on the same job: an MQTT heart-rate
message above 100 bpm → a light toggled → HA reports the light's new state.

Everything real, on loopback: Mosquitto (tests/fixtures), Home Assistant (the cached test venv)
with its MQTT integration and one YAML automation, and an `ambient run` process reading the
same broker and calling the same HA. Iterations alternate between the two, each on its own
demo light and topic:

- HA: publish ``{"hr": 120}`` → automation (trigger mqtt, condition hr > 100) → light.toggle;
- ambient: publish ``{"hr": 60}`` (re-arms the rule), then ``{"hr": 120}`` → signal `hr` →
  rule (hr above 100, fires on the crossing) → light.toggle.

Each timed publish follows 20 ms of quiet (``--quiet-ms``), so neither path pays for the end of
the other's iteration (HA still sending results, writing its recorder) nor ambient for its 60.

Timed from the publish of the 120 until a separate WebSocket connection to HA sees the light's
state_changed (the bench's own, looking at each event once: a watcher whose cost grows with the
events seen so far makes the ratio drift over a run; ``--probe-watcher`` shows it). Prints
p50/p99 of each and ambient's ratio to HA (aim ≤ 1.0x on both), how steady the ratio is, and
the same up to the moment HA wrote the light's state (its ``last_changed``, on the wall clock
the bench shares): that leaves out the bench's own wake-up, which what each path does after the
light (ambient's trace and HA entities, HA's automation trace) can delay on a busy machine.

Then where ambient's time goes: the ambient process stamps each stage of the 120's way
(``AMBIENT_STAGE_TIMES``, see ambient/stage_times.py) on the same monotonic clock as the bench,
and the bench prints p50/p99 of each step, from the publish to the state change seen, with the
task switches between the message's receipt and the call's frame written, and the p50 of each
path and of ambient's main steps per batch of iterations (which step moves as the run goes
on). It also counts the timed iterations of each path during which one of ambient's own HA
entity messages (discovery states, rule events) reached the broker's subscribers: HA handles
those while it works.

    python bench/bench_fast_path.py [--n 200] [--ambient-source DIR] [--quiet-ms 20]
                                    [--no-discovery] [--probe-watcher]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import aiohttp
import paho.mqtt.client as paho
from fixtures.homeassistant import (
    HaProbe,
    HomeAssistantInstance,
    _free_port,
    _prepare_config_dir,
    ha_available,
)
from fixtures.mosquitto import MosquittoBroker, mosquitto_available
from paho.mqtt.enums import CallbackAPIVersion

HA_LIGHT = "light.ceiling_lights"
AMBIENT_LIGHT = "light.bed_light"
HA_TOPIC = "bench/ha/heart"
AMBIENT_TOPIC = "bench/ambient/heart"
#: ambient's own HA entities (default base topic and instance), and its availability topic.
ENTITY_TOPICS = "ambient/ambient/#"
STATUS_TOPIC = "ambient/ambient/status"
WAIT_S = 30.0
CHECKOUT = Path(__file__).resolve().parents[1]
#: Quiet before each timed publish, for both paths: HA finishes what the previous iteration
#: left it (its result, trace, recorder), and ambient handles the 60 that re-arms its rule.
QUIET_MS = 20.0
#: The stages ambient stamps (ambient/stage_times): those a firing reading passes before its
#: rule fires, and those after (in the order they happen: the action may leave before or after
#: the rest of the reading's processing, depending on the version measured).
BEFORE_FIRING = ("read", "received", "queued", "consumed", "signals")
#: Stages an older version does not stamp (its report leaves them out).
OPTIONAL_STAGES = frozenset({"read"})
AFTER_FIRING = ("processed", "run", "sent")
#: What each step between two stamps is made of, for the report.
STEP_NAMES = {
    ("publish", "received"): "bench publish -> paho hands it over (broker, sockets)",
    ("publish", "read"): "bench publish -> paho reads the socket (broker, loop wake-up)",
    ("read", "received"): "-> paho hands it over (paho's read and MQTT 5 decoding)",
    ("received", "queued"): "-> reading queued (MQTT message, payload; was: + a loop turn)",
    ("queued", "consumed"): "-> taken from the reading queue",
    ("consumed", "signals"): "-> signals worked out, rules hear them",
    ("signals", "fired"): "-> rule fired (trigger, conditions, run record)",
    ("fired", "processed"): "-> rest of the reading's processing",
    ("processed", "run"): "-> action run starts (its task's turn)",
    ("fired", "run"): "-> action handed to the performer (no task's turn)",
    ("run", "sent"): "-> WebSocket frame written (dispatch, actuator, JSON)",
    ("sent", "processed"): "-> rest of the reading's processing (after the frame)",
    ("received", "sent"): "ambient's own share: receipt -> frame written",
    ("read", "sent"): "the same from paho's read of the socket",
    ("sent", "seen"): "HA's share: frame written -> state_changed seen (call_service, event)",
}
#: Consecutive iteration pairs per batch for the ratio's spread across the run.
BATCH = 50
#: The steps whose p50 the report shows per batch (to see which one grows over a run):
#: their first and last stamp ("written": HA's last_changed of the light, on this clock).
BATCHED_STEPS = {
    "ambient's own share": ("received", "sent"),
    "publish -> paho hands it over": ("publish", "received"),
    "HA's share: frame -> state_changed seen": ("sent", "seen"),
    "frame -> light state written": ("sent", "written"),
    "light written -> seen (bench wake-up)": ("written", "seen"),
}

AUTOMATION = {
    "alias": "Heart rate above 100 toggles a light",
    "mode": "queued",
    "triggers": [{"trigger": "mqtt", "topic": HA_TOPIC}],
    "conditions": [
        {"condition": "template", "value_template": "{{ trigger.payload_json.hr > 100 }}"}
    ],
    "actions": [{"action": "light.toggle", "target": {"entity_id": HA_LIGHT}}],
}

AMBIENT_CONFIG = """\
people:
  - id: alex
homeassistant:
  url: {url}
  token: {token}
mqtt:
  host: {host}
  port: {port}
  discovery: {discovery}
sensors:
  - type: mqtt
    topic: {topic}
    person: alex
    metric: hr
    value: hr
signals:
  update_interval: 0
rules:
  - id: fast_path
    person: alex
    mode: parallel
    triggers:
      - trigger: signal
        signal: hr
        above: 100
    actions:
      - action: light.toggle
        target:
          entity_id: {light}
store:
  path: {store}
logging:
  level: WARNING
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def add_mqtt_integration(ha: HomeAssistantInstance, broker: MosquittoBroker) -> None:
    """The MQTT integration through its config flow and the automation through the config API,
    as a user adds them in HA's UI."""
    headers = {"Authorization": f"Bearer {ha.token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(
            f"{ha.url}/api/config/config_entries/flow", json={"handler": "mqtt"}
        ) as reply:
            flow = await reply.json()
        async with http.post(
            f"{ha.url}/api/config/config_entries/flow/{flow['flow_id']}",
            json={"broker": broker.host, "port": broker.port},
        ) as reply:
            done = await reply.json()
            if done.get("type") != "create_entry":
                raise RuntimeError(f"MQTT integration not added: {done}")
        while True:  # set up in the background: the trigger can only attach once it is
            async with http.get(
                f"{ha.url}/api/config/config_entries/entry", params={"domain": "mqtt"}
            ) as reply:
                if [e["state"] for e in await reply.json()] == ["loaded"]:
                    break
            await asyncio.sleep(0.1)  # polling an outside process in a bench
        async with http.post(
            f"{ha.url}/api/config/automation/config/bench_fast_path", json=AUTOMATION
        ) as reply:  # saved and loaded, as the automation editor does
            if reply.status != 200:
                raise RuntimeError(f"automation not saved: {await reply.text()}")


class StateWatcher:
    """The bench's own WebSocket to HA, subscribed to ``state_changed``: each light's changes,
    in order, with when each arrived here and when HA wrote the state (its ``last_changed``).

    Each event is looked at once, as it arrives. The test fixture's probe (``--probe-watcher``)
    keeps every event and searches them all again at each arrival while a change is awaited:
    its cost grew with the run (about 3,000 events in 300 pairs, most of them ambient's own
    entities) and fell on the timed window, in this process and on the machine's two cores."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.arrivals: list[float] = []  # every state_changed, when it arrived here
        self._changes: dict[str, asyncio.Queue[tuple[float, float]]] = {
            entity_id: asyncio.Queue() for entity_id in (HA_LIGHT, AMBIENT_LIGHT)
        }
        self._session: aiohttp.ClientSession | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StateWatcher:
        self._session = aiohttp.ClientSession()
        ws = await self._session.ws_connect(
            self.url.replace("http", "ws", 1) + "/api/websocket", max_msg_size=0
        )
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "access_token": self.token})
        if (answer := await ws.receive_json())["type"] != "auth_ok":
            raise RuntimeError(f"the bench could not authenticate: {answer}")
        await ws.send_json({"id": 1, "type": "subscribe_events", "event_type": "state_changed"})
        if not (answer := await ws.receive_json()).get("success"):
            raise RuntimeError(f"the bench could not subscribe: {answer}")
        self._reader = asyncio.create_task(self._read(ws))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._session is not None:
            await self._session.close()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for raw in ws:
            if raw.type != aiohttp.WSMsgType.TEXT:
                continue
            arrived = time.monotonic()
            message = json.loads(raw.data)
            if message.get("type") != "event":
                continue
            self.arrivals.append(arrived)
            data = message["event"]["data"]
            changes = self._changes.get(data.get("entity_id"))
            if changes is not None and data.get("new_state") is not None:
                last_changed = data["new_state"]["last_changed"]
                changes.put_nowait((arrived, datetime.fromisoformat(last_changed).timestamp()))

    async def next_change(self, entity_id: str) -> tuple[float, float]:
        """The light's next state change: ``time.monotonic()`` when it arrived here, and
        ``time.time()`` when HA wrote the state."""
        return await asyncio.wait_for(self._changes[entity_id].get(), WAIT_S)

    def resync(self) -> None:
        """Count every change seen so far as consumed (after the warm-up)."""
        for changes in self._changes.values():
            while not changes.empty():
                changes.get_nowait()


class ProbeWatcher:
    """The same through the test fixture's probe, as the bench had it (for comparison)."""

    def __init__(self, url: str, token: str) -> None:
        self.probe = HaProbe(url, token)
        self.counts: dict[str, int] = {}

    @property
    def arrivals(self) -> list[float]:
        return [event.at for event in self.probe.events]

    async def __aenter__(self) -> ProbeWatcher:
        await self.probe.__aenter__()
        await self.probe.subscribe("state_changed")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.probe.__aexit__(*exc)

    async def next_change(self, entity_id: str) -> tuple[float, float]:
        def changed(event: Any) -> bool:
            return bool(
                event.event_type == "state_changed" and event.data.get("entity_id") == entity_id
            )

        count = self.counts.get(entity_id, 0) + 1
        events = await self.probe.wait_count(changed, count, WAIT_S)
        self.counts[entity_id] = count
        event = events[count - 1]
        written = datetime.fromisoformat(event.data["new_state"]["last_changed"]).timestamp()
        return float(event.at), written

    def resync(self) -> None:
        for entity_id in (HA_LIGHT, AMBIENT_LIGHT):
            self.counts[entity_id] = sum(
                1
                for e in self.probe.events
                if e.event_type == "state_changed" and e.data.get("entity_id") == entity_id
            )


async def measure(
    ha: HomeAssistantInstance,
    broker: MosquittoBroker,
    store: Path,
    n: int,
    source: Path | None,
    quiet_s: float,
    discovery: bool = True,
    probe_watcher: bool = False,
) -> None:
    """Alternate HA's automation and ambient ``n`` times each; print both and ambient's stages."""
    await add_mqtt_integration(ha, broker)
    config = store.parent / "ambient.yaml"
    config.write_text(
        AMBIENT_CONFIG.format(
            url=ha.url,
            token=ha.token,
            host=broker.host,
            port=broker.port,
            topic=AMBIENT_TOPIC,
            light=AMBIENT_LIGHT,
            store=store,
            discovery="true" if discovery else "false",
        )
    )
    command = [sys.executable, "-m", "ambient", "run", "--config", str(config)]
    env = dict(os.environ)
    stamps_path = store.parent / "stages.tsv"
    env["AMBIENT_STAGE_TIMES"] = str(stamps_path)
    # This checkout's ambient or another's (a before/after comparison). Started outside both:
    # `python -m` puts the working directory ahead of PYTHONPATH.
    env["PYTHONPATH"] = str(source if source is not None else CHECKOUT)
    ambient = subprocess.Popen(  # noqa: ASYNC220 - started once, before timing
        command, env=env, stdout=subprocess.DEVNULL, cwd=store.parent
    )
    windows: list[tuple[float, float]] = []  # ambient's iterations: (publish, seen)
    ha_windows: list[tuple[float, float]] = []
    written_at: list[float] = []  # ambient's iterations: the light's state written (monotonic)
    entity_messages: list[float] = []  # when each of ambient's HA entity messages arrived
    publisher = paho.Client(CallbackAPIVersion.VERSION2)
    publisher.connect(broker.host, broker.port)
    publisher.loop_start()
    # A client of its own, so that receiving never holds up the publisher's sends.
    listener = paho.Client(CallbackAPIVersion.VERSION2)
    listener.on_message = lambda _client, _data, message: (
        entity_messages.append(time.monotonic()) if message.topic != STATUS_TOPIC else None
    )
    listener.connect(broker.host, broker.port)
    listener.subscribe(ENTITY_TOPICS)
    listener.loop_start()
    try:
        watching = (ProbeWatcher if probe_watcher else StateWatcher)(ha.url, ha.token)
        async with watching as watcher:

            async def ha_once() -> tuple[float, float]:
                if quiet_s > 0:
                    await asyncio.sleep(quiet_s)
                started, started_wall = time.monotonic(), time.time()
                publisher.publish(HA_TOPIC, json.dumps({"hr": 120}))
                seen, written = await watcher.next_change(HA_LIGHT)
                ha_windows.append((started, seen))
                return seen - started, written - started_wall

            async def ambient_once() -> tuple[float, float]:
                # The rule fires on the crossing: a 60 first, handled in the quiet before the
                # timing starts (HA's automation gets one message per iteration; so does
                # ambient's timing).
                publisher.publish(AMBIENT_TOPIC, json.dumps({"hr": 60}))
                if quiet_s > 0:
                    await asyncio.sleep(quiet_s)
                started, started_wall = time.monotonic(), time.time()
                publisher.publish(AMBIENT_TOPIC, json.dumps({"hr": 120}))
                seen, written = await watcher.next_change(AMBIENT_LIGHT)
                windows.append((started, seen))
                written_at.append(started + (written - started_wall))
                return seen - started, written - started_wall

            for once in (ha_once, ambient_once):  # warm-up: until each path answers
                while True:
                    try:
                        await asyncio.wait_for(once(), 2)
                        break
                    except TimeoutError:
                        if ambient.poll() is not None:
                            raise RuntimeError(
                                f"ambient run exited with {ambient.returncode}"
                            ) from None
                        print(f"warming up: {once.__name__} not answered yet", file=sys.stderr)
            watcher.resync()
            load_before = _load()
            ha_s: list[tuple[float, float]] = []  # (state_changed seen, state written)
            ambient_s: list[tuple[float, float]] = []
            windows.clear()
            ha_windows.clear()
            written_at.clear()
            for _ in range(n):
                ha_s.append(await ha_once())
                ambient_s.append(await ambient_once())
            arrivals = watcher.arrivals
    finally:
        for client in (publisher, listener):
            client.loop_stop()
            client.disconnect()
        ambient.terminate()
        ambient.wait()
    print(f"load average (1/5/15 min) before: {load_before}, after: {_load()}")
    print(f"state_changed events the bench's WebSocket received: {len(arrivals)}")
    for name, spans in (("HA automation", ha_windows), ("ambient", windows)):
        inside = [sum(1 for at in arrivals if start <= at < end) for start, end in spans]
        print(
            f"{name:<14} other state_changed events before the light's, per iteration: "
            f"mean {statistics.mean(inside):.2f}, max {max(inside)}"
        )
    report(
        "MQTT publish -> light state_changed seen",
        [h[0] for h in ha_s],
        [a[0] for a in ambient_s],
        aim=True,
    )
    print("By HA's own clock, up to the light's state written (its last_changed; the bench's")
    print("wake-up and what each path does after the light is left out):")
    report("MQTT publish -> light state written", [h[1] for h in ha_s], [a[1] for a in ambient_s])
    report_entity_messages(entity_messages, ha_windows, windows)
    if stamps_path.exists():
        report_stages(read_stamps(stamps_path), windows, written_at)
    else:
        print("(no stage times: this ambient does not stamp its stages)")


def _load() -> str:
    """The machine's load average: the ratio moves with it (HA suffers more from a busy CPU)."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def report(what: str, ha_s: list[float], ambient_s: list[float], aim: bool = False) -> None:
    """p50/p99 of each and their ratios; then how steady the ratio is: the median of each
    pair's ratio (an HA and an ambient iteration back to back see the same machine) and the
    p50 ratio of each batch of consecutive pairs. ``aim``: the measure the aim is set on."""
    rows = []
    for name, values in (("HA automation", ha_s), ("ambient", ambient_s)):
        ms = [v * 1000 for v in values]
        rows.append((statistics.median(ms), percentile(ms, 99)))
        print(
            f"{name:<14} {what}  p50 {rows[-1][0]:6.2f} ms"
            f"   p99 {rows[-1][1]:6.2f} ms   (n={len(ms)})"
        )
    p50_ratio, p99_ratio = rows[1][0] / rows[0][0], rows[1][1] / rows[0][1]
    print(f"ambient / HA: p50 {p50_ratio:.2f}x   p99 {p99_ratio:.2f}x")
    paired = statistics.median(a / h for h, a in zip(ha_s, ambient_s, strict=True))
    batches = [
        statistics.median(ambient_s[i : i + BATCH]) / statistics.median(ha_s[i : i + BATCH])
        for i in range(0, len(ha_s) - BATCH + 1, BATCH)
    ]
    spread = " ".join(f"{ratio:.2f}" for ratio in batches)
    print(f"  median of the per-pair ratios {paired:.2f}x; p50 ratio per {BATCH} pairs: {spread}")
    for name, values in (("HA automation", ha_s), ("ambient", ambient_s)):
        p50s = " ".join(
            f"{statistics.median(values[i : i + BATCH]) * 1000:.2f}"
            for i in range(0, len(values) - BATCH + 1, BATCH)
        )
        print(f"  {name} p50 per {BATCH} (ms): {p50s}")
    if aim:
        met = p50_ratio <= 1.0 and p99_ratio <= 1.0
        print(f"aim (ambient <= 1.0x HA at p50 and p99): {'met' if met else 'not met'}")


def report_entity_messages(
    arrivals: list[float], ha_windows: list[tuple[float, float]], windows: list[tuple[float, float]]
) -> None:
    """How many timed iterations of each path had one of ambient's own HA entity messages
    (states, rule events) arrive while HA was working on the light: HA subscribes to them,
    so each one is work for HA inside that window."""
    for name, spans in (("HA automation", ha_windows), ("ambient", windows)):
        hit = sum(1 for start, end in spans if any(start <= at <= end for at in arrivals))
        print(
            f"{name:<14} iterations with an ambient entity message in flight: {hit} of {len(spans)}"
        )


Stamp = tuple[str, float, int]  # stage, time.monotonic() seconds, task (0: a plain callback)


def read_stamps(path: Path) -> list[Stamp]:
    stamps = []
    for line in path.read_text().splitlines():
        stage, ns, task = line.split("\t")
        stamps.append((stage, int(ns) / 1e9, int(task)))
    return stamps


def journey(stamps: list[Stamp], started: float, seen: float) -> list[Stamp] | None:
    """The stamps of the firing reading of one iteration: its ``fired``, the latest stamp of
    each earlier stage before it, the first of each later stage after it (the 60 published
    just before passes the earlier stages too, and may still be in them)."""
    window = [s for s in stamps if started <= s[1] <= seen]
    fired = next((i for i, s in enumerate(window) if s[0] == "fired"), None)
    if fired is None:
        return None
    path: list[Stamp] = []
    for stage in BEFORE_FIRING:
        found = [s for s in window[:fired] if s[0] == stage]
        if not found and stage in OPTIONAL_STAGES:
            continue
        if not found:
            return None
        path.append(found[-1])
    path.append(window[fired])
    later: list[Stamp] = []
    for stage in AFTER_FIRING:
        found = [s for s in window[fired + 1 :] if s[0] == stage]
        if not found:
            return None
        later.append(found[0])
    return path + sorted(later, key=lambda stamp: stamp[1])


def report_stages(
    stamps: list[Stamp], windows: list[tuple[float, float]], written_at: list[float]
) -> None:
    """p50/p99 of each step of ambient's iterations, and the task switches on the way; then
    the p50 of the main steps in each batch of iterations, to show which of them moves as the
    run goes on."""
    steps: dict[tuple[str, str], list[float]] = {}
    switches: list[int] = []
    batched: dict[str, list[list[float]]] = {name: [] for name in BATCHED_STEPS}
    for index, ((started, seen), written) in enumerate(zip(windows, written_at, strict=True)):
        path = journey(stamps, started, seen)
        if path is None:
            continue
        by_stage = {stage: at for stage, at, _task in path}
        by_stage["publish"], by_stage["seen"] = started, seen
        ends = {**by_stage, "written": written}
        for name, (first, last) in BATCHED_STEPS.items():
            per_batch = batched[name]
            while len(per_batch) <= index // BATCH:
                per_batch.append([])
            per_batch[index // BATCH].append(ends[last] - ends[first])
        chain = ["publish", *(stage for stage, _at, _task in path)]
        pairs = [*itertools.pairwise(chain), ("received", "sent"), ("sent", "seen")]
        if "read" in by_stage:
            pairs.append(("read", "sent"))
        for pair in pairs:
            steps.setdefault(pair, []).append(by_stage[pair[1]] - by_stage[pair[0]])
        until_sent = [stamp for stamp in path if stamp[1] <= by_stage["sent"]]
        tasks = [task for _stage, _at, task in until_sent]
        switches.append(sum(1 for a, b in itertools.pairwise(tasks) if a != b))
    if not switches:
        print("(no stage times matched an iteration)")
        return
    print(f"ambient's stages (n={len(switches)}; each step from the stamp before):")
    for pair, values in steps.items():
        ms = [v * 1000 for v in values]
        name = STEP_NAMES.get(pair, f"{pair[0]} -> {pair[1]}")
        print(
            f"  {name:<60} p50 {statistics.median(ms):6.3f} ms   p99 {percentile(ms, 99):6.3f} ms"
        )
    counts = sorted(set(switches))
    print(f"task switches between receipt and frame written: {counts}")
    print(f"p50 of each step per {BATCH} iterations, in order (ms):")
    for name, per_batch in batched.items():
        spread = " ".join(
            f"{statistics.median(batch) * 1000:6.3f}" if batch else "     -" for batch in per_batch
        )
        print(f"  {name:<40} {spread}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument(
        "--ambient-source",
        type=Path,
        metavar="DIR",
        help="run ambient from this checkout (its package directory's parent) instead",
    )
    parser.add_argument(
        "--quiet-ms",
        type=float,
        default=QUIET_MS,
        metavar="MS",
        help="quiet before each timed publish (0: none, as this bench did at first: each path "
        "then also paid for the end of the other's iteration, and ambient for its 60)",
    )
    parser.add_argument(
        "--no-discovery",
        action="store_true",
        help="ambient without its HA entities (mqtt discovery: false), to see what they cost "
        "HA while it works on the lights",
    )
    parser.add_argument(
        "--probe-watcher",
        action="store_true",
        help="watch the lights through the test fixture's probe, as this bench did before "
        "(it searches every event so far at each arrival: its cost grows over the run)",
    )
    args = parser.parse_args()
    if (reason := ha_available()) is not None or not mosquitto_available():
        print(f"skipped: {reason or 'mosquitto is not installed'}")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        broker = MosquittoBroker(Path(tmp) / "mosquitto")
        broker.start()
        config_dir = Path(tmp) / "ha"
        port = _free_port()
        _prepare_config_dir(config_dir, port)
        ha = HomeAssistantInstance(config_dir=config_dir, port=port)
        ha.start()
        try:
            ha.onboard()
            (Path(tmp) / "ambient").mkdir()
            store = Path(tmp) / "ambient" / "ambient.db"
            quiet_s = args.quiet_ms / 1000
            asyncio.run(
                measure(
                    ha,
                    broker,
                    store,
                    args.n,
                    args.ambient_source,
                    quiet_s,
                    not args.no_discovery,
                    args.probe_watcher,
                )
            )
        finally:
            ha.stop()
            broker.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
