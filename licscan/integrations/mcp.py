"""A Model Context Protocol server on stdio, so that coding agents
can check code before they write it.

Implements the subset of MCP a tool server needs (``initialize``, ``ping``,
``tools/list``, ``tools/call``) over newline-delimited JSON-RPC 2.0, with the
standard library only: the ``mcp`` package would pull an HTTP stack into an
otherwise small install. One tool:

``check_code(code, language?, project_license?, profile?)`` -> the copied regions
found in ``code`` (a file's text, a snippet, or a Markdown answer with fenced
blocks), each with its upstream source, license, similarity, verdict and
obligations, as text and as ``structuredContent``.

The server survives any input: a line that is not JSON (invalid UTF-8, nesting
too deep, longer than ``MAX_LINE``) gets a JSON-RPC parse error, and an exception
inside a method becomes an error reply; the next line is served either way.
"""

from __future__ import annotations

import json
from pathlib import Path
from dataclasses import replace
from typing import Any, BinaryIO, Iterator

from licscan import __version__

PROTOCOL_VERSIONS = ("2025-06-18", "2025-03-26", "2024-11-05")
MAX_LINE = 16 * 1024 * 1024
"""Longest request line read whole (bytes); a longer one is answered with an error and
skipped, so a runaway client cannot make the server hold unbounded memory."""

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
            "project_license": {"type": "string", "description": (
                "SPDX license expression of the project the code is for (e.g. MIT, Apache-2.0, "
                "GPL-3.0-or-later); decides each finding's verdict. Default: the server's.")},
            "profile": {"type": "string", "enum": ["source", "binary", "network"], "description": (
                "How the project is distributed: as source, as built artifacts (binary) or only as a "
                "network service; decides the obligations. Default: the server's.")},
        },
        "required": ["code"],
    },
    "annotations": {"readOnlyHint": True, "openWorldHint": False},
}


class Server:
    """The JSON-RPC dispatcher, independent of the transport (tests drive it directly)."""

    def __init__(self, index_path: str | Path, *, project_license: str | None = None,
                 profile: str | None = None) -> None:
        from licscan.engine.matcher import Matcher
        from licscan.engine.stores import open_store
        from licscan.policy.gate import load_policy

        self.index = open_store(index_path, pooled=True)  # a long-lived process: pooled on PostgreSQL
        # The server's defaults: options, else the config file, else the detected license.
        self.policy = load_policy(project_license=project_license, profile=profile)
        self.matcher = Matcher(self.index, self.policy.thresholds())

    def handle(self, msg: Any) -> Any:
        """One parsed message -> the response object (None for notifications)."""
        if isinstance(msg, list):
            if not msg:
                return _error(None, -32600, "invalid request: empty batch")
            # Batch members are handled one level deep only: a nested array is an invalid
            # request, not a batch to recurse into (deep nesting used to exhaust the stack).
            out = [r for r in (self._one(m) for m in msg) if r is not None]
            return out or None
        return self._one(msg)

    def _one(self, msg: Any) -> Any:
        if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0" or not isinstance(msg.get("method"), str):
            if isinstance(msg, dict) and "method" not in msg and ("result" in msg or "error" in msg):
                return None  # a response to a request we never send
            return _error(_id(msg), -32600, "invalid request")
        if "id" not in msg:
            return None  # notification (notifications/initialized, cancelled, ...)
        mid, method, params = msg["id"], msg["method"], msg.get("params")
        if not _valid_id(mid):
            # JSON-RPC ids are strings, numbers or null; anything else (a deep array) is
            # not echoed back.
            return _error(None, -32600, "invalid request: id must be a string, number or null")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            return _error(mid, -32602, "params must be an object")
        try:
            return self._dispatch(mid, method, params)
        except Exception as e:  # noqa: BLE001 - a server answers, it does not die
            return _error(mid, -32603, f"internal error: {e.__class__.__name__}: {e}")

    def _dispatch(self, mid: Any, method: str, params: dict[str, Any]) -> Any:
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
        if method != "tools/call":
            return _error(mid, -32601, f"method not found: {method}")
        if params.get("name") != "check_code":
            return _error(mid, -32602, f"unknown tool: {str(params.get('name'))[:100]!r}")
        args = params.get("arguments") or {}
        if not isinstance(args, dict) or not isinstance(args.get("code"), str):
            return _error(mid, -32602, "check_code needs a string argument 'code'")
        for key in ("language", "project_license", "profile"):
            if args.get(key) is not None and not isinstance(args[key], str):
                return _error(mid, -32602, f"check_code's argument {key!r} must be a string")
        try:
            return _ok(mid, self.check_code(args["code"], args.get("language"),
                                            project_license=args.get("project_license"),
                                            profile=args.get("profile")))
        except Exception as e:  # noqa: BLE001 - the agent sees what went wrong and can retry
            return _ok(mid, {"content": [{"type": "text", "text": f"licscan error: {e}"}], "isError": True})

    def check_code(self, code: str, language: str | None = None, *, project_license: str | None = None,
                   profile: str | None = None) -> dict[str, Any]:
        """The tool's result for ``code``; ``project_license`` and ``profile`` override the server's."""
        from licscan.inputs.units import Unit, guessed_unit, markdown_units, scan_units
        from licscan.languages import canonical
        from licscan.inputs.markdown import looks_like_markdown

        policy = self.policy
        if profile:
            from licscan.policy.profiles import check_profile

            policy = replace(policy, profile=check_profile(profile))
        if project_license:
            if not project_license.strip():
                raise ValueError("project_license is empty")
            policy = replace(policy, project_license=project_license,
                             project_license_origin="check_code project_license")
        name = "<code>"
        lang = (language or "").strip().lower()
        if lang in ("markdown", "md") or (not lang and looks_like_markdown(code)):
            units = markdown_units(name, code)
        elif lang:
            units = [Unit(name, code, canonical(lang))]
        else:
            units = [guessed_unit(name, code)]
        result = scan_units(self.index, units, matcher=self.matcher)
        if result.findings:
            from licscan.policy.gate import apply_policy

            apply_policy(result, policy, use_baseline=False)
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
                    + (f", verdict {f.judgement.verdict} ({f.judgement.verdict_reason})"
                       if f.judgement.verdict else ""))
                for o in f.judgement.obligations or []:
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


def _valid_id(mid: Any) -> bool:
    return mid is None or isinstance(mid, str) or (isinstance(mid, (int, float)) and not isinstance(mid, bool))


def _id(msg: Any) -> Any:
    """The id to answer an invalid message with: its own when valid, else null."""
    mid = msg.get("id") if isinstance(msg, dict) else None
    return mid if _valid_id(mid) else None


def _ok(mid: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": mid, "result": result}


def _error(mid: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": mid, "error": {"code": code, "message": message}}


def _lines(inp: BinaryIO, limit: int) -> Iterator[bytes | None]:
    """Request lines of at most ``limit`` bytes; None for a longer one, whose rest is
    read and dropped in pieces of ``limit`` (never held whole)."""
    while True:
        raw = inp.readline(limit + 1)
        if not raw:
            return
        if len(raw) <= limit or raw.endswith(b"\n"):
            yield raw
            continue
        while raw and not raw.endswith(b"\n"):
            raw = inp.readline(limit)
        yield None


def _reply(server: Server, raw: bytes | None, limit: int) -> Any:
    """The response to one request line (None: nothing to answer)."""
    if raw is None:
        return _error(None, -32700, f"parse error: request line longer than {limit} bytes")
    try:
        text = raw.decode("utf-8")  # MCP's stdio transport is UTF-8
        if not text.strip():
            return None
        msg = json.loads(text)
    except (ValueError, RecursionError, MemoryError) as e:  # UnicodeDecodeError is a ValueError
        why = "nested too deeply" if isinstance(e, RecursionError) else "not JSON" if isinstance(
            e, json.JSONDecodeError) else "not UTF-8" if isinstance(e, UnicodeDecodeError) else "too large"
        return _error(None, -32700, f"parse error: {why}")
    return server.handle(msg)


def _encode(resp: Any) -> bytes:
    try:
        return json.dumps(resp, separators=(",", ":")).encode("utf-8") + b"\n"
    except (ValueError, TypeError, RecursionError) as e:  # a result that cannot be sent
        mid = resp.get("id") if isinstance(resp, dict) else None
        err = _error(mid if _valid_id(mid) else None, -32603, f"internal error: unencodable reply ({e})")
        return json.dumps(err).encode("utf-8") + b"\n"


def serve(server: Server, inp: BinaryIO, out: BinaryIO, *, max_line: int = MAX_LINE) -> None:
    """Read one JSON-RPC message per line until end of input; write one response per line.

    Nothing a client sends ends the loop: only end of input, or a closed output.
    """
    for raw in _lines(inp, max_line):
        try:
            resp = _reply(server, raw, max_line)
        except Exception as e:  # noqa: BLE001 - a last resort: handle() already answers errors
            resp = _error(None, -32603, f"internal error: {e.__class__.__name__}")
        if resp is None:
            continue
        try:
            out.write(_encode(resp))
            out.flush()
        except BrokenPipeError:
            return  # the client is gone
