"""Corpus roots -> index file: discover, tokenize and fingerprint (in worker
processes), detect licenses, drop boilerplate fingerprints, group near-duplicate
files into families, and write everything atomically."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from licscan.files import SourceFile, Skipped, discover
from licscan.engine.index import MAGIC, SCHEMA_VERSION, IndexWriter, sweep_stale_temps
from licscan.languages import LANGUAGES, grammar_signature, grammar_versions
from licscan.model import LicenseEvidence, LicscanError
from licscan.procs import worker_pool
from licscan.engine.prepare import BuildParams, FileResult, common_names, process_base, process_file
from licscan.engine.prepare import families as group_families
from licscan.engine.progress import Progress
from licscan.engine.spill import VOCAB_LIMIT, Spill, shared  # noqa: F401 - VOCAB_LIMIT: build.VOCAB_LIMIT stays importable

CHUNK = 8
"""Files per task sent to a worker process."""
IN_FLIGHT = 8
"""Chunks queued or running per worker: enough to keep them busy, few enough that the
results waiting behind a slow file stay a few hundred."""


@dataclass
class BuildSummary:
    files: int = 0
    bytes: int = 0
    tokens: int = 0
    fingerprints: int = 0
    fingerprints_dropped: int = 0
    duplicates: int = 0
    families: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    licenses: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_by_root: dict[str, dict[str, int]] = field(default_factory=dict)
    """``skipped`` per root name: an update that replaces or removes a root keeps the others' counts."""
    seconds: float = 0.0
    index_bytes: int = 0
    scancode: bool = False
    base_files: int = 0
    base_common: int = 0
    """Corpus fingerprints that the base code also has."""
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per project: declared license, its evidence, files decided per evidence kind."""


def _skip(summary: BuildSummary, name: str, reason: str) -> None:
    """Count a skipped file, in total and under its root's name (the first part of ``name``)."""
    summary.skipped[reason] = summary.skipped.get(reason, 0) + 1
    per = summary.skipped_by_root.setdefault(name.split("/", 1)[0], {})
    per[reason] = per.get(reason, 0) + 1


def _jobs(roots: Sequence[Path], params: BuildParams, summary: BuildSummary,
          per_root: dict[Path, list[str]]) -> Iterator[tuple[str, str, str, BuildParams]]:
    for root in roots:
        names = per_root.setdefault(root, [])
        top = root.resolve().name  # once per root: a corpus skips thousands of files
        for item in discover(root):
            if isinstance(item, Skipped):
                _skip(summary, top, item.reason)
                continue
            assert isinstance(item, SourceFile)
            names.append(item.name)
            yield str(item.path), item.name, item.lang, params


def build_index(
    roots: Sequence[Path | str],
    out: Path | str,
    *,
    workers: int | None = None,
    progress: bool = False,
    params: BuildParams | None = None,
    licenses: bool = True,
    license_overrides: dict[str, str] | None = None,
    extra_meta: dict[str, Any] | None = None,
    base: Sequence[Path | str] = (),
    executor: Any = None,
) -> BuildSummary:
    """Build an index of every code file under ``roots`` into ``out`` (atomically).

    ``license_overrides`` maps a root's name to the SPDX expression of all its files
    (no detection for that root); ``extra_meta`` adds keys to the index meta (a
    manifest's ``sources``). ``base`` trees are code known not to be copyleft
    (MOSS's "base files"): they are not indexed, but every corpus fingerprint they
    also contain is marked common, so it is no longer evidence specific to a source.
    ``executor`` (a ``distributed.DaskBuild``) runs the per-file work and license detection
    on a Dask cluster instead of the process pool; the index written is the same."""
    t0 = time.perf_counter()
    params = params or BuildParams()
    roots = [Path(r) for r in roots]
    base = [Path(b) for b in base]
    check_roots(roots, base)
    out = Path(out)
    sweep_stale_temps(out)  # what a killed build (kill -9, power loss) left next to the index
    workers = workers or os.cpu_count() or 1
    summary = BuildSummary()
    per_root: dict[Path, list[str]] = {}
    jobs = list(_jobs(roots, params, summary, per_root))
    overrides = license_overrides or {}
    detect = [r for r in roots if r.resolve().name not in overrides] if licenses else []
    ui = Progress(progress)
    # The spill is removed when the build ends, however it ends (and at exit, and by the next
    # build after a kill -9): the results never all sit in memory (engine.spill).
    with ui, Spill(out, params) as spill:
        task = ui.add("tokenizing", len(jobs))
        # closing(): on Ctrl-C/SIGTERM the generator (and its pool) is closed now, not when
        # the traceback is freed; an unclosed pool would finish every queued job at exit.
        with closing(executor.files(jobs, out, detect, per_root) if executor else _run(jobs, workers)) as done:
            for r in done:
                if isinstance(r, tuple):
                    _skip(summary, r[0], r[1])
                else:
                    spill.add(r)
                ui.advance(task)
        if not spill.names:
            raise LicscanError(_nothing_to_index(roots, summary))
        base_hashes = _base_hashes(base, params, workers, ui, summary)
        detector = executor.licenses if executor else _detect_licenses
        license_of = detector(detect, per_root, spill.names, workers, ui, summary) if licenses else {}
        for name in spill.names:
            top = name.split("/", 1)[0]
            if top in overrides:
                license_of[name] = (overrides[top], LicenseEvidence("package-metadata", field="manifest spdx"))
        summary.projects = _project_licenses(summary.projects, overrides)
        ui.add("writing index", None)
        _write(out, roots, spill, license_of, params, summary, extra_meta, base, base_hashes)
    summary.seconds = time.perf_counter() - t0
    summary.index_bytes = out.stat().st_size
    return summary


def check_roots(roots: Sequence[Path], base: Sequence[Path] = ()) -> None:
    """Refuse roots that are missing, not a file or directory, or share a base name."""
    for r in [*roots, *base]:
        if not r.exists():
            raise LicscanError(f"corpus root not found: {r}")
        if not (r.is_dir() or r.is_file()):  # a device or FIFO would hang the build or never end
            raise LicscanError(f"corpus root is not a regular file or directory: {r}")
    names = [r.resolve().name for r in roots]
    if len(set(names)) != len(names):
        raise LicscanError("two corpus roots share a base name; source paths would collide")


def _run(jobs: list[tuple[str, str, str, BuildParams]], workers: int,
         fn: Callable[[tuple[str, str, str, BuildParams]], Any] = process_file) -> Iterator[Any]:
    if workers <= 1 or len(jobs) < 8:
        yield from map(fn, jobs)
        return
    # Workers die with this process and do not hold its stdout/stderr (licscan.procs); an
    # exception or an early close() kills them rather than letting them drain the queue.
    # A window of chunks in flight, not pool.map: map submits every job at once, and the
    # results behind a slow file would wait in this process, as many as the workers make
    # meanwhile (issue 12: memory must not grow with the corpus). In order, as map's.
    todo = iter(jobs)
    with worker_pool(workers) as pool:
        window: deque[Any] = deque()
        while True:
            while len(window) < workers * IN_FLIGHT and (chunk := list(islice(todo, CHUNK))):
                window.append(pool.submit(_each, fn, chunk))
            if not window:
                return
            yield from window.popleft().result()


def _each(fn: Callable[[Any], Any], jobs: list[Any]) -> list[Any]:
    """``fn`` of each job of a chunk (in a worker process)."""
    return [fn(j) for j in jobs]


def _base_hashes(base: Sequence[Path], params: BuildParams, workers: int, ui: Progress,
                 summary: BuildSummary) -> np.ndarray:
    """Distinct k-gram hashes of all base trees."""
    if not base:
        return np.zeros(0, np.int64)
    jobs = list(_jobs(base, params, BuildSummary(), {}))
    task = ui.add("base code", len(jobs))
    parts = []
    with closing(_run(jobs, workers, process_base)) as done:
        for r in done:
            if not isinstance(r, tuple):
                parts.append(r)
                summary.base_files += 1
            ui.advance(task)
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


def _project_licenses(declared: dict[str, dict[str, Any]], overrides: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per project (top directory): its declared license and evidence (``index info``); ``decided``
    (files per evidence kind) is counted as the distinct files are written."""
    out = {name: dict(d, decided={}) for name, d in declared.items()}
    for name, spdx in overrides.items():
        out[name] = {"license": spdx, "evidence": {"kind": "package-metadata", "field": "manifest spdx"},
                     "decided": {}}
    return out


def _detect_licenses(roots: Sequence[Path], per_root: dict[Path, list[str]],
                     kept: Collection[str], workers: int, ui: Progress,
                     summary: BuildSummary) -> dict[str, tuple[str | None, LicenseEvidence]]:
    from licscan.licenses import detect as licenses
    from licscan.licenses.resolve import PROJECT_REL

    summary.scancode = licenses.scancode_available()
    out: dict[str, tuple[str | None, LicenseEvidence]] = {}
    try:
        for root in roots:
            base = root.resolve().name
            rels = [n[len(base) + 1:] for n in per_root.get(root, []) if n in kept]
            if root.is_file():
                rels = [root.name] if kept else []
                lic_root = root.parent
            else:
                lic_root = root
            task = ui.add(f"licenses: {base}", len(rels))
            # PROJECT_REL (a file that cannot exist) asks for the project's own declaration.
            found = licenses.detect_licenses_detailed(lic_root, [*rels, PROJECT_REL], workers=workers,
                                                      progress=lambda n, t=task: ui.advance(t, n))
            out.update(_found_licenses(root, found, summary))
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM) maybe while the workers still load scancode's index:
        # kill them now rather than wait for the load at exit.
        licenses.shutdown_scancode_workers(kill=True)
        raise
    # The scancode workers hold ~1.4 GB each; the pool spans all roots, not the build.
    licenses.shutdown_scancode_workers()
    return out


def _found_licenses(root: Path, found: dict[str, Any],
                    summary: BuildSummary) -> dict[str, tuple[str | None, LicenseEvidence]]:
    """One root's detection results as indexed names -> (license, evidence); its own
    declaration (``PROJECT_REL``) goes to ``summary.projects``. Shared with the Dask build."""
    from licscan.licenses.resolve import PROJECT_REL

    base = root.resolve().name
    own = found.pop(PROJECT_REL)
    summary.projects[base] = {"license": own.license, "evidence": _prefixed(own.evidence, base, root).to_dict()}
    return {f"{base}/{rel}" if not root.is_file() else base: (res.license, _prefixed(res.evidence, base, root))
            for rel, res in found.items()}


def _prefixed(ev: LicenseEvidence, base: str, root: Path) -> LicenseEvidence:
    """Evidence with its path as indexed (under the root's name), like the files' paths."""
    if ev.path is None or root.is_file():
        return ev
    return replace(ev, path=f"{base}/{ev.path}")


def _nothing_to_index(roots: Sequence[Path], summary: BuildSummary) -> str:
    """The one-line refusal of a build that found no code: an index of 0 files would
    pass every scan, so none is written."""
    skipped = ", ".join(f"{v} {k}" for k, v in sorted(summary.skipped.items(), key=lambda kv: -kv[1]))
    return (f"nothing to index: no code files under {', '.join(str(r) for r in roots)}"
            + (f" (skipped: {skipped})" if skipped else "") + "; no index written")


def df_cap(params: BuildParams, files: int) -> int:
    """Most files a fingerprint may be in before it counts as boilerplate."""
    return max(params.df_cap, int(params.df_cap_share * files))


def _write(out: Path, roots: Sequence[Path], results: Iterable[FileResult] | Spill,
           license_of: dict[str, tuple[str | None, LicenseEvidence]], params: BuildParams, summary: BuildSummary,
           extra_meta: dict[str, Any] | None = None, base: Sequence[Path] = (),
           base_hashes: np.ndarray | None = None) -> None:
    """Write the index atomically; its checksums are recorded on commit (``verify.seal``).

    ``results`` are the build's spill, or any iterable of FileResult (spilled here, in its
    order): either way the files, vocab and postings are read back from disk, so memory
    does not grow with the corpus (``engine.spill``)."""
    if isinstance(results, Spill):
        _write_spilled(out, roots, results, license_of, params, summary, extra_meta, base, base_hashes)
        return
    with Spill(out, params) as spill:
        for r in results:
            spill.add(r)
        _write_spilled(out, roots, spill, license_of, params, summary, extra_meta, base, base_hashes)


def _write_spilled(out: Path, roots: Sequence[Path], spill: Spill,
                   license_of: dict[str, tuple[str | None, LicenseEvidence]], params: BuildParams,
                   summary: BuildSummary, extra_meta: dict[str, Any] | None, base: Sequence[Path],
                   base_hashes: np.ndarray | None) -> None:
    if not spill.names:  # build_index refuses earlier; never write an index that passes everything
        raise LicscanError(_nothing_to_index(roots, summary))
    spill.finish()
    summary.duplicates = spill.aliases
    families = group_families(spill.signatures(), params)
    summary.families = len(set(families))
    # The cap scales with the corpus: a fixed count drops ever more of a source's
    # ordinary fingerprints as unrelated projects join (issue 12). It needs the number of
    # distinct files, known only now: the postings were spilled uncapped.
    cap = df_cap(params, spill.files)
    writer = IndexWriter(out)
    try:
        sigs = spill.signatures()
        writer.add_files(_file_row(row, int(families[row[0]]), sigs[row[0]], license_of, summary)
                         for row in spill.rows())
        writer.add_aliases(spill.alias_rows())
        writer.add_vocab(spill.words())
        common: list[int] = []
        for h, f, p, keep in spill.postings(cap):
            # The one place where the postings the cap drops (h, f, p)[~keep] are known.
            summary.fingerprints_dropped += int((~keep).sum())
            # Kept in ``capped``: an update rebuilds each file's full postings from fp and capped.
            writer.add_fingerprints(zip(h[~keep].tolist(), f[~keep].tolist(), p[~keep].tolist()), "capped")
            h, f, p = h[keep], f[keep], p[keep]
            summary.fingerprints += len(h)
            writer.add_fingerprints(zip(h.tolist(), f.tolist(), p.tolist()))
            if base_hashes is not None and len(base_hashes):
                common.extend(shared(h, base_hashes).tolist())
        summary.base_common = len(common)
        writer.add_common(common)
        names = common_names(spill.names_by_project(), params)
        order = sorted(names)
        writer.add_common_names(i << 16 | c for i, fam in enumerate(order) for c in names[fam])
        corpus = hashlib.sha256()
        for name, sha1 in spill.corpus_entries():
            corpus.update(f"{name}\0{sha1}\n".encode())
        writer.set_meta(index_meta(params, corpus.hexdigest(), order, cap, [_place(r) for r in roots],
                                   [_place(b) for b in base], summary, extra_meta))
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    summary.languages = dict(Counter(summary.languages).most_common())


def _place(root: Path) -> dict[str, str]:
    return {"name": root.resolve().name, "path": str(root.resolve())}


def index_meta(params: BuildParams, corpus_sha256: str, name_families: list[str], cap: int,
               roots: list[dict[str, str]], base: list[dict[str, str]], summary: BuildSummary,
               extra_meta: dict[str, Any] | None) -> dict[str, Any]:
    """An index's meta (all but ``integrity``): the one place it is composed, for a build and
    for an update that adds roots in place (``engine/delta.py``)."""
    return {
        "magic": MAGIC,
        "schema_version": SCHEMA_VERSION,
        "params": asdict(params),
        "grammars": grammar_versions(),
        "grammar_signatures": {lang: grammar_signature(lang) for lang in LANGUAGES},
        "corpus_sha256": corpus_sha256,
        "name_families": name_families,
        "lang_files": dict(summary.languages),
        "df_cap_files": cap,
        "roots": roots,
        "base": base,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "generation": 1,  # an update (engine/update.py) gives its parent's + 1 in extra_meta
        "parent_corpus_sha256": None,
        "skipped_by_root": summary.skipped_by_root,
        "summary": {"files": summary.files, "duplicates": summary.duplicates,
                    "skipped": summary.skipped, "licenses": summary.licenses,
                    "scancode": summary.scancode},
        "projects": summary.projects,
        **{k: v for k, v in (extra_meta or {}).items() if k not in ("magic", "schema_version")},
    }


def _file_row(row: tuple, family: int, signature: np.ndarray,
              license_of: dict[str, tuple[str | None, LicenseEvidence]], summary: BuildSummary) -> tuple:
    """A ``files`` row from a spilled one (its license added), counted in ``summary``: the one
    place a file row is written."""
    i, name, lang, size, sha1, ntokens, tokens, lines, names, text = row
    lic, ev = license_of.get(name) or (None, None)
    evidence = json.dumps(ev.to_dict(), separators=(",", ":")) if ev else None
    if ev is not None:
        proj = summary.projects.setdefault(name.split("/", 1)[0], {"license": None, "evidence": None, "decided": {}})
        proj["decided"][ev.kind] = proj["decided"].get(ev.kind, 0) + 1
    summary.files += 1
    summary.bytes += size
    summary.tokens += ntokens
    summary.languages[lang] = summary.languages.get(lang, 0) + 1
    key = lic or "unknown"
    summary.licenses[key] = summary.licenses.get(key, 0) + 1
    return (i, name, lang, lic, evidence, size, sha1, ntokens, family, tokens, lines, names, text,
            np.asarray(signature, "<u4").tobytes())
