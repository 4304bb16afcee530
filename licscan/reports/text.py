"""Human report: a table per file, and the matched lines side by side on request."""

from __future__ import annotations

from typing import TextIO

from ..index import Index
from ..model import Finding
from ..scan import ScanResult


def summary_line(result: ScanResult) -> str:
    files = len({f.path for f in result.findings})
    line = (f"{len(result.findings)} finding(s) in {files} of {result.scanned} scanned file(s)"
            if result.findings else f"no findings in {result.scanned} scanned file(s)")
    skipped = sum(len(v) for v in result.skipped.values())
    if skipped:
        reasons = ", ".join(f"{len(v)} {k}" for k, v in sorted(result.skipped.items()))
        line += f"; skipped {skipped} ({reasons})"
    return line


def render(result: ScanResult, index: Index, out: TextIO, *, side_by_side: bool = False) -> None:
    if not result.findings:
        # Clean code is the common case in a gate: one line, and no rich import.
        out.write(summary_line(result) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, soft_wrap=False, width=None if out.isatty() else 160)
    by_path: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_path.setdefault(f.path, []).append(f)
    for path, findings in by_path.items():
        table = Table(title=path, title_justify="left", expand=False)
        judged = any(f.extra.get("verdict") for f in findings)
        for col in ("lines", "source", "source lines", "similarity", "license", "tokens") + ("verdict",) * judged:
            table.add_column(col, justify="right" if col in ("similarity", "tokens") else "left")
        for f in findings:
            also = f.extra.get("also_in") or []
            src = f.source.path + (f" (+{len(also)} copies)" if also else "")
            table.add_row(f"{f.start_line}-{f.end_line}", src,
                          f"{f.source.start_line}-{f.source.end_line}", f"{f.similarity:.0%}",
                          f.license or "unknown", str(f.tokens), *[f.extra.get("verdict") or "unknown"] * judged)
        console.print(table)
        for f in findings:
            notes = [f.extra.get("verdict_reason")] + [o.get("text") for o in f.extra.get("obligations") or []]
            if any(notes):
                console.print(f"  lines {f.start_line}-{f.end_line}:", highlight=False, markup=False)
                for note in filter(None, notes):
                    console.print(f"    - {note}", highlight=False, markup=False)
        if side_by_side:
            for f in findings:
                _side_by_side(console, f, result.texts.get(path, ""), index)
    console.print(summary_line(result), highlight=False)


def _side_by_side(console: object, f: Finding, text: str, index: Index) -> None:
    from rich.table import Table

    src_text = index.text(int(f.extra["source_id"]))
    mine = text.splitlines()[f.start_line - 1:f.end_line]
    theirs = (src_text.splitlines()[f.source.start_line - 1:f.source.end_line]
              if src_text is not None else ["(source text not stored in this index)"])
    table = Table(show_lines=False, expand=True, title=f"{f.path}:{f.start_line}  vs  "
                  f"{f.source.path}:{f.source.start_line} ({f.license or 'unknown'})")
    table.add_column("#", justify="right", style="dim")
    table.add_column("scanned", overflow="fold")
    table.add_column("#", justify="right", style="dim")
    table.add_column("source", overflow="fold")
    for i in range(max(len(mine), len(theirs))):
        table.add_row(str(f.start_line + i) if i < len(mine) else "", mine[i] if i < len(mine) else "",
                      str(f.source.start_line + i) if i < len(theirs) else "",
                      theirs[i] if i < len(theirs) else "")
    console.print(table)  # type: ignore[attr-defined]
