"""The typer application, its global callback and the console entry point.

Commands import their threadtag.app module when they run, so `--help` stays quick (no torch,
no faust)."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import structlog
import typer

from threadtag.core.failures import EXIT_CONFIG, UsageError
from threadtag.core.logging_setup import configure_logging
from threadtag.core.settings import Settings, get_settings, misspelled

app = typer.Typer(
    help="Hashtags for microblog threads, generated from the post and its conversation.", no_args_is_help=True
)
F = TypeVar("F", bound=Callable[..., Any])
# click's base of usage errors, whether typer vendors click (0.24 on) or imports it.
_CLICK_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def command(fn: F) -> F:
    """Register `fn` as a command; a UsageError from the app layer becomes typer's one-line
    usage error (exit code 2)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UsageError as exc:
            raise typer.BadParameter(str(exc)) from None

    app.command()(run)
    return fn


def _print_version(value: bool) -> None:
    if value:
        from threadtag import __version__

        typer.echo(f"threadtag {__version__}")
        raise typer.Exit()


def _settings_or_exit() -> Settings:
    """The settings, or one line per wrong environment variable and exit code 2 (no traceback)."""
    from pydantic import ValidationError

    try:
        return get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            if not error["loc"]:  # a rule across settings (TOP_K and BEAM_SIZE)
                typer.echo(f"error: {error['msg'].removeprefix('Value error, ')} (fix one of them)", err=True)
                continue
            variable = str(error["loc"][0]).upper()
            typer.echo(f"error: {variable}={error.get('input')!r}: {error['msg']} (fix or unset {variable})", err=True)
        raise typer.Exit(EXIT_CONFIG) from None


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True)
    ] = False,
) -> None:
    settings = _settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    for name, meant in misspelled(os.environ).items():
        structlog.get_logger("threadtag.settings").warning(
            f"{name} is not a threadtag setting: did you mean {meant}?", variable=name
        )


def console_main() -> None:
    """The console entry point: a failure a person can fix (a server that does not answer,
    an unusable file) is one line with a hint and its exit code; LOG_LEVEL=DEBUG keeps the
    traceback."""
    from threadtag.cli.errors import describe

    try:
        code = app(standalone_mode=False)  # usage errors come here, not to typer's boxed print
    except _CLICK_ERROR as exc:  # a wrong option or argument: one line and where the usage is
        if type(exc).__name__ == "NoArgsIsHelpError":  # `threadtag` alone: the help
            exc.show()
        else:
            ctx = getattr(exc, "ctx", None)
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            typer.echo(f"error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except Exception as exc:
        failure = describe(exc)
        if failure is None or os.environ.get("LOG_LEVEL", "").upper() == "DEBUG":
            raise
        typer.echo(failure.line(), err=True)
        sys.exit(failure.code)
    sys.exit(code if isinstance(code, int) else 0)
