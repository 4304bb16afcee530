"""Temp files of index writes: named per process, removed at exit, swept after a kill.

A build writes ``.<name>.<pid>.tmp`` next to its output and renames it into place
(and spills its per-file results to the directory ``.<name>.<pid>.spill``, ``spill``;
its packed copy is ``.<name>.<pid>.packed``, ``rename_packed``):
an interrupted build never leaves a broken index, and this module makes sure it
leaves no temp file either (atexit here; the next build sweeps what kill -9 left).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
from pathlib import Path


def atomic_path(out: Path) -> Path:
    """The temporary file a build writes before renaming it over ``out``."""
    return out.with_name(f".{out.name}.{os.getpid()}.tmp")


def packed_path(out: Path) -> Path:
    """The packed copy of a finished index (``rename_packed``), renamed over ``out``."""
    return out.with_name(f".{out.name}.{os.getpid()}.packed")


def rename_packed(db: sqlite3.Connection, out: Path) -> None:
    """Put the finished index open as ``db`` (committed) at ``out``, its pages full; closes ``db``.

    SQLite leaves about an eighth of each b-tree page empty as rows go in, in key order
    too (its splits keep room for inserts that a finished index never gets): the index
    file was 7 % larger than its rows, at 1x and at 31.8x the accuracy corpus alike.
    ``VACUUM INTO`` copies every table in key order into full pages, one sequential
    write (~5 s a GB here). An update in place packs again: rows inserted into full
    pages split most of them (tmux and libgit2 added to a packed 1.17 GB index grew it
    by 116 MB, past the unpacked index with the same two). bench/RESULTS.md has the figures."""
    if sqlite3.sqlite_version_info < (3, 27):
        # VACUUM INTO is SQLite 3.27's (2019); with an older library the file stays as written.
        written = db.execute("PRAGMA database_list").fetchone()[2]
        db.close()
        os.replace(written, out)
        return
    packed = packed_path(out)
    packed.unlink(missing_ok=True)
    LIVE_TEMPS.add(packed)
    try:
        db.execute("VACUUM INTO ?", (str(packed),))
        fd = os.open(packed, os.O_RDONLY)
        try:
            os.fsync(fd)  # the rename must not reach the disk before the pages it names
        finally:
            os.close(fd)
        os.replace(packed, out)
    finally:
        db.close()
        packed.unlink(missing_ok=True)
        LIVE_TEMPS.discard(packed)


def spill_path(out: Path) -> Path:
    """The directory a build spills its per-file results to (``engine.spill``)."""
    return out.with_name(f".{out.name}.{os.getpid()}.spill")


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)


LIVE_TEMPS: set[Path] = set()
"""Temp files of this process's unfinished writers, removed at exit whatever happens."""


@atexit.register
def _remove_live_temps() -> None:
    for tmp in list(LIVE_TEMPS):
        # Forked children inherit the set; only the process named in the file removes it.
        if tmp.name.endswith((f".{os.getpid()}.tmp", f".{os.getpid()}.spill", f".{os.getpid()}.packed")):
            _remove(tmp)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OSError:
        return False
    return True


def sweep_stale_temps(out: Path) -> list[Path]:
    """Delete ``.<name>.<pid>.tmp`` files next to ``out`` left by builds that died (kill -9).

    A temp file whose pid is alive belongs to a build still running and is kept."""
    prefix, removed = f".{out.name}.", []
    try:
        entries = list(out.parent.iterdir()) if out.parent.is_dir() else []
    except OSError:
        return removed
    for p in entries:
        name = p.name
        if not name.startswith(prefix):
            continue
        pid, sep, suffix = name[len(prefix):].partition(".")
        # SQLite names its side files <db>-journal / <db>-wal: sweep those too.
        if not (pid.isdigit() and sep and suffix in ("tmp", "tmp-journal", "tmp-wal", "tmp-shm", "spill", "packed")):
            continue
        if int(pid) == os.getpid() or _pid_alive(int(pid)):
            continue
        try:
            if p.is_symlink():
                continue
            if p.is_file() or (suffix == "spill" and p.is_dir()):
                _remove(p)
                removed.append(p)
        except OSError:
            pass  # not ours to remove (permissions): harmless, the build writes its own name
    return removed
