"""JSON report: the stable contract other tools read (see README)."""

from __future__ import annotations

import json
from typing import TextIO

from licscan.engine.index import Index
from licscan.inputs.paths import ScanResult


def render(result: ScanResult, index: Index, out: TextIO, *, side_by_side: bool = False) -> None:
    doc = {
        "findings": [f.to_dict() for f in result.findings],
        "summary": {
            "scanned": result.scanned,
            "findings": len(result.findings),
            "skipped": {reason: paths for reason, paths in sorted(result.skipped.items())},
            "index": str(index.path),
            "corpus_sha256": index.meta.get("corpus_sha256"),
        },
    }
    json.dump(doc, out, indent=2)
    out.write("\n")
