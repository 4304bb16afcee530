"""`licscan corpus fetch` over many sources: a failed source does not stop the others, an
interrupted or killed fetch resumes with only what is missing, and the progress bar shows
on a terminal only. Sources are local stand-ins and a fake `npm` on PATH."""

from __future__ import annotations

import io
import os
import pty
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from conftest import write
from licscan.corpus.batch import fetch_all
from licscan.corpus.fetch import entry_dir
from licscan.corpus.manifest import load_manifest

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals and ptys")


def tgz(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, text in files.items():
            data = text.encode()
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o644
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "PRE_COMMIT", "LICSCAN_DEBUG")}
    return {**base, "LICSCAN_CACHE": str(tmp_path / "cache"), **extra}


def licscan(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "licscan", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, stdin=subprocess.DEVNULL)


def leftovers(cache: Path) -> list[Path]:
    return [p for p in cache.rglob(".*") if p.name.startswith((".tmp-", ".old-"))]


# --------------------------------------------------------------------------- failures


def test_a_failing_source_is_reported_and_the_others_are_fetched(tmp_path: Path) -> None:
    write(tmp_path / "first", {"a.c": "int a;\n"})
    write(tmp_path / "last", {"z.c": "int z;\n"})
    (tmp_path / "lib-1.0.tgz").write_bytes(tgz({"lib-1.0/b.c": "int b;\n"}))
    m = tmp_path / "m.toml"
    m.write_text('[[source]]\nname = "one"\npath = "first"\n'
                 '[[source]]\nname = "gone"\npath = "no-such-dir"\n'
                 f'[[source]]\nname = "tampered"\npath = "lib-1.0.tgz"\nsha256 = "{"0" * 64}"\n'
                 '[[source]]\nname = "two"\npath = "last"\n')
    r = licscan("corpus", "fetch", str(m), env=env(tmp_path))
    assert r.returncode == 1, r.stderr
    failed = [ln for ln in r.stderr.splitlines() if ln.startswith("licscan: failed: ")]
    assert len(failed) == 2 and "Traceback" not in r.stderr, r.stderr
    assert failed[0].startswith("licscan: failed: gone (path ") and "no such file or directory" in failed[0]
    assert failed[1].startswith("licscan: failed: tampered (path ") and "sha256 mismatch" in failed[1]
    assert "m: 2 source(s) ready (2 downloaded), 2 failed" in r.stderr
    srcs = {s.name: s for s in load_manifest(m).sources}
    for name in ("one", "two"):  # fetched although an earlier source failed
        assert (entry_dir(srcs[name], tmp_path / "cache") / name).is_dir()
    assert leftovers(tmp_path / "cache") == []

    # a bad manifest is a user error: exit 2, one line, nothing fetched
    m.write_text('[[source]]\nname = "x"\npath = "first"\nlanguages = ["c++"]\n')
    r = licscan("corpus", "fetch", str(m), env=env(tmp_path))
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "source #1 (x): unknown language 'c++'" in r.stderr


def test_an_unexpected_error_is_a_failure_of_that_source_only(tmp_path: Path) -> None:
    (tmp_path / "m.toml").write_text('[[source]]\nnpm = "left-pad@1.3.0"\n[[source]]\nnpm = "right-pad@1.0.0"\n')

    def runner(cmd, cwd=None, **kw):
        if cmd[-1] == "left-pad@1.3.0":
            raise OSError(28, "No space left on device")
        (Path(cwd) / "right-pad-1.0.0.tgz").write_bytes(tgz({"package/index.js": "module.exports = 1;\n"}))
        return subprocess.CompletedProcess(cmd, 0, "", "")

    rep = fetch_all(load_manifest(tmp_path / "m.toml"), tmp_path / "cache", runner=runner)
    assert [f.source.name for f in rep.fetched] == ["right-pad"]
    (failure,) = rep.failed
    assert failure.reason == "left-pad (npm left-pad@1.3.0): OSError: [Errno 28] No space left on device"


# --------------------------------------------------------------------------- resuming


def test_an_interrupted_fetch_resumes_with_only_the_missing_sources(tmp_path: Path) -> None:
    names = ["alpha", "beta", "gamma"]
    (tmp_path / "m.toml").write_text("".join(f'[[source]]\nnpm = "{n}@1.0.0"\n' for n in names))
    manifest = load_manifest(tmp_path / "m.toml")
    calls: list[str] = []

    def runner(cmd, cwd=None, **kw):
        spec = cmd[-1]
        calls.append(spec)
        if spec == "beta@1.0.0" and interrupt:
            (Path(cwd) / "beta-1.0.0.tgz").write_bytes(b"\x1f\x8b half a download")
            raise KeyboardInterrupt  # Ctrl-C in the middle of the second download
        name = spec.split("@")[0]
        (Path(cwd) / f"{name}-1.0.0.tgz").write_bytes(tgz({"package/index.js": f"// {name}\n"}))
        return subprocess.CompletedProcess(cmd, 0, "", "")

    interrupt = True
    with pytest.raises(KeyboardInterrupt):
        fetch_all(manifest, tmp_path / "cache", runner=runner)
    assert calls == ["alpha@1.0.0", "beta@1.0.0"]
    assert leftovers(tmp_path / "cache") == []  # the half download went with its temp directory
    assert not entry_dir(manifest.sources[1], tmp_path / "cache").exists()

    interrupt, calls[:] = False, []
    rep = fetch_all(manifest, tmp_path / "cache", runner=runner)
    assert calls == ["beta@1.0.0", "gamma@1.0.0"]  # alpha is not fetched again
    assert [(f.source.name, f.cached) for f in rep.fetched] == [("alpha", True), ("beta", False), ("gamma", False)]
    assert not rep.failed


def test_a_cached_entry_is_checked_against_its_pin(tmp_path: Path) -> None:
    """A skipped source is verified: an entry whose record names another pin is fetched again."""
    (tmp_path / "m.toml").write_text('[[source]]\nnpm = "alpha@1.0.0"\n')
    src = load_manifest(tmp_path / "m.toml").sources[0]
    calls: list[str] = []

    def runner(cmd, cwd=None, **kw):
        calls.append(cmd[-1])
        (Path(cwd) / "alpha-1.0.0.tgz").write_bytes(tgz({"package/index.js": "// alpha\n"}))
        return subprocess.CompletedProcess(cmd, 0, "", "")

    manifest = load_manifest(tmp_path / "m.toml")
    fetch_all(manifest, tmp_path / "cache", runner=runner)
    record = entry_dir(src, tmp_path / "cache") / "source.json"
    record.write_text(record.read_text().replace('"1.0.0"', '"0.9.0"'))
    rep = fetch_all(manifest, tmp_path / "cache", runner=runner)
    assert calls == ["alpha@1.0.0", "alpha@1.0.0"] and not rep.fetched[0].cached


FAKE_NPM = """#!{python}
# `npm pack --ignore-scripts --silent SPEC`: copy a prepared tarball, log the spec; hang on one.
import os, shutil, sys, time
spec = sys.argv[-1]
with open(os.environ["FAKE_NPM_LOG"], "a") as log:
    log.write(spec + "\\n")
name = spec.rsplit("@", 1)[0]
if spec == os.environ.get("FAKE_NPM_HANG"):
    with open(name + "-1.0.0.tgz", "wb") as part:
        part.write(b"\\x1f\\x8b half")
    open(os.environ["FAKE_NPM_LOG"] + ".hung", "w").close()
    time.sleep(120)
shutil.copy(os.path.join(os.environ["FAKE_NPM_TARBALLS"], name + ".tgz"), name + "-1.0.0.tgz")
"""


@linux
def test_a_killed_fetch_leaves_nothing_that_counts_and_the_rerun_fetches_only_the_rest(tmp_path: Path) -> None:
    names = ["alpha", "beta", "gamma"]
    bin_dir, tarballs = tmp_path / "bin", tmp_path / "tarballs"
    bin_dir.mkdir()
    tarballs.mkdir()
    (bin_dir / "npm").write_text(FAKE_NPM.format(python=sys.executable))
    (bin_dir / "npm").chmod(0o755)
    for n in names:
        (tarballs / f"{n}.tgz").write_bytes(tgz({"package/index.js": f"// {n}\n"}))
    m = tmp_path / "m.toml"
    m.write_text("".join(f'[[source]]\nnpm = "{n}@1.0.0"\n' for n in names))
    log = tmp_path / "npm.log"
    e = env(tmp_path, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", FAKE_NPM_LOG=str(log),
            FAKE_NPM_TARBALLS=str(tarballs), FAKE_NPM_HANG="beta@1.0.0")

    proc = subprocess.Popen([sys.executable, "-m", "licscan", "corpus", "fetch", str(m)], env=e,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not Path(f"{log}.hung").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the fetch never reached beta"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # no cleanup runs: as after an OOM kill or a power cut
        proc.wait()
    cache = tmp_path / "cache"
    sources = load_manifest(m).sources
    assert (entry_dir(sources[0], cache) / "alpha").is_dir()
    assert not entry_dir(sources[1], cache).exists()  # the half-written one does not count
    assert [p.name.split("-")[1] for p in leftovers(cache)] == ["beta"]

    log.write_text("")
    e.pop("FAKE_NPM_HANG")
    r = licscan("corpus", "fetch", str(m), env=e)
    assert r.returncode == 0, r.stderr
    assert log.read_text().split() == ["beta@1.0.0", "gamma@1.0.0"]  # alpha was not fetched again
    assert "alpha (npm alpha@1.0.0): cached" in r.stderr
    assert "m: 3 source(s) ready (2 downloaded)" in r.stderr
    assert leftovers(cache) == []  # the killed run's temporary directory is gone
    for s in sources:
        assert (entry_dir(s, cache) / s.name / "index.js").read_text() == f"// {s.name}\n"


@linux
def test_sigterm_removes_the_half_written_source_and_exits_143(tmp_path: Path) -> None:
    bin_dir, tarballs = tmp_path / "bin", tmp_path / "tarballs"
    bin_dir.mkdir()
    tarballs.mkdir()
    (bin_dir / "npm").write_text(FAKE_NPM.format(python=sys.executable))
    (bin_dir / "npm").chmod(0o755)
    m = tmp_path / "m.toml"
    m.write_text('[[source]]\nnpm = "beta@1.0.0"\n')
    log = tmp_path / "npm.log"
    e = env(tmp_path, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", FAKE_NPM_LOG=str(log),
            FAKE_NPM_TARBALLS=str(tarballs), FAKE_NPM_HANG="beta@1.0.0")
    proc = subprocess.Popen([sys.executable, "-m", "licscan", "corpus", "fetch", str(m)], env=e,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not Path(f"{log}.hung").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the fetch never reached beta"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGTERM)  # licscan only: it must stop its npm itself
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 143, err
    assert "licscan: terminated; what is fetched stays: run the same command again to resume" in err
    assert "Traceback" not in err and leftovers(tmp_path / "cache") == []


# --------------------------------------------------------------------------- progress


def _run_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run licscan with stderr on a pseudo-terminal; return its exit code and what it drew."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "licscan", *args], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode(errors="replace")


@linux
def test_progress_bar_on_a_terminal_and_plain_lines_otherwise(tmp_path: Path) -> None:
    for n in ("one", "two", "three"):
        write(tmp_path / "src" / n, {"a.c": f"int {n};\n"})
    m = tmp_path / "m.toml"
    m.write_text("".join(f'[[source]]\nname = "{n}"\npath = "src/{n}"\n' for n in ("one", "two", "three")))
    e = env(tmp_path, TERM="xterm-256color", COLUMNS="100")

    rc, screen = _run_on_a_terminal(["corpus", "fetch", str(m)], e)
    assert rc == 0, screen
    assert "3/3" in screen and "\x1b[" in screen  # the bar: sources done of all, drawn in place

    r = licscan("corpus", "fetch", str(m), env=env(tmp_path, TERM="xterm-256color"))
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stderr and "\r" not in r.stderr and "3/3" not in r.stderr
    assert "one (path " in r.stderr and "m: 3 source(s) ready (0 downloaded)" in r.stderr

    # CI=true keeps logs plain even on a terminal
    rc, screen = _run_on_a_terminal(["corpus", "fetch", str(m)], {**e, "CI": "true"})
    assert rc == 0 and "3/3" not in screen and "m: 3 source(s) ready" in screen


def test_progress_is_off_when_quiet(tmp_path: Path) -> None:
    write(tmp_path / "one", {"a.c": "int a;\n"})
    (tmp_path / "m.toml").write_text('[[source]]\npath = "one"\n[[source]]\nname = "bad"\npath = "nope"\n')
    r = licscan("-q", "corpus", "fetch", str(tmp_path / "m.toml"), env=env(tmp_path))
    # errors still print under --quiet, one line per failed source, and nothing else
    assert r.returncode == 1 and r.stderr.splitlines() == [
        f"licscan: failed: bad (path {(tmp_path / 'nope').resolve()}): no such file or directory: "
        f"{(tmp_path / 'nope').resolve()}"], r.stderr

