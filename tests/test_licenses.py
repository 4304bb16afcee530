"""Per-file license detection: fast paths, notices, inheritance, debian/copyright, cache."""

from __future__ import annotations

import codecs
import inspect
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import licscan.licenses.detect as lic
from licscan.licenses.detect import (
    LicenseResult,
    detect_licenses,
    detect_licenses_detailed,
    scancode_available,
)
from licscan.licenses.debian import debian_to_spdx, match_dep5, parse_dep5
from licscan.licenses.light import LIGHT_ENGINE, light_match
from licscan.licenses.text import extract_notice, find_spdx_tag, text_key

FIX = Path(__file__).parent / "fixtures" / "licenses"
GPLTREE = FIX / "gpltree"
DEBPKG = FIX / "debpkg"

# Expected by both engines (the light matcher and scancode agree on these fixtures).
GPLTREE_EXPECTED: dict[str, tuple[str | None, str]] = {
    "src/spdx_plus.c": ("GPL-2.0-or-later", "spdx-tag"),
    "src/spdx_or.py": ("MIT OR Apache-2.0", "spdx-tag"),
    "src/gpl2plus.c": ("GPL-2.0-or-later", "notice"),
    "src/gpl3only.py": ("GPL-3.0-only", "notice"),
    "src/plain.py": ("GPL-3.0-or-later", "root-license"),
    "src/shared/alpha.c": ("GPL-3.0-or-later", "notice"),
    "vendor/tinylib/tiny.js": ("MIT", "dir-license"),
    "vendor/tinylib/sub/deep.js": ("MIT", "dir-license"),
    "vendor/withheader/lib.c": ("MIT", "notice"),
    "misc/lgpl.h": ("LGPL-2.1-or-later", "notice"),
    "misc/apache.java": ("Apache-2.0", "notice"),
    "misc/bsd3.go": ("BSD-3-Clause", "notice"),
    "misc/mpl.rs": ("MPL-2.0", "notice"),
    "misc/isc.sh": ("ISC", "notice"),
}
DEBPKG_EXPECTED: dict[str, tuple[str | None, str]] = {
    "src/main.c": ("GPL-2.0-or-later", "debian-copyright"),  # Files: *
    "src/own.c": ("Apache-2.0", "spdx-tag"),  # own tag beats every stanza
    # The nearest license file (compat/LICENSE, ISC) comes before any debian/copyright stanza
    # (issue 14's order: upstream's own declaration first, the packager's summary after).
    "compat/util.c": ("ISC", "dir-license"),
    "compat/strl.c": ("ISC", "dir-license"),
    "compat/strlx.h": ("ISC", "dir-license"),
    "docs/usage.txt": ("LicenseRef-scancode-public-domain", "debian-copyright"),
    "vendored/v.c": ("MIT", "dir-license"),  # a LICENSE file beats Files: *
    "debian/rules": ("(LGPL-2.1-or-later OR MIT) AND Apache-2.0", "debian-copyright"),
}


def all_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def light(root: Path, cache: Path, rels: list[str] | None = None, **kw: Any) -> dict[str, LicenseResult]:
    return detect_licenses_detailed(root, rels or all_files(root), cache_dir=cache, engine="light", **kw)


def count_calls(monkeypatch: pytest.MonkeyPatch, name: str = "light_match") -> list[str]:
    """Record the texts the light matcher is asked about (it stands in for scancode here)."""
    calls: list[str] = []
    real: Callable[[str], str | None] = getattr(lic, name)

    def spy(text: str) -> str | None:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(lic, name, spy)
    return calls


GPL3_HEADER = """{c} {name} -- {desc}
{c}
{c} Copyright (C) {year} {who}
{c}
{c} This program is free software: you can redistribute it and/or modify
{c} it under the terms of the GNU General Public License as published by
{c} the Free Software Foundation, either version 3 of the License, or
{c} (at your option) any later version.
{c}
{c} This program is distributed in the hope that it will be useful,
{c} but WITHOUT ANY WARRANTY; without even the implied warranty of
{c} MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
{c} GNU General Public License for more details.

x = {n}
"""


def write_shared_tree(root: Path, n: int) -> list[str]:
    rels = []
    for i in range(n):
        rel = f"pkg/mod{i}.py"
        (root / "pkg").mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(GPL3_HEADER.format(c="#", name=f"mod{i}.py", desc=f"stage {i} of the pipeline",
                                                   year=2000 + i, who=f"Dev {i} <d{i}@example.org>", n=i))
        rels.append(rel)
    return rels


# -- light matcher end to end (no scancode needed) -----------------------------------------


@pytest.mark.parametrize("rel", sorted(GPLTREE_EXPECTED))
def test_gpltree_light(rel: str, tmp_path: Path) -> None:
    res = light(GPLTREE, tmp_path)[rel]
    assert (res.license, res.method) == GPLTREE_EXPECTED[rel]


def test_inherited_results_name_their_source(tmp_path: Path) -> None:
    res = light(GPLTREE, tmp_path)
    assert res["src/plain.py"].source == "COPYING"
    assert res["vendor/tinylib/sub/deep.js"].source == "vendor/tinylib/LICENSE"
    assert res["misc/agpl.js"].license == "AGPL-3.0-or-later"


@pytest.mark.parametrize("rel", sorted(DEBPKG_EXPECTED))
def test_debian_copyright_light(rel: str, tmp_path: Path) -> None:
    res = light(DEBPKG, tmp_path)[rel]
    assert (res.license, res.method) == DEBPKG_EXPECTED[rel]


def test_debian_copyright_of_a_nested_package(tmp_path: Path) -> None:
    """debian/ may sit below the indexed root: its globs are relative to its package dir."""
    res = light(FIX, tmp_path)
    assert res["debpkg/docs/usage.txt"].license == "LicenseRef-scancode-public-domain"
    assert res["debpkg/docs/usage.txt"].source == "debpkg/debian/copyright"
    assert res["debpkg/src/main.c"].license == "GPL-2.0-or-later"
    assert res["gpltree/src/plain.py"].license == "GPL-3.0-or-later"


def test_root_license_beats_debian_catch_all(tmp_path: Path) -> None:
    (tmp_path / "debian").mkdir()
    (tmp_path / "debian" / "copyright").write_text("Format: x\n\nFiles: *\nLicense: GPL-2+\n")
    (tmp_path / "LICENSE").write_text("MIT License\n\n" + "Permission is hereby granted, free of charge, "
                                      "to any person obtaining a copy of this software\n")
    (tmp_path / "a.c").write_text("int a;\n")
    res = light(tmp_path, tmp_path / "cache", ["a.c"])["a.c"]
    assert (res.license, res.method) == ("MIT", "root-license")


def test_no_license_anywhere(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("# just code\nx = 1\n")
    assert light(tmp_path, tmp_path / "c", ["a.py"])["a.py"] == LicenseResult(None, "none")


def test_detect_licenses_is_a_thin_wrapper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(lic.ENGINE_ENV, "light")
    out = detect_licenses(GPLTREE, ["src/plain.py", "src/spdx_or.py"], cache_dir=tmp_path)
    assert out == {"src/plain.py": "GPL-3.0-or-later", "src/spdx_or.py": "MIT OR Apache-2.0"}
    params = inspect.signature(detect_licenses).parameters
    assert list(params) == ["root", "rel_paths", "workers", "cache_dir", "progress"]


# -- dedup, cache, progress ---------------------------------------------------------------


def test_shared_header_is_matched_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rels = write_shared_tree(tmp_path / "tree", 12)
    calls = count_calls(monkeypatch)
    res = light(tmp_path / "tree", tmp_path / "cache", rels)
    assert len(calls) == 1
    assert {r.license for r in res.values()} == {"GPL-3.0-or-later"}


def test_scancode_path_receives_distinct_notices_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rels = write_shared_tree(tmp_path / "tree", 8)
    (tmp_path / "tree" / "pkg" / "other.c").write_text(
        "/* Licensed under the Apache License, Version 2.0 */\nint o;\n")
    batches: list[int] = []

    def fake_pool(todo: dict[str, str], workers: int, on_done: Callable[..., None], whole: dict[str, str]) -> None:
        batches.append(len(todo))
        for key, text in todo.items():
            on_done(key, light_match(text), True)

    monkeypatch.setattr(lic, "_run_scancode", fake_pool)
    res = detect_licenses_detailed(tmp_path / "tree", rels + ["pkg/other.c"], cache_dir=tmp_path / "c",
                                   engine="scancode")
    assert batches == [2]
    assert res["pkg/other.c"].license == "Apache-2.0"
    assert res["pkg/mod3.py"].engine is not None and res["pkg/mod3.py"].engine.startswith("scancode-")


def test_cache_reuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = light(GPLTREE, tmp_path)
    data = json.loads((tmp_path / lic.CACHE_FILE).read_text())
    assert data["entries"] and all(k.startswith("light-") for k in data["entries"])
    calls = count_calls(monkeypatch)
    assert light(GPLTREE, tmp_path) == first
    assert calls == []


@pytest.mark.parametrize("content", ["{not json", '{"version": 0, "entries": {"x": "MIT"}}', "[]"])
def test_corrupt_or_old_cache_is_ignored(tmp_path: Path, content: str) -> None:
    (tmp_path / lic.CACHE_FILE).write_text(content)
    assert light(GPLTREE, tmp_path)["src/gpl2plus.c"].license == "GPL-2.0-or-later"
    data = json.loads((tmp_path / lic.CACHE_FILE).read_text())
    assert data["version"] == lic.CACHE_VERSION and "x" not in data["entries"]


def test_progress_counts_every_file_once(tmp_path: Path) -> None:
    seen: list[int] = []
    rels = all_files(GPLTREE)
    light(GPLTREE, tmp_path, rels, progress=seen.append)
    assert sum(seen) == len(rels) and all(n > 0 for n in seen)


def test_broken_scancode_falls_back_to_light(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> None:
        raise ImportError("no scancode here")

    lic.shutdown_scancode_workers()  # a live pool would not run the patched initializer
    monkeypatch.setattr(lic, "_worker_init", boom)
    res = detect_licenses_detailed(GPLTREE, ["src/gpl2plus.c", "src/plain.py"], cache_dir=tmp_path,
                                   engine="scancode", workers=1)
    assert res["src/gpl2plus.c"].license == "GPL-2.0-or-later"
    assert res["src/gpl2plus.c"].engine == LIGHT_ENGINE
    assert res["src/plain.py"].license == "GPL-3.0-or-later"


def test_engine_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(lic.ENGINE_ENV, "light")
    assert lic._choose_engine("auto") == LIGHT_ENGINE
    monkeypatch.delenv(lic.ENGINE_ENV)
    assert lic._choose_engine("auto").startswith("scancode-" if scancode_available() else "light-")


# -- odd inputs ---------------------------------------------------------------------------


def test_binary_and_badly_encoded_files(tmp_path: Path) -> None:
    gpl = GPL3_HEADER.format(c="#", name="x", desc="y", year=2001, who="Zoë", n=1)
    (tmp_path / "COPYING").write_text("Licensed under the MIT License.\n")
    files = {
        "blob.bin": bytes(range(256)) * 40,
        "latin1.py": gpl.replace("Zoë", "Zo\xe9").encode("latin-1"),
        "utf16.py": codecs.BOM_UTF16_LE + gpl.encode("utf-16-le"),
        "broken.py": b"# \xff\xfe\xfa License: MIT\n" + b"\xc3" * 9000,
        "empty.py": b"",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "adir").mkdir()
    res = light(tmp_path, tmp_path / "cache", [*files, "missing.c", "adir"])
    assert res["latin1.py"].license == "GPL-3.0-or-later"
    assert res["utf16.py"].license == "GPL-3.0-or-later"
    assert res["broken.py"].license == "MIT"
    for rel in ("blob.bin", "empty.py", "missing.c", "adir"):
        assert (res[rel].license, res[rel].method) == ("MIT", "root-license")


def test_import_does_not_load_scancode() -> None:
    code = ("import sys, licscan.licenses; "
            "assert not [m for m in sys.modules if m.split('.')[0] in ('licensedcode', 'scancode')]")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- units --------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("// SPDX-License-Identifier: GPL-2.0+\n", "GPL-2.0-or-later"),
    ("# SPDX-License-Identifier: (MIT OR Apache-2.0)\n", "MIT OR Apache-2.0"),
    ("/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */\n", "GPL-2.0-only WITH Linux-syscall-note"),
    ("<!-- SPDX-License-Identifier: LGPL-2.1-or-later -->\n", "LGPL-2.1-or-later"),
    ("x = 'the ``SPDX-License-Identifier:`` tag — see docs'\n", None),
    ("no tag at all\n", None),
])
def test_spdx_tags(text: str, expected: str | None) -> None:
    assert find_spdx_tag(text) == expected


MIT_LINE = "Licensed under the MIT License."


@pytest.mark.parametrize(("rel", "text"), [
    ("a.c", f"/*\n * {MIT_LINE}\n */\nint x;\n"),
    ("a.c", f"/* {MIT_LINE} */ int x;\n"),
    ("a.go", f"// Copyright 2020 X\n// {MIT_LINE}\npackage a\n"),
    ("a.py", f"#!/usr/bin/env python\n# {MIT_LINE}\nimport os\n"),
    ("a.py", f'"""Module docs.\n\n{MIT_LINE}\n"""\nimport os\n'),
    ("a.py", f"# -*- coding: utf-8 -*-\nr'''\n{MIT_LINE}\n'''\n"),
    ("a.sql", f"-- {MIT_LINE}\nselect 1;\n"),
    ("a.lua", f"--[[\n{MIT_LINE}\n]]\nlocal x = 1\n"),
    ("a.el", f";;; a.el --- thing\n;; {MIT_LINE}\n(defun a ())\n"),
    ("a.html", f"<!DOCTYPE html>\n<!--\n  {MIT_LINE}\n-->\n<html></html>\n"),
    ("a.php", f"<?php\n# {MIT_LINE}\necho 1;\n"),
    ("a.hs", f"{{- {MIT_LINE} -}}\nmodule A where\n"),
    ("Makefile", f"# {MIT_LINE}\nall:\n"),
    ("noext", f"% {MIT_LINE}\nbody\n"),
])
def test_notice_extraction_syntaxes(rel: str, text: str) -> None:
    notice = extract_notice(text, rel)
    assert notice is not None and light_match(notice) == "MIT"


def test_notice_stops_at_code_and_skips_non_license_comments() -> None:
    assert extract_notice("import os\n# Licensed under the MIT License.\n", "a.py") is None
    assert extract_notice("# helper for parsing dates\n# written in a hurry\nx = 1\n", "a.py") is None
    # In C, '#' lines are preprocessor code, not comments.
    assert extract_notice(f"#include <x.h>\n/* {MIT_LINE} */\n", "a.c") is None


def test_notice_key_ignores_copyright_and_descriptions() -> None:
    a = GPL3_HEADER.format(c="#", name="a.py", desc="parse things", year=2001, who="Ann", n=1)
    b = GPL3_HEADER.format(c="//", name="b.c", desc="emit other things", year=2019, who="Bob", n=2)
    na, nb = extract_notice(a, "a.py"), extract_notice(b, "b.c")
    assert na is not None and nb is not None and text_key(na) == text_key(nb)
    assert "Copyright" not in na and "parse things" not in na


@pytest.mark.parametrize(("text", "expected"), [
    ("GNU General Public License version 2 or any later version.", "GPL-2.0-or-later"),
    ("GNU General Public License v3.0+ (see COPYING)", "GPL-3.0-or-later"),
    ("This program is free software; licensed under the GPLv2.", "GPL-2.0-only"),
    ("under the terms of the GNU Lesser General Public License version 3", "LGPL-3.0-only"),
    ("GNU LIBRARY GENERAL PUBLIC LICENSE Version 2, June 1991 Preamble ... any later version", "LGPL-2.0-only"),
    ("GNU GENERAL PUBLIC LICENSE Version 2, June 1991\nPreamble\n... either version 2 of the License, or "
     "(at your option) any later version.", "GPL-2.0-only"),
    ("GNU GENERAL PUBLIC LICENSE Version 3, 29 June 2007 Preamble ... GNU Affero General Public License",
     "GPL-3.0-only"),
    ("Redistribution and use in source and binary forms, with or without modification, are permitted "
     "provided that ...", "BSD-2-Clause"),
    ("This file is placed in the public domain.", "LicenseRef-scancode-public-domain"),
    ("License: MIT (see LICENSE file provided)", "MIT"),
    ("The frobnicator is a tool for frobbing.", None),
])
def test_light_matcher(text: str, expected: str | None) -> None:
    assert light_match(text) == expected


@pytest.mark.parametrize(("short", "spdx"), [
    ("GPL-2+", "GPL-2.0-or-later"),
    ("GPL-2", "GPL-2.0-only"),
    ("GPL-3+", "GPL-3.0-or-later"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("LGPL-2", "LGPL-2.0-only"),
    ("AGPL-3+", "AGPL-3.0-or-later"),
    ("Expat", "MIT"),
    ("BSD-3-clause", "BSD-3-Clause"),
    ("Apache-2.0", "Apache-2.0"),
    ("MPL-2.0", "MPL-2.0"),
    ("public-domain", "LicenseRef-scancode-public-domain"),
    ("GPL-2+ or Artistic-2.0", "GPL-2.0-or-later OR Artistic-2.0"),
    ("GPL-2+ or Artistic, and BSD-2-clause", "(GPL-2.0-or-later OR Artistic-1.0) AND BSD-2-Clause"),
    ("GPL-3+ with OpenSSL exception", "GPL-3.0-or-later WITH LicenseRef-OpenSSL-exception"),
    ("GPL-2+ with Autoconf exception", "GPL-2.0-or-later WITH Autoconf-exception-2.0"),
    ("MyCorp-Custom", "LicenseRef-MyCorp-Custom"),
])
def test_debian_short_names(short: str, spdx: str) -> None:
    assert debian_to_spdx(short) == spdx


def test_dep5_parsing() -> None:
    assert parse_dep5("This package was debianized by someone.\nIt is GPL.\n") is None
    stanzas = parse_dep5("Format: x\n\nFiles: *\nLicense: GPL-2+\n\nFiles: a/*.c\n ./b/x\nLicense: MIT\n"
                         " some license text\n")
    assert stanzas is not None and len(stanzas) == 2
    m = match_dep5(stanzas, "a/deep/y.c")
    assert m is not None and (m.license, m.catch_all) == ("MIT", False)
    m = match_dep5(stanzas, "b/x")
    assert m is not None and m.license == "MIT"
    m = match_dep5(stanzas, "a/y.h")
    assert m is not None and (m.license, m.catch_all) == ("GPL-2.0-or-later", True)


# -- scancode (slow: one shared run) -------------------------------------------------------

needs_scancode = pytest.mark.skipif(not scancode_available(), reason="scancode-toolkit not installed")


@pytest.fixture(scope="module")
def scancode_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, LicenseResult], Path]]:
    """One cold scancode run over both fixture trees (loads the index once per worker)."""
    cache = tmp_path_factory.mktemp("sc-cache")
    yield detect_licenses_detailed(FIX, all_files(FIX), cache_dir=cache, engine="scancode"), cache
    lic.shutdown_scancode_workers()  # free the workers' ~1 GB each for the rest of the session


@pytest.mark.slow
@needs_scancode
def test_scancode_agrees_on_fixtures(scancode_run: tuple[dict[str, LicenseResult], Path]) -> None:
    res, _ = scancode_run
    for rel, (license, method) in GPLTREE_EXPECTED.items():
        got = res[f"gpltree/{rel}"]
        assert got.license == license, rel
        assert got.method == ("dir-license" if method == "root-license" else method), rel
    for rel, (license, method) in DEBPKG_EXPECTED.items():
        got = res[f"debpkg/{rel}"]
        assert (got.license, got.method) == (license, method), rel
    assert "AGPL-3.0-or-later" in str(res["gpltree/misc/agpl.js"].license)
    engines = {r.engine for r in res.values() if r.method == "notice"}
    assert engines == {lic._scancode_engine()}


@pytest.mark.slow
@needs_scancode
def test_scancode_cache_reuse(scancode_run: tuple[dict[str, LicenseResult], Path],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    res, cache = scancode_run

    def no_pool(*args: object) -> None:
        raise AssertionError("scancode should not run on a warm cache")

    monkeypatch.setattr(lic, "_run_scancode", no_pool)
    assert detect_licenses_detailed(FIX, all_files(FIX), cache_dir=cache, engine="scancode") == res


# -- scancode fast paths: exactly the full matcher's answers ---------------------------------

SEQTREE = FIX / "seqtree"
# Notices scancode's exact matchers get wrong or incomplete: only its seq (approximate)
# matcher finds these answers, so they exercise the rule pre-filter.
SEQTREE_EXPECTED = {
    "shell.c": "GPL-3.0-or-later",
    "isc.c": "ISC",  # a line of the ISC text is missing
    "exception.c": "GPL-2.0-only AND vsftpd-openssl-exception",
}


def _fast_and_full(items: list[tuple[str, str | None]]) -> list[tuple[list[str], list[str], int]]:
    """In a scancode worker: (full matcher, fast path, pre-filtered candidate searches) per (text, whole)."""
    out = []
    for text, whole in items:
        lic._use_rule_filter(False)
        full = lic._worker_detect(text)
        assert lic._use_rule_filter(True)
        assert lic._RULE_FILTER is not None
        calls: list[int] = []
        real = lic._RULE_FILTER.survivors

        def counted(*args: Any) -> set[int]:
            calls.append(1)
            return real(*args)

        lic._RULE_FILTER.survivors = counted  # type: ignore[method-assign]
        try:
            fast = lic._worker_detect(text, whole)
        finally:
            del lic._RULE_FILTER.survivors
        out.append((full, fast, len(calls)))
    return out


def _filter_is_superset(text: str) -> int:
    """In a scancode worker: every rule compare_token_sets keeps, the pre-filter keeps too."""
    from licensedcode import match_set as ms
    from licensedcode import query as q

    idx = lic._INDEX
    assert lic._use_rule_filter(True) and lic._RULE_FILTER is not None
    qry = q.build_query(query_string=text, idx=idx, text_line_threshold=15, bin_line_threshold=50)
    checked = 0
    for run in [qry.whole_query_run(), *qry.query_runs]:
        for near_dupe in (True, False):
            keep = lic._RULE_FILTER.survivors(run, idx.approx_matchable_rids, near_dupe, 0.8)
            qset, _ = ms.build_set_and_mset(run.matchable_tokens())
            for rid in idx.approx_matchable_rids:
                sv, _ = ms.compare_token_sets(qset, idx.sets_by_rid[rid], ms.tids_sets_intersector, ms.tids_set_counter,
                                              ms.high_tids_set_subset, idx.len_legalese, True, idx.rules_by_rid[rid],
                                              True, 0.8)
                if sv and (not near_dupe or (sv[0].is_highly_resemblant and sv[1].is_highly_resemblant)):
                    assert rid in keep, idx.rules_by_rid[rid].identifier
                    checked += 1
            assert len(keep) < len(idx.approx_matchable_rids) / 4  # and it does prune
    return checked


def fixture_texts() -> list[tuple[str, str | None]]:
    """Every distinct notice and license file of the fixtures, as the build sends them to scancode."""
    texts: dict[str, str] = {}
    tree = lic.Tree(FIX)
    for rel in all_files(FIX):
        notice = extract_notice((FIX / rel).read_text(errors="replace"), rel)
        if notice:
            texts.setdefault(text_key(notice), notice)
        tree.register_license_files(lic._parent(rel), texts)
    return [(text, tree.whole.get(key)) for key, text in texts.items()]


@pytest.mark.slow
@needs_scancode
def test_fast_paths_give_the_full_matchers_answers(scancode_run: tuple[dict[str, LicenseResult], Path]) -> None:
    items = fixture_texts()
    got = lic._scancode_pool(2, 2).submit(_fast_and_full, items).result()
    for (text, _), (full, fast, _) in zip(items, got):
        assert fast == full, text[:200]
    assert sum(n for _, _, n in got) >= len(SEQTREE_EXPECTED)  # the seq matcher did run, pre-filtered


@pytest.mark.slow
@needs_scancode
def test_rule_filter_keeps_every_candidate(scancode_run: tuple[dict[str, LicenseResult], Path]) -> None:
    texts = [extract_notice((SEQTREE / n).read_text(), n) or "" for n in sorted(SEQTREE_EXPECTED)]
    pool = lic._scancode_pool(2, 2)
    assert all(n > 0 for n in pool.map(_filter_is_superset, texts))


@pytest.mark.slow
@needs_scancode
def test_seq_notices_and_whole_license_text(scancode_run: tuple[dict[str, LicenseResult], Path]) -> None:
    res, _ = scancode_run
    for name, expected in SEQTREE_EXPECTED.items():
        assert res[f"seqtree/{name}"].license == expected, name
    assert "LGPL-3.0-or-later OR GPL-2.0-or-later" in str(res["seqtree/dual.c"].license)
    got = res["fulltext/main.c"]
    # A bare GPL-2.0 text specifies no version for the program: GPL-2.0 section 9, any version.
    assert (got.license, got.method, got.source) == ("GPL-1.0-or-later", "dir-license", "fulltext/COPYING")
    assert got.evidence.rule and "§9" in got.evidence.rule


@pytest.mark.slow
@needs_scancode
def test_whole_license_file_is_hash_matched(scancode_run: tuple[dict[str, LicenseResult], Path]) -> None:
    from licscan.licenses.text import license_file_text

    raw = (FIX / "fulltext" / "COPYING").read_text()
    body = license_file_text(raw)
    assert body is not None and body != raw  # the dedup form lost its copyright line: no hash match
    [(full, fast, _)] = lic._scancode_pool(2, 2).submit(_fast_and_full, [(body, raw)]).result()
    assert fast == full == ["GPL-2.0-only"]


def test_workers_start_early_only_on_a_cache_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []
    monkeypatch.setattr(lic, "_prestart_scancode", started.append)

    def fake_pool(todo: dict[str, str], workers: int, on_done: Callable[..., None], whole: dict[str, str]) -> None:
        for key, text in todo.items():
            on_done(key, light_match(text), True)

    monkeypatch.setattr(lic, "_run_scancode", fake_pool)
    cold = detect_licenses_detailed(GPLTREE, all_files(GPLTREE), cache_dir=tmp_path, engine="scancode", workers=2)
    assert started == [2]
    warm = detect_licenses_detailed(GPLTREE, all_files(GPLTREE), cache_dir=tmp_path, engine="scancode", workers=2)
    assert warm == cold and started == [2]


def test_email_addresses_are_not_license_words() -> None:
    header = GPL3_HEADER.format(c="#", name="x", desc="y", year=2001, who="Ann", n=1)
    with_author = header.replace("\nx = 1", "#\n# David MacKenzie <djm@gnu.ai.mit.edu>\nx = 1")
    assert with_author != header
    assert extract_notice(with_author, "a.py") == extract_notice(header, "a.py")
