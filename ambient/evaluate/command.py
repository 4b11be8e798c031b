"""The ``ambient evaluate`` command: evaluate, print, and draw a timeline per recording."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from ambient.config import AmbientConfig
from ambient.evaluate.report import as_json, as_text
from ambient.evaluate.run import Evaluation, EvaluationError, evaluate
from ambient.simulate import whose_unnamed_rows

#: The exit code when the evaluation was shown but recordings of the folder were skipped
#: (each named on stderr and in the output).
SKIPPED_EXIT = 4


def run_evaluate(
    config: AmbientConfig,
    recordings_path: Path,
    labels_path: Path | None,
    rule_id: str | None,
    states: Mapping[str, str],
    out: TextIO,
    *,
    json_output: bool = False,
    plot_dir: Path | None = None,
) -> int:
    """Print the evaluation; with ``plot_dir``, write ``<recording>.png`` there. Returns 0, or
    :data:`SKIPPED_EXIT` when recordings of a folder could not be read. Raises
    :class:`EvaluationError` (and the plot's :class:`~ambient.plot.PlotUnavailable`) for
    inputs that cannot be used, before any output."""
    if plot_dir is not None:
        from ambient.plot import require_matplotlib

        require_matplotlib()
    evaluation = evaluate(
        config, recordings_path, labels_path, rule_id, states, keep_timeline=plot_dir is not None
    )
    _say_whose_unnamed_rows(config, evaluation)
    if json_output:
        out.write(json.dumps(as_json(evaluation)) + "\n")
    else:
        out.write(as_text(evaluation))
    if plot_dir is not None:
        from ambient.plot import draw_timeline
        from ambient.private_files import make_private_dir

        try:
            make_private_dir(plot_dir)
        except OSError as exc:
            raise EvaluationError(f"{plot_dir}: cannot create ({exc.strerror or exc})") from None
        for result in evaluation.recordings:
            draw_timeline(result.timeline, plot_dir / f"{result.name}.png")
    return SKIPPED_EXIT if evaluation.skipped else 0


def _say_whose_unnamed_rows(config: AmbientConfig, evaluation: Evaluation) -> None:
    """One line on stderr, with several people, naming whose the rows of recordings without
    a person column were scored as (they were read quietly as one person's)."""
    whose = whose_unnamed_rows(config, evaluation.unnamed_rows(), *evaluation.unnamed_rows_person)
    if whose is not None:
        print(f"ambient evaluate: {whose}", file=sys.stderr)
