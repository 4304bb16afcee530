"""Fetchers against local stand-ins: directories, archives, a git repository, and fake
apt-get / pip / npm clients at the subprocess boundary. Cache no-ops, sha256 pins,
refusals, and `index build` from a manifest."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from conftest import FIXTURES, write
from licscan.corpus import apt, debian
from licscan.corpus.manifest import load_manifest, parse_manifest
from licscan.corpus.fetch import cache_dir, entry_dir, fetch_manifest, fetch_source, resolve_roots
from licscan.model import LicscanError

C_FILE = next((FIXTURES / "langs" / "corpus" / "c").glob("*.c"))


def tgz(files: dict[str, str | bytes], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o644
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def one(tmp_path: Path, body: str):
    return parse_manifest(body, tmp_path / "m.toml").sources[0]


def leftovers(cache: Path) -> list[str]:
    """Temporary or half-written entries anywhere in the cache."""
    return [str(p) for p in cache.rglob("*") if p.name.startswith((".tmp-", ".old-"))]


class Fake:
    """Stands in for subprocess.run: answers pip/npm/apt-get, records every call."""

    def __init__(self, payloads: dict[str, tuple[str, bytes]], fail: str | None = None):
        self.payloads = payloads  # tool -> (file name, bytes) it "downloads"
        self.fail = fail
        self.calls: list[list[str]] = []

    def __call__(self, cmd, cwd=None, **kw):
        self.calls.append(list(cmd))
        tool = "pip" if cmd[1:3] == ["-m", "pip"] else cmd[0]
        if tool == self.fail:
            return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found\n")
        if tool == "pip":
            assert cmd[3:7] == ["download", "--no-binary", ":all:", "--no-deps"]
            out = Path(cmd[cmd.index("-d") + 1])
        elif tool == "npm":
            assert cmd[1] == "pack" and "--ignore-scripts" in cmd
            out = Path(cwd)
        elif tool == "apt-get":
            if "update" in cmd:
                return subprocess.CompletedProcess(cmd, 0, "", "")
            assert "--download-only" in cmd and "source" in cmd
            for name, data in self.payloads["apt-get"]:  # type: ignore[misc]
                (Path(cwd) / name).write_bytes(data)
            return subprocess.CompletedProcess(cmd, 0, "", "")
        else:
            raise AssertionError(f"unexpected command {cmd}")
        name, data = self.payloads[tool]
        (out / name).write_bytes(data)
        return subprocess.CompletedProcess(cmd, 0, "", "")


# --------------------------------------------------------------------------- cache location


def test_cache_dir_follows_xdg(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LICSCAN_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "licscan" / "corpora"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "licscan" / "corpora"
    monkeypatch.setenv("LICSCAN_CACHE", str(tmp_path / "explicit"))
    assert cache_dir() == tmp_path / "explicit"


# --------------------------------------------------------------------------- local stand-ins


def test_local_directory_named_like_the_source_is_used_in_place(tmp_path: Path) -> None:
    tree = write(tmp_path / "tool", {"src/a.c": C_FILE.read_text()})
    got = fetch_source(one(tmp_path, '[[source]]\npath = "tool"\n'), tmp_path / "cache")
    assert got.root == tree and got.cached
    assert not (tmp_path / "cache").exists()


def test_local_directory_is_copied_once_and_refreshed_when_it_changes(tmp_path: Path) -> None:
    write(tmp_path / "checkout", {"src/a.c": "int a;\n", ".git/HEAD": "ref\n"})
    src = one(tmp_path, '[[source]]\nname = "tool"\npath = "checkout"\n')
    cache = tmp_path / "cache"
    got = fetch_source(src, cache)
    assert got.root.name == "tool" and not got.cached
    assert (got.root / "src" / "a.c").read_text() == "int a;\n"
    assert not (got.root / ".git").exists()
    marker = got.root / "marker"
    marker.write_text("still the same copy")
    again = fetch_source(src, cache)
    assert again.cached and again.root == got.root and marker.exists()  # a no-op
    (tmp_path / "checkout" / "src" / "b.c").write_text("int b;\n")
    third = fetch_source(src, cache)
    assert not third.cached and (third.root / "src" / "b.c").exists() and not (third.root / "marker").exists()
    assert leftovers(cache) == []


def test_local_archive_sha256_and_no_op(tmp_path: Path) -> None:
    data = tgz({"lib-1.0/src/a.c": C_FILE.read_text()})
    (tmp_path / "lib-1.0.tar.gz").write_bytes(data)
    body = f'[[source]]\npath = "lib-1.0.tar.gz"\nsha256 = "{sha(data)}"\n'
    cache = tmp_path / "cache"
    got = fetch_source(one(tmp_path, body), cache)
    assert got.root == entry_dir(one(tmp_path, body), cache) / "lib-1.0"
    assert (got.root / "src" / "a.c").is_file() and got.sha256 == sha(data)
    assert json.loads((got.root.parent / "source.json").read_text())["sha256"] == sha(data)
    assert fetch_source(one(tmp_path, body), cache).cached

    # the archive changes under the same pin: refused, the previous entry is kept
    (tmp_path / "lib-1.0.tar.gz").write_bytes(tgz({"lib-1.0/src/evil.c": "x"}))
    with pytest.raises(LicscanError, match=r"lib-1.0 \(path .*\): sha256 mismatch for lib-1.0.tar.gz"):
        fetch_source(one(tmp_path, body), cache)
    assert (got.root / "src" / "a.c").is_file() and not (got.root / "src" / "evil.c").exists()
    assert leftovers(cache) == []


def test_hostile_local_archive_is_refused_naming_the_entry(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        ti = tarfile.TarInfo("pkg/../../../escape.c")
        ti.size = 1
        tf.addfile(ti, io.BytesIO(b"x"))
    (tmp_path / "evil.tgz").write_bytes(buf.getvalue())
    cache = tmp_path / "cache"
    with pytest.raises(LicscanError, match=r"^evil \(path .*evil.tgz\): refusing archive: .*path traversal"):
        fetch_source(one(tmp_path, '[[source]]\npath = "evil.tgz"\n'), cache)
    assert leftovers(cache) == [] and not list(cache.glob("path/evil-*"))
    assert not (tmp_path / "escape.c").exists()


def test_missing_local_path(tmp_path: Path) -> None:
    with pytest.raises(LicscanError, match=r"^nope \(path .*\): no such file or directory"):
        fetch_source(one(tmp_path, '[[source]]\npath = "nope"\n'), tmp_path / "cache")


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
@pytest.mark.parametrize("short", [False, True])
def test_git_repository_at_a_commit(tmp_path: Path, short: bool) -> None:
    repo = write(tmp_path / "upstream", {"src/a.c": "int old;\n"})
    git("init", "-q", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-qm", "one", cwd=repo)
    first = git("rev-parse", "HEAD", cwd=repo)
    (repo / "src" / "a.c").write_text("int new;\n")
    git("commit", "-qam", "two", cwd=repo)
    rev = first[:10] if short else first
    src = one(tmp_path, f'[[source]]\nname = "up"\ngit = "{repo}"\nrev = "{rev}"\n')
    calls: list[list[str]] = []

    def spy(cmd, **kw):
        calls.append(cmd)
        return subprocess.run(cmd, **kw)

    got = fetch_source(src, tmp_path / "cache", runner=spy)
    assert got.root.name == "up" and (got.root / "src" / "a.c").read_text() == "int old;\n"
    assert not (got.root / ".git").exists()
    n = len(calls)
    assert fetch_source(src, tmp_path / "cache", runner=spy).cached and len(calls) == n

    bad = one(tmp_path, f'[[source]]\nname = "bad"\ngit = "{repo}"\nrev = "{"0" * 40}"\n')
    with pytest.raises(LicscanError, match=r"^bad \(git .*\): git .* failed"):
        fetch_source(bad, tmp_path / "cache")
    assert leftovers(tmp_path / "cache") == []


# --------------------------------------------------------------------------- fake clients


def test_pypi_with_fake_pip(tmp_path: Path) -> None:
    data = tgz({"Tool-2.0/tool/__init__.py": "X = 1\n"})
    fake = Fake({"pip": ("Tool-2.0.tar.gz", data)})
    body = f'[[source]]\npypi = "Tool==2.0"\nsha256 = "{sha(data)}"\n'
    got = fetch_source(one(tmp_path, body), tmp_path / "c", runner=fake)
    assert got.root.name == "tool" and (got.root / "tool" / "__init__.py").read_text() == "X = 1\n"
    assert fake.calls[0][-1] == "Tool==2.0"
    assert fetch_source(one(tmp_path, body), tmp_path / "c", runner=fake).cached and len(fake.calls) == 1

    # a forced refetch that fails keeps the previous entry and its tree
    with pytest.raises(LicscanError, match=r"^tool \(pypi Tool==2.0\): .* failed \(exit 1\): ERROR: No matching"):
        fetch_source(one(tmp_path, body), tmp_path / "c", runner=Fake({}, fail="pip"), force=True)
    assert (got.root / "tool" / "__init__.py").is_file()
    # a tampered download is refused before extraction; the previous entry is kept
    evil = Fake({"pip": ("Tool-2.0.tar.gz", tgz({"Tool-2.0/tool/__init__.py": "EVIL = 1\n"}))})
    with pytest.raises(LicscanError, match="sha256 mismatch"):
        fetch_source(one(tmp_path, body), tmp_path / "c", runner=evil, force=True)
    assert (got.root / "tool" / "__init__.py").read_text() == "X = 1\n"
    assert leftovers(tmp_path / "c") == []


def test_npm_with_fake_npm(tmp_path: Path) -> None:
    data = tgz({"package/index.js": "module.exports = 1;\n", "package/package.json": "{}"})
    fake = Fake({"npm": ("left-pad-1.3.0.tgz", data)})
    src = one(tmp_path, '[[source]]\nnpm = "left-pad@1.3.0"\n')
    got = fetch_source(src, tmp_path / "c", runner=fake)
    assert got.root.name == "left-pad" and (got.root / "index.js").is_file()
    assert fake.calls[0][-1] == "left-pad@1.3.0"
    assert fetch_source(src, tmp_path / "c", runner=fake).cached and len(fake.calls) == 1


def fake_debian_payload(version: str = "1.0-2") -> list[tuple[str, bytes]]:
    orig = tgz({"tool-1.0/src/main.c": C_FILE.read_text()})
    deb = tgz({"debian/control": "Source: tool\n"}, "w:xz")
    dsc = ("Format: 3.0 (quilt)\nSource: tool\nVersion: %s\nFiles:\n 0 %d tool_1.0.orig.tar.gz\n"
           " 0 %d tool_%s.debian.tar.xz\n" % (version, len(orig), len(deb), version)).encode()
    return [("tool_1.0.orig.tar.gz", orig), (f"tool_{version}.debian.tar.xz", deb), (f"tool_{version}.dsc", dsc)]


@pytest.fixture
def private_apt(monkeypatch):
    """licscan.corpus.debian against a made-up mirror: no system apt configuration is read."""
    monkeypatch.setattr(apt, "system_deb_src", lambda *a: "Types: deb-src\nURIs: http://mirror.invalid/debian"
                        "\nSuites: bookworm\nComponents: main\n")
    monkeypatch.setattr(debian, "_dpkg_source_available", lambda: False)


def test_debian_with_fake_apt(tmp_path: Path, private_apt) -> None:
    payload = fake_debian_payload()
    dsc_sha = sha(payload[2][1])
    fake = Fake({"apt-get": payload})  # type: ignore[dict-item]
    body = f'[[source]]\ndebian = "tool"\nversion = "1.0-2"\nsha256 = "{dsc_sha}"\n'
    got = fetch_source(one(tmp_path, body), tmp_path / "c", runner=fake)
    assert got.root.name == "tool" and got.sha256 == dsc_sha
    assert (got.root / "src" / "main.c").is_file() and (got.root / "debian" / "control").is_file()
    assert any(c[-1] == "tool=1.0-2" for c in fake.calls)
    n = len(fake.calls)
    assert fetch_source(one(tmp_path, body), tmp_path / "c", runner=fake).cached and len(fake.calls) == n
    # nothing of licscan.corpus.debian's work area is left but its private apt state
    assert sorted(p.name for p in (tmp_path / "c" / ".debian").iterdir()) == [".apt"]

    wrong = body.replace(dsc_sha, "0" * 64)
    with pytest.raises(LicscanError, match=r"^tool \(debian tool=1.0-2\): sha256 mismatch for tool_1.0-2.dsc"):
        fetch_source(one(tmp_path, wrong), tmp_path / "c", runner=fake)
    assert (got.root / "src" / "main.c").is_file()
    assert leftovers(tmp_path / "c") == []


# --------------------------------------------------------------------------- manifests -> index


def test_fetch_manifest_stops_at_the_first_failure(tmp_path: Path) -> None:
    write(tmp_path / "a", {"x.c": "int x;\n"})
    (tmp_path / "m.toml").write_text('[[source]]\npath = "a"\n[[source]]\npath = "missing"\n'
                                     '[[source]]\npath = "a"\nname = "later"\n')
    seen: list[str] = []
    with pytest.raises(LicscanError, match=r"missing \(path"):
        fetch_manifest(load_manifest(tmp_path / "m.toml"), tmp_path / "c",
                       on_fetched=lambda got, s: seen.append(got.source.name))
    assert seen == ["a"]


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "licscan", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_index_build_from_a_manifest(tmp_path: Path) -> None:
    write(tmp_path / "gplish", {"src/a.c": C_FILE.read_text()})  # SPDX tag: GPL-3.0-or-later
    data = tgz({"other-1.0/lib/b.c": C_FILE.read_text().replace("int", "long")})
    (tmp_path / "other-1.0.tar.gz").write_bytes(data)
    manifest = tmp_path / "m.toml"
    manifest.write_text(f'name = "t"\n[[source]]\npath = "gplish"\n'
                        f'[[source]]\nname = "other"\npath = "other-1.0.tar.gz"\nsha256 = "{sha(data)}"\n'
                        f'spdx = "GPL-2.0-only"\n')
    env = {"LICSCAN_CACHE": str(tmp_path / "cache"), "LICSCAN_LICENSE_ENGINE": "light"}
    out = tmp_path / "t.lsi"
    r = run_cli("index", "build", "--out", str(out), str(manifest), env=env)
    assert r.returncode == 0, r.stderr
    assert "other (path" in r.stderr and "indexed" in r.stderr
    r = run_cli("index", "info", "--format", "json", str(out), env=env)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    by = {s["name"]: s for s in info["sources"]}
    assert set(by) == {"gplish", "other"}
    assert by["other"]["kind"] == "path" and by["other"]["sha256"] == sha(data)
    assert by["other"]["spdx"] == "GPL-2.0-only"
    assert by["other"]["licenses"] == {"GPL-2.0-only": by["other"]["files"]} and by["other"]["files"] >= 1
    assert by["gplish"]["languages"] == {"c": 1} and by["gplish"]["bytes"] > 0
    assert by["gplish"]["licenses"] == {"GPL-3.0-or-later": 1}  # detected, not overridden
    r = run_cli("scan", "--index", str(out), "--format", "json", str(C_FILE), env=env)
    paths = {f["source"]["path"] for f in json.loads(r.stdout)["findings"]}
    assert "gplish/src/a.c" in paths  # source paths read <source name>/<path>
    text = run_cli("index", "info", str(out), env=env).stdout
    assert "other: path" in text and "licenses: GPL-2.0-only" in text

    # a bad manifest is exit 2 with one line naming the entry
    manifest.write_text('[[source]]\npypi = "x"\n')
    r = run_cli("index", "build", "--out", str(out), str(manifest), env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "source #1 (x)" in r.stderr


def test_resolve_roots_passes_directories_through(tmp_path: Path) -> None:
    res = resolve_roots([tmp_path], tmp_path / "cache")
    assert res.roots == [tmp_path] and res.extra_meta == {} and res.license_overrides == {}


# --------------------------------------------------------------------------- the real thing


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("LICSCAN_NETWORK_TESTS") != "1",
                    reason="set LICSCAN_NETWORK_TESTS=1 to fetch from the configured apt sources")
def test_real_debian_package_end_to_end(tmp_path: Path, monkeypatch) -> None:
    if not Path("/etc/apt").is_dir() or shutil.which("apt-get") is None:
        pytest.skip("no apt on this machine")
    monkeypatch.setenv("LICSCAN_LICENSE_ENGINE", "light")
    cache = tmp_path / "cache"
    state = apt.AptState(cache / ".debian" / ".apt", apt.ETC_APT)
    apt.apt_update(state, subprocess.run)
    res = apt.run(subprocess.run, ["apt-cache", *state.options(), "showsrc", "--only-source", "hello"], what="showsrc")
    offered = apt.parse_deb822(res.stdout)[0]["Version"]
    (tmp_path / "m.toml").write_text(f'[[source]]\ndebian = "hello"\nversion = "{offered}"\n')
    res = resolve_roots([tmp_path / "m.toml"], cache)
    (root,) = res.roots
    assert root.name == "hello" and (root / "src" / "hello.c").is_file()
    assert len(res.extra_meta["sources"][0]["sha256"]) == 64  # of the .dsc apt downloaded
    assert resolve_roots([tmp_path / "m.toml"], cache).roots == [root]  # second time: cached

    from licscan.engine.build import build_index
    from licscan.engine.index import open_index

    out = tmp_path / "hello.lsi"
    build_index(res.roots, out, workers=1, extra_meta=res.extra_meta)
    idx = open_index(out)
    row = idx.db.execute("SELECT license FROM files WHERE path = 'hello/src/hello.c'").fetchone()
    assert row is not None and "GPL-3.0" in (row[0] or "")
    assert idx.meta["sources"][0]["version"] == offered
