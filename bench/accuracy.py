#!/usr/bin/env python3
"""Accuracy benchmark: licscan vs jscpd on generated leak cases over real copyleft code.

1. fetch the corpus (bench/corpus.py) and generate the cases (bench/cases.py, cached);
2. build a licscan index of the copyleft trees in a subprocess (wall time, peak RSS);
3. scan every case with the in-process Matcher, in a subprocess (wall time, peak RSS);
4. run jscpd 5.3.2 over corpus + cases (bench/peer_jscpd.py);
5. print recall per class, false-positive rate on negatives, and line-range accuracy.

    python bench/accuracy.py --quick        # small corpus, 40 cases per class (~5 min)
    python bench/accuracy.py                # accuracy corpus, 200 cases per class
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for p in (str(ROOT), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

from cases import CLASSES, DEFAULT_SEED, Case, generate, held_per_class, lang_of, load_cases, summary_table  # noqa: E402
from corpus import EXT_LANG, Tree, default_cache, fetch_all, iter_files, packages  # noqa: E402


# --------------------------------------------------------------------------------------
# subprocess helpers


def run_usage(cmd: list[str], stdout_path: Path, **kw) -> tuple[int, float, os.struct_rusage, str]:
    """Run cmd with stdout to a file; (exit code, wall seconds, its rusage and its reaped
    children's, stderr tail)."""
    t0 = time.perf_counter()
    with open(stdout_path, "w") as out, open(str(stdout_path) + ".err", "w") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, **kw)
        _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    tail = Path(str(stdout_path) + ".err").read_text(errors="replace")[-3000:]
    return proc.returncode, wall, ru, tail


def run_rusage(cmd: list[str], stdout_path: Path, **kw) -> tuple[int, float, int, str]:
    """``run_usage`` with the peak RSS (KiB) for the rusage."""
    rc, wall, ru, tail = run_usage(cmd, stdout_path, **kw)
    return rc, wall, ru.ru_maxrss, tail


BUILD_CODE = """
import json, sys, dataclasses
from pathlib import Path
from licscan.engine.build import build_index
roots = [Path(p) for p in json.loads(sys.argv[1])]
base = [Path(p) for p in json.loads(sys.argv[5])] if len(sys.argv) > 5 else []
s = build_index(roots, Path(sys.argv[2]), workers=int(sys.argv[3]) or None, licenses=sys.argv[4] == "1",
                base=base)
print(json.dumps(dataclasses.asdict(s)))
"""


def build(trees: list[Tree], out: Path, *, workers: int, licenses: bool, base: list[Tree] = (), log=print) -> dict:
    out.unlink(missing_ok=True)
    cmd = [sys.executable, "-c", BUILD_CODE, json.dumps([str(t.path) for t in trees]), str(out), str(workers),
           "1" if licenses else "0", json.dumps([str(t.path) for t in base])]
    log(f"building the index of {len(trees)} trees -> {out} (licenses: {'on' if licenses else 'off'}; "
        f"base code: {', '.join(t.name for t in base) or 'none'}) ...")
    rc, wall, rss, err = run_rusage(cmd, out.with_suffix(".build.json"), cwd=str(ROOT))
    if rc != 0:
        raise SystemExit(f"index build failed (exit {rc}):\n{err}")
    summary = json.loads(out.with_suffix(".build.json").read_text().strip().splitlines()[-1])
    summary["wall"] = wall
    summary["maxrss_kb"] = rss
    return summary


def scan_worker(index: str, casedir: str, out: str) -> None:
    """In a subprocess: scan every case with one Matcher, write findings + latencies as JSON."""
    from licscan.engine.index import open_index
    from licscan.engine.matcher import Matcher

    t0 = time.perf_counter()
    idx = open_index(index)
    m = Matcher(idx)
    t_open = time.perf_counter() - t0
    res = {}
    lat = []
    errors = {}
    cases = load_cases(Path(casedir))
    t1 = time.perf_counter()
    for c in cases:
        text = (Path(casedir) / c.file).read_text(encoding="utf-8", errors="replace")
        s = time.perf_counter()
        try:
            fs = m.scan_text(text, c.lang, c.file)
        except Exception as e:  # an engine bug: record it, go on
            errors[c.id] = f"{type(e).__name__}: {e}"
            fs = []
        lat.append(time.perf_counter() - s)
        res[c.id] = [f.to_dict() for f in fs]
    total = time.perf_counter() - t1
    Path(out).write_text(json.dumps({"findings": res, "latency": lat, "open_seconds": t_open, "scan_seconds": total,
                                     "errors": errors}))


def scan_files_worker(index: str, list_json: str, out: str) -> None:
    """In a subprocess: scan whole files [(path, lang)], write their findings as JSON."""
    from licscan.engine.index import open_index
    from licscan.engine.matcher import Matcher

    m = Matcher(open_index(index))
    res, errors = {}, {}
    t0 = time.perf_counter()
    for path, lang in json.loads(Path(list_json).read_text()):
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        try:
            fs = m.scan_text(text, lang, path)
        except Exception as e:
            errors[path] = f"{type(e).__name__}: {e}"
            continue
        if fs:
            res[path] = [f.to_dict() for f in fs]
    Path(out).write_text(json.dumps({"findings": res, "errors": errors, "seconds": time.perf_counter() - t0}))


# --------------------------------------------------------------------------------------
# ground truth helpers


def line_set(a: int, b: int) -> set[int]:
    return set(range(a, b + 1))


def iou(got: set[int], truth: set[int]) -> float:
    if not got and not truth:
        return 1.0
    return len(got & truth) / len(got | truth)


def overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    return a0 <= b1 and b0 <= a1


class Truth:
    """Which corpus files count as 'the' source of a case: the file itself, the same path in
    another package (vendored gnulib & co.), and files with identical content."""

    def __init__(self, trees: list[Tree], cases: list[Case]):
        self.trees = {t.name: t for t in trees}
        wanted = {c.source_path for c in cases if c.cls in CLASSES}
        rels = defaultdict(set)
        by_hash = defaultdict(set)
        want_hash = {}
        for p in wanted:
            tree, rel = p.split("/", 1)
            rels[rel].add(p)
            f = self.trees[tree].path / rel
            want_hash[p] = hashlib.sha1(f.read_bytes()).hexdigest()
        wanted_rels = set(rels)
        hashes = set(want_hash.values())
        sizes = {(self.trees[p.split("/", 1)[0]].path / p.split("/", 1)[1]).stat().st_size for p in wanted}
        for t in trees:
            for f in iter_files(t.path):
                if lang_of(f) is None:
                    continue
                rel = f.relative_to(t.path).as_posix()
                name = f"{t.name}/{rel}"
                if rel in wanted_rels:
                    rels[rel].add(name)
                if f.stat().st_size in sizes and hashlib.sha1(f.read_bytes()).hexdigest() in hashes:
                    by_hash[hashlib.sha1(f.read_bytes()).hexdigest()].add(name)
        self._verbatim: dict[tuple, bool] = {}
        self._content: dict[str, str | None] = {}
        self.same_lines: dict[str, set[str]] = {}
        self.accept: dict[str, set[str]] = {}
        for p in wanted:
            same = {p} | by_hash[want_hash[p]]
            self.same_lines[p] = same
            self.accept[p] = same | rels[p.split("/", 1)[1]]

    def verbatim_in(self, name: str, c: Case) -> bool:
        """Does corpus file ``name`` hold the case's source lines verbatim (whitespace aside)?

        Boilerplate is often copied between files of one project (webpack runtimes in every
        WordPress bundle, ...): a finding naming such a file names a true source too.
        """
        key = (name, c.source_path, c.source_start, c.source_end)
        if key not in self._verbatim:
            snippet = self._snippet(c.source_path, c.source_start, c.source_end)
            content = self._stripped(name)
            self._verbatim[key] = bool(snippet) and content is not None and snippet in content
        return self._verbatim[key]

    def _path(self, name: str) -> Path | None:
        tree, _, rel = name.partition("/")
        t = self.trees.get(tree)
        return t.path / rel if t is not None else None

    def _stripped(self, name: str) -> str | None:
        if name not in self._content:
            if len(self._content) > 512:
                self._content.clear()
            p = self._path(name)
            try:
                self._content[name] = re.sub(r"\s+", "", p.read_text(errors="replace")) if p else None
            except OSError:
                self._content[name] = None
        return self._content[name]

    def _snippet(self, name: str, a: int, b: int) -> str:
        p = self._path(name)
        lines = p.read_text(errors="replace").splitlines()[a - 1 : b] if p else []
        return re.sub(r"\s+", "", "\n".join(lines))

    def name_of(self, abspath: str) -> str | None:
        """Index naming of an absolute corpus path."""
        for name, t in self.trees.items():
            root = str(t.path) + os.sep
            if abspath.startswith(root):
                return f"{name}/{abspath[len(root):]}"
        return None


def score_case(c: Case, found: list[dict], truth: Truth) -> dict:
    """found: dicts with start_line, end_line, source_path, source_start, source_end, also (list)."""
    r: dict = {"findings": len(found)}
    if c.cls not in CLASSES:
        r["fp"] = bool(found)
        return r
    accept = truth.accept[c.source_path]
    same = truth.same_lines[c.source_path]
    T = line_set(c.case_start, c.case_end)
    S = line_set(c.source_start, c.source_end)
    over = [f for f in found if overlaps(f["start_line"], f["end_line"], c.case_start, c.case_end)]
    hits = [f for f in over if f["source_path"] in accept or any(a in accept for a in f.get("also", ()))
            or truth.verbatim_in(f["source_path"], c)]
    r["hit_any_source"] = bool(over)
    r["detected"] = bool(hits)
    r["outside"] = any(not overlaps(f["start_line"], f["end_line"], c.case_start, c.case_end) for f in found)
    if hits:
        got = set().union(*(line_set(f["start_line"], f["end_line"]) for f in hits))
        r["case_iou"] = iou(got, T)
        sh = [f for f in hits if f["source_path"] in same]
        if sh:
            gs = set().union(*(line_set(f["source_start"], f["source_end"]) for f in sh))
            r["source_iou"] = iou(gs, S)
    return r


def licscan_found(fs: list[dict]) -> list[dict]:
    out = []
    for f in fs:
        src = f["source"]
        out.append({"start_line": f["start_line"], "end_line": f["end_line"], "source_path": src["path"],
                    "source_start": src["start_line"], "source_end": src["end_line"], "also": f.get("also_in") or []})
    return out


def jscpd_found(clones, casedir: Path, truth: Truth) -> dict[str, list[dict]]:
    """Clones that pair a case file with a corpus file, keyed by the case file (relative to casedir)."""
    out: dict[str, list[dict]] = defaultdict(list)
    root = str(casedir.resolve()) + os.sep
    for cl in clones:
        for a, a0, a1, b, b0, b1 in ((cl.a, cl.a_start, cl.a_end, cl.b, cl.b_start, cl.b_end),
                                     (cl.b, cl.b_start, cl.b_end, cl.a, cl.a_start, cl.a_end)):
            if a.startswith(root) and not b.startswith(root):
                name = truth.name_of(b)
                if name is not None:
                    out[a[len(root):]].append({"start_line": a0, "end_line": a1, "source_path": name,
                                               "source_start": b0, "source_end": b1, "also": []})
    return out


# --------------------------------------------------------------------------------------
# tables


def pct(x: float) -> str:
    return f"{100 * x:5.1f}%"


def aggregate(cases: list[Case], scores: dict[str, dict]) -> dict:
    agg: dict = {}
    by_cls = defaultdict(list)
    for c in cases:
        by_cls[c.cls].append(scores[c.id])
    for cls, rs in by_cls.items():
        n = len(rs)
        if cls in CLASSES:
            det = [r for r in rs if r["detected"]]
            ci = [r["case_iou"] for r in det]
            si = [r["source_iou"] for r in det if "source_iou" in r]
            agg[cls] = {
                "n": n,
                "recall": len(det) / n,
                "hit_any": sum(r["hit_any_source"] for r in rs) / n,
                "case_iou": statistics.mean(ci) if ci else float("nan"),
                "case_iou50": sum(x >= 0.5 for x in ci) / n,
                "source_iou": statistics.mean(si) if si else float("nan"),
                "source_iou50": sum(x >= 0.5 for x in si) / n,
                "source_iou_n": len(si),
                "outside": sum(r["outside"] for r in rs) / n,
            }
        else:
            agg[cls] = {"n": n, "fp_rate": sum(r["fp"] for r in rs) / n, "fp": sum(r["fp"] for r in rs)}
    return agg


def print_tables(cases, tools: dict[str, dict[str, dict]], perf: dict[str, dict]) -> None:
    names = list(tools)
    aggs = {t: aggregate(cases, tools[t]) for t in names}
    print()
    print("Recall (case detected: a finding overlapping the copied lines, attributed to the true source file")
    print("or an identical/same-path copy of it); 'any src' also counts findings naming another source.")
    hdr = f"{'class':<28}{'n':>5}" + "".join(f"{t + ' recall':>16}{'any src':>9}" for t in names)
    print(hdr)
    print("-" * len(hdr))
    from report import LABELS as labels
    tot = Counter()
    for cls in CLASSES:
        if cls not in aggs[names[0]]:
            continue
        row = f"{labels[cls]:<28}{aggs[names[0]][cls]['n']:>5}"
        for t in names:
            a = aggs[t][cls]
            row += f"{pct(a['recall']):>16}{pct(a['hit_any']):>9}"
            tot[t] += a["recall"] * a["n"]
        tot["n"] += aggs[names[0]][cls]["n"]
        print(row)
    if tot["n"]:
        print(f"{'all positives':<28}{tot['n']:>5}" + "".join(f"{pct(tot[t] / tot['n']):>16}{'':>9}" for t in names))
    print()
    print("False positives (cases with any finding / cases)")
    hdr = f"{'negatives':<28}{'n':>5}" + "".join(f"{t + ' FP':>16}" for t in names)
    print(hdr)
    print("-" * len(hdr))
    neg_by = defaultdict(list)
    for c in cases:
        if c.cls == "neg":
            neg_by[c.origin.rsplit("_", 1)[0]].append(c)
    copied = {c.id: where for c in cases if c.cls == "neg" and (where := copied_elsewhere(c.origin, c.source_path))}
    for grp in ("neg", "idiom"):
        if grp not in aggs[names[0]]:
            continue
        lab = "permissive functions" if grp == "neg" else "generic idioms"
        row = f"{lab:<28}{aggs[names[0]][grp]['n']:>5}"
        for t in names:
            a = aggs[t][grp]
            row += f"{a['fp']:>7} ={pct(a['fp_rate']):>7} "
        print(row)
        if grp == "neg" and copied:
            cs = [c for v in neg_by.values() for c in v if c.id not in copied]
            row = f"{'  excluding *':<28}{len(cs):>5}"
            for t in names:
                fp = sum(tools[t][c.id]["fp"] for c in cs)
                row += f"{fp:>7} ={pct(fp / max(1, len(cs))):>7} "
            print(row)
    for pkg, cs in sorted(neg_by.items()):
        row = f"  {pkg + (' *' if any(c.id in copied for c in cs) else ''):<26}{len(cs):>5}"
        for t in names:
            fp = sum(tools[t][c.id]["fp"] for c in cs)
            row += f"{fp:>7} ={pct(fp / len(cs)):>7} "
        print(row)
    for pkg, cs in sorted(neg_by.items()):
        wheres = sorted({copied[c.id] for c in cs if c.id in copied})
        n = sum(c.id in copied for c in cs)
        for w in wheres:
            part = "" if n == len(cs) else f" ({n} of its {len(cs)} cases)"
            print(f"  * {pkg}{part}: code of it is in the indexed corpus: {w}")
    print()
    print("Line ranges of detected cases: mean IoU with the true range, and share of ALL cases of the")
    print("class with IoU >= 0.5 (case file side | source side); 'outside' = cases with a finding off the copied lines")
    hdr = f"{'class':<22}" + "".join(f"{t + ' case IoU':>17}{'>=.5':>7}{'src IoU':>9}{'>=.5':>7}{'outside':>9}" for t in names)
    print(hdr)
    print("-" * len(hdr))
    for cls in CLASSES:
        if cls not in aggs[names[0]]:
            continue
        row = f"{labels[cls]:<22}"
        for t in names:
            a = aggs[t][cls]
            row += f"{a['case_iou']:>17.2f}{pct(a['case_iou50']):>7}{a['source_iou']:>9.2f}{pct(a['source_iou50']):>7}{pct(a['outside']):>9}"
        print(row)
    print()
    print("Recall by language")
    langs = sorted({c.lang for c in cases if c.cls in CLASSES})
    hdr = f"{'class':<6}" + "".join(f"{lang + ' (' + t + ')':>22}" for lang in langs for t in names)
    print(hdr)
    for cls in CLASSES:
        cs = [c for c in cases if c.cls == cls]
        if not cs:
            continue
        row = f"{cls:<6}"
        for lang in langs:
            sub = [c for c in cs if c.lang == lang]
            for t in names:
                if sub:
                    d = sum(tools[t][c.id]["detected"] for c in sub)
                    row += f"{f'{d}/{len(sub)}':>22}"
                else:
                    row += f"{'-':>22}"
        print(row)
    print()
    print("Cost")
    hdr = f"{'':<38}" + "".join(f"{t:>18}" for t in names)
    print(hdr)
    print("-" * len(hdr))
    keys = sorted({k for t in names for k in perf.get(t, {})}, key=lambda k: list(PERF_ORDER).index(k) if k in PERF_ORDER else 99)
    for k in keys:
        row = f"{PERF_ORDER.get(k, k):<38}"
        for t in names:
            v = perf.get(t, {}).get(k)
            row += f"{v if v is not None else '-':>18}"
        print(row)


def copied_elsewhere(origin: str, path: str) -> str:
    """Where the indexed corpus has a copy of a negative package's file ('' if nowhere
    known): ``origin`` is its tree's name, ``path`` the file's path with or without it."""
    name = origin.rsplit("_", 1)[0]
    for p in packages("all"):
        if name in (p.name, (p.pypi or "").split("==")[0]):
            return p.copied(path[len(origin) + 1:] if path.startswith(origin + "/") else path)
    return ""


def print_file_negatives(neg_files, permissive, file_fp) -> None:
    print()
    print("Whole files of the permissive packages (code files of the case languages, <= 1 MB): files with")
    print("any finding / files. 'x-lang' = licscan findings whose source is in another language.")
    names = list(file_fp)
    hdr = f"{'package':<28}{'files':>7}{'MB':>7}" + "".join(f"{t + ' FP files':>20}" for t in names) + f"{'x-lang':>9}"
    print(hdr)
    print("-" * len(hdr))
    ext_lang = lambda p: EXT_LANG.get(Path(p).suffix.lower())  # noqa: E731
    tot = Counter()
    for t in permissive:
        fs = [p for p, _ in neg_files if p.startswith(str(t.path) + os.sep)]
        if not fs:
            continue
        pkg = t.name.rsplit("_", 1)[0]
        mb = sum(Path(p).stat().st_size for p in fs) / 1e6
        own = [p for p in fs if not copied_elsewhere(t.name, os.path.relpath(p, t.path))]
        row = f"{pkg + (' *' if len(own) < len(fs) else ''):<28}{len(fs):>7}{mb:>7.1f}"
        for n in names:
            k = sum(1 for p in fs if file_fp[n].get(p))
            row += f"{k:>10} ={pct(k / len(fs)):>7} "
            tot[n] += sum(1 for p in own if file_fp[n].get(p))
        xl = sum(1 for p in fs for f in file_fp.get("licscan", {}).get(p, []) if ext_lang(f["source_path"]) != ext_lang(p))
        row += f"{xl:>9}"
        tot["files"] += len(own)
        print(row)
    if tot["files"]:
        print(f"{'all, excluding *':<28}{tot['files']:>7}{'':>7}" + "".join(f"{tot[n]:>10} ={pct(tot[n] / tot['files']):>7} " for n in names))
    lic = file_fp.get("licscan", {})
    allf = [f for fs in lic.values() for f in fs]
    if allf:
        rare0 = sum(1 for f in allf if not f.get("rare"))
        print(f"licscan findings on these files: {len(allf)}; {rare0} with no rare anchor; "
              f"similarity p50 {statistics.median(f['similarity'] for f in allf):.2f}; tokens p50 {statistics.median(f['tokens'] for f in allf):.0f}")


PERF_ORDER = {
    "build_s": "index build wall (s)",
    "build_rss": "index build peak RSS (MiB)",
    "index_mb": "index size (MB)",
    "scan_s": "scan all cases wall (s)",
    "scan_rss": "scan peak RSS (MiB) (jscpd: its run)",
    "lat_p50": "per case p50 (ms)",
    "lat_p95": "per case p95 (ms)",
    "negfiles_s": "scan permissive files wall (s)",
    "negfiles_rate": "  = MB/s",
    "total_s": "total wall, build+cases+files (s)",
}


# --------------------------------------------------------------------------------------


def _scan_subprocess(mode: str, index: Path, what: Path, out: Path, noun: str) -> tuple[dict, float, int]:
    """Run this script's ``--_scan``/``--_scanfiles`` worker; (results, wall s, peak RSS KiB)."""
    rc, wall, rss, err = run_rusage([sys.executable, str(Path(__file__).resolve()), mode, str(index), str(what), str(out)],
                                    out.with_suffix(".log"), cwd=str(ROOT))
    if rc != 0:
        raise SystemExit(f"scan of {noun} failed (exit {rc}):\n{err}")
    res = json.loads(out.read_text())
    if res["errors"]:
        print(f"!! {len(res['errors'])} {noun} raised in the engine, e.g.:")
        for key, e in list(res["errors"].items())[:5]:
            print(f"   {key}: {e}")
    return res, wall, rss


def run_licscan(label: str, a, set_name: str, copyleft: list[Tree], base: list[Tree], casedir: Path,
                cases, truth, neg_files: list[tuple[str, str]]) -> tuple[dict, dict, dict | None]:
    """Build (or reuse) one index, scan every case and every negative file; (perf, scores, file findings)."""
    perf: dict[str, str] = {}
    index = a.cache / f"index-{set_name}{'' if label == 'licscan' else '-' + label}.lsi"
    if not (a.reuse_index and index.is_file()):
        bs = build(copyleft, index, workers=a.workers, licenses=a.licenses, base=base)
        print(f"{label} index: {bs['files']} files, {bs['bytes'] / 1e6:.1f} MB code, {bs['tokens']} tokens, "
              f"{bs['fingerprints']} fingerprints ({bs['base_common']} shared with {bs['base_files']} base files), "
              f"skipped {bs['skipped']}; {bs['wall']:.1f}s, "
              f"peak RSS {bs['maxrss_kb'] / 1024:.0f} MiB, {bs['index_bytes'] / 1e6:.1f} MB")
        perf.update(build_s=f"{bs['wall']:.1f}", build_rss=f"{bs['maxrss_kb'] / 1024:.0f}",
                    index_mb=f"{bs['index_bytes'] / 1e6:.1f}")
    else:
        print(f"reusing {index}")
        perf["index_mb"] = f"{index.stat().st_size / 1e6:.1f}"
    sres, wall, rss = _scan_subprocess("--_scan", index, casedir, casedir / f"{label}-findings.json", "cases")
    lat = sorted(sres["latency"])
    perf.update(scan_s=f"{wall:.1f}", scan_rss=f"{rss / 1024:.0f}",
                lat_p50=f"{1000 * lat[len(lat) // 2]:.1f}", lat_p95=f"{1000 * lat[int(len(lat) * 0.95)]:.1f}")
    scores = {c.id: score_case(c, licscan_found(sres["findings"][c.id]), truth) for c in cases}
    if not neg_files:
        return perf, scores, None
    # ---- whole files of the permissive packages (every file is a negative)
    fres, wall2, _ = _scan_subprocess("--_scanfiles", index, casedir / "negative-files.json",
                                      casedir / f"{label}-file-findings.json", "files")
    found = {p: [{"source_path": f["source"]["path"], "lines": [f["start_line"], f["end_line"]],
                  "similarity": f["similarity"], "tokens": f["tokens"], "rare": f.get("rare_anchors")}
                 for f in fs] for p, fs in fres["findings"].items()}
    nb = sum(Path(p).stat().st_size for p, _ in neg_files)
    perf["negfiles_s"] = f"{wall2:.1f}"
    perf["negfiles_rate"] = f"{nb / 1e6 / wall2:.2f}"
    if "build_s" in perf:
        # the same work as jscpd's one run: corpus, cases and the permissive files
        perf["total_s"] = f"{sum(float(perf.get(k, 0)) for k in ('build_s', 'scan_s', 'negfiles_s')):.1f}"
    return perf, scores, found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small corpus and 40 cases per class")
    ap.add_argument("--cache", type=Path, default=default_cache())
    ap.add_argument("--per-class", type=int, default=None)
    ap.add_argument("--negatives", type=int, default=None)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED,
                    help="default %(default)s, the evaluation seed: never tune on it (bench/README.md)")
    ap.add_argument("--held-out", action=argparse.BooleanOptionalAction, default=None,
                    help="cases from the held-out packages too (default: only with the default seed)")
    ap.add_argument("--jscpd-sweep", default=None, metavar="SPEC",
                    help="jscpd settings to sweep, e.g. 'mode=weak,mild;min-tokens=20,50;min-lines=3,5'")
    ap.add_argument("--no-sweep", action="store_true", help="run jscpd with its default setting only")
    ap.add_argument("--results", type=Path, default=BENCH / "RESULTS.md", help="append the summary here")
    ap.add_argument("--no-results", action="store_true", help="do not append to the results file")
    ap.add_argument("--workers", type=int, default=0, help="index build workers (default: all cores)")
    ap.add_argument("--licenses", action="store_true", help="detect licenses during the build (slow; not needed for matching)")
    ap.add_argument("--reuse-index", action="store_true", help="reuse an index built by an earlier run")
    ap.add_argument("--regen", action="store_true", help="regenerate the cases")
    ap.add_argument("--no-jscpd", action="store_true")
    ap.add_argument("--jscpd-args", default=None, help="jscpd flags instead of the default ones")
    ap.add_argument("--no-file-negatives", action="store_true", help="skip scanning the permissive trees file by file")
    ap.add_argument("--no-base", action="store_true", help="build without the base code (permissive libraries)")
    ap.add_argument("--no-ablation", action="store_true", help="skip the second licscan run without base code")
    ap.add_argument("--_scan", nargs=3, metavar=("INDEX", "CASEDIR", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--_scanfiles", nargs=3, metavar=("INDEX", "LIST", "OUT"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a._scan:
        scan_worker(*a._scan)
        return 0
    if a._scanfiles:
        scan_files_worker(*a._scanfiles)
        return 0

    t_start = time.perf_counter()
    from report import git_commit

    a.commit = git_commit(ROOT)  # the code that runs: taken now, not when the results are appended
    load0 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    set_name = "quick" if a.quick else "accuracy"
    per_class = a.per_class or (40 if a.quick else 200)
    negs = a.negatives if a.negatives is not None else (60 if a.quick else 200)
    from heldout import split, wanted

    copyleft = fetch_all(packages(set_name, "copyleft"), a.cache)  # all indexed, held-out packages too
    tuning, held = split(copyleft)
    use_held = wanted(a.seed, a.held_out) and bool(held)
    permissive = fetch_all(packages(set_name, "permissive"), a.cache)
    base = [] if a.no_base else fetch_all(packages(set_name, "base"), a.cache)
    casedir = a.cache / f"cases-{set_name}-s{a.seed}-n{per_class}-neg{negs}{'-held' if use_held else ''}-v16b"
    if a.regen or not (casedir / "cases.json").is_file():
        import shutil

        shutil.rmtree(casedir, ignore_errors=True)
        t0 = time.perf_counter()
        generate(tuning, permissive, casedir, per_class=per_class, negatives=negs, seed=a.seed,
                 held_out=held if use_held else [], held_per_class=held_per_class(per_class))
        print(f"generated cases in {time.perf_counter() - t0:.1f}s")
    cases = load_cases(casedir)
    print(f"corpus ({set_name}): {', '.join(t.name for t in copyleft)}")
    print(f"held-out packages (indexed; cases {'drawn' if use_held else 'NOT drawn: a tuning run'}): "
          f"{', '.join(t.name for t in held) or 'none'}; seed {a.seed}")
    print(f"negatives from: {', '.join(t.name for t in permissive)}")
    print(f"base code (--base): {', '.join(t.name for t in base) or 'none'}")
    print(f"cases: {casedir}")
    print(summary_table(cases))

    truth = Truth(copyleft, cases)
    neg_files: list[tuple[str, str]] = []
    if not a.no_file_negatives:
        case_langs = {c.lang for c in cases}
        for t in permissive:
            for f in iter_files(t.path):
                lang = EXT_LANG.get(f.suffix.lower())
                if lang in case_langs and 0 < f.stat().st_size <= 1_000_000:
                    neg_files.append((str(f), lang))
        (casedir / "negative-files.json").write_text(json.dumps(neg_files))
    perf: dict[str, dict] = {}
    scores: dict[str, dict] = {}
    file_fp: dict[str, dict[str, list[dict]]] = {}
    # licscan as shipped with base code, and without it (what --base is worth, measured)
    variants = [("licscan", base)] + ([("licscan-nobase", [])] if base and not a.no_ablation else [])
    for label, base_trees in variants:
        perf[label], scores[label], found = run_licscan(
            label, a, set_name, copyleft, base_trees, casedir, cases, truth, neg_files)
        if found is not None:
            file_fp[label] = found
    perf["jscpd"] = {}
    sweep_runs: dict[str, dict[str, dict]] = {}
    sweep_s: dict[str, float] = {}
    # ---- jscpd
    if not a.no_jscpd:
        import peer_jscpd

        exe = peer_jscpd.install()
        langs = sorted({c.lang for c in cases})
        case_dirs = sorted(p for p in casedir.iterdir() if p.is_dir())
        extra = a.jscpd_args.split() if a.jscpd_args is not None else None
        print(f"running jscpd {peer_jscpd.version(exe)} ({' '.join(extra if extra is not None else peer_jscpd.DEFAULT_ARGS)}) "
              f"over {len(copyleft)} trees + {len(cases)} cases ...")
        neg_roots = [t.path for t in permissive] if neg_files else []
        jr = peer_jscpd.run([t.path for t in copyleft] + case_dirs + neg_roots, langs=langs, extra=extra, exe=exe,
                            isolate=[[t.path for t in copyleft], case_dirs, neg_roots])
        if jr.returncode not in (0, 1):
            print(f"!! jscpd exit {jr.returncode}: {jr.stderr[-500:]}")
        print(f"jscpd: {len(jr.clones)} clones, {jr.seconds:.1f}s, peak RSS {jr.maxrss_kb / 1024:.0f} MiB")
        jf = jscpd_found(jr.clones, casedir, truth)
        scores["jscpd"] = {c.id: score_case(c, jf.get(c.file, []), truth) for c in cases}
        if neg_files:
            wanted = {p for p, _ in neg_files}
            jfp: dict[str, list[dict]] = defaultdict(list)
            for cl in jr.clones:
                for x, x0, x1, y in ((cl.a, cl.a_start, cl.a_end, cl.b), (cl.b, cl.b_start, cl.b_end, cl.a)):
                    if x in wanted and truth.name_of(y) is not None:
                        jfp[x].append({"source_path": truth.name_of(y), "lines": [x0, x1]})
            file_fp["jscpd"] = dict(jfp)
        perf["jscpd"].update(total_s=f"{jr.seconds:.1f}", scan_rss=f"{jr.maxrss_kb / 1024:.0f}")
        if not a.no_sweep:
            from jscpd_sweep import grid, run_sweep

            def one(st):
                # corpus + cases only: the permissive trees feed the file table, and double a run
                sr = peer_jscpd.run([t.path for t in copyleft] + case_dirs, langs=langs, extra=st.args(), exe=exe,
                                    isolate=[[t.path for t in copyleft], case_dirs])
                print(f"jscpd sweep {st.label}: {len(sr.clones)} clones, {sr.seconds:.1f}s, exit {sr.returncode}")
                sf = jscpd_found(sr.clones, casedir, truth)
                return {c.id: score_case(c, sf.get(c.file, []), truth) for c in cases}, sr.seconds

            sweep_runs, sweep_s = run_sweep(grid(a.jscpd_sweep, quick=a.quick), one)
    else:
        perf.pop("jscpd")
    print_tables([c for c in cases if not c.extra.get("held_out")], scores, perf)
    from report import summarize

    excluded = {c.id for c in cases if c.cls == "neg" and copied_elsewhere(c.origin, c.source_path)}
    summarize(a, ROOT, set_name, cases, CLASSES, excluded, scores, sweep_runs, sweep_s,
              {"copyleft (indexed)": copyleft, "held out (indexed)": held, "permissive (negatives)": permissive,
               "base": base}, use_held, argv)
    if neg_files:
        print_file_negatives(neg_files, permissive, file_fp)
    res_path = a.cache / f"results-accuracy-{set_name}.json"
    res_path.write_text(json.dumps({"scores": scores, "perf": perf, "cases": [asdict(c) for c in cases]}, indent=1))
    print(f"\nper-case results: {res_path}")
    print(f"benchmark wall time: {time.perf_counter() - t_start:.0f}s; load average at start {load0}, at end "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores (other work on the machine skews times)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
