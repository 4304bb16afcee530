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
snippet's findings are identical. ``--runners 1,8,32``: that many runner processes at once,
each with its own connection, scanning 100-line files against PostgreSQL: scans/s, p95 and the
CPU per scan (client: the runner's process time; server: its backend's, read from /proc,
so 0 for a remote server). Without ``--uri`` it starts a private server on a Unix
socket (tests/pgserver.py: initdb into a temp dir; loopback only) and stops it at the end.

Runners are a closed loop by default (each starts its next scan when the last ends), which
measures saturation: with n runners the mean latency is n / throughput (Little's law).
``--rate 20,40`` paces them instead (an open loop): the runners together offer that many
scans/s, each starting scans at Poisson arrivals of rate/n on its own schedule, and a scan's
latency counts from when it was due, not from when its runner got to it, so a runner that
falls behind counts its queueing too (no coordinated omission). ``0`` in the list is the
closed loop: ``--runners 32 --rate 0,20,40`` runs all three.
"""

from __future__ import annotations

import argparse
import os
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


def backend_cpu(store) -> float:  # type: ignore[no-untyped-def]
    """CPU seconds of this connection's server process so far (a local server: /proc), else 0."""
    import os

    pid = store.db.execute("SELECT pg_backend_pid()").fetchone()[0]
    try:
        st = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")


def runner(uri: str, files: list[tuple[str, str]], start_at: float, rate: float = 0.0, seed: int = 0,
           duration: float = 0.0) -> tuple[list[float], float, float, list[float], float]:
    """One simulated CI runner (its own process and connection): (latencies, start, end,
    client CPU per scan, server CPU of its connection over all its scans). Closed loop: each
    of ``files`` as soon as the last scan ends. ``rate``: scans at Poisson arrivals of that
    many per second over ``duration`` seconds, cycling through ``files``."""
    from licscan.engine.matcher import Matcher
    from licscan.engine.stores import open_store

    store = open_store(uri)
    m = Matcher(store)
    m.scan_text(files[0][0], files[0][1], "warm-up")
    arrivals, due_at = random.Random(seed), [0.0]
    while rate and (due_at[-1] + (gap := arrivals.expovariate(rate))) < duration:
        due_at.append(due_at[-1] + gap)
    time.sleep(max(0.0, start_at - time.time()))  # all runners start together
    server = backend_cpu(store)
    t0, base = time.time(), time.perf_counter()
    lat, cpu = [], []
    for n, due in enumerate(due_at[1:] if rate else [None] * len(files)):
        text, lang = files[n % len(files)]
        if due is None:
            due = time.perf_counter()
        else:
            # When this scan is due, whether or not the runner is free by then: a late
            # scan waited for it, and that wait is part of its latency.
            due += base
            time.sleep(max(0.0, due - time.perf_counter()))
        c = time.process_time()
        m.scan_text(text, lang, "runner")
        lat.append(time.perf_counter() - due)
        cpu.append(time.process_time() - c)
    end = time.time()
    return lat, t0, end, cpu, backend_cpu(store) - server


def concurrent(uri: str, texts: list[tuple[str, str]], counts: list[int], per_runner: int,
               rates: list[float], seed: int) -> None:
    """Scans/s and latency with n runner processes at once (per_runner scans each), for each
    total offered rate (0: the closed loop)."""
    import multiprocessing as mp

    print("\n| runners | offered scans/s | scans | achieved scans/s | p50 | p95 | max "
          "| client CPU per scan, mean / p95 | server CPU per scan | load before / after |"
          "\n|---|---|---|---|---|---|---|---|---|---|")
    for rate in rates:
        for n in counts:
            ctx = mp.get_context("spawn")
            start_at = time.time() + 5 + 0.4 * n  # time to spawn and import
            # Paced: arrivals over the time the closed loop's scans would take at that rate.
            jobs = [(uri, [texts[(i * per_runner + j) % len(texts)] for j in range(per_runner)], start_at,
                     rate / n, seed * 1000 + i, per_runner * n / rate if rate else 0.0) for i in range(n)]
            load = os.getloadavg()[0]
            with ctx.Pool(n) as pool:
                done = pool.starmap(runner, jobs)
            lat = [x for d in done for x in d[0]]
            cpu = [x for d in done for x in d[3]]
            wall = max(d[2] for d in done) - min(d[1] for d in done)
            print(f"| {n} | {f'{rate:g}' if rate else 'closed loop'} | {len(lat)} | {len(lat) / wall:.1f} "
                  f"| {pct(lat, 0.5) * 1e3:.0f} ms | {pct(lat, 0.95) * 1e3:.0f} ms | {max(lat) * 1e3:.0f} ms "
                  f"| {statistics.mean(cpu) * 1e3:.1f} / {pct(cpu, 0.95) * 1e3:.1f} ms "
                  f"| {sum(d[4] for d in done) / len(lat) * 1e3:.1f} ms | {load:.1f} / {os.getloadavg()[0]:.1f} |",
                  flush=True)


def hundred_line_files(trees, negatives, n: int, rng: random.Random) -> list[tuple[str, str]]:
    """n windows of 100 lines, half from the indexed trees, half from permissive code."""
    from corpus import EXT_LANG, iter_files

    out: list[tuple[str, str]] = []
    for ts in (trees, negatives):
        files = [p for t in ts for p in iter_files(t.path) if EXT_LANG.get(p.suffix.lower()) in ("c", "python", "java")
                 and 4000 < p.stat().st_size < 200_000]
        rng.shuffle(files)
        for p in files[:n // 2]:
            lines = p.read_text(errors="replace").splitlines()
            s = rng.randint(0, max(0, len(lines) - 100))
            out.append(("\n".join(lines[s:s + 100]) + "\n", EXT_LANG[p.suffix.lower()]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="quick", choices=("quick", "accuracy", "speed"))
    ap.add_argument("--cache", type=Path, default=default_cache())
    ap.add_argument("--snippets", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--uri", help="a scratch database to load into (default: a private server)")
    ap.add_argument("--runners", default="", help="concurrent runner counts, e.g. 1,8,32 (default: none)")
    ap.add_argument("--per-runner", type=int, default=20, help="scans per runner")
    ap.add_argument("--rate", default="0", help="total offered scans/s of all runners, e.g. 20,40 "
                    "(paced: Poisson arrivals, latency from when a scan was due); 0: the closed loop (default)")
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
        if a.runners:
            concurrent(uri, hundred_line_files(trees, negatives, 200, rng), [int(x) for x in a.runners.split(",")],
                       a.per_runner, [float(x) for x in a.rate.split(",")], a.seed)
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
