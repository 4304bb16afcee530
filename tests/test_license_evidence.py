"""Issue 14: the license evidence travels from the build into the index, the findings, every
report format and ``index info``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES
from licscan.engine.build import build_index
from licscan.engine.index import open_index
from licscan.inputs.paths import scan_paths
from licscan.model import EVIDENCE_KINDS
from licscan.reports import renderer

CORPUS = FIXTURES / "langs" / "corpus"
SHELL_C = """\
#include <stdio.h>

static int count_words(const char *line, int *chars_out)
{
    int words = 0, chars = 0, in_word = 0;
    for (const char *p = line; *p; p++) {
        chars++;
        if (*p == ' ' || *p == '\\t' || *p == '\\n') {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    if (chars_out)
        *chars_out = chars + words * 3 - (in_word ? 1 : 0);
    return words > 1000 ? 1000 : words;
}
"""


@pytest.fixture(scope="module")
def shelly_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fish-like project: its COPYING lists bundled parts' licenses; the code has no notice."""
    root = tmp_path_factory.mktemp("corpus") / "shelly"
    (root / "src").mkdir(parents=True)
    (root / "COPYING").write_text(
        "Shelly is a shell.\n\nshelly is free software.\n\nMost of shelly is licensed under the GNU General "
        "Public License version 2.\n\nshelly also includes software licensed under the GNU Lesser General "
        "Public License version 2 and the ISC license.\n")
    (root / "src" / "words.c").write_text(SHELL_C)
    out = tmp_path_factory.mktemp("idx") / "shelly.lsi"
    old = os.environ.get("LICSCAN_LICENSE_ENGINE")
    os.environ["LICSCAN_LICENSE_ENGINE"] = "light"
    try:
        build_index([root], out, workers=1)
    finally:
        os.environ.pop("LICSCAN_LICENSE_ENGINE") if old is None else os.environ.__setitem__(
            "LICSCAN_LICENSE_ENGINE", old)
    return out


def test_every_indexed_file_has_evidence(core_index: Path) -> None:
    idx = open_index(core_index)
    rows = idx._query("SELECT license, license_evidence FROM files")  # type: ignore[attr-defined]
    assert rows
    for lic, ev in rows:
        d = json.loads(ev)
        assert d["kind"] in EVIDENCE_KINDS
        assert lic or (d["kind"] == "unknown" and d["reason"])  # never an empty license without a reason


def test_finding_carries_evidence_in_every_format(shelly_index: Path, tmp_path: Path) -> None:
    (tmp_path / "mine.c").write_text(SHELL_C)
    idx = open_index(shelly_index)
    res = scan_paths(idx, [str(tmp_path / "mine.c")])
    assert res.findings
    f = res.findings[0]
    assert f.license == "GPL-2.0-only"
    assert f.license_evidence is not None and f.license_evidence.kind == "license-file"
    assert f.license_evidence.path == "shelly/COPYING" and f.license_evidence.lines == (5, 5)

    def out(fmt: str) -> str:
        buf = io.StringIO()
        renderer(fmt)(res, idx, buf)  # type: ignore[arg-type]
        return buf.getvalue()

    doc = json.loads(out("json"))
    assert doc["version"] == "1.2"
    assert doc["findings"][0]["license_evidence"] == {"kind": "license-file", "path": "shelly/COPYING",
                                                      "lines": [5, 5]}
    import jsonschema

    schema = json.loads((Path(__file__).parent.parent / "licscan" / "data" / "report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    line = "License evidence: license-file shelly/COPYING:5."
    for fmt in ("text", "markdown", "html"):
        assert line in out(fmt), fmt
    sarif = json.loads(out("sarif"))["runs"][0]["results"][0]
    assert line in sarif["message"]["text"]
    assert sarif["properties"]["licenseEvidence"]["kind"] == "license-file"


def test_index_info_lists_declared_license_and_evidence_counts(shelly_index: Path) -> None:
    run = [sys.executable, "-m", "licscan", "index", "info"]
    r = subprocess.run([*run, str(shelly_index)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "declared license: GPL-2.0-only (license-file shelly/COPYING:5)" in r.stdout
    assert "files decided by: license-file 1" in r.stdout
    info = json.loads(subprocess.run([*run, "--format", "json", str(shelly_index)], capture_output=True,
                                     text=True, timeout=120).stdout)
    src = info["sources"][0]
    assert src["declared_license"] == "GPL-2.0-only" and src["license_evidence"] == {"license-file": 1}
    assert info["license_evidence"] == {"license-file": 1}


@pytest.mark.parametrize("project, verdict, fails", [("MIT", "incompatible", True),
                                                      ("GPL-2.0-only", "compatible", False)])
def test_gate_judges_the_resolved_license(shelly_index: Path, tmp_path: Path, project: str, verdict: str,
                                          fails: bool) -> None:
    """End to end: fish-like code is GPL-2.0-only (not the AND of its bundled parts), so an MIT
    project fails the gate and a GPL-2.0-only project keeps it."""
    from licscan.policy.gate import apply_policy, load_policy

    (tmp_path / "mine.c").write_text(SHELL_C)
    policy = load_policy(cwd=tmp_path, project_license=project)
    result = scan_paths(open_index(shelly_index), [str(tmp_path / "mine.c")], thresholds=policy.thresholds())
    outcome = apply_policy(result, policy)
    f = result.findings[0]
    assert (f.license, f.judgement.verdict) == ("GPL-2.0-only", verdict)
    assert bool(outcome.failing) is fails


def test_unknown_license_fails_the_default_gate_with_its_reason(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from licscan.policy.gate import apply_policy, load_policy

    monkeypatch.setenv("LICSCAN_LICENSE_ENGINE", "light")
    root = tmp_path / "corpus" / "nolicense"
    root.mkdir(parents=True)
    (root / "words.c").write_text(SHELL_C)
    out = tmp_path / "n.lsi"
    build_index([root], out, workers=1)
    (tmp_path / "mine.c").write_text(SHELL_C)
    policy = load_policy(cwd=tmp_path, project_license="MIT")
    result = scan_paths(open_index(out), [str(tmp_path / "mine.c")], thresholds=policy.thresholds())
    outcome = apply_policy(result, policy)
    f = result.findings[0]
    assert f.license is None and f.license_evidence is not None
    assert f.license_evidence.kind == "unknown" and "no license file" in (f.license_evidence.reason or "")
    assert f.judgement.verdict == "unknown" and outcome.failing == [f]
    assert json.loads(json.dumps(f.to_dict()))["license_evidence"]["reason"]
