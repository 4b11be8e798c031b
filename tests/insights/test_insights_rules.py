"""Rules act on the insight signals as on any other: a state trigger on `hrv_trend` fires when
the stored days make the trend low (the insights wired as the daemon wires them)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ambient.clock import VirtualClock
from ambient.config.root import AmbientConfig
from ambient.hub import Hub
from ambient.insights.days import day_start
from ambient.insights.summaries import DaySummary
from ambient.insights.synthetic import ln_rmssd_series
from ambient.insights.wiring import add_insights
from ambient.messages import ActionContext, ActionResult, SignalValue, TraceRecord
from ambient.rules.engine import RuleEngine
from ambient.store import Store

BERLIN = ZoneInfo("Europe/Berlin")


class NoSignals:
    """The signal engine's side of the view: nothing measured in this test."""

    def get(self, person: str, name: str) -> SignalValue:
        return SignalValue.unknown(0.0, "no data")

    def people(self) -> list[str]:
        return ["alex"]


class Performer:
    """Records the actions the rules ask for (nothing outside is involved)."""

    def __init__(self) -> None:
        self.contexts: list[ActionContext] = []

    async def perform(self, action: Any, context: ActionContext) -> ActionResult:
        self.contexts.append(context)
        return ActionResult(str(action.action), True)

    async def end_episode(self, context: ActionContext) -> None:
        return None

    async def settle_episodes(self, live: set[str]) -> None:
        return None


async def test_a_state_trigger_on_the_hrv_trend_fires_when_it_turns_low() -> None:
    config = AmbientConfig.model_validate(
        {
            "timezone": "Europe/Berlin",
            "people": [{"id": "alex"}],
            "store": {"path": None},
            "rules": [
                {
                    "id": "hrv_low_nudge",
                    "person": "alex",
                    "triggers": [{"trigger": "state", "signal": "hrv_trend", "to": "low"}],
                    "actions": [{"action": "log", "message": "a lighter day?"}],
                }
            ],
        }
    )
    first = date(2026, 9, 1)
    store = Store(None)
    for day, value in ln_rmssd_series(first, 60, seed=11, drop_from=50).items():
        summary = DaySummary("alex", day, 600, 60, 20, 5, 200, 30, 58.0, value, "night", 35.0)
        store.put("insights.days", f"alex/{day}", summary.to_json())
    clock = VirtualClock(day_start(first + timedelta(days=60), BERLIN) + 8 * 3600)
    hub = Hub()
    traces: list[TraceRecord] = []
    insights, view = add_insights(config, clock, store, NoSignals(), hub, None)
    assert insights is not None
    performer = Performer()
    rules = RuleEngine(config, clock, store, view, performer, traces.append)
    hub.on_signals(rules.on_signals)
    hub.on_signals(insights.on_signals)
    await rules.start()
    await clock.run_until(clock.now() + 1)
    assert [(t.rule, t.event) for t in traces] == [("hrv_low_nudge", "fired")]
    assert view.get("alex", "hrv_trend").value == "low"
    await rules.stop()
    insights.close()
