"""Markdown: a report a reviewer reads in a pull request comment or a job summary.

A headline, a table of findings (worst verdict first), then per finding the
upstream source, license, verdict, obligations and the matched lines (with the
upstream lines next to them when ``--side-by-side``). Quiet when clean: one line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TextIO

from licscan.engine.store import IndexStore
from licscan.model import Finding
from licscan.inputs.paths import ScanResult
from licscan.reports import common

_MARK = {"incompatible": "**error**", "obligations": "warning", "unknown": "warning", "compatible": "note"}


def headline(result: ScanResult) -> str:
    files = len({f.path for f in result.findings})
    if not result.findings:
        return f"licscan: no copied code found in {result.scanned} scanned file(s)."
    return (f"licscan: {len(result.findings)} finding(s) of copied code in {files} of "
            f"{result.scanned} scanned file(s).")


def ordered(result: ScanResult) -> list[Finding]:
    """Worst verdict first, then by path and line."""
    return sorted(result.findings, key=lambda f: (common.VERDICTS.index(common.verdict(f)), f.path, f.start_line))


def render(result: ScanResult, index: IndexStore, out: TextIO, *, side_by_side: bool = False) -> None:
    w = out.write
    if not result.findings:
        w(headline(result) + "\n")
        _failing_skips(result, w)
        return
    w(f"## {headline(result)}\n\n")
    w("| level | file | lines | upstream source | upstream lines | license | similarity | verdict |\n")
    w("|---|---|---|---|---|---|---:|---|\n")
    findings = ordered(result)
    for f in findings:
        w(f"| {_MARK[common.verdict(f)]} | {code(f.path)} | {f.start_line}-{f.end_line} | {code(f.source.path)} "
          f"| {f.source.start_line}-{f.source.end_line} | {cell(f.license or 'unknown')} | {f.similarity:.0%} "
          f"| {cell(common.verdict(f) if common.has_verdict(f) else 'no policy')} |\n")
    for f in findings:
        w(f"\n### {code(f.path)} lines {f.start_line}-{f.end_line}\n\n")
        w(f"{text(common.summary(f))}\n\n")
        w(f"{text(common.evidence_sentence(f))}\n\n")
        w(f"{text(common.verdict_sentence(f))}\n")
        obs = common.obligations(f)
        if obs:
            w("\nObligations:\n\n")
            for o in obs:
                cite = f" ({text(str(o['cite']))})" if o.get("cite") else ""
                w(f"- {text(str(o.get('text') or o.get('id', '')))}{cite}\n")
        also = f.evidence.also_in
        if also:
            w(f"\nThe same upstream code is also in: {', '.join(code(a) for a in also[:10])}"
              + (f" and {len(also) - 10} more" if len(also) > 10 else "") + ".\n")
        mine = common.region_text(result.texts.get(f.path), f)
        if mine is not None:
            w("\n<details><summary>Matched lines</summary>\n\n")
            w(fenced(mine, f.language))
            if side_by_side:
                theirs = common.source_lines(index, f)
                w(f"\nUpstream {code(f.source.path)} lines {f.source.start_line}-{f.source.end_line}:\n\n")
                w(fenced(theirs, f.language) if theirs is not None else "(source text not stored in the index)\n")
            w("\n</details>\n")
    if result.skipped:
        reasons = ", ".join(f"{len(v)} {k}" for k, v in sorted(result.skipped.items()))
        w(f"\nSkipped {sum(len(v) for v in result.skipped.values())} file(s): {text(reasons)}.\n")
        _failing_skips(result, w)


def _failing_skips(result: ScanResult, w: Callable[[str], object]) -> None:
    """Skipped files that fail the gate: said even when no copied code was found."""
    failing = [p for ps in (result.failing_skips or {}).values() for p in ps]
    if failing:
        w(f"\n**{len(failing)} skipped file(s) fail the policy:** {', '.join(code(p) for p in failing)}.\n")


def code(s: str) -> str:
    """An inline code span that shows ``s`` verbatim (table-safe)."""
    s = s.replace("\n", " ").replace("|", "\\|")
    ticks = max((len(m) for m in re.findall(r"`+", s)), default=0) + 1
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{'`' * ticks}{pad}{s}{pad}{'`' * ticks}"


def cell(s: str) -> str:
    return text(s).replace("|", "\\|")


def text(s: str) -> str:
    """Plain text with Markdown and HTML markup neutralized."""
    s = s.replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([`*_\[\]#|~])", r"\\\1", s).replace("\n", " ")


def fenced(body: str, lang: str = "") -> str:
    fence = "`" * max(3, max((len(m) for m in re.findall(r"`+", body)), default=0) + 1)
    tag = lang if re.fullmatch(r"[\w+#-]*", lang or "") else ""
    return f"{fence}{tag}\n{body.rstrip(chr(10))}\n{fence}\n"
