"""The project's own license, needed to judge what a finding means for it.

Declared metadata is tried before license texts: an SPDX string in
``pyproject.toml`` (``project.license``), ``package.json`` (``license``) or
``Cargo.toml`` (``package.license``) is the author's explicit statement, while
matching a LICENSE/COPYING text is a guess (and with scancode, a slow one).
Trove classifiers come last: "BSD License" names no version. ``--project-license``
and ``project-license`` in the config override all of this (see policy.py).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Callable

from licscan.licenses.metadata import CLASSIFIERS as _CLASSIFIERS
from licscan.licenses.resolve import _PLAIN_LICENSE_FILE as _FILE  # LICENSE, COPYING(.txt|.md|.rst): what index builds read
from licscan.licenses.light import light_match
from licscan.licenses.text import LICENSE_FILE_BYTES, license_file_text, normalize_expression, read_text

_ID_LIKE = re.compile(r"^[\w.+\-:() ]+$")
_NPM_PROPRIETARY = {"UNLICENSED": "LicenseRef-Proprietary"}


def _toml(path: Path) -> dict[str, Any] | None:
    from licscan.config import load_toml

    try:
        return load_toml(path)
    except Exception:  # noqa: BLE001 - a broken manifest is skipped, the next source decides
        return None


def _expr(value: str) -> str | None:
    value = " ".join(value.replace("/", " OR ").split())  # Cargo's legacy "MIT/Apache-2.0"
    if not value or not _ID_LIKE.match(value):
        return None
    return normalize_expression(value)


def _file_license(root: Path, names: list[str]) -> str | None:
    """License of named text files: scancode when installed, else the light matcher."""
    from licscan.licenses.detect import ENGINE_ENV, scancode_available

    use_scancode = scancode_available() and os.environ.get(ENGINE_ENV, "").strip().lower() != "light"
    if use_scancode and all("/" not in n and _FILE.match(n) for n in names):
        # The build-time detector caches scancode's answers per text on disk; for a
        # file without a notice it falls back to the nearest LICENSE/COPYING files,
        # which is exactly the question here, so ask it about a file that does not exist.
        from licscan.licenses.detect import detect_licenses_detailed
        from licscan.licenses.resolve import PROJECT_REL

        res = next(iter(detect_licenses_detailed(root, [PROJECT_REL], workers=1).values()))
        # A bare license text lets *recipients* pick any version (GPL-2.0 §9); the project asking
        # about its own license ships that version, so the text's own version is read below.
        if res.license and "no version specified" not in (res.evidence.rule or ""):
            return res.license
    found = []
    for name in names:
        body = read_text(root / name, LICENSE_FILE_BYTES)
        body = license_file_text(body) if body else None
        found.append(light_match(body) if body else None)
    exprs = [e for e in found if e]
    return " AND ".join(dict.fromkeys(exprs)) if exprs else None


def _pyproject(root: Path) -> tuple[str | None, str] | None:
    doc = _toml(root / "pyproject.toml")
    if not doc:
        return None
    lic = (doc.get("project") or {}).get("license")
    if isinstance(lic, str) and _expr(lic):
        return _expr(lic), "pyproject.toml project.license"
    if isinstance(lic, dict):
        if isinstance(lic.get("file"), str):
            return _file_license(root, [lic["file"]]), f"pyproject.toml license file {lic['file']}"
        if isinstance(lic.get("text"), str):
            text = lic["text"]
            return _expr(text) or light_match(text), "pyproject.toml project.license.text"
    return None


def _classifiers(root: Path) -> tuple[str | None, str] | None:
    doc = _toml(root / "pyproject.toml")
    classifiers = (doc or {}).get("project", {}).get("classifiers") or []
    ids = [_CLASSIFIERS[c.rsplit(" :: ", 1)[-1]] for c in classifiers
           if isinstance(c, str) and c.startswith("License ::") and c.rsplit(" :: ", 1)[-1] in _CLASSIFIERS]
    # Several license classifiers conventionally mean "any of these".
    return (" OR ".join(dict.fromkeys(ids)), "pyproject.toml classifiers") if ids else None


def _package_json(root: Path) -> tuple[str | None, str] | None:
    try:
        doc = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    lic = doc.get("license") if isinstance(doc, dict) else None
    if isinstance(lic, dict):
        lic = lic.get("type")
    if lic is None and isinstance(doc, dict) and isinstance(doc.get("licenses"), list):  # legacy form
        types = [x.get("type") for x in doc["licenses"] if isinstance(x, dict) and isinstance(x.get("type"), str)]
        lic = " OR ".join(types) or None
    if not isinstance(lic, str):
        return None
    if lic.upper() in _NPM_PROPRIETARY:
        return _NPM_PROPRIETARY[lic.upper()], "package.json license"
    m = re.match(r"SEE LICEN[CS]E IN (.+)", lic, re.I)
    if m:
        return _file_license(root, [m.group(1).strip()]), f"package.json license file {m.group(1).strip()}"
    return _expr(lic), "package.json license"


def _cargo(root: Path) -> tuple[str | None, str] | None:
    pkg = (_toml(root / "Cargo.toml") or {}).get("package") or {}
    if isinstance(pkg.get("license"), str):
        return _expr(pkg["license"]), "Cargo.toml package.license"
    if isinstance(pkg.get("license-file"), str):
        return _file_license(root, [pkg["license-file"]]), f"Cargo.toml license-file {pkg['license-file']}"
    return None


def _license_files(root: Path) -> tuple[str | None, str] | None:
    try:
        names = sorted(p.name for p in root.iterdir() if p.is_file() and _FILE.match(p.name))
    except OSError:
        return None
    return (_file_license(root, names), " + ".join(names)) if names else None


FINDERS: tuple[Callable[[Path], tuple[str | None, str] | None], ...] = (
    _pyproject, _package_json, _cargo, _license_files, _classifiers)


def detect(root: Path) -> tuple[str | None, str]:
    """(SPDX expression or None, where it came from) for the project rooted at ``root``."""
    tried = []
    for finder in FINDERS:
        hit = finder(root)
        if hit is None:
            continue
        expr, origin = hit
        if expr:
            return expr, origin
        tried.append(origin)
    return None, ("not recognized in " + ", ".join(tried)) if tried else f"no license metadata or file in {root}"
