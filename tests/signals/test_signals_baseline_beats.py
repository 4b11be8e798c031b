"""ln RMSSD per kind of beats: a chest strap's and a pulse sensor's (a watch's) can sit apart for
the same heart, so each kind's beats are compared with its own kind's resting minutes; beats of
no known kind with every minute, as before kinds were kept. Resting HR stays one."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from signals.signals_helpers import timed

from ambient.clock import VirtualClock
from ambient.config.people import PersonConfig
from ambient.config.sensors import BeatsKind
from ambient.config.signals import BaselineConfig, SignalsConfig
from ambient.messages import SignalUpdate
from ambient.readings import Reading
from ambient.signals.baseline import Baseline
from ambient.signals.engine import BASELINE_NAMESPACE, SignalEngine
from ambient.store import Store

DAY = 86400.0
CHEST_LN, PULSE_LN = 3.6, 4.2


def minutes(
    baseline: Baseline, start: float, count: int, ln: float, beats: BeatsKind | None
) -> None:
    """``count`` resting minutes at 60 bpm with ln RMSSD ``ln`` ± 0.1 of ``beats``' kind."""
    for k in range(count):
        baseline.add(start + 60 * k, ln + (0.1 if k % 2 else -0.1), 60.0, beats)


def test_each_kind_is_compared_with_its_own_minutes_and_resting_hr_with_all() -> None:
    baseline = Baseline(BaselineConfig())
    minutes(baseline, 0, 20, CHEST_LN, "chest")
    minutes(baseline, 1200, 10, PULSE_LN, "pulse")
    chest, pulse, every = (baseline.norm(1900, k) for k in ("chest", "pulse", None))
    assert chest.ln_rmssd_mean == pytest.approx(CHEST_LN)
    assert pulse.ln_rmssd_mean == pytest.approx(PULSE_LN)
    assert every.ln_rmssd_mean == pytest.approx((20 * CHEST_LN + 10 * PULSE_LN) / 30)
    assert (chest.ln_rmssd_samples, pulse.ln_rmssd_samples, every.ln_rmssd_samples) == (20, 10, 30)
    # One resting HR, and so one state, whichever beats are compared.
    assert {
        (round(n.hr_mean, 6), n.hr_sd, n.state, n.hr_samples) for n in (chest, pulse, every)
    } == {(60.0, 5.0, "provisional", 30)}


def test_a_kind_without_its_own_minutes_is_on_the_prior_as_a_new_persons() -> None:
    config = BaselineConfig()
    baseline = Baseline(config)
    minutes(baseline, 0, 20, CHEST_LN, "chest")
    pulse = baseline.norm(1300, "pulse")
    assert (pulse.ln_rmssd_mean, pulse.ln_rmssd_sd) == (config.prior_ln_rmssd, 0.5)
    assert (pulse.ln_rmssd_samples, pulse.ln_rmssd_days) == (0, 0)
    assert pulse.ln_rmssd_new_kind  # on the prior while another kind has its own
    assert not baseline.norm(1300, "chest").ln_rmssd_new_kind
    assert pulse.hr_mean == pytest.approx(60.0)  # its resting HR is the person's
    minutes(baseline, 1300, config.provisional_samples, PULSE_LN, "pulse")
    pulse = baseline.norm(1700, "pulse")
    assert not pulse.ln_rmssd_new_kind
    assert pulse.ln_rmssd_mean == pytest.approx(PULSE_LN, abs=0.03)
    assert pulse.ln_rmssd_sd == pytest.approx(0.3)  # one sitting: the assumed spread


def test_the_first_kind_a_new_person_wears_is_not_a_new_kind_beside_others() -> None:
    """Until any kind has minutes, every kind is on the prior with the person's: nothing
    differs from a person whose beats are of no known kind."""
    baseline = Baseline(BaselineConfig())
    minutes(baseline, 0, 3, CHEST_LN, "chest")
    for k in range(3, 10):
        baseline.add(60 * k, None, 60.0, "chest")  # HR provisional, too few pairs for HRV
    chest, every = baseline.norm(700, "chest"), baseline.norm(700, None)
    assert chest.state == "provisional" and chest.ln_rmssd_days == 0
    assert not chest.ln_rmssd_new_kind
    assert chest == every


def test_minutes_of_no_known_kind_count_for_every_kind_together_only() -> None:
    baseline = Baseline(BaselineConfig())
    minutes(baseline, 0, 10, CHEST_LN, None)
    assert baseline.norm(700, None).ln_rmssd_samples == 10
    assert baseline.norm(700, "chest").ln_rmssd_samples == 0
    assert baseline.kinds_kept() == []
    assert "ln_rmssd_by_beats" not in baseline.to_json()  # saved exactly as before


def test_the_saved_form_keeps_every_kinds_minutes_where_an_older_ambient_reads_them() -> None:
    kept = Baseline(BaselineConfig())
    minutes(kept, 0, 20, CHEST_LN, "chest")
    minutes(kept, DAY, 10, PULSE_LN, "pulse")
    unaware = Baseline(BaselineConfig())  # the same minutes, as an older ambient kept them
    minutes(unaware, 0, 20, CHEST_LN, None)
    minutes(unaware, DAY, 10, PULSE_LN, None)
    saved = json.loads(json.dumps(kept.to_json()))
    assert saved["version"] == 2
    assert saved["days"] == unaware.to_json()["days"]  # six sums a day, every kind's
    assert set(saved["ln_rmssd_by_beats"]) == {"chest", "pulse"}
    again = Baseline(BaselineConfig())
    assert again.load_json(saved)
    for kind in ("chest", "pulse", None):
        assert again.norm(DAY + 700, kind) == kept.norm(DAY + 700, kind)


@pytest.mark.parametrize("beats", ["chest", "pulse"])
def test_a_baseline_saved_before_kinds_were_kept_is_the_configured_kinds(beats: BeatsKind) -> None:
    before = Baseline(BaselineConfig())
    minutes(before, 0, 20, CHEST_LN, None)
    saved = json.loads(json.dumps(before.to_json()))
    loaded = Baseline(BaselineConfig())
    assert loaded.load_json(saved, beats)
    assert loaded.norm(1300, beats).ln_rmssd_mean == pytest.approx(CHEST_LN)
    assert loaded.norm(1300, beats).ln_rmssd_samples == 20
    other: BeatsKind = "pulse" if beats == "chest" else "chest"
    assert loaded.norm(1300, other).ln_rmssd_samples == 0
    assert loaded.norm(1300, None) == before.norm(1300, None)


def test_a_baseline_saved_before_kinds_with_no_configured_kind_stays_every_kinds() -> None:
    before = Baseline(BaselineConfig())
    minutes(before, 0, 20, CHEST_LN, None)
    loaded = Baseline(BaselineConfig())
    assert loaded.load_json(json.loads(json.dumps(before.to_json())))
    assert loaded.norm(1300, None).ln_rmssd_samples == 20
    assert loaded.norm(1300, "chest").ln_rmssd_samples == 0


def test_resetting_one_kind_forgets_its_minutes_and_keeps_the_others() -> None:
    baseline = Baseline(BaselineConfig())
    minutes(baseline, 0, 20, CHEST_LN, "chest")
    minutes(baseline, 1200, 10, PULSE_LN, "pulse")
    minutes(baseline, 1800, 4, 3.9, None)
    baseline.dirty = False
    baseline.clear("chest")
    assert baseline.dirty
    assert baseline.norm(2100, "chest").ln_rmssd_samples == 0
    assert baseline.norm(2100, "pulse").ln_rmssd_mean == pytest.approx(PULSE_LN)
    every = baseline.norm(2100, None)
    assert every.ln_rmssd_samples == 14  # the pulse sensor's and those of no known kind
    assert every.ln_rmssd_mean == pytest.approx((10 * PULSE_LN + 4 * 3.9) / 14)
    assert baseline.norm(2100, None).hr_samples == 34  # resting HR is not a kind's
    assert baseline.kinds_kept() == ["pulse"]
    # Saved and loaded again, the reset kind is not taken back from the minutes of every kind.
    again = Baseline(BaselineConfig())
    assert again.load_json(json.loads(json.dumps(baseline.to_json())), "chest")
    assert again.norm(2100, "chest").ln_rmssd_samples == 0


def test_a_reset_kind_whose_minutes_were_all_there_were_leaves_no_residue() -> None:
    baseline = Baseline(BaselineConfig())
    minutes(baseline, 0, 7, math.log(41.3), "pulse")
    baseline.clear("pulse")
    assert baseline.to_json()["days"]["0"][3:] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "by_beats",
    [
        {"ring": {"0": [1, 4.0, 16.0]}},  # a kind this version does not know
        {"chest": {"5": [1, 4.0, 16.0]}},  # a day without resting minutes
        {"chest": {"0": [1, 4.0]}},
        {"chest": {"0": [1, 4.0, float("nan")]}},
        ["chest"],
    ],
)
def test_per_kind_sums_that_are_not_ours_make_the_baseline_unreadable(by_beats: object) -> None:
    baseline = Baseline(BaselineConfig())
    saved = {"version": 2, "days": {"0": [1, 60.0, 3600.0, 1, 4.0, 16.0]}}
    assert baseline.load_json(saved)
    assert not baseline.load_json({**saved, "ln_rmssd_by_beats": by_beats})


# -- through the signal engine -------------------------------------------------------------

KINDS: dict[str, BeatsKind] = {"strap": "chest", "watch": "pulse"}
#: The same heart through a strap (RMSSD 30 ms) and through a watch that reads higher (50 ms).
STRAP_SWING, WATCH_SWING = 15.0, 25.0


def alternating(start: float, seconds: float, swing_ms: float) -> list[tuple[float, float]]:
    """Beats at 75 bpm alternating ± ``swing_ms`` (RMSSD 2 × swing)."""
    return timed(
        [800.0 + (swing_ms if i % 2 else -swing_ms) for i in range(int(seconds / 0.8))], start
    )


class Wearer:
    """alex's signals on a virtual clock, fed beats from named sources."""

    def __init__(
        self,
        store: Store | None = None,
        configured: dict[str, BeatsKind] | None = None,
        kinds: dict[str, BeatsKind] | None = None,
    ) -> None:
        self.clock = VirtualClock(0.0)
        self.store = store or Store(None)
        self.updates: list[SignalUpdate] = []
        self.engine = SignalEngine(
            SignalsConfig(),
            [PersonConfig(id="alex")],
            self.clock,
            self.store,
            self.updates.append,
            beats_by_source=KINDS if kinds is None else kinds,
            configured_beats=configured,
        )

    def beats(self, source: str, series: list[tuple[float, float]]) -> None:
        for t, rr in series:
            self.clock.advance_to(t)
            self.engine.feed(Reading(t, "alex", "rr", rr, source))

    def ln_z(self) -> float:
        value = self.engine.get("alex", "ln_rmssd_z").value
        assert isinstance(value, float)
        return value

    def reloaded(
        self,
        people: tuple[str, ...] = ("alex",),
        beats: dict[str, BeatsKind] = KINDS,
        stale_after: dict[str, float] | None = None,
        configured: dict[str, BeatsKind] | None = None,
    ) -> SignalEngine:
        """The engine closed (its baselines saved), and the one a reload wires instead."""
        self.engine.close()
        return SignalEngine(
            SignalsConfig(),
            [PersonConfig(id=person) for person in people],
            self.clock,
            self.store,
            self.updates.append,
            stale_after_by_source=stale_after,
            beats_by_source=beats,
            configured_beats=configured,
        )


def test_a_watchs_beats_are_compared_with_the_watchs_rest_not_the_straps() -> None:
    """Ten quiet minutes on a strap (RMSSD 30 ms), then a watch whose optical beats read
    higher (RMSSD 50 ms): the watch has no minutes of its own, so it is on the prior, as a
    new person's (z 0.4); it was compared with the strap's rest (z 1.6)."""
    wearer = Wearer()
    wearer.beats("strap", alternating(0, 600, STRAP_SWING))
    assert wearer.ln_z() == pytest.approx(0.0, abs=0.1)  # the strap's own rest
    wearer.beats("watch", alternating(600.4, 90, WATCH_SWING))
    prior = SignalsConfig().baseline
    expected = (math.log(50) - prior.prior_ln_rmssd) / prior.prior_ln_rmssd_sd
    assert wearer.ln_z() == pytest.approx(expected, abs=0.02)
    norm = wearer.engine.norm("alex")
    assert norm is not None and norm.ln_rmssd_samples == 0  # the watch's kind, on the prior
    # Worth what a score against the population's HRV is, as a new person's (it was 0.7, the
    # person's provisional rest's).
    assert wearer.engine.get("alex", "stress_confidence").value == 0.25


def test_a_new_kinds_first_minutes_are_learned_even_when_they_score_as_stress() -> None:
    """A watch that reads low (RMSSD 12 ms) after a strap: against the population's prior it
    scores as stress, as a new person's first minutes may; like theirs, its minutes are
    learned (they were left out for an hour as stressed rest)."""
    wearer = Wearer()
    wearer.beats("strap", alternating(0, 600, STRAP_SWING))
    wearer.beats("watch", alternating(600.4, 600, 6.0))
    norm = wearer.engine.norm("alex")
    assert norm is not None and norm.ln_rmssd_samples >= 8
    assert norm.ln_rmssd_mean == pytest.approx(math.log(12), abs=0.02)
    assert wearer.ln_z() == pytest.approx(0.0, abs=0.1)


@pytest.mark.parametrize("watch_beats_first", [False, True])
def test_a_score_from_heart_rate_alone_keeps_stressed_minutes_out_beside_a_new_kind(
    watch_beats_first: bool,
) -> None:
    """Only a score from a new kind's HRV is against the population's prior; one from HR
    alone is against the person's own resting HR, so its stressed minutes stay out of the
    baseline whether or not a watch's few beats came first (twenty minutes at 95 bpm were
    learned as rest, taking resting HR from 75 to 88 and the score from 100 to 36)."""
    wearer = Wearer()
    wearer.beats("strap", alternating(0, 600, STRAP_SWING))
    if watch_beats_first:  # too few for a minute of the watch's own: a new kind
        wearer.beats("watch", alternating(600.4, 20, WATCH_SWING))
    for t in range(630, 1830, 5):
        wearer.clock.advance_to(t)
        wearer.engine.feed(Reading(t, "alex", "hr", 95.0, "watch"))
    norm = wearer.engine.norm("alex")
    assert norm is not None and norm.ln_rmssd_new_kind is watch_beats_first
    assert norm.hr_samples <= 10  # the strap's minutes, and the first at 95 (not yet stressed)
    assert norm.hr_mean == pytest.approx(75.0, abs=0.1)
    assert wearer.engine.get("alex", "stress_score").value == pytest.approx(99.8, abs=0.1)


def test_each_kind_learns_its_own_rest_and_the_strap_comes_back_to_its_own() -> None:
    wearer = Wearer()
    wearer.beats("strap", alternating(0, 600, STRAP_SWING))
    wearer.beats("watch", alternating(600.4, 600, WATCH_SWING))
    assert wearer.ln_z() == pytest.approx(0.0, abs=0.1)  # the watch's own rest by now
    baseline = wearer.engine._people["alex"].baseline
    chest, pulse, every = (baseline.norm(1200, k) for k in ("chest", "pulse", None))
    assert chest.ln_rmssd_mean == pytest.approx(math.log(30), abs=0.01)
    assert pulse.ln_rmssd_mean == pytest.approx(math.log(50), abs=0.01)
    # The minute whose window held both kinds' beats counts for neither kind alone.
    assert every.ln_rmssd_samples == chest.ln_rmssd_samples + pulse.ln_rmssd_samples + 1
    wearer.beats("strap", alternating(1200.4, 90, STRAP_SWING))
    assert wearer.ln_z() == pytest.approx(0.0, abs=0.1)  # it was −0.8 against both together


def test_beats_of_no_known_kind_are_compared_with_every_kinds_rest_as_before() -> None:
    wearer = Wearer(kinds={})
    wearer.beats("strap", alternating(0, 600, STRAP_SWING))
    wearer.beats("watch", alternating(600.4, 600, WATCH_SWING))
    baseline = wearer.engine._people["alex"].baseline
    assert baseline.kinds_kept() == []
    every = baseline.norm(1200)
    assert wearer.engine.norm("alex") == every
    assert every.ln_rmssd_samples == 19  # every minute with enough pairs


def test_the_saved_baseline_keeps_each_kind_and_a_restart_goes_on_with_them(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "ambient.db")
    wearer = Wearer(store)
    wearer.beats("strap", alternating(0, 600, STRAP_SWING))
    wearer.beats("watch", alternating(600.4, 600, WATCH_SWING))
    wearer.engine.close()
    saved = store.get(BASELINE_NAMESPACE, "alex")
    assert saved is not None and set(saved["ln_rmssd_by_beats"]) == {"chest", "pulse"}
    again = Wearer(store)
    again.clock.advance_to(1300)
    again.beats("strap", alternating(1300.4, 90, STRAP_SWING))
    assert again.ln_z() == pytest.approx(0.0, abs=0.1)


def test_a_reload_that_changes_a_sensors_beats_compares_them_as_the_new_kind(
    tmp_path: Path,
) -> None:
    """An optical armband first left as a strap (a Bluetooth device's beats are a chest
    strap's unless it says `beats`), then given `beats: pulse` and reloaded: its beats are a
    pulse sensor's from the reload on, not carried on as a strap's until a restart. Its
    wearer's windows, which hold its beats as a strap's, start afresh."""
    store = Store(tmp_path / "ambient.db")
    wearer = Wearer(store, kinds={"strap": "chest", "watch": "chest"})
    wearer.beats("watch", alternating(0, 600, WATCH_SWING))
    reloaded = wearer.reloaded()
    assert reloaded.take_over(wearer.engine) == []  # windows afresh, the baseline as saved
    wearer.engine = reloaded
    wearer.beats("watch", alternating(600.4, 90, WATCH_SWING))
    norm = reloaded.norm("alex")
    assert norm is not None and norm.ln_rmssd_new_kind  # its minutes as a strap's stay there
    assert norm.hr_samples >= 9  # resting HR, one for both, went on from the saved baseline


def test_a_reload_that_changes_a_sensor_not_worn_yet_goes_on_with_the_new_kind(
    tmp_path: Path,
) -> None:
    """The armband's kind changed while alex wore only the strap: nothing of alex's state
    was shaped by it, so their windows go on, and its beats are a pulse sensor's."""
    store = Store(tmp_path / "ambient.db")
    wearer = Wearer(store, kinds={"strap": "chest", "watch": "chest"})
    wearer.beats("strap", alternating(0, 600, STRAP_SWING))
    reloaded = wearer.reloaded()
    assert reloaded.take_over(wearer.engine) == ["alex"]
    wearer.engine = reloaded
    wearer.beats("watch", alternating(600.4, 90, WATCH_SWING))
    norm = reloaded.norm("alex")
    assert norm is not None and norm.ln_rmssd_new_kind  # the strap's minutes are the strap's


def test_a_reload_that_adds_a_person_goes_on_with_the_others_windows(tmp_path: Path) -> None:
    """bob joins the household, the strap (given no `person:`) his too: his configured kind
    of beats is new, alex's is as it was, so alex's windows go on; they started afresh."""
    store = Store(tmp_path / "ambient.db")
    wearer = Wearer(store, configured={"alex": "chest", "default": "chest"})
    wearer.beats("strap", alternating(0, 120, STRAP_SWING))
    before = wearer.engine.get("alex", "rmssd")
    reloaded = wearer.reloaded(
        ("alex", "bob"), configured={"alex": "chest", "bob": "chest", "default": "chest"}
    )
    assert reloaded.take_over(wearer.engine) == ["alex"]
    assert reloaded.get("alex", "rmssd") == before  # known from the first moment


def test_a_reload_that_adds_a_sensor_for_a_new_person_goes_on_with_the_others_windows(
    tmp_path: Path,
) -> None:
    """bob joins with a strap and a watch of his own (one of a kind of beats, one of a span
    of its own): the sensors alex is heard from are as they were, so alex's windows go on;
    any change to the sensors' kinds or spans started everyone's afresh."""
    store = Store(tmp_path / "ambient.db")
    wearer = Wearer(store)
    wearer.beats("strap", alternating(0, 120, STRAP_SWING))
    before = wearer.engine.get("alex", "rmssd")
    reloaded = wearer.reloaded(
        ("alex", "bob"), {**KINDS, "bob_strap": "chest"}, stale_after={"bob_watch": 360.0}
    )
    assert reloaded.take_over(wearer.engine) == ["alex"]
    assert reloaded.get("alex", "rmssd") == before  # known from the first moment


@pytest.mark.parametrize(("configured", "samples"), [({"alex": "chest"}, 20), ({}, 0)])
def test_a_baseline_saved_before_kinds_is_the_persons_configured_kind(
    tmp_path: Path, configured: dict[str, BeatsKind], samples: int
) -> None:
    """An upgrade: the one ln RMSSD a strap wearer's ambient learned is the strap's; with no
    one kind configured it stays every kind's, and a strap's beats start from the prior."""
    store = Store(tmp_path / "ambient.db")
    before = Baseline(BaselineConfig())
    minutes(before, 0, 20, math.log(30), None)
    store.put(BASELINE_NAMESPACE, "alex", before.to_json())
    wearer = Wearer(store, configured=configured)
    wearer.beats("strap", alternating(1300, 30, STRAP_SWING))
    norm = wearer.engine.norm("alex")
    assert norm is not None and norm.ln_rmssd_samples == samples
