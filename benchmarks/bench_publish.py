"""Publishing five years of statistics: store reads, documents, atomic writes, and the page in
Chromium.

    python -m benchmarks publish            # 47 devices x 5 years (1826 days)
    python -m benchmarks publish --quick    # 47 devices x 60 days

A store of one parameter file per local day, 47 devices each, is built through the store's API
(statistics from small real arrays: the numbers' values do not change the work), each day with
three DataLogger outages in every device, as the simulator has most days. Each figure is
set beside a floor measured in the same run:

- reading what the publisher needs (pivoted legacy view + current view joined with files) beside
  a plain scan of both views (target, issue 25: at most 5 s at five years);
- a plain `SELECT *` over `param_stats_current` beside reading the same rows from one Parquet
  file (target: at most 2 s), and one compaction of the whole store (stats/store.py) beside
  writing those rows as one Parquet file; building the store (replace_file per day, compacting
  as it goes) must take minutes (13 before issue 25);
- building both documents beside json.dumps of the same rows as plain dicts;
- publishing (serialize + one draft-and-rename per file) beside writing the same bytes in place;
- the page in headless Chromium, served over loopback, until the plots of the first screen are
  drawn (the rest are drawn as they are scrolled to), beside a blank page from the same server
  (one tiny script); and, for the choice of plotting library (docs/page.md), a page that only
  loads plotly.min.js, which the page used to need before it could draw anything. The target
  is 1 s for the first screen (issue 15).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np

from benchmarks.common import Row, median_seconds, print_table
from gmpsai_assets.acnet.devices import load_device_list
from gmpsai_assets.cli.serve_site import make_server
from gmpsai_assets.files.naming import PARAM_PREFIX, data_file_name
from gmpsai_assets.publish.figure import legacy_figure
from gmpsai_assets.publish.load import read_store
from gmpsai_assets.publish.rich import site_document, split_document
from gmpsai_assets.publish.site import (
    DAYS_JS,
    DAYS_JSON,
    SITE_JS,
    SITE_JSON,
    data_script,
    json_bytes,
    publish_site,
)
from gmpsai_assets.stats import store
from gmpsai_assets.stats.compute import param_stats
from gmpsai_assets.window import day_window

START = "2025-01-01"
OLD_JSON = "StatsHistoryBoringHolyMoly.json"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def build(db: Path, days: int) -> list[str]:
    devices = [e.device for e in load_device_list()]
    first = dt.date.fromisoformat(START)
    rng = np.random.default_rng(7)
    templates = [[param_stats(d, np.arange(200) * 400.0, 100.0 + i + rng.normal(0, 0.1, 200))
                  for i, d in enumerate(devices)] for _ in range(7)]
    for k in range(days):
        window = day_window(first + dt.timedelta(days=k))
        # a week of different numbers, repeated: their values do not change the work; and the
        # simulator's usual day (sim/simulator.py): three DataLogger outages, in every device
        spans = [[window.start + h * 3600.0, window.start + h * 3600.0 + 60.0]
                 for h in (3, 11, 19)]
        params = [replace(p, first_utc=window.start, last_utc=window.end - 400.0,
                          gap_count=3, gap_seconds=180.0, gap_spans=spans)
                  for p in templates[k % 7]]
        name = data_file_name(PARAM_PREFIX, "MLrn", window, 1_700_000_000 + k)
        rec = store.FileRecord(name, f"/data/params/{name}", "params", "gmpsai-params/1", "new",
                               "MLrn", window.start, window.end, 1.7e9 + k, 1, 0.0, None, "ok",
                               "", time.time(), 0.0)
        store.replace_file(db, rec, params)
    return devices


def select_current(db: Path) -> int:
    with store.reader(db) as con:
        return len(con.execute("SELECT * FROM param_stats_current").fetchall())


def one_parquet(path: Path) -> int:
    con = duckdb.connect()
    try:
        return len(con.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetchall())
    finally:
        con.close()


def scan(db: Path) -> int:
    with store.reader(db) as con:
        a = con.execute("SELECT * FROM param_stats_current").fetchall()
        b = con.execute("SELECT * FROM ACNETparameterStats").fetchall()
    return len(a) + len(b)


def write_plain(out: Path, blobs: dict[str, bytes]) -> None:
    for name, data in blobs.items():
        (out / name).write_bytes(data)


def page_seconds(pages: list[tuple[str, str]], repeat: int = 5) -> list[float] | None:
    """Median seconds from navigation start to each (url, performance mark) as the page itself
    clocks it (no driver round trips), the pages interleaved so that machine noise falls on
    all of them alike."""
    if not Path(CHROMIUM).exists():
        return None
    from playwright.sync_api import sync_playwright

    times: list[list[float]] = [[] for _ in pages]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                           "--disable-background-networking"])
        try:
            for _ in range(repeat):
                for k, (url, mark) in enumerate(pages):
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                    page = context.new_page()  # a new context: nothing cached
                    page.goto(url)
                    page.wait_for_selector(f"body[data-{mark}]", state="attached",
                                           timeout=120_000)
                    ms = page.evaluate("m => performance.getEntriesByName(m)[0].startTime", mark)
                    times[k].append(ms / 1000.0)
                    if mark == "first-screen":  # let it finish fetching the details first
                        page.wait_for_selector("body[data-details]", state="attached",
                                               timeout=120_000)
                    context.close()
        finally:
            browser.close()
    return [statistics.median(t) for t in times]


@contextmanager
def served(directory: Path) -> Iterator[str]:
    """The site over loopback HTTP, as `gmpsai serve-site` serves it."""
    server = make_server(directory, 0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    days = 60 if "--quick" in sys.argv else 5 * 365 + 1
    with tempfile.TemporaryDirectory(prefix="bench_publish_") as tmp:
        root = Path(tmp)
        db = root / "gmpsai.duckdb"
        began = time.perf_counter()
        devices = build(db, days)
        built = time.perf_counter() - began
        print(f"store: {len(devices)} devices x {days} days built in {built:.1f} s "
              f"(target: minutes; {store._loose_records(store.results_dir(db))} data files' "
              "results loose, the rest compacted)")
        rows: list[Row] = []

        snap = read_store(db)
        rows.append(Row("read store (figure + page queries)",
                        median_seconds(lambda: read_store(db)),
                        median_seconds(lambda: scan(db)), floor_name="plain scan of both views",
                        target="<= 5 s"))
        flat = root / "current.parquet"
        with store.reader(db) as con:
            con.execute(f"COPY (SELECT * FROM param_stats_current) TO '{flat}' (FORMAT parquet)")
        rows.append(Row("SELECT * FROM param_stats_current",
                        median_seconds(lambda: select_current(db)),
                        median_seconds(lambda: one_parquet(flat)),
                        floor_name="same rows, one Parquet file", target="<= 2 s"))

        def copy_flat() -> None:
            with store.reader(db) as con:
                con.execute(f"COPY (SELECT * FROM param_stats_current) TO '{flat}' "
                            "(FORMAT parquet)")

        def compact_month() -> None:  # a month's 64 data files loose again, then compacting
            results = store.results_dir(db)
            keys = sorted(p.stem for p in (results / store.COMPACTED / store.SOURCES /
                                           "data_files").glob("*.parquet"))[:store.COMPACT_AFTER]
            for table in store.RESULTS:
                for key in keys:
                    source = results / store.COMPACTED / store.SOURCES / table / f"{key}.parquet"
                    store._restore(source, results / table / source.name)
            store.compact(db, wait=True)

        rows.append(Row(f"compact {store.COMPACT_AFTER} loose into the segment",
                        median_seconds(compact_month), median_seconds(copy_flat),
                        floor_name="param_stats_current to one Parquet file"))

        def documents() -> tuple[dict, dict]:
            return (site_document(snap.days, devices, time.time()),
                    legacy_figure(devices, snap.points))

        plain = [d.__dict__ for d in snap.days]
        rows.append(Row("build page JSON + old figure", median_seconds(documents),
                        median_seconds(lambda: json.dumps(plain)),
                        floor_name="json.dumps of the rows"))

        doc, fig = documents()
        site = root / "site"
        publish_site(site, root / "drafts", fig, doc)
        static = {p.name: p.read_bytes() for p in site.iterdir()
                  if p.name not in (SITE_JSON, SITE_JS, DAYS_JSON, DAYS_JS, OLD_JSON)}
        plain_dir = root / "plain"
        plain_dir.mkdir()

        def plain_write() -> None:
            overview, details = split_document(doc)
            write_plain(plain_dir, {**static, SITE_JSON: json_bytes(overview),
                                    SITE_JS: data_script(overview),
                                    DAYS_JSON: json_bytes(details),
                                    DAYS_JS: data_script(details, "window.GMPSAI_DAYS"),
                                    OLD_JSON: json_bytes(fig)})

        rows.append(Row("publish site (serialize, draft + rename)",
                        median_seconds(lambda: publish_site(site, root / "drafts", fig, doc)),
                        median_seconds(plain_write),
                        floor_name="serialize, write in place"))

        (site / "blank.html").write_text('<!DOCTYPE html><body><script src="blank.js"></script>'
                                          '</body>')
        (site / "plotly.html").write_text('<!DOCTYPE html><body><script src="plotly.min.js">'
                                          '</script><script src="blank.js"></script></body>')
        (site / "blank.js").write_text("performance.mark('ready'); "
                                      "document.body.dataset.ready = 1;")
        with served(site) as url:
            times = page_seconds([(url, "first-screen"), (url + "blank.html", "ready"),
                                  (url + "plotly.html", "ready")])
        if times is not None:
            first, blank, plotly = times
            rows.append(Row("page in Chromium: first screen drawn", first, blank,
                            floor_name="blank page, same server", target="< 1 s"))
            rows.append(Row("(reference) load plotly.min.js only", plotly, blank,
                            floor_name="blank page, same server"))
        print_table(f"publishing {len(devices)} devices x {days} days (medians)", rows)
        print(f"\n{doc_rows(doc)} device-days: {SITE_JSON} {_mb(site / SITE_JSON)} (the first "
              f"screen's), {DAYS_JSON} {_mb(site / DAYS_JSON)} (fetched after it); old figure "
              f"{len(json_bytes(fig)) / 1e6:.1f} MB")


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


def doc_rows(doc: dict) -> int:
    return sum(len(d["days"]["day"]) for d in doc["devices"])


if __name__ == "__main__":
    main()
