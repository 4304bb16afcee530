"""Bounded work per text and per input: how long the grammar may take before the
linear fallback tokenizer takes over.

tree-sitter has no time limit of its own, and its error recovery is quadratic on
some inputs (30 KB of unclosed `/* ` took 40 s as C, C++ or Go) and slow on many
(1 MB of NUL-salted C: 2.2 s). A parse that overruns is cancelled, and so is the
walk of a tree too big for what is left: the text then goes through the fallback
tokenizer, and is ``partial``, which the gate reports as partly parsed rather than
trusting a tokenization that may differ from the index's.

Counted work comes first, because it cuts the same text alike on any machine:
- bytes the parser has read: normal code reads its text 1-1.3 times; pathological
  parses re-read it from every error (50 MB read for 1 MB of `/* ` before the first
  progress callback);
- progress callbacks per KB the parse has got through: 4-23 on 2,000 real files of
  13 languages (bench corpus, 250 per language), about 34,000 on `/* ` runs.

Time comes last, in this thread's CPU seconds (waiting for a core on a loaded runner
must not count), checked at every callback and read:
- per text, a rate: PARSE_SECONDS_BASE plus PARSE_SECONDS_PER_KB of the text the
  parse has got through. The slowest real code measured parses at 0.94 ms/KB (fmt's
  format.h, C++ read as C; 770 files over 48 KB in the bench corpus, p90 0.3 ms/KB);
  data tables of bare numbers recover slowly (musl's gb18030.h: 3.4 ms/KB) and are cut.
  Gaps between callbacks grow in some recoveries (Python on `/*` lines: 272
  callbacks, 3.8 s for 8 KB; a cap of 0.65 s at 100 KB let one run 68 s), so the
  base stays small.
- per input, when the caller gives an ``InputBudget`` (scans do, index builds do
  not): all windows and language guesses of one input share INPUT_SECONDS per MiB
  of it (at least INPUT_SECONDS), for parsing and walking together. That is what
  bounds a scan of a hostile megabyte, whose parse may be slow without being
  pathological, to about a second. A real file of code that is slow to parse
  (headers full of macros) near the budget can be cut on one run and not the next;
  it is then reported as partly parsed, never passed silently.
"""

from __future__ import annotations

import ctypes
import sys
import time
from dataclasses import dataclass
from typing import Any

PARSE_READ_FACTOR = 6
"""Bytes a parse may read per byte of text, besides PARSE_READ_BASE."""
PARSE_READ_BASE = 256 * 1024
PARSE_CALLS_BASE = 2000
"""Progress callbacks any parse may make."""
PARSE_CALLS_PER_KB = 400
"""Extra callbacks per KB the parse has got through: 17 times the worst real file's rate."""
PARSE_SECONDS_BASE = 0.2
PARSE_SECONDS_PER_KB = 0.002
"""The per-text time cap: CPU seconds any parse may take, plus CPU seconds per KB it
has got through (twice the slowest real code's rate)."""
INPUT_SECONDS = 0.5
"""CPU seconds per MiB (at least this much) that tokenizing one scanned input may take,
parses, walks and the fallback together: a MiB of real C takes 0.27 s (parse at the median
rate, 0.15 ms/KB, and walk), 0.45 s at the p90 rate of large files (0.3 ms/KB)."""
INPUT_PUNCTUATION = 400_000
"""Punctuation bytes per MiB (at least this many) the grammar may be given for one
scanned input. Counting them costs a millisecond per MiB and foretells the grammar's
cost, which grows with the tokens: real code holds 157 per KiB (p50, 3,860 files
over 16 KiB in the bench corpus), 322 at p99 and at most 326 in files over 200 KiB;
a megabyte of brackets, operators or NUL-salted statements holds 500-1,000 per KiB,
and goes to the fallback tokenizer without a parse."""
_PUNCTUATION = b"()[]{};,.+-*/%=<>!&|^~?:\"'#`@$\\"
PACE_SLACK = 0.03
"""CPU seconds a parse may run ahead of its input's pace (InputBudget.per_byte)."""
FALLBACK_SECONDS_PER_CHAR = 0.35e-6
"""What the fallback tokenizer costs per character at worst (0.2-0.35 s per MiB of hostile
text, bench/robustness.py): held back for the windows still to come."""
WALK_SECONDS_PER_NODE = 0.5e-6
"""What walking one tree node costs (measured 0.35-0.8 us): the walk of a tree that would
overrun the input's budget is not started."""
_READ_CHUNK = 1 << 14
"""Bytes per read: how often a long lexer scan checks the budget."""


@dataclass
class InputBudget:
    """What the grammar may still spend on one input, across its windows and language
    guesses: CPU seconds, punctuation, and the pace its parses must keep.

    The seconds pay for the fallback tokenizer too, wherever it reads a window: while
    a window is tokenized, what the fallback would need for the rest of the input is
    held back (``reserve``), so a grammar that spends its share on the first window
    does not leave the fallback of the others to run over the budget."""

    seconds: float
    per_byte: float
    """Seconds a parse may have taken per byte it has got through (besides PACE_SLACK):
    the input's budget spread over its length, so a parse too slow to finish within it
    is cut early, not after it has spent the whole budget."""
    punctuation: int
    """Punctuation bytes the grammar may still be given (INPUT_PUNCTUATION)."""
    rest: int
    """Characters of the input no window has started on yet (windows overlap: at least 0)."""
    reserve: float = 0.0
    overrun: bool = False
    """A window of this input went over: the rest goes to the fallback without a parse. The
    input is partly parsed already, and its other windows are most likely alike (a
    generated table, a hostile pattern): parsing each in turn only to cut it again cost
    a quarter of a second per megabyte."""

    @classmethod
    def for_size(cls, chars: int) -> InputBudget:
        share = max(1.0, chars / (1 << 20))
        seconds = INPUT_SECONDS * share
        return cls(seconds, seconds / max(chars, 1), int(INPUT_PUNCTUATION * share), chars)

    def begin(self, chars: int) -> None:
        """A window of ``chars`` characters starts: hold back the fallback of what follows it."""
        self.rest = max(0, self.rest - chars)
        self.reserve = FALLBACK_SECONDS_PER_CHAR * self.rest

    @property
    def available(self) -> float:
        """Seconds the grammar may spend on the current window."""
        return self.seconds - self.reserve

    def spend(self, seconds: float) -> None:
        self.seconds -= seconds

    def affords_parse(self, src: bytes) -> bool:
        """Whether ``src`` may go to the grammar at all; if so, its punctuation is spent."""
        punctuation = len(src) - len(src.translate(None, _PUNCTUATION))
        self.overrun = self.overrun or punctuation > self.punctuation
        if self.overrun or self.available <= 0:
            return False
        self.punctuation -= punctuation
        return True

    def affords_walk(self, nodes: int) -> bool:
        self.overrun = self.overrun or nodes * WALK_SECONDS_PER_NODE > self.available
        return not self.overrun


def parse_budget(size: int, furthest: int) -> tuple[int, int]:
    """(bytes a parse of ``size`` bytes may read, progress callbacks it may make by the
    time it has got through ``furthest`` bytes)."""
    return (PARSE_READ_BASE + PARSE_READ_FACTOR * size,
            PARSE_CALLS_BASE + PARSE_CALLS_PER_KB * furthest // 1024)


def parse(parser: Any, src: bytes, budget: InputBudget | None = None) -> Any:
    """The tree of ``src``, or None when the parse overran its budget."""
    size = len(src)
    max_read = parse_budget(size, 0)[0]
    read_bytes = calls = furthest = 0
    cut = False
    start = time.thread_time()
    deadline = start + budget.available if budget is not None else float("inf")
    pace = budget.per_byte if budget is not None else float("inf")

    def late(reached: int = 0) -> bool:
        took = time.thread_time() - start
        return (took > deadline - start or took > PACE_SLACK + pace * max(furthest, reached)
                or took > PARSE_SECONDS_BASE + PARSE_SECONDS_PER_KB * furthest / 1024)

    # tree-sitter calls back on progress only when it reads through a callback (it
    # ignores the progress callback for a bytestring), with (byte offset, has error),
    # and only between tokens: lexing one unclosed comment scans to the end of the
    # text first. So reads count against the budget too, and once it is spent they
    # end the text, which ends that scan.
    def read(offset: int, _point: Any) -> bytes:
        nonlocal read_bytes, cut
        # The pace counts how far the lexer has read: one long comment or string is
        # read whole before the next progress callback.
        cut = cut or read_bytes > max_read or late(offset)
        # Chunks end on character boundaries: a cut parse given the end of the text
        # in the middle of a character crashed the process.
        end = offset if cut else min(size, offset + _READ_CHUNK)
        while end < size and 0x80 <= src[end] < 0xC0:
            end += 1
        read_bytes += max(0, end - offset)
        chunk = bytes(view[offset:end])  # always a new object, held only by ``chunks``
        if chunk:
            chunks.append(chunk)
        return chunk

    def progress(offset: int, _has_error: bool) -> bool:
        nonlocal calls, furthest, cut
        calls += 1
        furthest = max(furthest, offset)  # error recovery may step back
        cut = cut or read_bytes > max_read or calls > parse_budget(size, furthest)[1] or late()
        return cut

    view = memoryview(src)
    chunks: list[bytes] = []
    try:
        tree = parser.parse(read, progress_callback=progress)
    except ValueError:  # cancelled: "Parsing failed"
        tree = None
    finally:
        view.release()
        _release_leaked(chunks)
        if budget is not None:
            budget.spend(time.thread_time() - start)
    if cut:
        parser.reset()  # a cancelled parser would otherwise resume this parse next time
        if budget is not None:
            budget.overrun = True
        return None
    return tree


def _release_leaked(chunks: list[bytes]) -> None:
    """Give back the reference py-tree-sitter keeps to every chunk a read callback returns.

    tree-sitter 0.26.1's binding never releases them, so each parse leaked about its text's
    size: an index build's workers grew to 1.7 GB over 2.7 GB of code (bench/RESULTS.md).
    Every chunk is a fresh object that only ``chunks`` holds once the parse is over, so a
    count above a fresh object's in the same loop is the binding's reference. A binding
    that releases its own leaves the counts equal and nothing is touched
    (tests/test_tokens_budget.py).
    """
    probe = [bytes(bytearray(8))]  # a fresh object held as each chunk is: by one list
    own = -1
    for chunk in [*probe, *chunks]:
        refs = sys.getrefcount(chunk)
        if own < 0:
            own = refs
        elif refs > own:
            ctypes.pythonapi.Py_DecRef(ctypes.py_object(chunk))
