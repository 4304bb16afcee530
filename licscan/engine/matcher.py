"""Scanned tokens + index -> verified matches with line evidence.

1. Every k-gram of the scanned text is looked up (the index holds the winnowed
   ones), and so is every k-gram hashed over a long literal's text
   (``fingerprints.literal_codes``), giving hits (scan position, source file,
   source position).
2. Hits of one source file are chained: increasing in both files, with bounded
   gaps and drift, which is what a copy with edits looks like; and followed
   along their diagonal while the tokens agree, which is what a verbatim copy of
   repetitive code needs (``chains``).
3. Each chain is verified by aligning the normalized tokens between and around
   its anchors; the alignment gives both line ranges and the similarity.
4. Weak matches are dropped (``thresholds``: too few matched tokens, unless the
   anchors are rare; too few names and literals kept from the source; a table
   whose values differ; only generic names kept and the shape not long and
   exact), and variants of one source (a family) are reported once.
"""

from __future__ import annotations

import sys
import zlib
from array import array
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import partial
from typing import NamedTuple

from licscan.engine import fingerprints as fpr
from licscan.engine.chains import NAMES_ALIGN_MAX, chains, runs
from licscan.engine.index import Index
from licscan.languages import canonical
from licscan.model import Finding, SourceRef
from licscan.engine.rules import Thresholds
from licscan.engine.tokens import TokenStream, tokenize

_MAX_CANDIDATES = 64
_MAX_QPOS = 16
_OVERFLOW_ID = 0xFFFF
"""The vocabulary id that the build shares among rare tokens (``build``): it stands
for many different tokens, so nothing may align with it."""
_CLOSERS = ("}", ")", "]", ";", ",", "end", "fi", "done", "esac")
_OPENERS = ("{", "(", "[", ",")
"""Tokens a copied region cannot start or end with (bash closes blocks with words)."""
_NO_BRACE_BLOCKS = frozenset({"python", "ruby", "bash", "text"})
_FAMILY = {"cpp": "c", "typescript": "javascript", "tsx": "javascript"}
"""Languages whose code moves between each other unchanged (C into C++, JS into TS)."""


class _Query(NamedTuple):
    """The scanned text as matching sees it, per token."""

    codes: list[int]
    names: list[int]
    """``fingerprints.name_codes``."""
    telling: list[bool]
    """Whether the token is a name or literal that says where code came from:
    ``fingerprints.telling``, and not common in the index."""
    brace_blocks: bool = True
    """Whether ``{`` and ``}`` delimit blocks of statements in its language (not in
    Python, Ruby or shell, where braces are dicts, blocks or parameter expansions)."""


@dataclass
class _Region:
    fid: int
    q0: int
    q1: int
    s0: int
    s1: int
    matched: int
    anchors: int
    rare: int
    similarity: float = 0.0
    diversity: float = 1.0
    names: int = 0
    same: int = 0
    also: list[str] = field(default_factory=list)


class Matcher:
    """Finds copied regions of texts in one index. Reusable across many scans."""

    def __init__(self, index: Index, thresholds: Thresholds | None = None, *, batch: bool = False) -> None:
        """``batch``: many texts will follow, so heavier imports pay off."""
        self.index = index
        self.batch = batch
        self.t = thresholds or Thresholds()
        self.k = int(index.params["k"])
        # Indexes built before literal k-grams existed have none to find.
        self.literal_min = int(index.params.get("literal_min_chars", 0))
        self._vids: dict[int, int] | None = None
        self._lexical: frozenset[int] = frozenset()
        self._edges: tuple[frozenset[int], ...] = (frozenset(), frozenset())
        self._braces = (-1, -1)
        self._streams: dict[int, list[int]] = {}
        self._names: dict[int, array] = {}

    # ------------------------------------------------------------------ public

    def scan_text(self, text: str, lang: str | None = None, path: str = "<stdin>") -> list[Finding]:
        """Findings for one text; ``lang`` is a language name or alias (None: fallback tokenizer)."""
        return self.scan_stream(tokenize(text, canonical(lang) if lang else "text"), path)

    def scan_stream(self, ts: TokenStream, path: str) -> list[Finding]:
        if len(ts) < self.k:
            return []
        self.index.check_language(ts.lang)
        codes, dist = fpr.token_codes(ts)
        hashes = self._kgram_hashes(codes, dist)
        qpos: dict[int, list[int]] = defaultdict(list)
        for i, h in enumerate(hashes):
            ps = qpos[h]
            if len(ps) < _MAX_QPOS:
                ps.append(i)
        for i, h in self._literal_kgrams(ts, codes, dist):
            ps = qpos[h]
            if len(ps) < _MAX_QPOS:
                ps.append(i)
        rows = self.index.lookup(list(qpos))
        files = self.index.files({f for _h, f, _p in rows})
        heads = self.index.files({i.family for i in files.values()})
        family = _FAMILY.get(ts.lang, ts.lang)
        # Rarity counts projects, not files: a k-gram found in three files of bash
        # only is specific to bash, and one found only in the vendored copies of
        # a gnulib file (a family, named by its first member) is specific to it.
        owners: dict[int, set[str]] = defaultdict(set)
        hits: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for h, f, p in rows:
            info = files[f]
            owners[h].add(heads[info.family].path.split("/", 1)[0])
            # Another language family is another program: the same token shape
            # there is a coincidence of syntax, not a copy.
            if family != "text" and info.lang != "text" and _FAMILY.get(info.lang, info.lang) != family:
                continue
            for q in qpos[h]:
                hits[f].append((q, p, h))
        # Base code (permissive code given at build time) that has a fingerprint
        # too makes it common: another owner, so it never counts as rare.
        based = self.index.common(owners)
        for h in based:
            owners[h].add("\0base")
        df = {h: len(v) for h, v in owners.items()}
        ranked = sorted(hits.items(), key=lambda kv: -len({h for _, _, h in kv[1]}))
        regions: list[_Region] = []
        qnames = fpr.name_codes(ts) if ranked else []
        common = self.index.common_names() if ranked else frozenset()
        # Aligned in the index's vocabulary ids: decoding a source is then one
        # C-level copy, not a lookup per token (sources can be 100k tokens long).
        vids = self._vocab_ids() if ranked else {}
        aligned = [vids.get(c, ~c) for c in codes]
        query = _Query(aligned, qnames, [c >= 0 and c not in common and fpr.telling(r)
                                         for c, r in zip(qnames, ts.raw)],
                       ts.lang not in _NO_BRACE_BLOCKS)
        for fid, fh in ranked[:_MAX_CANDIDATES]:
            several = len({h for _, _, h in fh}) >= 2
            # Two hits at the same spacing in both texts (one diagonal) are where an
            # exact run may be; one distinct fingerprint is worth nothing more.
            paired = len({p - q for q, p, _ in fh}) < len(fh)
            if not (several or paired):
                continue
            found = [r for chain in (chains(fh) if several else [])
                     if (r := self._verify(fid, chain, query, df, based)) is not None]
            for chain in runs(fh, aligned, qnames, self._source(fid), partial(self._source_names, fid),
                              self.k, self.t.verbatim_min_tokens,
                              [(r.q0, r.q1) for r in found]) if paired else []:
                r = self._verify(fid, chain, query, df, based, exact=True)
                if r is not None:
                    found.append(r)
            regions += found
        return [self._finding(r, ts, path) for r in self._select(regions)]

    # ----------------------------------------------------------------- stages

    def _literal_kgrams(self, ts: TokenStream, codes: list[int], dist: list[int]) -> list[tuple[int, int]]:
        """(position, hash) of the k-grams that hold a long string literal, hashed over
        its text (``fingerprints.literal_codes``), if the index has them."""
        got = fpr.literal_codes(ts, codes, self.literal_min) if self.literal_min else None
        if got is None:
            return []
        lit, changed = got
        k = self.k
        starts = sorted({s for i in changed for s in range(max(0, i - k + 1), min(i, len(codes) - k) + 1)})
        if not starts:
            return []
        # Hash only the stretch that holds them: a file can be long and its literals few.
        lo, hi = starts[0], starts[-1] + k
        lh = self._kgram_hashes(lit[lo:hi], dist[lo:hi])
        return [(s, lh[s - lo]) for s in starts]

    def _kgram_hashes(self, codes: list[int], dist: list[int]) -> list[int]:
        # numpy hashes ~10x faster but costs 0.1 s to import: worth it for big
        # inputs, or once a batch scan has paid for it already.
        if len(codes) > 20000 or (len(codes) > 500 and "numpy" in sys.modules) or self.batch:
            import numpy as np

            return fpr.kgram_hashes_np(np.asarray(codes, np.uint32), np.asarray(dist, np.int64), self.k).tolist()
        return fpr.kgram_hashes(codes, dist, self.k)

    def _vocab_ids(self) -> dict[int, int]:
        """Token code (``fingerprints.token_codes``) -> vocabulary id. A scanned token
        that is not in the vocabulary becomes ``~code``: negative, so it matches no
        source token, and still distinct from every other scanned token."""
        if self._vids is None:
            vocab = self.index.vocab()
            self._vids = {_code(t): i for i, t in enumerate(vocab) if i != _OVERFLOW_ID}
            self._lexical = frozenset(self._vids[c] for c in map(_code, fpr.LEXICAL) if c in self._vids)
            self._edges = tuple(frozenset(self._vids[c] for c in map(_code, toks) if c in self._vids)
                                for toks in (_CLOSERS, _OPENERS))
            self._braces = (self._vids.get(_code("}"), -1), self._vids.get(_code("{"), -1))
        return self._vids

    def _source(self, fid: int) -> list[int]:
        """An indexed file's normalized tokens, as vocabulary ids."""
        s = self._streams.get(fid)
        if s is None:
            s = self._streams[fid] = self.index.token_ids(fid).tolist()
        return s

    def _source_names(self, fid: int) -> array:
        """``fingerprints.name_codes`` of an indexed file, rebuilt from its stored bytes."""
        out = self._names.get(fid)
        if out is None:
            self._vocab_ids()
            lexical = self._lexical
            stored = iter(self.index.names(fid))
            out = self._names[fid] = array("l", [next(stored, -1) if c in lexical else -1
                                                 for c in self._source(fid)])
        return out

    def _verify(self, fid: int, chain: list[tuple[int, int, int]], query: _Query,
                df: dict[int, int], based: set[int], *, exact: bool = False) -> _Region | None:
        """``exact``: the chain is one exact run (``chains.runs``), which only the verbatim
        path may accept: its shape is certain, and only its names can say it is a copy."""
        q = query.codes
        s = self._source(fid)
        k = self.k
        q0, s0 = chain[0][0], chain[0][1]
        while q0 > 0 and s0 > 0 and q[q0 - 1] == s[s0 - 1]:
            q0, s0 = q0 - 1, s0 - 1
        q1, s1 = chain[-1][0] + k, chain[-1][1] + k
        while q1 < len(q) and s1 < len(s) and q[q1] == s[s1]:
            q1, s1 = q1 + 1, s1 + 1
        spans: list[tuple[int, int, int]] = []  # aligned (scanned, source, length) runs
        q_cov_end = -1  # anchors overlap: count each scanned token once
        for i, (qa, sa, _h) in enumerate(chain):
            start = max(qa, q_cov_end)
            if qa + k > start:
                spans.append((start, sa + start - qa, qa + k - start))
            q_cov_end = max(q_cov_end, qa + k)
            if i + 1 < len(chain):
                qb, sb, _ = chain[i + 1]
                if qa + k < qb and sa + k < sb:
                    sm = SequenceMatcher(None, q[qa + k:qb], s[sa + k:sb], autojunk=False)
                    spans.extend((qa + k + a, sa + k + b, n) for a, b, n in sm.get_matching_blocks() if n)
        spans.append((q0, s0, chain[0][0] - q0))
        spans.append((chain[-1][0] + k, chain[-1][1] + k, q1 - chain[-1][0] - k))
        matched = sum(n for _, _, n in spans)
        sim = 2 * matched / ((q1 - q0) + (s1 - s0))
        rare = sum(1 for _, _, h in chain if df[h] == 1)
        diversity = _diversity(q, q0, q1)
        # Kept names vouch for code shared among copyleft projects, not for code the
        # base (known permissive) has whole: that is a permissive function that a
        # copyleft project vendored. Some generic anchors in base code are normal.
        in_base = len(chain) >= self.t.base_min_anchors and all(h in based for *_, h in chain)
        verbatim = self.t.may_be_verbatim(matched, sim, diversity) and not in_base
        if exact:
            # One fingerprint repeated along a run is a row shape; base code that
            # has a row of that shape does not have these rows.
            if matched < self.t.verbatim_min_tokens or (in_base and len({h for *_, h in chain}) > 1):
                return None
            enough = lambda names, same, _telling: self.t.kept_verbatim(names, same)  # noqa: E731
        elif verbatim or self.t.accepts(matched, sim, rare, diversity):
            enough = partial(self.t.judge, matched, sim, rare, diversity, verbatim)
        else:
            return None
        names, same, telling = _kept_names(spans, query, s, self._source_names(fid),
                                           (q0, q1, s0, s1), diversity < self.t.table_diversity, enough)
        if not enough(names, same, telling):
            return None
        # Judged on all that aligns, reported without the edges that belong to the
        # code around the copy.
        q0, s0, q1, s1 = self._edges_trimmed(q, (q0, s0, q1, s1), chain[0][0] + k, chain[-1][0],
                                             query.brace_blocks)
        return _Region(fid, q0, q1, s0, s1, matched, len(chain), rare, min(sim, 1.0), diversity,
                       names, same)

    def _edges_trimmed(self, q: list[int], region: tuple[int, int, int, int], head_end: int,
                       tail_start: int, brace_blocks: bool) -> tuple[int, int, int, int]:
        """The region without the tail of a block at its start (`return 1; }` of the
        function before a copy often matches what precedes its source, even as the
        head of the first anchor) or a closer there, and without an opener at its
        end; never trimmed past its first anchor (which ends at ``head_end``) or
        into its last one (which starts at ``tail_start``). Only a block's tail is
        cut, not a partial statement: an edit in the copy also ends an alignment
        mid-statement, and what follows it was copied."""
        q0, s0, q1, s1 = region
        closers, openers = self._edges
        close, open_ = self._braces
        if brace_blocks and q0 > 0:
            for i in range(q0, min(head_end, q1)):
                if q[i] == open_:
                    break
                if q[i] == close:
                    q0, s0 = i + 1, s0 + i + 1 - q0
                    break
        while q0 < min(head_end, q1 - 1) and q[q0] in closers:
            q0, s0 = q0 + 1, s0 + 1
        while q1 > max(tail_start + 1, q0 + 1) and q[q1 - 1] in openers:
            q1, s1 = q1 - 1, s1 - 1
        return q0, s0, q1, s1

    def _select(self, regions: list[_Region]) -> list[_Region]:
        """One finding per family for a region, at most ``max_sources`` distinct sources."""
        # The source whose names and literals the text kept is the one it was copied
        # from; the others are its look-alikes. So a renamed name costs a token: a
        # sibling file with the same boilerplate may align one token longer, but it
        # differs in what the copy kept.
        regions.sort(key=lambda r: (-(r.matched - (r.names - r.same)), -r.similarity, -r.same, r.fid))
        kept: list[_Region] = []
        for r in regions:
            if any(o.fid == r.fid and (_overlap(o, r) > 0 or _overlap_source(o, r) >= 0.5)
                   for o in kept):
                continue  # a weaker, nested alignment of the same source
            fam = self.index.file(r.fid).family
            overlapping = [o for o in kept if _overlap(o, r) >= 0.5]
            same = next((o for o in overlapping if self.index.file(o.fid).family == fam), None)
            # The same code found whole in several unrelated files (a helper pasted
            # across bundles, sibling gnulib modules): one finding, the rest listed.
            same = same or next((o for o in overlapping if o.matched == r.matched
                                 and abs(o.similarity - r.similarity) < 0.005
                                 and _overlap(o, r) >= 0.9), None)
            if same is not None:
                other = self.index.file(r.fid).path
                if r.fid != same.fid and other not in same.also:
                    same.also.append(other)
            elif len(overlapping) < self.t.max_sources:
                kept.append(r)
        return kept

    def _finding(self, r: _Region, ts: TokenStream, path: str) -> Finding:
        f = self.index.file(r.fid)
        _, slines = self.index.tokens(r.fid)
        also = r.also + self.index.aliases(r.fid)
        return Finding(
            path=path,
            start_line=ts.lines[r.q0],
            end_line=ts.lines[r.q1 - 1],
            similarity=round(r.similarity, 3),
            license=f.license,
            source=SourceRef(f.path, int(slines[r.s0]), int(slines[r.s1 - 1])),
            tokens=r.matched,
            language=ts.lang,
            extra={"source_tokens": r.s1 - r.s0, "anchors": r.anchors, "rare_anchors": r.rare,
                   "also_in": also, "source_id": r.fid, "diversity": round(r.diversity, 3),
                   "names_kept": round(r.same / r.names, 3) if r.names else None,
                   "token_range": [r.q0, r.q1], "source_token_range": [r.s0, r.s1]},
        )


def _code(token: str) -> int:
    return zlib.crc32(token.encode("utf-8"))


def _kept_names(spans: list[tuple[int, int, int]], query: _Query, s: list[int],
                sn: array, region: tuple[int, int, int, int], table: bool,
                enough: Callable[[int, int, int], bool]) -> tuple[int, int, int]:
    """(aligned name/literal pairs, how many of them the copy kept verbatim, how many
    distinct telling ones it kept).

    Counted on the normalized alignment first. When that is not ``enough``, the
    region is aligned again on tokens and raw names together: in repetitive code
    (a switch, rows of a table) the normalized alignment may pair each row with
    its neighbour, which makes a verbatim copy look renamed."""
    q, qn, qt, _ = query
    names = same = 0
    told: set[int] = set()
    for qa, sa, n in spans:
        for i, b in zip(range(qa, qa + n), sn[sa:sa + n]):
            a = qn[i]
            if a >= 0:
                names += 1
                if a == b:
                    same += 1
                    if qt[i]:
                        told.add(a)
    q0, q1, s0, s1 = region
    # Tables are left out: their rows align diagonally from the anchors at their
    # edges, and difflib over rows of commas and numbers is what costs the most.
    if enough(names, same, len(told)) or max(q1 - q0, s1 - s0) > NAMES_ALIGN_MAX or table:
        return names, same, len(told)
    qk = [c * 65537 + n + 1 for c, n in zip(q[q0:q1], qn[q0:q1])]
    sk = [c * 65537 + n + 1 for c, n in zip(s[s0:s1], sn[s0:s1])]
    sm = SequenceMatcher(None, qk, sk, autojunk=False)
    kept = [i for a, _, n in sm.get_matching_blocks() for i in range(q0 + a, q0 + a + n) if qn[i] >= 0]
    if len(kept) <= same:
        return names, same, len(told)
    return names, min(len(kept), names), len({qn[i] for i in kept if qt[i]})


def _overlap_source(a: _Region, b: _Region) -> float:
    inter = min(a.s1, b.s1) - max(a.s0, b.s0)
    return max(0, inter) / max(1, min(a.s1 - a.s0, b.s1 - b.s0))


_DIVERSITY_N = 6
"""Longer than one table row (5-7 normalized tokens), so a table's rows all give the
same few n-grams, yet short enough that edited code keeps most of its n-grams."""


def _diversity(q: list[int], q0: int, q1: int) -> float:
    """Distinct normalized 6-grams per 6-gram of a region: 0.7-1.0 for ordinary code,
    about 0.2 for a table or list of one repeated row shape."""
    n = q1 - q0 - _DIVERSITY_N + 1
    if n <= 0:
        return 1.0
    return len(set(zip(*(q[q0 + i:q1 - _DIVERSITY_N + 1 + i] for i in range(_DIVERSITY_N))))) / n


def _overlap(a: _Region, b: _Region) -> float:
    inter = min(a.q1, b.q1) - max(a.q0, b.q0)
    return max(0, inter) / max(1, min(a.q1 - a.q0, b.q1 - b.q0))
