"""A Model Context Protocol server on stdio, so that coding agents
can check code before they write it.

Implements the subset of MCP a tool server needs (``initialize``, ``ping``,
``tools/list``, ``tools/call``) over newline-delimited JSON-RPC 2.0, with the
standard library only: the ``mcp`` package would pull an HTTP stack into an
otherwise small install. One tool:

``check_code(code, language?)`` -> the copied regions found in ``code`` (a file's
text, a snippet, or a Markdown answer with fenced blocks), each with its upstream
source, license and similarity, as text and as ``structuredContent``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, BinaryIO

from licscan import __version__

PROTOCOL_VERSIONS = ("2025-06-18", "2025-03-26", "2024-11-05")

CHECK_CODE = {
    "name": "check_code",
    "title": "Check code for copied copyleft code",
    "description": (
        "Check source code (a file, a snippet, or a Markdown answer with fenced code blocks) for "
        "regions copied from indexed copyleft projects (GPL and others). Returns each copied region "
        "with its upstream file and lines, license and similarity. Call it on code you are about to "
        "write; if it reports findings, rewrite that code independently or keep the license's terms."),
    "inputSchema": {
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "The code or Markdown text to check."},
            "language": {"type": "string", "description": (
                "Language name (c, cpp, python, java, javascript, typescript, go, rust, php, ruby, "
                "csharp, bash, or markdown). Guessed from the code when omitted.")},
        },
        "required": ["code"],
    },
    "annotations": {"readOnlyHint": True, "openWorldHint": False},
}


class Server:
    """The JSON-RPC dispatcher, independent of the transport (tests drive it directly)."""

    def __init__(self, index_path: str | Path) -> None:
        from licscan.engine.index import open_index
        from licscan.engine.matcher import Matcher

        self.index = open_index(index_path)
        try:
            from licscan.policy.gate import load_policy
        except ImportError:  # pragma: no cover - a build without the policy stage
            self.policy = None
        else:
            self.policy = load_policy()
        self.matcher = Matcher(self.index, self.policy.thresholds() if self.policy is not None else None)

    def handle(self, msg: Any) -> Any:
        """One parsed message -> the response object (None for notifications)."""
        if isinstance(msg, list):
            out = [r for r in (self.handle(m) for m in msg) if r is not None]
            return out or None
        if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0" or not isinstance(msg.get("method"), str):
            if isinstance(msg, dict) and "method" not in msg and ("result" in msg or "error" in msg):
                return None  # a response to a request we never send
            return _error(msg.get("id") if isinstance(msg, dict) else None, -32600, "invalid request")
        mid, method, params = msg.get("id"), msg["method"], msg.get("params") or {}
        if "id" not in msg:
            return None  # notification (notifications/initialized, cancelled, ...)
        try:
            if method == "initialize":
                asked = params.get("protocolVersion")
                return _ok(mid, {
                    "protocolVersion": asked if asked in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0],
                    "capabilities": {"tools": {"listChanged": False}},
                    "serverInfo": {"name": "licscan", "version": __version__},
                    "instructions": "Call check_code on code before writing it to find code copied from "
                                    "copyleft projects.",
                })
            if method == "ping":
                return _ok(mid, {})
            if method == "tools/list":
                return _ok(mid, {"tools": [CHECK_CODE]})
            if method == "tools/call":
                if params.get("name") != "check_code":
                    return _error(mid, -32602, f"unknown tool: {params.get('name')!r}")
                args = params.get("arguments") or {}
                if not isinstance(args.get("code"), str):
                    return _error(mid, -32602, "check_code needs a string argument 'code'")
                lang = args.get("language")
                return _ok(mid, self.check_code(args["code"], lang if isinstance(lang, str) else None))
            return _error(mid, -32601, f"method not found: {method}")
        except Exception as e:  # noqa: BLE001 - a server answers, it does not die
            return _ok(mid, {"content": [{"type": "text", "text": f"licscan error: {e}"}], "isError": True})

    def check_code(self, code: str, language: str | None = None) -> dict[str, Any]:
        from licscan.inputs.units import Unit, guessed_unit, markdown_units, scan_units
        from licscan.languages import canonical
        from licscan.inputs.markdown import looks_like_markdown

        name = "<code>"
        lang = (language or "").strip().lower()
        if lang in ("markdown", "md") or (not lang and looks_like_markdown(code)):
            units = markdown_units(name, code)
        elif lang:
            units = [Unit(name, code, canonical(lang))]
        else:
            units = [guessed_unit(name, code)]
        result = scan_units(self.index, units, matcher=self.matcher)
        if self.policy is not None:
            from licscan.policy.gate import apply_policy

            apply_policy(result, self.policy, use_baseline=False)
        findings = [_public(f.to_dict()) for f in result.findings]
        if not findings:
            text = "No code copied from the indexed copyleft projects was found."
        else:
            lines = [f"{len(findings)} region(s) match code from copyleft projects:"]
            for f in result.findings:
                lines.append(
                    f"- lines {f.start_line}-{f.end_line}: {f.source.path} lines "
                    f"{f.source.start_line}-{f.source.end_line}, license {f.license or 'unknown'}, "
                    f"{f.similarity:.0%} similar"
                    + (f", verdict {f.extra['verdict']} ({f.extra.get('verdict_reason')})"
                       if f.extra.get("verdict") else ""))
                for o in f.extra.get("obligations") or []:
                    lines.append(f"  - obligation: {o.get('text') if isinstance(o, dict) else o}")
            lines.append("Rewrite these regions independently, or keep them under their license's terms.")
            text = "\n".join(lines)
        return {"content": [{"type": "text", "text": text}],
                "structuredContent": {"clean": not findings, "findings": findings},
                "isError": False}


def _public(d: dict[str, Any]) -> dict[str, Any]:
    for key in ("source_id", "token_range", "source_token_range", "anchors", "rare_anchors", "line_offset"):
        d.pop(key, None)
    return d


def _ok(mid: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": mid, "result": result}


def _error(mid: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": mid, "error": {"code": code, "message": message}}


def serve(server: Server, inp: BinaryIO, out: BinaryIO) -> None:
    """Read one JSON-RPC message per line until end of input; write one response per line."""
    for raw in inp:
        if not raw.strip():
            continue
        try:
            msg = json.loads(raw)
        except ValueError:
            resp: Any = _error(None, -32700, "parse error")
        else:
            resp = server.handle(msg)
        if resp is not None:
            out.write(json.dumps(resp, separators=(",", ":")).encode("utf-8") + b"\n")
            out.flush()
