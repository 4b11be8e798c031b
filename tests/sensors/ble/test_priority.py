"""One person wearing a strap and a watch: RR-capable first, then priority."""

from __future__ import annotations

import logging

import pytest
from sensors.ble.ble_harness import CollectingSink, air, ble_config, running
from sensors.ble.bumble_backend import EmulatedAir
from sensors.ble.strap import EmulatedStrap, polar_h10_packet
from signals.signals_helpers import Replay

from ambient.clock import VirtualClock
from ambient.config.sensors import BleSensorConfig
from ambient.counters import Counters
from ambient.readings import CONTACT, HR, RR, Reading
from ambient.sensors.ble_beats import MeasurementReadings
from ambient.sensors.heart_rate import parse_measurement
from ambient.sensors.heart_sources import heart_source_arbiter
from ambient.sensors.priority import ArbitratedSink, SourceArbiter

__all__ = ["air"]

START = 1_800_000_000.0


def _r(time: float, source: str, metric: str = HR, person: str = "alex") -> Reading:
    return Reading(time=time, person=person, metric=metric, value=800.0, source=source)


def _arbiter(*configs: BleSensorConfig, counters: Counters | None = None) -> SourceArbiter:
    """The daemon's arbiter of ``configs``; by default Alex's strap and higher-priority watch,
    and Sam's strap."""
    configs = configs or (
        ble_config(id="strap", address="F5:00:00:00:00:01", person="alex", priority=0),
        ble_config(id="watch", name="Forerunner", person="alex", priority=5),
        ble_config(id="sams", address="F5:00:00:00:00:02", person="sam"),
    )
    arbiter = heart_source_arbiter(configs, stale_after_s=10.0, counters=counters)
    assert arbiter is not None
    return arbiter


def test_rr_capable_strap_beats_a_higher_priority_watch() -> None:
    arbiter = _arbiter()
    assert arbiter.accept(_r(0.0, "watch"))  # alone so far
    assert arbiter.accept(_r(1.0, "strap", RR))
    assert arbiter.accept(_r(1.0, "strap", HR))
    assert not arbiter.accept(_r(1.5, "watch"))
    assert arbiter.active("alex", 2.0) == "strap"


def test_watch_takes_over_when_the_strap_stops_sending_beats_and_yields_back() -> None:
    arbiter = _arbiter()
    arbiter.accept(_r(0.0, "strap", RR))
    arbiter.accept(_r(0.0, "strap", HR))
    assert not arbiter.accept(_r(5.0, "watch"))
    # the strap slipped: HR only from it now (or nothing); after 10 s the watch wins on priority
    assert arbiter.accept(_r(11.0, "watch"))
    assert not arbiter.accept(_r(11.5, "strap", HR))
    # beats again: the strap wins at once
    assert arbiter.accept(_r(12.0, "strap", RR))
    assert not arbiter.accept(_r(12.5, "watch"))


def test_without_rr_the_higher_priority_wins() -> None:
    arbiter = _arbiter()
    arbiter.accept(_r(0.0, "strap"))
    assert arbiter.accept(_r(0.5, "watch"))
    assert not arbiter.accept(_r(1.0, "strap"))


def test_each_handover_between_a_persons_devices_is_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Which device counts changes without any value changing: said at INFO, once per change
    from one device to another."""
    arbiter = _arbiter()
    with caplog.at_level(logging.INFO, logger="ambient.sensors.priority"):
        for time in (0.0, 0.8):
            arbiter.accept(_r(time, "strap", RR))
            arbiter.accept(_r(time, "strap", HR))
        arbiter.accept(_r(5.0, "watch"))
        arbiter.accept(_r(11.0, "watch"))  # the strap's beats are 10.2 s old
        arbiter.accept(_r(12.0, "watch"))
        arbiter.accept(_r(13.0, "strap", RR))
        arbiter.accept(_r(13.0, "strap", HR))
    assert [r.getMessage() for r in caplog.records] == [
        "alex: readings from watch count now, instead of strap's",
        "alex: readings from strap count now, instead of watch's",
    ]


def test_the_only_source_of_a_persons_heart_rate_so_far_passes_untouched() -> None:
    """Sam's one strap, and an MQTT heart rate for Alex while Alex's devices send nothing."""
    arbiter = _arbiter()
    assert arbiter.accept(_r(0.0, "sams", person="sam"))
    assert arbiter.accept(_r(0.0, "mqtt0", person="alex"))
    assert arbiter.rejected == 0


def test_readings_set_aside_are_counted_under_their_devices_scope() -> None:
    """What ``ambient status`` shows: the watch's readings set aside while the strap counts,
    and a beat the strap sends that the other strap's beats already counted."""
    counters = Counters()
    configs = [
        ble_config(id="strap", address="F5:00:00:00:00:01", person="alex", priority=1),
        ble_config(id="backup", address="F5:00:00:00:00:03", person="alex", priority=0),
        ble_config(id="watch", name="Forerunner", person="alex", priority=5),
    ]
    arbiter = _arbiter(*configs, counters=counters)
    arbiter.accept(Reading(0.0, "alex", RR, 800.0, "backup"))
    arbiter.accept(Reading(0.05, "alex", RR, 800.0, "strap"))  # the same heartbeat
    arbiter.accept(Reading(0.05, "alex", HR, 75.0, "strap"))
    arbiter.accept(_r(0.5, "watch"))
    arbiter.accept(_r(1.5, "watch"))
    arbiter.accept(Reading(0.8, "alex", RR, 800.0, "backup"))
    assert counters.snapshot() == {
        "ble:backup": {"set_aside": 1},
        "ble:strap": {"beat_already_counted": 1},
        "ble:watch": {"set_aside": 2},
    }
    assert arbiter.rejected == 4


def test_arbitrated_sink_forwards_only_accepted_readings() -> None:
    sink = CollectingSink()
    arbitrated = ArbitratedSink(sink, _arbiter())
    arbitrated.put_nowait(_r(0.0, "strap", RR))
    arbitrated.put_nowait(_r(0.0, "strap", HR))
    arbitrated.put_nowait(_r(0.5, "watch"))
    arbitrated.put_nowait(_r(1.0, "strap", HR))
    assert [(r.time, r.source) for r in sink.readings] == [
        (0.0, "strap"),
        (0.0, "strap"),
        (1.0, "strap"),
    ]


def test_on_a_handover_the_new_devices_last_contact_report_counts_as_of_now() -> None:
    """The watch says it is worn once, when it connects, while the strap counts (the report
    is set aside); when the watch takes over, that report is passed on, stamped with the
    takeover's time, before the watch's reading: else contact read unknown while it was worn."""
    replay = Replay()
    arbiter = _arbiter()

    def send(reading: Reading) -> None:
        replay.clock.advance_to(reading.time)
        accepted = arbiter.accept(reading)
        for held in arbiter.take_forwarded():
            replay.engine.feed(held)
        if accepted:
            replay.engine.feed(reading)

    send(Reading(0.0, "alex", CONTACT, 1.0, "strap"))
    send(_r(0.2, "strap", RR))
    send(Reading(0.5, "alex", CONTACT, 1.0, "watch"))
    for second in range(1, 30):
        if second <= 5:
            send(_r(float(second), "strap", RR))
        send(Reading(second + 0.5, "alex", HR, 70.0, "watch"))
    assert arbiter.active("alex", 29.5) == "watch"
    assert replay.engine.get("alex", "contact").value is True  # (not unknown, 'stale')


def test_a_contact_report_is_not_passed_on_after_its_device_went_quiet() -> None:
    """The watch said it was worn, then sent nothing for longer than stale_after: what it said
    then is no word on now, and the takeover passes nothing on."""
    arbiter = _arbiter()
    sink = CollectingSink()
    arbitrated = ArbitratedSink(sink, arbiter)
    arbitrated.put_nowait(_r(0.0, "strap", RR))
    arbitrated.put_nowait(Reading(0.5, "alex", CONTACT, 1.0, "watch"))
    arbitrated.put_nowait(_r(15.0, "watch"))  # the watch quiet for 14.5 s, then takes over
    assert [(r.time, r.metric, r.source) for r in sink.readings] == [
        (0.0, RR, "strap"),
        (15.0, HR, "watch"),
    ]


def test_arbitrated_sink_passes_on_the_contact_held_for_a_takeover_first() -> None:
    arbiter = _arbiter()
    sink = CollectingSink()
    arbitrated = ArbitratedSink(sink, arbiter)
    arbitrated.put_nowait(_r(0.0, "strap", RR))
    arbitrated.put_nowait(_r(0.0, "strap", HR))
    arbitrated.put_nowait(Reading(0.5, "alex", CONTACT, 1.0, "watch"))
    for second in range(1, 12):
        arbitrated.put_nowait(_r(float(second), "watch"))
    assert [(r.time, r.metric, r.source) for r in sink.readings] == [
        (0.0, RR, "strap"),
        (0.0, HR, "strap"),
        (11.0, CONTACT, "watch"),
        (11.0, HR, "watch"),
    ]


BEAT_S = 0.8  # one heart, beating every 0.8 s: heartbeat i ends at i * BEAT_S


def _notifications(
    source: str, latency_s: float, beats: range, per_notification: int = 1
) -> list[tuple[float, list[Reading]]]:
    """(arrival time, RR readings) of a strap's notifications for heartbeats ``beats``: each
    arrives ``latency_s`` after its last beat, and its beats are back-computed from there."""
    notifications = []
    indices = list(beats)
    for start in range(0, len(indices), per_notification):
        group = indices[start : start + per_notification]
        notified_at = group[-1] * BEAT_S + latency_s
        times = [notified_at - back * BEAT_S for back in reversed(range(len(group)))]
        readings = [Reading(t, "alex", RR, BEAT_S * 1000, source) for t in times]
        notifications.append((notified_at, readings))
    return notifications


def test_each_heartbeat_counts_once_when_two_straps_hand_over_and_back() -> None:
    """Two RR straps on one chest; the backup's notifications come sooner. At the start, and
    when the preferred strap returns with the two beats it held, the beats it sends that the
    backup already gave are the same heartbeats: they are not counted a second time."""
    arbiter = SourceArbiter([("alex", "h10", 1), ("alex", "hrm_pro", 0)], stale_after_s=10.0)
    latency_s = {"h10": 0.3, "hrm_pro": 0.05}
    notifications = sorted(
        _notifications("hrm_pro", latency_s["hrm_pro"], range(60))
        + _notifications("h10", latency_s["h10"], range(11))  # slips off after heartbeat 10
        + _notifications("h10", latency_s["h10"], range(39, 60), per_notification=2),
        key=lambda notification: notification[0],
    )
    counted = [r for _, readings in notifications for r in readings if arbiter.accept(r)]

    heartbeats = [round((r.time - latency_s[r.source]) / BEAT_S) for r in counted]
    assert len(heartbeats) == len(set(heartbeats))
    by_source = dict(zip(heartbeats, (r.source for r in counted), strict=True))
    # the backup fills the strap's absence once it is 10 s old, and yields when it is back
    assert {by_source[h] for h in range(24, 39)} == {"hrm_pro"}
    assert {by_source[h] for h in range(41, 60)} == {"h10"}


def test_a_strap_coming_back_counts_its_contact_with_its_first_beats() -> None:
    """A strap that detects contact (flags 0x16) slips off, the watch takes over; when the strap
    is back, its first notification says contact again and carries a beat: the strap wins on that
    beat, and its contact counts too (else contact stayed unknown while the strap was worn)."""
    arbiter = _arbiter()
    strap = MeasurementReadings("alex", "strap", lambda _reason: None)
    for reading in strap.readings(parse_measurement(bytes.fromhex("16 3c 00 04")), 0.0):
        assert arbiter.accept(reading)
    lost = strap.readings(parse_measurement(bytes.fromhex("04 00")), 1.0)
    assert [(r.metric, r.value) for r in lost if arbiter.accept(r)] == [(CONTACT, 0.0)]
    assert arbiter.accept(_r(12.0, "watch"))  # the strap's beats are 11 s old
    back = strap.readings(parse_measurement(bytes.fromhex("16 3d 00 04")), 20.0)
    assert {(r.metric, r.value) for r in back if arbiter.accept(r)} == {
        (CONTACT, 1.0),
        (RR, 1000.0),
        (HR, 61.0),
    }


def test_the_watch_heart_rate_shows_as_soon_as_the_watch_takes_over_from_a_slipped_strap() -> None:
    """A strap (contact detected, a beat a second) slips off after its beat at 90 s and says
    so; the watch (HR only, no contact sensor) counts once that beat is 10 s old, and from then
    its heart rate is the person's: the strap's lost contact blanks the strap's readings only."""
    replay = Replay()
    arbiter = _arbiter()
    strap = MeasurementReadings("alex", "strap", lambda _reason: None)
    watch = MeasurementReadings("alex", "watch", lambda _reason: None)

    def notify(source: MeasurementReadings, packet: str, at: float) -> None:
        replay.clock.advance_to(at)
        for reading in source.readings(parse_measurement(bytes.fromhex(packet)), at):
            if arbiter.accept(reading):
                replay.engine.feed(reading)

    for second in range(1, 91):
        notify(strap, "16 4b 00 04", float(second))  # contact, 75 bpm, one 1000 ms beat
        notify(watch, "00 50", second + 0.5)  # 80 bpm
    notify(strap, "04 00", 90.7)  # contact lost
    for second in range(91, 106):
        notify(watch, "00 50", second + 0.5)
        if second == 99:  # the strap's last beat is 9.5 s old: the watch not counted yet
            assert replay.engine.get("alex", "hr").reason == "no skin contact"
    assert arbiter.active("alex", 105.5) == "watch"
    history = replay.history("hr")
    assert history[-1] == (100.5, 80.0, None)  # taken over at 100.5, shown at once
    assert replay.engine.get("alex", "contact").value is False  # the strap's word, as said


class _TeeSink(CollectingSink):
    """Keeps everything the sensors put (to wait on) and passes it to the arbitrated sink."""

    def __init__(self, arbitrated: ArbitratedSink) -> None:
        super().__init__()
        self._arbitrated = arbitrated

    def put_nowait(self, reading: Reading) -> None:
        self._arbitrated.put_nowait(reading)
        super().put_nowait(reading)


async def test_two_straps_through_bleak_hand_over_and_back_each_beat_once(
    air: EmulatedAir,
) -> None:
    """A Polar H10 (preferred) and a Garmin HRM-Pro on one chest, through real bleak: one beat a
    second. The H10 slips off after 5 s and returns at 21 s with the two beats it held; the
    HRM-Pro's notifications always come first. Every second's beat counts once."""
    h10 = EmulatedStrap(air, name="Polar H10 1", address="F4:00:00:00:00:01")
    pro = EmulatedStrap(air, name="HRM-Pro:1", address="F4:00:00:00:00:02")
    await h10.start()
    await pro.start()
    configs = [
        ble_config(id="h10", name="Polar H10 1", person="alex", priority=1, watchdog=60.0),
        ble_config(id="pro", name="HRM-Pro:1", person="alex", priority=0, watchdog=60.0),
    ]
    counted = CollectingSink()
    sink = _TeeSink(ArbitratedSink(counted, _arbiter(*configs)))
    clock = VirtualClock(START)
    async with running(configs[0], air, clock, sink), running(configs[1], air, clock, sink):
        await h10.wait_subscribed()
        await pro.wait_subscribed()
        for second in range(1, 31):
            clock.advance_to(START + second)
            packets = [(pro, polar_h10_packet(60, [1024]))]
            if second <= 5 or second > 21:
                packets.append((h10, polar_h10_packet(60, [1024])))
            elif second == 21:  # back, with the beat it held
                packets.append((h10, polar_h10_packet(60, [1024, 1024])))
            for strap, packet in packets:
                before = len(sink.metric("hr"))
                assert await strap.notify(packet)
                await sink.wait_until(lambda n=before: len(sink.metric("hr")) > n)  # type: ignore[misc]

    beats = counted.metric("rr", "alex")
    seconds = [round(r.time - START) for r in beats]
    assert seconds == sorted(set(seconds)), "each heartbeat once, in order"
    source_of = dict(zip(seconds, (r.source for r in beats), strict=True))
    # the H10 from its second beat on (the HRM-Pro's came first); the HRM-Pro once the H10's
    # beats are 10 s old; the H10 again once back, its held beats not counted a second time
    assert source_of == {
        1: "pro",
        **{s: "h10" for s in range(2, 6)},
        **{s: "pro" for s in range(16, 22)},
        **{s: "h10" for s in range(22, 31)},
    }
