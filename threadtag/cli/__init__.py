"""The `threadtag` command line: argument parsing only; each command calls one function of
threadtag.app. Importing this package registers every command on `app`."""

from threadtag.cli import annotate, operations, research, workers  # noqa: F401 - they register the commands
from threadtag.cli.main import app, console_main

__all__ = ["app", "console_main"]
