"""``ambient baseline show|reset --person P``: what ambient has learned of a person's rest, and
a way to start again (a new wearable, a new medication); ``reset --beats chest|pulse`` forgets
only one kind of beats' ln RMSSD (a new strap, or a new watch).

The baseline lives in the store (``signals.baseline/<person>``); the daemon keeps a copy in
memory and saves it every few minutes, so a reset refuses while the daemon runs.
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any, TextIO

from ambient.config import AmbientConfig
from ambient.config.sensors import BEATS_KINDS, BeatsKind, beats_kinds_of, configured_beats
from ambient.config.signals import BaselineConfig
from ambient.signals.baseline import Baseline, Norm
from ambient.signals.engine import BASELINE_NAMESPACE
from ambient.store import Store

_PERSON_ID = re.compile(r"[a-z0-9][a-z0-9_]{0,63}")


#: How ``show`` names each kind of beats.
_BEATS_TEXT: dict[str, str] = {"chest": "a chest strap's", "pulse": "a pulse sensor's"}


class BaselineCommandError(Exception):
    """An expected refusal: printed as one line, exit code 1."""


def run_baseline(
    config: AmbientConfig,
    action: str,
    person: str,
    as_json: bool,
    stdout: TextIO,
    stderr: TextIO,
    now: float | None = None,
    beats: BeatsKind | None = None,
) -> int:
    """0 shown or reset; 1 with one line on ``stderr`` saying why not. ``beats`` (one kind's
    reset) goes with ``reset`` only: the CLI refuses it with ``show`` as a usage error."""
    try:
        if not _PERSON_ID.fullmatch(person):
            raise BaselineCommandError(
                f"`{person}` is not a person id (lower-case letters, digits, _)"
            )
        if action == "reset" and beats is not None:
            _reset_beats(config, person, beats, stdout)
        elif action == "reset":
            _reset(config, person, stdout)
        else:
            _show(config, person, as_json, stdout, time.time() if now is None else now)
    except BaselineCommandError as exc:
        print(f"ambient baseline: {exc}", file=stderr)
        return 1
    return 0


def _unknown_person(config: AmbientConfig, person: str) -> BaselineCommandError:
    return BaselineCommandError(
        f"no person `{person}` in the config or the store (people: {config.person_ids_text()})"
    )


def _baseline_of(config: AmbientConfig, person: str, store: Store | None) -> Baseline:
    saved = None if store is None else store.get(BASELINE_NAMESPACE, person)
    return _baseline_from(config, person, saved)


def _baseline_from(config: AmbientConfig, person: str, saved: Any) -> Baseline:
    """The person's baseline from its ``saved`` form (None: nothing saved, the prior)."""
    from ambient.clock import resolve_zone

    people = {p.id: p for p in config.people}
    resting_hr = people[person].resting_hr if person in people else None
    baseline = Baseline(config.signals.baseline, resting_hr, resolve_zone(config.timezone))
    # A baseline saved before kinds of beats were kept is the person's one kind, as the daemon
    # takes it (see `SignalEngine`).
    beats = configured_beats(config.sensors, person, config.person_ids())
    if saved is not None and not baseline.load_json(saved, beats):
        raise BaselineCommandError(
            f"the saved baseline of {person} is unreadable (the daemon starts it afresh)"
        )
    return baseline


def _open_store(config: AmbientConfig) -> Store | None:
    path = config.store.path
    if path is None or not path.exists():
        return None
    return Store.from_config(config.store)


def _show(config: AmbientConfig, person: str, as_json: bool, out: TextIO, now: float) -> None:
    people = config.person_ids()
    # A config without `people:` looks after whoever its sensors read for: anyone saved is its.
    configured = person in people or not people
    store = _open_store(config)
    try:
        saved = store is not None and store.get(BASELINE_NAMESPACE, person) is not None
        if not configured and not saved:
            raise _unknown_person(config, person)
        baseline = _baseline_of(config, person, store)
        unconfigured: list[str] = []  # saved under ids the config no longer lists
        if store is not None and people and not saved:
            unconfigured = sorted(set(store.items(BASELINE_NAMESPACE)) - set(people))
    finally:
        if store is not None:
            store.close()
    norm = baseline.norm(now)
    document = _document(
        person, norm, baseline.days_with_data(now), config.signals.baseline.prior_days
    )
    measured = baseline.measured_hr_mean(now)
    document["resting_hr"]["from_config"] = baseline.resting_hr is not None
    document["resting_hr"]["measured_mean"] = None if measured is None else round(measured, 1)
    last_day = baseline.last_day_worn()
    document["last_day"] = None if last_day is None else last_day.isoformat()
    document["configured"] = configured
    kinds = _kinds_shown(baseline, beats_kinds_of(config.sensors, person, config.person_ids()))
    document["ln_rmssd_by_beats"] = {
        kind: _ln_rmssd(baseline.norm(now, kind), config.signals.baseline.prior_days)
        for kind in kinds
    }
    if as_json:
        out.write(json.dumps(document) + "\n")
        return
    note = _household_note(person, configured, unconfigured)
    out.write(_text(document, note, config.signals.baseline))


def _household_note(person: str, configured: bool, unconfigured: list[str]) -> str:
    """A line for a baseline that is not a configured person's (someone who left, or an old id),
    or for a person starting afresh while baselines under ids the config lost are kept (a
    renamed person: what ambient learns follows the id, and nothing says so otherwise)."""
    if not configured:
        return (
            "  not in the config's people: what was saved before "
            f"(`ambient forget --person {person}` erases it)\n"
        )
    if unconfigured:
        return (
            f"  nothing saved for {person}; saved for people not in the config: "
            f"{', '.join(unconfigured)} (renamed? what ambient learns follows the `id`: "
            "give it back, change `name`)\n"
        )
    return ""


def _kinds_shown(baseline: Baseline, configured: set[BeatsKind | None]) -> list[BeatsKind]:
    """The kinds of beats ``show`` lists: those with minutes kept, and those of the person's
    sensors (on the prior until their first minutes)."""
    kept = set(baseline.kinds_kept())
    return [kind for kind in BEATS_KINDS if kind in kept or kind in configured]


def _document(person: str, norm: Norm, days: int, prior_days: float) -> dict[str, Any]:
    return {
        "person": person,
        "state": norm.state,
        "ready": norm.ready,
        "days": days,
        "resting_hr": {
            "mean": round(norm.hr_mean, 1),
            "sd": round(norm.hr_sd, 1),
            "samples": norm.hr_samples,
            **_spread_parts(norm.hr_within_sd, norm.hr_day_sd, norm.hr_days, prior_days, 1),
        },
        "ln_rmssd": _ln_rmssd(norm, prior_days),
    }


def _ln_rmssd(norm: Norm, prior_days: float) -> dict[str, Any]:
    """The norm's ln RMSSD (every kind's, or one kind's of beats) as ``show`` gives it."""
    return {
        "mean": round(norm.ln_rmssd_mean, 3),
        "sd": round(norm.ln_rmssd_sd, 3),
        "samples": norm.ln_rmssd_samples,
        "rmssd_ms": round(math.exp(norm.ln_rmssd_mean), 1),
        **_spread_parts(
            norm.ln_rmssd_within_sd, norm.ln_rmssd_day_sd, norm.ln_rmssd_days, prior_days, 3
        ),
    }


def _spread_parts(
    within_sd: float, day_sd: float, days: int, prior_days: float, digits: int
) -> dict[str, Any]:
    """The SD's two parts, the days behind them, and how much of the day-to-day part is still
    the prior's (its weight against the days beyond the first; 1 on the population prior)."""
    weight = prior_days + days - 1
    prior_share = 1.0 if days == 0 or weight <= 0 else prior_days / weight
    return {
        "on_prior": days == 0,  # no minute behind it: the population's mean and SD
        "within_day_sd": round(within_sd, digits),
        "day_to_day_sd": round(day_sd, digits),
        "sd_days": days,
        "sd_prior_share": round(prior_share, 2),
    }


_STATE_TEXT = {
    "prior": "population prior (too few quiet minutes of wear yet)",
    "provisional": "provisional (from the first quiet minutes; the spread is assumed)",
    "personal": "personal (mean of the last 7 days worn, 60-day spread)",
}


def _text(doc: dict[str, Any], note: str, config: BaselineConfig) -> str:
    hr, ln = doc["resting_hr"], doc["ln_rmssd"]
    needed = min(config.provisional_samples, config.min_samples)
    state = _STATE_TEXT[doc["state"]]
    if hr["on_prior"] and doc["last_day"] is not None:  # worn, but not for months
        state = (
            f"population prior (quiet minutes: none in the last {config.range_days} days; "
            f"the last on {doc['last_day']})"
        )
    return (
        f"{doc['person']}: {state}\n"
        f"{note}"
        f"  resting HR   {hr['mean']:.1f} ± {hr['sd']:.1f} bpm   ({_hr_source(hr)})\n"
        f"  ln RMSSD     {ln['mean']:.2f} ± {ln['sd']:.2f}  (RMSSD ≈ {ln['rmssd_ms']:.0f} ms; "
        f"{_ln_source(hr, ln, needed)})\n"
        f"{_by_beats_text(doc['ln_rmssd_by_beats'], needed)}"
        f"  days with data: {doc['days']}\n"
        f"  spread       {_spread_text(hr, ln, doc['last_day'] is not None)}\n"
    )


def _hr_source(hr: dict[str, Any]) -> str:
    """The minutes behind the resting HR; a configured one (what the scores use) is said
    so, with what the minutes measured beside it."""
    minutes = f"{hr['samples']} resting minutes"
    if not hr["from_config"]:
        return minutes
    measured = hr["measured_mean"]
    return f"resting_hr in the config; {minutes}" + (
        "" if measured is None else f": {measured:.1f}"
    )


def _ln_source(hr: dict[str, Any], ln: dict[str, Any], needed: int) -> str:
    """The minutes behind ln RMSSD; when HR has its own but ln RMSSD has too few (an HR-only
    watch), that the ln RMSSD shown is the population's."""
    pairs = f"{ln['samples']} minutes with enough beat pairs"
    if ln["on_prior"] and not hr["on_prior"]:
        return f"the population's: {pairs}, {needed} needed"
    return pairs


def _by_beats_text(by_beats: dict[str, dict[str, Any]], needed: int) -> str:
    """A line per kind of beats: what that kind's beats are compared with (the line above is
    every kind's minutes together, for beats of no known kind)."""
    lines = []
    for kind, ln in by_beats.items():
        minutes = f"{ln['samples']} minutes of {_BEATS_TEXT[kind]} beats"
        source = f"the population's: {minutes}, {needed} needed" if ln["on_prior"] else minutes
        lines.append(
            f"    {kind:<10} {ln['mean']:.2f} ± {ln['sd']:.2f}  "
            f"(RMSSD ≈ {ln['rmssd_ms']:.0f} ms; {source})\n"
        )
    return "".join(lines)


def _spread_text(hr: dict[str, Any], ln: dict[str, Any], worn: bool) -> str:
    """The spread's parts and how much is assumed; on the prior only its own (the ± above),
    not the parts no minute has shown yet (they read ± 0.0)."""
    if hr["on_prior"]:
        return "the population's, as above" + ("" if worn else " (no quiet minutes yet)")
    ln_text = (
        "the population's"
        if ln["on_prior"]
        else f"± {ln['within_day_sd']:.2f}, ± {ln['day_to_day_sd']:.2f}"
    )
    return (
        f"HR ± {hr['within_day_sd']:.1f} bpm within a day, "
        f"± {hr['day_to_day_sd']:.1f} day to day; ln RMSSD {ln_text}\n"
        f"               {_prior_text(hr, ln)}"
    )


def _prior_text(hr: dict[str, Any], ln: dict[str, Any]) -> str:
    """How much of the day-to-day spread is still assumed."""
    measured = [m for m in (hr, ln) if not m["on_prior"]]  # the population's: no days to show
    shares = {round(100 * m["sd_prior_share"]) for m in measured}
    share = " / ".join(f"{s} %" for s in sorted(shares, reverse=True))
    return f"day to day: {share} still assumed (prior_days), until more days show theirs"


def _reset(config: AmbientConfig, person: str, out: TextIO) -> None:
    """Forget the person's saved baseline; nothing saved (no store file yet, a store without
    them, or no store at all) is said, exit 0 alike; a misspelt id is refused."""
    _refuse_while_running(config)
    store = _open_store(config)
    had = False
    if store is not None:
        try:
            had = store.get(BASELINE_NAMESPACE, person) is not None
            if had:
                store.delete(BASELINE_NAMESPACE, person)
        finally:
            store.close()
    if not had and person not in config.person_ids():  # a misspelt id: say so
        raise _unknown_person(config, person)
    if not had:
        kept = " (store.path is null: nothing is kept)" if config.store.path is None else ""
        out.write(f"{person} has no saved baseline{kept}: nothing to reset\n")
        return
    out.write(
        f"baseline of {person} reset: the population prior stands in until the first quiet "
        "minutes of wear give a provisional one\n"
    )


def _reset_beats(config: AmbientConfig, person: str, beats: BeatsKind, out: TextIO) -> None:
    """Forget the ln RMSSD of one kind of beats (a new strap, a new watch): that kind is on the
    prior until its first quiet minutes; resting HR and the other kind are kept."""
    _refuse_while_running(config)
    store = _open_store(config)
    saved = None if store is None else store.get(BASELINE_NAMESPACE, person)
    if store is None or saved is None:
        if store is not None:
            store.close()
        if person not in config.person_ids():
            raise _unknown_person(config, person)
        out.write(f"{person} has no saved baseline: nothing to reset\n")
        return
    try:
        baseline = _baseline_from(config, person, saved)
        if beats not in baseline.kinds_kept():
            out.write(
                f"{person} has no ln RMSSD of {_BEATS_TEXT[beats]} beats saved: nothing to reset\n"
            )
            return
        baseline.clear(beats)
        store.put(BASELINE_NAMESPACE, person, baseline.to_json())
    finally:
        store.close()
    out.write(
        f"ln RMSSD of {person}'s {beats} beats reset: the population prior stands in for them "
        "until their first quiet minutes; resting HR and the other beats are kept\n"
    )


def _refuse_while_running(config: AmbientConfig) -> None:
    from ambient.daemon_stop import refusal

    refused = refusal(config.store.path, "save its copy again", "reset")
    if refused is not None:
        raise BaselineCommandError(refused)
