"""Fetch the sources of a manifest into a cache, verified and safely extracted.

Cache layout (``$LICSCAN_CACHE``, else ``$XDG_CACHE_HOME/licscan/corpora``, else
``~/.cache/licscan/corpora``)::

    <kind>/<name>-<key>/<name>/      the extracted tree, indexed as <name>/<path>
    <kind>/<name>-<key>/source.json  what was fetched: spec, version, sha256
    .debian/                         licscan.corpus.debian's private apt state

``key`` hashes what pins the source (kind, spec, version), so an entry is complete
or absent: it is assembled in a temporary directory and renamed into place, and a
second fetch of the same pin is a no-op once ``source.json`` confirms the pin. A failed
download or a sha256 mismatch raises before anything is renamed, so the previous entry
stays intact; what a killed run left is removed by the next (``licscan.corpus.leftovers``).
Downloads go through the machine's own clients (apt-get, pip, npm, git).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from licscan.corpus.manifest import (Manifest, Source, is_manifest, load_manifest, looks_like_name,
                                     shipped_manifest, shipped_manifests)
from licscan.corpus.extract import Limits, extract_archive
from licscan.corpus.leftovers import old_name, sweep, tmp_prefix
from licscan.model import LicscanError

Runner = Callable[..., Any]
META = "source.json"
_VCS_IGNORE = shutil.ignore_patterns(".git", ".hg", ".svn", "__pycache__", "node_modules")


def _copy_ignore(directory: str, names: list[str]) -> set[str]:
    """What a path source's copy leaves out: VCS/cache dirs, and anything but directories,
    regular files and symlinks (copied as links): reading a device or FIFO never ends."""
    skip = set(_VCS_IGNORE(directory, names))
    for n in names:
        try:
            mode = os.lstat(os.path.join(directory, n)).st_mode
        except OSError:
            continue
        if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            skip.add(n)
    return skip


def _regular(src: Source, local: Path) -> None:
    """A path source is a regular file or a directory: `/dev/zero` would be hashed forever
    and a FIFO blocks its reader until someone writes."""
    if not local.exists():
        raise LicscanError(f"{src.label()}: no such file or directory: {local}")
    if not (local.is_dir() or local.is_file()):
        raise LicscanError(f"{src.label()}: not a regular file or directory: {local}")


def cache_dir() -> Path:
    """Where fetched corpora live (XDG cache directory)."""
    env = os.environ.get("LICSCAN_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "licscan" / "corpora"


@dataclass
class Fetched:
    source: Source
    root: Path
    """The tree to index; its directory name is the source's name."""
    cached: bool
    """True when nothing was downloaded (already in the cache, or a local directory)."""
    sha256: str | None = None
    """Digest of what was downloaded (.dsc or archive), recorded in the index."""


def sha256_file(path: Path) -> str:
    """SHA-256 of a regular file; anything else (a device, a FIFO) is refused, not read forever.

    O_NONBLOCK keeps the open itself from blocking on a FIFO; it changes nothing for a file."""
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LicscanError(f"not a regular file: {path}")
    with os.fdopen(fd, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _verify(src: Source, path: Path) -> str:
    digest = sha256_file(path)
    if src.sha256 and digest != src.sha256:
        raise LicscanError(f"{src.label()}: sha256 mismatch for {path.name}: expected {src.sha256}, "
                           f"got {digest}; the cached copy (if any) is kept")
    return digest


def _run(runner: Runner, cmd: list[str], src: Source, *, cwd: Path | None = None) -> Any:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}  # never hang on a credentials prompt
    try:
        res = runner(cmd, cwd=str(cwd) if cwd else None, capture_output=True, text=True,
                     stdin=subprocess.DEVNULL, env=env)
    except FileNotFoundError:
        raise LicscanError(f"{src.label()}: command not found: {cmd[0]}") from None
    if res.returncode != 0:
        lines = [ln.strip() for ln in f"{res.stderr or ''}\n{res.stdout or ''}".splitlines() if ln.strip()]
        errs = [ln for ln in lines if ln.lower().startswith(("e:", "error", "fatal", "npm err"))]
        detail = (errs or lines or ["no output"])[0][:300]
        raise LicscanError(f"{src.label()}: {' '.join(cmd[:3])} failed (exit {res.returncode}): {detail}")
    return res


def _key(src: Source) -> str:
    ident = json.dumps([src.kind, src.spec, src.version], separators=(",", ":"))
    return hashlib.sha256(ident.encode()).hexdigest()[:12]


def entry_dir(src: Source, cache: Path) -> Path:
    return cache / src.kind / f"{src.name}-{_key(src)}"


def _read_meta(entry: Path) -> dict[str, Any] | None:
    try:
        return json.loads((entry / META).read_text())
    except (OSError, ValueError):
        return None


def _tree_stamp(path: Path) -> str:
    """Cheap change detector for a local directory or archive: paths, sizes, mtimes."""
    h = hashlib.sha256()
    skip = {".git", ".hg", ".svn", "__pycache__", "node_modules"}
    items = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and not skip & set(p.relative_to(path).parts))
    for p in items:
        st = p.stat()
        h.update(f"{p.relative_to(path) if p != path else p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def fetch_source(src: Source, cache: Path | None = None, *, runner: Runner = subprocess.run,
                 force: bool = False, limits: Limits | None = None,
                 on_start: Callable[[Source], None] | None = None) -> Fetched:
    """Fetch one source unless the cache already holds it; return where its tree is.

    ``on_start`` is called only when something is actually fetched."""
    cache = Path(cache) if cache else cache_dir()
    if src.kind == "path":
        local = Path(src.spec)
        _regular(src, local)
        if local.is_dir() and src.sha256:
            raise LicscanError(f"{src.label()}: `sha256` applies to archives, not directories")
        if local.is_dir() and local.resolve().name == src.name:
            return Fetched(src, local, cached=True)  # indexed in place: nothing to copy
    entry = entry_dir(src, cache)
    meta = _read_meta(entry)
    stamp = _tree_stamp(Path(src.spec)) if src.kind == "path" else None
    if not force and _complete(entry, src, meta, stamp):
        return Fetched(src, entry / src.name, cached=True, sha256=(meta or {}).get("sha256"))
    if on_start:
        on_start(src)
    entry.parent.mkdir(parents=True, exist_ok=True)
    sweep(entry.parent)  # what killed runs left: never counted as fetched, only taking space
    tmp = Path(tempfile.mkdtemp(prefix=tmp_prefix(src.name), dir=entry.parent))
    try:
        try:
            tree, digest = _FETCHERS[src.kind](src, tmp, cache, runner, limits or Limits())
        except LicscanError as e:  # every failure names the manifest entry
            if str(e).startswith(src.label()):
                raise
            raise LicscanError(f"{src.label()}: {e}") from None
        final = tmp / "entry" / src.name
        final.parent.mkdir()
        os.rename(tree, final)
        record = {**src.meta(), "sha256": digest, "stamp": stamp,
                  "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (final.parent / META).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        _swap_into_place(final.parent, entry)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Fetched(src, entry / src.name, cached=False, sha256=digest)


def _complete(entry: Path, src: Source, meta: dict[str, Any] | None, stamp: str | None) -> bool:
    """Whether ``entry`` holds this very pin, whole: its tree and the record written with it
    (both renamed into place at once), the record naming the same kind, spec and version, the
    pinned sha256, and for a local source the same files. Reads one small file: cheap enough
    to run for every source of a 400-source manifest on each resumed fetch."""
    if meta is None or not (entry / src.name).is_dir():
        return False
    same = all(meta.get(k) == getattr(src, k) for k in ("kind", "spec", "version"))
    pinned = not src.sha256 or meta.get("sha256") == src.sha256
    return same and pinned and meta.get("stamp") == stamp


def _swap_into_place(new: Path, entry: Path) -> None:
    """Replace ``entry`` with ``new``; the old entry is removed only once the new one is in."""
    old = None
    if entry.exists():
        old = old_name(entry)
        os.rename(entry, old)
    try:
        os.rename(new, entry)
    except OSError:
        if old is not None:
            os.rename(old, entry)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- fetchers
# Each returns (tree, sha256 of what was downloaded or None) with the tree inside tmp.


def _fetch_debian(src: Source, tmp: Path, cache: Path, runner: Runner, limits: Limits) -> tuple[Path, str | None]:
    from licscan.corpus.debian import fetch_debian_source

    found: dict[str, str] = {}

    def verifying(cmd: list[str], cwd: str | None = None, **kw: Any) -> Any:
        # Check the .dsc (it pins every tarball by checksum) before anything is unpacked.
        res = runner(cmd, cwd=cwd, **kw)
        if cmd and cmd[0] == "apt-get" and "source" in cmd and res.returncode == 0 and cwd:
            dscs = sorted(Path(cwd).glob("*.dsc"))
            if len(dscs) == 1:
                found["sha256"] = _verify(src, dscs[0])
        return res

    # licscan.corpus.debian keeps its private apt state and transient trees in one work root. A
    # tree left there by an interrupted run would be returned unverified: drop it first.
    work = cache / ".debian"
    for stale in work.glob(f"{src.spec}_*") if work.is_dir() else ():
        shutil.rmtree(stale, ignore_errors=True)
    sweep(work)  # and its half-done downloads
    tree = fetch_debian_source(src.spec, src.version, work, runner=verifying, limits=limits)
    if "sha256" not in found and src.sha256:
        raise LicscanError(f"{src.label()}: cannot verify sha256: no .dsc was downloaded")
    moved = tmp / "debian-tree"
    os.rename(tree, moved)
    return moved, found.get("sha256")


def _fetch_pypi(src: Source, tmp: Path, cache: Path, runner: Runner, limits: Limits) -> tuple[Path, str | None]:
    dl = tmp / "download"
    dl.mkdir()
    _run(runner, [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                  "--disable-pip-version-check", "-q", "-d", str(dl), src.spec], src, cwd=dl)
    return _unpack_one(src, dl, tmp, limits)


def _fetch_npm(src: Source, tmp: Path, cache: Path, runner: Runner, limits: Limits) -> tuple[Path, str | None]:
    dl = tmp / "download"
    dl.mkdir()
    _run(runner, ["npm", "pack", "--ignore-scripts", "--silent", src.spec], src, cwd=dl)
    return _unpack_one(src, dl, tmp, limits)


def _unpack_one(src: Source, dl: Path, tmp: Path, limits: Limits) -> tuple[Path, str | None]:
    archives = [p for p in dl.iterdir() if p.is_file()]
    if len(archives) != 1:
        raise LicscanError(f"{src.label()}: expected one downloaded archive, found {len(archives)}")
    digest = _verify(src, archives[0])
    return extract_archive(archives[0], tmp / "x", what=src.label(), limits=limits), digest


def _fetch_git(src: Source, tmp: Path, cache: Path, runner: Runner, limits: Limits) -> tuple[Path, str | None]:
    repo = tmp / "repo"
    _run(runner, ["git", "init", "-q", str(repo)], src)
    git = ["git", "-C", str(repo)]
    try:  # a full commit id: fetch just that commit
        _run(runner, [*git, "fetch", "-q", "--depth", "1", src.spec, src.version or ""], src)
    except LicscanError:  # an abbreviated id, or a server refusing unadvertised commits
        _run(runner, [*git, "fetch", "-q", "--tags", src.spec, "+refs/heads/*:refs/remotes/src/*"], src)
    res = _run(runner, [*git, "rev-parse", "--verify", "--quiet", f"{src.version}^{{commit}}"], src)
    commit = (res.stdout or "").strip()
    tar = tmp / "tree.tar"
    _run(runner, [*git, "archive", "--format=tar", "-o", str(tar), commit], src)
    return extract_archive(tar, tmp / "x", what=src.label(), limits=limits, strip_top=False), None


def _fetch_path(src: Source, tmp: Path, cache: Path, runner: Runner, limits: Limits) -> tuple[Path, str | None]:
    local = Path(src.spec)
    _regular(src, local)  # checked again: it may have changed since fetch_source looked
    if local.is_dir():
        out = tmp / "copy"
        shutil.copytree(local, out, symlinks=True, ignore=_copy_ignore)
        return out, None
    digest = _verify(src, local)
    if local.name.endswith(".dsc"):
        return _unpack_dsc(src, local, tmp, runner, limits), digest
    return extract_archive(local, tmp / "x", what=src.label(), limits=limits), digest


def _unpack_dsc(src: Source, dsc: Path, tmp: Path, runner: Runner, limits: Limits) -> Path:
    """A local Debian source package: dpkg-source when installed, else licscan.corpus.debian's fallback."""
    from licscan.corpus import debian

    out = tmp / "dsc-tree"
    if shutil.which("dpkg-source"):
        _run(runner, ["dpkg-source", "--no-check", "-x", str(dsc), str(out)], src, cwd=tmp)
        shutil.rmtree(out / ".pc", ignore_errors=True)  # quilt's pre-patch copies
    else:
        debian._extract_python(dsc, out, limits)
    return out


_FETCHERS: dict[str, Callable[[Source, Path, Path, Runner, Limits], tuple[Path, str | None]]] = {
    "debian": _fetch_debian, "pypi": _fetch_pypi, "npm": _fetch_npm, "git": _fetch_git, "path": _fetch_path,
}


# --------------------------------------------------------------------------- manifests


def fetch_manifest(manifest: Manifest, cache: Path | None = None, *, runner: Runner = subprocess.run,
                   force: bool = False, on_fetched: Callable[[Fetched, float], None] | None = None,
                   on_start: Callable[[Source], None] | None = None) -> list[Fetched]:
    """Fetch every source of a manifest, in order; stop at the first failure."""
    out = []
    for src in manifest.sources:
        t0 = time.perf_counter()
        got = fetch_source(src, cache, runner=runner, force=force, on_start=on_start)
        if on_fetched:
            on_fetched(got, time.perf_counter() - t0)
        out.append(got)
    return out


@dataclass
class Resolved:
    """ROOT arguments with manifests replaced by their fetched trees."""

    roots: list[Path]
    license_overrides: dict[str, str]
    extra_meta: dict[str, Any]


def resolve_roots(args: Sequence[Path | str], cache: Path | None = None, *,
                  runner: Runner = subprocess.run,
                  on_fetched: Callable[[Fetched, float], None] | None = None,
                  on_start: Callable[[Source], None] | None = None) -> Resolved:
    """Expand manifest arguments (``*.toml`` files, or names of shipped manifests) into source
    trees, fetching what is missing."""
    roots: list[Path] = []
    overrides: dict[str, str] = {}
    sources: list[dict[str, Any]] = []
    manifests: list[str] = []
    for arg in args:
        if looks_like_name(arg):
            try:
                arg = shipped_manifest(str(arg))
            except LicscanError:
                raise LicscanError(f"corpus root not found: {arg} (nor a shipped manifest: "
                                   f"{', '.join(shipped_manifests()) or 'none'})") from None
        if not is_manifest(arg):
            roots.append(Path(arg))
            continue
        m = load_manifest(arg)
        manifests.append(str(m.path))
        for got in fetch_manifest(m, cache, runner=runner, on_fetched=on_fetched, on_start=on_start):
            roots.append(got.root)
            if got.source.spdx:
                overrides[got.source.name] = got.source.spdx
            sources.append({**got.source.meta(), "sha256": got.sha256 or got.source.sha256})
    extra: dict[str, Any] = {"sources": sources, "manifests": manifests} if manifests else {}
    return Resolved(roots, overrides, extra)
