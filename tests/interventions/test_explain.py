"""`ambient insights`: per person and option, the episodes, the response and the odds now."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from ambient.interventions.episodes import EpisodeBook
from ambient.interventions.explain import Policy, insight_rows, write_insights
from ambient.interventions.learner import PRIORS, OptionBelief
from ambient.interventions.response import EpisodeResponse
from ambient.store import Store


@pytest.fixture
def book(tmp_path: Path) -> EpisodeBook:
    book = EpisodeBook(Store(tmp_path / "state.db"))
    for start, option, change in [
        (0.0, "box", 0.8),
        (3600.0, "box", 0.4),
        (7200.0, "lights", -0.2),
    ]:
        episode = book.open("alex", "calm", option, start, {"hour": 20})
        book.record_response(episode, EpisodeResponse(change, None, True, "measured"), start + 1200)
    unusable = book.open("alex", "calm", "lights", 9000.0, {})
    book.record_response(unusable, EpisodeResponse(None, None, False, "movement or exercise"), 1)
    beliefs = {
        "box": OptionBelief.from_prior("box", PRIORS["breathing"]).observe(0.8).observe(0.4),
        "lights": OptionBelief.from_prior("lights", PRIORS["calm_lights"]).observe(-0.2),
    }
    book.save_beliefs("alex", "calm", beliefs)
    return book


def test_each_option_shows_its_episodes_response_and_odds(book: EpisodeBook) -> None:
    rows = insight_rows(book, {"calm": Policy(("box", "lights"))})
    by_option = {row["option"]: row for row in rows}
    assert by_option["box"]["episodes"] == 2 and by_option["box"]["usable"] == 2
    assert by_option["box"]["mean_response_sd"] == pytest.approx(0.6)
    assert by_option["lights"]["episodes"] == 2 and by_option["lights"]["usable"] == 1
    assert by_option["box"]["probability"] > by_option["lights"]["probability"] >= 0.1
    assert sum(row["probability"] for row in rows) == pytest.approx(1.0, abs=0.01)


def test_pinned_and_banned_options_say_so(book: EpisodeBook) -> None:
    rows = insight_rows(book, {"calm": Policy(("box", "lights"), pinned="lights")})
    assert {row["option"]: row["probability"] for row in rows} == {"box": 0.0, "lights": 1.0}
    out = io.StringIO()
    write_insights(rows, as_json=False, out=out)
    assert "alex — rule calm" in out.getvalue() and "(pinned)" in out.getvalue()


def test_json_has_one_object_per_option(book: EpisodeBook) -> None:
    out = io.StringIO()
    write_insights(insight_rows(book, {}), as_json=True, out=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [row["option"] for row in rows] == ["box", "lights"]
    assert {"person", "rule", "episodes", "mean_response_sd", "probability"} <= set(rows[0])
    # Rounded like the belief (3 decimals), not 0.6000000000000001.
    assert [row["mean_response_sd"] for row in rows] == [0.6, -0.2]


def test_no_episodes_says_why(tmp_path: Path) -> None:
    out = io.StringIO()
    write_insights(insight_rows(EpisodeBook(Store(tmp_path / "s.db")), {}), False, out)
    assert "No calming episodes yet" in out.getvalue()


def test_one_episode_is_read_by_its_id_and_the_unmeasured_ones_by_their_state(
    book: EpisodeBook,
) -> None:
    first, *_, last = book.episodes("alex")
    assert book.episode(first.id) == first
    assert book.episode(last.id + 1) is None
    opened = book.open("alex", "calm", "box", 20_000.0, {})
    assert [row.id for row in book.unmeasured()] == [opened]


def test_insights_age_what_was_learnt_to_now_and_say_older_episodes_count_less(
    book: EpisodeBook,
) -> None:
    """Beliefs last aged when an episode started, 120 days (two half-lives) ago: shown now,
    they stand on a quarter of their episodes, and the rule's line says why."""
    start = aged_when_the_last_episode_started(book)
    policy = Policy(
        ("box", "lights"),
        priors={"box": PRIORS["breathing"], "lights": PRIORS["calm_lights"]},
        half_life_s=60 * 86_400.0,
    )
    then = {row["option"]: row for row in insight_rows(book, {"calm": policy})}
    now = {
        row["option"]: row
        for row in insight_rows(book, {"calm": policy}, now=start + 120 * 86_400.0)
    }
    assert (then["box"]["worth_episodes"], now["box"]["worth_episodes"]) == (2.0, 0.5)
    assert now["box"]["episodes"] == 2 and now["box"]["half_life_days"] == 60
    assert abs(now["box"]["belief_mean_sd"] - 0.37) < abs(then["box"]["belief_mean_sd"] - 0.37)
    assert now["box"]["probability"] < then["box"]["probability"]
    out = io.StringIO()
    write_insights(list(now.values()), as_json=False, out=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "alex — rule calm: older episodes count less, half after 60 days"
    assert lines[1].split() == [
        *("option", "episodes", "usable", "mean", "response", "belief", "recent", "now")
    ]
    assert lines[2].split()[-2] == "0.5"


def aged_when_the_last_episode_started(book: EpisodeBook) -> float:
    """Alex's beliefs as the chooser leaves them: aged to the last episode's start."""
    start = 9000.0
    aged = {
        option: belief.aged(start, None, PRIORS["other"])  # stamped, nothing forgotten
        for option, belief in book.beliefs("alex", "calm").items()
    }
    book.save_beliefs("alex", "calm", aged)
    return start


def test_a_rule_whose_episodes_never_count_less_says_nothing_of_age(book: EpisodeBook) -> None:
    aged_when_the_last_episode_started(book)
    policy = Policy(("box", "lights"), priors=dict.fromkeys(("box", "lights"), PRIORS["other"]))
    rows = insight_rows(book, {"calm": replace(policy, half_life_s=None)}, now=1e10)
    assert {row["option"]: row["worth_episodes"] for row in rows} == {"box": 2.0, "lights": 1.0}
    out = io.StringIO()
    write_insights(rows, as_json=False, out=out)
    assert out.getvalue().splitlines()[0] == "alex — rule calm"
