#!/usr/bin/env python3
"""License benchmark: correctness against a truth set, and cold/warm time against a baseline.

    python bench/licenses.py --truth               # correctness (bench/license_truth.py), by evidence kind
    python bench/licenses.py --truth --per-package 60 --engine light
    python bench/licenses.py                       # speed set, new code vs the baseline commit
    python bench/licenses.py --trees grep sed      # a subset
    python bench/licenses.py --no-old              # new code only (no agreement column)
    python bench/licenses.py --notices             # also: fast path vs full scancode per distinct notice

The baseline ("old") is the license code as of ``--old-ref``, read with ``git show``
(read-only) into a throwaway package, so both run in this process on the same trees.
Cold runs use an empty temporary cache and new scancode workers (index load included);
warm runs reuse that cache. Trees are the already fetched ones under the bench cache;
nothing is downloaded. Files are what the index build would keep (``licscan.files``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for p in (str(ROOT), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

from corpus import default_cache, packages  # noqa: E402

from licscan.files import SourceFile, discover  # noqa: E402

OLD_REF = "9f1ff24782b0bd55a6d23b55f05f3f3ae290c7f9"
"""Last commit before the fast path: scancode's full matcher on every distinct notice."""
MODULES = ("licenses", "licenses_text", "licenses_debian")
WORKERS = 2
"""scancode workers of the speed runs (``--workers``)."""


def find_trees(names: list[str] | None, cache: Path) -> list[Path]:
    """Already extracted speed-set trees (Debian first, the PyPI fallback otherwise)."""
    out: list[Path] = []
    for pkg in packages("speed", "copyleft"):
        if names and pkg.name not in names:
            continue
        pypi = (pkg.pypi or "").partition("==")[0].replace("_", "-").lower()
        cands = sorted((cache / "debian").glob(f"{pkg.name}_*"))
        cands += sorted((cache / "pypi").glob(f"{pypi or pkg.name}_*"))
        if pkg.kind == "pypi":
            cands.reverse()
        if cands:
            out.append(cands[0])
        else:
            print(f"# {pkg.name}: not fetched (bench/corpus.py --fetch --set speed); skipped", file=sys.stderr)
    return out


def code_files(root: Path) -> list[str]:
    return [it.name.split("/", 1)[1] for it in discover(root) if isinstance(it, SourceFile) and "/" in it.name]


def load_old(ref: str) -> ModuleType:
    """``licscan.licenses`` as of `ref`, imported as ``licscan_old.licenses`` (``.detect`` when
    `ref` has the ``licscan/licenses/`` package layout)."""
    pkg = Path(tempfile.mkdtemp(prefix="licscan-old-")) / "licscan_old"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    names = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "--name-only", f"{ref}:licscan/licenses"],
                           capture_output=True, text=True).stdout.split()
    if names:
        (pkg / "licenses").mkdir()
        for name in (n for n in names if n.endswith(".py")):
            src = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:licscan/licenses/{name}"], check=True,
                                 capture_output=True, text=True).stdout
            (pkg / "licenses" / name).write_text(src.replace("licscan.licenses", "licscan_old.licenses"))
        sys.path.insert(0, str(pkg.parent))
        return importlib.import_module("licscan_old.licenses.detect")
    for mod in MODULES:
        src = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:licscan/{mod}.py"], check=True,
                             capture_output=True, text=True).stdout
        (pkg / f"{mod}.py").write_text(src.replace("from licscan.licenses", "from licscan_old.licenses"))
    sys.path.insert(0, str(pkg.parent))
    return importlib.import_module("licscan_old.licenses")


def cpu_seconds() -> float:
    """CPU time of this process and its reaped children (the scancode workers, after shutdown)."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def run(mod: ModuleType, trees: dict[Path, list[str]], cache: Path) -> tuple[dict[Path, float], dict[str, Any]]:
    """Seconds per tree and the results, like an index build: one worker pool for all roots.

    Also reports total wall and CPU seconds: the machine may be shared, and CPU time
    (workers included) is the steadier measure of the work done.
    """
    secs: dict[Path, float] = {}
    res: dict[str, Any] = {}
    cpu0 = cpu_seconds()
    for root, rels in trees.items():
        t0 = time.perf_counter()
        found = mod.detect_licenses_detailed(root, rels, cache_dir=cache, engine="scancode", workers=WORKERS)
        secs[root] = time.perf_counter() - t0
        res.update({f"{root.name}/{r}": v.license for r, v in found.items()})
    t0 = time.perf_counter()
    mod.shutdown_scancode_workers()
    secs[Path("(shutdown)")] = time.perf_counter() - t0
    print(f"#   {mod.__name__}: wall {sum(secs.values()):.1f}s, cpu {cpu_seconds() - cpu0:.1f}s",
          file=sys.stderr, flush=True)
    return secs, res


def distinct_notices(mod: ModuleType, root: Path, rels: list[str]) -> int:
    t = importlib.import_module(mod.__name__.replace(".detect", ".text") if mod.__name__.endswith(".detect")
                                else mod.__name__ + "_text")
    keys = set()
    for rel in rels:
        head = t.read_text(os.path.join(root, rel), t.HEAD_BYTES)
        if head and not t.find_spdx_tag(head) and (n := t.extract_notice(head, rel)):
            keys.add(t.text_key(n))
    return len(keys)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trees", nargs="*", help="package names of the speed set (default: all fetched)")
    ap.add_argument("--cache", type=Path, default=default_cache(), help="bench tree cache")
    ap.add_argument("--old-ref", default=OLD_REF)
    ap.add_argument("--no-old", action="store_true")
    ap.add_argument("--notices", action="store_true", help="fast vs full matcher on each distinct notice")
    ap.add_argument("--workers", type=int, default=2, help="scancode workers of the speed runs")
    ap.add_argument("--truth", action="store_true", help="correctness against bench/license_truth.py")
    ap.add_argument("--per-package", type=int, default=60, help="--truth: files sampled per package")
    ap.add_argument("--engine", default="scancode", choices=("scancode", "light"), help="--truth: matcher")
    ap.add_argument("--show", type=int, default=60, help="--truth: disagreements listed")
    ap.add_argument("--baseline", help="--truth: also score the license code of this git ref (e.g. main)")
    args = ap.parse_args(argv)
    global WORKERS
    WORKERS = args.workers
    if args.truth:
        from license_truth import run_truth

        base = load_old(args.baseline) if args.baseline else None
        return run_truth(args.cache, args.per_package, args.engine, args.show, code_files, base)
    if not importlib.util.find_spec("licensedcode"):
        print("scancode-toolkit is not installed", file=sys.stderr)
        return 2
    import licscan.licenses.detect as new

    trees = {t: code_files(t) for t in find_trees(args.trees, args.cache)}
    mods = {"new": new} if args.no_old else {"old": load_old(args.old_ref), "new": new}
    cold: dict[str, dict[Path, float]] = {}
    warm: dict[str, dict[Path, float]] = {}
    results: dict[str, dict[str, Any]] = {}
    for name, mod in mods.items():
        with tempfile.TemporaryDirectory(prefix="licscan-lic-cache-") as tmp:
            cold[name], results[name] = run(mod, trees, Path(tmp))
            print(f"# {name}: cold {sum(cold[name].values()):.1f}s", file=sys.stderr, flush=True)
            warm[name], again = run(mod, trees, Path(tmp))
            assert again == results[name], f"{name}: warm results differ from cold"

    print(f"{'corpus':34} {'files':>6} {'notices':>7} {'old-notices':>11} {'cold-old':>8} {'cold-new':>8} "
          f"{'warm-new':>8} {'agree%':>7}")
    tot = {"files": 0, "n": 0, "o": 0}
    for root, rels in trees.items():
        n_new = distinct_notices(new, root, rels)
        n_old = distinct_notices(mods["old"], root, rels) if "old" in mods else 0
        keys = [f"{root.name}/{r}" for r in rels]
        agree = (f"{100 * sum(results['old'][k] == results['new'][k] for k in keys) / max(1, len(keys)):.2f}"
                 if "old" in mods else "-")
        old_s = f"{cold['old'][root]:.1f}" if "old" in mods else "-"
        print(f"{root.name:34} {len(rels):6} {n_new:7} {n_old:11} {old_s:>8} {cold['new'][root]:8.1f} "
              f"{warm['new'][root]:8.2f} {agree:>7}")
        tot["files"] += len(rels)
        tot["n"] += n_new
        tot["o"] += n_old
    allkeys = list(results["new"])
    agree = (f"{100 * sum(results['old'][k] == results['new'][k] for k in allkeys) / max(1, len(allkeys)):.2f}"
             if "old" in mods else "-")
    old_s = f"{sum(cold['old'].values()):.1f}" if "old" in mods else "-"
    print(f"{'TOTAL (+ pool shutdown)':34} {tot['files']:6} {tot['n']:7} {tot['o']:11} {old_s:>8} "
          f"{sum(cold['new'].values()):8.1f} {sum(warm['new'].values()):8.2f} {agree:>7}")
    if "old" in mods:
        diff = [k for k in allkeys if results["old"][k] != results["new"][k]]
        for k in diff[:40]:
            print(f"  differs: {k}: old={results['old'][k]} new={results['new'][k]}")
        if len(diff) > 40:
            print(f"  ... {len(diff) - 40} more")
    if args.notices:
        compare_notices(new, trees)
    return 0


def compare_notices(lic: ModuleType, trees: dict[Path, list[str]]) -> None:
    """Fast path (rule pre-filter, hash match of whole license files) vs scancode's plain
    matcher on every distinct notice and license file of `trees`, in this process."""
    texts: dict[str, str] = {}
    whole: dict[str, str] = {}
    for root, rels in trees.items():
        tree = lic.Tree(root)
        for rel in rels:
            head = lic.read_text(os.path.join(root, rel), lic.HEAD_BYTES)
            if head and not lic.find_spdx_tag(head) and (n := lic.extract_notice(head, rel)):
                texts.setdefault(lic.text_key(n), n)
            tree.register_license_files(lic._parent(rel), texts)
        whole.update(tree.whole)
    t0 = time.perf_counter()
    lic._worker_init()
    print(f"# index load + rule filter: {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    secs: dict[str, dict[str, float]] = {"full": {}, "fast": {}}
    got: dict[str, dict[str, str | None]] = {"full": {}, "fast": {}}
    for key, text in texts.items():
        for mode in ("full", "fast"):
            lic._use_rule_filter(mode == "fast")
            t0 = time.perf_counter()
            exprs = lic._worker_detect(text, whole.get(key) if mode == "fast" else None)
            secs[mode][key] = time.perf_counter() - t0
            got[mode][key] = lic.combine_detections(exprs)
    for kind, keys in (("notices", [k for k in texts if k not in whole]), ("license files", list(whole))):
        same = [k for k in keys if got["full"][k] == got["fast"][k]]
        full, fast = (sum(secs[m][k] for k in keys) for m in ("full", "fast"))
        print(f"{kind}: {len(keys)} distinct, {100 * len(same) / max(1, len(keys)):.2f}% identical SPDX "
              f"(fast vs full); scancode seconds full {full:.1f}, fast {fast:.1f}")
        for k in keys:
            if got["full"][k] != got["fast"][k]:
                print(f"  differs: full={got['full'][k]} fast={got['fast'][k]}: {texts[k][:100]!r}")


if __name__ == "__main__":
    raise SystemExit(main())
