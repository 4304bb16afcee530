#!/usr/bin/env python3
"""Incremental update against a full rebuild (issue 13: adding one package to an index should
take at most 10 % of the full build's time).

Builds an index of N Debian packages, then in one run, one after the other: (a) ``update``
adding one more package, (b) a fresh build of the N+1 packages, (c) ``remove`` of that package
again. Reports wall and CPU time (this process and its workers), files read back against
fingerprinted, and whether the updated index equals the fresh one (every table's checksum and
meta other than the lineage keys). Prints a markdown table.

    LICSCAN_LICENSE_ENGINE=light python bench/update.py [--add sed] [--packages git,bash,...]
        [--no-licenses] [--pg] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "bench", ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from corpus import default_cache  # noqa: E402
from licscan.engine.build import build_index  # noqa: E402
from licscan.engine.stores import open_store  # noqa: E402
from licscan.engine.update import remove_projects, update_index  # noqa: E402

PACKAGES = "git,coreutils,bash,gawk,busybox,gnupg2,fish,grep,diffutils,nano,readline,patch,tmux,rsync,screen"
LINEAGE = {"built_at", "generation", "parent_corpus_sha256", "integrity"}


def tree(name: str, cache: Path) -> Path:
    """The unpacked Debian tree of a package (``<cache>/debian/<name>_<version>``)."""
    got = sorted((cache / "debian").glob(f"{name}_*"))
    if not got:
        raise SystemExit(f"no tree of {name} in {cache / 'debian'}: python bench/corpus.py --fetch")
    return got[-1]


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall s, CPU s of this process and the workers it reaped)."""
    def cpu() -> float:
        s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime
    c0, t0 = cpu(), time.perf_counter()
    got = fn()
    return got, time.perf_counter() - t0, cpu() - c0


def same(a: Any, b: Any) -> bool:
    """The two indexes hold the same rows: every table's checksums and meta but its lineage."""
    x, y = open_store(a), open_store(b)
    try:
        return (x.meta["integrity"]["tables"] == y.meta["integrity"]["tables"]
                and {k: v for k, v in x.meta.items() if k not in LINEAGE}
                == {k: v for k, v in y.meta.items() if k not in LINEAGE})
    finally:
        x.close()
        y.close()


def code_mb(roots: list[Path]) -> float:
    from licscan.files import SourceFile, discover

    return sum(i.path.stat().st_size for r in roots for i in discover(r) if isinstance(i, SourceFile)) / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packages", default=PACKAGES)
    ap.add_argument("--add", default="sed")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--no-licenses", action="store_true")
    ap.add_argument("--pg", action="store_true", help="also a row on a private PostgreSQL (tests/pgserver.py)")
    ap.add_argument("--keep", type=Path, default=None, help="work directory to keep (default: a temporary one)")
    args = ap.parse_args(argv)
    cache = args.cache or default_cache()
    roots = [tree(n, cache) for n in args.packages.split(",")]
    extra = tree(args.add, cache)
    lic = not args.no_licenses
    work = args.keep or Path(tempfile.mkdtemp(prefix="licscan-upd-"))
    work.mkdir(parents=True, exist_ok=True)
    engine = "none" if not lic else os.environ.get("LICSCAN_LICENSE_ENGINE") or "scancode (cached)"
    print(f"{len(roots)} packages, {code_mb(roots):.1f} MB of code; adding {extra.name} "
          f"({code_mb([extra]):.1f} MB); licenses: {engine}; load average before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stderr)
    kw = {"workers": args.workers, "licenses": lic}
    base = work / "n.lsi"
    full_n, t_n, c_n = timed(lambda: build_index(roots, base, **kw))
    upd = work / "upd.lsi"
    shutil.copy(base, upd)
    rows: list[tuple[str, float, float, str, str]] = [
        (f"full build, {len(roots)} packages", t_n, c_n, f"{full_n.files} fingerprinted", "")]
    got, t_a, c_a = timed(lambda: update_index(upd, [extra], **kw))
    fresh = work / "fresh.lsi"
    full, t_b, c_b = timed(lambda: build_index([*roots, extra], fresh, **kw))
    ok = same(upd, fresh)
    rows.append((f"(a) update: add {args.add}", t_a, c_a, f"{got.reused} read back, {got.fingerprinted} "
                 f"fingerprinted", f"equals (b): {'yes' if ok else 'NO'}"))
    rows.append((f"(b) full build, {len(roots) + 1} packages", t_b, c_b, f"{full.files} fingerprinted", ""))
    rem, t_c, c_c = timed(lambda: remove_projects(upd, [extra.name], workers=args.workers))
    rows.append((f"(c) remove {args.add}", t_c, c_c, f"{rem.reused} read back, {rem.fingerprinted} fingerprinted",
                 f"equals the {len(roots)}-package build: {'yes' if same(upd, base) else 'NO'}"))
    if args.pg:
        rows += _pg_rows(roots, extra, base, fresh, kw)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"update / full build (wall): {t_a / t_b:.1%}, CPU: {c_a / c_b:.1%}", file=sys.stderr)
    print("| operation | wall s | CPU s | ratio to (b), wall | files | identical |")
    print("|---|---:|---:|---:|---|---|")
    for what, t, c, files, ident in rows:
        print(f"| {what} | {t:.1f} | {c:.1f} | {t / t_b:.1%} | {files} | {ident} |")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _pg_rows(roots: list[Path], extra: Path, base: Path, fresh: Path, kw: dict[str, Any]) -> list[tuple]:
    """The update on PostgreSQL: the N-package index loaded as generation 1, then (a) and (c)."""
    import pgserver

    from licscan.engine import pgload, pgstore

    srv = pgserver.start()
    try:
        uri = srv.createdb("bench_update")
        conn = pgstore.connect(uri)
        try:
            _, t_l, c_l = timed(lambda: pgload.load(conn, base, uri))
        finally:
            conn.close()
        got, t_a, c_a = timed(lambda: update_index(uri, [extra], **kw))
        ok = same(uri, fresh)
        rem, t_c, c_c = timed(lambda: remove_projects(uri, [extra.name], workers=kw["workers"]))
        ok_c = same(uri, base)
        return [("PostgreSQL: load the N-package index", t_l, c_l, "", ""),
                (f"PostgreSQL (a) update: add {extra.name.split('_')[0]}", t_a, c_a,
                 f"{got.reused} read back, {got.fingerprinted} fingerprinted", f"equals (b): {'yes' if ok else 'NO'}"),
                (f"PostgreSQL (c) remove {extra.name.split('_')[0]}", t_c, c_c,
                 f"{rem.reused} read back", f"equals the N-package build: {'yes' if ok_c else 'NO'}")]
    finally:
        srv.stop()


if __name__ == "__main__":
    raise SystemExit(main())
