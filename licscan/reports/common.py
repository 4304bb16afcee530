"""What every report says about a finding: verdict, obligations, upstream, wording.

Verdicts come from the policy stage (``Finding.judgement``); without a
policy a finding's verdict is "unknown" and it is reported as a warning.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from licscan.engine.store import IndexStore
from licscan.model import Finding

VERDICTS = ("incompatible", "obligations", "unknown", "compatible")
LEVELS = {"incompatible": "error", "obligations": "warning", "unknown": "warning", "compatible": "note"}
VERDICT_TEXT = {
    "incompatible": "copied code under a license the project's policy does not allow",
    "obligations": "copied code whose license is allowed but comes with obligations",
    "unknown": "copied code whose license could not be judged against a policy",
    "compatible": "copied code under a license compatible with the project's policy",
}

# (family, pattern on the SPDX expression) in order: the first match names the family.
_FAMILIES = (
    ("agpl", r"\bAGPL"), ("lgpl", r"\bLGPL"), ("gpl", r"\bGPL"), ("mpl", r"\bMPL-"),
    ("epl", r"\bEPL-"), ("eupl", r"\bEUPL-"), ("cddl", r"\bCDDL-"), ("osl", r"\bOSL-"),
)
FAMILY_NAMES = {
    "agpl": "GNU Affero GPL", "lgpl": "GNU Lesser GPL", "gpl": "GNU GPL", "mpl": "Mozilla Public License",
    "epl": "Eclipse Public License", "eupl": "European Union Public Licence", "cddl": "CDDL",
    "osl": "Open Software License", "other": "another license", "unknown-license": "an undetected license",
}


def verdict(f: Finding) -> str:
    v = f.judgement.verdict
    return v if v in LEVELS else "unknown"


def has_verdict(f: Finding) -> bool:
    return f.judgement.verdict in LEVELS


def obligations(f: Finding) -> list[dict[str, Any]]:
    obs = f.judgement.obligations or []
    return [o if isinstance(o, dict) else {"id": str(o), "text": str(o)} for o in obs]


def license_family(expr: str | None) -> str:
    if not expr:
        return "unknown-license"
    for family, rx in _FAMILIES:
        if re.search(rx, expr):
            return family
    return "other"


def upstream(source_path: str) -> tuple[str, str | None]:
    """(project, version) of an indexed path: the first ``name_version`` directory
    (how Debian and PyPI trees are unpacked), else the first directory."""
    parts = source_path.split("/")
    for part in parts[:-1]:
        m = re.fullmatch(r"(.+?)[_-](\d[\w.+~:-]*)", part)
        if m:
            return m.group(1), m.group(2)
    return (parts[0] if len(parts) > 1 else source_path), None


def summary(f: Finding) -> str:
    """One sentence: where the lines came from, how close, under which license."""
    also = f.evidence.also_in
    s = (f"Lines {f.start_line}-{f.end_line} match {f.source.path} lines "
         f"{f.source.start_line}-{f.source.end_line} ({f.license or 'license unknown'}), "
         f"{f.similarity:.0%} similar over {f.tokens} tokens")
    if also:
        s += f"; the same code is also in {len(also)} other indexed file(s)"
    return s + "."


def evidence_sentence(f: Finding) -> str:
    """One line: what decided the upstream file's license (``LicenseEvidence.line``)."""
    ev = f.license_evidence
    return f"License evidence: {ev.line() if ev else 'not recorded (the index predates schema 6: rebuild it)'}."


def verdict_sentence(f: Finding) -> str:
    if not has_verdict(f):
        return "No license policy was applied."
    reason = f.judgement.verdict_reason
    profile = f.judgement.profile
    s = f"Verdict: {verdict(f)}" + (f" under policy {profile}" if profile else "")
    return s + (f" ({reason})." if reason else ".")


def obligations_sentence(f: Finding) -> str:
    obs = obligations(f)
    if not obs:
        return ""
    return "Obligations: " + "; ".join(o.get("text") or o.get("id", "") for o in obs) + "."


def region_text(text: str | None, f: Finding, limit: int = 4000) -> str | None:
    if text is None:
        return None
    lines = text.split("\n")[f.start_line - 1:f.end_line]
    out = "\n".join(lines)
    return out if len(out) <= limit else out[:limit] + "\n..."


def source_lines(index: IndexStore, f: Finding) -> str | None:
    """The matched upstream lines, when the index stores source text."""
    fid = f.evidence.source_id
    src = index.text(fid) if fid >= 0 else None
    if src is None:
        return None
    return "\n".join(src.split("\n")[f.source.start_line - 1:f.source.end_line])


class Fingerprints:
    """Stable ids of findings: a hash of the matched upstream region's normalized
    tokens, the upstream path and the scanned path, never of line numbers, so that
    moving code around a finding keeps its id."""

    def __init__(self, index: IndexStore) -> None:
        self.index = index
        self._tokens: dict[int, list[str]] = {}

    def __call__(self, f: Finding) -> str:
        h = hashlib.sha256()
        h.update(f.source.path.encode("utf-8", "surrogateescape") + b"\0")
        h.update(f.path.encode("utf-8", "surrogateescape") + b"\0")
        fid, rng = f.evidence.source_id, f.evidence.source_token_range
        toks = self._source_tokens(fid) if fid >= 0 and rng else None
        if toks is not None:
            h.update("\x1f".join(toks[rng[0]:rng[1]]).encode("utf-8", "surrogateescape"))
        else:  # a finding without token evidence: the upstream lines are all there is
            h.update(f"{f.source.start_line}-{f.source.end_line}".encode())
        return h.hexdigest()

    def _source_tokens(self, fid: int) -> list[str] | None:
        if fid not in self._tokens:
            try:
                ids, _lines = self.index.tokens(fid)
                vocab = self.index.vocab()
                self._tokens[fid] = [vocab[i] if i < len(vocab) else "?" for i in ids]
            except Exception:  # noqa: BLE001 - an id is still owed; fall back to lines
                return None
        return self._tokens[fid]
