"""``scan --explain``: for each candidate source, which evidence rule accepted or rejected it.

Collected only inside ``collecting()``: a context variable, so a scan that does not
ask pays one lookup per candidate and threads nothing through the input stages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TextIO

from licscan.engine.rules import Decision, Shape

_TRACE: ContextVar[list[Explanation] | None] = ContextVar("licscan_explain", default=None)


@dataclass(frozen=True)
class Explanation:
    """One candidate region of one source, and the rule that decided it."""

    path: str
    start_line: int
    end_line: int
    source: str
    source_start: int
    source_end: int
    shape: Shape | None
    decision: Decision
    names: tuple[int, int, int] | None = None
    """(aligned names and literals, kept verbatim, distinct telling ones kept)."""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"path": self.path, "lines": [self.start_line, self.end_line],
                             "source": self.source, "source_lines": [self.source_start, self.source_end],
                             "accepted": self.decision.accepted, "rule": self.decision.rule,
                             "reason": self.decision.reason}
        if self.shape is not None:
            d.update(self.shape._asdict())
        if self.names is not None:
            d.update(zip(("names", "names_kept", "telling_kept"), self.names))
        return d


def active() -> bool:
    return _TRACE.get() is not None


def record(e: Explanation) -> None:
    trace = _TRACE.get()
    if trace is not None:
        trace.append(e)


def record_candidate(path: str, source: str, rule: str, reason: str) -> None:
    """A candidate source rejected before any region of it was aligned."""
    record(Explanation(path, 0, 0, source, 0, 0, None, Decision(False, rule, reason)))


@contextmanager
def collecting() -> Iterator[list[Explanation]]:
    trace: list[Explanation] = []
    token = _TRACE.set(trace)
    try:
        yield trace
    finally:
        _TRACE.reset(token)


def render(trace: list[Explanation], out: TextIO) -> None:
    """One line per decision, grouped by scanned path; accepted ones first."""
    if not trace:
        out.write("explain: no candidate source shares a fingerprint with the input\n")
        return
    for e in sorted(trace, key=lambda e: (e.path, not e.decision.accepted, e.start_line, e.source)):
        where = f"{e.path}:{e.start_line}-{e.end_line}" if e.start_line else e.path
        src = f"{e.source}:{e.source_start}-{e.source_end}" if e.source_start else e.source
        verdict = "ACCEPT" if e.decision.accepted else "reject"
        out.write(f"explain: {verdict} {where} <- {src} [{e.decision.rule}] {e.decision.reason}\n")
