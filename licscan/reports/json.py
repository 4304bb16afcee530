"""JSON report: the stable contract other tools read (see README).

The document's shape is described by ``licscan/data/report.schema.json``: fields
may be added, never removed. ``REPORT_VERSION`` names that shape, not the tool.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from licscan import __version__
from licscan.engine.store import IndexStore
from licscan.inputs.paths import ScanResult

REPORT_VERSION = "1.2"
"""Format version of the report. Bump the minor part when fields are added, the
major part if one is ever removed or changes meaning (the contract says never)."""
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "data" / "report.schema.json"
"""JSON Schema (draft 2020-12) of the report, shipped as package data."""


def document(result: ScanResult, index: IndexStore) -> dict[str, Any]:
    """The report as a JSON-ready dict."""
    return {
        "version": REPORT_VERSION,
        "tool": {"name": "licscan", "version": __version__},
        "findings": [f.to_dict() for f in result.findings],
        "summary": {
            "scanned": result.scanned,
            "findings": len(result.findings),
            "skipped": {reason: paths for reason, paths in sorted(result.skipped.items())},
            "skipped_detail": dict(sorted(result.details.items())),
            "skipped_failing": (None if result.failing_skips is None
                                else {reason: paths for reason, paths in sorted(result.failing_skips.items())}),
            "noted": {reason: paths for reason, paths in sorted(result.noted.items())},
            "index": str(index.path),
            "corpus_sha256": index.meta.get("corpus_sha256"),
        },
    }


def render(result: ScanResult, index: IndexStore, out: TextIO, *, side_by_side: bool = False) -> None:
    json.dump(document(result, index), out, indent=2)
    out.write("\n")
