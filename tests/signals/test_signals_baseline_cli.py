"""`ambient baseline show|reset` as users call it: what has been learned of a person's rest
(prior, provisional, personal), a reset back to the prior, one clear line when refused."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

from ambient.config import load_config
from ambient.config.signals import BaselineConfig
from ambient.signals.baseline import Baseline
from ambient.signals.baseline_cli import run_baseline
from ambient.signals.engine import BASELINE_NAMESPACE
from ambient.store import Store


def baseline(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ambient", "baseline", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def config_with_store(tmp_path: Path) -> tuple[Path, Path]:
    store = tmp_path / "state" / "ambient.db"
    config = tmp_path / "ambient.yaml"
    config.write_text(f"people:\n  - id: alex\nstore:\n  path: {store}\n")
    return config, store


def save(store_path: Path, learned: Baseline) -> None:
    """``learned`` saved as alex's baseline, as the daemon saves it."""
    store = Store(store_path)
    store.put(BASELINE_NAMESPACE, "alex", learned.to_json())
    store.close()


def save_quiet_minutes(store_path: Path, minutes: int, hr: float) -> None:
    """Minutes ending now, `show` reading the real clock as users run it; all on one day of
    the zone the configs here use (the system's), even just after its midnight."""
    learned = Baseline(BaselineConfig())
    now = time.time()
    local = time.localtime(now)
    since_midnight_s = local.tm_hour * 3600 + local.tm_min * 60 + local.tm_sec
    end = now if since_midnight_s > 60 * minutes else now - since_midnight_s - 1
    for k in range(minutes):
        learned.add(end - 60 * (minutes - k), 4.0, hr)
    save(store_path, learned)


def test_show_tells_a_provisional_baseline_from_the_first_quiet_minutes(tmp_path: Path) -> None:
    config, store = config_with_store(tmp_path)
    save_quiet_minutes(store, 8, 58.0)
    result = baseline(config, "show", "--person", "alex", "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["state"] == "provisional"
    assert shown["ready"] is False
    hr = shown["resting_hr"]
    assert (hr["mean"], hr["sd"], hr["samples"]) == (58.0, 5.0, 8)
    # One sitting: nothing within it, the day-to-day spread all assumed.
    assert (hr["within_day_sd"], hr["day_to_day_sd"], hr["sd_days"]) == (0.0, 5.0, 1)
    assert hr["sd_prior_share"] == 1.0
    assert shown["ln_rmssd"]["mean"] == 4.0
    text = baseline(config, "show", "--person", "alex")
    assert "provisional" in text.stdout and "58.0" in text.stdout


def test_show_tells_how_much_of_a_personal_spread_is_still_assumed(tmp_path: Path) -> None:
    config, store_path = config_with_store(tmp_path)
    config.write_text(config.read_text() + "timezone: UTC\n")  # days end at UTC midnight
    learned = Baseline(BaselineConfig())
    yesterday_noon = (time.time() // 86400 - 1) * 86400 + 12 * 3600
    for day in range(3):  # three alike days, 20 quiet minutes each, ln RMSSD 4.0 ± 0.11
        for k in range(20):
            sign = 1 if k % 2 else -1
            when = yesterday_noon - (2 - day) * 86400 + 60 * k
            learned.add(when, 4.0 + 0.11 * sign, 60.0 + 1.1 * sign)
    save(store_path, learned)
    shown = json.loads(baseline(config, "show", "--person", "alex", "--json").stdout)
    assert (shown["state"], shown["days"]) == ("personal", 3)
    ln = shown["ln_rmssd"]
    assert (ln["within_day_sd"], ln["sd_days"], ln["sd_prior_share"]) == (0.113, 3, 0.5)
    assert ln["sd"] == 0.227  # not the 0.11 the three days alone show
    text = baseline(config, "show", "--person", "alex").stdout
    assert "day to day: 50 % still assumed" in text


def test_reset_goes_back_to_the_prior(tmp_path: Path) -> None:
    config, store = config_with_store(tmp_path)
    save_quiet_minutes(store, 8, 58.0)
    result = baseline(config, "reset", "--person", "alex")
    assert result.returncode == 0, result.stderr
    assert "reset" in result.stdout
    shown = json.loads(baseline(config, "show", "--person", "alex", "--json").stdout)
    assert shown["state"] == "prior"
    assert shown["resting_hr"]["mean"] == 70.0
    text = baseline(config, "show", "--person", "alex").stdout
    # The prior's spread is its ± (8 bpm); no part of it reads "± 0.0 bpm" as if measured.
    assert "resting HR   70.0 ± 8.0 bpm" in text
    assert "  spread       the population's, as above (no quiet minutes yet)\n" in text
    assert "± 0.0" not in text


def test_refusals_are_one_line_with_exit_code_1(tmp_path: Path) -> None:
    config, _ = config_with_store(tmp_path)
    unknown = baseline(config, "show", "--person", "bob")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (
        "ambient baseline: no person `bob` in the config or the store (people: alex)"
    )
    usage = baseline(config, "forget", "--person", "alex")
    assert usage.returncode == 2


def test_reset_of_a_person_neither_configured_nor_saved_is_refused_as_show_refuses_it(
    tmp_path: Path,
) -> None:
    """A misspelt id said 'nothing to reset' with exit 0, leaving the real baseline as it was
    while the user believed it reset."""
    config, store = config_with_store(tmp_path)
    save_quiet_minutes(store, 8, 58.0)
    typo = baseline(config, "reset", "--person", "alx")
    assert typo.returncode == 1
    assert typo.stderr.strip() == (
        "ambient baseline: no person `alx` in the config or the store (people: alex)"
    )
    assert json.loads(baseline(config, "show", "--person", "alex", "--json").stdout)["days"] == 1


def test_reset_with_nothing_saved_is_done_with_a_note_store_or_no_store(tmp_path: Path) -> None:
    """Nothing saved for a configured person is the same answer whether the store file is
    there yet or not: exit 0, one line saying there was nothing to reset (no store file made).
    It was exit 1 without the file, exit 0 with a file that lacked the person."""
    config, store = config_with_store(tmp_path)
    before_store = baseline(config, "reset", "--person", "alex")
    assert (before_store.returncode, before_store.stderr) == (0, "")
    assert before_store.stdout == "alex has no saved baseline: nothing to reset\n"
    assert not store.parent.exists()
    Store(store).close()  # the daemon has run: a store without alex's baseline
    in_store = baseline(config, "reset", "--person", "alex")
    assert (in_store.returncode, in_store.stdout) == (0, before_store.stdout)
    no_store = tmp_path / "no_store.yaml"
    no_store.write_text("people:\n  - id: alex\nstore:\n  path: null\n")
    kept_nowhere = baseline(no_store, "reset", "--person", "alex")
    assert (kept_nowhere.returncode, kept_nowhere.stderr) == (0, "")
    assert kept_nowhere.stdout == (
        "alex has no saved baseline (store.path is null: nothing is kept): nothing to reset\n"
    )


def test_reset_of_a_misspelt_person_before_any_store_is_refused(tmp_path: Path) -> None:
    config, _ = config_with_store(tmp_path)
    typo = baseline(config, "reset", "--person", "alx")
    assert typo.returncode == 1
    assert typo.stderr.strip() == (
        "ambient baseline: no person `alx` in the config or the store (people: alex)"
    )


def household(tmp_path: Path, people: str) -> tuple[Path, Path]:
    store = tmp_path / "state" / "ambient.db"
    config = tmp_path / "ambient.yaml"
    config.write_text(f"people: [{people}]\nstore:\n  path: {store}\n")
    return config, store


def test_a_person_no_longer_in_the_config_is_shown_as_what_was_saved_not_as_current(
    tmp_path: Path,
) -> None:
    """Sam left the household's config: their saved baseline read as a current person's."""
    config, store = household(tmp_path, "{id: sam}, {id: alex}")
    save_quiet_minutes(store, 8, 58.0)  # alex's
    config.write_text(config.read_text().replace("{id: sam}, {id: alex}", "{id: sam}"))

    text = baseline(config, "show", "--person", "alex")

    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[1] == (
        "  not in the config's people: what was saved before "
        "(`ambient forget --person alex` erases it)"
    )
    shown = json.loads(baseline(config, "show", "--person", "alex", "--json").stdout)
    assert shown["configured"] is False
    assert shown["resting_hr"]["mean"] == 58.0


def test_a_renamed_person_starting_afresh_is_pointed_to_the_old_id(tmp_path: Path) -> None:
    """Alex became `alexandra` in the config: the prior stood in with no word of the baseline
    still saved under `alex`."""
    config, store = household(tmp_path, "{id: alexandra}, {id: sam}")
    save_quiet_minutes(store, 8, 58.0)  # under alex

    text = baseline(config, "show", "--person", "alexandra")

    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("alexandra: population prior")
    assert text.stdout.splitlines()[1] == (
        "  nothing saved for alexandra; saved for people not in the config: alex "
        "(renamed? what ambient learns follows the `id`: give it back, change `name`)"
    )
    shown = json.loads(baseline(config, "show", "--person", "alexandra", "--json").stdout)
    assert shown["configured"] is True
    assert shown["state"] == "prior"
    # Which one was renamed is not known: everyone configured with nothing saved is told.
    assert (
        "saved for people not in the config: alex"
        in baseline(config, "show", "--person", "sam").stdout
    )


def show(config: Path, as_json: bool) -> str:
    """`ambient baseline show --person alex` in this process (the command's own function)."""
    out = StringIO()
    assert run_baseline(load_config(config), "show", "alex", as_json, out, StringIO()) == 0
    return out.getvalue()


def test_a_baseline_not_worn_for_months_says_when_it_was_last_worn(tmp_path: Path) -> None:
    config, store_path = config_with_store(tmp_path)
    config.write_text(config.read_text() + "timezone: UTC\n")
    learned = Baseline(BaselineConfig())
    long_ago_noon = (time.time() // 86400 - 90) * 86400 + 12 * 3600
    for day in range(3):  # three days of an hour's rest, 90 days ago: out of the 60-day range
        for k in range(60):
            learned.add(long_ago_noon + day * 86400 + 60 * k, 4.0, 60.0)
    save(store_path, learned)
    last = time.strftime("%Y-%m-%d", time.gmtime(long_ago_noon + 2 * 86400))
    shown = json.loads(show(config, as_json=True))
    assert (shown["state"], shown["days"], shown["last_day"]) == ("prior", 0, last)
    text = show(config, as_json=False)
    assert "yet" not in text  # not "too few quiet minutes of wear yet": there were 180
    assert f"quiet minutes: none in the last 60 days; the last on {last}" in text


def test_show_of_a_baseline_with_nothing_saved_has_no_last_day(tmp_path: Path) -> None:
    config, _ = config_with_store(tmp_path)
    shown = json.loads(show(config, as_json=True))
    assert (shown["state"], shown["last_day"]) == ("prior", None)


def test_an_hr_only_watch_shows_its_hrv_norm_as_the_population_prior(tmp_path: Path) -> None:
    # Four days of an HR-only watch: personal resting HR, no minute with beat pairs.
    config, store_path = config_with_store(tmp_path)
    config.write_text(config.read_text() + "timezone: UTC\n")
    learned = Baseline(BaselineConfig())
    noon = (time.time() // 86400 - 3) * 86400 + 12 * 3600
    for day in range(4):
        for k in range(30):
            learned.add(noon + day * 86400 + 60 * k, None, 60.0 + (1 if k % 2 else -1))
    save(store_path, learned)
    document = json.loads(show(config, as_json=True))
    assert document["state"] == "personal"
    assert document["resting_hr"]["on_prior"] is False
    ln = document["ln_rmssd"]
    # As on the population prior altogether: its ± only, no day-to-day part no minute showed.
    assert (ln["on_prior"], ln["mean"], ln["sd"]) == (True, 3.7, 0.5)
    assert (ln["within_day_sd"], ln["day_to_day_sd"], ln["sd_days"]) == (0.0, 0.0, 0)
    lines = show(config, as_json=False)
    assert "40 ms; the population's: 0 minutes with enough beat pairs, 5 needed)" in lines
    assert "; ln RMSSD the population's\n" in lines
    assert "day to day: 40 % still assumed" in lines  # HR's share alone, not "100 % / 40 %"


def test_a_configured_resting_hr_is_shown_as_configured_beside_the_measured_one(
    tmp_path: Path,
) -> None:
    config, store_path = config_with_store(tmp_path)
    config.write_text(config.read_text().replace("- id: alex", "- {id: alex, resting_hr: 52}"))
    save_quiet_minutes(store_path, 8, 61.0)
    hr = json.loads(show(config, as_json=True))["resting_hr"]
    # The scores use the configured 52; the minutes measured 61, and show says both.
    assert (hr["mean"], hr["from_config"], hr["measured_mean"]) == (52.0, True, 61.0)
    assert "resting HR   52.0 ± 5.0 bpm   (resting_hr in the config; 8 resting minutes: 61.0)" in (
        show(config, as_json=False)
    )


def test_a_measured_resting_hr_is_not_said_to_be_configured(tmp_path: Path) -> None:
    config, store_path = config_with_store(tmp_path)
    save_quiet_minutes(store_path, 8, 61.0)
    hr = json.loads(show(config, as_json=True))["resting_hr"]
    assert (hr["mean"], hr["from_config"], hr["measured_mean"]) == (61.0, False, 61.0)
