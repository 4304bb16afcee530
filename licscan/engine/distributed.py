"""The index build on a Dask cluster (``index build --scheduler local|tcp://HOST:PORT``).

Only the per-file work and license detection move to the workers; the index itself is
written by the plain build's writer (``build._write``, which spills each result as it arrives)
from the same per-file results in the same order, so the output is identical to the plain build's.

- Work is split per package (corpus root) and per batch of files; a task runs
  ``prepare.process_file`` on each file of its batch, exactly what a process-pool worker
  runs in the plain build.
- A task spills its fingerprints (hash, position) to Parquet, one file per hash prefix
  (``SPILL/pXX/``), written under a name unique to the attempt and renamed into place.
  The driver reads only the files named in the results Dask returns, so what a killed
  attempt left behind is never read: a worker killed mid-build costs a retry (Dask
  reschedules the tasks of a dead worker), not a wrong index.
- License detection runs on the workers, one task per package, submitted as soon as the
  package's file results are in (and ahead of the file tasks still queued), so that it
  overlaps the rest of the per-file work instead of following it.

The spill directory must be reachable at the same path from the driver and every
worker (shared storage on a real cluster; the corpus roots must be too).

Imported only when ``--scheduler`` is given: dask, distributed and pyarrow are an
install extra (``licscan[dask]``) that a plain build or a scan never loads.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections import deque
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from licscan.engine.fingerprints import FP_BITS
from licscan.model import LicenseEvidence, LicscanError

BATCH_FILES = 256
"""Files per task: big enough that a task outweighs its overhead (scheduling, the result's
trip to the driver, a Parquet file per partition written and read back), small enough that
a killed worker loses little work (256 files are about 1.3 s of work). Measured on the
accuracy set, 2 workers against the plain build: 64 files +9 to +17 % of wall, 128 +4 %,
256 0 to +7 %, 512 +8 % (bench/RESULTS.md, 2026-12-08)."""
PREFIX_BITS = 4
"""Spill partitions: the top bits of the fingerprint (``fingerprints.FP_BITS`` wide), 16."""
CONNECT_TIMEOUT = "10s"
LOCAL_CONFIG: dict[str, Any] = {
    # An idle 2-worker LocalCluster with Dask's defaults burns ~44 ms of CPU per second in
    # the driver (scheduler, nannies) and ~30 ms/s in each worker: ~0.1 core of a 2-core
    # machine, for as long as the build runs. Measured with these settings: 6 and 3 ms/s.
    # The statistical profiler samples every worker thread's stack every 10 ms, for a
    # dashboard nobody reads in a build.
    "distributed.worker.profile.enabled": False,
    # The event-loop "blocked?" tick, every 20 ms in every process.
    "distributed.admin.tick.interval": "1s",
    # psutil CPU/memory/network/disk samples for the dashboard, every 0.5 s.
    "distributed.admin.system-monitor.interval": "5s",
    # The nanny's check of its worker's memory against the limit: a worker over it is
    # restarted up to 1 s later instead of 0.1 s (the limit is half the machine's memory).
    "distributed.worker.memory.monitor-interval": "1s",
    # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which also fixes glibc's
    # mmap threshold: every array over 128 KB is then a fresh mmap, faulted in page by page.
    # The per-file work took 13x the page faults, 4x the system time and ~20 % more CPU
    # (bench/RESULTS.md, 2026-12-08). None drops the variable (a user's own still applies).
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}
"""Dask settings of the LocalCluster that ``--scheduler local`` starts."""

Job = tuple[str, str, str, Any]  # (path, name, lang, BuildParams), as build._jobs makes them


def _spill(batch: int, results: list[Any], spill: str) -> list[Any]:
    """Write the fingerprints of a batch's results to Parquet, one file per hash prefix;
    return the results without them (the paths of the files replace them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    idx = [i for i, r in enumerate(results) if not isinstance(r, tuple)]
    h = np.concatenate([results[i].hashes for i in idx]) if idx else np.zeros(0, np.int64)
    p = np.concatenate([results[i].positions for i in idx]) if idx else np.zeros(0, np.int32)
    # The row order within the batch: reading back, sorting by it restores each file's arrays.
    order = np.arange(len(h), dtype=np.int64)
    prefix = (h.astype(np.int64) >> (FP_BITS - PREFIX_BITS)) & ((1 << PREFIX_BITS) - 1)
    # Unique per attempt: a rerun never writes into (or reads) a file a killed attempt began.
    tag = f"b{batch:06d}-{uuid.uuid4().hex}"
    paths = []
    for part in np.unique(prefix).tolist():
        sel = prefix == part
        d = os.path.join(spill, f"p{part:02x}")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, f"{tag}.parquet")
        tmp = f"{path}.tmp"
        # Plain encoding: hashes are random (snappy and dictionaries gain nothing on them), and
        # encoding was half the cost of a write of a batch's 16 small files.
        pq.write_table(pa.table({"o": order[sel], "h": h[sel], "p": p[sel]}), tmp, compression="none",
                       use_dictionary=False, write_statistics=False)
        os.replace(tmp, path)  # atomic: a reader sees the whole file or none
        paths.append(path)
    counts = []
    for i in idx:
        counts.append(len(results[i].hashes))
        results[i] = replace(results[i], hashes=results[i].hashes[:0], positions=results[i].positions[:0])
    return [results, paths, counts, str(h.dtype), str(p.dtype)]


def files_task(batch: int, jobs: list[Job], spill: str) -> list[Any]:
    """One batch of files on a worker: the plain build's per-file work, fingerprints spilled.
    Pure apart from the spill files, which are new on every attempt."""
    from licscan.engine.prepare import process_file

    return _spill(batch, [process_file(j) for j in jobs], spill)


def _unspill(payload: list[Any]) -> list[Any]:
    """A batch's results with their fingerprints read back from the spill files it names."""
    import pyarrow.parquet as pq

    results, paths, counts, hdt, pdt = payload
    # ParquetFile.read on one thread: a third of read_table's CPU on files this small (its
    # dataset discovery and thread pool cost more than the read), and the driver also
    # runs the scheduler's and client's event loops.
    tables = []
    for path in paths:
        with pq.ParquetFile(path) as f:
            tables.append(f.read(use_threads=False))
    for p in paths:
        os.remove(p)  # read once; the disk the spill holds stays about what is in flight
    o = np.concatenate([t.column("o").to_numpy() for t in tables]) if tables else np.zeros(0, np.int64)
    h = np.concatenate([t.column("h").to_numpy() for t in tables]) if tables else np.zeros(0, hdt)
    p = np.concatenate([t.column("p").to_numpy() for t in tables]) if tables else np.zeros(0, pdt)
    if len(o) != sum(counts):
        raise LicscanError(f"distributed build: spill files hold {len(o)} fingerprints, the batch made "
                           f"{sum(counts)}; no index written")
    srt = np.argsort(o, kind="stable")
    h, p = h[srt].astype(hdt), p[srt].astype(pdt)
    at = 0
    k = 0
    for i, r in enumerate(results):
        if isinstance(r, tuple):
            continue
        n = counts[k]
        results[i] = replace(r, hashes=h[at:at + n], positions=p[at:at + n])
        at += n
        k += 1
    return results


def licenses_task(lic_root: str, rels: list[str]) -> tuple[dict[str, Any], bool]:
    """License detection of one package on a worker (the plain build's call, one process)."""
    from licscan.licenses import detect as licenses

    try:
        # workers=1: scancode's pool of this worker; the cluster gives the parallelism.
        return (licenses.detect_licenses_detailed(Path(lic_root), rels, workers=1),
                licenses.scancode_available())
    finally:
        licenses.shutdown_scancode_workers()


def license_args(root: Path, names: Sequence[str], kept: Collection[str]) -> tuple[str, list[str]]:
    """(directory, paths under it) that one package's license task detects in: the plain
    build's choice (``build._detect_licenses``)."""
    from licscan.licenses.resolve import PROJECT_REL

    skip = len(root.resolve().name) + 1  # once: resolve() per name was 0.5 s of the driver's time
    rels = [n[skip:] for n in names if n in kept]
    if root.is_file():
        rels, lic_root = ([root.name] if kept else []), root.parent
    else:
        lic_root = root
    # PROJECT_REL (a file that cannot exist) asks for the project's own declaration.
    return str(lic_root), [*rels, PROJECT_REL]


def _batches(jobs: Sequence[Job], size: int = BATCH_FILES) -> list[list[Job]]:
    """Per package (a job's top directory: its corpus root), then per ``size`` files, in job order."""
    out: list[list[Job]] = []
    top = None
    for j in jobs:
        t = j[1].split("/", 1)[0]
        if t != top or len(out[-1]) >= size:
            out.append([])
            top = t
        out[-1].append(j)
    return out


class DaskBuild:
    """A connection to a Dask cluster for one build; a context manager (``local`` starts a
    LocalCluster of ``workers`` processes and stops it on exit)."""

    def __init__(self, scheduler: str, *, workers: int | None = None, spill: Path | None = None,
                 batch_files: int = BATCH_FILES) -> None:
        self.scheduler = scheduler
        self.batch_files = batch_files
        self.workers = workers or 2
        self.spill_root = spill
        self.client: Any = None
        self.cluster: Any = None
        self._early: dict[str, tuple[tuple[str, list[str]], Any]] = {}
        """License tasks submitted during ``files``, by package: (their arguments, future)."""

    def __enter__(self) -> DaskBuild:
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise LicscanError("--scheduler needs the dask extra: pip install 'licscan[dask]'") from None
        try:
            if self.scheduler == "local":
                # Not daemonic: scancode's license workers are child processes of a Dask worker.
                with dask.config.set({"distributed.worker.daemon": False, **LOCAL_CONFIG}):
                    self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                                host="127.0.0.1", dashboard_address=":0",
                                                silence_logs=logging.ERROR)
                self.client = Client(self.cluster)
            else:
                logging.getLogger("distributed").setLevel(logging.CRITICAL)
                self.client = Client(self.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as e:
            self.__exit__(None, None, None)
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise LicscanError(f"cannot reach the Dask scheduler {self.scheduler}: {first}") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None

    def files(self, jobs: Sequence[Job], out: Path, licenses_for: Sequence[Path] = (),
              per_root: dict[Path, list[str]] | None = None) -> Iterator[Any]:
        """``process_file`` of every job on the cluster, results in job order (as the plain
        build's pool.map gives them). The spill directory is new, next to ``out`` unless
        ``spill`` was given, and removed at the end. The license task of each package of
        ``licenses_for`` (its files as ``per_root`` names them) starts once its results are in."""
        spill = (self.spill_root or out.resolve().parent) / f".licscan-spill-{uuid.uuid4().hex}"
        spill.mkdir(parents=True)
        # Keys name the batch (tests and the dashboard); unique per build: a scheduler shared by
        # several builds never mixes their tasks.
        batches = _batches(jobs, self.batch_files)
        futures = deque(self.client.submit(files_task, i, b, str(spill), pure=False,
                                           key=f"licscan-files-{i}-{uuid.uuid4().hex}")
                        for i, b in enumerate(batches))
        tops = deque(b[0][1].split("/", 1)[0] for b in batches)
        early = {r.resolve().name: r for r in licenses_for}
        kept: set[str] = set()
        try:
            while futures:
                top = tops.popleft()
                # Popped, the future is dropped once read: its result leaves the worker's memory.
                for r in _unspill(_result(futures.popleft())):
                    if not isinstance(r, tuple):
                        kept.add(r.name)
                    yield r
                if not tops or tops[0] != top:  # the package's last batch
                    if top in early:
                        self._submit_early(early[top], (per_root or {}).get(early[top], []), kept)
                    kept = set()
        finally:
            self.client.cancel(list(futures))
            shutil.rmtree(spill, ignore_errors=True)

    def _submit_early(self, root: Path, names: list[str], kept: set[str]) -> None:
        """One package's license task, ahead of the queued file tasks (a higher priority)."""
        args = license_args(root, names, kept)
        self._early[root.resolve().name] = (args, self.client.submit(
            licenses_task, *args, key=f"licscan-licenses-{uuid.uuid4().hex}", pure=False, priority=1))

    def licenses(self, roots: Sequence[Path], per_root: dict[Path, list[str]], kept: Collection[str],
                 workers: int, ui: Any, summary: Any) -> dict[str, tuple[str | None, LicenseEvidence]]:
        """``build._detect_licenses`` with each package's detection a task on the cluster; a
        task ``files`` started early is used when it was given exactly these arguments."""
        from licscan.engine.build import _found_licenses

        todo = []
        for root in roots:
            args = license_args(root, per_root.get(root, []), kept)
            early = self._early.pop(root.resolve().name, None)
            todo.append((root, early[1] if early and early[0] == args else self.client.submit(
                licenses_task, *args, key=f"licscan-licenses-{uuid.uuid4().hex}", pure=False)))
        self.client.cancel([f for _, f in self._early.values()])
        self._early.clear()
        out: dict[str, tuple[str | None, LicenseEvidence]] = {}
        task = ui.add("licenses", len(todo))
        for root, fut in todo:
            found, summary.scancode = _result(fut)
            out.update(_found_licenses(root, found, summary))
            ui.advance(task)
        return out


def _result(fut: Any) -> Any:
    """A task's result; a task that failed on every attempt is one line (exit 2)."""
    from distributed import KilledWorker

    try:
        return fut.result()
    except KilledWorker as e:
        raise LicscanError(f"distributed build: workers kept dying on a task ({e}); no index written") from None
