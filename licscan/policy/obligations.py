"""What keeping copied code obliges you to do, per license and distribution profile.

The facts live in ``licscan/data/obligations.toml`` (authored from the OSADL
checklists and the license texts; see ``licscan/data/README.md``). This module
only loads that table and answers questions about it; it is imported only when
a scan has findings or by ``licscan obligations``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from licscan.model import LicscanError
from licscan.config import parse_toml
from licscan.policy.profiles import DEFAULT_PROFILE, PROFILES, check_profile

__all__ = ["DEFAULT_PROFILE", "PROFILES", "Obligation", "check_profile", "for_license", "for_licenses", "table"]

DATA = Path(__file__).parent.parent / "data" / "obligations.toml"
COPYLEFT_KINDS = ("weak", "strong", "network")


@dataclass(frozen=True)
class Obligation:
    """One thing to do (or not do) for code under ``license``."""

    id: str
    text: str
    cite: str
    license: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "text": self.text, "cite": self.cite, "license": self.license}


@dataclass(frozen=True)
class LicenseInfo:
    id: str
    name: str
    copyleft: str
    """none | weak | strong | network"""
    scope: str
    """What the copyleft reaches: none | file | library | work."""
    hint: str = ""
    conditional: str = ""
    items: tuple[dict[str, Any], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class Table:
    licenses: dict[str, LicenseInfo]
    exceptions: dict[str, dict[str, Any]]
    profiles: dict[str, str]


@lru_cache(maxsize=1)
def table() -> Table:
    """The packaged table, parsed once; ``like`` entries are resolved here."""
    try:
        raw = parse_toml(DATA.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise LicscanError(f"obligations table unreadable ({DATA}): {e}") from e
    entries: dict[str, dict[str, Any]] = raw.get("licenses", {})

    def resolve(key: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        e = dict(entries[key])
        base_key = e.pop("like", None)
        if base_key is None:
            return e
        if base_key in seen or base_key not in entries:
            raise LicscanError(f"obligations table: bad 'like' in {key!r}")
        base = resolve(base_key, seen + (key,))
        own = e.pop("obligations", [])
        base_ids = {o["id"] for o in own}
        # An item of the entry itself replaces the base's item with the same id.
        merged = [o for o in base.get("obligations", []) if o["id"] not in base_ids] + own
        return {**base, **e, "obligations": merged}

    licenses = {}
    for key in entries:
        e = resolve(key)
        licenses[key] = LicenseInfo(key, e.get("name", key), e.get("copyleft", "none"), e.get("scope", "none"),
                                    e.get("hint", ""), e.get("conditional", ""),
                                    tuple(e.get("obligations", [])))
    return Table(licenses, raw.get("exceptions", {}), raw.get("profiles", {}))


def license_info(spdx_id: str) -> LicenseInfo | None:
    return table().licenses.get(spdx_id)


def split_with(key: str) -> tuple[str, str | None]:
    """``"GPL-2.0-only WITH Classpath-exception-2.0"`` -> (license, exception)."""
    lic, sep, exc = key.partition(" WITH ")
    return lic.strip(), (exc.strip() if sep else None)


def exception_note(exception: str) -> Obligation:
    """What an exception changes for copied code; unknown ones are named, not trusted."""
    e = table().exceptions.get(exception)
    if e is None:
        return Obligation("exception-scope", f"licscan has no entry for the exception {exception}: judged "
                          "without it. Read whether it covers code copied out of the work.", exception, exception)
    return Obligation("exception-scope", e["text"], e["cite"], exception)


def covers_copied_code(exception: str) -> bool:
    """Whether an exception relaxes the license for code copied out of the work (linking-only ones do not)."""
    e = table().exceptions.get(exception)
    return bool(e) and not e.get("linking_only", True)


def for_license(key: str, profile: str) -> list[Obligation]:
    """Obligations of one license (optionally ``X WITH exception``) under ``profile``."""
    check_profile(profile)
    lic, exc = split_with(key)
    info = license_info(lic)
    out: list[Obligation] = []
    if info is None:
        out.append(Obligation("unlisted", f"licscan has no obligations entry for {lic}: read its license text. "
                              "At the least, keep its copyright and license notices.", lic, lic))
    else:
        out.extend(Obligation(o["id"], o["text"], o["cite"], lic) for o in info.items
                   if profile in o.get("profiles", PROFILES))
    if exc:
        out.append(exception_note(exc))
    return out


def for_licenses(keys: list[str], profile: str) -> list[Obligation]:
    """Obligations of several licenses that all apply (an AND, or the licenses of an OR choice)."""
    out: list[Obligation] = []
    for key in dict.fromkeys(keys):
        out.extend(for_license(key, profile))
    return out


def is_copyleft_id(spdx_id: str) -> bool | None:
    """True/False for licenses in the table; None when licscan does not know the license."""
    info = license_info(split_with(spdx_id)[0])
    return None if info is None else info.copyleft in COPYLEFT_KINDS


def describe(key: str, profile: str) -> dict[str, Any]:
    """One license as data, for ``licscan obligations --format json``."""
    lic, exc = split_with(key)
    info = license_info(lic)
    return {
        "license": key,
        "name": info.name if info else None,
        "known": info is not None,
        "copyleft": info.copyleft if info else None,
        "scope": info.scope if info else None,
        "exception": exc,
        "profile": profile,
        "obligations": [o.to_dict() for o in for_license(key, profile)],
    }
