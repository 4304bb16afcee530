"""licscan: find code copied from copyleft projects, with its source, license and obligations."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from licscan.model import Finding

_matchers: dict[str, object] = {}


def scan_text(code: str, lang: str | None = None, *, index: str | None = None,
              project_license: str | None = None, profile: str | None = None) -> list[Finding]:
    """Findings for one piece of code, in process (for IDE plugins and agents).

    ``index`` defaults to the LICSCAN_INDEX environment variable. The opened index
    is kept for later calls. Findings are judged like the CLI judges them: each gets
    ``verdict``, ``verdict_reason``, ``obligations`` and ``profile`` in ``judgement`` (and
    in ``to_dict()``). ``project_license`` and ``profile`` default to the nearest
    ``.licscan.toml`` / ``[tool.licscan]`` from the working directory, then to the
    project's detected license and the ``binary`` profile. Findings under an inline
    ``licscan: allow <reason>`` or excluded by the config are dropped; a baseline is
    not applied (a snippet has no place in the project yet).
    """
    import os

    from licscan.engine.matcher import Matcher
    from licscan.engine.stores import open_store
    from licscan.model import LicscanError

    if profile is not None:
        from licscan.policy.profiles import check_profile

        check_profile(profile)  # a typo should fail on clean code too, not on the first finding
    path = index or os.environ.get("LICSCAN_INDEX")
    if not path:
        raise LicscanError("no index given: pass index=... or set LICSCAN_INDEX")
    m = _matchers.get(path)
    if m is None:
        m = _matchers[path] = Matcher(open_store(path))
    findings: list[Finding] = m.scan_text(code, lang)  # type: ignore[attr-defined]
    if not findings:
        # Clean code is the common case: the policy stage is not even imported.
        return findings
    from licscan.inputs.paths import ScanResult
    from licscan.policy.gate import apply_policy, load_policy

    policy = load_policy(project_license=project_license, profile=profile)
    result = ScanResult(findings=findings, scanned=1, texts={f.path: code for f in findings})
    apply_policy(result, policy, use_baseline=False)
    return result.findings
