"""A normalized token stream: what tokenizers produce and fingerprints consume."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Sized
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import re

ID, NUM, STR = "$ID", "$NUM", "$STR"
"""What identifiers, numbers and strings normalize to."""
SURROGATES = re.compile("[\ud800-\udfff]")
"""Lone surrogates (text decoded with surrogateescape): no token may keep one in its
normalized form, which is stored and hashed as UTF-8."""

NO_GRAMMAR = "no grammar"
PARSE_BUDGET = "parse budget exceeded"
"""``TokenStream.fallback_reason`` values."""


@dataclass
class TokenStream:
    """Normalized tokens of one text, with raw text and 1-based line numbers."""

    lang: str
    norm: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    fallback: bool = False
    """True when the regex tokenizer was used (no grammar, or the parse was cut)."""
    truncated: bool = False
    """True when over-deep subtrees were skipped."""
    fallback_reason: str = ""
    """Why the fallback tokenizer was used: "" (it was not), NO_GRAMMAR or PARSE_BUDGET."""

    @property
    def partial(self) -> bool:
        """True when the grammar gave up on this text (the parse overran its budget), so
        its tokens are the fallback tokenizer's: cruder than those an index built
        from a successful parse of the same code holds."""
        return self.fallback_reason == PARSE_BUDGET

    def __len__(self) -> int:
        return len(self.norm)

    def add(self, norm: str, raw: str, line: int) -> None:
        self.norm.append(norm)
        self.raw.append(raw)
        self.lines.append(line)


K = TypeVar("K")
V = TypeVar("V")
S = TypeVar("S", bound=Sized)


class Memo(dict[K, V], Generic[K, V]):
    """``fn`` of each distinct key, computed once: ``map(memo.__getitem__, keys)`` then
    runs at C speed over streams where few keys repeat many times."""

    def __init__(self, fn: Callable[[K], V]) -> None:
        super().__init__()
        self.fn = fn

    def __missing__(self, key: K) -> V:
        value = self[key] = self.fn(key)
        return value


class Recent(Generic[K, S]):
    """Values by key, the least recently used dropped once their total length passes
    ``limit``: a batch scan touches ever more candidate sources as the index grows (issue
    12), and keeping every source's stream made its memory grow with the index."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: OrderedDict[K, S] = OrderedDict()
        self.size = 0

    def get(self, key: K) -> S | None:
        got = self.items.get(key)
        if got is not None:
            self.items.move_to_end(key)
        return got

    def put(self, key: K, value: S) -> S:
        old = self.items.pop(key, None)
        self.size += len(value) - (len(old) if old is not None else 0)
        self.items[key] = value
        while self.size > self.limit and len(self.items) > 1:  # the newest always stays
            self.size -= len(self.items.popitem(last=False)[1])
        return value


def by_size(items: list[V], size: Callable[[V], int], limit: int) -> Iterator[list[V]]:
    """``items`` in order, cut into runs whose sizes add up to at most ``limit`` (an item
    bigger than that alone)."""
    run: list[V] = []
    total = 0
    for it in items:
        n = size(it)
        if run and total + n > limit:
            yield run
            run, total = [], 0
        run.append(it)
        total += n
    if run:
        yield run
