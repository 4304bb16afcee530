"""Command line for corpora: ``licscan corpus fetch|show`` and ``licscan demo``.

Registered on the main app by one import at the bottom of cli.py. Heavy modules
are imported inside the commands, so ``licscan scan`` does not pay for them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from licscan.cli import _progress_wanted, app

if TYPE_CHECKING:
    from licscan.corpus.fetch import Fetched
    from licscan.engine.index import Index

corpus_app = typer.Typer(no_args_is_help=True,
                         help="Fetch pinned copyleft sources listed in manifests (corpora/*.toml).")
app.add_typer(corpus_app, name="corpus")

_CacheOpt = Annotated[Optional[Path], typer.Option(
    "--cache", envvar="LICSCAN_CACHE", help="Cache directory (default: $XDG_CACHE_HOME/licscan/corpora).")]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def report_start(src: Any) -> None:
    _stderr(f"fetching {src.label()} ...")


def report_fetched(got: Fetched, seconds: float) -> None:
    if not got.cached:
        _stderr(f"  {got.source.name}: fetched in {seconds:.1f} s -> {got.root}")
    else:
        _stderr(f"{got.source.label()}: {'in place' if str(got.root) == got.source.spec else 'cached'}")


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
        _stderr(f"{m.name}: {len(got)} source(s) ready ({sum(not g.cached for g in got)} downloaded)")


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


@app.command("demo")
def demo(
    index: Annotated[Optional[Path], typer.Option("--index", "-i", envvar="LICSCAN_INDEX",
                                                  help="Index to take the leak from and scan against.")] = None,
    manifest: Annotated[Path, typer.Option(help="Manifest to fetch and index when the index is missing.")]
    = Path("corpora/quickstart.toml"),
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the generated file.")]
    = Path("licscan-demo"),
    seed: Annotated[int, typer.Option(help="Pick another function with another seed.")] = 0,
) -> None:
    """Make an assistant-style leak from real GPL code in the index, then catch it, side by side.

    Without --index (or when it does not exist yet) the quickstart corpus is fetched
    and indexed first, into quickstart.lsi.
    """
    from licscan.integrations.demo import run_demo

    index = index or Path("quickstart.lsi")
    if not index.exists():
        _build(manifest, index)
    run_demo(index, out, sys.stdout, seed=seed)


def _build(manifest: Path, out: Path) -> None:
    from licscan.engine.build import build_index
    from licscan.corpus.fetch import resolve_roots

    res = resolve_roots([manifest], on_start=report_start, on_fetched=report_fetched)
    s = build_index(res.roots, out, progress=_progress_wanted(), license_overrides=res.license_overrides,
                    extra_meta=res.extra_meta)
    _stderr(f"indexed {s.files} files in {s.seconds:.1f} s -> {out}\n")


# --------------------------------------------------------------------------- index info


def index_sources(idx: Index) -> list[dict[str, Any]]:
    """Per source (top directory of indexed paths): origin, files, bytes, languages, licenses."""
    rows = idx.db.execute(
        "SELECT CASE WHEN instr(path, '/') > 0 THEN substr(path, 1, instr(path, '/') - 1) ELSE path END,"
        " lang, coalesce(license, 'unknown'), count(*), sum(size) FROM files GROUP BY 1, 2, 3").fetchall()
    declared = {s["name"]: s for s in idx.meta.get("sources") or []}
    roots = {r["name"]: r for r in idx.meta.get("roots") or []}
    out: dict[str, dict[str, Any]] = {}
    for name in [*roots, *declared]:
        out.setdefault(name, _source_row(name, declared.get(name), roots.get(name)))
    for name, lang, lic, n, size in rows:
        s = out.setdefault(name, _source_row(name, None, None))
        s["files"] += n
        s["bytes"] += size or 0
        s["languages"][lang] = s["languages"].get(lang, 0) + n
        s["licenses"][lic] = s["licenses"].get(lic, 0) + n
    for s in out.values():
        for key in ("languages", "licenses"):
            s[key] = dict(sorted(s[key].items(), key=lambda kv: (-kv[1], kv[0])))
    return list(out.values())


def _source_row(name: str, declared: dict[str, Any] | None, root: dict[str, Any] | None) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, "kind": "directory", "version": None}
    if declared:
        row.update({k: declared.get(k) for k in ("kind", "spec", "version", "sha256", "spdx")})
    if root:
        row["path"] = root.get("path")
    row.update(files=0, bytes=0, languages={}, licenses={})
    return row


def render_sources(sources: list[dict[str, Any]]) -> str:
    """The ``sources:`` block of ``index info`` (text format)."""
    lines = ["sources:"]
    for s in sources:
        origin = s["kind"] if s["kind"] == "directory" else f"{s['kind']} {s.get('spec')}"
        if s["kind"] in ("debian", "git"):
            origin += f" {s.get('version')}"
        lines.append(f"  {s['name']}: {origin}, {s['files']} files, {s['bytes'] / 1e6:.1f} MB"
                     + (f", spdx override {s['spdx']}" if s.get("spdx") else "")
                     + (f", sha256 {s['sha256'][:16]}..." if s.get("sha256") else ""))
        lines.append("    languages: " + (", ".join(f"{k} {v}" for k, v in s["languages"].items()) or "none"))
        lics = [f"{k} {v}" for k, v in s["licenses"].items()]
        more = f" (+{len(lics) - 8} more; --format json lists all)" if len(lics) > 8 else ""
        lines.append("    licenses: " + (", ".join(lics[:8]) or "none") + more)
    return "\n".join(lines)
