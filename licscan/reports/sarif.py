"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

- One rule per verdict when a policy judged the findings (``copied-code/incompatible``
  ...), else one per license family (``copied-code/gpl`` ...): ids never change.
- Levels: incompatible -> error, obligations -> warning, compatible -> note,
  unknown or no verdict -> warning.
- ``partialFingerprints.primaryLocationLineHash`` is a hash of the matched upstream
  tokens and paths (see ``common.Fingerprints``), so alerts survive code moving.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from licscan import __version__
from licscan.engine.store import IndexStore
from licscan.model import Finding
from licscan.inputs.paths import ScanResult
from licscan.reports import common

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
HOMEPAGE = "https://github.com/licscan/licscan"
"""``tool.driver.informationUri``: the project's homepage (``[project.urls]`` Homepage)."""
HELP_URI = f"{HOMEPAGE}/blob/main/docs/policy.md#verdicts"
"""``helpUri`` of every rule. Verdict rules are the verdicts explained there; license-family
rules are what a scan without a policy reports, and that section says how to get a verdict."""

_VERDICT_HELP = {
    "incompatible": "The project's license policy does not allow code under this license. Remove the "
                    "copied lines or rewrite them independently, or get the code under another license.",
    "obligations": "The license allows this use if its conditions are met. Fulfil the obligations listed "
                   "with the finding (keep notices, state changes, offer source, ...) or remove the code.",
    "unknown": "The policy could not decide (an unknown or unusual license). Have someone review the "
               "upstream license before merging.",
    "compatible": "The license is compatible with the project's policy. Attribution may still be due.",
}


def _rule_for(f: Finding) -> tuple[str, str, str, str]:
    """(id, name, short description, help text) of a finding's rule."""
    if common.has_verdict(f):
        v = common.verdict(f)
        return (f"copied-code/{v}", "CopiedCode" + v.capitalize(),
                common.VERDICT_TEXT[v].capitalize(), _VERDICT_HELP[v])
    fam = common.license_family(f.license)
    name = common.FAMILY_NAMES[fam]
    help_text = (f"These lines match code in an indexed copyleft corpus licensed under {name}. "
                 "If they were copied, that license's terms apply to them: keep them only if the "
                 "project can meet those terms (for the GPL family, usually licensing the combined "
                 "work under the same license), otherwise remove or independently rewrite them. "
                 "Run licscan with a policy to get a verdict.")
    rid = "".join(p.capitalize() for p in fam.split("-"))
    return f"copied-code/{fam}", f"CopiedCode{rid}", f"Code copied from a project under {name}", help_text


def _uri(path: str) -> str:
    p = Path(path)
    if p.is_absolute():
        return p.as_uri()
    return quote(p.as_posix().removeprefix("./"), safe="/")


def render(result: ScanResult, index: IndexStore, out: TextIO, *, side_by_side: bool = False) -> None:
    json.dump(document(result, index), out, indent=2)
    out.write("\n")


def document(result: ScanResult, index: IndexStore) -> dict[str, Any]:
    fingerprint = common.Fingerprints(index)
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    for f in result.findings:
        rid, name, short, help_text = _rule_for(f)
        level = common.LEVELS[common.verdict(f)]
        if rid not in rule_index:
            rule_index[rid] = len(rules)
            rules.append({
                "id": rid, "name": name,
                "shortDescription": {"text": short},
                "fullDescription": {"text": f"{short}. {help_text}"},
                "help": {"text": help_text, "markdown": f"**{short}.** {help_text}"},
                "helpUri": HELP_URI,
                "defaultConfiguration": {"level": level},
                "properties": {"tags": ["license", "copyleft", "copied-code"], "precision": "high"},
            })
        digest = fingerprint(f)
        occurrence = seen[(f.path, digest)] = seen.get((f.path, digest), 0) + 1
        message = " ".join(s for s in (common.summary(f), common.evidence_sentence(f), common.verdict_sentence(f),
                                       common.obligations_sentence(f)) if s)
        region: dict[str, Any] = {"startLine": f.start_line, "endLine": f.end_line}
        snippet = common.region_text(result.texts.get(f.path), f)
        if snippet is not None:
            region["snippet"] = {"text": snippet}
        props: dict[str, Any] = {
            "license": f.license, "licenseFamily": common.license_family(f.license),
            "upstream": {"path": f.source.path, "startLine": f.source.start_line,
                         "endLine": f.source.end_line, "project": common.upstream(f.source.path)[0]},
            "similarity": f.similarity, "tokens": f.tokens, "language": f.language,
            "alsoIn": f.evidence.also_in, "verdict": common.verdict(f),
            "licenseEvidence": f.license_evidence.to_dict() if f.license_evidence else None,
        }
        for key in ("verdict_reason", "profile"):
            if getattr(f.judgement, key):
                props[key] = getattr(f.judgement, key)
        if common.obligations(f):
            props["obligations"] = common.obligations(f)
        results.append({
            "ruleId": rid, "ruleIndex": rule_index[rid], "level": level,
            "message": {"text": message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": _uri(f.path)}, "region": region}}],
            "partialFingerprints": {"primaryLocationLineHash": f"{digest[:32]}:{occurrence}"},
            "properties": props,
        })
    failing = {p for ps in (result.failing_skips or {}).values() for p in ps}
    notifications = [  # a skipped file that fails the gate is an error, like a failing finding
        {"level": "error" if path in failing else "note", "message": {"text": f"skipped ({reason}): {path}"},
         "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(path)}}}]}
        for reason, paths in sorted(result.skipped.items()) for path in paths
    ]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "licscan", "version": __version__, "semanticVersion": __version__,
                "informationUri": HOMEPAGE,
                "rules": rules,
            }},
            "invocations": [{"executionSuccessful": True,
                             **({"toolExecutionNotifications": notifications} if notifications else {})}],
            "results": results,
            "properties": {"index": str(index.path), "corpusSha256": index.meta.get("corpus_sha256"),
                           "scanned": result.scanned},
        }],
    }
