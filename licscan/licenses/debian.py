"""``debian/copyright`` (DEP-5): its ``Files:`` stanzas and Debian's short license names as SPDX."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from licscan.licenses.light import PUBLIC_DOMAIN
from licscan.licenses.text import _spdx_licensing, normalize_expression


@dataclass(frozen=True)
class Stanza:
    """One ``Files:`` paragraph: its glob patterns and SPDX expression (None if unmapped)."""

    patterns: tuple[str, ...]
    regexes: tuple[re.Pattern[str], ...]
    license: str | None


@dataclass(frozen=True)
class DebianMatch:
    license: str | None
    catch_all: bool
    """True when only ``Files: *`` matched: a packager's summary, weaker than a LICENSE file."""
    pattern: str


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """DEP-5 globs: ``*`` spans '/', ``?`` is one char, backslash escapes."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    if pattern.endswith("/"):  # not in the spec, but packagers write directories this way
        out.append(".*")
    return re.compile("".join(out), re.S)


def _fields(paragraph: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    name = ""
    for line in paragraph:
        if line.startswith("#"):
            continue
        if line[:1] in (" ", "\t"):
            if name:
                fields[name] += "\n" + line.strip()
            continue
        key, sep, value = line.partition(":")
        if sep:
            name = key.strip().lower()
            fields[name] = value.strip()
    return fields


def parse_dep5(text: str) -> list[Stanza] | None:
    """``Files:`` stanzas in file order; None if the file is not machine-readable."""
    paras: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip():
            paras[-1].append(line)
        elif paras[-1]:
            paras.append([])
    parsed = [_fields(p) for p in paras if p]
    if not parsed or not ("format" in parsed[0] or any("files" in f for f in parsed)):
        return None
    stanzas: list[Stanza] = []
    for f in parsed:
        if "files" not in f:
            continue
        pats = tuple(p.lstrip("./") if p.startswith("./") else p for p in f["files"].split())
        short = f.get("license", "").split("\n", 1)[0]
        stanzas.append(Stanza(pats, tuple(_glob_regex(p) for p in pats), debian_to_spdx(short)))
    return stanzas


def match_dep5(stanzas: list[Stanza], rel: str) -> DebianMatch | None:
    """The last stanza matching `rel` (relative to the package root) wins, per DEP-5."""
    for st in reversed(stanzas):
        hit = [p for p, rx in zip(st.patterns, st.regexes, strict=True) if rx.fullmatch(rel)]
        if hit:
            return DebianMatch(st.license, all(p == "*" for p in hit), hit[0])
    return None


_DEB_NAMES = {
    "expat": "MIT", "mit": "MIT", "x11": "X11", "isc": "ISC", "zlib": "Zlib",
    "public-domain": PUBLIC_DOMAIN, "public_domain": PUBLIC_DOMAIN,
    "perl": "Artistic-1.0-Perl OR GPL-1.0-or-later", "artistic": "Artistic-1.0",
    "zope": "ZPL-2.1", "zope-2.1": "ZPL-2.1", "psf": "PSF-2.0", "psf-2": "PSF-2.0",
    "python": "Python-2.0", "boost": "BSL-1.0", "boost-1.0": "BSL-1.0", "cc0": "CC0-1.0",
    "unlicense": "Unlicense", "wtfpl": "WTFPL", "openssl": "OpenSSL", "apache": "Apache-2.0",
    "bsd": "LicenseRef-BSD", "sil-ofl-1.1": "OFL-1.1", "ofl-1.1": "OFL-1.1",
}
_DEB_EXCEPTIONS = {
    "autoconf": "Autoconf-exception-2.0", "bison": "Bison-exception-2.2",
    "classpath": "Classpath-exception-2.0", "font": "Font-exception-2.0",
    "gcc": "GCC-exception-3.1", "libtool": "Libtool-exception", "qt": "Qt-GPL-exception-1.0",
}
_GNU_NAME = re.compile(r"^(a|l)?gpl(?:-?(\d)(?:\.(\d))?)?(\+)?$", re.I)
_GFDL_NAME = re.compile(r"^gfdl(-niv)?(?:-(\d\.\d))?(\+)?$", re.I)
_VERSIONED = re.compile(r"^(bsd-[234]-clause|apache-\d\.\d|mpl-\d\.\d|epl-\d\.\d|cddl-\d\.\d|"
                        r"cc-by(?:-sa|-nc|-nd)*-\d\.\d|artistic-\d\.\d|lppl-\d\.\d\w?)\+?$", re.I)


@lru_cache(maxsize=1)
def _spdx_ids() -> dict[str, str]:
    licensing = _spdx_licensing()
    if licensing is None:
        return {}
    ids: dict[str, str] = {}
    for sym in licensing.known_symbols.values():
        ids[sym.key.lower()] = sym.key
    return ids


def _one_name(name: str) -> str:
    low = name.lower()
    if low in _DEB_NAMES:
        return _DEB_NAMES[low]
    m = _GNU_NAME.match(name)
    if m:
        fam = {"a": "AGPL", "l": "LGPL"}.get((m.group(1) or "").lower(), "GPL")
        if not m.group(2):
            return f"{fam}-{ {'LGPL': '2.0', 'AGPL': '3.0'}.get(fam, '1.0')}-or-later"
        return f"{fam}-{m.group(2)}.{m.group(3) or '0'}-{'or-later' if m.group(4) else 'only'}"
    m = _GFDL_NAME.match(name)
    if m:
        niv = "-no-invariants" if m.group(1) else ""
        return f"GFDL-{m.group(2) or '1.1'}{niv}-{'or-later' if m.group(3) or not m.group(2) else 'only'}"
    m = _VERSIONED.match(name)
    if m:
        base = m.group(1)
        return "-".join(p.upper() if p.lower() in ("bsd", "mpl", "epl", "cddl", "cc", "by", "sa", "nc", "nd",
                                                   "lppl") else p.capitalize() if p.isalpha() else p
                        for p in base.split("-"))
    known = _spdx_ids().get(low.rstrip("+"))
    if known:
        return known + ("+" if low.endswith("+") else "")
    return "LicenseRef-" + re.sub(r"[^A-Za-z0-9.\-]", "-", name)


def _simple(part: str) -> str:
    words = part.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w.lower() in ("or", "and"):
            out.append(w.upper())
        elif w.lower() == "with" and i + 1 < len(words):
            exc = words[i + 1]
            i += 2 if len(words) > i + 2 and words[i + 2].lower() == "exception" else 1
            out.append("WITH " + _DEB_EXCEPTIONS.get(exc.lower(), f"LicenseRef-{exc}-exception"))
        else:
            mapped = _one_name(w)
            out.append(f"({mapped})" if " OR " in mapped else mapped)
        i += 1
    return " ".join(out)


def debian_to_spdx(short: str) -> str | None:
    """``GPL-2+ or Artistic, and BSD-3-clause`` -> ``(GPL-2.0-or-later OR Artistic-1.0) AND BSD-3-Clause``.

    Commas bind loosest in DEP-5, so each comma-separated part groups what precedes it.
    """
    expr: str | None = None
    for part in (p.strip() for p in short.split(",")):
        if not part:
            continue
        op = "AND"
        m = re.match(r"(and|or)\s+(.*)$", part, re.I)
        if m and expr is not None:
            op, part = m.group(1).upper(), m.group(2)
        sub = _simple(part)
        expr = sub if expr is None else f"({expr}) {op} ({sub})"
    return normalize_expression(expr) if expr else None
