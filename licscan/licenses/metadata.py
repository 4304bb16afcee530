"""A package's declared license from its metadata files, one directory at a time.

Read at index build time for files without their own notice (``resolve.py``) and by
``policy/project.py`` for the scanned project's own license. Only declarations are
read, never guessed: an SPDX field, a license string, a trove classifier, a
``<license><name>``. A GNU family without a version ("LGPL") is kept as such, so a
versioned classifier in the same file ("LGPLv2+") can decide it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from licscan.licenses.declare import gnu_reading
from licscan.licenses.text import normalize_expression, read_text

CLASSIFIERS = {
    "MIT License": "MIT", "Apache Software License": "Apache-2.0", "ISC License (ISCL)": "ISC",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "GNU Affero General Public License v3": "AGPL-3.0-only",
    "GNU Affero General Public License v3 or later (AGPLv3+)": "AGPL-3.0-or-later",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0", "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "Common Development and Distribution License 1.0 (CDDL-1.0)": "CDDL-1.0",
    "The Unlicense (Unlicense)": "Unlicense", "zlib/libpng License": "Zlib",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0", "Other/Proprietary License": "LicenseRef-Proprietary",
}
"""Trove license classifiers that name one license (``BSD License`` names no version: absent)."""
_UNVERSIONED_CLASSIFIERS = {"GNU General Public License (GPL)": "GPL",
                            "GNU Library or Lesser General Public License (LGPL)": "LGPL",
                            "GNU Lesser General Public License (LGPL)": "LGPL"}
_ID_LIKE = re.compile(r"^[\w.+\-:() ]+$")
_SPDX_ID = re.compile(r"^(?:[A-Za-z0-9.+-]+(?:\s+(?:AND|OR|WITH)\s+|$))+$")


@dataclass(frozen=True)
class Declared:
    """A package's declared license: an SPDX expression, or a GNU family without version."""

    license: str | None
    family: str | None
    path: str
    """The metadata file, relative to the directory asked about."""
    field: str


def license_value(value: str) -> tuple[str | None, str | None]:
    """(SPDX expression, unversioned GNU family) of a metadata license string: ``GPLv3+``,
    ``GPL-2.0-or-later``, ``LGPL``, ``MIT/Apache-2.0`` (Cargo's old form)."""
    value = " ".join(value.strip().split())
    if not value:
        return None, None
    ids, unversioned = gnu_reading(value)
    if ids:
        return (ids[0] if len(ids) == 1 else " OR ".join(ids)), None
    spdx = value.replace("/", " OR ")
    if _SPDX_ID.match(spdx) and re.search(r"\d|MIT|ISC|Unlicense|Zlib|WTFPL|BSD", spdx):
        return normalize_expression(spdx), None
    if unversioned:
        return None, unversioned[0]
    return None, None


def _pick(cands: list[tuple[str | None, str | None, str, str]]) -> Declared | None:
    """The first versioned candidate, else the first unversioned family (path, field kept)."""
    for lic, fam, path, field in cands:
        if lic:
            return Declared(lic, None, path, field)
    for lic, fam, path, field in cands:
        if fam:
            return Declared(None, fam, path, field)
    return None


def _classifier_values(items: list[Any], path: str, field: str) -> list[tuple[str | None, str | None, str, str]]:
    out: list[tuple[str | None, str | None, str, str]] = []
    for c in items:
        if not isinstance(c, str) or not c.strip().startswith("License ::"):
            continue
        last = c.strip().rsplit(" :: ", 1)[-1]
        if last in CLASSIFIERS:
            out.append((CLASSIFIERS[last], None, path, field))
        elif last in _UNVERSIONED_CLASSIFIERS:
            out.append((None, _UNVERSIONED_CLASSIFIERS[last], path, field))
    return out


def _toml(path: Path) -> dict[str, Any]:
    from licscan.config import load_toml

    try:
        return load_toml(path) if path.is_file() else {}
    except Exception:  # noqa: BLE001 - a broken manifest is skipped, the next source decides
        return {}


def _text(path: Path) -> str:
    return read_text(path, 1 << 18) or "" if path.is_file() else ""


def _pyproject(d: Path) -> list[tuple[str | None, str | None, str, str]]:
    proj = _toml(d / "pyproject.toml").get("project") or {}
    out = []
    lic = proj.get("license")
    if isinstance(lic, dict):
        lic = lic.get("text")
    if isinstance(lic, str):
        out.append((*license_value(lic), "pyproject.toml", "project.license"))
    return out + _classifier_values(proj.get("classifiers") or [], "pyproject.toml", "project.classifiers")


def _setup_cfg(d: Path) -> list[tuple[str | None, str | None, str, str]]:
    text = _text(d / "setup.cfg")
    out = []
    m = re.search(r"^license\s*=\s*(.+)$", text, re.M)
    if m:
        out.append((*license_value(m.group(1)), "setup.cfg", "metadata.license"))
    return out + _classifier_values(re.findall(r"License ::[^\n]+", text), "setup.cfg", "metadata.classifiers")


def _setup_py(d: Path) -> list[tuple[str | None, str | None, str, str]]:
    text = _text(d / "setup.py")
    out = []
    m = re.search(r"\blicense\s*=\s*['\"]([^'\"]+)['\"]", text)
    if m:
        out.append((*license_value(m.group(1)), "setup.py", "license"))
    # Classifiers split over adjacent string literals ("License :: OSI Approved :: " "GNU ...").
    joined = re.sub(r"['\"]\s*\n?\s*['\"]", "", text)
    return out + _classifier_values(re.findall(r"License ::[^'\"\n]+", joined), "setup.py", "classifiers")


def _pkg_info(d: Path) -> list[tuple[str | None, str | None, str, str]]:
    text = _text(d / "PKG-INFO")
    out = []
    for key in ("License-Expression", "License"):
        m = re.search(rf"^{key}:\s*(.+)$", text, re.M)
        if m and m.group(1).strip() not in ("UNKNOWN", ""):
            out.append((*license_value(m.group(1)), "PKG-INFO", key))
    cls = [c.strip() for c in re.findall(r"^Classifier:\s*(License ::.+)$", text, re.M)]
    return out + _classifier_values(cls, "PKG-INFO", "Classifier")


def _json_license(d: Path, name: str) -> list[tuple[str | None, str | None, str, str]]:
    try:
        doc = json.loads((d / name).read_text(encoding="utf-8")) if (d / name).is_file() else None
    except (OSError, ValueError):
        return []
    if not isinstance(doc, dict):
        return []
    lic = doc.get("license")
    if isinstance(lic, dict):
        lic = lic.get("type")
    if isinstance(lic, list):  # composer.json: a list of alternatives
        lic = " OR ".join(x for x in lic if isinstance(x, str))
    return [(*license_value(lic), name, "license")] if isinstance(lic, str) and lic else []


def _cargo(d: Path) -> list[tuple[str | None, str | None, str, str]]:
    pkg = _toml(d / "Cargo.toml").get("package") or {}
    lic = pkg.get("license")
    return [(*license_value(lic), "Cargo.toml", "package.license")] if isinstance(lic, str) else []


def _pom(d: Path) -> list[tuple[str | None, str | None, str, str]]:
    text = _text(d / "pom.xml")
    names = re.findall(r"<license>\s*<name>([^<]+)</name>", text)
    return [(*license_value(n), "pom.xml", "licenses.license.name") for n in names[:1]]


def _gemspec(d: Path) -> list[tuple[str | None, str | None, str, str]]:
    try:
        specs = sorted(p.name for p in d.glob("*.gemspec"))
    except OSError:
        return []
    for name in specs:
        m = re.search(r"\.licen[cs]es?\s*=\s*\[?\s*['\"]([^'\"]+)['\"]", _text(d / name))
        if m:
            return [(*license_value(m.group(1)), name, "license")]
    return []


_READERS = (_pyproject, _setup_cfg, _setup_py, _pkg_info, lambda d: _json_license(d, "package.json"),
            lambda d: _json_license(d, "composer.json"), _cargo, _pom, _gemspec)


def declared_license(d: Path) -> Declared | None:
    """The license the package metadata in directory `d` declares, if any metadata does."""
    cands = [c for reader in _READERS for c in reader(d)]
    return _pick(cands)
