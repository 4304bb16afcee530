"""The PostgreSQL index (engine/pgstore.py, pgload.py, stores.py) against a real server
(tests/pgserver.py): the same findings as SQLite, index info/verify, fail-closed errors,
batched lookups, atomic generations, a read-only role."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES
from licscan.engine import pgload, pgstore
from licscan.engine.index import open_index
from licscan.engine.stores import open_store
from licscan.engine.uris import shown
from licscan.inputs.paths import scan_paths
from licscan.model import LicscanError

CORPUS = FIXTURES / "langs" / "corpus"
COPIES = FIXTURES / "langs" / "copies"


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("LICSCAN_DEBUG", "LICSCAN_INDEX", "PGPASSWORD")}
    return subprocess.run([sys.executable, "-m", "licscan", *args], capture_output=True, text=True,
                          env={**base, **(env or {})}, cwd=cwd, timeout=300)


def loaded(uri: str, sqlite_index: Path) -> str:
    """``uri`` holding a new generation copied from ``sqlite_index``."""
    conn = pgstore.connect(uri)
    try:
        pgload.load(conn, sqlite_index, uri)
    finally:
        conn.close()
    return uri


@pytest.fixture(scope="module")
def pg_core(pg_server, core_index: Path) -> str:  # type: ignore[no-untyped-def]
    """The core fixture index, loaded into its own database."""
    return loaded(pg_server.createdb("core"), core_index)


def _findings(index: object) -> list[dict]:
    idx = open_store(index)  # type: ignore[arg-type]
    try:
        result = scan_paths(idx, [str(COPIES)])
        return [f.to_dict() for f in result.findings]
    finally:
        idx.close()


def test_same_findings_on_sqlite_and_postgresql(core_index: Path, pg_core: str) -> None:
    sqlite = _findings(core_index)
    assert len({f["source"]["path"] for f in sqlite}) >= 10  # the copies of every language are found
    assert _findings(pg_core) == sqlite  # every field: lines, source, license, evidence, verdict, ...


def test_same_rows_and_statistics(core_index: Path, pg_core: str) -> None:
    a, b = open_index(core_index), open_store(pg_core)
    assert b.meta == a.meta and b.vocab() == a.vocab() and b.common_names() == a.common_names()
    hashes = [h for (h,) in a.db.execute("SELECT DISTINCT h FROM fp")]
    assert b.lookup(hashes) == sorted(a.lookup(hashes))  # postings: rarity, owners
    fids = set(range(a.stats()["files"]))
    assert b.files(fids) == a.files(fids)  # families, licenses, evidence
    for fid in (0, max(fids)):
        assert b.tokens(fid) == a.tokens(fid) and b.names(fid) == a.names(fid)
        assert b.text(fid) == a.text(fid) and b.aliases(fid) == a.aliases(fid)
    sa, sb = a.stats(), b.stats()
    assert {k: sb[k] for k in sa} == sa
    assert sorted(b.source_counts()) == sorted(a.source_counts())
    assert b.files_in(["c", "python"], 10) == a.files_in(["c", "python"], 10)


def test_lookup_is_batched(core_index: Path, pg_core: str, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = open_index(core_index), open_store(pg_core)
    present = [h for (h,) in a.db.execute("SELECT DISTINCT h FROM fp LIMIT 2000")]
    wanted = present + list(range(1, 10_001 - len(present)))  # 10,000 fingerprints, most absent
    calls: list[str] = []
    real = pgstore.run
    monkeypatch.setattr(pgstore, "run", lambda db, sql, args, uri: calls.append(sql) or real(db, sql, args, uri))
    rows = b.lookup(wanted)
    assert len(calls) <= 2, calls  # one round trip per LOOKUP_BATCH, not one per k-gram
    assert rows == sorted(a.lookup(wanted)) and rows  # the matcher does not depend on the order


def test_a_scan_fetches_its_candidates_at_once(core_index: Path, pg_core: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Round trips per scan do not grow with its candidates: their token streams, names and
    lines come in one query (``sources``), their aliases in another."""
    store = open_store(pg_core)
    a = open_index(core_index)
    fids = list(range(a.stats()["files"]))
    got, want = store.sources(fids), a.sources(fids)
    assert [(s.ids, s.names, s.lines) for s in got.values()] == [(want[f].ids, want[f].names, want[f].lines)
                                                                  for f in got]
    assert store.aliases_of(fids) == a.aliases_of(fids)
    scan_paths(store, [str(COPIES)])  # warm: vocab, common names, grammar checks
    calls: list[str] = []
    real = pgstore.run
    monkeypatch.setattr(pgstore, "run", lambda db, sql, args, uri: calls.append(sql) or real(db, sql, args, uri))
    store = open_store(pg_core)  # cold caches: every candidate's stream is fetched
    calls.clear()
    for path in sorted(COPIES.rglob("*")):
        if path.is_file():
            before = len(calls)
            scan_paths(store, [str(path)])
            # open: vocab, common names; scan: lookup, files, family heads, sources, aliases
            assert len(calls) - before <= 7, calls[before:]
    assert len(calls) >= 8  # the scans did reach the server


def test_fingerprints_spread_over_the_partitions(pg_core: str) -> None:
    store = open_store(pg_core)
    counts = [store._query(f"SELECT count(*) FROM {{s}}.fp_{i:02d}")[0][0] for i in range(pgstore.PARTITIONS)]
    assert all(counts), counts  # ranges of the 31-bit fingerprint, not of a 64-bit hash


def test_cli_build_scan_info_verify(pg_server, core_index: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    uri = pg_server.createdb("cli")
    r = cli("index", "build", "--out", uri, "--no-licenses", "--workers", "1", str(CORPUS))
    assert r.returncode == 0, r.stderr
    assert "generation 1" in r.stderr
    plain = tmp_path / "plain.lsi"
    assert cli("index", "build", "--out", str(plain), "--no-licenses", "--workers", "1", str(CORPUS)).returncode == 0
    on_pg = cli("scan", "--index", uri, "--format", "json", str(COPIES))
    on_file = cli("scan", "--format", "json", str(COPIES), env={"LICSCAN_INDEX": str(plain)})
    assert on_pg.returncode == on_file.returncode == 1, on_pg.stderr
    assert json.loads(on_pg.stdout)["findings"] == json.loads(on_file.stdout)["findings"]
    info = cli("index", "info", "--format", "json", uri)
    assert info.returncode == 0, info.stderr
    doc = json.loads(info.stdout)
    file_doc = json.loads(cli("index", "info", "--format", "json", str(plain)).stdout)
    assert doc["generation"] == 1 and doc["bytes"] > 0 and doc["path"] == uri
    for key in ("files", "fingerprints", "languages", "licenses", "corpus_sha256", "sources", "params"):
        assert doc[key] == file_doc[key], key
    text = cli("index", "info", uri)
    assert text.returncode == 0 and "generation: 1" in text.stdout
    v = cli("index", "verify", uri)
    assert v.returncode == 0 and "is intact" in v.stdout, v.stderr


def test_unreachable_database_fails_closed(tmp_path: Path) -> None:
    (tmp_path / "a.c").write_text("int main(void) { return 0; }\n")
    nowhere = f"postgresql://ci@/licscan?host={tmp_path}/no-server&connect_timeout=2"
    for args, env in ((["scan", "--index", nowhere, str(tmp_path / "a.c")], {"PGPASSWORD": "sekrit-1"}),
                      (["scan", str(tmp_path / "a.c")], {"LICSCAN_INDEX": nowhere}),
                      (["index", "info", nowhere], {}),
                      (["index", "build", "--out", nowhere, str(CORPUS)], {})):
        r = cli(*args, env=env)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert r.stderr.startswith("licscan: error: cannot reach index postgresql://ci@/licscan")
        assert "sekrit" not in r.stderr and "Traceback" not in r.stderr


def test_password_in_uri_is_masked_and_warned(tmp_path: Path) -> None:
    (tmp_path / "a.c").write_text("int main(void) { return 0; }\n")
    uri = f"postgresql://ci:sekrit-2@/licscan?host={tmp_path}/no-server&connect_timeout=2"
    r = cli("scan", "--index", uri, str(tmp_path / "a.c"))
    assert r.returncode == 2
    assert "sekrit" not in r.stdout + r.stderr
    warn, err = r.stderr.strip().splitlines()
    assert "holds a password" in warn and "PGPASSWORD" in warn
    assert err.startswith("licscan: error: cannot reach index postgresql://ci:***@/licscan")
    assert shown("postgres://u:p%40ss@h:5/db?password=x&sslmode=require") == \
        "postgres://u:***@h:5/db?password=%2A%2A%2A&sslmode=require"


def test_database_without_an_index(pg_server) -> None:  # type: ignore[no-untyped-def]
    uri = pg_server.createdb("empty")
    with pytest.raises(LicscanError, match="no licscan index in"):
        open_store(uri)


def test_generations_switch_atomically(pg_server, core_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    uri = loaded(pg_server.createdb("gens"), core_index)
    runner = open_store(uri)  # a runner that opened generation 1
    loaded(uri, core_index)
    assert open_store(uri).stats()["generation"] == 2
    assert runner.stats()["generation"] == 1 and runner.stats()["files"] > 0  # still on its generation

    monkeypatch.setattr(pgload, "packed_postings", _interrupting(pgload.packed_postings))
    with pytest.raises(KeyboardInterrupt):
        loaded(uri, core_index)
    monkeypatch.undo()
    now = open_store(uri)
    assert now.stats()["generation"] == 2 and _findings(uri) == _findings(core_index)
    schemas = {s for (s,) in now.db.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'licscan_g%'")}
    assert schemas == {"licscan_g1", "licscan_g2"}  # nothing of the interrupted one is left
    loaded(uri, core_index)  # generation 3: 2 stays for runners on it, 1 is dropped
    gens = [g for (g,) in now.db.execute("SELECT gen FROM licscan.generations ORDER BY gen")]
    assert gens == [2, 3]


def _interrupting(real):  # type: ignore[no-untyped-def]
    def packed(db):  # type: ignore[no-untyped-def]
        for i, row in enumerate(real(db)):
            if i == 5:
                raise KeyboardInterrupt  # Ctrl-C mid-COPY
            yield row
    return packed


def test_read_only_role(pg_server, core_index: Path) -> None:  # type: ignore[no-untyped-def]
    import psycopg

    uri = pg_server.createdb("roles")
    with psycopg.connect(uri, autocommit=True) as c:
        c.execute("DROP ROLE IF EXISTS ro_reader")
        c.execute("CREATE ROLE ro_reader LOGIN")
        c.execute("CREATE SCHEMA licscan")
        c.execute("GRANT USAGE ON SCHEMA licscan TO ro_reader")
    loaded(uri, core_index)
    reader = pg_server.uri("roles", user="ro_reader")
    assert _findings(reader) == _findings(core_index)
    with psycopg.connect(reader, autocommit=True) as c, pytest.raises(psycopg.errors.InsufficientPrivilege):
        c.execute("DELETE FROM licscan_g1.fp")


DOC = Path(__file__).resolve().parents[1] / "docs" / "integrations.md"


def team_workflow() -> dict:
    """The GitHub Actions workflow of the team-setup section of docs/integrations.md."""
    import re

    import yaml

    section = DOC.read_text().split("\n## Team setup", 1)[1].split("\n## ", 1)[0]
    # The workflow, not the other YAML of the section (a Dask config file).
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", section, re.S) if "\njobs:" in b or b.startswith("jobs:")]
    return {"text": block, "doc": yaml.safe_load(block)}


def test_team_workflow_fails_closed_as_documented(tmp_path: Path) -> None:
    """The documented scan step, run as written, against a database that is not there: exit 2,
    one line, and the job fails (bash -e, as the runners run steps)."""
    from conftest import git

    (step,) = [s for s in team_workflow()["doc"]["jobs"]["licscan"]["steps"] if "LICSCAN_INDEX" in s.get("env", {})]
    git(tmp_path, "init", "-q")
    env = {**step["env"], "LICSCAN_INDEX": f"postgresql://licscan_reader@/licscan?host={tmp_path}/none",
           "PGPASSWORD": "sekrit-3", "PGCONNECT_TIMEOUT": "2"}
    cmd = step["run"].replace("${{ github.base_ref }}", "main")
    base = {k: v for k, v in os.environ.items() if not k.startswith("LICSCAN_")}
    bindir = Path(sys.executable).parent
    r = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", cmd], cwd=tmp_path,
                       env={**base, **env, "PATH": f"{bindir}{os.pathsep}{base.get('PATH', '')}"},
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "cannot reach index" in r.stderr
    assert "sekrit" not in r.stderr + r.stdout


def test_team_workflow_passes_actionlint(tmp_path: Path) -> None:
    from test_conventions import PINNED_SHA, _explain, lint

    wf = team_workflow()["text"].replace("<owner>", "licscan").replace("<commit sha>", PINNED_SHA)
    errors = lint(tmp_path, wf, name="licscan.yml")
    assert errors == [], _explain(errors, wf)


def test_mcp_server_and_api_on_a_shared_index(pg_core: str, core_index: Path, tmp_path: Path) -> None:
    """Long-lived processes (the MCP server) hold a connection pool; the Python API takes a URI too."""
    import licscan
    from licscan.integrations.mcp import Server

    src = (CORPUS / "go" / "lrucache.go").read_text()
    server = Server(pg_core)
    try:
        assert type(server.index.db).__name__ == "ConnectionPool"
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "check_code", "arguments": {"code": src, "language": "go"}}}
        (f,) = server.handle(call)["result"]["structuredContent"]["findings"]
        assert f["source"]["path"] == "corpus/go/lrucache.go"
    finally:
        server.index.close()
    on_pg = licscan.scan_text(src, "go", index=pg_core)
    assert [x.to_dict() for x in on_pg] == [x.to_dict() for x in licscan.scan_text(src, "go", index=str(core_index))]


def test_uri_in_the_config_file(pg_core: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`index = "postgresql://..."` in .licscan.toml is a URI, not a path relative to the file."""
    from licscan.config import configured_index
    from licscan.policy.gate import load_policy

    proj = tmp_path / "proj"
    (proj / ".git").mkdir(parents=True)
    (proj / ".licscan.toml").write_text(f'index = "{pg_core}"\n')
    monkeypatch.delenv("LICSCAN_INDEX", raising=False)
    assert configured_index(proj) == pg_core
    assert load_policy(proj / ".licscan.toml").index == pg_core
    (proj / "lru.go").write_text((CORPUS / "go" / "lrucache.go").read_text())
    r = cli("scan", "--format", "json", "lru.go", cwd=proj)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["findings"][0]["source"]["path"] == "corpus/go/lrucache.go"


def test_demo_on_a_shared_index(pg_core: str, tmp_path: Path) -> None:
    """`LICSCAN_INDEX=postgresql://...` (the team setup) serves `licscan demo` too: the leak is
    made from and caught on the shared index, and nothing is built into a file named like it."""
    r = cli("demo", "--out", str(tmp_path / "demo"), env={"LICSCAN_INDEX": pg_core}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "licscan demo: an assistant-style leak" in r.stdout and "1 finding(s)" in r.stdout
    assert f"scan --index {shown(pg_core)}" in r.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_demo_on_an_unreachable_database_fails_closed(tmp_path: Path) -> None:
    r = cli("demo", "--index", f"postgresql://nobody@/licscan?host={tmp_path}", cwd=tmp_path)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "licscan: error:" in r.stderr
    assert list(tmp_path.iterdir()) == []
