"""Fetch Debian source packages through a private apt state (see ``licscan.corpus.apt``).

Layout under ``dest_root``::

    .apt/                     private apt state (sources, lists, cache, status)
    <source>_<version>/       one extracted source tree (epoch dropped from version)

Trees appear atomically (extracted into a temporary directory, then renamed), so
an existing tree is always complete and a second call returns it without running
anything. Without dpkg-source, tarballs are unpacked by ``licscan.corpus.extract``,
with the same size, file-count and path limits as every other archive.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from licscan.corpus.apt import ETC_APT, AptState, Runner, apt_update, parse_deb822, run
from licscan.corpus.extract import Limits, extract_archive
from licscan.corpus.leftovers import tmp_prefix
from licscan.model import LicscanError

__all__ = ["fetch_debian_source"]

_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".tar.lzma", ".tar")


def _strip_epoch(version: str) -> str:
    return version.split(":", 1)[1] if ":" in version else version


def _safe_name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+~_-]", "_", s)


def _parse_dsc(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8", errors="replace")
    # drop an OpenPGP armor, keep the signed body
    if text.startswith("-----BEGIN PGP SIGNED MESSAGE-----"):
        body = text.split("\n\n", 1)[1] if "\n\n" in text else text
        text = body.split("-----BEGIN PGP SIGNATURE-----", 1)[0]
    stanzas = parse_deb822(text)
    if not stanzas:
        raise LicscanError(f"empty .dsc file: {path.name}")
    st = stanzas[0]
    files: list[str] = []
    for line in st.get("Files", "").splitlines():
        parts = line.split()
        if len(parts) == 3:
            files.append(parts[2])
    return {
        "source": st.get("Source", ""),
        "version": st.get("Version", ""),
        "format": st.get("Format", "1.0").strip(),
        "files": files,
    }


def _extract_tar(archive: Path, dest: Path, *, strip_top: bool, limits: Limits | None = None) -> None:
    """Unpack ``archive`` into ``dest`` (which may exist: a debian/ tarball lands in the orig tree).

    Extraction goes through ``extract_archive``; its single top directory is dropped when ``strip_top``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".x-", dir=dest.parent))
    try:
        root = extract_archive(archive, stage / "x", what=archive.name, limits=limits, strip_top=strip_top)
        for entry in root.iterdir():
            target = dest / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            os.rename(entry, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _extract_python(dsc: Path, out: Path, limits: Limits | None = None) -> None:
    """Fallback without dpkg-source: orig tarball(s) + debian tarball (patches not applied)."""
    info = _parse_dsc(dsc)
    fmt = info["format"]
    d = dsc.parent
    tars = [f for f in info["files"] if f.endswith(_TAR_SUFFIXES)]
    if fmt.startswith("3.0 (quilt)"):
        origs = [f for f in tars if re.search(r"\.orig\.tar\.", f)]
        comps = [f for f in tars if re.search(r"\.orig-[A-Za-z0-9][A-Za-z0-9-]*\.tar\.", f)]
        debs = [f for f in tars if re.search(r"\.debian\.tar\.", f)]
        if len(origs) != 1 or len(debs) != 1:
            raise LicscanError(f"cannot unpack {dsc.name} without dpkg-source; install it: apt-get install dpkg-dev")
        _extract_tar(d / origs[0], out, strip_top=True, limits=limits)
        for c in comps:
            comp = re.search(r"\.orig-([A-Za-z0-9][A-Za-z0-9-]*)\.tar\.", c).group(1)  # type: ignore[union-attr]
            _extract_tar(d / c, out / comp, strip_top=True, limits=limits)
        debian = out / "debian"
        if debian.exists():
            shutil.rmtree(debian)  # the debian tarball replaces whatever upstream shipped there
        _extract_tar(d / debs[0], out, strip_top=False, limits=limits)
    elif fmt.startswith("3.0 (native)") or (fmt == "1.0" and len(tars) == 1 and not any(".diff." in f for f in info["files"])):
        if len(tars) != 1:
            raise LicscanError(f"cannot unpack {dsc.name} without dpkg-source; install it: apt-get install dpkg-dev")
        _extract_tar(d / tars[0], out, strip_top=True, limits=limits)
    else:
        raise LicscanError(
            f"source format {fmt!r} of {dsc.name} needs dpkg-source; install it: apt-get install dpkg-dev"
        )


def _dpkg_source_available() -> bool:
    return shutil.which("dpkg-source") is not None


def _existing_tree(dest_root: Path, prefix: str) -> Path | None:
    if not dest_root.is_dir():
        return None
    cands = [p for p in dest_root.iterdir() if p.is_dir() and p.name.startswith(prefix) and not p.name.startswith(".")]
    if not cands:
        return None
    return max(cands, key=lambda p: p.stat().st_mtime)


def fetch_debian_source(
    package: str,
    version: str | None,
    dest_root: Path,
    *,
    runner: Runner = subprocess.run,
    extractor: str = "auto",
    etc_apt: Path = ETC_APT,
    limits: Limits | None = None,
) -> Path:
    """Download (apt-get source --download-only) and extract one Debian source package; return the extracted tree. A second call is a no-op.

    ``package`` is a *source* package name; ``version`` a Debian version (epoch
    allowed) or None for the version the configured suites offer. The tree is
    ``dest_root/<package>_<version without epoch>``. ``extractor`` is ``"auto"``
    (dpkg-source when installed, else Python's tarfile), ``"dpkg-source"`` or
    ``"tarfile"``. ``runner`` replaces :func:`subprocess.run` (tests). ``limits`` caps what
    the tarballs may expand to when dpkg-source is not used.
    Raises :class:`LicscanError` on any failure, leaving no partial tree.
    """
    if not re.fullmatch(r"[a-z0-9][a-z0-9+.\-]+", package):
        raise LicscanError(f"not a Debian source package name: {package!r}")
    if version is not None and not re.fullmatch(r"(?:\d+:)?[0-9][A-Za-z0-9.+~:\-]*", version):
        raise LicscanError(f"not a Debian version: {version!r}")
    if extractor not in ("auto", "dpkg-source", "tarfile"):
        raise LicscanError(f"unknown extractor {extractor!r}")
    dest_root = Path(dest_root).expanduser()
    if version is not None:
        tree = dest_root / f"{package}_{_safe_name(_strip_epoch(version))}"
        if tree.is_dir():
            return tree
    else:
        found = _existing_tree(dest_root, f"{package}_")
        if found is not None:
            return found

    use_dpkg = extractor == "dpkg-source" or (extractor == "auto" and _dpkg_source_available())
    if extractor == "dpkg-source" and not _dpkg_source_available():
        raise LicscanError("dpkg-source not found; install it: apt-get install dpkg-dev")

    dest_root.mkdir(parents=True, exist_ok=True)
    state = AptState(dest_root / ".apt", etc_apt)
    apt_update(state, runner)

    spec = package if version is None else f"{package}={version}"
    tmp = Path(tempfile.mkdtemp(prefix=tmp_prefix(package), dir=dest_root))  # pid: see leftovers
    try:
        dl = tmp / "download"
        dl.mkdir()
        cmd = ["apt-get", *state.options(), "-q", "--download-only", "source", spec]
        try:
            run(runner, cmd, cwd=dl, what=f"apt-get source {spec}")
        except LicscanError as e:
            # the version may be newer than our lists: refresh once and retry
            if "Unable to find a source package" not in str(e) and "Can not find version" not in str(e):
                raise
            apt_update(state, runner, force=True)
            run(runner, cmd, cwd=dl, what=f"apt-get source {spec}")
        dscs = sorted(dl.glob("*.dsc"))
        if len(dscs) != 1:
            raise LicscanError(f"apt-get source {spec}: expected one .dsc, found {len(dscs)}")
        info = _parse_dsc(dscs[0])
        got_version = info["version"] or (version or "")
        if not got_version:
            raise LicscanError(f"{dscs[0].name}: no Version field")
        tree = dest_root / f"{package}_{_safe_name(_strip_epoch(got_version))}"
        if tree.is_dir():
            return tree
        out = tmp / "tree"
        if use_dpkg:
            run(runner, ["dpkg-source", "--no-check", "-x", dscs[0].name, str(out)], cwd=dl, what=f"dpkg-source -x {dscs[0].name}")
            if not out.is_dir():
                raise LicscanError(f"dpkg-source -x {dscs[0].name} produced no tree")
            # quilt's bookkeeping holds pre-patch copies of files: not part of the source
            shutil.rmtree(out / ".pc", ignore_errors=True)
        else:
            _extract_python(dscs[0], out, limits)
        try:
            os.rename(out, tree)
        except OSError:
            if tree.is_dir():  # another process won the race
                return tree
            raise
        return tree
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
