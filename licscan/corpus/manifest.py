"""Corpus manifests: a TOML list of pinned copyleft sources to fetch and index.

    name = "gnu-core"                       # optional
    description = "..."                     # optional

    [[source]]
    name = "coreutils"                      # optional: derived from the spec
    debian = "coreutils"                    # Debian source package ...
    version = "9.1-1"                       # ... pinned to a version (required)
    sha256 = "..."                          # optional: of the .dsc (debian) or the archive
    spdx = "GPL-3.0-or-later"               # optional: license of every file (skips detection)
    languages = ["c", "cpp"]                # optional: main languages, most code first (LANGUAGES)

Exactly one of ``debian``, ``pypi`` (``NAME==VERSION``), ``npm`` (``NAME@VERSION``),
``git`` (with ``rev`` = a commit) or ``path`` (a local directory or archive, relative
to the manifest) per source. Every error is one line naming the manifest and entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from licscan.config import parse_toml
from licscan.model import LicscanError

KINDS = ("debian", "pypi", "npm", "git", "path")
LANGUAGES = frozenset({
    # what licscan parses with a grammar (licscan/languages.py) ...
    "c", "cpp", "python", "java", "javascript", "typescript", "go", "rust", "php", "ruby", "csharp",
    # ... and what it tokenizes with its fallback, or indexes not at all
    "shell", "perl", "lisp", "scheme", "haskell", "ocaml", "lua", "r", "fortran", "vala", "kotlin",
    "scala", "swift", "objc", "erlang", "elixir", "clojure", "groovy", "dart", "julia", "d", "tcl",
    "pascal", "assembly",
})
"""Names for a source's ``languages``: a fixed list, so that a typo ("c++", "C#") is an error and a
manifest can be counted by language (tests/test_corpus.py does for copyleft-large)."""
_KEYS = {"name", "version", "rev", "sha256", "spdx", "languages", *KINDS}
_TOP_KEYS = {"name", "description", "source"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_DEBIAN_PKG = re.compile(r"[a-z0-9][a-z0-9+.\-]+")
_DEBIAN_VERSION = re.compile(r"(?:\d+:)?[0-9][A-Za-z0-9.+~:\-]*")
_PYPI = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([A-Za-z0-9.+!_-]+)\s*")
_NPM = re.compile(r"((?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*)@(\d+\.\d+\.\d+[A-Za-z0-9.+-]*)")
_REV = re.compile(r"[0-9a-fA-F]{7,64}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_SPDX = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+:() -]*")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tar.zst", ".tar",
                    ".zip", ".whl", ".crate", ".dsc")


@dataclass(frozen=True)
class Source:
    """One pinned source of a manifest."""

    name: str
    """Directory name of the extracted tree: indexed paths read ``<name>/<path>``."""
    kind: str
    spec: str
    """Debian package, ``NAME==VERSION``, ``NAME@VERSION``, git URL, or absolute local path."""
    version: str | None = None
    """Debian version, PyPI/npm version, or git commit."""
    sha256: str | None = None
    spdx: str | None = None
    manifest: str | None = None
    languages: tuple[str, ...] = ()
    """Main languages as the manifest states them (documentation: not recorded in an index,
    whose ``languages`` per source are counted from the files)."""

    def label(self) -> str:
        """How messages name the source: ``coreutils (debian coreutils=9.1-1)``."""
        what = {"debian": f"{self.spec}={self.version}", "git": f"{self.spec}@{self.version}"}
        return f"{self.name} ({self.kind} {what.get(self.kind, self.spec)})"

    def meta(self) -> dict[str, Any]:
        """What an index records about the source."""
        d: dict[str, Any] = {"name": self.name, "kind": self.kind, "spec": self.spec,
                             "version": self.version}
        for key in ("sha256", "spdx", "manifest"):
            if getattr(self, key):
                d[key] = getattr(self, key)
        return d


@dataclass(frozen=True)
class Manifest:
    path: Path
    name: str
    description: str
    sources: tuple[Source, ...]


def is_manifest(path: str | Path) -> bool:
    """Whether a ROOT argument names a manifest rather than a directory to index."""
    p = Path(path)
    return p.suffix.lower() == ".toml" and p.is_file()


def _shipped_dir() -> Path:
    """Where the shipped manifests are: the package ``licscan.manifests`` (the repository's
    ``corpora/``), or ``corpora/`` next to the package when running from a plain checkout."""
    try:
        from importlib.resources import files

        return Path(str(files("licscan.manifests")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "corpora"


def shipped_manifests() -> dict[str, Path]:
    """The manifests that ship with licscan, by name (the file name without ``.toml``)."""
    d = _shipped_dir()
    return {p.stem: p for p in sorted(d.glob("*.toml"))} if d.is_dir() else {}


def shipped_manifest(name: str) -> Path:
    """The shipped manifest called NAME (LicscanError listing the shipped names otherwise)."""
    shipped = shipped_manifests()
    key = name[:-5] if name.lower().endswith(".toml") else name
    if key in shipped:
        return shipped[key]
    raise LicscanError(f"no shipped manifest named {name!r} (shipped: {', '.join(shipped) or 'none'}; "
                       "or give a path to a manifest file)")


def looks_like_name(arg: str | Path) -> bool:
    """Whether ARG is a bare name (no directory part) that is not an existing file or directory."""
    s = str(arg)
    return bool(s) and "/" not in s and "\\" not in s and not Path(s).exists()


def resolve_manifest(name_or_path: str | Path) -> Path:
    """A manifest argument as a file: an existing file as given, else a bare name is a shipped
    manifest's (LicscanError listing them when it is not one); other paths are returned as given."""
    p = Path(name_or_path)
    s = str(name_or_path)
    if p.is_file() or "/" in s or "\\" in s:
        return p
    return shipped_manifest(s)


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest file (LicscanError with one line on any problem)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise LicscanError(f"cannot read manifest {p}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise LicscanError(f"{p}: not UTF-8 text") from None
    return parse_manifest(text, p)


def parse_manifest(text: str, path: str | Path = "<manifest>") -> Manifest:
    """Validate manifest text; relative ``path`` sources resolve against the manifest's directory."""
    p = Path(path)
    doc = parse_toml(text, p)
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise LicscanError(f"{p}: unknown top-level key {unknown[0]!r} (allowed: name, description, [[source]])")
    entries = doc.get("source")
    if not isinstance(entries, list) or not entries:
        raise LicscanError(f"{p}: no sources: add at least one [[source]] table")
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries, 1):
        src = _source(entry, i, p)
        if src.name in seen:
            raise LicscanError(f"{p}: source #{i} ({src.name}): name already used by source "
                               f"#{seen[src.name]}; set distinct `name`s")
        seen[src.name] = i
        sources.append(src)
    return Manifest(p, str(doc.get("name") or p.stem), str(doc.get("description", "")), tuple(sources))


def _source(entry: Any, i: int, manifest: Path) -> Source:
    if not isinstance(entry, dict):
        raise LicscanError(f"{manifest}: source #{i}: must be a table ([[source]])")
    label = entry.get("name") or next((entry[k] for k in KINDS if isinstance(entry.get(k), str)), "?")

    def fail(msg: str) -> LicscanError:
        return LicscanError(f"{manifest}: source #{i} ({label}): {msg}")

    for key, value in entry.items():
        if key not in _KEYS:
            raise fail(f"unknown key {key!r}")
        if key == "languages":
            continue
        if not isinstance(value, str) or not value.strip():
            raise fail(f"{key!r} must be a non-empty string")
    kinds = [k for k in KINDS if k in entry]
    if len(kinds) != 1:
        raise fail("needs exactly one of " + ", ".join(KINDS) + (f" (found {', '.join(kinds)})" if kinds else ""))
    kind = kinds[0]
    spec = entry[kind].strip()
    version = entry.get("version")
    rev = entry.get("rev")
    if version is not None and kind != "debian":
        raise fail("`version` is for debian sources; pin pypi as NAME==VERSION, npm as NAME@VERSION, git with `rev`")
    if rev is not None and kind != "git":
        raise fail("`rev` is for git sources")
    sha = entry.get("sha256")
    if sha is not None:
        if not _SHA256.fullmatch(sha):
            raise fail("`sha256` must be 64 hex digits")
        if kind == "git":
            raise fail("git sources are pinned by `rev`; `sha256` is not supported")
        sha = sha.lower()
    spdx = entry.get("spdx")
    if spdx is not None and not _SPDX.fullmatch(spdx.strip()):
        raise fail(f"`spdx` is not an SPDX expression: {spdx!r}")

    if kind == "debian":
        if not _DEBIAN_PKG.fullmatch(spec):
            raise fail(f"not a Debian source package name: {spec!r}")
        if version is None:
            raise fail("debian sources need a `version` (see `apt-cache showsrc`)")
        if not _DEBIAN_VERSION.fullmatch(version):
            raise fail(f"not a Debian version: {version!r}")
        default = spec
    elif kind == "pypi":
        m = _PYPI.fullmatch(spec)
        if not m:
            raise fail(f"pypi sources must be pinned as NAME==VERSION, got {spec!r}")
        spec, version = f"{m.group(1)}=={m.group(2)}", m.group(2)
        default = re.sub(r"[-_.]+", "-", m.group(1)).lower()
    elif kind == "npm":
        m = _NPM.fullmatch(spec)
        if not m:
            raise fail(f"npm sources must be pinned as NAME@VERSION (an exact version), got {spec!r}")
        version = m.group(2)
        default = m.group(1).rsplit("/", 1)[-1]
    elif kind == "git":
        if spec.startswith("-"):
            raise fail(f"not a git URL: {spec!r}")
        if rev is None or not _REV.fullmatch(rev):
            raise fail("git sources need `rev` = a commit hash (7-64 hex digits), not a branch or tag")
        version = rev.lower()
        default = re.sub(r"\.git$", "", spec.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1])
    else:
        local = Path(spec).expanduser()
        if not local.is_absolute():
            local = manifest.parent / local
        spec = str(local.resolve())
        default = local.name
        for suffix in ARCHIVE_SUFFIXES:
            if default.lower().endswith(suffix):
                default = default[: -len(suffix)]
                break
    name = entry.get("name", default)
    if not _NAME.fullmatch(name):
        raise fail(f"`name` must be a plain directory name (letters, digits, . _ + -), got {name!r}")
    return Source(name=name, kind=kind, spec=spec, version=version, sha256=sha,
                  spdx=spdx.strip() if spdx else None, manifest=str(manifest),
                  languages=_languages(entry.get("languages"), fail))


def _languages(value: Any, fail: Callable[[str], LicscanError]) -> tuple[str, ...]:
    """``languages = [...]``: known names, each once; absent is ``()``."""
    if value is None:
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(x, str) for x in value):
        raise fail("`languages` must be a non-empty list of strings")
    unknown = [x for x in value if x not in LANGUAGES]
    if unknown:
        raise fail(f"unknown language {unknown[0]!r} in `languages` (known: {', '.join(sorted(LANGUAGES))})")
    if len(set(value)) != len(value):
        raise fail("`languages` names a language twice")
    return tuple(value)
