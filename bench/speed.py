#!/usr/bin/env python3
"""Speed benchmark: index build, index size, CLI and in-process latency, scan throughput.

    python bench/speed.py --quick     # the small corpus (grep, sed, pylint, jedit)
    python bench/speed.py             # the speed corpus (~420 MB of copyleft source trees)

Measures, on the real corpus:
  * index build: wall time, peak RSS (largest process, from wait4) and the sampled sum
    over the build's process tree (workers included), in a subprocess;
  * index bytes per byte of indexed code files, and per byte of the whole source trees;
  * cold CLI latency: `licscan scan --index X --format json FILE`, new process each run;
  * in-process query latency: Matcher.scan_text on a few hundred snippets (one Matcher);
  * scan throughput: licscan.inputs.paths.scan_paths over directories of many files, in process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for p in (str(ROOT), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

from accuracy import BUILD_CODE  # noqa: E402
from corpus import EXT_LANG, default_cache, fetch_all, iter_files, packages, tree_stats  # noqa: E402


def _tree_rss_kb(pid: int) -> int:
    """RSS of pid and all its descendants (KiB), from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                st = fh.read()
            ppid = int(st.rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{d}/statm") as fh:
                pages = int(fh.read().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
        rss[int(d)] = pages * (os.sysconf("SC_PAGE_SIZE") // 1024)
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def run_sampled(cmd: list[str], stdout_path: Path, **kw) -> dict:
    """Run cmd; wall time, exit code, peak RSS of the largest process (wait4) and sampled tree sum."""
    peak = [0]
    t0 = time.perf_counter()
    with open(stdout_path, "w") as out, open(str(stdout_path) + ".err", "w") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, **kw)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
                done.wait(0.25)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        _, status, ru = os.wait4(proc.pid, 0)
        done.set()
        th.join()
    return {"rc": os.waitstatus_to_exitcode(status), "wall": time.perf_counter() - t0, "maxrss_kb": ru.ru_maxrss,
            "tree_peak_kb": peak[0], "stderr": Path(str(stdout_path) + ".err").read_text(errors="replace")[-3000:]}


def licscan_cli() -> list[str]:
    exe = Path(sys.executable).parent / "licscan"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "licscan"]


def pctl(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


INPROC_CODE = r"""
import json, random, sys, time, resource
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from licscan.engine.index import open_index
from licscan.engine.matcher import Matcher
from licscan.inputs.paths import scan_paths
from licscan.files import walk, classify, Skipped

index, snippets_json, dirs_json = sys.argv[1], sys.argv[2], sys.argv[3]
t0 = time.perf_counter()
idx = open_index(index)
m = Matcher(idx)
t_open = time.perf_counter() - t0
snips = json.loads(Path(snippets_json).read_text())
lat, hits = [], []
for s in snips:
    a = time.perf_counter()
    fs = m.scan_text(s["text"], s["lang"], "snippet")
    lat.append(time.perf_counter() - a)
    hits.append(bool(fs))
res = {"open_s": t_open, "lat": lat, "hits": hits, "kinds": [s["kind"] for s in snips], "dirs": []}
for d in json.loads(dirs_json):
    nbytes = nfiles = 0
    for f in walk(Path(d)):
        if not isinstance(classify(f, str(f)), Skipped):
            nfiles += 1
            nbytes += f.stat().st_size
    a = time.perf_counter()
    r = scan_paths(idx, [d])
    el = time.perf_counter() - a
    res["dirs"].append({"dir": d, "seconds": el, "scanned": r.scanned, "code_files": nfiles, "code_bytes": nbytes,
                        "findings": len(r.findings), "files_with_findings": len({f.path for f in r.findings}),
                        "skipped": {k: len(v) for k, v in r.skipped.items()}})
res["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(res))
"""


def make_snippets(trees, negatives, n: int, rng: random.Random) -> list[dict]:
    """n/2 windows of 10-60 lines from copyleft code, n/2 from permissive code."""
    out = []
    for kind, ts, k in (("copyleft", trees, n // 2), ("permissive", negatives, n - n // 2)):
        files = [p for t in ts for p in iter_files(t.path) if EXT_LANG.get(p.suffix.lower()) in ("c", "cpp", "python", "java", "javascript", "php")
                 and 2000 < p.stat().st_size < 300_000]
        rng.shuffle(files)
        for p in files:
            if len([s for s in out if s["kind"] == kind]) >= k:
                break
            lines = p.read_text(errors="replace").splitlines()
            if len(lines) < 30 or max(map(len, lines)) > 300:
                continue
            size = rng.randint(10, 60)
            s = rng.randint(0, max(0, len(lines) - size))
            out.append({"kind": kind, "lang": EXT_LANG[p.suffix.lower()], "path": str(p), "text": "\n".join(lines[s:s + size]) + "\n"})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the small corpus")
    ap.add_argument("--set", default=None, choices=("quick", "accuracy", "speed", "large"), help="corpus set (default speed)")
    ap.add_argument("--cache", type=Path, default=default_cache())
    ap.add_argument("--licenses", action="store_true", help="detect licenses during the build (scancode; slow)")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--runs", type=int, default=20, help="cold CLI runs per file")
    ap.add_argument("--snippets", type=int, default=300)
    ap.add_argument("--reuse-index", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args(argv)
    set_name = a.set or ("quick" if a.quick else "speed")
    t_start = time.perf_counter()
    load0 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    trees = fetch_all(packages(set_name, "copyleft"), a.cache)
    neg_set = "quick" if set_name == "quick" else "accuracy"
    negatives = fetch_all(packages(neg_set, "permissive"), a.cache)
    tot_bytes = tot_code = 0
    for t in trees:
        st = tree_stats(t.path)
        tot_bytes += st.bytes
        tot_code += st.code_bytes
    print(f"corpus ({set_name}): {len(trees)} trees, {tot_bytes / 1e6:.1f} MB in all, {tot_code / 1e6:.1f} MB in files with code extensions")
    print("  " + ", ".join(t.name for t in trees))

    rows: list[tuple[str, str]] = []
    index = a.cache / f"index-speed-{set_name}{'-lic' if a.licenses else ''}.lsi"
    work = a.cache / "speed-work"
    work.mkdir(parents=True, exist_ok=True)
    if not (a.reuse_index and index.is_file()):
        index.unlink(missing_ok=True)
        print(f"building {index} (licenses {'on' if a.licenses else 'off'}) ...", flush=True)
        cmd = [sys.executable, "-c", BUILD_CODE, json.dumps([str(t.path) for t in trees]), str(index), str(a.workers),
               "1" if a.licenses else "0"]
        r = run_sampled(cmd, work / "build.json", cwd=str(ROOT))
        if r["rc"] != 0:
            raise SystemExit(f"build failed: {r['stderr']}")
        bs = json.loads((work / "build.json").read_text().strip().splitlines()[-1])
        rows += [
            ("index build wall", f"{r['wall']:.1f} s  ({tot_bytes / 1e6 / r['wall']:.2f} MB/s of tree, {bs['bytes'] / 1e6 / r['wall']:.2f} MB/s of indexed code)"),
            ("build peak RSS, largest process", f"{r['maxrss_kb'] / 1024:.0f} MiB"),
            ("build peak RSS, process tree (sampled)", f"{r['tree_peak_kb'] / 1024:.0f} MiB"),
            ("indexed", f"{bs['files']} files, {bs['bytes'] / 1e6:.1f} MB, {bs['tokens'] / 1e6:.1f} M tokens, {bs['fingerprints'] / 1e6:.2f} M fingerprints"),
            ("skipped", ", ".join(f"{k} {v}" for k, v in sorted(bs["skipped"].items()))),
            ("languages", ", ".join(f"{k} {v}" for k, v in sorted(bs["languages"].items(), key=lambda kv: -kv[1]))),
        ]
        code_bytes = bs["bytes"]
    else:
        print(f"reusing {index}")
        code_bytes = None
    isz = index.stat().st_size
    rows.append(("index size", f"{isz / 1e6:.1f} MB"))
    if code_bytes:
        rows.append(("index bytes / indexed code byte", f"{isz / code_bytes:.3f}"))
    rows.append(("index bytes / source-tree byte", f"{isz / tot_bytes:.3f}"))

    # ---- cold CLI latency
    rng = random.Random(a.seed)
    clean = sorted((p for t in negatives for p in iter_files(t.path) if p.suffix == ".c" and 8_000 < p.stat().st_size < 30_000), key=str)
    copied = sorted((p for t in trees for p in iter_files(t.path) if p.suffix == ".c" and 8_000 < p.stat().st_size < 30_000
                     and "/src/" in str(p)), key=str)
    cli = licscan_cli()
    # An installed tool runs from cached bytecode; a session that sets
    # PYTHONDONTWRITEBYTECODE would recompile every module on every run and
    # measure the compiler instead. One untimed run warms the cache.
    cold_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([*cli, "--help"], capture_output=True, env=cold_env)
    for label, pool in (("clean file", clean), ("copied file", copied)):
        if not pool:
            continue
        f = rng.choice(pool)
        nlines = f.read_text(errors="replace").count("\n")
        walls = []
        rcs = set()
        for _ in range(a.runs):
            t0 = time.perf_counter()
            r = subprocess.run([*cli, "scan", "--index", str(index), "--format", "json", str(f)], capture_output=True,
                               text=True, env=cold_env)
            walls.append(time.perf_counter() - t0)
            rcs.add(r.returncode)
        rows.append((f"cold CLI scan, {label} ({nlines} lines), {a.runs} runs",
                     f"p50 {1000 * pctl(walls, .5):.0f} ms, p95 {1000 * pctl(walls, .95):.0f} ms, exit {sorted(rcs)}"))
        print(f"  CLI {label}: {f}", flush=True)
    t0 = time.perf_counter()
    subprocess.run([*cli, "--help"], capture_output=True, env=cold_env)
    rows.append(("CLI startup (`licscan --help`)", f"{1000 * (time.perf_counter() - t0):.0f} ms"))

    # ---- in process: snippets + directory throughput
    snippets = make_snippets(trees, negatives, a.snippets, rng)
    (work / "snippets.json").write_text(json.dumps(snippets))
    dirs = [str(t.path) for t in negatives]
    dir_src = [str(t.path) for t in trees if t.name.startswith("sed_")][:1]
    r = run_sampled([sys.executable, "-c", INPROC_CODE, str(index), str(work / "snippets.json"), json.dumps(dirs + dir_src), str(ROOT)],
                    work / "inproc.json", cwd=str(ROOT))
    if r["rc"] != 0:
        raise SystemExit(f"in-process run failed: {r['stderr']}")
    ip = json.loads((work / "inproc.json").read_text().strip().splitlines()[-1])
    rows.append(("open index + Matcher", f"{1000 * ip['open_s']:.0f} ms"))
    for kind in ("copyleft", "permissive"):
        lat = [x for x, k in zip(ip["lat"], ip["kinds"]) if k == kind]
        hit = [h for h, k in zip(ip["hits"], ip["kinds"]) if k == kind]
        if lat:
            rows.append((f"in-process query, {len(lat)} {kind} snippets (10-60 lines)",
                         f"p50 {1000 * pctl(lat, .5):.1f} ms, p95 {1000 * pctl(lat, .95):.1f} ms, mean {1000 * statistics.mean(lat):.1f} ms; "
                         f"{sum(hit)} with findings"))
    neg_d = [d for d in ip["dirs"] if d["dir"] in dirs]
    if neg_d:
        s = sum(d["seconds"] for d in neg_d)
        nf = sum(d["scanned"] for d in neg_d)
        nb = sum(d["code_bytes"] for d in neg_d)
        ff = sum(d["files_with_findings"] for d in neg_d)
        rows.append((f"scan throughput, {len(neg_d)} permissive trees",
                     f"{nf} files, {nb / 1e6:.1f} MB in {s:.1f} s: {nf / s:.0f} files/s, {nb / 1e6 / s:.2f} MB/s; {ff} files with findings"))
    for d in ip["dirs"]:
        if d["dir"] in dir_src:
            rows.append((f"scan throughput, an indexed tree ({Path(d['dir']).name})",
                         f"{d['scanned']} files, {d['code_bytes'] / 1e6:.1f} MB in {d['seconds']:.1f} s: {d['scanned'] / d['seconds']:.0f} files/s, "
                         f"{d['code_bytes'] / 1e6 / d['seconds']:.2f} MB/s; {d['files_with_findings']} files with findings"))
    rows.append(("in-process run peak RSS", f"{ip['maxrss_kb'] / 1024:.0f} MiB"))

    w = max(len(k) for k, _ in rows)
    print()
    print(f"{'measure':<{w}}  value")
    print("-" * (w + 60))
    for k, v in rows:
        print(f"{k:<{w}}  {v}")
    print(f"\nbenchmark wall time: {time.perf_counter() - t_start:.0f}s; load average at start {load0}, at end "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores (other work on the machine skews times)")
    shutil.rmtree(work / "unused", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
