"""Safe extraction of untrusted archives (tar, tar.gz/xz/bz2/zst, zip, wheels, crates).

An archive is refused as a whole, with one line naming the offending member, when
it holds an absolute path or ``..``, a symlink or hardlink leading outside the tree,
a device file or FIFO, or when it expands past a size or file-count cap. Symlinks
are created last and checked again once the whole tree exists, so a chain of
individually harmless links cannot point outside. Callers extract into a private
temporary directory and rename the result into place: a refusal leaves nothing.
"""

from __future__ import annotations

import lzma
import os
import posixpath
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from licscan.model import LicscanError

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_CHUNK = 1 << 20
MAX_DEPTH = 256
"""Path components a member may have: deeper trees are hostile (and blow os.makedirs' recursion)."""
PATH_MAX = 4096
NAME_MAX = 255
_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


def _show(name: str) -> str:
    """A member name for a one-line message: hostile names can be kilobytes long."""
    return repr(name if len(name) <= 120 else f"{name[:60]}...{name[-40:]}")


@dataclass(frozen=True)
class Limits:
    """Caps on what one archive may expand to (zip and tar bombs)."""

    max_bytes: int = 4 << 30
    max_files: int = 300_000
    max_link_bytes: int = 4096


class Refused(LicscanError):
    """An archive that must not be extracted."""


@dataclass
class _Member:
    name: str
    kind: str  # file, dir, symlink, hardlink
    size: int = 0
    mode: int = 0o644
    link: str = ""


def extract_archive(archive: Path, dest: Path, *, what: str = "", limits: Limits | None = None,
                    strip_top: bool = True) -> Path:
    """Extract ``archive`` into the new directory ``dest``; return the tree's root.

    The root is ``dest`` itself, or its single top-level directory when ``strip_top``
    and the archive wraps everything in one (``pkg-1.0/...``). Raises
    :class:`Refused` (a LicscanError) for hostile archives and LicscanError for
    unreadable ones; ``dest`` is removed on any failure.
    """
    limits = limits or Limits()
    what = what or archive.name
    dest.mkdir(parents=True, exist_ok=False)
    try:
        with archive.open("rb") as fh:
            head = fh.read(4)
        if zipfile.is_zipfile(archive):
            _extract(_zip_members(archive, what), dest, what, limits)
        else:
            _extract(_tar_members(archive, head, what), dest, what, limits)
    except BaseException as e:
        shutil.rmtree(dest, ignore_errors=True)
        if isinstance(e, LicscanError):
            raise
        # RuntimeError covers RecursionError and zipfile's missing-module errors; zlib/lzma
        # errors are corrupt compressed data: all one line, never an internal error.
        if isinstance(e, (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, ValueError,
                          RuntimeError, NotImplementedError, zlib.error, lzma.LZMAError)):
            raise LicscanError(f"{what}: cannot extract {archive.name}: {str(e)[:300]}") from None
        raise
    if strip_top:
        entries = list(dest.iterdir())
        if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
            return entries[0]
    return dest


def _clean_name(raw: str, what: str) -> str:
    """A member name as a safe relative POSIX path ('' for the archive root)."""
    if "\0" in raw:
        raise Refused(f"{what}: refusing archive: member name {raw!r} contains a NUL byte")
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise Refused(f"{what}: refusing archive: member {raw!r} has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise Refused(f"{what}: refusing archive: member {_show(raw)} leaves the tree (path traversal)")
    if len(parts) > MAX_DEPTH:
        raise Refused(f"{what}: refusing archive: member {_show(raw)} is nested {len(parts)} "
                      f"directories deep (limit {MAX_DEPTH})")
    clean = "/".join(parts)
    if len(clean.encode("utf-8", "surrogateescape")) >= PATH_MAX or \
            any(len(p.encode("utf-8", "surrogateescape")) > NAME_MAX for p in parts):
        raise Refused(f"{what}: refusing archive: member {_show(raw)} has a path longer than the "
                      "system allows")
    return clean


def _tar_members(archive: Path, head: bytes, what: str) -> Iterator[tuple[_Member, IO[bytes] | None]]:
    if head == _ZSTD_MAGIC:
        try:
            import zstandard  # optional: .tar.zst only
        except ImportError:
            raise LicscanError(f"{what}: {archive.name} is zstd-compressed; "
                               "install the `zstandard` package to extract it") from None
        raw = archive.open("rb")
        stream = zstandard.ZstdDecompressor().stream_reader(raw)
        tf = tarfile.open(fileobj=stream, mode="r|")
    else:
        raw = None
        # Stream mode: one sequential pass, no seeking back through compressed data.
        tf = tarfile.open(archive, mode="r|*")
    try:
        for m in tf:
            if m.isreg():
                yield _Member(m.name, "file", m.size, m.mode), tf.extractfile(m)
            elif m.isdir():
                yield _Member(m.name, "dir"), None
            elif m.issym():
                yield _Member(m.name, "symlink", link=m.linkname), None
            elif m.islnk():
                yield _Member(m.name, "hardlink", link=m.linkname), None
            elif m.ischr() or m.isblk():
                raise Refused(f"{what}: refusing archive: member {m.name!r} is a device file")
            elif m.isfifo():
                raise Refused(f"{what}: refusing archive: member {m.name!r} is a FIFO")
            else:
                raise Refused(f"{what}: refusing archive: member {m.name!r} has an unsupported type")
    finally:
        tf.close()
        if raw is not None:
            raw.close()


def _zip_members(archive: Path, what: str) -> Iterator[tuple[_Member, IO[bytes] | None]]:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            mode = info.external_attr >> 16
            ftype = stat.S_IFMT(mode)
            if info.is_dir() or ftype == stat.S_IFDIR:
                yield _Member(info.filename, "dir"), None
                continue
            # zipfile raises RuntimeError / NotImplementedError for these: name the member instead.
            if info.flag_bits & 0x1:
                raise Refused(f"{what}: refusing archive: member {_show(info.filename)} is encrypted")
            if info.compress_type not in _ZIP_METHODS:
                raise Refused(f"{what}: refusing archive: member {_show(info.filename)} uses an "
                              f"unsupported compression method ({info.compress_type})")
            if ftype == stat.S_IFLNK:
                if info.file_size > 4096:
                    raise Refused(f"{what}: refusing archive: symlink {info.filename!r} is oversized")
                target = zf.read(info).decode("utf-8", "replace")
                yield _Member(info.filename, "symlink", link=target), None
            elif ftype in (stat.S_IFCHR, stat.S_IFBLK):
                raise Refused(f"{what}: refusing archive: member {info.filename!r} is a device file")
            elif ftype == stat.S_IFIFO:
                raise Refused(f"{what}: refusing archive: member {info.filename!r} is a FIFO")
            else:
                with zf.open(info) as fh:
                    yield _Member(info.filename, "file", info.file_size, mode or 0o644), fh


def _extract(members: Iterator[tuple[_Member, IO[bytes] | None]], dest: Path, what: str,
             limits: Limits) -> None:
    root = os.path.realpath(dest)
    total = count = 0
    files: set[str] = set()
    links: list[tuple[str, str, str]] = []
    for m, data in members:
        count += 1
        if count > limits.max_files:
            raise Refused(f"{what}: refusing archive: more than {limits.max_files:,} members")
        name = _clean_name(m.name, what)
        if not name:
            continue
        target = os.path.join(root, *name.split("/"))
        if m.kind == "dir":
            os.makedirs(target, exist_ok=True)
            continue
        if m.kind == "symlink":
            link = m.link
            if len(link) > limits.max_link_bytes or not link or link.startswith("/") or "\0" in link:
                raise Refused(f"{what}: refusing archive: symlink {m.name!r} -> {link!r} points outside the tree")
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), link))
            if resolved == ".." or resolved.startswith("../"):
                raise Refused(f"{what}: refusing archive: symlink {m.name!r} -> {link!r} points outside the tree")
            links.append((name, target, link))  # created last: nothing is written through a link
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if m.kind == "hardlink":
            try:
                src = _clean_name(m.link, what)
            except Refused:
                raise Refused(f"{what}: refusing archive: hardlink {m.name!r} -> {m.link!r} points "
                              "outside the tree") from None
            if src not in files:
                raise Refused(f"{what}: refusing archive: hardlink {m.name!r} -> {m.link!r} does not "
                              "point to a file of the tree")
            size = os.path.getsize(os.path.join(root, *src.split("/")))
            total += size
            if total > limits.max_bytes:
                raise Refused(f"{what}: refusing archive: expands past {limits.max_bytes:,} bytes")
            shutil.copyfile(os.path.join(root, *src.split("/")), target)  # a copy: no shared inode
        else:
            if total + m.size > limits.max_bytes:
                raise Refused(f"{what}: refusing archive: expands past {limits.max_bytes:,} bytes")
            total = _copy(data, target, total, limits, what)
            os.chmod(target, 0o755 if m.mode & 0o111 else 0o644)  # no setuid, no odd owners
        files.add(name)
    outside = f"{what}: refusing archive: symlink {{}} -> {{}} points outside the tree"
    for name, target, link in links:
        # Links may lead through earlier links: never create one in a directory that
        # resolves outside, and check where each really ends up.
        if not _inside(os.path.realpath(os.path.dirname(target)), root):
            raise Refused(outside.format(repr(name), repr(link)))
        if os.path.lexists(target):
            raise Refused(f"{what}: refusing archive: symlink {name!r} clashes with another member")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.symlink(link, target)
        if not _inside(os.path.realpath(target), root):
            raise Refused(outside.format(repr(name), repr(link)))
    for name, target, link in links:  # a later link can redirect an earlier one
        if not _inside(os.path.realpath(target), root):
            raise Refused(outside.format(repr(name), repr(link)))


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root + os.sep)


def _copy(data: IO[bytes] | None, target: str, total: int, limits: Limits, what: str) -> int:
    """Stream one member to disk, counting bytes: declared sizes can lie (zip)."""
    with open(target, "wb") as out:
        while data is not None:
            chunk = data.read(_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > limits.max_bytes:
                raise Refused(f"{what}: refusing archive: expands past {limits.max_bytes:,} bytes")
            out.write(chunk)
    return total
