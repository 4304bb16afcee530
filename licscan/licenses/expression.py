"""SPDX license expressions as users write them: checked before anything relies on them.

``check_expression`` needs no license library (a clean scan never imports one);
``check_parses`` asks the library that verdicts use, once something is judged.
"""

from __future__ import annotations

import re

from licscan.model import LicscanError

_SPDX_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:_+-]*")


def check_expression(expr: str, origin: str) -> str:
    """An SPDX expression's syntax (``id [WITH id]`` joined by AND/OR, in parentheses),
    checked without the license libraries that a clean scan never imports. Returns it
    whitespace-normalized; a malformed one is a one-line LicscanError, up front."""
    text = " ".join(expr.split())
    depth, want = 0, "id"  # what comes next: an id (or "("), an exception id, or an operator (or ")")
    for tok in re.findall(r"[()]|[^\s()]+", text):
        word = tok.lower()
        if want == "op" and tok == ")" and depth > 0:
            depth -= 1
        elif want == "op" and word in ("and", "or", "with"):
            want = "exception" if word == "with" else "id"
        elif want == "id" and tok == "(":
            depth += 1
        elif want != "op" and word not in ("and", "or", "with") and _SPDX_ID.fullmatch(tok):
            want = "op"
        else:
            raise LicscanError(f"{origin}: invalid SPDX expression {expr!r} (unexpected {tok!r})")
    if want != "op" or depth:
        raise LicscanError(f"{origin}: invalid SPDX expression {expr!r} (incomplete)")
    return text


def check_parses(expr: str, origin: str) -> None:
    """The license library must parse the project license, or every verdict would crash:
    a one-line error instead (``check_expression`` already caught most mistakes)."""
    from licscan.licenses.text import _spdx_licensing

    lic = _spdx_licensing()
    try:
        if lic is not None and lic.parse(expr, validate=False) is None:
            raise ValueError("nothing to parse")
    except Exception as e:  # noqa: BLE001 - the library raises several unrelated types
        raise LicscanError(f"{origin}: invalid SPDX expression {expr!r}: {e}") from None
