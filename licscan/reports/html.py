"""HTML: one self-contained page (no scripts, no external assets) for reviewers.

Every piece of scanned or indexed text is escaped: code under review is data.
"""

from __future__ import annotations

from html import escape
from typing import TextIO

from licscan import __version__
from licscan.engine.store import IndexStore
from licscan.inputs.paths import ScanResult
from licscan.reports import common
from licscan.reports.markdown import headline, ordered

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1f2328}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left}
th{background:#f6f8fa}td.num{text-align:right}code,pre{font:12px/1.4 ui-monospace,monospace}
pre{background:#f6f8fa;padding:8px;overflow:auto;margin:0}.sbs{display:flex;gap:8px}.sbs>div{flex:1;min-width:0}
.incompatible{color:#cf222e;font-weight:600}.obligations,.unknown{color:#9a6700}.compatible{color:#1a7f37}
section{border-top:1px solid #d0d7de;margin-top:1.5em}
"""


def render(result: ScanResult, index: IndexStore, out: TextIO, *, side_by_side: bool = False) -> None:
    e = escape
    w = out.write
    w("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      f"<title>{e(headline(result))}</title><style>{_STYLE}</style></head><body>\n")
    w(f"<h1>{e(headline(result))}</h1>\n")
    findings = ordered(result)
    if findings:
        w("<table><thead><tr><th>verdict</th><th>file</th><th>lines</th><th>upstream source</th>"
          "<th>upstream lines</th><th>license</th><th>similarity</th><th>tokens</th></tr></thead><tbody>\n")
        for n, f in enumerate(findings, 1):
            v = common.verdict(f)
            shown = v if common.has_verdict(f) else "no policy"
            w(f"<tr><td class=\"{v}\">{e(shown)}</td><td><a href=\"#f{n}\"><code>{e(f.path)}</code></a></td>"
              f"<td>{f.start_line}-{f.end_line}</td><td><code>{e(f.source.path)}</code></td>"
              f"<td>{f.source.start_line}-{f.source.end_line}</td><td>{e(f.license or 'unknown')}</td>"
              f"<td class=\"num\">{f.similarity:.0%}</td><td class=\"num\">{f.tokens}</td></tr>\n")
        w("</tbody></table>\n")
    for n, f in enumerate(findings, 1):
        v = common.verdict(f)
        w(f"<section id=\"f{n}\"><h2><code>{e(f.path)}</code> lines {f.start_line}-{f.end_line}</h2>\n")
        w(f"<p>{e(common.summary(f))}</p>\n<p>{e(common.evidence_sentence(f))}</p>\n<p class=\"{v}\">{e(common.verdict_sentence(f))}</p>\n")
        obs = common.obligations(f)
        if obs:
            w("<p>Obligations:</p><ul>\n")
            for o in obs:
                cite = f" <small>({e(str(o['cite']))})</small>" if o.get("cite") else ""
                w(f"<li>{e(str(o.get('text') or o.get('id', '')))}{cite}</li>\n")
            w("</ul>\n")
        also = f.evidence.also_in
        if also:
            w(f"<p>The same upstream code is also in: {', '.join(f'<code>{e(a)}</code>' for a in also)}</p>\n")
        mine = common.region_text(result.texts.get(f.path), f)
        if mine is not None:
            theirs = common.source_lines(index, f) if side_by_side else None
            w("<details open><summary>Matched lines</summary><div class=\"sbs\">")
            w(f"<div><p><code>{e(f.path)}</code></p><pre>{e(mine)}</pre></div>")
            if side_by_side:
                w(f"<div><p><code>{e(f.source.path)}</code></p>"
                  f"<pre>{e(theirs if theirs is not None else '(source text not stored in the index)')}</pre></div>")
            w("</div></details>\n")
        w("</section>\n")
    if result.skipped:
        w("<section><h2>Skipped</h2><ul>\n")
        failing = {p for ps in (result.failing_skips or {}).values() for p in ps}
        for reason, paths in sorted(result.skipped.items()):
            w(f"<li>{e(reason)}: {', '.join(f'<code>{e(p)}</code>' for p in paths)}"
              f"{' (fails the policy)' if failing & set(paths) else ''}</li>\n")
        w("</ul></section>\n")
    w(f"<footer><p><small>licscan {e(__version__)}</small></p></footer></body></html>\n")
