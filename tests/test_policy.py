"""Policy: configuration and its precedence, project license, verdicts on real findings, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, write
from licscan.model import LicscanError
from licscan.config import find_config
from licscan.policy.gate import apply_policy, load_policy, path_matches

CORPUS = FIXTURES / "langs" / "corpus"
COPIES = FIXTURES / "langs" / "copies"
# One corpus file per language, each under another license (SPDX tags decide at build time).
LICENSED = {
    "c/rlepack.c": "GPL-2.0-only",
    "python/exprcalc.py": "AGPL-3.0-only",
    "java/BloomFilter.java": "MPL-2.0",
    "go/lrucache.go": "MIT OR GPL-2.0-only",
    "javascript/fuzzykit.js": "LGPL-2.1-only",
    "rust/b64lite.rs": "GPL-2.0-only WITH Classpath-exception-2.0",
    "cpp/huffpack.cpp": "MIT",
}
COPY_OF = {"c": "t1_rlepack.c", "python": "t1_exprcalc.py", "java": "t1_BloomFilter.java", "go": "t1_lrucache.go",
           "javascript": "t1_fuzzykit.js", "rust": "t1_b64lite.rs", "cpp": "t1_huffpack.cpp"}


@pytest.fixture(scope="module")
def licensed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from licscan.engine.build import build_index

    root = tmp_path_factory.mktemp("lic") / "lic"
    for rel, spdx in LICENSED.items():
        text = (CORPUS / rel).read_text()
        text = text.replace("SPDX-License-Identifier: GPL-3.0-or-later", f"SPDX-License-Identifier: {spdx}")
        assert spdx in text
        write(root, {rel: text})
    out = root.parent / "lic.lsi"
    build_index([root], out, workers=1)
    return out


@pytest.fixture()
def mine(tmp_path: Path) -> Path:
    """A project tree holding one copy from each licensed corpus file."""
    proj = tmp_path / "proj"
    for lang, name in COPY_OF.items():
        write(proj, {f"src/{lang}/{name}": (COPIES / lang / name).read_text()})
    (proj / ".git").mkdir()  # a repository root: config search stops here
    return proj


def scan(index: Path, proj: Path, **policy_args: object):
    from licscan.engine.index import open_index
    from licscan.inputs.paths import scan_paths

    policy = load_policy(cwd=proj, **policy_args)  # type: ignore[arg-type]
    result = scan_paths(open_index(index), [str(proj / "src")], thresholds=policy.thresholds())
    outcome = apply_policy(result, policy)
    by_lang = {Path(f.path).parent.name: f for f in result.findings}
    return result, outcome, by_lang


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LICSCAN_DEBUG", "LICSCAN_INDEX")}
    return subprocess.run([sys.executable, "-m", "licscan", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


# -- configuration ------------------------------------------------------------------------------


def test_config_file_then_flags_override_it(tmp_path: Path) -> None:
    write(tmp_path, {".licscan.toml": 'fail-on = "any"\nprofile = "network"\nproject-license = "MIT"\n'
                                      'min-tokens = 40\nmin_similarity = 0.7\nexclude = ["vendor/"]\n'
                                      'allow = ["LGPL-2.1-only", "zlib/*"]\nbaseline = "bl.json"\n'})
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    p = load_policy(cwd=sub)  # found from a subdirectory, upward
    assert (p.fail_on, p.profile, p.project_license) == ("any", "network", "MIT")
    assert p.project_license_origin == ".licscan.toml project-license"
    assert (p.min_tokens, p.min_similarity) == (40, 0.7)
    assert p.exclude == ["vendor/"] and p.allow == ["LGPL-2.1-only", "zlib/*"]
    assert p.baseline == tmp_path / "bl.json" and p.root == tmp_path.resolve()
    t = p.thresholds()
    assert (t.min_tokens, t.min_tokens_rare, t.min_similarity) == (40, 30, 0.7)

    p = load_policy(cwd=sub, fail_on="never", profile="source", project_license="GPL-3.0-only",
                    min_tokens=20, baseline=tmp_path / "other.json")
    assert (p.fail_on, p.profile, p.project_license) == ("never", "source", "GPL-3.0-only")
    assert p.project_license_origin == "--project-license"
    assert p.min_tokens == 20 and p.thresholds().min_tokens_rare == 20 and p.min_similarity == 0.7
    assert p.baseline == tmp_path / "other.json" and p.exclude == ["vendor/"]


def test_defaults_without_config(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    p = load_policy(cwd=tmp_path)
    assert (p.fail_on, p.profile, p.project_license, p.config_path) == ("incompatible", "binary", None, None)
    assert p.thresholds().min_tokens == 50


def test_pyproject_table_and_search_rules(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\n\n[tool.licscan]\nfail-on = "copyleft"\n',
                     "pkg/pyproject.toml": '[project]\nname = "inner"\n',  # no table: keep looking up
                     "pkg/deep/.keep": ""})
    p = load_policy(cwd=tmp_path / "pkg" / "deep")
    assert p.fail_on == "copyleft" and p.config_path == tmp_path / "pyproject.toml"
    # .licscan.toml wins over pyproject.toml in the same directory.
    write(tmp_path, {".licscan.toml": 'fail-on = "any"\n'})
    assert load_policy(cwd=tmp_path).fail_on == "any"
    # A repository root ends the search: a config above it is someone else's.
    (tmp_path / "pkg" / ".git").mkdir()
    assert load_policy(cwd=tmp_path / "pkg" / "deep").fail_on == "incompatible"
    assert find_config(tmp_path / "pkg") is None
    # --config names a file anywhere.
    p = load_policy(tmp_path / "pyproject.toml", cwd=tmp_path / "pkg")
    assert p.fail_on == "copyleft"


@pytest.mark.parametrize("text,flags,message", [
    ('fail_on = "sometimes"\n', {}, "unknown fail-on"),
    ('profile = "cloud"\n', {}, "unknown profile"),
    ('fail-onn = "any"\n', {}, "unknown key"),
    ('min-tokens = "many"\n', {}, "min-tokens must be an integer"),
    ('min-similarity = 3\n', {}, "between 0 and 1"),
    ('exclude = "vendor/"\nallow = [1]\n', {}, "allow must be a list"),
    ('fail-on = [\n', {}, "invalid TOML"),
    ('', {"fail_on": "maybe"}, "unknown fail-on"),
])
def test_bad_config_is_an_error(tmp_path: Path, text: str, flags: dict, message: str) -> None:
    write(tmp_path, {".licscan.toml": text})
    with pytest.raises(LicscanError, match=message):
        load_policy(cwd=tmp_path, **flags)


def test_path_globs() -> None:
    assert path_matches("vendor/zlib/inflate.c", "vendor/")
    assert path_matches("vendor/zlib/inflate.c", "vendor")
    assert path_matches("vendor/zlib/inflate.c", "./vendor/*")
    assert path_matches("src/third_party/x.c", "**/third_party/*")
    assert path_matches("src/app.min.js", "*.min.js")
    assert not path_matches("src/vendor.c", "vendor/")
    assert not path_matches("src/app.js", "*.min.js")


# -- project license ---------------------------------------------------------------------------


@pytest.mark.parametrize("files,expected,origin", [
    ({"pyproject.toml": '[project]\nname = "x"\nlicense = "Apache-2.0"\n'}, "Apache-2.0", "project.license"),
    ({"pyproject.toml": '[project]\nname = "x"\nlicense = {text = "GPL-2.0+"}\n'}, "GPL-2.0-or-later", "text"),
    ({"pyproject.toml": '[project]\nname = "x"\nclassifiers = ["License :: OSI Approved :: MIT License"]\n'},
     "MIT", "classifiers"),
    ({"package.json": '{"name": "x", "license": "(MIT OR Apache-2.0)"}'}, "MIT OR Apache-2.0", "package.json"),
    ({"package.json": '{"name": "x", "license": "UNLICENSED"}'}, "LicenseRef-Proprietary", "package.json"),
    ({"Cargo.toml": '[package]\nname = "x"\nlicense = "MIT/Apache-2.0"\n'}, "MIT OR Apache-2.0", "Cargo.toml"),
    ({"LICENSE": "Permission is hereby granted, free of charge, to any person obtaining a copy of this "
                 "software ... THE SOFTWARE IS PROVIDED \"AS IS\"\n"}, "MIT", "LICENSE"),
    # Declared metadata beats a guess from a license text.
    ({"LICENSE": "Permission is hereby granted, free of charge, to any person obtaining a copy\n",
      "package.json": '{"license": "ISC"}'}, "ISC", "package.json"),
])
def test_project_license_detection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict,
                                   expected: str, origin: str) -> None:
    from licscan.policy.project import detect

    monkeypatch.setenv("LICSCAN_LICENSE_ENGINE", "light")
    write(tmp_path, files)
    lic, where = detect(tmp_path)
    assert lic == expected and origin in where


def test_project_license_missing(tmp_path: Path) -> None:
    from licscan.policy.project import detect

    assert detect(tmp_path)[0] is None
    write(tmp_path, {"package.json": '{"name": "x"}'})
    assert detect(tmp_path)[0] is None


@pytest.mark.slow
def test_project_license_from_copying_with_scancode(tmp_path: Path) -> None:
    from licscan.licenses.detect import scancode_available
    from licscan.policy.project import detect

    if not scancode_available():
        pytest.skip("scancode-toolkit not installed")
    gpl = Path(sys.prefix).glob("lib/python*/site-packages/licensedcode/data/licenses/gpl-3.0.LICENSE")
    text = next(iter(gpl), None)
    if text is None:
        pytest.skip("scancode's GPL-3.0 text not found")
    body = text.read_text().split("---", 2)[-1]
    write(tmp_path, {"COPYING": body})
    lic, where = detect(tmp_path)
    assert lic is not None and lic.startswith("GPL-3.0") and where == "COPYING"


# -- verdicts on real findings -------------------------------------------------------------------


def test_each_source_license_gets_its_verdict(licensed_index: Path, mine: Path) -> None:
    result, outcome, by = scan(licensed_index, mine, project_license="MIT")
    assert set(by) == set(COPY_OF)
    expected = {"c": "incompatible", "python": "incompatible", "java": "obligations", "go": "compatible",
                "javascript": "obligations", "rust": "incompatible", "cpp": "compatible"}
    assert {lang: f.judgement.verdict for lang, f in by.items()} == expected
    for lang, f in by.items():
        assert f.license == LICENSED[f.source.path.split("/", 1)[1]]
        assert f.judgement.profile == "binary" and f.judgement.verdict_reason
        assert f.judgement.obligations and all(set(o) >= {"id", "text", "cite"} for o in f.judgement.obligations)
        assert f.to_dict()["verdict"] == f.judgement.verdict  # the JSON report carries them flat
    # The OR finding lists the obligations of the compatible choice only.
    assert {o["license"] for o in by["go"].judgement.obligations} == {"MIT"}
    assert any(o["id"] == "exception-scope" for o in by["rust"].judgement.obligations)
    assert {Path(f.path).parent.name for f in outcome.failing} == {"c", "python", "rust"}
    assert outcome.exit_code == 1 and outcome.project_license == "MIT"


@pytest.mark.parametrize("fail_on,failing,code", [
    ("incompatible", {"c", "python", "rust"}, 1),
    ("copyleft", {"c", "python", "javascript", "rust", "java"}, 1),  # MPL fails, MIT OR GPL does not
    ("any", set(COPY_OF), 1),
    ("never", set(), 0),
])
def test_fail_on_levels(licensed_index: Path, mine: Path, fail_on: str, failing: set, code: int) -> None:
    _, outcome, by = scan(licensed_index, mine, project_license="MIT", fail_on=fail_on)
    assert {Path(f.path).parent.name for f in outcome.failing} == failing
    assert outcome.exit_code == code
    assert {lang for lang, f in by.items() if f.judgement.policy == "fail"} == failing


def test_allow_licenses_and_sources_exclude_paths(licensed_index: Path, mine: Path) -> None:
    write(mine, {".licscan.toml": 'project-license = "MIT"\nallow = ["GPL-2.0-only", "lic/python/*"]\n'
                                  'exclude = ["src/javascript/"]\n'})
    result, outcome, by = scan(licensed_index, mine)
    assert "javascript" not in by and outcome.accepted["excluded"] == 1
    assert by["c"].judgement.policy == "allowed" and by["c"].judgement.allowed_by == "GPL-2.0-only"
    assert by["python"].judgement.allowed_by == "lic/python/*"
    # An exception only adds permissions: allowing GPL-2.0-only allows it WITH Classpath too.
    assert by["rust"].judgement.policy == "allowed"
    assert outcome.failing == [] and outcome.exit_code == 0


def test_network_profile(licensed_index: Path, mine: Path) -> None:
    _, outcome, by = scan(licensed_index, mine, project_license="MIT", profile="network")
    assert by["c"].judgement.verdict == "obligations"       # a service distributes no GPL code
    assert by["python"].judgement.verdict == "incompatible"  # ...but the AGPL reaches network users
    ids = [o["id"] for o in by["python"].judgement.obligations]
    assert "network-source" in ids and "disclose-source" not in ids
    assert [o["id"] for o in by["c"].judgement.obligations] == ["network-use"]
    assert {Path(f.path).parent.name for f in outcome.failing} == {"python"}


def test_project_license_detected_when_not_given(licensed_index: Path, mine: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    write(mine, {"pyproject.toml": '[project]\nname = "mine"\nlicense = "GPL-2.0-or-later"\n'})
    _, outcome, by = scan(licensed_index, mine)
    assert outcome.project_license == "GPL-2.0-or-later"
    assert outcome.project_license_origin == "pyproject.toml project.license"
    assert by["c"].judgement.verdict == "obligations"  # distribute the whole as GPL-2.0-only
    assert by["cpp"].judgement.verdict == "compatible"


# -- the command line ---------------------------------------------------------------------------


def test_exit_codes(core_index: Path, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    copy = write(tmp_path, {"mine.c": (COPIES / "c" / "t1_rlepack.c").read_text()}) / "mine.c"
    clean = write(tmp_path, {"ok.c": (COPIES / "c" / "neg_rlepack.c").read_text()}) / "ok.c"
    base = ["scan", "--index", str(core_index)]
    r = run(*base, "--project-license", "MIT", "--format", "json", str(copy), cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    f = json.loads(r.stdout)["findings"][0]
    assert f["verdict"] == "incompatible" and f["profile"] == "binary" and f["obligations"]
    assert "FAIL" in r.stderr and "policy failed" in r.stderr
    r = run(*base, "--project-license", "GPL-3.0-or-later", str(copy), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "policy passed" in r.stderr
    r = run(*base, str(copy), cwd=tmp_path)  # no project license anywhere: unknown fails the gate
    assert r.returncode == 1 and "project license unknown" in r.stdout + r.stderr
    r = run(*base, "--project-license", "MIT", "--fail-on", "never", str(copy), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run(*base, "--project-license", "MIT", str(clean), cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == ""
    for bad in (["--fail-on", "sometimes"], ["--profile", "cloud"], ["--config", str(tmp_path / "none.toml")],
                ["--baseline", str(tmp_path / "none.json")]):
        r = run(*base, *bad, str(copy), cwd=tmp_path)
        assert r.returncode == 2, (bad, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_flags_override_config_file(core_index: Path, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path, {".licscan.toml": 'project-license = "GPL-3.0-or-later"\nfail-on = "copyleft"\n'})
    copy = write(tmp_path, {"mine.c": (COPIES / "c" / "t1_rlepack.c").read_text()}) / "mine.c"
    r = run("scan", "--index", str(core_index), "mine.c", cwd=tmp_path)
    assert r.returncode == 1, r.stderr  # compatible, but copyleft fails under fail-on = copyleft
    r = run("scan", "--index", str(core_index), "--fail-on", "incompatible", "mine.c", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = run("scan", "--index", str(core_index), "--fail-on", "incompatible", "--project-license", "MIT",
            str(copy), cwd=tmp_path)
    assert r.returncode == 1, r.stderr
