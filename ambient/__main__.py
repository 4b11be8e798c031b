"""Where the ``ambient`` command starts: ``python -m ambient`` and the console script
(``ambient.__main__:main``).

Python turns Ctrl-C into ``KeyboardInterrupt`` from its own start-up on, so a Ctrl-C while the
command's modules load, before :func:`ambient.cli.main` can catch it, would print a traceback.
The first thing done here, before anything is imported, is to give SIGINT back its default
action: a Ctrl-C then ends the process at once and quietly, killed by the signal as a C
program is (130 from a shell); nothing has been done yet that needs cleaning up.
``ambient.cli.main`` turns ``KeyboardInterrupt`` back on inside its ``try`` (exit 130) and
off again as it returns. Only what runs before this module's first line (the interpreter's
own start-up with its ``site`` and ``.pth`` files, the two-line package ``__init__``) is
left to Python. A SIGINT that was ignored when the process started (a shell's background
job) stays ignored.
"""

try:
    import signal

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
except KeyboardInterrupt:  # pressed while ``signal`` loaded, or an instant before the change
    raise SystemExit(130) from None


def main() -> int:
    """The command line's exit code; its modules load only now, with Ctrl-C quiet."""
    from ambient.cli import main as run_command_line

    return run_command_line()


if __name__ == "__main__":
    raise SystemExit(main())
