"""The k-gram hash has two implementations (numpy for builds, pure Python for
scans) and a MinHash that claims to equal datasketch's: hold them to it."""

from __future__ import annotations

import random

import numpy as np
import pytest

from licscan.engine import fingerprints as fpr
from licscan.engine.tokens import tokenize

C_SRC = """
static int gcd(int a, int b) { while (b) { int t = a % b; a = b; b = t; } return a; }
int lcm(int x, int y) { return x / gcd(x, y) * y; }
"""


def _random_stream(rng: random.Random, n: int, k: int = fpr.K) -> tuple[list[int], list[int]]:
    codes = [rng.choice([1, 2, 3, 0xFFFFFFFF, 12345678]) for _ in range(n)]
    # Distances at and around the k-gram's edges, and ones reaching before the start.
    dist = [rng.choice([0, 0, 1, 3, k - 1, k, k + 1, 40]) for _ in range(n)]
    return codes, dist


@pytest.mark.parametrize("k", [1, 2, 5, fpr.K, 16])
@pytest.mark.parametrize("seed", range(5))
def test_numpy_and_python_kgram_hashes_are_identical(seed: int, k: int) -> None:
    """The rolling pure-Python hash against the direct numpy one, on streams that are
    shorter than, as long as and much longer than one k-gram."""
    rng = random.Random(seed)
    for n in (0, k - 1, k, k + 1, 300):
        codes, dist = _random_stream(rng, n, k)
        py = fpr.kgram_hashes(codes, dist, k)
        nump = fpr.kgram_hashes_np(np.array(codes, np.uint32), np.array(dist, np.int64), k).tolist()
        assert py == nump
        assert len(py) == max(0, n - k + 1)
        assert all(0 <= h < 2**fpr.FP_BITS for h in py)


def test_hash_is_invariant_under_consistent_renaming_but_not_under_swaps() -> None:
    a = tokenize(C_SRC, "c")
    renamed = """
static int euclid(int m, int n) { while (n) { int r = m % n; m = n; n = r; } return m; }
int lcm(int p, int q) { return p / euclid(p, q) * q; }
"""
    b = tokenize(renamed, "c")
    assert fpr.kgram_hashes(*fpr.token_codes(a)) == fpr.kgram_hashes(*fpr.token_codes(b))
    # Same normalized kinds, different data flow: `a = b` vs `b = a`.
    c = tokenize(C_SRC.replace("a = b; b = t;", "b = a; t = b;"), "c")
    assert fpr.kgram_hashes(*fpr.token_codes(a)) != fpr.kgram_hashes(*fpr.token_codes(c))


def test_snippet_hashes_like_its_file() -> None:
    """A k-gram's hash depends on its own tokens only, not on what came before."""
    full = tokenize(C_SRC, "c")
    codes, dist = fpr.token_codes(full)
    hashes = fpr.kgram_hashes(codes, dist)
    snippet = tokenize(C_SRC.split("\n", 2)[2], "c")  # drop the first function
    shashes = fpr.kgram_hashes(*fpr.token_codes(snippet))
    assert shashes == hashes[len(full) - len(snippet):]


def test_winnowing_guarantee() -> None:
    """Every window of w consecutive k-grams contains a selected position."""
    rng = np.random.default_rng(0)
    h = rng.integers(0, 2**31, 1000)
    pos = set(fpr.winnow(h, fpr.W).tolist())
    for start in range(len(h) - fpr.W + 1):
        assert pos & set(range(start, start + fpr.W))
    assert len(pos) < len(h) * 3 / (fpr.W + 1)  # density about 2/(w+1)


def test_low_information_flags_tables_not_code() -> None:
    table = tokenize("int t[] = {" + ", ".join(str(i) for i in range(60)) + "};", "c")
    code = tokenize(C_SRC, "c")
    t_codes = np.array(fpr.token_codes(table)[0], np.uint32)
    c_codes = np.array(fpr.token_codes(code)[0], np.uint32)
    assert fpr.low_information(t_codes).mean() > 0.8
    assert fpr.low_information(c_codes).mean() < 0.2


def test_minhash_is_bit_identical_to_datasketch() -> None:
    from datasketch import MinHash

    values = np.random.default_rng(1).integers(0, 2**32, 500, dtype=np.uint64).astype(np.uint32)
    ours = fpr.minhash_signature(values, *fpr.minhash_permutations(64, seed=1))
    theirs = MinHash(num_perm=64, seed=1, hashfunc=lambda v: int(v))
    theirs.update_batch(values.tolist())
    assert theirs.scheme == "affine32"
    assert np.array_equal(ours, theirs.hashvalues)


def test_name_distances_of_long_streams_match_the_definition() -> None:
    """Streams with over 20,000 identifiers take the vectorised path; both give each
    identifier the distance back to the previous use of its name (0 for the first)."""
    from licscan.engine.stream import ID, TokenStream

    rng = random.Random(5)
    for names in (1, 7, 5000):
        ts = TokenStream("c")
        for _ in range(45_000):
            if rng.random() < 0.6:
                ts.add(ID, f"n{rng.randrange(names)}", 1)
            else:
                ts.add(rng.choice("+-(){};"), "op", 1)
        last: dict[str, int] = {}
        expected = []
        for i, (norm, raw) in enumerate(zip(ts.norm, ts.raw)):
            expected.append(i - last[raw] if norm == ID and raw in last else 0)
            if norm == ID:
                last[raw] = i
        assert fpr.token_codes(ts)[1] == expected
