"""Inline suppressions: a ``licscan: allow <reason>`` comment on or above a copied region.

The comment counts on the line right before the finding's first line or on any
line inside it, in whatever comment syntax the language uses (the marker is
searched in the raw line). A suppression must say why: one without a reason
suppresses nothing and is itself reported, so a gate cannot be silenced by
reflex.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MARK = re.compile(r"licscan:\s*allow\b(.*)$", re.I)
# Comment closers and decoration that may follow the reason on the same line.
_TAIL = re.compile(r"\s*(\*/|-->|\*\)|-\}|#\}|%>|\"\"\"|''')?\s*$")


@dataclass(frozen=True)
class Suppression:
    line: int
    """1-based line of the comment."""
    reason: str
    """Empty when the comment gives none."""


def parse_line(line: str) -> Suppression | None:
    """The suppression on one line, if any (line number 0; callers set it)."""
    m = _MARK.search(line)
    if m is None:
        return None
    reason = _TAIL.sub("", m.group(1)).strip().lstrip(":-—").strip()
    return Suppression(0, reason)


def find(text: str, start_line: int, end_line: int) -> Suppression | None:
    """The suppression covering lines ``start_line..end_line`` of ``text``; one with a reason wins."""
    if "licscan" not in text:  # the common case: no marker anywhere in the file
        return None
    lines = text.splitlines()
    found: Suppression | None = None
    for n in range(max(1, start_line - 1), min(end_line, len(lines)) + 1):
        s = parse_line(lines[n - 1])
        if s is None:
            continue
        s = Suppression(n, s.reason)
        if s.reason:
            return s
        found = found or s
    return found
