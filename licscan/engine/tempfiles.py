"""Temp files of index writes: named per process, removed at exit, swept after a kill.

A build writes ``.<name>.<pid>.tmp`` next to its output and renames it into place
(and spills its per-file results to the directory ``.<name>.<pid>.spill``, ``spill``):
an interrupted build never leaves a broken index, and this module makes sure it
leaves no temp file either (atexit here; the next build sweeps what kill -9 left).
"""

from __future__ import annotations

import atexit
import os
import shutil
from pathlib import Path


def atomic_path(out: Path) -> Path:
    """The temporary file a build writes before renaming it over ``out``."""
    return out.with_name(f".{out.name}.{os.getpid()}.tmp")


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
        if tmp.name.endswith((f".{os.getpid()}.tmp", f".{os.getpid()}.spill")):
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
        if not (pid.isdigit() and sep and suffix in ("tmp", "tmp-journal", "tmp-wal", "tmp-shm", "spill")):
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
