"""Paths (files, directories, stdin) -> findings, with what was skipped and why."""

from __future__ import annotations

import stat
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from licscan import languages
from licscan.files import Skipped, chunks, classify, decode, looks_generated, read_source, walk
from licscan.engine.store import IndexStore
from licscan.languages import canonical
from licscan.engine.matcher import Matcher, Thresholds
from licscan.model import Finding, LicscanError
from licscan.engine.budget import InputBudget
from licscan.engine.tokens import TokenStream, tokenize


@dataclass
class ScanResult:
    findings: list[Finding] = field(default_factory=list)
    scanned: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)
    """Paths not scanned, or not wholly, by reason (``files.SKIP_REASONS`` and ``INFO_REASONS``)."""
    texts: dict[str, str] = field(default_factory=dict)
    """Scanned text by path, kept only for files with findings (for evidence views)."""
    details: dict[str, str] = field(default_factory=dict)
    """What went wrong with a skipped path, when there is more to say than its reason."""
    noted: dict[str, list[str]] = field(default_factory=dict)
    """Scanned paths whose content looks machine-made, by reason (``files.MACHINE_REASONS``):
    informational only, since they were scanned like any other code."""
    failing_skips: dict[str, list[str]] | None = None
    """Skipped paths that fail the gate, by reason; set by ``policy.gate.apply_policy``."""

    def skip(self, path: str, reason: str, detail: str = "") -> None:
        paths = self.skipped.setdefault(reason, [])
        if path not in paths:
            paths.append(path)
        if detail and detail != reason:
            self.details[path] = detail

    def note(self, path: str, reason: str) -> None:
        paths = self.noted.setdefault(reason, [])
        if path not in paths:
            paths.append(path)


def partly_parsed(ts: TokenStream) -> str:
    """Why the tokenizer left part of the text out, or "" when it did not."""
    if ts.partial:
        return "partly-parsed (parse budget exceeded: the fallback tokenizer read it)"
    return "partly-parsed (nested too deeply)" if ts.truncated else ""


def scan_paths(index: IndexStore, paths: list[str], *, lang: str | None = None,
               thresholds: Thresholds | None = None, max_bytes: int | None = None) -> ScanResult:
    """Scan files, directories (recursively, code files only) and ``-`` (stdin).

    ``max_bytes``: skip larger files as ``too-large`` (default: none is; large
    files are scanned in chunks, so size cannot hide a copy)."""
    matcher = Matcher(index, thresholds, batch=len(paths) > 1 or any(Path(p).is_dir() for p in paths))
    result = ScanResult()
    for arg in paths:
        if arg == "-":
            text, reason = decode(sys.stdin.buffer.read())
            scan_text(matcher, result, "<stdin>", text, reason, canonical(lang) if lang else "text")
            continue
        p = Path(arg)
        if p.is_dir():
            for f in walk(p, lambda q, detail: _walk_error(result, q, detail)):
                item = classify(f, str(f))
                if isinstance(item, Skipped):
                    result.skip(str(f), item.reason, item.detail)
                    continue
                text, reason, detail = read_source(f, max_bytes)
                scan_text(matcher, result, str(f), text, reason, item.lang, detail)
        elif p.is_file():
            # A file named explicitly is scanned even without a known extension.
            item = classify(p, arg, canonical(lang) if lang else None)
            text, reason, detail = read_source(p, max_bytes)
            scan_text(matcher, result, arg, text, reason, "text" if isinstance(item, Skipped) else item.lang,
                      detail)
        else:
            check_path(arg)
    result.findings.sort(key=lambda f: (f.path, f.start_line, -f.similarity))
    return result


def check_path(arg: str) -> None:
    """A path given to scan that is neither a file nor a directory: a one-line error."""
    try:
        mode = Path(arg).stat().st_mode
    except OSError:
        raise LicscanError(f"no such file or directory: {arg}") from None
    kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a special file")
    raise LicscanError(f"not a regular file or directory: {arg} is {kind}")


def _walk_error(result: ScanResult, path: Path, detail: str) -> None:
    """A directory that cannot be listed, or an entry that is no regular file: unreadable
    when it may hold code (a directory, a name that looks like code)."""
    if path.is_dir() or languages.detect(path, "") is not None:
        result.skip(str(path), "unreadable", detail)
    else:
        result.skip(str(path), "not-code", detail)


def scan_text(matcher: Matcher, result: ScanResult, path: str, text: str | None,
              reason: str, lang: str, detail: str = "") -> None:
    """Scan one file's text in chunks (``files.chunks``), or record why it was skipped."""
    if text is None:
        result.skip(path, reason, detail)
        return
    if not text.strip():
        result.skip(path, "empty")
        return
    # Generated and minified code is scanned like any other: a marker comment or
    # joined lines cost a copier nothing, and a copy in generated code is a copy.
    why = looks_generated(text)
    if why:
        result.note(path, why)
    found: list[Finding] = []
    windows = 0
    budget = InputBudget.for_size(len(text))
    for offset, window in chunks(text):
        windows += 1
        ts = tokenize(window, lang, budget)
        if why_partly := partly_parsed(ts):
            result.skip(path, "partly-parsed", why_partly)
        for f in matcher.scan_stream(ts, path):
            shift(f, offset)
            found.append(f)
    result.scanned += 1
    if windows > 1:
        found = merge_chunked(found)
    if found:
        result.findings.extend(found)
        result.texts[path] = text


def shift(f: Finding, offset: int) -> None:
    """Move a finding from a window's lines to its file's lines."""
    if offset:
        f.start_line += offset
        f.end_line += offset
        f.evidence.line_offset = (f.evidence.line_offset or 0) + offset


def merge_chunked(found: list[Finding]) -> list[Finding]:
    """Findings of overlapping windows of one file: two of the same source whose lines
    overlap are one copy seen from two windows, reported once over both line ranges."""
    found.sort(key=lambda f: (-f.tokens, -f.similarity, f.start_line))
    kept: list[Finding] = []
    for f in found:
        same = next((o for o in kept if o.source.path == f.source.path and o.path == f.path
                     and o.start_line <= f.end_line and f.start_line <= o.end_line), None)
        if same is None:
            kept.append(f)
            continue
        if f.start_line < same.start_line or f.end_line > same.end_line:
            same.start_line, same.end_line = min(same.start_line, f.start_line), max(same.end_line, f.end_line)
            src, other = same.source, f.source
            same.source = replace(src, start_line=min(src.start_line, other.start_line),
                                  end_line=max(src.end_line, other.end_line))
    kept.sort(key=lambda f: (f.start_line, -f.similarity))
    return kept
