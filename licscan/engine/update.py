"""Incremental updates: ``licscan index update`` (add or replace projects) and ``index remove``.

Two paths, one result: the index a fresh build of the updated corpus writes, table for
table (``tests/test_update.py`` compares every table, the integrity record and the findings).

- **In place** (``engine/delta.py``, ``UpdateSummary.mode == "delta"``): roots the index
  does not hold yet, added to an SQLite index without base code. A fresh build appends
  their files, vocab and postings after the old ones, so the update works on a copy of the
  index file and changes only what the new files change (the cap, families, common names,
  meta, the checksums by their digests' sums), then renames the copy over the old file.
  Its cost follows the new files, not the index (issue 13).
- **Rebuild from reused per-file results** (``mode == "rebuild"``): everything else (a
  replaced or removed project, base code, PostgreSQL, a license override of a kept
  project). The corpus-wide statistics (the boilerplate cap, families, vocab, common names,
  files per language, the corpus hash) are written by the same ``build._write`` as a fresh
  build, from the per-file results of the updated corpus in the order a fresh build would
  produce them; so by construction rather than by a second implementation of the
  statistics. Only files whose (content hash, language) the old index does not hold are
  tokenized and fingerprinted (``prepare.process_file``); every other result is read back
  from the old index (schema 8 keeps all of it: tokens, lines, names, text, the MinHash
  ``sig`` and the postings of ``fp`` and ``capped``). The results are made one at a time,
  in build order, as the write spills them (``engine/spill.py``); the old files' blobs are
  read a batch at a time. What stays in memory is every posting of the old index (12
  bytes each, sorted by file) and the files' metadata: this path's memory still grows
  with the index (1.4 GB peak to remove a package at 31.8x the accuracy corpus), unlike a build's.

A project is a corpus root, named by its base name (the first part of its files' paths).
An updated root keeps its place in the root order, new roots are appended, removed ones
dropped. Untouched projects keep their stored licenses and evidence; added or replaced
ones run license detection as a build does.

The new index replaces the old one atomically: the SQLite file (new, or the updated copy)
is renamed over (a reader that opened the old file keeps reading it; a failed update
removes its file and leaves the old one as it was), a PostgreSQL index gets a new generation
(``pgload.build_into``). Two updates racing on one SQLite file: the last rename wins;
on PostgreSQL the second refuses (``pgload.load``'s ``expect``) rather than drop the
first's change.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from licscan.engine import build
from licscan.engine.build import BuildSummary
from licscan.engine.index import Index, open_index, sweep_stale_temps
from licscan.engine.prepare import BuildParams, FileResult
from licscan.engine.progress import Progress
from licscan.engine.readback import OldIndex
from licscan.engine.reuse import UpdateSummary
from licscan.engine.reuse import check_params as _check
from licscan.engine.reuse import extra_meta as _extra_meta
from licscan.engine.reuse import results_of
from licscan.engine.uris import is_uri
from licscan.files import SourceFile, classify
from licscan.model import LicenseEvidence, LicscanError


def update_index(index: str | Path, roots: Sequence[Path | str], *, workers: int | None = None,
                 licenses: bool = True, license_overrides: dict[str, str] | None = None,
                 extra_meta: dict[str, Any] | None = None, base: Sequence[Path | str] | None = None,
                 progress: bool = False) -> UpdateSummary:
    """Add the projects ``roots`` to ``index``, or replace those of the same name. ``base``
    replaces the index's recorded base trees; ``extra_meta`` is a manifest's ``sources``."""
    from licscan.engine import delta

    new = [Path(r) for r in roots]
    build.check_roots(new)
    overrides, extra = license_overrides or {}, extra_meta or {}

    def in_place(old: Index, out: Path) -> UpdateSummary | None:
        if not delta.applies(old, new, overrides, base):
            return None
        return delta.add_roots(old, out, new, workers, licenses, overrides, extra, progress)

    return _run_on(index, lambda old, out: _rebuild(old, out, new, set(), workers, licenses, overrides, extra,
                                                    base, progress), in_place)


def remove_projects(index: str | Path, names: Sequence[str], *, workers: int | None = None,
                    base: Sequence[Path | str] | None = None, progress: bool = False) -> UpdateSummary:
    """Drop the projects ``names`` (root names, as ``index info`` lists them) from ``index``."""
    return _run_on(index, lambda old, out: _rebuild(old, out, [], set(names), workers, True, {}, {}, base,
                                                    progress))


def _run_on(index: str | Path, rebuild: Any, in_place: Any = None) -> UpdateSummary:
    """Open the old index on its backend and write the new one in its place: on SQLite by
    ``in_place`` when it applies (it returns None when not), else by ``rebuild``."""
    t0 = time.perf_counter()
    if is_uri(index):
        from licscan.engine.pgload import build_into
        from licscan.engine.pgstore import open_pg

        old = open_pg(str(index))
        try:
            parent = old.generation
            got, gen, size = build_into(str(index), lambda dest: rebuild(old, dest), expect=parent)
        finally:
            old.close()
        got.generation, got.build.index_bytes = gen, size
    else:
        out = Path(index)
        old = open_index(out)
        try:
            sweep_stale_temps(out)
            # written to a temporary file (or a copy), renamed over the old one
            got = (in_place(old, out) if in_place else None) or rebuild(old, out)
        finally:
            old.close()
        got.build.index_bytes = out.stat().st_size
    got.seconds = got.build.seconds = time.perf_counter() - t0
    return got


def _resolve(old: Index, new: list[Path], removed: set[str]) -> tuple[list[tuple[str, Path, bool]], UpdateSummary]:
    """The updated roots in build order as (name, path, fresh?), and who is added, replaced, removed."""
    names = {r.resolve().name: r for r in new}
    old_names = [r["name"] for r in old.meta["roots"]]
    unknown = sorted(removed - set(old_names))
    if unknown:
        raise LicscanError(f"no project {unknown[0]!r} in index {old.path} (it has: {', '.join(old_names)})")
    order: list[tuple[str, Path, bool]] = []
    for r in old.meta["roots"]:
        if r["name"] not in removed:
            order.append((r["name"], names.get(r["name"], Path(r["path"])), r["name"] in names))
    order += [(n, p, True) for n, p in names.items() if n not in old_names]
    if not order:
        raise LicscanError(f"removing {', '.join(sorted(removed))} would leave index {old.path} empty; "
                           "delete it instead")
    return order, UpdateSummary(BuildSummary(), added=[n for n in names if n not in old_names],
                                replaced=[n for n in names if n in old_names], removed=sorted(removed))


def _rebuild(old: Index, out: Path, new: list[Path], removed: set[str], workers: int | None,
             licenses: bool, overrides: dict[str, str], extra: dict[str, Any],
             base: Sequence[Path | str] | None, progress: bool) -> UpdateSummary:
    params = _check(old)
    order, report = _resolve(old, new, removed)
    workers = workers or os.cpu_count() or 1
    base_roots = [Path(b) for b in base] if base is not None else [Path(b["path"]) for b in old.meta["base"]]
    for b in base_roots:
        if not b.exists():
            raise LicscanError(f"base tree {b} is gone; an update re-reads it: give --base DIR")
    summary = report.build
    meta = old.meta
    fresh = [p for _, p, is_new in order if is_new]
    kept_roots = [(n, p) for n, p, is_new in order if not is_new]
    for n, _ in kept_roots:  # their skipped files stay skipped: counted as the old build did
        for reason, c in ((meta.get("skipped_by_root") or {}).get(n) or {}).items():
            summary.skipped[reason] = summary.skipped.get(reason, 0) + c
            summary.skipped_by_root.setdefault(n, {})[reason] = c
    summary.scancode = bool((meta.get("summary") or {}).get("scancode"))
    for n, _ in kept_roots:
        p = (meta.get("projects") or {}).get(n)
        if p:
            summary.projects[n] = {"license": p.get("license"), "evidence": p.get("evidence")}
    data = OldIndex(old)
    ui = Progress(progress)
    with ui:
        per_root: dict[Path, list[str]] = {}
        jobs = list(build._jobs(fresh, params, summary, per_root))
        got = _results(data, jobs, workers, ui, summary, report)
        # A project's entries: ("old", fid) read back, ("new", result), or a stored copy ("alias", path).
        entries: dict[str, list[tuple[str, Any]]] = {}
        for n, p in kept_roots:
            entries[n] = [("old", data.by_name[x]) if x in data.by_name else ("alias", x) for x in data.names_of(n)]
        for job in jobs:
            if job[1] in got:
                entries.setdefault(job[1].split("/", 1)[0], []).append(("new", got[job[1]]))
        promoted = _promoted(data, order, entries)
        pgot: dict[str, FileResult] = {}
        if promoted:
            # A copy whose first copy is gone becomes the indexed file: read it from its tree
            # (its language and license were never stored).
            trees = dict(kept_roots)
            pjobs = []
            for x in promoted:
                top, _, rel = x.partition("/")
                src = trees[top] / rel if rel else trees[top]
                item = classify(src, x) if src.is_file() else None
                if not isinstance(item, SourceFile):
                    raise LicscanError(f"{x} must be re-read from its tree {trees[top]}, which is gone or changed: "
                                       f"update that project too (licscan index update INDEX {trees[top]})")
                pjobs.append((str(item.path), x, item.lang, params))
            pgot = _results(data, pjobs, workers, ui, summary, report)
            for x in promoted:
                if x not in pgot or pgot[x].sha1 != data.sha1(x):
                    raise LicscanError(f"{x} changed since it was indexed: update its project too")
        listed = [(kind, v) for name, _, _ in order for kind, v in entries.get(name, [])]
        names = [v if kind == "alias" else data.rows[v][1] if kind == "old" else v.name for kind, v in listed]
        report.reused = len(names) - report.fingerprinted
        license_of = _licenses(data, kept_roots, fresh, per_root, names, promoted, licenses, overrides,
                               workers, ui, summary)
        base_hashes = build._base_hashes(base_roots, params, workers, ui, summary)
        report.generation = int(meta.get("generation") or 1) + 1
        ui.add("writing index", None)
        build._write(out, [p for _, p, _ in order], _ordered(data, listed, pgot, promoted), license_of, params,
                     summary, _extra_meta(meta, extra, order, report), base_roots, base_hashes)
    return report


def _ordered(data: OldIndex, listed: list[tuple[str, Any]], pgot: dict[str, FileResult],
             promoted: set[str]) -> Iterator[FileResult]:
    """The updated corpus's results in build order, made one at a time as the write spills
    them: held all at once they were most of a removal's memory (3.9 GB at 31.8x)."""
    first: dict[str, tuple[str, Any]] = {}  # content -> how to make its first copy again
    for kind, v in listed:
        if kind == "alias" and v in promoted:
            r = pgot[v]
        elif kind == "alias":
            how, ref = first[data.sha1(v)]
            r = data.result(ref, v) if how == "old" else replace(ref, name=v)
        else:
            r = data.result(v, data.rows[v][1]) if kind == "old" else v
        first.setdefault(r.sha1, (kind, v) if kind == "old" else ("new", r))
        yield r


def _results(data: OldIndex, jobs: list[tuple[str, str, str, BuildParams]], workers: int, ui: Any,
             summary: BuildSummary, report: UpdateSummary) -> dict[str, FileResult]:
    """Results by name of the files of ``jobs``: read back from the old index when their
    (content hash, language) is there, else tokenized and fingerprinted; skips counted."""
    def known(name: str, sha1: str, lang: str) -> FileResult | None:
        fid = data.pool.get((sha1, lang))
        return None if fid is None else data.result(fid, name)

    return results_of(jobs, known, workers, ui, summary, report)


def _promoted(data: OldIndex, order: list[tuple[str, Path, bool]], entries: dict[str, list[tuple[str, Any]]]) -> set[str]:
    """Stored aliases that come first among the copies of their content in the new order."""
    seen: set[str] = set()
    out: set[str] = set()
    for name, _, _ in order:
        for kind, v in entries.get(name, []):
            sha1 = data.rows[v][6] if kind == "old" else data.sha1(v) if kind == "alias" else v.sha1
            if kind == "alias" and sha1 not in seen:
                out.add(v)
            seen.add(sha1)
    return out


def _licenses(data: OldIndex, kept_roots: list[tuple[str, Path]], fresh: list[Path], per_root: dict[Path, list[str]],
              names: list[str], promoted: set[str], licenses: bool, overrides: dict[str, str],
              workers: int, ui: Any, summary: BuildSummary) -> dict[str, tuple[str | None, LicenseEvidence | None]]:
    """Per file its license and evidence: stored for untouched projects, detected (as a build
    does) for added and replaced ones and for promoted copies."""
    kept = {n for n, _ in kept_roots}
    out: dict[str, Any] = {n: data.license(n) for n in names if n.split("/", 1)[0] in kept and n in data.by_name}
    if licenses:
        indexed = set(names)
        detect = [r for r in fresh if r.resolve().name not in overrides]
        if detect:  # else (a removal) nothing is detected; scancode's presence stays as recorded
            out.update(build._detect_licenses(detect, per_root, indexed, workers, ui, summary))
        if promoted:
            trees = dict(kept_roots)
            again = BuildSummary()  # the projects' own declarations stay as stored
            roots = sorted({x.split("/", 1)[0] for x in promoted})
            found = build._detect_licenses([trees[n] for n in roots], {trees[n]: sorted(x for x in promoted if x.split(
                "/", 1)[0] == n) for n in roots}, indexed, workers, ui, again)
            out.update({k: v for k, v in found.items() if k in promoted})
            summary.scancode = summary.scancode or again.scancode
    for n in names:
        top = n.split("/", 1)[0]
        if top in overrides:
            out[n] = (overrides[top], LicenseEvidence("package-metadata", field="manifest spdx"))
    summary.projects = build._project_licenses(summary.projects, overrides)
    return out
