"""Replay each recording on a virtual clock (as ``simulate`` does: no devices, brokers, HA or
state file; read as it replays when it is in time order) and score the rules' firings against
its labels. The unknown share of each signal is tallied as the replay goes (memory that of the
number of signals, however long the recording); the signal changes themselves are kept only
for a picture of the timeline (``keep_timeline``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ambient.config import AmbientConfig
from ambient.config.root import FIRST_PERSON
from ambient.config.rules import RuleConfig
from ambient.evaluate.scoring import NOT_YET, DetectionScore, score, total, unknown_seconds
from ambient.evaluate.tally import PeopleTally
from ambient.evaluate.timeline import Timeline, build_timeline, has_signal_trigger
from ambient.labels import Labels, LabelsError, load_labels_file
from ambient.readings import HR
from ambient.recordings import RecordingError, is_nameless, is_recording_name
from ambient.rules.rule import build_rule, entities_used
from ambient.simulate import Simulation, replay_files, replay_sensor

_LOGGER = logging.getLogger(__name__)

#: How far a labels ``end`` may pass the last reading unsaid (a session's end in whole
#: seconds, its last beat a moment before): it is scored to the last reading all the same.
END_SLACK_S = 60.0
#: Found beside the recordings when ``--labels`` is not given.
LABELS_FILE = "labels.jsonl"


class EvaluationError(Exception):
    """An input that cannot be evaluated; the message is one line naming where."""


@dataclass
class RecordingResult:
    name: str
    path: Path
    #: Where the labels came from: the labels file, ``rows`` in the recording, or None.
    labels_source: str | None
    #: What a picture draws (its signals' changes only with ``keep_timeline``).
    timeline: Timeline
    #: Per rule id: its score (None when the recording has no labels).
    scores: dict[str, DetectionScore | None]
    #: Per rule id: its firings, in seconds from the start.
    firings_s: dict[str, list[float]]
    #: Per signal that changed: seconds unknown by reason (of ``duration_s``), of the
    #: followed person (the first evaluated rule's, else the first with signals).
    unknown_by_signal: dict[str, dict[str, float]]
    #: The same per person with signals in the recording, in the order they first had one.
    unknown_by_person: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    #: Per rule id not scored on a labelled recording: why (it holds nothing of its person).
    not_scored: dict[str, str] = field(default_factory=dict)
    #: Whether its rows name their person (else they were the unnamed rows' person's).
    names_person: bool = True

    @property
    def duration_s(self) -> float:
        return self.timeline.duration_s

    def unknown_s(self, signal: str) -> dict[str, float]:
        found = self.unknown_by_signal.get(signal)
        return unknown_seconds((), self.duration_s) if found is None else found


@dataclass(frozen=True)
class SkippedRecording:
    name: str
    path: Path
    #: The one line the recording failed with (naming the file, and the line or byte).
    why: str


@dataclass
class Evaluation:
    rules: list[RuleConfig]
    recordings: list[RecordingResult]
    #: Signals the evaluated rules read, for the unknown-share table.
    signals_read: list[str]
    #: HA entities the rules read that were not given with ``--state``.
    entities_missing: list[str]
    #: Whose the rows of a recording without a person column were taken as, and why
    #: (:func:`unnamed_rows_person`).
    unnamed_rows_person: tuple[str | None, str]
    #: Recordings of a folder that could not be read, with the one line saying why: the
    #: others are evaluated all the same.
    skipped: list[SkippedRecording] = field(default_factory=list)

    def unnamed_rows(self) -> list[Path]:
        """The recordings whose rows did not name their person."""
        return [result.path for result in self.recordings if not result.names_person]


def find_recordings(path: Path, labels_path: Path | None) -> list[Path]:
    """A recording (a file, or a pipe: ``-r <(zcat day.csv.gz)``), or the recordings in a
    folder (labels files excluded), by name."""
    if not path.exists():
        raise EvaluationError(f"{path}: no such recording or folder")
    if not path.is_dir():
        return [path]
    found = [
        p
        for p in sorted(path.iterdir())
        if p.is_file()
        and is_recording_name(p)
        and not p.stem.lower().endswith("labels")
        and p != labels_path
    ]
    if not found:
        raise EvaluationError(f"{path}: no recordings (*.csv, *.jsonl, *.ndjson) in this folder")
    return found


def labels_file_for(recordings_path: Path, labels_path: Path | None) -> Path | None:
    if labels_path is not None:
        return labels_path
    folder = recordings_path if recordings_path.is_dir() else recordings_path.parent
    beside = folder / LABELS_FILE
    return beside if beside.is_file() else None


def rules_to_evaluate(config: AmbientConfig, rule_id: str | None) -> list[RuleConfig]:
    if rule_id is not None:
        rules = [rule for rule in config.rules if rule.id == rule_id]
        if not rules:
            known = ", ".join(rule.id for rule in config.rules) or "none"
            raise EvaluationError(f"no rule `{rule_id}` in the config (rules: {known})")
        return rules
    rules = [rule for rule in config.rules if has_signal_trigger(rule)]
    if not rules:
        raise EvaluationError("the config has no rule with a signal trigger to evaluate")
    return rules


def detection_config(config: AmbientConfig, rules: Sequence[RuleConfig]) -> AmbientConfig:
    """The rules as detectors: cooldown, mode, quiet hours and pause pace or hold back actions,
    not detection, so every firing of trigger and conditions counts."""
    detectors = [
        rule.model_copy(update={"cooldown": 0.0, "mode": "parallel", "max": 1000}) for rule in rules
    ]
    return config.model_copy(update={"rules": detectors, "quiet_hours": None, "pause": False})


def evaluate(
    config: AmbientConfig,
    recordings_path: Path,
    labels_path: Path | None,
    rule_id: str | None,
    states: Mapping[str, str],
    *,
    keep_timeline: bool = True,
) -> Evaluation:
    """Each recording's scores; with ``keep_timeline``, the signal changes a picture draws
    (they grow with the recording: ~50 bytes a change)."""
    rules = rules_to_evaluate(config, rule_id)
    labels_file = labels_file_for(recordings_path, labels_path)
    by_subject = load_labels_file(labels_file) if labels_file is not None else {}
    detectors = detection_config(config, rules)
    paths = find_recordings(recordings_path, labels_path)
    if (
        labels_file is not None
        and len(paths) > 1
        and by_subject.keys().isdisjoint(path.stem for path in paths)
    ):
        # One line for them all, not one per recording and per subject.
        _LOGGER.warning(
            "%s labels none of the recordings in %s (its subjects: %s; the recordings: %s): "
            "a subject is a recording's file name without its ending",
            labels_file,
            recordings_path,
            _some(sorted(by_subject)),
            _some([path.stem for path in paths]),
        )
        labels_file, by_subject = None, {}
    elif recordings_path.is_dir():
        _warn_of_missing_recordings(by_subject, paths, recordings_path)
    results: list[RecordingResult] = []
    skipped: list[SkippedRecording] = []
    for path in paths:
        try:
            results.append(
                evaluate_recording(
                    detectors, path, by_subject, labels_file, states, keep_timeline=keep_timeline
                )
            )
        except (RecordingError, EvaluationError) as exc:
            if not recordings_path.is_dir():  # the one recording given: nothing to show
                raise
            # A month of recordings is not lost to one damaged file.
            _LOGGER.warning("skipped %s: %s", path.name, exc)
            skipped.append(SkippedRecording(path.stem, path, str(exc)))
    if not results:
        raise EvaluationError(
            f"{recordings_path}: none of its {len(skipped)} recording(s) could be read"
        )
    built = [build_rule(rule) for rule in rules]
    read = sorted({name for rule in built for name in rule.signal_names})
    missing = sorted(entities_used(built) - set(states))
    return Evaluation(rules, results, read, missing, unnamed_rows_person(detectors), skipped)


#: Why a pipe's recording matches no subject, and what to do.
_NAMELESS = (
    "; a pipe or /dev/stdin has no file name to match a subject: save the recording as the "
    "subject's file first ({subject}.csv)"
)


def _some(names: Sequence[str]) -> str:
    """The first five of ``names`` (``…`` for more), or ``none``."""
    return ", ".join(names[:5]) + (", …" if len(names) > 5 else "") if names else "none"


def _warn_of_missing_recordings(
    by_subject: Mapping[str, Labels], paths: Sequence[Path], folder: Path
) -> None:
    """A subject of the labels file with no recording in the folder would leave the totals
    short without a word. (A subject written as a file name, ``S01.csv``, is said with the
    recording it leaves unlabelled.)"""
    named = {path.stem for path in paths} | {path.name for path in paths}
    for subject, labels in by_subject.items():
        if subject not in named:
            _LOGGER.warning(
                "%s: no recording `%s` (%s.csv, .jsonl or .ndjson) in %s: not scored",
                labels.where,
                subject,
                subject,
                folder,
            )


def evaluate_recording(
    config: AmbientConfig,
    path: Path,
    by_subject: Mapping[str, Labels],
    labels_file: Path | None,
    states: Mapping[str, str],
    *,
    keep_timeline: bool = True,
) -> RecordingResult:
    given = by_subject.get(path.stem)
    # Where the scores end, when the labels file says so before the replay (else the end of
    # the recording or of its own labels, known after it).
    known_end_s = None if given is None else given.end
    person = followed_person(config)
    tally = PeopleTally(end_s=known_end_s)
    result = _replay(config, path, states, tally, person, keep_changes=keep_timeline)
    labels, source = result.labels, "rows" if result.labels is not None else None
    if given is not None:
        labels, source = given, str(labels_file or "given")
    elif labels is None and labels_file is not None:
        # A subject written as the file name (`S01.csv`) or a typo would pass unnoticed.
        _LOGGER.warning(
            "%s has no line with subject `%s` (its subjects: %s): %s is not scored%s",
            labels_file,
            path.stem,
            _some(sorted(by_subject)),
            path.name,
            _NAMELESS.format(subject=min(by_subject, default="S01")) if is_nameless(path) else "",
        )
    rule_ids = [rule.id for rule in config.rules]
    timeline = build_timeline(config, result, path.stem, states, rule_ids, labels)
    if labels is not None:
        labels = fitted_to_recording(labels, timeline.duration_s, path.name)
        # The picture's are its person's (label rows may name several).
        timeline.labels = labels.by_person.get(person or "", labels)
        if labels.end is not None:
            timeline.duration_s = labels.end
    end_s = timeline.duration_s
    by_person = _unknown_by_person(tally, end_s, path)
    # The followed person's, from the same tally with or without a picture.
    followed = person or next(iter(by_person), None)
    unknown = by_person.get(followed, {}) if followed is not None else {}
    for whose in dict.fromkeys(rule.person for rule in config.rules if rule.person):
        if _never_read(by_person.get(whose, {}), end_s):
            _LOGGER.warning(
                "%s has no readings of %s, the person of the rules evaluated (its rows name "
                "another): nothing of %s's is scored",
                path.name,
                whose,
                whose,
            )
    firings = {
        rule_id: [e.t for e in timeline.events if e.rule == rule_id and e.event == "fired"]
        for rule_id in rule_ids
    }
    scores: dict[str, DetectionScore | None] = {}
    not_scored: dict[str, str] = {}
    for rule in config.rules:
        if labels is not None and rule.person is None and labels.by_person:
            each = _score_each_person(rule.id, labels, result, by_person, end_s)
            if isinstance(each, str):
                not_scored[rule.id] = each
            scores[rule.id] = None if isinstance(each, str) else each
            continue
        own = None if labels is None else _labels_of(labels, rule.person, by_person, end_s)
        if isinstance(own, str):
            not_scored[rule.id], own = own, None
        scores[rule.id] = None if own is None else score(own, firings[rule.id], end_s)
    return RecordingResult(
        path.stem,
        path,
        source,
        timeline,
        scores,
        firings,
        unknown,
        by_person,
        not_scored,
        names_person=not result.unnamed_rows,
    )


def _score_each_person(
    rule_id: str,
    labels: Labels,
    result: Simulation,
    by_person: Mapping[str, Mapping[str, Mapping[str, float]]],
    end_s: float,
) -> DetectionScore | str:
    """A rule for anyone on label rows: each person's firings against their own labels, pooled
    (as recordings are; each episode names its person when the rows name several); a person
    with no readings is left out."""
    scored: list[DetectionScore] = []
    several = len(labels.by_person) > 1
    for person, own in labels.by_person.items():
        if _never_read(by_person.get(person, {}), end_s):
            continue
        firings_s = [
            trace.time - result.start
            for trace in result.traces
            if trace.rule == rule_id and trace.event == "fired" and trace.person == person
        ]
        scored.append(score(own, firings_s, end_s, person if several else None))
    if not scored:
        return "no readings of " + ", ".join(labels.by_person)
    return total(scored)


def _labels_of(
    labels: Labels,
    person: str | None,
    by_person: Mapping[str, Mapping[str, Mapping[str, float]]],
    end_s: float,
) -> Labels | str:
    """The labels a rule of ``person`` is scored by, or why it is not scored: a recording
    with no reading of its person, or label rows naming others only. A rule for anyone is
    scored by the labels file's line (label rows of several people: see
    :func:`_score_each_person`)."""
    if person is None:
        return labels
    if _never_read(by_person.get(person, {}), end_s):
        return f"no readings of {person}"
    if not labels.by_person:
        return labels
    return labels.by_person.get(person) or f"no label rows of {person}"


def _unknown_by_person(
    tally: PeopleTally, end_s: float, path: Path
) -> dict[str, dict[str, dict[str, float]]]:
    by_person: dict[str, dict[str, dict[str, float]]] = {}
    for person, of_person in tally.by_person.items():
        # Signal updates come with readings, so none comes after the last one.
        assert of_person.answers_for(end_s), f"{path}: a signal changed after the recording's end"
        by_person[person] = {s: of_person.unknown_seconds(s, end_s) for s in of_person.signals}
    return by_person


def fitted_to_recording(labels: Labels, recording_end_s: float, name: str) -> Labels:
    """The labels scored where the recording has readings, each change said in a warning: an
    ``end`` past its last reading is brought back to it (calm hours without readings would
    dilute the false alarms), an episode starting at or after the end is left out (the rule
    had no data there: not a miss)."""
    if labels.by_person:  # label rows: each person's fitted
        each = {
            person: fitted_to_recording(own, recording_end_s, name)
            for person, own in labels.by_person.items()
        }
        return replace(next(iter(each.values())), by_person=each)
    end_s = recording_end_s
    if labels.end is not None and labels.end > recording_end_s + END_SLACK_S:
        _LOGGER.warning(
            "%s: `end` %g s is past the end of %s (its last reading, %g s): scored to %g s",
            labels.where,
            labels.end,
            name,
            recording_end_s,
            recording_end_s,
        )
    elif labels.end is not None:
        end_s = min(labels.end, recording_end_s)
    kept = [i for i, (start, _) in enumerate(labels.episodes) if start < end_s]
    for start, end in labels.episodes[len(kept) :]:  # in time order: the late ones are last
        _LOGGER.warning(
            "%s: the episode at %g-%g s starts after %s ends (%g s): not scored",
            labels.where,
            start,
            end,
            name,
            end_s,
        )
    return replace(
        labels,
        episodes=tuple(labels.episodes[i] for i in kept),
        episode_names=labels.episode_names[: len(kept)],
        end=None if labels.end is None else end_s,
    )


def _never_read(unknown: Mapping[str, Mapping[str, float]], end_s: float) -> bool:
    """Whether the person's heart rate (which every source gives) had no value all along.
    (Known all along is no unknown time at all: ``{}``, not a missing signal.)"""
    hr = unknown.get(HR)
    if hr is None:
        hr = {NOT_YET: end_s}
    return end_s > 0 and set(hr) == {NOT_YET} and hr[NOT_YET] >= end_s


def followed_person(config: AmbientConfig) -> str | None:
    """Whose signals the unknown shares and the picture show: the first evaluated rule's
    person (None: the first person with signals, a recording being one person's)."""
    return next((rule.person for rule in config.rules if rule.person), None)


def unnamed_rows_person(config: AmbientConfig) -> tuple[str | None, str]:
    """Whose the rows of a recording without a person column are (``config``: the detection
    config, :func:`detection_config`), and why: the first evaluated rule's person, else the
    config's first person."""
    followed = followed_person(config)
    if followed is not None:
        return followed, "the evaluated rule's person"
    return config.first_person_id(), FIRST_PERSON


def _replay(
    config: AmbientConfig,
    path: Path,
    states: Mapping[str, str],
    tally: PeopleTally,
    followed: str | None,
    *,
    keep_changes: bool,
) -> Simulation:
    """The replay of ``path``, tallying everyone's unknown seconds into ``tally``; with
    ``keep_changes``, keeping ``followed``'s signal changes too (for a picture)."""
    person, _why = unnamed_rows_person(config)  # whose the rows without a person are
    sensor = replay_sensor(config, path, person)
    try:  # rows for people the config does not know are reported and skipped
        return asyncio.run(
            replay_files(
                config,
                [sensor],
                states,
                keep_signals=False,
                keep_changes=keep_changes,
                tally_unknown=tally,
                person=followed,
            )
        )
    except LabelsError as exc:
        raise EvaluationError(str(exc)) from None
