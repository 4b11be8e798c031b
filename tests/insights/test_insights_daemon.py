"""Insights in the running daemon: a rule on `stress_slope` acts before the threshold rule
(`ambient simulate` on the demo recording, a real subprocess), the HRV trend is the same
after a restart, and sleep arrives over a real MQTT broker."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fixtures.ambient_process import run_ambient
from fixtures.mosquitto import MosquittoBroker
from fixtures.mqtt_clients import WAIT_S, device_client, make_connection, running

from ambient.clock import RealClock, VirtualClock
from ambient.config.insights import InsightsConfig
from ambient.config.root import AmbientConfig
from ambient.insights.days import day_start
from ambient.insights.service import Insights
from ambient.insights.sources import connect_sleep
from ambient.insights.summaries import DaySummary
from ambient.insights.synthetic import ln_rmssd_series
from ambient.messages import SignalScalar, SignalUpdate, SignalValue
from ambient.store import Store

ROOT = Path(__file__).resolve().parents[2]
EPISODE_START_S = 1800.0
BERLIN = ZoneInfo("Europe/Berlin")

RULES = """
people:
  - id: alex
sensors:
  - type: recording
    id: demo
    path: {recording}
    person: alex
rules:
  - id: threshold
    person: alex
    triggers:
      - {{trigger: signal, signal: stress_score, above: 70, for: 2min, hysteresis: 10}}
    actions:
      - {{action: log, message: over 70}}
  - id: rising
    person: alex
    triggers:
      - {{trigger: signal, signal: stress_slope, above: 3, for: 1min}}
    actions:
      - {{action: log, message: rising}}
store:
  path: null
"""


def test_a_rule_on_the_stress_slope_acts_before_the_threshold_rule(tmp_path: Path) -> None:
    config = tmp_path / "ambient.yaml"
    config.write_text(RULES.format(recording=ROOT / "ambient" / "data" / "demo.csv"))
    done = run_ambient("simulate", "--config", str(config), "--json")
    assert done.returncode == 0, done.stderr
    fired = [json.loads(line) for line in done.stdout.splitlines() if '"event": "fired"' in line]
    threshold = next(row["t"] for row in fired if row["rule"] == "threshold")
    rising = [row["t"] for row in fired if row["rule"] == "rising" and row["t"] >= EPISODE_START_S]
    assert rising and rising[0] < threshold, fired


def stored_days(store: Store, days: dict[date, float]) -> None:
    for day, value in days.items():
        summary = DaySummary("alex", day, 600, 60, 20, 5, 200, 30, 58.0, value, "night", 35.0)
        store.put("insights.days", f"alex/{day}", summary.to_json())


def trend_published(store: Store, now: float) -> list[SignalUpdate]:
    clock = VirtualClock(now)
    published: list[SignalUpdate] = []
    insights = Insights(InsightsConfig(), ["alex"], BERLIN, clock, store, published.append)
    clock.advance_to(now + 1)
    insights.close()
    return [u for u in published if "hrv_trend" in u.values]


def test_a_restart_publishes_the_same_trend_and_no_new_alert(tmp_path: Path) -> None:
    first_day = date(2026, 9, 1)
    series = ln_rmssd_series(first_day, 60, seed=11, drop_from=50)
    path = tmp_path / "ambient.db"
    store = Store(path)
    stored_days(store, series)
    morning = day_start(first_day + timedelta(days=60), BERLIN) + 8 * 3600
    before = trend_published(store, morning)
    store.close()
    store = Store(path)
    after = trend_published(store, morning + 600)
    (one,), (two,) = before, after
    assert one.values["hrv_trend"].value == two.values["hrv_trend"].value == "low"
    assert one.values["hrv_trend"].reason == two.values["hrv_trend"].reason


def test_the_status_says_where_the_last_day_s_hrv_value_came_from(tmp_path: Path) -> None:
    """HA keeps one history of "HRV ln RMSSD (last day)": a night's value (a strap worn
    overnight) and a quiet daytime moment's are not comparable, so the status that HA's
    attributes are read from says which one the published value is."""
    store = Store(tmp_path / "ambient.db")
    yesterday = date(2026, 11, 30)
    day = DaySummary("alex", yesterday, 600, 60, 20, 5, 200, 30, 58.0, 3.9, "quietest_5min", 35)
    store.put("insights.days", f"alex/{yesterday}", day.to_json())
    clock = VirtualClock(day_start(yesterday + timedelta(days=1), BERLIN) + 8 * 3600)
    insights = Insights(InsightsConfig(), ["alex"], BERLIN, clock, store, lambda _: None)
    clock.advance_to(clock.now() + 1)
    assert insights.status()["alex"]["day_ln_rmssd_source"] == "quietest_5min"
    insights.close()
    store.close()


async def test_sleep_arrives_over_mqtt(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    config = AmbientConfig.model_validate(
        {
            "people": [{"id": "alex"}],
            "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
            "insights": {
                "sleep": [
                    {
                        "person": "alex",
                        "duration_topic": "home/alex/sleep",
                        "duration_unit": "min",
                        "score_topic": "home/alex/sleep_score",
                    }
                ]
            },
        }
    )
    heard = asyncio.Event()

    class Listening(Insights):
        def on_sleep(self, person: str, kind: str, value: float, at: float | None = None) -> None:
            super().on_sleep(person, kind, value, at)
            if kind == "score":
                heard.set()

    insights = Listening(config.insights, ["alex"], BERLIN, RealClock(), Store(None), print)
    connection = make_connection(mosquitto)

    class Connections:
        def mqtt(self) -> object:
            return connection

    connect_sleep(insights, config, Connections())
    async with running(connection), device_client(mosquitto, "tracker") as tracker:
        await tracker.publish("home/alex/sleep", "450", qos=1)
        await tracker.publish("home/alex/sleep_score", "not a number", qos=1)
        await tracker.publish("home/alex/sleep_score", "82", qos=1)
        await asyncio.wait_for(heard.wait(), WAIT_S)
    insights.close()
    opened = insights.open_day("alex")
    assert opened is not None and opened.sleep == {"hours": 7.5, "score": 82.0}


async def test_a_sleep_value_no_night_can_have_is_refused(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    """`nan` stood in the day's summary and the weekly report as "nan h" ("+nan h" since last
    week); a negative, endless or over-a-day night, or a score past 100, is no better."""
    config = AmbientConfig.model_validate(
        {
            "people": [{"id": "alex"}],
            "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
            "insights": {
                "sleep": [
                    {
                        "person": "alex",
                        "duration_topic": "home/alex/sleep",
                        "duration_unit": "min",
                        "score_topic": "home/alex/sleep_score",
                    }
                ]
            },
        }
    )
    heard: list[tuple[str, float]] = []
    last = asyncio.Event()

    class Listening(Insights):
        def on_sleep(self, person: str, kind: str, value: float, at: float | None = None) -> None:
            super().on_sleep(person, kind, value, at)
            heard.append((kind, value))
            if kind == "hours":
                last.set()

    insights = Listening(config.insights, ["alex"], BERLIN, RealClock(), Store(None), print)
    connection = make_connection(mosquitto)

    class Connections:
        def mqtt(self) -> object:
            return connection

    connect_sleep(insights, config, Connections())
    async with running(connection), device_client(mosquitto, "tracker") as tracker:
        for score in ("82", "nan", "inf", "-1", "101"):
            await tracker.publish("home/alex/sleep_score", score, qos=1)
        for minutes in ("nan", "1e400", "-60", "1500", "450"):  # the last one is heard last
            await tracker.publish("home/alex/sleep", minutes, qos=1)
        await asyncio.wait_for(last.wait(), WAIT_S)
    insights.close()
    assert heard == [("score", 82.0), ("hours", 7.5)]


def a_night_strap(insights: Insights, clock: VirtualClock, night: date, ln_rmssd: float) -> None:
    """A chest strap worn at rest from midnight to 05:59 (local) on ``night``."""
    begin, end = day_start(night, BERLIN) + 1, day_start(night, BERLIN) + 6 * 3600 - 60
    worn: dict[str, SignalScalar | None] = {
        "stress_score": 20.0,
        "activity_state": "rest",
        "hr": 50.0,
        "ln_rmssd": ln_rmssd,
    }
    for t, values in ((begin, worn), (end, dict.fromkeys(worn))):
        clock.advance_to(t)
        signals = {
            k: SignalValue(v, t, None if v is not None else "stale") for k, v in values.items()
        }
        insights.on_signals(SignalUpdate(t, "alex", signals))


def last_trend(published: list[SignalUpdate]) -> tuple[object, float]:
    update = next(u for u in reversed(published) if "hrv_trend" in u.values)
    return update.values["hrv_trend"].value, update.time


def test_the_early_warning_comes_when_the_night_ends_not_at_midnight(tmp_path: Path) -> None:
    """A night strap's value is final when the night window ends: the warning comes then (the
    morning it matters), not 18 hours later at midnight; a restart in the morning agrees."""
    first_day = date(2026, 9, 1)
    steady = {first_day + timedelta(days=k): 3.9 if k % 2 else 4.1 for k in range(59)}
    path = tmp_path / "ambient.db"
    store = Store(path)
    stored_days(store, {**steady, first_day + timedelta(days=59): 3.8})  # yesterday: low
    today = first_day + timedelta(days=60)
    clock = VirtualClock(day_start(today, BERLIN))
    published: list[SignalUpdate] = []
    insights = Insights(InsightsConfig(), ["alex"], BERLIN, clock, store, published.append)
    a_night_strap(insights, clock, today, 3.8)  # a second low night: CUSUM 2.9 > 2.6
    dawn = day_start(today, BERLIN) + 6 * 3600
    assert last_trend(published)[0] == "normal"
    clock.advance_to(dawn + 1)
    assert last_trend(published) == ("low", dawn)
    insights.close()
    store.close()
    again: list[SignalUpdate] = []
    store = Store(path)
    clock = VirtualClock(dawn + 3600)
    restarted = Insights(InsightsConfig(), ["alex"], BERLIN, clock, store, again.append)
    clock.advance_to(dawn + 3601)
    assert last_trend(again)[0] == "low"
    restarted.close()
