"""Child processes running `threadtag` subcommands (several workers from one command or test)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from threadtag.core.settings import Settings


def child_env(settings: Settings) -> dict[str, str]:
    """This process's environment with `settings` written over it."""
    return {**os.environ, **settings.to_env()}


class CommandProcess:
    """`python -m threadtag.cli <args>` with its own environment, output appended to a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> CommandProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "threadtag.cli", *self.args],
                env=self.env,
                stdout=handle,
                stderr=handle,
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as in a crash."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> CommandProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
