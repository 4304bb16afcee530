#!/usr/bin/env python3
"""Benchmark corpora: real copyleft source to index, real permissive source as negatives.

Everything is fetched with :mod:`licscan.corpus.debian` from the machine's own apt sources
(Debian source packages, whatever version the configured suites offer) or, where
the mirror has no orig tarball, from the PyPI sdist of the same version. Trees live
in a cache outside the repository (``~/.cache/licscan/bench`` or
``$LICSCAN_BENCH_CACHE`` or ``--cache``), never in the work tree.

    python bench/corpus.py --list [--set quick|accuracy|speed|negatives|all]
    python bench/corpus.py --fetch --set accuracy
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from licscan.corpus.manifest import Source  # noqa: E402
from debian_offers import show_debian_source  # noqa: E402
from licscan.corpus.debian import fetch_debian_source  # noqa: E402
from licscan.corpus.fetch import entry_dir, fetch_source  # noqa: E402
from licscan.model import LicscanError  # noqa: E402


@dataclass(frozen=True)
class Package:
    name: str
    """Debian source package name (or PyPI project when kind == 'pypi')."""
    license: str
    role: str
    """'copyleft' (indexed), 'permissive' (negatives: scanned, never indexed) or 'base'
    (permissive code given to the build as ``--base``: what the corpus shares with it is
    common code; disjoint from the negatives, so the false-positive rate stays honest)."""
    sets: frozenset[str]
    pypi: str | None = None
    """PyPI sdist spec to use when the Debian orig tarball cannot be fetched (or kind == 'pypi')."""
    kind: str = "debian"
    """'debian', 'pypi' or 'npm' (``name`` is then ``NAME@VERSION``, fetched with ``npm pack``)."""
    note: str = ""
    copied_into: str = ""
    """For negatives: a copyleft corpus package known to contain copies of this code
    (so matches are true copies, though of permissively licensed code)."""
    copied_paths: tuple[tuple[str, str], ...] = ()
    """The same for parts of a negative package: (path prefix in its tree, where the
    indexed corpus has a copy)."""
    held_out: bool = False
    """Copyleft, indexed in every run, but its cases are drawn only in the evaluation run
    (``--seed`` left at the default), never in a tuning run (issue 16)."""

    def copied(self, rel: str) -> str:
        """Where the indexed corpus has a copy of this package's file ``rel`` ('' if nowhere known)."""
        if self.copied_into:
            return self.copied_into
        return next((where for prefix, where in self.copied_paths if rel.startswith(prefix)), "")


def _p(name, license, role, sets, **kw) -> Package:
    return Package(name, license, role, frozenset(sets.split()), **kw)


PACKAGES: list[Package] = [
    # --- copyleft: indexed ------------------------------------------------------------
    _p("grep", "GPL-3.0+", "copyleft", "quick accuracy speed"),
    _p("sed", "GPL-3.0+", "copyleft", "quick accuracy speed"),
    _p("coreutils", "GPL-3.0+", "copyleft", "accuracy speed"),
    _p("gawk", "GPL-3.0+", "copyleft", "accuracy speed"),
    _p("bash", "GPL-3.0+", "copyleft", "accuracy speed"),
    _p("busybox", "GPL-2.0", "copyleft", "accuracy speed"),
    _p("pylint", "GPL-2.0+", "copyleft", "quick accuracy speed", pypi="pylint==2.16.2"),
    _p("jedit", "GPL-2.0+", "copyleft", "quick accuracy speed"),
    _p("fish", "GPL-2.0", "copyleft", "accuracy speed", note="C++ (3.6)"),
    _p("wordpress", "GPL-2.0+", "copyleft", "accuracy speed", note="PHP + JS"),
    _p("git", "GPL-2.0", "copyleft", "speed"),
    _p("readline", "GPL-3.0+", "copyleft", "speed"),
    _p("ansible-core", "GPL-3.0+", "copyleft", "speed", pypi="ansible-core==2.14.18"),
    _p("mutagen", "GPL-2.0+", "copyleft", "quick accuracy speed", pypi="mutagen==1.46.0", held_out=True,
       note="held out: Python"),
    _p("gnupg2", "GPL-3.0+", "copyleft", "speed"),
    _p("emacs", "GPL-3.0+", "copyleft", "large"),
    _p("glibc", "LGPL-2.1+", "copyleft", "large"),
    _p("gimp", "GPL-3.0+", "copyleft", "large"),
    _p("gdb", "GPL-3.0+", "copyleft", "large"),
    # held out (issue 16): never a case source before; see bench/README.md
    _p("htop", "GPL-2.0+", "copyleft", "quick accuracy", held_out=True, note="held out: C"),
    _p("screen", "GPL-3.0+", "copyleft", "accuracy", held_out=True, note="held out: C"),
    # --- permissive: negatives ---------------------------------------------------------
    _p("musl", "MIT", "permissive", "quick accuracy negatives", note="libc: reimplements what gnulib does",
       copied_paths=(("debian/musl-fts/", "gawk (extension/gawkfts.c) and gnulib (lib/fts.c) derive from the "
                                          "same 4.4BSD fts as musl-fts"),)),
    _p("dash", "BSD-3-Clause", "permissive", "quick accuracy negatives", note="a POSIX shell, like bash",
       copied_into="busybox (shell/ash.c is derived from dash)"),
    _p("original-awk", "MIT", "permissive", "accuracy negatives", note="an awk, like gawk"),
    _p("zlib", "Zlib", "permissive", "quick accuracy negatives"),
    _p("lua5.4", "MIT", "permissive", "quick accuracy negatives"),
    _p("expat", "MIT", "permissive", "accuracy negatives"),
    _p("tmux", "ISC", "permissive", "accuracy negatives"),
    _p("sqlite3", "public-domain", "permissive", "accuracy negatives"),
    _p("flask", "BSD-3-Clause", "permissive", "quick accuracy negatives", pypi="flask==2.2.2"),
    _p("requests", "Apache-2.0", "permissive", "accuracy negatives", pypi="requests==2.28.1"),
    _p("python-click", "BSD-3-Clause", "permissive", "accuracy negatives", pypi="click==8.1.3"),
    _p("libcommons-lang3-java", "Apache-2.0", "permissive", "quick accuracy negatives"),
    _p("commons-io", "Apache-2.0", "permissive", "accuracy negatives"),
    _p("fmtlib", "MIT", "permissive", "accuracy negatives"),
    _p("php-monolog", "MIT", "permissive", "accuracy negatives"),
    _p("node-express", "MIT", "permissive", "accuracy negatives"),
    _p("jquery", "MIT", "permissive", "accuracy negatives", copied_into="wordpress (wp-includes/js/jquery)"),
    _p("php-league-commonmark", "BSD-3-Clause", "permissive", "accuracy negatives"),
    # --- base code: permissive libraries of each case language, none of them a negative ---
    _p("libuv1", "MIT", "base", "quick accuracy"),
    _p("libbsd", "BSD-3-Clause", "base", "quick accuracy", note="BSD reimplementations of libc helpers"),
    _p("nlohmann-json3", "MIT", "base", "accuracy"),
    _p("libcommons-collections4-java", "Apache-2.0", "base", "quick accuracy"),
    _p("php-guzzlehttp-psr7", "MIT", "base", "accuracy"),
    _p("lodash@4.17.21", "MIT", "base", "accuracy", kind="npm"),
    _p("underscore@1.13.6", "MIT", "base", "accuracy", kind="npm"),
    _p("preact@10.19.3", "MIT", "base", "accuracy", kind="npm"),
    _p("immutable@4.3.4", "MIT", "base", "accuracy", kind="npm"),
    _p("six", "MIT", "base", "quick accuracy", kind="pypi", pypi="six==1.16.0"),
    _p("attrs", "MIT", "base", "quick accuracy", kind="pypi", pypi="attrs==22.2.0"),
    _p("urllib3", "MIT", "base", "accuracy", kind="pypi", pypi="urllib3==1.26.12"),
]

SETS = ("quick", "accuracy", "speed", "large", "negatives", "all")


def default_cache() -> Path:
    env = os.environ.get("LICSCAN_BENCH_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "licscan" / "bench"


def packages(set_name: str, role: str | None = None) -> list[Package]:
    out = [p for p in PACKAGES if set_name == "all" or set_name in p.sets or (set_name == "large" and "speed" in p.sets)]
    if role:
        out = [p for p in out if p.role == role]
    return out


@dataclass
class Tree:
    package: Package
    path: Path
    origin: str
    """'debian' or 'pypi' (fallback)."""

    @property
    def name(self) -> str:
        return self.path.name


def _sdist_source(spec: str) -> Source:
    """An sdist (``NAME==VERSION``) for licscan's own PyPI fetcher, in a tree named
    ``<canonical name>_<version>`` as the corpora have always been named."""
    name, _, ver = spec.partition("==")
    return Source(name=f"{re.sub(r'[-_.]+', '-', name).lower()}_{ver}", kind="pypi", spec=spec, version=ver)


def _pypi_sdist(spec: str, cache: Path) -> Path:
    return fetch_source(_sdist_source(spec), cache).root


def fetch(pkg: Package, cache: Path, *, log=print) -> Tree:
    """Fetch one package: Debian source first, the PyPI sdist when that fails and one is known."""
    if pkg.kind == "pypi":
        assert pkg.pypi
        return Tree(pkg, _pypi_sdist(pkg.pypi, cache / "pypi"), "pypi")
    if pkg.kind == "npm":
        got = fetch_source(Source(name=pkg.name.replace("@", "_"), kind="npm", spec=pkg.name), cache / "npm")
        return Tree(pkg, got.root, "npm")
    if pkg.pypi:  # fetched before through the fallback: don't ask the mirror again
        src = _sdist_source(pkg.pypi)
        done = entry_dir(src, cache / "pypi") / src.name
        if done.is_dir() and not any((cache / "debian").glob(f"{pkg.name}_*")):
            return Tree(pkg, done, "pypi")
    try:
        return Tree(pkg, fetch_debian_source(pkg.name, None, cache / "debian"), "debian")
    except LicscanError as e:
        first = e
    # the mirror may lack the newest upload's files: try the other versions the suites offer
    try:
        offered = [o["version"] for o in show_debian_source(pkg.name, cache / "debian") if o["files"]]
    except LicscanError:
        offered = []
    for ver in dict.fromkeys(offered):
        try:
            tree = fetch_debian_source(pkg.name, ver, cache / "debian")
            log(f"  {pkg.name}: newest version failed ({first}); using {ver}")
            return Tree(pkg, tree, "debian")
        except LicscanError:
            continue
    if True:
        e = first
        if not pkg.pypi:
            raise e
        log(f"  {pkg.name}: Debian source failed ({e}); using PyPI sdist {pkg.pypi}")
        return Tree(pkg, _pypi_sdist(pkg.pypi, cache / "pypi"), "pypi")


def fetch_all(pkgs: list[Package], cache: Path, *, log=print, strict: bool = False) -> list[Tree]:
    """Fetch every package; one that cannot be had here is reported and left out (unless strict)."""
    trees = []
    for p in pkgs:
        t0 = time.perf_counter()
        try:
            tree = fetch(p, cache, log=log)
        except LicscanError as e:
            if strict:
                raise
            log(f"  SKIPPED {p.name}: {e}")
            continue
        dt = time.perf_counter() - t0
        if dt > 0.5:
            log(f"  fetched {p.name} -> {tree.path} ({dt:.1f}s)")
        trees.append(tree)
    return trees


# ---------------------------------------------------------------------------------------
# what a tree holds

EXT_LANG = {
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hh": "cpp", ".hpp": "cpp", ".hxx": "cpp",
    ".py": "python", ".java": "java", ".js": "javascript", ".mjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".php": "php", ".go": "go", ".rs": "rust", ".rb": "ruby", ".cs": "csharp",
    ".sh": "bash", ".bash": "bash",
}


def iter_files(root: Path):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in (".git", ".pc", ".hg", ".svn"))
        for f in sorted(filenames):
            p = Path(dirpath) / f
            if p.is_file() and not p.is_symlink():
                yield p


@dataclass
class TreeStats:
    files: int = 0
    bytes: int = 0
    code_files: int = 0
    code_bytes: int = 0
    langs: Counter = field(default_factory=Counter)


def tree_stats(root: Path) -> TreeStats:
    st = TreeStats()
    for p in iter_files(root):
        n = p.stat().st_size
        st.files += 1
        st.bytes += n
        lang = EXT_LANG.get(p.suffix.lower())
        if lang:
            st.code_files += 1
            st.code_bytes += n
            st.langs[lang] += n
    return st


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", default="accuracy", choices=SETS)
    ap.add_argument("--cache", type=Path, default=default_cache(), help="cache dir (default %(default)s)")
    ap.add_argument("--list", action="store_true", help="list the set: versions, download sizes, what is fetched")
    ap.add_argument("--fetch", action="store_true", help="fetch the set (including its negatives for quick/accuracy)")
    a = ap.parse_args(argv)
    pkgs = packages(a.set)
    if a.fetch:
        fetch_all(pkgs, a.cache)
    if a.list or not a.fetch:
        print(f"{'package':<24} {'role':<10} {'license':<14} {'offered version':<34} {'dl MB':>6} {'tree':<30} {'MB':>7} {'code MB':>8}  languages (MB)")
        tot = Counter()
        for p in pkgs:
            try:
                if p.kind != "debian":
                    raise LicscanError(f"{p.kind} package")
                offered = [o for o in show_debian_source(p.name, a.cache / "debian") if o["files"]]
                ver = ",".join(dict.fromkeys(o["version"] for o in offered))[:34]
                dl = _mb(max(sum(o["files"].values()) for o in offered))
            except LicscanError as e:
                ver, dl = f"? ({str(e)[:26]})", "?"
            tree = None
            for sub in ("debian", "pypi"):
                d = a.cache / sub
                if d.is_dir():
                    name = p.pypi.split("==")[0].lower() if (sub == "pypi" and p.pypi) else p.name
                    c = sorted(x for x in d.iterdir() if x.is_dir() and x.name.startswith(name + "_"))
                    if c:
                        tree = c[-1]
                        break
            if tree is not None:
                st = tree_stats(tree)
                tot["bytes"] += st.bytes
                tot["code"] += st.code_bytes
                langs = ", ".join(f"{k} {_mb(v)}" for k, v in st.langs.most_common(4))
                print(f"{p.name:<24} {p.role:<10} {p.license:<14} {ver:<34} {dl:>6} {tree.parent.name + '/' + tree.name:<30} {_mb(st.bytes):>7} {_mb(st.code_bytes):>8}  {langs}")
            else:
                print(f"{p.name:<24} {p.role:<10} {p.license:<14} {ver:<34} {dl:>6} {'(not fetched)':<30}")
        print(f"{'total fetched':<24} {'':<10} {'':<14} {'':<34} {'':>6} {'':<30} {_mb(tot['bytes']):>7} {_mb(tot['code']):>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
