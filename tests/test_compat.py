"""Verdicts: OSADL matrix pairs, or-later rules, OR/AND expressions, profiles, exceptions."""

from __future__ import annotations

import pytest

from licscan.policy import compat
from licscan.policy.compat import VERDICTS, admitted, evaluate, is_copyleft, satisfies

from test_obligations import COPYLEFT, PERMISSIVE


@pytest.mark.parametrize("source,project,verdict", [
    # The examples.
    ("GPL-2.0-or-later", "GPL-3.0-or-later", "compatible"),
    ("GPL-2.0-only", "Apache-2.0", "incompatible"),
    ("GPL-2.0-only", "MIT", "incompatible"),
    # Each listed license in a permissive and in a GPL project.
    ("GPL-3.0-only", "Apache-2.0", "incompatible"),
    ("GPL-3.0-or-later", "GPL-3.0-or-later", "compatible"),
    ("LGPL-2.1-only", "MIT", "obligations"),
    ("LGPL-2.1-or-later", "GPL-3.0-only", "compatible"),
    ("LGPL-3.0-only", "GPL-3.0-only", "compatible"),
    ("LGPL-3.0-or-later", "Apache-2.0", "obligations"),
    ("AGPL-3.0-only", "MIT", "incompatible"),
    ("AGPL-3.0-or-later", "GPL-3.0-only", "obligations"),  # GPL-3.0 §13: allowed, AGPL §13 applies
    ("MPL-2.0", "GPL-2.0-only", "compatible"),           # MPL-2.0 §3.3 secondary licenses
    ("MPL-2.0", "MIT", "obligations"),                   # file-level copyleft: keep those files MPL
    ("EPL-2.0", "GPL-3.0-only", "obligations"),          # only with an Exhibit A notice
    ("EPL-2.0", "Apache-2.0", "obligations"),
    ("CDDL-1.0", "GPL-2.0-only", "incompatible"),
    ("CDDL-1.0", "MIT", "obligations"),
    ("Apache-2.0", "GPL-2.0-only", "incompatible"),
    ("Apache-2.0", "GPL-3.0-only", "compatible"),
    ("MIT", "Apache-2.0", "compatible"),
    ("BSD-3-Clause", "GPL-2.0-only", "compatible"),
    ("MIT", "LicenseRef-Proprietary", "compatible"),
    ("GPL-2.0-only", "LicenseRef-Proprietary", "incompatible"),
    ("MPL-2.0", "UNLICENSED", "obligations"),
    # Unknowns: nothing to judge, or nothing to judge against.
    (None, "MIT", "unknown"),
    ("GPL-2.0-only", None, "unknown"),
    ("LicenseRef-acme-internal", "MIT", "unknown"),
])
def test_verdicts(source: str | None, project: str | None, verdict: str) -> None:
    v = evaluate(source, project)
    assert v.verdict == verdict, v
    assert v.reason and "\n" not in v.reason


def test_every_listed_license_gets_a_judged_verdict_in_common_projects() -> None:
    for src in COPYLEFT + PERMISSIVE:
        for prj in ("MIT", "Apache-2.0", "GPL-2.0-only", "GPL-3.0-or-later", "LGPL-2.1-or-later", "MPL-2.0"):
            v = evaluate(src, prj)
            assert v.verdict in VERDICTS and v.verdict != "unknown", (src, prj, v)
            assert v.licenses == (src,)


def test_or_later_rules() -> None:
    got = dict(admitted("GPL-2.0-or-later"))
    assert {"GPL-2.0-only", "GPL-3.0-only", "GPL-3.0-or-later"} <= got.keys()
    assert "GPL-2.0 §9" in got["GPL-3.0-only"]
    assert dict(admitted("GPL-2.0-only")).keys() == {"GPL-2.0-only"}
    # LGPL may be converted to the GPL (LGPL-2.1 §3), which is or-later from version 2.
    lgpl = dict(admitted("LGPL-2.1-only"))
    assert {"GPL-2.0-or-later", "GPL-3.0-only"} <= lgpl.keys() and "LGPL-2.1 §3" in lgpl["GPL-3.0-only"]
    assert "GPL-3.0-only" in dict(admitted("LGPL-3.0-only"))
    assert "LGPL-3.0-only" in dict(admitted("LGPL-2.1-or-later"))
    # A project under an or-later license can narrow its choice to take in -only code.
    v = evaluate("GPL-3.0-only", "GPL-2.0-or-later")
    assert v.verdict == "obligations" and "distributed under GPL-3.0-only" in v.reason
    v = evaluate("GPL-2.0-only", "GPL-2.0-or-later")
    assert v.verdict == "obligations" and "GPL-2.0-only" in v.reason
    # ...while an -only project cannot.
    assert evaluate("GPL-3.0-only", "GPL-2.0-only").verdict == "incompatible"
    assert evaluate("GPL-2.0-only", "GPL-3.0-or-later").verdict == "incompatible"
    # Old notation is normalized before judging.
    assert evaluate("GPL-2.0+", "GPL-3.0-only").verdict == "compatible"


def test_or_is_the_users_choice_and_names_it() -> None:
    v = evaluate("MIT OR GPL-2.0-only", "Apache-2.0")
    assert v.verdict == "compatible" and v.licenses == ("MIT",)
    assert v.reason.startswith("choose MIT of MIT OR GPL-2.0-only")
    # OSADL: -only code cannot stay in an or-later work as is; the project must pick GPL-3.0-only.
    v = evaluate("GPL-2.0-only OR GPL-3.0-only", "GPL-3.0-or-later")
    assert v.verdict == "obligations" and v.licenses == ("GPL-3.0-only",)
    assert v.reason.startswith("choose GPL-3.0-only of") and "distributed under GPL-3.0-only" in v.reason
    v = evaluate("GPL-2.0-only OR GPL-3.0-or-later", "GPL-3.0-or-later")
    assert v.verdict == "compatible" and v.licenses == ("GPL-3.0-or-later",)
    assert evaluate("GPL-2.0-only OR GPL-3.0-only", "MIT").verdict == "incompatible"
    # A dual-licensed project: compatible with one option only means dropping the other.
    v = evaluate("GPL-3.0-only", "MIT OR GPL-3.0-only")
    assert v.verdict == "obligations" and "GPL-3.0-only option" in v.reason
    assert evaluate("MIT", "MIT OR Apache-2.0").verdict == "compatible"


def test_and_means_every_part_applies() -> None:
    v = evaluate("MIT AND GPL-2.0-only", "Apache-2.0")
    assert v.verdict == "incompatible" and v.licenses == ("MIT", "GPL-2.0-only")
    v = evaluate("MIT AND MPL-2.0", "Apache-2.0")
    assert v.verdict == "obligations" and set(v.licenses) == {"MIT", "MPL-2.0"}
    assert evaluate("(MIT OR GPL-2.0-only) AND BSD-3-Clause", "Apache-2.0").verdict == "compatible"


def test_network_profile_agpl_versus_gpl() -> None:
    assert evaluate("GPL-2.0-only", "MIT", "binary").verdict == "incompatible"
    v = evaluate("GPL-2.0-only", "MIT", "network")
    assert v.verdict == "obligations" and "distribute" in v.reason
    assert evaluate("LGPL-2.1-only", "MIT", "network").verdict == "obligations"
    for profile in ("source", "binary", "network"):
        assert evaluate("AGPL-3.0-only", "MIT", profile).verdict == "incompatible"
    with pytest.raises(Exception, match="unknown profile"):
        evaluate("MIT", "MIT", "cloud")


def test_linking_exceptions_are_judged_as_the_base_license() -> None:
    v = evaluate("GPL-2.0-only WITH Classpath-exception-2.0", "MIT")
    assert v.verdict == "incompatible" and "does not cover copied code" in v.reason
    assert v.licenses == ("GPL-2.0-only WITH Classpath-exception-2.0",)
    assert evaluate("GPL-3.0-or-later WITH GCC-exception-3.1", "Apache-2.0").verdict == "incompatible"
    assert evaluate("GPL-2.0-or-later WITH Autoconf-exception-2.0", "GPL-3.0-only").verdict == "compatible"


def test_copyleft_and_allow_helpers() -> None:
    assert is_copyleft("GPL-2.0-only") and is_copyleft("MPL-2.0") and is_copyleft("MIT AND LGPL-2.1-only")
    assert not is_copyleft("MIT") and not is_copyleft("MIT OR GPL-2.0-only")
    assert not is_copyleft("X11")  # not in licscan's table: ScanCode category Permissive
    assert is_copyleft(None) and is_copyleft("LicenseRef-who-knows")
    assert satisfies("MIT OR GPL-2.0-only", {"GPL-2.0-only"})
    assert not satisfies("MIT AND GPL-2.0-only", {"GPL-2.0-only"})
    assert satisfies("GPL-2.0-only WITH Classpath-exception-2.0", {"GPL-2.0-only"})
    assert compat.leaves("MIT OR (Apache-2.0 AND GPL-2.0-only WITH Classpath-exception-2.0)") == [
        "MIT", "Apache-2.0", "GPL-2.0-only WITH Classpath-exception-2.0"]


@pytest.mark.parametrize("package, source, project, verdict", [
    ("git (COPYING with Linus's preface)", "GPL-2.0-only", "GPL-2.0-only", "compatible"),
    ("pylint (GPL-2.0-or-later in its metadata)", "GPL-2.0-or-later", "GPL-3.0-or-later", "compatible"),
    ("CSparse (Doc/License.txt)", "LGPL-2.1-or-later", "MIT", "obligations"),
    ("fish (its own license, not its bundled parts')", "GPL-2.0-only", "MIT", "incompatible"),
])
def test_verdicts_of_the_resolved_licenses(package: str, source: str, project: str, verdict: str) -> None:
    """Issue 14's examples, from the license each package's files now resolve to."""
    v = evaluate(source, project)
    assert v.verdict == verdict, (package, v.reason)
    if verdict == "obligations":
        assert "separate library" in v.reason
