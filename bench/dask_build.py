#!/usr/bin/env python3
"""The plain build against Dask LocalCluster builds with 1 and 2 workers (issue 13).

    python bench/dask_build.py                 # the quick set's copyleft trees
    python bench/dask_build.py --set speed
    python bench/dask_build.py --roots-from INDEX  # the roots of an index (bench/scale.py's sizes)

Each build runs in its own process (so peak RSS is its own), with the light license
matcher (scancode's 1.4 GB per process would be the whole figure, and it is the same work
either way). Reports wall time (cluster start included), the CPU time of the whole process
tree (driver, pool or nannies and workers: what the build cost the machine) and of each
worker, the peak RSS of the driver and of each worker (pool processes for the plain
build, Dask worker processes otherwise), and whether the index is identical to the plain
build's: every table's sha256 (the index's own integrity record) and the meta without the
build time. ``--rounds 2`` runs the three builds twice, interleaved (a shared machine).
``--old DIR`` also runs each build with the licscan of DIR (a worktree or export of another
commit, imported first through PYTHONPATH, Dask's workers too), interleaved with this one's:
a change's before and after, side by side. ``--builds plain:2,dask:2`` picks the builds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for p in (str(ROOT), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

ONE = r"""
import json, resource, sys, time
from pathlib import Path
from licscan.engine.build import build_index
mode, n, out, roots = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
def rss():  # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def cpu(who=resource.RUSAGE_SELF):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime
t0 = time.perf_counter()
if mode == "plain":
    s = build_index(roots, out, workers=n)
    workers = [resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024]  # the largest pool process
    wcpu = [cpu(resource.RUSAGE_CHILDREN)]  # the pool's processes together
else:
    from licscan.engine.distributed import DaskBuild
    with DaskBuild("local", workers=n) as ex:
        s = build_index(roots, out, executor=ex)
        got = ex.client.run(lambda: (rss(), cpu()))
        workers = sorted(v[0] for v in got.values())
        wcpu = sorted(v[1] for v in got.values())
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "files": s.files, "bytes": s.bytes, "driver_mb": rss(), "workers_mb": workers,
                  "driver_cpu": cpu(), "workers_cpu": wcpu}))
"""


def signature(index: Path) -> dict[str, object]:
    """What must be identical: each table's sha256 and row count, and the meta without its time."""
    import sqlite3

    db = sqlite3.connect(index)
    try:
        meta = {k: v for k, v in db.execute("SELECT key, value FROM meta")}
    finally:
        db.close()
    meta.pop("built_at", None)
    integrity = json.loads(meta.pop("integrity"))
    integrity.pop("meta_sha256", None)
    return {"meta": meta, "tables": integrity}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="quick")
    ap.add_argument("--roots-from", type=Path, help="build the roots of this index instead of a set's")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--old", type=Path, help="a checkout of another commit, run side by side")
    ap.add_argument("--builds", default="plain:2,dask:1,dask:2")
    a = ap.parse_args()
    builds = [(m, int(n)) for m, n in (b.split(":") for b in a.builds.split(","))]
    codes = [("this", None)] + ([("old", a.old.resolve())] if a.old else [])
    from corpus import default_cache, fetch_all, packages

    if a.roots_from:
        from build_ab import roots_of

        roots, a.set = roots_of(a.roots_from)[0], a.roots_from.name
    else:
        roots = [str(t.path) for t in fetch_all(packages(a.set, "copyleft"), default_cache())]
    env = {**os.environ, "LICSCAN_LICENSE_ENGINE": "light"}
    env.pop("LICSCAN_DEBUG", None)
    rows = []
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        ref = None
        for (mode, n), (code, where) in [(b, c) for b in builds for c in codes] * a.rounds:
            out = Path(tmp) / f"{mode}{n}-{code}.lsi"
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            run_env = {**env, "PYTHONPATH": os.pathsep.join([str(where), env.get("PYTHONPATH", "")])} if where else env
            r = subprocess.run([sys.executable, "-c", ONE, mode, str(n), str(out), *roots], env=run_env,
                               capture_output=True, text=True, check=True, cwd=str(where or Path.cwd()))
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            res = json.loads(r.stdout.strip().splitlines()[-1])
            # The whole tree: a process's children count once it has waited for them.
            res["tree_cpu"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            sig = signature(out)
            ref = ref or sig
            rows.append((code, mode, n, res, sig == ref))
    f = rows[0][3]
    print(f"set {a.set}: {len(roots)} trees, {f['files']:,} files, {f['bytes'] / 1e6:.1f} MB of code; "
          f"load average before: {load:.1f}, after: {os.getloadavg()[0]:.1f}\n")
    print("| code | build | workers | wall | CPU, all processes | CPU driver | CPU per worker | peak RSS driver "
          "| peak RSS per worker | index identical |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for code, mode, n, res, same in rows:
        per = ", ".join(f"{m:.0f}" for m in res["workers_mb"])
        pcpu = ", ".join(f"{c:.1f}" for c in res["workers_cpu"])
        name = "plain (process pool)" if mode == "plain" else "Dask LocalCluster"
        print(f"| {code} | {name} | {n} | {res['wall']:.1f} s | {res['tree_cpu']:.1f} s | {res['driver_cpu']:.1f} s "
              f"| {pcpu} s{' (pool)' if mode == 'plain' else ''} "
              f"| {res['driver_mb']:.0f} MB | {per} MB | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
