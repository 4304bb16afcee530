"""Inline suppressions: `licscan: allow <reason>` on or above a region; none without a reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, write
from licscan.policy.suppress import find, parse_line

COPY = (FIXTURES / "langs" / "copies" / "c" / "t1_rlepack.c").read_text()


@pytest.mark.parametrize("line,reason", [
    ("// licscan: allow vendored from rlepack, relicensed by its author (#12)", "vendored from rlepack, "
                                                                             "relicensed by its author (#12)"),
    ("/* licscan: allow: written by us first */", "written by us first"),
    ("# LICSCAN: Allow  kept until the rewrite lands", "kept until the rewrite lands"),
    ("// licscan: allow", ""),
    ("/* licscan: allow */", ""),
    ("x = 1  # licscan:allow -- ", ""),
])
def test_parse_line(line: str, reason: str) -> None:
    s = parse_line(line)
    assert s is not None and s.reason == reason


def test_parse_line_ignores_other_text() -> None:
    assert parse_line("// licscan scans this file") is None
    assert parse_line("int allowed = 1; // allow this") is None


def test_where_a_suppression_counts() -> None:
    lines = ["int a;"] * 20
    text = lambda at: "\n".join(lines[:at - 1] + ["// licscan: allow ours"] + lines[at:])  # noqa: E731
    assert find(text(9), 10, 15) == find(text(9), 10, 15)
    assert find(text(9), 10, 15).line == 9          # type: ignore[union-attr]  # the line above
    assert find(text(12), 10, 15).line == 12        # type: ignore[union-attr]  # inside
    assert find(text(15), 10, 15) is not None       # the last line
    assert find(text(8), 10, 15) is None            # two lines above: not this region's
    assert find(text(16), 10, 15) is None           # below
    both = "\n".join(["// licscan: allow"] + ["int a;"] * 3 + ["// licscan: allow because"] + ["int a;"] * 5)
    assert find(both, 2, 9).reason == "because"    # type: ignore[union-attr]  # a reason wins


def with_comment(comment: str, at: int) -> str:
    lines = COPY.splitlines()
    return "\n".join(lines[:at - 1] + [comment] + lines[at - 1:]) + "\n"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LICSCAN_DEBUG", "LICSCAN_INDEX")}
    return subprocess.run([sys.executable, "-m", "licscan", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def test_suppressions_through_the_gate(core_index: Path, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path, {"plain.c": COPY})
    scan = ["scan", "--index", str(core_index), "--project-license", "MIT", "--format", "json"]
    r = run(*scan, "plain.c", cwd=tmp_path)
    assert r.returncode == 1, r.stderr  # the control: this copy fails the gate
    start = json.loads(r.stdout)["findings"][0]["start_line"]
    write(tmp_path, {
        "above.c": with_comment("// licscan: allow copied from our own rlepack (we hold the copyright)", start),
        "inside.c": with_comment("    /* licscan: allow dual-licensed to us in writing */", start + 8),
        "noreason.c": with_comment("// licscan: allow", start),
        "far.c": with_comment("// licscan: allow too far away\n", start),  # a blank line between
    })
    for name in ("above.c", "inside.c"):
        r = run(*scan, name, cwd=tmp_path)
        assert r.returncode == 0, (name, r.stderr)
        assert json.loads(r.stdout)["findings"] == [] and "1 suppressed" in r.stderr
    r = run(*scan, "far.c", cwd=tmp_path)
    assert r.returncode == 1 and json.loads(r.stdout)["findings"][0]["start_line"] == start + 2
    # No reason: nothing is suppressed, and the bare comment is itself a problem.
    r = run(*scan, "noreason.c", cwd=tmp_path)
    assert r.returncode == 1
    f = json.loads(r.stdout)["findings"][0]
    assert f["suppression"] == {"line": start, "reason": ""}
    assert f"PROBLEM noreason.c:{start}: suppression without a reason" in r.stderr
    # It fails the gate even when the finding itself would pass.
    r = run("scan", "--index", str(core_index), "--project-license", "GPL-3.0-or-later", "noreason.c",
            cwd=tmp_path)
    assert r.returncode == 1 and "PROBLEM" in r.stderr
