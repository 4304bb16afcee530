"""What an interrupted fetch leaves behind, and how the next run clears it.

A source is assembled in a temporary directory next to its cache entry and renamed into
place, so an entry is complete or absent: a half-written download or unpack is never taken
for a fetched source. But a run killed by SIGKILL (or a power cut, an OOM kill) runs no
``finally``: its temporary directory (up to a whole unpacked kernel tree) stays. Its name
carries the pid of the run that made it, ``.tmp-<name>-<pid>-<random>`` (``.old-`` for an
entry being replaced), so a later run removes those of runs that are gone and leaves alone
those of a run still working next to it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

# The index writer's temp files follow the same pid rule: one liveness check for both.
from licscan.engine.tempfiles import _pid_alive

__all__ = ["old_name", "sweep", "tmp_prefix"]

_LEFTOVER = re.compile(r"\.(?:tmp|old)-.+-(\d+)-[^-]*")


def tmp_prefix(name: str) -> str:
    """Prefix of a temporary directory of this process (for :func:`tempfile.mkdtemp`)."""
    return f".tmp-{name}-{os.getpid()}-"


def old_name(entry: Path) -> Path:
    """Where an entry being replaced is parked until the new one is in."""
    return entry.with_name(f".old-{entry.name}-{os.getpid()}-x")


def sweep(parent: Path) -> list[Path]:
    """Remove the leftovers of dead runs directly under ``parent``; return what was removed.

    A reused pid keeps a leftover one more run: harmless, only disk space."""
    removed: list[Path] = []
    try:
        children = list(parent.iterdir())
    except OSError:
        return removed
    for p in children:
        m = _LEFTOVER.fullmatch(p.name)
        if m and not _pid_alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed
