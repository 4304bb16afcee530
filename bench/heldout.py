"""Held-out packages (issue 16): copyleft trees that are indexed in every run, but whose
functions become cases only in the evaluation run (the default seed), never in a tuning run.

A held-out function must not also be in a tuning package (a vendored copy would let the
tuning cases teach the engine its text): a function is left out when half or more of
its long lines are lines of a tuning tree of the same language.
"""

from __future__ import annotations

import random
from functools import lru_cache

from cases import Func, lang_of, sample_functions
from corpus import Tree, iter_files

MIN_LINE = 24
"""Only lines this long (whitespace removed) are compared: short ones (``return 0;``,
``}``, ``else {``) are in every project."""


def _norm(line: str) -> str:
    return "".join(line.split())


@lru_cache(maxsize=8)
def _tuning_lines(roots: tuple[str, ...], lang: str) -> frozenset[str]:
    from pathlib import Path

    out: set[str] = set()
    for r in roots:
        for p in iter_files(Path(r)):
            if lang_of(p) != lang or p.stat().st_size > 1_000_000:
                continue
            for ln in p.read_text(encoding="utf-8", errors="replace").splitlines():
                s = _norm(ln)
                if len(s) >= MIN_LINE:
                    out.add(s)
    return frozenset(out)


def shared_with_tuning(f: Func, lines: frozenset[str]) -> bool:
    """Is half or more of the function's long lines in the tuning trees?"""
    long = [s for s in (_norm(ln) for ln in f.text.splitlines()) if len(s) >= MIN_LINE]
    return bool(long) and sum(s in lines for s in long) * 2 >= len(long)


def held_out_pool(held: list[Tree], tuning: list[Tree], lang: str, n: int, seed: int, *, log=print) -> list[Func]:
    """Up to ``n`` shuffled functions of the held-out trees in ``lang`` that no tuning tree shares."""
    lines = _tuning_lines(tuple(str(t.path) for t in tuning), lang)
    pool = sample_functions(held, lang, n, random.Random(f"{seed}-held-{lang}"))
    keep = [f for f in pool if not shared_with_tuning(f, lines)]
    if len(keep) < len(pool):
        log(f"  held-out {lang}: {len(pool) - len(keep)} of {len(pool)} functions left out (also in a tuning tree)")
    random.Random(f"{seed}-held-{lang}-order").shuffle(keep)
    return keep


def split(trees: list[Tree]) -> tuple[list[Tree], list[Tree]]:
    """(tuning trees, held-out trees)."""
    return [t for t in trees if not t.package.held_out], [t for t in trees if t.package.held_out]


def wanted(seed: int, flag: bool | None) -> bool:
    """Draw held-out cases? Yes in the evaluation run (the default seed), never in a tuning
    run, unless ``--held-out``/``--no-held-out`` (``flag``) says otherwise."""
    from cases import DEFAULT_SEED

    return seed == DEFAULT_SEED if flag is None else flag
