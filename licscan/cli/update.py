"""``licscan index update|remove``: add, replace or drop projects of an index without a full
rebuild (``engine/update.py``). A module of its own so that ``cli/index.py`` stays small;
it registers its commands on the same ``index`` group."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from licscan.cli.app import complete_manifest, is_quiet, progress_wanted, report_fetched, report_start
from licscan.cli.index import corpus_manifests, index_app

if TYPE_CHECKING:
    from licscan.engine.update import UpdateSummary


@index_app.command("update")
def index_update(
    index: Annotated[str, typer.Argument(help="Index file or postgresql:// URI to update.")],
    roots: Annotated[Optional[list[Path]], typer.Argument(help="Project directories (or files) to add, or to "
                                                          "replace those of the same name; or manifests "
                                                          "(*.toml) to fetch.")] = None,
    corpus: Annotated[Optional[list[str]], typer.Option(
        "--corpus", "-c", help="A shipped manifest by name, or a manifest file (repeatable).",
        autocompletion=complete_manifest)] = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (default: all cores).")] = None,
    no_licenses: Annotated[bool, typer.Option("--no-licenses", help="Skip license detection of the added "
                                              "and replaced projects.")] = False,
    base: Annotated[Optional[list[Path]], typer.Option(
        "--base", help="Base code to use instead of the trees the index recorded (repeatable).")] = None,
) -> None:
    """Add projects to an index, or replace those of the same name (a project is named by its
    root's directory name). Only files whose content is new are fingerprinted; the corpus
    statistics are brought up to date (new projects on an SQLite index: in place, changing
    only what they change), so the result equals a fresh build of the updated corpus. Written
    atomically (PostgreSQL: a new generation)."""
    from licscan.corpus.fetch import resolve_roots
    from licscan.engine.update import update_index

    if not roots and not corpus:
        raise typer.BadParameter("give ROOTS to add or replace, or --corpus NAME", param_hint="ROOTS")
    res = resolve_roots([*(roots or []), *corpus_manifests(corpus)], on_start=report_start, on_fetched=report_fetched)
    base_roots = resolve_roots(base, on_start=report_start, on_fetched=report_fetched).roots if base else None
    _run(index, lambda: update_index(index, res.roots, workers=workers, licenses=not no_licenses,
                                     license_overrides=res.license_overrides, extra_meta=res.extra_meta,
                                     base=base_roots, progress=progress_wanted()))


@index_app.command("remove")
def index_remove(
    index: Annotated[str, typer.Argument(help="Index file or postgresql:// URI.")],
    names: Annotated[list[str], typer.Argument(help="Projects to drop (the names `licscan index info` lists).")],
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (default: all cores).")] = None,
    base: Annotated[Optional[list[Path]], typer.Option(
        "--base", help="Base code to use instead of the trees the index recorded (repeatable).")] = None,
) -> None:
    """Drop projects from an index; the corpus statistics are rebuilt as for a fresh build of
    what remains. Written atomically (PostgreSQL: a new generation)."""
    from licscan.engine.update import remove_projects

    _run(index, lambda: remove_projects(index, names, workers=workers, base=base, progress=progress_wanted()))


def _run(index: str, work: Any) -> None:
    """Run an update as ``index build`` runs a build (SIGTERM like Ctrl-C), and report it."""
    from licscan.engine.uris import shown
    from licscan.procs import Terminated, sigterm_as_interrupt

    try:
        with sigterm_as_interrupt():
            got: UpdateSummary = work()
    except Terminated:
        print("licscan: terminated", file=sys.stderr)
        raise typer.Exit(143) from None
    if not is_quiet():
        print(summary_line(got, shown(index)), file=sys.stderr)


def summary_line(got: UpdateSummary, dest: str) -> str:
    """What an update did, for stderr (and the benchmark)."""
    s = got.build
    changes = "; ".join(f"{what} {', '.join(names)}" for what, names in
                        (("added", got.added), ("replaced", got.replaced), ("removed", got.removed)) if names)
    how = "in place" if got.mode == "delta" else "rewritten"
    return (f"updated {dest} to generation {got.generation} in {got.seconds:.1f} s ({how}): {changes}\n"
            f"  files: {s.files} indexed ({got.reused} kept or read back from the old index, {got.fingerprinted} "
            f"fingerprinted), {s.duplicates} identical copies, {s.families} families\n"
            f"  fingerprints: {s.fingerprints:,} kept, {s.fingerprints_dropped:,} dropped as boilerplate; "
            f"index {s.index_bytes / 1e6:.1f} MB")
