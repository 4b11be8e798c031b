"""What a user can get wrong, or what the machine can do to a command (a damaged file, a full
disk, a closed pipe), ends every command the same way: one line naming the file, exit 1,
never a traceback, and no half-written output left as if it were whole."""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.ambient_process import RUN_WAIT_S, AmbientProcess, clean_env, run_ambient

from ambient.store import Store

DEMO = Path(__file__).resolve().parent.parent / "config" / "demo.yaml"
DEMO_RECORDING = DEMO.parent.parent / "ambient" / "data" / "demo.csv"

STORE_COMMANDS = [
    ("run",),
    ("trace",),
    ("report", "--person", "alex"),
    ("export", "--person", "alex"),
    ("forget", "--person", "alex", "--yes"),
    ("baseline", "show", "--person", "alex"),
    ("insights",),
]


def store_config(tmp_path: Path) -> tuple[Path, Path]:
    """A config whose store is ``tmp_path/state/ambient.db``: (config, store file)."""
    store = tmp_path / "state" / "ambient.db"
    config = tmp_path / "ambient.yaml"
    config.write_text(f"people:\n  - id: alex\nstore:\n  path: {store}\n")
    return config, store


@pytest.mark.parametrize("command", STORE_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_damaged_store_is_one_line_for_every_command_that_reads_it(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    config, store = store_config(tmp_path)
    Store(store).close()
    store.write_bytes(store.read_bytes()[:4096])  # cut short, as by a power cut
    result = run_ambient(*command, "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"ambient {command[0]}: store {store} is damaged (database disk image is malformed): "
        "move it and its -wal and -shm files aside to start with a new one, or put back a copy"
    ]


def damage_past_the_first_pages(store: Store) -> None:
    """Fill ``store``, close it, and damage every page past the schema's: it opens, and a
    query finds the damage."""
    for n in range(300):
        store.append("traces", "calm_alex", {"n": n, "note": "x" * 300}, keep=1000)
    store.checkpoint()
    store.close()
    assert store.path is not None
    damaged = bytearray(store.path.read_bytes())
    for page in range(3, len(damaged) // 4096):
        damaged[page * 4096 : page * 4096 + 200] = b"\xff" * 200
    store.path.write_bytes(bytes(damaged))


def damage_found_by_a_query(store: Path) -> str:
    return (
        f"store {store} is damaged (database disk image is malformed): move it and its -wal "
        "and -shm files aside to start with a new one, or put back a copy"
    )


@pytest.mark.parametrize("command", [("trace",), ("export", "--person", "alex")], ids=str)
def test_damage_found_past_the_first_pages_is_one_line_too(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    config, path = store_config(tmp_path)
    damage_past_the_first_pages(Store(path))
    result = run_ambient(*command, "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"ambient {command[0]}: {damage_found_by_a_query(path)}"]


def test_damage_in_an_encrypted_store_is_one_line_too(tmp_path: Path) -> None:
    """SQLCipher's errors are its own, not sqlite3's: they are told apart all the same."""
    pytest.importorskip("sqlcipher3", reason="the optional `crypto` extra is not installed")
    from ambient.store_crypto import StoreKey

    key_file = tmp_path / "store.key"
    key_file.write_text("a long passphrase\n")
    key_file.chmod(0o600)
    config, path = store_config(tmp_path)
    config.write_text(config.read_text() + f"  encryption:\n    key_file: {key_file}\n")
    damage_past_the_first_pages(Store(path, StoreKey("a long passphrase", str(key_file))))
    result = run_ambient("trace", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"ambient trace: {damage_found_by_a_query(path)}"]


def files_limited_to(size_bytes: int) -> None:
    """In the child: writes past ``size_bytes`` fail (EFBIG) as a full disk's do."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error, not the signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (size_bytes, resource.RLIM_INFINITY))


def test_a_full_disk_under_the_running_daemon_is_one_line_naming_the_store(
    tmp_path: Path,
) -> None:
    """The store's first write after opening fails as on a full disk: the line says which
    file, not only SQLite's words."""
    config, store = store_config(tmp_path)
    config.write_text(
        config.read_text()
        + f"sensors:\n  - type: recording\n    path: {DEMO_RECORDING}\n    person: alex\n"
    )
    # Room for the new store's schema and index, none for its first write-ahead pages.
    result = run_ambient(
        "run",
        "--config",
        str(config),
        "--speed",
        "600",
        preexec_fn=lambda: files_limited_to(40_000),
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"ambient run: store {store} cannot be used (")


def test_a_plot_that_cannot_be_written_whole_leaves_no_picture(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the optional `plot` extra is not installed")
    picture = tmp_path / "demo.png"
    result = run_ambient(
        "simulate",
        str(DEMO),
        "--plot",
        str(picture),
        preexec_fn=lambda: files_limited_to(20_000),  # the demo's picture is ~150 kB
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == f"ambient simulate: {picture}: File too large"
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # no half picture, no temporary


def test_a_plot_is_the_named_file_readable_by_its_owner_only(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the optional `plot` extra is not installed")
    picture = tmp_path / "timeline"  # no ending: a PNG, under this very name
    result = run_ambient("simulate", str(DEMO), "--plot", str(picture), umask=0o022)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["timeline"]
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert stat.S_IMODE(picture.stat().st_mode) == 0o600


def test_a_plot_ending_no_picture_has_is_a_usage_error() -> None:
    result = run_ambient("simulate", str(DEMO), "--plot", "timeline.txt")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "ambient simulate: error: argument --plot: cannot draw a .txt file: name it .png, "
        ".svg or .pdf, got `timeline.txt`"
    )


@pytest.mark.parametrize(
    ("command", "target", "says"),
    [
        (("simulate", str(DEMO)), "notes.txt/timeline.png", "notes.txt: Not a directory"),
        (("simulate", str(DEMO)), ".", ".: Is a directory"),
        (
            ("evaluate", str(DEMO), "-r", str(DEMO_RECORDING)),
            "notes.txt/plots",
            "notes.txt/plots: Not a directory",
        ),
    ],
    ids=["simulate-folder-is-a-file", "simulate-picture-is-a-folder", "evaluate"],
)
def test_a_plot_place_that_cannot_take_it_is_said_before_the_replay(
    tmp_path: Path, command: tuple[str, ...], target: str, says: str
) -> None:
    (tmp_path / "notes.txt").write_text("")
    result = run_ambient(*command, "--plot", target, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""  # nothing replayed
    assert result.stderr.splitlines() == [f"ambient {command[0]}: {says}"]


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """``python -c CODE`` run to its end, in the environment the CLI tests give ambient."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=RUN_WAIT_S,
        check=False,
        env=clean_env(),
    )


def test_ctrl_c_while_the_command_line_is_read_exits_130_quietly() -> None:
    """A real SIGINT, sent as the parser is built (the moment an early Ctrl-C lands)."""
    code = (
        "import os, signal, sys\n"
        "import ambient.cli as cli\n"
        "build = cli.build_parser\n"
        "def interrupted():\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    return build()\n"
        "cli.build_parser = interrupted\n"
        f"sys.exit(cli.main(['check', {str(DEMO)!r}]))\n"
    )
    result = run_python(code)
    assert (result.returncode, result.stdout, result.stderr) == (130, "", "")


def test_the_command_line_loads_little_before_main_runs() -> None:
    """What loads before ``main`` runs delays every command, and a Ctrl-C meanwhile ends the
    process outright (killed by the signal): the config's validation (pydantic, a fifth of a
    second) loads inside ``main``, difflib (for naming a mistyped option) only for a usage
    error."""
    loaded = "{'pydantic', 'yaml', 'difflib'} & set(sys.modules)"
    code = f"import sys, ambient.cli; print(sorted({loaded}))"
    result = run_python(code)
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("run", str(DEMO), "--speed", "inf"), "argument --speed: must be more than 0 and finite"),
        (("run", str(DEMO), "--speed", "1e12"), "argument --speed: must be at most 100000"),
        (("scan", "--timeout", "nan"), "argument --timeout: must be more than 0 and finite"),
    ],
    ids=["speed-inf", "speed-past-year-9999", "timeout-nan"],
)
def test_a_speed_or_timeout_no_clock_can_keep_is_a_usage_error(
    args: tuple[str, ...], says: str
) -> None:
    result = run_ambient(*args)
    assert result.returncode == 2
    assert says in result.stderr.splitlines()[-1]


#: prctl(2): drop a capability from the bounding set of the programs this process runs.
PR_CAPBSET_DROP = 24
#: capabilities(7): the ones that let root read, enter and chmod what file modes forbid.
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3


def as_any_user() -> None:
    """In the child: file modes and owners hold for it, as for any user but root (root drops
    the capabilities that override them, for the program it runs)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run_as_any_user(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_ambient(*args, cwd=cwd, preexec_fn=as_any_user)


def test_a_scan_bluetooth_cannot_do_is_exit_1_as_every_cannot_do_it() -> None:
    """Exit 2 is a mistyped command line; an adapter that is not there (or no D-Bus, or no
    bluetoothd, whichever this machine lacks first) is the machine's answer: 1, one line."""
    result = run_ambient("scan", "--adapter", "hci99", "--timeout", "0.1")
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("ambient scan: cannot scan on hci99: ")


def test_a_config_whose_store_folder_this_user_may_not_enter_still_checks(
    tmp_path: Path,
) -> None:
    """The service's state folder is the daemon user's alone (0700): anyone else checking
    the config, or asking the daemon's status, sees the config judged, not that folder's
    'Permission denied'."""
    state = tmp_path / "state"
    state.mkdir(mode=0o000)
    config = tmp_path / "ambient.yaml"
    config.write_text(f"store:\n  path: {state / 'ambient.db'}\n")
    try:
        checked = run_as_any_user("check", str(config))
        asked = run_as_any_user("status", str(config))
    finally:
        state.chmod(0o700)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"{config}: OK")
    assert asked.returncode == 1
    assert asked.stderr.startswith("ambient status: ")
    assert "ambient.db" not in asked.stderr  # about the socket, not the store's folder


def test_a_folder_this_user_may_not_enter_where_check_runs_leaves_a_relative_store_beside(
    tmp_path: Path,
) -> None:
    """A relative store.path is beside the config; a store an earlier version made in the
    working folder is looked for there too. A folder of that name this user may not enter is
    no such store: check judged the config by it and failed with its 'Permission denied'."""
    settings, elsewhere = tmp_path / "settings", tmp_path / "elsewhere"
    settings.mkdir()
    (elsewhere / "state").mkdir(parents=True, mode=0o000)
    config = settings / "ambient.yaml"
    config.write_text("store:\n  path: state/ambient.db\n")
    try:
        checked = run_as_any_user("check", str(config), cwd=elsewhere)
    finally:
        (elsewhere / "state").chmod(0o700)
    assert (checked.returncode, checked.stderr) == (0, "")
    assert f"Store: {settings / 'state' / 'ambient.db'}" in checked.stdout


def test_run_whose_store_folder_this_user_may_not_write_names_the_file_it_could_not_make(
    tmp_path: Path,
) -> None:
    """A relative store.path is beside the config, in a folder the daemon's user may read but
    not write (/etc/ambient, root's): `run` said only "[Errno 13] Permission denied"."""
    settings = tmp_path / "settings"
    settings.mkdir()
    config = settings / "ambient.yaml"
    config.write_text("store:\n  path: ambient.db\n")
    settings.chmod(0o555)
    try:
        result = run_as_any_user("run", "--config", str(config))
    finally:
        settings.chmod(0o755)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"ambient run: {settings / 'ambient.sock'}: Permission denied"
    )


def test_a_store_key_in_a_folder_this_user_may_not_enter_is_left_to_run(
    tmp_path: Path,
) -> None:
    """The key, like the store, is often kept where only the daemon's user may look: check
    judges the config and leaves the key to `run`, as for a key file it may not read."""
    pytest.importorskip("sqlcipher3", reason="the optional `crypto` extra is not installed")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "store.key").write_text("a long passphrase\n")
    (secret / "store.key").chmod(0o600)
    secret.chmod(0o000)
    config = tmp_path / "ambient.yaml"
    config.write_text(
        f"store:\n  path: {tmp_path / 'ambient.db'}\n"
        f"  encryption:\n    key_file: {secret / 'store.key'}\n"
    )
    try:
        result = run_as_any_user("check", str(config))
    finally:
        secret.chmod(0o700)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_a_recording_in_a_folder_this_user_may_not_enter_is_a_config_problem(
    tmp_path: Path,
) -> None:
    private = tmp_path / "private"
    private.mkdir()
    (private / "session.csv").write_text("t,metric,value\n0,hr,61\n")
    private.chmod(0o000)
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people: [{id: alex}]\nsensors:\n"
        f"  - {{type: recording, path: {private / 'session.csv'}, person: alex}}\n"
    )
    try:
        result = run_as_any_user("check", str(config))
    finally:
        private.chmod(0o700)
    assert result.returncode == 1
    assert (
        f"sensors[0].path: recording {private / 'session.csv'} cannot be read (permissions)"
    ) in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_recording_over_a_file_this_user_may_write_but_not_make_private_names_it(
    tmp_path: Path,
) -> None:
    """The recording is made 0600 (heart data): over someone else's file left writable to
    all, that is refused, and the line says which file (chmod's error names none)."""
    theirs = tmp_path / "session.csv"
    theirs.write_text("")
    theirs.chmod(0o666)
    os.chown(theirs, 65534, 65534)  # nobody's
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "store:\n  path: null\npeople:\n  - id: alex\n"
        f"sensors:\n  - type: recording\n    path: {DEMO_RECORDING}\n    person: alex\n"
    )
    result = run_as_any_user("record", str(config), "--out", str(theirs), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"ambient record: {theirs}: Operation not permitted"]


def test_a_recording_in_milliseconds_is_said_not_a_traceback(tmp_path: Path) -> None:
    recording = tmp_path / "phone.csv"
    rows = "".join(f"{1_796_444_728_000 + n * 800},rr,800,alex\n" for n in range(20))
    recording.write_text("t,metric,value,person\n" + rows)
    result = run_ambient("simulate", str(DEMO), "--recording", str(recording))
    assert result.returncode == 0
    assert "Traceback" not in result.stderr
    assert (
        f"{recording}:2: time `1796444728000` is after the year 3000: `t` is in seconds "
        "(milliseconds?)"
    ) in result.stderr


def test_a_recording_sensor_that_cannot_play_is_one_line_per_attempt(tmp_path: Path) -> None:
    """Its header passes `check`; mixed kinds of time show only when it is read. The daemon
    keeps running and tries again, each time one line, never a traceback."""
    (tmp_path / "mixed.csv").write_text("t,metric,value\n0,hr,61\n1796444728,hr,62\n")
    config = tmp_path / "ambient.yaml"
    config.write_text(
        "people: [{id: alex}]\nsensors:\n"
        "  - {type: recording, id: session, path: mixed.csv, person: alex}\n"
        "store:\n  path: null\n"
    )
    daemon = AmbientProcess("run", str(config), cwd=tmp_path)
    try:
        failed = daemon.stderr.wait_for("Sensor session failed")
    finally:
        daemon.stop()
    assert failed.rstrip().endswith(
        f"Sensor session failed: {tmp_path / 'mixed.csv'}: mixes relative and absolute times "
        "(line 2 is relative, line 3 absolute); restarting in 5 s"
    )
    assert not any("Traceback" in line for line in daemon.stderr.all_lines())


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (("forget", "--person", "alex", "--yes"), "would write the person back from memory"),
        (("baseline", "reset", "--person", "alex"), "would save its copy again"),
    ],
    ids=["forget", "baseline-reset"],
)
def test_a_hung_daemon_still_keeps_the_store_from_being_changed(
    tmp_path: Path, command: tuple[str, ...], says: str
) -> None:
    """A daemon stopped or stuck takes the connection and never answers; once it goes on it
    writes its copy back, undoing what the command erased."""
    config, store = store_config(tmp_path)
    Store(store).close()
    with socket.socket(socket.AF_UNIX) as hung:
        hung.bind(str(store.parent / "ambient.sock"))
        hung.listen()
        result = run_ambient(*command, "--config", str(config))
    assert result.returncode == 1
    assert says in result.stderr


@pytest.mark.parametrize(
    ("args", "who"),
    [
        (("check", str(DEMO)), "ambient check"),
        (("analyze", "--recording", str(DEMO_RECORDING), "--json"), "ambient analyze"),
        (("record", str(DEMO), "--out", "-"), "ambient record"),
        (("--version",), "ambient"),
    ],
    ids=["little-output", "much-output", "record-out-dash", "version"],
)
def test_output_stdout_cannot_take_is_one_line_naming_stdout(
    args: tuple[str, ...], who: str
) -> None:
    """A full disk under ``> file``: /dev/full refuses every write, as a full disk does."""
    with Path("/dev/full").open("w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "ambient", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=RUN_WAIT_S,
            check=False,
            env=clean_env(),
        )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == f"{who}: stdout: No space left on device"


@pytest.mark.parametrize(
    "args",
    [
        ("check", str(DEMO)),
        ("--version",),
        ("run", str(DEMO), "--speed", "100000"),
        ("record", str(DEMO), "--out", "-", "--duration", "1s"),
    ],
    ids=["check", "version", "run", "record-out-dash"],
)
def test_a_closed_stdout_is_no_traceback(args: tuple[str, ...]) -> None:
    """``ambient check >&-``: what the command would have printed goes nowhere."""
    result = run_ambient(*args, preexec_fn=lambda: os.close(1))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_a_closed_stdin_is_a_terminal_nobody_answers(tmp_path: Path) -> None:
    config, _ = store_config(tmp_path)
    result = run_ambient(
        "forget", "--person", "alex", "--config", str(config), preexec_fn=lambda: os.close(0)
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "ambient forget: nothing erased: confirm with --yes (stdin is not a terminal)"
    ]


def test_a_file_the_command_opens_never_takes_a_closed_standard_descriptor() -> None:
    """With stderr closed (``2>&-``), the first file opened (the store) would get descriptor
    2, and whatever a child process or a library writes to stderr would land in it: the
    command puts /dev/null there before it opens anything."""
    probe = (
        "import os, sys; from ambient.__main__ import reopen_closed_standard_streams; "
        "os.close(2); reopen_closed_standard_streams(); "
        "print(os.path.realpath('/proc/self/fd/2'), sys.stderr is not None)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=clean_env()
    )
    assert result.stdout.split() == [os.devnull, "True"]
