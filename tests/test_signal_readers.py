"""What the wired parts read decides which signals are worked out at each update: every
signal a rule's triggers, conditions and `wait_for` steps name, and the insights' own; all of
them when something shows or keeps every signal, or a rule chooses calming."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from datetime import UTC
from pathlib import Path

from ambient.clock import VirtualClock
from ambient.config import AmbientConfig, load_config
from ambient.config.signals import SIGNAL_NAMES
from ambient.insights.service import Insights
from ambient.messages import SignalUpdate, SignalValue
from ambient.signal_readers import INSIGHTS_READ, rules_first, signals_read
from ambient.simulate import simulate
from ambient.store import Store

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "ambient" / "data" / "demo.csv"

#: A rule that reads a signal in each place one can be read: a trigger, a nested condition of
#: an `if` step, a `wait_for` step, and a placeholder (the trigger's signal).
READING_RULE = """
people:
  - id: alex
rules:
  - id: heart_up
    person: alex
    triggers:
      - trigger: signal
        signal: hr_delta_rest
        above: 8
        for: 30s
    actions:
      - wait_for: {signal: hr, below: 75}
        timeout: 5min
        continue_on_timeout: true
      - if: [{condition: signal, signal: rmssd, above: 1}]
        then: [{action: log, message: "{person}: {hr_delta_rest} bpm over rest"}]
store:
  path: null
"""


def config_of(tmp_path: Path, text: str) -> AmbientConfig:
    path = tmp_path / "ambient.yaml"
    path.write_text(text)
    return load_config(path)


def test_the_rules_signals_and_the_insights_are_read(tmp_path: Path) -> None:
    read = signals_read(config_of(tmp_path, READING_RULE), every_signal=False)
    assert read == INSIGHTS_READ | {"hr_delta_rest", "hr", "rmssd"}


def test_the_example_config_reads_its_rules_signals_and_the_insights() -> None:
    config = load_config(ROOT / "config" / "ambient.example.yaml")
    read = signals_read(config, every_signal=False)
    assert read == INSIGHTS_READ | {"stress_score", "activity_state", "stress_confidence"}


def test_without_insights_only_the_rules_signals_are_read(tmp_path: Path) -> None:
    text = READING_RULE + "insights:\n  enabled: false\n"
    read = signals_read(config_of(tmp_path, text), every_signal=False)
    assert read == frozenset({"hr_delta_rest", "hr", "rmssd"})


def test_every_signal_is_worked_out_when_shown_or_when_calming_is_chosen(tmp_path: Path) -> None:
    assert signals_read(config_of(tmp_path, READING_RULE), every_signal=True) is None
    calming = READING_RULE.replace(
        "      - wait_for:",
        "      - choose_calming:\n          options:\n"
        "            - {id: breathe, actions: [{action: log, message: breathe}]}\n"
        "      - wait_for:",
    )
    assert signals_read(config_of(tmp_path, calming), every_signal=False) is None


class _LookedUp(Mapping[str, SignalValue]):
    """Every signal of an update, noting which names the listener looks up."""

    def __init__(self, values: dict[str, SignalValue]) -> None:
        self._values = values
        self.names: set[str] = set()

    def __getitem__(self, name: str) -> SignalValue:
        self.names.add(name)
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def test_the_insights_look_up_nothing_but_what_they_are_said_to_read() -> None:
    config = AmbientConfig.model_validate({"people": [{"id": "alex"}]})
    clock = VirtualClock(1_767_600_000.0)
    insights = Insights(config.insights, ["alex"], UTC, clock, Store(None), lambda u: None)
    looked_up: set[str] = set()
    for step, score in enumerate((20.0, 60.0, 35.0)):
        clock.advance_to(clock.now() + 30 * (step + 1))
        values = {name: SignalValue(score, clock.now()) for name in SIGNAL_NAMES}
        values["activity_state"] = SignalValue("rest", clock.now())
        update = _LookedUp(values)
        insights.on_signals(SignalUpdate(clock.now(), "alex", update))
        looked_up |= update.names
    assert "stress_score" in looked_up  # the check can see a look-up
    assert looked_up <= INSIGHTS_READ


def test_a_simulation_working_out_only_what_is_read_gives_the_same_traces(
    tmp_path: Path,
) -> None:
    config = config_of(tmp_path, READING_RULE)
    # Keeping every update makes every signal read: the simulation as it was.
    every = asyncio.run(simulate(config, DEMO, keep_signals=True))
    only_read = asyncio.run(simulate(config, DEMO))
    assert [t for t in every.traces if t.event == "fired"], "the rule never fired"
    assert only_read.traces == every.traces


def test_a_listener_of_every_update_gets_every_signal(tmp_path: Path) -> None:
    """`evaluate` and `--plot` keep every update: nothing may be left out of them."""
    result = asyncio.run(simulate(config_of(tmp_path, READING_RULE), DEMO, keep_signals=True))
    assert {name for update in result.signals for name in update.values} >= SIGNAL_NAMES


def test_a_live_daemon_works_out_its_rules_signals_first(tmp_path: Path) -> None:
    config = config_of(tmp_path, READING_RULE)
    assert rules_first(config, None, virtual=False) == frozenset({"hr_delta_rest", "hr", "rmssd"})


def test_no_split_when_few_signals_are_worked_out_on_a_virtual_clock_or_with_calming(
    tmp_path: Path,
) -> None:
    config = config_of(tmp_path, READING_RULE)
    assert rules_first(config, frozenset({"hr", "rmssd"}), virtual=False) is None
    assert rules_first(config, None, virtual=True) is None  # a simulation's output stays
    calming = READING_RULE.replace(
        "      - wait_for:",
        "      - choose_calming:\n          options:\n"
        "            - {id: breathe, actions: [{action: log, message: breathe}]}\n"
        "      - wait_for:",
    )
    assert rules_first(config_of(tmp_path, calming), None, virtual=False) is None
    no_signal_rules = "people:\n  - id: alex\nstore:\n  path: null\n"
    assert rules_first(config_of(tmp_path, no_signal_rules), None, virtual=False) is None
