"""Lines added in git changes: the staged changes (pre-commit) or since a revision (CI).

Runs the ``git`` executable (no git library on the scan path). Three calls at most:
``git diff --raw`` for the changed files (modes, blob ids, renames), ``git diff -U0``
for the added line ranges, and one ``git cat-file --batch`` for the new contents.
Deleted files, pure renames, submodules and symlinks add no code and are left out;
binary files are reported as skipped.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from licscan.model import LicscanError

_ZERO = "0" * 40
_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_BASE_OPTS = ["--no-color", "--no-ext-diff", "--no-textconv", "--find-renames", "--no-abbrev",
              "--ignore-submodules=all"]
_DIFF_OPTS = [*_BASE_OPTS, "--diff-filter=ACMRT"]
_ADDING = "ACMRT"
"""Statuses that can add code (added, copied, modified, renamed, type changed)."""


@dataclass
class ChangedFile:
    """A file with added lines, its new content and where it lives."""

    path: str
    """Path relative to the repository root, as git names it (POSIX separators)."""
    display: str
    """Path to report: relative to the current directory when inside it."""
    added: list[tuple[int, int]] = field(default_factory=list)
    """Added line ranges of the new content (1-based, inclusive)."""
    data: bytes | None = None
    renamed_from: str | None = None


@dataclass
class Changes:
    files: list[ChangedFile]
    description: str
    """Which changes these are, for messages (``staged``, ``main...HEAD``)."""
    touched: set[str] = field(default_factory=set)
    """Every path the changes touch, relative to the root: also deleted files, the old
    side of renames, symlinks (``--pre-commit`` scans whole only the files outside it)."""
    root: Path | None = None


def git(args: list[str], cwd: Path | str | None = None, stdin: bytes | None = None) -> bytes:
    """Run git; a failure is a LicscanError with git's own first line."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        p = subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=cwd, input=stdin,
                           capture_output=True, env=env)
    except FileNotFoundError:
        raise LicscanError("git is not installed (needed for --staged and --diff)") from None
    if p.returncode != 0:
        msg = p.stderr.decode("utf-8", "replace").strip().splitlines()
        raise LicscanError(f"git {args[0]} failed: {msg[0] if msg else f'exit {p.returncode}'}")
    return p.stdout


def repo_root(cwd: Path | str | None = None) -> Path:
    out = git(["rev-parse", "--show-toplevel"], cwd)
    return Path(out.decode("utf-8", "surrogateescape").strip())


def staged_changes(pathspecs: list[str] | None = None, cwd: Path | str | None = None) -> Changes:
    """Lines added in the index relative to HEAD (what ``git commit`` would record)."""
    root = repo_root(cwd)
    files, touched = _changes(root, ["--cached"], pathspecs, cwd, worktree=False)
    return Changes(files, "staged changes", touched, root)


def diff_changes(base: str, to: str | None = None, pathspecs: list[str] | None = None,
                 cwd: Path | str | None = None) -> Changes:
    """Lines added since ``base`` (from its merge base with ``to`` or HEAD).

    Without ``to`` the new side is the working tree, so uncommitted edits count too.
    ``A..B`` and ``A...B`` are accepted as ``base`` and mean base A, new side B.
    """
    if to is None:
        for sep in ("...", ".."):
            if sep in base:
                base, to = (s or "HEAD" for s in base.split(sep, 1))
                break
    root = repo_root(cwd)
    start = _merge_base(root, base, to or "HEAD")
    revs = [start] + ([to] if to else [])
    desc = f"{base}...{to or 'working tree'}"
    files, touched = _changes(root, revs, pathspecs, cwd, worktree=to is None)
    return Changes(files, desc, touched, root)


def _merge_base(root: Path, base: str, head: str) -> str:
    """The merge base of base and head; base itself when there is none (shallow clones)."""
    try:
        git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{base}^{{commit}}"], root)
    except LicscanError:
        raise LicscanError(f"unknown git revision {base!r} (in a shallow clone, fetch it first)") from None
    try:
        return git(["merge-base", base, head], root).decode().strip() or base
    except LicscanError:
        return base


def _changes(root: Path, revs: list[str], pathspecs: list[str] | None, cwd: Path | str | None,
             *, worktree: bool) -> tuple[list[ChangedFile], set[str]]:
    """The files with code added, and every path touched (see ``Changes.touched``)."""
    here = Path(cwd or os.getcwd()).resolve()
    specs = ["--", *[_pathspec(root, here, p) for p in pathspecs]] if pathspecs else []
    # No --diff-filter here: deletions must still be seen to be listed as touched.
    raw = git(["diff", "--raw", "-z", *_BASE_OPTS, *revs, *specs], root)
    files: dict[str, ChangedFile] = {}
    touched: set[str] = set()
    blobs: dict[str, str] = {}
    fields = raw.split(b"\0")
    i = 0
    while i < len(fields) - 1:
        meta = fields[i].decode("ascii")
        if not meta.startswith(":"):
            i += 1
            continue
        _src_mode, dst_mode, _src_sha, dst_sha, status = meta[1:].split(" ")
        if status[0] in "RC":
            old, new = _fs(fields[i + 1]), _fs(fields[i + 2])
            i += 3
        else:
            old, new = None, _fs(fields[i + 1])
            i += 2
        touched.update(p for p in (old, new) if p is not None)
        if status[0] not in _ADDING or dst_mode in ("120000", "160000"):  # symlink, submodule: no code of ours
            continue
        files[new] = ChangedFile(new, _display(root, here, new), renamed_from=old)
        if not (worktree and dst_sha == _ZERO):
            blobs[new] = dst_sha
    if not files:
        return [], touched
    patch = git(["diff", "-U0", "--src-prefix=a/", "--dst-prefix=b/", *_DIFF_OPTS, *revs, *specs], root)
    current: ChangedFile | None = None
    for line in patch.split(b"\n"):
        if line.startswith(b"+++ "):
            name = line[4:].rstrip(b"\t")  # git appends a tab to names with spaces
            current = None if name == b"/dev/null" else files.get(_unquote(name)[2:])
        elif line.startswith(b"diff --git "):
            current = None
        elif current is not None and line.startswith(b"@@"):
            m = _HUNK.match(line)
            if m:
                start, count = int(m.group(1)), int(m.group(2) or 1)
                if count:
                    current.added.append((start, start + count - 1))
    contents = _cat_blobs(root, {blobs[p] for p in files if p in blobs})
    for f in files.values():
        if f.path in blobs:
            f.data = contents.get(blobs[f.path])
        else:
            try:
                f.data = (root / f.path).read_bytes()
            except OSError:
                f.data = None
    return sorted(files.values(), key=lambda f: f.path), touched


def _cat_blobs(root: Path, shas: set[str]) -> dict[str, bytes]:
    if not shas:
        return {}
    order = sorted(shas)
    out = git(["cat-file", "--batch"], root, stdin="".join(s + "\n" for s in order).encode())
    blobs: dict[str, bytes] = {}
    pos = 0
    while pos < len(out):
        nl = out.index(b"\n", pos)
        header = out[pos:nl].split(b" ")
        pos = nl + 1
        if len(header) < 3 or header[1] == b"missing":
            continue
        size = int(header[2])
        blobs[header[0].decode()] = out[pos:pos + size]
        pos += size + 1
    return blobs


def _pathspec(root: Path, here: Path, p: str) -> str:
    """A user path (relative to the current directory) as a literal pathspec from the root."""
    full = (here / p).resolve() if not Path(p).is_absolute() else Path(p).resolve()
    try:
        rel = full.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise LicscanError(f"{p} is outside the git repository {root}") from None
    return f":(literal){rel or '.'}"


def _display(root: Path, here: Path, rel: str) -> str:
    return Path(os.path.relpath(root.resolve() / rel, here)).as_posix()


def _fs(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


_ESC = {b"a": 7, b"b": 8, b"t": 9, b"n": 10, b"v": 11, b"f": 12, b"r": 13, b'"': 34, b"\\": 92}


def _unquote(name: bytes) -> str:
    """A path from a patch header, undoing git's C-style quoting of unusual names."""
    if not (name.startswith(b'"') and name.endswith(b'"')):
        return _fs(name)
    body, out, i = name[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i:i + 1]
        if c == b"\\" and i + 1 < len(body):
            nxt = body[i + 1:i + 2]
            if nxt.isdigit():
                out.append(int(body[i + 1:i + 4], 8))
                i += 4
                continue
            out.append(_ESC.get(nxt, nxt[0]))
            i += 2
            continue
        out += c
        i += 1
    return _fs(bytes(out))
