"""Step 1 of the resolution: a notice's detection mapped exactly to what its words say.

Scancode reads a notice well but answers with everything it recognized: a generic
"other copyleft" next to the GPL it named (ioquake3), an exception the notice does not
grant, a bzip2 rule matched by "see the COPYING file in the source distribution"
(htop), a version taken from a link. Here each part of the answer is kept only when
the notice's own words support it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from licscan.licenses.declare import gnu_reading
from licscan.licenses.text import GNU_ID, join_and, tokens

# Scancode ids that only say "some copyleft/permissive terms": next to a named license in
# the same notice they are an echo of it (ioquake3's plain GPL-2.0+ notice), not a second license.
_GENERIC = re.compile(r"^LicenseRef-scancode-(other-copyleft|other-permissive|free-unknown|unknown.*|"
                      r"generic-.*|warranty-disclaimer)$")
_EXCEPTION_WORDS = re.compile(r"exception|additional permission|permission to link|link(ed|ing)? (it )?with",
                              re.I)


def family(expr: str) -> str | None:
    """GPL, LGPL or AGPL for a GNU id (``LGPL-2.1-or-later``), else None."""
    m = GNU_ID.match(expr)
    return f"{m.group(1) or ''}GPL" if m else None


def _stem(spdx_id: str) -> str:
    """The name a license goes by in prose: ``bzip2-1.0.6`` -> ``bzip2``, ``BSD-3-Clause`` -> ``bsd``."""
    return re.split(r"[-.\d]", spdx_id.removeprefix("LicenseRef-scancode-"), maxsplit=1)[0].lower()


def _supported(parts: list[str], notice: str) -> list[str]:
    """The parts of an AND that the notice's words support.

    A short GNU notice ("Released under the GNU GPLv2+, see the COPYING file in the source
    distribution", htop) has no second license: a part whose name it never says and whose
    terms it does not spell out (no permission or redistribution wording) is a matcher's
    echo. GNU parts of a family the words never name (a link's AGPL) go the same way."""
    ids, unversioned = gnu_reading(notice)
    named = {family(i) for i in ids} | set(unversioned)
    if not named:
        return parts
    words = tokens(notice)
    spelled = re.search(r"permission|redistribut|provided that|as is|public domain|distributed with|"
                        r"other licen|exception", words)
    keep = []
    for p in parts:
        fam = family(p.split(" WITH ")[0])
        if fam is not None:
            if fam in named:
                keep.append(p)
        elif spelled or re.search(rf"\b{re.escape(_stem(p))}", words):
            keep.append(p)
    return keep or parts


@lru_cache(maxsize=4096)  # once per distinct notice and detection, not once per file
def refine_notice(expr: str | None, notice: str) -> tuple[str | None, str | None]:
    """(expression mapped exactly, GNU family named without a version) of a notice's detection."""
    if expr and "(" not in expr and " OR " not in expr:
        parts = expr.split(" AND ")
        strong = [p for p in parts if not _GENERIC.match(p)] or parts
        if not _EXCEPTION_WORDS.search(notice):
            strong = [p.split(" WITH ")[0] for p in strong]
        strong = _supported(strong, notice)
        if "BSD-3-Clause" in strong and "BSD-2-Clause" in strong:
            # Both read from one notice: the third clause's words decide which it is.
            third = re.search(r"endorse|promote|neither the name", notice, re.I)
            strong = [p for p in strong if p != ("BSD-2-Clause" if third else "BSD-3-Clause")]
        expr = join_and(strong)
    ids, unversioned = gnu_reading(notice)
    if unversioned and not ids and expr and all(family(p) in unversioned for p in expr.split(" AND ")):
        return None, unversioned[0]  # "licensed under the GPL" + a link: the version is not in the words
    if not expr and unversioned and not ids:
        return None, unversioned[0]
    return expr, None
