"""The Typer app every command module registers itself on, and what they share."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from licscan.corpus.fetch import Fetched

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Find code copied from copyleft projects, with its license and source.")


def progress_wanted() -> bool:
    """Progress bars only for a person at a terminal: not in CI, not under pre-commit."""
    return sys.stderr.isatty() and not os.environ.get("CI") and not os.environ.get("PRE_COMMIT")


def stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def report_start(src: Any) -> None:
    stderr(f"fetching {src.label()} ...")


def report_fetched(got: Fetched, seconds: float) -> None:
    if not got.cached:
        stderr(f"  {got.source.name}: fetched in {seconds:.1f} s -> {got.root}")
    else:
        stderr(f"{got.source.label()}: {'in place' if str(got.root) == got.source.spec else 'cached'}")
