#!/usr/bin/env python3
"""Behaviour check: do two git refs of licscan report the same findings on the benchmark?

Each ref is exported (``git archive``) into a temporary directory and installed in a venv
of its own (the base install, no scancode; pip's cache is reused). The corpus, base code
and negatives are those of the accuracy benchmark (``bench/corpus.py`` of the NEW ref,
trees in its cache, fetched there if missing); the cases are generated ONCE, with the NEW
ref's ``bench/cases.py``, and the same case files are scanned by both refs. Each ref then

1. builds its own index of the copyleft trees with its own CLI
   (``licscan index build --no-licenses --out ... [--base ...] ROOTS``),
2. scans every case file and every negative file (the permissive packages' code files of
   the case languages, at most 1 MB, as ``bench/accuracy.py`` picks them) with
   ``licscan scan --format json --index ... --fail-on never``, many paths per call,

and the findings are compared per scanned file on (path, start_line, end_line,
source.path, source lines, similarity, tokens) -- exactly, nothing rounded. Fields only
one ref's report has (``version``, ``tool``, ...) are not compared. The index summaries
(``index info --format json``) and the scan summaries (scanned, skipped) are compared too.

    python bench/compare_refs.py                          # 27bb7e1 vs HEAD, quick set, seed 1234
    python bench/compare_refs.py --set accuracy --seed 1234
    python bench/compare_refs.py OLD NEW --work /tmp/cmp --keep

Exit code: 0 when every finding is identical, 1 when any differs, 2 on a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Run inside the NEW ref's venv, from its bench/: the trees of a set (fetching what is
# missing into the cache) and the negative files, as accuracy.py picks them.
TREES_CODE = r"""
import json, sys
from pathlib import Path
sys.path[:0] = [sys.argv[1], str(Path(sys.argv[1]).parent)]
from corpus import EXT_LANG, fetch_all, iter_files, packages
set_name, cache, langs = sys.argv[2], Path(sys.argv[3]), set(json.loads(sys.argv[4]))
log = lambda *a: print(*a, file=sys.stderr)
out = {role: [str(t.path) for t in fetch_all(packages(set_name, role), cache, log=log)]
       for role in ("copyleft", "permissive", "base")}
neg = []
for root in out["permissive"]:
    for f in iter_files(Path(root)):
        lang = EXT_LANG.get(f.suffix.lower())
        if lang in langs and 0 < f.stat().st_size <= 1_000_000:
            neg.append(str(f))
out["negative_files"] = neg
print(json.dumps(out))
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(cmd: list, *, cwd=None, env=None, capture: bool = True, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, text=True,
                       stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None)
    if check and p.returncode != 0:
        raise SystemExit(f"failed (exit {p.returncode}): {' '.join(map(str, cmd))[:400]}\n{(p.stderr or '')[-3000:]}")
    return p


def clean_env() -> dict:
    """The environment for the refs' CLIs: no LICSCAN_* setting leaks into either run."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LICSCAN_") or k == "LICSCAN_BENCH_CACHE"}


def resolve(ref: str) -> str:
    return run(["git", "-C", REPO, "rev-parse", "--verify", f"{ref}^{{commit}}"]).stdout.strip()


def export_and_install(label: str, sha: str, work: Path) -> Path:
    """git archive SHA | tar -x -C DIR; python3 -m venv DIR/.venv; pip install -q -e DIR."""
    d = work / f"{label}-{sha[:7]}"
    if not (d / ".venv" / "bin" / "licscan").exists():
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        t0 = time.perf_counter()
        arch = subprocess.Popen(["git", "-C", str(REPO), "archive", sha], stdout=subprocess.PIPE)
        tar = subprocess.run(["tar", "-x", "-C", str(d)], stdin=arch.stdout)
        arch.stdout.close()
        if arch.wait() != 0 or tar.returncode != 0:
            raise SystemExit(f"git archive {sha} | tar failed")
        run(["python3", "-m", "venv", d / ".venv"])
        run([d / ".venv/bin/pip", "install", "-q", "-e", d])
        log(f"{label}: {sha[:7]} exported and installed in {d} ({time.perf_counter() - t0:.0f}s)")
    return d


def index_stats(d: Path, index: Path, env: dict) -> dict:
    info = json.loads(run([d / ".venv/bin/licscan", "index", "info", "--format", "json", index], env=env).stdout)
    keep = {}
    for k, v in info.items():
        if k in ("path", "built_at", "sources", "roots", "base"):
            continue
        keep[k] = v
    return keep


def build(label: str, d: Path, work: Path, roots: list[str], base: list[str], env: dict, workers: int | None) -> tuple[Path, float, str]:
    out = work / f"index-{label}.lsi"
    out.unlink(missing_ok=True)
    cmd = [d / ".venv/bin/licscan", "index", "build", "--no-licenses", "--out", out]
    if workers:
        cmd += ["--workers", workers]
    for b in base:
        cmd += ["--base", b]
    cmd += roots
    t0 = time.perf_counter()
    p = run(cmd, cwd=work, env=env)
    wall = time.perf_counter() - t0
    return out, wall, (p.stderr or "").strip()


def scan(label: str, d: Path, index: Path, files: list[str], work: Path, env: dict, batch: int, jobs: int) -> tuple[dict, dict, float]:
    """Scan ``files`` in batches; (findings per scanned file, summary totals, wall seconds)."""
    outdir = work / f"scan-{label}"
    outdir.mkdir(exist_ok=True)
    batches = [files[i:i + batch] for i in range(0, len(files), batch)]

    def one(i: int) -> dict:
        out = outdir / f"batch{i:04d}.json"
        p = run([d / ".venv/bin/licscan", "scan", "--format", "json", "--index", index, "--fail-on", "never",
                 "--output", out, *batches[i]], cwd=work, env=env, check=False)
        if p.returncode != 0 or not out.is_file():
            raise SystemExit(f"{label}: scan of batch {i} failed (exit {p.returncode}):\n{(p.stderr or '')[-3000:]}")
        return json.loads(out.read_text())

    t0 = time.perf_counter()
    with ThreadPoolExecutor(jobs) as ex:
        docs = list(ex.map(one, range(len(batches))))
    wall = time.perf_counter() - t0
    per_file: dict[str, list[dict]] = {f: [] for f in files}
    summary = {"scanned": 0, "findings": 0, "skipped": defaultdict(list)}
    for doc in docs:
        s = doc.get("summary", {})
        summary["scanned"] += s.get("scanned", 0)
        summary["findings"] += s.get("findings", 0)
        for reason, paths in (s.get("skipped") or {}).items():
            summary["skipped"][reason] += paths
        for f in doc["findings"]:
            per_file.setdefault(f["path"], []).append(f)
    summary["skipped"] = {k: sorted(v) for k, v in sorted(summary["skipped"].items())}
    return per_file, summary, wall


def key(f: dict) -> tuple:
    """The compared fields of one finding, exactly as reported."""
    src = f.get("source") or {}
    return (f["path"], f["start_line"], f["end_line"], src.get("path"), src.get("start_line"), src.get("end_line"),
            f.get("similarity"), f.get("tokens"))


def compare(files: list[str], old: dict, new: dict) -> tuple[Counter, list[dict]]:
    """Per file: identical findings (as a multiset), changed ones (same file, same source path,
    overlapping lines, some compared field different), and the rest only in one ref."""
    t: Counter = Counter()
    diffs: list[dict] = []
    for path in files:
        ko = Counter(key(f) for f in old.get(path, []))
        kn = Counter(key(f) for f in new.get(path, []))
        t["files"] += 1
        t["old"] += sum(ko.values())
        t["new"] += sum(kn.values())
        same = ko & kn
        t["identical"] += sum(same.values())
        ro = sorted((ko - same).elements())
        rn = sorted((kn - same).elements())
        if ro or rn:
            t["files_differing"] += 1
        for a in list(ro):
            b = next((b for b in rn if b[3] == a[3] and a[1] <= b[2] and b[1] <= a[2]), None)
            if b is not None:
                ro.remove(a)
                rn.remove(b)
                t["changed"] += 1
                diffs.append({"kind": "changed", "old": a, "new": b})
        for a in ro:
            t["only_old"] += 1
            diffs.append({"kind": "only-old", "old": a})
        for b in rn:
            t["only_new"] += 1
            diffs.append({"kind": "only-new", "new": b})
    return t, diffs


def other_fields(files: list[str], old: dict, new: dict) -> Counter:
    """Not part of the check: among findings identical on the compared fields, how many differ
    in another field that both reports carry (anchors, also_in, verdict, ...), by field."""
    out: Counter = Counter()
    for path in files:
        by_key = defaultdict(list)
        for f in old.get(path, []):
            by_key[key(f)].append(f)
        for g in new.get(path, []):
            if by_key.get(key(g)):
                f = by_key[key(g)].pop(0)
                for k in sorted(set(f) & set(g)):
                    if f[k] != g[k]:
                        out[k] += 1
    return out


def fmt_key(k: tuple, strip: str) -> str:
    path = k[0][len(strip):] if k[0].startswith(strip) else k[0]
    return f"{path}:{k[1]}-{k[2]} <- {k[3]}:{k[4]}-{k[5]} sim={k[6]!r} tokens={k[7]}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", nargs="?", default="27bb7e1", help="old git ref (default %(default)s)")
    ap.add_argument("new", nargs="?", default="HEAD", help="new git ref (default %(default)s)")
    ap.add_argument("--set", default="quick", choices=("quick", "accuracy"), help="benchmark set (default %(default)s)")
    ap.add_argument("--seed", type=int, default=1234, help="case seed (default %(default)s)")
    ap.add_argument("--per-class", type=int, default=None, help="cases per class (default 40 quick, 200 accuracy)")
    ap.add_argument("--negatives", type=int, default=None, help="negative functions (default 60 quick, 200 accuracy)")
    ap.add_argument("--cache", type=Path, default=None,
                    help="corpus cache (default: $LICSCAN_BENCH_CACHE or ~/.cache/licscan/bench, as bench/corpus.py)")
    ap.add_argument("--work", type=Path, default=None, help="work dir (default: a new temporary dir)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (always kept when --work is given)")
    ap.add_argument("--no-base", action="store_true", help="build both indexes without the base code")
    ap.add_argument("--no-file-negatives", action="store_true", help="scan the case files only")
    ap.add_argument("--batch", type=int, default=200, help="paths per scan call (default %(default)s)")
    ap.add_argument("--jobs", type=int, default=2, help="scan calls at once, per ref (default %(default)s)")
    ap.add_argument("--workers", type=int, default=None, help="index build workers (default: the CLI's)")
    ap.add_argument("--show", type=int, default=30, help="differences to list (default %(default)s)")
    a = ap.parse_args(argv)

    t_start = time.perf_counter()
    cache = a.cache or Path(os.environ.get("LICSCAN_BENCH_CACHE") or Path.home() / ".cache/licscan/bench").expanduser()
    shas = {"old": resolve(a.old), "new": resolve(a.new)}
    work = a.work or Path(tempfile.mkdtemp(prefix="licscan-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    env = clean_env()
    log(f"old {a.old} = {shas['old'][:7]}, new {a.new} = {shas['new'][:7]}; work dir {work}; cache {cache}")
    try:
        with ThreadPoolExecutor(2) as ex:
            dirs = dict(zip(shas, ex.map(lambda lab: export_and_install(lab, shas[lab], work), shas)))
        newd = dirs["new"]
        py_new = newd / ".venv/bin/python"

        # ---- cases: generated once, with the NEW ref's bench/cases.py
        per_class = a.per_class or (40 if a.set == "quick" else 200)
        negs = a.negatives if a.negatives is not None else (60 if a.set == "quick" else 200)
        casedir = work / f"cases-{a.set}-s{a.seed}-n{per_class}-neg{negs}"
        if not (casedir / "cases.json").is_file():
            t0 = time.perf_counter()
            run([py_new, newd / "bench/cases.py", "--set", a.set, "--seed", a.seed, "--per-class", per_class,
                 "--negatives", negs, "--cache", cache, "--out", casedir], cwd=newd, env=env)
            log(f"generated the cases in {casedir} ({time.perf_counter() - t0:.0f}s)")
        cases = json.loads((casedir / "cases.json").read_text())
        case_files = sorted({str(casedir / c["file"]) for c in cases})
        langs = sorted({c["lang"] for c in cases})

        # ---- corpus trees (already fetched by cases.py) and the negative files
        trees = json.loads(run([py_new, "-c", TREES_CODE, newd / "bench", a.set, cache, json.dumps(langs)],
                               cwd=newd, env=env).stdout)
        roots, base = trees["copyleft"], ([] if a.no_base else trees["base"])
        neg_files = [] if a.no_file_negatives else sorted(trees["negative_files"])
        files = case_files + neg_files
        log(f"{len(roots)} copyleft trees, {len(base)} base trees; {len(case_files)} case files, "
            f"{len(neg_files)} negative files")

        # ---- per ref: build, then scan
        res: dict[str, dict] = {}
        for lab in ("old", "new"):
            d = dirs[lab]
            idx, bwall, bout = build(lab, d, work, roots, base, env, a.workers)
            log(f"{lab}: index built in {bwall:.0f}s: {bout.splitlines()[0] if bout else ''}")
            stats = index_stats(d, idx, env)
            per_file, summary, swall = scan(lab, d, idx, files, work, env, a.batch, a.jobs)
            log(f"{lab}: scanned {len(files)} files in {swall:.0f}s: {summary['findings']} findings")
            res[lab] = {"stats": stats, "findings": per_file, "summary": summary, "build_s": bwall, "scan_s": swall}

        # ---- compare
        t, diffs = compare(files, res["old"]["findings"], res["new"]["findings"])
        tc, _ = compare(case_files, res["old"]["findings"], res["new"]["findings"])
        tn, _ = compare(neg_files, res["old"]["findings"], res["new"]["findings"])
        cols = ("files", "old", "new", "identical", "only_old", "only_new", "changed")
        hdr = ("| files | scanned | findings old | findings new | identical | only-old | only-new | changed |\n"
               "|---|---|---|---|---|---|---|---|")
        rows = [(f"case files ({len(cases)} cases)", tc), ("negative files (permissive)", tn), ("**all**", t)]
        print(f"\nold {a.old} ({shas['old'][:7]}) vs new {a.new} ({shas['new'][:7]}); set {a.set}, seed {a.seed}, "
              f"{per_class} cases per class, {negs} negative functions; base code: {'none' if not base else len(base)} trees\n")
        print(hdr)
        for name, c in rows:
            print(f"| {name} | " + " | ".join(str(c[k]) for k in cols) + " |")
        so, sn = res["old"]["summary"], res["new"]["summary"]
        print(f"\nscan summaries: scanned {so['scanned']} / {sn['scanned']}; skipped "
              f"{ {k: len(v) for k, v in so['skipped'].items()} } / { {k: len(v) for k, v in sn['skipped'].items()} }"
              f" ({'same' if so['skipped'] == sn['skipped'] else 'DIFFERENT'})")
        st_o, st_n = res["old"]["stats"], res["new"]["stats"]
        sdiff = {k: (st_o.get(k), st_n.get(k)) for k in sorted(set(st_o) | set(st_n)) if st_o.get(k) != st_n.get(k)}
        of = other_fields(files, res["old"]["findings"], res["new"]["findings"])
        print("other fields both reports carry, on the identical findings (not part of the check): "
              + ("all equal" if not of else ", ".join(f"{k} differs in {v}" for k, v in sorted(of.items()))))
        print(f"index info: {'identical' if not sdiff else 'differs in ' + ', '.join(sdiff)}")
        for k, (vo, vn) in sdiff.items():
            print(f"  {k}: old {json.dumps(vo)[:300]}\n  {' ' * len(k)}  new {json.dumps(vn)[:300]}")
        print(f"times: build {res['old']['build_s']:.0f}s / {res['new']['build_s']:.0f}s, "
              f"scan {res['old']['scan_s']:.0f}s / {res['new']['scan_s']:.0f}s (old / new; "
              f"{a.jobs} scan calls at once, {a.batch} paths each)")
        strip = str(work) + os.sep
        if diffs:
            print(f"\nfirst {min(a.show, len(diffs))} of {len(diffs)} differences:")
            for df in diffs[:a.show]:
                if df["kind"] == "changed":
                    print(f"  changed  old {fmt_key(df['old'], strip)}\n           new {fmt_key(df['new'], strip)}")
                else:
                    print(f"  {df['kind']} {fmt_key(df.get('old') or df.get('new'), strip)}")
        (work / "compare.json").write_text(json.dumps(
            {"refs": shas, "set": a.set, "seed": a.seed, "totals": t, "cases": tc, "negatives": tn,
             "diffs": diffs, "index_stats": {"old": st_o, "new": st_n},
             "summaries": {"old": so, "new": sn}}, indent=1, default=list))
        print(f"\ndetails: {work / 'compare.json'}; wall {time.perf_counter() - t_start:.0f}s")
        return 0 if not diffs and so["skipped"] == sn["skipped"] and so["scanned"] == sn["scanned"] else 1
    finally:
        if a.work is None and not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
