"""``licscan scan``: the gate. Report copied regions of PATHS; exit 1 when they fail the policy."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional, TextIO

import typer

if TYPE_CHECKING:
    from licscan.inputs.paths import ScanResult

from licscan.cli.app import QuietOpt, app, is_quiet, set_quiet


@app.command()
def scan(
    paths: Annotated[Optional[list[str]], typer.Argument(help="Files, directories, or - for stdin.")] = None,
    index: Annotated[Optional[str], typer.Option("--index", "-i", envvar="LICSCAN_INDEX", help="Index file or "
                                                 "postgresql:// URI "
                                                  "(default: `index` in .licscan.toml or pyproject tool.licscan).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, json, sarif, spdx, cyclonedx, markdown "
                                     "or html")] = "text",
    lang: Annotated[Optional[str], typer.Option(help="Language of stdin / files without extension.")] = None,
    side_by_side: Annotated[bool, typer.Option("--side-by-side", "-s",
                                               help="Show matched lines next to the source.")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the report here.")] = None,
    min_tokens: Annotated[Optional[int], typer.Option(help="Smallest match, in normalized tokens.")] = None,
    min_similarity: Annotated[Optional[float], typer.Option(help="Smallest similarity (0-1).")] = None,
    staged: Annotated[bool, typer.Option("--staged", help="Only lines added in staged changes (pre-commit).")] = False,
    diff: Annotated[Optional[str], typer.Option("--diff", metavar="BASE", help="Only lines added since git "
                                                "revision BASE (merge base; A..B also works).")] = None,
    pre_commit: Annotated[bool, typer.Option("--pre-commit", help="PATHS are the files pre-commit passes: "
                                             "added lines of those with staged changes (or changes between "
                                             "PRE_COMMIT_FROM_REF and PRE_COMMIT_TO_REF), the others whole.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Inputs are Markdown: scan fenced code blocks "
                                           "(.md files always are).")] = False,
    config: Annotated[Optional[Path], typer.Option("--config", help="Policy file (default: nearest "
                                                   ".licscan.toml or pyproject [tool.licscan]).")] = None,
    project_license: Annotated[Optional[str], typer.Option(help="Your project's SPDX license.")] = None,
    profile: Annotated[Optional[str], typer.Option(help="source, binary (default) or network.")] = None,
    fail_on: Annotated[Optional[str], typer.Option(help="incompatible (default), copyleft, any or never.")] = None,
    baseline: Annotated[Optional[Path], typer.Option(help="Accept the findings of this baseline.")] = None,
    allow_skip: Annotated[Optional[list[str]], typer.Option("--allow-skip", metavar="REASON", help="A skip "
                                                            "reason that does not fail the gate (repeatable): "
                                                            "unreadable, too-large, binary, generated, minified, "
                                                            "partly-parsed.")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show on stderr, for each candidate source, "
                                          "which evidence rule accepted or rejected it.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Report regions of PATHS copied from indexed copyleft code; exit 1 if they fail the policy."""
    if quiet:
        set_quiet()
    from licscan.engine.stores import open_store
    from licscan.reports import renderer

    render = renderer(fmt)
    from licscan.policy.gate import apply_policy, load_policy

    policy = load_policy(config, fail_on=fail_on, profile=profile, project_license=project_license,
                         baseline=baseline, min_tokens=min_tokens, min_similarity=min_similarity,
                         allow_skips=allow_skip)
    t = policy.thresholds()
    from licscan.config import resolve_index
    from licscan.inputs.units import scan_inputs

    idx = open_store(resolve_index(index or policy.index))
    def run() -> ScanResult:
        return scan_inputs(idx, paths, lang=lang, thresholds=t, staged=staged, diff=diff, markdown=markdown,
                           pre_commit=pre_commit)

    if explain:
        from licscan.engine import explain as explaining

        with explaining.collecting() as trace:
            result = run()
        explaining.render(trace, sys.stderr)
    else:
        result = run()
    outcome = apply_policy(result, policy)
    if output:
        _write_output(output, lambda fh: render(result, idx, fh, side_by_side=side_by_side))
    else:
        render(result, idx, sys.stdout, side_by_side=side_by_side)
    if outcome.exit_code or not is_quiet():  # -q: the policy section only when the gate fails
        outcome.report(sys.stderr)
    raise typer.Exit(outcome.exit_code)


def _write_output(output: Path, write: Callable[[TextIO], None]) -> None:
    """Write the report to ``--output``: a regular file (or a new path) is replaced atomically,
    anything else (a symlink, /dev/stdout, /dev/null, a FIFO) is written through, never
    renamed over. Any failure (missing directory, disk full) is one LicscanError line."""
    from licscan.model import LicscanError

    try:
        st: os.stat_result | None = os.lstat(output)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise LicscanError(f"--output {output}: {e.strerror or e}") from None
    try:
        if st is not None and not stat.S_ISREG(st.st_mode):
            with open(output, "w", encoding="utf-8") as fh:
                write(fh)
            return
        if not output.parent.is_dir():
            raise LicscanError(f"--output {output}: no such directory: {output.parent}")
        tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                write(fh)
            os.replace(tmp, output)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as e:  # ENOSPC on /dev/full, EISDIR, EACCES...
        raise LicscanError(f"--output {output}: cannot write: {e.strerror or e}") from None
