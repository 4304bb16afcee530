"""Output formats. Each format is one module here with a ``render`` function: adding
a format is adding a module (found by name; ``common`` holds what formats share)."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Protocol, TextIO

from licscan.engine.store import IndexStore
from licscan.model import LicscanError
from licscan.inputs.paths import ScanResult

_SHARED = frozenset({"common"})
_FIRST = ("text", "json", "sarif")
"""Listed first in messages: the formats people reach for."""
_FOUND = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _SHARED)
FORMATS: dict[str, str] = {name: name for name in (*[f for f in _FIRST if f in _FOUND],
                                                  *[f for f in _FOUND if f not in _FIRST])}


class Renderer(Protocol):
    def __call__(self, result: ScanResult, index: IndexStore, out: TextIO, *,
                 side_by_side: bool = False) -> None: ...


def renderer(fmt: str) -> Renderer:
    """The ``render`` function of a format, imported only when used."""
    if fmt not in FORMATS:
        raise LicscanError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return importlib.import_module(f"{__name__}.{FORMATS[fmt]}").render
