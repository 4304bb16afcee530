"""The distributed build (``index build --scheduler``): the index a Dask cluster builds is
the plain build's, row for row, also when a worker is killed mid-build."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import distributed  # the test extra installs licscan[dask]: a missing one fails, not skips
import pytest

from conftest import FIXTURES
from licscan.engine.build import build_index
from licscan.engine.distributed import DaskBuild
from licscan.engine.index import open_index
from licscan.inputs.paths import scan_paths

CORPUS = FIXTURES / "langs" / "corpus"
COPIES = FIXTURES / "langs" / "copies"
LIGHT = {"LICSCAN_LICENSE_ENGINE": "light"}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A LocalCluster of 2 worker processes, shared by the tests of this module. The light
    license engine is set before it starts, so its workers inherit it."""
    with pytest.MonkeyPatch.context() as mp:
        for k, v in LIGHT.items():
            mp.setenv(k, v)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=":0") as c:
            yield c


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plain build (process pool) of the fixture corpus: what every Dask build must equal."""
    out = tmp_path_factory.mktemp("plain") / "plain.lsi"
    with pytest.MonkeyPatch.context() as mp:
        for k, v in LIGHT.items():
            mp.setenv(k, v)
        build_index([CORPUS], out, workers=2)
    return out


def rows(index: Path) -> dict[str, Any]:
    """Every table that defines findings, row for row; the meta without its build time (the
    per-table sha256 of ``integrity`` are kept: the bytes of each table are compared too)."""
    db = sqlite3.connect(index)
    try:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        out: dict[str, Any] = {t: db.execute(f"SELECT * FROM {t}").fetchall()  # noqa: S608
                               for t in tables if t not in ("meta", "checksums")}
        meta = {k: json.loads(v) if v[:1] in "{[\"" else v for k, v in db.execute("SELECT key, value FROM meta")}
    finally:
        db.close()
    meta.pop("built_at", None)
    meta.get("integrity", {}).pop("meta_sha256", None)  # a hash over the meta, built_at included
    out["meta"] = meta
    return out


def findings(index: Path) -> list[dict[str, Any]]:
    idx = open_index(index)
    try:
        return [f.to_dict() for f in scan_paths(idx, [str(COPIES)]).findings]
    finally:
        idx.close()


def test_cluster_build_equals_plain_build(cluster: Any, plain: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LICSCAN_LICENSE_ENGINE", "light")
    out = tmp_path / "dask.lsi"
    with DaskBuild(cluster.scheduler_address, batch_files=5) as ex:  # batches of 5, 5 and 2 files
        summary = build_index([CORPUS], out, executor=ex)
    want = rows(plain)
    assert len(want["files"]) >= 12 and len(want["fp"]) > 500
    assert rows(out) == want  # files, fingerprints, vocab, aliases, common names; licenses and evidence
    got = findings(out)
    assert len({f["source"]["path"] for f in got}) >= 10 and got == findings(plain)
    assert summary.files == len(want["files"])
    assert not list(tmp_path.glob(".licscan-spill-*"))  # the spill is removed


class KillOnce(distributed.WorkerPlugin):  # type: ignore[misc]
    """Kills its worker process (SIGKILL, as the OOM killer would) when a file task of the
    build has finished on it but before its result is fetched, once per marker file."""

    name = "licscan-kill-once"

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish == "memory" and str(key).startswith("licscan-files-1-") and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_worker_costs_a_retry_not_a_wrong_index(cluster: Any, plain: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import cloudpickle

    monkeypatch.setenv("LICSCAN_LICENSE_ENGINE", "light")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    marker = tmp_path / "killed"
    out = tmp_path / "dask.lsi"
    with DaskBuild(cluster.scheduler_address, batch_files=2) as ex:  # 6 tasks: one dies, others do not
        ex.client.register_plugin(KillOnce(str(marker)))
        try:
            build_index([CORPUS], out, executor=ex)
        finally:
            ex.client.unregister_worker_plugin(KillOnce.name)
    assert marker.exists()  # a worker was killed holding a finished batch: it ran again elsewhere
    assert rows(out) == rows(plain)
    assert findings(out) == findings(plain)


def test_cli_local_cluster(plain: Path, tmp_path: Path) -> None:
    """``--scheduler local`` starts its own LocalCluster (here 1 worker) and stops it."""
    out = tmp_path / "local.lsi"
    env = {**{k: v for k, v in os.environ.items() if k != "LICSCAN_DEBUG"}, **LIGHT}
    r = subprocess.run([sys.executable, "-m", "licscan", "index", "build", "--out", str(out), "--scheduler",
                        "local", "--workers", "1", str(CORPUS)], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert rows(out) == rows(plain)


def test_local_cluster_workers_keep_glibc_mmap_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dask's nanny would start each worker with MALLOC_TRIM_THRESHOLD_=65536, which fixes glibc's
    mmap threshold and made the per-file work ~20 % dearer; ``local`` drops it, and a value the
    user exported is still passed on."""
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with DaskBuild("local", workers=1) as ex:
        got = ex.client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert list(got.values()) == [None]
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1048576")
    with DaskBuild("local", workers=1) as ex:
        got = ex.client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert list(got.values()) == ["1048576"]


def test_unreachable_scheduler_is_one_line_exit_2(tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if k != "LICSCAN_DEBUG"}, **LIGHT}
    r = subprocess.run([sys.executable, "-m", "licscan", "index", "build", "--out", str(tmp_path / "o.lsi"),
                        "--scheduler", "tcp://127.0.0.1:1", str(CORPUS)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Dask scheduler tcp://127.0.0.1:1" in lines[0], r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "o.lsi").exists()


def test_plain_build_imports_no_dask(tmp_path: Path) -> None:
    """Without --scheduler the build is the process-pool build: dask, distributed and pyarrow
    stay unloaded (they are an install extra)."""
    code = ("import atexit, sys\n"
            "heavy = ('dask', 'distributed', 'pyarrow', 'licscan.engine.distributed')\n"
            "atexit.register(lambda: print(sorted(m for m in sys.modules if m.startswith(heavy)),"
            " file=sys.stderr))\n"
            "from licscan.cli.main import main\n"
            f"sys.argv = ['licscan', '-q', 'index', 'build', '--workers', '1', '--out', "
            f"{str(tmp_path / 'o.lsi')!r}, {str(CORPUS)!r}]\n"
            "main()\n")
    env = {**{k: v for k, v in os.environ.items() if k != "LICSCAN_DEBUG"}, **LIGHT}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "[]"


def test_cluster_build_into_postgresql(cluster: Any, plain: Path, pg_server: Any) -> None:
    """``--out postgresql://... --scheduler ADDRESS``: the Dask build's rows go to PostgreSQL like the
    plain build's (a private SQLite file, then COPY); the findings are the plain build's."""
    from licscan.engine.stores import open_store

    uri = pg_server.createdb("dask")
    env = {**{k: v for k, v in os.environ.items() if k not in ("LICSCAN_DEBUG", "PGPASSWORD")}, **LIGHT}
    r = subprocess.run([sys.executable, "-m", "licscan", "index", "build", "--out", uri, "--scheduler",
                        cluster.scheduler_address, str(CORPUS)], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    store = open_store(uri)
    try:
        got = [f.to_dict() for f in scan_paths(store, [str(COPIES)]).findings]
    finally:
        store.close()
    assert got and got == findings(plain)
