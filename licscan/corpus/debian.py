"""Fetch real source code to build or test an index: Debian source packages and PyPI sdists.

Nothing here changes the system: Debian sources are fetched with ``apt-get`` running
against a *private* apt state directory (its own sources, lists, cache and dpkg
status), whose ``deb-src`` entries are derived from the machine's own ``deb``
entries (same mirrors, suites, components and ``Signed-By`` keyrings). No mirror
host is hard-coded anywhere: whatever the machine is configured with is used.

Layout under ``dest_root``::

    .apt/                     private apt state (sources, lists, cache, status)
    <source>_<version>/       one extracted source tree (epoch dropped from version)
    <name>_<version>/         one extracted PyPI sdist (canonical project name)

Trees appear atomically (extracted into a temporary directory, then renamed), so
an existing tree is always complete and a second call returns it without running
anything.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from licscan.model import LicscanError

__all__ = [
    "fetch_debian_source",
    "fetch_pypi_sdist",
    "show_debian_source",
    "parse_deb822",
    "parse_one_line",
    "deb_src_stanzas",
    "render_deb822",
    "system_deb_src",
]

Runner = Callable[..., Any]
Stanza = dict[str, str]

ETC_APT = Path("/etc/apt")
LISTS_MAX_AGE = 24 * 3600.0
"""Refresh the private package lists when they are older than this (seconds)."""

_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".tar.lzma", ".tar")


# --------------------------------------------------------------------------
# apt sources: parse the system's, derive deb-src entries


def parse_deb822(text: str) -> list[Stanza]:
    """Parse a deb822 ``.sources`` file into stanzas (field name -> raw value).

    Multi-line values (continuation lines, e.g. an inline ``Signed-By`` key) keep
    their line breaks; comment lines are dropped.
    """
    stanzas: list[Stanza] = []
    cur: Stanza = {}
    last: str | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                stanzas.append(cur)
            cur, last = {}, None
            continue
        if line[0] in " \t":
            if last is None:
                raise LicscanError(f"bad deb822 sources: continuation line without a field: {raw.strip()!r}")
            cur[last] += "\n" + line
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise LicscanError(f"bad deb822 sources line: {raw.strip()!r}")
        last = name.strip()
        cur[last] = value.strip()
    if cur:
        stanzas.append(cur)
    return stanzas


_OPTION_FIELDS = {"arch": "Architectures", "lang": "Languages", "target": "Targets"}


def _option_field(key: str) -> str:
    key = key.strip()
    for suffix in ("+", "-"):  # arch+=..., arch-=... : keep the base option
        key = key.removesuffix(suffix)
    if key in _OPTION_FIELDS:
        return _OPTION_FIELDS[key]
    return "-".join(p[:1].upper() + p[1:] for p in key.split("-"))


def parse_one_line(text: str) -> list[Stanza]:
    """Parse one-line style ``sources.list`` text into deb822-style stanzas.

    ``deb [signed-by=/k.gpg arch=amd64] URI SUITE COMP...`` becomes
    ``{"Types": "deb", "URIs": URI, "Suites": SUITE, "Components": "COMP ...",
    "Signed-By": "/k.gpg", "Architectures": "amd64"}``.
    """
    stanzas: list[Stanza] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$", line)
        if not m:
            raise LicscanError(f"bad sources.list line: {raw.strip()!r}")
        typ, opts, uri, suite, comps = m.groups()
        st: Stanza = {"Types": typ, "URIs": uri, "Suites": suite}
        if comps.strip():
            st["Components"] = " ".join(comps.split())
        for opt in (opts or "").split():
            key, eq, val = opt.partition("=")
            if not eq:
                continue
            st[_option_field(key)] = " ".join(v for v in val.split(",") if v)
        stanzas.append(st)
    return stanzas


def deb_src_stanzas(stanzas: Iterable[Stanza]) -> list[Stanza]:
    """The ``deb-src`` entries matching the enabled ``deb``/``deb-src`` ones, deduplicated.

    Every field but ``Types`` is kept, ``Signed-By`` in particular; ``Enabled: no``
    entries are skipped.
    """
    out: list[Stanza] = []
    seen: set[tuple[str, str, str]] = set()
    for st in stanzas:
        types = st.get("Types", "").split()
        if not ({"deb", "deb-src"} & set(types)):
            continue
        if st.get("Enabled", "yes").strip().lower() in ("no", "false", "0"):
            continue
        if not st.get("URIs") or not st.get("Suites"):
            continue
        key = (" ".join(st["URIs"].split()), " ".join(st["Suites"].split()), " ".join(st.get("Components", "").split()))
        if key in seen:
            continue
        seen.add(key)
        new: Stanza = {"Types": "deb-src"}
        new.update((k, v) for k, v in st.items() if k not in ("Types", "Enabled"))
        out.append(new)
    return out


def render_deb822(stanzas: Sequence[Stanza]) -> str:
    """Render stanzas as a deb822 ``.sources`` file."""
    blocks = []
    for st in stanzas:
        blocks.append("\n".join(f"{k}: {v}" for k, v in st.items()))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _source_files(etc_apt: Path) -> list[Path]:
    files: list[Path] = []
    main = etc_apt / "sources.list"
    if main.is_file():
        files.append(main)
    parts = etc_apt / "sources.list.d"
    if parts.is_dir():
        # apt reads only these names (others, like *.disabled, are ignored)
        for p in sorted(parts.iterdir()):
            if re.fullmatch(r"[A-Za-z0-9_.\-]+\.(list|sources)", p.name) and p.is_file():
                files.append(p)
    return files


def system_deb_src(etc_apt: Path = ETC_APT) -> str:
    """deb822 text with a ``deb-src`` entry for each source the system has configured."""
    stanzas: list[Stanza] = []
    for f in _source_files(etc_apt):
        try:
            text = f.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise LicscanError(f"cannot read apt sources {f}: {e.strerror}") from None
        if f.suffix == ".sources":
            stanzas.extend(parse_deb822(text))
        else:
            stanzas.extend(parse_one_line(text))
    src = deb_src_stanzas(stanzas)
    if not src:
        raise LicscanError(f"no apt 'deb' sources configured under {etc_apt}: cannot derive deb-src entries")
    return render_deb822(src)


# --------------------------------------------------------------------------
# running commands


def _run(runner: Runner, cmd: list[str], *, cwd: Path | None = None, what: str) -> Any:
    try:
        res = runner(cmd, cwd=str(cwd) if cwd else None, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise LicscanError(f"{what}: command not found: {cmd[0]}") from None
    if res.returncode != 0:
        raise LicscanError(f"{what} failed (exit {res.returncode}): {_last_error(res)}")
    return res


def _last_error(res: Any) -> str:
    text = "\n".join(x for x in (getattr(res, "stderr", "") or "", getattr(res, "stdout", "") or "") if x)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errs = [ln for ln in lines if ln.startswith(("E:", "ERROR", "error"))]
    pick = errs[0] if errs else (lines[-1] if lines else "no output")
    return pick[:400]


# --------------------------------------------------------------------------
# private apt state


class _AptState:
    def __init__(self, root: Path, etc_apt: Path):
        self.root = root
        self.etc = root / "etc"
        self.state = root / "state"
        self.cache = root / "cache"
        self.etc_apt = etc_apt

    @property
    def conf(self) -> Path:
        return self.etc / "apt.conf"

    def options(self) -> list[str]:
        o = {
            "Dir::Etc::SourceList": self.etc / "sources.list",
            "Dir::Etc::SourceParts": self.etc / "sources.list.d",
            "Dir::Etc::Preferences": self.etc / "preferences",
            "Dir::Etc::PreferencesParts": self.etc / "preferences.d",
            "Dir::State": self.state,
            "Dir::State::Lists": self.state / "lists",
            "Dir::State::status": self.state / "status",
            "Dir::Cache": self.cache,
            "Dir::Cache::Archives": self.cache / "archives",
            "APT::Get::Only-Source": "true",
            "APT::Sandbox::User": pwd.getpwuid(os.geteuid()).pw_name,
        }
        args = ["-c", str(self.conf)]
        for k, v in o.items():
            args += ["-o", f"{k}={v}"]
        return args

    def prepare(self) -> bool:
        """Write the private config; return True when the package lists must be (re)fetched."""
        for d in (
            self.etc / "sources.list.d",
            self.etc / "preferences.d",
            self.state / "lists" / "partial",
            self.cache / "archives" / "partial",
        ):
            d.mkdir(parents=True, exist_ok=True)
        for f in (self.etc / "sources.list", self.etc / "preferences", self.state / "status"):
            if not f.exists():
                f.write_text("")
        # no hooks of the system's apt config (e.g. notifying PackageKit) for our private lists
        self.conf.write_text(
            "#clear APT::Update::Pre-Invoke;\n"
            "#clear APT::Update::Post-Invoke;\n"
            "#clear APT::Update::Post-Invoke-Success;\n"
        )
        sources = system_deb_src(self.etc_apt)
        target = self.etc / "sources.list.d" / "licscan-deb-src.sources"
        changed = not target.is_file() or target.read_text() != sources
        if changed:
            target.write_text(sources)
        stamp = self.state / "updated"
        stale = not stamp.is_file() or time.time() - stamp.stat().st_mtime > LISTS_MAX_AGE
        return changed or stale

    def mark_updated(self) -> None:
        (self.state / "updated").write_text(time.strftime("%Y-%m-%dT%H:%M:%S\n"))


def _apt_update(state: _AptState, runner: Runner, *, force: bool = False) -> None:
    if state.prepare() or force:
        _run(runner, ["apt-get", *state.options(), "-q", "update"], what="apt-get update (private lists)")
        state.mark_updated()


# --------------------------------------------------------------------------
# .dsc handling and extraction


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


def _norm_member(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name


def _single_top(names: list[str]) -> str | None:
    """The one top-level directory all archive members live in, if any."""
    clean = [n for n in (_norm_member(x) for x in names) if n and n != "."]
    tops = {n.split("/", 1)[0] for n in clean}
    if len(tops) == 1 and any("/" in n.rstrip("/") for n in clean):
        return tops.pop()
    return None


def _extract_tar(archive: Path, dest: Path, *, strip_top: bool) -> None:
    """Safely extract ``archive`` into ``dest`` (filter='data'), dropping its single top dir."""
    try:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            top = _single_top([m.name for m in members]) if strip_top else None

            def filt(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
                name = _norm_member(member.name)
                if top is not None:
                    if name == top or name == top + "/":
                        return None
                    if not name.startswith(top + "/"):
                        return None
                    name = name[len(top) + 1 :]
                    link = _norm_member(member.linkname)
                    if member.islnk() and link.startswith(top + "/"):
                        member = member.replace(linkname=link[len(top) + 1 :], deep=False)
                if not name or name in (".", "./"):
                    return None
                member = member.replace(name=name, deep=False)
                return tarfile.data_filter(member, path)

            dest.mkdir(parents=True, exist_ok=True)
            tf.extractall(dest, members=members, filter=filt)
    except (tarfile.TarError, OSError, EOFError) as e:
        raise LicscanError(f"cannot extract {archive.name}: {e}") from None


def _extract_python(dsc: Path, out: Path) -> None:
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
        _extract_tar(d / origs[0], out, strip_top=True)
        for c in comps:
            comp = re.search(r"\.orig-([A-Za-z0-9][A-Za-z0-9-]*)\.tar\.", c).group(1)  # type: ignore[union-attr]
            _extract_tar(d / c, out / comp, strip_top=True)
        debian = out / "debian"
        if debian.exists():
            shutil.rmtree(debian)
        _extract_tar(d / debs[0], out, strip_top=False)
    elif fmt.startswith("3.0 (native)") or (fmt == "1.0" and len(tars) == 1 and not any(".diff." in f for f in info["files"])):
        if len(tars) != 1:
            raise LicscanError(f"cannot unpack {dsc.name} without dpkg-source; install it: apt-get install dpkg-dev")
        _extract_tar(d / tars[0], out, strip_top=True)
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
) -> Path:
    """Download (apt-get source --download-only) and extract one Debian source package; return the extracted tree. A second call is a no-op.

    ``package`` is a *source* package name; ``version`` a Debian version (epoch
    allowed) or None for the version the configured suites offer. The tree is
    ``dest_root/<package>_<version without epoch>``. ``extractor`` is ``"auto"``
    (dpkg-source when installed, else Python's tarfile), ``"dpkg-source"`` or
    ``"tarfile"``. ``runner`` replaces :func:`subprocess.run` (tests).
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
    state = _AptState(dest_root / ".apt", etc_apt)
    _apt_update(state, runner)

    spec = package if version is None else f"{package}={version}"
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{package}-", dir=dest_root))
    try:
        dl = tmp / "download"
        dl.mkdir()
        cmd = ["apt-get", *state.options(), "-q", "--download-only", "source", spec]
        try:
            _run(runner, cmd, cwd=dl, what=f"apt-get source {spec}")
        except LicscanError as e:
            # the version may be newer than our lists: refresh once and retry
            if "Unable to find a source package" not in str(e) and "Can not find version" not in str(e):
                raise
            _apt_update(state, runner, force=True)
            _run(runner, cmd, cwd=dl, what=f"apt-get source {spec}")
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
            _run(runner, ["dpkg-source", "--no-check", "-x", dscs[0].name, str(out)], cwd=dl, what=f"dpkg-source -x {dscs[0].name}")
            if not out.is_dir():
                raise LicscanError(f"dpkg-source -x {dscs[0].name} produced no tree")
            # quilt's bookkeeping holds pre-patch copies of files: not part of the source
            shutil.rmtree(out / ".pc", ignore_errors=True)
        else:
            _extract_python(dscs[0], out)
        try:
            os.rename(out, tree)
        except OSError:
            if tree.is_dir():  # another process won the race
                return tree
            raise
        return tree
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def show_debian_source(
    package: str,
    dest_root: Path,
    *,
    runner: Runner = subprocess.run,
    etc_apt: Path = ETC_APT,
) -> list[dict[str, Any]]:
    """What the configured suites offer for a source package (``apt-cache showsrc``, private lists).

    One dict per offered version: ``version``, ``format``, ``files`` (name -> size in bytes).
    """
    if not re.fullmatch(r"[a-z0-9][a-z0-9+.\-]+", package):
        raise LicscanError(f"not a Debian source package name: {package!r}")
    dest_root = Path(dest_root).expanduser()
    dest_root.mkdir(parents=True, exist_ok=True)
    state = _AptState(dest_root / ".apt", etc_apt)
    _apt_update(state, runner)
    res = _run(runner, ["apt-cache", *state.options(), "showsrc", "--only-source", package], what=f"apt-cache showsrc {package}")
    out = []
    for st in parse_deb822(res.stdout or ""):
        if st.get("Package") != package:
            continue
        files: dict[str, int] = {}
        for line in st.get("Files", "").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1].isdigit():
                files[parts[2]] = int(parts[1])
        out.append({"version": st.get("Version", ""), "format": st.get("Format", ""), "files": files})
    if not out:
        raise LicscanError(f"no Debian source package named {package!r} in the configured suites")
    return out


# --------------------------------------------------------------------------
# PyPI sdists


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def fetch_pypi_sdist(
    spec: str,
    dest_root: Path,
    *,
    runner: Runner = subprocess.run,
    python: str | None = None,
) -> Path:
    """Download one PyPI sdist (``pip download --no-binary :all: --no-deps SPEC``) and extract it.

    ``spec`` is ``NAME`` or ``NAME==VERSION``; the tree is ``dest_root/<name>_<version>``
    with the canonical project name. A second call with a pinned spec is a no-op.
    """
    m = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:==\s*([A-Za-z0-9.+!_-]+))?\s*", spec)
    if not m:
        raise LicscanError(f"unsupported sdist spec {spec!r} (use NAME or NAME==VERSION)")
    name, version = _canon(m.group(1)), m.group(2)
    dest_root = Path(dest_root).expanduser()
    if version:
        tree = dest_root / f"{name}_{_safe_name(version)}"
        if tree.is_dir():
            return tree
    else:
        found = _existing_tree(dest_root, f"{name}_")
        if found is not None:
            return found
    dest_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=dest_root))
    try:
        dl = tmp / "download"
        dl.mkdir()
        pin = f"{m.group(1)}=={version}" if version else m.group(1)
        cmd = [
            python or sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
            "--disable-pip-version-check", "-q", "-d", str(dl), pin,
        ]
        _run(runner, cmd, cwd=dl, what=f"pip download {pin}")
        archives = [p for p in dl.iterdir() if p.name.endswith(_TAR_SUFFIXES) or p.suffix == ".zip"]
        if len(archives) != 1:
            raise LicscanError(f"pip download {pin}: expected one sdist, found {len(archives)}")
        arc = archives[0]
        if not version:
            stem = re.sub(r"(\.tar\.[a-z0-9]+|\.tgz|\.tar|\.zip)$", "", arc.name)
            mv = re.match(r"^(.*?)-(\d[^-]*)$", stem)
            if not mv:
                raise LicscanError(f"cannot tell the version of sdist {arc.name}")
            version = mv.group(2)
        tree = dest_root / f"{name}_{_safe_name(version)}"
        if tree.is_dir():
            return tree
        out = tmp / "tree"
        if arc.suffix == ".zip":
            _extract_zip(arc, out)
        else:
            _extract_tar(arc, out, strip_top=True)
        try:
            os.rename(out, tree)
        except OSError:
            if tree.is_dir():
                return tree
            raise
        return tree
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _extract_zip(archive: Path, dest: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            top = _single_top(names)
            dest.mkdir(parents=True, exist_ok=True)
            root = dest.resolve()
            for info in zf.infolist():
                name = info.filename
                if top is not None:
                    if not name.startswith(top + "/"):
                        continue
                    name = name[len(top) + 1 :]
                if not name or name.endswith("/"):
                    continue
                target = (dest / name).resolve()
                if root not in target.parents:
                    raise LicscanError(f"unsafe path in {archive.name}: {info.filename!r}")
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except (zipfile.BadZipFile, OSError) as e:
        raise LicscanError(f"cannot extract {archive.name}: {e}") from None
