"""Fenced code blocks of Markdown (chat transcripts, assistant answers, docs).

Each block keeps the line of its opening fence, so a finding in a block is
reported at its line in the transcript. Fences follow CommonMark (``` or ~~~,
three or more, closed by the same character at least as long), but opening
fences may be indented any amount (lists in chat answers nest them) and may sit
in block quotes; an unclosed fence runs to the end of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from licscan.languages import canonical, detect

_OPEN = re.compile(r"^(?P<quote>(?:[ \t]*>)*)(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass(frozen=True)
class CodeBlock:
    text: str
    tag: str
    """The first word of the info string, as written (may be empty)."""
    lang: str | None
    """Canonical language from the tag, or None when the tag names none."""
    fence_line: int
    """1-based line of the opening fence: block line N is transcript line fence_line + N."""
    closed: bool = True


def looks_like_markdown(text: str) -> bool:
    """True when a text holds at least one closed fenced code block."""
    return any(b.closed and b.text.strip() for b in code_blocks(text))


def tag_language(tag: str) -> str | None:
    """A fence's info word -> canonical language; None when it names no language we know.

    Accepts ``python``, ``{.python}``, ``py:src/app.py``, ``c++``, and file names
    (``src/main.c``).
    """
    t = tag.strip().strip("{}").lstrip(".").lower()
    if not t:
        return None
    for candidate in (t, t.split(":", 1)[0], t.split(",", 1)[0]):
        lang = canonical(candidate)
        if lang != "text":
            return lang
    if "." in t:
        lang = detect(t.split(":", 1)[-1])
        if lang is not None and lang != "text":
            return lang
    return None


def code_blocks(text: str) -> list[CodeBlock]:
    """Every fenced code block of a Markdown text, in order."""
    lines = text.split("\n")
    blocks: list[CodeBlock] = []
    i = 0
    while i < len(lines):
        m = _OPEN.match(lines[i].rstrip("\r"))
        if not m or (m.group("fence")[0] == "`" and "`" in m.group("info")):
            i += 1
            continue
        fence, quote = m.group("fence"), m.group("quote")
        indent = len(m.group("indent").expandtabs(4))
        if quote and m.group("indent").startswith(" "):
            indent -= 1  # the space after ">" belongs to the quote marker
        tag = m.group("info").strip().split(maxsplit=1)[0] if m.group("info").strip() else ""
        close = re.compile(r"^(?:[ \t]*>)*[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not close.match(lines[j].rstrip("\r")):
            body.append(_strip(lines[j].rstrip("\r"), quote, indent))
            j += 1
        if j == len(lines) and body and not body[-1]:
            body.pop()  # the text's final newline, not a line of the block
        blocks.append(CodeBlock("\n".join(body) + ("\n" if body else ""), tag, tag_language(tag), i + 1,
                                closed=j < len(lines)))
        i = j + 1
    return blocks


def _strip(line: str, quote: str, indent: int) -> str:
    """Remove the block quote markers and up to ``indent`` columns of the fence's indentation."""
    if quote:
        for _ in range(quote.count(">")):
            s = line.lstrip(" \t")
            if s.startswith(">"):
                line = s[1:]
                if line.startswith(" "):
                    line = line[1:]
    removed = 0
    k = 0
    while k < len(line) and removed < indent and line[k] in " \t":
        removed += 4 - removed % 4 if line[k] == "\t" else 1
        k += 1
    return line[k:]
