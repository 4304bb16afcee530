"""Paths (files, directories, stdin) -> findings, with what was skipped and why."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from licscan.files import MAX_BYTES, Skipped, classify, decode, read_text, walk
from licscan.engine.store import IndexStore
from licscan.languages import canonical
from licscan.engine.matcher import Matcher, Thresholds
from licscan.model import Finding, LicscanError
from licscan.engine.tokens import tokenize


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    scanned: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    """Scanned text by path, kept only for files with findings (for evidence views)."""

    def skip(self, path: str, reason: str) -> None:
        self.skipped.setdefault(reason, []).append(path)


def scan_paths(index: IndexStore, paths: list[str], *, lang: str | None = None,
               thresholds: Thresholds | None = None, max_bytes: int | None = None) -> ScanResult:
    """Scan files, directories (recursively, code files only) and ``-`` (stdin)."""
    matcher = Matcher(index, thresholds, batch=len(paths) > 1 or any(Path(p).is_dir() for p in paths))
    result = ScanResult()
    limit = max_bytes or int(index.params.get("max_bytes", MAX_BYTES))
    for arg in paths:
        if arg == "-":
            text, reason = decode(sys.stdin.buffer.read())
            _scan_one(matcher, result, "<stdin>", text, reason, canonical(lang) if lang else "text")
            continue
        p = Path(arg)
        if p.is_dir():
            for f in walk(p):
                item = classify(f, str(f))
                if isinstance(item, Skipped):
                    result.skip(str(f), item.reason)
                    continue
                text, reason = read_text(f, limit)
                _scan_one(matcher, result, str(f), text, reason, item.lang)
        elif p.is_file():
            # A file named explicitly is scanned even without a known extension.
            item = classify(p, arg, canonical(lang) if lang else None)
            text, reason = read_text(p, limit)
            _scan_one(matcher, result, arg, text, reason,
                      "text" if isinstance(item, Skipped) else item.lang)
        else:
            raise LicscanError(f"no such file or directory: {arg}")
    result.findings.sort(key=lambda f: (f.path, f.start_line, -f.similarity))
    return result


def _scan_one(matcher: Matcher, result: ScanResult, path: str, text: str | None,
              reason: str, lang: str) -> None:
    if text is None:
        result.skip(path, reason)
        return
    if not text.strip():
        result.skip(path, "empty")
        return
    ts = tokenize(text, lang)
    if ts.truncated:
        result.skip(path, "partly skipped: nested too deeply")
    found = matcher.scan_stream(ts, path)
    result.scanned += 1
    if found:
        result.findings.extend(found)
        result.texts[path] = text
