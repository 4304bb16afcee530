"""Human report: a table per file, and the matched lines side by side on request."""

from __future__ import annotations

from typing import TextIO

from licscan.engine.store import IndexStore
from licscan.model import Finding
from licscan.reports import common
from licscan.inputs.paths import ScanResult


def summary_line(result: ScanResult) -> str:
    files = len({f.path for f in result.findings})
    line = (f"{len(result.findings)} finding(s) in {files} of {result.scanned} scanned file(s)"
            if result.findings else f"no findings in {result.scanned} scanned file(s)")
    skipped = sum(len(v) for v in result.skipped.values())
    if skipped:
        reasons = ", ".join(f"{len(v)} {k}" for k, v in sorted(result.skipped.items()))
        line += f"; skipped {skipped} ({reasons})"
        failing = sum(len(v) for v in (result.failing_skips or {}).values())
        if failing:
            line += f", {failing} of them failing the policy"
    return line


def render(result: ScanResult, index: IndexStore, out: TextIO, *, side_by_side: bool = False) -> None:
    if not result.findings:
        # Clean code is the common case in a gate: one line, and no rich import.
        out.write(summary_line(result) + "\n")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, soft_wrap=False, width=None if out.isatty() else 160)
    by_path: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_path.setdefault(f.path, []).append(f)
    for path, findings in by_path.items():
        table = Table(title=Text(path), title_justify="left", expand=False)
        judged = any(f.judgement.verdict for f in findings)
        for col in ("lines", "source", "source lines", "similarity", "license", "tokens") + ("verdict",) * judged:
            table.add_column(col, justify="right" if col in ("similarity", "tokens") else "left")
        for f in findings:
            also = f.evidence.also_in
            src = f.source.path + (f" (+{len(also)} copies)" if also else "")
            table.add_row(f"{f.start_line}-{f.end_line}", Text(src),
                          f"{f.source.start_line}-{f.source.end_line}", f"{f.similarity:.0%}",
                          f.license or "unknown", str(f.tokens), *[f.judgement.verdict or "unknown"] * judged)
        console.print(table)
        for f in findings:
            notes = [common.evidence_sentence(f), f.judgement.verdict_reason] + [
                o.get("text") for o in f.judgement.obligations or []]
            if any(notes):
                console.print(f"  lines {f.start_line}-{f.end_line}:", highlight=False, markup=False)
                for note in filter(None, notes):
                    console.print(f"    - {note}", highlight=False, markup=False)
        if side_by_side:
            for f in findings:
                _side_by_side(console, f, result.texts.get(path, ""), index)
    console.print(summary_line(result), highlight=False, markup=False)


def _side_by_side(console: object, f: Finding, text: str, index: IndexStore) -> None:
    from rich.table import Table
    from rich.text import Text

    src_text = index.text(int(f.evidence.source_id))
    mine = text.splitlines()[f.start_line - 1:f.end_line]
    theirs = (src_text.splitlines()[f.source.start_line - 1:f.source.end_line]
              if src_text is not None else ["(source text not in the index, and its corpus tree is gone or changed: rebuild with --store-text to keep it)"])
    table = Table(show_lines=False, expand=True, title=Text(f"{f.path}:{f.start_line}  vs  "
                  f"{f.source.path}:{f.source.start_line} ({f.license or 'unknown'})"))
    table.add_column("#", justify="right", style="dim")
    table.add_column("scanned", overflow="fold")
    table.add_column("#", justify="right", style="dim")
    table.add_column("source", overflow="fold")
    pairs = (line_pairs(mine, theirs, f.language) if src_text is not None
             else [(i, None) for i in range(len(mine))] + [(None, 0)])
    for a, b in pairs:
        # Text(), not str: code is full of [brackets] that rich would read as markup.
        table.add_row("" if a is None else str(f.start_line + a), Text("" if a is None else mine[a]),
                      "" if b is None else str(f.source.start_line + b), Text("" if b is None else theirs[b]))
    console.print(table)  # type: ignore[attr-defined]


def line_pairs(mine: list[str], theirs: list[str], lang: str) -> list[tuple[int | None, int | None]]:
    """Rows of a side-by-side view: scanned and source lines paired where their
    normalized tokens align, so a reformatted or renamed copy lines up with its
    source instead of drifting. Unpaired lines get a row of their own."""
    from difflib import SequenceMatcher

    from licscan.languages import LANGUAGES
    from licscan.engine.tokens import tokenize

    lang = lang if lang in LANGUAGES else "text"
    a, b = tokenize("\n".join(mine), lang), tokenize("\n".join(theirs), lang)
    links: dict[int, int] = {}
    for m in SequenceMatcher(None, a.norm, b.norm, autojunk=False).get_matching_blocks():
        for k in range(m.size):
            links.setdefault(a.lines[m.a + k] - 1, b.lines[m.b + k] - 1)
    rows: list[tuple[int | None, int | None]] = []
    j = 0
    for i in range(len(mine)):
        target = links.get(i)
        if target is not None and target >= j:
            rows.extend((None, k) for k in range(j, target))
            rows.append((i, target))
            j = target + 1
        else:
            rows.append((i, None))
    rows.extend((None, k) for k in range(j, len(theirs)))
    # Lines without tokens (blank, comments) on both sides at one spot share a row.
    merged: list[tuple[int | None, int | None]] = []
    for row in rows:
        if merged and merged[-1][1] is None and row[0] is None and merged[-1][0] is not None:
            merged[-1] = (merged[-1][0], row[1])
        elif merged and merged[-1][0] is None and row[1] is None and merged[-1][1] is not None:
            merged[-1] = (row[0], merged[-1][1])
        else:
            merged.append(row)
    return merged
