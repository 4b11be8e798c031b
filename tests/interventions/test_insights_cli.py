"""`ambient insights` (a real subprocess): per person and option the episodes, the mean
response, the belief and how likely each option is now, with the rule's pin and ban."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from fixtures.ambient_process import run_ambient

from ambient.clock import VirtualClock
from ambient.interventions.checkin_book import ANSWERED, TIMED_OUT, CheckInBook
from ambient.interventions.episodes import EpisodeBook
from ambient.interventions.learner import PRIORS
from ambient.interventions.recorder import EpisodeRecorder
from ambient.interventions.response import EpisodeResponse
from ambient.store import Store

T0 = 1_800_000_000.0


def write_config(tmp_path: Path, ban: list[str] | None = None) -> Path:
    calming = {
        "options": [
            {"id": "breathe", "actions": [{"action": "log", "message": "breathe"}]},
            {"id": "music", "actions": [{"action": "log", "message": "music"}]},
            {"id": "lights", "actions": [{"action": "log", "message": "lights"}]},
        ],
        "ban": ban or [],
    }
    config = {
        "people": [{"id": "alex"}, {"id": "sam"}],
        "store": {"path": str(tmp_path / "state.db")},
        "rules": [
            {
                "id": "calm",
                "person": "alex",
                "triggers": [{"trigger": "signal", "signal": "stress_score", "above": 70}],
                "actions": [{"choose_calming": calming}],
            }
        ],
    }
    path = tmp_path / "ambient.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def learnt(tmp_path: Path) -> None:
    """Three measured breathing episodes (+0.8 SD each), one music episode not usable."""
    store = Store(tmp_path / "state.db")
    book = EpisodeBook(store)
    recorder = EpisodeRecorder(VirtualClock(T0), book)
    for k in range(3):
        episode = recorder.start("alex", "calm", "breathe", PRIORS["breathing"], {}, T0 + k)
        book.record_response(episode, EpisodeResponse(0.8, -0.5, True, "measured"), T0 + k)
        beliefs = book.beliefs("alex", "calm")
        beliefs["breathe"] = beliefs["breathe"].observe(0.8)
        book.save_beliefs("alex", "calm", beliefs)
    episode = recorder.start("alex", "calm", "music", PRIORS["play_calming"], {}, T0 + 10)
    book.record_response(episode, EpisodeResponse(None, None, False, "moving"), T0 + 10)
    recorder.check_in(episode, "same")
    check_ins = CheckInBook(store)
    answered = check_ins.asked("alex", episode, T0 + 1210)
    check_ins.close(answered, ANSWERED, "same", T0 + 1300, "mqtt")
    unanswered = check_ins.asked("alex", 1, T0 + 1200)
    check_ins.close(unanswered, TIMED_OUT, None, T0 + 3000, "timeout")
    check_ins.mood("alex", "good", T0 + 40_000, "mqtt")
    store.close()


def learnt_under(
    tmp_path: Path, old: str = "", new: str = "", ban: list[str] | None = None
) -> Path:
    """The config (``old`` replaced by ``new`` in its text: a rule, an option or a person
    changed since) over a store holding what :func:`learnt` learnt under the first one."""
    config = write_config(tmp_path, ban)
    if old:
        config.write_text(config.read_text().replace(old, new))
    learnt(tmp_path)
    return config


def insights(config: Path, *args: str) -> str:
    """What `ambient insights --config CONFIG ARGS` shows; it must succeed."""
    result = run_ambient("insights", "--config", str(config), *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_insights_lists_each_option_with_its_episodes_and_odds_now(tmp_path: Path) -> None:
    lines = insights(learnt_under(tmp_path)).splitlines()
    assert lines[0] == "alex — rule calm: older episodes count less, half after 60 days"
    breathe = next(line for line in lines if line.strip().startswith("breathe"))
    assert "+0.80 SD" in breathe
    assert breathe.split()[1:3] == ["3", "3"]  # episodes, usable
    assert breathe.split()[-2] == "3.0"  # recent: the episodes' worth, none aged yet
    music = next(line for line in lines if line.strip().startswith("music"))
    assert music.split()[1:3] == ["1", "0"]
    assert lines[-1] == "alex — check-ins: 0 open, 1 answered, 1 unanswered; 1 daily moods"


def test_insights_json_gives_one_object_per_option_and_honours_a_ban(tmp_path: Path) -> None:
    shown = insights(learnt_under(tmp_path, ban=["music"]), "--person", "alex", "--json")
    rows = {row["option"]: row for row in map(json.loads, shown.splitlines())}
    assert list(rows) == ["breathe", "music", "lights"]
    assert rows["music"]["banned"] and rows["music"]["probability"] == 0.0
    assert rows["music"]["check_ins"] == 1 and rows["music"]["usable"] == 0
    assert rows["breathe"]["mean_response_sd"] == pytest.approx(0.8)
    assert rows["breathe"]["probability"] > rows["lights"]["probability"] >= 0.1
    assert abs(sum(row["probability"] for row in rows.values()) - 1.0) < 0.01


def test_insights_before_anything_is_learnt_and_for_an_unknown_person(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    missing = run_ambient("insights", "--config", str(config))
    assert missing.returncode == 1
    assert missing.stderr.startswith("ambient insights: no store at")
    assert "Traceback" not in missing.stderr
    Store(tmp_path / "state.db").close()
    assert (
        insights(config) == "No calming episodes yet: a rule with `choose_calming` has not run.\n"
    )
    unknown = run_ambient("insights", "--person", "robin", "--config", str(config))
    assert unknown.returncode == 1
    assert unknown.stderr == "ambient insights: no person `robin` (people: alex, sam)\n"


def test_insights_says_when_what_was_learnt_belongs_to_no_rule_of_the_config(
    tmp_path: Path,
) -> None:
    config = learnt_under(tmp_path, "id: calm", "id: evening_calm")
    shown = insights(config)
    assert shown.splitlines()[0] == "alex — rule calm"  # still shown, on its old id
    assert (
        "Learned calming episodes of rule 'calm' (4) are kept, but no rule with choose_calming "
        "has that id now: renamed? Learning does not follow a new id; give the rule its old id "
        "back to go on from it (docs/interventions.md)\n"
    ) in shown
    assert all(
        json.loads(line)["rule"] == "calm" for line in insights(config, "--json").splitlines()
    )
    assert "renamed?" not in insights(config, "--person", "sam")  # the episodes are Alex's


def test_insights_says_when_an_options_learning_belongs_to_no_option_of_its_rule(
    tmp_path: Path,
) -> None:
    """An option renamed (`breathe` to `paced`) starts again from its prior, and the old id's
    row simply left the table: three episodes of learning gone without a word."""
    config = learnt_under(tmp_path, "id: breathe", "id: paced")
    shown = insights(config)
    assert (
        "alex — rule calm: learned option 'breathe' (3 episodes) is kept, but the rule has no "
        "option with that id now: renamed? Learning does not follow a new id; give the option "
        "its old id back to go on from it (docs/interventions.md)\n"
    ) in shown
    paced = next(line for line in shown.splitlines() if line.strip().startswith("paced"))
    assert paced.split()[1:3] == ["0", "0"]  # the new id starts at its prior
    assert "renamed?" not in insights(config, "--person", "sam")  # the episodes are Alex's


def test_an_option_of_the_rules_other_choose_calming_step_is_not_called_renamed(
    tmp_path: Path,
) -> None:
    """A rule may choose in its actions and again in `on_recovery` (or an escalation level):
    one learning for the rule, whose options are those of every step."""
    config = learnt_under(tmp_path)
    data = yaml.safe_load(config.read_text())
    options = data["rules"][0]["actions"][0]["choose_calming"]["options"]
    data["rules"][0]["actions"][0]["choose_calming"]["options"] = options[1:]
    data["rules"][0]["on_recovery"] = [{"choose_calming": {"options": options[:1]}}]
    config.write_text(yaml.safe_dump(data))
    assert "renamed?" not in insights(config)


def test_the_learning_of_someone_removed_from_people_is_shown_with_a_note(
    tmp_path: Path,
) -> None:
    """Alex left the household (the rule is Sam's now): what was learnt of Alex is kept in the
    store until `ambient forget`, and shown with a note saying so, as `ambient report` and
    `ambient baseline show` do."""
    config = learnt_under(tmp_path)
    document = yaml.safe_load(config.read_text())
    document["people"] = [{"id": "sam"}]
    document["rules"][0]["person"] = "sam"
    config.write_text(yaml.safe_dump(document))

    lines = insights(config).splitlines()

    assert lines[0] == "alex — rule calm: older episodes count less, half after 60 days"
    assert (
        "alex: not in the config's people: what was learnt before "
        "(`ambient forget --person alex` erases it)"
    ) in lines
    alone = insights(config, "--person", "alex")
    assert alone.splitlines()[0] == lines[0]
    assert "alex: not in the config's people" in alone


def test_insights_for_someone_with_nothing_learnt_says_it_has_not_run_for_them(
    tmp_path: Path,
) -> None:
    """Alex's rule has run; Sam has nothing learnt: it has not run *for Sam* (it said "a rule
    with choose_calming has not run", as if it had run for nobody)."""
    shown = insights(learnt_under(tmp_path), "--person", "sam")

    assert shown == (
        "No calming episodes for sam yet: a rule with `choose_calming` has not run for sam.\n"
    )


def test_insights_says_when_a_rules_learning_belongs_to_the_person_it_had_before(
    tmp_path: Path,
) -> None:
    """A rule given to someone else runs only for them: what it learnt for its old person is
    kept under them but never used again, and was shown as if current, without a word."""
    shown = insights(learnt_under(tmp_path, "person: alex", "person: sam"))

    assert (
        "alex — rule calm: learned calming episodes (4) are kept, but the rule is for sam now "
        "and does not run for alex: learning does not follow the rule to another person; give "
        "it `person: alex` back to go on from it (docs/interventions.md)\n"
    ) in shown
    assert "is for" not in insights(write_config(tmp_path))  # the rule's person unchanged
