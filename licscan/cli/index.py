"""``licscan index build|info|verify``: write an index from corpus roots, show what one holds,
check its integrity."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from licscan.cli.app import app, complete_manifest, is_quiet, progress_wanted, report_fetched, report_start

if TYPE_CHECKING:
    from licscan.engine.store import IndexStore

index_app = typer.Typer(no_args_is_help=True, help="Build and inspect indexes of copyleft code.")
app.add_typer(index_app, name="index")


@index_app.command("build")
def index_build(
    out: Annotated[str, typer.Option("--out", "-o", help="Index file to write, or a postgresql:// URI (a new "
                                     "generation of a shared index; password from PGPASSWORD or ~/.pgpass).")],
    roots: Annotated[Optional[list[Path]], typer.Argument(help="Corpus directories (or files) to index, "
                                                          "or manifests (*.toml) to fetch and index.")] = None,
    corpus: Annotated[Optional[list[str]], typer.Option(
        "--corpus", "-c", help="A shipped manifest by name (`licscan corpus list`), or a manifest file, "
        "to fetch and index (repeatable).", autocompletion=complete_manifest)] = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (default: all cores; "
                                                   "with --scheduler local: 2).")] = None,
    scheduler: Annotated[Optional[str], typer.Option(
        "--scheduler", help="Build on Dask: `local` starts a LocalCluster of --workers processes, "
        "tcp://HOST:PORT uses a running cluster (needs licscan[dask]).")] = None,
    spill: Annotated[Optional[Path], typer.Option(
        "--spill", help="With --scheduler: directory for the Parquet fingerprint spill, at the same path on "
        "every worker (default: next to the index file).")] = None,
    no_licenses: Annotated[bool, typer.Option("--no-licenses", help="Skip license detection.")] = False,
    store_text: Annotated[bool, typer.Option("--store-text", help="Store source text in the index "
                                             "(self-contained evidence, about twice the size).")] = False,
    base: Annotated[Optional[list[Path]], typer.Option(
        "--base", help="Code known not to be copyleft (a directory or manifest; repeatable): what the "
        "corpus shares with it is common code, not evidence of a copy.")] = None,
) -> None:
    """Index every code file under ROOTS (and the --corpus manifests) into one index file, or a new
    generation of a PostgreSQL index (written atomically)."""
    from rich.console import Console

    from licscan.engine.build import BuildParams, build_index
    from licscan.corpus.fetch import resolve_roots
    from licscan.procs import Terminated, sigterm_as_interrupt
    from licscan.engine.uris import is_uri, shown, warn_password

    if not roots and not corpus:
        raise typer.BadParameter("give ROOTS to index or --corpus NAME", param_hint="ROOTS")
    if spill is not None and scheduler is None:
        raise typer.BadParameter("only a build on Dask spills: give --scheduler too", param_hint="--spill")
    wanted = [*(roots or []), *corpus_manifests(corpus)]
    # SIGTERM (CI timeouts, `kill`) cleans up like Ctrl-C (workers stopped, temp files removed,
    # the old index untouched), then exits 143 as a process killed by SIGTERM would.
    base_roots: list[Path] = []

    def build(dest: Path) -> Any:
        nonlocal base_roots
        res = resolve_roots(wanted, on_start=report_start, on_fetched=report_fetched)  # manifests -> trees
        base_roots = resolve_roots(base, on_start=report_start, on_fetched=report_fetched).roots if base else []
        if scheduler is None:  # the plain build never imports dask
            return build_index(res.roots, dest, workers=workers, progress=progress_wanted(),
                               params=BuildParams(store_text=store_text), licenses=not no_licenses,
                               license_overrides=res.license_overrides, extra_meta=res.extra_meta,
                               base=base_roots)
        from licscan.engine.distributed import DaskBuild

        with DaskBuild(scheduler, workers=workers, spill=spill) as executor:
            return build_index(res.roots, dest, workers=workers, progress=progress_wanted(),
                               params=BuildParams(store_text=store_text), licenses=not no_licenses,
                               license_overrides=res.license_overrides, extra_meta=res.extra_meta,
                               base=base_roots, executor=executor)

    try:
        with sigterm_as_interrupt():
            if is_uri(out):
                # The usual build into a private SQLite file, then one transaction into PostgreSQL.
                from licscan.engine.pgload import build_into

                warn_password(out)
                summary, gen, summary_bytes = build_into(out, build)
                summary.index_bytes = summary_bytes
                dest = f"{shown(out)} generation {gen}"
            else:
                summary, dest = build(Path(out)), out
    except Terminated:
        print("licscan: terminated", file=sys.stderr)
        raise typer.Exit(143) from None
    if is_quiet():
        return
    console = Console(stderr=True, highlight=False)
    langs = ", ".join(f"{k} {v}" for k, v in summary.languages.items())
    lics = ", ".join(f"{k} {v}" for k, v in sorted(summary.licenses.items(), key=lambda kv: -kv[1])[:8])
    skipped = ", ".join(f"{v} {k}" for k, v in sorted(summary.skipped.items(), key=lambda kv: -kv[1]))
    console.print(
        f"indexed {summary.files} files ({summary.bytes / 1e6:.1f} MB, {summary.tokens:,} tokens) "
        f"in {summary.seconds:.1f} s -> {dest} ({summary.index_bytes / 1e6:.1f} MB)\n"
        f"  languages: {langs or 'none'}\n"
        f"  fingerprints: {summary.fingerprints:,} kept, {summary.fingerprints_dropped:,} dropped as "
        f"boilerplate; {summary.duplicates} identical copies, {summary.families} families\n"
        f"  licenses: {lics or 'not detected'}"
        + ("" if summary.scancode or no_licenses else " (scancode not installed: light matcher)")
        + (f"\n  base code: {summary.base_files} files; {summary.base_common:,} corpus fingerprints "
           "it shares are marked common" if base_roots else "")
        + (f"\n  skipped: {skipped}" if skipped else ""))


@index_app.command("info")
def index_info(
    index: Annotated[str, typer.Argument(help="Index file or postgresql:// URI.")],
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Show what an index holds: generation, corpus hash, files, languages, licenses, build parameters."""
    import json

    from licscan.engine.stores import open_store
    from licscan.engine.uris import is_uri, shown

    idx = open_store(index)
    # The generation: an index file's own count (a build 1, each update or removal +1); a
    # PostgreSQL index's stats() bring the generation its head points at, and its size.
    info = {"path": shown(index), "bytes": 0 if is_uri(index) else Path(index).stat().st_size,
            "generation": idx.meta.get("generation"), **idx.stats(),
            "params": idx.params, "roots": idx.meta.get("roots"), "base": idx.meta.get("base") or [],
            "built_at": idx.meta.get("built_at"),
            "corpus_sha256": idx.meta.get("corpus_sha256"), "grammars": idx.meta.get("grammars"),
            "sources": index_sources(idx)}
    if fmt == "json":
        print(json.dumps(info, indent=2))
        return
    for key, value in info.items():
        if key == "sources":
            print(render_sources(value))
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif key in ("roots", "base") and isinstance(value, list):
            value = ", ".join(f"{r.get('name')} ({r.get('path')})" for r in value) or "none"
        print(f"{key}: {value}")


@index_app.command("verify")
def index_verify(index: Annotated[str, typer.Argument(help="Index file or postgresql:// URI.")]) -> None:
    """Check an index in full: tables, build parameters, every chunk's checksum, every blob (on
    PostgreSQL: meta, row counts, every blob). Exit 0 when it is intact, 2 (one line naming the
    table) when not."""
    from licscan.engine.uris import is_uri, shown

    if is_uri(index):
        from licscan.engine.pgstore import verify_pg as verify_index
    else:
        from licscan.engine.index import verify_index  # type: ignore[assignment]

    for line in verify_index(index):  # raises LicscanError (exit 2) on the first failure
        if not is_quiet():
            print(line)
    if not is_quiet():
        print(f"index {shown(index)} is intact")


def corpus_manifests(corpus: list[str] | None) -> list[Path]:
    """The manifest files that ``--corpus`` options name; one line (exit 2) for one that is not."""
    from licscan.corpus.manifest import is_manifest, resolve_manifest
    from licscan.model import LicscanError

    manifests = [resolve_manifest(c) for c in corpus or []]
    for c, m in zip(corpus or [], manifests):
        if not is_manifest(m):
            raise LicscanError(f"--corpus {c}: not a manifest file (*.toml)"
                               + ("" if m.exists() else ": no such file"))
    return manifests


def index_sources(idx: IndexStore) -> list[dict[str, Any]]:
    """Per source (top directory of indexed paths): origin, files, bytes, languages, licenses."""
    rows = idx.source_counts()
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
    projects = idx.meta.get("projects") or {}
    for name, s in out.items():
        p = projects.get(name) or {}
        s["declared_license"] = p.get("license")
        s["declared_evidence"] = p.get("evidence")
        s["license_evidence"] = dict(sorted((p.get("decided") or {}).items(), key=lambda kv: -kv[1]))
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
    from licscan.model import LicenseEvidence

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
        if "declared_license" in s:
            ev = s.get("declared_evidence")
            shown = LicenseEvidence.from_dict(ev).line() if ev else "not recorded (index predates schema 6)"
            lines.append(f"    declared license: {s['declared_license'] or 'unknown'} ({shown})")
            kinds = ", ".join(f"{k} {v}" for k, v in (s.get("license_evidence") or {}).items())
            lines.append(f"    files decided by: {kinds or 'none'}")
    return "\n".join(lines)
