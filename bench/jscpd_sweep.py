"""Sweep jscpd's settings (issue 16) and pick its best setting per case class.

jscpd's recall depends on ``--min-tokens``, ``--min-lines`` and ``--mode``; comparing licscan
with one setting of it is unfair to jscpd. Every setting of the grid is run over the
corpus and the case files (not the whole permissive trees: those only feed the file table,
and they would double the time of each run).

Rule for "jscpd best" of a class: the highest recall among the settings whose false
positives on the negative cases (permissive functions, leaving out the packages the
corpus is known to contain, plus the generic idioms) are no more than licscan's on the
same cases; ties go to fewer false positives. When no setting is that clean, the table
says so and shows the best recall at any false-positive count, with that count.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

QUICK_GRID = (("weak", "mild"), (20, 35, 50), (3, 5))
FULL_GRID = QUICK_GRID
"""Modes x --min-tokens x --min-lines (jscpd's defaults: 50 tokens, 5 lines). One run over the
accuracy corpus takes 20 s to 2 min on 2 cores, so the 12 settings add about 15 minutes."""


@dataclass(frozen=True)
class Setting:
    mode: str
    min_tokens: int
    min_lines: int

    @property
    def label(self) -> str:
        return f"{self.mode} t{self.min_tokens} l{self.min_lines}"

    def args(self) -> list[str]:
        """jscpd flags: the default ones (identifiers and literals ignored) with this mode and thresholds."""
        return ["--ignore-identifiers", "--ignore-literals", "--mode", self.mode,
                "--min-tokens", str(self.min_tokens), "--min-lines", str(self.min_lines)]


def run_sweep(settings: list[Setting], run_one) -> tuple[dict[str, dict[str, dict]], dict[str, float]]:
    """Scores and seconds per setting; ``run_one(setting)`` runs jscpd once: (scores by case id, seconds)."""
    runs: dict[str, dict[str, dict]] = {}
    secs: dict[str, float] = {}
    for st in settings:
        runs[st.label], secs[st.label] = run_one(st)
    return runs, secs


def grid(spec: str | None, *, quick: bool) -> list[Setting]:
    """Settings from ``mode=weak,mild;min-tokens=20,50;min-lines=3,5`` (missing keys: the default grid)."""
    modes, toks, lines = QUICK_GRID if quick else FULL_GRID
    for part in (spec or "").split(";"):
        if not part.strip():
            continue
        key, _, vals = part.partition("=")
        items = [v.strip() for v in vals.split(",") if v.strip()]
        if key.strip() == "mode":
            modes = tuple(items)
        elif key.strip() == "min-tokens":
            toks = tuple(int(v) for v in items)
        elif key.strip() == "min-lines":
            lines = tuple(int(v) for v in items)
        else:
            raise SystemExit(f"--jscpd-sweep: unknown key {key!r} (mode, min-tokens, min-lines)")
    return [Setting(m, t, n) for m, t, n in itertools.product(modes, toks, lines)]


def neg_fp(cases, scores: dict[str, dict], excluded: set[str]) -> tuple[int, int]:
    """(false positives, negatives) over the negative cases, leaving out ``excluded`` ids."""
    negs = [c for c in cases if c.cls in ("neg", "idiom") and c.id not in excluded]
    return sum(bool(scores[c.id].get("fp")) for c in negs), len(negs)


def recall(cases, scores: dict[str, dict]) -> float:
    return sum(bool(scores[c.id].get("detected")) for c in cases) / len(cases) if cases else float("nan")


@dataclass
class Best:
    label: str
    recall: float
    fp: int
    within: bool
    """True when the setting's false positives are within licscan's."""


def best_per_group(groups: dict[str, list], runs: dict[str, dict[str, dict]], cases, excluded: set[str],
                   licscan_fp: int) -> dict[str, Best]:
    """For each group of positive cases (a class, or a class of the held-out packages),
    jscpd's best setting by the rule of this module's docstring."""
    fps = {lab: neg_fp(cases, sc, excluded)[0] for lab, sc in runs.items()}
    out: dict[str, Best] = {}
    for g, cs in groups.items():
        cands = [(recall(cs, sc), -fps[lab], lab) for lab, sc in runs.items()]
        ok = [c for c in cands if -c[1] <= licscan_fp]
        pick = max(ok or cands, key=lambda c: (c[0], c[1]))
        out[g] = Best(pick[2], pick[0], -pick[1], bool(ok))
    return out
