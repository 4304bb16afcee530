"""Corpus roots -> index file: discover, tokenize and fingerprint (in worker
processes), detect licenses, drop boilerplate fingerprints, group near-duplicate
files into families, and write everything atomically."""

from __future__ import annotations

import hashlib
import os
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from licscan.engine import fingerprints as fpr
from licscan.files import MAX_BYTES, SourceFile, Skipped, discover, looks_generated, read_text
from licscan.engine.index import MAGIC, SCHEMA_VERSION, IndexWriter
from licscan.languages import LANGUAGES, grammar_signature, grammar_versions
from licscan.model import LicscanError
from licscan.engine.tokens import TokenStream, tokenize

VOCAB_LIMIT = 0xFFFF
"""Token ids are stored as uint16; the rare tokens past the limit share the last id."""


@dataclass(frozen=True)
class BuildParams:
    """Everything that shapes the fingerprints; stored in the index and checked on use."""

    k: int = fpr.K
    w: int = fpr.W
    df_cap: int = 24
    """Fingerprints found in more distinct files than this are boilerplate and dropped."""
    num_perm: int = 64
    family_threshold: float = 0.7
    """Estimated Jaccard above which two files are variants of one source (vendored copies)."""
    min_tokens: int = 20
    max_postings: int = 4
    """Positions kept per fingerprint and file."""
    common_name_files: int = 8
    common_name_projects: int = 4
    """A name or literal code found in at least ``common_name_files`` files of each of
    at least ``common_name_projects`` indexed projects is common (``malloc``,
    ``errno``, ``NULL``): what every program writes, not evidence of origin. Counted
    per project, because a project's own API (busybox's ``bb_perror_msg_and_die``,
    in 75 of its files) is evidence; and with a floor of files, because each 16-bit
    code also stands for a dozen rare names scattered over the corpus."""
    literal_min_chars: int = fpr.LITERAL_MIN_CHARS
    """Also fingerprint k-grams over the text of string literals this long
    (``fingerprints.literal_codes``); 0 turns it off."""
    max_bytes: int = MAX_BYTES
    store_text: bool = False
    """Keep compressed source text in the index (about half its size), so evidence
    can be shown without the corpus tree; otherwise it is read from the tree."""


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
    seconds: float = 0.0
    index_bytes: int = 0
    scancode: bool = False
    base_files: int = 0
    base_common: int = 0
    """Corpus fingerprints that the base code also has."""


@dataclass
class _FileResult:
    name: str
    lang: str
    size: int
    sha1: str
    uniq: list[str]
    inverse: np.ndarray
    line_deltas: bytes
    names: bytes
    hashes: np.ndarray
    positions: np.ndarray
    signature: np.ndarray
    text: bytes | None
    fallback: bool


def _read_tokens(job: tuple[str, str, str, BuildParams]) -> tuple[str, TokenStream] | tuple[str, str]:
    """(text, tokens) of one file, or (name, why it is skipped)."""
    path, name, lang, params = job
    text, reason = read_text(Path(path), params.max_bytes)
    if text is None:
        return name, reason
    why = looks_generated(text)
    if why:
        return name, why
    try:
        ts = tokenize(text, lang)
    except (ValueError, RecursionError, MemoryError) as e:  # hostile input, not a bug in the corpus
        return name, f"untokenizable ({e.__class__.__name__})"
    if len(ts) < params.min_tokens:
        return name, "too few tokens"
    return text, ts


def _process_base(job: tuple[str, str, str, BuildParams]) -> np.ndarray | tuple[str, str]:
    """Every distinct k-gram hash of one base file (runs in a worker process).

    Not winnowed: a scan looks up all of its k-grams, so whichever of them the
    corpus kept must be found here if the base has it anywhere."""
    got = _read_tokens(job)
    if isinstance(got[1], str):
        return got  # type: ignore[return-value]
    codes, dist = fpr.token_codes(got[1])
    h = fpr.kgram_hashes_np(np.asarray(codes, np.uint32), np.asarray(dist, np.int64), job[3].k)
    lit = _literal_kgrams(got[1], codes, dist, job[3])
    if lit is not None:
        h = np.concatenate((h, lit[0][~lit[1]]))
    return np.unique(h)


def _literal_kgrams(ts: TokenStream, codes: list[int], dist: list[int],
                    params: BuildParams) -> tuple[np.ndarray, np.ndarray] | None:
    """Hashes of the k-grams over ``fingerprints.literal_codes``, and a mask of those
    not worth keeping (no long literal in them, or repetitive), or None."""
    lit = fpr.literal_codes(ts, codes, params.literal_min_chars) if params.literal_min_chars else None
    if lit is None:
        return None
    lc = np.asarray(lit[0], dtype=np.uint32)
    changed = np.concatenate(([0], np.cumsum(lc != np.asarray(codes, dtype=np.uint32))))
    held = changed[params.k:] - changed[:len(changed) - params.k] > 0
    lh = fpr.kgram_hashes_np(lc, np.asarray(dist, dtype=np.int64), params.k)
    return lh, ~held | fpr.low_information(lc, params.k)


def _winnowed(h: np.ndarray, skip: np.ndarray, w: int) -> np.ndarray:
    """Winnowed positions of ``h``, none of them where ``skip`` is set."""
    pos = fpr.winnow(np.where(skip, np.iinfo(np.int64).max, h), w)
    return pos[~skip[pos]]


def _process(job: tuple[str, str, str, BuildParams]) -> _FileResult | tuple[str, str]:
    """Tokenize and fingerprint one file (runs in a worker process)."""
    _, name, lang, params = job
    got = _read_tokens(job)
    if isinstance(got[1], str):
        return got  # type: ignore[return-value]
    text, ts = got
    codes, dist = fpr.token_codes(ts)
    c = np.asarray(codes, dtype=np.uint32)
    h = fpr.kgram_hashes_np(c, np.asarray(dist, dtype=np.int64), params.k)
    low = fpr.low_information(c, params.k)
    pos = _winnowed(h, low, params.w)
    hsel = h[pos]
    lit = _literal_kgrams(ts, codes, dist, params)
    if lit is not None:
        # A second stream, winnowed on its own: see fingerprints.literal_codes.
        lh, skip = lit
        lpos = _winnowed(lh, skip, params.w)
        hsel, pos = np.concatenate((hsel, lh[lpos])), np.concatenate((pos, lpos))
    # A few postings per (fingerprint, file): files repeat their own structure
    # (similar functions side by side), and a copy of the third one must not be
    # chained to the first. More than a few adds size, not evidence.
    order = np.lexsort((pos, hsel))
    hsel, pos = hsel[order], pos[order]
    idx = np.arange(len(hsel))
    starts = np.r_[True, hsel[1:] != hsel[:-1]] if len(hsel) else np.zeros(0, bool)
    rank = idx - np.maximum.accumulate(np.where(starts, idx, 0))
    keep = rank < params.max_postings
    hs, positions = hsel[keep], pos[keep]
    a, b = fpr.minhash_permutations(params.num_perm)
    sig = fpr.minhash_signature(np.unique(h).astype(np.uint32), a, b)
    uniq, inverse = np.unique(np.asarray(ts.norm, dtype=object), return_inverse=True)
    lines = np.asarray(ts.lines, dtype=np.uint32)
    deltas = np.diff(lines, prepend=np.uint32(0)).astype(np.uint32)
    raw = text.encode("utf-8", "surrogatepass")
    return _FileResult(
        name=name, lang=lang, size=len(raw), sha1=hashlib.sha1(raw).hexdigest(),
        uniq=[str(u) for u in uniq], inverse=inverse.astype(np.uint32),
        line_deltas=zlib.compress(deltas.tobytes(), 6),
        names=zlib.compress(np.asarray([c for c in fpr.name_codes(ts) if c >= 0], np.uint16).tobytes(), 6),
        hashes=hs, positions=positions.astype(np.int32), signature=sig,
        text=zlib.compress(raw, 6) if params.store_text else None, fallback=ts.fallback,
    )


def common_names(files: Sequence[tuple[str, bytes]], params: BuildParams) -> list[int]:
    """Name codes (``fingerprints.name_codes``) that many projects use: ``files`` are
    (source path, stored names) pairs, and a path's first part is its project."""
    per: dict[str, np.ndarray] = {}
    for path, blob in files:
        df = per.setdefault(path.split("/", 1)[0], np.zeros(1 << 16, np.int32))
        df[np.unique(np.frombuffer(zlib.decompress(blob), np.uint16))] += 1
    projects = np.zeros(1 << 16, np.int32)
    for df in per.values():
        projects += df >= params.common_name_files
    return np.flatnonzero(projects >= params.common_name_projects).tolist()


def _families(sigs: list[np.ndarray], params: BuildParams) -> list[int]:
    """Family id per file: connected groups of files whose MinHash signatures say
    they are near-identical (datasketch LSH; one pass, then union-find)."""
    from datasketch import LeanMinHash, MinHashLSH

    parent = list(range(len(sigs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    lsh = MinHashLSH(threshold=params.family_threshold, num_perm=params.num_perm)
    lean = [LeanMinHash(seed=1, hashvalues=s, scheme="affine32") for s in sigs]
    with lsh.insertion_session() as session:
        for i, m in enumerate(lean):
            session.insert(i, m, check_duplication=False)
    for i, m in enumerate(lean):
        for j in lsh.query(m):
            if j != i and m.jaccard(lean[j]) >= params.family_threshold:
                parent[root(j)] = root(i)
    return [root(i) for i in range(len(sigs))]


def _jobs(roots: Sequence[Path], params: BuildParams, summary: BuildSummary,
          per_root: dict[Path, list[str]]) -> Iterator[tuple[str, str, str, BuildParams]]:
    for root in roots:
        names = per_root.setdefault(root, [])
        for item in discover(root):
            if isinstance(item, Skipped):
                summary.skipped[item.reason] = summary.skipped.get(item.reason, 0) + 1
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
) -> BuildSummary:
    """Build an index of every code file under ``roots`` into ``out`` (atomically).

    ``license_overrides`` maps a root's name to the SPDX expression of all its files
    (no detection for that root); ``extra_meta`` adds keys to the index meta (a
    manifest's ``sources``). ``base`` trees are code known not to be copyleft
    (MOSS's "base files"): they are not indexed, but every corpus fingerprint they
    also contain is marked common, so it is no longer evidence specific to a source."""
    t0 = time.perf_counter()
    params = params or BuildParams()
    roots = [Path(r) for r in roots]
    base = [Path(b) for b in base]
    for r in [*roots, *base]:
        if not r.exists():
            raise LicscanError(f"corpus root not found: {r}")
    names = [r.resolve().name for r in roots]
    if len(set(names)) != len(names):
        raise LicscanError("two corpus roots share a base name; source paths would collide")
    out = Path(out)
    workers = workers or os.cpu_count() or 1
    summary = BuildSummary()
    per_root: dict[Path, list[str]] = {}
    jobs = list(_jobs(roots, params, summary, per_root))
    ui = _Progress(progress)
    results: list[_FileResult] = []
    with ui:
        task = ui.add("tokenizing", len(jobs))
        for r in _run(jobs, workers):
            if isinstance(r, tuple):
                summary.skipped[r[1]] = summary.skipped.get(r[1], 0) + 1
            else:
                results.append(r)
            ui.advance(task)
        base_hashes = _base_hashes(base, params, workers, ui, summary)
        overrides = license_overrides or {}
        detect = [r for r in roots if r.resolve().name not in overrides]
        license_of = _detect_licenses(detect, per_root, results, workers, ui, summary) if licenses else {}
        for r in results:
            if r.name.split("/", 1)[0] in overrides:
                license_of[r.name] = overrides[r.name.split("/", 1)[0]]
        ui.add("writing index", None)
        _write(out, roots, results, license_of, params, summary, extra_meta, base, base_hashes)
    summary.seconds = time.perf_counter() - t0
    summary.index_bytes = out.stat().st_size
    return summary


def _run(jobs: list[tuple[str, str, str, BuildParams]], workers: int,
         fn: Callable[[tuple[str, str, str, BuildParams]], Any] = _process) -> Iterator[Any]:
    if workers <= 1 or len(jobs) < 8:
        yield from map(fn, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(fn, jobs, chunksize=8)


def _base_hashes(base: Sequence[Path], params: BuildParams, workers: int, ui: _Progress,
                 summary: BuildSummary) -> np.ndarray:
    """Distinct k-gram hashes of all base trees."""
    if not base:
        return np.zeros(0, np.int64)
    jobs = list(_jobs(base, params, BuildSummary(), {}))
    task = ui.add("base code", len(jobs))
    parts = []
    for r in _run(jobs, workers, _process_base):
        if not isinstance(r, tuple):
            parts.append(r)
            summary.base_files += 1
        ui.advance(task)
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


def _detect_licenses(roots: Sequence[Path], per_root: dict[Path, list[str]],
                     results: list[_FileResult], workers: int, ui: _Progress,
                     summary: BuildSummary) -> dict[str, str | None]:
    from licscan.licenses import detect as licenses

    summary.scancode = licenses.scancode_available()
    kept = {r.name for r in results}
    out: dict[str, str | None] = {}
    for root in roots:
        base = root.resolve().name
        rels = [n[len(base) + 1:] for n in per_root.get(root, []) if n in kept]
        if root.is_file():
            rels = [root.name] if kept else []
            lic_root = root.parent
        else:
            lic_root = root
        task = ui.add(f"licenses: {base}", len(rels))
        found = licenses.detect_licenses(lic_root, rels, workers=workers,
                                         progress=lambda n, t=task: ui.advance(t, n))
        for rel, spdx in found.items():
            out[f"{base}/{rel}" if not root.is_file() else base] = spdx
    # The scancode workers hold ~1.4 GB each; the pool spans all roots, not the build.
    licenses.shutdown_scancode_workers()
    return out


def _write(out: Path, roots: Sequence[Path], results: list[_FileResult],
           license_of: dict[str, str | None], params: BuildParams, summary: BuildSummary,
           extra_meta: dict[str, Any] | None = None, base: Sequence[Path] = (),
           base_hashes: np.ndarray | None = None) -> None:
    vocab: dict[str, int] = {}
    by_sha: dict[str, int] = {}
    aliases: list[tuple[int, str]] = []
    kept: list[_FileResult] = []
    for r in results:
        if r.sha1 in by_sha:
            aliases.append((by_sha[r.sha1], r.name))
            continue
        by_sha[r.sha1] = len(kept)
        kept.append(r)
    summary.duplicates = len(aliases)
    families = _families([r.signature for r in kept], params) if kept else []
    summary.families = len(set(families))

    all_h = np.concatenate([r.hashes for r in kept]) if kept else np.zeros(0, np.int64)
    all_f = np.concatenate([np.full(len(r.hashes), i, np.int64) for i, r in enumerate(kept)]) \
        if kept else np.zeros(0, np.int64)
    all_p = np.concatenate([r.positions for r in kept]) if kept else np.zeros(0, np.int32)
    # Document frequency counts files, not postings.
    pairs = np.unique(all_h * (len(kept) + 1) + all_f)
    uh, df = np.unique(pairs // (len(kept) + 1), return_counts=True)
    keep = df[np.searchsorted(uh, all_h)] <= params.df_cap
    summary.fingerprints_dropped = int((~keep).sum())
    all_h, all_f, all_p = all_h[keep], all_f[keep], all_p[keep]
    order = np.lexsort((all_p, all_f, all_h))
    all_h, all_f, all_p = all_h[order], all_f[order], all_p[order]
    summary.fingerprints = len(all_h)
    common = np.intersect1d(all_h, base_hashes) if base_hashes is not None and len(base_hashes) else []
    summary.base_common = len(common)

    writer = IndexWriter(out)
    try:
        rows = []
        for i, r in enumerate(kept):
            ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in r.uniq), np.int64, len(r.uniq))
            tok = np.minimum(ids[r.inverse], VOCAB_LIMIT).astype(np.uint16)
            lic = license_of.get(r.name)
            rows.append((i, r.name, r.lang, lic, None, r.size, r.sha1, len(r.inverse),
                         int(families[i]), zlib.compress(tok.tobytes(), 6), r.line_deltas, r.names, r.text))
            summary.files += 1
            summary.bytes += r.size
            summary.tokens += len(r.inverse)
            summary.languages[r.lang] = summary.languages.get(r.lang, 0) + 1
            key = lic or "unknown"
            summary.licenses[key] = summary.licenses.get(key, 0) + 1
        writer.add_files(rows)
        writer.add_aliases(aliases)
        words = sorted(vocab, key=vocab.__getitem__)[:VOCAB_LIMIT + 1]
        writer.add_vocab(words)
        writer.add_fingerprints(zip(all_h.tolist(), all_f.tolist(), all_p.tolist()))
        writer.add_common(int(h) for h in common)
        writer.add_common_names(common_names([(r.name, r.names) for r in kept], params))
        corpus = hashlib.sha256()
        for r in sorted(results, key=lambda r: r.name):
            corpus.update(f"{r.name}\0{r.sha1}\n".encode())
        writer.set_meta({
            "magic": MAGIC,
            "schema_version": SCHEMA_VERSION,
            "params": asdict(params),
            "grammars": grammar_versions(),
            "grammar_signatures": {lang: grammar_signature(lang) for lang in LANGUAGES},
            "corpus_sha256": corpus.hexdigest(),
            "roots": [{"name": r.resolve().name, "path": str(r.resolve())} for r in roots],
            "base": [{"name": b.resolve().name, "path": str(b.resolve())} for b in base],
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "summary": {"files": summary.files, "duplicates": summary.duplicates,
                        "skipped": summary.skipped, "licenses": summary.licenses,
                        "scancode": summary.scancode},
            **{k: v for k, v in (extra_meta or {}).items() if k not in ("magic", "schema_version")},
        })
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    summary.languages = dict(Counter(summary.languages).most_common())


class _Progress:
    """Rich progress bars on a terminal; silent otherwise (CI, pre-commit, tests)."""

    def __init__(self, enabled: bool) -> None:
        self.bar: Any = None
        if enabled:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                                       TextColumn, TimeElapsedColumn)

            self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), TimeElapsedColumn(), transient=False)

    def __enter__(self) -> _Progress:
        if self.bar:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar:
            self.bar.__exit__(*exc)

    def add(self, name: str, total: int | None) -> Any:
        return self.bar.add_task(name, total=total) if self.bar else None

    def advance(self, task: Any, n: int = 1) -> None:
        if self.bar:
            self.bar.advance(task, n)
