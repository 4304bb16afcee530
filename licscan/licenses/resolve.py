"""Resolving an indexed file's license in a fixed order, with the evidence that decided it.

1. ``notice``: the file's own SPDX tag or header notice (``detect.py`` reads those;
   ``notice.refine_notice`` maps the detection exactly: generic "other copyleft" echoes
   dropped, an exception only where the notice grants one, ``-only``/``-or-later`` from
   the wording).
2. ``license-file``: the nearest license file (COPYING, LICENSE*, COPYING.LIB...) in the
   file's directory or above, read as the project's declaration (``declare.py``): its
   own license for the project's files, a listed component's license only for the
   paths named for it, never the AND of everything mentioned.
3. the package's declared license: its metadata (``metadata.py``, kind
   ``package-metadata``), ``debian/copyright`` ``Files:`` stanzas in a Debian source
   package (``debian-copyright``), a license file elsewhere in the tree that declares
   the project's license (CSparse's ``Doc/License.txt``: ``license-file``), a README's
   license section (``package-metadata``, field ``README ... License section``).
4. ``unknown``, with the reason.

A GNU license named without a version (a bare GPL text, "licensed under the GPL")
takes its version from the package's own declaration of that family (metadata,
debian/copyright, README), else from the license's own rule: any version
(GPL-2.0 §9, GPL-3.0 §14). The evidence's ``rule`` says which.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from licscan.licenses.debian import DebianMatch, Stanza, match_dep5, parse_dep5
from licscan.licenses.declare import (DOC_DIRS, UNVERSIONED_RULE, Declaration, Grant, read_declaration,
                                      readme_grant)
from licscan.licenses.metadata import Declared, declared_license
from licscan.licenses.notice import family as _family
from licscan.licenses.notice import refine_notice
from licscan.licenses.text import LICENSE_FILE_BYTES, license_file_text, read_text, text_key
from licscan.model import LicenseEvidence

Method = Literal["spdx-tag", "notice", "debian-copyright", "dir-license", "root-license", "package-metadata",
                 "license-elsewhere", "readme", "none"]
# Not LICENSE.html (fish's rendered docs list every bundled part) nor license.py & co.: code or markup.
_LICENSE_FILE = re.compile(r"^(licen[cs]e|copying|copyright)(?![-._\w+]*\.(html?|xml|css|js|json|py|c|h|php|rb|"
                           r"pl|sh|in|ya?ml|go|java)$)([-._][\w.+-]*)?$", re.I)
_PLAIN_LICENSE_FILE = re.compile(r"^(licen[cs]e|copying)(\.(txt|md|rst))?$", re.I)
_README = re.compile(r"^readme(\.(md|rst|txt|markdown))?$", re.I)
_SKIP_DIRS = {"test", "tests", "testdata", "vendor", "third_party", "thirdparty", "external", "node_modules",
              "debian", "examples", ".git"}
@dataclass(frozen=True)
class LicenseResult:
    """How one file's license was decided."""

    license: str | None
    method: Method
    source: str | None = None
    """Root-relative path of the file (notice, license file, metadata) that decided it."""
    engine: str | None = None
    """Matcher that read the notice or license file (``scancode-32.5.0``, ``light-1``)."""
    evidence: LicenseEvidence = field(default=LicenseEvidence("unknown"), compare=False)


_METHOD: dict[str, Method] = {"package-metadata": "package-metadata", "debian-copyright": "debian-copyright",
                              "license-file": "dir-license"}
"""The method of a result whose version another source decided, by that source's kind."""

PROJECT_REL = ".licscan-project"
"""A path no project has: resolving it (steps 2-4 at the root) gives the project's own declaration."""


def _parent(rel: str) -> str:
    return rel.rpartition("/")[0]


def _join(d: str, name: str) -> str:
    return f"{d}/{name}" if d else name


class Tree:
    """Per-directory context of one root, computed lazily and memoized per directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.found: dict[str, tuple[str | None, str]] = {}
        """Detection (expression, engine) per text key, filled in after matching."""
        self.file_keys: dict[str, str | None] = {}
        self.whole: dict[str, str] = {}
        """License file text as written, per text key (the key is of the copyright-stripped text)."""
        self._license_files: dict[str, list[str]] = {}
        self._decl: dict[str, Declaration] = {}
        self._dep5: dict[str, tuple[str, list[Stanza]] | None] = {}
        self._meta: dict[str, tuple[str, Declared] | None] = {}
        self._registered: set[str] = set()
        self._elsewhere: tuple[str, Grant] | None | bool = False
        self._readme: tuple[str, Grant] | None | bool = False

    # -- license files ------------------------------------------------------------------

    def license_files(self, d: str) -> list[str]:
        """Root-relative license files directly in dir `d` ('' is root)."""
        if d not in self._license_files:
            try:
                names = sorted(e.name for e in os.scandir(os.path.join(self.root, d)) if e.is_file())
            except OSError:
                names = []
            debian = d == "debian" or d.endswith("/debian")
            cands = [n for n in names if _LICENSE_FILE.match(n) and not (debian and n == "copyright")]
            plain = [n for n in cands if _PLAIN_LICENSE_FILE.match(n)]
            # LICENSE beats LICENSE-THIRD-PARTY & co.; suffixed files alone are all used.
            self._license_files[d] = [_join(d, n) for n in plain or cands]
        return self._license_files[d]

    def register_license_files(self, d: str, texts: dict[str, str]) -> None:
        """Queue the license files of `d` and its parents for matching."""
        while d not in self._registered:
            self._registered.add(d)  # its parents are registered too, or are about to be
            for lf in self.license_files(d):
                self._register(lf, texts)
            if not d:
                return
            d = _parent(d)

    def _register(self, lf: str, texts: dict[str, str]) -> None:
        if lf not in self.file_keys:
            raw = read_text(os.path.join(self.root, lf), LICENSE_FILE_BYTES)
            body = license_file_text(raw) if raw else None
            self.file_keys[lf] = key = text_key(body) if body else None
            if key and body and raw:
                texts.setdefault(key, body)
                self.whole.setdefault(key, raw)
                self._decl.setdefault(lf, read_declaration(raw))

    def _matched(self, lf: str) -> tuple[str | None, str | None]:
        """(expression, engine) that scancode or the light matcher gave the whole file."""
        k = self.file_keys.get(lf)
        return self.found.get(k, (None, None)) if k else (None, None)

    def _file_grant(self, lf: str, rel_in_dir: str) -> tuple[Grant, str] | None:
        """(grant, how) a license file gives a file at `rel_in_dir` (relative to its directory)."""
        decl = self._decl.get(lf)
        if decl is None:
            return None
        comp = max(((p, g) for p, g in decl.components if rel_in_dir.startswith(p)),
                   key=lambda pg: len(pg[0]), default=None)
        if comp is not None:
            return comp[1], f"component {comp[0]}"
        own = decl.own
        if own is not None and decl.exception and own.license:
            matched = self._matched(lf)[0] or ""
            m = re.search(rf"\b{re.escape(own.license)} WITH ([\w.+-]+)", matched) or re.search(
                r"\bGPL-[\d.]+-(?:only|or-later) WITH ([\w.+-]+)", matched)
            if m:
                own = Grant(f"{own.license} WITH {m.group(1)}", own.family, own.lines, own.rule)
        if own is not None:
            return own, ""
        if decl.components:
            return None  # a list of components' licenses: nothing for the paths it does not name
        matched = self._matched(lf)[0]
        return (Grant(matched, lines=(1, 1), rule="whole-text match"), "") if matched else None

    # -- package declarations ---------------------------------------------------------------

    def dep5(self, d: str) -> tuple[str, list[Stanza]] | None:
        """(package dir, stanzas) of the nearest machine-readable debian/copyright."""
        if d not in self._dep5:
            text = read_text(os.path.join(self.root, d, "debian", "copyright"), 1 << 20)
            stanzas = parse_dep5(text) if text else None
            self._dep5[d] = (d, stanzas) if stanzas is not None else self.dep5(_parent(d)) if d else None
        return self._dep5[d]

    def debian(self, rel: str) -> tuple[DebianMatch, str] | None:
        pkg = self.dep5(_parent(rel))
        if pkg is None:
            return None
        d, stanzas = pkg
        hit = match_dep5(stanzas, rel[len(d) + 1:] if d else rel)
        return (hit, _join(d, "debian/copyright")) if hit and hit.license else None

    def metadata(self, d: str) -> tuple[str, Declared] | None:
        """(dir, declaration) of the nearest package metadata in `d` or above."""
        if d not in self._meta:
            found = declared_license(self.root / d)
            self._meta[d] = (d, found) if found else self.metadata(_parent(d)) if d else None
        return self._meta[d]

    def elsewhere(self, rel: str) -> tuple[str, Grant] | None:
        """A license file off the file's ancestor chain that declares the project's license: first in
        a docs folder of its directory or above (``MATLAB/ssget/Doc/License.txt``, nearest first),
        else anywhere, the shallowest, plain names (COPYING.txt) before suffixed (COPYING.DOC.txt)."""
        d = _parent(rel)
        while True:
            for sub in self._doc_dirs(d):
                for lf in self.license_files(sub):
                    got = self._declared_in(lf)
                    if got is not None:
                        return got
            if not d:
                break
            d = _parent(d)
        return self._anywhere()

    def _doc_dirs(self, d: str) -> list[str]:
        try:
            return sorted(_join(d, e.name) for e in os.scandir(os.path.join(self.root, d))
                          if e.is_dir() and e.name.lower() in DOC_DIRS)
        except OSError:
            return []

    def _declared_in(self, lf: str) -> tuple[str, Grant] | None:
        if lf not in self._decl:
            raw = read_text(os.path.join(self.root, lf), LICENSE_FILE_BYTES)
            self._decl[lf] = read_declaration(raw) if raw else Declaration(None)
        own = self._decl[lf].own
        return (lf, own) if own is not None else None

    def _anywhere(self) -> tuple[str, Grant] | None:
        if self._elsewhere is False:
            self._elsewhere = None
            for depth_dir in self._dirs_by_depth(3):
                files = sorted(self.license_files(depth_dir), key=lambda f: not _PLAIN_LICENSE_FILE.match(
                    f.rpartition("/")[2]))
                for lf in files:
                    self._elsewhere = self._declared_in(lf)
                    if self._elsewhere:
                        break
                if self._elsewhere:
                    break
        return self._elsewhere  # type: ignore[return-value]

    def _dirs_by_depth(self, max_depth: int) -> list[str]:
        out, level = [], [""]
        for _ in range(max_depth):
            nxt = []
            for d in level:
                try:
                    subs = sorted(e.name for e in os.scandir(os.path.join(self.root, d)) if e.is_dir())
                except OSError:
                    subs = []
                nxt += [_join(d, s) for s in subs if s.lower() not in _SKIP_DIRS and not s.startswith(".")]
            out += nxt
            level = nxt[:200]
        return out

    def readme(self) -> tuple[str, Grant] | None:
        """The license a root README's License section states."""
        if self._readme is False:
            self._readme = None
            for name in sorted(n for n in os.listdir(self.root) if _README.match(n)) if self.root.is_dir() else []:
                grant = readme_grant(read_text(self.root / name, 1 << 18) or "")
                if grant is not None:
                    self._readme = (name, grant)
                    break
        return self._readme  # type: ignore[return-value]

    # -- resolution -------------------------------------------------------------------------

    def version_for(self, family: str, rel: str, what: str) -> tuple[str, LicenseEvidence | None, str]:
        """A GNU family named without a version: (id, evidence of who decided or None, rule)."""
        meta = self.metadata(_parent(rel))
        if meta and meta[1].license and _family(meta[1].license) == family:
            d, m = meta
            return meta[1].license, LicenseEvidence("package-metadata", _join(d, m.path), field=m.field), \
                f"{what} names {family} without a version; the package metadata decides"
        deb = self.debian(rel)
        if deb and deb[0].license and _family(deb[0].license) == family:
            return deb[0].license, LicenseEvidence("debian-copyright", deb[1], field=f"Files: {deb[0].pattern}"), \
                f"{what} names {family} without a version; debian/copyright decides"
        d = _parent(rel)
        while True:  # a license file above that states a version (busybox's "only version 2")
            for lf in self.license_files(d):
                own = self._decl[lf].own if lf in self._decl else None
                if own is not None and own.license and _family(own.license) == family and lf != what:
                    return own.license, LicenseEvidence("license-file", lf, own.lines), \
                        f"{what} names {family} without a version; the project's license file decides"
            if not d:
                break
            d = _parent(d)
        rd = self.readme()
        if rd and rd[1].license and _family(rd[1].license) == family:
            return rd[1].license, LicenseEvidence("package-metadata", rd[0], rd[1].lines, "README"), \
                f"{what} names {family} without a version; the README decides"
        default, rule = UNVERSIONED_RULE[family]
        return default, None, f"{what}: {rule}"

    def _from_grant(self, grant: Grant, rel: str, path: str, how: str, kind: str, method: Method,
                    engine: str | None = None, field_: str | None = None) -> LicenseResult:
        rule = "; ".join(x for x in (how, grant.rule) if x) or None
        if grant.license:
            return LicenseResult(grant.license, method, path, engine,
                                 LicenseEvidence(kind, path, grant.lines, field_, rule))
        fam = grant.family or "GPL"
        lic, decided, why = self.version_for(fam, rel, path)
        if decided is not None:
            return LicenseResult(lic, _METHOD[decided.kind], decided.path, engine,
                                 LicenseEvidence(decided.kind, decided.path, decided.lines, decided.field, why))
        return LicenseResult(lic, method, path, engine, LicenseEvidence(kind, path, grant.lines, field_, why))

    def license_file(self, rel: str) -> LicenseResult | None:
        """Step 2: the nearest license file in the file's directory or above that decides."""
        d = _parent(rel)
        while True:
            for lf in self.license_files(d):
                got = self._file_grant(lf, rel[len(d) + 1:] if d else rel)
                if got is not None:
                    return self._from_grant(got[0], rel, lf, got[1], "license-file",
                                            "root-license" if d == "" else "dir-license", self._matched(lf)[1])
            if not d:
                return None
            d = _parent(d)

    def fallback(self, rel: str) -> LicenseResult:
        """Steps 2-4 for a file without its own notice."""
        got = self.license_file(rel)
        if got is not None:
            return got
        meta = self.metadata(_parent(rel))
        if meta is not None:
            d, m = meta
            path = _join(d, m.path)
            grant = Grant(m.license, m.family)
            return self._from_grant(grant, rel, path, "", "package-metadata", "package-metadata", field_=m.field)
        deb = self.debian(rel)
        if deb is not None:
            hit, src = deb
            return LicenseResult(hit.license, "debian-copyright", src, None,
                                 LicenseEvidence("debian-copyright", src, field=f"Files: {hit.pattern}"))
        found = self.elsewhere(rel)
        if found is not None:
            return self._from_grant(found[1], rel, found[0], "declares the project's license", "license-file",
                                    "license-elsewhere")
        rd = self.readme()
        if rd is not None:
            return self._from_grant(rd[1], rel, rd[0], "", "package-metadata", "readme", field_="README")
        return LicenseResult(None, "none", None, None, LicenseEvidence(
            "unknown", reason="no notice in the file, no license file in its directory or above, no package "
                              "metadata, debian/copyright, license file elsewhere or README license section"))

    def notice(self, rel: str, expr: str | None, notice: str, lines: tuple[int, int] | None,
               engine: str | None) -> LicenseResult | None:
        """Step 1 for a header notice: the detection mapped exactly; None if it names no license."""
        lic, family = refine_notice(expr, notice)
        ev = LicenseEvidence("notice", rel, lines)
        if lic:
            return LicenseResult(lic, "notice", rel, engine, ev)
        if family:
            lic, decided, why = self.version_for(family, rel, "the file's notice")
            if decided is not None:
                return LicenseResult(lic, _METHOD[decided.kind], decided.path, engine,
                                     LicenseEvidence(decided.kind, decided.path, decided.lines, decided.field, why))
            return LicenseResult(lic, "notice", rel, engine, LicenseEvidence("notice", rel, lines, rule=why))
        return None
