"""Issue 14: each file's license resolved in order (notice, license file, package declaration,
unknown), with its evidence; and the verdicts that depended on getting it right.

The trees are small stand-ins written here, shaped like the real cases (fish's COPYING
that lists bundled parts, git's COPYING with Linus's preface, CSparse's Doc/License.txt,
pylint's metadata), never their text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from licscan.licenses.declare import read_declaration, readme_section
from licscan.licenses.detect import LicenseResult, detect_licenses_detailed
from licscan.licenses.metadata import declared_license, license_value
from licscan.licenses.notice import refine_notice
from licscan.licenses.resolve import PROJECT_REL
from licscan.model import LicenseEvidence
from licscan.policy.compat import evaluate

GPL2_TEXT = ("                    GNU GENERAL PUBLIC LICENSE\n                       Version 2, June 1991\n\n"
             " Everyone is permitted to copy and distribute verbatim copies\n\n                            Preamble\n\n"
             "  The licenses for most software are designed to take away your freedom.\n\n"
             "                    TERMS AND CONDITIONS FOR COPYING, DISTRIBUTION AND MODIFICATION\n")
GPL3_TEXT = GPL2_TEXT.replace("Version 2, June 1991", "Version 3, 29 June 2007")
GRANT_2PLUS = ("This program is free software; you can redistribute it and/or modify\nit under the terms of the "
               "GNU General Public License as published by\nthe Free Software Foundation; either version 2 of the "
               "License, or\n(at your option) any later version.\n")
WARRANTY = ("This program is distributed in the hope that it will be useful,\nbut WITHOUT ANY WARRANTY. See the GNU "
            "General Public License for more details.\n")


def write(root: Path, files: dict[str, str]) -> list[str]:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return sorted(files)


def resolve(root: Path, files: dict[str, str], tmp_path: Path) -> dict[str, LicenseResult]:
    rels = write(root, files)
    code = [r for r in rels if r.endswith((".c", ".cpp", ".py", ".java", ".php", ".js"))]
    return detect_licenses_detailed(root, code + [PROJECT_REL], cache_dir=tmp_path / "cache", engine="light")


FISH = {
    "COPYING": ("Shelly is a friendly shell.\n\nCopyright (C) 2005-2009 Someone\n\nshelly is free software.\n\n"
                "Most of shelly is licensed under the GNU General Public License version 2, and\nyou can "
                "redistribute it and/or modify it under the terms of the GNU GPL as\npublished by the Free "
                "Software Foundation.\n\nshelly also includes software licensed under the GNU Lesser General "
                "Public\nLicense version 2, the OpenBSD license, the ISC license, and the NetBSD license.\n\n"
                "Full licensing information is contained in doc/license.rst.\n\n" + WARRANTY),
    "src/reader.cpp": "int read_line(char *buf) { return buf[0]; }\n",
    "src/wcwidth.cpp": ("/* Permission to use, copy, modify, and/or distribute this software for any purpose with "
                        "or without fee is hereby granted, provided that the above copyright notice and this "
                        "permission notice appear in all copies. */\nint w;\n"),
}


def test_fish_like_copying_gives_the_projects_own_license(tmp_path: Path) -> None:
    res = resolve(tmp_path / "shelly", FISH, tmp_path)
    got = res["src/reader.cpp"]
    assert got.license == "GPL-2.0-only"  # never the AND of the bundled parts' licenses
    assert got.evidence == LicenseEvidence("license-file", "COPYING", (7, 9))
    assert res["src/wcwidth.cpp"].license == "ISC"  # its own notice first
    assert res["src/wcwidth.cpp"].evidence.kind == "notice"


def test_wordpress_like_license_with_incorporated_work(tmp_path: Path) -> None:
    text = ("Blogware - Web publishing software\n\nCopyright 2011-2022 by the contributors\n\n" + GRANT_2PLUS + "\n"
            + WARRANTY + "\nThis program incorporates work covered by the following copyright and\npermission "
            "notices:\n\n  b2 is (c) 2001 Someone\n\n  b2 is released under the GPL\n\nand the ISC license for "
            "Permission to use, copy, modify, and/or distribute this software for any purpose with or without "
            "fee is hereby granted.\n\n" + GPL2_TEXT)
    res = resolve(tmp_path / "blog", {"license.txt": text, "wp/post.php": "<?php\nfunction p() { return 1; }\n"},
                  tmp_path)
    assert res["wp/post.php"].license == "GPL-2.0-or-later"
    assert res["wp/post.php"].evidence.path == "license.txt"


def test_git_like_preface_limits_the_version(tmp_path: Path) -> None:
    preface = (" Note that the only valid version of the GPL as far as this project\n is concerned is _this_ "
               "particular version of the license (ie v2, not\n v2.2 or v3.x or whatever), unless explicitly "
               "otherwise stated.\n\n HOWEVER, in order to allow a migration to GPLv3 if that seems like\n a good "
               "idea, I also ask that people make their preferences known, ie\n\n\tThis file is licensed under "
               "the GPL v2, or a later version\n\tat the discretion of Linus.\n\n----------\n\n")
    res = resolve(tmp_path / "vcs", {"COPYING": preface + GPL2_TEXT, "diff.c": "int diff(void) { return 0; }\n"},
                  tmp_path)
    got = res["diff.c"]
    assert got.license == "GPL-2.0-only"
    assert got.evidence.kind == "license-file" and got.evidence.lines == (1, 3)
    assert got.evidence.rule and "only this version" in got.evidence.rule
    assert evaluate(got.license, "GPL-2.0-only").verdict == "compatible"


def test_bare_text_version_decided_by_package_metadata(tmp_path: Path) -> None:
    """pylint: a bare GPLv2 text, a notice that says "the GPL" with a link, metadata GPL-2.0-or-later."""
    files = {
        "LICENSE": GPL2_TEXT,
        "pyproject.toml": ('[project]\nname = "lintish"\nlicense = {text = "GPL-2.0-or-later"}\nclassifiers = [\n'
                           '  "License :: OSI Approved :: GNU General Public License v2 (GPLv2)",\n]\n'),
        "lintish/run.py": ("# Licensed under the GPL: https://www.gnu.org/licenses/old-licenses/gpl-2.0.html\n"
                           "# For details: https://example.org/lintish/LICENSE\n\ndef run():\n    return 1\n"),
        "lintish/plain.py": "def plain():\n    return 2\n",
    }
    res = resolve(tmp_path / "lintish", files, tmp_path)
    for rel in ("lintish/run.py", "lintish/plain.py"):
        got = res[rel]
        assert got.license == "GPL-2.0-or-later", rel
        assert got.evidence.kind == "package-metadata" and got.evidence.path == "pyproject.toml"
        assert got.evidence.field == "project.license"
        assert got.evidence.rule and "without a version" in got.evidence.rule
        assert evaluate(got.license, "GPL-3.0-or-later").verdict == "compatible"
    assert res[PROJECT_REL].license == "GPL-2.0-or-later"


def test_setup_cfg_gplv3_plus_decides_a_bare_gpl3_text(tmp_path: Path) -> None:
    files = {"COPYING": GPL3_TEXT, "setup.cfg": "[metadata]\nname = automate\nlicense = GPLv3+\n",
             "lib/automate/cli.py": "def main():\n    return 0\n"}
    got = resolve(tmp_path / "automate", files, tmp_path)["lib/automate/cli.py"]
    assert (got.license, got.evidence.kind, got.evidence.field) == (
        "GPL-3.0-or-later", "package-metadata", "metadata.license")


def test_bare_text_without_metadata_follows_section_9(tmp_path: Path) -> None:
    got = resolve(tmp_path / "bare", {"COPYING": GPL3_TEXT, "a.c": "int a;\n"}, tmp_path)["a.c"]
    assert got.license == "GPL-1.0-or-later"
    assert got.evidence.kind == "license-file" and "§14" in (got.evidence.rule or "")


def test_csparse_like_license_elsewhere_in_the_tree(tmp_path: Path) -> None:
    doc = ("Sparsely: a small sparse matrix package.\nCopyright (c) 2006, Someone.\n\n-----------\n\n"
           "Sparsely is free software; you can redistribute it and/or\nmodify it under the terms of the GNU "
           "Lesser General Public\nLicense as published by the Free Software Foundation; either\nversion 2.1 of "
           "the License, or (at your option) any later version.\n\n" + WARRANTY)
    files = {"Doc/License.txt": doc, "Doc/lesser.txt": "GNU LESSER GENERAL PUBLIC LICENSE\nVersion 2.1\n",
             "Source/cs_add.c": "int cs_add(int a, int b) { return a + b; }\n"}
    got = resolve(tmp_path / "Sparsely", files, tmp_path)["Source/cs_add.c"]
    assert got.license == "LGPL-2.1-or-later"
    assert got.evidence.kind == "license-file" and got.evidence.path == "Doc/License.txt"
    assert got.evidence.lines == (6, 9)
    # Not `unknown` any more: the LGPL's own verdict and obligations. Copying LGPL source into
    # an MIT file is not linking (docs/policy.md), so the default profile keeps it incompatible;
    # the obligations (LGPL-2.1 §2, §5...) are listed, and under `network` they are the verdict.
    from licscan.policy.obligations import for_licenses

    verdict = evaluate(got.license, "MIT")
    assert verdict.verdict != "unknown" and for_licenses(list(verdict.licenses), "source")
    assert evaluate(got.license, "MIT", "network").verdict == "obligations"


def test_component_list_gives_each_license_to_its_paths_only(tmp_path: Path) -> None:
    text = ("This file lists all licenses for all packages in Bundle, for your\nconvenience.\n\n"
            "==> Ordering/Doc/License.txt <==\n\n    Ordering License: BSD 3-clause:\n\n    Redistribution and "
            "use in source and binary forms, with or without\n    modification, are permitted provided that "
            "neither the name of the\n    authors may be used to endorse or promote products.\n\n"
            "==> Sparse/Doc/License.txt <==\n\n    Sparse is free software; you can redistribute it and/or\n"
            "    modify it under the terms of the GNU Lesser General Public\n    License as published by the "
            "Free Software Foundation; either\n    version 2.1 of the License, or (at your option) any later "
            "version.\n")
    files = {"LICENSE.txt": text, "Ordering/Source/order.c": "int order;\n", "Sparse/Source/cs.c": "int cs;\n",
             "tools/glue.c": "int glue;\n"}
    res = resolve(tmp_path / "bundle", files, tmp_path)
    assert res["Ordering/Source/order.c"].license == "BSD-3-Clause"
    assert res["Sparse/Source/cs.c"].license == "LGPL-2.1-or-later"
    assert res["Sparse/Source/cs.c"].evidence.rule == "component Sparse/"
    glue = res["tools/glue.c"]  # named by no component: never the AND of everything listed
    assert glue.license is None and glue.evidence.kind == "unknown" and glue.evidence.reason


def test_unknown_has_a_reason_and_an_unknown_verdict(tmp_path: Path) -> None:
    got = resolve(tmp_path / "bare", {"a.c": "int a;\n"}, tmp_path)["a.c"]
    assert got.license is None
    assert got.evidence.kind == "unknown" and "no license file" in (got.evidence.reason or "")
    assert evaluate(got.license, "MIT").verdict == "unknown"


def test_debian_files_stanza_after_license_files(tmp_path: Path) -> None:
    """jEdit: no license file above the code, debian/copyright Files: * says GPL-2+."""
    files = {"debian/copyright": "Format: x\n\nFiles: *\nCopyright: someone\nLicense: GPL-2+\n",
             "doc/COPYING.txt": GPL2_TEXT, "org/edit/Buffer.java": "class Buffer { int n; }\n"}
    got = resolve(tmp_path / "editor", files, tmp_path)["org/edit/Buffer.java"]
    assert (got.license, got.evidence.kind, got.evidence.field) == (
        "GPL-2.0-or-later", "debian-copyright", "Files: *")


def test_readme_license_section(tmp_path: Path) -> None:
    files = {"README.md": "# tool\n\nDoes things.\n\n## License\n\nThis project is licensed under the GNU GPL v3 "
                          "or later.\n\n## Usage\n\nRun it.\n", "src/t.js": "function t() { return 1; }\n"}
    got = resolve(tmp_path / "tool", files, tmp_path)["src/t.js"]
    assert (got.license, got.evidence.kind, got.evidence.path, got.evidence.field) == (
        "GPL-3.0-or-later", "package-metadata", "README.md", "README")
    assert got.evidence.lines == (7, 7)
    assert readme_section("Title\n=====\n\nLicense\n-------\n\nGPLv2+\n")[0].strip() == "GPLv2+"


def test_fish_in_an_mit_project_is_incompatible(tmp_path: Path) -> None:
    got = resolve(tmp_path / "shelly", FISH, tmp_path)["src/reader.cpp"]
    assert got.license == "GPL-2.0-only"
    assert evaluate(got.license, "MIT").verdict == "incompatible"


@pytest.mark.parametrize("expr, notice, want", [
    # ioquake3: a plain GPL-2.0+ notice; scancode's generic "other copyleft" is an echo of it
    ("GPL-2.0-or-later AND LicenseRef-scancode-other-copyleft", GRANT_2PLUS, ("GPL-2.0-or-later", None)),
    # an exception only where the notice grants one
    ("GPL-2.0-or-later WITH Classpath-exception-2.0", GRANT_2PLUS, ("GPL-2.0-or-later", None)),
    ("GPL-2.0-or-later WITH Classpath-exception-2.0", GRANT_2PLUS + "As a special exception, you may link.",
     ("GPL-2.0-or-later WITH Classpath-exception-2.0", None)),
    # "released under the GPL" with a link: the version is not in the words
    ("GPL-2.0-only", "Released under the GPL: https://www.gnu.org/licenses/gpl-2.0.html", (None, "GPL")),
    # htop: a short GNU notice; scancode's bzip2 is an echo of "see the COPYING file in the source distribution"
    ("bzip2-1.0.6 AND GPL-2.0-or-later", "Released under the GNU GPLv2+, see the COPYING file\nin the source "
     "distribution for its full text.", ("GPL-2.0-or-later", None)),
    # plupload: "Released under GPL License" and a license link read as AGPL: no AGPL in the words
    ("GPL-1.0-or-later AND AGPL-3.0-only", "Released under GPL License.\n\nLicense: http://example.org/license",
     (None, "GPL")),
    # a BSD-3 text holds the BSD-2 one
    ("BSD-3-Clause AND BSD-2-Clause", "Redistribution and use in source and binary forms, with or without "
     "modification, are permitted. Neither the name of the author may be used to endorse", ("BSD-3-Clause", None)),
    # ... but a reference to the simplified BSD license is the 2-clause one
    ("BSD-2-Clause AND BSD-3-Clause", "Simplified BSD License (see licenses/simplified_bsd.txt or "
     "https://opensource.org/licenses/BSD-2-Clause)", ("BSD-2-Clause", None)),
    # a GNU notice that spells out an extra permission keeps it
    ("GPL-2.0-only AND vsftpd-openssl-exception", "under the GPL V2 provisions. It can be distributed with other "
     "licenses.", ("GPL-2.0-only AND vsftpd-openssl-exception", None)),
])
def test_refine_notice(expr: str, notice: str, want: tuple[str | None, str | None]) -> None:
    assert refine_notice(expr, notice) == want


@pytest.mark.parametrize("name, text, want", [
    ("package.json", '{"name": "x", "license": "GPL-3.0-or-later"}', "GPL-3.0-or-later"),
    ("composer.json", '{"name": "x/y", "license": ["GPL-2.0-or-later"]}', "GPL-2.0-or-later"),
    ("Cargo.toml", '[package]\nname = "x"\nlicense = "LGPL-3.0-only"\n', "LGPL-3.0-only"),
    ("pom.xml", "<project><licenses><license><name>GNU General Public License, version 2</name>"
                "</license></licenses></project>", "GPL-2.0-only"),
    ("x.gemspec", 'Gem::Specification.new do |s|\n  s.license = "GPL-2.0+"\nend\n', "GPL-2.0-or-later"),
    ("setup.py", 'setup(name="x", license="LGPL",\n  classifiers=["License :: OSI Approved :: "\n'
                 '  "GNU Lesser General Public License v2 or later (LGPLv2+)"])\n', "LGPL-2.0-or-later"),
    ("PKG-INFO", "Metadata-Version: 2.1\nName: x\nLicense: GPLv3+\n", "GPL-3.0-or-later"),
])
def test_package_metadata_readers(tmp_path: Path, name: str, text: str, want: str) -> None:
    (tmp_path / name).write_text(text)
    got = declared_license(tmp_path)
    assert got is not None and got.license == want and got.path == name


def test_license_value_keeps_an_unversioned_family() -> None:
    assert license_value("LGPL") == (None, "LGPL")
    assert license_value("GPLv2+") == ("GPL-2.0-or-later", None)
    assert license_value("MIT/Apache-2.0") == ("MIT OR Apache-2.0", None)


def test_unversioned_notice_takes_the_license_files_version(tmp_path: Path) -> None:
    """busybox: "redistributed under the terms of the GNU General Public License", and a LICENSE that
    allows only version 2."""
    files = {"LICENSE": "Boxy is distributed under version 2 of the General Public License.  Version 2 is the "
                        "only version of this license which this version of Boxy may be distributed under.\n\n"
                        + GPL2_TEXT,
             "e2fs/lsattr.c": "/*\n * This file can be redistributed under the terms of the GNU General\n * Public "
                              "License\n */\nint lsattr;\n"}
    got = resolve(tmp_path / "boxy", files, tmp_path)["e2fs/lsattr.c"]
    assert (got.license, got.evidence.kind, got.evidence.path) == ("GPL-2.0-only", "license-file", "LICENSE")
    assert "license file decides" in (got.evidence.rule or "")


def test_rendered_license_pages_are_not_license_files(tmp_path: Path) -> None:
    """fish's user_doc/html/license.html lists every bundled part: a web page, not a declaration."""
    files = {"COPYING": "Most of shelly is licensed under the GNU General Public License version 2.\n",
             "doc/html/license.html": "<p>Permission is hereby granted, free of charge, to any person obtaining "
                                      "a copy</p><p>PSF LICENSE AGREEMENT</p>\n",
             "doc/html/_static/search.js": "function search() { return 1; }\n"}
    got = resolve(tmp_path / "shelly", files, tmp_path)["doc/html/_static/search.js"]
    assert (got.license, got.evidence.path) == ("GPL-2.0-only", "COPYING")


def test_script_header_after_a_line_of_code(tmp_path: Path) -> None:
    """install-sh (``scriptversion=``) and gitk (``exec wish``) put a line of code before their notice."""
    text = ("#!/bin/sh\n# Tcl ignores the next line -*- tcl -*- \\\nexec wish \"$0\" -- \"$@\"\n\n"
            "# This program is free software; it may be used, copied, modified\n# and distributed under the "
            "terms of the GNU General Public Licence,\n# either version 2, or (at your option) any later "
            "version.\n\nproc main {} { puts hi }\n")
    files = {"COPYING": GPL2_TEXT, "gitk-git/gitk": text}
    rels = write(tmp_path / "vcs", files)
    got = detect_licenses_detailed(tmp_path / "vcs", rels, cache_dir=tmp_path / "c", engine="light")["gitk-git/gitk"]
    assert (got.license, got.evidence.kind, got.evidence.lines) == ("GPL-2.0-or-later", "notice", (5, 7))


def test_a_bsd_license_file_is_read_whole() -> None:
    """A BSD text's conditions sit in separate paragraphs: the third clause decides BSD-3-Clause."""
    text = ("LICENSE TERMS\n\nCopyright (c) 2000, Someone\nAll rights reserved.\n\nRedistribution and use in "
            "source and binary forms, with or without\nmodification, are permitted provided that the following "
            "conditions are met:\n\nRedistributions of source code must retain the above copyright notice.\n\n"
            "Neither the name of Someone nor the names of contributors may be used to endorse or promote "
            "products derived from this software.\n")
    decl = read_declaration(text)
    assert decl.own is not None and decl.own.license == "BSD-3-Clause"


def test_declaration_lines_and_exception() -> None:
    text = (" lib is Copyright (C) its contributors.\n\n Note that the only valid version of the GPL as far as "
            "this project\n is concerned is _this_ particular version of the license.\n\n-----\n\n\t\t\tLINKING "
            "EXCEPTION\n\n In addition to the permissions in the GNU General Public License,\n the authors give "
            "you unlimited permission to link.\n\n-----\n\n" + GPL2_TEXT)
    decl = read_declaration(text)
    assert decl.own is not None and decl.own.license == "GPL-2.0-only" and decl.own.lines == (3, 4)
    assert decl.exception
