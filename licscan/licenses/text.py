"""Text side of license detection: file heads, SPDX tags, leading notices, light matcher.

Everything here is pure (no scancode, no processes) so it is cheap to import and test.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

HEAD_BYTES = 8192
"""Bytes read per file: covers long multi-holder copyright blocks before the license text."""
MAX_NOTICE_LINES = 120
LICENSE_FILE_BYTES = 131072
"""Cap for LICENSE/COPYING texts: huge bundled-notice files would make scancode crawl."""

# -- expressions --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _spdx_licensing() -> Any | None:
    try:
        from license_expression import get_spdx_licensing
    except ImportError:
        return None
    return get_spdx_licensing()


def normalize_expression(expr: str) -> str:
    """Canonical SPDX rendering (``GPL-2.0+`` -> ``GPL-2.0-or-later``); raw text if unparsable."""
    raw = " ".join(expr.split())
    licensing = _spdx_licensing()
    if licensing is None:
        return raw
    try:
        parsed = licensing.parse(raw, validate=False)
    except Exception:  # the library raises several unrelated types on malformed input
        return raw
    return parsed.render() if parsed is not None else raw


GNU_ID = re.compile(r"^(A|L)?GPL-(\d\.\d)-(only|or-later)$")
"""A GNU license id, split into family (A/L/none), version and grant."""
_GNU_GENERIC = {"GPL-1.0-or-later", "LGPL-2.0-or-later"}


def _simplify_gnu(ids: list[str]) -> list[str]:
    """Drop GNU ids a same-family sibling makes redundant in one notice.

    Matchers read "see the GNU General Public License for more details" as
    GPL-1.0-or-later and a gpl-3.0.txt link as GPL-3.0-only; next to an explicit
    "version 3 or later" those are echoes, not extra licenses.
    """
    def family(i: str) -> str | None:
        m = GNU_ID.match(i)
        return (m.group(1) or "") if m else None

    keep: list[str] = []
    for i in ids:
        fam = family(i)
        if fam is not None and i in _GNU_GENERIC and any(x != i and family(x) == fam for x in ids):
            continue
        if fam is not None and i.endswith("-only") and i[: -len("-only")] + "-or-later" in ids:
            continue
        keep.append(i)
    return keep


def join_and(exprs: list[str]) -> str | None:
    """AND-combine expressions, dropping duplicates while keeping first-seen order."""
    parts: list[str] = []
    for e in exprs:
        if not e:
            continue
        flat = "(" not in e and not re.search(r"\s(OR|WITH)\s", e, re.I)
        parts.extend(re.split(r"\s+AND\s+", e, flags=re.I) if flat else [f"({e})" if " OR " in e.upper() else e])
    uniq = _simplify_gnu(list(dict.fromkeys(parts)))
    if not uniq:
        return None
    if len(uniq) == 1 and uniq[0].startswith("(") and uniq[0].endswith(")") and uniq[0].count("(") == 1:
        return uniq[0][1:-1]
    return uniq[0] if len(uniq) == 1 else normalize_expression(" AND ".join(uniq))


# Scancode answers that say "some license, see elsewhere" rather than naming one.
_WEAK = {
    "LicenseRef-scancode-unknown-license-reference",
    "LicenseRef-scancode-unknown",
    "LicenseRef-scancode-free-unknown",
    "LicenseRef-scancode-warranty-disclaimer",
}
def combine_detections(exprs: list[str]) -> str | None:
    """One expression for a notice: detections ANDed, deduped, "see elsewhere" parts dropped."""
    strong: list[str] = []
    for e in exprs:
        if e and "(" not in e and " OR " not in e:
            e = " AND ".join(p for p in e.split(" AND ") if p not in _WEAK)
        if e and e not in _WEAK:
            strong.append(normalize_expression(e))
    return join_and(strong)


# -- reading ------------------------------------------------------------------------------


def decode(data: bytes) -> str | None:
    """Text of a file prefix, or None for binary data."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start >= len(data) - 3:  # a multi-byte char cut by the read limit
            return data[: e.start].decode("utf-8", errors="replace")
        return data.decode("latin-1")  # legacy 8-bit sources; every byte maps to something


def read_text(path: Path | str, limit: int) -> str | None:
    """The first `limit` bytes of `path` as text; None if unreadable or binary."""
    try:
        with open(path, "rb") as fh:
            return decode(fh.read(limit))
    except OSError:
        return None


# -- SPDX tags ----------------------------------------------------------------------------

_SPDX_TAG = re.compile(r"SPDX-License-Identifier\s*:\s*([^\n\r]*)", re.I)
_TAG_END = re.compile(r"(\*/|-->|\"\"\"|'''|\*\)|-\}|#\}|\]\]|%>).*$")
_TAG_OK = re.compile(r"^[\w.+\-:() ]*[A-Za-z0-9][\w.+\-:() ]*$")


def find_spdx_tag(text: str) -> str | None:
    """Normalized expression of the file's SPDX-License-Identifier tag(s), if well-formed."""
    if "license-identifier" not in text.lower():  # cheap pre-check; the regex is the slow part
        return None
    found: list[str] = []
    for m in _SPDX_TAG.finditer(text):
        raw = _TAG_END.sub("", m.group(1)).strip().strip(";,\"'`").strip()
        # Prose or code that merely mentions the tag (e.g. a scanner's own regex) is ignored.
        if raw and _TAG_OK.match(raw):
            found.append(normalize_expression(raw))
    return join_and(found)


# -- notice extraction --------------------------------------------------------------------

_Syntax = tuple[tuple[str, ...], tuple[tuple[str, str], ...]]
_C: _Syntax = (("//",), (("/*", "*/"),))
_HASH: _Syntax = (("#",), ())
_PY: _Syntax = (("#",), (('"""', '"""'), ("'''", "'''")))
_DASH: _Syntax = (("--",), (("--[[", "]]"), ("{-", "-}"), ("/*", "*/")))
_SEMI: _Syntax = ((";",), ())
_PCT: _Syntax = (("%",), ())
_XML: _Syntax = ((), (("<!--", "-->"),))
_ML: _Syntax = (("//",), (("(*", "*)"),))
_GENERIC: _Syntax = (
    ("//", "#", "--", ";", "%", "!", "REM ", "::", "dnl "),
    (("/*", "*/"), ("<!--", "-->"), ('"""', '"""'), ("'''", "'''"), ("--[[", "]]"),
     ("{-", "-}"), ("(*", "*)"), ("=begin", "=end"), ("<#", "#>")),
)
_BY_EXT: dict[str, _Syntax] = {}
for _exts, _syn in (
    ("c h cc cpp cxx c++ hpp hh hxx ipp inl java js mjs cjs jsx ts tsx mts go rs cs swift kt kts "
     "scala sc dart m mm groovy gradle proto css scss less sass zig d v sv svh vala cu cuh", _C),
    ("php", (("//", "#"), (("/*", "*/"),))),
    ("sh bash zsh ksh fish rb pl pm t r yaml yml toml cfg mk cmake tcl awk nim ps1 coffee ex exs "
     "conf properties in am ac m4 dockerfile", (("#", "dnl "), (("=begin", "=end"), ("<#", "#>")))),
    ("py pyi pyx pxd pyw", _PY),
    ("sql lua hs lhs ada adb ads elm vhd vhdl", _DASH),
    ("lisp el clj cljs cljc scm ss rkt asm ini", _SEMI),
    ("tex sty cls erl hrl", _PCT),
    ("html htm xml xsl xslt svg md markdown vue xhtml", _XML),
    ("ml mli pas pp fs fsi fsx", _ML),
    ("f f90 f95 f03 for", (("!", "c ", "C "), ())),
    ("bat cmd", (("REM ", "rem ", "::"), ())),
    ("vim", (('"',), ())),
    ("s S", (("#", "//", ";", "@"), (("/*", "*/"),))),
):
    for _e in _exts.split():
        _BY_EXT[_e] = _syn
_BY_NAME = {"makefile": _HASH, "dockerfile": _HASH, "cmakelists.txt": _HASH, "gnumakefile": _HASH}

_PREAMBLE = re.compile(
    r"^(#!|<\?php|<\?xml|<!doctype|@charset|%yaml|---$|[\"']use strict[\"'];?$|"
    r"package\s+[\w.]+;?$|module\s+[\w.]+;?$)",
    re.I,
)
_DOCSTRING_PREFIX = re.compile(r"^[rRuUbB]{0,2}(?=\"\"\"|''')")
_LEAD_DECOR = re.compile(r"^[\s*#/!;%\-=|]+")
_TRAIL_DECOR = re.compile(r"[\s*#/=|]+$")


def _syntax_for(rel: str) -> _Syntax:
    name = rel.rpartition("/")[2]
    if name.lower() in _BY_NAME:
        return _BY_NAME[name.lower()]
    base, dot, ext = name.rpartition(".")
    if not dot or not base:
        return _GENERIC
    return _BY_EXT.get(ext, _BY_EXT.get(ext.lower(), _GENERIC))


def _clean(line: str) -> str:
    """Comment content without markers or box decoration; '' marks a paragraph break."""
    s = _TRAIL_DECOR.sub("", _LEAD_DECOR.sub("", line))
    return s if any(ch.isalnum() for ch in s) else ""


def comment_lines(text: str, rel: str) -> list[str]:
    """Cleaned lines of the leading comment block(s) of a source file, up to the first code."""
    line_marks, blocks = _syntax_for(rel)
    lines = text.splitlines()[:MAX_NOTICE_LINES]
    out: list[str] = []
    i = 0
    # A script may need a line of code before its header (install-sh's ``scriptversion=``,
    # gitk's ``exec wish``): with a shebang, two code lines among the first six are passed over.
    passes = 2 if lines and lines[0].startswith("#!") else 0
    while i < len(lines):
        s = lines[i].strip()
        if not s or _PREAMBLE.match(s):
            out.append("")
            i += 1
            continue
        s = _DOCSTRING_PREFIX.sub("", s)
        block = next(((op, cl) for op, cl in blocks if s.startswith(op)), None)
        if block is not None:
            op, cl = block
            out.append("")
            cur, j = s[len(op):], i
            while True:
                k = cur.find(cl)
                if k >= 0:
                    out.append(_clean(cur[:k]))
                    trailing = cur[k + len(cl):].strip()
                    break
                out.append(_clean(cur))
                j += 1
                if j >= len(lines):
                    trailing = ""
                    break
                cur = lines[j]
            i = j + 1
            out.append("")  # separate blocks (header comment vs. docstring) are separate paragraphs
            if trailing and not trailing.startswith(tuple(line_marks) + tuple(o for o, _ in blocks)):
                break  # code right after the comment closes: the leading region is over
            continue
        mark = next((m for m in line_marks if s.startswith(m)), None)
        if mark is None and passes and i < 6:
            passes -= 1
            out.append("")
            i += 1
            continue
        if mark is None:
            break
        out.append(_clean(s[len(mark):]))
        i += 1
    return out


_COPYRIGHT = re.compile(
    r"^(copyright\b|\(c\)|©|portions\s+copyright|spdx-file|(original\s+)?authors?\b|written\s+by|"
    r"contributed\s+by|maintainers?\b|modified\s+by|created\s+by|created\s*:|date\s*:|@author|"
    r"@copyright|all\s+rights\s+reserved|\d{4}(\s*[-,–]\s*\d{2,4})*\b)",
    re.I,
)
# Words that make a copyright line worth keeping ("Copyright 2020 X, licensed under MIT").
_COPYRIGHT_KEEP = re.compile(r"licen[cs]|gpl|spdx|redistribut|warrant|public domain|under the terms", re.I)
LICENSE_WORDS = re.compile(
    r"licen[cs]|\b[alf]?gpl|copyleft|warrant|permission (is hereby|notice|to use|to copy)|"
    r"written permission|(are|is) permitted|redistribut|public domain|spdx|under the terms|"
    r"provided\s+[\"'`]*as[\s-]+is|merchantab|liabilit|endorse|proprietary|confidential|"
    r"creative commons|unlicense|\bwtfpl\b|\bmit\b|\bbsd\b|\bmpl\b|\bcc0\b",
    re.I,
)


def strip_copyright(lines: list[str]) -> list[str]:
    """Drop copyright/author/date lines, which vary per file but never change the license."""
    return ["" if _COPYRIGHT.match(ln) and not _COPYRIGHT_KEEP.search(ln) else ln for ln in lines]


def paragraphs(lines: list[str]) -> list[str]:
    paras: list[str] = []
    cur: list[str] = []
    for ln in lines + [""]:
        if ln.strip():
            cur.append(ln.strip())
        elif cur:
            paras.append("\n".join(cur))
            cur = []
    return paras


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def extract_notice(text: str, rel: str, comments: list[str] | None = None) -> str | None:
    """License-relevant part of the file's leading comments, or None if it has none.

    Only paragraphs with license words are kept: per-file descriptions and author
    lists would otherwise make every header distinct and defeat the dedup. Words
    inside e-mail addresses do not count ("djm@gnu.ai.mit.edu" is not MIT).
    """
    kept = [p for p in paragraphs(strip_copyright(comment_lines(text, rel) if comments is None else comments))
            if LICENSE_WORDS.search(_EMAIL.sub(" ", p))]
    return "\n\n".join(kept) if kept else None


def notice_lines(text: str, notice: str | None = None) -> tuple[int, int] | None:
    """1-based (first, last) line of a file's leading notice (``extract_notice``'s text) or, without
    one, of its SPDX tag: the evidence's line range. Plain substring search: it runs per file."""
    heads = text.splitlines()[:MAX_NOTICE_LINES]
    if notice is None:
        hits = [i for i, ln in enumerate(heads, 1) if "license-identifier" in ln.lower()]
        return (hits[0], hits[-1]) if hits else None
    first, last = notice.split("\n", 1)[0], notice.rsplit("\n", 1)[-1]
    start = next((i for i, ln in enumerate(heads) if first in ln), None)
    if start is None:
        return None
    end = next((i for i in range(start, len(heads)) if last in heads[i]), start)
    return start + 1, end + 1


def license_file_text(text: str) -> str | None:
    """A LICENSE/COPYING text prepared for matching: whole, minus copyright lines."""
    body = "\n".join(strip_copyright([ln.strip() for ln in text.splitlines()])).strip()
    return body or None


# Same token shape as scancode's query tokenizer, so equal keys mean equal scancode input.
_TOKEN = re.compile(r"[^_\W]+\+?[^_\W]*")


def tokens(text: str) -> str:
    return " ".join(_TOKEN.findall(text.lower()))


def text_key(text: str) -> str:
    """Dedup/cache key of a notice: case, punctuation and layout do not matter to matchers."""
    return hashlib.sha256(tokens(text).encode()).hexdigest()[:32]
