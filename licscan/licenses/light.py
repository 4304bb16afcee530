"""The light license matcher: GNU, BSD, MIT and a few more by their key phrases.

No scancode needed: what index builds use on small machines, tests and the
project-license lookup on the scan path.
"""

from __future__ import annotations

import re

from licscan.licenses.text import join_and, normalize_expression, tokens


LIGHT_ENGINE = "light-1"
PUBLIC_DOMAIN = "LicenseRef-scancode-public-domain"
"""scancode's id, used by every source so one concept has one spelling."""

_GNU = re.compile(r"\bgnu (?:(lesser|library|affero) )?general public licen[sc]e\b")
_GNU_SHORT = re.compile(r"\b(a|l)?gpl ?v?(\d)(?: (\d)\b)?(\+)?( or later| or any later| only)?")
_VERSION = re.compile(r"\bv(?:ersion)? ?(\d)(?: (\d)\b)?(\+)?")
_LATER = re.compile(r"any later version|\bor later\b|\bor any later\b")
_FULL_TEXT = re.compile(r"terms and conditions for copying distribution|\bpreamble\b|incorporates the terms")
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"permission is hereby granted free of charge to any person obtaining a copy|"
                r"\b(licensed|released|distributed) under the (terms of the )?mit\b|"
                r"\bmit licen[sc]e\b"), "MIT"),
    (re.compile(r"\bapache licen[sc]e v?(ersion )?2 0\b|\bapache 2 0 licen|apache org licenses licen[sc]e 2 0"),
     "Apache-2.0"),
    (re.compile(r"\bmozilla public licen[sc]e v?(ersion )?2 0\b|mozilla org mpl 2 0"), "MPL-2.0"),
    (re.compile(r"permission to use copy modify and( or)? distribute this software for any purpose "
                r"with or without fee is hereby granted"), "ISC"),
    (re.compile(r"\blicen[sc]e mit\b"), "MIT"),
    (re.compile(r"\b(placed|released|dedicated) (in|into|to) the public domain\b|\bis in the public domain\b"),
     PUBLIC_DOMAIN),
    (re.compile(r"\bpython software foundation licen[sc]e version 2\b|\bpsf licen[sc]e agreement\b"), "PSF-2.0"),
    (re.compile(r"\bzope public licen[sc]e zpl version 2 1\b"), "ZPL-2.1"),
    (re.compile(r"\b(simplified|freebsd) bsd\b|\bbsd 2 clause\b|\b2 clause bsd\b"), "BSD-2-Clause"),
    (re.compile(r"\b(new|modified|revised) bsd\b|\bbsd 3 clause\b|\b3 clause bsd\b"), "BSD-3-Clause"),
]
_BSD = re.compile(r"redistribution and use in source and binary forms with or without modification "
                  r"are permitted")


def _gnu_id(kind: str, major: str | None, minor: str | None, later: bool) -> str:
    fam = {"l": "LGPL", "a": "AGPL"}.get(kind, "GPL")
    if not major:
        # An unversioned reference lets the user pick any version (GPL-2.0 section 9).
        return f"{fam}-{ {'LGPL': '2.0', 'AGPL': '3.0'}.get(fam, '1.0')}-or-later"
    return f"{fam}-{major}.{minor or '0'}-{'or-later' if later else 'only'}"


def _gnu(t: str) -> list[str]:
    matches = list(_GNU.finditer(t))
    full = bool(_FULL_TEXT.search(t))
    if full and matches:
        # A full license text names itself first and then cites its siblings.
        matches = matches[:1]
    found: list[str] = []
    unversioned: list[str] = []
    for m in matches:
        kind = {"lesser": "l", "library": "l", "affero": "a"}.get(m.group(1) or "", "")
        window = t[m.end(): m.end() + 200]
        v = _VERSION.search(window)
        if v is None:
            unversioned.append(kind)
            continue
        later = bool(v.group(3) or _LATER.search(window[v.end(): v.end() + 120]))
        found.append(_gnu_id(kind, v.group(1), v.group(2), later and not full))
    if not found:
        for m in _GNU_SHORT.finditer(t):
            later = bool(m.group(4) or (m.group(5) and "later" in m.group(5)))
            found.append(_gnu_id(m.group(1) or "", m.group(2), m.group(3), later))
    if not found:
        found = [_gnu_id(k, None, None, True) for k in unversioned]
    return found


def light_match(text: str) -> str | None:
    """Phrase-based SPDX guess for the commonest notices and license texts (no scancode)."""
    t = " " + tokens(text) + " "
    found = _gnu(t)
    for rx, spdx in _RULES:
        if rx.search(t):
            found.append(spdx)
    if _BSD.search(t):
        if "all advertising materials" in t:
            found.append("BSD-4-Clause")
        elif "neither the name" in t or "endorse or promote" in t:
            found.append("BSD-3-Clause")
        else:
            found.append("BSD-2-Clause")
    return join_and([normalize_expression(e) for e in found])
