"""The handlers of the ``ambient`` subcommands (the parser is in :mod:`ambient.cli`). Each takes
the parsed arguments and returns the exit code, and imports only what it needs when it runs, so
``check`` and ``status`` start fast and a config without BLE never loads bleak."""
