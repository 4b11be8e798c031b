"""A recording read to its end as ``ambient run``'s recording sensor will read it, so that
``ambient check`` finds a fault deep in a month-long file (a byte that is not UTF-8, a row
with the other kind of time), not ``run`` when it gets there."""

from __future__ import annotations

from collections.abc import Collection, Set
from pathlib import Path

from ambient.recordings import OutOfOrder, RecordingError, RecordingStream, load_recording


def read_through(path: Path, default_person: str, people: Collection[str] | None) -> str | None:
    """The one line ``run`` would fail with (naming the file, and the line or byte), or None
    when the file plays to its end. Rows ``run`` skips are skipped here too, and logged as
    ``run`` logs them (the first few, then a count).

    The file is streamed a block at a time, nothing kept, as the sensor's own read-through
    does; one out of time order is read whole and sorted, as ``run`` then reads it. A file
    with no reading at all is refused too: ``run`` would play nothing and end."""
    try:
        try:
            with RecordingStream(path, default_person, people) as stream:
                readings = sum(len(batch) for batch in stream.batches())
        except OutOfOrder:
            readings = len(load_recording(path, default_person, people).readings)
    except RecordingError as exc:
        return str(exc)
    if not readings:  # `run` would say so, play nothing and end
        return f"recording {path} has no readings to play (no rows, or every row skipped)"
    return None


def recorded_metrics(
    path: Path, default_person: str, people: Collection[str] | None, wanted: Set[str]
) -> set[str]:
    """Those of ``wanted`` the recording has readings of, as ``run`` will play it (rows it
    skips do not count): read until all are found, else to its end; none from a file that
    cannot be read (``check`` says why, at the sensor). A recording's metrics are in its
    rows, not in a config key, so a rule reading ``garmin_stress`` asks the file. Nothing is
    logged: the skipped rows are ``run``'s to log as it plays."""
    found: set[str] = set()
    try:
        try:
            with RecordingStream(path, default_person, people, log_problems=False) as stream:
                for batch in stream.batches():
                    found.update(reading.metric for reading in batch if reading.metric in wanted)
                    if found == wanted:
                        break
        except OutOfOrder:
            recording = load_recording(path, default_person, people, log_problems=False)
            found.update(r.metric for r in recording.readings if r.metric in wanted)
    except RecordingError:
        pass
    return found
