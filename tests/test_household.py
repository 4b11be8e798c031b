"""A household: two people in one config, each with their own wearable (a strap's beats, a
watch's heart rate alone), replayed together. Nothing of one person reaches another's signals,
rule state or messages; a rule without ``person:`` acts for each on their own."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from ambient.config import AmbientConfig
from ambient.messages import SignalUpdate
from ambient.simulate import format_trace, run_simulate, simulate

#: A minute of calm, then Alex's heart races from minute 5 to 9, Sam's from minute 12 to 15.
ALEX_FAST_S = (300, 540)
SAM_FAST_S = (720, 900)


def alex_rows() -> list[str]:
    """Alex's strap: a beat every 800 ms (75 bpm), 500 ms (120 bpm) while racing."""
    rows, t = [], 0.0
    while t < 1080:
        rr = 500.0 if ALEX_FAST_S[0] <= t < ALEX_FAST_S[1] else 800.0 + 30.0 * ((int(t) % 3) - 1)
        t += rr / 1000.0
        rows.append(f"{t:.3f},rr,{rr:g},alex")
    return rows


def sam_rows() -> list[str]:
    """Sam's watch: heart rate once a second, no beats."""
    return [
        f"{second},hr,{125 if SAM_FAST_S[0] <= second < SAM_FAST_S[1] else 64},sam"
        for second in range(1, 1080)
    ]


def write(path: Path, rows: list[str]) -> Path:
    path.write_text("t,metric,value,person\n" + "\n".join(rows) + "\n")
    return path


def household(rules: list[dict[str, object]]) -> AmbientConfig:
    return AmbientConfig.model_validate(
        {
            "people": [{"id": "alex", "name": "Alex"}, {"id": "sam", "name": "Sam"}],
            "rules": rules,
            "store": {"path": None},
        }
    )


ANYONE: dict[str, object] = {
    "id": "racing",
    "triggers": [{"trigger": "signal", "signal": "hr", "above": 100, "for": "1min"}],
    "cooldown": "30min",
    "actions": [{"action": "log", "message": "{person}'s heart races ({hr})"}],
    "on_recovery": [{"action": "log", "message": "{person} is calm again"}],
}


@pytest.fixture
def both(tmp_path: Path) -> Path:
    """One recording holding both people, rows in time order."""
    rows = sorted(alex_rows() + sam_rows(), key=lambda row: float(row.split(",")[0]))
    return write(tmp_path / "both.csv", rows)


def test_a_rule_without_person_acts_for_each_one_with_their_name(both: Path) -> None:
    result = asyncio.run(simulate(household([ANYONE]), both))

    happened = [
        (
            round(t.time - result.start),
            t.event,
            t.person,
            [a.detail for a in t.actions],
        )
        for t in result.traces
    ]
    assert [(event, person) for _, event, person, _ in happened] == [
        ("fired", "alex"),
        ("recovered", "alex"),
        ("fired", "sam"),  # Alex's cooldown is Alex's: Sam's racing heart still acts
        ("recovered", "sam"),
    ]
    fired_alex, _, fired_sam, _ = happened
    assert ALEX_FAST_S[0] + 60 <= fired_alex[0] <= ALEX_FAST_S[0] + 90  # beats, cleaned
    assert fired_alex[3][0].startswith("log message=alex's heart races (1")
    assert SAM_FAST_S[0] + 60 <= fired_sam[0] <= SAM_FAST_S[0] + 62
    assert fired_sam[3] == ["log message=sam's heart races (125.0)"]


def test_rules_for_one_person_never_see_the_other(both: Path) -> None:
    for_sam = {**ANYONE, "id": "sam_racing", "person": "sam"}
    result = asyncio.run(simulate(household([for_sam]), both))

    assert {(t.event, t.person) for t in result.traces} == {("fired", "sam"), ("recovered", "sam")}


def updates_of(person: str, updates: list[SignalUpdate], start: float) -> list[object]:
    return [
        (round(u.time - start, 3), sorted((n, v.value, v.reason) for n, v in u.values.items()))
        for u in updates
        if u.person == person
    ]


def test_each_persons_signals_are_as_if_they_lived_alone(tmp_path: Path, both: Path) -> None:
    """Alex's strap and Sam's watch replayed together give each exactly the updates their own
    recording gives alone: no beat, baseline minute or smoothing of one reaches the other."""
    config = household([ANYONE])
    together = asyncio.run(simulate(config, both, keep_signals=True))
    for person, rows in (("alex", alex_rows()), ("sam", sam_rows())):
        alone = asyncio.run(
            simulate(config, write(tmp_path / f"{person}.csv", rows), keep_signals=True)
        )
        own = updates_of(person, alone.signals, alone.start)
        shared = updates_of(person, together.signals, together.start)
        assert own and shared[: len(own)] == own, person
    sam_hrv = [
        u.values["rmssd"] for u in together.signals if u.person == "sam" and "rmssd" in u.values
    ]
    assert sam_hrv and all(v.reason == "no RR intervals (HR-only source)" for v in sam_hrv)


def test_a_reading_for_someone_not_in_the_household_reaches_nobody(tmp_path: Path) -> None:
    guest = write(tmp_path / "guest.csv", [f"{s},hr,130,kim" for s in range(1, 200)])

    result = asyncio.run(simulate(household([ANYONE]), guest, keep_signals=True))

    assert result.traces == []
    assert {u.person for u in result.signals} <= {"alex", "sam"}


def test_the_timeline_names_whose_each_entry_is(both: Path) -> None:
    """An anyone rule's entries said `racing  fired` for Alex and Sam alike: the text timeline
    names the person beside the rule, ``simulate --json`` in a `person` field."""
    result = asyncio.run(simulate(household([ANYONE]), both))

    text = [format_trace(t, result.start, as_json=False).split("\n")[0] for t in result.traces]
    rows = [json.loads(format_trace(t, result.start, as_json=True)) for t in result.traces]

    assert [line[10:].split()[:3] for line in text] == [
        ["racing", "(alex)", "fired"],
        ["racing", "(alex)", "recovered"],
        ["racing", "(sam)", "fired"],
        ["racing", "(sam)", "recovered"],
    ]
    assert [(row["rule"], row["person"]) for row in rows] == [
        ("racing", "alex"),
        ("racing", "alex"),
        ("racing", "sam"),
        ("racing", "sam"),
    ]


def test_a_signal_condition_with_person_reads_that_persons_signal(both: Path) -> None:
    """Sam races while Alex is calm, in one rule: the condition's `person:` names whose signal
    it reads instead of the rule's person; "both race" never holds (they race apart)."""
    sam_alone = {
        **ANYONE,
        "id": "sam_alone",
        "person": "sam",
        "conditions": [{"condition": "signal", "signal": "hr", "below": 90, "person": "alex"}],
    }
    both_racing = {
        **sam_alone,
        "id": "both_racing",
        "conditions": [{"condition": "signal", "signal": "hr", "above": 100, "person": "alex"}],
    }
    result = asyncio.run(simulate(household([sam_alone, both_racing]), both))

    acted = [
        (t.rule, t.person, t.event, round(t.time - result.start))
        for t in result.traces
        if t.event != "suppressed"
    ]
    assert [entry[:3] for entry in acted] == [
        ("sam_alone", "sam", "fired"),
        ("sam_alone", "sam", "recovered"),
    ]
    assert SAM_FAST_S[0] + 60 <= acted[0][3] <= SAM_FAST_S[0] + 62
    held_back = {t.reason for t in result.traces if t.event == "suppressed"}
    assert held_back == {"condition signal hr of alex above 100 false"}


def test_a_rule_reading_only_a_named_persons_signal_acts_once_for_no_one(tmp_path: Path) -> None:
    """A condition naming its person does not make a rule one for everyone: a time rule whose
    only signal is Sam's fires once, for no one in particular, not once per person."""
    racing = write(tmp_path / "sam.csv", [f"{s},hr,125,sam" for s in range(1, 400)])
    rule: dict[str, object] = {
        "id": "check_on_sam",
        "triggers": [{"trigger": "time", "at": "09:05"}],
        "conditions": [{"condition": "signal", "signal": "hr", "above": 100, "person": "sam"}],
        "actions": [{"action": "log", "message": "Sam's heart races"}],
    }
    config = AmbientConfig.model_validate(
        {**household([rule]).model_dump(exclude_defaults=True, by_alias=True), "timezone": "UTC"}
    )

    result = asyncio.run(simulate(config, racing))

    assert [(t.rule, t.person, t.event) for t in result.traces] == [("check_on_sam", None, "fired")]


def test_a_message_names_each_person_by_their_display_name(both: Path) -> None:
    """`{name}` is the person's `name:` from `people:` (`{person}` stays the id)."""
    greeting = {**ANYONE, "actions": [{"action": "log", "message": "{name} ({person}) races"}]}
    out = io.StringIO()

    run_simulate(household([greeting]), both, as_json=False, out=out)

    said = [line.split("-> ")[1] for line in out.getvalue().splitlines() if "-> " in line]
    assert said == [
        "log message=Alex (alex) races",
        "log message=alex is calm again",
        "log message=Sam (sam) races",
        "log message=sam is calm again",
    ]
