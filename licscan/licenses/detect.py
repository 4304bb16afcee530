"""Per-file license detection at index-build time: reading notices and license files.

The order in which a file's license is decided, and the evidence kept for it, are
``resolve.py``'s: (1) its own SPDX tag or header notice, (2) the nearest license file
in its directory or above, read as the project's declaration, (3) the package's
declared license (metadata, debian/copyright, a license file elsewhere, a README's
license section), (4) ``unknown`` with the reason. This module reads the texts.

Notices and license files are matched by scancode-toolkit when it is installed,
else by a small phrase matcher (``scancode_available()`` tells which). Scancode loads
a ~1.4 GB index, so it runs in worker processes, once per *distinct* normalized notice
(most files of a project share a header), and its answers are cached on disk keyed by
notice hash and scancode version. The workers start at the first cache miss, so their
index load overlaps reading the files, and stay up for the next root;
``shutdown_scancode_workers()`` frees them. Two fast paths keep scancode's own answers
(tests and ``bench/licenses.py`` check they are identical): an exact pre-filter of the
rules its approximate matcher ranks (``_RuleFilter``, ~5x less time on notices), and
its hash matcher on a license file's text as written (whole GPL texts in ms, not 1-4 s).
``LICSCAN_LICENSE_ENGINE=light`` forces the phrase matcher (e.g. for fast tests).
"""

from __future__ import annotations

import atexit
import importlib.util
import itertools
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

# LicenseResult and Method are public here.
from licscan.licenses.cache import CACHE_FILE, CACHE_VERSION, Cache, default_cache_dir  # noqa: F401
from licscan.licenses.light import LIGHT_ENGINE, light_match
from licscan.licenses.resolve import LicenseResult, Method, Tree, _parent  # noqa: F401
from licscan.licenses.text import (HEAD_BYTES, combine_detections, comment_lines, extract_notice, find_spdx_tag,
                                   notice_lines, read_text, text_key)
from licscan.model import LicenseEvidence
from licscan.procs import kill_pool, make_pool

log = logging.getLogger(__name__)

ENGINE_ENV = "LICSCAN_LICENSE_ENGINE"
"""``light`` forces the phrase matcher (fast tests, small machines); ``scancode`` requires scancode."""
SCANCODE_DEADLINE_S = 60.0


def scancode_available() -> bool:
    """Whether scancode-toolkit is installed (checked without importing it)."""
    return importlib.util.find_spec("licensedcode") is not None


def _scancode_engine() -> str:
    try:
        return f"scancode-{version('scancode-toolkit')}"
    except PackageNotFoundError:
        return "scancode-unknown"


def _choose_engine(engine: str) -> str:
    if engine == "auto":
        engine = os.environ.get(ENGINE_ENV, "auto").strip().lower() or "auto"
    if engine == "light":
        return LIGHT_ENGINE
    if engine == "scancode" or scancode_available():
        return _scancode_engine()
    return LIGHT_ENGINE


# -- scancode workers ---------------------------------------------------------------------

_INDEX: Any = None
_SEQ_FILTER_VERIFIED = ("32.5.",)
"""scancode versions whose candidate thresholds `_RuleFilter` mirrors (checked by the tests)."""
_EPS = 1e-9


def _worker_init() -> None:
    """Load scancode's index once per worker process (6-9 s, ~1.4 GB) and speed up its seq matcher."""
    global _INDEX
    from licensedcode.cache import get_index

    _INDEX = get_index()
    _use_rule_filter(True)


def _noop() -> None:
    """Submitted to make the pool start its workers (and their index load) right away."""


def _worker_detect(text: str, whole: str | None = None) -> list[str]:
    """SPDX expressions of scancode's detections in `text` (runs in a worker).

    `whole` is a license file as written (`text` minus its copyright lines is the dedup
    form): when it is verbatim one of scancode's license texts, scancode's hash matcher
    names it in milliseconds, where the full matcher takes 1-4 s on the stripped text.
    """
    from licensedcode.detection import detect_licenses as sc_detect_licenses
    from licensedcode.match_hash import MATCH_HASH

    deadline = time.time() + SCANCODE_DEADLINE_S
    if whole:
        dets = list(sc_detect_licenses(index=_INDEX, query_string=whole, approximate=False, deadline=deadline))
        if dets and all(m.matcher == MATCH_HASH for d in dets for m in d.matches):
            return [d.license_expression_spdx for d in dets if d.license_expression_spdx]
    dets = sc_detect_licenses(index=_INDEX, query_string=text, deadline=deadline)
    return [d.license_expression_spdx for d in dets if d.license_expression_spdx]


class _RuleFilter:
    """Exact pre-filter for the rule candidates of scancode's approximate (seq) matcher.

    ``match_set.compute_candidates`` scores all ~37k rules against each query run in
    pure Python (0.3-1.5 s per notice, ~90 % of scancode's time on notices), and
    ``compare_token_sets`` then rejects almost all of them for sharing too few tokens
    with the query. Counting the shared tokens of every rule at once from an inverted
    index (numpy) and passing on only the rules that can meet those same thresholds
    leaves the answer unchanged: thresholds are applied with slack, and scancode
    re-checks every survivor itself.
    """

    def __init__(self, idx: Any) -> None:
        import numpy as np

        self.np, self.idx, self.high = np, idx, idx.len_legalese
        sets = [s if s is not None else () for s in idx.sets_by_rid]  # None: never approx-matched
        self.n = n = len(sets)
        lens = np.fromiter(map(len, sets), np.int64, n)
        tids = np.fromiter(itertools.chain.from_iterable(sets), np.int64, int(lens.sum()))
        order = np.argsort(tids, kind="stable")
        self.rids = np.repeat(np.arange(n, dtype=np.int64), lens)[order]  # posting lists, by token id
        self.starts = np.searchsorted(tids[order], np.arange(int(tids.max(initial=0)) + 2))
        rules = [(r, bool(s)) for r, s in zip(idx.rules_by_rid, sets)]

        def col(get: Callable[[Any], float]) -> Any:
            return np.array([get(r) if ok else np.inf for r, ok in rules], np.float64)

        # The step-1 (unique token set) rejections of compare_token_sets, per rule.
        self.min_high = col(lambda r: max(1, r.get_min_high_matched_length(True)))
        self.min_len = col(lambda r: r.get_min_matched_length(True))
        self.length = col(lambda r: r.get_length(True))
        self.min_cont = col(lambda r: r._minimum_containment or 0)

    def _shared(self, tids: list[int]) -> Any:
        np, last = self.np, len(self.starts) - 2
        parts = [self.rids[self.starts[t]:self.starts[t + 1]] for t in tids if t <= last]
        return np.bincount(np.concatenate(parts), minlength=self.n) if parts else np.zeros(self.n, np.int64)

    def survivors(self, query_run: Any, matchable_rids: Any, high_resemblance: bool, threshold: float) -> set[int]:
        """Rule ids that could pass step 1 of compute_candidates (a superset of those that do)."""
        qset = {t for t in query_run.matchable_tokens() if t != -1}
        qhigh = [t for t in qset if t < self.high]
        if not qhigh:
            return set()  # no legalese token: every rule fails the high-intersection test
        high, shared = self._shared(qhigh), self._shared(list(qset)).astype(self.np.float64)
        ok = (high >= self.min_high) & (shared >= self.min_len)
        ok &= shared >= (self.min_cont - _EPS) * self.length
        if high_resemblance:  # near-duplicate pass: needs resemblance >= threshold too
            ok &= shared >= (threshold - _EPS) * (len(qset) + self.length - shared)
        return {r for r in self.np.flatnonzero(ok).tolist() if r in matchable_rids}


_RULE_FILTER: _RuleFilter | None = None
_ORIG_CANDIDATES: Any = None


def _filtered_candidates(query_run: Any, idx: Any, matchable_rids: Any, top: int = 50,
                         high_resemblance: bool = False, high_resemblance_threshold: float = 0.8,
                         _use_bigrams: bool = False) -> Any:
    """``match_set.compute_candidates`` over the rules `_RuleFilter` lets through."""
    f = _RULE_FILTER
    if f is not None and idx is f.idx:
        matchable_rids = f.survivors(query_run, matchable_rids, high_resemblance, high_resemblance_threshold)
        if not matchable_rids:
            return []
    return _ORIG_CANDIDATES(query_run, idx, matchable_rids, top, high_resemblance, high_resemblance_threshold,
                            _use_bigrams)


def _use_rule_filter(on: bool) -> bool:
    """Install (or remove) the candidate pre-filter for the loaded index; True if active."""
    global _RULE_FILTER, _ORIG_CANDIDATES
    from licensedcode import match_set

    if _ORIG_CANDIDATES is None:
        _ORIG_CANDIDATES = match_set.compute_candidates
    ver = _scancode_engine().removeprefix("scancode-")
    if not on or _INDEX is None or not ver.startswith(_SEQ_FILTER_VERIFIED):
        match_set.compute_candidates, _RULE_FILTER = _ORIG_CANDIDATES, None
        return False
    try:
        if _RULE_FILTER is None or _RULE_FILTER.idx is not _INDEX:
            _RULE_FILTER = _RuleFilter(_INDEX)
    except ImportError:  # numpy comes with scancode, but stay correct without it
        return False
    match_set.compute_candidates = _filtered_candidates
    return True


_POOL: ProcessPoolExecutor | None = None
_POOL_SIZE = 0


def _scancode_pool(workers: int, n_texts: int) -> ProcessPoolExecutor:
    """A live worker pool, reused across calls: each new worker pays the index load again."""
    global _POOL, _POOL_SIZE
    want = max(1, min(workers, n_texts))
    if _POOL is not None and (_POOL_SIZE >= want or n_texts < 50):
        return _POOL
    shutdown_scancode_workers()
    # fork where possible: spawn/forkserver re-import the caller's __main__ in every worker,
    # which breaks (or re-runs) any entry script without an ``if __name__ == "__main__"`` guard.
    # With fork the pool starts all workers at once, before it starts its own threads.
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    # make_pool: the workers die with the build (kill -9 included) and hold none of its stdio.
    _POOL, _POOL_SIZE = make_pool(want, mp_context=ctx, initializer=_worker_init), want
    return _POOL


def shutdown_scancode_workers(kill: bool = False) -> None:
    """Stop the scancode workers (~1 GB each); call once the build has detected all roots.

    ``kill`` (interrupted or broken) terminates them instead of letting running texts finish."""
    global _POOL
    if _POOL is not None:
        pool, _POOL = _POOL, None
        if kill:
            kill_pool(pool)
        else:
            pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_scancode_workers)


def _prestart_scancode(workers: int) -> None:
    """Start the workers now so their index load overlaps reading the files; errors surface later."""
    try:
        _scancode_pool(workers, workers).submit(_noop)
    except (BrokenProcessPool, OSError, RuntimeError) as e:
        log.debug("scancode workers not started early: %s", e)


def _run_scancode(todo: dict[str, str], workers: int, on_done: Callable[[str, str | None, bool], None],
                  whole: dict[str, str]) -> None:
    """Detect every text of `todo` in the worker pool; raises BrokenProcessPool if scancode dies.

    `whole` holds the unstripped text of the keys that are license files.
    """
    pool = _scancode_pool(workers, len(todo))
    try:
        # Longest first so a big license file does not end up alone at the tail.
        futs = {pool.submit(_worker_detect, text, whole.get(key)): key
                for key, text in sorted(todo.items(), key=lambda kv: -len(kv[1]))}
        for fut in as_completed(futs):
            key = futs[fut]
            try:
                on_done(key, combine_detections(fut.result()), True)
            except BrokenProcessPool:
                raise
            except Exception as e:  # one odd text must not sink the build; retry it lightly
                log.warning("scancode failed on a notice (%s); using the light matcher", e)
                on_done(key, light_match(todo[key]), False)
    except BaseException:
        shutdown_scancode_workers(kill=True)  # broken or interrupted: drop queued work and the workers
        raise


def _detect_texts(
    texts: dict[str, str], engine: str, workers: int, cache: Cache,
    on_done: Callable[[str, str | None, str], None], whole: dict[str, str],
) -> dict[str, tuple[str | None, str]]:
    """(expression, engine) per text key, from the cache or the engine; each text runs once."""
    out: dict[str, tuple[str | None, str]] = {}

    def done(key: str, expr: str | None, cacheable: bool = True, eng: str = engine) -> None:
        out[key] = (expr, eng)
        if cacheable:
            cache.put(f"{eng}:{key}", expr)
        on_done(key, expr, eng)

    todo: dict[str, str] = {}
    for key, text in texts.items():
        hit, expr = cache.get(f"{engine}:{key}")
        if hit:
            out[key] = (expr, engine)
            on_done(key, expr, engine)
        else:
            todo[key] = text
    try:
        if todo and engine == LIGHT_ENGINE:
            for key, text in todo.items():
                done(key, light_match(text))
        elif todo:
            try:
                _run_scancode(todo, workers, done, whole)
            except (BrokenProcessPool, ImportError, OSError, RuntimeError) as e:
                log.warning("scancode unusable (%s); falling back to the light matcher", e)
                for key in todo.keys() - out.keys():
                    done(key, light_match(todo[key]), eng=LIGHT_ENGINE)
    finally:
        cache.save()  # keep finished work even when interrupted
    return out


# -- public API ---------------------------------------------------------------------------


def detect_licenses_detailed(
    root: Path,
    rel_paths: Sequence[str],
    *,
    workers: int = 2,
    cache_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
    engine: Literal["auto", "scancode", "light"] = "auto",
) -> dict[str, LicenseResult]:
    """How each file's license was decided (see the module docstring for the order)."""
    root = Path(root)
    rels = list(dict.fromkeys(rel_paths))
    eng = _choose_engine(engine)
    results: dict[str, LicenseResult] = {}
    texts: dict[str, str] = {}
    notice_files: dict[str, list[str]] = {}
    lines: dict[str, tuple[int, int] | None] = {}
    tree = Tree(root)
    cache = Cache(cache_dir or default_cache_dir())
    # Start scancode's workers at the first notice it has to read: their index load
    # (10-12 s) then overlaps reading the rest of the files. Warm builds never start them.
    prestart = eng != LIGHT_ENGINE

    for rel in rels:
        head = read_text(os.path.join(root, rel), HEAD_BYTES)
        if head is not None:
            tag = find_spdx_tag(head)
            if tag:
                at = notice_lines(head)
                results[rel] = LicenseResult(tag, "spdx-tag", rel, None,
                                             LicenseEvidence("notice", rel, at, "SPDX-License-Identifier"))
                continue
            comments = comment_lines(head, rel)
            notice = extract_notice(head, rel, comments)
            if notice:
                key = text_key(notice)
                if prestart and key not in texts and not cache.get(f"{eng}:{key}")[0]:
                    _prestart_scancode(workers)
                    prestart = False
                texts.setdefault(key, notice)
                notice_files.setdefault(key, []).append(rel)
                lines[rel] = notice_lines(head, notice)
    if progress and results:
        progress(len(results))

    for rel in rels:
        if rel not in results:
            tree.register_license_files(_parent(rel), texts)

    def on_done(key: str, expr: str | None, used: str) -> None:
        # Files whose own notice names a license are final now: report them for the bar.
        finished = []
        for r in notice_files.get(key, ()):
            if r not in results and (res := tree.notice(r, expr, texts[key], lines.get(r), used)) is not None:
                results[r] = res
                finished.append(r)
        if progress and finished:
            progress(len(finished))

    # A notice's result needs no license file's (a version left open is decided by the
    # package's metadata, debian/copyright or README), so it is final as soon as it is read.
    tree.found = _detect_texts(texts, eng, workers, cache, on_done, tree.whole)

    rest = [r for r in rels if r not in results]
    for rel in rest:
        results[rel] = tree.fallback(rel)
    if progress and rest:
        progress(len(rest))
    return {rel: results[rel] for rel in rels}


def detect_licenses(
    root: Path,
    rel_paths: Sequence[str],
    *,
    workers: int = 2,
    cache_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, str | None]:
    """SPDX license expression for each file (rel path, '/'-separated, relative to root); None if unknown."""
    detailed = detect_licenses_detailed(root, rel_paths, workers=workers, cache_dir=cache_dir, progress=progress)
    return {rel: res.license for rel, res in detailed.items()}
