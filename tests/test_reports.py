"""Every output format, validated by its schema or its own library; SARIF ids that last."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES

from licscan.engine.index import open_index
from licscan.model import Judgement
from licscan.reports import FORMATS, renderer
from licscan.inputs.paths import ScanResult, scan_paths

CORPUS = FIXTURES / "langs" / "corpus"
COPIES = FIXTURES / "langs" / "copies"
SARIF_SCHEMA = Path(__file__).parent / "schemas" / "sarif-2.1.0-rtm.5.json"
HOSTILE = "/* </pre><script>alert('x')</script> | `tick` **bold** <b>&amp; */"


@pytest.fixture
def scanned(core_index: Path, tmp_path: Path) -> tuple[ScanResult, object]:
    """Findings in three files, one with markup in the copied lines and a hostile name."""
    src = (CORPUS / "c" / "rlepack.c").read_text().splitlines(keepends=True)
    at = next(i for i, ln in enumerate(src) if "while" in ln)
    src.insert(at, HOSTILE + "\n")
    d = tmp_path / "work"
    d.mkdir()
    (d / "a|b `x` <i>.c").write_text("".join(src))
    (d / "calc.py").write_text((COPIES / "python" / "t2_exprcalc.py").read_text())
    (d / "mine.go").write_text((CORPUS / "go" / "lrucache.go").read_text())
    (d / "clean.py").write_text("def greet(name):\n    return f'hello {name}'\n")
    idx = open_index(core_index)
    res = scan_paths(idx, [str(d)])
    assert len({f.path for f in res.findings}) == 3
    return res, idx


def judge(res: ScanResult) -> None:
    """Verdicts as the policy stage writes them, one of each kind."""
    kinds = ["incompatible", "obligations", "compatible"]
    for i, f in enumerate(res.findings):
        v = kinds[i % 3]
        f.judgement = Judgement(verdict=v, verdict_reason=f"reason {v}", profile="binary",
                                obligations=[{"id": "notice", "text": "Keep the <notice> & license text", "cite": "§4"}]
                                if v == "obligations" else [])


def render(fmt: str, res: ScanResult, idx: object, **kw: bool) -> str:
    out = io.StringIO()
    renderer(fmt)(res, idx, out, **kw)  # type: ignore[arg-type]
    return out.getvalue()


def test_all_formats_are_registered() -> None:
    assert {"text", "json", "sarif", "spdx", "cyclonedx", "markdown", "html"} <= set(FORMATS)


# --------------------------------------------------------------------------- SARIF


def sarif_errors(doc: dict) -> list[str]:
    import jsonschema

    schema = json.loads(SARIF_SCHEMA.read_text())
    v = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    return [f"{list(e.path)}: {e.message}" for e in v.iter_errors(doc)]


def test_sarif_validates_with_rules_levels_and_upstream(scanned: tuple) -> None:
    res, idx = scanned
    doc = json.loads(render("sarif", res, idx))
    assert sarif_errors(doc) == []
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert set(rules) == {"copied-code/gpl"}  # no policy: one rule per license family
    assert rules["copied-code/gpl"]["help"]["text"] and rules["copied-code/gpl"]["defaultConfiguration"]["level"] == "warning"
    assert len(run["results"]) == len(res.findings)
    for r, f in zip(run["results"], res.findings):
        assert r["level"] == "warning" and r["ruleId"] == "copied-code/gpl"
        assert f.source.path in r["message"]["text"] and "GPL-3.0-or-later" in r["message"]["text"]
        assert r["properties"]["upstream"]["path"] == f.source.path
        assert r["properties"]["license"] == "GPL-3.0-or-later"
        region = r["locations"][0]["physicalLocation"]["region"]
        assert (region["startLine"], region["endLine"]) == (f.start_line, f.end_line)
    judge(res)
    doc = json.loads(render("sarif", res, idx))
    assert sarif_errors(doc) == []
    levels = {r["properties"]["verdict"]: r["level"] for r in doc["runs"][0]["results"]}
    assert levels == {"incompatible": "error", "obligations": "warning", "compatible": "note"}
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert set(rules) == {"copied-code/incompatible", "copied-code/obligations", "copied-code/compatible"}
    assert rules["copied-code/incompatible"]["defaultConfiguration"]["level"] == "error"
    ob = next(r for r in doc["runs"][0]["results"] if r["properties"]["verdict"] == "obligations")
    assert "Keep the <notice> & license text" in ob["message"]["text"]
    assert ob["properties"]["obligations"][0]["cite"] == "§4"


def test_sarif_unknown_verdict_is_a_warning(scanned: tuple) -> None:
    res, idx = scanned
    for f in res.findings:
        f.judgement = Judgement(verdict="unknown", verdict_reason="project license unknown")
    doc = json.loads(render("sarif", res, idx))
    assert {r["level"] for r in doc["runs"][0]["results"]} == {"warning"}
    assert {r["ruleId"] for r in doc["runs"][0]["results"]} == {"copied-code/unknown"}


def fingerprints(core_index: Path, path: Path) -> dict[str, tuple[str, int]]:
    idx = open_index(core_index)
    doc = json.loads(render("sarif", scan_paths(idx, [str(path)]), idx))
    return {r["properties"]["upstream"]["path"]: (r["partialFingerprints"]["primaryLocationLineHash"],
                                                  r["locations"][0]["physicalLocation"]["region"]["startLine"])
            for r in doc["runs"][0]["results"]}


def test_sarif_fingerprints_survive_moved_code(core_index: Path, tmp_path: Path) -> None:
    c = (CORPUS / "c" / "rlepack.c").read_text()
    py = (CORPUS / "python" / "exprcalc.py").read_text()
    f = tmp_path / "mix.py"
    f.write_text(py)
    before = fingerprints(core_index, f)
    f.write_text("import sys\n\n\ndef unrelated(a, b):\n    return a + b\n\n" * 4 + py + "\n\nX = 1\n" * 5)
    after = fingerprints(core_index, f)
    assert set(before) == set(after) == {"corpus/python/exprcalc.py"}
    (h0, line0), (h1, line1) = before["corpus/python/exprcalc.py"], after["corpus/python/exprcalc.py"]
    assert line1 == line0 + 24 and h1 == h0
    # Different copied code, or the same code in another file, is another alert.
    g = tmp_path / "other.c"
    g.write_text(c)
    assert fingerprints(core_index, g)["corpus/c/rlepack.c"][0] != h0
    h = tmp_path / "copy2.py"
    h.write_text(py)
    assert fingerprints(core_index, h)["corpus/python/exprcalc.py"][0] != h0


# --------------------------------------------------------------------------- SPDX


def test_spdx_document_validates_with_one_snippet_per_finding(scanned: tuple, tmp_path: Path) -> None:
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    res, idx = scanned
    judge(res)
    out = tmp_path / "report.spdx.json"
    out.write_text(render("spdx", res, idx))
    doc = parse_file(str(out))
    assert validate_full_spdx_document(doc) == []
    assert doc.creation_info.spdx_version == "SPDX-2.3"
    assert len(doc.snippets) == len(res.findings)
    files = {f.spdx_id: f for f in doc.files}
    for snip in doc.snippets:
        f = next(x for x in res.findings if snip.line_range == (x.start_line, x.end_line)
                 and files[snip.file_spdx_id].name.endswith(Path(x.path).name))
        assert str(snip.license_concluded) == "GPL-3.0-or-later"
        assert f.source.path in snip.comment
        data = Path(f.path).read_bytes()
        lo, hi = snip.byte_range
        region = data[lo - 1:hi].decode()
        lines = data.decode().splitlines()
        assert region.startswith(lines[f.start_line - 1]) and region.rstrip("\n").endswith(lines[f.end_line - 1])
    rel = {(r.spdx_element_id, r.related_spdx_element_id) for r in doc.relationships}
    assert all(("SPDXRef-DOCUMENT", fid) in rel for fid in files)
    assert {p.name for p in doc.packages} == {"corpus"}  # the upstream project


def test_spdx_non_spdx_license_names_become_license_refs(scanned: tuple, tmp_path: Path) -> None:
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    res, idx = scanned
    res.findings[0].license = "GPL-2.0-or-later AND LicenseRef-scancode-foo"
    res.findings[1].license = "Some Custom License"
    res.findings[2].license = None
    out = tmp_path / "r.spdx.json"
    out.write_text(render("spdx", res, idx))
    doc = parse_file(str(out))
    assert validate_full_spdx_document(doc) == []
    assert {e.license_id for e in doc.extracted_licensing_info} == {
        "LicenseRef-scancode-foo", "LicenseRef-licscan-Some-Custom-License"}


# --------------------------------------------------------------------------- CycloneDX


def test_cyclonedx_components_with_evidence(scanned: tuple) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    res, idx = scanned
    judge(res)
    text = render("cyclonedx", res, idx)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    assert doc["specVersion"] == "1.6"
    (comp,) = doc["components"]
    assert comp["name"] == "corpus" and comp["licenses"] == [{"expression": "GPL-3.0-or-later"}]
    occ = comp["evidence"]["occurrences"]
    assert sorted((o["location"], o["line"]) for o in occ) == sorted((f.path, f.start_line) for f in res.findings)
    ident = comp["evidence"]["identity"][0]
    assert ident["field"] == "name" and ident["methods"][0]["technique"] == "source-code-analysis"
    assert {p["value"] for p in comp["properties"] if p["name"] == "licscan:verdict"} == {"incompatible"}
    # An index with two upstream projects gives two components.
    res.findings[0].source = type(res.findings[0].source)("src/coreutils_9.1/src/yes.c", 1, 9)
    doc = json.loads(render("cyclonedx", res, idx))
    assert sorted((c["name"], c.get("version")) for c in doc["components"]) == [("coreutils", "9.1"), ("corpus", None)]


# --------------------------------------------------------------------------- Markdown / HTML / text


def test_markdown_report_for_reviewers(scanned: tuple) -> None:
    res, idx = scanned
    judge(res)
    md = render("markdown", res, idx, side_by_side=True)
    assert md.startswith("## licscan: 3 finding(s)")
    table = [ln for ln in md.splitlines() if ln.startswith("| ")]
    assert len(table) == 1 + len(res.findings)
    assert all(ln.count(" | ") == 7 for ln in table[1:])  # the pipe in the file name is escaped
    assert table[1].startswith("| **error** |")  # worst first
    assert "Keep the &lt;notice&gt; &amp; license text (§4)" in md
    assert "<script>" not in md.split("```")[0]  # outside code blocks markup is neutralized
    assert "Upstream `corpus/c/rlepack.c` lines" in md


def test_html_report_escapes_everything(scanned: tuple) -> None:
    from html.parser import HTMLParser

    res, idx = scanned
    judge(res)
    page = render("html", res, idx, side_by_side=True)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "a|b `x` &lt;i&gt;.c" in page
    assert "Keep the &lt;notice&gt; &amp; license text" in page

    class Tags(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []
            self.bad: list[str] = []

        def handle_starttag(self, tag: str, attrs: list) -> None:
            if tag not in ("meta",):
                self.stack.append(tag)

        def handle_endtag(self, tag: str) -> None:
            if not self.stack or self.stack.pop() != tag:
                self.bad.append(tag)

    p = Tags()
    p.feed(page)
    assert p.bad == [] and p.stack == []
    assert page.count("<section") == len(res.findings)


def test_text_report_shows_verdicts_only_when_judged(scanned: tuple) -> None:
    res, idx = scanned
    plain = render("text", res, idx)
    assert "┃ verdict" not in plain and "incompatible" not in plain
    judge(res)
    judged = render("text", res, idx)
    assert "┃ verdict" in judged and "incompatible" in judged
    assert "Keep the <notice> & license text" in judged


def test_clean_scans_give_valid_empty_documents(core_index: Path, tmp_path: Path) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    (tmp_path / "ok.py").write_text("def greet(name):\n    return name\n")
    idx = open_index(core_index)
    res = scan_paths(idx, [str(tmp_path / "ok.py")])
    assert not res.findings
    sarif = json.loads(render("sarif", res, idx))
    assert sarif_errors(sarif) == [] and sarif["runs"][0]["results"] == []
    spdx = tmp_path / "clean.spdx.json"
    spdx.write_text(render("spdx", res, idx))
    assert validate_full_spdx_document(parse_file(str(spdx))) == []
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(render("cyclonedx", res, idx)) is None
    assert render("markdown", res, idx).count("\n") == 1
    assert render("text", res, idx) == "no findings in 1 scanned file(s)\n"


@pytest.mark.parametrize("fmt", ["sarif", "spdx", "cyclonedx", "markdown", "html"])
def test_cli_writes_each_format_to_output(fmt: str, core_index: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text((CORPUS / "python" / "exprcalc.py").read_text())
    out = tmp_path / f"report.{fmt}"
    env = {k: v for k, v in os.environ.items() if k != "LICSCAN_DEBUG"}
    r = subprocess.run([sys.executable, "-m", "licscan", "scan", "--index", str(core_index), "-f", fmt,
                        "-o", str(out), str(mine)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1, r.stderr
    assert "corpus/python/exprcalc.py" in out.read_text()
    assert r.stdout == ""


def test_report_libraries_stay_off_the_scan_path(core_index: Path, tmp_path: Path) -> None:
    """A clean text scan imports no report library, git helper or Markdown code path, nor the
    PostgreSQL driver (a scan of an index file never needs it: cold-start budget)."""
    f = tmp_path / "one.c"
    f.write_text("int main(void) { return 0; }\n")
    code = ("import atexit, sys\n"
            "heavy = ('jsonschema', 'spdx_tools', 'cyclonedx', 'rich', 'licscan.inputs.git', 'licscan.reports.sarif',"
            " 'psycopg', 'licscan.engine.pgstore', 'dask', 'distributed', 'pyarrow', 'licscan.engine.distributed')\n"
            "atexit.register(lambda: print(sorted(m for m in sys.modules if m.startswith(heavy)), file=sys.stderr))\n"
            "from licscan.cli.main import main\n"
            f"sys.argv = ['licscan', 'scan', '--index', {str(core_index)!r}, {str(f)!r}]\n"
            "main()\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "[]"
