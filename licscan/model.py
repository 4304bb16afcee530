"""Plain data passed between the stages: findings, their evidence and their judgement."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
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


EVIDENCE_KINDS = ("notice", "license-file", "package-metadata", "debian-copyright", "unknown")


@dataclass(frozen=True)
class LicenseEvidence:
    """What decided an indexed file's license (``licenses/resolve.py``), kept in the index."""

    kind: str
    """One of EVIDENCE_KINDS: the file's own notice, a license file, the package's metadata,
    debian/copyright, or nothing (``unknown``, with the reason)."""
    path: str | None = None
    """The file holding the evidence (the source itself for a notice), as indexed."""
    lines: tuple[int, int] | None = None
    field: str | None = None
    """The metadata field or stanza (``pyproject.toml project.license``, ``Files: *``)."""
    rule: str | None = None
    """How a version was decided where the text left it open (GPL-2.0 §9, package metadata)."""
    reason: str | None = None
    """Why the license is unknown (kind ``unknown``)."""

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        if self.lines is not None:
            d["lines"] = list(self.lines)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LicenseEvidence:
        lines = d.get("lines")
        return cls(str(d.get("kind", "unknown")), d.get("path"), tuple(lines) if lines else None,  # type: ignore[arg-type]
                   d.get("field"), d.get("rule"), d.get("reason"))

    def line(self) -> str:
        """One line for reports: ``license-file COPYING:2-4 (rule)``."""
        where = self.path or ""
        if where and self.lines:
            where += f":{self.lines[0]}-{self.lines[1]}" if self.lines[0] != self.lines[1] else f":{self.lines[0]}"
        if self.field:
            where += f" [{self.field}]" if where else self.field
        extra = "; ".join(x for x in (self.rule, self.reason) if x)
        return " ".join(x for x in (self.kind, where, f"({extra})" if extra else "") if x)


@dataclass
class Evidence:
    """What the matcher saw: how the copy aligns with its source (engine stage)."""

    source_id: int = -1
    """Row of the source file in the index that found it (for evidence views)."""
    source_tokens: int = 0
    anchors: int = 0
    """Fingerprints the alignment was chained from."""
    rare_anchors: int = 0
    """Anchors no other indexed project (nor the base code) has."""
    also_in: list[str] = field(default_factory=list)
    """Other indexed paths holding the same code (vendored copies, families)."""
    diversity: float = 1.0
    """Distinct-6-gram share of the region: low for tables and repeated rows."""
    names_kept: float | None = None
    """Share of aligned names and literals kept verbatim (1.0 copied as is, near 0 renamed)."""
    token_range: list[int] = field(default_factory=list)
    source_token_range: list[int] = field(default_factory=list)
    line_offset: int | None = None
    """Where the scanned unit starts in its file (git changes, Markdown blocks)."""


@dataclass
class Judgement:
    """What the policy stage decided about a finding; None: not decided (not judged)."""

    finding_id: str | None = None
    """Stable identity for baselines (normalized region tokens + source path)."""
    verdict: str | None = None
    """compatible, obligations, incompatible or unknown (``policy.compat``)."""
    verdict_reason: str | None = None
    profile: str | None = None
    obligations: list[dict[str, Any]] | None = None
    project_license: str | None = None
    policy: str | None = None
    """fail, pass or allowed."""
    allowed_by: str | None = None
    suppression: dict[str, Any] | None = None
    """An inline suppression without a reason (it accepts nothing)."""
    baseline: dict[str, Any] | None = None
    """An expired baseline entry (it accepts nothing)."""

    def to_dict(self) -> dict[str, Any]:
        """The decided fields; a judged finding always says which project license it was judged
        against, even when none was found (null)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        if self.verdict is not None:
            d.setdefault("project_license", None)
        return d


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
    license_evidence: LicenseEvidence | None = None
    """Why the source file has its license (None only from indexes built before schema 6)."""
    evidence: Evidence = field(default_factory=Evidence)
    judgement: Judgement = field(default_factory=Judgement)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's finding: flat, as the contract has always had it."""
        d = asdict(self)
        ev = d.pop("evidence")
        d.pop("judgement")
        d["license_evidence"] = self.license_evidence.to_dict() if self.license_evidence else None
        if ev["line_offset"] is None:
            del ev["line_offset"]
        d.update(ev)
        d.update(self.judgement.to_dict())
        return d
