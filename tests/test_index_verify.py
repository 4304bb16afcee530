"""A tampered, emptied or unverifiable index fails the gate (exit 2, one line), never passes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from licscan.engine import verify
from licscan.engine.index import SCHEMA_VERSION, decode_ints, open_index, verify_index
from licscan.model import LicscanError

from conftest import FIXTURES

LEAK = FIXTURES / "langs" / "corpus" / "c" / "rlepack.c"


def run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "LICSCAN_DEBUG"}
    return subprocess.run([sys.executable, "-m", "licscan", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def tampered(core_index: Path, tmp_path: Path, *sql: str, args: tuple = ()) -> Path:
    """A copy of the fixture index with ``sql`` applied."""
    p = tmp_path / "tampered.lsi"
    p.write_bytes(core_index.read_bytes())
    with sqlite3.connect(p) as db:
        for stmt in sql:
            db.execute(stmt, args if "?" in stmt else ())
    return p


def set_params(core_index: Path, tmp_path: Path, **change: object) -> Path:
    params = json.loads(sqlite3.connect(core_index).execute(
        "SELECT value FROM meta WHERE key = 'params'").fetchone()[0])
    params.update(change)
    params = {k: v for k, v in params.items() if v is not None}
    return tampered(core_index, tmp_path, "UPDATE meta SET value = ? WHERE key = 'params'",
                    args=(json.dumps(params),))


def assert_refused(index: Path, *words: str) -> str:
    """``scan`` of a verbatim leak exits 2 with one line holding ``words``."""
    r = run("scan", "--index", str(index), str(LEAK))
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_untouched_index_scans_and_verifies(core_index: Path) -> None:
    assert run("scan", "--index", str(core_index), str(LEAK)).returncode == 1
    r = run("index", "verify", str(core_index))
    assert r.returncode == 0, r.stderr
    for table in ("meta", "vocab", "files", "fp", "checksums"):
        assert f"\n{table}: " in "\n" + r.stdout
    assert "intact" in r.stdout


@pytest.mark.parametrize("sql, words", [
    ("DELETE FROM fp", ("table fp",)),
    ("DELETE FROM vocab", ("table vocab",)),
    ("DELETE FROM files WHERE id = 3", ("table files",)),
    ("DROP TABLE fp", ("table fp is missing",)),
    ("DROP TABLE common_names", ("table common_names is missing",)),
    ("DROP TABLE checksums", ("table checksums is missing",)),
    ("ALTER TABLE files DROP COLUMN names", ("table files lacks column names",)),
    ("DELETE FROM checksums WHERE tbl = 'fp'", ("table checksums",)),
    ("UPDATE files SET tokens = X'00010203' WHERE id = 0", ("files.tokens of file 0",)),
    ("UPDATE files SET names = hex(names) WHERE id = 2", ("files.names of file 2", "not a blob")),
    ("UPDATE files SET lines = zeroblob(8) WHERE id = 1", ("files.lines of file 1",)),
    ("UPDATE vocab SET token = 'x' WHERE id = 5", ("table vocab", "checksum")),
    ("UPDATE fp SET p = p + 100000 WHERE h = (SELECT max(h) FROM fp)", ("table fp",)),
    ("INSERT INTO fp VALUES (1, 0, 0)", ("table fp",)),
    ("UPDATE meta SET value = '{\"c\": \"x\"}' WHERE key = 'grammar_signatures'", ("table meta",)),
    ("UPDATE meta SET value = 'not json' WHERE key = 'roots'", ("corrupt",)),
    ("DELETE FROM meta WHERE key = 'integrity'", ("no integrity record",)),
])
def test_tampered_index_is_refused(core_index: Path, tmp_path: Path, sql: str, words: tuple[str, ...]) -> None:
    p = tampered(core_index, tmp_path, sql)
    assert_refused(p, "is corrupt", *words)
    r = run("index", "verify", str(p))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "internal error" not in r.stderr


@pytest.mark.parametrize("change, words", [
    ({"k": 0}, ("build parameter k = 0 is out of range",)),
    ({"w": -3}, ("build parameter w",)),
    ({"k": None}, ("build parameter k is missing",)),
    ({"literal_min_chars": None}, ("build parameter literal_min_chars is missing",)),
    ({"k": "12"}, ("build parameter k is \"12\", not an integer",)),
    ({"k": True}, ("build parameter k",)),
    ({"family_threshold": 2.0}, ("family_threshold",)),
    ({"k": 11}, ("table meta does not match its checksum",)),  # in range, and still not what was built
])
def test_bad_params_are_refused(core_index: Path, tmp_path: Path, change: dict, words: tuple[str, ...]) -> None:
    assert_refused(set_params(core_index, tmp_path, **change), *words)


def test_params_table_covers_every_build_parameter() -> None:
    from licscan.engine.prepare import BuildParams

    assert set(verify.PARAMS) == {f.name for f in fields(BuildParams)}


def _fine_chunks(core_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the fixture index sealed with ~2 postings a chunk: the small fixture's
    ``fp`` then spans many chunks, with unrecorded ranges between them."""
    from licscan.engine import digests

    tmp_path.mkdir(exist_ok=True)
    p = tmp_path / "chunked.lsi"
    p.write_bytes(core_index.read_bytes())
    monkeypatch.setattr(digests, "TARGET_ROWS", 2)
    with sqlite3.connect(p) as db:
        verify.seal(db)
    return p


def _shift(db: sqlite3.Connection, table: str) -> int:
    """The chunk shift the index's integrity record gives ``table``."""
    return json.loads(db.execute("SELECT value FROM meta WHERE key = 'integrity'").fetchone()[0])[
        "tables"][table]["shift"]


def test_changed_row_in_a_big_table_is_found_by_verify_and_by_a_sample_that_hits_it(
        core_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _fine_chunks(core_index, tmp_path, monkeypatch)
    with sqlite3.connect(p) as db:
        n = db.execute("SELECT count(*) FROM checksums WHERE tbl = 'fp'").fetchone()[0]
        assert n > 20  # chunks are key ranges: the fixture's fp table spans many
        mid = n // 2
        chunk = verify._nth_chunks(db, "fp", [mid], n)[0][0]  # what a sample of ordinal mid opens
        k = verify._ordinal(db, "fp", chunk)
        first = db.execute("SELECT h, f, p FROM fp WHERE h >= ? ORDER BY h, f, p LIMIT 1",
                           (chunk << _shift(db, "fp"),)).fetchone()
    open_index(p).close()
    with sqlite3.connect(p) as db:
        db.execute("UPDATE fp SET p = p + 100000 WHERE h = ? AND f = ? AND p = ?", first)
    with pytest.raises(LicscanError, match=f"table fp does not match its checksum \\(chunk {k + 1} of {n}\\)"):
        list(verify_index(p))
    # Open checks the first and last chunks and a random sample: a sample that misses
    # the edited chunk passes, one that hits it refuses the index.
    monkeypatch.setattr(verify, "_pick", lambda n, k: {i for i in (1, 2) if i < n})
    open_index(p).close()
    monkeypatch.setattr(verify, "_pick", lambda n, k: {i for i in (1, mid) if i < n})
    with pytest.raises(LicscanError, match="table fp does not match its checksum"):
        open_index(p)
    r = run("index", "verify", str(p))
    assert r.returncode == 2 and "table fp" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_blob_that_does_not_decode_on_read_is_a_one_line_error(
        core_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the open-time sample missed it, the read path still refuses it."""
    from licscan.engine.matcher import Matcher

    p = tampered(core_index, tmp_path, "UPDATE files SET tokens = hex(tokens)")
    monkeypatch.setattr(verify, "check_open", lambda *a, **k: None)
    with pytest.raises(LicscanError, match="corrupt: files.tokens of file .*not a blob"):
        Matcher(open_index(p)).scan_text(LEAK.read_text(), "c")
    for bad in (b"\x00\x01", "text", None, b"x\x9c" + b"\x00" * 8):
        with pytest.raises(LicscanError, match="is corrupt"):
            decode_ints(bad, "H", "files.tokens of file 0", p)  # type: ignore[arg-type]


def test_empty_directory_is_not_indexed(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_bytes(b"\x00\x01binary")
    out = tmp_path / "empty.lsi"
    r = run("index", "build", "--out", str(out), str(empty))
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "nothing to index" in r.stderr, r.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert run("scan", "--index", str(out), str(LEAK)).returncode == 2


def test_index_of_no_files_is_refused_by_scan(core_index: Path, tmp_path: Path) -> None:
    p = tampered(core_index, tmp_path, "DELETE FROM files", "DELETE FROM fp", "DELETE FROM vocab")
    with sqlite3.connect(p) as db:
        verify.seal(db)  # as if it had been built so: consistent, and empty
    assert_refused(p, "holds no files; build it from a corpus")


def test_old_indexes_are_refused_with_rebuild(core_index: Path, tmp_path: Path) -> None:
    # Schema 4 had no checksums: a gate must not trust an index it cannot verify.
    assert SCHEMA_VERSION > 4
    p = tampered(core_index, tmp_path, "UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    assert_refused(p, "schema version 4", "rebuild")
    r = run("index", "verify", str(p))
    assert r.returncode == 2 and "rebuild" in r.stderr


def test_rows_added_moved_or_swapped_between_chunks_are_found(core_index: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks are key ranges with order-free digests: a row in a range no chunk records, a
    posting moved from ``fp`` to ``capped``, and two rows' values swapped are all found."""
    core_index = _fine_chunks(core_index, tmp_path / "fine", monkeypatch)
    with sqlite3.connect(core_index) as db:
        shift = _shift(db, "fp")
        chunks = [c for (c,) in db.execute("SELECT chunk FROM checksums WHERE tbl = 'fp' ORDER BY chunk")]
        gap = next(c + 1 for c, d in zip(chunks, chunks[1:]) if d > c + 1)
        (h, f, p), (h2, f2, p2) = db.execute("SELECT h, f, p FROM fp ORDER BY h LIMIT 2").fetchall()
    for sql in (f"INSERT INTO fp VALUES ({gap << shift}, 0, 0)",
                f"DELETE FROM fp WHERE h = {h} AND f = {f} AND p = {p}",
                f"UPDATE fp SET p = {p2} WHERE h = {h} AND f = {f} AND p = {p}"):
        p_ = tampered(core_index, tmp_path, sql, *([f"INSERT INTO capped VALUES ({h}, {f}, {p})"]
                                                   if sql.startswith("DELETE") else []))
        with pytest.raises(LicscanError, match="table fp"):
            list(verify_index(p_))
    # and a chunk's digest edited to match nothing is a checksums mismatch
    p_ = tampered(core_index, tmp_path, "UPDATE checksums SET digest = zeroblob(16) WHERE tbl = 'fp' "
                  "AND chunk = (SELECT min(chunk) FROM checksums WHERE tbl = 'fp')")
    with pytest.raises(LicscanError, match="table checksums does not match table fp"):
        list(verify_index(p_))


def test_integer_row_digests_in_python_equal_numpys() -> None:
    """A scan's open-time check digests in pure Python, a build with numpy: the same lanes."""
    import numpy as np

    from licscan.engine import digests

    rows = [(0, 0, 0), (1, 2, 3), ((1 << 31) - 1, 123456, 7), (-5, 1 << 40, -(1 << 63)), ((1 << 63) - 1, 9, 9)]
    got = digests.int_digests(np.array(rows, np.int64))
    assert [tuple(map(int, r)) for r in got] == [digests.int_row_digest(r) for r in rows]
    assert len({digests.int_row_digest(r) for r in rows}) == len(rows)
    table = "fp"
    big = [(h * 7919 % (1 << 31), h % 97, h % 13) for h in range(digests.NUMPY_ROWS + 1)]
    shift = digests.shift_for(table, len(big))
    assert digests.chunk_sums(table, big, shift) == digests.array_sums(np.array(big, np.int64), shift)
    small = big[:300]
    via_numpy = digests.array_sums(np.array(small, np.int64), shift)
    pure = {}
    for r in small:
        digests.merge(pure, {r[0] >> shift: [1, *digests.int_row_digest(r)]})
    assert pure == via_numpy
