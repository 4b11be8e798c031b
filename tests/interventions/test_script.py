"""Session scripts: templates for the moment, and an LLM's answer checked before it is spoken."""

from __future__ import annotations

from typing import Any

import pytest

from ambient.interventions.script import (
    MAX_TEXT_CHARS,
    ScriptContext,
    ScriptRejected,
    from_llm,
    from_template,
    llm_instructions,
)

CONTEXT = ScriptContext(
    name="Alex",
    hour=21,
    stress_minutes=14,
    pattern="resonance",
    phases=(("inhale", 5.5), ("exhale", 5.5)),
)
GOOD_ANSWER: dict[str, Any] = {
    "opening": "Hello Alex. Let's slow down together.",
    "closing": "Well done.",
    "inhale_seconds": 4,
    "exhale_seconds": 6,
    "cycles": 6,
}


def test_the_default_template_speaks_to_the_person_and_the_moment() -> None:
    script = from_template(CONTEXT, cycles=6)
    assert script.opening.startswith("Good evening, Alex.")
    assert "tense 14 minutes" in script.opening
    assert "in for 5.5, out for 5.5" in script.opening
    assert script.source == "template"


def test_a_broken_user_template_falls_back_to_the_built_in_one() -> None:
    script = from_template(CONTEXT, cycles=6, opening="Hi {{ nickname }}")
    assert script.opening.startswith("Good evening, Alex.")
    assert "nickname" in script.source


def test_a_template_cannot_reach_outside_its_context() -> None:
    script = from_template(CONTEXT, cycles=6, opening="{{ name.__class__.__mro__ }}")
    assert "yours failed" in script.source


def test_the_llm_is_told_nothing_about_the_heart() -> None:
    text = llm_instructions(CONTEXT)
    assert "Alex" in text and "evening" in text and "14 minutes" in text
    assert "bpm" not in text and "rmssd" not in text.lower()


def test_a_good_answer_is_used_as_it_is() -> None:
    script = from_llm(GOOD_ANSWER)
    assert script.phases == (("inhale", 4.0), ("exhale", 6.0))
    assert (script.cycles, script.opening) == (6, "Hello Alex. Let's slow down together.")


@pytest.mark.parametrize(
    ("change", "expected_phases", "expected_cycles"),
    [
        ({"inhale_seconds": 0.5, "exhale_seconds": 30}, (("inhale", 3.0), ("exhale", 10.0)), 6),
        ({"inhale_seconds": 3, "exhale_seconds": 4}, (("inhale", 3.0), ("exhale", 4.0)), 6),
        ({"cycles": 500}, (("inhale", 4.0), ("exhale", 6.0)), 12),
        ({"cycles": "2"}, (("inhale", 4.0), ("exhale", 6.0)), 3),
    ],
)
def test_pacing_is_clamped_to_safe_ranges(
    change: dict[str, Any], expected_phases: tuple[tuple[str, float], ...], expected_cycles: int
) -> None:
    script = from_llm({**GOOD_ANSWER, **change})
    assert script.phases == expected_phases
    assert script.cycles == expected_cycles
    breaths_per_min = 60 / sum(seconds for _, seconds in script.phases)
    assert 4.0 <= breaths_per_min <= 10.0


@pytest.mark.parametrize(
    "answer",
    [
        "not an object",
        {**GOOD_ANSWER, "opening": ""},
        {**GOOD_ANSWER, "opening": "x" * (MAX_TEXT_CHARS + 1)},
        {**GOOD_ANSWER, "closing": "More at https://example.org"},
        {**GOOD_ANSWER, "opening": "This breathing will cure your anxiety disorder."},
        {**GOOD_ANSWER, "inhale_seconds": "slowly"},
        {**GOOD_ANSWER, "cycles": float("nan")},
        {key: value for key, value in GOOD_ANSWER.items() if key != "closing"},
    ],
)
def test_an_answer_that_cannot_be_spoken_is_rejected(answer: Any) -> None:
    with pytest.raises(ScriptRejected):
        from_llm(answer)
