"""Source text -> normalized token stream (tree-sitter, or a regex fallback).

Normalization is what makes renamed and edited copies match: identifiers become
``$ID``, numbers ``$NUM``, strings and characters ``$STR``; keywords and operators
keep their text; comments, docstrings and import/include/package declarations
vanish (they say what code uses, not who wrote it, and every file has them).
The raw text and the line of every token are kept beside it for evidence, for
rename-consistency hashing and for comparing names and literals of a match.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from licscan.languages import LANGUAGES, grammar

ID, NUM, STR = "$ID", "$NUM", "$STR"

_SKIP, _IDENT, _NUM, _STR, _KEEP, _DESCEND, _DROP_STMT, _REPARSE, _ANON = range(9)

# Leaf kinds that name things (besides every kind ending in "identifier").
_IDENT_KINDS = frozenset({
    "name", "constant", "word", "variable_name", "simple_symbol", "hash_key_symbol",
    "instance_variable", "class_variable", "global_variable", "special_variable_name",
    "field_name", "label_name", "metavariable", "lifetime", "symbol",
})
_STR_PARTS = ("string", "char", "heredoc", "regex", "rune")
_NUM_PARTS = ("number", "integer", "int_literal", "float", "decimal", "hex_", "octal", "real_literal", "imaginary")
# Statements made of a bare string literal do nothing: they are docstrings
# (Python) or directive prologues, so they are documentation, not code.
_STMT_KINDS = frozenset({"expression_statement"})
# Declarations that only name other code: a run of them is the same boilerplate in
# every project (an import block matched 90 tokens of an unrelated Java file).
_BOILERPLATE_KINDS = frozenset({
    "preproc_include", "import_statement", "import_from_statement", "future_import_statement",
    "import_declaration", "package_declaration", "package_clause", "use_declaration",
    "extern_crate_declaration", "namespace_use_declaration", "using_directive",
})
# Opaque leaves whose text is code the grammar does not parse (C macro bodies).
_REPARSE_KINDS = frozenset({"preproc_arg"})
_KEYWORDISH = re.compile(r"[#@]?[A-Za-z_]\w{0,23}|[^\w\s]{1,3}")

MAX_DEPTH = 2000
"""Subtrees nested deeper than this are skipped (machine-generated or hostile input)."""

# Parse budget. tree-sitter has no time limit of its own and its error recovery is
# quadratic on some inputs (30 KB of unclosed `/* ` took 40 s as C, C++ or Go), so
# a parse that overruns is cancelled and the text goes through the linear fallback
# tokenizer instead. The budget grows with the bytes the parse has got through, not
# with the input's size: a pathological parse stalls (a few hundred bytes in the
# first 0.3 s of `/* `), so it is cut after about PARSE_BUDGET_BASE seconds however
# large the input, while normal code (~0.5 s per MB on a busy 2-core machine) has
# four times the time it needs at every point of the file. A cut parse makes
# build and scan tokenize one text differently, so the margin is wide on purpose.
PARSE_BUDGET_BASE = 0.25
"""Seconds any parse may take."""
PARSE_BUDGET_PER_KB = 0.002
"""Extra seconds per KB the parse has got through (2 s per MB)."""
PARSE_BUDGET_CAP = 5.0
"""Most seconds one parse may take, however far it has got."""
_READ_CHUNK = 1 << 14
"""Bytes per read: how often a long lexer scan checks the budget."""

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


def tokenize(text: str, lang: str) -> TokenStream:
    """Tokenize ``text`` written in ``lang`` (a name from languages.LANGUAGES, or "text")."""
    if lang in LANGUAGES:
        return _tree_sitter_tokens(text, lang)
    return fallback_tokens(text, lang)


# --------------------------------------------------------------------------- tree-sitter

_parsers: dict[str, Any] = {}
_categories: dict[str, dict[int, int]] = {}


def _parser(lang: str) -> Any:
    p = _parsers.get(lang)
    if p is None:
        import tree_sitter

        p = _parsers[lang] = tree_sitter.Parser(grammar(lang))
    return p


def _category(kind: str, named: bool, leaf: bool) -> int:
    if "comment" in kind:
        return _SKIP
    if not named:
        return _ANON if leaf else _DESCEND
    if kind in _BOILERPLATE_KINDS:
        return _SKIP
    if kind in _STMT_KINDS:
        return _DROP_STMT
    if kind in _REPARSE_KINDS:
        return _REPARSE
    if any(p in kind for p in _STR_PARTS):
        return _STR
    if kind.endswith("identifier") or kind in _IDENT_KINDS:
        return _IDENT
    if leaf and any(p in kind for p in _NUM_PARTS):
        return _NUM
    return _KEEP if leaf else _DESCEND


def parse_budget(nbytes: int) -> float:
    """Seconds a parse may have taken by the time it reaches byte ``nbytes``."""
    return min(PARSE_BUDGET_CAP, PARSE_BUDGET_BASE + PARSE_BUDGET_PER_KB * nbytes / 1024)


def _parse(lang: str, src: bytes) -> Any:
    """The tree of ``src``, or None when the parse overran ``parse_budget``."""
    parser = _parser(lang)
    clock = time.perf_counter
    start = clock()
    furthest = 0
    size = len(src)

    cut = False

    def over() -> bool:
        nonlocal cut
        cut = cut or clock() - start > parse_budget(furthest)
        return cut

    # tree-sitter calls back on progress only when it reads through a callback (it
    # ignores the progress callback for a bytestring), with (byte offset, has error),
    # and only between tokens: lexing one unclosed comment of 1 MB scans to the end
    # and took 3 s before the first call. So reads check the budget too, and once it
    # is spent they end the text, which ends that scan.
    def read(offset: int, _point: Any) -> bytes:
        # Chunks end on character boundaries: a cut parse given the end of the text
        # in the middle of a character crashed the process.
        end = offset if over() else offset + _READ_CHUNK
        while end < size and 0x80 <= src[end] < 0xC0:
            end += 1
        return src[offset:end]

    def progress(offset: int, _has_error: bool) -> bool:
        nonlocal furthest
        furthest = max(furthest, offset)  # error recovery may step back
        return over()

    try:
        tree = parser.parse(read, progress_callback=progress)
    except ValueError:  # cancelled: "Parsing failed"
        tree = None
    if cut:
        parser.reset()  # a cancelled parser would otherwise resume this parse next time
        return None
    return tree


# Characters the grammars must not see; each is swapped for a harmless one of the
# same UTF-8 length, so byte offsets still index the original text, from which
# tokens are cut. Both were found by tests/test_fuzz.py and bench/robustness.py:
# - lone surrogates (text decoded with surrogateescape) are 3 bytes of invalid
#   UTF-8 once encoded with surrogatepass; the grammars get U+FFFD (3 bytes too).
# - tree-sitter-bash 0.25's scanner segfaults on some texts holding a code point
#   beyond plane 3 (planes 4-13 are unassigned, 14 holds tags, 15-16 private use),
#   e.g. `{({\U000CF3C2(4({`; seen from U+60000 on, never below U+50000.
_SURROGATES = re.compile("[\ud800-\udfff]")
_ASTRAL = re.compile("[\U00040000-\U0010FFFF]")


def _grammar_input(lang: str, text: str, src: bytes) -> bytes:
    safe = text
    if _SURROGATES.search(safe):
        safe = _SURROGATES.sub("\ufffd", safe)
    if lang == "bash" and _ASTRAL.search(safe):
        safe = _ASTRAL.sub("\U0001F600", safe)
    return src if safe is text else safe.encode("utf-8")


def _tree_sitter_tokens(text: str, lang: str) -> TokenStream:
    src = text.encode("utf-8", "surrogatepass")
    tree = _parse(lang, _grammar_input(lang, text, src))
    if tree is None:
        out = fallback_tokens(text, lang)
        out.fallback_reason = PARSE_BUDGET
        return out
    out = TokenStream(lang)
    if tree.root_node.child_count == 0:
        return out  # empty or whitespace-only: the root is no token
    cats = _categories.setdefault(lang, {})
    norm, raws, lines = out.norm.append, out.raw.append, out.lines.append
    # A cursor walk: no recursion (real inputs nest deeper than Python allows)
    # and no child lists, which is most of the cost on large files.
    cursor = tree.walk()
    depth = 0
    while True:
        node = cursor.node
        leaf = node.child_count == 0
        key = node.kind_id * 2 + leaf
        cat = cats.get(key)
        if cat is None:
            cat = cats[key] = _category(node.type, node.is_named, leaf)
        descend = False
        if cat == _ANON:
            kind = node.type
            if node.end_byte > node.start_byte and kind.strip():  # zero width: MISSING node
                norm(kind[:24])
                raws(kind)
                lines(node.start_point[0] + 1)
        elif cat == _DESCEND:
            descend = depth < MAX_DEPTH
            out.truncated |= not descend
        elif cat == _DROP_STMT:
            named = node.named_children
            descend = not (len(named) == 1 and _categories_is_string(named[0]))
        elif cat != _SKIP:
            raw = src[node.start_byte:node.end_byte].decode("utf-8", "replace")
            line = node.start_point[0] + 1
            if cat == _IDENT:
                out.add(ID, raw, line)
            elif cat == _STR:
                out.add(STR, raw, line)
            elif cat == _NUM:
                out.add(NUM, raw, line)
            elif cat == _REPARSE:
                sub = fallback_tokens(raw, lang)
                for n, r, ln in zip(sub.norm, sub.raw, sub.lines):
                    out.add(n, r, line + ln - 1)
            elif _KEYWORDISH.fullmatch(raw):
                out.add(raw, raw, line)  # named keyword-like leaf: int, true, self, #define
            elif raw:
                # Free-form named leaves (inline HTML, escape sequences) would flood
                # the vocabulary with one-off texts; their kind is what matters.
                out.add(f"<{node.type}>", raw, line)
        if descend and cursor.goto_first_child():
            depth += 1
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return out
            depth -= 1


def _categories_is_string(node: Any) -> bool:
    kind = node.type
    return node.is_named and any(p in kind for p in _STR_PARTS)


# --------------------------------------------------------------------------- fallback

_FALLBACK_KEYWORDS = frozenset(
    """if else elif elsif unless then fi for foreach while until do done end case esac switch
    default break continue return goto function func fun fn def sub proc lambda let var val
    local my our const static public private protected class struct enum interface trait impl
    module package import use require include from new delete try catch finally throw throws
    raise rescue ensure begin yield async await in of not and or is as with nil null none
    true false self this super void int char long short float double bool unsigned signed
    typedef extern object when match where type""".split()
)
# Where each token starts. Comments and strings that can fail to close (`/*`, quotes)
# are only recognised by their opening here and scanned with str.find or a
# backtrack-free regex: the old single regex (`/\*.*?\*/`, `"(?:\\.|...)*"`)
# re-scanned to the end of the text at every unclosed opening, which is quadratic
# (30 KB of `/* ` took 7 s). Alternatives and their order are the old regex's, so
# closed comments and strings give the same tokens as before.
_FALLBACK_PATTERN = r"""(?P<block>/\*)
      |(?P<comment>//[^\n]*|\#[^\n]*|^[ \t]*--[^\n]*|^[ \t]*;[^\n]*)
      |(?P<quote>["'`])
      |(?P<num>\b\d[\w.]*)
      |(?P<word>[A-Za-z_$@][\w$]*)
      |(?P<op>==|!=|<=|>=|&&|\|\||<<|>>|->|=>|::|\+\+|--|\+=|-=|\*=|/=|[^\s\w])"""
_FALLBACK_RE = re.compile(_FALLBACK_PATTERN, re.M | re.X)
# Once no `*/` is left, `/*` is two operators, as an unclosed one is: this form
# needs no restart at each of them (1 MB of `/* ` is 660,000 of them).
_FALLBACK_OPEN_RE = re.compile(_FALLBACK_PATTERN.replace(r"(?P<block>/\*)", r"(?P<block>(?!))"),
                               re.M | re.X)
# A quoted string's body: escapes (which may escape a newline) or any other character
# but the quote, a backslash or a newline. The two alternatives never start alike,
# so the match is a single forward pass.
_BODY = {q: re.compile(r"(?:\\.|[^%s\\\n])*" % q, re.S) for q in "\"'"}


def fallback_tokens(text: str, lang: str = "text") -> TokenStream:
    """Language-agnostic tokenizer for files without a grammar, linear in the text.

    Knows the common comment syntaxes and a union of common keywords; every
    other word is an identifier. Cruder than a grammar, but still survives
    renaming and reformatting.
    """
    out = TokenStream(lang, fallback=True, fallback_reason=NO_GRAMMAR)
    norm, raws, lines = out.norm.append, out.raw.append, out.lines.append
    keywords = _FALLBACK_KEYWORDS
    count = text.count
    line = 1
    counted = 0  # text[:counted] has had its newlines counted
    # Where the last unclosed opening of each kind stopped scanning: any later opening
    # of that kind before that point is unclosed too (see _quoted), so it is not
    # scanned again. That is what keeps the tokenizer linear.
    no_close = {'"': -1, "'": -1, "`": -1}
    regex = _FALLBACK_RE
    pos = 0
    while pos >= 0:
        resume = -1
        for m in regex.finditer(text, pos):
            kind = m.lastgroup
            if kind == "comment":
                continue
            start = m.start()
            line += count("\n", counted, start)
            counted = start
            tok = m.group()
            if kind == "word":
                norm(tok if tok in keywords else ID)
            elif kind == "op":
                # A lone surrogate (text decoded with surrogateescape) cannot be encoded,
                # stored or hashed: its normalized form is the replacement character.
                norm("\ufffd" if tok >= "\ud800" and _SURROGATES.match(tok) else tok)
            elif kind == "num":
                norm(NUM)
            elif kind == "block":
                end = text.find("*/", start + 2)
                if end >= 0:
                    resume = end + 2
                    break
                regex = _FALLBACK_OPEN_RE  # no `*/` after here, so after no later `/*`
                resume = start  # to read `/*` again as operators
                break
            else:  # quote
                end = _quoted(text, start, no_close) if start >= no_close[tok] else -1
                if end < 0:
                    norm(tok)  # an unclosed quote is an operator
                else:
                    tok = text[start:end]
                    norm(STR)
                    resume = end
            raws(tok)
            lines(line)
            if resume >= 0:
                break
        pos = resume
    return out


def _quoted(text: str, start: int, no_close: dict[str, int]) -> int:
    """End of the string literal opening at ``start``, or -1 if it does not close.

    On failure, records where the scan stopped: every character the scan passed
    was either the start of a step or the escaped half of a ``\\x`` pair, so a
    later opening before that point takes the same steps from the next character
    on and fails at the same place."""
    q = text[start]
    if q == "`":
        end = text.find("`", start + 1)
        if end < 0:
            no_close[q] = len(text)
        return end + 1 if end >= 0 else -1
    stop = _BODY[q].match(text, start + 1).end()
    if stop < len(text) and text[stop] == q:
        return stop + 1
    no_close[q] = stop
    return -1
