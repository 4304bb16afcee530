#!/usr/bin/env python3
"""Per-snippet query latency in process, SQLite against PostgreSQL, on the same index (issue 13).

    python bench/pgbench_index.py                 # the quick corpus, a private server
    python bench/pgbench_index.py --set speed     # the speed corpus
    python bench/pgbench_index.py --uri postgresql://...   # an existing server (a scratch database!)

Builds an SQLite index of the set's copyleft trees (licenses off: latency does not depend
on them), loads it into PostgreSQL as licscan does (``engine/pgload.py``), then scans the
same snippets (10-60 lines, half copied from the corpus, half permissive code; speed.py's
``make_snippets``) with one Matcher per backend, interleaved, after a warm-up pass. Reports
p50/p95 per backend and kind, round trips per scan on PostgreSQL, and whether every
snippet's findings are identical. Without ``--uri`` it starts a private server on a Unix
socket (tests/pgserver.py: initdb into a temp dir; loopback only) and stops it at the end.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for p in (str(ROOT), str(BENCH), str(ROOT / "tests")):
    if p not in sys.path:
        sys.path.insert(0, p)

from corpus import default_cache, fetch_all, packages  # noqa: E402
from speed import make_snippets  # noqa: E402


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="quick", choices=("quick", "accuracy", "speed"))
    ap.add_argument("--cache", type=Path, default=default_cache())
    ap.add_argument("--snippets", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--uri", help="a scratch database to load into (default: a private server)")
    a = ap.parse_args(argv)

    from licscan.engine import pgload, pgstore
    from licscan.engine.build import build_index
    from licscan.engine.index import open_index
    from licscan.engine.matcher import Matcher

    trees = fetch_all(packages(a.set, "copyleft"), a.cache)
    negatives = fetch_all(packages("quick" if a.set == "quick" else "accuracy", "permissive"), a.cache)
    index = a.cache / f"index-pgbench-{a.set}.lsi"
    if not index.is_file():
        print(f"building {index} ...", flush=True)
        build_index([t.path for t in trees], index, workers=a.workers, licenses=False)
    sq = open_index(index)
    print(f"index: {sq.stats()['files']} files, {sq.stats()['fingerprints']:,} fingerprints, "
          f"{index.stat().st_size / 1e6:.1f} MB (SQLite)", flush=True)

    server = None
    uri = a.uri
    if uri is None:
        import pgserver

        server = pgserver.start()
        uri = server.createdb("pgbench")
    try:
        conn = pgstore.connect(uri)
        t0 = time.perf_counter()
        gen, size = pgload.load(conn, index, uri)
        conn.close()
        print(f"loaded into PostgreSQL generation {gen} in {time.perf_counter() - t0:.1f} s, {size / 1e6:.1f} MB",
              flush=True)
        pg = pgstore.open_pg(uri)
        rng = random.Random(a.seed)
        snippets = make_snippets(trees, negatives, a.snippets, rng)
        backends = {"sqlite": Matcher(sq), "postgresql": Matcher(pg)}
        calls = [0]
        real = pgstore.run

        def counted(*args):  # type: ignore[no-untyped-def]
            calls[0] += 1
            return real(*args)

        for m in backends.values():  # warm-up: page cache, vocab, plans
            for s in snippets[:20]:
                m.scan_text(s["text"], s["lang"], "snippet")
        pgstore.run = counted  # type: ignore[assignment]
        lat: dict[tuple[str, str], list[float]] = {}
        trips: list[int] = []
        same = 0
        for i, s in enumerate(snippets):
            order = list(backends.items()) if i % 2 == 0 else list(reversed(backends.items()))
            got = {}
            for name, m in order:
                before = calls[0]
                t = time.perf_counter()
                got[name] = [f.to_dict() for f in m.scan_text(s["text"], s["lang"], "snippet")]
                lat.setdefault((name, s["kind"]), []).append(time.perf_counter() - t)
                if name == "postgresql":
                    trips.append(calls[0] - before)
            same += got["sqlite"] == got["postgresql"]
        pgstore.run = real  # type: ignore[assignment]
    finally:
        if server is not None:
            server.stop()

    print(f"\n{len(snippets)} snippets, seed {a.seed}; identical findings on both backends: {same}/{len(snippets)}")
    print("| backend | snippets | p50 | p95 |\n|---|---|---|---|")
    for kind in ("copyleft", "permissive"):
        for name in backends:
            xs = lat.get((name, kind), [])
            if xs:
                print(f"| {name}, {kind} | {len(xs)} | {pct(xs, 0.5) * 1e3:.1f} ms | {pct(xs, 0.95) * 1e3:.1f} ms |")
    ratio = pct(lat[("postgresql", "copyleft")] + lat[("postgresql", "permissive")], 0.5) / \
        pct(lat[("sqlite", "copyleft")] + lat[("sqlite", "permissive")], 0.5)
    print(f"\nPostgreSQL p50 / SQLite p50, all snippets: {ratio:.2f}; round trips per scan on PostgreSQL: "
          f"median {statistics.median(trips):.0f}, max {max(trips)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
