"""Compaction of the statistics store's loose results into segments (stats/store.py): the views
read every data file's rows exactly once before, during and after it, a compaction killed at
any step (a real SIGKILL) loses and doubles nothing, writers never wait for it, and a segment
that does not read is quarantined without losing a row."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from gmpsai_assets.stats import store
from gmpsai_assets.stats.compute import param_stats
from gmpsai_assets.window import Window

DAY = 86_400.0
START = 1_583_816_400.0
DEVICES = ("B:VIMIN", "B:IMINER", "I:IB")


def _window(i: int) -> Window:
    return Window(START + i * DAY, START + (i + 1) * DAY)


def _record(i: int, created: float = 0.0, status: str = "ok") -> store.FileRecord:
    w = _window(i)
    name = f"MLParamData_{1_600_000_000 + i}_From_MLrn_day{i:04d}.h5"
    created = created or 1_600_000_000.0 + i
    return store.FileRecord(
        name=name, path=f"/data/params/{name}", kind="params", format="gmpsai-params/3",
        generation="new", node="MLrn", window_start_utc=w.start, window_end_utc=w.end,
        created_utc=created, bytes=10, mtime_utc=created, sha256="ab", status=status, error="",
        distilled_utc=created + 1, seconds=0.1)


def _stats(i: int, level: float) -> list:
    w = _window(i)
    t = w.start + np.arange(40) * 600.0
    return [param_stats(d, t, np.full(40, level + k), w) for k, d in enumerate(DEVICES)]


def _distil(db: Path, i: int, level: float = 1.0, status: str = "ok") -> store.FileRecord:
    rec = _record(i, status=status)
    store.replace_file(db, rec, _stats(i, level) if status == "ok" else [])
    return rec


QUERIES = {
    "data_files": "SELECT name, status, error FROM data_files ORDER BY name",
    "param_stats": "SELECT file_name, device, mode, rows FROM param_stats ORDER BY 1, 2",
    "current": "SELECT window_start_utc, device, mode FROM param_stats_current ORDER BY 1, 2",
    "old": "SELECT epochUTCsec, paramname, statname, statval FROM ACNETparameterStats "
           "ORDER BY 1, 2, 3",
    "events": "SELECT count(*) FROM event_stats",
}


def views(db: Path) -> dict[str, list]:
    """What every view shows; fails when a data file is read twice (duplicate keys)."""
    with store.reader(db) as con:
        got = {name: con.execute(sql).fetchall() for name, sql in QUERIES.items()}
        assert con.execute("SELECT count(*) - count(DISTINCT name) FROM data_files"
                           ).fetchone()[0] == 0
        assert con.execute("SELECT count(*) - count(DISTINCT (file_name, device)) "
                           "FROM param_stats").fetchone()[0] == 0
    return got


def loose(db: Path, table: str = "data_files") -> list[str]:
    return sorted(p.stem for p in (store.results_dir(db) / table).glob("*.parquet")
                  if p.name != store.EMPTY)


def segments(db: Path, table: str) -> list[Path]:
    return sorted((store.results_dir(db) / store.COMPACTED / table).glob("seg-*.parquet"))


def _mixed_store(db: Path) -> None:
    """A segment of three files, then loose results over it: one distilled again with other
    numbers, one failed now, one left as the segment has it, and a new file."""
    for i in range(3):
        _distil(db, i)
    assert store.compact(db) is not None
    _distil(db, 0, level=7.0)
    _distil(db, 1, status="failed")
    _distil(db, 3, level=3.0)


def test_compaction_moves_loose_results_and_every_view_reads_the_same(tmp_path: Path) -> None:
    db = tmp_path / "gmpsai.duckdb"
    _mixed_store(db)
    before = views(db)
    assert len(loose(db)) == 3 and len(segments(db, "param_stats")) == 1
    done = store.compact(db)
    assert done is not None and done.moved == {"data_files": 3, "param_stats": 3,
                                               "event_stats": 3}
    assert views(db) == before
    assert loose(db) == [] and len(segments(db, "param_stats")) == 1
    got = dict(((f, d), m) for f, d, m, _ in before["param_stats"])
    assert got[(_record(0).name, "B:VIMIN")] == 7.0  # the newer distillation, not the segment's
    assert not any(f == _record(1).name for f, *_ in before["param_stats"])  # failed: none
    status = {n: s for n, s, _ in before["data_files"]}
    assert status[_record(1).name] == "failed" and status[_record(2).name] == "ok"
    # distilled again after compaction: the loose result wins over the segment's rows
    _distil(db, 3, level=9.0)
    with store.reader(db) as con:
        assert con.execute("SELECT mode FROM param_stats WHERE file_name = ? AND device = ?",
                           [_record(3).name, "B:VIMIN"]).fetchall() == [(9.0,)]
    assert store.compact(db) is not None and loose(db) == []
    with store.reader(db) as con:
        assert con.execute("SELECT mode FROM param_stats WHERE file_name = ? AND device = ?",
                           [_record(3).name, "B:VIMIN"]).fetchall() == [(9.0,)]


def test_writers_compact_as_they_go_and_a_busy_lock_never_stops_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "gmpsai.duckdb"
    monkeypatch.setattr(store, "COMPACT_AFTER", 3)
    for i in range(7):
        _distil(db, i)
    assert len(loose(db)) < 3 and len(segments(db, "data_files")) == 1
    assert len(views(db)["data_files"]) == 7
    # another process compacting: a writer does not wait, its result stays loose
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import fcntl, os, sys, time
        fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        print("held", flush=True)
        time.sleep(60)
    """), str(store.results_dir(db) / store.COMPACTED / ".lock")], stdout=subprocess.PIPE,
        text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert store.compact(db) is None
        for i in range(7, 10):
            _distil(db, i)
        assert len(loose(db)) >= 3
    finally:
        holder.kill()
        holder.wait()
    assert store.compact(db) is not None and loose(db) == []
    assert len(views(db)["data_files"]) == 10


def test_a_result_replaced_while_it_is_compacted_stays_and_wins(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer distils a file again between the compaction's read and its move: the newer
    result is put back as a loose result and overrides the segment's rows of the older."""
    db = tmp_path / "gmpsai.duckdb"
    for i in range(3):
        _distil(db, i)
    write_segment = store._write_segment

    def meanwhile(results, table, target, manifest):
        tmp = write_segment(results, table, target, manifest)
        if table == "param_stats":
            _distil(db, 1, level=5.0)
        return tmp

    monkeypatch.setattr(store, "_write_segment", meanwhile)
    store.compact(db)
    monkeypatch.undo()
    assert loose(db, "param_stats") == [store._result_path(
        store.results_dir(db), "param_stats", _record(1).name).stem]
    with store.reader(db) as con:
        assert con.execute("SELECT mode FROM param_stats WHERE file_name = ? AND device = ?",
                           [_record(1).name, "B:VIMIN"]).fetchone() == (5.0,)
    assert len(views(db)["param_stats"]) == 3 * len(DEVICES)


def test_a_newer_result_left_among_the_sources_by_a_killed_compaction_comes_back(
        tmp_path: Path) -> None:
    """The one moment a kill leaves a result out of sight: a compaction moved a result a writer
    had just replaced, and died before putting it back. The views show the previous
    distillation (never none, never both) until the next compaction puts it back."""
    db = tmp_path / "gmpsai.duckdb"
    for i in range(3):
        _distil(db, i)
    store.compact(db)
    _distil(db, 2, level=6.0)
    results = store.results_dir(db)
    for table in store.RESULTS:  # what the killed compaction's moves left
        src = store._result_path(results, table, _record(2).name)
        os.rename(src, results / store.COMPACTED / store.SOURCES / table / src.name)
    sql = "SELECT mode FROM param_stats WHERE file_name = ? AND device = 'B:VIMIN'"
    with store.reader(db) as con:
        assert con.execute(sql, [_record(2).name]).fetchall() == [(1.0,)]
    done = store.compact(db)
    assert done is not None and done.restored == 3
    with store.reader(db) as con:
        assert con.execute(sql, [_record(2).name]).fetchall() == [(6.0,)]
    assert store.compact(db).restored == 0 and loose(db) == []


def test_a_segment_that_does_not_read_is_quarantined_and_nothing_is_lost(
        tmp_path: Path) -> None:
    db = tmp_path / "gmpsai.duckdb"
    _mixed_store(db)
    store.compact(db)
    before = views(db)
    bad = segments(db, "param_stats")[-1]
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2])  # truncated: a lost write
    assert views(db) == before  # healed on read: its sources are loose results again
    entries = store.quarantined(db)
    assert [(e.table, e.resolved) for e in entries] == [("param_stats", True)]
    assert store.unresolved_quarantine(db) == []
    assert (entries[0].directory / "param_stats.parquet").read_bytes() == data[: len(data) // 2]
    assert len(loose(db, "param_stats")) == 4 and loose(db) == []
    assert store.compact(db) is not None and loose(db, "param_stats") == []
    assert views(db) == before


# ---- killed at every step ------------------------------------------------------------------

# Waits for a step number k on stdin, forks a child that compacts and SIGKILLs itself just
# before its k-th change to the file system (a rename, link, unlink or fsync), and answers
# `killed` or `done`. Forked from one process that never opened a DuckDB connection, so each
# child starts in microseconds instead of importing everything again.
_KILLER = textwrap.dedent("""
    import os, signal, sys
    from gmpsai_assets.stats import store
    db = sys.argv[1]
    for line in sys.stdin:
        k = int(line)
        pid = os.fork()
        if pid == 0:
            calls = [0]
            def dying(fn):
                def call(*args, **kwargs):
                    calls[0] += 1
                    if calls[0] == k:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return fn(*args, **kwargs)
                return call
            for name in ("rename", "replace", "link", "unlink", "remove", "fsync"):
                setattr(os, name, dying(getattr(os, name)))
            store.compact(db)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        print("killed" if killed else f"done {os.waitstatus_to_exitcode(status)}", flush=True)
""")


def _restore(pristine: Path, work: Path) -> None:
    """The store as it was, every result file the same inode (hard links: nothing is ever
    changed in place), the DuckDB file copied."""
    shutil.rmtree(work)
    shutil.copytree(pristine, work, copy_function=os.link)
    db = work / "gmpsai.duckdb"
    db.unlink()
    shutil.copy2(pristine / "gmpsai.duckdb", db)


def test_a_compaction_killed_at_any_step_loses_and_doubles_nothing(tmp_path: Path) -> None:
    work = tmp_path / "store"
    work.mkdir()
    db = work / "gmpsai.duckdb"
    _mixed_store(db)
    want = views(db)
    pristine = tmp_path / "pristine"
    shutil.copytree(work, pristine, copy_function=os.link)
    killer = subprocess.Popen([sys.executable, "-c", _KILLER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    steps = 0
    try:
        for k in range(1, 200):
            _restore(pristine, work)
            killer.stdin.write(f"{k}\n")
            killer.stdin.flush()
            answer = killer.stdout.readline().strip()
            if answer != "killed":
                assert answer == "done 0"
                break
            steps = k
            assert views(db) == want, f"killed before change {k}"
            assert store.compact(db, wait=True) is not None  # the next one finishes the work
            assert views(db) == want, f"compacted after a kill before change {k}"
            assert loose(db) == [] and all(len(segments(db, t)) == 1 for t in store.RESULTS)
    finally:
        killer.stdin.close()
        killer.wait(timeout=60)
    assert steps > 15  # every rename, link, unlink and fsync of a compaction was a kill point
    assert views(db) == want and loose(db) == []


# ---- many writers and compactions at once ----------------------------------------------------

_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from gmpsai_assets.stats import store
    from gmpsai_assets_tests.test_stats_compaction import _distil
    store.COMPACT_AFTER = 2  # every writer compacts, or finds another compacting
    db, go, first, n = Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    while not go.exists():
        time.sleep(0.01)
    for i in range(first, first + n):
        _distil(db, i)
        _distil(db, i, level=2.0)  # and again: a replaced result, maybe mid-compaction
    print("done", flush=True)
""")


def test_writers_and_compactions_at_once_keep_every_row_once(tmp_path: Path) -> None:
    db, go = tmp_path / "stats" / "gmpsai.duckdb", tmp_path / "go"
    root = str(Path(__file__).resolve().parents[1])
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, root, str(db), str(go),
                               str(6 * k), "6"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for k in range(3)]
    time.sleep(0.5)
    go.touch()
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert out.strip() == "done"
    store.compact(db, wait=True)
    got = views(db)
    assert len(got["data_files"]) == 18
    assert sorted(set(m for _, _, m, _ in got["param_stats"])) == [2.0, 3.0, 4.0]
    assert len(got["param_stats"]) == 18 * len(DEVICES) and loose(db) == []
