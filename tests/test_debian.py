"""Tests of licscan.corpus.apt and .debian: deb-src derivation, fetching with a fake apt-get."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from licscan.corpus import debian
from licscan.corpus.apt import deb_src_stanzas, parse_deb822, parse_one_line, render_deb822, system_deb_src
from licscan.corpus.debian import fetch_debian_source
from licscan.model import LicscanError

DEB822 = """\
Types: deb
# a comment line
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBFxZ
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
URIs: http://disabled.example/x
Suites: stable
Components: main
Enabled: no
"""

ONE_LINE = """\
# comment
deb [arch=amd64,i386 signed-by=/etc/apt/keyrings/x.gpg] http://mirror.example/debian bookworm main non-free
deb http://mirror.example/debian bookworm main non-free
deb-src http://other.example/debian sid main   # trailing comment

"""


def test_parse_deb822_keeps_multiline_and_drops_comments():
    st = parse_deb822(DEB822)
    assert len(st) == 3
    assert st[0]["URIs"] == "http://mirror.example/debian"
    assert st[0]["Suites"] == "bookworm bookworm-updates"
    assert st[1]["Signed-By"].startswith("\n -----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert st[1]["Signed-By"].splitlines()[-1] == " -----END PGP PUBLIC KEY BLOCK-----"


def test_deb822_to_deb_src():
    src = deb_src_stanzas(parse_deb822(DEB822))
    assert [s["Types"] for s in src] == ["deb-src", "deb-src"]
    assert src[0]["Signed-By"] == "/usr/share/keyrings/debian-archive-keyring.gpg"
    assert src[0]["Components"] == "main contrib"
    assert "BEGIN PGP PUBLIC KEY BLOCK" in src[1]["Signed-By"]
    assert all("disabled.example" not in s["URIs"] for s in src)
    text = render_deb822(src)
    # the rendered file parses back to the same entries
    assert parse_deb822(text) == src
    assert text.count("Types: deb-src") == 2


def test_one_line_to_deb_src():
    st = parse_one_line(ONE_LINE)
    assert st[0] == {
        "Types": "deb",
        "URIs": "http://mirror.example/debian",
        "Suites": "bookworm",
        "Components": "main non-free",
        "Architectures": "amd64 i386",
        "Signed-By": "/etc/apt/keyrings/x.gpg",
    }
    src = deb_src_stanzas(st)
    # the second line duplicates the first (same URI/suite/components): one entry kept
    assert len(src) == 2
    assert src[0]["Signed-By"] == "/etc/apt/keyrings/x.gpg"
    assert src[1]["URIs"] == "http://other.example/debian" and src[1]["Suites"] == "sid"
    assert all(s["Types"] == "deb-src" for s in src)


def test_one_line_rejects_garbage():
    with pytest.raises(LicscanError):
        parse_one_line("deb\n")


def test_system_deb_src_reads_both_formats(tmp_path):
    etc = tmp_path / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    (etc / "sources.list").write_text(ONE_LINE)
    (etc / "sources.list.d" / "debian.sources").write_text(DEB822)
    (etc / "sources.list.d" / "ignored.sources.disabled").write_text("Types: deb\nURIs: http://no/\nSuites: x\n")
    text = system_deb_src(etc)
    st = parse_deb822(text)
    uris = [s["URIs"] for s in st]
    assert "http://no/" not in uris
    assert uris.count("http://mirror.example/debian") == 2  # different components: both kept
    assert "http://mirror.example/debian-security" in uris
    assert all(s["Types"] == "deb-src" for s in st)


def test_system_deb_src_without_sources(tmp_path):
    with pytest.raises(LicscanError, match="no apt 'deb' sources"):
        system_deb_src(tmp_path)


# --------------------------------------------------------------------------
# fetch with a fake apt-get


def _tar_bytes(files: dict[str, str], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, content in files.items():
            data = content.encode()
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


class FakeApt:
    """Stands in for subprocess.run: fakes apt-get update/source, refuses anything else."""

    def __init__(self, *, fail_source: bool = False, broken_tar: bool = False):
        self.calls: list[list[str]] = []
        self.fail_source = fail_source
        self.broken_tar = broken_tar

    def __call__(self, cmd, cwd=None, **kw):
        self.calls.append(list(cmd))
        if cmd[0] != "apt-get":
            raise AssertionError(f"unexpected command {cmd}")
        opts = dict(cmd[i + 1].split("=", 1) for i, a in enumerate(cmd) if a == "-o")
        # always a private state: never the system's
        for key in ("Dir::State", "Dir::State::Lists", "Dir::State::status", "Dir::Cache", "Dir::Etc::SourceParts"):
            assert not opts[key].startswith(("/var/", "/etc/")), (key, opts[key])
        if "update" in cmd:
            parts = Path(opts["Dir::Etc::SourceParts"])
            assert "Types: deb-src" in (parts / "licscan-deb-src.sources").read_text()
            return subprocess.CompletedProcess(cmd, 0, "ok\n", "")
        assert "source" in cmd and "--download-only" in cmd
        if self.fail_source:
            return subprocess.CompletedProcess(
                cmd, 100, "", "Err:1 http://x tool 1.0 (tar)\n  404  Not Found\nE: Failed to fetch http://x/tool_1.0.orig.tar.gz  404  Not Found\n"
            )
        d = Path(cwd)
        orig = _tar_bytes({"tool-1.0/src/main.c": "int main(void) { return 0; }\n", "tool-1.0/README": "hi\n"})
        if self.broken_tar:
            orig = orig[: len(orig) // 2]
        deb = _tar_bytes({"debian/control": "Source: tool\n", "debian/source/format": "3.0 (quilt)\n"}, "w:xz")
        (d / "tool_1.0.orig.tar.gz").write_bytes(orig)
        (d / "tool_1.0-2.debian.tar.xz").write_bytes(deb)
        (d / "tool_1.0-2.dsc").write_text(
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n"
            "Format: 3.0 (quilt)\nSource: tool\nVersion: 1:1.0-2\n"
            "Files:\n 0123 %d tool_1.0.orig.tar.gz\n 4567 %d tool_1.0-2.debian.tar.xz\n"
            "\n-----BEGIN PGP SIGNATURE-----\nxx\n-----END PGP SIGNATURE-----\n" % (len(orig), len(deb))
        )
        return subprocess.CompletedProcess(cmd, 0, "Download complete\n", "")


@pytest.fixture
def etc_apt(tmp_path):
    etc = tmp_path / "etc-apt"
    (etc / "sources.list.d").mkdir(parents=True)
    (etc / "sources.list.d" / "debian.sources").write_text(DEB822)
    return etc


def test_fetch_with_fake_apt(tmp_path, etc_apt):
    fake = FakeApt()
    root = tmp_path / "src"
    tree = fetch_debian_source("tool", None, root, runner=fake, extractor="tarfile", etc_apt=etc_apt)
    assert tree == root / "tool_1.0-2"  # epoch dropped
    assert (tree / "src" / "main.c").read_text().startswith("int main")
    assert (tree / "debian" / "control").is_file()
    assert [c[-1] for c in fake.calls] == ["update", "tool"]
    assert sorted(p.name for p in root.iterdir()) == [".apt", "tool_1.0-2"]  # no temp dirs left

    # second call: a no-op, with or without the version
    n = len(fake.calls)
    assert fetch_debian_source("tool", None, root, runner=fake, extractor="tarfile", etc_apt=etc_apt) == tree
    assert fetch_debian_source("tool", "1:1.0-2", root, runner=fake, extractor="tarfile", etc_apt=etc_apt) == tree
    assert len(fake.calls) == n

    # another package in the same root: the lists are fresh, no second update
    fetch_debian_source("tool", "1.0-3", root, runner=fake, extractor="tarfile", etc_apt=etc_apt)
    assert fake.calls[-1][-1] == "tool=1.0-3"
    assert "update" not in fake.calls[-1]


def test_fetch_failure_leaves_no_tree(tmp_path, etc_apt):
    root = tmp_path / "src"
    with pytest.raises(LicscanError) as ei:
        fetch_debian_source("tool", "1.0-2", root, runner=FakeApt(fail_source=True), extractor="tarfile", etc_apt=etc_apt)
    msg = str(ei.value)
    assert "\n" not in msg and "404" in msg
    assert sorted(p.name for p in root.iterdir()) == [".apt"]

    with pytest.raises(LicscanError, match="cannot extract"):
        fetch_debian_source("tool", "1.0-2", root, runner=FakeApt(broken_tar=True), extractor="tarfile", etc_apt=etc_apt)
    assert sorted(p.name for p in root.iterdir()) == [".apt"]


def test_fetch_rejects_bad_names(tmp_path, etc_apt):
    with pytest.raises(LicscanError):
        fetch_debian_source("../evil", None, tmp_path, runner=FakeApt(), etc_apt=etc_apt)
    with pytest.raises(LicscanError):
        fetch_debian_source("tool", "1.0; rm -rf /", tmp_path, runner=FakeApt(), etc_apt=etc_apt)


def test_missing_dpkg_source_names_the_package(tmp_path, etc_apt, monkeypatch):
    monkeypatch.setattr(debian, "_dpkg_source_available", lambda: False)
    with pytest.raises(LicscanError, match="apt-get install dpkg-dev"):
        fetch_debian_source("tool", None, tmp_path, runner=FakeApt(), extractor="dpkg-source", etc_apt=etc_apt)


def test_tar_extraction_is_safe(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    evil.write_bytes(_tar_bytes({"top/ok.c": "x\n", "top/../../escape.c": "y\n"}))
    with pytest.raises(LicscanError):
        debian._extract_tar(evil, tmp_path / "out", strip_top=True)
    assert not (tmp_path / "escape.c").exists()


def test_fallback_extraction_has_the_archive_limits(tmp_path, etc_apt):
    """Without dpkg-source, Debian tarballs are unpacked with extract.py's limits, not unbounded."""
    from licscan.corpus.extract import Limits, Refused

    with pytest.raises(Refused):
        fetch_debian_source("tool", None, tmp_path / "few", runner=FakeApt(), extractor="tarfile",
                            etc_apt=etc_apt, limits=Limits(max_files=1))
    assert not list((tmp_path / "few").glob("tool_*"))
    with pytest.raises(Refused):
        fetch_debian_source("tool", None, tmp_path / "small", runner=FakeApt(), extractor="tarfile",
                            etc_apt=etc_apt, limits=Limits(max_bytes=4))
    tree = fetch_debian_source("tool", None, tmp_path / "ok", runner=FakeApt(), extractor="tarfile", etc_apt=etc_apt)
    assert tree.is_dir()


# --------------------------------------------------------------------------
# the real thing (needs the network: LICSCAN_NETWORK_TESTS=1)


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("LICSCAN_NETWORK_TESTS") != "1", reason="set LICSCAN_NETWORK_TESTS=1 to fetch from the configured apt mirror")
def test_fetch_real_hello(tmp_path):
    if not Path("/etc/apt").is_dir():
        pytest.skip("no apt on this machine")
    tree = fetch_debian_source("hello", None, tmp_path)
    assert tree.name.startswith("hello_")
    assert (tree / "src" / "hello.c").is_file()
    assert (tree / "debian" / "control").is_file()
    assert not (tree / ".pc").exists()
    # the system's apt state is untouched: our lists live under tmp_path
    assert list((tmp_path / ".apt" / "state" / "lists").glob("*Sources*"))
    mtime = tree.stat().st_mtime
    assert fetch_debian_source("hello", None, tmp_path) == tree and tree.stat().st_mtime == mtime
