"""`licscan mcp`: the check_code tool over MCP's stdio transport, as an agent would call it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_check_code_judges_against_the_project_license(core_index: Path, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # no config or license of tmp_path's parents
    c = Client("--index", str(core_index), "--project-license", "Apache-2.0", "--profile", "source", cwd=tmp_path)
    try:
        schema = c.call("tools/list")["result"]["tools"][0]["inputSchema"]
        assert {"project_license", "profile"} <= set(schema["properties"]) and schema["required"] == ["code"]
        src = (CORPUS / "go" / "lrucache.go").read_text()
        res = c.call("tools/call", {"name": "check_code", "arguments": {"code": src, "language": "go"}})["result"]
        (f,) = res["structuredContent"]["findings"]
        assert (f["verdict"], f["profile"]) == ("incompatible", "source") and "Apache-2.0" in f["verdict_reason"]
        assert f["obligations"] and "verdict incompatible" in res["content"][0]["text"]
        # The tool's arguments override the server's options, for that call only.
        args = {"code": src, "language": "go", "project_license": "GPL-3.0-or-later", "profile": "network"}
        (f,) = c.call("tools/call", {"name": "check_code", "arguments": args})["result"]["structuredContent"]["findings"]
        assert (f["verdict"], f["profile"]) == ("compatible", "network")
        res = c.call("tools/call", {"name": "check_code", "arguments": {"code": src, "language": "go"}})["result"]
        assert res["structuredContent"]["findings"][0]["verdict"] == "incompatible"
        # A bad value is the tool's error (the agent can read it and retry), not a dead server.
        bad = c.call("tools/call", {"name": "check_code", "arguments": {"code": src, "profile": "saas"}})["result"]
        assert bad["isError"] is True and "unknown profile" in bad["content"][0]["text"]
        assert c.call("tools/call", {"name": "check_code",
                                     "arguments": {"code": src, "profile": 3}})["error"]["code"] == -32602
    finally:
        assert c.close() == 0


def test_server_survives_hostile_lines_as_a_subprocess(core_index: Path, tmp_path: Path) -> None:
    c = Client("--index", str(core_index), cwd=tmp_path)
    try:
        assert c.p.stdin is not None
        for bad in (b"[" * 330, b"[" * 200_000, b'{"a":' * 100_000, b"\xff\xfe{\x80}",
                    b'{"jsonrpc":"2.0","id":1,"method":"ping"}' + b" " * (17 * 1024 * 1024)):
            c.p.stdin.write(bad + b"\n")
            c.p.stdin.flush()
            resp = c.recv()
            assert resp["id"] is None and resp["error"]["code"] == -32700, (bad[:20], resp)
            assert c.call("ping")["result"] == {}
    finally:
        assert c.close() == 0


def serve_lines(server: object, lines: list[bytes], **kw: int) -> list[dict]:
    """Run the stdio loop in process over ``lines``; the replies, one per line written."""
    from licscan.integrations.mcp import serve

    out = io.BytesIO()
    serve(server, io.BytesIO(b"".join(lines)), out, **kw)  # type: ignore[arg-type]
    return [json.loads(x) for x in out.getvalue().splitlines()]


@pytest.fixture
def server(core_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    from licscan.integrations.mcp import Server

    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return Server(core_index, project_license="MIT")


PING = b'{"jsonrpc":"2.0","id":7,"method":"ping"}\n'


def test_every_unparsable_line_gets_a_parse_error_and_the_next_is_served(server: object) -> None:
    lines = [b"[" * 330 + b"\n", b"[" * 100_000 + b"]" * 100_000 + b"\n", b"\xc3\x28\n", b"{not json\n",
             b"x" * 5000 + b"\n"]
    tail = b"y" * 3000  # overlong and unterminated, at the end of input
    replies = serve_lines(server, [x for line in lines for x in (line, PING)] + [tail], max_line=1024)
    assert replies[1::2] == [{"jsonrpc": "2.0", "id": 7, "result": {}}] * len(lines)
    for r in replies[0::2]:
        assert r["id"] is None and r["error"]["code"] == -32700, r
    assert len(replies) == 2 * len(lines) + 1
    assert all("longer than 1024 bytes" in r["error"]["message"] for r in (replies[8], replies[10]))


def test_malformed_requests_are_answered_not_fatal(server: object) -> None:
    deep_id = b'{"jsonrpc":"2.0","id":' + b"[" * 900 + b"]" * 900 + b',"method":"ping"}\n'
    lines = [b"[]\n", b"[[[[1]]]]\n", b"[" * 300 + b"]" * 300 + b"\n", deep_id,
             b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":[1]}\n',
             b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"check_code","arguments":"x"}}\n',
             b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":' + b"[" * 500 + b"]" * 500 + b'}}\n',
             b"42\n", PING]
    r = serve_lines(server, lines)
    assert r[0]["error"]["code"] == -32600 and r[0]["id"] is None
    assert [x["error"]["code"] for x in r[1]] == [-32600]  # a nested array is no batch
    assert [x["error"]["code"] for x in r[2]] == [-32600]
    assert r[3]["error"]["code"] == -32600 and r[3]["id"] is None  # an id that is no id is not echoed
    assert (r[4]["id"], r[4]["error"]["code"]) == (1, -32602)
    assert (r[5]["id"], r[5]["error"]["code"]) == (2, -32602)
    assert (r[6]["id"], r[6]["error"]["code"]) == (3, -32602)
    assert r[7]["error"]["code"] == -32600
    assert r[8] == {"jsonrpc": "2.0", "id": 7, "result": {}}


def test_exceptions_inside_calls_become_errors(server: object, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a: object, **_k: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    call = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"check_code","arguments":{"code":"x"}}}\n'
    monkeypatch.setattr(server, "check_code", boom)
    (r, p) = serve_lines(server, [call, PING])
    assert r["id"] == 1 and r["result"]["isError"] is True and "recursion" in r["result"]["content"][0]["text"]
    assert p["result"] == {}
    monkeypatch.setattr(server, "_dispatch", boom)
    (r, _p) = serve_lines(server, [call, PING])
    assert (r["id"], r["error"]["code"]) == (1, -32603)
    monkeypatch.setattr(server, "handle", boom)
    (r, _p) = serve_lines(server, [call, PING])
    assert (r["id"], r["error"]["code"]) == (None, -32603)


def test_in_process_check_code_has_verdicts(server: object) -> None:
    src = (CORPUS / "go" / "lrucache.go").read_text()
    res = server.check_code(src, "go")  # type: ignore[attr-defined]
    (f,) = res["structuredContent"]["findings"]
    assert f["verdict"] == "incompatible" and f["project_license"] == "MIT" and f["obligations"]
    res = server.check_code(src, "go", project_license="GPL-3.0-or-later")  # type: ignore[attr-defined]
    assert res["structuredContent"]["findings"][0]["verdict"] == "compatible"
