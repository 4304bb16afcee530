"""A killed or hostile run ends cleanly: no orphaned workers, no held pipes, no temp
files, no hang on a device or FIFO, one-line errors instead of internal ones."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import stat
import struct
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from conftest import FIXTURES

CORPUS = FIXTURES / "langs" / "corpus"
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LICSCAN_DEBUG", "LICSCAN_INDEX")}
    return {**env, "LICSCAN_LICENSE_ENGINE": "light"}


def run(*args: str, cwd: Path | None = None, timeout: float = 60, **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "licscan", *args], capture_output=True, text=True,
                          cwd=cwd, env={**_env(), **kw.pop("env", {})}, timeout=timeout)  # type: ignore[dict-item]


def one_line_error(res: subprocess.CompletedProcess) -> str:
    """The one `licscan: error:` line of a failed run (progress lines such as `fetching` aside)."""
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("licscan:")]
    assert res.returncode == 2 and len(lines) == 1, res.stderr
    assert lines[0].startswith("licscan: error:") and "Traceback" not in res.stderr, res.stderr
    return lines[0]


def one_failed_source(res: subprocess.CompletedProcess) -> str:
    """`corpus fetch` reports a source it could not fetch on one line, then exits 1 (docs/corpora.md)."""
    failed = [ln for ln in res.stderr.splitlines() if ln.startswith("licscan: failed:")]
    assert res.returncode == 1 and len(failed) == 1 and "Traceback" not in res.stderr, res.stderr
    return failed[0]


# --------------------------------------------------------------------------- killed builds


def _big_corpus(root: Path, n: int = 2400) -> Path:
    """Enough small C files that a 2-worker build is still tokenizing when it is signalled."""
    srcs = sorted((CORPUS / "c").glob("*.c")) + sorted(FIXTURES.rglob("*.c"))
    texts = [p.read_text(errors="replace") for p in srcs]
    proj = root / "proj"
    proj.mkdir(parents=True)
    for i in range(n):
        (proj / f"f{i}.c").write_text(f"int unique_{i}(void) {{ return {i}; }}\n" + texts[i % len(texts)])
    return proj


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(d))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _big_corpus(tmp_path_factory.mktemp("big"))


def _killed_build(tmp_path: Path, corpus: Path, sig: signal.Signals) -> tuple[subprocess.Popen, list[int], float]:
    """Start `index build` over an existing index, signal it once its 2 workers run; return
    the process, the workers' pids and how long the pipe readers waited for EOF."""
    from licscan.engine.build import build_index

    out = tmp_path / "gpl.lsi"
    build_index([CORPUS], out, workers=1, licenses=False)
    before = _digest(out)
    p = subprocess.Popen([sys.executable, "-m", "licscan", "index", "build", "-o", str(out), str(corpus),
                          "--workers", "2", "--no-licenses"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
            workers = _children(p.pid)
        assert len(workers) >= 2 and p.poll() is None, "the build never ran its workers"
        p.send_signal(sig)
        t0 = time.monotonic()
        try:
            p.communicate(timeout=20)  # returns only at EOF on stdout and stderr
        except subprocess.TimeoutExpired:
            pytest.fail("the build's stdout/stderr pipe stayed open after it was killed")
        waited = time.monotonic() - t0
        deadline = time.monotonic() + 10
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)], "worker processes outlived the build"
        assert _digest(out) == before  # the old index is intact
        if sig == signal.SIGKILL:
            # Nothing cleans up after kill -9: the build's spill (engine.spill) stays until the
            # next build of the same index sweeps it.
            assert list(tmp_path.glob(".gpl.lsi.*.spill"))
            build_index([CORPUS], out, workers=1, licenses=False)
        assert not list(tmp_path.glob(".gpl.lsi.*")), "temp files left behind"
        return p, workers, waited
    finally:
        p.kill()
        for w in workers:  # never leave strays behind a failing test
            if _alive(w):
                os.kill(w, signal.SIGKILL)


@linux
def test_sigterm_stops_workers_and_closes_pipes(tmp_path: Path, big_corpus: Path) -> None:
    p, _, waited = _killed_build(tmp_path, big_corpus, signal.SIGTERM)
    assert p.returncode not in (0, None) and waited < 15
    assert p.stderr is not None


@linux
def test_sigkill_takes_the_workers_with_it(tmp_path: Path, big_corpus: Path) -> None:
    p, _, waited = _killed_build(tmp_path, big_corpus, signal.SIGKILL)
    assert p.returncode == -signal.SIGKILL and waited < 15


@linux
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_while_writing_the_index(tmp_path: Path, big_corpus: Path, sig: signal.Signals) -> None:
    """SIGTERM removes the half-written temp file; after SIGKILL the next build sweeps it."""
    from licscan.engine.build import build_index

    out = tmp_path / "gpl.lsi"
    build_index([CORPUS], out, workers=1, licenses=False)
    before = _digest(out)
    p = subprocess.Popen([sys.executable, "-m", "licscan", "index", "build", "-o", str(out), str(big_corpus),
                          "--workers", "2", "--no-licenses"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".gpl.lsi.*.tmp")) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        if p.poll() is not None:
            pytest.skip("the build wrote its index before it could be signalled")
        p.send_signal(sig)
        p.wait(timeout=20)
    finally:
        p.kill()
    assert _digest(out) == before
    left = list(tmp_path.glob(".gpl.lsi.*"))
    # Nothing can clean up after kill -9: the temp index and the spill directory stay.
    assert (left == []) if sig == signal.SIGTERM else len(left) == 2, left
    build_index([CORPUS], out, workers=1, licenses=False)
    assert list(tmp_path.glob(".gpl.lsi.*")) == []


def test_next_build_sweeps_stale_temp_files(tmp_path: Path) -> None:
    from licscan.engine.build import build_index

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "gpl.lsi"
    stale = tmp_path / f".gpl.lsi.{dead.pid}.tmp"
    stale.write_bytes(b"half an index")
    live = tmp_path / f".gpl.lsi.{os.getppid()}.tmp"  # a build still running: kept
    live.write_bytes(b"in progress")
    other = tmp_path / f".other.lsi.{dead.pid}.tmp"  # another index's temp: not ours to judge
    other.write_bytes(b"x")
    build_index([CORPUS], out, workers=1, licenses=False)
    assert not stale.exists() and live.exists() and other.exists() and out.exists()


def test_build_refuses_a_device_or_fifo_root(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for root in (fifo, Path("/dev/zero")):
        res = run("index", "build", "-o", str(tmp_path / "x.lsi"), str(root), "--workers", "1", timeout=30)
        assert "not a regular file or directory" in one_line_error(res)


# --------------------------------------------------------------------------- corpus fetch


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_fetch_of_a_device_or_fifo_fails_fast(tmp_path: Path, kind: str) -> None:
    path = Path("/dev/zero")
    if kind == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'[[source]]\nname = "x"\npath = "{path}"\n')
    try:
        res = run("corpus", "fetch", str(manifest), timeout=30, env={"LICSCAN_CACHE": str(tmp_path / "c")})
    except subprocess.TimeoutExpired:
        pytest.fail(f"corpus fetch of {path} hung")
    assert "x (path " in one_failed_source(res) and "not a regular file or directory" in one_failed_source(res)


def test_fetch_copy_skips_fifos_inside_a_directory(tmp_path: Path) -> None:
    from licscan.corpus.fetch import fetch_source
    from licscan.corpus.manifest import load_manifest

    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.c").write_text("int a;\n")
    os.mkfifo(tree / "pipe")
    (tmp_path / "m.toml").write_text('[[source]]\nname = "lib"\npath = "tree"\n')
    got = fetch_source(load_manifest(tmp_path / "m.toml").sources[0], tmp_path / "cache")
    assert (got.root / "a.c").is_file() and not (got.root / "pipe").exists()


# --------------------------------------------------------------------------- scan --output


def test_output_through_a_symlink_keeps_the_link(core_index: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target.name)
    res = run("scan", "-i", str(core_index), str(CORPUS / "python"), "-f", "json", "-o", str(link))
    assert res.returncode in (0, 1), res.stderr
    assert link.is_symlink() and os.readlink(link) == target.name
    assert target.read_text().lstrip().startswith("{")


def test_output_to_dev_null_and_dev_full(core_index: Path, tmp_path: Path) -> None:
    """A device is written to, never renamed over (the old code replaced /dev/full with a file)."""
    mine = tmp_path / "mine.py"
    mine.write_text("print('hello')\n")
    try:
        res = run("scan", "-i", str(core_index), str(mine), "-o", "/dev/null")
        assert res.returncode == 0, res.stderr
        if Path("/dev/full").exists():
            res = run("scan", "-i", str(core_index), str(mine), "-o", "/dev/full")
            assert "/dev/full" in one_line_error(res)
    finally:
        for dev in ("/dev/null", "/dev/full"):
            assert not Path(dev).exists() or stat.S_ISCHR(os.stat(dev).st_mode), f"{dev} was replaced"
        assert not list(Path("/dev").glob(".null*.tmp")) and not list(Path("/dev").glob(".full*.tmp"))


def test_output_into_a_missing_directory(core_index: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text("print('hello')\n")
    res = run("scan", "-i", str(core_index), str(mine), "-o", str(tmp_path / "no" / "such" / "r.txt"))
    assert "no such directory" in one_line_error(res)
    res = run("scan", "-i", str(core_index), str(mine), "-o", str(tmp_path))  # a directory
    assert str(tmp_path) in one_line_error(res)


def test_output_to_a_regular_file_is_replaced_atomically(core_index: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text("print('hello')\n")
    out = tmp_path / "r.txt"
    out.write_text("old report")
    res = run("scan", "-i", str(core_index), str(mine), "-o", str(out))
    assert res.returncode == 0 and "old report" not in out.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.py", "r.txt"]


# --------------------------------------------------------------------------- hostile archives


def _zip_with(tmp_path: Path, flag: int = 0, method: int | None = None) -> Path:
    """A zip whose member claims encryption (flag bit 0) or an unknown compression method."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("pkg/secret.c", "int secret;\n")
    data = bytearray(buf.getvalue())
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    data[local + 6] |= flag
    data[central + 8] |= flag
    if method is not None:
        data[local + 8:local + 10] = struct.pack("<H", method)
        data[central + 10:central + 12] = struct.pack("<H", method)
    path = tmp_path / "a.zip"
    path.write_bytes(bytes(data))
    return path


def _deep_tar(tmp_path: Path, depth: int = 2100) -> Path:
    path = tmp_path / "deep.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo("/".join(["d"] * depth) + "/x.c")
        info.size = 6
        tf.addfile(info, io.BytesIO(b"int x;"))
    return path


@pytest.mark.parametrize("case,expected", [
    ("encrypted", "'pkg/secret.c' is encrypted"),
    ("method", "'pkg/secret.c' uses an unsupported compression method"),
    ("deep", "nested 2101 directories deep"),
])
def test_hostile_archives_are_refused_in_one_line(tmp_path: Path, case: str, expected: str) -> None:
    from licscan.corpus.extract import Refused, extract_archive

    archive = {"encrypted": lambda: _zip_with(tmp_path, flag=1), "method": lambda: _zip_with(tmp_path, method=97),
               "deep": lambda: _deep_tar(tmp_path)}[case]()
    dest = tmp_path / "x"
    with pytest.raises(Refused) as e:
        extract_archive(archive, dest)
    msg = str(e.value)
    assert expected in msg and "\n" not in msg and len(msg) < 400
    assert not dest.exists()


def test_fetch_of_an_encrypted_zip_is_a_one_line_error(tmp_path: Path) -> None:
    _zip_with(tmp_path, flag=1)
    (tmp_path / "m.toml").write_text('[[source]]\nname = "a"\npath = "a.zip"\n')
    res = run("corpus", "fetch", str(tmp_path / "m.toml"), timeout=30, env={"LICSCAN_CACHE": str(tmp_path / "c")})
    assert "is encrypted" in one_failed_source(res)
