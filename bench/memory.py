"""Memory of `licscan index build` and `licscan scan` as the corpus grows (issue 12 item 3).

For each corpus size (a list of unpacked trees) and each licscan executable given, it
builds an index with ``--no-licenses`` and samples, every 50 ms, the RSS of the build
process and of the sum over it and all its worker processes (from /proc, via psutil), and
the largest RSS of any one of them (``wait4``'s ``ru_maxrss`` covers the waited-for workers);
it also reports wall and CPU time (the build and its children, from ``wait4``) and the
index bytes. Then, against each index, it measures ``licscan scan`` (one file, and a
batch of files from the corpus) the same way. Prints one markdown table.

    python bench/memory.py --licscan before=/work/main/.venv/bin/licscan \\
        --licscan after=.venv/bin/licscan --work /tmp/mem-bench
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil

DEBIAN = Path.home() / ".cache/licscan/bench/debian"
SIZES: dict[str, list[str]] = {
    "S": ["dash_0.5.12-2", "fmtlib_9.1.0+ds1-2", "lua5.4_5.4.4-3+deb12u1", "node-express_4.18.2+~4.17.14-1",
          "php-monolog_2.9.1-1", "htop_3.2.2-2", "jquery_3.3.1~dfsg-3", "screen_4.9.0-4", "libbsd_0.11.7-2",
          "tmux_3.3a-3", "zlib_1.2.13.dfsg-1", "bc_1.07.1-3", "php-guzzlehttp-psr7_2.4.5-1+deb12u1",
          "commons-io_2.11.0-2", "indent_2.2.12-4+deb12u3", "libuv1_1.44.2-1+deb12u1", "rsync_3.2.7-1+deb12u6"],
}
SIZES["M"] = SIZES["S"] + ["libcommons-collections4-java_4.2-1", "patch_2.7.6-7",
                           "php-league-commonmark_2.3.9-1+deb12u1", "readline_8.2-1.3",
                           "libcommons-lang3-java_3.12.0-2+deb12u1", "original-awk_2022-09-12-1",
                           "musl_1.2.3-1", "sed_4.9-1+deb12u1", "diffutils_3.8-4"]
SIZES["L"] = SIZES["M"] + ["jedit_5.5.0+dfsg-2", "nano_7.2-1+deb12u1", "grep_3.8-5", "nlohmann-json3_3.11.2-2",
                           "busybox_1.35.0-4+deb12u1", "pylint_2.16.2-2", "gawk_5.2.1-2", "bash_5.2.15-2",
                           "gnupg2_2.2.40-1.1+deb12u2", "fish_3.6.0-3.1+deb12u1", "git_2.39.5-0+deb12u3",
                           "coreutils_9.1-1", "libgit2_1.5.1+ds-1+deb12u1"]

SIZES["XL"] = sorted(p.name for p in DEBIAN.iterdir() if p.is_dir()) if DEBIAN.is_dir() else []


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``cmd``; its peak RSS (the largest of it and its descendants, and their sampled
    sum), wall and CPU seconds."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    ps = psutil.Process(proc.pid)
    own = tree = 0
    while True:
        try:
            procs = [ps, *ps.children(recursive=True)]
            rss = [p.memory_info().rss for p in procs]
        except psutil.Error:
            rss = []
        if rss:
            own, tree = max(own, rss[0]), max(tree, sum(rss))
        try:
            _, status, usage = os.wait4(proc.pid, os.WNOHANG)
        except ChildProcessError:
            break
        if _:
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"{' '.join(cmd[:3])} failed: {err[-2000:]}")
    return {"own": max(own, usage.ru_maxrss * 1024), "tree": tree, "wall": wall,
            "cpu": usage.ru_utime + usage.ru_stime}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--licscan", action="append", required=True, help="LABEL=PATH of a licscan executable")
    ap.add_argument("--sizes", default="S,M,L")
    ap.add_argument("--work", type=Path, default=Path("/tmp/licscan-memory"))
    ap.add_argument("--batch", type=int, default=200, help="files per batch scan")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print("| size | trees | code MB | files | variant | build wall s | build CPU s | build RSS MB (largest process) "
          "| build RSS MB (driver + workers) | index MB | scan 1 file RSS MB | scan batch RSS MB | scan batch wall s |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes.split(","):
        trees = [str(DEBIAN / t) for t in SIZES[size]]
        for spec in args.licscan:
            label, _, exe = spec.partition("=")
            out = args.work / f"{size}-{label}.lsi"
            b = measure([exe, "index", "build", "--no-licenses", "--out", str(out), *trees])
            cpu = b["cpu"]  # the build and the workers it waited for
            db = sqlite3.connect(out)
            files, code = db.execute("SELECT count(*), sum(size) FROM files").fetchone()
            paths = [p for (p,) in db.execute("SELECT path FROM files WHERE lang = 'c' ORDER BY id")]
            db.close()
            step = max(1, len(paths) // args.batch)
            batch = [str(DEBIAN / p.split("/", 1)[0] / p.split("/", 1)[1]) for p in paths[::step][:args.batch]]
            one = measure([exe, "scan", "-q", "--fail-on", "never", "--index", str(out), batch[0]])
            many = measure([exe, "scan", "-q", "--fail-on", "never", "--index", str(out), *batch])
            mb = 1 << 20
            print(f"| {size} | {len(trees)} | {code / 1e6:.0f} | {files} | {label} | {b['wall']:.0f} | {cpu:.0f} "
                  f"| {b['own'] / mb:.0f} | {b['tree'] / mb:.0f} | {out.stat().st_size / 1e6:.0f} "
                  f"| {one['tree'] / mb:.0f} | {many['tree'] / mb:.0f} | {many['wall']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
