#!/usr/bin/env python3
"""Scale benchmark: do the same cases stay found as unrelated copyleft code joins the index?

The cases, the 1x corpus and the base code are those of bench/accuracy.py (``--set``).
The index is then built again with distractors added: copyleft trees that are the source
of no case (bench/corpus.py's packages outside the set, then the big packages of
bench/scale-distractors.toml, fetched with ``licscan corpus fetch``), until their code
bytes reach each size's multiple of the 1x corpus. For each size and each variant
(this tree's code, and ``--old REF`` exported and installed in a venv of its own, as
bench/compare_refs.py does), it prints recall per class, false positives on the
permissive negatives, build time, peak RSS, index bytes per source byte, in-process
query latency per case (p50/p95) and the cold CLI latency of ``licscan scan FILE``
(p50 of ``--cold-runs``); with ``--old``, per size, the cases the two variants judge
differently (a gain and a loss cancel in the rows). ``--explain-lost`` names the rule that rejected each case
lost between 1x and a larger size (the best-aligned rejected candidate, as
``scan --explain`` shows it).

    python bench/scale.py --set quick --sizes 1,4,8 --old main
    python bench/scale.py --sizes 1,4,8            # the accuracy set (hours on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for p in (str(ROOT), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

from accuracy import BUILD_CODE, Truth, aggregate, copied_elsewhere, licscan_found, run_rusage, score_case  # noqa: E402
from cases import CLASSES, DEFAULT_SEED, generate, held_per_class, load_cases  # noqa: E402
from corpus import EXT_LANG, PACKAGES, Tree, default_cache, fetch_all, iter_files, packages  # noqa: E402
from licscan.files import MAX_BYTES  # noqa: E402

MANIFEST = BENCH / "scale-distractors.toml"
ORDER = ("mercurial", "josm", "coreutils", "redmine", "busybox", "gawk", "bash", "git", "ansible-core", "gnupg2",
         "fish", "readline", "screen", "wordpress", "mediawiki", "linux")
"""Distractors are added in this order (others after): the languages of the cases
(Python, Java, C) first, so that each size adds code the cases can collide with;
linux (1.2 GB of C) last."""

IN_DISTRACTORS = {"php-monolog": "mediawiki (vendor/monolog/monolog)"}
"""Negative packages that a distractor vendors: their matches are true copies (as dash in
busybox is for every size), so they are left out of the FP count at every size."""

EXPLAIN_CODE = r"""
import json, sys
from pathlib import Path
from licscan.engine import explain
from licscan.engine.index import open_index
from licscan.engine.matcher import Matcher
m = Matcher(open_index(sys.argv[1]))
out = {}
for cid, path, lang in json.loads(sys.argv[2]):
    with explain.collecting() as trace:
        m.scan_text(Path(path).read_text(encoding="utf-8", errors="replace"), lang, path)
    rej = [e for e in trace if not e.decision.accepted]
    best = max(rej, key=lambda e: e.shape.matched if e.shape else -1, default=None)
    out[cid] = {"candidates": len(trace), "rule": best.decision.rule if best else "no-candidate",
                "reason": best.decision.reason if best else ""}
print(json.dumps(out))
"""


def log(*a: object) -> None:
    print(*a, file=sys.stderr, flush=True)


def indexable(root: Path) -> int:
    """Bytes of the code files (bench/corpus.py's extensions) under ``root`` that a build
    reads: files over licscan's size limit are skipped, and linux holds 350 MB of them (amdgpu
    register headers), which made an "8x" corpus index at 5.8x."""
    if root.is_file():
        n = root.stat().st_size
        return n if EXT_LANG.get(root.suffix.lower()) and n <= MAX_BYTES else 0
    return sum(p.stat().st_size for p in iter_files(root)
               if EXT_LANG.get(p.suffix.lower()) and p.stat().st_size <= MAX_BYTES)


def code_bytes(t: Tree, cache: Path) -> int:
    """Indexable code bytes of a tree (``indexable``); cached per path."""
    memo = cache / "scale-code-bytes-v2.json"
    seen = json.loads(memo.read_text()) if memo.is_file() else {}
    if str(t.path) not in seen:
        seen[str(t.path)] = indexable(t.path)
        memo.write_text(json.dumps(seen))
    return seen[str(t.path)]


def distractor_pool(set_name: str, cache: Path) -> list[Tree]:
    """Copyleft trees that are the source of no case of ``set_name``: bench/corpus.py's
    other copyleft packages (those that fetch), then the scale manifest's, smallest first."""
    ours = {p.name for p in packages(set_name)}
    others = [p for p in PACKAGES if p.role == "copyleft" and p.name not in ours and "large" not in p.sets]
    pool: list[Tree] = []
    for p in others:
        try:
            pool += fetch_all([p], cache, log=log)
        except (SystemExit, Exception) as e:  # a 404 on this mirror: the others go on
            log(f"  {p.name}: not fetched ({e})")
    from licscan.corpus.fetch import fetch_source
    from licscan.corpus.manifest import load_manifest
    from licscan.model import LicscanError

    subprocess.run([str(Path(sys.executable).parent / "licscan"), "corpus", "fetch", str(MANIFEST)], check=False)
    big = []
    for src in load_manifest(MANIFEST).sources:
        try:
            got = fetch_source(src)
        except LicscanError as e:
            log(f"  {src.name}: not fetched ({e})")
            continue
        big.append(Tree(PACKAGES[0].__class__(src.name, "copyleft", "copyleft", frozenset()), Path(got.root), "debian"))
    rank = {n: i for i, n in enumerate(ORDER)}
    return sorted(pool + big, key=lambda t: (rank.get(t.package.name, len(ORDER)), code_bytes(t, cache)))


def pick(pool: list[Tree], extra: int, cache: Path, whole: bool = False) -> list[Tree]:
    """Distractors in pool order until their code reaches ``extra`` bytes. A tree that would
    overshoot by more than a quarter of what is missing (linux: 1.2 GB of C, where 4x of the
    accuracy set needs 0.1 GB more) is taken in part (``part_of``), unless ``whole``."""
    out, got = [], 0
    for t in pool:
        if got >= extra:
            break
        need = extra - got
        size = code_bytes(t, cache)
        if not whole and size > need * 1.25 and t.path.is_dir():
            t = part_of(t, need, cache)
            size = code_bytes(t, cache)
        out.append(t)
        got += size
    return out


def shown(t: Tree, cache: Path) -> str:
    """A distractor's name, with its code size when it is a part of its tree."""
    part = (cache / "scale-parts") in t.path.parents
    return f"{t.name} (part: {code_bytes(t, cache) / 1e6:.0f} MB of code)" if part else t.name


def part_of(t: Tree, need: int, cache: Path) -> Tree:
    """About ``need`` code bytes of ``t``: its entries in sorted order, whole while they fit,
    split into their own entries when they do not, hard-linked (no copy, same inodes) into
    ``cache/scale-parts/<name>-<need>/<name>``. The root keeps the tree's name, so the part
    is one project, as the whole tree would be: a distractor, the source of no case."""
    dest = cache / "scale-parts" / f"{t.name}-{need}" / t.name
    if not dest.is_dir():
        tmp = dest.parent.with_name(dest.parent.name + ".tmp")
        subprocess.run(["rm", "-rf", str(tmp)], check=True)
        left = need

        def take(src: Path, dst: Path) -> None:
            nonlocal left
            for entry in sorted(src.iterdir()):
                if left <= 0:
                    return
                if entry.is_symlink():
                    continue
                n = indexable(entry)
                if entry.is_dir() and n > left:
                    take(entry, dst / entry.name)
                    continue
                if n > left:
                    continue
                (dst / entry.name).parent.mkdir(parents=True, exist_ok=True)
                subprocess.run(["cp", "-al", str(entry), str(dst / entry.name)], check=True)
                left -= n

        take(t.path, tmp / t.name)
        tmp.rename(dest.parent)
    return Tree(t.package, dest, t.origin)


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))] if xs else float("nan")


def run_variant(label: str, repo: Path, py: Path, trees: list[Tree], base: list[Tree], index: Path,
                casedir: Path, cases, truth: Truth, a) -> dict:
    """Build one index with one variant's code and scan every case with it."""
    env = {**os.environ, "LICSCAN_LICENSE_ENGINE": "light"}
    usage = index.with_suffix(".rusage.json")
    if a.reuse_index and reusable(py, repo, index, trees):
        # A scan-time change needs no new index: the build's figures are those of the run that built it.
        got = json.loads(usage.read_text()) if usage.is_file() else {}
        wall, rss = got.get("wall", float("nan")), got.get("rss_kib", float("nan"))
        log(f"  {index.name}: reused (built by {got.get('commit', 'an earlier run')})")
    else:
        index.unlink(missing_ok=True)
        cmd = [str(py), "-c", BUILD_CODE, json.dumps([str(t.path) for t in trees]), str(index), str(a.workers), "0",
               json.dumps([str(t.path) for t in base])]
        rc, wall, rss, err = run_rusage(cmd, index.with_suffix(".build.json"), cwd=str(repo), env=env)
        if rc != 0:
            raise SystemExit(f"{label}: index build failed (exit {rc}):\n{err}")
        usage.write_text(json.dumps({"wall": wall, "rss_kib": rss, "commit": a.commit_of.get(str(repo), "?")}))
    bs = json.loads(index.with_suffix(".build.json").read_text().strip().splitlines()[-1])
    out = casedir / f"scale-{label}-{index.stem}.json"
    rc, swall, srss, err = run_rusage([str(py), str(repo / "bench" / "accuracy.py"), "--_scan", str(index),
                                       str(casedir), str(out)], out.with_suffix(".log"), cwd=str(repo), env=env)
    if rc != 0:
        raise SystemExit(f"{label}: scan failed (exit {rc}):\n{err}")
    res = json.loads(out.read_text())
    scores = {c.id: score_case(c, licscan_found(res["findings"][c.id]), truth) for c in cases}
    one = next(c for c in cases if c.lang == "c" and c.cls == "a")
    cold = []
    for _ in range(a.cold_runs):
        t0 = time.perf_counter()
        subprocess.run([str(py.parent / "licscan"), "scan", str(casedir / one.file), "--index", str(index),
                        "--fail-on", "never", "--format", "json"], cwd=str(casedir), env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        cold.append(time.perf_counter() - t0)
    # Negatives whose code an indexed tree is known to hold (dash in busybox's ash.c)
    # are true copies, not false positives: left out, as bench/accuracy.py does.
    counted = [c for c in cases if c.cls in CLASSES or not (copied_elsewhere(c.origin, c.source_path)
                                                              or c.origin.rsplit("_", 1)[0] in IN_DISTRACTORS)]
    return {"scores": scores, "agg": aggregate(counted, scores), "build_s": wall, "build_rss_mb": rss / 1024,
            "src_mb": bs["bytes"] / 1e6, "files": bs["files"], "index_mb": bs["index_bytes"] / 1e6,
            "idx_per_src": bs["index_bytes"] / max(1, bs["bytes"]), "mb_per_s": bs["bytes"] / 1e6 / wall,
            "p50_ms": 1000 * percentile(res["latency"], 0.5), "p95_ms": 1000 * percentile(res["latency"], 0.95),
            "cold_p50_s": statistics.median(cold), "scan_rss_mb": srss / 1024, "errors": len(res["errors"])}


def reusable(py: Path, repo: Path, index: Path, trees: list[Tree]) -> bool:
    """Whether ``index`` exists, opens with this code (its schema) and holds exactly ``trees``."""
    if not (index.is_file() and index.with_suffix(".build.json").is_file()):
        return False
    code = ("import json, sys; from licscan.engine.index import open_index; "
            "print(json.dumps([r['path'] for r in open_index(sys.argv[1]).meta['roots']]))")
    p = subprocess.run([str(py), "-c", code, str(index)], cwd=str(repo), capture_output=True, text=True)
    return p.returncode == 0 and json.loads(p.stdout) == [str(t.path.resolve()) for t in trees]


def differences(new: dict, old: dict, cases: list) -> str:
    """The cases whose verdict differs between two variants on one index, by case id: what a
    side-by-side run found that the aggregate rows can hide (a gain and a loss cancel)."""
    def hit(r: dict, c) -> bool:
        return bool(r["scores"][c.id].get("detected" if c.cls in CLASSES else "fp"))
    gained = [c.id for c in cases if c.cls in CLASSES and hit(new, c) and not hit(old, c)]
    lost = [c.id for c in cases if c.cls in CLASSES and hit(old, c) and not hit(new, c)]
    fp_more = [c.id for c in cases if c.cls not in CLASSES and hit(new, c) and not hit(old, c)]
    fp_less = [c.id for c in cases if c.cls not in CLASSES and hit(old, c) and not hit(new, c)]
    return (f"finds {len(gained)} more {gained[:12]}, {len(lost)} fewer {lost[:12]}; flags "
            f"{len(fp_more)} more negatives {fp_more[:12]}, {len(fp_less)} fewer {fp_less[:12]} "
            "(negatives counted or not)")


def explain_lost(py: Path, repo: Path, index: Path, casedir: Path, lost: list) -> Counter:
    arg = json.dumps([(c.id, str(casedir / c.file), c.lang) for c in lost])
    p = subprocess.run([str(py), "-c", EXPLAIN_CODE, str(index), arg], cwd=str(repo), text=True,
                       capture_output=True, env={**os.environ, "LICSCAN_LICENSE_ENGINE": "light"})
    if p.returncode != 0:
        log(p.stderr[-2000:])
        return Counter()
    got = json.loads(p.stdout)
    for c in lost:
        log(f"    lost {c.cls} {c.id}: [{got[c.id]['rule']}] {got[c.id]['reason'][:160]}")
    return Counter(f"{c.cls}:{got[c.id]['rule']}" for c in lost)


def table(rows: list[tuple[str, float, str, dict]], classes: list[str]) -> str:
    head = (["size", "variant", "code MB", "files"] + [f"{c} recall" for c in classes]
            + ["neg FP", "idiom FP", "build s", "MB/s", "build RSS MB", "index B/src B", "p50 ms", "p95 ms",
               "cold p50 s", "scan RSS MB"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for size, mult, label, r in rows:
        ag = r["agg"]
        cells = [f"{size} ({mult:.1f}x)", label, f"{r['src_mb']:.1f}", str(r["files"])]
        cells += [f"{100 * ag[c]['recall']:.1f}" if c in ag else "-" for c in classes]
        for neg in ("neg", "idiom"):
            cells.append(f"{ag[neg]['fp']}/{ag[neg]['n']}" if neg in ag else "-")
        cells += [f"{r['build_s']:.0f}", f"{r['mb_per_s']:.2f}", f"{r['build_rss_mb']:.0f}",  # nan: reused, unknown
                  f"{r['idx_per_src']:.3f}", f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['cold_p50_s']:.2f}",
                  f"{r['scan_rss_mb']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="accuracy", choices=("quick", "accuracy"))
    ap.add_argument("--sizes", default="1,4,8", help="multiples of the set's corpus (code bytes)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--cache", type=Path, default=default_cache())
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--old", default=None, metavar="REF", help="also run this git ref's code (e.g. main), or an installed export of it")
    ap.add_argument("--work", type=Path, default=Path("/tmp/scale-work"), help="venvs of --old refs")
    ap.add_argument("--cold-runs", type=int, default=11)
    ap.add_argument("--commit", default=None, help="the commit to name when ROOT is an export, not a checkout")
    ap.add_argument("--explain-lost", action="store_true")
    ap.add_argument("--results", type=Path, default=BENCH / "RESULTS.md")
    ap.add_argument("--no-results", action="store_true")
    ap.add_argument("--reuse-index", action="store_true",
                    help="keep an index of the same trees that this code opens (for a scan-time change); its "
                         "build columns are those of the run that built it (nan if that run kept no record)")
    a = ap.parse_args(argv)
    from heldout import split, wanted
    from report import git_commit

    commit = a.commit or git_commit(ROOT)
    a.commit_of = {str(ROOT): commit}
    copyleft = fetch_all(packages(a.set, "copyleft"), a.cache, log=log)
    tuning, held = split(copyleft)
    use_held = wanted(a.seed, None) and bool(held)
    base = fetch_all(packages(a.set, "base"), a.cache, log=log)
    per_class, negs = (40, 60) if a.set == "quick" else (200, 200)
    casedir = a.cache / f"cases-{a.set}-s{a.seed}-n{per_class}-neg{negs}{'-held' if use_held else ''}-v16b"
    if not (casedir / "cases.json").is_file():
        permissive = fetch_all(packages(a.set, "permissive"), a.cache, log=log)
        generate(tuning, permissive, casedir, per_class=per_class, negatives=negs, seed=a.seed,
                 held_out=held if use_held else [], held_per_class=held_per_class(per_class))
    cases = load_cases(casedir)
    pool = distractor_pool(a.set, a.cache)
    unit = sum(code_bytes(t, a.cache) for t in copyleft)
    sizes = [float(s) for s in a.sizes.split(",")]
    picks = {s: pick(pool, int((s - 1) * unit), a.cache) for s in sizes}
    truth = Truth(copyleft + picks[max(sizes)], cases)
    variants = [("new", ROOT, Path(sys.executable))]
    if a.old and Path(a.old).is_dir():  # an export already installed (compare_refs.export_and_install)
        d = Path(a.old)
        variants.append((f"old ({d.name})", d, d / ".venv" / "bin" / "python"))
    elif a.old:
        from compare_refs import export_and_install, resolve

        d = export_and_install(a.old.replace("/", "_"), resolve(a.old), a.work)
        variants.append((f"old ({a.old})", d, d / ".venv" / "bin" / "python"))
    rows, results = [], {}
    classes = [c for c in CLASSES if any(x.cls == c for x in cases)]
    for s in sizes:
        trees = copyleft + picks[s]
        mult = sum(code_bytes(t, a.cache) for t in trees) / unit
        log(f"size {s:g}: {mult:.2f}x, distractors: {', '.join(shown(t, a.cache) for t in picks[s]) or 'none'}")
        for label, repo, py in variants:
            index = a.cache / f"index-scale-{a.set}-{s:g}-{label.split()[0]}.lsi"
            r = run_variant(label.split()[0], repo, py, trees, base, index, casedir, cases, truth, a)
            results[(s, label)] = r
            rows.append((f"{s:g}x", mult, label, r))
            log(table(rows[-1:], classes))
            if label != variants[0][0]:
                log(f"  {variants[0][0]} against {label} at {s:g}x: " + differences(results[(s, variants[0][0])], r, cases))
            first = results.get((sizes[0], label))
            if a.explain_lost and first is not None and s != sizes[0]:
                lost = [c for c in cases if c.cls in CLASSES and first["scores"][c.id]["detected"]
                        and not r["scores"][c.id]["detected"]]
                log(f"  {label}: {len(lost)} cases found at {sizes[0]:g}x and lost at {s:g}x")
                if lost:
                    log(f"  rules: {dict(explain_lost(py, repo, index, casedir, lost))}")
    out = table(rows, classes)
    print(out)
    names = {s: ", ".join(shown(t, a.cache) for t in picks[s]) for s in sizes}
    text = (f"\n\n## Scale ({time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, commit {commit}, "
            f"set {a.set}, seed {a.seed})\n\n`python bench/scale.py {' '.join(argv or sys.argv[1:])}`; 1x corpus: "
            f"{', '.join(t.name for t in copyleft)} ({unit / 1e6:.1f} MB code); base: "
            f"{', '.join(t.name for t in base) or 'none'}; distractors (source of no case): "
            + "; ".join(f"{s:g}x + {names[s] or 'none'}" for s in sizes)
            + f". {len(cases)} cases. Builds with {a.workers} workers, no license detection; latency per case "
            f"in process; cold = `licscan scan` of one C case file, p50 of {a.cold_runs}.\n\n{out}\n")
    if not a.no_results:
        with a.results.open("a") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
