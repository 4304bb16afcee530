#!/usr/bin/env python3
"""jscpd 5.3.2, the peer: installed with npm into bench/.cache/jscpd (gitignored), run as a subprocess.

jscpd has no index: it is run over the corpus and the case files together, and the
clones that pair a case file with a corpus file are read from its JSON report.

    python bench/peer_jscpd.py --install        # npm i -E jscpd@5.3.2 into bench/.cache/jscpd
    python bench/peer_jscpd.py PATH...          # run it, print the clone count
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PREFIX = BENCH / ".cache" / "jscpd"
VERSION = "5.3.2"
FORMATS = {"c": "c,c-header", "cpp": "cpp,cpp-header", "python": "python", "java": "java", "javascript": "javascript", "php": "php"}
DEFAULT_ARGS = ["--ignore-identifiers", "--ignore-literals", "--mode", "weak"]
"""The brief's flags, plus weak mode (comments skipped), jscpd's best setting for reformatted copies."""


def install(prefix: Path = PREFIX) -> Path:
    """jscpd's executable, installed with the machine's npm (its configured registry) when missing."""
    exe = executable(prefix)
    if exe is not None:
        return exe
    if shutil.which("npm") is None:
        raise RuntimeError("npm not found: install Node.js/npm to run the jscpd peer")
    prefix.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["npm", "i", "-E", "--no-audit", "--no-fund", "--prefix", str(prefix), f"jscpd@{VERSION}"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"npm i jscpd@{VERSION} failed: {r.stderr.strip().splitlines()[-1:]}")
    exe = executable(prefix)
    if exe is None:
        raise RuntimeError("jscpd installed but no executable found")
    return exe


def executable(prefix: Path = PREFIX) -> Path | None:
    """The native binary when the platform package has one (so rusage measures jscpd itself), else the npm shim."""
    nm = prefix / "node_modules"
    for d in sorted(nm.glob("jscpd-*")):
        b = d / "bin" / "jscpd"
        if b.is_file() and os.access(b, os.X_OK):
            return b
    shim = nm / ".bin" / "jscpd"
    return shim if shim.exists() else None


def version(exe: Path) -> str:
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    return (r.stdout or r.stderr).strip()


@dataclass
class Clone:
    a: str
    a_start: int
    a_end: int
    b: str
    b_start: int
    b_end: int
    kind: str
    tokens: int


@dataclass
class Run:
    clones: list[Clone]
    seconds: float
    maxrss_kb: int
    returncode: int
    stderr: str


def run(paths: list[Path], *, langs: list[str], extra: list[str] | None = None, exe: Path | None = None,
        isolate: list[list[Path]] | None = None, workdir: Path | None = None) -> Run:
    """Run jscpd over ``paths``; ``isolate`` groups folders whose clones with each other are skipped."""
    exe = exe or install()
    fmts = ",".join(FORMATS[lang] for lang in langs if lang in FORMATS)
    tmp = Path(tempfile.mkdtemp(prefix="jscpd-", dir=workdir))
    cmd = [str(exe), *(DEFAULT_ARGS if extra is None else extra), "--format", fmts, "-r", "json", "-o", str(tmp),
           "--absolute", "--no-gitignore", "--no-tips", "--silent"]
    if isolate:
        cmd += ["--skip-isolated", ",".join("|".join(str(p) for p in grp) for grp in isolate if len(grp) > 1)]
    cmd += [str(p) for p in paths]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, ru = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else ""
    report = tmp / "jscpd-report.json"
    clones: list[Clone] = []
    if report.is_file():
        data = json.loads(report.read_text())
        for d in data.get("duplicates", []):
            fa, fb = d["firstFile"], d["secondFile"]
            clones.append(Clone(fa["name"], int(fa["start"]), int(fa["end"]), fb["name"], int(fb["start"]), int(fb["end"]),
                                d.get("kind", ""), int(d.get("tokens", 0))))
    shutil.rmtree(tmp, ignore_errors=True)
    return Run(clones, seconds, ru.ru_maxrss, proc.returncode, err[-2000:])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--install", action="store_true")
    ap.add_argument("--langs", default="c,cpp,python,java,javascript,php")
    ap.add_argument("paths", nargs="*", type=Path)
    a = ap.parse_args(argv)
    exe = install()
    print(f"jscpd {version(exe)} at {exe}")
    if a.paths:
        r = run(a.paths, langs=a.langs.split(","))
        print(f"{len(r.clones)} clones in {r.seconds:.1f}s, peak RSS {r.maxrss_kb / 1024:.0f} MiB, exit {r.returncode}")
        if r.returncode not in (0, 1):
            print(r.stderr, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
