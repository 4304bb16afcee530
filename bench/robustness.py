#!/usr/bin/env python3
"""Robustness benchmark: worst-case inputs, time to tokenize + fingerprint them.

Each case is a hostile text (unclosed comments, `/*` lines, deep nesting, long
lines, huge or unclosed strings, NULs, lone surrogates) in one language. The
table gives its size, its token count, the CPU seconds to tokenize it (in windows
sharing one input budget, as a scan does) and to fingerprint it (the scan path: ``token_codes`` and k-gram hashes, with numpy over
20,000 tokens as ``Matcher`` does, its import included), and why the fallback
tokenizer was used, if it was. Every case runs in a subprocess with a time limit,
so a quadratic one shows as ``>LIMIT``.

    python bench/robustness.py                  # every case at 32 KB and 1 MB
    python bench/robustness.py --before         # also the code before issue 15 (--rev), 32 KB cases
    python bench/robustness.py --langs c,go --sizes 32768
    python bench/robustness.py --cli INDEX      # also the whole `licscan scan` run, CPU seconds

``--cli`` writes each case to a file and runs ``licscan scan --index INDEX
--allow-skip partly-parsed FILE`` on it: the CPU time (user + system) of the
process, interpreter start and imports included, is what a user waits for on an
idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANGS = ("c", "cpp", "go", "python", "java", "javascript", "rust", "php", "ruby", "csharp",
         "bash", "text")


def _fill(unit: str, size: int, head: str = "", tail: str = "") -> str:
    n = max(1, (size - len(head) - len(tail)) // len(unit))
    return head + unit * n + tail


# name -> text of about ``size`` characters
CASES = {
    "unclosed /* ": lambda n: _fill("/* ", n),
    "/*\\n lines": lambda n: _fill("/*\n", n),
    "nested (": lambda n: _fill("(", n, "x = "),
    "nested [{": lambda n: _fill("[{", n, "x = "),
    "long line": lambda n: _fill("a+", n, "x = ", "1;\n"),
    "huge string": lambda n: _fill("a", n, 'x = "', '";\n'),
    "unclosed \"\\": lambda n: _fill('"\\', n),
    "NUL mix": lambda n: _fill("int x\0 = f(a\0, \"\0\");\n", n),
    "surrogates": lambda n: _fill("x = y \ud800 + '\udcff' /* \udc80\n", n),
}


def run_one(case: str, lang: str, size: int, src: str) -> dict:
    """Time one case in this process, with the tokenizer of ``src`` (a checkout)."""
    sys.path.insert(0, src)
    from licscan.engine import fingerprints as fpr
    from licscan.engine.tokens import tokenize

    text = CASES[case](size)
    try:  # as a scan tokenizes an input: in windows, sharing one budget (issue 15)
        from licscan.engine.budget import InputBudget
        from licscan.files import chunks

        budget = InputBudget.for_size(len(text))
        windows = [w for _, w in chunks(text)]
    except ImportError:  # the code before: one text, no input budget
        budget, windows = None, [text]
    t0 = time.process_time()
    streams = [tokenize(w, lang, budget) if budget else tokenize(w, lang) for w in windows]
    t1 = time.process_time()
    try:
        for ts in streams:
            codes, dist = fpr.token_codes(ts)
            if len(codes) > 20000:  # as Matcher._kgram_hashes does: numpy for big inputs
                import numpy as np

                fpr.kgram_hashes_np(np.asarray(codes, np.uint32), np.asarray(dist, np.int64)).tolist()
            else:
                fpr.kgram_hashes(codes, dist)
        err = ""
    except Exception as e:  # the old code crashes on surrogates: report it, do not stop
        err = type(e).__name__
    t2 = time.process_time()
    reasons = {getattr(ts, "fallback_reason", "") or ("fallback" if ts.fallback else "") for ts in streams}
    return {"bytes": len(text.encode("utf-8", "surrogatepass")), "tokens": sum(map(len, streams)),
            "tokenize": t1 - t0, "fingerprint": t2 - t1, "error": err,
            "reason": ", ".join(sorted(r for r in reasons if r))}


def measure(case: str, lang: str, size: int, src: str, limit: float) -> dict | None:
    cmd = [sys.executable, __file__, "--one", json.dumps([case, lang, size, src])]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, check=True)
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as e:
        return {"error": (e.stderr.strip().splitlines() or ["?"])[-1][:40]}
    return json.loads(out.stdout)


_SUFFIX = {"c": ".c", "cpp": ".cpp", "go": ".go", "python": ".py", "java": ".java", "javascript": ".js",
           "rust": ".rs", "php": ".php", "ruby": ".rb", "csharp": ".cs", "bash": ".sh", "text": ".txt"}


def cli_seconds(case: str, lang: str, size: int, index: str, into: Path) -> float:
    """CPU seconds of one `licscan scan` process on the case written to a file."""
    path = into / f"case{_SUFFIX[lang]}"
    path.write_text(CASES[case](size), encoding="utf-8", errors="surrogatepass", newline="")
    exe = str(Path(sys.executable).with_name("licscan"))
    before = os.times()
    subprocess.run([exe, "scan", "--index", index, "--allow-skip", "partly-parsed", str(path)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system)


def checkout(rev: str, into: Path) -> str:
    """The licscan package of ``rev``, extracted under ``into`` (for --before)."""
    subprocess.run(f"git -C {ROOT} archive {rev} licscan | tar -x -C {into}", shell=True, check=True)
    return str(into)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--langs", default=",".join(LANGS))
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--sizes", default="32768,1048576")
    ap.add_argument("--limit", type=float, default=20.0, help="seconds per case before giving up")
    ap.add_argument("--before", action="store_true", help="also time the code of --rev (32 KB cases)")
    ap.add_argument("--rev", default="f9adde0", help="the code before the robustness work")
    ap.add_argument("--cli", metavar="INDEX", help="also time `licscan scan --index INDEX` on each case")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(*json.loads(args.one))))
        return
    langs, cases = args.langs.split(","), args.cases.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        old = checkout(args.rev, Path(tmp)) if args.before else None
        head = f"{'case':<14} {'lang':<10} {'bytes':>8} {'tokens':>8} {'tokenize':>9} {'fprint':>7} {'total':>7}"
        print(head + (f" {'before':>8}" if old else "") + (f" {'cli cpu':>8}" if args.cli else "") + "  note")
        worst = worst_cli = 0.0
        for case in cases:
            for lang in langs:
                for size in sizes:
                    r = measure(case, lang, size, str(ROOT), args.limit)
                    if r is None:
                        print(f"{case:<14} {lang:<10} {size:>8} {'':>8} {'>' + str(args.limit):>9}")
                        worst = float("inf")
                        continue
                    if "tokens" not in r:
                        print(f"{case:<14} {lang:<10} {size:>8}  crashed: {r['error']}")
                        continue
                    total = r["tokenize"] + r["fingerprint"]
                    worst = max(worst, total) if size <= 1 << 20 else worst
                    line = (f"{case:<14} {lang:<10} {r['bytes']:>8} {r['tokens']:>8} {r['tokenize']:>9.3f} "
                            f"{r['fingerprint']:>7.3f} {total:>7.3f}")
                    if old:
                        b = measure(case, lang, size, old, args.limit) if size <= 32768 else None
                        before = ("" if size > 32768 else f">{args.limit:.0f}" if b is None
                                  else b.get("error") or f"{b['tokenize'] + b['fingerprint']:.3f}")
                        line += f" {before:>8}"
                    if args.cli:
                        cpu = cli_seconds(case, lang, size, args.cli, Path(tmp))
                        worst_cli = max(worst_cli, cpu) if size <= 1 << 20 else worst_cli
                        line += f" {cpu:>8.3f}"
                    print(line + f"  {r['reason']}{'; ' + r['error'] if r['error'] else ''}", flush=True)
        print(f"worst total for inputs <= 1 MB: {worst:.3f} s")
        if args.cli:
            print(f"worst `licscan scan` CPU for inputs <= 1 MB: {worst_cli:.3f} s")


if __name__ == "__main__":
    main()
