"""``licscan.scan_text``: the in-process API judges findings like the CLI does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES

import licscan
from licscan.model import LicscanError

GO_SRC = (FIXTURES / "langs" / "corpus" / "go" / "lrucache.go").read_text()  # GPL-3.0-or-later


@pytest.fixture(autouse=True)
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no config and no license of its own."""
    (tmp_path / ".git").mkdir()  # ends the config search here
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LICSCAN_INDEX", raising=False)
    return tmp_path


def test_findings_carry_verdicts_and_obligations(core_index: Path) -> None:
    (f,) = licscan.scan_text(GO_SRC, "go", index=str(core_index), project_license="Apache-2.0")
    d = f.to_dict()
    assert d["license"] == "GPL-3.0-or-later" and d["verdict"] == "incompatible"
    assert "Apache-2.0" in d["verdict_reason"] and d["profile"] == "binary"
    assert d["obligations"] and all({"id", "cite", "text"} <= set(o) for o in d["obligations"])
    json.dumps(d)  # what an agent would send on

    (f,) = licscan.scan_text(GO_SRC, "go", index=str(core_index), project_license="GPL-3.0-or-later",
                             profile="network")
    assert f.judgement.verdict == "compatible" and f.judgement.profile == "network"


def test_without_a_license_the_verdict_is_unknown(core_index: Path) -> None:
    (f,) = licscan.scan_text(GO_SRC, "go", index=str(core_index))
    assert f.judgement.verdict == "unknown" and f.judgement.profile == "binary"


def test_config_file_is_picked_up_and_arguments_override_it(core_index: Path, elsewhere: Path) -> None:
    (elsewhere / ".licscan.toml").write_text('project-license = "GPL-3.0-or-later"\nprofile = "source"\n')
    (f,) = licscan.scan_text(GO_SRC, "go", index=str(core_index))
    assert (f.judgement.verdict, f.judgement.profile) == ("compatible", "source")
    (f,) = licscan.scan_text(GO_SRC, "go", index=str(core_index), project_license="MIT", profile="binary")
    assert (f.judgement.verdict, f.judgement.profile) == ("incompatible", "binary")
    # A reasoned inline suppression drops the finding, as in the CLI.
    lines = GO_SRC.splitlines(keepends=True)
    lines.insert(f.start_line - 1, "// licscan: allow vendored with its license\n")
    allowed = "".join(lines)
    assert licscan.scan_text(allowed, "go", index=str(core_index)) == []


def test_bad_profile_is_an_error_even_on_clean_code(core_index: Path) -> None:
    with pytest.raises(LicscanError, match="unknown profile"):
        licscan.scan_text("print('hi')\n", "python", index=str(core_index), profile="saas")


def test_clean_code_does_not_import_the_policy_stage(core_index: Path) -> None:
    code = ("import sys, licscan\n"
            f"assert licscan.scan_text('print(1)\\n' * 40, 'python', index={str(core_index)!r}) == []\n"
            "print(sorted(m for m in sys.modules if m.startswith('licscan.policy')))\n")
    env = {k: v for k, v in os.environ.items() if k != "LICSCAN_INDEX"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.replace("'", '"')) == []
