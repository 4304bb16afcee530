"""Manifests: parsing, defaults, and one-line validation errors naming the entry."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from licscan.corpus.manifest import is_manifest, load_manifest, parse_manifest
from licscan.model import LicscanError

CORPORA = Path(__file__).resolve().parent.parent / "corpora"

GOOD = """
name = "mix"
description = "one of each"

[[source]]
debian = "coreutils"
version = "9.1-1"
sha256 = "2F2FCA0A07A1A3F38E3EBEB4CBD97E97E675E77BED84F3E9D0B7E5DA4CDE75FC"

[[source]]
pypi = "Ansible_Core==2.14.18"
spdx = "GPL-3.0-or-later"

[[source]]
npm = "@scope/left-pad@1.3.0"
languages = ["javascript", "typescript"]

[[source]]
git = "https://example.invalid/group/tool.git"
rev = "0123456789abcdef0123456789abcdef01234567"

[[source]]
name = "vendored"
path = "third_party/lib-1.0.tar.gz"
"""


def test_parse_good_manifest_with_defaults(tmp_path: Path) -> None:
    m = parse_manifest(GOOD, tmp_path / "mix.toml")
    assert m.name == "mix" and m.description == "one of each"
    by = {s.name: s for s in m.sources}
    assert list(by) == ["coreutils", "ansible-core", "left-pad", "tool", "vendored"]
    assert by["coreutils"].kind == "debian" and by["coreutils"].version == "9.1-1"
    assert by["coreutils"].sha256 == "2f2fca0a07a1a3f38e3ebeb4cbd97e97e675e77bed84f3e9d0b7e5da4cde75fc"
    assert by["ansible-core"].spec == "Ansible_Core==2.14.18" and by["ansible-core"].version == "2.14.18"
    assert by["ansible-core"].spdx == "GPL-3.0-or-later"
    assert by["left-pad"].version == "1.3.0"
    assert by["left-pad"].languages == ("javascript", "typescript") and by["coreutils"].languages == ()
    assert "languages" not in by["left-pad"].meta()  # an index counts languages from the files
    assert by["tool"].version == "0123456789abcdef0123456789abcdef01234567"
    # relative paths resolve against the manifest's directory, not the cwd
    assert by["vendored"].spec == str((tmp_path / "third_party" / "lib-1.0.tar.gz").resolve())
    assert by["coreutils"].label() == "coreutils (debian coreutils=9.1-1)"
    assert by["coreutils"].meta()["sha256"].startswith("2f2f")


def test_local_archive_name_drops_the_suffix(tmp_path: Path) -> None:
    m = parse_manifest('[[source]]\npath = "dl/foo-2.1.tar.xz"\n', tmp_path / "m.toml")
    assert m.sources[0].name == "foo-2.1"
    assert m.name == "m"  # defaults to the file's stem


@pytest.mark.parametrize("body, message", [
    ('[[source]]\ndebian = "coreutils"\n', r"source #1 \(coreutils\): debian sources need a `version`"),
    ('[[source]]\ndebian = "Core Utils"\nversion = "1"\n', r"not a Debian source package name"),
    ('[[source]]\ndebian = "sed"\nversion = "latest"\n', r"\(sed\): not a Debian version"),
    ('[[source]]\npypi = "pylint"\n', r"\(pylint\): pypi sources must be pinned as NAME==VERSION"),
    ('[[source]]\npypi = "pylint>=2"\n', r"pinned as NAME==VERSION"),
    ('[[source]]\nnpm = "lodash@^4.0.0"\n', r"\(lodash@\^4.0.0\): npm sources must be pinned"),
    ('[[source]]\nnpm = "lodash"\n', r"npm sources must be pinned"),
    ('[[source]]\ngit = "https://x.invalid/r.git"\n', r"\(https://x.invalid/r.git\): git sources need `rev`"),
    ('[[source]]\ngit = "https://x.invalid/r.git"\nrev = "main"\n', r"not a branch or tag"),
    ('[[source]]\ngit = "--upload-pack=evil"\nrev = "abcdef1"\n', r"not a git URL"),
    ('[[source]]\ngit = "u"\nrev = "abcdef1"\nsha256 = "' + "a" * 64 + '"\n', r"pinned by `rev`"),
    ('[[source]]\ndebian = "sed"\nversion = "4.9-1"\nsha256 = "xyz"\n', r"\(sed\): `sha256` must be 64 hex digits"),
    ('[[source]]\npypi = "a==1"\nversion = "1"\n', r"`version` is for debian sources"),
    ('[[source]]\ndebian = "sed"\nversion = "4.9-1"\nrev = "abcdef1"\n', r"`rev` is for git sources"),
    ('[[source]]\ndebian = "sed"\npypi = "sed==1"\nversion = "1"\n', r"exactly one of .*found debian, pypi"),
    ('[[source]]\nname = "x"\n', r"source #1 \(x\): needs exactly one of debian, pypi, npm, git, path$"),
    ('[[source]]\ndebian = "sed"\nversion = "4.9-1"\nlicence = "GPL"\n', r"\(sed\): unknown key 'licence'"),
    ('[[source]]\ndebian = "sed"\nversion = 4\n', r"'version' must be a non-empty string"),
    ('[[source]]\ndebian = "sed"\nversion = "4.9-1"\nspdx = "GPL;rm"\n', r"`spdx` is not an SPDX expression"),
    ('[[source]]\nname = "../x"\npath = "d"\n', r"`name` must be a plain directory name"),
    ('[[source]]\npath = "a/sed"\n[[source]]\npath = "b/sed"\n', r"source #2 \(sed\): name already used by source #1"),
    ('name = "x"\n', r"no sources"),
    ('sources = []\n', r"unknown top-level key 'sources'"),
    ('source = "sed"\n', r"no sources"),
    ('[[source]\n', r"invalid TOML"),
    ('[[source]]\npath = "d"\nlanguages = "c"\n', r"\(d\): `languages` must be a non-empty list of strings"),
    ('[[source]]\npath = "d"\nlanguages = []\n', r"`languages` must be a non-empty list"),
    ('[[source]]\npath = "d"\nlanguages = ["c", 1]\n', r"`languages` must be a non-empty list of strings"),
    ('[[source]]\npath = "d"\nlanguages = ["C#"]\n', r"unknown language 'C#' in `languages` \(known: .*csharp"),
    ('[[source]]\npath = "d"\nlanguages = ["c", "c"]\n', r"`languages` names a language twice"),
])
def test_validation_errors_are_one_line_and_name_the_entry(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(LicscanError, match=message) as ei:
        load_manifest(path)
    msg = str(ei.value)
    assert "\n" not in msg and msg.startswith(str(path))


def test_unreadable_manifest(tmp_path: Path) -> None:
    with pytest.raises(LicscanError, match="cannot read manifest"):
        load_manifest(tmp_path / "missing.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(LicscanError, match="not UTF-8"):
        load_manifest(tmp_path / "bin.toml")


def test_is_manifest(tmp_path: Path) -> None:
    (tmp_path / "m.toml").write_text("")
    assert is_manifest(tmp_path / "m.toml")
    assert not is_manifest(tmp_path)
    assert not is_manifest(tmp_path / "other.toml")


def test_shipped_manifests_are_valid_and_pinned() -> None:
    gnu = load_manifest(CORPORA / "gnu-core.toml")
    names = {s.name for s in gnu.sources}
    assert {"coreutils", "grep", "sed", "gawk", "busybox", "git", "bash", "readline", "ansible-core",
            "pylint", "jedit", "fish", "wordpress"} <= names
    assert all(s.sha256 for s in gnu.sources)
    quick = load_manifest(CORPORA / "quickstart.toml")
    assert 1 <= len(quick.sources) <= 2
    assert all(s.sha256 for s in load_manifest(CORPORA / "quickstart-pypi.toml").sources)
    base = load_manifest(CORPORA / "permissive-base.toml")
    assert all(s.sha256 for s in base.sources)
    assert {s.kind for s in base.sources} == {"debian", "npm", "pypi"}
    # Base code must not be one of the copyleft sources it is meant to contrast with.
    assert not {s.name for s in base.sources} & names


TEN = {"c", "cpp", "python", "java", "javascript", "php", "go", "rust", "ruby", "csharp"}


def test_large_manifest_has_200_sources_in_the_ten_languages() -> None:
    large = load_manifest(CORPORA / "copyleft-large.toml")
    pins = {(s.kind, s.spec, s.version) for s in large.sources}
    assert len(large.sources) >= 200 and len(pins) == len(large.sources)
    assert all(s.sha256 and s.languages for s in large.sources)
    assert {s.kind for s in large.sources} == {"debian", "pypi", "npm"}  # nothing this machine cannot reach
    languages = {x for s in large.sources for x in s.languages}
    assert len(languages) >= 10 and TEN <= languages
    # each of the ten is the main language of several projects, not a footnote of one
    main = Counter(s.languages[0] for s in large.sources)
    assert all(main[x] >= 3 for x in TEN), main
    names = {s.name for s in large.sources}
    assert {"linux", "gcc-12", "glibc", "emacs", "gimp", "blender", "ffmpeg", "mariadb", "wordpress",
            "mediawiki", "openjdk-17", "redmine", "calibre", "ansible-core", "qemu", "samba"} <= names


def test_large_manifest_is_what_its_generator_writes() -> None:
    """corpora/copyleft-large.toml is generated from bench/make_large_manifest.py's table: the same
    sources in the same order with the same languages (a hand edit of either would drift)."""
    sys.path.insert(0, str(CORPORA.parent / "bench"))
    try:
        from make_large_manifest import parse_selection
    finally:
        sys.path.remove(str(CORPORA.parent / "bench"))
    rows = [(r.kind, r.spec, tuple(r.languages)) for r in parse_selection()]
    large = load_manifest(CORPORA / "copyleft-large.toml")
    have = [(s.kind, s.spec, s.languages) for s in large.sources]
    assert have == rows
