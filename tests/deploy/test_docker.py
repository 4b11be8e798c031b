"""deploy/docker: no container engine runs here, so these check the files statically: the
image runs as a non-root user, copies only what exists, and the compose example wires ambient
to Mosquitto with a locked-down container."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "deploy" / "docker"


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (keyword, _) in enumerate(steps) if keyword == "FROM"]
    return steps[starts[-1] :]


def compose() -> dict[str, Any]:
    data = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_image_runs_as_a_non_root_user() -> None:
    stage = final_stage(instructions(DOCKER / "Dockerfile"))
    users = [args for keyword, args in stage if keyword == "USER"]

    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert any("useradd" in args and user in args for keyword, args in stage if keyword == "RUN")


def test_base_image_is_a_slim_python_311() -> None:
    steps = instructions(DOCKER / "Dockerfile")
    default = next(args for keyword, args in steps if keyword == "ARG" and "PYTHON_IMAGE" in args)

    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.1[1-3]-slim-\w+", default)
    assert [args.split()[0] for keyword, args in steps if keyword == "FROM"] == [
        "${PYTHON_IMAGE}",
        "${PYTHON_IMAGE}",
    ]


def test_copied_sources_exist_and_nothing_is_fetched_by_add() -> None:
    steps = instructions(DOCKER / "Dockerfile")
    for keyword, args in steps:
        assert keyword != "ADD", "use COPY; ADD can fetch URLs and unpack archives"
        if keyword == "COPY" and not args.startswith("--from"):
            *sources, _ = args.split()
            for source in sources:
                assert (REPO / source).exists(), source


def test_entrypoint_runs_the_daemon_with_a_healthcheck() -> None:
    steps = dict(final_stage(instructions(DOCKER / "Dockerfile")))

    assert steps["ENTRYPOINT"] == '["ambient"]'
    assert steps["CMD"] == '["run", "--config", "/etc/ambient/ambient.yaml"]'
    assert "ambient status" in steps["HEALTHCHECK"]


def test_image_keeps_bytecode_for_a_read_only_start() -> None:
    """The container runs read-only with PYTHONDONTWRITEBYTECODE, so bytecode must be in the
    image: the venv's (pip writes it) and the standard library's (the python images have none),
    or every start compiles them again (docs/performance.md, Start-up and memory)."""
    steps = instructions(DOCKER / "Dockerfile")
    runs = [args for keyword, args in steps if keyword == "RUN"]
    assert not any("__pycache__" in args or "--no-compile" in args for args in runs)
    final_runs = [args for keyword, args in final_stage(steps) if keyword == "RUN"]
    assert any("compileall" in args and 'get_path("stdlib")' in args for args in final_runs), (
        "the final stage does not compile the standard library"
    )
    env = " ".join(args for keyword, args in final_stage(steps) if keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env


def test_compose_builds_from_the_repository_root() -> None:
    ambient = compose()["services"]["ambient"]
    context = (DOCKER / ambient["build"]["context"]).resolve()

    assert context == REPO
    assert (context / ambient["build"]["dockerfile"]).resolve() == DOCKER / "Dockerfile"


def test_compose_ambient_is_locked_down_and_reaches_bluez() -> None:
    ambient = compose()["services"]["ambient"]

    assert ambient["read_only"] is True
    assert ambient["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in ambient["security_opt"]
    assert "privileged" not in ambient
    assert "network_mode" not in ambient
    volumes = ambient["volumes"]
    assert "./config:/etc/ambient:ro" in volumes
    assert "ambient-state:/var/lib/ambient" in volumes
    assert "/run/dbus/system_bus_socket:/run/dbus/system_bus_socket:ro" in volumes
    assert ambient["depends_on"] == ["mosquitto"]
    # No core dump of a crash: it would hold the token, the password and the store's key.
    assert ambient["ulimits"] == {"core": 0}


def test_compose_mosquitto_requires_credentials() -> None:
    services = compose()["services"]
    mosquitto = services["mosquitto"]
    assert mosquitto["image"].startswith("eclipse-mosquitto:2")
    conf = (DOCKER / "mosquitto" / "mosquitto.conf").read_text()

    assert re.search(r"^allow_anonymous false$", conf, re.M)
    assert re.search(r"^password_file /mosquitto/config/passwd$", conf, re.M)
    assert "./mosquitto:/mosquitto/config" in mosquitto["volumes"]
    named = {v.split(":")[0] for s in services.values() for v in s["volumes"]}
    assert {n for n in named if not n.startswith(("./", "/"))} <= set(compose()["volumes"])


def test_the_image_keeps_heart_values_out_of_docker_logs() -> None:
    """`docker logs` keeps ``ambient run``'s stdout, which says nothing of being a journal: the
    image tells the timeline to leave the signals' values out (the config's ``show`` wins)."""
    stage = final_stage(instructions(DOCKER / "Dockerfile"))
    environment = " ".join(args for keyword, args in stage if keyword == "ENV")

    assert re.search(r"(^|\s)AMBIENT_TIMELINE_VALUES=hide(\s|$)", environment)


def test_the_config_compose_copies_keeps_its_store_in_the_state_volume() -> None:
    """compose mounts the config folder read-only, and a relative store.path is beside the
    config: the example the steps copy must name a store in the writable state volume, and the
    steps must say so for a config of one's own (check refuses the other, naming the volume)."""
    ambient = compose()["services"]["ambient"]
    # target -> (source, options): "ambient-state:/var/lib/ambient", "./config:/etc/ambient:ro"
    mounts = {
        target: (source, options)
        for source, target, *options in (volume.split(":") for volume in ambient["volumes"])
    }
    example = (REPO / "config" / "ambient.example.yaml").read_text()  # its !secret: as text
    found = re.search(r"^store:\n  path: (\S+)", example, re.M)
    assert found, "the example names no store.path"
    store = Path(found.group(1))
    header = (DOCKER / "compose.yaml").read_text().split("\nname:")[0]

    assert "cp ../config/ambient.example.yaml config/ambient.yaml" in header
    assert store.is_absolute()
    assert mounts[str(store.parent)] == ("ambient-state", [])
    assert mounts["/etc/ambient"] == ("./config", ["ro"])
    assert "keep store.path absolute, in the state volume" in " ".join(header.split())


def test_the_compose_steps_check_the_config_before_starting_it() -> None:
    """With `restart: unless-stopped` a config that `run` refuses restarts over and over, its
    mistake somewhere in `docker logs`: the steps check it first, in the image, as it runs."""
    ambient = compose()["services"]["ambient"]
    steps = [
        line.removeprefix("#").strip()
        for line in (DOCKER / "compose.yaml").read_text().split("\nname:")[0].splitlines()
    ]
    check = "docker compose run --rm --no-deps ambient check --config /etc/ambient/ambient.yaml"

    assert ambient["restart"] == "unless-stopped"
    assert check in steps
    up = next(i for i, step in enumerate(steps) if step.endswith("docker compose up -d"))
    assert steps.index(check) < up
