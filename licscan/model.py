"""Plain data passed between the stages: findings, source references, summaries."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


class LicscanError(Exception):
    """An error the user can cause or fix (bad path, corrupt index, ...).

    The CLI prints its message on one line and exits with code 2.
    """


@dataclass(frozen=True)
class SourceRef:
    """Where matched code lives in the indexed corpus (1-based, inclusive lines)."""

    path: str
    start_line: int
    end_line: int


@dataclass
class Finding:
    """One region of a scanned file that was copied from one indexed file."""

    path: str
    start_line: int
    end_line: int
    similarity: float
    license: str | None
    source: SourceRef
    tokens: int = 0
    """Normalized tokens of the scanned region that the alignment matched."""
    language: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        extra = d.pop("extra")
        d.update(extra)
        return d
