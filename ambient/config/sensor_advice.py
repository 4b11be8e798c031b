"""What a valid config probably does not mean about its sensors and the rules that read them:
``ambient check``'s warnings, never fatal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from ambient.config.durations import written_duration_text
from ambient.config.root import AmbientConfig
from ambient.config.sensors import (
    DEFAULT_PERSON,
    USUAL_DEFAULT_ADAPTER,
    BleSensorConfig,
    SatelliteSensorConfig,
    may_give,
    sensor_name,
)
from ambient.config.triggers import SignalTriggerConfig
from ambient.config.yaml_source import KeyPath

Finding = tuple[KeyPath, str]

#: Signals held with each heart sample: a sampling watch's hold them its whole `stale_after`.
_HELD_WITH_A_SAMPLE: Final = frozenset({"stress_score", "hr", "hr_delta_rest"})
#: The heart readings a watch samples (its contact, if any, says nothing of their spacing).
_SAMPLED_METRICS: Final = frozenset({"hr", "rr"})
#: A ``for:`` under this share of the ``stale_after`` is under the watch's interval.
_SURELY_UNDER_AN_INTERVAL: Final = 0.5


def for_shorter_than_a_sample(config: AmbientConfig) -> Iterator[Finding]:
    """A rule's ``for:`` on a heart signal well under the ``stale_after`` that every heart
    source of its person holds a sample for (a watch sampling every 15 minutes, held 20): one
    high sample holds the signal past the ``for:``, so one sample fires what reads as
    sustained. ``stale_after`` is set a little over the interval (or two, to ride over a
    missed sample): under half of it, the ``for:`` is surely under one interval."""
    people = [person.id for person in config.people] or [DEFAULT_PERSON]
    for r_index, rule in enumerate(config.rules):
        for t_index, trigger in enumerate(rule.triggers):
            if not isinstance(trigger, SignalTriggerConfig):
                continue
            if trigger.signal not in _HELD_WITH_A_SAMPLE or trigger.for_ <= 0:
                continue
            for person in [rule.person] if rule.person else people:
                held = _shortest_hold(config, person)
                if held is not None and trigger.for_ < held[1] * _SURELY_UNDER_AN_INTERVAL:
                    yield (
                        ("rules", r_index, "triggers", t_index, "for"),
                        f"`for: {written_duration_text(trigger.for_)}` is well under the "
                        f"`stale_after` ({written_duration_text(held[1])}) of sensor `{held[0]}`, "
                        f"which gives {person}'s heart readings: its samples come about that "
                        f"far apart and each holds `{trigger.signal}` until the next, so one "
                        f"sample {_range_text(trigger)} fires this rule; a `for:` a little "
                        "over the watch's interval needs two samples in a row "
                        "(docs/signals.md#every-kind-of-source)",
                    )
                    break


def _range_text(trigger: SignalTriggerConfig) -> str:
    """The side of its thresholds a sample must be on (a rule may watch for a slow heart)."""
    sides = [
        f"{side} {threshold:g}" if isinstance(threshold, float) else f"{side} {threshold}"
        for side, threshold in (("above", trigger.above), ("below", trigger.below))
        if threshold is not None
    ]
    return " and ".join(sides)


def _shortest_hold(config: AmbientConfig, person: str) -> tuple[str, float] | None:
    """The sensor of ``person``'s heart readings with the shortest own ``stale_after``, and
    it; None when any may give them without one (a strap, a satellite) or none does."""
    shortest: tuple[str, float] | None = None
    for index, sensor in enumerate(config.sensors):
        if not may_give(sensor, person, _SAMPLED_METRICS):
            continue
        stale_after = None if sensor.type == "satellite" else sensor.stale_after
        if stale_after is None:
            return None
        if shortest is None or stale_after < shortest[1]:
            shortest = (sensor_name(sensor, index), stale_after)
    return shortest


def ble_searches_that_collide(config: AmbientConfig) -> Iterator[Finding]:
    """Two BLE entries that ``run`` cannot both serve as written: one `name:` searched for
    twice, and the default adapter named one way in one entry and another in the next."""
    straps = [
        (index, sensor)
        for index, sensor in enumerate(config.sensors)
        if isinstance(sensor, BleSensorConfig)
    ]
    yield from _one_name_twice(straps)
    yield from _one_adapter_named_two_ways(straps)


def _one_name_twice(straps: list[tuple[int, BleSensorConfig]]) -> Iterator[Finding]:
    """Entries found by the same name (no `address:`) for one person (for two, ``people``
    warns): the first advertisement of the name answers both searches, so the second finds
    the device the first reads, each time, and never another of that name."""
    first: dict[tuple[str, str | None], int] = {}
    # (one without an id goes by the name itself, said once)
    by_id = {index: f" (`{sensor.id}`)" if sensor.id else "" for index, sensor in straps}
    for index, sensor in straps:
        if sensor.address or not sensor.name:
            continue
        seen = first.setdefault((sensor.name, sensor.person), index)
        if seen != index:
            yield (
                ("sensors", index, "name"),
                f"sensors[{index}]{by_id[index]} searches for the name of "
                f"sensors[{seen}]{by_id[seen]}, `{sensor.name}`: `run` "
                "connects one to the first device of that name it sees, and the other finds "
                "that same device each time and does not connect (`read by ... already`), "
                "never another of the name; list a device once, or give each its `address:` "
                "(`ambient scan` prints it)",
            )


def _one_adapter_named_two_ways(straps: list[tuple[int, BleSensorConfig]]) -> Iterator[Finding]:
    """`adapter: hci0` in one entry and none in another: two searches of one adapter where
    hci0 is the default, and BlueZ gives a program one search per adapter."""
    unnamed = next((index for index, sensor in straps if sensor.adapter is None), None)
    named = next(
        (index for index, sensor in straps if sensor.adapter == USUAL_DEFAULT_ADAPTER), None
    )
    if unnamed is None or named is None:
        return
    later = max(unnamed, named)
    by_name = {index: sensor_name(sensor, index) for index, sensor in straps}
    yield (
        ("sensors", later, "adapter"),
        f"sensors[{named}] (`{by_name[named]}`) names `adapter: {USUAL_DEFAULT_ADAPTER}` and "
        f"sensors[{unnamed}] (`{by_name[unnamed]}`) none, the default adapter, which is "
        f"{USUAL_DEFAULT_ADAPTER} on most machines: two searches of one adapter, and BlueZ "
        "refuses the second (InProgress) while the first runs, so one sensor waits, saying "
        f"`cannot scan`, until the other has found its device; give `adapter: "
        f"{USUAL_DEFAULT_ADAPTER}` in every entry, or in none",
    )


def forwarded_beats_of_no_one(config: AmbientConfig) -> Iterator[Finding]:
    """A satellite sensor's `beats:` entry that cannot stand for a person's kind of beats:
    one naming no `person:` where several people are configured (whose it is is not known),
    or naming someone not under `people:`. Its beats keep their kind as they come either way;
    what it leaves out is the person's one kind (a replay of their recording, the rests
    `baseline show` lists, a baseline saved before kinds were kept)."""
    people = config.person_ids()
    whose = people or [DEFAULT_PERSON]  # as `beats_of` takes them: nobody listed is `default`
    for index, sensor in enumerate(config.sensors):
        if not isinstance(sensor, SatelliteSensorConfig):
            continue
        for source, entry in sensor.beats.items():
            if isinstance(entry, str) and len(people) > 1:
                yield (
                    ("sensors", index, "beats", source),
                    f"`{source}` names no person, and several people are configured "
                    f"({', '.join(people)}): its beats are taken as {entry} as they come, "
                    "but for no one's kind of beats (a replay of their recording, the rests "
                    f"`baseline show` lists); write `{source}: {{beats: {entry}, person: "
                    "<whose>}`",
                )
            elif not isinstance(entry, str) and entry.person not in whose:
                listed = f"({', '.join(people)})" if people else "(which is empty)"
                yield (
                    ("sensors", index, "beats", source, "person"),
                    f"`{source}` is named as `{entry.person}`'s, who is not under `people:` "
                    f"{listed}: its beats count for no one's kind of beats",
                )
