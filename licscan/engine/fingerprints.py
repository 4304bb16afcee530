"""Token stream -> fingerprints: rename-invariant k-gram hashes, winnowing, MinHash.

Why k-grams and not MinHash over whole files: a 60-token snippet has a tiny
Jaccard similarity to the long file it came from, so whole-file MinHash misses
it (measured: 0 of 100). Winnowed k-grams guarantee that any shared run of at
least ``k + w - 1`` normalized tokens leaves a common fingerprint, whatever the
length of the files around it (Schleimer, Wilkerson, Aiken 2003). MinHash is
used where set resemblance is the right question: grouping near-identical
indexed files into families, so one copied region is not reported once per
vendored copy of the same code.

Two implementations of the k-gram hash exist on purpose: numpy for index
builds (tens of millions of tokens), pure Python for the scan path, where
importing numpy would cost more than hashing one file. Tests hold them equal.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from itertools import compress
from operator import itemgetter
from typing import TYPE_CHECKING

from licscan.engine.stream import Memo
from licscan.engine.tokens import ID, NUM, STR, TokenStream

if TYPE_CHECKING:
    import numpy as np

K = 12
"""Normalized tokens per k-gram: long enough that a k-gram is rarely an accident."""
W = 16
"""Winnowing window: every shared run of K + W - 1 = 27 tokens is guaranteed a hit."""

_M64 = (1 << 64) - 1
_P = 0x100000001B3  # FNV prime: odd, so the rolling sum never loses low bits
_MIX = 0x9E3779B1
_F1, _F2 = 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53
FP_BITS = 31
"""Stored fingerprint width. 31 bits fit SQLite's 4-byte integer encoding; the odd
collision only adds a lone hit that never chains into a match."""


def token_codes(ts: TokenStream) -> tuple[list[int], list[int]]:
    """Per-token 32-bit kind code and, for identifiers, the distance back to the
    previous occurrence of the same name (0 if none).

    The distance is what makes hashing rename-invariant yet not blind: `a = a + b`
    and `a = b + c` normalize alike, but their distances differ, and a consistent
    rename keeps every distance.
    """
    codes = list(map(Memo(_kind_code).__getitem__, ts.norm))
    ids = list(compress(range(len(codes)), map(ID.__eq__, ts.norm)))
    if len(ids) > 20000:  # numpy is loaded for streams this long (see Matcher._kgram_hashes)
        return codes, _distances_np(ids, ts.raw, len(codes))
    dist = [0] * len(codes)
    last: dict[str, int] = {}
    raw = ts.raw
    for i in ids:
        name = raw[i]
        prev = last.get(name)
        if prev is not None:
            dist[i] = i - prev
        last[name] = i
    return codes, dist


def _distances_np(ids: list[int], raw: list[str], n: int) -> list[int]:
    """``token_codes``'s distances, vectorised: positions sorted by name, then by place,
    so each identifier follows the previous occurrence of its name."""
    import numpy as np

    names = np.fromiter(map(_Numbering().__getitem__, itemgetter(*ids)(raw)), np.int64, len(ids))
    pos = np.asarray(ids, np.int64)
    order = np.lexsort((pos, names))
    pos, names = pos[order], names[order]
    dist = np.zeros(n, np.int64)
    same = np.flatnonzero(names[1:] == names[:-1]) + 1
    dist[pos[same]] = pos[same] - pos[same - 1]
    return dist.tolist()


class _Numbering(dict[str, int]):
    """Each distinct name -> a small number, in order of first use."""

    def __missing__(self, name: str) -> int:
        number = self[name] = len(self)
        return number


def _kind_code(norm: str) -> int:
    # surrogatepass: a lone surrogate (text decoded with surrogateescape) must
    # not crash a scan; encodable text hashes as with plain UTF-8.
    return zlib.crc32(norm.encode("utf-8", "surrogatepass"))


LEXICAL = frozenset({ID, NUM, STR})
"""Normalized tokens that stand for a name or a literal of the source text."""


def name_codes(ts: TokenStream) -> list[int]:
    """Per token, a 16-bit hash of the raw text of a name or literal, -1 for any other
    token. Normalization forgets names and values so that renamed copies match; these
    codes let a match ask afterwards how many of them it kept (see matches.py).
    Sixteen bits, because the match re-aligns a region on these codes and would find
    chance agreements among a few hundred pairs of 8-bit codes; the index grows by
    two bytes per name (about a quarter, measured)."""
    out: list[int] = []
    cache: dict[str, int] = {}
    for norm, raw in zip(ts.norm, ts.raw):
        if norm not in LEXICAL:
            out.append(-1)
            continue
        c = cache.get(raw)
        if c is None:
            c = cache[raw] = zlib.crc32(raw.encode("utf-8", "surrogatepass")) & 0xFFFF
        out.append(c)
    return out


GENERIC_NAMES = frozenset(
    "length size len count value data result self this buf str err ret res tmp val key item "
    "args arg obj out msg name type index node next prev list array string text true false "
    "null none nil undefined".split())
"""Names that every program uses; with the one- and two-character ones (i, n, fd, 0, 42)
they say nothing about where a piece of code came from."""


def telling(raw: str) -> bool:
    """Whether a name or literal's raw text says something about the code's origin."""
    t = raw.strip("\"'`")
    return len(t) >= 3 and t.lower() not in GENERIC_NAMES


LITERAL_MIN_CHARS = 16
"""Shortest string literal (whitespace aside) whose text is its own evidence: a line of
help text, a message, a protocol string; not "%s: %s\n" or "r"."""


def literal_codes(ts: TokenStream, codes: Sequence[int],
                  min_chars: int = LITERAL_MIN_CHARS) -> tuple[list[int], list[int]] | None:
    """``codes`` with every long string literal's code replaced by a hash of its text,
    and the positions of those literals; None if the stream has no long literal.

    Code whose shape is boilerplate (a ``usage()`` made of ``fputs (_("..."), stdout);``,
    a ``switch`` of ``sb.append("...")``) has every normalized k-gram capped or masked
    as repetitive, yet its text is what was written. k-grams hashed over these codes
    find it again. Whitespace is dropped from the text: reformatting re-indents the
    continuation lines of a C string. Equal literal hashes imply equal normalized
    k-grams, so a hit is an ordinary anchor for the alignment."""
    out: list[int] | None = None
    where: list[int] = []
    norm, raw = ts.norm, ts.raw
    i = -1
    while True:
        try:
            i = norm.index(STR, i + 1)  # a C-level search: literals are a few percent of tokens
        except ValueError:
            break
        text = "".join(raw[i].split()).strip("\"'`")
        if len(text) < min_chars:
            continue
        if out is None:
            out = list(codes)
        out[i] = zlib.crc32(text.encode("utf-8", "surrogatepass")) ^ _LITERAL_SALT
        where.append(i)
    return (out, where) if out is not None else None


_LITERAL_SALT = 0x5A17C0DE
"""Keeps a literal's code apart from every token kind's code."""


def _finish(h: int) -> int:
    h ^= h >> 33
    h = (h * _F1) & _M64
    h ^= h >> 33
    h = (h * _F2) & _M64
    h ^= h >> 33
    return h >> (64 - FP_BITS)


def kgram_hashes(codes: Sequence[int], dist: Sequence[int], k: int = K) -> list[int]:
    """Hash of every k-gram (pure Python). Identifier distances count only when the
    previous occurrence lies inside the same k-gram, so a k-gram's hash depends on
    its own tokens alone and a snippet hashes like the file it came from.

    Rolling, so O(n) instead of O(n k): a cold scan has no numpy to spare. The one
    subtlety is that a token's term changes as the window slides: the identifier
    at ``i`` with distance ``d`` is mixed while its previous occurrence is inside
    the window (starts ``s <= i - d``) and plain afterwards, so its mixed-minus-plain
    difference is taken out of the sum when the window starts past ``i - d``."""
    n = len(codes) - k + 1
    if n <= 0:
        return []
    m64, p = _M64, _P
    pk = pow(p, k, 1 << 64)
    pw = [pow(p, e, 1 << 64) for e in range(k + 1)]
    # leave[s]: what the window loses when it moves on from start s (besides the
    # token at s itself), as already multiplied out for the next start.
    leave = [0] * n
    mixed = [0] * len(codes)
    for i, (c, d) in enumerate(zip(codes, dist)):
        if 0 < d < k:
            mc = c ^ ((d * _MIX) & 0xFFFFFFFF)
            mixed[i] = mc
            if 0 <= i - d < n:
                leave[i - d] = (leave[i - d] + (mc - c) * pw[k - d]) & m64
        else:
            mixed[i] = c
    h = 0
    for o in range(k):
        d = dist[o]
        h = (h * p + (mixed[o] if 0 < d <= o else codes[o])) & m64
    out = [_finish(h)]
    for s in range(n - 1):
        h = (h * p - codes[s] * pk - leave[s] + mixed[s + k]) & m64
        out.append(_finish(h))
    return out


def kgram_hashes_np(codes: np.ndarray, dist: np.ndarray, k: int = K) -> np.ndarray:
    """Same values as ``kgram_hashes``, vectorised over the stream (for builds)."""
    import numpy as np

    n = len(codes) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    codes = codes.astype(np.uint64)
    dist = dist.astype(np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    p = np.uint64(_P)
    with np.errstate(over="ignore"):
        for o in range(k):
            c = codes[o:o + n]
            d = dist[o:o + n]
            mixed = c ^ ((d * np.uint64(_MIX)) & np.uint64(0xFFFFFFFF))
            c = np.where((d > 0) & (d <= o), mixed, c)
            h = h * p + c
        h ^= h >> np.uint64(33)
        h *= np.uint64(_F1)
        h ^= h >> np.uint64(33)
        h *= np.uint64(_F2)
        h ^= h >> np.uint64(33)
    return (h >> np.uint64(64 - FP_BITS)).astype(np.int64)


def low_information(codes: np.ndarray, k: int = K) -> np.ndarray:
    """Mask of k-grams that are mostly repetition (data tables, argument lists,
    runs of braces): a token equal to the one two places back is periodic, and a
    k-gram with three quarters periodic tokens carries no authorship."""
    import numpy as np

    n = len(codes) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=bool)
    per = np.zeros(len(codes), dtype=np.int32)
    per[2:] = codes[2:] == codes[:-2]
    per[1:] |= codes[1:] == codes[:-1]
    csum = np.concatenate(([0], np.cumsum(per)))
    counts = csum[k:k + n] - csum[:n]
    return counts * 4 >= k * 3


def winnow(hashes: np.ndarray, w: int = W) -> np.ndarray:
    """Positions selected by robust winnowing: the rightmost minimum of every window."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    n = len(hashes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n <= w:
        return np.array([n - 1 - int(np.argmin(hashes[::-1]))], dtype=np.int64)
    win = sliding_window_view(hashes, w)
    rightmost = w - 1 - np.argmin(win[:, ::-1], axis=1)
    return np.unique(np.arange(len(win)) + rightmost)


# --------------------------------------------------------------------------- MinHash

_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)


def minhash_permutations(num_perm: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) parameters datasketch 2.0 draws for its default "affine32" scheme."""
    import numpy as np

    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def minhash_signature(values: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MinHash signature of a set of 32-bit hashes, bit-identical to
    ``datasketch.MinHash(num_perm, seed, hashfunc=identity).update_batch(values)``
    but without datasketch's per-value Python call (about 3x faster)."""
    import numpy as np

    s1, m1, s2, m2, s3 = (np.uint32(x) for x in _FMIX32)
    hv = np.asarray(values, dtype=np.uint32).reshape(-1, 1)
    with np.errstate(over="ignore"):
        hv = hv ^ (hv >> s1)
        hv = hv * m1
        hv = hv ^ (hv >> s2)
        hv = hv * m2
        hv = hv ^ (hv >> s3)
        if hv.size == 0:
            return np.full(len(a), 0xFFFFFFFF, dtype=np.uint32)
        return (hv * a + b).min(axis=0).astype(np.uint32)
