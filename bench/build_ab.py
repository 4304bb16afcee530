#!/usr/bin/env python3
"""Build speed of two commits side by side: the same trees, builds alternated (old, new, new, old).

    python bench/build_ab.py --old /tmp/scale-work/main-d90dd41 --roots-from INDEX
    python bench/build_ab.py --old DIR --base B1 --base B2 ROOT...

``--old DIR`` is an export of another commit with its own venv in ``DIR/.venv`` (what
``bench/scale.py --old REF`` makes); "new" is this checkout and the Python running this
script. ``--roots-from`` takes the roots and base trees from an existing index's meta (any
schema: it is read as plain SQLite), so a build of ``bench/scale.py`` can be repeated.
Each build runs in a process of its own: ``build_index(roots, out, workers=W,
licenses=False, base=...)``, the call ``bench/accuracy.py`` makes. License detection is
off: the module is the same in both, and scancode's notice cache would favour whichever
build runs second. Reports wall, CPU of the process and its pool (``wait4``), peak RSS,
code bytes per second and index bytes, one row per build, then the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import BUILD_CODE, run_usage  # noqa: E402


def roots_of(index: Path) -> tuple[list[str], list[str]]:
    db = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta"))
    finally:
        db.close()
    return ([r["path"] for r in json.loads(meta["roots"])],
            [r["path"] for r in json.loads(meta.get("base") or "[]")])


def build(py: str, cwd: Path, roots: list[str], base: list[str], out: Path, workers: int) -> dict:
    """One build in a process of its own: wall, CPU and peak RSS of it and its reaped pool."""
    out.unlink(missing_ok=True)
    cmd = [py, "-c", BUILD_CODE, json.dumps(roots), str(out), str(workers), "0", json.dumps(base)]
    rc, wall, ru, err = run_usage(cmd, out.with_suffix(".out"), cwd=str(cwd),
                                  env={**os.environ, "LICSCAN_LICENSE_ENGINE": "light"})
    if rc:
        raise SystemExit(f"build failed ({py}):\n{err[-2000:]}")
    s = json.loads(out.with_suffix(".out").read_text().strip().splitlines()[-1])
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss": ru.ru_maxrss / 1024, "bytes": s["bytes"],
            "files": s["files"], "index": s["index_bytes"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("roots", nargs="*")
    ap.add_argument("--old", type=Path, required=True)
    ap.add_argument("--roots-from", type=Path)
    ap.add_argument("--base", action="append", default=[])
    ap.add_argument("--order", default="old,new,new,old")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    roots, base = roots_of(a.roots_from) if a.roots_from else (a.roots, a.base)
    if not roots:
        ap.error("give ROOTs or --roots-from INDEX")
    code = {"old": (str(a.old / ".venv" / "bin" / "python"), a.old), "new": (sys.executable, ROOT)}
    rows: list[dict] = []
    print("| run | code | wall | CPU | MB/s of code | peak RSS | index | load |\n|---|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for i, v in enumerate(a.order.split(",")):
            before = os.getloadavg()[0]
            got = build(*code[v], roots, base, Path(tmp) / f"{v}.lsi", a.workers)
            got.update(v=v, load=before)
            rows.append(got)
            print(f"| {i + 1} | {v} | {got['wall']:.1f} s | {got['cpu']:.1f} s | {got['bytes'] / 1e6 / got['wall']:.2f} "
                  f"| {got['rss']:.0f} MB | {got['index'] / 1e6:.1f} MB | {before:.1f} |", flush=True)
    print(f"\n{rows[0]['files']:,} files, {rows[0]['bytes'] / 1e6:.1f} MB of code; {len(base)} base trees")
    for v in ("old", "new"):
        mine = [r for r in rows if r["v"] == v]
        if mine:
            print(f"{v}: median wall {statistics.median(r['wall'] for r in mine):.1f} s, "
                  f"CPU {statistics.median(r['cpu'] for r in mine):.1f} s")


if __name__ == "__main__":
    main()
