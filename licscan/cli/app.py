"""The Typer app every command module registers itself on, and what they share."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer

if TYPE_CHECKING:
    from licscan.corpus.fetch import Fetched

# rich_markup_mode=None: help is plain text, so `[tool.licscan]` is not taken for markup.
app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                  help="Find code copied from copyleft projects, with its license and source.")

_QUIET = "licscan.quiet"
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No summary or progress on stderr "
                                        "(errors still print).")]


def set_quiet(on: bool = True) -> None:
    """Record -q/--quiet for the running command (in the click context: no state between runs)."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[_QUIET] = on


def is_quiet() -> bool:
    """Whether -q/--quiet was given (globally or to the command)."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get(_QUIET))


def _version(value: bool) -> None:
    if value:
        from licscan import __version__

        print(f"licscan {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    quiet: QuietOpt = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Find code copied from copyleft projects, with its license and source."""
    set_quiet(quiet)


def complete_manifest(incomplete: str) -> list[str]:
    """Shell completion: the shipped manifests' names."""
    from licscan.corpus.manifest import shipped_manifests

    return [n for n in shipped_manifests() if n.startswith(incomplete)]


def progress_wanted() -> bool:
    """Progress bars only for a person at a terminal: not in CI, not under pre-commit, not -q."""
    return (sys.stderr.isatty() and not os.environ.get("CI") and not os.environ.get("PRE_COMMIT")
            and not is_quiet())


def stderr(msg: str) -> None:
    """A summary or progress line on stderr (not under -q/--quiet)."""
    if not is_quiet():
        print(msg, file=sys.stderr, flush=True)


def report_start(src: Any) -> None:
    stderr(f"fetching {src.label()} ...")


def report_fetched(got: Fetched, seconds: float) -> None:
    if not got.cached:
        stderr(f"  {got.source.name}: fetched in {seconds:.1f} s -> {got.root}")
    else:
        stderr(f"{got.source.label()}: {'in place' if str(got.root) == got.source.spec else 'cached'}")
