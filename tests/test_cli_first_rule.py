"""docs/first-rule.md, followed as written: its config blocks and its shell commands run in a
real shell against a real Mosquitto (and, for the light, a real Home Assistant), and the output
it shows is what ambient prints. Step 1 (``./scripts/demo``) is the only one left out: the
venv the tests run in is the one it builds; its ``bin`` is put on PATH as the page says."""

from __future__ import annotations

import asyncio
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from fixtures.ambient_process import AmbientProcess, clean_env
from fixtures.homeassistant import HaProbe, HomeAssistantInstance
from fixtures.mosquitto import MosquittoBroker

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "first-rule.md"
LIGHT = "light.bed_light"  # a light of the test Home Assistant, for the page's living room

pytestmark = pytest.mark.skipif(
    shutil.which("mosquitto_pub") is None, reason="mosquitto_pub (mosquitto-clients) missing"
)


@dataclass
class Page:
    blocks: list[tuple[str, str]]  # (language, text) of every fenced block, in order

    @classmethod
    def read(cls) -> Page:
        found = re.findall(r"^```(\w*)\n(.*?)^```$", PAGE.read_text(), re.MULTILINE | re.DOTALL)
        return cls([(language, text) for language, text in found])

    def configs(self) -> list[str]:
        return [text for language, text in self.blocks if language == "yaml" and "rules:" in text]

    def secrets(self) -> str:
        return next(text for language, text in self.blocks if "ha_token:" in text)

    def commands(self, prefix: str) -> list[str]:
        lines = [
            line for language, text in self.blocks if language == "sh" for line in text.split("\n")
        ]
        return [line for line in lines if line.startswith(prefix)]

    def shown_output(self) -> list[str]:
        """The output lines the page shows, with times and dates blanked."""
        lines = [
            line for language, text in self.blocks if language == "" for line in text.split("\n")
        ]
        return [blank_times(line) for line in lines if line.strip()]


def blank_times(text: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d", "T", text)


class Shell:
    """The page's commands in a real shell, in the directory of the config, with the venv's
    bin first on PATH (the page's ``export PATH=...``) and the test broker for ``localhost``."""

    def __init__(self, workdir: Path, broker: MosquittoBroker) -> None:
        self.workdir = workdir
        self.broker = broker
        bin_dir = str(Path(sys.executable).parent)
        env = clean_env(XDG_RUNTIME_DIR=str(workdir / "run"))
        self.env = env | {"PATH": f"{bin_dir}:{env.get('PATH', '')}"}
        (workdir / "run").mkdir(mode=0o700)

    def command(self, line: str) -> str:
        return line.replace("-h localhost", f"-h {self.broker.host} -p {self.broker.port}")

    def run(self, line: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(line),
            shell=True,
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start(self, line: str) -> AmbientProcess:
        args = shlex.split(line)
        assert args[0] == "ambient"
        return AmbientProcess(*args[1:], env=self.env, cwd=self.workdir)

    def publish_until_shown(self, line: str, daemon: AmbientProcess, event: str) -> str:
        """Send the page's reading until the timeline shows ``event`` (the daemon may still be
        subscribing when the first one arrives)."""
        while True:
            assert self.run(line).returncode == 0
            while (shown := daemon.stdout.next_within(1.0)) is not None:
                if f" {event} " in shown:
                    return shown


def write_config(workdir: Path, text: str, broker: MosquittoBroker) -> None:
    workdir.mkdir(exist_ok=True)
    local = f"host: {broker.host}\n  port: {broker.port}"
    (workdir / "first-rule.yaml").write_text(text.replace("host: localhost", local))


def test_the_page_takes_a_heart_rate_from_mqtt_to_the_log(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    page = Page.read()
    workdir = tmp_path / "ambient"
    write_config(workdir, page.configs()[0], mosquitto)
    shell = Shell(workdir, mosquitto)
    assert shell.run("ambient --version").stdout.startswith("ambient ")
    checked = shell.run(page.commands("ambient check")[0])
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("first-rule.yaml: OK")

    daemon = shell.start(page.commands("ambient run")[0])
    try:
        daemon.stderr.wait_for("Connected to MQTT broker")
        high, low = page.commands("mosquitto_pub")[:2]
        assert high.endswith("-m 120") and low.endswith("-m 70")
        fired = shell.publish_until_shown(high, daemon, "fired")
        status = shell.run(page.commands("ambient status")[0])
        assert status.returncode == 0, status.stderr
        assert re.search(
            r"active since \d\d:\d\d:\d\d, waiting for hr at or below 90", status.stdout
        )
        recovered = shell.publish_until_shown(low, daemon, "recovered")
        daemon.stdout.wait_for("calm again")
        timeline = [blank_times(line.rstrip("\n")) for line in daemon.stdout.seen]
    finally:
        daemon.stop()
    assert " fired " in fired and " recovered " in recovered
    shown = page.shown_output()
    for line in timeline:
        assert line in shown, f"the page does not show {line!r}"
    status_line = next(line for line in shown if line.strip().startswith("fast_heart (alex)"))
    assert status_line in [blank_times(line) for line in status.stdout.splitlines()]
    traced = shell.run(page.commands("ambient trace")[0])
    assert traced.returncode == 0, traced.stderr
    assert "fast_heart (alex)  fired  hr 120 above 100" in traced.stdout
    assert "fast_heart (alex)  recovered" in traced.stdout
    for line in traced.stdout.splitlines():
        assert blank_times(line) in shown, f"the page does not show the trace's {line!r}"


@pytest.mark.ha
def test_the_page_dims_a_home_assistant_light_and_restores_it(
    tmp_path: Path, mosquitto: MosquittoBroker, ha: HomeAssistantInstance
) -> None:
    page = Page.read()
    workdir = tmp_path / "ambient"
    with_light = page.configs()[1].replace("http://homeassistant.local:8123", ha.url)
    write_config(workdir, with_light.replace("light.living_room", LIGHT), mosquitto)
    (workdir / "secrets.yaml").write_text(
        page.secrets().replace("paste-your-long-lived-token-here", ha.token)
    )
    shell = Shell(workdir, mosquitto)
    for line in page.commands("chmod "):
        assert shell.run(line).returncode == 0
    check, run = page.commands("ambient check")[-1], page.commands("ambient run")[-1]
    checked = shell.run(check)
    assert checked.returncode == 0, checked.stderr
    assert ha.token not in checked.stdout + checked.stderr
    assert "Warning" not in checked.stdout, "the page's secrets.yaml is one others can read"

    async def scenario() -> None:
        async with HaProbe(ha.url, ha.other_token) as probe:
            await probe.subscribe("state_changed")
            await probe.call_service("light", "turn_on", {"entity_id": LIGHT, "brightness": 255})
            await probe.wait_for_state(LIGHT, lambda s: s["attributes"].get("brightness") == 255)
            daemon = shell.start(run)
            try:
                await asyncio.to_thread(daemon.stderr.wait_for, "Connected to MQTT broker")
                high, low = page.commands("mosquitto_pub")[-2:]
                await asyncio.to_thread(shell.publish_until_shown, high, daemon, "fired")
                dimmed = await probe.wait_for_state(
                    LIGHT, lambda s: s["attributes"].get("brightness") == round(255 * 0.35)
                )
                assert dimmed["attributes"]["color_temp_kelvin"] == 2400
                await asyncio.to_thread(shell.publish_until_shown, low, daemon, "recovered")
                await probe.wait_for_state(
                    LIGHT, lambda s: s["attributes"].get("brightness") == 255
                )
            finally:
                daemon.stop()

    asyncio.run(scenario())
