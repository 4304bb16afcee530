"""The summary table of an accuracy run (issue 16) and its record in bench/RESULTS.md.

One table, every tool side by side: recall per class for the tuning packages, then the
same classes for the held-out packages, then false positives; jscpd both with its default
setting and with its best setting per class (rule: bench/jscpd_sweep.py).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from jscpd_sweep import Best, best_per_group, neg_fp, recall

LABELS = {"a": "a reformatted", "b": "b renamed+literals", "c": "c statements edited", "d": "d block in new code",
          "e": "e renamed-deep", "f": "f chat snippet 4-8 lines"}


def is_held(c) -> bool:
    return bool(c.extra.get("held_out"))


def groups(cases, classes: tuple[str, ...]) -> dict[str, list]:
    """Positive cases by class, tuning packages first ('a'), then held-out ('a held')."""
    out: dict[str, list] = {}
    for held in (False, True):
        for cls in classes:
            cs = [c for c in cases if c.cls == cls and is_held(c) == held]
            if cs:
                out[cls + (" held" if held else "")] = cs
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def summary_lines(cases, classes: tuple[str, ...], tools: dict[str, dict[str, dict]], excluded: set[str],
                  best: dict[str, Best] | None, held_names: list[str]) -> list[str]:
    """The table as markdown lines: tools' recall per group, jscpd's best, then false positives."""
    names = list(tools)
    gs = groups(cases, classes)
    head = ["class", "n", *(f"{t} recall" for t in names)]
    if best:
        head += ["jscpd best recall", "jscpd best setting (neg FP)"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    held_done = False
    for g, cs in gs.items():
        cls, _, held = g.partition(" ")
        if held and not held_done:
            out.append(f"| **held-out packages** ({', '.join(held_names)}) |" + " |" * (len(head) - 1))
            held_done = True
        row = [LABELS.get(cls, cls), str(len(cs)), *(_pct(recall(cs, tools[t])) for t in names)]
        if best:
            b = best[g]
            row += [_pct(b.recall), f"{b.label} ({b.fp})" + ("" if b.within else " **FP > licscan**")]
        out.append("| " + " | ".join(row) + " |")
    for held in (False, True):
        pos = [c for g, cs in gs.items() if (" held" in g) == held for c in cs]
        if pos:
            row = ["all positives" + (", held-out" if held else ""), str(len(pos)),
                   *(_pct(recall(pos, tools[t])) for t in names)]
            out.append("| " + " | ".join(row + [""] * (len(head) - len(row))) + " |")
    for lab, kinds in (("FP: permissive functions, excl. *", ("neg",)), ("FP: generic idioms", ("idiom",))):
        negs = [c for c in cases if c.cls in kinds and c.id not in excluded]
        if not negs:
            continue
        row = [lab, str(len(negs))]
        for t in names:
            k = sum(bool(tools[t][c.id].get("fp")) for c in negs)
            row.append(f"{k} = {_pct(k / len(negs))}")
        out.append("| " + " | ".join(row + [""] * (len(head) - len(row))) + " |")
    return out


def sweep_lines(cases, classes: tuple[str, ...], runs: dict[str, dict[str, dict]], excluded: set[str],
                seconds: dict[str, float]) -> list[str]:
    """Every jscpd setting: recall per group, false positives on the negative cases, run time."""
    gs = groups(cases, classes)
    head = ["jscpd setting", *gs, "neg FP", "s"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for lab, sc in runs.items():
        fp, n = neg_fp(cases, sc, excluded)
        out.append("| " + " | ".join([lab, *(_pct(recall(cs, sc)) for cs in gs.values()), f"{fp}/{n}",
                                      f"{seconds.get(lab, 0):.0f}"]) + " |")
    return out


def git_commit(root: Path) -> str:
    """HEAD, with '+dirty' when bench/ has uncommitted changes (the numbers are then of a working tree)."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "bench", "licscan", ":!bench/RESULTS.md"], cwd=root,
                           capture_output=True, text=True).stdout.strip()
    return (head or "unknown") + ("+dirty" if dirty else "")


def append_results(path: Path, *, root: Path, seed: int, set_name: str, command: str, corpus: dict[str, list[str]],
                   tables: list[tuple[str, list[str]]], notes: list[str], commit: str | None = None) -> str:
    """Append one self-contained section to RESULTS.md (created with a heading if missing); its heading.

    ``commit``: the one taken when the run started (a commit made during a long run is not
    the code that ran); HEAD now when not given."""
    commit = commit or git_commit(root)
    heading = f"## {dt.date.today().isoformat()} {commit[:12]}{'+dirty' if commit.endswith('+dirty') else ''} seed {seed}"
    lines = ["", heading, "", f"* set: `{set_name}`; command: `{command}`", f"* commit: `{commit}`"]
    for role, trees in corpus.items():
        lines.append(f"* {role}: {', '.join(trees) or 'none'}")
    lines += [f"* {n}" for n in notes]
    for title, tab in tables:
        lines += ["", title, "", *tab]
    if not path.is_file():
        path.write_text("# Benchmark results\n\nOne section per run, appended by `bench/accuracy.py`.\n")
    with path.open("a") as fh:
        fh.write("\n".join(lines) + "\n")
    return heading


def summarize(a, root: Path, set_name: str, cases, classes: tuple[str, ...], excluded: set[str],
              scores: dict[str, dict[str, dict]], sweep_runs: dict[str, dict[str, dict]], sweep_s: dict[str, float],
              corpus: dict[str, list], use_held: bool, argv: list[str] | None) -> None:
    """Print the one summary table (and the jscpd sweep), and append them to RESULTS.md
    (``a``: accuracy.py's arguments; ``corpus``: trees by role; ``excluded``: negatives known
    to be copied into the corpus)."""
    lic_fp = neg_fp(cases, scores["licscan"], excluded)[0]
    best = best_per_group(groups(cases, classes), sweep_runs, cases, excluded, lic_fp) if sweep_runs else None
    held_names = [t.name for t in corpus.get("held out (indexed)", [])] if use_held else []
    tables = [("Recall per class (tuning packages, then held-out packages) and false positives",
               summary_lines(cases, classes, scores, excluded, best, held_names))]
    if sweep_runs:
        tables.append(("jscpd settings swept (corpus + cases; 'jscpd best' = best recall with neg FP <= "
                       f"licscan's {lic_fp})", sweep_lines(cases, classes, sweep_runs, excluded, sweep_s)))
    for title, t in tables:
        print()
        print(title)
        print("\n".join(t))
    if a.no_results:
        return
    cmd = "python bench/accuracy.py " + " ".join(sys.argv[1:] if argv is None else argv)
    notes = [f"held-out cases: {'yes' if use_held else 'no (tuning run)'}",
             "jscpd column: its default setting (weak mode, --ignore-identifiers --ignore-literals, "
             "min-tokens 50, min-lines 5) over corpus + cases + permissive trees"]
    head = append_results(a.results, root=root, seed=a.seed, set_name=set_name, command=cmd.strip(),
                          corpus={role: [t.name for t in trees] for role, trees in corpus.items()},
                          tables=tables, notes=notes, commit=a.commit)
    print(f"appended '{head}' to {a.results}")
