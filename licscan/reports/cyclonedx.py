"""CycloneDX 1.6 (JSON): the upstream projects that scanned code copies from.

One component per upstream project (the first ``name_version`` directory of the
indexed path, else its first directory), with the licenses of the matched
upstream files, ``evidence.identity`` (source-code analysis, confidence = best
similarity) and ``evidence.occurrences`` (each scanned file and line that holds
copied code). Built with cyclonedx-python-lib; validated before it is written.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TextIO

from licscan import __version__
from licscan.engine.store import IndexStore
from licscan.model import Finding, LicscanError
from licscan.inputs.paths import ScanResult
from licscan.reports import common


def render(result: ScanResult, index: IndexStore, out: TextIO, *, side_by_side: bool = False) -> None:
    try:
        from cyclonedx.output.json import JsonV1Dot6
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator
    except ImportError:
        raise LicscanError("--format cyclonedx needs cyclonedx-python-lib: pip install 'licscan[reports]'") from None
    text = JsonV1Dot6(bom(result, index)).output_as_string(indent=2)
    try:
        error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    except Exception:  # noqa: BLE001 - the validator's own dependency is missing: write unvalidated
        error = None
    if error is not None:
        raise LicscanError(f"the CycloneDX document did not validate: {error}")
    out.write(text + "\n")


def bom(result: ScanResult, index: IndexStore) -> Any:
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.component_evidence import (
        AnalysisTechnique, ComponentEvidence, Identity, IdentityField, Method, Occurrence,
    )
    from cyclonedx.model.license import LicenseExpression

    b = Bom()
    b.metadata.tools.components.add(Component(name="licscan", version=__version__,
                                              type=ComponentType.APPLICATION))
    b.metadata.properties.add(Property(name="licscan:scanned-files", value=str(result.scanned)))
    if index.meta.get("corpus_sha256"):
        b.metadata.properties.add(Property(name="licscan:corpus-sha256", value=str(index.meta["corpus_sha256"])))
    groups: dict[tuple[str, str | None], list[Finding]] = {}
    for f in result.findings:
        groups.setdefault(common.upstream(f.source.path), []).append(f)
    for (name, version), findings in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        lics = sorted({f.license for f in findings if f.license})
        expr = lics[0] if len(lics) == 1 else " AND ".join(f"({x})" for x in lics)
        best = max(f.similarity for f in findings)
        worst = min((common.verdict(f) for f in findings), key=common.VERDICTS.index)
        methods = [Method(technique=AnalysisTechnique.SOURCE_CODE_ANALYSIS, confidence=_conf(f.similarity),
                          value=f"{f.path}:{f.start_line}-{f.end_line} matches "
                                f"{f.source.path}:{f.source.start_line}-{f.source.end_line}")
                   for f in findings]
        occurrences = [Occurrence(location=f.path, line=f.start_line,
                                  additional_context=" ".join(s for s in (
                                      common.summary(f), common.verdict_sentence(f),
                                      common.obligations_sentence(f)) if s))
                       for f in findings]
        props = [Property(name="licscan:verdict", value=worst),
                 *(Property(name="licscan:source-file", value=p)
                   for p in sorted({f.source.path for f in findings}))]
        evidence = ComponentEvidence(
            identity=[Identity(field=IdentityField.NAME, confidence=_conf(best), concluded_value=name,
                               methods=methods)],
            occurrences=occurrences,
            licenses=[LicenseExpression(expr)] if lics else None,
        )
        b.components.add(Component(
            name=name, version=version, type=ComponentType.LIBRARY,
            bom_ref=f"upstream:{name}" + (f"@{version}" if version else ""),
            description=f"Upstream project of copied code: {len(findings)} finding(s) in "
                        f"{len({f.path for f in findings})} scanned file(s).",
            licenses=[LicenseExpression(expr)] if lics else None,
            evidence=evidence, properties=props,
        ))
    return b


def _conf(x: float) -> Decimal:
    return Decimal(str(round(min(1.0, max(0.0, x)), 3)))
