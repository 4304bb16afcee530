"""Scanned tokens + index -> verified matches with line evidence.

1. Every k-gram of the scanned text is looked up (the index holds the winnowed
   ones), and so is every k-gram hashed over a long literal's text
   (``fingerprints.literal_codes``), giving hits (scan position, source file,
   source position). A source that shares one fingerprint with the text also gets
   its anchors over the boilerplate cap (``hits.boilerplate``).
2. Hits of one source file are chained: increasing in both files, with bounded
   gaps and drift, which is what a copy with edits looks like; and followed
   along their diagonal while the tokens agree, which is what a verbatim copy of
   repetitive code needs (``chains``).
3. Each chain is verified by aligning the normalized tokens between and around
   its anchors; the alignment gives both line ranges and the similarity.
4. Weak matches are dropped (``thresholds``: too few matched tokens, unless the
   anchors are rare; too few names and literals kept from the source; a table
   whose values differ; only generic names kept and the shape not long and
   exact), and variants of one source (a family) are reported once. A region whose
   shape matches unrelated sources, keeping few names of any, is an idiom
   (``Thresholds.idiom``).
"""

from __future__ import annotations

import sys
import zlib
from array import array
from collections import defaultdict
from functools import partial

from licscan.engine import align, explain
from licscan.engine import fingerprints as fpr
from licscan.engine.align import Hit, Query, Region
from licscan.engine.chains import chains, runs
from licscan.engine.hits import boilerplate, positions
from licscan.engine.store import IndexStore, Source
from licscan.languages import FAMILIES as _FAMILY
from licscan.languages import canonical
from licscan.model import Evidence, Finding, SourceRef
from licscan.engine.rules import Decision, Shape, Thresholds
from licscan.engine.budget import InputBudget
from licscan.engine.stream import Memo, Recent, by_size
from licscan.engine.tokens import TokenStream, tokenize

CACHED_TOKENS = 2_000_000
"""Tokens of candidate sources kept for the next texts of a batch scan (each cache; a list
of ids costs ~36 bytes a token, so ~70 MB): a bound, so a scan's memory does not grow
with the index or the batch; a source dropped is read again (~1 ms)."""
_OVERFLOW_ID = 0xFFFF
"""The vocabulary id that the build shares among rare tokens (``build``): it stands
for many different tokens, so nothing may align with it."""
_CLOSERS = ("}", ")", "]", ";", ",", "end", "fi", "done", "esac")
_OPENERS = ("{", "(", "[", ",")
"""Tokens a copied region cannot start or end with (bash closes blocks with words)."""
_NO_BRACE_BLOCKS = frozenset({"python", "ruby", "bash", "text"})


class Matcher:
    """Finds copied regions of texts in one index. Reusable across many scans."""

    def __init__(self, index: IndexStore, thresholds: Thresholds | None = None, *, batch: bool = False) -> None:
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
        self._sources: Recent[int, Source] = Recent(CACHED_TOKENS)
        self._names: Recent[int, array] = Recent(CACHED_TOKENS)

    # ------------------------------------------------------------------ public

    def scan_text(self, text: str, lang: str | None = None, path: str = "<stdin>") -> list[Finding]:
        """Findings for one text; ``lang`` is a language name or alias (None: fallback tokenizer)."""
        ts = tokenize(text, canonical(lang) if lang else "text", InputBudget.for_size(len(text)))
        return self.scan_stream(ts, path)

    def scan_stream(self, ts: TokenStream, path: str) -> list[Finding]:
        if len(ts) < self.k:
            return []
        self.index.check_language(ts.lang)
        codes, dist = fpr.token_codes(ts)
        hashes = self._kgram_hashes(codes, dist)
        literal = self._literal_kgrams(ts, codes, dist)
        keys = dict.fromkeys(hashes)  # distinct, in the order of the query
        keys.update(dict.fromkeys(h for _, h in literal))
        rows = self.index.lookup(list(keys))
        qpos = positions(hashes, literal, {h for h, _f, _p in rows})
        files = self.index.files({f for _h, f, _p in rows})
        heads = self.index.files({i.family for i in files.values()})
        family = _FAMILY.get(ts.lang, ts.lang)
        # Rarity counts projects, not files: a k-gram found in three files of bash
        # only is specific to bash, and one found only in the vendored copies of
        # a gnulib file (a family, named by its first member) is specific to it.
        owners: dict[int, set[str]] = defaultdict(set)
        spread: dict[int, set[str]] = defaultdict(set)  # projects of every file with it
        held: dict[int, set[int]] = defaultdict(set)  # families (near-duplicate groups) with it
        hits: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for h, f, p in rows:
            info = files[f]
            owners[h].add(heads[info.family].path.split("/", 1)[0])
            spread[h].add(info.path.split("/", 1)[0])
            held[h].add(info.family)
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
        if not hits:
            return []
        rare = self._rare(owners, held, based, family)
        boilerplate(self.index, hits, qpos, hashes, literal)
        # Rare by the share bound only (more than one project has it): where each is held.
        shared = {h: spread[h] for h in rare if len(owners[h]) > 1}
        regions: list[Region] = []
        qnames = fpr.name_codes(ts)
        common = self.index.common_names(None if family == "text" else family)
        # Aligned in the index's vocabulary ids: decoding a source is then one
        # C-level copy, not a lookup per token (sources can be 100k tokens long).
        aligned = _aligned(codes, self._vocab_ids())
        telling = Memo(fpr.telling)
        query = Query(aligned, qnames, [c >= 0 and c not in common and telling[r]
                                        for c, r in zip(qnames, ts.raw)],
                      ts.lang not in _NO_BRACE_BLOCKS, ts.lines, path)
        # Every candidate is verified: a cap on candidates let allowed copies ranked
        # first hide a failing one behind them. Those with a single fingerprint off
        # any shared diagonal cannot make a region and cost nothing. Their order does not
        # matter: selection orders regions by their own evidence.
        # Two hits at the same spacing in both texts (one diagonal) are where an
        # exact run may be; one distinct fingerprint is worth nothing more. Known before
        # any source is read, so the streams the loop reads come in few round trips:
        todo = [(fid, fh, len({h for _, _, h in fh}) >= 2, len({p - q for q, p, _ in fh}) < len(fh))
                for fid, fh in hits.items()]
        # half a cache at a time. Fetched at once, a candidate set bigger than the cache evicted its
        # first sources unverified, each then read alone (~480 queries a slow snippet at 31.8x).
        for chunk in by_size(todo, lambda c: files[c[0]].ntokens if c[2] or c[3] else 0, CACHED_TOKENS // 2):
            self._fetch([fid for fid, _, several, paired in chunk if several or paired])
            for fid, fh, several, paired in chunk:
                if not (several or paired):
                    if explain.active():
                        explain.record_candidate(path, self.index.file(fid).path, "one-fingerprint",
                                                 "a single fingerprint in common, on no shared diagonal")
                    continue
                found = [r for chain in (chains(fh) if several else [])
                         if (r := self._verify(fid, chain, query, rare, based, shared)) is not None]
                for chain in runs(fh, aligned, qnames, self._source(fid), partial(self._source_names, fid),
                                  self.k, self.t.verbatim_min_tokens,
                                  [(r.q0, r.q1) for r in found]) if paired else []:
                    r = self._verify(fid, chain, query, rare, based, shared, exact=True)
                    if r is not None:
                        found.append(r)
                regions += found
        chosen = self._select(regions, query)
        also = self.index.aliases_of({r.fid for r in chosen})
        return [self._finding(r, ts, path, also[r.fid]) for r in chosen]

    # ----------------------------------------------------------------- stages

    def _rare(self, owners: dict[int, set[str]], held: dict[int, set[int]], based: set[int],
              family: str) -> set[int]:
        """Fingerprints specific enough to vouch for a source: found in one project only,
        or in so few files (families of near-duplicates) for the size of the corpus in
        this language family that they are as specific as that (``Thresholds.rare_share``,
        an IDF bound). Never one the base code has, nor one in more families than the
        base boilerplate cap (``df_cap``, 24): the cap grows with the corpus to keep
        anchors for chaining, not to make one big project's boilerplate (a test
        harness in 60 of its files) evidence of origin."""
        sizes = self.index.lang_files()
        n = sum(v for lang, v in sizes.items() if family == "text" or _FAMILY.get(lang, lang) == family)
        most = int(n * self.t.rare_share)
        cap = int(self.index.params.get("df_cap", 24))
        return {h for h, o in owners.items()
                if h not in based and len(held[h]) <= cap and (len(o) == 1 or len(held[h]) <= most)}

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

    def _fetch(self, fids: list[int]) -> None:
        """The stored streams of those of ``fids`` not read yet, in one round trip."""
        missing = [f for f in fids if self._sources.get(f) is None]
        if missing:
            for fid, src in self.index.sources(missing).items():
                self._sources.put(fid, src)

    def _src(self, fid: int) -> Source:
        got = self._sources.get(fid)
        return got if got is not None else self._sources.put(fid, self.index.sources([fid])[fid])

    def _source(self, fid: int) -> list[int]:
        """An indexed file's normalized tokens, as vocabulary ids."""
        return self._src(fid).stream

    def _source_names(self, fid: int) -> array:
        """``fingerprints.name_codes`` of an indexed file, rebuilt from its stored bytes."""
        out = self._names.get(fid)
        if out is None:
            self._vocab_ids()
            lexical = self._lexical
            stored = iter(self._src(fid).names)
            out = self._names.put(fid, array("l", [next(stored, -1) if c in lexical else -1
                                                   for c in self._source(fid)]))
        return out

    def _verify(self, fid: int, chain: list[Hit], query: Query, rare_set: set[int], based: set[int],
                shared: dict[int, set[str]], *,
                exact: bool = False) -> Region | None:
        """``exact``: the chain is one exact run (``chains.runs``), which only the verbatim
        path may accept: its shape is certain, and only its names can say it is a copy."""
        q = query.codes
        s = self._source(fid)
        k = self.k
        (q0, q1, s0, s1), aligned = align.spans(q, s, chain, k)
        matched = sum(n for _, _, n in aligned)
        sim = 2 * matched / ((q1 - q0) + (s1 - s0))
        rare = sum(1 for _, _, h in chain if h in rare_set)
        # Anchors rare only by the share bound, every one held by the same several projects:
        # code those projects share (gnulib in grep, sed and coreutils), not k-grams an
        # unrelated project holds by chance (then each anchor's other project differs).
        by_share = [shared[h] for *_, h in chain if h in shared]
        if len(by_share) >= 2 and len(set.intersection(*by_share)) > self.t.rare_share_projects:
            rare -= len(by_share)
        diversity = align.diversity(q, q0, q1)
        # Kept names vouch for code shared among copyleft projects, not for code the
        # base (known permissive) has whole: that is a permissive function that a
        # copyleft project vendored. Some generic anchors in base code are normal.
        in_base = len(chain) >= self.t.base_min_anchors and all(h in based for *_, h in chain)
        verbatim = self.t.may_be_verbatim(matched, sim, diversity, rare) and not in_base
        shape = Shape(matched, sim, rare, diversity, len(chain))
        early = self.t.screen(shape, exact=exact, in_base=in_base, verbatim=verbatim)
        if early is not None:
            self._explain(fid, query, (q0, q1, s0, s1), shape, early)
            return None
        decide = partial(self.t.decide_exact if exact else self.t.decide, shape, verbatim)
        names, same, telling = align.kept_names(aligned, query, s, self._source_names(fid), (q0, q1, s0, s1),
                                                diversity < self.t.table_diversity,
                                                lambda n, sm, tl: decide(n, sm, tl).accepted)
        decision = decide(names, same, telling)
        self._explain(fid, query, (q0, q1, s0, s1), shape, decision, (names, same, telling))
        if not decision.accepted:
            return None
        # Judged on all that aligns, reported without the edges that belong to the
        # code around the copy.
        self._vocab_ids()
        q0, s0, q1, s1 = align.trim_edges(q, (q0, s0, q1, s1), chain[0][0] + k, chain[-1][0], query.brace_blocks,
                                          self._edges, self._braces)
        return Region(fid, q0, q1, s0, s1, matched, len(chain), rare, min(sim, 1.0), diversity, names, same,
                      telling)

    def _explain(self, fid: int, query: Query, region: tuple[int, int, int, int], shape: Shape,
                 decision: Decision, names: tuple[int, int, int] | None = None) -> None:
        if explain.active():
            q0, q1, s0, s1 = region
            slines = self._src(fid).lines
            explain.record(explain.Explanation(
                query.path, query.lines[q0], query.lines[max(q0, q1 - 1)], self.index.file(fid).path,
                int(slines[s0]), int(slines[max(s0, s1 - 1)]), shape, decision, names))

    def _select(self, regions: list[Region], query: Query) -> list[Region]:
        """One finding per family for a region, at most ``max_sources`` distinct sources."""
        # The source whose names and literals the text kept is the one it was copied
        # from; the others are its look-alikes. So a renamed name costs a token: a
        # sibling file with the same boilerplate may align one token longer, but it
        # differs in what the copy kept. A rare anchor, which no look-alike's family
        # holds, earns one: 29 coreutils programs share the preamble of groups.c's usage(),
        # and at 8.7x three of them outranked it by a token or two (bench/RESULTS.md).
        regions = self._idioms(regions, query)
        regions.sort(key=lambda r: (-(r.matched - (r.names - r.same) + r.rare), -r.similarity, -r.same, r.fid))
        kept: list[Region] = []
        for r in regions:
            if any(o.fid == r.fid and (align.overlap(o, r) > 0 or align.overlap_source(o, r) >= 0.5)
                   for o in kept):
                self._dropped(r, query, "nested", "inside a stronger region of the same source")
                continue  # a weaker, nested alignment of the same source
            fam = self.index.file(r.fid).family
            overlapping = [o for o in kept if align.overlap(o, r) >= 0.5]
            same = next((o for o in overlapping if self.index.file(o.fid).family == fam), None)
            # The same code found whole in several unrelated files (a helper pasted
            # across bundles, sibling gnulib modules): one finding, the rest listed.
            same = same or next((o for o in overlapping if o.matched == r.matched
                                 and abs(o.similarity - r.similarity) < 0.005
                                 and align.overlap(o, r) >= 0.9), None)
            if same is not None:
                other = self.index.file(r.fid).path
                if r.fid != same.fid and other not in same.also:
                    same.also.append(other)
                self._dropped(r, query, "same-code", f"reported once, with {self.index.file(same.fid).path}")
            elif len(overlapping) < self.t.max_sources:
                kept.append(r)
            else:
                self._dropped(r, query, "max-sources", f"{self.t.max_sources} better sources already cover it")
        return kept

    def _idioms(self, regions: list[Region], query: Query) -> list[Region]:
        """Without the regions whose scanned code matches unrelated sources while keeping few
        names of any (``Thresholds.idiom``): the shape recurs, the names single out nothing;
        then without those that rest on a short shared shape alone (``Thresholds.shape_only``)."""
        if not regions:
            return regions
        family = {r.fid: self.index.file(r.fid).family for r in regions}
        drop: set[int] = set()
        for group in align.overlapping(regions):
            if self.t.idiom(len({family[o.fid] for o in group}), [(o.rare, o.names, o.same, o.telling) for o in group]):
                drop.update(id(o) for o in group)
        for r in regions:
            if id(r) in drop:
                self._dropped(r, query, "idiom", "its shape matches unrelated sources, keeping few names of any")
            elif self.t.shape_only(r.matched, r.rare, r.names, r.same, r.telling):
                drop.add(id(r))
                self._dropped(r, query, "shape-only", f"no rare anchor, < {self.t.telling_min_names} telling names: "
                              f"under {self.t.shape_only_min_tokens} tokens it must keep "
                              f"{self.t.shape_only_min_kept:.0%} of its names")
        return [r for r in regions if id(r) not in drop]

    def _dropped(self, r: Region, query: Query, rule: str, reason: str) -> None:
        """An accepted region that selection folded into another finding (for --explain)."""
        if explain.active():
            self._explain(r.fid, query, (r.q0, r.q1, r.s0, r.s1),
                          Shape(r.matched, r.similarity, r.rare, r.diversity, r.anchors),
                          Decision(False, rule, reason), (r.names, r.same, 0))

    def _finding(self, r: Region, ts: TokenStream, path: str, aliases: list[str]) -> Finding:
        f = self.index.file(r.fid)
        slines = self._src(r.fid).lines
        also = r.also + aliases
        return Finding(
            path=path,
            start_line=ts.lines[r.q0],
            end_line=ts.lines[r.q1 - 1],
            similarity=round(r.similarity, 3),
            license=f.license,
            license_evidence=f.license_evidence,
            source=SourceRef(f.path, int(slines[r.s0]), int(slines[r.s1 - 1])),
            tokens=r.matched,
            language=ts.lang,
            evidence=Evidence(source_id=r.fid, source_tokens=r.s1 - r.s0, anchors=r.anchors, rare_anchors=r.rare,
                              also_in=also, diversity=round(r.diversity, 3),
                              names_kept=round(r.same / r.names, 3) if r.names else None,
                              token_range=[r.q0, r.q1], source_token_range=[r.s0, r.s1]),
        )


def _code(token: str) -> int:
    return zlib.crc32(token.encode("utf-8"))


def _aligned(codes: list[int], vids: dict[int, int]) -> list[int]:
    """Each token code as the index's vocabulary id, or ~code for a token it lacks."""
    if len(codes) > 20000:  # as in hits.positions: one lookup per distinct code
        import numpy as np

        uniq, inverse = np.unique(np.asarray(codes, np.int64), return_inverse=True)
        ids = np.fromiter((vids.get(c, ~c) for c in uniq.tolist()), np.int64, len(uniq))
        return ids[inverse].tolist()
    return [vids.get(c, ~c) for c in codes]
