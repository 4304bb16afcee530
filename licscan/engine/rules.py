"""When an aligned region counts as a copy: named evidence rules, each with its reason.

The thresholds were measured on bench/accuracy.py and are adjustable per policy
(``Policy.thresholds``). ``Thresholds.decide`` names the rule that accepted or
rejected a region; ``scan --explain`` shows it for every candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple


class Shape(NamedTuple):
    """What the normalized alignment of a region says, names aside."""

    matched: int
    similarity: float
    rare: int
    diversity: float
    anchors: int


class Decision(NamedTuple):
    """A rule's verdict on a region: accepted or not, the rule's name, and why."""

    accepted: bool
    rule: str
    reason: str


@dataclass
class Thresholds:
    """When an aligned region counts as a copy.

    A match with at least one *rare* anchor (a fingerprint that only its source
    family has in the index, and the index's base code has not) needs 50
    normalized tokens at 75 % similarity, the field's usual floor for code
    clones; chat-sized snippets count from 40 tokens when near-verbatim (90 %),
    and from 30 with three rare anchors. A match made only of fingerprints that
    other programs share is a common token shape: it needs 50 tokens, 90 %
    similarity and must not be table-shaped.

    Normalized tokens forget names and values, so every match is also asked what
    it kept of them. A copy keeps some: renaming stops at the names a program
    calls or exports, and at most of its constants. Two programs that merely share
    a token shape usually keep none (measured on the permissive negatives: half
    of their matches agree on no name or literal at all, while every detected
    renamed copy kept at least two). A data table is only a copy if its values
    are. Conversely, a near-verbatim match whose names and literals are nearly all
    kept is a copy from 35 tokens on, whatever its rarity among the indexed
    projects (not if the base code has it whole). The numbers come from
    bench/accuracy.py (see the README).
    """

    min_tokens: int = 50
    min_similarity: float = 0.75
    rare_share: float = 1 / 2048
    """A fingerprint is rare when one project alone has it, or when it is in at most
    this share of the indexed files of the scanned text's language family (near-
    duplicate files counted once): an IDF bound. "One project" alone erodes: an
    unrelated project (a kernel) that happens to hold one k-gram of a copy takes
    that anchor away, and at 8x the corpus most anchors of an edited copy were gone
    (issue 12). At the accuracy corpus (3,086 C and C++ files) the bound is 1 file,
    so there only the one-project rule applies, as tuned; it grows with the files of
    the language, as the chance that a k-gram turns up elsewhere does. Measured with
    bench/scale.py (bench/RESULTS.md): 1/1024 let a permissive negative through, 1/4096
    lost an edited copy that 1/2048 keeps at 2.65x the accuracy corpus."""
    rare_share_projects: int = 2
    """Anchors of one match that are rare by the share bound only do not count as rare when
    more than this many projects hold every one of them: that is code those projects share
    (gnulib's, in grep, sed and coreutils), however few its files, where k-grams that
    unrelated projects hold by chance are held by a different project each. With the share
    alone, an independent ``mmap`` idiom matched gnulib's at 4x and 8x the accuracy corpus,
    where the bound had grown to 7-16 files (bench/RESULTS.md)."""
    min_tokens_short: int = 40
    min_similarity_short: float = 0.9
    min_tokens_rare: int = 30
    min_rare_anchors: int = 3
    min_similarity_rare: float = 0.85
    common_min_similarity: float = 0.9
    """Least similarity of a match that has no fingerprint rare to its source family."""
    min_diversity: float = 0.25
    """Least distinct-6-gram share of such a match: tables and lists repeat one short
    row shape (``{ "name", CONST },``), so their 6-grams recur; ordinary code falls
    below 0.3 only when it is itself a run of near-identical statements."""
    min_tokens_table: int = 200
    """A near-verbatim table this long is a copy, however repetitive (if its values agree)."""
    min_same_names: int = 2
    """Least number of aligned names and literals whose raw text the copy kept."""
    renamed_min_tokens: int = 150
    renamed_min_rare: int = 5
    """A long match with this many rare anchors needs no kept names: a thorough
    rename of a whole function is still a copy, and that much structure is evidence."""
    short_min_same: float = 0.5
    """A match shorter than ``min_tokens`` (a chat-sized snippet) must keep at least
    this share of its names and literals: short shapes recur, short texts do not."""
    verbatim_min_tokens: int = 35
    verbatim_min_similarity: float = 0.9
    verbatim_min_same: float = 0.9
    verbatim_min_names: int = 6
    """A near-verbatim match that kept this share of at least this many names and
    literals is a copy from ``verbatim_min_tokens`` on, rare anchors or not: code
    vendored in several indexed projects (gnulib) has no rare fingerprint, and its
    names are evidence enough."""
    verbatim_min_tokens_rare: int = 30
    """With one rare anchor or more, the verbatim path opens from this many tokens: a
    chat-sized snippet (30-34 tokens) copied with its names used to need three rare
    anchors, which a growing index takes away (unrelated projects hold the same short
    k-grams: at 8.7x the accuracy corpus, pylint snippets kept one or two of three or four
    once mercurial and ansible were indexed). Measured with bench/scale.py on four case
    sets, one generated after the rule (bench/RESULTS.md): more snippets found at 1x and
    8.7x, no copy lost, no false positive added."""
    telling_min_names: int = 2
    generic_min_similarity: float = 0.98
    """A match that kept fewer than this many distinct *telling* names and literals
    (not i, n, len, 0, ...: ``fingerprints.telling``) has only its shape for evidence,
    which must then be strong: at least ``min_tokens`` long, and exact or
    ``min_similarity_short`` with ``renamed_min_rare`` rare anchors (a renamed and
    edited copy). Independent code for one idiom (compare two arrays, walk a list)
    differs in a statement or two and has few anchors of its own; a short one
    (skip "." and "..", unlink a node from a doubly linked list) is written the same
    way, token for token, by everyone. Measured on bench/accuracy.py: every detected
    copy that kept fewer was exact and 50 tokens or longer, and every false
    positive with fewer was not."""
    shape_only_min_tokens: int = 60
    shape_only_min_kept: float = 0.5
    """A match with no rare anchor and fewer than ``telling_min_names`` telling names has
    nothing but a token shape that other families share; shorter than this many tokens it
    must also have kept this share of its names and literals. Two league/commonmark test
    methods (BSD) matched mediawiki's tests at 8.7x the accuracy corpus: 54-55 tokens of
    ``$this->assertStringContainsString('...', $result->getAttribute('...'));``, exact,
    no rare anchor, 4 of 22 names kept. The copies found by shape alone on four case sets
    were 64 tokens or longer, or kept their names (a 35-token snippet, 12 of 12); any
    floor from 56 to 64 tokens and 30 % to 50 % kept gave the same results there."""
    table_diversity: float = 0.3
    table_min_same: float = 0.3
    """A match below ``table_diversity`` is table-shaped; its names and literals must
    agree at least this often (two CRC tables of different polynomials align perfectly)."""
    base_min_anchors: int = 5
    """Fewest anchors that can show the base code has a match *whole*. Fingerprints
    are normalized, so two to four of them in a large base are the shape of a
    statement or two (``x[sizeof x - 1] = 0; strncpy (...)``), not the code:
    measured on bench/accuracy.py, counting shorter chains as base code lost 5
    detected copies over five case sets and spared no permissive file or function."""
    max_sources: int = 3
    idiom_min_sources: int = 2
    idiom_max_rare: int = 1
    idiom_max_kept: float = 0.5
    """A scanned region that matches ``idiom_min_sources`` unrelated sources (families) or
    more is an idiom when none of the matches has more than ``idiom_max_rare`` rare anchors
    or ``telling_min_names`` telling names, and most kept under this share of their names:
    the token shape recurs across programs, and the names single out none of them (an
    ``equals`` in 54 files of one Java project, a SHA-1 update loop). A copy keeps the names
    of the one it came from, and the same code vendored in several places keeps them all.
    At 8.7x the accuracy corpus this rule rejected the only idiom and permissive false
    positives on two case sets and lost no copy on either (bench/RESULTS.md)."""

    def idiom(self, sources: int, matches: list[tuple[int, int, int, int]]) -> bool:
        """Whether overlapping matches of one scanned region, in ``sources`` unrelated
        sources, are an idiom; ``matches``: (rare anchors, names, kept, telling kept) each."""
        if sources < self.idiom_min_sources or any(
                rare > self.idiom_max_rare or telling >= self.telling_min_names for rare, _, _, telling in matches):
            return False
        kept = sorted(same / names if names else 0.0 for _, names, same, _ in matches)
        return kept[len(kept) // 2] < self.idiom_max_kept

    def adjusted(self, min_tokens: int | None = None, min_similarity: float | None = None) -> Thresholds:
        """A copy with the user's floors; the snippet paths never ask for more than they do."""
        t = replace(self)
        if min_tokens is not None:
            t.min_tokens = min_tokens
            t.min_tokens_short = min(t.min_tokens_short, min_tokens)
            t.min_tokens_rare = min(t.min_tokens_rare, min_tokens)
            t.verbatim_min_tokens = min(t.verbatim_min_tokens, min_tokens)
            t.verbatim_min_tokens_rare = min(t.verbatim_min_tokens_rare, min_tokens)
            # ten tokens over the floor, as by default (50, 60)
            t.shape_only_min_tokens = min(t.shape_only_min_tokens, min_tokens + 10)
        if min_similarity is not None:
            t.min_similarity = min_similarity
            t.common_min_similarity = max(min_similarity, t.common_min_similarity)
        return t

    def accepts(self, matched: int, sim: float, rare: int, diversity: float) -> bool:
        """Whether the aligned token shape is enough for a copy (names aside)."""
        if rare == 0:
            # Without a single fingerprint specific to this source, accept only a
            # near-verbatim match that is not table-shaped: macro lists, constant
            # runs and data arrays repeat a few token patterns and align with
            # every other table.
            return (matched >= self.min_tokens and sim >= self.common_min_similarity
                    and (diversity >= self.min_diversity or matched >= self.min_tokens_table))
        return ((matched >= self.min_tokens and sim >= self.min_similarity)
                or (matched >= self.min_tokens_short and sim >= self.min_similarity_short)
                or (matched >= self.min_tokens_rare and rare >= self.min_rare_anchors
                    and sim >= self.min_similarity_rare))

    def may_be_verbatim(self, matched: int, sim: float, diversity: float, rare: int) -> bool:
        """Whether the token shape leaves room for the verbatim path (names not known yet)."""
        floor = self.verbatim_min_tokens_rare if rare else self.verbatim_min_tokens
        return matched >= floor and sim >= self.verbatim_min_similarity and diversity >= self.table_diversity

    def judge(self, matched: int, sim: float, rare: int, diversity: float, verbatim: bool,
              names: int, same: int, telling: int) -> bool:
        """The verdict on a match, names included; ``verbatim``: the verbatim path is open
        (``may_be_verbatim``, and the base code does not hold every anchor);
        ``telling``: distinct telling names and literals kept."""
        if telling < self.telling_min_names and (matched < self.min_tokens or not (
                sim >= self.generic_min_similarity
                or (rare >= self.renamed_min_rare and sim >= self.min_similarity_short))):
            return False
        if self.accepts(matched, sim, rare, diversity) and self.names_agree(matched, rare, diversity, names, same):
            return True
        return verbatim and self.kept_verbatim(names, same)

    def shape_only(self, matched: int, rare: int, names: int, same: int, telling: int) -> bool:
        """Whether a match rests on a shared token shape alone and is too short for that.
        Applied at selection, after the idiom rule, where such a match still counts as one
        more source holding the shape (applied in ``judge`` it brought the josm ``equals``
        idiom back at 8.7x)."""
        return (telling < self.telling_min_names and rare == 0 and matched < self.shape_only_min_tokens
                and same < self.shape_only_min_kept * names)

    def kept_verbatim(self, names: int, same: int) -> bool:
        """Whether nearly all of enough names and literals were kept (the verbatim path)."""
        return names >= self.verbatim_min_names and same >= self.verbatim_min_same * names

    def names_agree(self, matched: int, rare: int, diversity: float, names: int, same: int) -> bool:
        """Whether the match kept enough of its source's names and literals.
        ``names``: aligned name/literal pairs; ``same``: those whose raw text agrees."""
        table = diversity < self.table_diversity
        if table and names and same < self.table_min_same * names:
            return False
        # Below the usual floor, only distinctive tokens make a copy: the names too.
        if matched < self.min_tokens and same < self.short_min_same * names:
            return False
        return same >= self.min_same_names or (
            matched >= self.renamed_min_tokens and rare >= self.renamed_min_rare and not table)

    # ------------------------------------------------------------------ named rules

    def screen(self, shape: Shape, *, exact: bool, in_base: bool, verbatim: bool) -> Decision | None:
        """A rejection decided before names are counted, or None to go on."""
        m, sim, rare, div, _ = shape
        if exact:
            if m < self.verbatim_min_tokens:
                return Decision(False, "exact-run", f"exact run of {m} tokens < {self.verbatim_min_tokens}")
            if in_base and shape.anchors > 1:
                return Decision(False, "base-code", "the base (permissive) code holds every anchor")
            return None
        if verbatim or self.accepts(m, sim, rare, div):
            return None
        why = "base code holds every anchor; " if self.may_be_verbatim(m, sim, div, rare) else ""
        return Decision(False, "shape", why + self._shape_reason(shape))

    def decide(self, shape: Shape, verbatim: bool, names: int, same: int, telling: int) -> Decision:
        """The rules in the order ``judge`` applies them; same verdict, with its name and reason."""
        m, sim, rare, div, _ = shape
        kept = f"kept {same}/{names} names and literals, {telling} telling"
        if telling < self.telling_min_names and (m < self.min_tokens or not (
                sim >= self.generic_min_similarity or (rare >= self.renamed_min_rare and sim >= self.min_similarity_short))):
            return Decision(False, "generic-names", f"{kept}; with fewer than {self.telling_min_names} telling names "
                            f"the shape must be >= {self.min_tokens} tokens and exact, or have "
                            f"{self.renamed_min_rare} rare anchors")
        shaped = self.accepts(m, sim, rare, div)
        if shaped and self.names_agree(m, rare, div, names, same):
            return Decision(True, "shape+names", f"{self._shape_summary(shape)}; {kept}")
        if verbatim and self.kept_verbatim(names, same):
            return Decision(True, "verbatim", f"near-verbatim {m} tokens; {kept}")
        if not shaped:
            return Decision(False, "verbatim", f"{kept}: not near-verbatim enough for the verbatim path "
                            f"(>= {self.verbatim_min_names} names, {self.verbatim_min_same:.0%} kept)")
        return Decision(False, "names", f"{kept}: {self._names_reason(m, rare, div, names, same)}")

    def decide_exact(self, shape: Shape, _verbatim: bool, names: int, same: int, telling: int) -> Decision:
        """An exact run (``chains.runs``) is a copy only by the verbatim path."""
        if self.kept_verbatim(names, same):
            return Decision(True, "exact-run", f"exact run of {shape.matched} tokens; kept {same}/{names} names")
        return Decision(False, "exact-run", f"exact run of {shape.matched} tokens kept {same}/{names} names "
                        f"(needs >= {self.verbatim_min_names} at {self.verbatim_min_same:.0%})")

    def _shape_summary(self, shape: Shape) -> str:
        return (f"{shape.matched} tokens at {shape.similarity:.0%} similarity, {shape.rare} rare of "
                f"{shape.anchors} anchors")

    def _shape_reason(self, shape: Shape) -> str:
        m, sim, rare, div, _ = shape
        if rare == 0:
            if div < self.min_diversity and m < self.min_tokens_table:
                return f"{self._shape_summary(shape)}: table-shaped (diversity {div:.2f}) with no rare anchor"
            return (f"{self._shape_summary(shape)}: no rare anchor, so >= {self.min_tokens} tokens at "
                    f"{self.common_min_similarity:.0%} are needed")
        return (f"{self._shape_summary(shape)}: below {self.min_tokens} tokens at {self.min_similarity:.0%}, "
                f"{self.min_tokens_short} at {self.min_similarity_short:.0%} and {self.min_tokens_rare} with "
                f"{self.min_rare_anchors} rare anchors")

    def _names_reason(self, m: int, rare: int, div: float, names: int, same: int) -> str:
        if div < self.table_diversity and names and same < self.table_min_same * names:
            return f"a table whose values differ (< {self.table_min_same:.0%} kept)"
        if m < self.min_tokens and same < self.short_min_same * names:
            return f"a short match must keep {self.short_min_same:.0%} of its names"
        return f"fewer than {self.min_same_names} names kept"
