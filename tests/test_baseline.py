"""Baselines: line-independent identity, create/update/check, expiry, exit code 3."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, write
from licscan.policy.baseline import Baseline, finding_id, rebuild
from licscan.model import Finding, SourceRef

COPIES = FIXTURES / "langs" / "copies"
CORPUS = FIXTURES / "langs" / "corpus"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LICSCAN_DEBUG", "LICSCAN_INDEX")}
    return subprocess.run([sys.executable, "-m", "licscan", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


TEXTS: dict[int, str] = {}
"""Scanned text by finding (the scan keeps texts by path; paths repeat across tests)."""


def findings(index: Path, path: Path) -> list[Finding]:
    from licscan.engine.index import open_index
    from licscan.inputs.paths import scan_paths

    result = scan_paths(open_index(index), [str(path)])
    assert result.findings, path
    for f in result.findings:
        TEXTS[id(f)] = result.texts[f.path]
    return result.findings


def fid(index: Path, path: Path) -> str:
    f = findings(index, path)[0]
    return finding_id(f, TEXTS[id(f)])


def test_identity_survives_moving_and_renaming_but_not_editing(core_index: Path, tmp_path: Path) -> None:
    code = (COPIES / "c" / "t1_rlepack.c").read_text()
    a = write(tmp_path, {"a.c": code})
    moved = write(tmp_path, {"src/other/b.c": "/* new header */\n\nstatic int unrelated;\n\n\n" + code + "\n"})
    write(tmp_path, {"c.c": code.replace("rle_encode", "pack_runs").replace("src", "input")})
    write(tmp_path, {"d.c": code.replace("in < len", "in <= len - 1")})
    f_a, f_moved = findings(core_index, a / "a.c")[0], findings(core_index, moved / "src/other/b.c")[0]
    assert f_moved.start_line == f_a.start_line + 5  # the lines did move...
    base = fid(core_index, tmp_path / "a.c")
    assert fid(core_index, tmp_path / "src/other/b.c") == base  # ...the identity did not
    assert fid(core_index, tmp_path / "c.c") == base
    assert fid(core_index, tmp_path / "d.c") != base
    # The source is part of the identity.
    f = findings(core_index, tmp_path / "a.c")[0]
    other = Finding(f.path, f.start_line, f.end_line, f.similarity, f.license,
                    SourceRef("elsewhere/x.c", 1, 2), f.tokens, f.language, f.evidence)
    assert finding_id(other, TEXTS[id(f)]) != base


def test_rebuild_keeps_metadata_adds_new_drops_gone() -> None:
    f1 = Finding("a.c", 1, 9, 1.0, "GPL-2.0-only", SourceRef("s/x.c", 1, 9), 60, "c")
    f2 = Finding("b.c", 1, 9, 1.0, "GPL-2.0-only", SourceRef("s/y.c", 1, 9), 60, "c")
    old = Baseline([{"id": "one", "path": "old/place.c", "reason": "r", "author": "ana", "expires": "2030-01-01"},
                    {"id": "gone", "path": "z.c"}])
    new = rebuild(old, [(f1, "one", "a.c"), (f2, "two", "b.c"), (f2, "two", "c.c")], {"reason": "bulk"})
    assert set(new.entries) == {"one", "two"}
    assert new.entries["one"].data == old.entries["one"].data  # untouched: no churn when code moves
    assert new.entries["two"].data["reason"] == "bulk" and new.entries["two"].data["path"] == "b.c"
    assert "author" not in new.entries["two"].data


def test_expiry_is_inclusive_of_the_date() -> None:
    e = Baseline([{"id": "x", "expires": "2025-06-30"}]).get("x")
    assert e is not None
    assert not e.expired(dt.date(2025, 6, 30)) and e.expired(dt.date(2025, 7, 1))
    assert not Baseline([{"id": "y"}]).get("y").expired(dt.date(2999, 1, 1))  # type: ignore[union-attr]


def test_create_scan_update_check_cycle(core_index: Path, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path, {".licscan.toml": f'project-license = "MIT"\nindex = "{core_index}"\n'
                                      'baseline = ".licscan-baseline.json"\n',
                     "src/a.c": (COPIES / "c" / "t1_rlepack.c").read_text()})
    bl = tmp_path / ".licscan-baseline.json"
    assert run("scan", "src", cwd=tmp_path).returncode == 2  # the configured baseline does not exist yet
    r = run("baseline", "create", "--reason", "legacy import", "--author", "ana", "src", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(bl.read_text())
    assert len(doc["entries"]) == 1
    entry = doc["entries"][0]
    assert entry["path"] == "src/a.c" and entry["reason"] == "legacy import" and entry["author"] == "ana"
    assert entry["source"].endswith("rlepack.c") and entry["license"] == "GPL-3.0-or-later"
    assert run("baseline", "create", "src", cwd=tmp_path).returncode == 2  # never clobbers silently

    # Accepted: the gate passes, the finding is filtered from the report.
    r = run("scan", "--format", "json", "src", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["findings"] == [] and "1 baseline" in r.stderr
    # The code moves down the file: still accepted, and update has nothing to rewrite.
    a = tmp_path / "src" / "a.c"
    a.write_text("// moved\n" * 12 + a.read_text())
    assert run("scan", "src", cwd=tmp_path).returncode == 0
    before = bl.read_text()
    r = run("baseline", "update", "src", cwd=tmp_path)
    assert r.returncode == 0 and bl.read_text() == before, r.stderr

    # New copied code fails the gate until the baseline is updated (exit 3: rewritten).
    write(tmp_path, {"src/b.py": (COPIES / "python" / "t1_exprcalc.py").read_text()})
    r = run("baseline", "check", "src", cwd=tmp_path)
    assert r.returncode == 1 and "b.py" in r.stderr
    r = run("baseline", "update", "--reason", "second batch", "src", cwd=tmp_path)
    assert r.returncode == 3, r.stderr
    entries = {e["path"]: e for e in json.loads(bl.read_text())["entries"]}
    assert set(entries) == {"src/a.c", "src/b.py"}
    assert entries["src/a.c"]["reason"] == "legacy import" and entries["src/b.py"]["reason"] == "second batch"
    assert run("baseline", "check", "src", cwd=tmp_path).returncode == 0
    # Fixed code leaves a stale entry: update drops it (exit 3 again).
    (tmp_path / "src" / "b.py").unlink()
    r = run("baseline", "check", "src", cwd=tmp_path)
    assert r.returncode == 0 and "no longer found" in r.stderr
    assert run("baseline", "update", "src", cwd=tmp_path).returncode == 3
    assert len(json.loads(bl.read_text())["entries"]) == 1


def test_expired_entries_fail_the_gate_again(core_index: Path, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path, {"a.c": (COPIES / "c" / "t1_rlepack.c").read_text()})
    bl = tmp_path / "bl.json"
    args = ["--index", str(core_index), "--baseline", str(bl)]
    assert run("baseline", "create", *args, "--expires", "2999-12-31", "a.c", cwd=tmp_path).returncode == 0
    scan = ["scan", "--index", str(core_index), "--baseline", str(bl), "--project-license", "MIT"]
    assert run(*scan, "a.c", cwd=tmp_path).returncode == 0
    doc = json.loads(bl.read_text())
    doc["entries"][0]["expires"] = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    bl.write_text(json.dumps(doc))
    r = run(*scan, "--format", "json", "a.c", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    f = json.loads(r.stdout)["findings"][0]
    assert f["baseline"]["expired"] is True and f["verdict"] == "incompatible"
    assert "expired" in r.stderr
    # An expired entry accepts nothing, but a finding that passes the policy anyway still passes.
    assert run(*scan[:-2], "--project-license", "GPL-3.0-or-later", "a.c", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("content,message", [
    ("not json", "unreadable"),
    ('{"entries": [{"path": "x"}]}', "malformed"),
    ('{"entries": [{"id": "x", "expires": "next week"}]}', "expires must be a date"),
])
def test_bad_baselines_are_errors(core_index: Path, tmp_path: Path, content: str, message: str) -> None:
    write(tmp_path, {"a.c": (COPIES / "c" / "t1_rlepack.c").read_text(), "bl.json": content})
    r = run("scan", "--index", str(core_index), "--baseline", "bl.json", "a.c", cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    r = run("baseline", "create", "--index", str(core_index), "--baseline", "x.json", "--expires", "soon",
            "a.c", cwd=tmp_path)
    assert r.returncode == 2 and not (tmp_path / "x.json").exists()
