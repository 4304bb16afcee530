"""One corpus file -> its tokens and fingerprints, in a worker process of the build.

What every file contributes to the index is decided here: winnowed k-gram hashes
(code shape and long literals), a few postings per hash, a MinHash signature for
near-duplicate families, and the name codes that tell projects apart.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import groupby
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from licscan.engine import fingerprints as fpr
from licscan.engine.tokens import TokenStream, tokenize
from licscan.files import MAX_BYTES, looks_generated, read_text
from licscan.languages import family


@dataclass(frozen=True)
class BuildParams:
    """Everything that shapes the fingerprints; stored in the index and checked on use."""

    k: int = fpr.K
    w: int = fpr.W
    df_cap: int = 24
    df_cap_share: float = 0.0025
    """Fingerprints found in more distinct files than ``df_cap`` or this share of the
    indexed files, whichever is more, are boilerplate and dropped. 24 files was tuned
    on the accuracy corpus (9,559 files: 0.25 %); a fixed count means something else
    at 8x the files (issue 12), where the cap dropped the anchors of copies."""
    num_perm: int = 64
    family_threshold: float = 0.7
    """Estimated Jaccard above which two files are variants of one source (vendored copies)."""
    min_tokens: int = 20
    max_postings: int = 4
    """Positions kept per fingerprint and file."""
    common_name_files: int = 8
    common_name_projects: int = 4
    common_name_share: float = 0.3
    """A name or literal code found in at least ``common_name_files`` files of each of
    at least ``common_name_projects`` indexed projects is common (``malloc``,
    ``errno``, ``NULL``): what every program writes, not evidence of origin. Counted
    per project, because a project's own API (busybox's ``bb_perror_msg_and_die``,
    in 75 of its files) is evidence; and with a floor of files, because each 16-bit
    code also stands for a dozen rare names scattered over the corpus. Projects are
    counted per language family (a C name among C projects) and the count scales with
    them: at least ``common_name_share`` of the family's projects (those with
    ``common_name_files`` files in it), and never fewer than ``common_name_projects``."""
    literal_min_chars: int = fpr.LITERAL_MIN_CHARS
    """Also fingerprint k-grams over the text of string literals this long
    (``fingerprints.literal_codes``); 0 turns it off."""
    max_bytes: int = MAX_BYTES
    store_text: bool = False
    """Keep compressed source text in the index (about half its size), so evidence
    can be shown without the corpus tree; otherwise it is read from the tree."""


@dataclass
class FileResult:
    name: str
    lang: str
    size: int
    sha1: str
    uniq: list[str]
    inverse: np.ndarray
    line_deltas: bytes
    names: bytes
    hashes: np.ndarray
    positions: np.ndarray
    signature: np.ndarray
    text: bytes | None
    fallback: bool


def _read_tokens(job: tuple[str, str, str, BuildParams]) -> tuple[str, TokenStream] | tuple[str, str]:
    """(text, tokens) of one file, or (name, why it is skipped)."""
    path, name, lang, params = job
    text, reason = read_text(Path(path), params.max_bytes)
    if text is None:
        return name, reason
    why = looks_generated(text)
    if why:
        return name, why
    try:
        ts = tokenize(text, lang)
    except (ValueError, RecursionError, MemoryError) as e:  # hostile input, not a bug in the corpus
        return name, f"untokenizable ({e.__class__.__name__})"
    if len(ts) < params.min_tokens:
        return name, "too few tokens"
    return text, ts


def process_base(job: tuple[str, str, str, BuildParams]) -> np.ndarray | tuple[str, str]:
    """Every distinct k-gram hash of one base file (runs in a worker process).

    Not winnowed: a scan looks up all of its k-grams, so whichever of them the
    corpus kept must be found here if the base has it anywhere."""
    got = _read_tokens(job)
    if isinstance(got[1], str):
        return got  # type: ignore[return-value]
    codes, dist = fpr.token_codes(got[1])
    h = fpr.kgram_hashes_np(np.asarray(codes, np.uint32), np.asarray(dist, np.int64), job[3].k)
    lit = _literal_kgrams(got[1], codes, dist, job[3])
    if lit is not None:
        h = np.concatenate((h, lit[0][~lit[1]]))
    return np.unique(h)


def _literal_kgrams(ts: TokenStream, codes: list[int], dist: list[int],
                    params: BuildParams) -> tuple[np.ndarray, np.ndarray] | None:
    """Hashes of the k-grams over ``fingerprints.literal_codes``, and a mask of those
    not worth keeping (no long literal in them, or repetitive), or None."""
    lit = fpr.literal_codes(ts, codes, params.literal_min_chars) if params.literal_min_chars else None
    if lit is None:
        return None
    lc = np.asarray(lit[0], dtype=np.uint32)
    changed = np.concatenate(([0], np.cumsum(lc != np.asarray(codes, dtype=np.uint32))))
    held = changed[params.k:] - changed[:len(changed) - params.k] > 0
    lh = fpr.kgram_hashes_np(lc, np.asarray(dist, dtype=np.int64), params.k)
    return lh, ~held | fpr.low_information(lc, params.k)


def _winnowed(h: np.ndarray, skip: np.ndarray, w: int) -> np.ndarray:
    """Winnowed positions of ``h``, none of them where ``skip`` is set."""
    pos = fpr.winnow(np.where(skip, np.iinfo(np.int64).max, h), w)
    return pos[~skip[pos]]


def process_file(job: tuple[str, str, str, BuildParams]) -> FileResult | tuple[str, str]:
    """Tokenize and fingerprint one file (runs in a worker process)."""
    _, name, lang, params = job
    got = _read_tokens(job)
    if isinstance(got[1], str):
        return got  # type: ignore[return-value]
    text, ts = got
    codes, dist = fpr.token_codes(ts)
    c = np.asarray(codes, dtype=np.uint32)
    h = fpr.kgram_hashes_np(c, np.asarray(dist, dtype=np.int64), params.k)
    low = fpr.low_information(c, params.k)
    pos = _winnowed(h, low, params.w)
    hsel = h[pos]
    lit = _literal_kgrams(ts, codes, dist, params)
    if lit is not None:
        # A second stream, winnowed on its own: see fingerprints.literal_codes.
        lh, skip = lit
        lpos = _winnowed(lh, skip, params.w)
        hsel, pos = np.concatenate((hsel, lh[lpos])), np.concatenate((pos, lpos))
    # A few postings per (fingerprint, file): files repeat their own structure
    # (similar functions side by side), and a copy of the third one must not be
    # chained to the first. More than a few adds size, not evidence.
    order = np.lexsort((pos, hsel))
    hsel, pos = hsel[order], pos[order]
    idx = np.arange(len(hsel))
    starts = np.r_[True, hsel[1:] != hsel[:-1]] if len(hsel) else np.zeros(0, bool)
    rank = idx - np.maximum.accumulate(np.where(starts, idx, 0))
    keep = rank < params.max_postings
    hs, positions = hsel[keep], pos[keep]
    a, b = fpr.minhash_permutations(params.num_perm)
    sig = fpr.minhash_signature(np.unique(h).astype(np.uint32), a, b)
    uniq, inverse = np.unique(np.asarray(ts.norm, dtype=object), return_inverse=True)
    lines = np.asarray(ts.lines, dtype=np.uint32)
    deltas = np.diff(lines, prepend=np.uint32(0)).astype(np.uint32)
    raw = text.encode("utf-8", "surrogatepass")
    return FileResult(
        name=name, lang=lang, size=len(raw), sha1=hashlib.sha1(raw).hexdigest(),
        uniq=[str(u) for u in uniq], inverse=inverse.astype(np.uint32),
        line_deltas=zlib.compress(deltas.tobytes(), 6),
        names=zlib.compress(np.asarray([c for c in fpr.name_codes(ts) if c >= 0], np.uint16).tobytes(), 6),
        hashes=hs, positions=positions.astype(np.int32), signature=sig,
        text=zlib.compress(raw, 6) if params.store_text else None, fallback=ts.fallback,
    )


def common_names(files: Iterable[tuple[str, str, bytes]], params: BuildParams) -> dict[str, list[int]]:
    """Per language family, the name codes (``fingerprints.name_codes``) that many of its
    projects use: ``files`` are (source path, language, stored names), a project's files
    together (one project's blobs are read at a time), and a path's first part is its project. A family's projects are those with at least
    ``common_name_files`` files in it; a code is common when at least
    ``max(common_name_projects, common_name_share * projects)`` of them use it in that
    many files. A fixed count of projects erodes as unrelated projects join the index:
    at 14 projects 4 is a third of them, at 2,000 a name of one idiom. A family with
    fewer projects than ``common_name_projects`` has too few to count: it gets the
    cross-language count of schemas up to 6 (``common_name_projects`` projects of any language),
    under the key ``""``."""
    projects: dict[str, np.ndarray] = {}
    sizes: Counter[str] = Counter()
    across = np.zeros(1 << 16, np.int32)
    seen: set[str] = set()
    for project, items in groupby(files, key=lambda f: f[0].split("/", 1)[0]):
        if project in seen:  # counted twice it would be two projects: a wrong answer, not a slow one
            raise ValueError(f"common_names: the files of project {project!r} are not together")
        seen.add(project)
        df: dict[str, np.ndarray] = {}  # one project's counts in memory at a time
        nfiles: Counter[str] = Counter()
        for _, lang, blob in items:
            fam = family(lang)
            nfiles[fam] += 1
            df.setdefault(fam, np.zeros(1 << 16, np.int32))[np.unique(np.frombuffer(zlib.decompress(blob),
                                                                                      np.uint16))] += 1
        across += sum(df.values()) >= params.common_name_files
        for fam, counts in df.items():
            if nfiles[fam] >= params.common_name_files:
                projects.setdefault(fam, np.zeros(1 << 16, np.int32))
                projects[fam] += counts >= params.common_name_files
                sizes[fam] += 1
    out = {"": np.flatnonzero(across >= params.common_name_projects).tolist()}
    for fam, counts in projects.items():
        if sizes[fam] >= params.common_name_projects:
            need = max(params.common_name_projects, math.ceil(params.common_name_share * sizes[fam]))
            out[fam] = np.flatnonzero(counts >= need).tolist()
    return out


LSH_BANDS = {(0.7, 64): (8, 8)}
"""(bands, rows) datasketch's ``MinHashLSH`` picks for (threshold, num_perm) (a test holds
them equal): asking it imports scipy (~45 MB) for a constant."""


def lsh_bands(params: BuildParams) -> tuple[int, int]:
    """datasketch's (b, r) for the family threshold and ``num_perm``."""
    got = LSH_BANDS.get((params.family_threshold, params.num_perm))
    if got is None:
        from datasketch import MinHashLSH

        lsh = MinHashLSH(threshold=params.family_threshold, num_perm=params.num_perm)  # empty: its b, r only
        got = lsh.b, lsh.r
    return got


def families(sigs: np.ndarray | Sequence[np.ndarray], params: BuildParams) -> list[int]:
    """Family id per file: connected groups of files whose MinHash signatures say
    they are near-identical (one pass over the LSH candidates, then union-find).

    The candidates are exactly those of datasketch's ``MinHashLSH`` (same bands: its
    ``b`` x ``r`` for the threshold and ``num_perm``; a band's bucket is its exact values),
    computed with numpy: datasketch holds ~9 KB per key, this ~80 bytes (issue 12). Each
    file's candidates are checked with the same estimated Jaccard and joined in the same
    order, so the family ids (each group's root) are the same too."""
    sig = np.asarray(sigs, dtype=np.uint32).reshape(len(sigs), params.num_perm)
    n = len(sig)
    nb, r = lsh_bands(params)
    order, lo, hi = [], np.zeros((nb, n), np.int64), np.zeros((nb, n), np.int64)
    for band, (start, end) in enumerate((i * r, (i + 1) * r) for i in range(nb)):
        keys = np.ascontiguousarray(sig[:, start:end]).view(np.dtype((np.void, 4 * (end - start)))).ravel()
        inv = np.unique(keys, return_inverse=True)[1].ravel() if n else np.zeros(0, np.int64)
        bounds = np.concatenate(([0], np.cumsum(np.bincount(inv))))
        order.append(np.argsort(inv, kind="stable"))
        lo[band], hi[band] = bounds[inv], bounds[inv + 1]
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in np.flatnonzero((hi - lo > 1).any(axis=0)).tolist():
        js = np.unique(np.concatenate([order[b][lo[b, i]:hi[b, i]] for b in range(nb)]))
        js = js[js != i]
        # datasketch's jaccard: equal values / num_perm, as a float, against the threshold.
        js = js[np.count_nonzero(sig[js] == sig[i], axis=1) / float(params.num_perm) >= params.family_threshold]
        # Joining j's group under i's root for each j in any order gives the same roots.
        ri = root(i)
        for j in js.tolist():
            parent[root(j)] = ri
    return [root(i) for i in range(n)]
