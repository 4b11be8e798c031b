"""Where the ``ambient`` command starts: ``python -m ambient`` and the console script
(``ambient.__main__:main``).

Python turns Ctrl-C into ``KeyboardInterrupt`` from its own start-up on, so a Ctrl-C while the
command's modules load, before :func:`ambient.cli.main` can catch it, would print a traceback.
The first thing done here, before anything is imported, is to give SIGINT back its default
action: a Ctrl-C then ends the process at once and quietly, killed by the signal as a C
program is (130 from a shell); nothing has been done yet that needs cleaning up.
``ambient.cli.main`` turns ``KeyboardInterrupt`` back on inside its ``try`` (exit 130) and
off again as it returns. Only what runs before this module's first line (the interpreter's
own start-up with its ``site`` and ``.pth`` files, the package's ``__init__``) is left to
Python. A SIGINT that was ignored when the process started (a shell's background job) stays
ignored. It is done here, in the module only the command runs, so that importing
``ambient.cli`` (tests, other programs) leaves a process's signals alone.
"""

# No ``from __future__ import annotations``: that statement loads the ``__future__`` module.
try:
    # Built into the interpreter and set up by its start-up: nothing is read or loaded. The
    # ``signal`` module loaded ``enum`` and a dozen more first, a Ctrl-C meanwhile being
    # Python's (which the import system's weakref callbacks print as "Exception ignored",
    # with a traceback): on a plain install that was most of the time from Python's own
    # handler to this change (7.8 ms, now 2.8, timed with strace on a PC).
    import _signal  # type: ignore[import-not-found]  # typeshed describes it as ``signal``
    import _thread
    import sys

    if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
        _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
except KeyboardInterrupt:  # pressed an instant before the change
    raise SystemExit(130) from None


def main() -> int:
    """The command line's exit code; its modules load only now, with Ctrl-C quiet."""
    sys.unraisablehook = _ctrl_c_where_it_cannot_be_raised
    reopen_closed_standard_streams()
    from ambient.cli import main as run_command_line
    from ambient.commands.output import name_stdout_in_write_errors

    name_stdout_in_write_errors()
    return run_command_line()


def reopen_closed_standard_streams() -> None:
    """Open /dev/null on a standard descriptor whoever started the command closed (``>&-``,
    ``<&-``, ``2>&-``), and give Python its stream: else the first file ambient opens (the
    store, a recording) would take that number, and what a child process or a library wrote
    to it would land in the file; and ``sys.stdout`` would be None, which no command expects.
    What is written there goes nowhere; stdin reads as empty, not a terminal."""
    import os

    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:  # closed: the lowest free number, so os.open takes it
            os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
            setattr(sys, name, open(fd, "r" if fd == 0 else "w", closefd=False))  # noqa: SIM115


#: The thread Python runs signal handlers in (this module is loaded in it).
_MAIN_THREAD = _thread.get_ident()


def _ctrl_c_where_it_cannot_be_raised(unraisable: "sys.UnraisableHookArgs") -> None:
    """Python raises a Ctrl-C wherever the main thread is, a weakref callback or a
    ``__del__`` too (often so while modules load: the import system's locks have callbacks),
    and from there it cannot propagate: Python would print it as "Exception ignored", with
    a traceback, and carry on. The process ends instead, killed by the signal as while it
    starts; raising it again here would only raise it in this function."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _thread.get_ident() == _MAIN_THREAD:
        _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
        _signal.raise_signal(_signal.SIGINT)
    sys.__unraisablehook__(unraisable)


if __name__ == "__main__":
    raise SystemExit(main())
