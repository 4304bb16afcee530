"""``licscan corpus fetch|show``: pinned copyleft sources listed in manifests.

Heavy modules are imported inside the commands, so ``licscan scan`` does not pay for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from licscan.cli.app import app, report_fetched, report_start, stderr

corpus_app = typer.Typer(no_args_is_help=True,
                         help="Fetch pinned copyleft sources listed in manifests (corpora/*.toml).")
app.add_typer(corpus_app, name="corpus")

_CacheOpt = Annotated[Optional[Path], typer.Option(
    "--cache", envvar="LICSCAN_CACHE", help="Cache directory (default: $XDG_CACHE_HOME/licscan/corpora).")]


@corpus_app.command("fetch")
def corpus_fetch(
    manifests: Annotated[list[Path], typer.Argument(help="Manifest files (TOML).")],
    cache: _CacheOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Download again even when cached.")] = False,
) -> None:
    """Download, verify and safely extract every source of MANIFESTS (a second run is a no-op)."""
    from licscan.corpus.manifest import load_manifest
    from licscan.corpus.fetch import fetch_manifest

    for path in manifests:
        m = load_manifest(path)
        got = fetch_manifest(m, cache, force=force, on_start=report_start, on_fetched=report_fetched)
        stderr(f"{m.name}: {len(got)} source(s) ready ({sum(not g.cached for g in got)} downloaded)")


@corpus_app.command("show")
def corpus_show(
    manifests: Annotated[list[Path], typer.Argument(help="Manifest files (TOML).")],
    cache: _CacheOpt = None,
) -> None:
    """List the sources of MANIFESTS and whether each is in the cache."""
    from licscan.corpus.manifest import load_manifest
    from licscan.corpus.fetch import cache_dir, entry_dir

    for path in manifests:
        m = load_manifest(path)
        print(f"{m.name}: {m.description}".rstrip(": "))
        for src in m.sources:
            if src.kind == "path" and Path(src.spec).is_dir() and Path(src.spec).name == src.name:
                state = "local"
            else:
                state = "cached" if (entry_dir(src, cache or cache_dir()) / src.name).is_dir() else "missing"
            extra = "".join(f"  {k}={getattr(src, k)}" for k in ("spdx", "sha256") if getattr(src, k))
            print(f"  {src.label():60} {state}{extra}")
