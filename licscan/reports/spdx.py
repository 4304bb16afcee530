"""SPDX 2.3 (JSON): one Snippet per finding, in the scanned file that holds it.

Each Snippet has the finding's byte range (1-based, inclusive, of the file's bytes)
and line range, the upstream file's license as concluded license, and a comment
with the upstream path, lines, similarity, verdict and obligations. Each upstream
project is a Package the snippets are related to (``OTHER``: "copied from"), so
the document answers where the code came from. Built and validated with
spdx-tools; an invalid document is an error, never written.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from licscan import __version__
from licscan.engine.store import IndexStore
from licscan.model import Finding, LicscanError
from licscan.inputs.paths import ScanResult
from licscan.reports import common


def render(result: ScanResult, index: IndexStore, out: TextIO, *, side_by_side: bool = False) -> None:
    try:
        from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream
    except ImportError:
        raise LicscanError("--format spdx needs spdx-tools: pip install 'licscan[reports]'") from None
    doc = document(result, index)
    try:
        write_document_to_stream(doc, out, validate=True)
    except ValueError as e:
        raise LicscanError(f"the SPDX document did not validate: {e}") from None


def document(result: ScanResult, index: IndexStore) -> Any:
    from spdx_tools.spdx.model import (
        Actor, ActorType, Checksum, ChecksumAlgorithm, CreationInfo, Document, File, Package,
        Relationship, RelationshipType, Snippet, SpdxNoAssertion,
    )

    licenses = _Licenses()
    creation = CreationInfo(
        spdx_version="SPDX-2.3", spdx_id="SPDXRef-DOCUMENT", name="licscan findings",
        document_namespace=f"https://spdx.org/spdxdocs/licscan-{uuid.uuid4()}",
        creators=[Actor(ActorType.TOOL, f"licscan-{__version__}")],
        created=datetime.now(timezone.utc).replace(microsecond=0),
        document_comment=(f"Code copied from indexed copyleft projects, found by licscan: "
                          f"{len(result.findings)} finding(s) in {result.scanned} scanned file(s)."),
    )
    doc = Document(creation)
    by_path: dict[str, list[Finding]] = {}
    for f in result.findings:
        by_path.setdefault(f.path, []).append(f)
    upstreams: dict[tuple[str, str | None], str] = {}
    for i, (path, findings) in enumerate(sorted(by_path.items()), 1):
        data = _bytes(path, result.texts.get(path))
        file_id = f"SPDXRef-File-{i}"
        lics = [licenses.expr(f.license) for f in findings]
        doc.files.append(File(
            name=_spdx_name(path), spdx_id=file_id,
            checksums=[Checksum(ChecksumAlgorithm.SHA1, hashlib.sha1(data).hexdigest()),
                       Checksum(ChecksumAlgorithm.SHA256, hashlib.sha256(data).hexdigest())],
            license_concluded=SpdxNoAssertion(),
            license_info_in_file=_unique(lics) or [SpdxNoAssertion()],
            copyright_text=SpdxNoAssertion(),
            comment="Scanned by licscan; holds code copied from indexed copyleft projects.",
        ))
        doc.relationships.append(Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, file_id))
        starts = _line_starts(data)
        for j, f in enumerate(findings, 1):
            snip_id = f"SPDXRef-Snippet-{i}-{j}"
            first = starts[min(f.start_line, len(starts)) - 1]
            last = (starts[f.end_line] - 1 if f.end_line < len(starts) else len(data))
            last = max(last, first + 1)
            doc.snippets.append(Snippet(
                spdx_id=snip_id, file_spdx_id=file_id,
                byte_range=(first + 1, last), line_range=(f.start_line, f.end_line),
                license_concluded=licenses.expr(f.license),
                license_info_in_snippet=[licenses.expr(f.license)],
                license_comment=(f"License of the upstream file {f.source.path}, as detected when the "
                                 "index was built." + (" " + common.verdict_sentence(f)
                                                        if common.has_verdict(f) else "")),
                copyright_text=SpdxNoAssertion(),
                comment=" ".join(s for s in (common.summary(f), common.obligations_sentence(f)) if s),
                name=f"copied from {f.source.path}:{f.source.start_line}-{f.source.end_line}",
            ))
            key = common.upstream(f.source.path)
            if key not in upstreams:
                upstreams[key] = f"SPDXRef-Upstream-{len(upstreams) + 1}"
                doc.packages.append(Package(
                    spdx_id=upstreams[key], name=key[0], version=key[1],
                    download_location=SpdxNoAssertion(), files_analyzed=False,
                    license_concluded=SpdxNoAssertion(), license_declared=SpdxNoAssertion(),
                    copyright_text=SpdxNoAssertion(),
                    comment="Upstream project of indexed copyleft code that scanned files copy from.",
                ))
                doc.relationships.append(
                    Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, upstreams[key]))
            doc.relationships.append(Relationship(
                snip_id, RelationshipType.OTHER, upstreams[key],
                comment=f"copied from {f.source.path} lines {f.source.start_line}-{f.source.end_line} "
                        f"({f.similarity:.0%} similar)"))
    if not doc.files:
        doc.packages.append(Package(
            spdx_id="SPDXRef-Scanned", name="scanned code", download_location=SpdxNoAssertion(),
            files_analyzed=False, license_concluded=SpdxNoAssertion(), license_declared=SpdxNoAssertion(),
            copyright_text=SpdxNoAssertion(),
            comment=f"licscan found no copied code in {result.scanned} scanned file(s).",
        ))
        doc.relationships.append(Relationship("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, "SPDXRef-Scanned"))
    doc.extracted_licensing_info.extend(licenses.extracted())
    return doc


class _Licenses:
    """License strings from the index -> SPDX expressions; non-SPDX names become
    declared LicenseRef- licenses."""

    def __init__(self) -> None:
        self._refs: dict[str, str] = {}

    def expr(self, text: str | None) -> Any:
        from spdx_tools.common.spdx_licensing import spdx_licensing
        from spdx_tools.spdx.model import SpdxNoAssertion

        if not text:
            return SpdxNoAssertion()
        try:
            bad = spdx_licensing.validate(text).invalid_symbols
        except Exception:  # noqa: BLE001 - unparsable: one reference for the whole string
            bad = None
        if bad is None:
            return spdx_licensing.parse(self._ref(text, text))
        for token in sorted(set(bad), key=len, reverse=True):
            text = re.sub(rf"(?<![\w.+-]){re.escape(token)}(?![\w.+-])", self._ref(token, token), text)
        try:
            return spdx_licensing.parse(text)
        except Exception:  # noqa: BLE001
            return SpdxNoAssertion()

    def _ref(self, token: str, original: str) -> str:
        ref = token if token.startswith("LicenseRef-") else \
            "LicenseRef-licscan-" + re.sub(r"[^A-Za-z0-9.-]+", "-", token).strip("-")
        self._refs.setdefault(ref, original)
        return ref

    def extracted(self) -> list[Any]:
        from spdx_tools.spdx.model import ExtractedLicensingInfo

        return [ExtractedLicensingInfo(
            license_id=ref, license_name=original,
            extracted_text=f"Detected as {original!r} in the upstream file when the licscan index was "
                           "built; the license text is not kept in the index.")
            for ref, original in sorted(self._refs.items())]


def _unique(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for x in items:
        if x not in out:
            out.append(x)
    return out


def _bytes(path: str, text: str | None) -> bytes:
    """The scanned content's bytes: the file on disk when it holds exactly the scanned
    text (also in Latin-1), else the text as UTF-8 (staged content, stdin)."""
    p = Path(path)
    disk = None
    if p.is_file():
        try:
            disk = p.read_bytes()
        except OSError:
            pass
    if text is None:
        return disk or b""
    data = text.encode("utf-8", "surrogateescape")
    if disk is not None and (disk == data or disk.decode("latin-1") == text):
        return disk
    return data


def _line_starts(data: bytes) -> list[int]:
    starts = [0]
    pos = data.find(b"\n")
    while pos != -1:
        starts.append(pos + 1)
        pos = data.find(b"\n", pos + 1)
    return starts


def _spdx_name(path: str) -> str:
    if path.startswith("<"):
        return "./" + path.strip("<>")
    p = Path(path)
    rel = os.path.relpath(p) if p.is_absolute() else p.as_posix()
    rel = Path(rel).as_posix()
    return rel if rel.startswith("./") else "./" + rel
