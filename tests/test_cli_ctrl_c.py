"""Ctrl-C at any moment of a real ``ambient`` process, from the first line of its entry module
(``ambient/__main__.py``) on, ends it quietly: exit 130 when the command caught it, or killed
by SIGINT (130 from a shell) when it came while the modules loaded or as the process exited;
never a traceback. What runs before that first line (the interpreter's own start-up) is
Python's and not tested here.

The moments are the imports. Python's ``-X importtime`` (``PYTHONPROFILEIMPORTTIME`` for the
console script) writes a line to stderr as each module finishes loading; the test sends SIGINT
as soon as it reads the line of the k-th module loaded after the ``ambient`` package, for each
k through the loading of the command line and into the command. The signal lands at that
moment or soon after it; nothing sleeps."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures.ambient_process import RUN_WAIT_S, clean_env

DEMO = Path(__file__).resolve().parent.parent / "config" / "demo.yaml"
#: How many modules loaded after the command line's (``ambient.cli``) are moments too: the
#: start of ``main``, where KeyboardInterrupt is turned back on, and the config's loading.
AFTER_THE_COMMAND_LINE = 12
QUIET_ENDS = {130, -signal.SIGINT}
#: The smallest pipe Linux makes: a page.
PIPE_BYTES = os.sysconf("SC_PAGE_SIZE")


def console_script() -> Path:
    """The ``ambient`` command installed beside this Python (``scripts/setup`` makes it)."""
    script = Path(sys.executable).with_name("ambient")
    assert script.exists(), f"no {script}: run ./scripts/setup"
    return script


ENTRIES = {
    "python -m ambient": lambda: (
        [sys.executable, "-X", "importtime", "-m", "ambient"],
        clean_env(),
    ),
    "console script": lambda: (
        [str(console_script())],
        clean_env(PYTHONPROFILEIMPORTTIME="1"),
    ),
}


def module_loaded(line: str) -> str | None:
    """The module an ``-X importtime`` line says has loaded (None for any other line)."""
    if not line.startswith("import time:"):
        return None
    name = line.rpartition("|")[2].strip()
    return None if name == "imported package" else name  # the column titles


def moments(command: list[str], env: dict[str, str]) -> list[str]:
    """The modules loaded after the ``ambient`` package (the entry module's first line has
    run by the time the next one has loaded), through the command line's and a few more."""
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=RUN_WAIT_S, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines(keepends=True)
    loaded = [name for line in lines if (name := module_loaded(line))]
    after_package = loaded[loaded.index("ambient") + 1 :]
    end = after_package.index("ambient.cli") + 1 + AFTER_THE_COMMAND_LINE
    last = max(n for n, line in enumerate(lines) if module_loaded(line) == after_package[end - 1])
    if len("".join(lines[last + 1 :])) <= 2 * PIPE_BYTES:  # see interrupted_after
        pytest.skip(f"pages of {PIPE_BYTES} bytes: the command could end before the signal")
    return after_package[:end]


def interrupted_after(
    module: str, command: list[str], env: dict[str, str]
) -> tuple[int | None, str]:
    """Exit status and stderr of ``command`` sent SIGINT once ``module`` has loaded. Its
    stderr is a pipe of one page: however late this test is scheduled after reading the line,
    the command cannot get further than a page of import lines (and so never to its end)
    before the signal is sent."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    with os.fdopen(read_end, encoding="utf-8") as stderr:
        try:
            process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=write_end, env=env
            )
        finally:
            os.close(write_end)
        seen: list[str] = []
        for line in stderr:
            seen.append(line)
            if module_loaded(line) == module:
                process.send_signal(signal.SIGINT)
                break
        seen.append(stderr.read())
    return process.wait(timeout=RUN_WAIT_S), "".join(seen)


def check_the_demo_with(
    code: str, preexec_fn: Callable[[], object] | None = None
) -> subprocess.CompletedProcess[str]:
    """``ambient check`` of the demo config, started by the ``-c`` ``code`` (what the console
    script runs, with something of the test's added)."""
    return subprocess.run(
        [sys.executable, "-c", code, "check", str(DEMO)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=RUN_WAIT_S,
        check=False,
        preexec_fn=preexec_fn,
    )


@pytest.mark.parametrize("entry", list(ENTRIES))
def test_ctrl_c_while_the_command_loads_ends_it_quietly(entry: str) -> None:
    start, env = ENTRIES[entry]()
    command = [*start, "check", str(DEMO)]
    points = moments(command, env)
    assert "ambient.cli" in points
    for module in points:
        status, stderr = interrupted_after(module, command, env)
        assert "Traceback" not in stderr, f"Ctrl-C after {module} loaded:\n{stderr}"
        assert status in QUIET_ENDS, f"Ctrl-C after {module} loaded: exit {status}\n{stderr}"


def test_ctrl_c_as_the_process_exits_kills_it_quietly() -> None:
    """A Ctrl-C once the command is done (here from an exit handler, where a second Ctrl-C
    while ``run`` winds down would land) ends the process, killed by the signal, without a
    traceback. The ``-c`` code is what the console script runs, with that exit handler."""
    code = (
        "import atexit, os, signal, sys\n"
        "atexit.register(lambda: os.kill(os.getpid(), signal.SIGINT))\n"
        "from ambient.__main__ import main\n"
        "sys.exit(main())\n"
    )
    result = check_the_demo_with(code)
    assert (result.returncode, result.stderr) == (-signal.SIGINT, "")
    assert f"{DEMO}: OK" in result.stdout


def test_ctrl_c_landing_in_a_finaliser_ends_the_process_quietly() -> None:
    """Python runs a Ctrl-C's handler wherever the main thread is, in a ``__del__`` or a
    weakref callback too (the import system's locks have them, so it happens while modules
    load), where the KeyboardInterrupt cannot propagate: Python would print it as ignored,
    with a traceback, and carry on. Here a finaliser run as the command line is read is
    where it lands; the ``-c`` code is what the console script runs, with that finaliser."""
    code = (
        "import os, signal, sys\n"
        "from ambient.__main__ import main\n"
        "import ambient.cli as cli\n"
        "build = cli.build_parser\n"
        "class Finalised:\n"
        "    def __del__(self):\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "def interrupted():\n"
        "    Finalised()\n"
        "    return build()\n"
        "cli.build_parser = interrupted\n"
        "sys.exit(main())\n"
    )
    result = check_the_demo_with(code)
    assert (result.returncode, result.stdout, result.stderr) == (-signal.SIGINT, "", "")


def test_an_ignored_ctrl_c_stays_ignored() -> None:
    """A shell starts a background job (``ambient run &`` in a script) with SIGINT ignored:
    the entry module leaves it so, and the command runs to its end."""
    code = (
        "import os, signal, sys\n"
        "from ambient.__main__ import main\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"
        "sys.exit(main())\n"
    )
    result = check_the_demo_with(
        code, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert f"{DEMO}: OK" in result.stdout


def test_the_entry_module_loads_nothing_while_ctrl_c_is_still_pythons() -> None:
    """Until the entry module gives SIGINT its default action, a Ctrl-C is Python's
    KeyboardInterrupt, which the import system's weakref callbacks print as "Exception
    ignored", with a traceback. The entry module changes it before loading any module:
    ``import signal`` loaded ``enum`` and a dozen more first, most of the time between
    Python's start-up and the change on a plain install. An audit hook, added before the entry
    module runs, names each module that loads while a Ctrl-C would still raise."""
    code = (
        "import _signal, sys\n"
        "quiet = []\n"
        "def loading(event, args):\n"
        "    if quiet or event != 'import' or 'ambient.__main__' not in sys.modules:\n"
        "        return\n"
        "    if _signal.getsignal(_signal.SIGINT) is not _signal.default_int_handler:\n"
        "        quiet.append(True)  # from here on, the command's own handling\n"
        "    else:\n"
        "        print('loaded while Ctrl-C raises:', args[0], file=sys.stderr)\n"
        "sys.addaudithook(loading)\n"
        "from ambient.__main__ import main\n"
        "sys.exit(main())\n"
    )
    result = check_the_demo_with(code)
    assert (result.returncode, result.stderr) == (0, "")
    assert f"{DEMO}: OK" in result.stdout
