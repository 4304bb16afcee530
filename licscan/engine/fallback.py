"""The fallback tokenizer: languages without a grammar, and texts whose parse was cut.

Linear on any input, and cheap per token: it is what a text too costly for its
grammar falls back to, within the same time budget. Comments and strings, the
tokens that may not close, are found by their opening and scanned forward once;
the plain code between them is cut into tokens a line at a time by one C-level
``findall``, and each distinct token text is classified once.
"""

from __future__ import annotations

import re
from itertools import accumulate, compress, repeat
from operator import not_

from licscan.engine.stream import ID, NO_GRAMMAR, NUM, STR, SURROGATES, Memo, TokenStream


_FALLBACK_KEYWORDS = frozenset(
    """if else elif elsif unless then fi for foreach while until do done end case esac switch
    default break continue return goto function func fun fn def sub proc lambda let var val
    local my our const static public private protected class struct enum interface trait impl
    module package import use require include from new delete try catch finally throw throws
    raise rescue ensure begin yield async await in of not and or is as with nil null none
    true false self this super void int char long short float double bool unsigned signed
    typedef extern object when match where type""".split()
)
# Where each special token starts: comments and the openings of block comments and
# strings. Nothing else can start with these characters where a token starts (no
# word, number or operator holds them: `/=`, `--` and the rest are told apart from
# them as one regex over both would), so the plain code between two of them is
# tokenized on its own. `/*` and quotes are scanned from their opening with
# str.find or a backtrack-free regex: a regex matching whole comments and strings
# (`/\*.*?\*/`) re-scanned to the end of the text at every unclosed opening, which
# is quadratic (30 KB of `/* ` took 7 s).
_BLOCK = r"/\*"
_COMMENT = r"//|\#|^[ \t]*--|^[ \t]*;"
_STRING = {'"': r'"(?:\\[^\n]|[^"\\\n])*+"', "'": r"'(?:\\[^\n]|[^'\\\n])*+'", "`": r"`[^`\n]*+`"}
_special_res: dict[tuple[bool, str], re.Pattern[str]] = {}


def _special_re(block: bool, quotes: str) -> re.Pattern[str]:
    """The openings to look for: ``/*`` only while a ``*/`` is left (after it, an
    unclosed ``/*`` is two operators, as it is before), and the quotes in ``quotes``
    (a quote known not to close before some point is an operator until then)."""
    key = (block, quotes)
    if key not in _special_res:
        # A quote that closes on its line is matched whole, here, or else alone.
        strings = [_STRING[q] for q in quotes] + ([f"[{quotes}]"] if quotes else [])
        parts = ([_BLOCK] if block else []) + [_COMMENT] + strings
        _special_res[key] = re.compile("|".join(parts), re.M)
    return _special_res[key]


# The plain tokens, and newlines, whose matches number the lines of the tokens
# between them.
_PLAIN_RE = re.compile(r"""\n
      |\b\d[\w.]*
      |[A-Za-z_$@][\w$]*
      |==|!=|<=|>=|&&|\|\||<<|>>|->|=>|::|\+\+|--|\+=|-=|\*=|/=|[^\s\w]""", re.X)
# A quoted string's body: escapes (which may escape a newline) or any other character
# but the quote, a backslash or a newline. The two alternatives never start alike,
# so the match is a single forward pass.
_BODY = {q: re.compile(r"(?:\\.|[^%s\\\n])*" % q, re.S) for q in "\"'"}


def _normalized(tok: str) -> str:
    if tok[0].isdigit():
        return NUM
    if tok[0].isalpha() or tok[0] in "_$@":
        return tok if tok in _FALLBACK_KEYWORDS else ID
    # A lone surrogate (text decoded with surrogateescape) cannot be encoded,
    # stored or hashed: its normalized form is the replacement character.
    return "\ufffd" if SURROGATES.match(tok) else tok



def fallback_tokens(text: str, lang: str = "text") -> TokenStream:
    """Language-agnostic tokenizer for files without a grammar, linear in the text.

    Knows the common comment syntaxes and a union of common keywords; every
    other word is an identifier. Cruder than a grammar, but still survives
    renaming and reformatting.
    """
    out = TokenStream(lang, fallback=True, fallback_reason=NO_GRAMMAR)
    norm, raws, lines = out.norm, out.raw, out.lines
    normalize = Memo(_normalized).__getitem__  # each distinct token text classified once
    count, findall = text.count, _PLAIN_RE.findall
    line = 1
    counted = 0  # text[:counted] has had its newlines counted into ``line``
    # Where the last unclosed opening of each kind stopped scanning: any later opening
    # of that kind before that point is unclosed too (see _quoted), so it is an
    # operator and is not scanned again. That is what keeps the tokenizer linear.
    no_close = {'"': -1, "'": -1, "`": -1}
    block = True
    pos, size = 0, len(text)
    special, until = None, 0
    while pos < size:
        if special is None or pos >= until:
            blind = [q for q, stop in no_close.items() if stop > pos]
            # A blind quote's scan stopped at a newline or at the end, where no token
            # spans, so the text can be cut there.
            until = min((no_close[q] for q in blind), default=size)
            special = _special_re(block, "".join(q for q in "\"'`" if q not in blind))
        m = special.search(text, pos, until)
        stop = until if m is None else m.start()
        if stop > pos:
            line += count("\n", counted, pos)
            toks = findall(text, pos, stop)
            if len(toks) < 32:  # one statement between strings: a loop beats the set-up below
                for tok in toks:
                    if tok == "\n":
                        line += 1
                    else:
                        norm.append(normalize(tok))
                        raws.append(tok)
                        lines.append(line)
            else:
                if "\n" in toks:
                    # The newline matches number the lines of the tokens between them.
                    plain = [t != "\n" for t in toks]
                    numbers = accumulate(map(not_, plain), initial=line)
                    toks = list(compress(toks, plain))
                    lines.extend(compress(numbers, plain))
                    line += len(plain) - len(toks)
                else:
                    lines.extend(repeat(line, len(toks)))
                norm.extend(map(normalize, toks))
                raws.extend(toks)
            counted = stop
        if m is None:
            pos = until
            continue
        start = stop
        c = text[start]
        if c == "/" and text.startswith("/*", start) and block:
            end = text.find("*/", start + 2)
            if end >= 0:
                pos = end + 2
            else:
                block, special = False, None  # no `*/` after here, so after no later `/*`
                pos = start  # to read `/*` again as operators
        elif c not in "\"'`":  # a comment, to the end of its line
            end = text.find("\n", start)
            pos = size if end < 0 else end
        else:
            line += count("\n", counted, start)
            counted = start
            tok = m.group()
            if len(tok) > 1:  # closed: the opening matched its whole string
                pos = m.end()
                norm.append(STR)
            elif _quoted(text, start, no_close) < 0:
                pos, special = start + 1, None
                norm.append(c)  # an unclosed quote is an operator
            else:  # closed, with escaped newlines
                pos = _quoted(text, start, no_close)
                tok = text[start:pos]
                norm.append(STR)
            raws.append(tok)
            lines.append(line)
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
