"""A statistics store that a crash cannot blind: a result file that does not read (truncated,
zeroed, corrupted, from a crash or a full disk) is quarantined with a record and every view
keeps reading; a writer killed mid-write leaves nothing a view reads; housekeeping removes the
temporaries of dead writers and never a live writer's."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from gmpsai_assets.publish.load import read_store
from gmpsai_assets.publish.rich import site_document, split_document
from gmpsai_assets.stats import store
from gmpsai_assets.stats.compute import event_stats, param_stats
from gmpsai_assets.window import Window
from gmpsai_assets_tests.chromium import needs_chromium

DAY_S = 86_400.0
START = 1_583_816_400.0
FILES = 5


def _window(i: int) -> Window:
    return Window(START + i * DAY_S, START + (i + 1) * DAY_S)


def _record(i: int) -> store.FileRecord:
    w = _window(i)
    name = f"MLParamData_{1_600_000_000 + i}.0_From_MLrn_{i}.h5"
    return store.FileRecord(
        name=name, path=f"/data/params/{name}", kind="params", format="gmpsai-params/2",
        generation="new", node="MLrn", window_start_utc=w.start, window_end_utc=w.end,
        created_utc=1_600_000_000.0 + i, bytes=10, mtime_utc=0.0, sha256="ab", status="ok",
        error="", distilled_utc=1_600_000_100.0 + i, seconds=0.1)


def _distil(db: Path, i: int) -> None:
    w = _window(i)
    t = w.start + np.arange(60) / 15.0
    params = [param_stats(d, t, np.full(60, 10.0 * i + k), w)
              for k, d in enumerate(("B:VIMIN", "B:IMINER"))]
    events = [event_stats("$0C", t, 0x0C)]
    store.replace_file(db, _record(i), params, events)


def _views(con: store.StoreConnection) -> list[str]:
    """Every view the store defines (whatever `_views` holds, the legacy one included)."""
    return [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW' "
        "ORDER BY 1").fetchall()]


def _read_everything(db: Path) -> dict[str, list[tuple]]:
    """Every row of every view, each read through a reader."""
    with store.reader(db) as con:
        views = _views(con)
        assert {"data_files", "param_stats", "event_stats", "param_stats_current",
                "event_stats_current", "ACNETparameterStats"} <= set(views)
        return {v: con.execute(f"SELECT * FROM {v} ORDER BY ALL").fetchall() for v in views}


def _of_file(rows: dict[str, list[tuple]], name: str) -> dict[str, list[tuple]]:
    """Everything the views hold of one data file (the legacy view keyed by its window)."""
    i = int(name.rsplit("_", 1)[1].split(".")[0])
    return {
        "data_files": [r for r in rows["data_files"] if r[0] == name],
        "param_stats_current": [r for r in rows["param_stats_current"] if name in r],
        "event_stats_current": [r for r in rows["event_stats_current"] if name in r],
        "ACNETparameterStats": [r for r in rows["ACNETparameterStats"]
                                if r[0] == _window(i).start],
    }


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "gmpsai.duckdb"
    for i in range(FILES):
        _distil(path, i)
    return path


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _zero(path: Path) -> None:
    path.write_bytes(b"")


def _corrupt_footer(path: Path) -> None:
    """Change every byte of the footer (its length and the magic stay): DuckDB's error then
    names no file, so the store has to find it."""
    data = bytearray(path.read_bytes())
    length = int.from_bytes(data[-8:-4], "little")
    for k in range(len(data) - 8 - length, len(data) - 8):
        data[k] ^= 0x55
    path.write_bytes(bytes(data))


# (damage, result table damaged, data file): one of each, on different files and tables
DAMAGE = {
    "truncated": (_truncate, "param_stats", 1),
    "zeroed": (_zero, "data_files", 2),
    "corrupted": (_corrupt_footer, "event_stats", 3),
}


@pytest.mark.parametrize("cases", [[c] for c in DAMAGE] + [list(DAMAGE)],
                         ids=[*DAMAGE, "all-three"])
def test_a_result_that_does_not_read_is_quarantined_and_every_view_reads(
        db: Path, cases: list[str]) -> None:
    before = _read_everything(db)
    results = store.results_dir(db)
    damaged = {}
    for case in cases:
        damage, table, i = DAMAGE[case]
        path = store._result_path(results, table, _record(i).name)
        damage(path)
        damaged[_record(i).name] = (table, path)

    _read_everything(db)  # every view reads (healing as it meets a bad file) ...
    after = _read_everything(db)  # ... and a reader after it sees the files' state as it is

    entries = {q.name: q for q in store.unresolved_quarantine(db)}
    assert set(entries) == set(damaged)  # each data file is named, even the zeroed record's
    for name, (table, path) in damaged.items():
        q = entries[name]
        assert not path.exists() and q.table == table
        # the data file's results went aside together, the bad one as it was found
        assert sorted(f.name for f in q.directory.glob("*.parquet")) == [
            "data_files.parquet", "event_stats.parquet", "param_stats.parquet"]
        why = json.loads((q.directory / "quarantine.json").read_text())
        assert why["table"] == table and why["name"] == name and why["problem"] == q.problem
        assert q.directory.parent == results / store.QUARANTINE
        # ... and it reads as never distilled: no record, no statistics in any view
        assert not any(_of_file(after, name).values())
        assert name in q.line() and "distil it again" in q.line()
    for i in range(FILES):  # no ok file lost anything
        name = _record(i).name
        if name not in damaged:
            assert _of_file(after, name) == _of_file(before, name)
            assert len(_of_file(after, name)["param_stats_current"]) == 2
    # reported on the page: one line in its data
    snapshot = read_store(db)
    n = len(damaged)
    assert snapshot.problems == [store.quarantine_summary(list(entries.values()))]
    assert snapshot.problems[0].startswith(
        f"{n} result file{'' if n == 1 else 's'} quarantined: ")
    overview, _ = split_document(site_document(snapshot.days, snapshot.devices, 0.0,
                                               problems=snapshot.problems))
    assert overview["problems"] == snapshot.problems

    # recovery: distilling the files again brings them back and clears the report
    for name in damaged:
        _distil(db, int(name.rsplit("_", 1)[1].split(".")[0]))
    assert _read_everything(db) == before
    assert store.unresolved_quarantine(db) == [] and read_store(db).problems == []
    assert all(q.resolved for q in store.quarantined(db))


def test_a_bad_empty_result_is_written_again(db: Path) -> None:
    before = _read_everything(db)
    empty = store.results_dir(db) / "param_stats" / store.EMPTY
    _zero(empty)
    assert _read_everything(db) == before
    assert store._shape_problem(empty) is None and store.quarantined(db) == []


def test_writers_heal_too(db: Path) -> None:
    """A writer reads the records (to supersede), a new writer creates the views: neither is
    blinded by a bad result."""
    results = store.results_dir(db)
    _zero(store._result_path(results, "data_files", _record(1).name))
    _distil(db, FILES)  # reads every record: heals
    assert [q.name for q in store.quarantined(db)] == [_record(1).name]
    _truncate(store._result_path(results, "data_files", _record(2).name))
    with store.writer(db) as con:  # the views are bound anew: heals
        assert con.execute("SELECT count(*) FROM data_files").fetchone()[0] == FILES - 1
    assert sorted(q.name for q in store.quarantined(db)) == sorted(
        _record(i).name for i in (1, 2))


def test_an_error_no_result_file_explains_is_raised_as_it_was(db: Path) -> None:
    import duckdb

    with store.reader(db) as con, pytest.raises(duckdb.InvalidInputException, match="nope"):
        con.execute("SELECT error('nope')")
    assert store.quarantined(db) == []


_READER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from gmpsai_assets.stats import store
    db, go = sys.argv[1], Path(sys.argv[2])
    while not go.exists():
        time.sleep(0.01)
    with store.reader(db) as con:
        print(con.execute("SELECT count(*) FROM param_stats_current").fetchone()[0])
""")


def test_readers_that_find_one_bad_file_at_once_move_it_into_one_entry(
        db: Path, tmp_path: Path) -> None:
    _zero(store._result_path(store.results_dir(db), "param_stats", _record(1).name))
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _READER, str(db), str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    go.touch()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip() == str(2 * (FILES - 1))
    entries = store.quarantined(db)
    assert len(entries) == 1 and entries[0].name == _record(1).name


_LOOP_WRITER = textwrap.dedent("""
    import sys
    import numpy as np
    from gmpsai_assets.stats import store
    from gmpsai_assets.stats.compute import event_stats, param_stats
    from gmpsai_assets.window import Window
    db = sys.argv[1]
    for i in range(10_000):
        w = Window(1e9 + i * 86400.0, 1e9 + (i + 1) * 86400.0)
        t = w.start + np.arange(30) / 15.0
        rec = store.FileRecord(f"w-{i}.h5", f"/x/w-{i}.h5", "params", "f", "new", "MLrn",
                               w.start, w.end, float(i), 1, 0.0, None, "ok", "", 0.0, 0.0)
        store.replace_file(db, rec, [param_stats("B:VIMIN", t, np.full(30, float(i)), w)],
                           [event_stats("$0C", t, 12)])
        print(i, flush=True)
""")


def test_a_writer_killed_mid_write_blinds_nothing(db: Path) -> None:
    """kill -9 at a random moment of a writer writing many results: every view reads, every
    record has its statistics, nothing is quarantined (a result is renamed whole), and the
    temporaries it may have left go with housekeeping once old enough."""
    before = _read_everything(db)
    child = subprocess.Popen([sys.executable, "-c", _LOOP_WRITER, str(db)],
                             stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(random.randint(2, 12)):  # a random number of results in ...
            assert child.stdout.readline()
        time.sleep(random.uniform(0.0, 0.1))  # ... and a random moment of the next one
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    after = _read_everything(db)
    for i in range(FILES):
        assert _of_file(after, _record(i).name) == _of_file(before, _record(i).name)
    written = [r[0] for r in after["data_files"] if r[0].startswith("w-")]
    assert len(written) >= 2
    with store.reader(db) as con:  # no record without its statistics
        for name in written:
            assert con.execute("SELECT count(*) FROM param_stats_current WHERE file_name = ?",
                               [name]).fetchone()[0] == 1
            assert con.execute("SELECT count(*) FROM event_stats_current WHERE file_name = ?",
                               [name]).fetchone()[0] == 1
    assert store.quarantined(db) == []
    temps = list(store.results_dir(db).rglob(f".*{store.TEMP_SUFFIX}"))
    assert store.remove_stale_temp_files(db) == []  # too young: could be a live writer's
    later = max([p.stat().st_mtime for p in temps], default=0.0) + store.TEMP_STALE_S + 1
    assert sorted(store.remove_stale_temp_files(db, now=later)) == sorted(temps)
    assert not list(store.results_dir(db).rglob(f".*{store.TEMP_SUFFIX}"))


_HELD_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from gmpsai_assets.stats import store
    target = Path(sys.argv[1])
    tmp = store._write_hidden(target, "param_stats", [])
    print(tmp, flush=True)
    sys.stdin.readline()  # held mid-write until the test says so
    store._place_result(tmp, target)
    print("placed", flush=True)
""")


def test_housekeeping_removes_dead_writers_temporaries_never_a_live_ones(data_dir: Path) -> None:
    from gmpsai_assets.defs.housekeeping import housekeeping_job
    from gmpsai_assets.defs.resources import HousekeepingResource, StatsResource, StorageResource
    from gmpsai_assets.settings import Settings

    db = Settings.from_env().stats_db_path
    _distil(db, 0)
    results = store.results_dir(db)
    targets = [results / "param_stats" / f"{name}.parquet" for name in ("dead", "live")]
    procs = [subprocess.Popen([sys.executable, "-c", _HELD_WRITER, str(t)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for t in targets]
    dead, live = procs
    try:
        dead_tmp, live_tmp = (Path(p.stdout.readline().strip()) for p in procs)
        os.kill(dead.pid, signal.SIGKILL)
        dead.wait()
        old = dead_tmp.stat().st_mtime - store.TEMP_STALE_S - 60  # its writer died long ago
        os.utime(dead_tmp, (old, old))
        storage = StorageResource()
        with dg.instance_for_test() as instance:
            assert housekeeping_job.execute_in_process(
                instance=instance, resources={"housekeeping": HousekeepingResource(),
                                              "storage": storage,
                                              "stats": StatsResource(storage=storage)}).success
        assert not dead_tmp.exists() and live_tmp.exists()
        out, _ = live.communicate("go\n", timeout=60)  # the live writer finishes its write
        assert live.returncode == 0 and out.strip() == "placed"
        assert targets[1].exists() and not targets[0].exists()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_a_bad_file_that_cannot_be_moved_aside_fails_in_one_line(db: Path) -> None:
    """Say a reader may not write beside the results: the query fails naming the file and
    what to do, and nothing is moved."""
    results = store.results_dir(db)
    bad = store._result_path(results, "param_stats", _record(1).name)
    _zero(bad)
    (results / store.QUARANTINE).write_text("not a directory")  # no entry can be made
    with store.reader(db) as con, pytest.raises(store.StoreError) as err:
        con.execute("SELECT count(*) FROM param_stats").fetchall()
    assert str(err.value).startswith(f"result file {bad} does not read (empty (0 bytes)) and "
                                     "cannot be moved aside")
    assert bad.exists() and store._result_path(results, "data_files", _record(1).name).exists()


def test_file_stats_heals_and_reports_the_quarantine_in_its_metadata(tmp_path: Path) -> None:
    """A day's `file_stats` run reads every record (to supersede): a bad result of another
    file is quarantined, the run succeeds, and its metadata names what is to be distilled."""
    from gmpsai_assets.defs.event_data import event_data
    from gmpsai_assets.defs.file_stats import file_stats
    from gmpsai_assets.defs.param_data import param_data
    from gmpsai_assets.defs.resources import DataLoggerResource, StatsResource, StorageResource

    plist = tmp_path / "list.txt"
    plist.write_text("MLrn B:VIMIN\n")
    storage = StorageResource(data_dir=str(tmp_path / "data"))
    res = {"datalogger": DataLoggerResource(source="simulated", param_list=str(plist)),
           "storage": storage, "stats": StatsResource(storage=storage)}
    db = tmp_path / "data" / "gmpsai.duckdb"
    _distil(db, 0)
    _truncate(store._result_path(store.results_dir(db), "data_files", _record(0).name))
    day = "2026-03-10"
    with dg.instance_for_test() as instance:
        assert dg.materialize([param_data, event_data], partition_key=day, instance=instance,
                              resources=res,
                              run_config={"ops": {"event_data": {"config": {"max_event": "0c"}}}}
                              ).success
        run = dg.materialize([file_stats], partition_key=day, instance=instance, resources=res)
    assert run.success
    meta = run.asset_materializations_for_node("file_stats")[0].metadata
    [line] = meta["results_quarantined"].value
    assert line == store.unresolved_quarantine(db)[0].line() and _record(0).name in line


@needs_chromium
def test_the_page_says_which_result_file_is_quarantined(tmp_path: Path) -> None:
    """Published from a store with a zeroed result: the page draws every other day and its
    status line names the quarantined file (real Chromium, the page opened from disk)."""
    from playwright.sync_api import sync_playwright

    from gmpsai_assets.publish.site import publish_from_store
    from gmpsai_assets.settings import Settings
    from gmpsai_assets_tests.chromium import launch
    from gmpsai_assets_tests.test_publish_support import build_store

    small = build_store(tmp_path)
    db = tmp_path / "gmpsai.duckdb"
    day, name = sorted(small.files.items())[1]  # a day between two others
    settings = Settings.from_env({"GMPSAI_DATA_DIR": str(tmp_path)})

    def sources() -> dict[str, dict[str, str]]:  # device -> day -> source, as published
        site = json.loads((settings.site_dir / "gmpsai-site.json").read_text())
        return {dev["name"]: dict(zip((t[:10] for t in dev["days"]["start_local"]),
                                      dev["days"]["source"], strict=True))
                for dev in site["devices"]}

    publish_from_store(settings)
    before = sources()
    _zero(store._result_path(store.results_dir(db), "param_stats", name))
    result, _ = publish_from_store(settings)
    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page()
            page.goto(result.index.as_uri())
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            status = page.locator("#status").inner_text()
        finally:
            browser.close()
    assert f"1 result file quarantined: {name}: its param_stats result did not read " \
           "(empty (0 bytes))" in status
    site = json.loads((result.directory / "gmpsai-site.json").read_text())
    assert site["problems"] == [store.quarantine_summary(store.unresolved_quarantine(db))]
    # that day has no statistics now; every other day keeps what it had
    assert sources() == {dev: {**days, day: "none"} for dev, days in before.items()}
    assert all(days[day] == "distilled" for days in before.values())
