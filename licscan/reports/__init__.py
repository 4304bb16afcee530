"""Output formats. Each format is one module here with a ``render`` function;
adding a format is adding a module and a line in ``FORMATS``."""

from __future__ import annotations

import importlib
from typing import Protocol, TextIO

from licscan.engine.store import IndexStore
from licscan.model import LicscanError
from licscan.inputs.paths import ScanResult

FORMATS: dict[str, str] = {"text": "text", "json": "json"}
FORMATS["sarif"] = "sarif"
FORMATS["spdx"] = "spdx"
FORMATS["cyclonedx"] = "cyclonedx"
FORMATS["markdown"] = "markdown"
FORMATS["html"] = "html"


class Renderer(Protocol):
    def __call__(self, result: ScanResult, index: IndexStore, out: TextIO, *,
                 side_by_side: bool = False) -> None: ...


def renderer(fmt: str) -> Renderer:
    """The ``render`` function of a format, imported only when used."""
    if fmt not in FORMATS:
        raise LicscanError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return importlib.import_module(f"{__name__}.{FORMATS[fmt]}").render
