"""The license truth set of ``bench/licenses.py --truth``: what each file's license *is*.

Derived without licscan's license code, in two parts:

- a file's own notice, read here by a deliberately plain reader (``own_notice``): an
  SPDX tag, or the GNU notice's family, version and "or any later version" in its
  first lines, or the key sentence of MIT, BSD, Apache, ISC, MPL, zlib. A notice that
  names two different licenses, an exception, or a license this reader does not know
  is *unclear*: left out of the scores and counted;
- for files without one, the project's declaration in ``PACKAGES`` below, written
  down after reading each package's license files, metadata and debian/copyright,
  with the paths that differ (bundled components) as explicit expectations.

A GNU license named without a version takes the package's declared version of that
family, else any version (GPL-2.0 §9 / GPL-3.0 §14): the rule issue 14 asks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from licscan.licenses.text import read_text  # reading bytes only; no license logic


@dataclass(frozen=True)
class TruthPackage:
    name: str
    tree: str
    """Glob under the bench cache (first match)."""
    declared: str
    """The project's own license for files without a notice, as read (see ``why``)."""
    why: str
    sub: str = ""
    """Index this subdirectory of the tree as the project root (CSparse inside SuiteSparse)."""
    paths: tuple[tuple[str, str], ...] = field(default=())
    """(path prefix, license): the declaration of parts that differ (components, vendored code)."""

    def declared_for(self, rel: str) -> str:
        hits = [(p, lic) for p, lic in self.paths if rel.startswith(p)]
        return max(hits, key=lambda h: len(h[0]))[1] if hits else self.declared


_G3 = "GPL-3.0-or-later"
PACKAGES: list[TruthPackage] = [
    TruthPackage("bash", "debian/bash_*", _G3, "COPYING: GPLv3 text, no version statement; debian/copyright "
                 "Files: * GPL-3+ decides"),
    TruthPackage("busybox", "debian/busybox_*", "GPL-2.0-only", "LICENSE: 'Version 2 is the only version of this "
                 "license which this version of BusyBox ... may be distributed under'"),
    TruthPackage("coreutils", "debian/coreutils_*", _G3, "COPYING GPLv3 text; debian Files: * GPL-3+"),
    TruthPackage("gawk", "debian/gawk_*", _G3, "COPYING GPLv3 text; debian Files: * GPL-3+",
                 paths=(("missing_d/", "LGPL-2.0-or-later"),)),  # missing_d/COPYING.LIB: the LGPL-2.1 text alone
    TruthPackage("grep", "debian/grep_*", _G3, "COPYING GPLv3 text; debian Files: * GPL-3+"),
    TruthPackage("sed", "debian/sed_*", _G3, "COPYING GPLv3 text; debian Files: * GPL-3+"),
    TruthPackage("fish", "debian/fish_*", "GPL-2.0-only", "COPYING: 'Most of fish is licensed under the GNU "
                 "General Public License version 2'; the bundled parts' licenses name no paths"),
    TruthPackage("htop", "debian/htop_*", "GPL-2.0-or-later", "COPYING GPLv2 text; debian Files: * GPL-2+ "
                 "(README: version 2 or any later version)"),
    TruthPackage("jedit", "debian/jedit_*", "GPL-2.0-or-later", "no license file above the code; debian "
                 "Files: * GPL-2+ (doc/COPYING.txt is the GPLv2 text)"),
    TruthPackage("pylint", "debian/pylint_*", "GPL-2.0-or-later", "LICENSE: GPLv2 text; pyproject.toml "
                 "project.license = GPL-2.0-or-later decides"),
    TruthPackage("screen", "debian/screen_*", _G3, "COPYING GPLv3 text; debian Files: * GPL-3+"),
    TruthPackage("wordpress", "debian/wordpress_*", "GPL-2.0-or-later", "license.txt: 'either version 2 of the "
                 "License, or (at your option) any later version'; the incorporated work is b2, also GPL",
                 paths=(("wp-includes/sodium_compat/", "ISC"),  # its own LICENSE: ISC
                        # plupload's FJCore has its own License.txt: MIT ("Permission is hereby granted ...")
                        ("debian/missing-sources/plupload/csharp/Plupload/FJCore/", "MIT"),
                        # tinymce/license.txt: the LGPL-2.1 text alone; debian Files: tinymce/* LGPL-2.0+
                        ("wp-includes/js/tinymce/", "LGPL-2.0-or-later"),
                        # ID3/license.txt: "released under multiple licenses. You may choose from": GPL v1,
                        # v2 or v3, LGPL v3, MPL 2.0 (or a commercial license)
                        ("wp-includes/ID3/", "GPL-1.0-only OR GPL-2.0-only OR GPL-3.0-only OR LGPL-3.0-only "
                                             "OR MPL-2.0"))),
    TruthPackage("git", "debian/git_*", "GPL-2.0-only", "COPYING: Linus's preface, 'the only valid version of "
                 "the GPL as far as this project is concerned is _this_ particular version (v2)'",
                 paths=(("reftable/", "BSD-3-Clause"),)),  # reftable/LICENSE: BSD, "Neither the name of Google"
    TruthPackage("readline", "debian/readline_*", _G3, "COPYING GPLv3 text; debian Files: * GPL-3+",
                 # rlfe comes from screen: debian/copyright's Files: examples/rlfe/* says GPL-2+
                 paths=(("examples/rlfe/", "GPL-2.0-or-later"),)),
    TruthPackage("gnupg2", "debian/gnupg2_*", _G3, "COPYING GPLv3 text; debian Files: * GPL-3+",
                 paths=(("tests/gpgscm/", "BSD-3-Clause"),)),  # LICENSE.TinySCHEME: BSD, "Neither the name"
    TruthPackage("nano", "debian/nano_*", _G3, "COPYING GPLv3 text; debian Files: * GPL-3+"),
    TruthPackage("diffutils", "debian/diffutils_*", _G3, "COPYING GPLv3 text; debian Files: * GPL-3+"),
    TruthPackage("bc", "debian/bc_*", "GPL-2.0-or-later", "COPYING GPLv3 text; debian Files: * says GPL-2.0+, "
                 "which decides the version (the sources say GPLv3+, and have notices)"),
    TruthPackage("patch", "debian/patch_*", _G3, "COPYING GPLv3 text; README: 'either version 3 of the License, "
                 "or (at your option) any later version'"),
    TruthPackage("indent", "debian/indent_*", "GPL-1.0-or-later", "COPYING GPLv3 text and nothing that names a "
                 "version (README: 'see the file COPYING'; debian/copyright is not machine-readable): GPL-3.0 §14"),
    TruthPackage("rsync", "debian/rsync_*", "GPL-1.0-or-later", "COPYING: an OpenSSL linking exception, then the "
                 "GPLv3 text; README: 'the GNU General Public License' without a version: GPL-3.0 §14",
                 paths=(("popt/", "MIT"),)),  # popt/COPYING: "Permission is hereby granted, free of charge"
    TruthPackage("libgit2", "debian/libgit2_*", "GPL-2.0-only WITH GCC-exception-2.0", "COPYING: the only valid "
                 "version is v2, plus a linking exception (scancode's id for it: GCC-exception-2.0)"),
    TruthPackage("csparse", "debian/suitesparse_*", "LGPL-2.1-or-later", "CSparse/Doc/License.txt: 'version 2.1 "
                 "of the License, or (at your option) any later version'; no license file above the code",
                 sub="CSparse", paths=(("MATLAB/ssget/", "BSD-3-Clause"),)),
    TruthPackage("mutagen", "pypi/mutagen_1.46.0", "GPL-2.0-or-later", "COPYING: GPLv2 text; setup.py "
                 "license='GPL-2.0-or-later' and classifier GPLv2+"),
    TruthPackage("ansible-core", "pypi/pypi/ansible-core_*/ansible-core_*", _G3, "COPYING: GPLv3 text; setup.cfg "
                 "license = GPLv3+"),
    TruthPackage("chardet", "pypi/pypi/chardet_*/chardet_*", "LGPL-2.0-or-later", "LICENSE: LGPL-2.1 text; "
                 "setup.cfg license = LGPL, classifier 'LGPLv2+' decides the version"),
    TruthPackage("paramiko", "pypi/pypi/paramiko_*/paramiko_*", "LGPL-2.0-or-later", "LICENSE: LGPL-2.1 text; "
                 "metadata says only 'LGPL': LGPL-2.1 §14, any version"),
]

# -- the plain reader of a file's own notice ------------------------------------------------

_MARKS = re.compile(r"^\s*(?:/\*+|\*+/|\*+|//+|#+|;+|--+|%+|!|dnl\b|rem\b|'''|\"\"\"|<!--|-->|\{-|-\})", re.I)
_URL = re.compile(r"(?:https?://|www\.)\S+")
_FAMILY = re.compile(r"gnu (lesser |library |affero )?general public licen[cs]e")
_SHORT = re.compile(r"\b(l|a)?gpl[ -]?v?(\d)(?:\.(\d))?(\+| or later| or any later)?")
_PERMISSIVE = [
    (re.compile(r"permission is hereby granted, free of charge, to any person obtaining|"
                r"(released|licensed|distributed) under the mit licen[cs]e|\bmit licen[cs]e\b"), "MIT"),
    (re.compile(r"simplified bsd license"), "BSD-2-Clause"),
    (re.compile(r"dedicated all copyright and related and neighboring rights to this software to the public "
                r"domain worldwide.{0,200}cc0 public domain dedication"), "CC0-1.0"),
    (re.compile(r"licensed under the apache license, version 2\.0"), "Apache-2.0"),
    (re.compile(r"permission to use, copy, modify, and(/or)? distribute this software for any purpose with or "
                r"without fee is hereby granted"), "ISC"),
    (re.compile(r"mozilla public license, v\. 2\.0"), "MPL-2.0"),
    (re.compile(r"altered source versions must be plainly marked"), "Zlib"),
]


def _words(head: str, lines: int = 120) -> str:
    out = [_MARKS.sub("", ln) for ln in head.splitlines()[:lines]]
    return " ".join(_URL.sub(" ", " ".join(out)).lower().split())


def own_notice(head: str) -> tuple[str, str | None, str | None]:
    """(status, license, unversioned GNU family): status is ``spdx``, ``notice``, ``unclear``
    (a notice this reader will not call) or ``none`` (the file states no license)."""
    m = re.search(r"spdx-license-identifier:\s*([\w.+()\- ]+?)\s*(?:\*/|-->|$)", head, re.I | re.M)
    if m:
        return "spdx", m.group(1).strip(), None
    t = _words(head)
    ids: set[str] = set()
    families: set[str] = set()
    for f in _FAMILY.finditer(t):
        fam = {"lesser ": "LGPL", "library ": "LGPL", "affero ": "AGPL"}.get(f.group(1) or "", "GPL")
        window = t[f.end(): f.end() + 160]
        v = re.search(r"version (\d)(?:\.(\d))?", window)
        if v is None:
            families.add(fam)
            continue
        later = bool(re.search(r"any later version|or later", window[v.end(): v.end() + 120]))
        ids.add(f"{fam}-{v.group(1)}.{v.group(2) or '0'}-{'or-later' if later else 'only'}")
    for s in _SHORT.finditer(t):
        fam = {"l": "LGPL", "a": "AGPL"}.get(s.group(1) or "", "GPL")
        ids.add(f"{fam}-{s.group(2)}.{s.group(3) or '0'}-{'or-later' if s.group(4) else 'only'}")
    if re.search(r"\b(l|a)?gpl\b", t) and not ids:
        families.add({"l": "LGPL", "a": "AGPL"}.get((re.search(r"\b(l|a)?gpl\b", t).group(1) or ""), "GPL"))  # type: ignore[union-attr]
    perm = {lic for rx, lic in _PERMISSIVE if rx.search(t)}
    if "redistribution and use in source and binary forms, with or without modification" in t:
        uc = "-UC" if "regents of the university of california" in t else ""
        perm.add(f"BSD-4-Clause{uc}" if "all advertising materials" in t else
                 "BSD-3-Clause" if "endorse or promote" in t else "BSD-2-Clause")
    if re.search(r"copying and distribution of this file, with or without modification,( in any medium,)? are "
                 r"permitted", t):
        perm.add("FSFAP" if "offered as-is, without any warranty" in t else "FSFAP-no-warranty-disclaimer")
    if re.search(r"(placed|released|dedicated) (in|into) the public domain|(is|are) in the public domain", t):
        perm.add("LicenseRef-scancode-public-domain")
    families -= {i.split("-")[0] for i in ids}
    named = len(ids) + len(perm) + len(families)
    if named == 0:
        # "See COPYING" points at the project's declaration; any other license wording is a
        # notice this reader cannot name.
        words = re.sub(r"see (the )?(file )?\W?(licen[cs]e|copying)\w*", " ", t)
        return ("unclear", None, None) if re.search(r"licen[cs]|under the terms of|is free software|"
                                                    r"permission to use|permission is granted|redistribut",
                                                    words) else ("none", None, None)
    if re.search(r"exception|dual[- ]licen", t) or (named > 1 and (ids or families)):
        return "unclear", None, None
    if named > 1:  # permissive terms side by side (install-sh: X11, and FSF changes in the public domain)
        return "notice", " AND ".join(sorted(perm)), None
    if families:
        return "notice", None, families.pop()
    return "notice", (ids or perm).pop(), None


def _unversioned(family: str, declared: str) -> str:
    if declared.split("-")[0] == family and re.match(r"^[AL]?GPL-\d\.\d-(only|or-later)$", declared):
        return declared
    return {"GPL": "GPL-1.0-or-later", "LGPL": "LGPL-2.0-or-later", "AGPL": "AGPL-3.0-or-later"}[family]


def truth(pkg: TruthPackage, root: Path, rel: str) -> tuple[str, str | None]:
    """(bucket, expected license): bucket ``own`` (the file's notice), ``declared`` (no notice:
    the project's declaration) or ``unclear`` (left out)."""
    head = read_text(root / rel, 8192) or ""
    status, lic, family = own_notice(head)
    if status == "unclear":
        return "unclear", None
    if status in ("spdx", "notice"):
        return "own", lic if lic else _unversioned(family or "GPL", pkg.declared_for(rel))
    return "declared", pkg.declared_for(rel)


COPYLEFT = re.compile(r"\b(A|L)?GPL-|\bMPL-|\bEPL-|\bCDDL-|\bEUPL-|\bOSL-|CC-BY-SA|copyleft", re.I)


def copyleft(expr: str | None) -> bool | None:
    """Copyleft (any GNU, MPL, EPL... part) vs permissive; None when unknown."""
    if not expr:
        return None
    # An OR with a permissive branch can be taken permissively.
    branches = re.split(r"\s+OR\s+", expr.replace("(", " ").replace(")", " "))
    return all(COPYLEFT.search(b) for b in branches)


# -- the run ----------------------------------------------------------------------------------

LANGS = {"c": "C", "h": "C", "cc": "C++", "cpp": "C++", "hh": "C++", "hpp": "C++", "py": "Python", "java": "Java",
         "php": "PHP", "js": "JavaScript", "sh": "Shell", "bash": "Shell", "pl": "Perl", "pm": "Perl", "rb": "Ruby",
         "go": "Go", "rs": "Rust", "ts": "TypeScript", "m": "MATLAB/ObjC", "tcl": "Tcl", "el": "Lisp"}


def _spread(files: list[str], n: int) -> list[str]:
    return files if len(files) <= n else [files[i * len(files) // n] for i in range(n)]


def sample(files: list[str], n: int) -> list[str]:
    """About `n` files, spread evenly over each language's sorted files, languages given equal
    shares (deterministic): a C++ shell with hundreds of scripts still shows its C++."""
    by_lang: dict[str, list[str]] = {}
    for f in sorted(files):
        by_lang.setdefault(LANGS.get(f.rpartition(".")[2].lower(), "other"), []).append(f)
    out: list[str] = []
    left, groups = n, sorted(by_lang.values(), key=len)
    for i, group in enumerate(groups):
        share = left // (len(groups) - i)
        got = _spread(group, share)
        out += got
        left -= len(got)
    return sorted(out)


def same(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return a == b
    from license_expression import get_spdx_licensing

    lic = get_spdx_licensing()
    try:
        return bool(lic.is_equivalent(lic.parse(a), lic.parse(b)))
    except Exception:  # noqa: BLE001 - an unparsable expression is compared as text
        return " ".join(a.split()) == " ".join(b.split())


def run_truth(cache: Path, per_package: int, engine: str, show: int, code_files,  # noqa: ANN001
              baseline=None) -> int:  # noqa: ANN001
    """Score licscan's licenses (and, given ``baseline``, an older license module's) on the truth set."""
    import time
    from collections import Counter, defaultdict

    import licscan.licenses.detect as detect

    rows: list[dict] = []
    t_total = 0.0
    for pkg in PACKAGES:
        found = sorted(cache.glob(pkg.tree))
        if not found:
            print(f"# {pkg.name}: {pkg.tree} not fetched under {cache}; skipped")
            continue
        root = found[0] / pkg.sub if pkg.sub else found[0]
        rels = sample(code_files(root), per_package)
        t0 = time.perf_counter()
        got = detect.detect_licenses_detailed(root, rels, engine=engine, workers=1)  # type: ignore[arg-type]
        t_total += time.perf_counter() - t0
        old = baseline.detect_licenses_detailed(root, rels, engine=engine, workers=1) if baseline else {}
        for rel in rels:
            bucket, want = truth(pkg, root, rel)
            res = got[rel]
            rows.append({"pkg": pkg.name, "rel": rel, "bucket": bucket, "want": want, "got": res.license,
                         "kind": res.evidence.kind, "ev": res.evidence,
                         "old": old[rel].license if rel in old else None,
                         "lang": LANGS.get(rel.rpartition(".")[2].lower(), "other")})
    detect.shutdown_scancode_workers()
    if baseline:
        baseline.shutdown_scancode_workers()
    scored = [r for r in rows if r["bucket"] != "unclear"]
    for r in scored:
        r["exact"] = same(r["got"], r["want"])
        r["copyleft"] = copyleft(r["got"]) == copyleft(r["want"])
        r["old_exact"] = same(r["old"], r["want"])

    def line(name: str, rs: list[dict]) -> str:
        n = len(rs)
        if not n:
            return f"{name:28} {0:6}"
        ex = sum(r["exact"] for r in rs) / n
        cl = sum(r["copyleft"] for r in rs) / n
        unk = sum(r["got"] is None for r in rs) / n
        return f"{name:28} {n:6} {100 * ex:7.2f} {100 * cl:9.2f} {100 * unk:8.2f}"

    head = f"{'':28} {'files':>6} {'exact%':>7} {'copyleft%':>9} {'unknown%':>8}"
    langs = Counter(r["lang"] for r in rows)
    print(f"# truth set: {len(rows)} files, {len({r['pkg'] for r in rows})} packages, languages: "
          + ", ".join(f"{k} {v}" for k, v in langs.most_common()))
    print(f"# unclear own notices (left out of the scores): {len(rows) - len(scored)}; engine {engine}; "
          f"detection {t_total:.1f}s")
    print("\n## by truth: the file's own notice, or its project's declaration\n" + head)
    print(line("with own notice", [r for r in scored if r["bucket"] == "own"]))
    print(line("without (declared)", [r for r in scored if r["bucket"] == "declared"]))
    print(line("all", scored))
    print("\n## by licscan's evidence kind\n" + head)
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for r in scored:
        by_kind[r["kind"]].append(r)
    for kind in ("notice", "license-file", "package-metadata", "debian-copyright", "unknown"):
        print(line(kind, by_kind.get(kind, [])))
    print("\n## by package\n" + head + "  licscan's commonest license for files without a notice")
    for pkg in PACKAGES:
        rs = [r for r in scored if r["pkg"] == pkg.name]
        if rs:
            common = Counter(str(r["got"]) for r in rs if r["bucket"] == "declared").most_common(1)
            print(line(pkg.name, rs) + (f"  {common[0][0]}" if common else ""))
    if baseline:
        print(f"\n## baseline {baseline.__name__} vs this code: exact% (files)")
        for name, rs in (("with own notice", [r for r in scored if r["bucket"] == "own"]),
                         ("without (declared)", [r for r in scored if r["bucket"] == "declared"]),
                         *((p.name, [r for r in scored if r["pkg"] == p.name]) for p in PACKAGES)):
            if rs:
                print(f"{name:28} {100 * sum(r['old_exact'] for r in rs) / len(rs):7.2f} -> "
                      f"{100 * sum(r['exact'] for r in rs) / len(rs):7.2f} ({len(rs)})"
                      + "".join(f"  was {k}" for k, _ in Counter(str(r["old"]) for r in rs if not r["old_exact"])
                                .most_common(1)))
    empty = [r for r in rows if r["got"] is None and (r["kind"] != "unknown" or not r["ev"].reason)]
    print(f"\nfiles without a license and without an unknown-with-reason evidence: {len(empty)}")
    bad = [r for r in scored if not r["exact"]]
    print(f"\n## disagreements ({len(bad)}; first {min(show, len(bad))})")
    for r in bad[:show]:
        print(f"  {r['pkg']}/{r['rel']} [{r['bucket']}]: want {r['want']}, got {r['got']} ({r['ev'].line()})")
    return 0
