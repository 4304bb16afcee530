"""Command line. Thin: parse options, call one stage, map errors to exit codes.

Exit codes: 0 no findings, 1 findings, 2 usage or runtime error (one line, no
traceback; set LICSCAN_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from licscan.model import LicscanError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Find code copied from copyleft projects, with its license and source.")
index_app = typer.Typer(no_args_is_help=True, help="Build and inspect indexes of copyleft code.")
app.add_typer(index_app, name="index")


def _progress_wanted() -> bool:
    """Progress bars only for a person at a terminal: not in CI, not under pre-commit."""
    return sys.stderr.isatty() and not os.environ.get("CI") and not os.environ.get("PRE_COMMIT")


@index_app.command("build")
def index_build(
    roots: Annotated[list[Path], typer.Argument(help="Corpus directories (or files) to index, or "
                                                "manifests (*.toml) to fetch and index.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Index file to write.")],
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (default: all cores).")] = None,
    no_licenses: Annotated[bool, typer.Option("--no-licenses", help="Skip license detection.")] = False,
    store_text: Annotated[bool, typer.Option("--store-text", help="Store source text in the index "
                                             "(self-contained evidence, about twice the size).")] = False,
    base: Annotated[Optional[list[Path]], typer.Option(
        "--base", help="Code known not to be copyleft (a directory or manifest; repeatable): what the "
        "corpus shares with it is common code, not evidence of a copy.")] = None,
) -> None:
    """Index every code file under ROOTS into one index file (written atomically)."""
    from rich.console import Console

    from licscan.engine.build import BuildParams, build_index
    from licscan.cli.corpus import report_fetched, report_start
    from licscan.corpus.fetch import resolve_roots

    res = resolve_roots(roots, on_start=report_start, on_fetched=report_fetched)  # manifests -> trees
    base_roots = resolve_roots(base, on_start=report_start, on_fetched=report_fetched).roots if base else []
    summary = build_index(res.roots, out, workers=workers, progress=_progress_wanted(),
                          params=BuildParams(store_text=store_text), licenses=not no_licenses,
                          license_overrides=res.license_overrides, extra_meta=res.extra_meta,
                          base=base_roots)
    console = Console(stderr=True, highlight=False)
    langs = ", ".join(f"{k} {v}" for k, v in summary.languages.items())
    lics = ", ".join(f"{k} {v}" for k, v in sorted(summary.licenses.items(), key=lambda kv: -kv[1])[:8])
    skipped = ", ".join(f"{v} {k}" for k, v in sorted(summary.skipped.items(), key=lambda kv: -kv[1]))
    console.print(
        f"indexed {summary.files} files ({summary.bytes / 1e6:.1f} MB, {summary.tokens:,} tokens) "
        f"in {summary.seconds:.1f} s -> {out} ({summary.index_bytes / 1e6:.1f} MB)\n"
        f"  languages: {langs or 'none'}\n"
        f"  fingerprints: {summary.fingerprints:,} kept, {summary.fingerprints_dropped:,} dropped as "
        f"boilerplate; {summary.duplicates} identical copies, {summary.families} families\n"
        f"  licenses: {lics or 'not detected'}"
        + ("" if summary.scancode or no_licenses else " (scancode not installed: light matcher)")
        + (f"\n  base code: {summary.base_files} files; {summary.base_common:,} corpus fingerprints "
           "it shares are marked common" if base_roots else "")
        + (f"\n  skipped: {skipped}" if skipped else ""))


@index_app.command("info")
def index_info(
    index: Annotated[Path, typer.Argument(help="Index file.")],
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Show what an index holds: files, languages, licenses, build parameters."""
    import json

    from licscan.cli.corpus import index_sources, render_sources
    from licscan.engine.index import open_index

    idx = open_index(index)
    info = {"path": str(index), "bytes": index.stat().st_size, **idx.stats(),
            "params": idx.params, "roots": idx.meta.get("roots"), "base": idx.meta.get("base") or [],
            "built_at": idx.meta.get("built_at"),
            "corpus_sha256": idx.meta.get("corpus_sha256"), "grammars": idx.meta.get("grammars"),
            "sources": index_sources(idx)}
    if fmt == "json":
        print(json.dumps(info, indent=2))
        return
    for key, value in info.items():
        if key == "sources":
            print(render_sources(value))
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif key in ("roots", "base") and isinstance(value, list):
            value = ", ".join(f"{r.get('name')} ({r.get('path')})" for r in value) or "none"
        print(f"{key}: {value}")


@app.command()
def scan(
    paths: Annotated[Optional[list[str]], typer.Argument(help="Files, directories, or - for stdin.")] = None,
    index: Annotated[Optional[Path], typer.Option("--index", "-i", envvar="LICSCAN_INDEX", help="Index file "
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
    markdown: Annotated[bool, typer.Option("--markdown", help="Inputs are Markdown: scan fenced code blocks "
                                           "(.md files always are).")] = False,
    config: Annotated[Optional[Path], typer.Option("--config", help="Policy file (default: nearest "
                                                   ".licscan.toml or pyproject [tool.licscan]).")] = None,
    project_license: Annotated[Optional[str], typer.Option(help="Your project's SPDX license.")] = None,
    profile: Annotated[Optional[str], typer.Option(help="source, binary (default) or network.")] = None,
    fail_on: Annotated[Optional[str], typer.Option(help="incompatible (default), copyleft, any or never.")] = None,
    baseline: Annotated[Optional[Path], typer.Option(help="Accept the findings of this baseline.")] = None,
) -> None:
    """Report regions of PATHS copied from indexed copyleft code; exit 1 if they fail the policy."""
    from licscan.engine.index import open_index
    from licscan.reports import renderer
    from licscan.inputs.paths import scan_paths

    render = renderer(fmt)
    from licscan.policy.gate import apply_policy, load_policy

    policy = load_policy(config, fail_on=fail_on, profile=profile, project_license=project_license,
                         baseline=baseline, min_tokens=min_tokens, min_similarity=min_similarity)
    t = policy.thresholds()
    from licscan.inputs.units import resolve_index, scan_inputs

    idx = open_index(resolve_index(index or policy.index))
    result = scan_inputs(idx, paths, lang=lang, thresholds=t, staged=staged, diff=diff, markdown=markdown)
    outcome = apply_policy(result, policy)
    if output:
        tmp = output.with_name(f".{output.name}.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            render(result, idx, fh, side_by_side=side_by_side)
        os.replace(tmp, output)
    else:
        render(result, idx, sys.stdout, side_by_side=side_by_side)
    outcome.report(sys.stderr)
    raise typer.Exit(outcome.exit_code)


def _command_line() -> tuple[typer.Typer, dict]:
    """The app to run and how. ``licscan scan`` (the pre-commit and CI hot path) runs
    an app holding that command alone: turning every other command into a click
    command costs ~25 ms of a ~300 ms cold scan."""
    if sys.argv[1:2] == ["scan"]:
        one = typer.Typer(add_completion=False)
        one.command()(scan)
        return one, {"args": sys.argv[2:], "prog_name": "licscan scan"}
    return app, {}


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    try:
        run, how = _command_line()
        rc = run(standalone_mode=False, **how)
        sys.exit(rc if isinstance(rc, int) else 0)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("licscan: interrupted", file=sys.stderr)
        sys.exit(2)
    except LicscanError as e:
        print(f"licscan: error: {e}", file=sys.stderr)
        sys.exit(2)
    except Exception as e:  # noqa: BLE001 - a gate must fail loudly but legibly
        import click

        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(2)
        if os.environ.get("LICSCAN_DEBUG"):
            raise
        print(f"licscan: internal error: {e.__class__.__name__}: {e}", file=sys.stderr)
        sys.exit(2)


from licscan.cli import corpus as cli_corpus  # noqa: E402,F401 - registers `corpus` and `demo` on app
from licscan.integrations.mcp import command as _mcp_command  # noqa: E402 - `licscan mcp`: the check_code tool over MCP stdio
app.command("mcp")(_mcp_command)
from licscan.cli.policy import register as _register_policy; _register_policy(app)  # noqa: E402,E702 - `obligations`, `baseline`
