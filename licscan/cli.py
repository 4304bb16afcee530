"""Command line. Thin: parse options, call one stage, map errors to exit codes.

Exit codes: 0 no findings, 1 findings, 2 usage or runtime error (one line, no
traceback; set LICSCAN_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .model import LicscanError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Find code copied from copyleft projects, with its license and source.")
index_app = typer.Typer(no_args_is_help=True, help="Build and inspect indexes of copyleft code.")
app.add_typer(index_app, name="index")


def _progress_wanted() -> bool:
    """Progress bars only for a person at a terminal: not in CI, not under pre-commit."""
    return sys.stderr.isatty() and not os.environ.get("CI") and not os.environ.get("PRE_COMMIT")


@index_app.command("build")
def index_build(
    roots: Annotated[list[Path], typer.Argument(help="Corpus directories (or files) to index.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Index file to write.")],
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (default: all cores).")] = None,
    no_licenses: Annotated[bool, typer.Option("--no-licenses", help="Skip license detection.")] = False,
    no_text: Annotated[bool, typer.Option("--no-text", help="Do not store source text (smaller index, "
                                          "no side-by-side source view).")] = False,
) -> None:
    """Index every code file under ROOTS into one index file (written atomically)."""
    from rich.console import Console

    from .build import BuildParams, build_index

    summary = build_index(roots, out, workers=workers, progress=_progress_wanted(),
                          params=BuildParams(store_text=not no_text), licenses=not no_licenses)
    console = Console(stderr=True, highlight=False)
    langs = ", ".join(f"{k} {v}" for k, v in summary.languages.items())
    lics = ", ".join(f"{k} {v}" for k, v in sorted(summary.licenses.items(), key=lambda kv: -kv[1])[:8])
    skipped = ", ".join(f"{v} {k}" for k, v in sorted(summary.skipped.items(), key=lambda kv: -kv[1]))
    console.print(
        f"indexed {summary.files} files ({summary.bytes / 1e6:.1f} MB, {summary.tokens:,} tokens) "
        f"in {summary.seconds:.1f} s -> {out} ({summary.index_bytes / 1e6:.1f} MB)\n"
        f"  languages: {langs or 'none'}\n"
        f"  fingerprints: {summary.fingerprints:,} kept, {summary.fingerprints_dropped:,} dropped as "
        f"boilerplate; {summary.duplicates} identical copies, {summary.families} families\n"
        f"  licenses: {lics or 'not detected'}"
        + ("" if summary.scancode or no_licenses else " (scancode not installed: light matcher)")
        + (f"\n  skipped: {skipped}" if skipped else ""))


@index_app.command("info")
def index_info(
    index: Annotated[Path, typer.Argument(help="Index file.")],
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Show what an index holds: files, languages, licenses, build parameters."""
    import json

    from .index import open_index

    idx = open_index(index)
    info = {"path": str(index), "bytes": index.stat().st_size, **idx.stats(),
            "params": idx.params, "roots": idx.meta.get("roots"), "built_at": idx.meta.get("built_at"),
            "corpus_sha256": idx.meta.get("corpus_sha256"), "grammars": idx.meta.get("grammars")}
    if fmt == "json":
        print(json.dumps(info, indent=2))
        return
    for key, value in info.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        print(f"{key}: {value}")


@app.command()
def scan(
    paths: Annotated[list[str], typer.Argument(help="Files, directories, or - for stdin.")],
    index: Annotated[Path, typer.Option("--index", "-i", envvar="LICSCAN_INDEX",
                                        help="Index file to match against.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json")] = "text",
    lang: Annotated[Optional[str], typer.Option(help="Language of stdin / files without extension.")] = None,
    side_by_side: Annotated[bool, typer.Option("--side-by-side", "-s",
                                               help="Show matched lines next to the source.")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the report here.")] = None,
    min_tokens: Annotated[Optional[int], typer.Option(help="Smallest match, in normalized tokens.")] = None,
    min_similarity: Annotated[Optional[float], typer.Option(help="Smallest similarity (0-1).")] = None,
) -> None:
    """Report regions of PATHS copied from indexed copyleft code (exit 1 if any)."""
    from .index import open_index
    from .matches import Thresholds
    from .reports import renderer
    from .scan import scan_paths

    render = renderer(fmt)
    t = Thresholds()
    if min_tokens is not None:
        t.min_tokens = min_tokens
        t.min_tokens_rare = min(t.min_tokens_rare, min_tokens)
    if min_similarity is not None:
        t.min_similarity = min_similarity
    idx = open_index(index)
    result = scan_paths(idx, paths, lang=lang, thresholds=t)
    if output:
        tmp = output.with_name(f".{output.name}.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            render(result, idx, fh, side_by_side=side_by_side)
        os.replace(tmp, output)
    else:
        render(result, idx, sys.stdout, side_by_side=side_by_side)
    raise typer.Exit(1 if result.findings else 0)


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    try:
        rc = app(standalone_mode=False)
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
