"""Policy a gate can enforce: configuration, then verdicts and the exit code for a scan.

Configuration is found and read by ``licscan.config``; command-line flags override it.

``apply_policy`` fails closed on skipped files (unless excluded or their reason is
allowed), filters a scan's findings (excluded paths, inline suppressions, baseline)
and judges the rest (verdict, obligations, fail or pass). A scan with no findings
returns before anything heavy is imported: clean scans stay fast.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from licscan.config import find_config, is_index_uri, project_root, read_table
from licscan.licenses.expression import check_expression, check_parses
from licscan.model import Finding, LicscanError
from licscan.policy.profiles import DEFAULT_PROFILE, check_profile

if TYPE_CHECKING:
    from licscan.policy.baseline import Baseline
    from licscan.engine.matcher import Thresholds
    from licscan.inputs.paths import ScanResult

FAIL_ON = ("incompatible", "copyleft", "any", "never")
KEYS = ("fail-on", "allow", "exclude", "allow-skips", "profile", "project-license", "min-similarity",
        "min-tokens", "baseline", "index")
_FAILING_VERDICTS = ("incompatible", "unknown")
"""A gate cannot pass what it cannot judge: unknown fails like incompatible."""


# -- configuration ----------------------------------------------------------------------------


@dataclass
class Policy:
    fail_on: str = "incompatible"
    allow: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    allow_skips: list[str] = field(default_factory=list)
    """Skip reasons (``files.SKIP_REASONS``) that do not fail the gate."""
    profile: str = DEFAULT_PROFILE
    project_license: str | None = None
    project_license_origin: str = ""
    min_similarity: float | None = None
    min_tokens: int | None = None
    baseline: Path | None = None
    index: Path | str | None = None
    """A path, or a libpq URI (``engine/stores.py``)."""
    root: Path = field(default_factory=Path.cwd)
    """Project root: where the config lives; paths and the project license are relative to it."""
    config_path: Path | None = None

    def thresholds(self) -> Thresholds:
        from licscan.engine.matcher import Thresholds

        return Thresholds().adjusted(self.min_tokens, self.min_similarity)

    def relpath(self, path: str) -> str:
        """``path`` relative to the project root when inside it ('/'-separated), else as given."""
        if path == "<stdin>":
            return path
        try:
            return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except (ValueError, OSError):
            return Path(path).as_posix()


def _list(value: Any, key: str, where: Path) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LicscanError(f"{where}: {key} must be a list of strings")
    return list(value)


def _apply_table(p: Policy, table: dict[str, Any], where: Path) -> None:
    for raw_key, value in table.items():
        key = raw_key.replace("_", "-")
        if key not in KEYS:
            raise LicscanError(f"{where}: unknown key {raw_key!r}; known keys: {', '.join(KEYS)}")
        if key in ("allow", "exclude", "allow-skips"):
            setattr(p, key.replace("-", "_"), _list(value, key, where))
        elif key in ("fail-on", "profile", "project-license", "baseline", "index"):
            if not isinstance(value, str):
                raise LicscanError(f"{where}: {key} must be a string")
            if key == "index" and is_index_uri(value):
                p.index = value  # a shared index (engine/stores.py): a URI, not a path
            elif key in ("baseline", "index"):
                setattr(p, key, where.parent / value)  # relative to the config file
            else:
                setattr(p, key.replace("-", "_"), value)
        elif key == "min-tokens":
            if not isinstance(value, int) or isinstance(value, bool):
                raise LicscanError(f"{where}: min-tokens must be an integer")
            p.min_tokens = value
        else:
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise LicscanError(f"{where}: min-similarity must be a number between 0 and 1")
            p.min_similarity = float(value)
    if "project-license" in {k.replace("_", "-") for k in table}:
        p.project_license_origin = f"{where.name} project-license"


def load_policy(config: Path | None = None, *, cwd: Path | None = None, fail_on: str | None = None,
                profile: str | None = None, project_license: str | None = None,
                baseline: Path | None = None, min_tokens: int | None = None,
                min_similarity: float | None = None, allow_skips: list[str] | None = None) -> Policy:
    """Defaults < config file < the given flags (None means "not given"; ``allow_skips``
    adds to the configured reasons)."""
    cwd = cwd or Path.cwd()
    found: tuple[Path, dict[str, Any]] | None
    if config is not None:
        if not Path(config).is_file():
            raise LicscanError(f"config not found: {config}")
        found = (Path(config), read_table(Path(config)) or {})
    else:
        found = find_config(cwd)
    p = Policy(root=project_root(cwd))
    if found is not None:
        p.config_path, table = found
        p.root = p.config_path.resolve().parent
        _apply_table(p, table, p.config_path)
    for name, value in (("fail_on", fail_on), ("profile", profile), ("min_tokens", min_tokens),
                        ("min_similarity", min_similarity), ("baseline", baseline)):
        if value is not None:
            setattr(p, name, value)
    if project_license is not None:
        p.project_license, p.project_license_origin = project_license, "--project-license"
    p.allow_skips = [*p.allow_skips, *(allow_skips or [])]
    check_skip_reasons(p.allow_skips)
    if p.fail_on not in FAIL_ON:
        raise LicscanError(f"unknown fail-on {p.fail_on!r}; choose one of: {', '.join(FAIL_ON)}")
    check_profile(p.profile)
    if p.min_similarity is not None and not 0 <= p.min_similarity <= 1:
        raise LicscanError(f"min-similarity must be between 0 and 1, not {p.min_similarity}")
    if p.min_tokens is not None and p.min_tokens < 1:
        raise LicscanError(f"min-tokens must be positive, not {p.min_tokens}")
    if p.project_license is not None:
        p.project_license = check_expression(p.project_license, p.project_license_origin or "project-license")
    return p


def check_skip_reasons(reasons: list[str]) -> None:
    """Only the fixed vocabulary: a typo must not silently allow nothing (or everything)."""
    from licscan.files import SKIP_REASONS

    for r in (r for r in reasons if r not in SKIP_REASONS):
        raise LicscanError(f"unknown skip reason {r!r}; allow-skips takes: {', '.join(SKIP_REASONS)}")




# -- applying it ------------------------------------------------------------------------------


def path_matches(rel: str, pattern: str) -> bool:
    """gitignore-like globbing: ``vendor/``, ``vendor``, ``*.min.js``, ``**/third_party/*``."""
    pat = pattern.strip().removeprefix("./")
    if pat.endswith("/"):
        pat += "*"
    cands = [pat, pat + "/*"] + ([pat[3:]] if pat.startswith("**/") else [])
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(rel, c) for c in cands) or ("/" not in pat and fnmatch.fnmatchcase(name, pat))


def _is_glob(entry: str) -> bool:
    """License ids never contain these; source paths and globs do."""
    return any(c in entry for c in "/*?[")


@dataclass
class Problem:
    """Something wrong with how findings were accepted; it fails the gate like a finding."""

    path: str
    line: int
    message: str


@dataclass
class Outcome:
    policy: Policy
    failing: list[Finding] = field(default_factory=list)
    judged: list[Finding] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)
    """How many findings were filtered out, by reason: excluded, suppressed, baseline
    (and skipped files by how they were let through: skip excluded, skip allowed)."""
    skips: list[tuple[str, str, str]] = field(default_factory=list)
    """Skipped files that fail the gate: (path, reason, detail)."""
    baseline_seen: set[str] = field(default_factory=set)
    project_license: str | None = None
    project_license_origin: str = ""

    @property
    def exit_code(self) -> int:
        if self.policy.fail_on == "never":
            return 0
        return 1 if self.failing or self.problems or self.skips else 0

    def report(self, out: TextIO) -> None:
        """A short policy section (stderr in the CLI; the reports carry the verdicts themselves).
        Silent when there was nothing to judge, so clean scans print nothing."""
        if not (self.judged or self.problems or self.accepted or self.skips):
            return
        p = self.policy
        head = f"policy: fail-on {p.fail_on}, profile {p.profile}"
        if self.judged:  # the project license is only looked up when something is judged
            origin = f" ({self.project_license_origin})" if self.project_license_origin else ""
            head += f", project license {self.project_license or 'unknown'}{origin}"
        lines = [head]
        for f in self.failing:
            exp = " (baseline entry expired)" if (f.judgement.baseline or {}).get("expired") else ""
            lines.append(f"  FAIL    {f.path}:{f.start_line}-{f.end_line}  {f.license or 'unknown license'}: "
                         f"{f.judgement.verdict}{exp}")
        for pr in self.problems:
            lines.append(f"  PROBLEM {pr.path}:{pr.line}: {pr.message}")
        for path, reason, detail in self.skips:
            lines.append(f"  SKIPPED {path}: {detail or reason}; not scanned whole (to pass it: exclude its "
                         f"path, or allow-skips = [\"{reason}\"])")
        if self.accepted:
            lines.append("  accepted: " + ", ".join(f"{n} {k}" for k, n in sorted(self.accepted.items())))
        lics = sorted({f.license for f in self.failing if f.license})
        if lics:
            lines.append("  what to do: " + "; ".join(f"licscan obligations '{x}' --profile {p.profile}"
                                                      for x in lics[:3]))
        verdict = "failed" if self.exit_code else "passed"
        skips = f", {len(self.skips)} skipped file(s)" if self.skips else ""
        lines.append(f"policy {verdict}: {len(self.failing)} of {len(self.judged)} finding(s){skips} and "
                     f"{len(self.problems)} problem(s) fail it")
        out.write("\n".join(lines) + "\n")


def apply_policy(result: ScanResult, policy: Policy, *, use_baseline: bool = True,
                 baseline: Baseline | None = None, today: dt.date | None = None) -> Outcome:
    """Judge skipped files, filter and judge ``result.findings`` in place; the outcome says whether
    the gate passes. ``baseline``: an already loaded ``policy.baseline`` (else it is read here)."""
    out = Outcome(policy, project_license=policy.project_license,
                  project_license_origin=policy.project_license_origin)
    base = None
    if use_baseline and policy.baseline:
        from licscan.policy.baseline import Baseline

        # Loaded even for a clean scan: a missing or corrupt baseline is an error (exit 2)
        # whatever the scan found, not something only a scan with findings notices.
        base = baseline or Baseline.load(policy.baseline)
    _judge_skips(result, policy, out)
    if not result.findings:
        return out
    from licscan.policy import suppress
    from licscan.policy.baseline import finding_id

    today = today or dt.date.today()
    kept: list[Finding] = []
    lines: dict[str, list[str]] = {}
    for f in result.findings:
        if any(path_matches(policy.relpath(f.path), pat) for pat in policy.exclude):
            out.accepted["excluded"] += 1
            continue
        # The helpers get the finding's lines (and the one above), numbered from 1: each
        # splits its text, and a file of megabytes may have a thousand findings. The final
        # newline keeps a trailing empty line, so they see exactly the lines they did.
        text, lo = result.texts.get(f.path), max(1, f.start_line - 1)
        text = text and "\n".join(lines.setdefault(f.path, text.splitlines())[lo - 1:f.end_line]) + "\n"
        near = replace(f, start_line=f.start_line - lo + 1, end_line=f.end_line - lo + 1)
        sup = suppress.find(text, near.start_line, near.end_line) if text else None
        sup = sup and replace(sup, line=sup.line + lo - 1)
        if sup is not None and sup.reason:
            out.accepted["suppressed"] += 1
            continue
        if sup is not None:
            out.problems.append(Problem(f.path, sup.line, "suppression without a reason "
                                        "(write `licscan: allow <reason>`); the finding stays"))
            f.judgement.suppression = {"line": sup.line, "reason": ""}
        fid = f.judgement.finding_id = finding_id(near, text)
        entry = base.get(fid) if base else None
        if entry is not None:
            out.baseline_seen.add(fid)
            if not entry.expired(today):
                out.accepted["baseline"] += 1
                continue
            # An expired entry accepts nothing: the finding is judged like a new one.
            f.judgement.baseline = {"id": fid, "expired": True, "expires": entry.data.get("expires"),
                                   "reason": entry.data.get("reason")}
        kept.append(f)
    result.findings[:] = kept
    if kept:
        _judge(kept, policy, out)
    return out


def _judge_skips(result: ScanResult, policy: Policy, out: Outcome) -> None:
    """Fail closed: a file the scan could not read or judge wholly fails the gate, unless
    ``exclude`` covers its path or ``allow-skips`` its reason. Sets ``result.failing_skips``."""
    from licscan.files import SKIP_REASONS

    failing: dict[str, list[str]] = {}
    for reason, paths in sorted(result.skipped.items()):
        for path in paths if reason in SKIP_REASONS else ():  # not empty or not-code files
            if path != "<stdin>" and any(path_matches(policy.relpath(path), pat) for pat in policy.exclude):
                out.accepted["skip excluded"] += 1
            elif reason in policy.allow_skips:
                out.accepted["skip allowed"] += 1
            else:
                failing.setdefault(reason, []).append(path)
                out.skips.append((path, reason, result.details.get(path, "")))
    result.failing_skips = failing


def _judge(findings: list[Finding], policy: Policy, out: Outcome) -> None:
    from licscan.policy import compat
    from licscan.policy import obligations as obl
    from licscan.licenses.text import normalize_expression

    if out.project_license is None:
        from licscan.policy.project import detect

        out.project_license, out.project_license_origin = detect(policy.root)
    if out.project_license:
        check_parses(out.project_license, out.project_license_origin or "project license")
    licenses = {normalize_expression(a) for a in policy.allow if not _is_glob(a)}
    globs = [a for a in policy.allow if _is_glob(a)]
    for f in findings:
        v = compat.evaluate(f.license, out.project_license, policy.profile)
        j = f.judgement
        j.verdict, j.verdict_reason, j.profile, j.project_license = (v.verdict, v.reason, policy.profile,
                                                                     out.project_license)
        j.obligations = [o.to_dict() for o in obl.for_licenses(list(v.licenses), policy.profile)]
        allowed_by = _allowed_by(f, licenses, globs)
        fails = allowed_by is None and _fails(policy.fail_on, v.verdict, f.license)
        f.judgement.policy = "fail" if fails else "allowed" if allowed_by else "pass"
        if allowed_by:
            f.judgement.allowed_by = allowed_by
        out.judged.append(f)
        if fails:
            out.failing.append(f)


def _allowed_by(f: Finding, licenses: set[str], globs: list[str]) -> str | None:
    sources = [f.source.path, *f.evidence.also_in]
    for g in globs:
        if any(path_matches(s, g) for s in sources):
            return g
    if licenses and f.license:
        from licscan.policy.compat import satisfies

        if satisfies(f.license, licenses):
            return f.license
    return None


def _fails(fail_on: str, verdict: str, license: str | None) -> bool:
    if fail_on == "never":
        return False
    if fail_on == "any" or verdict in _FAILING_VERDICTS:
        return True
    if fail_on == "copyleft":
        from licscan.policy.compat import is_copyleft

        return is_copyleft(license)
    return False
