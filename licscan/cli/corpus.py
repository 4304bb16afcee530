"""``licscan corpus fetch|show``: pinned copyleft sources listed in manifests.

Heavy modules are imported inside the commands, so ``licscan scan`` does not pay for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from licscan.cli.app import app, complete_manifest, report_fetched, report_start, stderr

corpus_app = typer.Typer(no_args_is_help=True,
                         help="Fetch pinned copyleft sources listed in manifests (shipped ones by name).")
app.add_typer(corpus_app, name="corpus")

_CacheOpt = Annotated[Optional[Path], typer.Option(
    "--cache", envvar="LICSCAN_CACHE", help="Cache directory (default: $XDG_CACHE_HOME/licscan/corpora).")]


_ManifestsArg = Annotated[list[str], typer.Argument(
    help="Shipped manifests by name (`licscan corpus list`), or manifest files (TOML).",
    autocompletion=complete_manifest)]


@corpus_app.command("list")
def corpus_list() -> None:
    """List the manifests that ship with licscan, with their descriptions."""
    from licscan.corpus.manifest import load_manifest, shipped_manifests

    shipped = shipped_manifests()
    width = max(map(len, shipped), default=0)
    for name, path in shipped.items():
        print(f"{name:{width}}  {load_manifest(path).description}".rstrip())


@corpus_app.command("fetch")
def corpus_fetch(
    manifests: _ManifestsArg,
    cache: _CacheOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Download again even when cached.")] = False,
) -> None:
    """Download, verify and safely extract every source of MANIFESTS (a second run is a no-op)."""
    from licscan.corpus.manifest import load_manifest, resolve_manifest
    from licscan.corpus.fetch import fetch_manifest

    for path in [resolve_manifest(a) for a in manifests]:
        m = load_manifest(path)
        got = fetch_manifest(m, cache, force=force, on_start=report_start, on_fetched=report_fetched)
        stderr(f"{m.name}: {len(got)} source(s) ready ({sum(not g.cached for g in got)} downloaded)")


@corpus_app.command("show")
def corpus_show(
    manifests: _ManifestsArg,
    cache: _CacheOpt = None,
) -> None:
    """List the sources of MANIFESTS and whether each is in the cache."""
    from licscan.corpus.manifest import load_manifest, resolve_manifest
    from licscan.corpus.fetch import cache_dir, entry_dir

    for path in [resolve_manifest(a) for a in manifests]:
        m = load_manifest(path)
        print(f"{m.name}: {m.description}".rstrip(": "))
        for src in m.sources:
            if src.kind == "path" and Path(src.spec).is_dir() and Path(src.spec).name == src.name:
                state = "local"
            else:
                state = "cached" if (entry_dir(src, cache or cache_dir()) / src.name).is_dir() else "missing"
            extra = "".join(f"  {k}={getattr(src, k)}" for k in ("spdx", "sha256") if getattr(src, k))
            print(f"  {src.label():60} {state}{extra}")
