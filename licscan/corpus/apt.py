"""A private apt state whose ``deb-src`` entries are derived from the machine's own sources.

Nothing here changes the system: ``apt-get`` runs against its own sources, lists,
cache and dpkg status, and its ``deb-src`` entries copy the machine's ``deb``
entries (same mirrors, suites, components and ``Signed-By`` keyrings). No mirror
host is hard-coded anywhere: whatever the machine is configured with is used.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from licscan.model import LicscanError

__all__ = ["AptState", "apt_update", "deb_src_stanzas", "parse_deb822", "parse_one_line", "render_deb822",
           "run", "system_deb_src"]

Runner = Callable[..., Any]
Stanza = dict[str, str]

ETC_APT = Path("/etc/apt")
LISTS_MAX_AGE = 24 * 3600.0
"""Refresh the private package lists when they are older than this (seconds)."""


# --------------------------------------------------------------------------
# apt sources: parse the system's, derive deb-src entries


def parse_deb822(text: str) -> list[Stanza]:
    """Parse a deb822 ``.sources`` file into stanzas (field name -> raw value).

    Multi-line values (continuation lines, e.g. an inline ``Signed-By`` key) keep
    their line breaks; comment lines are dropped.
    """
    stanzas: list[Stanza] = []
    cur: Stanza = {}
    last: str | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                stanzas.append(cur)
            cur, last = {}, None
            continue
        if line[0] in " \t":
            if last is None:
                raise LicscanError(f"bad deb822 sources: continuation line without a field: {raw.strip()!r}")
            cur[last] += "\n" + line
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise LicscanError(f"bad deb822 sources line: {raw.strip()!r}")
        last = name.strip()
        cur[last] = value.strip()
    if cur:
        stanzas.append(cur)
    return stanzas


_OPTION_FIELDS = {"arch": "Architectures", "lang": "Languages", "target": "Targets"}


def _option_field(key: str) -> str:
    key = key.strip()
    for suffix in ("+", "-"):  # arch+=..., arch-=... : keep the base option
        key = key.removesuffix(suffix)
    if key in _OPTION_FIELDS:
        return _OPTION_FIELDS[key]
    return "-".join(p[:1].upper() + p[1:] for p in key.split("-"))


def parse_one_line(text: str) -> list[Stanza]:
    """Parse one-line style ``sources.list`` text into deb822-style stanzas.

    ``deb [signed-by=/k.gpg arch=amd64] URI SUITE COMP...`` becomes
    ``{"Types": "deb", "URIs": URI, "Suites": SUITE, "Components": "COMP ...",
    "Signed-By": "/k.gpg", "Architectures": "amd64"}``.
    """
    stanzas: list[Stanza] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$", line)
        if not m:
            raise LicscanError(f"bad sources.list line: {raw.strip()!r}")
        typ, opts, uri, suite, comps = m.groups()
        st: Stanza = {"Types": typ, "URIs": uri, "Suites": suite}
        if comps.strip():
            st["Components"] = " ".join(comps.split())
        for opt in (opts or "").split():
            key, eq, val = opt.partition("=")
            if not eq:
                continue
            st[_option_field(key)] = " ".join(v for v in val.split(",") if v)
        stanzas.append(st)
    return stanzas


def deb_src_stanzas(stanzas: Iterable[Stanza]) -> list[Stanza]:
    """The ``deb-src`` entries matching the enabled ``deb``/``deb-src`` ones, deduplicated.

    Every field but ``Types`` is kept, ``Signed-By`` in particular; ``Enabled: no``
    entries are skipped.
    """
    out: list[Stanza] = []
    seen: set[tuple[str, str, str]] = set()
    for st in stanzas:
        types = st.get("Types", "").split()
        if not ({"deb", "deb-src"} & set(types)):
            continue
        if st.get("Enabled", "yes").strip().lower() in ("no", "false", "0"):
            continue
        if not st.get("URIs") or not st.get("Suites"):
            continue
        key = (" ".join(st["URIs"].split()), " ".join(st["Suites"].split()), " ".join(st.get("Components", "").split()))
        if key in seen:
            continue
        seen.add(key)
        new: Stanza = {"Types": "deb-src"}
        new.update((k, v) for k, v in st.items() if k not in ("Types", "Enabled"))
        out.append(new)
    return out


def render_deb822(stanzas: Sequence[Stanza]) -> str:
    """Render stanzas as a deb822 ``.sources`` file."""
    blocks = []
    for st in stanzas:
        blocks.append("\n".join(f"{k}: {v}" for k, v in st.items()))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _source_files(etc_apt: Path) -> list[Path]:
    files: list[Path] = []
    main = etc_apt / "sources.list"
    if main.is_file():
        files.append(main)
    parts = etc_apt / "sources.list.d"
    if parts.is_dir():
        # apt reads only these names (others, like *.disabled, are ignored)
        for p in sorted(parts.iterdir()):
            if re.fullmatch(r"[A-Za-z0-9_.\-]+\.(list|sources)", p.name) and p.is_file():
                files.append(p)
    return files


def system_deb_src(etc_apt: Path = ETC_APT) -> str:
    """deb822 text with a ``deb-src`` entry for each source the system has configured."""
    stanzas: list[Stanza] = []
    for f in _source_files(etc_apt):
        try:
            text = f.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise LicscanError(f"cannot read apt sources {f}: {e.strerror}") from None
        if f.suffix == ".sources":
            stanzas.extend(parse_deb822(text))
        else:
            stanzas.extend(parse_one_line(text))
    src = deb_src_stanzas(stanzas)
    if not src:
        raise LicscanError(f"no apt 'deb' sources configured under {etc_apt}: cannot derive deb-src entries")
    return render_deb822(src)


# --------------------------------------------------------------------------
# running commands


def run(runner: Runner, cmd: list[str], *, cwd: Path | None = None, what: str) -> Any:
    try:
        res = runner(cmd, cwd=str(cwd) if cwd else None, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise LicscanError(f"{what}: command not found: {cmd[0]}") from None
    if res.returncode != 0:
        raise LicscanError(f"{what} failed (exit {res.returncode}): {_last_error(res)}")
    return res


def _last_error(res: Any) -> str:
    text = "\n".join(x for x in (getattr(res, "stderr", "") or "", getattr(res, "stdout", "") or "") if x)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errs = [ln for ln in lines if ln.startswith(("E:", "ERROR", "error"))]
    pick = errs[0] if errs else (lines[-1] if lines else "no output")
    return pick[:400]


# --------------------------------------------------------------------------
# private apt state


class AptState:
    """apt's directories and options, all under ``root``."""

    def __init__(self, root: Path, etc_apt: Path):
        self.root = root
        self.etc = root / "etc"
        self.state = root / "state"
        self.cache = root / "cache"
        self.etc_apt = etc_apt

    @property
    def conf(self) -> Path:
        return self.etc / "apt.conf"

    def options(self) -> list[str]:
        o = {
            "Dir::Etc::SourceList": self.etc / "sources.list",
            "Dir::Etc::SourceParts": self.etc / "sources.list.d",
            "Dir::Etc::Preferences": self.etc / "preferences",
            "Dir::Etc::PreferencesParts": self.etc / "preferences.d",
            "Dir::State": self.state,
            "Dir::State::Lists": self.state / "lists",
            "Dir::State::status": self.state / "status",
            "Dir::Cache": self.cache,
            "Dir::Cache::Archives": self.cache / "archives",
            "APT::Get::Only-Source": "true",
            "APT::Sandbox::User": pwd.getpwuid(os.geteuid()).pw_name,
        }
        args = ["-c", str(self.conf)]
        for k, v in o.items():
            args += ["-o", f"{k}={v}"]
        return args

    def prepare(self) -> bool:
        """Write the private config; return True when the package lists must be (re)fetched."""
        for d in (
            self.etc / "sources.list.d",
            self.etc / "preferences.d",
            self.state / "lists" / "partial",
            self.cache / "archives" / "partial",
        ):
            d.mkdir(parents=True, exist_ok=True)
        for f in (self.etc / "sources.list", self.etc / "preferences", self.state / "status"):
            if not f.exists():
                f.write_text("")
        # no hooks of the system's apt config (e.g. notifying PackageKit) for our private lists
        self.conf.write_text(
            "#clear APT::Update::Pre-Invoke;\n"
            "#clear APT::Update::Post-Invoke;\n"
            "#clear APT::Update::Post-Invoke-Success;\n"
        )
        sources = system_deb_src(self.etc_apt)
        target = self.etc / "sources.list.d" / "licscan-deb-src.sources"
        changed = not target.is_file() or target.read_text() != sources
        if changed:
            target.write_text(sources)
        stamp = self.state / "updated"
        stale = not stamp.is_file() or time.time() - stamp.stat().st_mtime > LISTS_MAX_AGE
        return changed or stale

    def mark_updated(self) -> None:
        (self.state / "updated").write_text(time.strftime("%Y-%m-%dT%H:%M:%S\n"))


def apt_update(state: AptState, runner: Runner, *, force: bool = False) -> None:
    if state.prepare() or force:
        run(runner, ["apt-get", *state.options(), "-q", "update"], what="apt-get update (private lists)")
        state.mark_updated()
