"""Safe extraction: good archives unpack; every hostile one is refused and leaves nothing."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from licscan.corpus.extract import Limits, Refused, extract_archive
from licscan.model import LicscanError


def tar_of(path: Path, members: list[tuple], mode: str = "w:gz") -> Path:
    """members: (name, type, payload) with type file|dir|sym|hard|chr|blk|fifo."""
    with tarfile.open(path, mode) as tf:
        for name, kind, payload in members:
            ti = tarfile.TarInfo(name)
            data = b""
            if kind == "file":
                data = payload.encode() if isinstance(payload, str) else payload
                ti.size, ti.mode = len(data), 0o4755 if name.endswith(".sh") else 0o644
            elif kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, payload
            elif kind == "hard":
                ti.type, ti.linkname = tarfile.LNKTYPE, payload
            else:
                ti.type = {"chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}[kind]
            tf.addfile(ti, io.BytesIO(data) if kind == "file" else None)
    return path


def zip_of(path: Path, members: list[tuple]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, kind, payload in members:
            info = zipfile.ZipInfo(name)
            if kind == "sym":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            elif kind == "fifo":
                info.external_attr = (stat.S_IFIFO | 0o644) << 16
            elif kind == "chr":
                info.external_attr = (stat.S_IFCHR | 0o644) << 16
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, payload)
    return path


GOOD = [("pkg-1.0/", "dir", None), ("pkg-1.0/src/main.c", "file", "int main(void) { return 0; }\n"),
        ("pkg-1.0/run.sh", "file", "#!/bin/sh\n"), ("pkg-1.0/src/alias.c", "sym", "main.c"),
        ("pkg-1.0/copy.c", "hard", "pkg-1.0/src/main.c")]


@pytest.mark.parametrize("mode, suffix", [("w", ".tar"), ("w:gz", ".tar.gz"), ("w:xz", ".tar.xz"),
                                          ("w:bz2", ".tar.bz2")])
def test_good_tarballs_unpack_with_top_dir_stripped(tmp_path: Path, mode: str, suffix: str) -> None:
    arc = tar_of(tmp_path / f"pkg{suffix}", GOOD, mode)
    root = extract_archive(arc, tmp_path / "out")
    assert root == tmp_path / "out" / "pkg-1.0"
    assert (root / "src" / "main.c").read_text().startswith("int main")
    assert os.readlink(root / "src" / "alias.c") == "main.c"
    assert (root / "copy.c").read_text() == (root / "src" / "main.c").read_text()
    assert not (root / "copy.c").samefile(root / "src" / "main.c")  # copied, not linked
    mode_bits = (root / "run.sh").stat().st_mode
    assert mode_bits & 0o111 and not mode_bits & stat.S_ISUID  # setuid dropped


def test_good_zip_and_no_strip(tmp_path: Path) -> None:
    arc = zip_of(tmp_path / "w.whl", [("a/x.py", "file", "X = 1\n"), ("b/y.py", "file", "Y = 2\n"),
                                      ("a/link.py", "sym", "x.py")])
    root = extract_archive(arc, tmp_path / "out")
    assert root == tmp_path / "out"  # two top-level directories: nothing to strip
    assert (root / "a" / "x.py").read_text() == "X = 1\n"
    assert os.readlink(root / "a" / "link.py") == "x.py"


HOSTILE_TAR = {
    "traversal": ([("pkg/ok.c", "file", "x"), ("pkg/../../evil.c", "file", "x")], "path traversal"),
    "absolute": ([("/tmp/evil.c", "file", "x")], "absolute path"),
    "symlink-absolute": ([("pkg/l", "sym", "/etc/passwd")], "points outside"),
    "symlink-relative": ([("pkg/l", "sym", "../../etc/passwd")], "points outside"),
    # each link looks harmless alone; together they lead out of the tree
    "symlink-chain": ([("pkg/d/up", "sym", ".."), ("pkg/d/up/up2", "sym", ".."),
                       ("pkg/d/up/up2/up3", "sym", ".."), ("pkg/d/up/up2/up3/y", "sym", "z")],
                      "'pkg/d/up/up2/up3' -> '..' points outside"),
    "symlink-then-write": ([("pkg/l", "sym", "/tmp"), ("pkg/l/evil.c", "file", "x")], "points outside"),
    "hardlink-outside": ([("pkg/h", "hard", "/etc/passwd")], "hardlink 'pkg/h' -> '/etc/passwd' points outside"),
    "hardlink-traversal": ([("pkg/h", "hard", "../../etc/passwd")], "hardlink .* points outside"),
    "char-device": ([("pkg/null", "chr", None)], "device file"),
    "block-device": ([("pkg/sda", "blk", None)], "device file"),
    "fifo": ([("pkg/pipe", "fifo", None)], "FIFO"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_TAR))
def test_hostile_tarballs_are_refused(tmp_path: Path, case: str) -> None:
    members, reason = HOSTILE_TAR[case]
    arc = tar_of(tmp_path / "evil.tar.gz", members)
    dest = tmp_path / "box" / "out"
    dest.parent.mkdir()
    with pytest.raises(Refused, match=reason) as ei:
        extract_archive(arc, dest, what="evil (path /x/evil.tar.gz)")
    assert str(ei.value).startswith("evil (path /x/evil.tar.gz): refusing archive")
    assert "\n" not in str(ei.value)
    assert not dest.exists()  # nothing half-written
    assert sorted(os.listdir(tmp_path / "box")) == []  # and nothing outside it
    assert not (tmp_path / "evil.c").exists() and not (tmp_path / "y").exists()
    assert not (tmp_path / "up3").exists()


HOSTILE_ZIP = {
    "traversal": ([("../evil.py", "file", "x")], "path traversal"),
    "backslash-traversal": ([("a\\..\\..\\evil.py", "file", "x")], "path traversal"),
    "absolute": ([("/evil.py", "file", "x")], "absolute path"),
    "drive": ([("C:/evil.py", "file", "x")], "absolute path"),
    "symlink": ([("a/l", "sym", "../../../etc")], "points outside"),
    "fifo": ([("a/p", "fifo", "")], "FIFO"),
    "device": ([("a/d", "chr", "")], "device file"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_ZIP))
def test_hostile_zips_are_refused(tmp_path: Path, case: str) -> None:
    members, reason = HOSTILE_ZIP[case]
    arc = zip_of(tmp_path / "evil.zip", members)
    with pytest.raises(Refused, match=reason):
        extract_archive(arc, tmp_path / "out", what="evil")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "evil.py").exists()


def test_size_cap(tmp_path: Path) -> None:
    big = b"\0" * 300_000  # compresses to almost nothing: a small bomb
    tgz = tar_of(tmp_path / "bomb.tar.gz", [("p/a.bin", "file", big), ("p/b.bin", "file", big)])
    assert tgz.stat().st_size < 5_000
    with pytest.raises(Refused, match="expands past 500,000 bytes"):
        extract_archive(tgz, tmp_path / "o1", limits=Limits(max_bytes=500_000))
    assert not (tmp_path / "o1").exists()
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.bin", big)
        zf.writestr("b.bin", big)
    with pytest.raises(Refused, match="expands past"):
        extract_archive(z, tmp_path / "o2", limits=Limits(max_bytes=500_000))
    # within the cap the same archive is fine
    assert (extract_archive(tgz, tmp_path / "o3", limits=Limits(max_bytes=700_000)) / "a.bin").stat().st_size == 300_000


def test_hardlinks_count_toward_the_size_cap(tmp_path: Path) -> None:
    members = [("p/a.bin", "file", b"\0" * 200_000)] + [(f"p/h{i}", "hard", "p/a.bin") for i in range(5)]
    arc = tar_of(tmp_path / "links.tar", members, "w")
    with pytest.raises(Refused, match="expands past"):
        extract_archive(arc, tmp_path / "out", limits=Limits(max_bytes=1_000_000))


def test_file_count_cap(tmp_path: Path) -> None:
    arc = tar_of(tmp_path / "many.tar", [(f"p/f{i}.c", "file", "x") for i in range(50)], "w")
    with pytest.raises(Refused, match="more than 20 members"):
        extract_archive(arc, tmp_path / "out", limits=Limits(max_files=20))
    z = zip_of(tmp_path / "many.zip", [(f"f{i}.py", "file", "x") for i in range(50)])
    with pytest.raises(Refused, match="more than 20 members"):
        extract_archive(z, tmp_path / "out2", limits=Limits(max_files=20))


def test_corrupt_archive_is_an_error_not_a_crash(tmp_path: Path) -> None:
    arc = tar_of(tmp_path / "ok.tar.gz", GOOD)
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(arc.read_bytes()[:60])
    with pytest.raises(LicscanError, match="cannot extract broken.tar.gz"):
        extract_archive(broken, tmp_path / "out", what="broken")
    assert not (tmp_path / "out").exists()
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not an archive at all" * 40)
    with pytest.raises(LicscanError, match="cannot extract"):
        extract_archive(junk, tmp_path / "out")


def test_zstd(tmp_path: Path) -> None:
    tar = tar_of(tmp_path / "p.tar", GOOD, "w")
    zst = tmp_path / "p.tar.zst"
    try:
        import zstandard
    except ImportError:
        zst.write_bytes(b"\x28\xb5\x2f\xfd" + b"\0" * 64)
        with pytest.raises(LicscanError, match="install the `zstandard` package"):
            extract_archive(zst, tmp_path / "out")
        return
    zst.write_bytes(zstandard.ZstdCompressor().compress(tar.read_bytes()))
    assert (extract_archive(zst, tmp_path / "out") / "src" / "main.c").is_file()
