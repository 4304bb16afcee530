"""The fallback tokenizer: languages without a grammar, and texts whose parse was cut.

Linear on any input: comments and strings that may not close are found by their
opening and scanned forward once (see ``_FALLBACK_PATTERN``).
"""

from __future__ import annotations

import re

from licscan.engine.stream import ID, NO_GRAMMAR, NUM, STR, SURROGATES, TokenStream


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
                norm("\ufffd" if tok >= "\ud800" and SURROGATES.match(tok) else tok)
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
