"""Per-file license detection at index-build time.

Each file gets an SPDX expression from the first source below that yields one:

1. ``spdx-tag``: its own ``SPDX-License-Identifier:`` tag. The author's explicit,
   machine-readable statement; exact and nearly free to read.
2. ``notice``: its own leading license notice (first comment blocks). Text on *this*
   file overrides anything inherited, so a vendored MIT file in a GPL tree is MIT.
3. ``debian-copyright``, specific stanza: a ``debian/copyright`` (DEP-5) ``Files:``
   pattern other than ``*`` (last match wins). The packager audited exactly these
   paths, typically the vendored or exceptional ones, so it beats a directory license.
4. ``dir-license`` / ``root-license``: the nearest LICENSE/LICENCE/COPYING/COPYRIGHT
   file in the file's directory or a parent up to root. Upstream's own statement;
   the nearest is the most specific (vendored directories ship their own). Several
   in one directory are ANDed; plain LICENSE/COPYING(.txt) hide suffixed variants.
5. ``debian-copyright`` ``Files: *``: the packager's summary for everything else,
   weaker than a license file upstream put in the tree.
6. ``none``.

Notices and license files are matched by scancode-toolkit when it is installed,
else by a small phrase matcher (``scancode_available()`` tells which). Scancode is
slow per call (~1 s) and loads a ~1 GB index, so it runs in worker processes, once
per *distinct* normalized notice (most files of a project share a header), and its
answers are cached on disk keyed by notice hash and scancode version. The workers
stay up for the next root; ``shutdown_scancode_workers()`` frees them.
``LICSCAN_LICENSE_ENGINE=light`` forces the phrase matcher (e.g. for fast tests).
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import logging
import multiprocessing
import os
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from licscan.licenses_debian import DebianMatch, Stanza, match_dep5, parse_dep5
from licscan.licenses_text import (
    HEAD_BYTES,
    LICENSE_FILE_BYTES,
    LIGHT_ENGINE,
    extract_notice,
    find_spdx_tag,
    join_and,
    license_file_text,
    light_match,
    normalize_expression,
    read_text,
    text_key,
)

log = logging.getLogger(__name__)

Method = Literal["spdx-tag", "notice", "debian-copyright", "dir-license", "root-license", "none"]
ENGINE_ENV = "LICSCAN_LICENSE_ENGINE"
"""``light`` forces the phrase matcher (fast tests, small machines); ``scancode`` requires scancode."""
SCANCODE_DEADLINE_S = 60.0
CACHE_FILE = "licenses.json"
CACHE_VERSION = 1
"""Bump when notice extraction or the detections -> expression step changes meaning."""
_LICENSE_FILE = re.compile(r"^(licen[cs]e|copying|copyright)([-._][\w.+-]*)?$", re.I)
_PLAIN_LICENSE_FILE = re.compile(r"^(licen[cs]e|copying)(\.(txt|md|rst))?$", re.I)
# Scancode answers that say "some license, see elsewhere" rather than naming one.
_WEAK = {
    "LicenseRef-scancode-unknown-license-reference",
    "LicenseRef-scancode-unknown",
    "LicenseRef-scancode-free-unknown",
    "LicenseRef-scancode-warranty-disclaimer",
}


@dataclass(frozen=True)
class LicenseResult:
    """How one file's license was decided."""

    license: str | None
    method: Method
    source: str | None = None
    """Root-relative path of the LICENSE or debian/copyright file that decided it."""
    engine: str | None = None
    """Matcher that read the notice or license file (``scancode-32.5.0``, ``light-1``)."""


def scancode_available() -> bool:
    """Whether scancode-toolkit is installed (checked without importing it)."""
    return importlib.util.find_spec("licensedcode") is not None


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "licscan"


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


# -- persistent cache ----------------------------------------------------------------------


class _Cache:
    """``{engine:key: expression}`` in one JSON file, replaced atomically on save."""

    def __init__(self, cache_dir: Path) -> None:
        self.path = cache_dir / CACHE_FILE
        self.entries: dict[str, str | None] = self._load()
        self.added: dict[str, str | None] = {}

    def _load(self) -> dict[str, str | None]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            ok = isinstance(data, dict) and data.get("version") == CACHE_VERSION
            entries = data.get("entries", {}) if ok else {}
            return {k: v for k, v in entries.items() if v is None or isinstance(v, str)}
        except (OSError, ValueError):
            return {}  # missing or corrupt cache only costs a re-detection

    def get(self, key: str) -> tuple[bool, str | None]:
        return (key in self.entries, self.entries.get(key))

    def put(self, key: str, value: str | None) -> None:
        self.entries[key] = self.added[key] = value

    def save(self) -> None:
        if not self.added:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            merged = self._load()  # keep what a concurrent build wrote meanwhile
            merged.update(self.added)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".licenses-", suffix=".tmp")
        except OSError as e:
            log.warning("license cache not saved to %s: %s", self.path, e)
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"version": CACHE_VERSION, "entries": merged}, fh, separators=(",", ":"))
            os.replace(tmp, self.path)
            self.added = {}
        except OSError as e:
            log.warning("license cache not saved to %s: %s", self.path, e)
            Path(tmp).unlink(missing_ok=True)


# -- scancode workers ---------------------------------------------------------------------

_INDEX: Any = None


def _worker_init() -> None:
    """Load scancode's index once per worker process (6-9 s, ~1 GB)."""
    global _INDEX
    from licensedcode.cache import get_index

    _INDEX = get_index()


def _worker_detect(text: str) -> list[str]:
    """SPDX expressions of scancode's detections in `text` (runs in a worker)."""
    from licensedcode.detection import detect_licenses as sc_detect_licenses

    dets = sc_detect_licenses(index=_INDEX, query_string=text, deadline=time.time() + SCANCODE_DEADLINE_S)
    return [d.license_expression_spdx for d in dets if d.license_expression_spdx]


def combine_detections(exprs: list[str]) -> str | None:
    """One expression for a notice: detections ANDed, deduped, "see elsewhere" parts dropped."""
    strong: list[str] = []
    for e in exprs:
        if e and "(" not in e and " OR " not in e:
            e = " AND ".join(p for p in e.split(" AND ") if p not in _WEAK)
        if e and e not in _WEAK:
            strong.append(normalize_expression(e))
    return join_and(strong)


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
    _POOL, _POOL_SIZE = ProcessPoolExecutor(want, mp_context=ctx, initializer=_worker_init), want
    return _POOL


def shutdown_scancode_workers() -> None:
    """Stop the scancode workers (~1 GB each); call once the build has detected all roots."""
    global _POOL
    if _POOL is not None:
        _POOL.shutdown(wait=True, cancel_futures=True)
        _POOL = None


atexit.register(shutdown_scancode_workers)


def _run_scancode(todo: dict[str, str], workers: int, on_done: Callable[[str, str | None, bool], None]) -> None:
    """Detect every text of `todo` in the worker pool; raises BrokenProcessPool if scancode dies."""
    pool = _scancode_pool(workers, len(todo))
    try:
        # Longest first so a big license file does not end up alone at the tail.
        futs = {pool.submit(_worker_detect, text): key
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
        shutdown_scancode_workers()  # broken or interrupted: drop queued work and the workers
        raise


def _detect_texts(
    texts: dict[str, str], engine: str, workers: int, cache: _Cache,
    on_done: Callable[[str, str | None, str], None],
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
                _run_scancode(todo, workers, done)
            except (BrokenProcessPool, ImportError, OSError, RuntimeError) as e:
                log.warning("scancode unusable (%s); falling back to the light matcher", e)
                for key in todo.keys() - out.keys():
                    done(key, light_match(todo[key]), eng=LIGHT_ENGINE)
    finally:
        cache.save()  # keep finished work even when interrupted
    return out


# -- tree context: license files and debian/copyright ---------------------------------------


class _Tree:
    """Per-directory context of the root, computed lazily and memoized per directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.found: dict[str, tuple[str | None, str]] = {}
        """Detection (expression, engine) per text key, filled in after matching."""
        self.file_keys: dict[str, str | None] = {}
        self._license_files: dict[str, list[str]] = {}
        self._dep5: dict[str, tuple[str, list[Stanza]] | None] = {}
        self._dir_license: dict[str, LicenseResult | None] = {}
        self._registered: set[str] = set()

    def license_files(self, d: str) -> list[str]:
        """Root-relative license files directly in dir `d` ('' is root)."""
        if d not in self._license_files:
            try:
                names = sorted(e.name for e in os.scandir(os.path.join(self.root, d)) if e.is_file())
            except OSError:
                names = []
            debian = d == "debian" or d.endswith("/debian")
            cands = [n for n in names if _LICENSE_FILE.match(n) and not (debian and n == "copyright")]
            plain = [n for n in cands if _PLAIN_LICENSE_FILE.match(n)]
            # LICENSE beats LICENSE-THIRD-PARTY & co.; suffixed files alone are all used.
            self._license_files[d] = [f"{d}/{n}" if d else n for n in plain or cands]
        return self._license_files[d]

    def register_license_files(self, d: str, texts: dict[str, str]) -> None:
        """Queue the license files of `d` and its parents for matching."""
        while d not in self._registered:
            self._registered.add(d)  # its parents are registered too, or are about to be
            for lf in self.license_files(d):
                if lf not in self.file_keys:
                    body = read_text(os.path.join(self.root, lf), LICENSE_FILE_BYTES)
                    body = license_file_text(body) if body else None
                    self.file_keys[lf] = key = text_key(body) if body else None
                    if key and body:
                        texts.setdefault(key, body)
            if not d:
                return
            d = _parent(d)

    def dir_license(self, d: str) -> LicenseResult | None:
        """License of the nearest license file(s) in `d` or a parent."""
        if d not in self._dir_license:
            hits = [(lf, self.found[k]) for lf in self.license_files(d)
                    if (k := self.file_keys.get(lf)) and k in self.found and self.found[k][0]]
            expr = join_and([e for _, (e, _) in hits if e])
            if expr:
                method: Method = "root-license" if d == "" else "dir-license"
                self._dir_license[d] = LicenseResult(expr, method, hits[0][0], hits[0][1][1])
            else:
                self._dir_license[d] = self.dir_license(_parent(d)) if d else None
        return self._dir_license[d]

    def dep5(self, d: str) -> tuple[str, list[Stanza]] | None:
        """(package dir, stanzas) of the nearest machine-readable debian/copyright."""
        if d not in self._dep5:
            text = read_text(os.path.join(self.root, d, "debian", "copyright"), 1 << 20)
            stanzas = parse_dep5(text) if text else None
            self._dep5[d] = (d, stanzas) if stanzas is not None else self.dep5(_parent(d)) if d else None
        return self._dep5[d]

    def fallback(self, rel: str) -> LicenseResult:
        """Inherited license of a file without its own: debian stanza, license file, ``Files: *``."""
        deb: DebianMatch | None = None
        pkg = self.dep5(_parent(rel))
        if pkg is not None:
            d, stanzas = pkg
            deb = match_dep5(stanzas, rel[len(d) + 1:] if d else rel)
        src = f"{pkg[0]}/debian/copyright" if pkg and pkg[0] else "debian/copyright"
        if deb is not None and deb.license and not deb.catch_all:
            return LicenseResult(deb.license, "debian-copyright", src)
        inherited = self.dir_license(_parent(rel))
        if inherited is not None:
            return inherited
        if deb is not None and deb.license:
            return LicenseResult(deb.license, "debian-copyright", src)
        return LicenseResult(None, "none")


def _parent(rel: str) -> str:
    return rel.rpartition("/")[0]


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
    tree = _Tree(root)

    for rel in rels:
        head = read_text(os.path.join(root, rel), HEAD_BYTES)
        if head is not None:
            tag = find_spdx_tag(head)
            if tag:
                results[rel] = LicenseResult(tag, "spdx-tag")
                continue
            notice = extract_notice(head, rel)
            if notice:
                key = text_key(notice)
                texts.setdefault(key, notice)
                notice_files.setdefault(key, []).append(rel)
    if progress and results:
        progress(len(results))

    for rel in rels:
        if rel not in results:
            tree.register_license_files(_parent(rel), texts)

    def on_done(key: str, expr: str | None, used: str) -> None:
        # Files whose own notice names a license are final now: report them for the bar.
        if expr is None:
            return
        finished = [r for r in notice_files.get(key, ()) if r not in results]
        for r in finished:
            results[r] = LicenseResult(expr, "notice", engine=used)
        if progress and finished:
            progress(len(finished))

    tree.found = _detect_texts(texts, eng, workers, _Cache(cache_dir or default_cache_dir()), on_done)

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
