"""licscan: find code copied from copyleft projects, with its source, license and obligations."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from licscan.model import Finding

_matchers: dict[str, object] = {}


def scan_text(code: str, lang: str | None = None, *, index: str | None = None) -> list[Finding]:
    """Findings for one piece of code, in process (for IDE plugins and agents).

    ``index`` defaults to the LICSCAN_INDEX environment variable. The opened index
    is kept for later calls.
    """
    import os

    from licscan.engine.index import open_index
    from licscan.engine.matcher import Matcher
    from licscan.model import LicscanError

    path = index or os.environ.get("LICSCAN_INDEX")
    if not path:
        raise LicscanError("no index given: pass index=... or set LICSCAN_INDEX")
    m = _matchers.get(path)
    if m is None:
        m = _matchers[path] = Matcher(open_index(path))
    return m.scan_text(code, lang)  # type: ignore[attr-defined]
