"""`licscan mcp`: the check_code tool over MCP's stdio transport, as an agent would call it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES

CORPUS = FIXTURES / "langs" / "corpus"


class Client:
    def __init__(self, *args: str, cwd: Path | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("LICSCAN_DEBUG", "LICSCAN_INDEX")}
        self.p = subprocess.Popen([sys.executable, "-m", "licscan", "mcp", *args], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env)
        self.next_id = 0

    def send(self, obj: object) -> None:
        assert self.p.stdin is not None
        self.p.stdin.write(json.dumps(obj).encode() + b"\n")
        self.p.stdin.flush()

    def recv(self) -> dict:
        assert self.p.stdout is not None
        line = self.p.stdout.readline()
        assert line, self.p.stderr.read().decode() if self.p.stderr else ""
        return json.loads(line)

    def call(self, method: str, params: dict | None = None) -> dict:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, **({"params": params} if params else {})})
        resp = self.recv()
        assert resp["id"] == self.next_id
        return resp

    def close(self) -> int:
        assert self.p.stdin is not None
        self.p.stdin.close()
        return self.p.wait(timeout=60)


def test_agent_session(core_index: Path, tmp_path: Path) -> None:
    c = Client("--index", str(core_index), cwd=tmp_path)
    try:
        init = c.call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                     "clientInfo": {"name": "test", "version": "0"}})["result"]
        assert init["protocolVersion"] == "2025-06-18" and init["serverInfo"]["name"] == "licscan"
        assert "tools" in init["capabilities"]
        c.send({"jsonrpc": "2.0", "method": "notifications/initialized"})  # no answer to notifications
        tools = c.call("tools/list")["result"]["tools"]
        assert [t["name"] for t in tools] == ["check_code"]
        assert tools[0]["inputSchema"]["required"] == ["code"]

        src = (CORPUS / "go" / "lrucache.go").read_text()
        res = c.call("tools/call", {"name": "check_code", "arguments": {"code": src, "language": "go"}})["result"]
        assert res["isError"] is False and res["structuredContent"]["clean"] is False
        (f,) = res["structuredContent"]["findings"]
        assert f["source"]["path"] == "corpus/go/lrucache.go" and f["license"] == "GPL-3.0-or-later"
        assert "corpus/go/lrucache.go" in res["content"][0]["text"]

        # No language: guessed. A Markdown answer: its fenced blocks, at answer lines.
        py = (CORPUS / "python" / "exprcalc.py").read_text()
        res = c.call("tools/call", {"name": "check_code", "arguments": {"code": py}})["result"]
        assert res["structuredContent"]["findings"][0]["source"]["path"] == "corpus/python/exprcalc.py"
        answer = f"Here is a parser:\n\n```python\n{py}```\n"
        res = c.call("tools/call", {"name": "check_code", "arguments": {"code": answer}})["result"]
        f = res["structuredContent"]["findings"][0]
        assert answer.splitlines()[f["start_line"] - 1] == py.splitlines()[f["source"]["start_line"] - 1]

        clean = c.call("tools/call", {"name": "check_code",
                                      "arguments": {"code": "print('hello')\n", "language": "python"}})["result"]
        assert clean["structuredContent"] == {"clean": True, "findings": []} and clean["isError"] is False

        assert c.call("ping")["result"] == {}
        assert c.call("no/such/method")["error"]["code"] == -32601
        assert c.call("tools/call", {"name": "nope", "arguments": {}})["error"]["code"] == -32602
        assert c.call("tools/call", {"name": "check_code", "arguments": {"code": 42}})["error"]["code"] == -32602
        assert c.p.stdin is not None
        c.p.stdin.write(b"{not json\n")
        c.p.stdin.flush()
        assert c.recv()["error"]["code"] == -32700
    finally:
        assert c.close() == 0


def test_mcp_without_an_index_exits_2(tmp_path: Path) -> None:
    c = Client("--index", str(tmp_path / "missing.lsi"), cwd=tmp_path)
    rc = c.close()
    assert rc == 2
    assert c.p.stderr is not None
    err = c.p.stderr.read().decode()
    assert len(err.strip().splitlines()) == 1 and "index not found" in err
