"""An evaluation as a text table or one JSON document (the ``evaluate --json`` promise: fields
are only ever added)."""

from __future__ import annotations

from typing import Any

from ambient.evaluate.run import Evaluation, RecordingResult
from ambient.evaluate.scoring import HOUR_S, DetectionScore, total, unknown_seconds
from ambient.evaluate.trigger_text import trigger_text

#: How many reasons the text table names per signal (the JSON has them all).
TEXT_REASONS = 3


def as_json(evaluation: Evaluation) -> dict[str, Any]:
    rules = []
    for rule in evaluation.rules:
        rows = []
        for result in evaluation.recordings:
            row: dict[str, Any] = {"recording": result.name}
            row |= _score_json(result.scores[rule.id])
            if rule.id in result.not_scored:
                row["not_scored"] = result.not_scored[rule.id]
            row["firings_s"] = [round(t, 1) for t in result.firings_s[rule.id]]
            rows.append(row)
        rules.append(
            {
                "id": rule.id,
                "triggers": [trigger_text(t, i) for i, t in enumerate(rule.triggers)],
                "recordings": rows,
                "overall": _score_json(_overall(evaluation, rule.id)),
            }
        )
    signals = sorted({s for r in evaluation.recordings for s in r.unknown_by_signal})
    everyones = sorted(
        {s for r in evaluation.recordings for p in r.unknown_by_person.values() for s in p}
        | set(signals)
    )
    document: dict[str, Any] = {
        "rules": rules,
        "recordings": [
            _recording_json(result, signals, everyones) for result in evaluation.recordings
        ],
        "unknown_overall": {s: _shares(_pooled_unknown(evaluation, s)) for s in signals},
        "signals_read": evaluation.signals_read,
        "entities_missing": evaluation.entities_missing,
    }
    if evaluation.skipped:  # only then: an evaluation with none skipped reads as it did
        document["skipped"] = [
            {"recording": s.name, "path": str(s.path), "why": s.why} for s in evaluation.skipped
        ]
    return document


def _overall(evaluation: Evaluation, rule_id: str) -> DetectionScore | None:
    scores = [r.scores[rule_id] for r in evaluation.recordings]
    labelled = [s for s in scores if s is not None]
    return total(labelled) if labelled else None


def _score_json(found: DetectionScore | None) -> dict[str, Any]:
    if found is None:
        return {"labelled": False}
    per_hour = found.false_alarms_per_calm_hour
    median = found.median_latency_s
    return {
        "labelled": True,
        "episodes": [
            {
                "start": e.start,
                "end": e.end,
                "name": e.name,
                "found": e.found,
                "latency_s": None if e.latency_s is None else round(e.latency_s, 1),
                **({} if e.person is None else {"person": e.person}),
            }
            for e in found.episodes
        ],
        "found": found.found,
        "episodes_total": len(found.episodes),
        "found_share": None if found.found_share is None else round(found.found_share, 3),
        "median_latency_s": None if median is None else round(median, 1),
        "false_alarms": found.false_alarms,
        "calm_hours": round(found.calm_s / HOUR_S, 3),
        "false_alarms_per_calm_hour": None if per_hour is None else round(per_hour, 2),
        "firings": found.firings,
    }


def _recording_json(
    result: RecordingResult, signals: list[str], everyones: list[str]
) -> dict[str, Any]:
    duration_s = result.duration_s
    return {
        "recording": result.name,
        "path": str(result.path),
        "labels": result.labels_source,
        "duration_s": round(duration_s, 1),
        "unknown": {s: _shares((result.unknown_s(s), duration_s)) for s in signals},
        "unknown_by_person": {
            person: {
                s: _shares((_unknown_of(by_signal, s, duration_s), duration_s)) for s in everyones
            }
            for person, by_signal in result.unknown_by_person.items()
        },
    }


def _unknown_of(
    by_signal: dict[str, dict[str, float]], signal: str, duration_s: float
) -> dict[str, float]:
    """The signal's unknown seconds by reason; one that never changed had no data."""
    found = by_signal.get(signal)
    return unknown_seconds((), duration_s) if found is None else found


def _pooled_unknown(evaluation: Evaluation, signal: str) -> tuple[dict[str, float], float]:
    pooled: dict[str, float] = {}
    for result in evaluation.recordings:
        for reason, seconds in result.unknown_s(signal).items():
            pooled[reason] = pooled.get(reason, 0.0) + seconds
    return pooled, sum(r.duration_s for r in evaluation.recordings)


def _shares(unknown: tuple[dict[str, float], float]) -> dict[str, Any]:
    by_reason, duration_s = unknown
    if duration_s <= 0:
        return {"share": None, "reasons": {}}
    ordered = sorted(by_reason.items(), key=lambda item: -item[1])
    return {
        "share": round(sum(by_reason.values()) / duration_s, 3),
        "reasons": {reason: round(seconds / duration_s, 3) for reason, seconds in ordered},
    }


# -- text ------------------------------------------------------------------------------------


def as_text(evaluation: Evaluation) -> str:
    lines: list[str] = []
    for rule in evaluation.rules:
        labels = " or ".join(trigger_text(t, i) for i, t in enumerate(rule.triggers))
        lines += [f"Rule {rule.id}: {labels}", ""]
        width = max(9, *(len(r.name) for r in evaluation.recordings))
        lines.append(
            f"{'recording':<{width}}  {'found':>9}  {'latency':>8}  {'false alarms':>12}"
            f"  {'calm h':>6}  {'per calm h':>10}"
        )
        for result in evaluation.recordings:
            firings = len(result.firings_s[rule.id])
            why = result.not_scored.get(rule.id)
            if why is not None:
                lines.append(f"{result.name:<{width}}  not scored: {why} ({firings} firing(s))")
            else:
                lines.append(_score_row(result.name, result.scores[rule.id], width, firings))
        overall = _overall(evaluation, rule.id)
        if len(evaluation.recordings) > 1:
            firings = sum(len(r.firings_s[rule.id]) for r in evaluation.recordings)
            lines.append(_score_row("all", overall, width, firings))
        lines.append("")
    lines.append(
        "Unknown share of each signal the rules read (of the recording's time)"
        + _whose_signals(evaluation)
        + ":"
    )
    lines.append("")
    name_width = max(12, *(len(r.name) for r in evaluation.recordings))
    for signal in evaluation.signals_read:
        lines.append(f"  {signal}")
        for result in evaluation.recordings:
            shares = _shares((result.unknown_s(signal), result.duration_s))
            lines.append(f"    {result.name:<{name_width}} {_share_text(shares)}")
        if len(evaluation.recordings) > 1:
            pooled = _shares(_pooled_unknown(evaluation, signal))
            lines.append(f"    {'all':<{name_width}} {_share_text(pooled)}")
    if evaluation.entities_missing:
        lines += [
            "",
            "Note: the rules read HA entities not given with --state (their state is unknown, "
            "so conditions on them are false): " + ", ".join(evaluation.entities_missing),
        ]
    if evaluation.skipped:
        lines += ["", "Skipped (could not be read; not in the scores above):"]
        lines += [f"  {s.name}: {s.why}" for s in evaluation.skipped]
    return "\n".join(lines) + "\n"


def _whose_signals(evaluation: Evaluation) -> str:
    """With rules of several people, whose signals the shares are (the first rule's person,
    as the replay follows), and how to see another's."""
    people = list(dict.fromkeys(rule.person for rule in evaluation.rules if rule.person))
    if len(people) < 2:
        return ""
    others = "; ".join(
        f"for {person}'s: --rule "
        + next(rule.id for rule in evaluation.rules if rule.person == person)
        for person in people[1:]
    )
    return f", of {people[0]}, the first rule's person ({others})"


def _score_row(name: str, found: DetectionScore | None, width: int, firings: int) -> str:
    if found is None:
        return f"{name:<{width}}  no labels ({firings} firing(s))"
    median = found.median_latency_s
    per_hour = found.false_alarms_per_calm_hour
    share = found.found_share
    found_text = f"{found.found}/{len(found.episodes)}"
    if share is not None and len(found.episodes) > 3:
        found_text += f" {share:.0%}"
    return (
        f"{name:<{width}}  {found_text:>9}  {_seconds(median):>8}  {found.false_alarms:>12}"
        f"  {found.calm_s / HOUR_S:>6.2f}  {'—' if per_hour is None else f'{per_hour:.2f}':>10}"
    )


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} s"


def _share_text(shares: dict[str, Any]) -> str:
    share = shares["share"]
    if share is None:
        return "—"
    reasons = [(r, part) for r, part in shares["reasons"].items() if part >= 0.01]
    named = ", ".join(f"{reason} {part:.0%}" for reason, part in reasons[:TEXT_REASONS])
    more = f", +{len(reasons) - TEXT_REASONS} more" if len(reasons) > TEXT_REASONS else ""
    return f"{share:>4.0%}" + (f"  ({named}{more})" if named else "")
