"""``licscan corpus fetch|show``: pinned copyleft sources listed in manifests.

Heavy modules are imported inside the commands, so ``licscan scan`` does not pay for them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from licscan.cli.app import (app, complete_manifest, is_quiet, progress_wanted, report_fetched, report_start,
                             stderr)

if TYPE_CHECKING:
    from licscan.corpus.fetch import Fetched

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
    """Download, verify and safely extract every source of MANIFESTS. Resumable: a rerun skips what
    is complete. A source that fails is reported and the others go on; then exit 1 (exit 2: a bad
    manifest or option, or Ctrl-C; 143: SIGTERM)."""
    from licscan.corpus.batch import Failure, fetch_all
    from licscan.corpus.manifest import load_manifest, resolve_manifest
    from licscan.procs import Terminated, sigterm_as_interrupt

    loaded = [load_manifest(resolve_manifest(a)) for a in manifests]  # all valid before any download
    bar = progress_wanted()
    failed: list[Failure] = []

    def fetched(got: Fetched, seconds: float) -> None:
        if not (bar and got.cached):  # with a bar, cached sources are just steps of it
            report_fetched(got, seconds)

    # SIGTERM cleans up like Ctrl-C: the temporary directory of the source being fetched goes.
    try:
        with sigterm_as_interrupt():
            for m in loaded:
                rep = fetch_all(m, cache, force=force, progress=bar, on_start=None if bar else report_start,
                                on_fetched=fetched, on_failed=failed.append)
                stderr(f"{m.name}: {len(rep.fetched)} source(s) ready ({rep.downloaded} downloaded)"
                       + (f", {len(rep.failed)} failed" if rep.failed else ""))
    except KeyboardInterrupt as e:
        how, code = ("terminated", 143) if isinstance(e, Terminated) else ("interrupted", 2)
        print(f"licscan: {how}; what is fetched stays: run the same command again to resume", file=sys.stderr)
        raise typer.Exit(code) from None
    for f in failed:  # errors print even under --quiet
        print(f"licscan: failed: {f.reason}", file=sys.stderr)
    if failed:
        if not is_quiet():
            print(f"licscan: {len(failed)} source(s) not fetched; run the same command again to retry "
                  "them (what is fetched stays)", file=sys.stderr)
        raise typer.Exit(1)


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
            extra += f"  languages={','.join(src.languages)}" if src.languages else ""
            print(f"  {src.label():60} {state}{extra}")
