"""What the configured apt suites offer for a source package: versions and download sizes.

Bench-only: licscan itself fetches a pinned or the newest version and never needs the list.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from licscan.corpus.apt import ETC_APT, AptState, Runner, apt_update, parse_deb822, run
from licscan.model import LicscanError


def show_debian_source(package: str, dest_root: Path, *, runner: Runner = subprocess.run,
                       etc_apt: Path = ETC_APT) -> list[dict[str, Any]]:
    """One dict per offered version: ``version``, ``format``, ``files`` (name -> size in bytes),
    ``sha256`` (name -> SHA-256, the .dsc's included), ``directory`` (in the archive's pool)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9+.\-]+", package):
        raise LicscanError(f"not a Debian source package name: {package!r}")
    dest_root = Path(dest_root).expanduser()
    dest_root.mkdir(parents=True, exist_ok=True)
    state = AptState(dest_root / ".apt", etc_apt)
    apt_update(state, runner)
    res = run(runner, ["apt-cache", *state.options(), "showsrc", "--only-source", package],
              what=f"apt-cache showsrc {package}")
    out = []
    for st in parse_deb822(res.stdout or ""):
        if st.get("Package") != package:
            continue
        # Sizes from Checksums-Sha256: the security suite's Sources have no (MD5) Files field.
        rows = [p for p in (ln.split() for ln in st.get("Checksums-Sha256", "").splitlines())
                if len(p) == 3 and p[1].isdigit()]
        files = {p[2]: int(p[1]) for p in rows}
        sha256 = {p[2]: p[0] for p in rows}
        out.append({"version": st.get("Version", ""), "format": st.get("Format", ""), "files": files,
                    "sha256": sha256, "directory": st.get("Directory", "")})
    if not out:
        raise LicscanError(f"no Debian source package named {package!r} in the configured suites")
    return out
