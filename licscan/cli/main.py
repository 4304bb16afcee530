"""Console entry point: run the app, map errors to exit codes.

Exit codes: 0 passes, 1 findings fail the policy, 2 usage or runtime error (one
line, no traceback; set LICSCAN_DEBUG=1 for the traceback), 3 a baseline was
rewritten. Each command module registers itself on ``app`` when imported.
"""

from __future__ import annotations

import os
import sys

import typer

from licscan.model import LicscanError

__all__ = ["full_app", "main"]  # and `app`, through __getattr__


def full_app() -> typer.Typer:
    """The app with every command: importing a command module registers it."""
    from licscan.cli import corpus, demo, index, mcp, policy, scan, update  # noqa: F401
    from licscan.cli.app import app

    return app


def __getattr__(name: str) -> typer.Typer:
    # `from licscan.cli.main import app` (tests, completion scripts) gets every command;
    # the entry point imports only what the command line names.
    if name == "app":
        return full_app()
    raise AttributeError(name)


def _command_line() -> tuple[typer.Typer, dict]:
    """The app to run and how. ``licscan scan`` (the pre-commit and CI hot path) runs
    an app holding that command alone, and imports no other command module: turning
    every other command into a click command, and importing them, costs ~30 ms."""
    if sys.argv[1:2] == ["scan"]:
        from licscan.cli.scan import scan

        one = typer.Typer(add_completion=False, rich_markup_mode=None)
        one.command()(scan)
        return one, {"args": sys.argv[2:], "prog_name": "licscan scan"}
    return full_app(), {"prog_name": "licscan"}  # also under `python -m licscan` (usage, completion)


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    try:
        run, how = _command_line()
        rc = run(standalone_mode=False, **how)
        sys.exit(rc if isinstance(rc, int) else 0)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("licscan: interrupted", file=sys.stderr)
        sys.exit(2)
    except LicscanError as e:
        print(f"licscan: error: {e}", file=sys.stderr)
        sys.exit(2)
    except Exception as e:  # noqa: BLE001 - a gate must fail loudly but legibly
        import click

        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(2)
        if os.environ.get("LICSCAN_DEBUG"):
            raise
        print(f"licscan: internal error: {e.__class__.__name__}: {e}", file=sys.stderr)
        sys.exit(2)
