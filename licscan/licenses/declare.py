"""Reading a license file (or a README's license section) as the project's declaration.

A COPYING or LICENSE file is more than a license text: its preface says which
license the project's own files are under, which version, and sometimes which
bundled components are under what. Matching the whole file (what scancode does)
ANDs everything mentioned: fish's COPYING becomes ``GPL-2.0-only AND LGPL-2.0-only
AND ISC``, git's (Linus's preface mentions v3) ``GPL-3.0-only AND GPL-2.0-only``.
This module reads it the way a person does:

1. a preface sentence that limits the license to the included version ("the only
   valid version ... is this particular version", busybox's "Version 2 is the only
   version") gives that version, ``-only``;
2. else the first preface paragraph that grants a license (not a warranty
   disclaimer, not a sentence about bundled parts) is the project's license;
3. else the included full text (its title, e.g. "GNU General Public License
   Version 2, June 1991") with *no version specified*: the GNU licenses' own rule
   (GPL-2.0 section 9, GPL-3.0 section 14, LGPL-2.1 section 14) lets the recipient
   pick any version, unless the package's metadata decides (``resolve.py``);
4. sections headed by a path (``==> AMD/Doc/License.txt <==``, SuiteSparse's list
   of its packages) give each component's license to the paths under that
   component only, never to the rest.

Pure text in, no files or scancode: cheap to test, runs once per distinct license file.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from licscan.licenses.light import _GNU, _GNU_SHORT, _LATER, _VERSION, light_match
from licscan.licenses.text import tokens

UNVERSIONED_RULE = {
    "GPL": ("GPL-1.0-or-later", "GPL-2.0 §9 / GPL-3.0 §14: no version specified, any version may be chosen"),
    "LGPL": ("LGPL-2.0-or-later", "LGPL-2.1 §14: no version specified, any version may be chosen"),
    "AGPL": ("AGPL-3.0-or-later", "AGPL-3.0 §14: no version specified, any version may be chosen"),
}
"""What a GNU family with no version specified means, by the licenses' own rule."""

_URL = re.compile(r"(https?://|www\.)\S+", re.I)
_TITLE = re.compile(r"^(?:the )?gnu (lesser |library |affero )?general public licen[sc]e version (\d)(?: (\d)\b)?")
_ONLY = re.compile(r"only valid version|version (\d)(?: (\d))? is the only version|\bv(\d) only\b")
_COMPONENT = re.compile(r"also (includes|contains|uses)|includes software|incorporates|bundled|third[ -]party|"
                        r"\bportions\b|\bexcept\b|the following (files|directories)|some (files|parts)|"
                        r"other (files|parts)|\bcomponents?\b")
_NOT_A_GRANT = re.compile(r"in the hope that it will be useful|you should have received a copy|"
                          r"without any warranty|for more details")
_EXCEPTION = re.compile(r"linking exception|special exception|in addition to the permissions in the gnu")
_PATH_HEAD = re.compile(r"^\s*==>\s*(\S+)\s*<==\s*$")
DOC_DIRS = {"doc", "docs", "license", "licenses", "licence", "legal"}


@dataclass(frozen=True)
class Grant:
    """A license statement read from one paragraph or text."""

    license: str | None
    """SPDX expression; None when only an unversioned GNU family was named."""
    family: str | None = None
    """GPL, LGPL or AGPL when the version is not specified (``license`` is then None)."""
    lines: tuple[int, int] | None = None
    rule: str | None = None


@dataclass(frozen=True)
class Declaration:
    """What a license file declares: the project's own license and its components'."""

    own: Grant | None
    components: tuple[tuple[str, Grant], ...] = ()
    """(path prefix, grant): the license of the paths under each prefix the file names."""
    exception: bool = False
    """The preface grants an exception (linking exception, ...): its id comes from scancode."""


def gnu_reading(text: str) -> tuple[list[str], list[str]]:
    """(GNU ids with a version in words, families named without any version) of a notice.

    URLs are removed first: a link to gpl-2.0.html names a text, not the grant
    (``-only`` or ``-or-later`` must come from the wording)."""
    t = " " + tokens(_URL.sub(" ", text)) + " "
    ids: list[str] = []
    unversioned: list[str] = []
    for m in _GNU.finditer(t):
        fam = {"lesser": "LGPL", "library": "LGPL", "affero": "AGPL"}.get(m.group(1) or "", "GPL")
        window = t[m.end(): m.end() + 200]
        v = _VERSION.search(window)
        if v is None or v.start() > 120:
            unversioned.append(fam)
            continue
        later = bool(v.group(3) or _LATER.search(window[v.end(): v.end() + 120]))
        ids.append(f"{fam}-{v.group(1)}.{v.group(2) or '0'}-{'or-later' if later else 'only'}")
    for m in _GNU_SHORT.finditer(t):
        fam = {"l": "LGPL", "a": "AGPL"}.get(m.group(1) or "", "GPL")
        later = bool(m.group(4) or (m.group(5) and "later" in m.group(5)))
        ids.append(f"{fam}-{m.group(2)}.{m.group(3) or '0'}-{'or-later' if later else 'only'}")
    for m in re.finditer(r"\b(a|l)?gpl\b(?! ?v?\d)", t):
        unversioned.append({"l": "LGPL", "a": "AGPL"}.get(m.group(1) or "", "GPL"))
    versioned = {i.split("-")[0] for i in ids}
    return list(dict.fromkeys(ids)), [f for f in dict.fromkeys(unversioned) if f not in versioned]


def _paragraphs(text: str) -> list[tuple[int, int, str]]:
    """(first line, last line, text) of each blank-line separated paragraph; 1-based lines."""
    out: list[tuple[int, int, str]] = []
    start, cur = 0, []
    for i, line in enumerate(text.splitlines() + [""], 1):
        if line.strip() and not set(line.strip()) <= set("-=*_#~+ "):
            if not cur:
                start = i
            cur.append(line)
        elif cur:
            out.append((start, i - 1, "\n".join(cur)))
            cur = []
    return out


def title_of(paragraph: str) -> tuple[str, str, str | None] | None:
    """(family, major, minor) when the paragraph is the title of a GNU license text."""
    m = _TITLE.match(tokens(paragraph))
    if not m:
        return None
    return {"lesser ": "LGPL", "library ": "LGPL", "affero ": "AGPL"}.get(m.group(1) or "", "GPL"), m.group(2), m.group(3)


def read_grant(par: str, lines: tuple[int, int]) -> Grant | None:
    """The license a paragraph grants, if it grants one (warranty text and links do not)."""
    low = tokens(par)
    if _NOT_A_GRANT.search(low) and not re.search(r"redistribute it|licen[cs]ed under|released under", low):
        return None
    ids, unversioned = gnu_reading(par)
    if ids:
        return Grant(" AND ".join(ids) if len(ids) > 1 and not re.search(r"\bor\b", low) else
                     " OR ".join(ids) if len(ids) > 1 else ids[0], lines=lines)
    if unversioned:
        return Grant(None, unversioned[0], lines)
    # Other licenses only from a statement ("released under the MIT license"): a paragraph of
    # a license's own text (BSD's conditions) is read with the rest of that text, as a whole.
    if re.search(r"(licen[cs]ed|released|distributed|available|provided) under|under the terms of|"
                 r"public domain", low):
        found = light_match(_URL.sub(" ", par))
        return Grant(found, lines=lines) if found else None
    return None


def _component_prefix(path: str) -> str:
    """``AMD/Doc/License.txt`` -> ``AMD/``: the component's directory, docs folders dropped."""
    parts = path.strip("./").split("/")[:-1]
    while parts and parts[-1].lower() in DOC_DIRS:
        parts.pop()
    return "/".join(parts) + "/" if parts else ""


def _components(text: str) -> tuple[tuple[str, Grant], ...]:
    """Sections headed ``==> path <==``: each grants its component's license to its directory."""
    lines = text.splitlines()
    heads = [(i, m.group(1)) for i, ln in enumerate(lines) if (m := _PATH_HEAD.match(ln))]
    out: list[tuple[str, Grant]] = []
    for n, (i, path) in enumerate(heads):
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        prefix = _component_prefix(path)
        body = "\n".join(lines[i + 1:end])
        decl = _own(body, i + 1) if prefix else None
        if decl is not None:
            out.append((prefix, decl))
    return tuple(out)


def _own(text: str, offset: int = 0) -> Grant | None:
    """The project's own grant in a license text (steps 1-3 of the module docstring)."""
    paras = _paragraphs(text)
    title_at = next((k for k, (_, _, p) in enumerate(paras) if title_of(p)), len(paras))
    title = title_of(paras[title_at][2]) if title_at < len(paras) else None
    preface = paras[:title_at]
    for a, b, par in preface:
        low = tokens(par)
        m = _ONLY.search(low)
        if m and (title or m.group(1) or m.group(3)):
            fam, major, minor = title or ("GPL", m.group(1) or m.group(3), m.group(2))
            return Grant(f"{fam}-{major}.{minor or '0'}-only", lines=(a + offset, b + offset),
                         rule="the license file's preface allows only this version")
    for a, b, par in preface:
        if _COMPONENT.search(tokens(par)) or _EXCEPTION.search(tokens(par)):
            continue  # bundled parts' licenses, or an exception: not the project's own grant
        grant = read_grant(par, (a + offset, b + offset))
        if grant is not None:
            return grant
    if title:
        fam = title[0]
        a = paras[title_at][0]
        return Grant(None, fam, (a + offset, a + offset), rule=UNVERSIONED_RULE[fam][1])
    found = light_match(text)
    if found and paras:
        return Grant(found, lines=(paras[0][0] + offset, paras[-1][1] + offset))
    return None


def read_declaration(text: str) -> Declaration:
    """What the license file `text` declares (its own grant may be None: then scancode's reading is used)."""
    comps = _components(text)
    first_head = next((i for i, ln in enumerate(text.splitlines()) if _PATH_HEAD.match(ln)), None)
    head_text = "\n".join(text.splitlines()[:first_head]) if first_head is not None else text
    own = _own(head_text) if head_text.strip() else None
    if comps and own is not None and own.license is None and own.family is None:
        own = None
    if comps and first_head is not None and own is not None and own.rule and own.family:
        own = None  # "this file lists all licenses of the packages" has no project-wide grant
    paras = _paragraphs(head_text)
    preface = " ".join(tokens(p) for _, _, p in itertools.takewhile(lambda x: not title_of(x[2]), paras))
    exception = bool(_EXCEPTION.search(preface))
    return Declaration(own, comps, exception)


def readme_grant(text: str) -> Grant | None:
    """The license a README states: its License section, else the first paragraph granting
    one (GNU READMEs say it in prose: "This program is free software ... version 3 or later")."""
    sec = readme_section(text)
    grants: list[Grant] = []
    for a, b, par in _paragraphs(sec[0]) if sec else ():
        grant = read_grant(par, (a + sec[1] - 1, b + sec[1] - 1))  # type: ignore[index]
        if grant is not None:
            grants.append(grant)
    if not grants:
        for a, b, par in _paragraphs("\n".join(text.splitlines()[:300])):
            low = tokens(par)
            if re.search(r"licen[cs]|general public|redistribut", low) and not _COMPONENT.search(low):
                grant = read_grant(par, (a, b))
                if grant is not None:
                    grants.append(grant)
    # "distributed under the terms of the GNU GPL" first, "either version 3 ... or later" after:
    # the versioned statement is the declaration, the other its summary.
    return next((g for g in grants if g.license), grants[0] if grants else None)


def readme_section(text: str) -> tuple[str, int] | None:
    """(body, first line) of a README's License/Licensing section (Markdown, reST or plain)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        s = line.strip().strip("#=*").strip().rstrip(":").lower()
        underlined = i + 1 < len(lines) and lines[i + 1].strip() and set(lines[i + 1].strip()) <= set("=-~^*#")
        heading = line.lstrip().startswith("#") or underlined
        if heading and s in ("license", "licence", "licensing", "copyright and license", "license and copyright",
                             "copying", "copyright"):
            start = i + (2 if underlined else 1)
            end = start
            while end < len(lines):
                nxt = lines[end]
                if nxt.lstrip().startswith("#") or (end + 1 < len(lines) and lines[end + 1].strip()
                                                    and set(lines[end + 1].strip()) <= set("=-~^*#")
                                                    and nxt.strip()):
                    break
                end += 1
            body = "\n".join(lines[start:end])
            if body.strip():
                return body, start + 1
    return None
