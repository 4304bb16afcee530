"""Commands for obligations and baselines: ``licscan obligations``, ``licscan baseline ...``.

Exit codes: 0 passes, 1 findings fail the policy, 2 error, 3 the baseline file
was rewritten (``baseline update``, as detect-secrets does: commit the new file).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from licscan.cli.app import app
from licscan.model import LicscanError

if TYPE_CHECKING:
    from licscan.engine.store import IndexStore
    from licscan.policy.gate import Outcome, Policy
    from licscan.inputs.paths import ScanResult

REWRITTEN = 3

baseline_app = typer.Typer(no_args_is_help=True, help="Accept existing findings so that a gate fails "
                           "only on new ones.")

PathsArg = Annotated[list[str], typer.Argument(help="Files or directories to scan.")]
IndexOpt = Annotated[Optional[str], typer.Option("--index", "-i", envvar="LICSCAN_INDEX", help="Index file "
                                                  "(default: `index` in the config).")]
FileOpt = Annotated[Optional[Path], typer.Option("--baseline", "-b", help="Baseline file (default: `baseline` "
                                                 "in the config, else .licscan-baseline.json in the project root).")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="Policy file.")]
LangOpt = Annotated[Optional[str], typer.Option(help="Language of files without extension.")]
ReasonOpt = Annotated[Optional[str], typer.Option(help="Why these findings are accepted (new entries).")]
AuthorOpt = Annotated[Optional[str], typer.Option(help="Who accepted them (new entries).")]
ExpiresOpt = Annotated[Optional[str], typer.Option(help="YYYY-MM-DD after which new entries stop accepting.")]


def obligations_command(
    license: Annotated[str, typer.Argument(help="SPDX license or expression, e.g. GPL-2.0-or-later.")],
    profile: Annotated[str, typer.Option(help="source, binary or network.")] = "binary",
    fmt: Annotated[str, typer.Option("--format", "-f", help="text or json")] = "text",
) -> None:
    """What keeping code under LICENSE obliges you to do, for a distribution profile."""
    from licscan.policy import compat
    from licscan.policy import obligations as obl
    from licscan.licenses.text import normalize_expression

    obl.check_profile(profile)
    if fmt not in ("text", "json"):
        raise LicscanError(f"unknown format {fmt!r}; choose one of: text, json")
    expr = normalize_expression(license)
    keys = compat.leaves(expr)
    described = [obl.describe(k, profile) for k in keys]
    if not any(d["known"] for d in described):
        raise LicscanError(f"licscan has no obligations entry for {expr}; known: "
                           + ", ".join(sorted(obl.table().licenses)))
    if fmt == "json":
        print(json.dumps({"expression": expr, "profile": profile, "licenses": described}, indent=2))
        return
    if len(keys) > 1:
        print(f"{expr}: " + ("OR: you choose one of these" if " OR " in expr else "AND: all of these apply"))
    print(f"profile {profile}: {obl.table().profiles.get(profile, '')}")
    for d in described:
        scope = f", copyleft {d['copyleft']}, scope {d['scope']}" if d["known"] else ""
        print(f"\n{d['license']} ({d['name'] or 'not in licscan table'}{scope})")
        for o in d["obligations"]:
            print(f"  - [{o['id']}] {o['text']} ({o['cite']})")


def _scan(paths: list[str], index: Optional[str], lang: Optional[str], policy: Policy) -> tuple[IndexStore, ScanResult]:
    from licscan.engine.stores import open_store
    from licscan.config import resolve_index
    from licscan.inputs.units import scan_inputs

    idx = open_store(resolve_index(index or policy.index))
    return idx, scan_inputs(idx, paths, lang=lang, thresholds=policy.thresholds())


def _baseline_path(given: Optional[Path], policy: Policy) -> Path:
    from licscan.policy.baseline import DEFAULT_NAME

    return given or policy.baseline or policy.root / DEFAULT_NAME


def _current(paths: list[str], index: Optional[str], lang: Optional[str], config: Optional[Path],
             ) -> tuple[Policy, Outcome, list[Any]]:
    """Findings to put in a baseline: after excludes and suppressions, ignoring any baseline."""
    from licscan.policy.gate import apply_policy, load_policy

    policy = load_policy(config)
    _, result = _scan(paths, index, lang, policy)
    outcome = apply_policy(result, policy, use_baseline=False)
    current = [(f, f.judgement.finding_id, policy.relpath(f.path)) for f in result.findings]
    return policy, outcome, current


def _meta(reason: Optional[str], author: Optional[str], expires: Optional[str]) -> dict[str, Any]:
    from licscan.policy.baseline import parse_date

    parse_date(expires, "--expires")
    return {"reason": reason, "author": author, "expires": expires}


@baseline_app.command("create")
def baseline_create(paths: PathsArg, index: IndexOpt = None, baseline: FileOpt = None, config: ConfigOpt = None,
                    lang: LangOpt = None, reason: ReasonOpt = None, author: AuthorOpt = None,
                    expires: ExpiresOpt = None,
                    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing baseline "
                                                        "(its reasons are lost; prefer update).")] = False) -> None:
    """Accept every current finding under PATHS: write a new baseline."""
    from licscan.policy.baseline import rebuild

    meta = _meta(reason, author, expires)
    policy, outcome, current = _current(paths, index, lang, config)
    target = _baseline_path(baseline, policy)
    if target.exists() and not force:
        raise LicscanError(f"{target} exists: use `licscan baseline update`, or --force to overwrite it")
    new = rebuild(None, current, meta)
    new.save(target)
    print(f"baseline {target}: {len(new.entries)} accepted finding(s)", file=sys.stderr)
    _report_problems(outcome)


@baseline_app.command("update")
def baseline_update(paths: PathsArg, index: IndexOpt = None, baseline: FileOpt = None, config: ConfigOpt = None,
                    lang: LangOpt = None, reason: ReasonOpt = None, author: AuthorOpt = None,
                    expires: ExpiresOpt = None) -> None:
    """Add new findings, drop entries no longer found, keep the rest: exit 3 if the file changed.

    Run it over the same paths as `create`: entries of files not scanned are dropped.
    """
    from licscan.policy.baseline import Baseline, rebuild

    meta = _meta(reason, author, expires)
    policy, outcome, current = _current(paths, index, lang, config)
    target = _baseline_path(baseline, policy)
    old = Baseline.load(target)
    new = rebuild(old, current, meta)
    added, dropped = new.entries.keys() - old.entries.keys(), old.entries.keys() - new.entries.keys()
    _report_problems(outcome)
    if new.to_json() == old.to_json():
        print(f"baseline {target}: up to date ({len(new.entries)} entries)", file=sys.stderr)
        return
    new.save(target)
    print(f"baseline {target} rewritten: {len(added)} added, {len(dropped)} dropped, "
          f"{len(new.entries)} entries (exit {REWRITTEN}: review and commit it)", file=sys.stderr)
    raise typer.Exit(REWRITTEN)


@baseline_app.command("check")
def baseline_check(paths: PathsArg, index: IndexOpt = None, baseline: FileOpt = None, config: ConfigOpt = None,
                   lang: LangOpt = None,
                   project_license: Annotated[Optional[str], typer.Option(help="Your project's SPDX license.")] = None,
                   profile: Annotated[Optional[str], typer.Option(help="source, binary or network.")] = None,
                   fail_on: Annotated[Optional[str], typer.Option(help="incompatible, copyleft, any, "
                                                                  "never.")] = None) -> None:
    """Fail (exit 1) on findings the baseline does not accept, or accepts only with an expired entry."""
    from licscan.policy.baseline import Baseline
    from licscan.policy.gate import apply_policy, load_policy

    policy = load_policy(config, fail_on=fail_on, profile=profile, project_license=project_license)
    policy.baseline = _baseline_path(baseline, policy)
    accepted = Baseline.load(policy.baseline)  # a missing baseline is an error, not an empty one
    _, result = _scan(paths, index, lang, policy)
    outcome = apply_policy(result, policy, baseline=accepted)
    outcome.report(sys.stderr)
    stale = len(accepted.entries) - len(outcome.baseline_seen)
    if stale > 0:
        print(f"{stale} baseline entr{'y' if stale == 1 else 'ies'} no longer found "
              "(`licscan baseline update` drops them)", file=sys.stderr)
    if not outcome.judged and not outcome.problems:
        print(f"baseline check passed: {outcome.accepted.get('baseline', 0)} accepted finding(s)", file=sys.stderr)
    raise typer.Exit(outcome.exit_code)


def _report_problems(outcome: Outcome) -> None:
    for p in outcome.problems:
        print(f"licscan: {p.path}:{p.line}: {p.message}", file=sys.stderr)


app.command("obligations")(obligations_command)
app.add_typer(baseline_app, name="baseline")
