"""``licscan demo``: make an assistant-style leak from the index, then catch it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from licscan.cli.app import app, progress_wanted, report_fetched, report_start, stderr


@app.command("demo")
def demo(
    index: Annotated[Optional[str], typer.Option("--index", "-i", envvar="LICSCAN_INDEX",
                                                 help="Index (file or postgresql:// URI) to take the leak "
                                                 "from and scan against.")] = None,
    manifest: Annotated[str, typer.Option(help="Manifest (a shipped name, or a file) to fetch and index "
                                          "when the index is missing.")] = "quickstart",
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the generated file.")]
    = Path("licscan-demo"),
    seed: Annotated[int, typer.Option(help="Pick another function with another seed.")] = 0,
) -> None:
    """Make an assistant-style leak from real GPL code in the index, then catch it, side by side.

    Without --index (or when that file does not exist yet) the quickstart corpus is fetched
    and indexed first, into quickstart.lsi. A postgresql:// index is only read, never built
    here: a shared index is the team's to build.
    """
    from licscan.engine.uris import is_uri
    from licscan.integrations.demo import run_demo

    if index and is_uri(index):
        run_demo(index, out, sys.stdout, seed=seed)
        return
    path = Path(index or "quickstart.lsi")
    if not path.exists():
        _build(manifest, path)
    run_demo(path, out, sys.stdout, seed=seed)


def _build(manifest: str, out: Path) -> None:
    from licscan.engine.build import build_index
    from licscan.corpus.fetch import resolve_roots
    from licscan.corpus.manifest import load_manifest, resolve_manifest

    path = resolve_manifest(manifest)
    load_manifest(path)  # a missing or invalid manifest is one line, before anything is fetched
    res = resolve_roots([path], on_start=report_start, on_fetched=report_fetched)
    s = build_index(res.roots, out, progress=progress_wanted(), license_overrides=res.license_overrides,
                    extra_meta=res.extra_meta)
    stderr(f"indexed {s.files} files in {s.seconds:.1f} s -> {out}\n")
